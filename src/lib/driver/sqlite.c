/*
 * driver_sqlite.c - the SQLite driver.
 *
 * URLs: sqlite:relative/path.db, sqlite:///abs/path.db, sqlite::memory:
 * (or sqlite3:..., as dbmate writes them).
 * Scripts run statement by statement through sqlite3_prepare_v2 and its
 * tail pointer, so a failure knows its offset in the file.  The migrator
 * lock is a row in dbshift_lock claimed under BEGIN IMMEDIATE; a holder
 * on this host whose process is gone (kill -9) is taken over.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "driver/driver.h"
#include "driver/sqlite_check.h"

/* How long a statement waits for another connection's write lock. */
#define BUSY_MS 5000

struct db_conn {
	sqlite3 *db;
	int locked;
	char *create_path;  /* the file to create on the first write */
	int wait_ms;        /* how long a statement waits for another's lock */
	/* The last queries, prepared: a run asks the same few (BEGIN, the
	 * history row, COMMIT) once a migration. */
	struct { char *sql; sqlite3_stmt *st; } cache[8];
	unsigned next;
	db_stmt_observer obs;  /* told of each statement a script ran */
	void *obs_data;
};

static void cache_clear(db_conn *c)
{
	for (size_t i = 0; i < sizeof(c->cache) / sizeof(c->cache[0]); i++) {
		sqlite3_finalize(c->cache[i].st);
		free(c->cache[i].sql);
		c->cache[i].st = NULL;
		c->cache[i].sql = NULL;
	}
}

/* cache_get's answers for SQL that is not exactly one statement (SQLite's
 * own result codes are all positive). */
enum { NOT_ONE = -1, NO_STATEMENT = -2 };

/* A prepared statement for sql, from the cache or made and kept there;
 * NULL with *rc set (a SQLite code, NOT_ONE or NO_STATEMENT) when sql does
 * not prepare as exactly one statement. */
static sqlite3_stmt *cache_get(db_conn *c, const char *sql, int *rc)
{
	size_t n = sizeof(c->cache) / sizeof(c->cache[0]);
	for (size_t i = 0; i < n; i++)
		if (c->cache[i].sql && !strcmp(c->cache[i].sql, sql))
			return c->cache[i].st;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	*rc = sqlite3_prepare_v2(c->db, sql, -1, &st, &tail);
	if (*rc != SQLITE_OK)
		return NULL;
	if (!st || (tail && tail[sql_skip_space(tail, strlen(tail))])) {
		/* what follows the first statement would be silently skipped */
		sqlite3_finalize(st);
		*rc = st ? NOT_ONE : NO_STATEMENT;
		return NULL;
	}
	size_t k = c->next++ % n;
	sqlite3_finalize(c->cache[k].st);
	free(c->cache[k].sql);
	c->cache[k].sql = xstrdup(sql);
	c->cache[k].st = st;
	return st;
}

static int db_error(sqlite3 *db, dbs_error *err)
{
	dbs_fail(err, DBS_EFAIL, "%s", sqlite3_errmsg(db));
	err->sqlstate = xprintf("%d", sqlite3_extended_errcode(db));
	return DBS_EFAIL;
}

/* Who holds the migrator lock row, read without waiting, or NULL. */
static char *lock_holder(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char *who = NULL;
	sqlite3_busy_timeout(db, 0);
	if (sqlite3_prepare_v2(db, "SELECT pid, host, holder, since FROM dbshift_lock WHERE id = 1",
			       -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		who = xprintf("held by pid %s on %s (%s) since %s", sqlite3_column_text(st, 0),
			      sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			      sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	return who;
}

/* A statement failed: a lock that stayed taken past the wait is said so,
 * naming the migrator that holds it when there is one. */
static int conn_error(db_conn *c, dbs_error *err)
{
	db_error(c->db, err);
	if ((sqlite3_extended_errcode(c->db) & 0xff) != SQLITE_BUSY)
		return DBS_EFAIL;
	char *who = lock_holder(c->db);
	sqlite3_busy_timeout(c->db, c->wait_ms);
	dbs_fail(err, DBS_ELOCKED, "the database stayed locked by another process for %d ms",
		 c->wait_ms);
	err->sqlstate = xprintf("%d", SQLITE_BUSY);
	if (who)
		dbs_error_set_detail(err, "the migrator lock is %s", who);
	dbs_error_set_hint(err, "wait for it to finish, or wait longer with --lock-wait DURATION");
	free(who);
	return DBS_ELOCKED;
}

/* Without SQLite's per-connection mutex (taking it was 4% of a migration
 * on tmpfs): a connection is used by one thread at a time, as dbshift.h
 * asks of a context, and the heartbeat thread opens its own. */
static int open_file(sqlite3 **db, const char *path, int flags, dbs_error *err)
{
	int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		dbs_fail(err, DBS_EINPUT, "cannot open SQLite database '%s': %s", path,
			 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		dbs_error_set_hint(err, "check that the directory exists and is writable");
		sqlite3_close(*db);
		*db = NULL;
		return DBS_EINPUT;
	}
	sqlite3_busy_timeout(*db, BUSY_MS);
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}

/*
 * A file that does not exist yet is not created until something is
 * written (the migrator lock comes first): until then reads see an empty
 * database, so status, plan and refused runs leave no file behind.
 */
static int sq_connect(db_conn **out, const char *url, dbs_error *err)
{
	const char *path = url + url_sqlite_prefix(url);
	if (starts_with(path, "//"))
		path += 2;  /* sqlite:///abs -> /abs, sqlite://rel -> rel */
	if (!*path)
		return dbs_fail(err, DBS_EINPUT, "no file in database URL '%s'", url);
	int missing = strcmp(path, ":memory:") && access(path, F_OK) != 0;
	if (missing) {  /* made when first written: its directory must be there */
		const char *slash = strrchr(path, '/');
		char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
				  : xstrdup(".");
		struct stat st;
		int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
		if (!ok) {
			dbs_fail(err, DBS_EINPUT, "cannot use database file '%s': its directory "
				 "'%s' does not exist", path, dir);
			dbs_error_set_hint(err, "create the directory, or give a path in one that "
					   "exists");
		}
		free(dir);
		if (!ok)
			return DBS_EINPUT;
	}
	sqlite3 *db = NULL;
	int rc = missing ? open_file(&db, ":memory:", SQLITE_OPEN_READWRITE, err)
			 : open_file(&db, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
	if (rc)
		return rc;
	db_conn *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->create_path = missing ? xstrdup(path) : NULL;
	c->wait_ms = BUSY_MS;
	*out = c;
	return 0;
}

/* Create the file now that something will be written. */
static int materialize(db_conn *c, dbs_error *err)
{
	if (!c->create_path)
		return 0;
	sqlite3 *db = NULL;
	int rc = open_file(&db, c->create_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
	if (rc)
		return rc;
	cache_clear(c);
	sqlite3_close(c->db);
	c->db = db;
	sqlite3_busy_timeout(db, c->wait_ms);
	free(c->create_path);
	c->create_path = NULL;
	return 0;
}

static void sq_close(db_conn *c)
{
	if (!c)
		return;
	cache_clear(c);
	sqlite3_close(c->db);
	free(c->create_path);
	free(c);
}

/* The file, made empty when it is not there (its directory must be). */
static int sq_create_database(const char *url, int *created, dbs_error *err)
{
	db_conn *c = NULL;
	*created = 0;
	int rc = sq_connect(&c, url, err);  /* (refuses a directory that is not there) */
	if (!rc && c->create_path) {
		rc = materialize(c, err);
		*created = !rc;
	}
	sq_close(c);
	return rc;
}

static int sq_query(db_conn *c, const char *sql, int nparams,
		    const char *const *params, db_rows **rows, dbs_error *err)
{
	int prc = SQLITE_OK;
	sqlite3_stmt *st = cache_get(c, sql, &prc);
	if (!st && prc < 0)
		return dbs_fail(err, DBS_EINPUT, "%s", prc == NOT_ONE
				? "more than one statement in a query" : "no statement in a query");
	if (!st)
		return conn_error(c, err);
	for (int i = 0; i < nparams; i++) {
		char name[16];
		snprintf(name, sizeof(name), "$%d", i + 1);
		int idx = sqlite3_bind_parameter_index(st, name);
		if (idx > 0)
			sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC);
	}
	db_rows *r = xcalloc(1, sizeof(*r));
	r->ncols = (size_t)sqlite3_column_count(st);
	size_t alloc = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->nrows == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			r->v = xrealloc(r->v, alloc * r->ncols * sizeof(char *) + 1);
		}
		for (size_t j = 0; j < r->ncols; j++) {
			const unsigned char *t = sqlite3_column_text(st, (int)j);
			DB_VAL(r, r->nrows, j) = t ? xstrdup((const char *)t) : NULL;
		}
		r->nrows++;
	}
	if (rc != SQLITE_DONE) {
		db_rows_free(r);
		rc = conn_error(c, err);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return rc;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	r->affected = sqlite3_changes(c->db);
	if (rows)
		*rows = r;
	else
		db_rows_free(r);
	return 0;
}

/* The preflight is sqlite_check.c's. */
static int sq_check_begin(db_conn *c, const char *const *scripts, size_t n, void **chk,
			  dbs_error *err)
{
	sq_checker *k = NULL;
	int rc = sqlite_check_begin(c->db, scripts, n, &k, err);
	*chk = k;
	return rc;
}

static int sq_check_script(void *chk, const char *sql, size_t *err_offset, dbs_error *err)
{
	return sqlite_check_script(chk, sql, err_offset, err);
}

static void sq_check_end(void *chk)
{
	sqlite_check_end(chk);
}

static int sq_run_script(db_conn *c, const char *sql, size_t *err_offset, dbs_error *err)
{
	const char *p = sql, *end = sql + strlen(sql);  /* measured once: a seed of
							   40,000 INSERTs is not
							   scanned 40,000 times */
	while (p < end) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		const char *start = p + sql_skip_space(p, (size_t)(end - p));
		if (sqlite3_prepare_v2(c->db, p, (int)(end - p + 1), &st, &tail) != SQLITE_OK) {
			int off = sqlite3_error_offset(c->db);
			*err_offset = off >= 0 ? (size_t)(p - sql) + (size_t)off : (size_t)(start - sql);
			db_error(c->db, err);
			size_t n = strcspn(start, ";");
			err->statement = sql_trimmed(start, n);
			return DBS_EFAIL;
		}
		if (!st) {  /* only blanks or comments left */
			p = tail;
			continue;
		}
		int rc;
		int64_t t0 = c->obs ? now_us() : 0;
		sqlite3_int64 changes = sqlite3_total_changes64(c->db);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			*err_offset = (size_t)(start - sql);
			db_error(c->db, err);
			err->statement = sql_trimmed(p, (size_t)(tail - p));
			sqlite3_finalize(st);
			return DBS_EFAIL;
		}
		if (c->obs)
			c->obs(c->obs_data, start, (size_t)(tail - start), now_us() - t0,
			       sqlite3_total_changes64(c->db) - changes);
		sqlite3_finalize(st);
		p = tail;
	}
	return 0;
}

/* The progress handler of a query with a deadline: past it, stop. */
static int past_deadline(void *arg)
{
	return now_ms() >= *(const int64_t *)arg;
}

/* A deferred transaction (one snapshot for the whole query) rolled back
 * after; only a statement SQLite calls read-only with columns runs, and
 * a timeout interrupts it from the progress handler. */
static int sq_query_ro(db_conn *c, const char *sql, int timeout_ms, size_t max_rows,
		       db_rows **rows, int *more, size_t *err_offset, dbs_error *err)
{
	sqlite3_stmt *st = NULL, *next = NULL;
	const char *tail = NULL, *tail2 = NULL;
	*rows = NULL;
	*more = 0;
	*err_offset = sql_skip_space(sql, strlen(sql));
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, &tail) != SQLITE_OK) {
		int off = sqlite3_error_offset(c->db);
		if (off >= 0)
			*err_offset = (size_t)off;
		return db_error(c->db, err);
	}
	int rc = 0;
	/* what follows the query: only blanks and comments (else its own
	 * prepare fails or makes a statement) */
	if (st && (sqlite3_prepare_v2(c->db, tail, -1, &next, &tail2) != SQLITE_OK || next)) {
		*err_offset = (size_t)(tail - sql) + sql_skip_space(tail, strlen(tail));
		rc = dbs_fail(err, DBS_EINPUT, "more than one statement: an assertion is one query");
	} else if (!st || !sqlite3_stmt_readonly(st) || !sqlite3_column_count(st)) {
		rc = dbs_fail(err, DBS_EINPUT, st ? "not a query: an assertion only reads"
			      : "no query");
	}
	sqlite3_finalize(next);
	if (rc) {
		dbs_error_set_hint(err, "write one query (SELECT ...) whose rows are the violations");
		sqlite3_finalize(st);
		return rc;
	}
	int64_t deadline = now_ms() + timeout_ms;
	if (timeout_ms > 0)
		sqlite3_progress_handler(c->db, 1000, past_deadline, &deadline);
	int begun = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	db_rows *r = xcalloc(1, sizeof(*r));
	r->ncols = (size_t)sqlite3_column_count(st);
	size_t alloc = 0;
	r->names = xcalloc(r->ncols + 1, sizeof(char *));
	for (size_t j = 0; j < r->ncols; j++)
	{
		const char *name = sqlite3_column_name(st, (int)j);
		r->names[j] = xstrdup(name ? name : "?");
	}
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->nrows == max_rows) {
			*more = 1;
			break;
		}
		if (r->nrows == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			r->v = xrealloc(r->v, (alloc * r->ncols + 1) * sizeof(char *));
		}
		for (size_t j = 0; j < r->ncols; j++) {
			const unsigned char *t = sqlite3_column_text(st, (int)j);
			DB_VAL(r, r->nrows, j) = t ? xstrdup((const char *)t) : NULL;
		}
		r->nrows++;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE) {
		if (s == SQLITE_INTERRUPT && timeout_ms > 0 && now_ms() >= deadline)
			rc = dbs_fail(err, DBS_EFAIL, "canceling statement due to statement timeout "
				      "(%d ms)", timeout_ms);
		else
			rc = db_error(c->db, err);
		db_rows_free(r);
		r = NULL;
	}
	sqlite3_finalize(st);
	if (begun)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_progress_handler(c->db, 0, NULL, NULL);
	*rows = r;
	return rc;
}

static void sq_observe(db_conn *c, db_stmt_observer fn, void *data)
{
	c->obs = fn;
	c->obs_data = data;
}

static char *hostname(void)
{
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	return xstrdup(host);
}

/* Does a live process other than this one hold the lock row r (pid,
 * host, holder, since)?  Who, into *holder. */
static int held(const db_rows *r, const char *host, char **holder)
{
	if (!r || r->nrows != 1)
		return 0;
	long pid = strtol(DB_VAL(r, 0, 0), NULL, 10);
	int same_host = !strcmp(DB_VAL(r, 0, 1), host);
	int mine = same_host && pid == (long)getpid();
	int gone = same_host && !mine && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	if (mine || gone)
		return 0;
	free(*holder);
	*holder = xprintf("held by pid %s on %s (%s) since %s", DB_VAL(r, 0, 0), DB_VAL(r, 0, 1),
			  DB_VAL(r, 0, 2), DB_VAL(r, 0, 3));
	return 1;
}

/* A look at the lock row outside any transaction: 1 when it is held.
 * While it is, waiting takes only read locks, which cannot make another
 * process's transaction fail (a write lock taken now and then, even to
 * read, can: SQLite's deadlock rule), such as Django's while dbshift
 * runs its migrate. */
static int peek_held(db_conn *c, const char *host, char **holder)
{
	db_rows *r = NULL;
	dbs_error e = { 0 };
	int h = !sq_query(c, "SELECT pid, host, holder, since FROM dbshift_lock WHERE id = 1", 0,
			  NULL, &r, &e) && held(r, host, holder);
	db_rows_free(r);
	dbs_error_clear(&e);
	return h;
}

/* Try once to claim the lock row; 1 claimed, 0 held by someone, <0 error. */
static int try_claim(db_conn *c, const char *host, char **holder, dbs_error *err)
{
	if (sq_query(c, "BEGIN IMMEDIATE", 0, NULL, NULL, err)) {
		if ((sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_BUSY) {
			dbs_error_clear(err);
			return 0;
		}
		return DBS_EFAIL;
	}
	db_rows *r = NULL;
	int rc = sq_query(c, "CREATE TABLE IF NOT EXISTS dbshift_lock (id integer PRIMARY KEY "
			  "CHECK (id = 1), pid integer NOT NULL, host text NOT NULL, "
			  "holder text NOT NULL, since text NOT NULL)", 0, NULL, NULL, err);
	if (!rc)
		rc = sq_query(c, "SELECT pid, host, holder, since FROM dbshift_lock WHERE id = 1",
			      0, NULL, &r, err);
	int free_to_take = rc || !held(r, host, holder);
	db_rows_free(r);
	if (!rc && free_to_take) {
		char pid[32], since[32];
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		utc_now(since);
		const char *params[] = { pid, host, whoami(), since };
		rc = sq_query(c, "INSERT OR REPLACE INTO dbshift_lock VALUES (1, $1, $2, $3, $4)",
			      4, params, NULL, err);
	}
	if (rc) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (sq_query(c, "COMMIT", 0, NULL, NULL, err))
		return DBS_EFAIL;
	return free_to_take;
}

static int sq_lock(db_conn *c, int wait_ms, dbs_error *err)
{
	int rc = materialize(c, err);
	if (rc)
		return rc;
	char *host = hostname(), *holder = NULL;
	int64_t deadline = now_ms() + wait_ms;
	/* BEGIN IMMEDIATE itself waits no longer than what is left of wait_ms */
	for (;;) {
		int64_t left = deadline - now_ms();
		sqlite3_busy_timeout(c->db, left > 0 ? (int)left : 0);
		rc = peek_held(c, host, &holder) ? 0 : try_claim(c, host, &holder, err);
		if (rc != 0 || now_ms() >= deadline)
			break;
		sleep_ms(100);
	}
	sqlite3_busy_timeout(c->db, c->wait_ms);
	if (rc == 0 && !holder)
		holder = lock_holder(c->db);
	free(host);
	if (rc == 1) {
		free(holder);
		c->locked = 1;
		return 0;
	}
	if (rc == 0) {
		dbs_fail(err, DBS_ELOCKED, "another migrator holds the lock on this database");
		if (holder)
			dbs_error_set_detail(err, "%s", holder);
		dbs_error_set_hint(err, "wait for it to finish, or wait longer with "
				   "--lock-wait DURATION");
		rc = DBS_ELOCKED;
	}
	free(holder);
	return rc;
}

static void sq_unlock(db_conn *c)
{
	if (!c->locked)
		return;
	char pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	const char *params[] = { pid };
	dbs_error err = { 0 };
	sq_query(c, "DELETE FROM dbshift_lock WHERE id = 1 AND pid = $1", 1, params, NULL, &err);
	dbs_error_clear(&err);
	c->locked = 0;
}

static int sq_table_exists(db_conn *c, const char *table, int *exists, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = sq_query(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
			  1, &table, &r, err);
	if (!rc)
		*exists = r->nrows == 1 && strcmp(DB_VAL(r, 0, 0), "0") != 0;
	db_rows_free(r);
	return rc;
}

static int sq_columns(db_conn *c, const char *table, db_rows **rows, dbs_error *err)
{
	return sq_query(c, "SELECT name FROM pragma_table_info($1) ORDER BY cid", 1, &table,
			rows, err);
}

static int sq_table_facts(db_conn *c, const char *table, db_rows **rows, dbs_error *err)
{
	int exists = 0;
	int rc = sq_table_exists(c, table, &exists, err);
	if (rc || !exists) {
		if (!rc)
			*rows = xcalloc(1, sizeof(db_rows));
		return rc;
	}
	/* SQLite keeps no estimate: count the rows; its size is the file's. */
	char *q = sqlite3_mprintf(
		"SELECT NULL, (SELECT count(*) FROM \"%w\"), "
		"(SELECT group_concat(name, ', ') FROM (SELECT name FROM sqlite_master "
		" WHERE type = 'index' AND tbl_name = %Q ORDER BY name))", table, table);
	rc = sq_query(c, q, 0, NULL, rows, err);
	sqlite3_free(q);
	return rc;
}

static int sq_blockers(db_conn *c, int min_seconds, const char *tables, db_rows **rows,
		       dbs_error *err)
{
	/* One file, one writer: other connections are not visible from here. */
	(void)c;
	(void)tables;
	(void)min_seconds;
	(void)err;
	*rows = xcalloc(1, sizeof(db_rows));
	(*rows)->ncols = 6;
	return 0;
}

/* SQLite's lock wait is its busy timeout; it has no statement timeout. */
static int sq_set_timeouts(db_conn *c, int lock_ms, int statement_ms, int local, dbs_error *err)
{
	(void)statement_ms;
	(void)local;
	(void)err;
	sqlite3_busy_timeout(c->db, lock_ms > 0 ? lock_ms : c->wait_ms);
	return 0;
}

static void sq_set_lock_wait(db_conn *c, int ms)
{
	c->wait_ms = ms;
	sqlite3_busy_timeout(c->db, ms);
}

static int sq_is_lock_timeout(const dbs_error *err)
{
	long code = err->sqlstate ? strtol(err->sqlstate, NULL, 10) : 0;
	return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
}

static int sq_replica_lag_ms(db_conn *c, int64_t *ms, dbs_error *err)
{
	(void)c;
	(void)err;
	*ms = 0;  /* SQLite has no replicas of its own */
	return 0;
}

/* ---- backups: the online backup API ---- */

/* Copy database src (schema "main") into dst, page by page. */
static int copy_db(sqlite3 *dst, sqlite3 *src, dbs_error *err)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b)
		return db_error(dst, err);
	int rc;
	while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED)
		if (rc != SQLITE_OK)
			sqlite3_sleep(50);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		dbs_fail(err, DBS_EFAIL, "backup failed: %s", sqlite3_errstr(rc));
		return DBS_EFAIL;
	}
	return 0;
}

/* The database's pages, read in one read transaction (sqlite3_serialize:
 * in memory, never on disk), into the sink. */
static int dump_to_sink(db_conn *c, db_sink *sink, const char *file, dbs_error *err)
{
	sqlite3_int64 size = 0;
	unsigned char *image = sqlite3_serialize(c->db, "main", &size, 0);
	if (!image) {
		dbs_fail(err, DBS_EFAIL, "cannot read the database to encrypt it: %s",
			 sqlite3_errmsg(c->db));
		dbs_error_set_hint(err, "an encrypted SQLite backup holds the database in memory "
				   "while it is written: free memory, or back up unencrypted");
		return DBS_EFAIL;
	}
	int rc = 0;
	if (sink->begin(sink->data, file) || sink->write(sink->data, image, (size_t)size))
		rc = dbs_fail(err, DBS_EFAIL, "cannot write the backup");
	explicit_bzero(image, (size_t)size);
	sqlite3_free(image);
	return rc;
}

static int sq_dump(db_conn *c, const char *dir, const char *format, int jobs, db_sink *sink,
		   char **file, dbs_error *err)
{
	(void)format;
	(void)jobs;
	*file = xstrdup("db.sqlite");
	if (sink) {
		int rc = dump_to_sink(c, sink, *file, err);
		if (rc) {
			free(*file);
			*file = NULL;
		}
		return rc;
	}
	char *path = xprintf("%s/%s", dir, *file);
	sqlite3 *dst = NULL;
	int rc = open_file(&dst, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
	if (!rc)
		rc = copy_db(dst, c->db, err);
	sqlite3_close(dst);
	free(path);
	if (rc) {
		free(*file);
		*file = NULL;
	}
	return rc;
}

static int sq_restore(const char *url, const char *dir, const char *file, const char *format,
		      dbs_error *err)
{
	(void)format;
	char *path = xprintf("%s/%s", dir, file);
	db_conn *target = NULL;
	sqlite3 *src = NULL;
	int rc = open_file(&src, path, SQLITE_OPEN_READONLY, err);
	if (!rc)
		rc = sq_connect(&target, url, err);
	if (!rc)
		rc = materialize(target, err);
	if (!rc)
		rc = copy_db(target->db, src, err);
	sq_close(target);
	sqlite3_close(src);
	free(path);
	return rc;
}

static int sq_server_version(db_conn *c, char **version, dbs_error *err)
{
	(void)c;
	(void)err;
	*version = xstrdup(sqlite3_libversion());
	return 0;
}

static int sq_identity(db_conn *c, char **identity, dbs_error *err)
{
	(void)err;
	const char *file = c->create_path ? c->create_path : sqlite3_db_filename(c->db, "main");
	if (!file || !*file) {
		*identity = xprintf("sqlite::memory:%p", (void *)c->db);
		return 0;
	}
	/* the real path of the file, or of its directory while it does not exist */
	char *real = realpath(file, NULL);
	if (!real) {
		const char *slash = strrchr(file, '/');
		char *dir = slash ? xstrndup(file, slash == file ? 1 : (size_t)(slash - file))
				  : xstrdup(".");
		char *rdir = realpath(dir, NULL);
		real = xprintf("%s/%s", rdir ? rdir : dir, slash ? slash + 1 : file);
		free(rdir);
		free(dir);
	}
	*identity = xprintf("sqlite:%s", real);
	free(real);
	return 0;
}

/* The database's file, or NULL (in memory). */
static const char *file_of(db_conn *c)
{
	const char *f = c->create_path ? c->create_path : sqlite3_db_filename(c->db, "main");
	return f && *f ? f : NULL;
}

#define SCRATCH_TMP "/tmp/dbshift-scratch."

/* A scratch database is a file beside the database's, FILE.NAME (one in
 * memory: in a directory of its own under /tmp). */
static int sq_scratch_create(db_conn *c, const char *name, char **scratch_url, dbs_error *err)
{
	const char *file = file_of(c);
	if (file) {
		*scratch_url = xprintf("sqlite:%s.%s", file, name);
		return 0;
	}
	char tmpl[] = SCRATCH_TMP "XXXXXX";
	if (!mkdtemp(tmpl))
		return dbs_fail(err, DBS_EFAIL, "cannot create a scratch directory: %s",
				strerror(errno));
	*scratch_url = xprintf("sqlite:%s/%s.db", tmpl, name);
	return 0;
}

static int sq_scratch_drop(db_conn *c, const char *scratch_url, dbs_error *err)
{
	(void)c;
	const char *path = scratch_url + strlen("sqlite:");
	static const char *const side[] = { "-journal", "-wal", "-shm" };
	if (unlink(path) < 0 && errno != ENOENT)
		return dbs_fail(err, DBS_EFAIL, "cannot remove %s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		char *f = xprintf("%s%s", path, side[i]);
		unlink(f);
		free(f);
	}
	if (starts_with(path, SCRATCH_TMP)) {
		char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
		rmdir(dir);
		free(dir);
	}
	return 0;
}

static int sq_scratch_list(db_conn *c, const char *prefix, db_rows **urls, dbs_error *err)
{
	(void)err;
	const char *file = file_of(c);
	db_rows *r = xcalloc(1, sizeof(*r));
	r->ncols = 1;
	*urls = r;
	if (!file)
		return 0;
	const char *slash = strrchr(file, '/');
	char *dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
	char *lead = xprintf("%s.%s", slash ? slash + 1 : file, prefix);
	DIR *d = opendir(*dir ? dir : "/");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!starts_with(de->d_name, lead) || ends_with(de->d_name, "-journal") ||
		    ends_with(de->d_name, "-wal") || ends_with(de->d_name, "-shm"))
			continue;
		r->v = xrealloc(r->v, (r->nrows + 2) * sizeof(char *));
		r->v[r->nrows++] = xprintf("sqlite:%s/%s", dir, de->d_name);
	}
	if (d)
		closedir(d);
	free(lead);
	free(dir);
	return 0;
}

static int sq_schema_problems(db_conn *c, db_rows **rows, dbs_error *err)
{
	/* SQLite has no invalid indexes, NOT VALID constraints or sequences */
	return sq_query(c,
		"SELECT 'no-primary-key', m.name FROM sqlite_master m WHERE m.type = 'table' "
		" AND m.name NOT LIKE 'sqlite_%' AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) "
		" WHERE pk > 0) "
		"UNION ALL "
		"SELECT 'fk-without-index', m.name || ' (' || f.\"from\" || ')' FROM sqlite_master m, "
		" pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.seq = 0 AND NOT EXISTS "
		" (SELECT 1 FROM pragma_index_list(m.name) il, pragma_index_info(il.name) ii "
		" WHERE ii.seqno = 0 AND ii.name = f.\"from\") "
		"ORDER BY 1, 2", 0, NULL, rows, err);
}

static int sq_schema_dump(db_conn *c, char **text, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = sq_query(c, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT "
			  "LIKE 'sqlite_%' AND name NOT LIKE 'dbshift_%' ORDER BY type DESC, name",
			  0, NULL, &r, err);
	if (rc)
		return rc;
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < r->nrows; i++)
		strbuf_addf(&sb, "%s;\n", DB_VAL(r, i, 0));
	db_rows_free(r);
	*text = strbuf_detach(&sb);
	return 0;
}

static int sq_database_size(db_conn *c, int64_t *bytes, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = sq_query(c, "SELECT page_count * page_size FROM pragma_page_count(), "
			  "pragma_page_size()", 0, NULL, &r, err);
	if (!rc)
		*bytes = r->nrows ? strtoll(DB_VAL(r, 0, 0), NULL, 10) : 0;
	db_rows_free(r);
	return rc;
}

static int sq_can_create(db_conn *c, char **why, dbs_error *err)
{
	(void)err;
	const char *file = c->create_path ? NULL : sqlite3_db_filename(c->db, "main");
	*why = NULL;
	if (file && *file && access(file, W_OK) != 0)
		*why = xprintf("'%s' is not writable: %s", file, strerror(errno));
	else if (sqlite3_db_readonly(c->db, "main") == 1)
		*why = xstrdup("the database is open read-only");
	return 0;
}

static char *sq_quote_table(const char *name)
{
	char *q = sqlite3_mprintf("\"%w\"", name), *r = xstrdup(q);
	sqlite3_free(q);
	return r;
}

/* What SQLite can tell of its file: pages, free pages and the WAL's size. */
static int sq_metrics(db_conn *c, int all, db_rows **rows, dbs_error *err)
{
	if (!all) {  /* SQLite counts nothing */
		*rows = xcalloc(1, sizeof(db_rows));
		(*rows)->ncols = 4;
		return 0;
	}
	const char *path = sqlite3_db_filename(c->db, "main");
	long long wal = 0;
	if (path && *path) {
		char *w = xprintf("%s-wal", path);
		struct stat st;
		if (!stat(w, &st))
			wal = (long long)st.st_size;
		free(w);
	}
	char *q = sqlite3_mprintf(
		"SELECT 'pages', 'gauge', '', page_count FROM pragma_page_count() "
		"UNION ALL SELECT 'page_size_bytes', 'gauge', '', page_size FROM pragma_page_size() "
		"UNION ALL SELECT 'free_pages', 'gauge', '', freelist_count "
		"FROM pragma_freelist_count() "
		"UNION ALL SELECT 'database_bytes', 'gauge', '', "
		"(SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) "
		"UNION ALL SELECT 'wal_bytes', 'gauge', '', %lld", wal);
	int rc = sq_query(c, q, 0, NULL, rows, err);
	sqlite3_free(q);
	return rc;
}

static const db_core sq_core = {
	.version = 1,
	.one_writer = 1,
	.blob_hex = "lower(hex(%s))",
	.connect = sq_connect,
	.create_database = sq_create_database,
	.close = sq_close,
	.query = sq_query,
	.check_begin = sq_check_begin,
	.check_script = sq_check_script,
	.check_end = sq_check_end,
	.run_script = sq_run_script,
	.observe = sq_observe,
	.query_ro = sq_query_ro,
	.lock = sq_lock,
	.unlock = sq_unlock,
	.set_timeouts = sq_set_timeouts,
	.is_lock_timeout = sq_is_lock_timeout,
	.set_lock_wait = sq_set_lock_wait,
};

static const db_intro sq_intro = {
	.version = 1,
	.table_exists = sq_table_exists,
	.table_facts = sq_table_facts,
	.columns = sq_columns,
	.blockers = sq_blockers,
	.replica_lag_ms = sq_replica_lag_ms,
	.server_version = sq_server_version,
	.identity = sq_identity,
	.schema_problems = sq_schema_problems,
	.schema_dump = sq_schema_dump,
	.database_size = sq_database_size,
	.can_create = sq_can_create,
	.quote_table = sq_quote_table,
	.metrics = sq_metrics,
	.tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table' "
		      "AND name NOT LIKE 'sqlite_%' ORDER BY name",
};

static const char *const sq_formats[] = { "sqlite", NULL };

static const db_archive sq_archive = {
	.version = 1,
	.formats = sq_formats,
	.dump = sq_dump,
	.restore = sq_restore,
	.scratch_create = sq_scratch_create,
	.scratch_drop = sq_scratch_drop,
	.scratch_list = sq_scratch_list,
};

const db_driver driver_sqlite = {
	.name = "sqlite",
	.timestamp_type = "text",
	.json_type = "text",
	.history_suffix = " WITHOUT ROWID",
	.core = &sq_core,
	.intro = &sq_intro,
	.archive = &sq_archive,
};
