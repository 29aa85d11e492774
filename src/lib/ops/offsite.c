/*
 * offsite.c - backups off the host: each backup's files and then its
 * manifest go to backup_upload (s3://BUCKET/PREFIX/<id>/...) after it is
 * taken; a backup that is only there is fetched back into backup_dir
 * (files 0600) before it is verified or restored, its checksums checked
 * as for any other; prune removes it there too.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "remote/remote.h"

int offsite_open(dbs_ctx *ctx, struct s3 **s)
{
	*s = NULL;
	if (!ctx->opts.backup_upload || !*ctx->opts.backup_upload)
		return 0;
	int64_t part = 0;
	if (ctx->opts.s3_part_size)
		parse_size(ctx->opts.s3_part_size, &part);
	return s3_open(s, ctx->opts.backup_upload, ctx->opts.s3_endpoint, ctx->opts.s3_region,
		       part, &ctx->err);
}

typedef struct push_progress {
	dbs_backup_cb cb;
	void *data;
	int64_t before, total, t0;
} push_progress;

static void pushed(int64_t done, int64_t total, void *arg)
{
	push_progress *p = arg;
	(void)total;
	dbs_backup_progress pr = { "upload", p->before + done, p->total, now_ms() - p->t0 };
	p->cb(&pr, p->data);
}

int offsite_push(dbs_ctx *ctx, const char *id, const char *dir, json_t *m, dbs_backup_cb cb,
		 void *cb_data)
{
	struct s3 *s = NULL;
	int rc = offsite_open(ctx, &s);
	if (rc || !s)
		return rc;
	json_t *files = json_object_get(m, "files"), *objects = json_array();
	push_progress pp = { cb, cb_data, 0, 0, now_ms() };
	for (size_t i = 0; i < json_array_size(files); i++)
		pp.total += json_integer_value(json_object_get(json_array_get(files, i), "size"));
	for (size_t i = 0; !rc && i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *rel = json_string_value(json_object_get(f, "path"));
		char *path = xprintf("%s/%s", dir, rel), *name = xprintf("%s/%s", id, rel), *etag = NULL;
		int parts = 0;
		rc = s3_put(s, name, path, cb ? pushed : NULL, &pp, &etag, &parts, &ctx->err);
		if (!rc) {
			json_array_append_new(objects, json_pack("{s:s, s:s, s:i}", "path", rel, "etag",
								 etag, "parts", parts));
			ctx_log(ctx, "backup %s: %s uploaded to %s/%s (%s%d parts, ETag %s)", id, rel,
				s3_name(s), name, parts ? "" : "one PUT, ", parts, etag);
		}
		pp.before += json_integer_value(json_object_get(f, "size"));
		free(etag);
		free(path);
		free(name);
	}
	if (!rc) {  /* the manifest says where each file went, and goes last */
		char *where = xprintf("%s/%s/", s3_name(s), id);
		json_object_set_new(m, "uploaded", json_pack("{s:s, s:s?, s:o}", "to", where,
				    "endpoint", ctx->opts.s3_endpoint, "objects", objects));
		objects = NULL;
		free(where);
		char *mpath = xprintf("%s/manifest.json", dir), *name = xprintf("%s/manifest.json", id);
		if (json_dump_file(m, mpath, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot write '%s'", mpath);
		if (!rc)
			rc = s3_put(s, name, mpath, NULL, NULL, NULL, NULL, &ctx->err);
		free(mpath);
		free(name);
	}
	json_decref(objects);
	if (rc) {
		char *why = xstrdup(ctx->err.message);
		char *hint = ctx->err.hint ? xstrdup(ctx->err.hint) : NULL;
		dbs_fail(&ctx->err, DBS_EFAIL, "backup %s is in %s but could not be uploaded: %s", id,
			 dir, why);
		dbs_error_set_hint(&ctx->err, "%s; the local copy stays",
				   hint ? hint : "check backup_upload, s3_endpoint and the credentials");
		free(why);
		free(hint);
	}
	s3_close(s);
	return rc;
}

int offsite_fetch(dbs_ctx *ctx, const char *id, const char *dir)
{
	struct s3 *s = NULL;
	int rc = offsite_open(ctx, &s);
	if (rc || !s)
		return rc;
	char *mname = xprintf("%s/manifest.json", id), *mpath = xprintf("%s/manifest.json", dir);
	if (make_dirs(dir, 0700) < 0)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot create '%s'", dir);
	if (!rc)
		rc = s3_get(s, mname, mpath, &ctx->err);
	json_t *m = rc ? NULL : json_load_file(mpath, 0, NULL);
	json_t *files = json_object_get(m, "files");
	for (size_t i = 0; !rc && i < json_array_size(files); i++) {
		const char *rel = json_string_value(json_object_get(json_array_get(files, i), "path"));
		if (!rel || rel[0] == '/' || strstr(rel, "..")) {
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "the manifest of backup %s in %s names a "
				      "file outside the backup", id, s3_name(s));
			break;
		}
		char *name = xprintf("%s/%s", id, rel), *path = xprintf("%s/%s", dir, rel);
		make_parents(path, 0700);
		rc = s3_get(s, name, path, &ctx->err);
		free(name);
		free(path);
	}
	if (!rc)
		ctx_log(ctx, "backup %s: fetched from %s into %s", id, s3_name(s), dir);
	else if (access(dir, F_OK) == 0)
		rmtree(dir);  /* nothing half fetched is left to be taken for a backup */
	json_decref(m);
	free(mname);
	free(mpath);
	s3_close(s);
	return rc;
}

/* A name of the store that can be a backup's id (and so a directory of
 * backup_dir): letters, digits, '-' and '_', never "." or "..". */
static int id_like(const char *s)
{
	return *s && strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_") ==
	       strlen(s);
}

int offsite_ids(dbs_ctx *ctx, char ***ids, size_t *n)
{
	struct s3 *s = NULL;
	*ids = NULL;
	*n = 0;
	int rc = offsite_open(ctx, &s);
	if (!rc && s)
		rc = s3_list(s, NULL, 1, ids, NULL, n, &ctx->err);
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {  /* anything else there is not a backup */
		if (id_like((*ids)[i]))
			(*ids)[k++] = (*ids)[i];
		else
			free((*ids)[i]);
	}
	*n = k;
	s3_close(s);
	return rc;
}

int offsite_manifest(dbs_ctx *ctx, const char *id, const char *tmp, json_t **m)
{
	struct s3 *s = NULL;
	*m = NULL;
	int rc = offsite_open(ctx, &s);
	if (!rc && s) {
		char *name = xprintf("%s/manifest.json", id);
		if (!(rc = s3_get(s, name, tmp, &ctx->err)))
			*m = json_load_file(tmp, 0, NULL);
		remove(tmp);
		free(name);
	}
	s3_close(s);
	return rc;
}

int offsite_remove(dbs_ctx *ctx, const char *id)
{
	struct s3 *s = NULL;
	int rc = offsite_open(ctx, &s);
	if (rc || !s)
		return rc;
	char **names = NULL, *folder = xprintf("%s/", id);
	size_t n = 0;
	rc = s3_list(s, folder, 0, &names, NULL, &n, &ctx->err);
	for (size_t i = 0; !rc && i < n; i++) {
		char *name = xprintf("%s%s", folder, names[i]);
		rc = s3_del(s, name, &ctx->err);
		free(name);
	}
	if (!rc)
		ctx_log(ctx, "backup %s: removed from %s (%zu objects)", id, s3_name(s), n);
	s3_names_free(names, n);
	free(folder);
	s3_close(s);
	return rc;
}
