/*
 * live.c - a run's row while it runs.
 *
 * From run_begin until run_end, a thread of the run's own, on a
 * connection of its own (never inside the migration's transaction),
 * writes the run's row as 'running' with a live document and a heartbeat
 * once a second; run_end stops it and writes the final report.  The first
 * beat is a second in: a shorter run costs no connection and no write.  A
 * reader that sees a 'running' row whose heartbeat is older than
 * heartbeat_timeout knows the run was killed (ops/runs.c: "abandoned").
 *
 * The run's code only sets a few fields under the mutex (live_step,
 * live_data, ...); the thread builds the JSON from them, so nothing of
 * jansson is shared between the two threads.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx/ctx.h"

struct live {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int stop, started;
	const db_driver *d;
	char *url;
	db_conn *conn;             /* the thread's, made at its first beat */
	/* set once, before the thread starts */
	char id[64];
	char *command, *env, *database, *started_at, *session;
	int64_t start_ms;          /* wall clock */
	json_t *counters;          /* the database's counters at the start */
	/* set by the run, under mu */
	char step[256], current[256];
	size_t done, total;
	int has_data;
	char data_file[256];
	dbs_data_progress data;
	int has_items;
	char items_step[256];
	items_progress items;
	json_t *warnings, *errors;  /* arrays of strings */
	int64_t beats, misses, held;
	/* another process writes to a one-writer database (a framework's
	 * migrate on SQLite): no beat is written meanwhile; writing: a beat
	 * is being written (idle is signalled when it is done) */
	int quiet, writing;
	pthread_cond_t idle;
};

/* The database's counters now, as {name: value}, or NULL when it has none. */
static json_t *counters_now(const db_driver *d, db_conn *c)
{
	db_rows *r = NULL;
	dbs_error e = { 0 };
	json_t *o = NULL;
	if (!db_metrics(d, c, 0, &r, &e)) {
		o = json_object();
		for (size_t i = 0; i < r->nrows; i++)
			if (DB_VAL(r, i, 1) && !strcmp(DB_VAL(r, i, 1), "counter") && DB_VAL(r, i, 3))
				json_object_set_new(o, DB_VAL(r, i, 0),
						    json_integer(strtoll(DB_VAL(r, i, 3), NULL, 10)));
	}
	db_rows_free(r);
	dbs_error_clear(&e);
	if (!json_object_size(o)) {  /* a database that counts nothing */
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* The live document (under mu). */
static json_t *live_doc(live *l)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	char at[32];
	utc_now(at);
	json_t *doc = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:i, s:s, s:s?, s:s}",
		"run_id", l->id, "command", l->command, "environment", l->env,
		"database", l->database, "started_at", l->started_at, "status", "running",
		"pid", (int)getpid(), "host", host, "session", l->session, "heartbeat_at", at);
	json_object_set_new(doc, "step", *l->step ? json_string(l->step) : json_null());
	if (*l->current)
		json_object_set_new(doc, "current", json_string(l->current));
	json_object_set_new(doc, "steps_done", json_integer((json_int_t)l->done));
	json_object_set_new(doc, "steps_total",
			    l->total ? json_integer((json_int_t)l->total) : json_null());
	if (l->has_data) {
		const dbs_data_progress *p = &l->data;
		json_t *d = json_pack("{s:s, s:I, s:I, s:f, s:I, s:I, s:b, s:I}", "file", l->data_file,
			"rows_done", (json_int_t)p->rows_done, "rows_total", (json_int_t)p->total,
			"rate", p->rate, "batch_size", (json_int_t)p->batch_size,
			"batches", (json_int_t)p->batches, "waiting_for_lag", p->waiting_lag,
			"lag_ms", (json_int_t)p->lag_ms);
		json_object_set_new(d, "eta_s", p->eta_s >= 0 ? json_real(p->eta_s) : json_null());
		json_object_set_new(d, "percent", p->total > 0 ? json_real(
			p->rows_done >= p->total ? 100.0 : 100.0 * p->rows_done / p->total) : json_null());
		json_object_set_new(doc, "data", d);
	}
	if (l->has_items) {
		const items_progress *p = &l->items;
		json_t *it = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f}", "step", l->items_step,
			"done", (json_int_t)p->done, "total", (json_int_t)p->total, "bytes",
			(json_int_t)p->bytes, "bytes_total", (json_int_t)p->bytes_total, "failed",
			(json_int_t)p->failed, "rate", p->rate);
		json_object_set_new(it, "eta_s", p->eta_s >= 0 ? json_real(p->eta_s) : json_null());
		json_object_set_new(doc, "items", it);
	}
	json_object_set(doc, "warnings", l->warnings);
	json_object_set(doc, "errors", l->errors);
	if (l->counters)
		json_object_set_new(doc, "database_start", json_pack("{s:I, s:O}", "at_ms",
				    (json_int_t)l->start_ms, "counters", l->counters));
	return doc;
}

static char *live_text(live *l)
{
	json_t *doc = live_doc(l);
	report_times(doc);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}

static void *beat(void *arg)
{
	live *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!l->stop && pthread_cond_timedwait(&l->wake, &l->mu, &until) == 0)
			;
		if (l->stop)
			break;
		if (l->quiet) {
			l->held++;
			continue;
		}
		char *text = live_text(l);
		l->writing = 1;
		pthread_mutex_unlock(&l->mu);
		dbs_error e = { 0 };
		/* connected here, not at the start: a run shorter than a second
		 * pays for no connection */
		int rc = l->conn ? 0 : db_connect(l->d, &l->conn, l->url, &e);
		if (!rc && !l->beats && !l->misses)
			db_set_lock_wait(l->d, l->conn, 200);  /* a beat never waits long */
		if (!rc)
			rc = state_record_run(l->d, l->conn, l->id, l->command, l->env,
					      l->started_at, "running", text, &e);
		dbs_error_clear(&e);
		free(text);
		pthread_mutex_lock(&l->mu);
		/* a beat that could not be written (SQLite's one writer is busy)
		 * is tried again in a second */
		rc ? l->misses++ : l->beats++;
		l->writing = 0;
		pthread_cond_broadcast(&l->idle);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

void live_start(dbs_ctx *ctx, const run *r)
{
	if (ctx->live || r->nested || !r->have_state)
		return;
	live *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->wake, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->d = ctx->driver;
	l->url = xstrdup(ctx->opts.database);
	memcpy(l->id, r->id, sizeof(l->id));
	l->command = xstrdup(r->command);
	l->env = ctx->opts.env ? xstrdup(ctx->opts.env) : NULL;
	l->database = xstrdup(ctx->display_url);
	l->started_at = xstrdup(r->started);
	l->warnings = json_array();
	l->errors = json_array();
	dbs_error e = { 0 };
	db_session(ctx->driver, ctx->conn, &l->session, &e);
	dbs_error_clear(&e);
	l->start_ms = wall_ms();
	l->counters = counters_now(ctx->driver, ctx->conn);
	ctx->live = l;
	if (!(l->started = !pthread_create(&l->thread, NULL, beat, l)))
		ctx_log(ctx, "[%s] no live row: no thread for it", r->id);
	dbs_error_clear(&e);
}

json_t *live_stop(dbs_ctx *ctx)
{
	live *l = ctx->live;
	if (!l)
		return NULL;
	ctx->live = NULL;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	if (l->conn)
		db_close(l->d, l->conn);
	/* what the database did during the run: each counter's change */
	json_t *delta = NULL, *now = l->counters ? counters_now(ctx->driver, ctx->conn) : NULL;
	if (now) {
		delta = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(now, k, v) {
			json_t *was = json_object_get(l->counters, k);
			if (was)
				json_object_set_new(delta, k, json_integer(json_integer_value(v) -
									   json_integer_value(was)));
		}
		json_object_set_new(delta, "duration_ms", json_integer(wall_ms() - l->start_ms));
		json_decref(now);
	}
	ctx_log(ctx, "[%s] heartbeats: %lld written, %lld missed, %lld held back", l->id,
		(long long)l->beats, (long long)l->misses, (long long)l->held);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->wake);
	pthread_cond_destroy(&l->idle);
	free(l->url);
	free(l->command);
	free(l->env);
	free(l->database);
	free(l->started_at);
	free(l->session);
	json_decref(l->counters);
	json_decref(l->warnings);
	json_decref(l->errors);
	free(l);
	return delta;
}

void live_quiet(dbs_ctx *ctx, int on)
{
	live *l = ctx->live;
	if (!l || !l->started || !db_one_writer(l->d))
		return;
	pthread_mutex_lock(&l->mu);
	l->quiet = on;
	while (on && l->writing)  /* a beat under way finishes first */
		pthread_cond_wait(&l->idle, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

static void copy_text(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

void live_step(dbs_ctx *ctx, const char *label, size_t done, size_t total)
{
	live *l = ctx->live;
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	if (ctx->outer) {  /* within a step of a release */
		copy_text(l->current, sizeof(l->current), label);
	} else {
		copy_text(l->step, sizeof(l->step), label);
		l->current[0] = '\0';
		if (total) {  /* 0: a part of the step being counted (a data run) */
			l->done = done;
			l->total = total;
		}
		if (label)
			l->has_data = l->has_items = 0;
	}
	pthread_mutex_unlock(&l->mu);
}

void live_data(dbs_ctx *ctx, const char *file, const dbs_data_progress *p)
{
	live *l = ctx->live;
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->has_data = 1;
	copy_text(l->data_file, sizeof(l->data_file), file);
	l->data = *p;
	pthread_mutex_unlock(&l->mu);
}

void live_items(dbs_ctx *ctx, const char *step, const items_progress *p)
{
	live *l = ctx->live;
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->has_items = 1;
	copy_text(l->items_step, sizeof(l->items_step), step);
	l->items = *p;
	pthread_mutex_unlock(&l->mu);
}

/* Keep the newest few lines of a list. */
static void add_line(live *l, json_t *list, const char *line)
{
	pthread_mutex_lock(&l->mu);
	if (json_array_size(list) >= 50)
		json_array_remove(list, 0);
	json_array_append_new(list, json_string(line));
	pthread_mutex_unlock(&l->mu);
}

/* A warning of the run: for its output and report (ctx->warnings), its
 * log and its live row. */
void ctx_warn(dbs_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvprintf(fmt, ap);
	va_end(ap);
	ctx_log(ctx, "warning: %s", line);
	if (ctx->live)
		add_line(ctx->live, ctx->live->warnings, line);
	char *all = ctx->warnings ? xprintf("%s\n%s", ctx->warnings, line) : xstrdup(line);
	free(ctx->warnings);
	free(line);
	ctx->warnings = all;
}

void live_error(dbs_ctx *ctx, const char *what, const dbs_error *err)
{
	if (!ctx->live || !err)
		return;
	char *line = xprintf("%s: %s", what, err->message ? err->message : "failed");
	add_line(ctx->live, ctx->live->errors, line);
	free(line);
}
