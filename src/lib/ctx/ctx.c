/*
 * ctx.c - the session: options, the connection, the files and history
 * read once and merged into entries, and the log every command writes to.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctx/ctx.h"

/* ---- the context ---- */

/* Durations and the retry schedule, parsed once (validated on load). */
static void times_parse(dbs_ctx *ctx)
{
	const dbs_options *o = &ctx->opts;
	if (o->lock_timeout)
		parse_duration_ms(o->lock_timeout, &ctx->lock_ms);
	if (o->statement_timeout)
		parse_duration_ms(o->statement_timeout, &ctx->stmt_ms);
	if (o->lock_retries)
		parse_schedule(o->lock_retries, &ctx->retry_ms, &ctx->nretry);
	else if (ctx->lock_ms)
		parse_schedule("1s, 2s, 5s, 10s", &ctx->retry_ms, &ctx->nretry);
}

/* A context for opts, its migrations read (a framework's: its
 * project opened, and listed when list). */
static int ctx_start(dbs_ctx **out, const dbs_options *opts, int list, dbs_error *err)
{
	dbs_ctx *ctx = xcalloc(1, sizeof(*ctx));
	options_copy(&ctx->opts, opts);
	/* migrations are read for the URL's database, else PostgreSQL's */
	ctx->dialect = driver_guess(opts->database);
	ctx->display_url = opts->database ? dbs_redact_url(opts->database) : NULL;
	times_parse(ctx);
	int rc = 0;
	if (opts->framework && strcmp(opts->framework, "none")) {
		ctx->fwo = framework_find(opts->framework);
		rc = ctx->fwo ? ctx->fwo->open(&ctx->fw, &ctx->opts, err)
			      : dbs_fail(err, DBS_EINPUT, "no framework '%s' (there is django)",
					 opts->framework);
		if (!rc && list)
			rc = ctx->fwo->list(ctx->fw, &ctx->src, err);
	} else if (ctx->opts.dir) {
		const char *dialect = ctx->dialect ? ctx->dialect->name : "postgres";
		rc = source_load(&ctx->src, ctx->opts.dir, dialect, err);
		if (!rc && ctx->dialect)  /* (without a database: any) */
			rc = source_check_provider(&ctx->src, dialect, err);
	}
	if (rc) {
		dbs_close(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int dbs_open_offline(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	return ctx_start(out, opts, 1, err);
}

/* The framework's settings and dbshift must name one database: dbshift
 * judges, locks and records on its own connection what the framework
 * then changes. */
static int same_database(dbs_ctx *ctx, dbs_error *err)
{
	char *ours = NULL, *theirs = NULL;
	int rc = db_identity(ctx->driver, ctx->conn, &ours, err);
	if (!rc)
		rc = ctx->fwo->identity(ctx->fw, &theirs, err);
	if (!rc && strcmp(ours, theirs)) {
		rc = dbs_fail(err, DBS_EINPUT, "%s's settings point at another database than "
			      "dbshift's", ctx->fwo->name);
		dbs_error_set_detail(err, "%s: %s; dbshift: %s", ctx->fwo->name, theirs, ours);
		dbs_error_set_hint(err, "make the project's default database and dbshift's "
				   "(--database, DATABASE_URL, database in dbshift.conf) the same");
	}
	free(ours);
	free(theirs);
	return rc;
}

int dbs_open(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	const db_driver *d;
	int rc = driver_for_url(&d, opts->database, err);
	if (rc)
		return rc;
	dbs_ctx *ctx;
	/* a framework's project is listed once dbshift has connected: its
	 * framework (Python, Django) starts meanwhile */
	if ((rc = ctx_start(&ctx, opts, 0, err)))
		return rc;
	ctx->driver = d;
	if ((rc = db_connect(d, &ctx->conn, opts->database, err))) {
		dbs_close(ctx);
		return rc;
	}
	db_set_lock_wait(d, ctx->conn, opts->lock_wait_ms);
	if (ctx->fw && ((rc = ctx->fwo->list(ctx->fw, &ctx->src, err)) ||
			(rc = same_database(ctx, err)))) {
		dbs_close(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int ctx_replica_lag_ms(dbs_ctx *ctx, int64_t *ms)
{
	const char *url = ctx->opts.replica_url;
	*ms = 0;
	if (!url)
		return db_replica_lag_ms(ctx->driver, ctx->conn, ms, &ctx->err);
	if (ctx->replica && !db_connection_ok(ctx->replica_driver, ctx->replica)) {
		db_close(ctx->replica_driver, ctx->replica);
		ctx->replica = NULL;
	}
	int rc = 0;
	if (!ctx->replica && !(rc = driver_for_url(&ctx->replica_driver, url, &ctx->err)))
		rc = db_connect(ctx->replica_driver, &ctx->replica, url, &ctx->err);
	if (rc) {
		dbs_error_set_hint(&ctx->err, "check replica_url in dbshift.conf: the replica whose "
				   "lag is measured");
		return rc;
	}
	return db_replica_lag_ms(ctx->replica_driver, ctx->replica, ms, &ctx->err);
}

int ctx_reconnect_if_lost(dbs_ctx *ctx)
{
	if (!ctx->conn || db_connection_ok(ctx->driver, ctx->conn))
		return 0;
	db_close(ctx->driver, ctx->conn);
	ctx->conn = NULL;
	int rc = db_connect(ctx->driver, &ctx->conn, ctx->opts.database, &ctx->err);
	if (!rc)
		db_set_lock_wait(ctx->driver, ctx->conn, ctx->opts.lock_wait_ms);
	return rc;
}

int ctx_plan_sql(dbs_ctx *ctx, dbs_plan *plan)
{
	int rc = 0;
	for (size_t i = 0; ctx->fw && !rc && i < plan->n; i++) {
		dbs_step *s = &plan->steps[i];
		migration *m = ((plan_entry *)(void *)s->entry)->m;
		int up = s->direction == DBS_UP;
		if (!m)
			continue;
		if ((rc = ctx->fwo->sql(ctx->fw, m, up, &ctx->err)))
			break;
		const section *sec = up ? &m->up : &m->down;
		s->sql = sec->sql;
		s->file = sec->file;
		s->no_transaction = sec->no_transaction;
		if (!up && m->irreversible) {
			char label[512];
			rc = dbs_fail(&ctx->err, DBS_EPOLICY, "cannot roll back %s: %s cannot undo it",
				      plan_label(s->entry, label, sizeof(label)), ctx->fwo->name);
			dbs_error_set_hint(&ctx->err, "give it a way back (RunPython's reverse_code, "
					   "RunSQL's reverse_sql), or undo it by hand");
			plan->blocked = 1;
		}
	}
	return rc;
}

int ctx_files_only(dbs_ctx *ctx, const char *command)
{
	if (!ctx->fw)
		return 0;
	dbs_fail(&ctx->err, DBS_EINPUT, "%s is not for framework = %s: its migrations are the "
		 "framework's", command, ctx->fwo->name);
	dbs_error_set_hint(&ctx->err, "use the framework's own command (manage.py "
			   "makemigrations, migrate --fake), or framework = none");
	return DBS_EINPUT;
}

void ctx_drop_state(dbs_ctx *ctx)
{
	plan_entries_free(ctx->entries, ctx->nentries);
	history_rows_free(ctx->rows, ctx->nrows);
	ctx->entries = NULL;
	ctx->rows = NULL;
	ctx->nentries = ctx->nrows = 0;
	ctx->state_loaded = 0;
}

void ctx_forget_lints(dbs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nmemo; i++) {
		dbs_lint_free(ctx->memo[i].lint);
		free(ctx->memo[i].key);
	}
	free(ctx->memo);
	ctx->memo = NULL;
	ctx->nmemo = 0;
}

void dbs_close(dbs_ctx *ctx)
{
	if (!ctx)
		return;
	ctx_drop_state(ctx);
	ctx_forget_lints(ctx);
	if (ctx->conn)
		db_close(ctx->driver, ctx->conn);
	if (ctx->replica)
		db_close(ctx->replica_driver, ctx->replica);
	source_release(&ctx->src);
	if (ctx->fw)
		ctx->fwo->close(ctx->fw);
	dbs_options_release(&ctx->opts);
	dbs_error_clear(&ctx->err);
	free(ctx->display_url);
	free(ctx->retry_ms);
	free(ctx->warnings);
	free(ctx->last_id);
	free(ctx->last_report);
	free(ctx->last_backup);
	json_decref(ctx->deferred);
	if (ctx->log)
		fclose(ctx->log);
	free(ctx);
}

const dbs_error *dbs_last_error(const dbs_ctx *ctx)
{
	return &ctx->err;
}

const char *dbs_run_warnings(const dbs_ctx *ctx)
{
	return ctx->warnings;
}

void dbs_last_run(const dbs_ctx *ctx, const char **id, const char **report_file,
		  const char **backup)
{
	*id = ctx->last_id;
	*report_file = ctx->last_report;
	*backup = ctx->last_backup;
}

const char *dbs_load_warnings(const dbs_ctx *ctx)
{
	return ctx->src.warnings;
}

int dbs_script_parses(const dbs_ctx *ctx, size_t *scripts)
{
	int most = 0;
	*scripts = 0;
	for (size_t i = 0; i < ctx->src.n; i++) {
		const section *s[2] = { &ctx->src.m[i].up, &ctx->src.m[i].down };
		for (int k = 0; k < 2; k++) {
			*scripts += s[k]->parses > 0;
			if (s[k]->parses > most)
				most = s[k]->parses;
		}
	}
	return most;
}

const char *dbs_database_display(const dbs_ctx *ctx)
{
	return ctx->display_url ? ctx->display_url : "";
}

/* The status of row i of state_runs' rows, and its heartbeat's age (ms,
 * -1: none). */
const char *live_run_status(const dbs_ctx *ctx, const db_rows *r, size_t i, const json_t *doc,
			    int64_t *age)
{
	const char *st = DB_VAL(r, i, 5);
	*age = -1;
	if (!st || strcmp(st, "running"))
		return st ? st : "unknown";
	if (DB_VAL(r, i, 6))
		*age = wall_ms() - strtoll(DB_VAL(r, i, 6), NULL, 10);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	const char *h = json_string_value(json_object_get(doc, "host"));
	json_int_t pid = json_integer_value(json_object_get(doc, "pid"));
	if (h && !strcmp(h, host) && pid > 0)
		return kill((pid_t)pid, 0) == 0 || errno == EPERM ? "running" : "abandoned";
	return *age >= 0 && *age <= ctx->opts.heartbeat_timeout_ms ? "running" : "abandoned";
}

/* Is run id alive (its row 'running', its process there)? */
int live_run_alive(dbs_ctx *ctx, const char *id)
{
	db_rows *r = NULL;
	dbs_error e = { 0 };
	int alive = 0;
	if (!state_runs(ctx->driver, ctx->conn, id, 1, &r, &e) && r->nrows == 1) {
		json_t *doc = DB_VAL(r, 0, 7) ? json_loads(DB_VAL(r, 0, 7), 0, NULL) : NULL;
		int64_t age;
		alive = !strcmp(live_run_status(ctx, r, 0, doc, &age), "running");
		json_decref(doc);
	}
	db_rows_free(r);
	dbs_error_clear(&e);
	return alive;
}

/* dbshift's history is empty: is another tool's there?  Say so (status
 * shows it; migrate refuses to run its migrations again).  A table of
 * the other tool's that records nothing (what 'diesel setup' leaves, or
 * golang-migrate after undoing everything) is no history: nothing was
 * applied, and migrate goes ahead. */
static void note_foreign(dbs_ctx *ctx)
{
	dbs_error e = { 0 };
	history_row *rows = NULL;
	size_t n = 0;
	if (foreign_find(ctx->driver, ctx->conn, &ctx->foreign, &e) || !ctx->foreign.tool ||
	    foreign_read(ctx->driver, ctx->conn, &ctx->foreign, NULL, NULL, 0, &rows, &n, &e)) {
		dbs_error_clear(&e);
		return;
	}
	history_rows_free(rows, n);
	char *line = n ? xprintf("this database has %s's history (%s) and none of dbshift's: "
				 "'dbshift adopt' shows what it would take over",
				 ctx->foreign.tool, ctx->foreign.table)
		       : xprintf("%s's history table (%s) records no migration: taken as "
				 "nothing applied", ctx->foreign.tool, ctx->foreign.table);
	if (!n) {
		ctx->foreign_empty = ctx->foreign;
		memset(&ctx->foreign, 0, sizeof(ctx->foreign));
	}
	char *all = ctx->src.warnings ? xprintf("%s\n%s", ctx->src.warnings, line) : line;
	if (all != line)
		free(line);
	free(ctx->src.warnings);
	ctx->src.warnings = all;
}

int ctx_load_state(dbs_ctx *ctx)
{
	if (ctx->state_loaded)
		return 0;
	int exists = 0, rc = 0;
	if (ctx->conn && ctx->fw) {
		rc = ctx->fwo->applied(ctx->fw, ctx->driver, ctx->conn, &ctx->rows, &ctx->nrows,
				       &ctx->err);
	} else if (ctx->conn) {
		rc = state_exists(ctx->driver, ctx->conn, &exists, &ctx->err);
		if (!rc && exists)
			rc = state_read(ctx->driver, ctx->conn, &ctx->rows, &ctx->nrows, &ctx->err);
	}
	if (!rc && ctx->conn && !ctx->fw && !ctx->nrows && !ctx->foreign_looked) {
		ctx->foreign_looked = 1;
		note_foreign(ctx);
	}
	if (!rc)
		rc = planner_order(&ctx->entries, &ctx->nentries, &ctx->src, ctx->rows,
				   ctx->nrows, &ctx->err);
	/* a step outside a transaction whose run is alive is running, not failed */
	for (size_t i = 0; !rc && i < ctx->nentries; i++) {
		dbs_entry *e = &ctx->entries[i].pub;
		if (e->state == DBS_FAILED && e->message && starts_with(e->message, RUNNING_MARK)) {
			const char *id = e->message + strlen(RUNNING_MARK);
			char *run_id = xstrndup(id, strcspn(id, ";"));
			if (live_run_alive(ctx, run_id))
				e->state = DBS_RUNNING;
			free(run_id);
		}
	}
	if (!rc)
		ctx->state_loaded = 1;
	return rc;
}

/* ---- events ---- */

int ctx_listens(const dbs_ctx *ctx, int kind)
{
	return (ctx->ev_kinds & DBS_EV_BIT(kind)) != 0;  /* none without a listener */
}

void ctx_event(dbs_ctx *ctx, const dbs_event *e)
{
	if (ctx_listens(ctx, e->kind))
		ctx->ev(e, ctx->ev_data);
}

/* The driver ran a statement: one of the running step's section's? */
static void stmt_seen(void *data, const char *sql, size_t len, int64_t us, int64_t rows)
{
	dbs_ctx *ctx = data;
	const section *sec = ctx->ev_sec;
	if (!sec || !sec->sql || sql < sec->sql || sql >= sec->sql + ctx->ev_len)
		return;  /* BEGIN, a history row... */
	sql += sql_skip_space(sql, len);  /* where the statement's first word is */
	size_t off = (size_t)(sql - sec->sql);
	if (off < ctx->ev_off) {  /* a retry starts the script again */
		ctx->ev_off = 0;
		ctx->ev_line = ctx->ev_col = 1;
	}
	ctx->ev_off = text_advance(sec->sql, ctx->ev_off, off, &ctx->ev_line, &ctx->ev_col);
	dbs_event e = { .kind = DBS_EV_STATEMENT, .what = ctx->ev_what, .file = sec->file,
			.line = sec->line + ctx->ev_line - 1, .us = us, .rows = rows };
	ctx_event(ctx, &e);
}

void ctx_event_step(dbs_ctx *ctx, const char *what, const section *sec)
{
	if (what)
		snprintf(ctx->ev_what, sizeof(ctx->ev_what), "%s", what);
	ctx->ev_sec = sec;
	ctx->ev_len = sec && sec->sql ? strlen(sec->sql) : 0;
	ctx->ev_off = 0;
	ctx->ev_line = ctx->ev_col = 1;
}

void dbs_set_events(dbs_ctx *ctx, unsigned kinds, dbs_event_cb cb, void *data)
{
	ctx->ev = cb;
	ctx->ev_data = data;
	ctx->ev_kinds = cb ? kinds : 0;
	int stmts = cb && (kinds & DBS_EV_BIT(DBS_EV_STATEMENT));
	if (ctx->conn)  /* the driver times statements only when asked to */
		db_observe(ctx->driver, ctx->conn, stmts ? stmt_seen : NULL, ctx);
}

int dbs_status(dbs_ctx *ctx, size_t *n)
{
	int rc = ctx_load_state(ctx);
	*n = rc ? 0 : ctx->nentries;
	return rc;
}

const dbs_entry *dbs_status_entry(const dbs_ctx *ctx, size_t i)
{
	return i < ctx->nentries ? &ctx->entries[i].pub : NULL;
}

/* ---- the log ---- */

void ctx_log(dbs_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->log) {
		if (!ctx->opts.log_file || !*ctx->opts.log_file)
			return;
		make_parents(ctx->opts.log_file, 0700);  /* the log holds SQL and errors */
		int fd = open(ctx->opts.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0)
			fchmod(fd, 0600);  /* also one made by an older release */
		if (fd < 0 || !(ctx->log = fdopen(fd, "a"))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			if (!ctx->log_failed++) {  /* never stops a migration, never silent */
				char *line = xprintf("cannot write log_file '%s': %s; this run is "
						     "not logged", ctx->opts.log_file, strerror(e));
				char *all = ctx->warnings ? xprintf("%s\n%s", ctx->warnings, line)
							  : xstrdup(line);
				free(ctx->warnings);
				free(line);
				ctx->warnings = all;
			}
			return;
		}
	}
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(ctx->log, "%s ", ts);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(ctx->log, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->log);
	fflush(ctx->log);
}
