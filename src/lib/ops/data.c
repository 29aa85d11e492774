/*
 * data.c - batched data migrations.
 *
 * A data migration file names a table, its integer key, and one statement
 * that changes the rows of a key range (:lo, :hi]:
 *
 *   -- dbshift:table users
 *   -- dbshift:key id
 *   -- dbshift:pending status IS NULL
 *   UPDATE users SET status = 'active' WHERE id > :lo AND id <= :hi AND status IS NULL;
 *
 * The table is walked by keyset (never OFFSET): each batch finds its upper
 * key with an index range scan, runs the statement in its own transaction
 * under lock_timeout, and commits the checkpoint (dbshift_data) with it,
 * so a stopped or killed run resumes after the last committed batch and
 * no batch runs twice.  The batch size adapts toward a target duration.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

typedef struct data_file {
	char *path, *name;       /* name: the checkpoint's key */
	char *table, *key, *pending;
	char *qtable, *qkey;     /* quoted for the SQL dbshift writes ("order") */
	char *sql;               /* with :lo/:hi turned into $1/$2 */
} data_file;

static void data_file_release(data_file *f)
{
	free(f->path);
	free(f->name);
	free(f->table);
	free(f->key);
	free(f->pending);
	free(f->qtable);
	free(f->qkey);
	free(f->sql);
	memset(f, 0, sizeof(*f));
}

static int is_ident(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
			return 0;
	return 1;
}

/* A plain name (is_ident's) as the SQL dbshift writes it: each part
 * folded to lower case, as an unquoted name is, and quoted, so that a
 * table or column called "order" or "user" can be walked. */
static char *quoted_ident(const char *name)
{
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, "\"");
	for (const char *p = name; *p; p++)
		if (*p == '.')
			strbuf_adds(&sb, "\".\"");
		else
			strbuf_addf(&sb, "%c", tolower((unsigned char)*p));
	strbuf_adds(&sb, "\"");
	return strbuf_detach(&sb);
}

/* Replace :lo and :hi (outside quotes) with $1 and $2; count each. */
static char *placeholders(const char *sql, int *nlo, int *nhi)
{
	strbuf sb;
	strbuf_init(&sb);
	char quote = 0;
	*nlo = *nhi = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == ':' && p[1] != ':' && (p == sql || p[-1] != ':') &&
			   (!strncmp(p + 1, "lo", 2) || !strncmp(p + 1, "hi", 2)) &&
			   !isalnum((unsigned char)p[3]) && p[3] != '_') {
			int lo = p[1] == 'l';
			strbuf_adds(&sb, lo ? "$1" : "$2");
			(lo ? (*nlo)++ : (*nhi)++);
			p += 2;
			continue;
		}
		strbuf_add(&sb, p, 1);
	}
	return strbuf_detach(&sb);
}

/*
 * The checkpoint's key: the file's path relative to the project (the
 * working directory) and its content's hash, so that two files with one
 * name never share a checkpoint, and an edited file starts afresh.
 */
static char *checkpoint_name(const char *path, const char *text, size_t len)
{
	char sum[65], *cwd = getcwd(NULL, 0), *real = realpath(path, NULL);
	const char *rel = path;
	size_t n = cwd ? strlen(cwd) : 0;
	if (real && cwd && !strncmp(real, cwd, n) && real[n] == '/')
		rel = real + n + 1;
	else if (real)
		rel = real;
	while (starts_with(rel, "./"))
		rel += 2;
	sha256_hex(text, len, sum);
	char *name = xprintf("%s@%.16s", rel, sum);
	free(cwd);
	free(real);
	return name;
}

static int data_error(dbs_error *err, const char *path, int line, const char *hint,
		      const char *msg)
{
	dbs_fail(err, DBS_EINPUT, "%s", msg);
	dbs_error_set_file(err, path, line, 0);
	dbs_error_set_hint(err, "%s", hint);
	return DBS_EINPUT;
}

int data_file_load(data_file *f, const char *path, dbs_error *err)
{
	char *text;
	size_t len;
	memset(f, 0, sizeof(*f));
	if (read_file(path, &text, &len) < 0) {
		dbs_fail(err, DBS_EINPUT, "cannot read data migration '%s': %s", path,
			 read_file_error(errno));
		dbs_error_set_hint(err, "check the path given to 'data run' or '-- dbshift:data'");
		return DBS_EINPUT;
	}
	if (check_text(path, text, len, err)) {
		free(text);
		return DBS_EINPUT;
	}
	f->path = xstrdup(path);
	f->name = checkpoint_name(path, text, len);
	strbuf body;
	strbuf_init(&body);
	int rc = 0, line = 1;
	static const char *hint = "a data migration has '-- dbshift:table NAME', "
		"'-- dbshift:key COLUMN', optionally '-- dbshift:pending CONDITION', then "
		"one statement using :lo and :hi";
	for (char *p = text; *p && !rc; line++) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *ln = xstrndup(p, len);
		char *d = strstr(ln, "-- dbshift:");
		if (d && strspn(ln, " \t") == (size_t)(d - ln)) {
			char *word = d + strlen("-- dbshift:");
			char *arg = word + strcspn(word, " \t");
			if (*arg)
				*arg++ = '\0';
			arg += strspn(arg, " \t");
			size_t an = strlen(arg);
			while (an && (arg[an - 1] == ' ' || arg[an - 1] == '\r'))
				arg[--an] = '\0';
			char **slot = !strcmp(word, "table") ? &f->table : !strcmp(word, "key") ? &f->key
				    : !strcmp(word, "pending") ? &f->pending : NULL;
			if (!slot) {
				char *m = xprintf("unknown directive 'dbshift:%s' in a data migration", word);
				rc = data_error(err, path, line, hint, m);
				free(m);
			} else if (!*arg) {
				rc = data_error(err, path, line, hint, "directive without a value");
			} else {
				free(*slot);
				*slot = xstrdup(arg);
			}
		} else {
			strbuf_add(&body, p, len);
			strbuf_adds(&body, "\n");
		}
		free(ln);
		p = nl ? nl + 1 : p + len;
	}
	free(text);
	if (!rc && (!f->table || !is_ident(f->table)))
		rc = data_error(err, path, 1, hint, "no table (or not a plain name): add '-- dbshift:table NAME'");
	if (!rc && f->key && strchr(f->key, ','))
		rc = data_error(err, path, 1, "walk by one integer key column",
				"composite keys are not implemented");
	if (!rc && (!f->key || !is_ident(f->key)))
		rc = data_error(err, path, 1, hint, "no key column: add '-- dbshift:key COLUMN'");
	if (!rc) {
		f->qtable = quoted_ident(f->table);
		f->qkey = quoted_ident(f->key);
	}
	if (!rc) {
		int nlo, nhi;
		f->sql = placeholders(body.buf, &nlo, &nhi);
		if (!nlo || !nhi)
			rc = data_error(err, path, 1, "write the range as e.g. 'WHERE id > :lo AND "
					"id <= :hi' so each batch changes only its keys",
					"the statement does not use both :lo and :hi");
	}
	strbuf_release(&body);
	if (rc)
		data_file_release(f);
	return rc;
}

/* ---- the walk ---- */

static int q1(dbs_ctx *ctx, const char *sql, int n, const char *const *p, char **out)
{
	db_rows *r = NULL;
	int rc = db_query(ctx->driver, ctx->conn, sql, n, p, &r, &ctx->err);
	if (!rc && out)
		*out = r->nrows && r->ncols && DB_VAL(r, 0, 0) ? xstrdup(DB_VAL(r, 0, 0)) : NULL;
	db_rows_free(r);
	return rc;
}

static int checkpoint_read(dbs_ctx *ctx, const data_file *f, char **last, int64_t *done,
			   int *finished)
{
	int exists = 0;
	*last = NULL;
	*done = 0;
	*finished = 0;
	int rc = db_table_exists(ctx->driver, ctx->conn, "dbshift_data", &exists, &ctx->err);
	if (rc || !exists)
		return rc;
	db_rows *r = NULL;
	const char *p[] = { f->name };
	rc = db_query(ctx->driver, ctx->conn, "SELECT last_key, rows_done, finished FROM dbshift_data "
				"WHERE name = $1", 1, p, &r, &ctx->err);
	if (!rc && r->nrows == 1) {
		*last = DB_VAL(r, 0, 0) ? xstrdup(DB_VAL(r, 0, 0)) : NULL;
		*done = strtoll(DB_VAL(r, 0, 1), NULL, 10);
		*finished = DB_VAL(r, 0, 2) && strcmp(DB_VAL(r, 0, 2), "0");
	}
	db_rows_free(r);
	return rc;
}

static int checkpoint_write(dbs_ctx *ctx, const data_file *f, const char *last,
			    int64_t done, int finished)
{
	char d[32], fin[4], at[32];
	snprintf(d, sizeof(d), "%lld", (long long)done);
	snprintf(fin, sizeof(fin), "%d", finished);
	utc_now(at);
	const char *p[] = { f->name, last, d, fin, at };
	return db_query(ctx->driver, ctx->conn,
		"INSERT INTO dbshift_data (name, last_key, rows_done, finished, updated_at) "
		"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET "
		"last_key = excluded.last_key, rows_done = excluded.rows_done, "
		"finished = excluded.finished, updated_at = excluded.updated_at",
		5, p, NULL, &ctx->err);
}

/* Rows still to change beyond last (all when last is NULL). */
static int count_left(dbs_ctx *ctx, const data_file *f, const char *last, int64_t *n)
{
	char *sql = xprintf("SELECT count(*) FROM %s WHERE %s%s%s%s%s", f->qtable,
			    last ? f->qkey : "", last ? " > $1" : "1 = 1",
			    f->pending ? " AND (" : "", f->pending ? f->pending : "",
			    f->pending ? ")" : "");
	char *v = NULL;
	const char *p[] = { last };
	int rc = q1(ctx, sql, last ? 1 : 0, p, &v);
	*n = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	free(sql);
	return rc;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One batch: its change and its checkpoint, in one transaction. */
typedef struct batch {
	const data_file *f;
	const char *lo, *hi;
	int64_t done_before;
	int lock_ms, stmt_ms;
	int64_t changed;
} batch;

static int run_batch(dbs_ctx *ctx, void *arg)
{
	batch *b = arg;
	const db_driver *d = ctx->driver;
	db_rows *r = NULL;
	const char *p[] = { b->lo, b->hi };
	int rc = db_query(d, ctx->conn, "BEGIN", 0, NULL, NULL, &ctx->err);
	if (!rc && (b->lock_ms || b->stmt_ms))
		rc = db_set_timeouts(d, ctx->conn, b->lock_ms, b->stmt_ms, 1, &ctx->err);
	if (!rc)
		rc = db_query(d, ctx->conn, b->f->sql, 2, p, &r, &ctx->err);
	b->changed = r ? r->affected : 0;
	db_rows_free(r);
	if (!rc)
		rc = checkpoint_write(ctx, b->f, b->hi, b->done_before + b->changed, 0);
	if (!rc)
		rc = db_query(d, ctx->conn, "COMMIT", 0, NULL, NULL, &ctx->err);
	if (rc) {
		dbs_error e2 = { 0 };
		db_query(d, ctx->conn, "ROLLBACK", 0, NULL, NULL, &e2);
		dbs_error_clear(&e2);
	}
	return rc;
}

/*
 * Walk f's table from its checkpoint; *result gets the run's facts.  The
 * caller holds the migrator lock and has created the state tables.
 */
/* Where a walk is: the last key done, and what it has counted. */
typedef struct walker {
	const data_file *f;
	const dbs_data_opts *o;
	char *last, *start_key;
	int64_t done, left, changed, batches, longest, size, t_start;
	int finished, stopped, resumed;
} walker;

/* Resume from the checkpoint, or start below the smallest key. */
static int walk_start(dbs_ctx *ctx, walker *w)
{
	const data_file *f = w->f;
	int rc = checkpoint_read(ctx, f, &w->last, &w->done, &w->finished);
	w->resumed = w->last != NULL && !w->finished;
	if (!rc && !w->last && !w->finished) {
		char *sql = xprintf("SELECT min(%s) - 1 FROM %s", f->qkey, f->qtable);
		rc = q1(ctx, sql, 0, NULL, &w->last);
		free(sql);
		if (rc) {
			dbs_fail(&ctx->err, DBS_EINPUT, "cannot walk %s by %s: %s", f->table, f->key,
				 ctx->err.message);
			dbs_error_set_file(&ctx->err, f->path, 0, 0);
			dbs_error_set_hint(&ctx->err, "the key must be an integer column (other key "
					   "types are not implemented)");
		} else if (!w->last) {
			w->finished = 1;  /* empty table */
		}
	}
	w->start_key = w->last ? xstrdup(w->last) : NULL;
	if (!rc && !w->finished)
		rc = count_left(ctx, f, w->last, &w->left);
	w->t_start = now_ms();
	return rc;
}

/* The rows this run will change: those left, or --max-rows of them. */
static int64_t run_total(const walker *w)
{
	return w->o->max_rows && w->left > w->o->max_rows ? w->o->max_rows : w->left;
}

/* Wait while the replicas are behind (max_lag_ms), saying so. */
static int wait_for_replicas(dbs_ctx *ctx, walker *w, dbs_data_cb cb, void *cb_data)
{
	const dbs_data_opts *o = w->o;
	for (;;) {
		int64_t lag = 0;
		int rc = 0;
		if (o->lag_query) {
			char *v = NULL;
			rc = q1(ctx, o->lag_query, 0, NULL, &v);
			lag = v ? strtoll(v, NULL, 10) : 0;
			free(v);
		} else if (o->max_lag_ms) {
			rc = ctx_replica_lag_ms(ctx, &lag);
		}
		if (rc || !o->max_lag_ms || lag <= o->max_lag_ms || (o->stop && *o->stop))
			return rc;
		dbs_data_progress pr = { .rows_done = w->changed, .total = run_total(w),
					 .batches = w->batches, .waiting_lag = 1, .lag_ms = lag,
					 .eta_s = -1 };
		ctx_log(ctx, "data %s: replica lag %lld ms above %lld ms: waiting", w->f->path,
			(long long)lag, (long long)o->max_lag_ms);
		live_data(ctx, w->f->path, &pr);
		if (cb)
			cb(&pr, cb_data);
		sleep_ms(1000);
	}
}

/* One batch: find its upper key (an index range scan, never OFFSET), run
 * it with its checkpoint, retried after a lock timeout; *ms its time. */
static int walk_batch(dbs_ctx *ctx, walker *w, int64_t *ms)
{
	const data_file *f = w->f;
	const dbs_data_opts *o = w->o;
	int64_t this_size = o->max_rows ? clamp64(o->max_rows - w->changed, 1, w->size) : w->size;
	char *sql = xprintf("SELECT max(k) FROM (SELECT %s AS k FROM %s WHERE %s > $1 "
			    "ORDER BY %s LIMIT %lld) s", f->qkey, f->qtable, f->qkey, f->qkey,
			    (long long)this_size);
	char *hi = NULL;
	const char *p1[] = { w->last };
	int rc = q1(ctx, sql, 1, p1, &hi);
	free(sql);
	if (rc)
		return rc;
	if (!hi) {
		w->finished = 1;
		return checkpoint_write(ctx, f, w->last, w->done + w->changed, 1);
	}
	int64_t t0 = now_ms();
	batch b = { f, w->last, hi, w->done + w->changed, ctx->lock_ms, ctx->stmt_ms, 0 };
	int attempts;
	char *what = xprintf("data %s: batch after key %s", f->path, w->last);
	ctx_event_step(ctx, what, NULL);
	rc = retry_on_lock_timeout(ctx, what, run_batch, &b, &attempts);
	free(what);
	if (rc) {
		dbs_error_set_file(&ctx->err, f->path, 0, 0);
		free(hi);
		return rc;
	}
	*ms = now_ms() - t0;
	w->changed += b.changed;
	w->batches++;
	if (*ms > w->longest)
		w->longest = *ms;
	free(w->last);
	w->last = hi;
	/* adapt toward the target time, at most doubling or halving a step */
	if (o->target_batch_ms > 0)
		w->size = clamp64(w->size * o->target_batch_ms / (*ms > 0 ? *ms : 1), w->size / 2,
				  w->size * 2);
	w->size = clamp64(w->size, 1, 1000000);
	return 0;
}

static void walk_progress(dbs_ctx *ctx, const walker *w, int64_t ms, dbs_data_cb cb,
			  void *cb_data)
{
	double secs = (now_ms() - w->t_start) / 1000.0;
	dbs_data_progress pr = { .rows_done = w->changed, .total = run_total(w),
				 .batches = w->batches, .batch_size = w->size, .batch_ms = ms,
				 .longest_ms = w->longest,
				 .rate = secs > 0 ? w->changed / secs : 0, .eta_s = -1 };
	if (pr.rate > 0 && pr.total >= w->changed)
		pr.eta_s = (pr.total - w->changed) / pr.rate;
	live_data(ctx, w->f->path, &pr);
	if (cb)
		cb(&pr, cb_data);
}

static json_t *walk_result(const walker *w, int rc)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:b, s:b}", "file",
			      w->f->path, "table", w->f->table, "key", w->f->key,
			      "rows_changed", (json_int_t)w->changed, "batches",
			      (json_int_t)w->batches, "longest_batch_ms", (json_int_t)w->longest,
			      "rows_done_before", (json_int_t)w->done, "resumed", w->resumed,
			      "finished", w->finished && !rc, "stopped", w->stopped);
	json_object_set_new(r, "last_key", w->last ? json_string(w->last) : json_null());
	json_object_set_new(r, "started_after_key",
			    w->start_key ? json_string(w->start_key) : json_null());
	json_object_set_new(r, "rows_left_estimate",
			    json_integer(w->left > w->changed ? w->left - w->changed : 0));
	return r;
}

static int walk(dbs_ctx *ctx, const data_file *f, const dbs_data_opts *o, dbs_data_cb cb,
		void *cb_data, json_t **result)
{
	walker w = { .f = f, .o = o, .size = o->batch_size > 0 ? o->batch_size : 1000 };
	char *label = xprintf("data %s", f->path);
	live_step(ctx, label, 0, 0);
	free(label);
	int rc = walk_start(ctx, &w);
	walk_progress(ctx, &w, 0, NULL, NULL);
	while (!rc && !w.finished) {
		int64_t ms = 0;
		if (o->stop && *o->stop) {
			w.stopped = 1;
			break;
		}
		if (o->max_rows && w.changed >= o->max_rows)
			break;
		if ((rc = wait_for_replicas(ctx, &w, cb, cb_data)))
			break;
		if ((rc = walk_batch(ctx, &w, &ms)) || w.finished)
			break;
		walk_progress(ctx, &w, ms, cb, cb_data);
		if (o->delay_ms > 0)
			sleep_ms(o->delay_ms);
	}
	*result = walk_result(&w, rc);
	free(w.last);
	free(w.start_key);
	return rc;
}

int data_check(const char *path, dbs_error *err)
{
	data_file f;
	int rc = data_file_load(&f, path, err);
	if (!rc)
		data_file_release(&f);
	return rc;
}

int data_unfinished(dbs_ctx *ctx, json_t *paths)
{
	int exists = 0;
	int rc = db_table_exists(ctx->driver, ctx->conn, "dbshift_data", &exists, &ctx->err);
	if (rc || !exists)
		return rc;
	db_rows *r = NULL;
	rc = db_query(ctx->driver, ctx->conn, "SELECT name, rows_done, last_key FROM dbshift_data "
		      "WHERE finished = 0 ORDER BY updated_at, name", 0, NULL, &r, &ctx->err);
	for (size_t i = 0; !rc && i < r->nrows; i++) {
		const char *name = DB_VAL(r, i, 0), *at = strrchr(name, '@');
		char *path = xstrndup(name, at ? (size_t)(at - name) : strlen(name));
		char *text = NULL, *now = NULL;
		size_t len = 0;
		if (read_file(path, &text, &len) == 0)
			now = checkpoint_name(path, text, len);
		if (now && !strcmp(now, name)) {
			int known = 0;
			for (size_t k = 0; k < json_array_size(paths); k++)
				known |= !strcmp(json_string_value(json_array_get(paths, k)), path);
			if (!known)
				json_array_append_new(paths, json_string(path));
		} else {  /* its file is gone or changed: resuming it would walk other SQL */
			rc = dbs_fail(&ctx->err, DBS_EPOLICY, "the data run of %s did not finish "
				      "(%s rows changed, up to key %s), and %s", path, DB_VAL(r, i, 1),
				      DB_VAL(r, i, 2) ? DB_VAL(r, i, 2) : "none",
				      text ? "its file has changed since" : "its file is not there");
			dbs_error_set_hint(&ctx->err, "put the file back as it was and run the "
					   "release again (it resumes the run), or finish the change "
					   "by hand and delete its row from dbshift_data");
		}
		free(path);
		free(text);
		free(now);
	}
	db_rows_free(r);
	return rc;
}

int data_step(dbs_ctx *ctx, const char *path, json_t **result)
{
	data_file f;
	dbs_data_opts o = { .batch_size = 1000, .target_batch_ms = 500 };
	int rc = data_file_load(&f, path, &ctx->err);
	if (!rc)
		rc = walk(ctx, &f, &o, NULL, NULL, result);
	data_file_release(&f);
	return rc;
}

int dbs_data_run(dbs_ctx *ctx, const char *path, const dbs_data_opts *o, dbs_data_cb cb,
		 void *cb_data, char **report)
{
	data_file f;
	int rc = data_file_load(&f, path, &ctx->err);
	if (rc) {
		*report = dbs_error_json("data run", &ctx->err);
		return rc;
	}
	if (o->dry_run) {
		char *last = NULL;
		int64_t done = 0, left = 0;
		int finished = 0;
		rc = checkpoint_read(ctx, &f, &last, &done, &finished);
		if (!rc && !finished)
			rc = count_left(ctx, &f, last, &left);
		*report = rc ? dbs_error_json("data run", &ctx->err)
			     : report_dump(json_pack("{s:s, s:b, s:s, s:s, s:I, s:I, s:b}",
				"command", "data run", "dry_run", 1, "file", f.path, "table", f.table,
				"rows_to_change", (json_int_t)left, "rows_done_before", (json_int_t)done,
				"finished_before", finished));
		free(last);
		data_file_release(&f);
		return rc;
	}
	run r;
	rc = run_begin(ctx, &r, "data run");
	json_t *result = NULL;
	if (!rc)
		rc = walk(ctx, &f, o, cb, cb_data, &result);
	r.extra = result;
	rc = run_end(ctx, &r, rc, report);
	data_file_release(&f);
	return rc;
}
