/*
 * runs.c - what the runs are doing, for status --runs, watch and serve:
 * the rows of dbshift_runs (a running run's live document, a finished
 * one's report), what the server knows of a running run's session
 * (progress views, lock waits) and the database's metrics.  Read only.
 *
 * A 'running' row is "abandoned" when its process is gone: on this host
 * that is asked of the system (kill(pid, 0)); elsewhere, when its
 * heartbeat is older than heartbeat_timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

/* The document of row i (its report, or while it runs its live
 * document) with its status and heartbeat age. */
static json_t *row_doc(const dbs_ctx *ctx, const db_rows *r, size_t i)
{
	json_t *doc = DB_VAL(r, i, 7) ? json_loads(DB_VAL(r, i, 7), 0, NULL) : NULL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	int64_t age;
	const char *st = live_run_status(ctx, r, i, doc, &age);
	json_object_set_new(doc, "run_id", json_string(DB_VAL(r, i, 0)));
	json_object_set_new(doc, "status", json_string(st));
	if (age >= 0 && strcmp(DB_VAL(r, i, 5), "running") == 0)
		json_object_set_new(doc, "heartbeat_age_ms", json_integer(age));
	if (strcmp(DB_VAL(r, i, 5), "running"))
		json_object_set_new(doc, "finished_at", json_string(DB_VAL(r, i, 4)));
	return doc;
}

/* The line of a run in a list: who, what, where it is, how it ended. */
static json_t *run_line(const json_t *doc)
{
	static const char *keys[] = { "run_id", "command", "environment", "status", "started_at",
				      "finished_at", "heartbeat_age_ms", "step", "current",
				      "steps_done", "steps_total", "summary", "items" };
	json_t *o = json_object();
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *v = json_object_get(doc, keys[k]);
		if (v)
			json_object_set(o, keys[k], v);
	}
	const json_t *d = json_object_get(doc, "data");
	if (json_is_object(d)) {  /* live progress, or a finished data run's facts */
		json_t *p = json_object();
		const char *dk[] = { "file", "rows_done", "rows_total", "percent", "rate", "eta_s",
				     "waiting_for_lag", "rows_changed", "finished" };
		for (size_t k = 0; k < sizeof(dk) / sizeof(dk[0]); k++)
			if (json_object_get(d, dk[k]))
				json_object_set(p, dk[k], json_object_get(d, dk[k]));
		json_object_set_new(o, "data", p);
	}
	const json_t *e = json_object_get(doc, "error");
	if (json_is_object(e))
		json_object_set(o, "error", json_object_get(e, "message"));
	json_object_set_new(o, "warnings", json_integer(
		(json_int_t)json_array_size(json_object_get(doc, "warnings"))));
	json_object_set_new(o, "errors", json_integer(
		(json_int_t)json_array_size(json_object_get(doc, "errors"))));
	return o;
}

static int runs_list(dbs_ctx *ctx, int limit, json_t **out)
{
	db_rows *r = NULL;
	*out = NULL;
	int rc = state_runs(ctx->driver, ctx->conn, NULL, limit, &r, &ctx->err);
	if (rc)
		return rc;
	json_t *list = json_array();
	for (size_t i = 0; i < r->nrows; i++) {
		json_t *doc = row_doc(ctx, r, i);
		json_array_append_new(list, run_line(doc));
		json_decref(doc);
	}
	db_rows_free(r);
	*out = list;
	return 0;
}

int dbs_runs_json(dbs_ctx *ctx, int limit, char **doc)
{
	json_t *list;
	int rc = runs_list(ctx, limit, &list);
	if (rc) {
		*doc = dbs_error_json("status --runs", &ctx->err);
		return rc;
	}
	*doc = report_dump(json_pack("{s:s, s:s, s:o}", "command", "status --runs", "database",
				     ctx->display_url, "runs", list));
	return 0;
}

/* Rows of a live member as objects with these keys (values as text,
 * numbers where the key says so: a leading '#'). */
static json_t *rows_json(const db_rows *r, const char *const *keys)
{
	json_t *list = json_array();
	for (size_t i = 0; i < r->nrows; i++) {
		json_t *o = json_object();
		for (size_t j = 0; j < r->ncols && keys[j]; j++) {
			const char *k = keys[j], *v = DB_VAL(r, i, j);
			int num = *k == '#';
			k += num;
			json_object_set_new(o, k, !v ? json_null() : num ? json_integer(strtoll(v, NULL, 10))
								: json_string(v));
		}
		json_array_append_new(list, o);
	}
	return list;
}

/* What the server knows of the session of a running run: {activity,
 * progress, lock_waits}, or NULL when it knows nothing. */
static json_t *server_view(dbs_ctx *ctx, const char *session)
{
	static const char *const act[] = { "state", "wait_event", "#statement_ms", NULL };
	static const char *const prog[] = { "view", "phase", "relation", "#done", "#total",
					     "unit", NULL };
	static const char *const waits[] = { "lock_type", "mode", "relation", "#waiting_ms",
					     "#blocker_pid", "blocker_user", "blocker_application",
					     "blocker_state", "#blocker_transaction_ms", NULL };
	db_rows *a = NULL, *p = NULL, *w = NULL;
	dbs_error e = { 0 };
	json_t *o = NULL;
	if (!db_activity(ctx->driver, ctx->conn, session, &a, &e) &&
	    !db_progress(ctx->driver, ctx->conn, session, &p, &e) &&
	    !db_lock_waits(ctx->driver, ctx->conn, session, &w, &e)) {
		json_t *acts = rows_json(a, act), *progress = rows_json(p, prog);
		for (size_t i = 0; i < json_array_size(progress); i++) {
			json_t *x = json_array_get(progress, i);
			json_int_t done = json_integer_value(json_object_get(x, "done"));
			json_int_t total = json_integer_value(json_object_get(x, "total"));
			json_object_set_new(x, "percent", total > 0 ? json_real(
				done >= total ? 100.0 : 100.0 * (double)done / (double)total) : json_null());
		}
		o = json_pack("{s:o, s:o, s:o}", "activity",
			      json_array_size(acts) ? json_incref(json_array_get(acts, 0)) : json_null(),
			      "progress", progress, "lock_waits", rows_json(w, waits));
		json_decref(acts);
	} else {
		o = json_pack("{s:s}", "error", e.message ? e.message : "failed");
	}
	db_rows_free(a);
	db_rows_free(p);
	db_rows_free(w);
	dbs_error_clear(&e);
	return o;
}

int dbs_run_json(dbs_ctx *ctx, const char *id, char **out)
{
	db_rows *r = NULL;
	json_t *doc = NULL;
	*out = NULL;
	int rc = 0;
	if (!id) {  /* the running run, else the newest */
		json_t *list;
		if (!(rc = runs_list(ctx, 20, &list))) {
			size_t pick = 0;
			for (size_t i = 0; i < json_array_size(list); i++)
				if (!strcmp(json_string_value(json_object_get(json_array_get(list, i),
									      "status")), "running")) {
					pick = i;
					break;
				}
			const char *pid = json_string_value(json_object_get(json_array_get(list, pick),
									    "run_id"));
			if (pid)
				rc = state_runs(ctx->driver, ctx->conn, pid, 1, &r, &ctx->err);
			json_decref(list);
			if (!pid) {
				dbs_fail(&ctx->err, DBS_EINPUT, "no run is recorded in this database");
				dbs_error_set_hint(&ctx->err, "runs are recorded by migrate, rollback, "
						   "data run, release and the other commands that change it");
				rc = DBS_EINPUT;
			}
		}
	} else {
		rc = state_runs(ctx->driver, ctx->conn, id, 1, &r, &ctx->err);
		if (!rc && r->nrows == 0) {
			dbs_fail(&ctx->err, DBS_EINPUT, "no run '%s' in this database", id);
			dbs_error_set_hint(&ctx->err, "'dbshift status --runs' lists them");
			rc = DBS_EINPUT;
		}
	}
	if (!rc) {
		doc = row_doc(ctx, r, 0);
		const char *session = json_string_value(json_object_get(doc, "session"));
		if (!strcmp(json_string_value(json_object_get(doc, "status")), "running") && session)
			json_object_set_new(doc, "server", server_view(ctx, session));
	}
	db_rows_free(r);
	*out = rc ? dbs_error_json("run", &ctx->err) : report_dump(doc);
	return rc;
}

/* hit / (hit + read) of two counters, or null when nothing was read. */
static json_t *hit_ratio(const json_t *counters)
{
	double hit = (double)json_integer_value(json_object_get(counters, "blocks_hit"));
	double read = (double)json_integer_value(json_object_get(counters, "blocks_read"));
	return hit + read > 0 ? json_real(hit / (hit + read)) : json_null();
}

/* The counters of the running run's database since it started, per second. */
static json_t *run_rates(const json_t *now, const json_t *start, int64_t ms)
{
	json_t *delta = json_object(), *rates = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)now, k, v) {
		json_t *was = json_object_get(start, k);
		if (!was)
			continue;
		json_int_t d = json_integer_value(v) - json_integer_value(was);
		json_object_set_new(delta, k, json_integer(d));
		json_object_set_new(rates, k, json_real(ms > 0 ? d * 1000.0 / (double)ms : 0));
	}
	json_t *o = json_pack("{s:I, s:o, s:o}", "seconds", (json_int_t)(ms / 1000), "change",
			      delta, "per_second", rates);
	json_object_set_new(o, "cache_hit_ratio", hit_ratio(delta));
	return o;
}

int dbs_metrics_json(dbs_ctx *ctx, char **out)
{
	static const char *const keys[] = { "name", "kind", "label", "#value", NULL };
	db_rows *r = NULL;
	int rc = db_metrics(ctx->driver, ctx->conn, 1, &r, &ctx->err);
	if (rc) {
		*out = dbs_error_json("metrics", &ctx->err);
		return rc;
	}
	json_t *list = rows_json(r, keys), *counters = json_object();
	for (size_t i = 0; i < r->nrows; i++)
		if (!strcmp(DB_VAL(r, i, 1), "counter") && DB_VAL(r, i, 3))
			json_object_set_new(counters, DB_VAL(r, i, 0),
					    json_integer(strtoll(DB_VAL(r, i, 3), NULL, 10)));
	db_rows_free(r);
	char at[32];
	utc_now(at);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "database", ctx->display_url, "driver",
				ctx->driver->name, "at", at, "metrics", list);
	json_object_set_new(doc, "cache_hit_ratio", hit_ratio(counters));
	/* rates over the running run, from the counters its live document
	 * recorded at its start (one read of the newest rows) */
	db_rows *runs = NULL;
	if (!state_runs(ctx->driver, ctx->conn, NULL, 5, &runs, &ctx->err)) {
		for (size_t i = 0; i < runs->nrows; i++) {
			json_t *d = row_doc(ctx, runs, i);
			json_t *st = json_object_get(d, "database_start");
			json_t *c0 = json_object_get(st, "counters");
			int running = !strcmp(json_string_value(json_object_get(d, "status")), "running");
			if (running && json_is_object(c0) && json_object_size(c0)) {
				json_t *rr = run_rates(counters, c0, wall_ms() -
					json_integer_value(json_object_get(st, "at_ms")));
				json_object_set(rr, "run_id", json_object_get(d, "run_id"));
				json_object_set_new(doc, "run", rr);
			}
			json_decref(d);
			if (running)
				break;
		}
	}
	db_rows_free(runs);
	dbs_error_clear(&ctx->err);
	json_decref(counters);
	*out = report_dump(doc);
	return 0;
}

int dbs_refresh(dbs_ctx *ctx)
{
	ctx_drop_state(ctx);
	dbs_error_clear(&ctx->err);
	return ctx_reconnect_if_lost(ctx);
}
