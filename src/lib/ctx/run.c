/*
 * run.c - one mutating run's record (run_begin, run_step, run_end) and
 * the retry of work that gave up waiting for a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctx/ctx.h"

void run_open(dbs_ctx *ctx, run *r, const char *command)
{
	memset(r, 0, sizeof(*r));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	/* (a fleet's threads open runs at once) */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char last[sizeof(r->id)];
	static int again;
	snprintf(r->id, sizeof(r->id), "%s.%03ldZ-%ld", stamp, ts.tv_nsec / 1000000,
		 (long)getpid());
	pthread_mutex_lock(&mu);
	if (!strcmp(r->id, last)) {
		/* two runs of one process in one millisecond (a backup, then the
		 * migrate it was for): each its own id */
		size_t n = strlen(r->id);
		snprintf(r->id + n, sizeof(r->id) - n, "-%d", ++again);
	} else {
		memcpy(last, r->id, sizeof(last));
		again = 0;
	}
	pthread_mutex_unlock(&mu);
	utc_now(r->started);
	r->t0 = now_ms();
	r->command = command;
	r->steps = json_array();
	memcpy(ctx->run_id, ctx->outer ? ctx->outer->id : r->id, sizeof(ctx->run_id));
	if (ctx->outer) {
		/* a step of a release: under its lock, in its record */
		memcpy(r->id, ctx->outer->id, sizeof(r->id));
		r->nested = 1;
		ctx_log(ctx, "[%s] %s: started", r->id, command);
		dbs_error_clear(&ctx->err);
		return;
	}
	if (ctx->opts.report_dir && *ctx->opts.report_dir)
		r->report_path = xprintf("%s/%s.json", ctx->opts.report_dir, r->id);
	srandom((unsigned)(ts.tv_nsec ^ getpid()));  /* retry jitter differs per process */
	free(ctx->warnings);
	ctx->warnings = NULL;
	ctx_log(ctx, "[%s] %s on %s: started by %s", r->id, command, ctx->display_url,
		whoami());
	dbs_error_clear(&ctx->err);
	notice n = { r->id, command, "started", NULL, NULL, -1, r->report_path };
	ctx_notify(ctx, &n);
}

int run_begin(dbs_ctx *ctx, run *r, const char *command)
{
	run_open(ctx, r, command);
	if (r->nested) {  /* under the release's lock */
		ctx_drop_state(ctx);
		return ctx_load_state(ctx);
	}
	int wait = ctx->opts.lock_wait_ms;
	int tell = ctx_listens(ctx, DBS_EV_LOCK_WAIT) && wait > 0;
	int rc = db_lock(ctx->driver, ctx->conn, tell ? 0 : wait, &ctx->err);
	if (rc == DBS_ELOCKED && tell) {  /* say so, then wait */
		dbs_event e = { .kind = DBS_EV_LOCK_WAIT, .detail = ctx->err.detail,
				.us = (int64_t)wait * 1000 };
		ctx_event(ctx, &e);
		dbs_error_clear(&ctx->err);
		int64_t t0 = now_us();
		rc = db_lock(ctx->driver, ctx->conn, wait, &ctx->err);
		dbs_event took = { .kind = DBS_EV_LOCK_TAKEN, .us = now_us() - t0 };
		if (!rc)
			ctx_event(ctx, &took);
	}
	if (rc)
		return rc;
	r->locked = 1;
	if ((rc = state_ensure(ctx->driver, ctx->conn, &ctx->err)))
		return rc;
	r->have_state = 1;
	ctx_drop_state(ctx);
	if ((rc = ctx_load_state(ctx)))
		return rc;
	live_start(ctx, r);
	return 0;
}

void run_add_step(run *r, json_t *s, const dbs_error *err)
{
	const char *st = json_string_value(json_object_get(s, "status"));
	/* a callback hook (before_migrate, on_failure...) is in the report,
	 * but no step of the summary; a release's hook:NAME step is one */
	int callback = json_object_get(s, "hook") && !json_object_get(s, "step");
	if (err)
		json_object_set_new(s, "error", report_error(err));
	json_array_append_new(r->steps, s);
	if (callback)
		return;
	if (err)
		r->failed++;
	else if (st && !strcmp(st, "skipped"))
		r->skipped++;
	else
		r->ok++;
}

void run_step(dbs_ctx *ctx, run *r, const dbs_entry *e, const char *action,
		     int64_t ms, int attempts, const dbs_error *err)
{
	run_add_step(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "app", e->app,
				  "version", e->version, "name", e->name, "action", action,
				  "status", err ? "failed" : "succeeded", "duration_ms",
				  (json_int_t)ms, "attempts", attempts), err);
	ctx_log(ctx, "[%s] %s%s%s%s%s %s: %s (%lld ms)%s%s", r->id, e->app, *e->app ? "/" : "",
		e->version, *e->name ? "_" : "", e->name, action, err ? "failed" : "ok", (long long)ms,
		err ? ": " : "", err ? err->message : "");
}

/* "app/version_name action" (or "hook NAME (when)") of the last failed
 * step, or NULL. */
static char *failed_step(const run *r)
{
	for (size_t i = json_array_size(r->steps); i-- > 0;) {
		const json_t *s = json_array_get(r->steps, i);
		const char *app = json_string_value(json_object_get(s, "app"));
		const char *hook = json_string_value(json_object_get(s, "hook"));
		const char *step = json_string_value(json_object_get(s, "step"));
		if (strcmp(json_string_value(json_object_get(s, "status")), "failed"))
			continue;
		if (step)  /* a release's */
			return xstrdup(step);
		if (hook)
			return xprintf("hook %s (%s)", hook,
				       json_string_value(json_object_get(s, "action")));
		const char *name = json_string_value(json_object_get(s, "name"));
		return xprintf("%s%s%s%s%s %s", app, *app ? "/" : "",
			       json_string_value(json_object_get(s, "version")), *name ? "_" : "",
			       name,
			       json_string_value(json_object_get(s, "action")));
	}
	return NULL;
}

/* The report as a file in report_dir; failing that, a warning. */
static void write_report(dbs_ctx *ctx, const run *r, const char *text)
{
	if (!r->report_path)
		return;
	/* a report holds SQL and errors, as the log does: the owner's only */
	int fd = make_dirs(ctx->opts.report_dir, 0700) ? -1
		 : open(r->report_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	int e = errno;
	if (fd >= 0 && !f)
		close(fd);
	if (f) {
		int bad = fprintf(f, "%s\n", text) < 0;
		e = errno;
		if (fclose(f) && !bad) {
			bad = 1;
			e = errno;
		}
		if (!bad) {
			ctx_log(ctx, "[%s] report written to %s", r->id, r->report_path);
			return;
		}
	}
	ctx_warn(ctx, "could not write the report %s: %s", r->report_path, strerror(e));
}

/* {"total", "succeeded", "failed", "skipped", "success_rate"}: the rate
 * is the percentage of the steps that ran that succeeded (100 when none
 * ran), to one decimal. */
static json_t *summary(const run *r)
{
	size_t ran = r->ok + r->failed;
	double rate = ran ? (double)((r->ok * 1000 + ran / 2) / ran) / 10.0 : 100.0;
	return json_pack("{s:I, s:I, s:I, s:I, s:f}", "total",
			 (json_int_t)(ran + r->skipped), "succeeded", (json_int_t)r->ok, "failed",
			 (json_int_t)r->failed, "skipped", (json_int_t)r->skipped,
			 "success_rate", rate);
}

/* The run's report, in its file and its row. */
static void record_end(dbs_ctx *ctx, const run *r, int rc, const char *text)
{
	write_report(ctx, r, text);
	if (!r->have_state)
		return;
	dbs_error e2 = { 0 };
	if (state_record_run(ctx->driver, ctx->conn, r->id, r->command, ctx->opts.env,
			     r->started, rc ? "failed" : "succeeded", text, &e2))
		ctx_log(ctx, "[%s] could not record the run: %s", r->id, e2.message);
	dbs_error_clear(&e2);
}

static void forget_last_run(dbs_ctx *ctx)
{
	free(ctx->last_id);
	free(ctx->last_report);
	free(ctx->last_backup);
	ctx->last_id = ctx->last_report = ctx->last_backup = NULL;
}

char *run_less_report(dbs_ctx *ctx, const char *command)
{
	forget_last_run(ctx);
	return dbs_error_json(command, &ctx->err);
}

int run_end(dbs_ctx *ctx, run *r, int rc, char **report)
{
	json_t *activity = r->nested ? NULL : live_stop(ctx);
	int64_t duration = now_ms() - r->t0;
	json_t *doc = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:o}",
		"run_id", r->id, "command", r->command, "environment", ctx->opts.env,
		"database", ctx->display_url, "started_at", r->started,
		"status", rc ? "failed" : "succeeded", "steps", r->steps, "summary", summary(r));
	if (r->risk)
		json_object_set_new(doc, "risk", r->risk);
	if (r->extra)
		json_object_set_new(doc, "data", r->extra);
	if (rc)
		json_object_set_new(doc, "error", report_error(&ctx->err));
	if (ctx->warnings && !r->nested)
		json_object_set_new(doc, "warnings", report_lines(ctx->warnings));
	if (r->fields)
		json_object_update_new(doc, r->fields);
	if (activity)
		json_object_set_new(doc, "database_activity", activity);
	if (r->report_path)
		json_object_set_new(doc, "report_file", json_string(r->report_path));
	/* the backup the run took first (its fields say), for dbs_last_run */
	const char *took = json_string_value(json_object_get(doc, "backup"));
	char *backup = took ? xstrdup(took) : NULL;
	json_incref(doc);
	char *text = report_dump(doc);
	record_end(ctx, r, rc, text);
	if (r->locked)
		db_unlock(ctx->driver, ctx->conn);
	/* the alert after the lock: a receiver that hangs holds no migrator up */
	char *failed = rc ? failed_step(r) : NULL;
	notice n = { r->id, r->command, rc ? "failed" : "succeeded", failed,
		     rc ? &ctx->err : NULL, duration, r->report_path };
	if (ctx_notify(ctx, &n) && !r->nested) {  /* its failure is a warning of the run */
		json_object_set_new(doc, "warnings", report_lines(ctx->warnings));
		free(text);
		json_incref(doc);
		text = report_dump(doc);
		record_end(ctx, r, rc, text);
	}
	free(failed);
	json_decref(doc);
	ctx_log(ctx, "[%s] %s %s: %zu succeeded, %zu failed, %zu skipped%s%s", r->id,
		r->command, rc ? "failed" : "succeeded", r->ok, r->failed, r->skipped,
		rc ? ": " : "", rc && ctx->err.message ? ctx->err.message : "");
	forget_last_run(ctx);
	ctx->last_id = xstrdup(r->id);
	ctx->last_report = r->report_path;  /* now the context's */
	ctx->last_backup = backup;
	r->report_path = NULL;
	if (report)
		*report = text;
	else
		free(text);
	return rc;
}

int retry_on_lock_timeout(dbs_ctx *ctx, const char *what, int (*attempt)(dbs_ctx *, void *),
			  void *arg, int *attempts)
{
	const int *delays = ctx->retry_ms;
	size_t ndelays = ctx->nretry;
	int rc;
	for (*attempts = 1;; (*attempts)++) {
		rc = attempt(ctx, arg);
		if (!rc || !db_is_lock_timeout(ctx->driver, &ctx->err) || (size_t)*attempts > ndelays)
			break;
		int wait = delays[*attempts - 1];
		wait = wait / 2 + (wait > 0 ? (int)(random() % (wait + 1)) : 0);  /* 50-150% */
		ctx_log(ctx, "%s: attempt %d of %zu gave up waiting for a lock (%s); retrying in "
			"%d ms", what, *attempts, ndelays + 1, ctx->err.message, wait);
		dbs_event e = { .kind = DBS_EV_RETRY, .what = ctx->ev_what, .attempt = *attempts,
				.attempts = (int)ndelays + 1, .us = (int64_t)wait * 1000,
				.detail = ctx->err.message };
		ctx_event(ctx, &e);
		sleep_ms(wait);
	}
	if (rc && *attempts > 1)
		dbs_error_set_detail(&ctx->err, "gave up after %d attempts: the lock stayed "
				     "taken by another session", *attempts);
	return rc;
}
