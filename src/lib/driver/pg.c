/*
 * driver_pg.c - the PostgreSQL driver, on libpq and libpg_query.
 *
 * URLs go to libpq as they are, so .pgpass, PGPASSWORD and service files
 * work.  Scripts are split with the real PostgreSQL parser so every
 * statement keeps its position in the file and dollar-quoted bodies stay
 * whole.  The migrator lock is a session advisory lock on the connection
 * that runs the migrations, taken outside any transaction: CREATE INDEX
 * CONCURRENTLY waits for other sessions' open transactions, never for its
 * own session's locks, and a session lock outlives a rollback.  One
 * connection per migrator, not two: a backend start is most of what a
 * short migrate costs the server.
 */
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <pg_query.h>

#include "driver/driver.h"

/* 'dbsh' 'ift\0': classid 1684239208, objid 1768321024 in pg_locks.  A
 * history kept in another schema than public (a fleet's schema per
 * tenant) has its own lock: the key XOR the first 64 bits of the schema's
 * MD5. */
#define LOCK_KEY "(7233752318769262592::bigint # CASE WHEN coalesce(current_schema(), " \
	"'public') = 'public' THEN 0 ELSE ('x' || left(md5(current_schema()), 16))::bit(64)" \
	"::bigint END)"

/*
 * Where to connect, as libpq read the URL (PQconninfoParse): keyword and
 * value arrays for PQconnectdbParams, and the password apart, for
 * children's PGPASSWORD.  The URL text itself is kept only to scrub its
 * secrets out of libpq's messages.
 */
typedef struct pg_target {
	char *url;
	const char **keys, **vals;   /* NULL-terminated, without password */
	size_t n;
	char *password;              /* NULL when none was given */
} pg_target;

struct db_conn {
	PGconn *pg;
	/* the migrator lock's key, while held: the key of the schema it was
	 * taken in (a migration may SET search_path) */
	int locked;
	char lock_key[24];
	pg_target t;
	/* the session's lock and statement timeouts, when a SET of ours made
	 * them so (run_tx then needs no SET LOCAL of its own) */
	int timeouts_set, lock_ms, stmt_ms;
	db_stmt_observer obs;  /* told of each statement a script or batch ran */
	void *obs_data;
	/* run_tx's recurring commands (db_cmd reuse), each prepared once on
	 * the session as "dbshift_N": parsed and planned once, not in every
	 * transaction */
	struct { char *sql; char name[24]; } prepared[4];
	size_t nprepared;
	unsigned prepared_seq;
};

static void target_release(pg_target *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free((char *)t->keys[i]);
		free((char *)t->vals[i]);
	}
	free(t->keys);
	free(t->vals);
	free(t->password);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

static int target_parse(pg_target *t, const char *url, dbs_error *err)
{
	PQconninfoOption *opts;
	memset(t, 0, sizeof(*t));
	int rc = url_pg_parse(url, &opts, err);
	if (rc)
		return rc;
	size_t cap = 1;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		cap++;
	t->keys = xcalloc(cap, sizeof(char *));
	t->vals = xcalloc(cap, sizeof(char *));
	t->url = xstrdup(url);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "password")) {
			free(t->password);
			t->password = xstrdup(o->val);
			continue;
		}
		t->keys[t->n] = xstrdup(o->keyword);
		t->vals[t->n++] = xstrdup(o->val);
	}
	PQconninfoFree(opts);
	return 0;
}

/* key=value conninfo for a child's --dbname: no password (that goes in
 * PGPASSWORD), the database replaced by dbname when given. */
static char *target_conninfo(const pg_target *t, const char *dbname)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < t->n; i++) {
		if (dbname && !strcmp(t->keys[i], "dbname"))
			continue;
		strbuf_addf(&sb, "%s%s=", sb.len ? " " : "", t->keys[i]);
		url_add_conninfo_value(&sb, t->vals[i]);
	}
	if (dbname) {
		strbuf_addf(&sb, "%sdbname=", sb.len ? " " : "");
		url_add_conninfo_value(&sb, dbname);
	}
	return strbuf_detach(&sb);
}

/* An env entry "PGPASSWORD=..." for a child, or NULL. */
static char *target_password_env(const pg_target *t)
{
	return t->password ? xprintf("PGPASSWORD=%s", t->password) : NULL;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;  /* NOTICEs of migrations are not ours to print */
}

/* Is a failed connection the caller's mistake (bad password, user, database
 * or option) rather than the server's absence? */
static int is_input_problem(PGconn *pg, const char *msg)
{
	return PQconnectionNeedsPassword(pg) || strstr(msg, "authentication failed") ||
	       strstr(msg, "no password supplied") || strstr(msg, "does not exist") ||
	       strstr(msg, "invalid ") || strstr(msg, "is not a valid") ||
	       strstr(msg, "not permitted to log in");
}

/* How long a connection may take: the URL's connect_timeout (seconds, as
 * libpq reads it), else 30 s.  A server that accepts and never answers
 * must not hold dbshift for ever. */
#define CONNECT_TIMEOUT_MS 30000

static int connect_timeout_ms(const pg_target *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->keys[i], "connect_timeout")) {
			long s = strtol(t->vals[i], NULL, 10);
			return s > 0 ? (int)(s < 2 ? 2000 : s * 1000) : CONNECT_TIMEOUT_MS;
		}
	return CONNECT_TIMEOUT_MS;
}

/* Drive a started connection to its end, or to the deadline (a now_ms()
 * time): 1 when the time ran out. */
static int connect_poll(PGconn *pg, int64_t deadline)
{
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 1;
		struct pollfd p = { PQsocket(pg), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };
		int r = p.fd < 0 ? 1 : poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r != 0)
			ps = PQconnectPoll(pg);
	}
	return 0;
}

/* A connection to t (its dbname, or dbname), within timeout_ms (0: the
 * URL's connect_timeout, or 30 s). */
static PGconn *open_pg(const pg_target *t, const char *dbname, int timeout_ms, dbs_error *err)
{
	size_t n = t->n;
	const char **keys = xcalloc(n + 4, sizeof(char *)), **vals = xcalloc(n + 4, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (dbname && !strcmp(t->keys[i], "dbname"))
			continue;
		keys[k] = t->keys[i];
		vals[k++] = t->vals[i];
	}
	if (t->password) {
		keys[k] = "password";
		vals[k++] = t->password;
	}
	if (dbname) {
		keys[k] = "dbname";
		vals[k++] = dbname;
	}
	keys[k] = "fallback_application_name";
	vals[k++] = "dbshift";
	PGconn *pg = PQconnectStartParams(keys, vals, 0);
	free(keys);
	free(vals);
	if (!pg) {
		dbs_fail(err, DBS_ENOMEM, "out of memory");
		return NULL;
	}
	if (timeout_ms <= 0)
		timeout_ms = connect_timeout_ms(t);
	if (PQstatus(pg) != CONNECTION_BAD && connect_poll(pg, now_ms() + timeout_ms)) {
		char *shown = dbs_redact_url(t->url);
		dbs_fail(err, DBS_EFAIL, "cannot connect to %s: no answer in %d ms", shown,
			 timeout_ms);
		dbs_error_set_hint(err, "check that the server is running and accepts connections "
				   "there (a longer wait: connect_timeout in the URL)");
		free(shown);
		PQfinish(pg);
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		char *msg = url_scrub(t->url, PQerrorMessage(pg));
		size_t len = strlen(msg);
		while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
		int code = is_input_problem(pg, msg) ? DBS_EINPUT : DBS_EFAIL;
		char *shown = dbs_redact_url(t->url);
		dbs_fail(err, code, "cannot connect to %s", shown);
		dbs_error_set_detail(err, "%s", msg);
		dbs_error_set_hint(err, code == DBS_EINPUT
			? "check the user, password, database name and options in the URL, or "
			  "the password in ~/.pgpass or PGPASSWORD"
			: "check that the server is running and accepts connections there");
		free(shown);
		free(msg);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

/* Fill err from a failed result; returns DBS_EFAIL. */
static int result_error(PGconn *pg, PGresult *res, dbs_error *err)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (primary) {
		dbs_fail(err, DBS_EFAIL, "%s", primary);
	} else {
		char *msg = xstrdup(PQerrorMessage(pg));
		size_t n = strlen(msg);
		while (n > 0 && msg[n - 1] == '\n')
			msg[--n] = '\0';
		dbs_fail(err, DBS_EFAIL, "%s", *msg ? msg : "unknown server error");
		free(msg);
	}
	if (res) {
		const char *v;
		if ((v = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)))
			dbs_error_set_detail(err, "%s", v);
		if ((v = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)))
			dbs_error_set_hint(err, "%s", v);
		if ((v = PQresultErrorField(res, PG_DIAG_SQLSTATE)))
			err->sqlstate = xstrdup(v);
	}
	return DBS_EFAIL;
}

static int pg_connect_within(db_conn **out, const char *url, int timeout_ms, dbs_error *err)
{
	db_conn *c = xcalloc(1, sizeof(*c));
	int rc = target_parse(&c->t, url, err);
	if (!rc && !(c->pg = open_pg(&c->t, NULL, timeout_ms, err)))
		rc = err->code;
	if (!rc) {
		PGresult *res = PQexec(c->pg, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = result_error(c->pg, res, err);
		PQclear(res);
	}
	if (rc) {
		if (c->pg)
			PQfinish(c->pg);
		target_release(&c->t);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int pg_connect(db_conn **out, const char *url, dbs_error *err)
{
	return pg_connect_within(out, url, 0, err);
}

/* libpq marks a connection bad once a query found its session gone; one
 * that looks fine is asked (an empty query, one round trip). */
static int pg_connection_ok(db_conn *c)
{
	if (PQstatus(c->pg) != CONNECTION_OK)
		return 0;
	PGresult *res = PQexec(c->pg, "");
	int ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
	PQclear(res);
	return ok && PQstatus(c->pg) == CONNECTION_OK;
}

static char *quote_ident(PGconn *pg, const char *name);
static int run_query(PGconn *pg, const char *sql, int nparams,
		     const char *const *params, db_rows **rows, dbs_error *err);

/* Through the server's maintenance database ("postgres", else template1):
 * CREATE DATABASE when pg_database has no row of that name. */
static int pg_create_database(const char *url, int *created, dbs_error *err)
{
	pg_target t;
	*created = 0;
	int rc = target_parse(&t, url, err);
	const char *name = NULL;
	for (size_t i = 0; !rc && i < t.n; i++)
		if (!strcmp(t.keys[i], "dbname"))
			name = t.vals[i];
	if (!rc && !name)
		rc = dbs_fail(err, DBS_EINPUT, "the database URL names no database to create");
	PGconn *pg = NULL;
	if (!rc && !(pg = open_pg(&t, "postgres", 0, err))) {
		dbs_error_clear(err);
		if (!(pg = open_pg(&t, "template1", 0, err)))
			rc = err->code;
	}
	db_rows *r = NULL;
	const char *p[] = { name };
	if (!rc)
		rc = run_query(pg, "SELECT 1 FROM pg_database WHERE datname = $1", 1, p, &r, err);
	if (!rc && r->nrows == 0) {
		char *qname = quote_ident(pg, name);
		char *sql = xprintf("CREATE DATABASE %s", qname);
		rc = run_query(pg, sql, 0, NULL, NULL, err);
		*created = !rc;
		free(sql);
		free(qname);
	}
	db_rows_free(r);
	if (pg)
		PQfinish(pg);
	target_release(&t);
	return rc;
}

/* Forget the session's prepared statements (they may be gone). */
static void forget_prepared(db_conn *c)
{
	for (size_t i = 0; i < c->nprepared; i++)
		free(c->prepared[i].sql);
	c->nprepared = 0;
}

/* May sql[0..len) drop the session's prepared statements (DEALLOCATE,
 * DISCARD)?  A mention anywhere counts, in a string or a comment too. */
static int may_deallocate(const char *sql, size_t len)
{
	for (size_t i = 0; i + 7 <= len; i++)
		if ((sql[i] | 0x20) == 'd' && (!strncasecmp(sql + i, "discard", 7) ||
		    (i + 10 <= len && !strncasecmp(sql + i, "deallocate", 10))))
			return 1;
	return 0;
}

/* The name of cmd's statement prepared on the session, prepared now if it
 * is not yet; NULL when it cannot be (then it is sent as it is, and
 * fails there if it is wrong). */
static const char *prepared_name(db_conn *c, const db_cmd *cmd)
{
	for (size_t i = 0; i < c->nprepared; i++)
		if (strlen(c->prepared[i].sql) == cmd->len &&
		    !memcmp(c->prepared[i].sql, cmd->sql, cmd->len))
			return c->prepared[i].name;
	if (c->nprepared == sizeof(c->prepared) / sizeof(c->prepared[0]))
		return NULL;
	char *sql = xstrndup(cmd->sql, cmd->len);
	char name[24];
	snprintf(name, sizeof(name), "dbshift_%u", ++c->prepared_seq);
	PGresult *res = PQprepare(c->pg, name, sql, cmd->nparams, NULL);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		free(sql);
		return NULL;
	}
	c->prepared[c->nprepared].sql = sql;
	memcpy(c->prepared[c->nprepared].name, name, sizeof(name));
	return c->prepared[c->nprepared++].name;
}

static void pg_close(db_conn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);  /* and with the session, the lock */
	forget_prepared(c);
	target_release(&c->t);
	free(c);
}

/* The rows of a result, at most max of them (*more: it had more), with
 * the columns' names when names. */
static db_rows *rows_of(PGresult *res, size_t max, int *more, int names)
{
	db_rows *r = xcalloc(1, sizeof(*r));
	size_t n = (size_t)PQntuples(res);
	*more = n > max;
	r->nrows = n > max ? max : n;
	r->ncols = (size_t)PQnfields(res);
	r->v = xcalloc(r->nrows * r->ncols + 1, sizeof(char *));
	if (names) {
		r->names = xcalloc(r->ncols + 1, sizeof(char *));
		for (size_t j = 0; j < r->ncols; j++)
			r->names[j] = xstrdup(PQfname(res, (int)j));
	}
	for (size_t i = 0; i < r->nrows; i++)
		for (size_t j = 0; j < r->ncols; j++)
			if (!PQgetisnull(res, (int)i, (int)j))
				DB_VAL(r, i, j) = xstrdup(PQgetvalue(res, (int)i, (int)j));
	return r;
}

static int run_query(PGconn *pg, const char *sql, int nparams,
		     const char *const *params, db_rows **rows, dbs_error *err)
{
	/* The extended protocol runs exactly one statement: nothing stacked
	 * behind a query (built from a data file, say) can run with it. */
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int rc = result_error(pg, res, err);
		PQclear(res);
		return rc;
	}
	if (rows) {
		int more;
		*rows = rows_of(res, SIZE_MAX, &more, 0);
		(*rows)->affected = strtoll(PQcmdTuples(res), NULL, 10);
	}
	PQclear(res);
	return 0;
}

static int pg_query(db_conn *c, const char *sql, int nparams,
		    const char *const *params, db_rows **rows, dbs_error *err)
{
	if (may_deallocate(sql, strlen(sql)))
		forget_prepared(c);
	return run_query(c->pg, sql, nparams, params, rows, err);
}

/* Is this statement COPY ... FROM STDIN?  (Data follows it in the file.) */
static int is_copy_from_stdin(const char *s, size_t n)
{
	size_t i = sql_skip_space(s, n);
	if (n - i < 5 || strncasecmp(s + i, "copy", 4) || isalnum((unsigned char)s[i + 4]))
		return 0;
	for (size_t k = i; k + 4 <= n; k++) {
		if (strncasecmp(s + k, "from", 4))
			continue;
		size_t j = k + 4;
		while (j < n && isspace((unsigned char)s[j]))
			j++;
		if (j + 5 <= n && !strncasecmp(s + j, "stdin", 5))
			return 1;
	}
	return 0;
}

/* Point *err_offset at where the server says a statement of len bytes
 * at loc of the script failed (it counts characters from 1). */
static void failed_at(PGresult *res, const char *stmt, size_t len, size_t loc,
		      size_t *err_offset)
{
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	size_t off = sql_skip_space(stmt, len);
	if (pos) {
		long chars = strtol(pos, NULL, 10) - 1;
		size_t b = 0;
		for (long k = 0; k < chars && b < len; k++) {
			b++;
			while (b < len && ((unsigned char)stmt[b] & 0xC0) == 0x80)
				b++;
		}
		off = b;
	}
	*err_offset = loc + off;
}

static int pg_split(const char *sql, size_t (**spans)[2], size_t *n, size_t *err_offset,
		    dbs_error *err)
{
	*spans = NULL;
	*n = 0;
	/* The scanner first where COPY may be: it copes with the data lines
	 * that follow COPY ... FROM stdin, which the parser cannot read. */
	if (strcasestr(sql, "copy")) {
		PgQuerySplitResult sr = pg_query_split_with_scanner(sql);
		for (int i = 0; !sr.error && i < sr.n_stmts; i++) {
			const char *s = sql + sr.stmts[i]->stmt_location;
			size_t len = (size_t)sr.stmts[i]->stmt_len;
			if (is_copy_from_stdin(s, len)) {
				*err_offset = (size_t)sr.stmts[i]->stmt_location + sql_skip_space(s, len);
				pg_query_free_split_result(sr);
				dbs_fail(err, DBS_EINPUT, "COPY ... FROM stdin is not supported in "
					 "migrations");
				dbs_error_set_hint(err, "load the rows with INSERT statements, or with "
						   "COPY FROM a server-side file");
				return DBS_EINPUT;
			}
		}
		pg_query_free_split_result(sr);
	}
	PgQuerySplitResult pr = pg_query_split_with_parser(sql);
	if (pr.error) {
		*err_offset = pr.error->cursorpos > 0 ? (size_t)pr.error->cursorpos - 1 : 0;
		int rc = dbs_fail(err, DBS_EINPUT, "%s", pr.error->message);
		dbs_error_set_hint(err, "fix the SQL; nothing was run");
		pg_query_free_split_result(pr);
		return rc;
	}
	*spans = xcalloc((size_t)pr.n_stmts + 1, sizeof(**spans));
	for (int i = 0; i < pr.n_stmts; i++) {
		size_t loc = (size_t)pr.stmts[i]->stmt_location;
		size_t len = (size_t)pr.stmts[i]->stmt_len;
		(*spans)[i][0] = loc;
		(*spans)[i][1] = len ? len : strlen(sql + loc);
	}
	*n = (size_t)pr.n_stmts;
	pg_query_free_split_result(pr);
	return 0;
}

/* The rows a command changed, or -1 when its tag does not say. */
static int64_t changed_rows(PGresult *res)
{
	const char *n = PQcmdTuples(res);
	return n && *n ? strtoll(n, NULL, 10) : -1;
}

static int pg_run_script(db_conn *c, const char *sql, size_t *err_offset, dbs_error *err)
{
	size_t (*spans)[2], n;
	int rc = pg_split(sql, &spans, &n, err_offset, err);
	if (may_deallocate(sql, strlen(sql)))
		forget_prepared(c);
	for (size_t i = 0; i < n && !rc; i++) {
		size_t loc = spans[i][0], len = spans[i][1];
		char *stmt = xstrndup(sql + loc, len);
		int64_t t0 = c->obs ? now_us() : 0;
		PGresult *res = PQexec(c->pg, stmt);
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
			rc = result_error(c->pg, res, err);
			failed_at(res, stmt, len, loc, err_offset);
			err->statement = sql_trimmed(stmt, len);
		} else if (c->obs) {
			size_t lead = sql_skip_space(sql + loc, len);
			c->obs(c->obs_data, sql + loc + lead, len - lead, now_us() - t0,
			       changed_rows(res));
		}
		PQclear(res);
		free(stmt);
	}
	free(spans);
	return rc;
}

/* Commands per pipeline sync: the results of one chunk are read before
 * the next is sent, so neither side's socket buffer can fill and stall. */
#define PIPELINE_CHUNK 256

/* Send cmds[0..n) and a sync, each by its prepared statement's name where
 * names[i] has one; 0 or a connection error.  With flush, the
 * server is asked to send each command's result as soon as it has it
 * (for the statements' times; else it may hold them until the sync). */
static int pipeline_send(PGconn *pg, const db_cmd *cmds, const char *const *names, size_t n,
			 int flush, dbs_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int ok;
		if (names[i]) {
			ok = PQsendQueryPrepared(pg, names[i], cmds[i].nparams, cmds[i].params, NULL,
						 NULL, 0);
		} else {
			char *sql = xstrndup(cmds[i].sql, cmds[i].len);
			ok = PQsendQueryParams(pg, sql, cmds[i].nparams, NULL, cmds[i].params, NULL,
					       NULL, 0);
			free(sql);
		}
		if (ok && flush)
			ok = PQsendFlushRequest(pg);
		if (!ok)
			return result_error(pg, NULL, err);
	}
	return PQpipelineSync(pg) ? 0 : result_error(pg, NULL, err);
}

/* Read the results of n commands and their sync; the first failure goes
 * to err and *failed (relative to the chunk).  at, when not NULL: when
 * each command's result came (now_us), and rows what each changed. */
static int pipeline_read(PGconn *pg, size_t n, size_t *failed, PGresult **bad, int64_t *at,
			 int64_t *rows, dbs_error *err)
{
	int rc = 0;
	for (size_t i = 0; i <= n; i++) {
		PGresult *res = PQgetResult(pg);
		if (at && i < n)
			at[i] = now_us();
		if (!res) {
			if (!rc)
				rc = result_error(pg, NULL, err);
			break;
		}
		ExecStatusType st = PQresultStatus(res);
		if (i == n || st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;  /* the sync: no NULL follows it */
		}
		if (rows)
			rows[i] = changed_rows(res);
		if (!rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    st != PGRES_EMPTY_QUERY) {
			rc = result_error(pg, res, err);
			*failed = i;
			*bad = res;
		} else {
			PQclear(res);
		}
		while ((res = PQgetResult(pg)))  /* the NULL after each command */
			PQclear(res);
	}
	return rc;
}

static int pg_set_timeouts(db_conn *c, int lock_ms, int statement_ms, int local, dbs_error *err)
{
	char sql[2][80];
	snprintf(sql[0], sizeof(sql[0]), "SET %s lock_timeout = %d", local ? "LOCAL" : "SESSION",
		 lock_ms);
	snprintf(sql[1], sizeof(sql[1]), "SET %s statement_timeout = %d",
		 local ? "LOCAL" : "SESSION", statement_ms);
	int rc = run_query(c->pg, sql[0], 0, NULL, NULL, err);
	if (!rc)
		rc = run_query(c->pg, sql[1], 0, NULL, NULL, err);
	if (!local) {  /* what the session has now (unknown after a failure) */
		c->timeouts_set = !rc;
		c->lock_ms = lock_ms;
		c->stmt_ms = statement_ms;
	}
	return rc;
}

/*
 * One transaction as one pipeline per PIPELINE_CHUNK commands: BEGIN,
 * SET LOCAL synchronous_commit when it need not wait, the commands,
 * COMMIT.  The timeouts are the session's, set before the first such
 * transaction that wants them and kept for the next (a migrate's are all
 * the same): two commands fewer in each.  After a failure the server
 * skips the rest up to the sync; the transaction is then rolled back here.
 */
static int pg_run_tx(db_conn *c, const db_tx *tx, const db_cmd *cmds, size_t n,
		     size_t *failed, size_t *err_offset, dbs_error *err)
{
	static const char no_wait[] = "SET LOCAL synchronous_commit = off";
	if (tx->lock_ms || tx->stmt_ms || c->timeouts_set) {
		int same = c->timeouts_set && c->lock_ms == tx->lock_ms && c->stmt_ms == tx->stmt_ms;
		int rc = same ? 0 : pg_set_timeouts(c, tx->lock_ms, tx->stmt_ms, 0, err);
		if (rc) {
			*failed = n;
			*err_offset = 0;
			return rc;
		}
	}
	size_t nhead = 1, total;
	db_cmd head[2] = { { "BEGIN", 5, 0, NULL, 0 } };
	if (tx->no_wait)
		head[nhead++] = (db_cmd){ no_wait, sizeof(no_wait) - 1, 0, NULL, 0 };
	total = nhead + n + 1;
	db_cmd *all = xcalloc(total, sizeof(*all));
	memcpy(all, head, nhead * sizeof(*all));
	memcpy(all + nhead, cmds, n * sizeof(*cmds));
	all[total - 1] = (db_cmd){ "COMMIT", 6, 0, NULL, 0 };
	/* the recurring commands by their prepared statements, unless the
	 * transaction may drop them before they run */
	const char **names = xcalloc(total, sizeof(*names));
	int keep = 1;
	for (size_t i = 0; i < n && keep; i++)
		keep = cmds[i].reuse || !may_deallocate(cmds[i].sql, cmds[i].len);
	if (!keep)
		forget_prepared(c);
	for (size_t i = nhead; keep && i < nhead + n; i++)
		if (all[i].reuse)
			names[i] = prepared_name(c, &all[i]);
	PGresult *bad = NULL;
	size_t at = 0, where = 0;
	int rc = PQenterPipelineMode(c->pg) ? 0 : result_error(c->pg, NULL, err);
	int64_t times[PIPELINE_CHUNK], rows[PIPELINE_CHUNK];
	while (!rc && at < total) {
		size_t k = total - at < PIPELINE_CHUNK ? total - at : PIPELINE_CHUNK;
		int64_t t0 = now_us();
		rc = pipeline_send(c->pg, all + at, names + at, k, c->obs != NULL, err);
		if (!rc && (rc = pipeline_read(c->pg, k, &where, &bad, c->obs ? times : NULL,
					       c->obs ? rows : NULL, err)))
			where += at;
		for (size_t i = 0; c->obs && i < k && (!rc || at + i < where); i++)
			if (at + i >= nhead && at + i < nhead + n)
				c->obs(c->obs_data, all[at + i].sql, all[at + i].len,
				       times[i] - (i ? times[i - 1] : t0), rows[i]);
		at += k;
	}
	PQexitPipelineMode(c->pg);
	*failed = rc && where >= nhead && where < nhead + n ? where - nhead : n;
	*err_offset = 0;
	if (bad && *failed < n)
		failed_at(bad, cmds[*failed].sql, cmds[*failed].len, 0, err_offset);
	PQclear(bad);
	if (rc) {
		PGresult *res = PQexec(c->pg, "ROLLBACK");
		PQclear(res);
	}
	free(names);
	free(all);
	return rc;
}

/*
 * A read-only transaction; the query is declared as a cursor, which only
 * a query can be (an UPDATE there is a syntax error at its first word),
 * and max_rows + 1 rows are fetched: a query with millions of violations
 * costs no more than that.
 */
static int pg_query_ro(db_conn *c, const char *sql, int timeout_ms, size_t max_rows,
		       db_rows **rows, int *more, size_t *err_offset, dbs_error *err)
{
	static const char cursor[] = "DECLARE dbshift_assertion NO SCROLL CURSOR FOR ";
	size_t (*spans)[2] = NULL, n = 0;
	*rows = NULL;
	*more = 0;
	*err_offset = 0;
	int rc = pg_split(sql, &spans, &n, err_offset, err);
	if (!rc && n != 1) {
		*err_offset = n ? spans[1][0] + sql_skip_space(sql + spans[1][0], spans[1][1]) : 0;
		rc = dbs_fail(err, DBS_EINPUT, n ? "more than one statement: an assertion is one "
			      "query" : "no query");
		dbs_error_set_hint(err, "write one query (SELECT ...) whose rows are the violations");
	}
	char set[64];
	snprintf(set, sizeof(set), "SET LOCAL statement_timeout = %d", timeout_ms);
	if (!rc)
		rc = run_query(c->pg, "BEGIN READ ONLY", 0, NULL, NULL, err);
	int begun = !rc;
	if (!rc && timeout_ms > 0)
		rc = run_query(c->pg, set, 0, NULL, NULL, err);
	if (!rc) {
		size_t loc = spans[0][0], len = spans[0][1];
		char *decl = xprintf("%s%.*s", cursor, (int)len, sql + loc);
		PGresult *res = PQexec(c->pg, decl);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = result_error(c->pg, res, err);
			size_t at = 0;
			failed_at(res, decl, strlen(decl), 0, &at);
			*err_offset = loc + (at > sizeof(cursor) - 1 ? at - (sizeof(cursor) - 1) : 0);
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (state && !strcmp(state, "42601")) {  /* syntax: a change, or bad SQL */
				err->code = DBS_EINPUT;
				dbs_error_set_hint(err, "an assertion is one query (SELECT ...) whose "
						   "rows are the violations");
			}
		}
		PQclear(res);
		free(decl);
	}
	if (!rc) {
		char fetch[80];
		snprintf(fetch, sizeof(fetch), "FETCH FORWARD %zu FROM dbshift_assertion",
			 max_rows + 1);
		PGresult *res = PQexec(c->pg, fetch);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			*rows = rows_of(res, max_rows, more, 1);
		else
			rc = result_error(c->pg, res, err);
		PQclear(res);
	}
	if (begun)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	free(spans);
	return rc;
}

static void pg_observe(db_conn *c, db_stmt_observer fn, void *data)
{
	c->obs = fn;
	c->obs_data = data;
}

static int pg_lock(db_conn *c, int wait_ms, dbs_error *err)
{
	if (c->locked)
		return 0;
	int64_t deadline = now_ms() + wait_ms;
	for (;;) {
		db_rows *r = NULL;
		int rc = run_query(c->pg, "SELECT pg_try_advisory_lock(k), k FROM (SELECT " LOCK_KEY
				   " AS k) s", 0, NULL, &r, err);
		int got = !rc && r->nrows == 1 && DB_VAL(r, 0, 0) && !strcmp(DB_VAL(r, 0, 0), "t") &&
			  DB_VAL(r, 0, 1) && strlen(DB_VAL(r, 0, 1)) < sizeof(c->lock_key);
		if (got)
			snprintf(c->lock_key, sizeof(c->lock_key), "%s", DB_VAL(r, 0, 1));
		db_rows_free(r);
		if (rc)
			return rc;
		if (got)
			return c->locked = 1, 0;
		if (now_ms() >= deadline)
			break;
		sleep_ms(100);
	}
	db_rows *r = NULL;
	const char *who =
		"SELECT a.pid, coalesce(a.usename, '?'), coalesce(a.application_name, ''), "
		"coalesce(host(a.client_addr), 'local socket'), "
		"to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS+00') "
		"FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
		"CROSS JOIN (SELECT " LOCK_KEY " AS k) k "
		"WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
		"AND l.classid = ((k.k >> 32) & 4294967295)::oid AND l.objid = (k.k & 4294967295)::oid";
	dbs_fail(err, DBS_ELOCKED, "another migrator holds the lock on this database");
	dbs_error err2 = { 0 };
	if (!run_query(c->pg, who, 0, NULL, &r, &err2) && r->nrows > 0)
		dbs_error_set_detail(err, "held by pid %s (user %s, application '%s', from %s, "
				     "connected since %s)", DB_VAL(r, 0, 0), DB_VAL(r, 0, 1),
				     DB_VAL(r, 0, 2), DB_VAL(r, 0, 3), DB_VAL(r, 0, 4));
	dbs_error_clear(&err2);
	db_rows_free(r);
	dbs_error_set_hint(err, "wait for it to finish, or wait longer with --lock-wait DURATION");
	return DBS_ELOCKED;
}

static void pg_unlock(db_conn *c)
{
	if (!c->locked)
		return;
	c->locked = 0;
	/* A failed transaction left open runs no query: the lock then goes
	 * with the session, at close. */
	PGTransactionStatusType st = PQtransactionStatus(c->pg);
	if (st != PQTRANS_IDLE && st != PQTRANS_INTRANS)
		return;
	const char *key = c->lock_key;
	db_rows *r = NULL;
	dbs_error ignored = { 0 };
	run_query(c->pg, "SELECT pg_advisory_unlock($1::bigint)", 1, &key, &r, &ignored);
	db_rows_free(r);
	dbs_error_clear(&ignored);
}

static int pg_table_exists(db_conn *c, const char *table, int *exists, dbs_error *err)
{
	db_rows *r = NULL;
	/* dbshift's own tables are those of the first schema of the search
	 * path, where they are made: a fleet's tenant schema before public */
	int rc = run_query(c->pg, "SELECT to_regclass(CASE WHEN $1 LIKE 'dbshift\\_%' AND "
			   "current_schema() IS NOT NULL THEN quote_ident(current_schema()) || '.' "
			   "|| $1 ELSE $1 END) IS NOT NULL", 1, &table, &r, err);
	if (!rc)
		*exists = r->nrows == 1 && DB_VAL(r, 0, 0) && !strcmp(DB_VAL(r, 0, 0), "t");
	db_rows_free(r);
	return rc;
}

static int pg_table_facts(db_conn *c, const char *table, db_rows **rows, dbs_error *err)
{
	return run_query(c->pg,
		"SELECT pg_total_relation_size(t.oid), "
		"CASE WHEN t.reltuples < 0 THEN NULL ELSE t.reltuples::bigint END, "
		"(SELECT string_agg(i.relname, ', ' ORDER BY i.relname) FROM pg_index x "
		" JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = t.oid) "
		"FROM pg_class t WHERE t.oid = to_regclass($1)", 1, &table, rows, err);
}

static int pg_blockers(db_conn *c, int min_seconds, const char *tables, db_rows **rows,
		       dbs_error *err)
{
	char secs[32];
	snprintf(secs, sizeof(secs), "%d", min_seconds);
	const char *p[] = { secs, tables ? tables : "" };
	return run_query(c->pg,
		"SELECT pid::text, kind, age::text, coalesce(usename, ''), detail, query FROM ("
		" SELECT a.pid, 'long query' AS kind, "
		"  extract(epoch FROM now() - a.query_start)::bigint AS age, a.usename, "
		"  a.state AS detail, left(a.query, 200) AS query "
		" FROM pg_stat_activity a WHERE a.state = 'active' AND a.pid <> pg_backend_pid() "
		"  AND a.backend_type = 'client backend' "
		"  AND now() - a.query_start > make_interval(secs => $1::int) "
		" UNION ALL "
		" SELECT a.pid, 'idle in transaction', "
		"  extract(epoch FROM now() - a.xact_start)::bigint, a.usename, a.state, "
		"  left(a.query, 200) "
		" FROM pg_stat_activity a WHERE a.state LIKE 'idle in transaction%' "
		"  AND a.pid <> pg_backend_pid() "
		" UNION ALL "
		" SELECT l.pid, 'waiting for a lock', "
		"  extract(epoch FROM now() - a.query_start)::bigint, a.usename, "
		"  l.mode || ' on ' || coalesce(l.relation::regclass::text, l.locktype), "
		"  left(a.query, 200) "
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted"
		" UNION ALL "
		" SELECT l.pid, 'holds a lock', "
		"  extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::bigint, "
		"  a.usename, l.mode || ' on ' || l.relation::regclass::text, left(a.query, 200) "
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.granted "
		"  AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
		"  AND l.relation IN (SELECT to_regclass(btrim(t)) FROM "
		"   unnest(string_to_array(nullif($2, ''), ',')) t) "
		") b ORDER BY age DESC, pid", 2, p, rows, err);
}


static void pg_set_lock_wait(db_conn *c, int ms)
{
	(void)c;
	(void)ms;  /* readers never wait for writers here; lock() takes its own wait */
}

static int pg_is_lock_timeout(const dbs_error *err)
{
	return err->sqlstate && !strcmp(err->sqlstate, "55P03");  /* lock_not_available */
}

static int pg_replica_lag_ms(db_conn *c, int64_t *ms, dbs_error *err)
{
	db_rows *r = NULL;
	/* on a standby, its own lag: none when it has replayed all it
	 * received, else the age of the last transaction it replayed (or,
	 * none replayed yet, the time since it started); on a primary, the
	 * largest replay_lag of its standbys */
	int rc = run_query(c->pg, "SELECT (CASE WHEN pg_is_in_recovery() THEN CASE WHEN "
			   "pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() "
			   "THEN 0 ELSE extract(epoch FROM now() - coalesce("
			   "pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) * 1000 "
			   "END ELSE (SELECT "
			   "coalesce(max(extract(epoch FROM replay_lag) * 1000), 0) FROM "
			   "pg_stat_replication) END)::bigint", 0, NULL, &r, err);
	if (!rc)
		*ms = r->nrows && DB_VAL(r, 0, 0) ? strtoll(DB_VAL(r, 0, 0), NULL, 10) : 0;
	db_rows_free(r);
	return rc;
}

/* ---- backups: pg_dump and pg_restore, run with an argv ---- */

static int pg_server_version(db_conn *c, char **version, dbs_error *err)
{
	(void)err;
	int v = PQserverVersion(c->pg);
	*version = xprintf("%d.%d", v / 10000, v % 10000);
	return 0;
}

/*
 * pg_dump's environment: the password, when the URL holds one, and JIT
 * off for its session (added to the caller's PGOPTIONS): the server would
 * compile its one-off catalog queries, 70 ms of a schema of 5,000 tables.
 * env[0..2]; free env[0] and env[1] after use.
 */
static void dump_env(const pg_target *t, char *env[3])
{
	const char *was = getenv("PGOPTIONS");
	char *pw = target_password_env(t);
	char *opts = xprintf("PGOPTIONS=%s%s-c jit=off", was ? was : "", was && *was ? " " : "");
	env[0] = pw ? pw : opts;
	env[1] = pw ? opts : NULL;
	env[2] = NULL;
}

static int pg_dump_to(db_conn *c, const char *dir, const char *format, int jobs,
		      db_sink *sink, char **file, dbs_error *err)
{
	if (sink && !strcmp(format, "directory")) {
		dbs_fail(err, DBS_EINPUT, "a backup in the directory format cannot be "
			 "encrypted on the way: not implemented");
		dbs_error_set_hint(err, "use backup_format = custom (the default) with "
				   "backup_encrypt");
		return DBS_EINPUT;
	}
	/* the local pg_dump must not be older than the server */
	int server = PQserverVersion(c->pg) / 10000;
	char *out = NULL;
	const char *vargv[] = { "pg_dump", "--version", NULL };
	int rc = spawn_run(vargv, NULL, &out, err);
	if (rc)
		return rc;
	const char *digits = out + strcspn(out, "0123456789");
	int tool = (int)strtol(digits, NULL, 10);
	free(out);
	if (tool < server) {
		dbs_fail(err, DBS_EFAIL, "pg_dump %d is older than the server (%d) and cannot "
			 "dump it", tool, server);
		dbs_error_set_hint(err, "install postgresql-client-%d (Debian) and make it the "
				   "first pg_dump on PATH", server);
		return DBS_EFAIL;
	}
	const char *fmt = !strcmp(format, "plain") ? "p" : !strcmp(format, "directory") ? "d" : "c";
	*file = xstrdup(!strcmp(format, "plain") ? "db.sql"
			: !strcmp(format, "directory") ? "db.dir" : "db.dump");
	char *conninfo = target_conninfo(&c->t, NULL);
	char *path = sink ? NULL : xprintf("%s/%s", dir, *file);
	char *fmtarg = xprintf("--format=%s", fmt);
	char *filearg = sink ? NULL : xprintf("--file=%s", path);
	char *dbarg = xprintf("--dbname=%s", conninfo), *jobsarg = xprintf("--jobs=%d", jobs > 0 ? jobs : 1);
	const char *argv[8];
	int n = 0;
	argv[n++] = "pg_dump";
	argv[n++] = fmtarg;
	if (filearg)
		argv[n++] = filearg;  /* else to its stdout, into the sink */
	argv[n++] = dbarg;
	if (!strcmp(fmt, "d"))
		argv[n++] = jobsarg;
	if (!strcmp(fmt, "p")) {
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	argv[n] = NULL;
	char *env[3];
	dump_env(&c->t, env);
	if (sink && sink->begin(sink->data, *file)) {
		rc = dbs_fail(err, DBS_EFAIL, "cannot start writing the backup");
	} else if (sink) {
		char *errtext = NULL, *outtext = NULL;
		int code = 0;
		spawn_opts o = { .err_text = &errtext, .out_sink = sink->write,
				 .sink_data = sink->data };
		rc = spawn_full(argv, (const char *const *)env, &o, &outtext, &code, err);
		if (!rc && code != 0) {
			rc = dbs_fail(err, DBS_EFAIL, "pg_dump failed (exit %d)", code);
			if (errtext && *errtext)
				dbs_error_set_detail(err, "%s", errtext);
		}
		free(errtext);
		free(outtext);
	} else {
		rc = spawn_run(argv, (const char *const *)env, NULL, err);
	}
	free(env[0]);
	free(env[1]);
	free(fmtarg);
	free(filearg);
	free(dbarg);
	free(jobsarg);
	free(path);
	free(conninfo);
	if (rc) {
		free(*file);
		*file = NULL;
	}
	return rc;
}

static int pg_restore_from(const char *url, const char *dir, const char *file,
			   const char *format, dbs_error *err)
{
	pg_target t;
	int rc = target_parse(&t, url, err);
	if (rc)
		return rc;
	char *conninfo = target_conninfo(&t, NULL);
	char *path = xprintf("%s/%s", dir, file);
	char *dbarg = xprintf("--dbname=%s", conninfo);
	const char *plain[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", path, dbarg, NULL };
	const char *archive[] = { "pg_restore", "--clean", "--if-exists", "--no-owner",
				  "--exit-on-error", dbarg, path, NULL };
	char *pwenv = target_password_env(&t);
	const char *env[] = { pwenv, "PGOPTIONS=-c client_min_messages=warning", NULL };
	rc = spawn_run(!strcmp(format, "plain") ? plain : archive,
		       pwenv ? env : env + 1, NULL, err);
	free(pwenv);
	free(path);
	free(dbarg);
	free(conninfo);
	target_release(&t);
	return rc;
}

static int pg_identity(db_conn *c, char **identity, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = run_query(c->pg, "SELECT 'postgres:' || system_identifier || '/' || "
			   "current_database() FROM pg_control_system()", 0, NULL, &r, err);
	if (!rc)
		*identity = xstrdup(DB_VAL(r, 0, 0));
	db_rows_free(r);
	return rc;
}

/* Quote a name as an SQL identifier (caller frees). */
static char *quote_ident(PGconn *pg, const char *name)
{
	char *q = PQescapeIdentifier(pg, name, strlen(name));
	char *r = xstrdup(q ? q : "\"\"");
	PQfreemem(q);
	return r;
}

/*
 * A scratch database beside this one: its URL is this connection's
 * options as libpq read them with only dbname replaced (never a rewrite of
 * the URL's text), as key=value conninfo.
 */
/* The URL (conninfo) of database name beside c's, as c's user. */
static char *scratch_url_of(db_conn *c, const char *name)
{
	strbuf sb;
	strbuf_init(&sb);
	char *conninfo = target_conninfo(&c->t, name);
	strbuf_adds(&sb, conninfo);
	free(conninfo);
	if (c->t.password) {
		strbuf_adds(&sb, " password=");
		url_add_conninfo_value(&sb, c->t.password);
	}
	return strbuf_detach(&sb);
}

static int pg_scratch_create(db_conn *c, const char *name, char **scratch_url, dbs_error *err)
{
	char *qname = quote_ident(c->pg, name);
	char *sql = xprintf("CREATE DATABASE %s", qname);
	int rc = run_query(c->pg, sql, 0, NULL, NULL, err);
	free(sql);
	free(qname);
	if (!rc)
		*scratch_url = scratch_url_of(c, name);
	return rc;
}

static int pg_scratch_list(db_conn *c, const char *prefix, db_rows **urls, dbs_error *err)
{
	const char *p[] = { prefix };
	int rc = run_query(c->pg, "SELECT datname FROM pg_database WHERE left(datname, "
			   "length($1)) = $1 ORDER BY 1", 1, p, urls, err);
	for (size_t i = 0; !rc && i < (*urls)->nrows; i++) {
		char *url = scratch_url_of(c, DB_VAL(*urls, i, 0));
		free(DB_VAL(*urls, i, 0));
		DB_VAL(*urls, i, 0) = url;
	}
	return rc;
}

static int pg_scratch_drop(db_conn *c, const char *scratch_url, dbs_error *err)
{
	pg_target t;
	int rc = target_parse(&t, scratch_url, err);
	const char *name = NULL;
	for (size_t i = 0; !rc && i < t.n; i++)
		if (!strcmp(t.keys[i], "dbname"))
			name = t.vals[i];
	if (!rc && !name)
		rc = dbs_fail(err, DBS_EFAIL, "no database name in the scratch database's URL");
	if (!rc) {
		char *qname = quote_ident(c->pg, name);
		/* a scratch is ours: sessions a killed run left in it end with it */
		char *sql = xprintf("DROP DATABASE IF EXISTS %s%s", qname,
				    PQserverVersion(c->pg) >= 130000 ? " WITH (FORCE)" : "");
		rc = run_query(c->pg, sql, 0, NULL, NULL, err);
		free(sql);
		free(qname);
	}
	target_release(&t);
	return rc;
}

static int pg_schema_problems(db_conn *c, db_rows **rows, dbs_error *err)
{
	static const char *user_rel =
		"n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";
	char *sql = xprintf(
		"SELECT 'no-primary-key', format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
		" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
		" AND NOT c.relispartition AND %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
		" WHERE k.conrelid = c.oid AND k.contype = 'p') "
		"UNION ALL "
		"SELECT 'fk-without-index', format('%%s (%%s)', k.conrelid::regclass, k.conname) "
		" FROM pg_constraint k WHERE k.contype = 'f' AND NOT EXISTS (SELECT 1 FROM pg_index i "
		" WHERE i.indrelid = k.conrelid AND (string_to_array(i.indkey::text, ' ')::int2[])"
		" [1:array_length(k.conkey, 1)] @> k.conkey AND (string_to_array(i.indkey::text, ' ')"
		"::int2[])[1:array_length(k.conkey, 1)] <@ k.conkey) "
		"UNION ALL "
		"SELECT 'invalid-index', i.indexrelid::regclass::text FROM pg_index i WHERE NOT i.indisvalid "
		"UNION ALL "
		"SELECT 'not-valid-constraint', format('%%s (%%s)', k.conrelid::regclass, k.conname) "
		" FROM pg_constraint k WHERE NOT k.convalidated "
		"ORDER BY 1, 2", user_rel);
	db_rows *r = NULL;
	int rc = run_query(c->pg, sql, 0, NULL, &r, err);
	free(sql);
	if (rc)
		return rc;
	/* sequences owned by a column, behind that column's largest value */
	db_rows *seqs = NULL;
	rc = run_query(c->pg,
		"SELECT s.oid::regclass::text, t.oid::regclass::text, quote_ident(a.attname) "
		"FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
		"JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid "
		"AND a.attnum = d.refobjsubid WHERE s.relkind = 'S' ORDER BY 1", 0, NULL, &seqs, err);
	for (size_t i = 0; !rc && i < seqs->nrows; i++) {
		char *q = xprintf("SELECT coalesce((SELECT CASE WHEN is_called THEN last_value "
				  "ELSE last_value - 1 END FROM %s), 0) < coalesce((SELECT max(%s) "
				  "FROM %s), 0)", DB_VAL(seqs, i, 0), DB_VAL(seqs, i, 2),
				  DB_VAL(seqs, i, 1));
		db_rows *b = NULL;
		rc = run_query(c->pg, q, 0, NULL, &b, err);
		if (!rc && b->nrows && DB_VAL(b, 0, 0) && !strcmp(DB_VAL(b, 0, 0), "t")) {
			r->v = xrealloc(r->v, (r->nrows + 1) * 2 * sizeof(char *) + sizeof(char *));
			DB_VAL(r, r->nrows, 0) = xstrdup("sequence-behind");
			DB_VAL(r, r->nrows, 1) = xprintf("%s (for %s.%s)", DB_VAL(seqs, i, 0),
							 DB_VAL(seqs, i, 1), DB_VAL(seqs, i, 2));
			r->nrows++;
		}
		db_rows_free(b);
		free(q);
	}
	db_rows_free(seqs);
	if (rc)
		db_rows_free(r);
	else
		*rows = r;
	return rc;
}

static int pg_schema_dump(db_conn *c, char **text, dbs_error *err)
{
	char *conninfo = target_conninfo(&c->t, NULL);
	char *dbarg = xprintf("--dbname=%s", conninfo);
	const char *argv[] = { "pg_dump", "--schema-only", "--no-owner", "--no-privileges",
			       "--exclude-table=dbshift_*", dbarg, NULL };
	char *env[3], *out = NULL;
	dump_env(&c->t, env);
	int rc = spawn_run(argv, (const char *const *)env, &out, err);
	free(env[0]);
	free(env[1]);
	free(dbarg);
	free(conninfo);
	if (rc)
		return rc;
	/* keep the DDL: no comments, settings, or runs of blank lines */
	strbuf sb;
	strbuf_init(&sb);
	int blank = 1;
	for (char *p = out, *save = NULL, *ln; (ln = strtok_r(p, "\n", &save)); p = NULL) {
		if (starts_with(ln, "--") || starts_with(ln, "SET ") || starts_with(ln, "\\") ||
		    starts_with(ln, "SELECT pg_catalog.set_config"))
			continue;
		int is_blank = strspn(ln, " \t") == strlen(ln);
		if (is_blank && blank)
			continue;
		blank = is_blank;
		strbuf_addf(&sb, "%s\n", ln);
	}
	free(out);
	*text = strbuf_detach(&sb);
	return 0;
}

static int pg_database_size(db_conn *c, int64_t *bytes, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = run_query(c->pg, "SELECT pg_database_size(current_database())", 0, NULL, &r, err);
	if (!rc)
		*bytes = strtoll(DB_VAL(r, 0, 0), NULL, 10);
	db_rows_free(r);
	return rc;
}

static int pg_index_build_memory(db_conn *c, int64_t *bytes, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = run_query(c->pg, "SELECT pg_size_bytes(current_setting('maintenance_work_mem'))",
			   0, NULL, &r, err);
	if (!rc)
		*bytes = strtoll(DB_VAL(r, 0, 0), NULL, 10);
	db_rows_free(r);
	return rc;
}

static int pg_can_create(db_conn *c, char **why, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = run_query(c->pg, "SELECT current_user, coalesce(current_schema(), ''), "
			   "coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)",
			   0, NULL, &r, err);
	*why = NULL;
	if (!rc && strcmp(DB_VAL(r, 0, 2), "t"))
		*why = xprintf("user %s cannot CREATE in schema '%s'", DB_VAL(r, 0, 0),
			       DB_VAL(r, 0, 1));
	db_rows_free(r);
	return rc;
}

static char *pg_quote_table(const char *name)
{
	return xstrdup(name);  /* tables_sql gives them quoted already */
}

/* 'i', 's' or 'v' for function name (the most volatile of its overloads
 * on the search path's schemas and pg_catalog), or 0 when there is none. */
static int pg_func_volatility(db_conn *c, const char *name, char *vol, dbs_error *err)
{
	db_rows *r = NULL;
	const char *p[] = { name };
	int rc = pg_query(c, "SELECT max(provolatile::text) FROM pg_proc WHERE proname = $1 "
			  "AND pronamespace IN (SELECT oid FROM pg_namespace "
			  "WHERE nspname = ANY (current_schemas(true)))",
			  1, p, &r, err);
	*vol = 0;
	if (!rc && r->nrows == 1 && DB_VAL(r, 0, 0))
		*vol = DB_VAL(r, 0, 0)[0];
	db_rows_free(r);
	return rc;
}

static int pg_columns(db_conn *c, const char *table, db_rows **rows, dbs_error *err)
{
	return run_query(c->pg, "SELECT attname FROM pg_attribute WHERE attrelid = "
			 "to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", 1,
			 &table, rows, err);
}

static int pg_column_type(db_conn *c, const char *table, const char *column, char **type,
			  dbs_error *err)
{
	const char *p[] = { table, column };
	db_rows *r = NULL;
	/* typname and typmod as the parser writes them: varchar(40), numeric(10,2) */
	int rc = run_query(c->pg,
		"SELECT CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN substr(t.typname, 2) "
		"ELSE t.typname END || CASE WHEN a.atttypmod < 0 THEN '' "
		"WHEN t.typname IN ('varchar', 'bpchar', '_varchar', '_bpchar') "
		"THEN '(' || (a.atttypmod - 4) || ')' "
		"WHEN t.typname IN ('numeric', '_numeric') THEN '(' || ((a.atttypmod - 4) >> 16) "
		"|| ',' || ((a.atttypmod - 4) & 65535) || ')' ELSE '' END "
		"|| CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN '[]' ELSE '' END "
		"FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
		"WHERE a.attrelid = to_regclass(CASE WHEN strpos($1, '.') > 0 "
		"THEN quote_ident(split_part($1, '.', 1)) || '.' || quote_ident(split_part($1, '.', 2)) "
		"ELSE quote_ident($1) END) AND a.attname = $2 AND NOT a.attisdropped",
		2, p, &r, err);
	*type = !rc && r->nrows == 1 && DB_VAL(r, 0, 0) ? xstrdup(DB_VAL(r, 0, 0)) : NULL;
	db_rows_free(r);
	return rc;
}

/* ---- the live view: what the server knows of a run's session ---- */

static int pg_session(db_conn *c, char **id, dbs_error *err)
{
	(void)err;
	*id = xprintf("%d", PQbackendPID(c->pg));
	return 0;
}

static int pg_activity(db_conn *c, const char *session, db_rows **rows, dbs_error *err)
{
	return run_query(c->pg,
		"SELECT state, CASE WHEN wait_event IS NOT NULL THEN wait_event_type || ':' || "
		"wait_event END, (extract(epoch FROM clock_timestamp() - query_start) * 1000)::bigint "
		"FROM pg_stat_activity WHERE pid = $1::int", 1, &session, rows, err);
}

/*
 * One row per progress view the session shows up in.  done and total are
 * what the phase counts: lockers while CREATE INDEX CONCURRENTLY waits for
 * other transactions, blocks while a phase scans the table, tuples while it
 * builds or loads (pg_stat_progress_create_index's documentation).
 */
static int pg_progress(db_conn *c, const char *session, db_rows **rows, dbs_error *err)
{
	static const char index_sql[] =
		"SELECT 'create_index', phase, relid::regclass::text, d.done, d.total, d.unit "
		"FROM pg_stat_progress_create_index p, LATERAL (SELECT * FROM (VALUES "
		" (1, 'lockers', p.lockers_done, p.lockers_total), "
		" (2, 'blocks', p.blocks_done, p.blocks_total), "
		" (3, 'tuples', p.tuples_done, p.tuples_total)) v(o, unit, done, total) "
		" WHERE total > 0 ORDER BY CASE WHEN p.phase LIKE 'waiting%' THEN o = 1 "
		" WHEN p.phase LIKE '%table%' THEN o = 2 ELSE o = 3 END DESC, o LIMIT 1) d "
		"WHERE pid = $1::int "
		"UNION ALL SELECT 'cluster', phase, relid::regclass::text, heap_blks_scanned, "
		"nullif(heap_blks_total, 0), 'blocks' FROM pg_stat_progress_cluster WHERE pid = $1::int "
		"UNION ALL SELECT 'vacuum', phase, relid::regclass::text, heap_blks_scanned, "
		"nullif(heap_blks_total, 0), 'blocks' FROM pg_stat_progress_vacuum WHERE pid = $1::int";
	static const char copy_sql[] =  /* PostgreSQL 14 and later */
		" UNION ALL SELECT 'copy', command || ' ' || type, relid::regclass::text, "
		"CASE WHEN bytes_total > 0 THEN bytes_processed ELSE tuples_processed END, "
		"nullif(bytes_total, 0), CASE WHEN bytes_total > 0 THEN 'bytes' ELSE 'tuples' END "
		"FROM pg_stat_progress_copy WHERE pid = $1::int";
	char *sql = xprintf("%s%s", index_sql, PQserverVersion(c->pg) >= 140000 ? copy_sql : "");
	int rc = run_query(c->pg, sql, 1, &session, rows, err);
	free(sql);
	return rc;
}

/* The session's ungranted locks and each session that blocks them (no
 * query text: it may hold a secret). */
static int pg_lock_waits(db_conn *c, const char *session, db_rows **rows, dbs_error *err)
{
	char *sql = xprintf(
		"SELECT l.locktype, l.mode, coalesce(l.relation::regclass::text, ''), %s, b.pid, "
		"coalesce(b.usename, ''), coalesce(b.application_name, ''), coalesce(b.state, ''), "
		"(extract(epoch FROM clock_timestamp() - b.xact_start) * 1000)::bigint "
		"FROM pg_locks l CROSS JOIN LATERAL unnest(pg_blocking_pids(l.pid)) AS bp(pid) "
		"JOIN pg_stat_activity b ON b.pid = bp.pid WHERE l.pid = $1::int AND NOT l.granted "
		"ORDER BY b.pid",
		PQserverVersion(c->pg) >= 140000
			? "(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::bigint"
			: "NULL::bigint");
	int rc = run_query(c->pg, sql, 1, &session, rows, err);
	free(sql);
	return rc;
}

static int pg_metrics(db_conn *c, int all, db_rows **rows, dbs_error *err)
{
	static const char counters[] =
		"SELECT m.name, m.kind, '', m.value::text FROM pg_stat_database d, LATERAL (VALUES "
		" ('commits', 'counter', d.xact_commit), ('rollbacks', 'counter', d.xact_rollback), "
		" ('blocks_read', 'counter', d.blks_read), ('blocks_hit', 'counter', d.blks_hit), "
		" ('deadlocks', 'counter', d.deadlocks), ('temp_bytes', 'counter', d.temp_bytes), "
		" ('rows_inserted', 'counter', d.tup_inserted), "
		" ('rows_updated', 'counter', d.tup_updated), "
		" ('rows_deleted', 'counter', d.tup_deleted)) m(name, kind, value) "
		"WHERE d.datname = current_database()";
	static const char gauges[] =
		" UNION ALL SELECT 'database_bytes', 'gauge', '', "
		"pg_database_size(current_database())::text "
		"UNION ALL SELECT 'connections', 'gauge', 'state=' || coalesce(state, 'unknown'), "
		"count(*)::text FROM pg_stat_activity WHERE datname = current_database() GROUP BY state "
		"UNION ALL SELECT 'replica_lag_ms', 'gauge', 'replica=' || coalesce(nullif("
		"application_name, ''), host(client_addr), 'local'), (coalesce(extract(epoch FROM "
		"replay_lag), 0) * 1000)::bigint::text FROM pg_stat_replication";
	char *sql = xprintf("%s%s", counters, all ? gauges : "");
	int rc = run_query(c->pg, sql, 0, NULL, rows, err);
	free(sql);
	return rc;
}

static const db_core pg_core = {
	.version = 1,
	.connect = pg_connect,
	.connect_within = pg_connect_within,
	.create_database = pg_create_database,
	.connection_ok = pg_connection_ok,
	.close = pg_close,
	.query = pg_query,
	.run_script = pg_run_script,
	.split = pg_split,
	.run_tx = pg_run_tx,
	.observe = pg_observe,
	.query_ro = pg_query_ro,
	.lock = pg_lock,
	.unlock = pg_unlock,
	.set_timeouts = pg_set_timeouts,
	.is_lock_timeout = pg_is_lock_timeout,
	.set_lock_wait = pg_set_lock_wait,
	.tx_elapsed_ms = "(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint",
	.blob_hex = "encode(%s, 'hex')",
};

static const db_intro pg_intro = {
	.version = 1,
	.table_exists = pg_table_exists,
	.table_facts = pg_table_facts,
	.blockers = pg_blockers,
	.replica_lag_ms = pg_replica_lag_ms,
	.server_version = pg_server_version,
	.identity = pg_identity,
	.schema_problems = pg_schema_problems,
	.schema_dump = pg_schema_dump,
	.database_size = pg_database_size,
	.can_create = pg_can_create,
	.index_build_memory = pg_index_build_memory,
	.quote_table = pg_quote_table,
	.func_volatility = pg_func_volatility,
	.column_type = pg_column_type,
	.columns = pg_columns,
	.session = pg_session,
	.activity = pg_activity,
	.progress = pg_progress,
	.lock_waits = pg_lock_waits,
	.metrics = pg_metrics,
	.tables_sql = "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
		      "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
};

static const char *const pg_formats[] = { "custom", "plain", "directory", NULL };

static const db_archive pg_archive = {
	.version = 1,
	.formats = pg_formats,
	.dump = pg_dump_to,
	.restore = pg_restore_from,
	.scratch_create = pg_scratch_create,
	.scratch_drop = pg_scratch_drop,
	.scratch_list = pg_scratch_list,
};

const db_driver driver_postgres = {
	.name = "postgres",
	.timestamp_type = "timestamptz",
	.json_type = "jsonb",
	.history_suffix = "",
	.core = &pg_core,
	.intro = &pg_intro,
	.archive = &pg_archive,
};
