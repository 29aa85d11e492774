/*
 * fleet.c - one command on many databases: the targets of [fleet] (a
 * file, a catalogue query, or a schema per tenant), a stable share of
 * them (--shard), and a pool of threads that runs the command on each
 * with its own context, a canary first, stopping as on_error says.  The
 * fleet's report goes to report_dir, its alerts to notify_url.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

typedef struct target {
	char *url;      /* what is connected to: a secret */
	char *shown;    /* for people and reports */
	int line;       /* of the targets file, or the row of a query */
	/* the outcome */
	const char *status;
	char *before, *after, *run_report;
	size_t pending, failed;
	int64_t ms;
	dbs_error err;
} target;

struct dbs_fleet {
	dbs_options opts;
	target *t;
	size_t n;
};

/* ---- the targets ---- */

static void add_target(dbs_fleet *f, char *url, char *shown, int line)
{
	if (!(f->n & (f->n - 1)) || !f->n)
		f->t = xrealloc(f->t, (f->n ? f->n * 2 : 8) * sizeof(target));
	f->t[f->n++] = (target){ .url = url, .shown = shown, .line = line };
}

/* A URL of the fleet: a driver takes it, and libpq reads it. */
static int url_target(dbs_fleet *f, const char *url, dbs_error *err, const char *file,
		      int line)
{
	int rc = url_check(url, err);
	if (rc) {
		dbs_error_set_file(err, file, line, 0);
		return rc;
	}
	add_target(f, xstrdup(url), dbs_redact_url(url), line);
	return 0;
}

static int by_name(const void *a, const void *b, void *fleet)
{
	const dbs_fleet *f = fleet;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(f->t[i].shown, f->t[j].shown);
	return c ? c : i < j ? -1 : i > j;
}

/* A target twice (as shown: the same database, whatever its password) is
 * refused at its second place. */
static int no_twice(const dbs_fleet *f, const char *file, dbs_error *err)
{
	size_t *ix = xcalloc(f->n ? f->n : 1, sizeof(size_t)), dup = 0;
	for (size_t i = 0; i < f->n; i++)
		ix[i] = i;
	qsort_r(ix, f->n, sizeof(size_t), by_name, (void *)f);
	for (size_t i = 1; i < f->n && !dup; i++)
		if (!strcmp(f->t[ix[i]].shown, f->t[ix[i - 1]].shown))
			dup = ix[i] + 1;
	free(ix);
	if (!dup)
		return 0;
	const target *t = &f->t[dup - 1];
	dbs_fail(err, DBS_EINPUT, "target %s is in the fleet twice", t->shown);
	dbs_error_set_file(err, file, file ? t->line : 0, 0);
	dbs_error_set_hint(err, "list each database once");
	return DBS_EINPUT;
}

static int targets_file(dbs_fleet *f, const char *path, dbs_error *err)
{
	char *text;
	size_t len;
	if (read_file(path, &text, &len)) {
		dbs_fail(err, DBS_EINPUT, "cannot read the targets file %s: %s", path,
			 read_file_error(errno));
		dbs_error_set_hint(err, "set targets in [fleet] to a file of database URLs, one "
				   "per line");
		return DBS_EINPUT;
	}
	int rc = 0, line = 0;
	for (char *p = text, *nl; !rc && p < text + len; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = text + len;
		*nl = '\0';
		line++;
		char *w = p + strspn(p, " \t");
		size_t n = strlen(w);
		while (n && (w[n - 1] == ' ' || w[n - 1] == '\t' || w[n - 1] == '\r'))
			w[--n] = '\0';
		if (!n || *w == '#')
			continue;
		if (starts_with(w, "env:")) {
			const char *v = getenv(w + 4);
			if (!v || !*v) {
				rc = dbs_fail(err, DBS_EINPUT, "the environment variable %s is not set",
					      w + 4);
				dbs_error_set_file(err, path, line, 0);
				dbs_error_set_hint(err, "export %s with the database's URL, or write "
						   "the URL on that line", w + 4);
				break;
			}
			rc = url_target(f, v, err, path, line);
		} else {
			rc = url_target(f, w, err, path, line);
		}
	}
	free(text);
	return rc;
}

/* The first column of each row of sql on url (a NULL one is passed over). */
static int query_column(const char *url, const char *sql, const char *key, db_rows **rows,
			dbs_error *err)
{
	const db_driver *d;
	db_conn *c = NULL;
	int rc = driver_for_url(&d, url, err);
	if (!rc)
		rc = db_connect(d, &c, url, err);
	if (!rc && (rc = db_query(d, c, sql, 0, NULL, rows, err))) {
		char *m = xstrdup(err->message);
		dbs_fail(err, DBS_EINPUT, "[fleet] %s failed: %s", key, m);
		dbs_error_set_hint(err, "check %s in dbshift.conf: a query whose first column "
				   "is %s", key, strcmp(key, "schemas_query") ? "a database URL"
				   : "a schema name");
		free(m);
	}
	if (c)
		db_close(d, c);
	return rc;
}

static int targets_query(dbs_fleet *f, dbs_error *err)
{
	const dbs_options *o = &f->opts;
	const char *url = o->fleet_targets_database ? o->fleet_targets_database : o->database;
	if (url && starts_with(url, "env:")) {  /* the URL in a variable, as a line's */
		const char *name = url + 4;
		if (!(url = getenv(name)) || !*url) {
			dbs_fail(err, DBS_EINPUT, "targets_database names the environment variable "
				 "%s, which is not set", name);
			dbs_error_set_hint(err, "export %s with the catalogue database's URL", name);
			return DBS_EINPUT;
		}
	}
	if (!url || !*url) {
		dbs_fail(err, DBS_EINPUT, "targets_query has no database to run on");
		dbs_error_set_hint(err, "set targets_database in [fleet] (or database)");
		return DBS_EINPUT;
	}
	db_rows *r = NULL;
	int rc = query_column(url, o->fleet_targets_query, "targets_query", &r, err);
	for (size_t i = 0; !rc && i < r->nrows; i++) {
		const char *v = DB_VAL(r, i, 0);
		if (v && *v && (rc = url_target(f, v, err, NULL, (int)i + 1)))
			dbs_error_set_detail(err, "row %zu of targets_query", i + 1);
	}
	db_rows_free(r);
	return rc;
}

static int schemas_query(dbs_fleet *f, dbs_error *err)
{
	const char *url = f->opts.database;
	if (!url || !url_is_postgres(url)) {
		dbs_fail(err, DBS_EINPUT, "schemas_query needs a PostgreSQL database");
		dbs_error_set_hint(err, "set database to the PostgreSQL database whose schemas "
				   "are the tenants");
		return DBS_EINPUT;
	}
	db_rows *r = NULL;
	int rc = query_column(url, f->opts.fleet_schemas_query, "schemas_query", &r, err);
	char *base = rc ? NULL : dbs_redact_url(url);
	for (size_t i = 0; !rc && i < r->nrows; i++) {
		const char *s = DB_VAL(r, i, 0);
		if (!s || !*s)
			continue;
		char *u = url_pg_with_schema(url, s, err);
		if (u)
			add_target(f, u, xprintf("%s schema %s", base, s), (int)i + 1);
		else
			rc = err->code;
	}
	free(base);
	db_rows_free(r);
	return rc;
}

int dbs_fleet_open(dbs_fleet **out, const dbs_options *opts, dbs_error *err)
{
	*out = NULL;
	int nsrc = !!opts->fleet_targets + !!opts->fleet_targets_query +
		   !!opts->fleet_schemas_query;
	if (nsrc != 1) {
		dbs_fail(err, DBS_EINPUT, nsrc ? "[fleet] sets more than one of targets, "
			 "targets_query and schemas_query" : "no fleet: [fleet] has no targets");
		dbs_error_set_hint(err, "set one in [fleet] of dbshift.conf: targets = FILE, "
				   "targets_query = SQL or schemas_query = SQL");
		return DBS_EINPUT;
	}
	dbs_fleet *f = xcalloc(1, sizeof(*f));
	options_copy(&f->opts, opts);
	int rc = opts->fleet_targets ? targets_file(f, opts->fleet_targets, err)
		 : opts->fleet_targets_query ? targets_query(f, err) : schemas_query(f, err);
	if (!rc)
		rc = no_twice(f, opts->fleet_targets, err);
	if (rc) {
		dbs_fleet_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

static void target_reset(target *t)
{
	free(t->before);
	free(t->after);
	free(t->run_report);
	t->before = t->after = t->run_report = NULL;
	dbs_error_clear(&t->err);
}

void dbs_fleet_free(dbs_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		target_reset(&f->t[i]);
		free(f->t[i].url);
		free(f->t[i].shown);
	}
	free(f->t);
	dbs_options_release(&f->opts);
	free(f);
}

size_t dbs_fleet_size(const dbs_fleet *f)
{
	return f->n;
}

const char *dbs_fleet_target(const dbs_fleet *f, size_t i)
{
	return i < f->n ? f->t[i].shown : NULL;
}

/* Keep the targets keep[] says, in their order. */
static void fleet_keep(dbs_fleet *f, const char *keep)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (keep[i]) {
			f->t[k++] = f->t[i];
			continue;
		}
		target_reset(&f->t[i]);
		free(f->t[i].url);
		free(f->t[i].shown);
	}
	f->n = k;
}

int dbs_fleet_shard(dbs_fleet *f, int k, int n, dbs_error *err)
{
	if (n < 1 || k < 1 || k > n) {
		dbs_fail(err, DBS_EINPUT, "bad shard %d/%d", k, n);
		dbs_error_set_hint(err, "give K/N with 1 <= K <= N, e.g. --shard 1/4");
		return DBS_EINPUT;
	}
	char *keep = xcalloc(f->n ? f->n : 1, 1);
	for (size_t i = 0; i < f->n; i++)
		keep[i] = fnv1a(f->t[i].shown) % (uint64_t)n == (uint64_t)(k - 1);
	fleet_keep(f, keep);
	free(keep);
	return 0;
}

/* ---- fleet reports ---- */

/* The newest fleet-*.json of report_dir for command (and shard). */
static json_t *newest_report(const dbs_options *o, const char *fleet_command,
			     const char *shard)
{
	DIR *d = o->report_dir && *o->report_dir ? opendir(o->report_dir) : NULL;
	if (!d)
		return NULL;
	char *best = NULL;
	json_t *doc = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!starts_with(e->d_name, "fleet-") || !ends_with(e->d_name, ".json") ||
		    (best && strcmp(e->d_name, best) <= 0))
			continue;
		char *path = xprintf("%s/%s", o->report_dir, e->d_name);
		json_t *j = json_load_file(path, 0, NULL);
		free(path);
		const char *c = json_string_value(json_object_get(j, "command"));
		const char *s = json_string_value(json_object_get(j, "shard"));
		if (c && !strcmp(c, fleet_command) && (!shard ? !s : s && !strcmp(s, shard))) {
			json_decref(doc);
			doc = j;
			free(best);
			best = xstrdup(e->d_name);
		} else {
			json_decref(j);
		}
	}
	closedir(d);
	free(best);
	return doc;
}

int dbs_fleet_only_failed(dbs_fleet *f, const char *command, const char *shard,
			  dbs_error *err)
{
	char *fc = xprintf("fleet %s", command);
	json_t *doc = newest_report(&f->opts, fc, shard);
	free(fc);
	if (!doc) {
		dbs_fail(err, DBS_EINPUT, "no fleet report of %s%s%s in %s", command,
			 shard ? " shard " : "", shard ? shard : "",
			 f->opts.report_dir && *f->opts.report_dir ? f->opts.report_dir
			 : "(report_dir is off)");
		dbs_error_set_hint(err, "run 'dbshift fleet %s' first (--only-failed re-runs what "
				   "its last run did not finish)", command);
		return DBS_EINPUT;
	}
	json_t *results = json_object_get(doc, "targets"), *r;
	size_t j;
	char *keep = xcalloc(f->n ? f->n : 1, 1);
	json_array_foreach(results, j, r) {
		const char *name = json_string_value(json_object_get(r, "target"));
		const char *st = json_string_value(json_object_get(r, "status"));
		for (size_t i = 0; name && st && strcmp(st, "succeeded") && i < f->n; i++)
			if (!strcmp(f->t[i].shown, name))
				keep[i] = 1;
	}
	json_decref(doc);
	fleet_keep(f, keep);
	free(keep);
	return 0;
}

/* ---- running ---- */

/* Was the fleet told to stop (a signal, another thread)? */
static int stopped(const dbs_fleet_opts *o)
{
	return o->stop && __atomic_load_n(o->stop, __ATOMIC_RELAXED);
}

typedef struct pool {
	dbs_fleet *f;
	const dbs_fleet_opts *o;
	dbs_fleet_cb cb;
	void *data;
	pthread_mutex_t mu;
	size_t next, end;       /* the targets of this round: [next, end) */
	size_t failed, skipped;
	int halt;               /* start no other target (on_error, max_failures) */
	size_t running, done;
	dbs_ctx *home;          /* the fleet's own run, or NULL */
} pool;

/* The fleet's progress in its live row (under mu). */
static void progress(pool *p)
{
	if (!p->home)
		return;
	items_progress ip = { .done = (int64_t)p->done, .total = (int64_t)p->f->n,
			      .failed = (int64_t)p->failed, .eta_s = -1 };
	char step[64];
	snprintf(step, sizeof(step), "targets, %zu running", p->running);
	live_items(p->home, step, &ip);
}

/* The newest applied migration of ctx's database (*v NULL: none), and how
 * many are pending and failed. */
static int newest_applied(dbs_ctx *ctx, char **v, size_t *pending, size_t *failed)
{
	size_t n = 0;
	*v = NULL;
	*pending = *failed = 0;
	int rc = dbs_refresh(ctx);
	if (!rc)
		rc = dbs_status(ctx, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		const dbs_entry *e = dbs_status_entry(ctx, i);
		if (e->state == DBS_APPLIED || e->state == DBS_DRIFTED) {
			free(*v);
			*v = *e->app ? xprintf("%s:%s", e->app, e->version) : xstrdup(e->version);
		}
		*pending += e->state == DBS_PENDING;
		*failed += e->state == DBS_FAILED;
	}
	return rc;
}

/* The report file of a run's JSON report, or NULL. */
static char *report_file_of(const char *report)
{
	json_t *j = report ? json_loads(report, 0, NULL) : NULL;
	const char *p = json_string_value(json_object_get(j, "report_file"));
	char *out = p ? xstrdup(p) : NULL;
	json_decref(j);
	return out;
}

static int run_command(dbs_ctx *ctx, const dbs_fleet_opts *o, target *t)
{
	const char *c = o->command;
	char *report = NULL;
	int rc, bad = 0;
	if (!strcmp(c, "migrate")) {
		rc = dbs_migrate(ctx, &o->migrate, NULL, NULL, &report);
	} else if (!strcmp(c, "rollback")) {
		rc = dbs_rollback(ctx, &o->migrate, NULL, NULL, &report);
	} else if (!strcmp(c, "release")) {
		rc = dbs_release(ctx, &o->release, NULL, NULL, &report);
	} else if (!strcmp(c, "verify")) {
		rc = dbs_verify(ctx, o->schema_file, NULL, &report, &bad);
		t->failed = (size_t)bad;
		if (!rc && bad) {
			dbs_fail(&ctx->err, DBS_EFAIL, "%d check%s failed", bad, bad == 1 ? "" : "s");
			rc = DBS_EFAIL;
		}
	} else if (!strcmp(c, "plan")) {
		dbs_plan *plan = NULL;
		rc = dbs_plan_migrate(ctx, &o->migrate, &plan);
		t->pending = plan ? plan->n : 0;
		dbs_plan_free(plan);
		return rc;
	} else {  /* status: what newest_applied reads */
		return 0;
	}
	t->run_report = report_file_of(report);
	free(report);
	return rc;
}

static void run_target(pool *p, target *t)
{
	const dbs_fleet_opts *o = p->o;
	dbs_options opts;
	options_copy(&opts, &p->f->opts);
	free(opts.database);
	opts.database = xstrdup(t->url);
	free(opts.notify_url);  /* the fleet alerts, once per target that failed */
	opts.notify_url = NULL;
	free(opts.replica_url);  /* the config's replica is its database's, not a target's */
	opts.replica_url = NULL;
	int64_t t0 = now_ms();
	dbs_ctx *ctx = NULL;
	int rc = dbs_open(&ctx, &opts, &t->err);
	size_t pending = 0, failed = 0;
	/* before and after, for the commands that change the history */
	int changes = !strcmp(o->command, "migrate") || !strcmp(o->command, "rollback") ||
		      !strcmp(o->command, "release");
	if (!rc && changes)
		rc = newest_applied(ctx, &t->before, &pending, &failed);
	if (!rc)
		rc = run_command(ctx, o, t);
	if (ctx && rc)
		dbs_error_move(&t->err, &ctx->err);
	if (ctx && newest_applied(ctx, &t->after, &pending, &failed) && !rc) {
		rc = ctx->err.code;  /* (after a failure too: what it left) */
		dbs_error_move(&t->err, &ctx->err);
	}
	if (!changes && t->after)
		t->before = xstrdup(t->after);
	if (strcmp(o->command, "plan"))
		t->pending = pending;
	if (!strcmp(o->command, "status"))
		t->failed = failed;
	dbs_close(ctx);
	dbs_options_release(&opts);
	t->ms = now_ms() - t0;
	t->status = rc ? "failed" : "succeeded";
}

static void tell(pool *p, size_t i)
{
	target *t = &p->f->t[i];
	if (!p->cb)
		return;
	dbs_fleet_result r = { i, t->shown, t->status, t->before, t->after, t->pending, t->failed,
			       t->ms, t->err.code ? &t->err : NULL, t->run_report };
	p->cb(&r, p->data);
}

static void *worker(void *arg)
{
	pool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (p->next < p->end && !p->halt && !stopped(p->o)) {
		size_t i = p->next++;
		p->running++;
		progress(p);
		pthread_mutex_unlock(&p->mu);
		run_target(p, &p->f->t[i]);
		pthread_mutex_lock(&p->mu);
		p->running--;
		p->done++;
		if (p->f->t[i].err.code) {
			p->failed++;
			if (!strcmp(p->f->opts.fleet_on_error, "stop") ||
			    (p->f->opts.fleet_max_failures &&
			     p->failed >= (size_t)p->f->opts.fleet_max_failures))
				p->halt = 1;
		}
		progress(p);
		tell(p, i);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Run targets [from, to) with up to jobs threads; the threads end when
 * the targets do, or when the pool halts. */
static void run_round(pool *p, size_t from, size_t to, int jobs)
{
	p->next = from;
	p->end = to;
	size_t n = to - from < (size_t)jobs ? to - from : (size_t)jobs;
	pthread_t *th = xcalloc(n ? n : 1, sizeof(pthread_t));
	size_t started = 0;
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, worker, p))
			break;
	if (!started && n)
		worker(p);  /* no thread could start: this one runs them */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

/* Targets that never started are "skipped", with why. */
static void mark_skipped(pool *p, size_t from, const char *why)
{
	for (size_t i = from; i < p->f->n; i++) {
		target *t = &p->f->t[i];
		if (t->status)
			continue;
		t->status = "skipped";
		dbs_fail(&t->err, DBS_EPOLICY, "not started: %s", why);
		p->skipped++;
		p->done++;
		tell(p, i);
	}
}

static json_t *target_json(const target *t)
{
	json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:I, s:I, s:s?}", "target", t->shown,
			      "status", t->status, "before", t->before, "after", t->after,
			      "pending", (json_int_t)t->pending, "failed", (json_int_t)t->failed,
			      "duration_ms", (json_int_t)t->ms, "run_report", t->run_report);
	if (t->err.code)
		json_object_set_new(j, "error", report_error(&t->err));
	return j;
}

/*
 * The fleet's own run, in a context of the database of dbshift.conf (its
 * home), when there is one: its row in dbshift_runs is live while the
 * targets run (targets done, failed, of the total) and holds the report
 * after.  Without one, a context without a database: the report file,
 * the log and the alerts alone.
 */
static dbs_ctx *home_open(dbs_fleet *f, run *r, const char *command)
{
	dbs_ctx *home = NULL;
	dbs_error why = { 0 }, err = { 0 };
	dbs_options o;  /* the database alone: no framework is started for it */
	options_copy(&o, &f->opts);
	free(o.framework);
	o.framework = NULL;
	o.framework_serve = 0;
	o.framework_plan = NULL;
	if ((!o.database || dbs_open(&home, &o, &why)) && dbs_open_offline(&home, &o, &err))
		home = NULL;
	dbs_options_release(&o);
	dbs_error_clear(&err);
	if (!home) {
		dbs_error_clear(&why);
		return NULL;
	}
	free(home->display_url);
	home->display_url = xprintf("%zu target%s", f->n, f->n == 1 ? "" : "s");
	run_open(home, r, command);
	if (why.code)
		ctx_warn(home, "no live row for the fleet: %s", why.message);
	dbs_error_clear(&why);
	if (r->report_path) {
		free(r->report_path);
		r->report_path = xprintf("%s/fleet-%s.json", home->opts.report_dir, r->id);
	}
	if (!home->conn)
		return home;
	/* its history tables, made under the migrator lock (held no longer:
	 * the home may be a target too) */
	int rc = db_lock(home->driver, home->conn, home->opts.lock_wait_ms, &home->err);
	if (!rc) {
		rc = state_ensure(home->driver, home->conn, &home->err);
		db_unlock(home->driver, home->conn);
	}
	if (rc)
		ctx_warn(home, "no live row for the fleet: %s", home->err.message);
	dbs_error_clear(&home->err);
	r->have_state = !rc;
	live_start(home, r);
	return home;
}

/* One alert per target that failed (the fleet's own are its run's). */
static void target_alerts(dbs_ctx *home, const pool *p, const run *r)
{
	char *saved = home->display_url;
	for (size_t i = 0; i < p->f->n; i++) {
		target *t = &p->f->t[i];
		if (strcmp(t->status, "failed"))
			continue;
		home->display_url = t->shown;
		notice n = { r->id, r->command, "failed", NULL, &t->err, t->ms, t->run_report };
		ctx_notify(home, &n);
	}
	home->display_url = saved;
}

/* A release whose runbook moves files, settings, buckets or mail would
 * move them once per target, side by side: refused. */
static int release_check(const dbs_fleet *f, const dbs_fleet_opts *o, dbs_error *err)
{
	const dbs_options *op = &f->opts;
	const char *v = o->release.rollback ? op->rollback_steps : op->release_steps;
	release_step *st = NULL;
	size_t n = 0;
	char *why = NULL;
	if (strcmp(o->command, "release") || !v ||
	    steps_parse(v, o->release.rollback, op->hooks, op->nhooks, op->sections,
			op->nsections, op->non_critical, &st, &n, &why)) {
		free(why);
		return 0;  /* (a bad runbook is each target's own error) */
	}
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		if (st[i].kind == STEP_MOVE) {
			rc = dbs_fail(err, DBS_EINPUT, "fleet release with the step %s is not "
				      "implemented", st[i].word);
			dbs_error_set_hint(err, "a step beyond the database would run once per "
					   "target: run it with 'dbshift release' alone, and the "
					   "fleet's release without it ([release \"ENV\"] steps)");
		}
	steps_free(st, n);
	return rc;
}

int dbs_fleet_run(dbs_fleet *f, const dbs_fleet_opts *o, dbs_fleet_cb cb, void *data,
		  char **report, dbs_error *err)
{
	*report = NULL;
	int bad = release_check(f, o, err);
	if (bad)
		return bad;
	char *command = xprintf("fleet %s", o->command);
	run r;
	dbs_ctx *home = home_open(f, &r, command);
	pool p = { .f = f, .o = o, .cb = cb, .data = data, .home = home };
	pthread_mutex_init(&p.mu, NULL);
	int jobs = o->jobs > 0 ? o->jobs : f->opts.fleet_jobs > 0 ? f->opts.fleet_jobs : 1;
	/* tenants of one database share what their migrations make outside
	 * their schema (an extension, a type in public): the first makes it
	 * alone, so that the others' IF NOT EXISTS do not race for it */
	size_t canary = (size_t)f->opts.fleet_canary;
	if (f->opts.fleet_schemas_query && !canary)
		canary = 1;
	if (canary > f->n)
		canary = f->n;
	for (size_t i = 0; i < f->n; i++) {
		target_reset(&f->t[i]);
		f->t[i].status = NULL;
	}
	progress(&p);
	if (canary) {
		run_round(&p, 0, canary, jobs);
		pthread_mutex_lock(&p.mu);
		if (p.failed)
			mark_skipped(&p, canary, "a canary target failed");
		pthread_mutex_unlock(&p.mu);
	}
	if (!p.failed || !canary)
		run_round(&p, canary, f->n, jobs);
	pthread_mutex_lock(&p.mu);
	mark_skipped(&p, 0, stopped(o) ? "stopped (interrupted)"
		     : "stopped after a failure (on_error, max_failures)");
	pthread_mutex_unlock(&p.mu);
	pthread_mutex_destroy(&p.mu);
	int rc = p.failed || p.skipped ? DBS_EFAIL : 0;

	json_t *list = json_array();
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(list, target_json(&f->t[i]));
	if (!home) {  /* not even a context without a database */
		json_t *doc = json_pack("{s:s, s:s?, s:o}", "command", command, "shard", o->shard,
					"targets", list);
		*report = report_dump(doc);
		free(command);
		return rc;
	}
	r.ok = f->n - p.failed - p.skipped;
	r.failed = p.failed;
	r.skipped = p.skipped;
	r.fields = json_pack("{s:s?, s:o}", "shard", o->shard, "targets", list);
	if (rc) {
		dbs_fail(&home->err, DBS_EFAIL, "%zu of %zu targets failed, %zu not started",
			 p.failed, f->n, p.skipped);
		target_alerts(home, &p, &r);
	}
	run_end(home, &r, rc, report);
	dbs_close(home);
	free(command);
	return rc;
}
