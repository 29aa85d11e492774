/*
 * moves.c - the release steps that move more than the database:
 * files:NAME, settings:NAME, dotenv:NAME, bucket:NAME and mail:NAME, each
 * a [KIND "NAME"] section.  What they share is here: the kinds and their
 * three doings (check before the first step, run or plan, undo), the
 * counts of items and bytes with their progress on the live row, the
 * step's failure past max_failures, the masking of secret values, the
 * old file kept for a way back, and, for an undo, the release being
 * rolled back.
 *
 * Every kind does the same in a release: a dry run plans (nothing
 * changes), a run copies or changes only what is missing or differs (a
 * second run does nothing) and records what it did in the step's
 * result: a manifest of what it copied, or the file it kept.  In
 * rollback_steps the same step undoes what the newest release's step of
 * that name did: the kept file put back byte for byte, or exactly what
 * the manifest lists removed (unless keep = true).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/moves.h"

static const move_kind *const kinds[] = {
	&move_files, &move_settings, &move_dotenv, &move_bucket, &move_mail,
};

static const move_kind *kind_of(const dbs_section *sec)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i]->kind, sec->kind))
			return kinds[i];
	return NULL;
}

static void move_init(move *m, dbs_ctx *ctx, const dbs_section *sec, const char *word,
		      const char *run_id, int dry_run)
{
	memset(m, 0, sizeof(*m));
	m->ctx = ctx;
	m->sec = sec;
	m->word = word;
	m->run_id = run_id;
	m->dry_run = dry_run;
	const char *k = section_get(sec, "keep"), *mf = section_get(sec, "max_failures");
	if (k)
		parse_bool(k, &m->keep);
	m->max_failures = mf ? strtoll(mf, NULL, 10) : 0;
	m->manifest = json_array();
	m->failures = json_array();
	m->changes = json_array();
	m->t0 = now_ms();
}

static void move_release(move *m)
{
	json_decref(m->manifest);
	json_decref(m->failures);
	json_decref(m->changes);
	json_decref(m->extra);
	free(m->kept);
	free(m->restored);
}

/* ---- counting ---- */

void move_total(move *m, int64_t items, int64_t bytes)
{
	m->items_total = items;
	m->bytes_total = bytes;
	move_progress(m);
}

void move_progress(move *m)
{
	items_progress p = { m->copied + m->skipped + m->failed, m->items_total, m->bytes,
			     m->bytes_total, m->failed, 0, -1 };
	int64_t ms = now_ms() - m->t0;
	if (ms > 0)
		p.rate = (double)m->bytes * 1000.0 / (double)ms;
	if (p.rate > 0 && m->bytes_total >= m->bytes)
		p.eta_s = (double)(m->bytes_total - m->bytes) / p.rate;
	live_items(m->ctx, m->word, &p);
}

void move_copied(move *m, json_t *entry, int64_t bytes)
{
	json_array_append_new(m->manifest, entry);
	m->copied++;
	m->bytes += bytes;
	move_progress(m);
}

void move_skipped(move *m)
{
	m->skipped++;
	move_progress(m);
}

char *printable(const char *s)
{
	char *t = xstrdup(s);
	json_t *j = json_string(t);
	if (j) {
		json_decref(j);
		return t;
	}
	for (char *p = t; *p; p++)  /* not UTF-8: its bytes above ASCII as '?' */
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return t;
}

void move_failed(move *m, const char *item, const char *why)
{
	char *i = printable(item), *w = printable(why);
	m->failed++;
	json_array_append_new(m->failures, json_pack("{s:s, s:s}", "item", i, "error", w));
	free(i);
	free(w);
	ctx_log(m->ctx, "%s: %s: %s", m->word, item, why);
	move_progress(m);
}

int move_too_many(const move *m)
{
	return m->failed > m->max_failures;
}

/* ---- secrets ---- */

int secret_key(const char *key)
{
	static const char *const words[] = { "PASSWORD", "PASSWD", "SECRET", "KEY", "TOKEN",
					     "CREDENTIAL", "PRIVATE" };
	char up[256];
	size_t n = strlen(key);
	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)(key[i] >= 'a' && key[i] <= 'z' ? key[i] - 32 : key[i]);
	up[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]))
			return 1;
	return 0;
}

char *masked(const char *key, const char *value)
{
	if (!value)
		return NULL;
	if (secret_key(key))
		return xstrdup("********");
	/* a URL's password: scheme://user:PASSWORD@host */
	const char *s = strstr(value, "://");
	if (s) {
		const char *at = strchr(s + 3, '@'), *slash = strchr(s + 3, '/');
		const char *colon = strchr(s + 3, ':');
		if (at && (!slash || at < slash) && colon && colon < at)
			return xprintf("%.*s:********%s", (int)(colon - value), value, at);
	}
	return xstrdup(value);
}

void move_change(move *m, const char *op, const char *key, const char *before,
		 const char *after)
{
	char *b = masked(key, before), *a = masked(key, after);
	json_t *c = json_pack("{s:s, s:s}", "op", op, "key", key);
	json_object_set_new(c, "before", b ? json_string(b) : json_null());
	json_object_set_new(c, "after", a ? json_string(a) : json_null());
	json_array_append_new(m->changes, c);
	free(b);
	free(a);
}

/* ---- files kept and written ---- */

int write_atomic(const char *path, const char *data, size_t n, mode_t mode, dbs_error *err)
{
	char *tmp = xprintf("%s.dbshift-tmp-%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc = 0;
	if (fd < 0) {
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	fchmod(fd, mode);  /* past the umask */
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, data + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	if (done < n || fsync(fd) != 0)
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = dbs_fail(err, DBS_EFAIL, "cannot replace '%s': %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	else {  /* the rename itself lasts once the directory is synced */
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int dfd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	free(tmp);
	return rc;
}

int keep_old(move *m, const char *path, const char *text, size_t n, int mode)
{
	m->kept = xprintf("%s.dbshift-%s", path, m->run_id);
	m->kept_mode = mode;
	int rc = write_atomic(m->kept, text, n, 0600, &m->ctx->err);
	if (rc) {
		free(m->kept);
		m->kept = NULL;
	}
	return rc;
}

/* ---- object stores ---- */

int move_store(move *m, const char *side, s3 **out)
{
	char k[32], e[32], r[32], a[48], sc[48];
	snprintf(k, sizeof(k), "%s", side);
	snprintf(e, sizeof(e), "%s_endpoint", side);
	snprintf(r, sizeof(r), "%s_region", side);
	snprintf(a, sizeof(a), "%s_access_key_env", side);
	snprintf(sc, sizeof(sc), "%s_secret_key_env", side);
	const dbs_section *sec = m->sec;
	const dbs_options *op = &m->ctx->opts;
	int64_t part = 0;
	if (op->s3_part_size)
		parse_size(op->s3_part_size, &part);
	int rc = s3_open_as(out, section_get(sec, k), section_get(sec, e) ? section_get(sec, e)
			    : op->s3_endpoint, section_get(sec, r) ? section_get(sec, r)
			    : op->s3_region, part, section_get(sec, a), section_get(sec, sc),
			    &m->ctx->err);
	if (rc)
		dbs_error_set_hint(&m->ctx->err, "check %s, %s, %s and the credentials of "
				   "[%s \"%s\"]", k, e, r, sec->kind, sec->name);
	return rc;
}

/* ---- the release being rolled back ---- */

/* Did a step's result change anything: a file kept, an item copied? */
static int changed_something(const json_t *res)
{
	return json_object_get(res, "kept") || json_array_size(json_object_get(res, "manifest"));
}

/* The result of step word in the newest release (not a rollback) where
 * it changed something (else the newest that ran it); *run_id its run.
 * NULL, with a policy error, when no release ran it. */
static json_t *done_by(dbs_ctx *ctx, const char *word, char **run_id)
{
	*run_id = NULL;
	db_rows *r = NULL;
	int exists = 0;
	json_t *found = NULL;
	if (db_table_exists(ctx->driver, ctx->conn, "dbshift_runs", &exists, &ctx->err))
		return NULL;
	const char *p[] = { ctx->opts.env ? ctx->opts.env : "" };
	if (exists && db_query(ctx->driver, ctx->conn, "SELECT CAST(report AS text) FROM "
			       "dbshift_runs WHERE command = 'release' AND coalesce(environment, "
			       "'') = $1 AND status <> 'running' ORDER BY started_at DESC, run_id "
			       "DESC", 1, p, &r, &ctx->err))
		return NULL;
	for (size_t i = 0; r && i < r->nrows && !changed_something(found); i++) {
		json_t *doc = DB_VAL(r, i, 0) ? json_loads(DB_VAL(r, i, 0), 0, NULL) : NULL;
		const char *book = json_string_value(json_object_get(doc, "runbook"));
		json_t *steps = json_object_get(doc, "steps");
		for (size_t k = 0; book && !strcmp(book, "release") && k < json_array_size(steps);
		     k++) {
			json_t *s = json_array_get(steps, k);
			const char *w = json_string_value(json_object_get(s, "step"));
			json_t *res = json_object_get(s, "result");
			if (!w || strcmp(w, word) || !json_is_object(res) ||
			    (found && !changed_something(res)))
				continue;
			json_decref(found);
			free(*run_id);
			found = json_incref(res);
			*run_id = xstrdup(json_string_value(json_object_get(doc, "run_id")));
		}
		json_decref(doc);
	}
	db_rows_free(r);
	if (!found) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "step %s: no release ran it, so there is "
			 "nothing to undo", word);
		dbs_error_set_hint(&ctx->err, "take %s out of rollback_steps, or run the release "
				   "first", word);
	}
	return found;
}

/* ---- the step ---- */

/* The result: what was done (or would be), the counts, the manifest. */
static json_t *result_of(move *m, const char *done_run)
{
	const char *from = section_get(m->sec, "from"), *to = section_get(m->sec, "to");
	const char *file = section_get(m->sec, "file");
	json_t *r = json_pack("{s:s, s:s, s:s*, s:s*, s:s*}", "kind", m->sec->kind, "name",
			      m->sec->name, "from", from, "to", to, "file", file);
	if (done_run)
		json_object_set_new(r, "undoes", json_string(done_run));
	if (m->kept)
		json_object_set_new(r, "kept", json_pack("{s:s, s:i}", "file", m->kept, "mode",
							 m->kept_mode));
	if (m->restored)
		json_object_set_new(r, "restored", json_string(m->restored));
	if (m->count_items) {
		json_object_set_new(r, m->dry_run ? "would_copy" : m->undo ? "removed" : "copied",
				    json_integer(m->copied));
		json_object_set_new(r, m->undo ? "left" : "skipped", json_integer(m->skipped));
		json_object_set_new(r, "failed", json_integer(m->failed));
		json_object_set_new(r, "bytes", json_integer(m->bytes));
		json_object_set_new(r, m->dry_run ? "items" : "manifest", json_incref(m->manifest));
		json_object_set_new(r, "failures", json_incref(m->failures));
	} else {
		json_object_set_new(r, "changes", json_incref(m->changes));
	}
	if (m->extra)
		json_object_update(r, m->extra);
	json_object_set_new(r, "duration_ms", json_integer(now_ms() - m->t0));
	return r;
}

static int finish(move *m, int rc)
{
	dbs_ctx *ctx = m->ctx;
	if (!rc && move_too_many(m)) {
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "%s: %lld item%s failed (max_failures %lld)",
			      m->word, (long long)m->failed, m->failed == 1 ? "" : "s",
			      (long long)m->max_failures);
		dbs_error_set_hint(&ctx->err, "the step's result lists each with why; fix them and "
				   "run again (what was copied is skipped)");
	} else if (!rc && m->failed) {
		ctx_warn(ctx, "%s: %lld item%s failed (max_failures %lld)", m->word,
			 (long long)m->failed, m->failed == 1 ? "" : "s", (long long)m->max_failures);
	}
	return rc;
}

int move_check(dbs_ctx *ctx, const release_step *s, int rollback)
{
	const move_kind *k = kind_of(s->section);
	move m;
	move_init(&m, ctx, s->section, s->word, "check", 1);
	m.undo = rollback;
	int rc = k->check(&m);
	if (!rc && rollback) {  /* there is something to undo */
		char *id = NULL;
		json_t *done = done_by(ctx, s->word, &id);
		rc = done ? 0 : ctx->err.code;
		json_decref(done);
		free(id);
	}
	move_release(&m);
	return rc;
}

/* Undo what done did: for a step that copied items, each item of its
 * manifest (none with keep = true). */
static int undo(const move_kind *k, move *m, const json_t *done)
{
	const json_t *list = json_object_get(done, "manifest");
	if (json_is_array(list)) {
		m->count_items = 1;
		move_total(m, (int64_t)json_array_size(list), 0);
		if (m->keep) {
			m->extra = json_pack("{s:s}", "note", "keep = true: nothing removed");
			return 0;
		}
	}
	return k->undo(m, done);
}

json_t *move_would(dbs_ctx *ctx, const release_step *s, int rollback)
{
	const move_kind *k = kind_of(s->section);
	move m;
	move_init(&m, ctx, s->section, s->word, "dry-run", 1);
	m.undo = rollback;
	char *id = NULL;
	json_t *done = rollback ? done_by(ctx, s->word, &id) : NULL, *r;
	int rc = rollback && !done ? ctx->err.code : rollback ? undo(k, &m, done) : k->run(&m);
	if (rc) {
		r = json_pack("{s:o}", "error", report_error(&ctx->err));
		dbs_error_clear(&ctx->err);
	} else {
		r = result_of(&m, id);
	}
	json_decref(done);
	free(id);
	move_release(&m);
	return r;
}

int move_step(dbs_ctx *ctx, const release_step *s, const char *run_id, int rollback,
	      json_t **result)
{
	const move_kind *k = kind_of(s->section);
	move m;
	move_init(&m, ctx, s->section, s->word, run_id, 0);
	m.undo = rollback;
	char *id = NULL;
	json_t *done = rollback ? done_by(ctx, s->word, &id) : NULL;
	int rc = rollback && !done ? ctx->err.code : rollback ? undo(k, &m, done) : k->run(&m);
	rc = finish(&m, rc);
	json_decref(*result);
	*result = result_of(&m, id);
	json_decref(done);
	free(id);
	move_release(&m);
	return rc;
}
