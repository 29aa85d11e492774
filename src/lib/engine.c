/*
 * engine.c - the context, and the commands that change a database:
 * migrate, rollback, redo, baseline and repair.
 *
 * Every mutating command runs the same way: take the migrator lock,
 * create the history tables if needed, read the history again under the
 * lock (another process may have moved it), plan, check every script,
 * then run.  A transactional step and its history row commit together;
 * a no-transaction step is recorded "failed" before it starts and
 * "applied" after, so a crash in between blocks the next run until repair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"
#include "lint.h"
#include "report.h"

/* ---- the context ---- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void copy_options(dbs_options *dst, const dbs_options *src)
{
	*dst = *src;
	dst->database = dup_or_null(src->database);
	dst->dir = dup_or_null(src->dir);
	dst->env = dup_or_null(src->env);
	dst->log_file = dup_or_null(src->log_file);
	dst->backup_dir = dup_or_null(src->backup_dir);
	dst->max_risk = dup_or_null(src->max_risk);
	dst->lock_timeout = dup_or_null(src->lock_timeout);
	dst->statement_timeout = dup_or_null(src->statement_timeout);
	dst->notify_url = dup_or_null(src->notify_url);
	dst->lock_retries = dup_or_null(src->lock_retries);
	dst->check_tcp = dup_or_null(src->check_tcp);
	dst->check_http = dup_or_null(src->check_http);
	dst->doctor_backup_age = dup_or_null(src->doctor_backup_age);
	dst->doctor_long_query = dup_or_null(src->doctor_long_query);
	dst->doctor_max_lag = dup_or_null(src->doctor_max_lag);
}

int dbs_open_offline(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	dbs_ctx *ctx = xcalloc(1, sizeof(*ctx));
	copy_options(&ctx->opts, opts);
	/* migrations are read for the URL's database, else PostgreSQL's */
	ctx->dialect = driver_guess(opts->database);
	int rc = ctx->opts.dir ? source_load(&ctx->src, ctx->opts.dir, ctx->dialect
					     ? ctx->dialect->name : "postgres", err) : 0;
	if (rc) {
		dbs_close(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int dbs_open(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	const db_driver *d;
	int rc = driver_for_url(&d, opts->database, err);
	if (rc)
		return rc;
	dbs_ctx *ctx;
	if ((rc = dbs_open_offline(&ctx, opts, err)))
		return rc;
	ctx->driver = d;
	ctx->display_url = dbs_redact_url(opts->database);
	if ((rc = d->connect(&ctx->conn, opts->database, err))) {
		dbs_close(ctx);
		return rc;
	}
	d->set_lock_wait(ctx->conn, opts->lock_wait_ms);
	*out = ctx;
	return 0;
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

void dbs_close(dbs_ctx *ctx)
{
	if (!ctx)
		return;
	ctx_drop_state(ctx);
	if (ctx->conn)
		ctx->driver->close(ctx->conn);
	source_release(&ctx->src);
	dbs_options_release(&ctx->opts);
	dbs_error_clear(&ctx->err);
	free(ctx->display_url);
	free(ctx->warnings);
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

const char *dbs_load_warnings(const dbs_ctx *ctx)
{
	return ctx->src.warnings;
}

const char *dbs_database_display(const dbs_ctx *ctx)
{
	return ctx->display_url ? ctx->display_url : "";
}

int ctx_load_state(dbs_ctx *ctx)
{
	if (ctx->state_loaded)
		return 0;
	int exists = 0, rc = 0;
	if (ctx->conn) {
		rc = state_exists(ctx->driver, ctx->conn, &exists, &ctx->err);
		if (!rc && exists)
			rc = state_read(ctx->driver, ctx->conn, &ctx->rows, &ctx->nrows, &ctx->err);
	}
	if (!rc)
		rc = planner_order(&ctx->entries, &ctx->nentries, &ctx->src, ctx->rows,
				   ctx->nrows, &ctx->err);
	if (!rc)
		ctx->state_loaded = 1;
	return rc;
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

static void mkdir_parents(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);  /* the log holds SQL and errors */
			*s = '/';
		}
	free(p);
}

void ctx_log(dbs_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->log) {
		if (!ctx->opts.log_file || !*ctx->opts.log_file)
			return;
		mkdir_parents(ctx->opts.log_file);
		int fd = open(ctx->opts.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0)
			fchmod(fd, 0600);  /* also one made by an older release */
		if (fd < 0 || !(ctx->log = fdopen(fd, "a"))) {
			if (fd >= 0)
				close(fd);
			return;  /* logging never stops a migration */
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

/* ---- plans ---- */

/* Point err at file:line:col for byte offset off of a section. */
static void locate(dbs_error *err, const section *sec, size_t off)
{
	int line, col;
	text_position(sec->sql, off, &line, &col);
	dbs_error_set_file(err, sec->file, sec->line + line - 1, col);
}

static const section *step_section(const dbs_step *s, const plan_entry *pe)
{
	return s->direction == DBS_UP ? &pe->m->up : &pe->m->down;
}

static plan_entry *entry_of(const dbs_step *s)
{
	return (plan_entry *)(void *)s->entry;  /* pub is plan_entry's first member */
}

/* Check every script of a plan before the first one runs. */
static int preflight(dbs_ctx *ctx, const dbs_plan *plan)
{
	void *chk = NULL;
	int rc = ctx->driver->check_begin(ctx->conn, &chk, &ctx->err);
	for (size_t i = 0; !rc && i < plan->n; i++) {
		const dbs_step *s = &plan->steps[i];
		const section *sec = step_section(s, entry_of(s));
		size_t off = 0;
		if (!s->sql)
			continue;
		rc = ctx->driver->check_script(chk, s->sql, &off, &ctx->err);
		if (rc) {
			locate(&ctx->err, sec, off);
			break;
		}
		rc = lint_check_transaction(ctx->driver->lint, entry_of(s)->m, sec, &ctx->err);
		if (!rc && s->direction == DBS_UP && entry_of(s)->m->data_file &&
		    (rc = data_check(entry_of(s)->m->data_file, &ctx->err)) && !ctx->err.line)
			dbs_error_set_file(&ctx->err, entry_of(s)->m->path, entry_of(s)->m->data_line, 0);
	}
	ctx->driver->check_end(chk);
	return rc;
}

/* ---- runs ---- */

int run_begin(dbs_ctx *ctx, run *r, const char *command)
{
	memset(r, 0, sizeof(*r));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(r->id, sizeof(r->id), "%s.%03ldZ-%ld", stamp, ts.tv_nsec / 1000000,
		 (long)getpid());
	utc_now(r->started);
	r->command = command;
	r->steps = json_array();
	srandom((unsigned)(ts.tv_nsec ^ getpid()));  /* retry jitter differs per process */
	ctx_log(ctx, "[%s] %s on %s: started by %s", r->id, command, ctx->display_url,
		whoami());
	dbs_error_clear(&ctx->err);
	int rc = ctx->driver->lock(ctx->conn, ctx->opts.lock_wait_ms, &ctx->err);
	if (rc)
		return rc;
	r->locked = 1;
	if ((rc = state_ensure(ctx->driver, ctx->conn, &ctx->err)))
		return rc;
	r->have_state = 1;
	ctx_drop_state(ctx);
	return ctx_load_state(ctx);
}

void run_step(dbs_ctx *ctx, run *r, const dbs_entry *e, const char *action,
		     int64_t ms, int attempts, const dbs_error *err)
{
	json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "app", e->app,
			      "version", e->version, "name", e->name, "action", action,
			      "status", err ? "failed" : "succeeded", "duration_ms",
			      (json_int_t)ms, "attempts", attempts);
	if (err)
		json_object_set_new(s, "error", report_error(err));
	json_array_append_new(r->steps, s);
	if (err)
		r->failed++;
	else
		r->ok++;
	ctx_log(ctx, "[%s] %s%s%s_%s %s: %s (%lld ms)%s%s", r->id, e->app, *e->app ? "/" : "",
		e->version, e->name, action, err ? "failed" : "ok", (long long)ms,
		err ? ": " : "", err ? err->message : "");
}

int run_end(dbs_ctx *ctx, run *r, int rc, char **report)
{
	json_t *doc = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:{s:I, s:I, s:I}}",
		"run_id", r->id, "command", r->command, "environment", ctx->opts.env,
		"database", ctx->display_url, "started_at", r->started,
		"status", rc ? "failed" : "succeeded", "steps", r->steps, "summary",
		"total", (json_int_t)(r->ok + r->failed), "succeeded", (json_int_t)r->ok,
		"failed", (json_int_t)r->failed);
	if (r->risk)
		json_object_set_new(doc, "risk", r->risk);
	if (r->extra)
		json_object_set_new(doc, "data", r->extra);
	if (rc)
		json_object_set_new(doc, "error", report_error(&ctx->err));
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (r->have_state) {
		dbs_error e2 = { 0 };
		if (state_record_run(ctx->driver, ctx->conn, r->id, r->command, ctx->opts.env,
				     r->started, rc ? "failed" : "succeeded", text, &e2))
			ctx_log(ctx, "[%s] could not record the run: %s", r->id, e2.message);
		dbs_error_clear(&e2);
	}
	if (r->locked)
		ctx->driver->unlock(ctx->conn);
	ctx_log(ctx, "[%s] %s %s: %zu succeeded, %zu failed%s%s", r->id, r->command,
		rc ? "failed" : "succeeded", r->ok, r->failed, rc ? ": " : "",
		rc && ctx->err.message ? ctx->err.message : "");
	if (report)
		*report = text;
	else
		free(text);
	return rc;
}

static int q(dbs_ctx *ctx, const char *sql, dbs_error *err)
{
	return ctx->driver->query(ctx->conn, sql, 0, NULL, NULL, err);
}

static void rollback_quietly(dbs_ctx *ctx)
{
	dbs_error e = { 0 };
	q(ctx, "ROLLBACK", &e);
	dbs_error_clear(&e);
}

/* The timeouts of the options, in ms (0: none). */
static void timeouts(const dbs_ctx *ctx, int *lock_ms, int *stmt_ms)
{
	*lock_ms = *stmt_ms = 0;
	if (ctx->opts.lock_timeout)
		parse_duration_ms(ctx->opts.lock_timeout, lock_ms);  /* validated on load */
	if (ctx->opts.statement_timeout)
		parse_duration_ms(ctx->opts.statement_timeout, stmt_ms);
}

/*
 * Run a step's script and write its history row, in whatever transaction
 * the connection is in.  A down without statements (irreversible, run
 * with allow_irreversible) runs nothing and forgets the migration.
 */
static int run_and_record(dbs_ctx *ctx, const dbs_step *s, int64_t t0, int64_t *ms)
{
	const db_driver *d = ctx->driver;
	migration *m = entry_of(s)->m;
	const section *sec = step_section(s, entry_of(s));
	int up = s->direction == DBS_UP, rc = 0;
	size_t off = 0;
	if ((up || !section_is_empty(sec)) &&
	    (rc = d->run_script(ctx->conn, sec->sql, &off, &ctx->err)))
		locate(&ctx->err, sec, off);
	*ms = now_ms() - t0;
	if (!rc)
		rc = up ? state_record(d, ctx->conn, m, "applied", *ms, NULL, &ctx->err)
			: state_forget(d, ctx->conn, m->app, m->version, &ctx->err);
	return rc;
}

/* BEGIN, with the configured timeouts for this transaction. */
static int begin_tx(dbs_ctx *ctx)
{
	int lock_ms, stmt_ms;
	timeouts(ctx, &lock_ms, &stmt_ms);
	int rc = q(ctx, "BEGIN", &ctx->err);
	if (!rc && (lock_ms || stmt_ms))
		rc = ctx->driver->set_timeouts(ctx->conn, lock_ms, stmt_ms, 1, &ctx->err);
	return rc;
}

/* COMMIT after success, else ROLLBACK. */
static int end_tx(dbs_ctx *ctx, int rc)
{
	if (!rc)
		return q(ctx, "COMMIT", &ctx->err);
	rollback_quietly(ctx);
	return rc;
}

/*
 * Run one step outside a transaction.  Its row says "failed" (up) or
 * "failed_down" (down) before it starts, so a crash in between blocks the
 * next run until repair; a failure keeps the statement it reached there.
 */
static int apply_no_tx(dbs_ctx *ctx, const dbs_step *s, int64_t t0, int64_t *ms)
{
	const db_driver *d = ctx->driver;
	migration *m = entry_of(s)->m;
	int up = s->direction == DBS_UP, lock_ms, stmt_ms;
	const char *failed = up ? "failed" : "failed_down";
	dbs_error *err = &ctx->err;
	timeouts(ctx, &lock_ms, &stmt_ms);
	int rc = state_record(d, ctx->conn, m, failed, 0, up
		? "started outside a transaction and did not finish"
		: "rollback started outside a transaction and did not finish", err);
	if (!rc && (lock_ms || stmt_ms))
		rc = d->set_timeouts(ctx->conn, lock_ms, stmt_ms, 0, err);
	if (!rc)
		rc = run_and_record(ctx, s, t0, ms);
	if (lock_ms || stmt_ms) {
		dbs_error e2 = { 0 };
		d->set_timeouts(ctx->conn, 0, 0, 0, &e2);
		dbs_error_clear(&e2);
	}
	if (rc && err->file) {
		/* Keep the facts on the failed row for whoever repairs it. */
		char *note = xprintf("%s at %s:%d:%d: %s", up ? "failed" : "rollback failed",
				     err->file, err->line, err->col, err->message);
		dbs_error e2 = { 0 };
		state_record(d, ctx->conn, m, failed, *ms, note, &e2);
		dbs_error_clear(&e2);
		free(note);
		dbs_error_set_hint(err, up
			? "it ran outside a transaction, so the statements before the "
			  "failing one stay applied: check them, finish or undo them by hand, "
			  "then run 'dbshift repair'"
			: "the rollback ran outside a transaction, so the statements before "
			  "the failing one stay done: finish the down by hand and run 'dbshift "
			  "repair --down-done', or undo those statements and run 'dbshift "
			  "repair --down-undone'");
	}
	return rc;
}

/* Run one step once and record it; the failure, if any, is in ctx->err. */
static int apply_once(dbs_ctx *ctx, const dbs_step *s, int64_t *ms)
{
	int64_t t0 = now_ms();
	*ms = 0;
	if (s->no_transaction)
		return apply_no_tx(ctx, s, t0, ms);
	int rc = begin_tx(ctx);
	if (!rc)
		rc = run_and_record(ctx, s, t0, ms);
	return end_tx(ctx, rc);
}

int retry_on_lock_timeout(dbs_ctx *ctx, const char *what, int (*attempt)(dbs_ctx *, void *),
			  void *arg, int *attempts)
{
	int *delays = NULL, lock_ms, stmt_ms;
	size_t ndelays = 0;
	timeouts(ctx, &lock_ms, &stmt_ms);
	if (ctx->opts.lock_retries)
		parse_schedule(ctx->opts.lock_retries, &delays, &ndelays);
	else if (lock_ms)
		parse_schedule("1s, 2s, 5s, 10s", &delays, &ndelays);
	int rc;
	for (*attempts = 1;; (*attempts)++) {
		rc = attempt(ctx, arg);
		if (!rc || !ctx->driver->is_lock_timeout(&ctx->err) || (size_t)*attempts > ndelays)
			break;
		int wait = delays[*attempts - 1];
		wait = wait / 2 + (wait > 0 ? (int)(random() % (wait + 1)) : 0);  /* 50-150% */
		ctx_log(ctx, "%s: attempt %d of %zu gave up waiting for a lock (%s); retrying in "
			"%d ms", what, *attempts, ndelays + 1, ctx->err.message, wait);
		sleep_ms(wait);
	}
	if (rc && *attempts > 1)
		dbs_error_set_detail(&ctx->err, "gave up after %d attempts: the lock stayed "
				     "taken by another session", *attempts);
	free(delays);
	return rc;
}

typedef struct redo_attempt {
	const dbs_plan *plan;
	int64_t ms[2];
	int failed;
} redo_attempt;

typedef struct step_attempt {
	const dbs_step *step;
	int64_t ms;
} step_attempt;

static int attempt_step(dbs_ctx *ctx, void *arg)
{
	step_attempt *a = arg;
	return apply_once(ctx, a->step, &a->ms);
}

/*
 * Run one step; a transactional one that gave up waiting for a lock is
 * retried (after its rollback) on the lock_retries schedule, with jitter,
 * so a migration never stalls traffic queued behind it for long.  A
 * no-transaction step is not retried: part of it may have run.
 */
static int apply_step(dbs_ctx *ctx, const run *r, const dbs_step *s, int64_t *ms,
		      int *attempts)
{
	step_attempt a = { s, 0 };
	int rc;
	if (s->no_transaction) {
		*attempts = 1;
		rc = apply_once(ctx, s, &a.ms);
	} else {
		char *what = xprintf("[%s] %s_%s", r->id, s->entry->version, s->entry->name);
		rc = retry_on_lock_timeout(ctx, what, attempt_step, &a, attempts);
		free(what);
	}
	*ms = a.ms;
	return rc;
}

typedef enum { RUN_MIGRATE, RUN_ROLLBACK, RUN_REDO, RUN_BASELINE } run_kind;
static const char *run_names[] = { "migrate", "rollback", "redo", "baseline" };

/*
 * A backup, verified, before anything runs; if it cannot be had, the run
 * is refused (exit 3) with nothing changed.  pg_dump has finished (and
 * released its locks) before the first DDL statement.
 */
static int backup_first(dbs_ctx *ctx)
{
	char *id = NULL;
	int rc = dbs_backup(ctx, NULL, 0, NULL, NULL, &id, NULL);
	if (!rc)
		rc = dbs_backup_verify(ctx, id, 0, NULL);
	if (rc) {
		char *why = xstrdup(ctx->err.message ? ctx->err.message : "failed");
		char *detail = ctx->err.detail ? xstrdup(ctx->err.detail) : NULL;
		dbs_fail(&ctx->err, DBS_EPOLICY, "no verified backup, so nothing was run: %s", why);
		if (detail)
			dbs_error_set_detail(&ctx->err, "%s", detail);
		dbs_error_set_hint(&ctx->err, "fix the backup (backup_dir, disk space, pg_dump), "
				   "or run without --backup where require_backup is off");
		free(why);
		free(detail);
	} else {
		ctx_log(ctx, "backup %s taken and verified before migrate", id);
	}
	free(id);
	return rc;
}

/* Refuse a plan whose worst finding is above the environment's max_risk. */
static int check_risk(dbs_ctx *ctx, dbs_plan *plan, const dbs_migrate_opts *o)
{
	dbs_level max = DBS_RED;
	if (ctx->opts.max_risk)
		dbs_level_parse(ctx->opts.max_risk, &max);  /* validated with the config */
	if (!plan->lint || dbs_lint_worst(plan->lint) <= max || o->force)
		return 0;
	plan->blocked = 1;
	dbs_fail(&ctx->err, DBS_EPOLICY, "the plan's risk is %s, above max_risk %s%s%s",
		 dbs_level_name(dbs_lint_worst(plan->lint)), dbs_level_name(max),
		 ctx->opts.env ? " of environment " : "", ctx->opts.env ? ctx->opts.env : "");
	char *list = lint_findings_above(plan->lint, max, 10);
	dbs_error_set_detail(&ctx->err, "%s", list);
	free(list);
	dbs_error_set_hint(&ctx->err, "make the migrations safer ('dbshift lint' says how), "
			   "allow a reviewed finding with '-- dbshift:allow RULE reason', or "
			   "run with --force");
	return DBS_EPOLICY;
}

/* A redo whose down and up both run in transactions runs in one. */
static int redo_atomic(const dbs_plan *plan)
{
	return plan->n == 2 && !plan->steps[0].no_transaction && !plan->steps[1].no_transaction;
}

/*
 * redo, atomic: the down, the up and both history changes in one
 * transaction; a failure anywhere leaves the migration applied as it was.
 * ms[] are the steps' times; *failed the step that failed.
 */
static int apply_redo(dbs_ctx *ctx, void *arg)
{
	redo_attempt *a = arg;
	int64_t t0 = now_ms();
	int rc = begin_tx(ctx);
	a->failed = 0;
	if (!rc && (rc = run_and_record(ctx, &a->plan->steps[0], t0, &a->ms[0])))
		a->failed = 0;
	else if (!rc && (rc = run_and_record(ctx, &a->plan->steps[1], now_ms(), &a->ms[1])))
		a->failed = 1;
	return end_tx(ctx, rc);
}

/* Plan a run from the loaded state, check its scripts, judge its risk. */
static int make_plan(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o, dbs_plan *plan)
{
	dbs_migrate_opts one = *o;
	int rc;
	if (kind == RUN_MIGRATE || kind == RUN_BASELINE) {
		one.allow_out_of_order |= kind == RUN_BASELINE;
		rc = planner_migrate(plan, ctx->entries, ctx->nentries, &one, &ctx->err);
	} else {
		if (kind == RUN_REDO) {
			one.target = NULL;
			one.steps = 1;
		}
		rc = planner_rollback(plan, ctx->entries, ctx->nentries, &one, &ctx->err);
		if (!rc && kind == RUN_REDO && plan->n == 1) {
			const migration *m = entry_of(&plan->steps[0])->m;
			plan->steps = xrealloc(plan->steps, 2 * sizeof(dbs_step));
			plan->steps[1] = plan->steps[0];
			plan->steps[1].direction = DBS_UP;
			plan->steps[1].sql = m->up.sql;
			plan->steps[1].file = m->up.file;
			plan->steps[1].no_transaction = m->up.no_transaction;
			plan->n = 2;
			if (!redo_atomic(plan) && section_is_empty(&m->down)) {
				char label[512];
				plan_label(plan->steps[0].entry, label, sizeof(label));
				rc = dbs_fail(&ctx->err, DBS_EPOLICY, "redo of %s stops before its up: "
					      "its down holds no statement, so the up would run on "
					      "top of itself", label);
				dbs_error_set_file(&ctx->err, m->down.file ? m->down.file : m->path, 0, 0);
				dbs_error_set_hint(&ctx->err, "add the SQL that undoes it, or undo it "
						   "by hand and run 'dbshift rollback --allow-irreversible' "
						   "and 'dbshift migrate'");
				plan->blocked = 1;
			}
		}
	}
	if (!rc && kind != RUN_BASELINE)
		rc = preflight(ctx, plan);
	if (!rc && kind == RUN_MIGRATE)
		rc = ctx_lint_plan(ctx, plan, &plan->lint);
	if (!rc && kind == RUN_MIGRATE)
		rc = check_risk(ctx, plan, o);
	return rc;
}

static void plan_release(dbs_plan *plan)
{
	free(plan->steps);
	dbs_lint_free(plan->lint);
	memset(plan, 0, sizeof(*plan));
}

/* The risk decision, for the run report. */
static json_t *risk_json(dbs_ctx *ctx, const dbs_plan *plan, const dbs_migrate_opts *o)
{
	if (!plan->lint)
		return NULL;
	dbs_level worst = dbs_lint_worst(plan->lint), max = DBS_RED;
	if (ctx->opts.max_risk)
		dbs_level_parse(ctx->opts.max_risk, &max);
	return json_pack("{s:s, s:i, s:s, s:s, s:b}", "worst", dbs_level_name(worst),
			 "score", plan->lint->score, "band", risk_band(worst, plan->lint->top_score),
			 "max_risk", dbs_level_name(max), "forced", o->force && worst > max);
}

static int record_baseline(dbs_ctx *ctx, const dbs_step *s)
{
	return state_record(ctx->driver, ctx->conn, entry_of(s)->m, "applied", 0,
			    "baseline: recorded as applied without running", &ctx->err);
}

/* The data migration of an up step, if it has one: after the DDL
 * committed, batch by batch. */
static int run_data(dbs_ctx *ctx, run *r, const dbs_step *s)
{
	const migration *m = entry_of(s)->m;
	if (!m->data_file)
		return 0;
	json_t *result = NULL;
	int64_t t0 = now_ms();
	int rc = data_step(ctx, m->data_file, &result);
	run_step(ctx, r, s->entry, "data", now_ms() - t0, 1, rc ? &ctx->err : NULL);
	json_t *last = json_array_get(r->steps, json_array_size(r->steps) - 1);
	if (result)
		json_object_set_new(last, "data", result);
	return rc;
}

/*
 * Plan, and check the plan, before anything is touched: bad input and
 * policy refusals change nothing, not even the history tables.  Then,
 * under the lock, plan again from the history as it is now.
 */
static int run_plan(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		    dbs_step_cb cb, void *cb_data, char **report)
{
	run r;
	dbs_plan plan = { 0 };
	int rc = ctx_load_state(ctx);
	if (!rc)
		rc = make_plan(ctx, kind, o, &plan);
	if (!rc && kind == RUN_MIGRATE && plan.n && (o->backup || ctx->opts.require_backup))
		rc = backup_first(ctx);
	plan_release(&plan);
	if (rc) {
		if (report)
			*report = dbs_error_json(run_names[kind], &ctx->err);
		return rc;
	}
	rc = run_begin(ctx, &r, run_names[kind]);
	if (!rc)
		rc = make_plan(ctx, kind, o, &plan);
	r.risk = risk_json(ctx, &plan, o);
	free(ctx->warnings);
	ctx->warnings = NULL;
	if (!rc && plan.lint && dbs_lint_worst(plan.lint) == DBS_RED) {
		/* applied with red findings (no max_risk stopped them): say so */
		char *list = lint_findings_above(plan.lint, DBS_YELLOW, 20);
		const char *band = risk_band(plan.lint->worst, plan.lint->top_score);
		ctx->warnings = xprintf("%s\nrisk: %s (worst finding red): %s", list, band,
					risk_advice(band));
		free(list);
	}
	if (!rc && kind == RUN_REDO && redo_atomic(&plan)) {
		redo_attempt a = { &plan, { 0, 0 }, 0 };
		int attempts = 1;
		ctx_log(ctx, "[%s] %s%s%s_%s redo: started (down and up in one transaction)",
			r.id, plan.steps[0].entry->app, *plan.steps[0].entry->app ? "/" : "",
			plan.steps[0].entry->version, plan.steps[0].entry->name);
		rc = retry_on_lock_timeout(ctx, r.id, apply_redo, &a, &attempts);
		for (size_t i = 0; i < 2 && (i == 0 || !rc || a.failed == 1); i++) {
			const dbs_error *e = rc && a.failed == (int)i ? &ctx->err : NULL;
			run_step(ctx, &r, plan.steps[i].entry, i ? "up" : "down", a.ms[i], attempts, e);
			if (cb)
				cb(&plan.steps[i], a.ms[i], e, cb_data);
		}
		if (!rc)
			rc = run_data(ctx, &r, &plan.steps[1]);
		plan.n = 0;  /* done */
	}
	for (size_t i = 0; !rc && i < plan.n; i++) {
		int64_t ms = 0;
		const dbs_step *s = &plan.steps[i];
		int attempts = 1;
		if (kind != RUN_BASELINE)
			ctx_log(ctx, "[%s] %s%s%s_%s %s: started", r.id, s->entry->app,
				*s->entry->app ? "/" : "", s->entry->version, s->entry->name,
				s->direction == DBS_UP ? "up" : "down");
		rc = kind == RUN_BASELINE ? record_baseline(ctx, s) : apply_step(ctx, &r, s, &ms, &attempts);
		run_step(ctx, &r, s->entry, kind == RUN_BASELINE ? "baseline"
			 : s->direction == DBS_UP ? "up" : "down", ms, attempts, rc ? &ctx->err : NULL);
		if (cb)
			cb(s, ms, rc ? &ctx->err : NULL, cb_data);
		if (!rc && s->direction == DBS_UP && kind != RUN_BASELINE)
			rc = run_data(ctx, &r, s);
	}
	plan_release(&plan);
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);  /* the history changed: read it again when asked */
	return rc;
}

static int plan_only(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		     dbs_plan **out)
{
	*out = xcalloc(1, sizeof(dbs_plan));
	int rc = ctx_load_state(ctx);
	return rc ? rc : make_plan(ctx, kind, o, *out);
}

int dbs_plan_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out)
{
	return plan_only(ctx, RUN_MIGRATE, o, out);
}

int dbs_plan_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out)
{
	return plan_only(ctx, RUN_ROLLBACK, o, out);
}

int dbs_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		void *cb_data, char **report)
{
	return run_plan(ctx, RUN_MIGRATE, o, cb, cb_data, report);
}

int dbs_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		 void *cb_data, char **report)
{
	return run_plan(ctx, RUN_ROLLBACK, o, cb, cb_data, report);
}

int dbs_redo(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
	     void *cb_data, char **report)
{
	return run_plan(ctx, RUN_REDO, o, cb, cb_data, report);
}

int dbs_baseline(dbs_ctx *ctx, const char *target, dbs_step_cb cb, void *cb_data,
		 char **report)
{
	dbs_migrate_opts o = { .target = target };
	return run_plan(ctx, RUN_BASELINE, &o, cb, cb_data, report);
}

/* A failed rollback: say which way it was settled, or refuse to guess. */
static int repair_down(dbs_ctx *ctx, plan_entry *pe, int down, const char **action)
{
	char label[512];
	plan_label(&pe->pub, label, sizeof(label));
	if (down == DBS_DOWN_DONE) {
		*action = "down done: pending";
		return state_forget(ctx->driver, ctx->conn, pe->pub.app, pe->pub.version,
				    &ctx->err);
	}
	if (down == DBS_DOWN_UNDONE) {
		/* a failed row whose file is gone shows as missing: pe->m is set */
		*action = "down undone: applied";
		return state_record(ctx->driver, ctx->conn, pe->m, "applied", pe->pub.duration_ms,
				    "repair: rollback undone by hand", &ctx->err);
	}
	*action = "ask";
	dbs_fail(&ctx->err, DBS_EINPUT, "the rollback of %s failed outside a transaction: "
		 "say how it ended", label);
	if (pe->pub.message)
		dbs_error_set_detail(&ctx->err, "%s", pe->pub.message);
	dbs_error_set_hint(&ctx->err, "finish the down by hand and run 'dbshift repair "
			   "--down-done' (the migration becomes pending), or undo what it did "
			   "and run 'dbshift repair --down-undone' (it stays applied)");
	return DBS_EINPUT;
}

int dbs_repair(dbs_ctx *ctx, int down, size_t *fixed, char **report)
{
	run r;
	*fixed = 0;
	int rc = ctx_load_state(ctx);
	/* Refuse to guess before anything is written. */
	for (size_t i = 0; !rc && i < ctx->nentries; i++) {
		plan_entry *pe = &ctx->entries[i];
		const char *action;
		if (pe->pub.state == DBS_FAILED && pe->pub.failed_down && down == DBS_DOWN_ASK)
			rc = repair_down(ctx, pe, down, &action);
	}
	if (rc) {
		if (report)
			*report = dbs_error_json("repair", &ctx->err);
		return rc;
	}
	rc = run_begin(ctx, &r, "repair");
	for (size_t i = 0; !rc && i < ctx->nentries; i++) {
		plan_entry *pe = &ctx->entries[i];
		const char *action;
		if (pe->pub.state == DBS_FAILED && pe->pub.failed_down) {
			rc = repair_down(ctx, pe, down, &action);
		} else if (pe->pub.state == DBS_FAILED) {
			action = "clear failed";
			rc = state_forget(ctx->driver, ctx->conn, pe->pub.app, pe->pub.version,
					  &ctx->err);
		} else if (pe->pub.state == DBS_DRIFTED) {
			action = "accept checksum";
			rc = state_accept_checksum(ctx->driver, ctx->conn, pe->m, &ctx->err);
		} else {
			continue;
		}
		run_step(ctx, &r, &pe->pub, action, 0, 1, rc ? &ctx->err : NULL);
		if (!rc)
			(*fixed)++;
	}
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);
	return rc;
}

/* ---- new ---- */

int dbs_new_migration(const char *dir, const char *name, char **path, dbs_error *err)
{
	size_t n = strlen(name);
	if (n == 0 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "0123456789_-") != n)
		return dbs_fail(err, DBS_EINPUT, "bad migration name '%s': use letters, "
				"digits, '_' and '-'", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return dbs_fail(err, DBS_EINPUT, "cannot create directory '%s': %s", dir,
				strerror(errno));
	time_t t = time(NULL);
	for (int tries = 0; tries < 100; tries++, t++) {
		struct tm tm;
		char stamp[32];
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		/* Another file may hold this version already: take the next second. */
		source src;
		dbs_error e2 = { 0 };
		int taken = 0;
		if (!source_load(&src, dir, "postgres", &e2)) {
			for (size_t i = 0; i < src.n && !taken; i++)
				taken = !dbs_version_cmp(src.m[i].version, stamp);
			source_release(&src);
		}
		dbs_error_clear(&e2);
		if (taken)
			continue;
		char *p = xprintf("%s/%s_%s.sql", dir, stamp, name);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST) {
			free(p);
			continue;
		}
		if (fd < 0) {
			dbs_fail(err, DBS_EINPUT, "cannot create '%s': %s", p, strerror(errno));
			free(p);
			return DBS_EINPUT;
		}
		static const char body[] = "-- migrate:up\n\n\n-- migrate:down\n\n";
		ssize_t w = write(fd, body, sizeof(body) - 1);
		close(fd);
		if (w != (ssize_t)sizeof(body) - 1) {
			dbs_fail(err, DBS_EFAIL, "cannot write '%s'", p);
			free(p);
			return DBS_EFAIL;
		}
		*path = p;
		return 0;
	}
	return dbs_fail(err, DBS_EFAIL, "no free version found for '%s'", name);
}
