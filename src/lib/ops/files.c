/*
 * files.c - the files a backup keeps with the database (backup_paths:
 * uploaded media, static files), archived with libarchive as one tar
 * (zstd, else gzip) beside the dump: each regular file's path, size and
 * SHA-256 go in the manifest ("paths_archive"), the archive itself is one
 * more file of the backup (so checksummed, sealed and uploaded like the
 * dump).  Restore puts them back where they were (the old trees set aside
 * until it worked, then removed) or under another directory, and compares
 * every file with its checksum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "ops/ops.h"

/* A path of backup_paths must stay inside the project. */
static int bad_path(const char *p)
{
	return !*p || p[0] == '/' || !strcmp(p, "..") || starts_with(p, "../") ||
	       strstr(p, "/../") || (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/.."));
}

int files_check(dbs_ctx *ctx, const char *paths)
{
	char *copy = xstrdup(paths), *save = NULL;
	int rc = 0;
	for (char *p = strtok_r(copy, " \t,", &save); p && !rc; p = strtok_r(NULL, " \t,", &save)) {
		struct stat st;
		if (bad_path(p)) {
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "backup_paths: '%s' is not a path inside "
				      "the project", p);
			dbs_error_set_hint(&ctx->err, "give paths relative to the project's directory, "
					   "e.g. backup_paths = media static");
		} else if (lstat(p, &st) < 0) {
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "backup_paths: '%s': %s", p, strerror(errno));
			dbs_error_set_hint(&ctx->err, "backup_paths names files or directories to keep "
					   "with each backup, relative to the project's directory");
		}
	}
	free(copy);
	return rc;
}

/* Copy the file at src into the archive, hashing it. */
static int add_data(struct archive *a, const char *src, char sum[65], dbs_error *err)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dbs_fail(err, DBS_EFAIL, "cannot read '%s': %s", src, strerror(errno));
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(h, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			rc = dbs_fail(err, DBS_EFAIL, "cannot archive '%s': %s", src,
				      archive_error_string(a));
			break;
		}
	}
	if (n < 0 && !rc)
		rc = dbs_fail(err, DBS_EFAIL, "cannot read '%s': %s", src, strerror(errno));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(h, md, &mdlen);
	for (unsigned i = 0; i < 32; i++)
		snprintf(sum + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(h);
	close(fd);
	return rc;
}

static int sink_open(struct archive *a, void *data)
{
	(void)a;
	(void)data;
	return ARCHIVE_OK;
}

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t n)
{
	db_sink *sink = data;
	if (sink->write(sink->data, buf, n)) {
		archive_set_error(a, EIO, "cannot write the encrypted archive");
		return -1;
	}
	return (la_ssize_t)n;
}

/* A writer for dir/files.tar.zst, or .gz where zstd is not built in; with
 * a sink, into it (begun with the name). */
static struct archive *writer(const char *dir, db_sink *sink, char **name)
{
	struct archive *a = archive_write_new();
	*name = xstrdup("files.tar.zst");
	if (archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
		archive_write_free(a);
		a = archive_write_new();
		archive_write_add_filter_gzip(a);
		free(*name);
		*name = xstrdup("files.tar.gz");
	}
	archive_write_set_format_pax_restricted(a);
	char *path = xprintf("%s/%s", dir, *name);
	if (sink) {
		archive_write_set_bytes_in_last_block(a, 1);
		if (sink->begin(sink->data, *name) ||
		    archive_write_open2(a, sink, sink_open, sink_write, NULL, NULL) != ARCHIVE_OK) {
			archive_write_free(a);
			a = NULL;
		}
	} else if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		archive_write_free(a);
		a = NULL;
	}
	free(path);
	return a;
}

int files_archive(dbs_ctx *ctx, const char *dir, const char *paths, db_sink *sink, char **name,
		  json_t **facts)
{
	*facts = NULL;
	struct archive *a = writer(dir, sink, name);
	if (!a)
		return dbs_fail(&ctx->err, DBS_EFAIL, "cannot write the files' archive in '%s'", dir);
	struct archive *disk = archive_read_disk_new();
	archive_read_disk_set_standard_lookup(disk);
	archive_read_disk_set_symlink_physical(disk);  /* a link is kept as a link */
	json_t *entries = json_array(), *tops = json_array();
	char *copy = xstrdup(paths), *save = NULL;
	int rc = 0;
	int64_t bytes = 0;
	for (char *p = strtok_r(copy, " \t,", &save); p && !rc; p = strtok_r(NULL, " \t,", &save)) {
		json_array_append_new(tops, json_string(p));
		if (archive_read_disk_open(disk, p) != ARCHIVE_OK) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot read '%s': %s", p,
				      archive_error_string(disk));
			break;
		}
		for (;;) {
			struct archive_entry *e = archive_entry_new();
			int r = archive_read_next_header2(disk, e);
			if (r == ARCHIVE_EOF) {
				archive_entry_free(e);
				break;
			}
			if (r != ARCHIVE_OK) {
				rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot read '%s': %s", p,
					      archive_error_string(disk));
				archive_entry_free(e);
				break;
			}
			archive_read_disk_descend(disk);
			const char *path = archive_entry_pathname(e);
			int regular = archive_entry_filetype(e) == AE_IFREG;
			if (archive_write_header(a, e) != ARCHIVE_OK) {
				rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot archive '%s': %s", path,
					      archive_error_string(a));
			} else if (regular) {
				char sum[65];
				rc = add_data(a, archive_entry_sourcepath(e), sum, &ctx->err);
				json_array_append_new(entries, json_pack("{s:s, s:I, s:s}", "path", path,
					"size", (json_int_t)archive_entry_size(e), "sha256", sum));
				bytes += archive_entry_size(e);
			}
			archive_entry_free(e);
			if (rc)
				break;
		}
		archive_read_close(disk);
	}
	free(copy);
	archive_read_free(disk);
	if (archive_write_close(a) != ARCHIVE_OK && !rc)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot finish the files' archive: %s",
			      archive_error_string(a));
	archive_write_free(a);
	if (rc) {
		json_decref(entries);
		json_decref(tops);
		return rc;
	}
	*facts = json_pack("{s:o, s:o, s:I}", "paths", tops, "files", entries, "bytes",
			   (json_int_t)bytes);
	ctx_log(ctx, "files of %s archived: %zu files, %lld bytes", paths,
		json_array_size(json_object_get(*facts, "files")), (long long)bytes);
	return 0;
}

/* Every file of the archive's list, under root (NULL: here), as it was. */
static int compare(dbs_ctx *ctx, const json_t *files, const char *root)
{
	for (size_t i = 0; i < json_array_size(files); i++) {
		const json_t *f = json_array_get(files, i);
		const char *rel = json_string_value(json_object_get(f, "path"));
		char *path = root ? xprintf("%s/%s", root, rel) : xstrdup(rel), sum[65];
		int rc = 0;
		if (sha256_path(path, sum, NULL) < 0)
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "restored file '%s' is missing", path);
		else if (strcmp(sum, json_string_value(json_object_get(f, "sha256"))))
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "restored file '%s' does not match its "
				      "checksum", path);
		free(path);
		if (rc)
			return rc;
	}
	return 0;
}

/* Unpack the archive at path under root (NULL: where the files were). */
static int unpack(dbs_ctx *ctx, const char *path, const char *root)
{
	struct archive *a = archive_read_new(), *out = archive_write_disk_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
				       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
				       ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK);
	int rc = 0;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot read the files' archive '%s': %s", path,
			      archive_error_string(a));
	struct archive_entry *e;
	while (!rc) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		const char *name = r == ARCHIVE_OK ? archive_entry_pathname(e) : NULL;
		if (!name || bad_path(name)) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "the files' archive '%s' holds %s", path,
				      name ? "a path outside the project" : archive_error_string(a));
			break;
		}
		if (root) {
			char *moved = xprintf("%s/%s", root, name);
			archive_entry_set_pathname(e, moved);
			free(moved);
		}
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot restore '%s': %s", name,
				      archive_error_string(out));
			break;
		}
		const void *buf;
		size_t n;
		la_int64_t off;
		while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK)
			if (archive_write_data_block(out, buf, n, off) != ARCHIVE_OK)
				break;
		if (r != ARCHIVE_EOF || archive_write_finish_entry(out) != ARCHIVE_OK)
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot restore '%s': %s", name,
				      archive_error_string(r != ARCHIVE_EOF ? a : out));
	}
	archive_read_free(a);
	archive_write_free(out);
	return rc;
}

int files_restore(dbs_ctx *ctx, const json_t *facts, const char *archive, const char *root)
{
	const json_t *tops = json_object_get(facts, "paths");
	const json_t *files = json_object_get(facts, "files");
	if (root) {
		if (make_dirs(root, 0755) < 0)
			return dbs_fail(&ctx->err, DBS_EFAIL, "cannot create '%s': %s", root,
					strerror(errno));
		int rc = unpack(ctx, archive, root);
		return rc ? rc : compare(ctx, files, root);
	}
	/* where they were: the trees of now set aside until the old ones are back */
	size_t n = json_array_size(tops);
	char **aside = xcalloc(n + 1, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *p = json_string_value(json_array_get(tops, i));
		if (!p || bad_path(p)) {
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "the manifest names '%s' to restore", p ? p : "");
			break;
		}
		aside[i] = xprintf("%s.dbshift-restore-%ld", p, (long)getpid());
		if (rename(p, aside[i]) < 0) {
			free(aside[i]);
			aside[i] = NULL;
			if (errno != ENOENT)
				rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot set '%s' aside: %s", p,
					      strerror(errno));
		}
	}
	if (!rc)
		rc = unpack(ctx, archive, NULL);
	if (!rc)
		rc = compare(ctx, files, NULL);
	for (size_t i = 0; i < n; i++) {
		const char *p = json_string_value(json_array_get(tops, i));
		if (!aside[i])
			continue;
		if (rc) {  /* put back what was there */
			rmtree(p);
			rename(aside[i], p);
		} else {
			rmtree(aside[i]);
		}
		free(aside[i]);
	}
	free(aside);
	if (!rc)
		ctx_log(ctx, "files restored: %zu files of %zu paths, checksums match",
			json_array_size(files), n);
	return rc;
}
