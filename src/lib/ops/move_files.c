/*
 * move_files.c - files:NAME: a tree copied onto another, as the runbook's
 * copy2 does it.
 *
 *   [files "media"]
 *   from = /srv/old/media
 *   to = /srv/new/media
 *
 * Every regular file that is missing at the target or differs (size,
 * then SHA-256) is copied with its mode and mtime (to a temporary name
 * beside it, then renamed); a symlink is made as a link; nothing at the
 * target is ever deleted.  A file the copy replaces is first kept under
 * backup_dir/files/<run id>/NAME/ so the undo can put it back.  The
 * manifest lists what this run copied (path, size, SHA-256, and the kept
 * file of one it replaced); the undo removes exactly those whose content
 * is still what was copied (the others are left, and counted), puts
 * replaced ones back, and removes the directories the run made when they
 * are empty again; with keep = true it removes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ops/moves.h"

typedef struct entry {
	char *rel;     /* the path below from/ */
	struct stat st;
	int bad_name;  /* not UTF-8: no report could name it */
} entry;

typedef struct walk {
	entry *e;
	size_t n;
	int64_t bytes;
} walk;

static void walk_free(walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->e[i].rel);
	free(w->e);
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->rel, ((const entry *)b)->rel);
}

/* Every file and link below root/rel (rel "" first). */
static int walk_tree(const char *root, const char *rel, walk *w, dbs_error *err)
{
	char *dir = *rel ? xprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	if (!d) {
		int rc = dbs_fail(err, DBS_EINPUT, "cannot read the directory '%s': %s", dir,
				  strerror(errno));
		free(dir);
		return rc;
	}
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *r = *rel ? xprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		char *full = xprintf("%s/%s", root, r);
		struct stat st;
		if (lstat(full, &st) < 0) {
			rc = dbs_fail(err, DBS_EINPUT, "cannot read '%s': %s", full, strerror(errno));
			free(r);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_tree(root, r, w, err);
			free(r);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			json_t *name = json_string(r);
			w->e = xrealloc(w->e, (w->n + 1) * sizeof(entry));
			w->e[w->n++] = (entry){ r, st, name == NULL };
			json_decref(name);
			if (S_ISREG(st.st_mode))
				w->bytes += st.st_size;
		} else {
			free(r);  /* sockets, FIFOs, devices: not files to copy */
		}
		free(full);
	}
	closedir(d);
	free(dir);
	return rc;
}

/* Does the target hold the same as the source?  1 same, 0 differs or
 * missing (*exists says which). */
static int same(const char *src, const entry *e, const char *dst, int *exists, char sum[65])
{
	struct stat st;
	*exists = lstat(dst, &st) == 0;
	sum[0] = '\0';
	if (!*exists)
		return 0;
	if (S_ISLNK(e->st.st_mode)) {
		char a[4096], b[4096];
		ssize_t an = readlink(src, a, sizeof(a)), bn = S_ISLNK(st.st_mode)
			     ? readlink(dst, b, sizeof(b)) : -1;
		return an >= 0 && an == bn && !memcmp(a, b, (size_t)an);
	}
	if (!S_ISREG(st.st_mode) || st.st_size != e->st.st_size)
		return 0;
	char other[65];
	int64_t n;
	if (sha256_path(src, sum, &n) < 0 || sha256_path(dst, other, &n) < 0)
		return 0;
	return !strcmp(sum, other);
}

/* Copy src to dst (a temporary name, then renamed) with mode and mtime;
 * its SHA-256 in sum. */
static int copy_file(const char *src, const char *dst, const struct stat *st, char sum[65],
		     const char **why)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		*why = strerror(errno);
		return -1;
	}
	char *tmp = xprintf("%s.dbshift-tmp-%d", dst, (int)getpid());
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		*why = strerror(errno);
		close(in);
		free(tmp);
		return -1;
	}
	char buf[1 << 16];
	ssize_t n;
	int bad = 0;
	while (!bad && (n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n && !bad;) {
			ssize_t k = write(out, buf + off, (size_t)(n - off));
			bad = k <= 0;
			off += k > 0 ? k : 0;
		}
	if (n < 0)
		bad = 1;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (!bad && (fchmod(out, st->st_mode & 07777) < 0 || futimens(out, times) < 0 ||
		     fsync(out) < 0))
		bad = 1;
	if (bad)
		*why = strerror(errno);
	close(in);
	if (close(out) < 0 && !bad) {
		bad = 1;
		*why = strerror(errno);
	}
	int64_t size;
	if (!bad && sha256_path(tmp, sum, &size) < 0) {
		bad = 1;
		*why = strerror(errno);
	}
	if (!bad && rename(tmp, dst) < 0) {
		bad = 1;
		*why = strerror(errno);
	}
	if (bad)
		unlink(tmp);
	free(tmp);
	return bad ? -1 : 0;
}

/* mkdir -p of dst's parent, each directory made recorded in dirs. */
static int parents(const char *dst, json_t *dirs)
{
	char *p = xstrdup(dst);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s && !rc; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) == 0)
			json_array_append_new(dirs, json_string(p));
		else if (errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	free(p);
	return rc;
}

/* ---- a bucket on one side ----
 *
 * A tree goes up as objects named by their paths below the prefix, each
 * with the file's SHA-256 recorded (x-amz-meta-dbshift-source-etag
 * "sha256:HEX"): an object of the same size that records the same is
 * skipped.  Objects come down as files named by their keys (a key with an
 * empty, "." or ".." part is a failure of that item), compared first by
 * size and then by MD5 (a single-part ETag), the recorded SHA-256, or
 * else their bytes.  A bucket has no mode and no mtime: files made from
 * objects are 0644 less the umask, with the time of the copy; links going
 * up are followed.
 */

static int is_bucket(const move *m, const char *side)
{
	return starts_with(section_get(m->sec, side), "s3://");
}

static int md5_path(const char *path, char out[33])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	size_t k;
	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(c, buf, k);
	int bad = ferror(f);
	EVP_DigestFinal_ex(c, md, &n);
	EVP_MD_CTX_free(c);
	fclose(f);
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return bad ? -1 : 0;
}

/* A key that names a file below the target (no empty, "." or ".." part). */
static int safe_key(const char *key)
{
	if (!*key || *key == '/')
		return 0;
	for (const char *p = key; *p;) {
		size_t n = strcspn(p, "/");
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n + (p[n] == '/');
	}
	return key[strlen(key) - 1] != '/';
}

static long key_at(char **keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i], key))
			return (long)i;
	return -1;
}

/* The failure of one item, or the end of the step when the store is lost. */
static int item_failed(move *m, s3 *s, const char *item)
{
	if (s3_lost(s))
		return m->ctx->err.code;
	move_failed(m, item, m->ctx->err.message);
	dbs_error_clear(&m->ctx->err);
	return 0;
}

static int tree_to_bucket(move *m, const walk *w)
{
	s3 *to = NULL;
	char **keys = NULL, **etags = NULL;
	int64_t *sizes = NULL;
	size_t nk = 0;
	int rc = move_store(m, "to", &to);
	if (!rc)
		rc = s3_objects(to, &keys, &sizes, &etags, &nk, &m->ctx->err);
	const char *from = section_get(m->sec, "from");
	for (size_t i = 0; !rc && i < w->n; i++) {
		const entry *e = &w->e[i];
		if (e->bad_name) {
			move_failed(m, e->rel, "its name is not UTF-8 (rename it)");
			continue;
		}
		char *src = xprintf("%s/%s", from, e->rel), sum[65];
		struct stat st;
		int64_t size = 0;
		if (stat(src, &st) < 0 || !S_ISREG(st.st_mode) || sha256_path(src, sum, &size) < 0) {
			move_failed(m, e->rel, "not a regular file that can be read (a link going "
				    "nowhere?)");
			free(src);
			continue;
		}
		char tag[80];
		snprintf(tag, sizeof(tag), "sha256:%s", sum);
		long t = key_at(keys, nk, e->rel);
		s3_meta tm = { .size = -1 };
		dbs_error ig = { 0 };
		if (t >= 0 && sizes[t] == size)
			s3_head(to, e->rel, &tm, &ig);
		dbs_error_clear(&ig);
		if (tm.size == size && !strcmp(tm.source_etag, tag)) {
			move_skipped(m);
		} else {
			json_t *it = json_pack("{s:s, s:s, s:I, s:s}", "path", e->rel, "key", e->rel,
					       "size", (json_int_t)size, "sha256", sum);
			s3_meta meta = { .size = size };
			snprintf(meta.etag, sizeof(meta.etag), "%s", tag);
			if (m->dry_run || !s3_put_from(to, e->rel, src, &meta, NULL, NULL,
						       &m->ctx->err)) {
				move_copied(m, it, size);
			} else {
				json_decref(it);
				rc = item_failed(m, to, e->rel);
			}
		}
		free(src);
	}
	s3_names_free(keys, nk);
	s3_names_free(etags, nk);
	free(sizes);
	s3_close(to);
	return rc;
}

/* Is the file at dst what the object (size, etag) holds? */
static int same_as_object(s3 *from, const char *key, int64_t size, const char *etag,
			  const char *dst)
{
	struct stat st;
	char md5[33], sum[65];
	int64_t n;
	if (lstat(dst, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != size)
		return 0;
	if (!strchr(etag, '-'))  /* a single part's ETag is its MD5 */
		return md5_path(dst, md5) == 0 && !strcmp(md5, etag);
	s3_meta tm;
	dbs_error ig = { 0 };
	int same = s3_head(from, key, &tm, &ig) == 0 && starts_with(tm.source_etag, "sha256:") &&
		   sha256_path(dst, sum, &n) == 0 && !strcmp(tm.source_etag + 7, sum);
	dbs_error_clear(&ig);
	return same;
}

static int bucket_to_tree(move *m, const char *keep_root, json_t *dirs)
{
	s3 *from = NULL;
	char **keys = NULL, **etags = NULL;
	int64_t *sizes = NULL, total = 0;
	size_t nk = 0;
	int rc = move_store(m, "from", &from);
	if (!rc)
		rc = s3_objects(from, &keys, &sizes, &etags, &nk, &m->ctx->err);
	for (size_t i = 0; i < nk; i++)
		total += sizes[i];
	if (!rc)
		move_total(m, (int64_t)nk, total);
	const char *to = section_get(m->sec, "to");
	for (size_t i = 0; !rc && i < nk; i++) {
		if (!safe_key(keys[i])) {
			move_failed(m, keys[i], "the key is no path below the target");
			continue;
		}
		char *dst = xprintf("%s/%s", to, keys[i]);
		int exists = access(dst, F_OK) == 0;
		if (same_as_object(from, keys[i], sizes[i], etags[i], dst)) {
			move_skipped(m);
			free(dst);
			continue;
		}
		if (m->dry_run) {
			move_copied(m, json_pack("{s:s, s:s, s:I, s:b}", "path", keys[i], "key", keys[i],
						 "size", (json_int_t)sizes[i], "replaces", exists),
				    sizes[i]);
			free(dst);
			continue;
		}
		char *tmp = xprintf("%s.dbshift-tmp-%d", dst, (int)getpid()), *kept = NULL, sum[65];
		const char *why = parents(dst, dirs) < 0 ? strerror(errno) : NULL;
		int64_t n;
		if (!why && s3_get(from, keys[i], tmp, &m->ctx->err)) {
			free(tmp);
			free(dst);
			rc = item_failed(m, from, keys[i]);
			continue;
		}
		mode_t mask = umask(0);
		umask(mask);
		if (!why && (chmod(tmp, 0644 & ~mask) < 0 || sha256_path(tmp, sum, &n) < 0))
			why = strerror(errno);
		if (!why && exists) {
			kept = xprintf("%s/%s", keep_root, keys[i]);
			make_parents(kept, 0700);
			if (rename(dst, kept) < 0)
				why = strerror(errno);
		}
		if (!why && rename(tmp, dst) < 0) {
			why = strerror(errno);
			if (kept)
				rename(kept, dst);  /* as it was */
		}
		if (why) {
			unlink(tmp);
			move_failed(m, keys[i], why);
		} else {
			json_t *it = json_pack("{s:s, s:s, s:s, s:I, s:s}", "path", keys[i], "key",
					       keys[i], "type", "file", "size", (json_int_t)sizes[i],
					       "sha256", sum);
			if (kept)
				json_object_set_new(it, "replaced", json_string(kept));
			move_copied(m, it, sizes[i]);
		}
		free(kept);
		free(tmp);
		free(dst);
	}
	s3_names_free(keys, nk);
	s3_names_free(etags, nk);
	free(sizes);
	s3_close(from);
	return rc;
}

/* The undo of a tree sent up: the objects still holding what was sent. */
static int bucket_undo(move *m, const json_t *list)
{
	s3 *to = NULL;
	int rc = move_store(m, "to", &to);
	for (size_t i = 0; !rc && i < json_array_size(list); i++) {
		const json_t *it = json_array_get(list, i);
		const char *key = json_string_value(json_object_get(it, "key"));
		const char *sum = json_string_value(json_object_get(it, "sha256"));
		s3_meta tm;
		if (!key || !sum)
			continue;
		if (s3_head(to, key, &tm, &m->ctx->err)) {
			rc = item_failed(m, to, key);
		} else if (tm.size < 0) {
			move_skipped(m);  /* gone already */
		} else if (strncmp(tm.source_etag, "sha256:", 7) || strcmp(tm.source_etag + 7, sum)) {
			ctx_warn(m->ctx, "%s: %s changed since the release copied it; left as it is",
				 m->word, key);
			move_skipped(m);
		} else if (m->dry_run || !s3_del(to, key, &m->ctx->err)) {
			move_copied(m, json_pack("{s:s}", "key", key), tm.size);
		} else {
			rc = item_failed(m, to, key);
		}
	}
	s3_close(to);
	return rc;
}

static int side_check(move *m, const char *key, int must_exist)
{
	const char *v = section_get(m->sec, key);
	struct stat st;
	if (starts_with(v, "s3://")) {
		if (is_bucket(m, "from") && is_bucket(m, "to")) {
			dbs_fail(&m->ctx->err, DBS_EINPUT, "%s: both sides are buckets", m->word);
			dbs_error_set_hint(&m->ctx->err, "copy between buckets with a [bucket "
					   "\"NAME\"] step");
			return DBS_EINPUT;
		}
		s3 *s = NULL;
		int rc = move_store(m, key, &s);  /* the URL and the credentials */
		s3_close(s);
		return rc;
	}
	if (must_exist && (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))) {
		dbs_fail(&m->ctx->err, DBS_EINPUT, "%s: %s = %s: %s", m->word, key, v,
			 stat(v, &st) < 0 ? strerror(errno) : "not a directory");
		dbs_error_set_hint(&m->ctx->err, "check %s in [files \"%s\"]", key, m->sec->name);
		return DBS_EINPUT;
	}
	return 0;
}

static int tree_check(move *m)
{
	int rc = side_check(m, "from", !m->undo);
	return rc ? rc : side_check(m, "to", 0);
}

/* A tree onto a tree. */
static void tree_to_tree(move *m, const walk *w, const char *keep_root, json_t *dirs)
{
	const char *from = section_get(m->sec, "from"), *to = section_get(m->sec, "to");
	for (size_t i = 0; i < w->n; i++) {
		const entry *e = &w->e[i];
		if (e->bad_name) {
			move_failed(m, e->rel, "its name is not UTF-8 (rename it)");
			continue;
		}
		char *src = xprintf("%s/%s", from, e->rel), *dst = xprintf("%s/%s", to, e->rel);
		char sum[65];
		int exists;
		const char *why = NULL;
		int64_t size = S_ISREG(e->st.st_mode) ? e->st.st_size : 0;
		if (same(src, e, dst, &exists, sum)) {
			move_skipped(m);
		} else if (m->dry_run) {
			move_copied(m, json_pack("{s:s, s:I, s:b}", "path", e->rel, "size",
						 (json_int_t)size, "replaces", exists), size);
		} else {
			char *kept = NULL;
			if (parents(dst, dirs) < 0)
				why = strerror(errno);
			if (!why && exists) {  /* what it replaces, for the undo */
				kept = xprintf("%s/%s", keep_root, e->rel);
				make_parents(kept, 0700);
				if (rename(dst, kept) < 0)
					why = strerror(errno);
			}
			if (!why && S_ISLNK(e->st.st_mode)) {
				char target[4096];
				ssize_t n = readlink(src, target, sizeof(target) - 1);
				if (n < 0 || (target[n] = '\0', symlink(target, dst) < 0))
					why = strerror(errno);
				snprintf(sum, sizeof(sum), "%s", "");
			} else if (!why) {
				copy_file(src, dst, &e->st, sum, &why);
			}
			if (why) {
				if (kept && access(dst, F_OK) != 0)
					rename(kept, dst);  /* as it was */
				move_failed(m, e->rel, why);
			} else {
				json_t *it = json_pack("{s:s, s:s, s:I}", "path", e->rel, "type",
						       S_ISLNK(e->st.st_mode) ? "link" : "file",
						       "size", (json_int_t)size);
				if (*sum)
					json_object_set_new(it, "sha256", json_string(sum));
				if (kept)
					json_object_set_new(it, "replaced", json_string(kept));
				move_copied(m, it, size);
			}
			free(kept);
		}
		free(src);
		free(dst);
	}
}

static int files_run(move *m)
{
	int rc = tree_check(m);
	if (rc)
		return rc;
	m->count_items = 1;
	json_t *dirs = json_array();
	char *keep_root = xprintf("%s/files/%s/%s", m->ctx->opts.backup_dir
				  ? m->ctx->opts.backup_dir : "backups", m->run_id, m->sec->name);
	if (is_bucket(m, "from")) {
		rc = bucket_to_tree(m, keep_root, dirs);
	} else {
		walk w = { 0 };
		rc = walk_tree(section_get(m->sec, "from"), "", &w, &m->ctx->err);
		if (!rc) {
			qsort(w.e, w.n, sizeof(entry), by_rel);
			move_total(m, (int64_t)w.n, w.bytes);
			if (is_bucket(m, "to"))
				rc = tree_to_bucket(m, &w);
			else
				tree_to_tree(m, &w, keep_root, dirs);
		}
		walk_free(&w);
	}
	m->extra = json_pack("{s:o}", "dirs_made", dirs);
	free(keep_root);
	return rc;
}

static int files_undo(move *m, const json_t *done)
{
	const char *to = section_get(m->sec, "to");
	const json_t *list = json_object_get(done, "manifest");  /* (keep: moves.c) */
	if (is_bucket(m, "to"))
		return bucket_undo(m, list);
	for (size_t i = json_array_size(list); i-- > 0;) {
		const json_t *it = json_array_get(list, i);
		const char *rel = json_string_value(json_object_get(it, "path"));
		const char *want = json_string_value(json_object_get(it, "sha256"));
		const char *kept = json_string_value(json_object_get(it, "replaced"));
		if (!rel)
			continue;
		char *dst = xprintf("%s/%s", to, rel), sum[65];
		int64_t size = 0;
		struct stat st;
		int there = lstat(dst, &st) == 0;
		int ours = there && (S_ISLNK(st.st_mode) ? !want
				     : want && sha256_path(dst, sum, &size) == 0 && !strcmp(sum, want));
		if (!there && !kept) {
			move_skipped(m);  /* gone already */
		} else if (!ours && there) {
			ctx_warn(m->ctx, "%s: %s changed since the release copied it; left as it is",
				 m->word, rel);
			move_skipped(m);
		} else if (m->dry_run) {
			move_copied(m, json_pack("{s:s, s:b}", "path", rel, "put_back", kept != NULL),
				    size);
		} else if (kept ? rename(kept, dst) < 0 : unlink(dst) < 0) {
			move_failed(m, rel, strerror(errno));
		} else {
			move_copied(m, json_pack("{s:s, s:b}", "path", rel, "put_back", kept != NULL),
				    size);
		}
		free(dst);
	}
	const json_t *dirs = json_object_get(done, "dirs_made");
	for (size_t i = json_array_size(dirs); !m->dry_run && i-- > 0;)
		rmdir(json_string_value(json_array_get(dirs, i)));  /* when empty again */
	return 0;
}

const move_kind move_files = { "files", tree_check, files_run, files_undo };
