/*
 * move_bucket.c - bucket:NAME: the objects below one S3 prefix copied
 * below another, with the S3 client of the backups (remote/s3.c).
 *
 *   [bucket "assets"]
 *   from = s3://old-assets/            ; from_endpoint, from_region
 *   to = s3://new-assets/static        ; to_endpoint, to_region
 *   ; credentials: AWS_* (or the credentials file), or the variables
 *   ; named by from_access_key_env / from_secret_key_env / to_...
 *
 * Both listings are read whole (ListObjectsV2, page by page).  An object
 * the target holds with the same size and ETag, or whose copy of ours
 * recorded the source's ETag (x-amz-meta-dbshift-source-etag), is
 * skipped.  Others are copied: CopyObject where both sides are one store
 * (same endpoint and credentials) and the object is below 5 GiB, else a
 * GET into a temporary file (0600, removed after) and a PUT, in parts
 * above s3_part_size.  The manifest lists each key copied with its size
 * and the source's ETag; the undo deletes the target's object where it
 * is still that copy (by the recorded source ETag or its own ETag), and
 * leaves any other.  A store that cannot be reached ends the step, with
 * what was copied so far in the report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/moves.h"
#include "remote/remote.h"

#define COPY_MAX (5LL << 30)  /* CopyObject's limit */

typedef struct sides {
	s3 *from, *to;
	int one_store;
} sides;

static int sides_open(move *m, sides *s)
{
	memset(s, 0, sizeof(*s));
	int rc = move_store(m, "from", &s->from);
	if (!rc)
		rc = move_store(m, "to", &s->to);
	if (!rc) {
		const char *fa = section_get(m->sec, "from_access_key_env");
		const char *ta = section_get(m->sec, "to_access_key_env");
		s->one_store = !strcmp(s3_endpoint(s->from), s3_endpoint(s->to)) &&
			       ((!fa && !ta) || (fa && ta && !strcmp(fa, ta)));
	}
	return rc;
}

static void sides_close(sides *s)
{
	s3_close(s->from);
	s3_close(s->to);
}

/* A transfer's bytes, for the live row. */
static void on_bytes(int64_t done, int64_t total, void *data)
{
	(void)done;
	(void)total;
	move_progress(data);
}

typedef struct listing {
	char **keys, **etags;
	int64_t *sizes;
	size_t n;
} listing;

static void listing_free(listing *l)
{
	s3_names_free(l->keys, l->n);
	s3_names_free(l->etags, l->n);
	free(l->sizes);
}

static long find_key(const listing *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->keys[i], key))
			return (long)i;
	return -1;
}

/* A store that went away ends the step: its error stays. */
static int lost(move *m, sides *s, const char *key)
{
	if (!s3_lost(s->from) && !s3_lost(s->to))
		return 0;
	ctx_log(m->ctx, "%s: stopped at %s: %s", m->word, key, m->ctx->err.message);
	return 1;
}

static int copy_one(move *m, sides *s, const char *key, int64_t size, const char *etag)
{
	dbs_error *err = &m->ctx->err;
	s3_meta meta;  /* its type, kept */
	int rc = s3_head(s->from, key, &meta, err);
	if (rc)
		return rc;
	snprintf(meta.etag, sizeof(meta.etag), "%s", etag);
	if (s->one_store && size < COPY_MAX)
		return s3_copy(s->to, key, s->from, key, &meta, err);
	const char *dir = getenv("TMPDIR");
	char *tmpl = xprintf("%s/dbshift-bucket-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		rc = dbs_fail(err, DBS_EFAIL, "cannot make a temporary file in %s: %s",
			      dir && *dir ? dir : "/tmp", strerror(errno));
		free(tmpl);
		return rc;
	}
	close(fd);
	rc = s3_get(s->from, key, tmpl, err);
	if (!rc)
		rc = s3_put_from(s->to, key, tmpl, &meta, on_bytes, m, err);
	unlink(tmpl);
	free(tmpl);
	return rc;
}

static int bucket_run(move *m)
{
	sides s;
	listing src = { 0 }, dst = { 0 };
	int rc = sides_open(m, &s);
	if (!rc)
		rc = s3_objects(s.from, &src.keys, &src.sizes, &src.etags, &src.n, &m->ctx->err);
	if (!rc)
		rc = s3_objects(s.to, &dst.keys, &dst.sizes, &dst.etags, &dst.n, &m->ctx->err);
	m->count_items = 1;
	int64_t total = 0;
	for (size_t i = 0; !rc && i < src.n; i++)
		total += src.sizes[i];
	if (!rc)
		move_total(m, (int64_t)src.n, total);
	for (size_t i = 0; !rc && i < src.n; i++) {
		const char *key = src.keys[i];
		long t = find_key(&dst, key);
		int same = 0;
		if (t >= 0 && dst.sizes[t] == src.sizes[i]) {
			same = !strcmp(dst.etags[t], src.etags[i]);
			if (!same) {  /* a copy of ours records the source's ETag */
				s3_meta tm;
				dbs_error e = { 0 };
				same = s3_head(s.to, key, &tm, &e) == 0 && tm.size >= 0 &&
				       !strcmp(tm.source_etag, src.etags[i]);
				dbs_error_clear(&e);
			}
		}
		if (same) {
			move_skipped(m);
			continue;
		}
		json_t *it = json_pack("{s:s, s:I, s:s, s:b}", "key", key, "size",
				       (json_int_t)src.sizes[i], "etag", src.etags[i], "replaces",
				       t >= 0);
		if (m->dry_run) {
			move_copied(m, it, src.sizes[i]);
			continue;
		}
		int crc = copy_one(m, &s, key, src.sizes[i], src.etags[i]);
		if (!crc) {
			move_copied(m, it, src.sizes[i]);
			continue;
		}
		json_decref(it);
		if (lost(m, &s, key)) {
			rc = crc;
			break;
		}
		move_failed(m, key, m->ctx->err.message);
		dbs_error_clear(&m->ctx->err);
	}
	m->extra = json_pack("{s:b}", "copy_object", s.one_store);
	listing_free(&src);
	listing_free(&dst);
	sides_close(&s);
	return rc;
}

static int bucket_check(move *m)
{
	sides s;
	int rc = sides_open(m, &s);
	sides_close(&s);
	return rc;
}

static int bucket_undo(move *m, const json_t *done)
{
	const json_t *list = json_object_get(done, "manifest");  /* (keep: moves.c) */
	sides s;
	int rc = sides_open(m, &s);
	for (size_t i = 0; !rc && i < json_array_size(list); i++) {
		const json_t *it = json_array_get(list, i);
		const char *key = json_string_value(json_object_get(it, "key"));
		const char *etag = json_string_value(json_object_get(it, "etag"));
		s3_meta tm;
		if (!key || !etag)
			continue;
		int h = s3_head(s.to, key, &tm, &m->ctx->err);
		int64_t size = tm.size;
		if (h) {
			if (lost(m, &s, key)) {
				rc = h;
				break;
			}
			move_failed(m, key, m->ctx->err.message);
			dbs_error_clear(&m->ctx->err);
		} else if (size < 0) {
			move_skipped(m);  /* gone already */
		} else if (strcmp(tm.source_etag, etag) && strcmp(tm.etag, etag)) {
			ctx_warn(m->ctx, "%s: %s changed since the release copied it; left as it is",
				 m->word, key);
			move_skipped(m);
		} else if (m->dry_run) {
			move_copied(m, json_pack("{s:s}", "key", key), size);
		} else if (s3_del(s.to, key, &m->ctx->err)) {
			if (lost(m, &s, key)) {
				rc = DBS_EFAIL;
				break;
			}
			move_failed(m, key, m->ctx->err.message);
			dbs_error_clear(&m->ctx->err);
		} else {
			move_copied(m, json_pack("{s:s}", "key", key), size);
		}
	}
	sides_close(&s);
	return rc;
}

const move_kind move_bucket = { "bucket", bucket_check, bucket_run, bucket_undo };
