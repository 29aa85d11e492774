/*
 * run.c - one mutating run's record (run_begin, run_step, run_end) and
 * the retry of work that gave up waiting for a lock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctx/ctx.h"

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
	int rc = db_lock(ctx->driver, ctx->conn, ctx->opts.lock_wait_ms, &ctx->err);
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
		db_unlock(ctx->driver, ctx->conn);
	ctx_log(ctx, "[%s] %s %s: %zu succeeded, %zu failed%s%s", r->id, r->command,
		rc ? "failed" : "succeeded", r->ok, r->failed, rc ? ": " : "",
		rc && ctx->err.message ? ctx->err.message : "");
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
		sleep_ms(wait);
	}
	if (rc && *attempts > 1)
		dbs_error_set_detail(&ctx->err, "gave up after %d attempts: the lock stayed "
				     "taken by another session", *attempts);
	return rc;
}
