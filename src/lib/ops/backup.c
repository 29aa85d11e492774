/*
 * backup.c - backups with a manifest, their verification, and restore.
 *
 * <backup_dir>/<id>/ holds what the driver's dump wrote (pg_dump run with
 * an argv, or SQLite's online backup API) and manifest.json: id, time,
 * database (no password), server version, format, the migrations applied
 * at the time, each table's row count, each file's size and SHA-256, tool
 * version, duration.  Directories are 0700 and files 0600.
 *
 * With backup_encrypt, the dump (and the files' archive) is sealed as it
 * is written (util/seal.c: AES-256-GCM, bound to its name) into NAME.enc,
 * no plaintext written to disk; the manifest lists both SHA-256s (never
 * the key), and restore and verify open the files into a private
 * directory, checked, first.
 * After each backup, backup_keep and backup_max_age prune the others.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"
#include "remote/remote.h"

static char *retain(dbs_ctx *ctx, char *text);


/* Every regular file below dir/rel, as paths relative to dir. */
static void list_files(const char *dir, const char *rel, json_t *files)
{
	char *path = xprintf("%s/%s", dir, rel);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.') {
				char *sub = xprintf("%s/%s", rel, de->d_name);
				list_files(dir, sub, files);
				free(sub);
			}
		if (d)
			closedir(d);
	} else {
		json_array_append_new(files, json_string(rel));
	}
	free(path);
}

/* {"table": count} of the connected database. */
static int counts_json(const db_driver *d, db_conn *c, json_t **out, dbs_error *err)
{
	db_rows *r = NULL;
	int rc = table_counts(d, c, &r, err);
	if (rc)
		return rc;
	*out = json_object();
	for (size_t i = 0; i < r->nrows; i++)
		json_object_set_new(*out, DB_VAL(r, i, 0),
				    json_integer(strtoll(DB_VAL(r, i, 1), NULL, 10)));
	db_rows_free(r);
	return 0;
}

static char *backup_path(const dbs_ctx *ctx, const char *id)
{
	return xprintf("%s/%s", ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups", id);
}

/* Bytes below dir (the dump being written). */
static int64_t dir_bytes(const char *dir)
{
	int64_t total = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = xprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(p, &st) == 0)
			total += S_ISDIR(st.st_mode) ? dir_bytes(p) : (int64_t)st.st_size;
		free(p);
	}
	if (d)
		closedir(d);
	return total;
}

/* Reports the dump's growth every half second while it is written. */
typedef struct watcher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	const char *dir;
	int64_t db_bytes, t0;
	dbs_backup_cb cb;
	void *data;
} watcher;

static void *watch(void *arg)
{
	watcher *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 500000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
		if (!w->done) {
			dbs_backup_progress p = { "dump", dir_bytes(w->dir), w->db_bytes,
						  now_ms() - w->t0 };
			w->cb(&p, w->data);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* A new backup's id (its time, UTC) and directory, not taken yet. */
static char *new_backup_dir(const dbs_ctx *ctx, char id[40])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(id, 40, "%Y%m%dT%H%M%SZ", &tm);
	char *dir = backup_path(ctx, id);
	for (int k = 2; access(dir, F_OK) == 0; k++) {  /* two backups in one second */
		free(dir);
		char *alt = xprintf("%.*s-%d", 16, id, k);
		snprintf(id, 40, "%s", alt);
		free(alt);
		dir = backup_path(ctx, id);
	}
	return dir;
}

/*
 * A backup is written into <backup_dir>/.partial-<id>-<pid> and renamed to
 * <id> once its manifest is there: a backup killed on the way (a release
 * stopped in its backup step) leaves only a hidden directory, which no
 * list, prune or restore takes for a backup, and which the next backup
 * removes once its process is gone.
 */
static char *partial_dir(const dbs_ctx *ctx, const char *id)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	return xprintf("%s/.partial-%s-%ld", bdir, id, (long)getpid());
}

static void sweep_partials(dbs_ctx *ctx)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	DIR *d = opendir(bdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *dash = strrchr(de->d_name, '-');
		if (strncmp(de->d_name, ".partial-", 9) || !dash)
			continue;
		char *end;
		long pid = strtol(dash + 1, &end, 10);
		int alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
		if (*end || pid <= 0 || alive)
			continue;  /* its backup may still be under way */
		char *path = xprintf("%s/%s", bdir, de->d_name);
		rmtree(path);
		ctx_log(ctx, "removed %s, left by a backup that did not finish", path);
		free(path);
	}
	if (d)
		closedir(d);
}

/* Dump the database into dir, telling cb how far it got twice a second. */
static int dump_watched(dbs_ctx *ctx, const char *dir, const char *fmt, int jobs,
			db_sink *sink, dbs_backup_cb cb, void *cb_data, char **file)
{
	const db_driver *d = ctx->driver;
	watcher w = { .done = 0, .dir = dir, .t0 = now_ms(), .cb = cb, .data = cb_data };
	int watching = 0;
	if (cb) {
		dbs_error e2 = { 0 };
		db_database_size(d, ctx->conn, &w.db_bytes, &e2);
		dbs_error_clear(&e2);
		pthread_mutex_init(&w.mu, NULL);
		pthread_cond_init(&w.cv, NULL);
		watching = pthread_create(&w.thread, NULL, watch, &w) == 0;
	}
	int rc = db_dump(d, ctx->conn, dir, fmt, jobs, sink, file, &ctx->err);
	if (watching) {
		pthread_mutex_lock(&w.mu);
		w.done = 1;
		pthread_cond_signal(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(w.thread, NULL);
	}
	if (cb) {
		pthread_mutex_destroy(&w.mu);
		pthread_cond_destroy(&w.cv);
	}
	return rc;
}

/* The newest applied migration of each app: {"": "20240101", "app": ...}. */
static json_t *applied_json(dbs_ctx *ctx)
{
	json_t *applied = json_object();
	ctx_load_state(ctx);
	for (size_t i = 0; i < ctx->nentries; i++) {
		const dbs_entry *e = &ctx->entries[i].pub;
		if (e->state == DBS_APPLIED || e->state == DBS_DRIFTED || e->state == DBS_MISSING)
			json_object_set_new(applied, *e->app ? e->app : "", json_string(e->version));
	}
	dbs_error_clear(&ctx->err);
	return applied;
}

/*
 * With backup_encrypt, what the dump and the files' archive write is
 * sealed as it comes (util/seal.c), into dir/<name>.enc: no plaintext is
 * written to disk.  begin makes the sealed file, bound to its name.
 */
typedef struct seal_sink {
	const unsigned char *key;
	const char *dir;
	char *file;
	sealer *s;
} seal_sink;

static int sink_begin(void *data, const char *file)
{
	seal_sink *k = data;
	char *out = xprintf("%s/%s.enc", k->dir, file);
	free(k->file);
	k->file = xstrdup(file);
	k->s = seal_begin(k->key, out, file);
	free(out);
	return 0;  /* what failed, seal_write and seal_end say */
}

static int sink_write(void *data, const void *buf, size_t n)
{
	seal_sink *k = data;
	return seal_write(k->s, buf, n);
}

/* Finish what the sink sealed (rc: the dump's outcome); its entry in files. */
static int sink_end(dbs_ctx *ctx, seal_sink *k, int rc, json_t *files)
{
	if (k->s && rc) {
		seal_abort(k->s);
	} else if (k->s) {
		seal_sums s;
		rc = seal_end(k->s, &s, &ctx->err);
		char *srel = xprintf("%s.enc", k->file);
		if (!rc)
			json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}",
				"path", srel, "size", (json_int_t)s.sealed_size, "sha256",
				s.sealed_sha256, "plain_path", k->file, "plain_size",
				(json_int_t)s.plain_size, "plain_sha256", s.plain_sha256));
		free(srel);
	} else if (!rc) {
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "the dump wrote nothing to encrypt");
	}
	k->s = NULL;
	free(k->file);
	k->file = NULL;
	return rc;
}

/* Path, size and SHA-256 of every file the dump wrote (made 0600). */
static int files_json(dbs_ctx *ctx, const char *dir, const char *file, json_t *files)
{
	json_t *names = json_array();
	int rc = 0;
	list_files(dir, file, names);
	for (size_t i = 0; !rc && i < json_array_size(names); i++) {
		const char *rel = json_string_value(json_array_get(names, i));
		char *path = xprintf("%s/%s", dir, rel), sum[65];
		int64_t size;
		chmod(path, 0600);
		if (sha256_path(path, sum, &size) < 0)
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot read back '%s'", path);
		else
			json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", rel,
					      "size", (json_int_t)size, "sha256", sum));
		free(path);
	}
	json_decref(names);
	return rc;
}

/* The manifest of a backup: what was dumped, from where, and its checksums. */
typedef struct manifest_facts {
	const char *id, *created, *fmt;
	int64_t t0;
	json_t *tables;
	char *version, *identity;
	json_t *archive;      /* the files kept with the backup, or NULL */
} manifest_facts;

/* The manifest, its files those the sinks sealed (sealed) or those the
 * dump and the archive wrote. */
static int manifest_write(dbs_ctx *ctx, const char *dir, const manifest_facts *mf,
			  const char *file, json_t *sealed, char **text)
{
	json_t *files = sealed ? json_incref(sealed) : json_array();
	int rc = sealed ? 0 : files_json(ctx, dir, file, files);
	if (!rc && !sealed && mf->archive)  /* the files kept with it, after the dump */
		rc = files_json(ctx, dir, json_string_value(json_object_get(mf->archive, "path")),
				files);
	if (rc) {
		json_decref(files);
		return rc;
	}
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:o, s:s, s:I}",
		"id", mf->id, "created_at", mf->created, "database", dbs_database_display(ctx),
		"identity", mf->identity, "driver", ctx->driver->name, "server_version",
		mf->version, "format", mf->fmt, "migrations", applied_json(ctx), "tables",
		mf->tables, "files", files, "tool_version", DBSHIFT_VERSION, "duration_ms",
		(json_int_t)(now_ms() - mf->t0));
	if (sealed)
		json_object_set_new(m, "encryption", json_string("aes-256-gcm"));
	if (mf->archive)
		json_object_set(m, "paths_archive", mf->archive);
	*text = report_dump(m);
	char *mpath = xprintf("%s/manifest.json", dir);
	FILE *f = fopen(mpath, "w");
	if (!f || fputs(*text, f) < 0 || fclose(f) != 0)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot write '%s'", mpath);
	free(mpath);
	return rc;
}

static int backup_take(dbs_ctx *ctx, const char *format, int jobs, dbs_backup_cb cb,
		       void *cb_data, char **id_out, char **report)
{
	const db_driver *d = ctx->driver;
	char id[40], created[32];
	manifest_facts mf = { .id = id, .created = created, .fmt = db_dump_format(d, format),
			      .t0 = now_ms() };
	if (!mf.fmt) {
		char *known = db_dump_formats_text(d);
		dbs_fail(&ctx->err, DBS_EINPUT, "unknown backup format '%s': use %s", format, known);
		free(known);
		return DBS_EINPUT;
	}
	unsigned char key[32];
	if (ctx->opts.backup_encrypt) {  /* before anything is written */
		if (!ctx->opts.backup_key_file || !*ctx->opts.backup_key_file) {
			dbs_fail(&ctx->err, DBS_EINPUT, "backup_encrypt is on, and no backup_key_file "
				 "says where the key is");
			dbs_error_set_hint(&ctx->err, "set backup_key_file in dbshift.conf to a file "
					   "made with 'openssl rand -hex 32', mode 0600");
			return DBS_EINPUT;
		}
		int rc = seal_key_load(ctx->opts.backup_key_file, key, &ctx->err);
		if (rc)
			return rc;
	}
	if (ctx->opts.backup_paths && *ctx->opts.backup_paths) {
		int rc = files_check(ctx, ctx->opts.backup_paths);
		if (rc)
			return rc;
	}
	if (ctx->opts.backup_upload) {  /* its URL and credentials, before any dump */
		struct s3 *s = NULL;
		int rc = offsite_open(ctx, &s);
		s3_close(s);
		if (rc)
			return rc;
	}
	utc_now(created);
	sweep_partials(ctx);
	char *final = new_backup_dir(ctx, id), *dir = partial_dir(ctx, id), *file = NULL,
	     *text = NULL;
	mode_t old = umask(077);
	int rc = 0;
	if (make_dirs(dir, 0700) < 0) {
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot create backup directory '%s': %s", dir,
			      strerror(errno));
		dbs_error_set_hint(&ctx->err, "check backup_dir in dbshift.conf and its permissions");
	}
	if (!rc)
		rc = counts_json(d, ctx->conn, &mf.tables, &ctx->err);
	if (!rc)
		rc = db_server_version(d, ctx->conn, &mf.version, &ctx->err);
	if (!rc)
		rc = db_identity(d, ctx->conn, &mf.identity, &ctx->err);
	seal_sink seal = { .key = key, .dir = dir };
	db_sink sink = { sink_begin, sink_write, &seal };
	db_sink *to = ctx->opts.backup_encrypt ? &sink : NULL;
	json_t *sealed = to ? json_array() : NULL;
	if (!rc) {
		rc = dump_watched(ctx, dir, mf.fmt, jobs, to, cb, cb_data, &file);
		if (to)
			rc = sink_end(ctx, &seal, rc, sealed);
	}
	if (!rc && ctx->opts.backup_paths && *ctx->opts.backup_paths) {
		char *aname = NULL;
		rc = files_archive(ctx, dir, ctx->opts.backup_paths, to, &aname, &mf.archive);
		if (to)
			rc = sink_end(ctx, &seal, rc, sealed);
		if (!rc)
			json_object_set_new(mf.archive, "path", json_string(aname));
		free(aname);
	}
	if (!rc)
		rc = manifest_write(ctx, dir, &mf, file, sealed, &text);
	json_decref(sealed);
	explicit_bzero(key, sizeof(key));
	if (!rc && rename(dir, final) < 0)  /* whole: now it is a backup */
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot rename '%s' to '%s': %s", dir, final,
			      strerror(errno));
	if (!rc) {
		free(dir);
		dir = final;
		final = NULL;
	}
	int kept = 0;  /* a backup that could not be uploaded stays here */
	if (!rc && ctx->opts.backup_upload) {
		json_t *m = json_loads(text, 0, NULL);
		rc = offsite_push(ctx, id, dir, m, cb, cb_data);
		kept = rc != 0;
		free(text);
		text = report_dump(m);
	}
	umask(old);
	json_decref(mf.tables);
	json_decref(mf.archive);
	free(file);
	free(mf.version);
	free(mf.identity);
	free(final);
	if (rc) {
		if (!kept && access(dir, F_OK) == 0)
			rmtree(dir);  /* no half backups left behind */
		free(text);
		text = dbs_error_json("backup", &ctx->err);
	} else {
		ctx_log(ctx, "backup %s of %s written to %s", id, ctx->display_url, dir);
		if (id_out)
			*id_out = xstrdup(id);
		text = retain(ctx, text);
	}
	free(dir);
	if (report)
		*report = text;
	else
		free(text);
	return rc;
}

static int is_hex64(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* What is wrong with a manifest, or NULL: every key restore and verify
 * rely on, with its type, and at least the dump file. */
static const char *manifest_problem(const dbs_ctx *ctx, json_t *m)
{
	static const char *strings[] = { "id", "created_at", "database", "driver", "format" };
	if (!json_is_object(m))
		return "it is not a JSON object";
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!json_is_string(json_object_get(m, strings[i])))
			return "a required text field (id, created_at, database, driver, format) is missing";
	const char *fmt = json_string_value(json_object_get(m, "format"));
	if (!db_format_known(fmt))
		return "unknown format";
	if (ctx->driver && strcmp(json_string_value(json_object_get(m, "driver")), ctx->driver->name))
		return "it is a backup of another kind of database";
	json_t *idn = json_object_get(m, "identity");
	if (idn && !json_is_string(idn))
		return "identity is not text";
	json_t *files = json_object_get(m, "files");
	if (!json_is_array(files) || json_array_size(files) == 0)
		return "it lists no files (at least the dump)";
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *path = json_string_value(json_object_get(f, "path"));
		if (!path || !*path || path[0] == '/' || strstr(path, ".."))
			return "a file has no path, or one outside the backup's directory";
		if (!json_is_integer(json_object_get(f, "size")) ||
		    json_integer_value(json_object_get(f, "size")) < 0)
			return "a file has no size";
		if (!is_hex64(json_string_value(json_object_get(f, "sha256"))))
			return "a file has no SHA-256";
		if (json_object_get(m, "encryption")) {
			const char *plain = json_string_value(json_object_get(f, "plain_path"));
			if (!plain || !*plain || plain[0] == '/' || strstr(plain, ".."))
				return "an encrypted file has no plaintext name, or one outside the backup";
			if (!is_hex64(json_string_value(json_object_get(f, "plain_sha256"))))
				return "an encrypted file has no plaintext SHA-256";
		}
	}
	const json_t *pa = json_object_get(m, "paths_archive");
	if (pa) {
		const char *ap = json_string_value(json_object_get(pa, "path"));
		const json_t *pf = json_object_get(pa, "files");
		if (!ap || strchr(ap, '/') || !json_is_array(json_object_get(pa, "paths")) ||
		    !json_is_array(pf))
			return "the files' archive has no name, paths or file list";
		for (size_t i = 0; i < json_array_size(pf); i++)
			if (!json_is_string(json_object_get(json_array_get(pf, i), "path")) ||
			    !is_hex64(json_string_value(json_object_get(json_array_get(pf, i), "sha256"))))
				return "a file of the files' archive has no path or SHA-256";
	}
	const json_t *enc = json_object_get(m, "encryption");
	if (enc && (!json_is_string(enc) || strcmp(json_string_value(enc), "aes-256-gcm")))
		return "it is encrypted in a way this dbshift does not know";
	json_t *tables = json_object_get(m, "tables"), *v;
	const char *name;
	if (!json_is_object(tables))
		return "it has no table row counts";
	json_object_foreach(tables, name, v)
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return "a table's row count is not a number";
	return NULL;
}

static json_t *manifest_load(dbs_ctx *ctx, const char *id, char **dir)
{
	*dir = backup_path(ctx, id);
	char *mpath = xprintf("%s/manifest.json", *dir);
	json_error_t je;
	json_t *m = NULL;
	const char *problem = NULL;
	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, "..")) {
		dbs_fail(&ctx->err, DBS_EINPUT, "bad backup id '%s'", id);
		dbs_error_set_hint(&ctx->err, "'dbshift backups list' shows the backups there are");
	} else if (access(mpath, F_OK) != 0 && ctx->opts.backup_upload &&
		   offsite_fetch(ctx, id, *dir)) {
		/* only off the host, and it could not be fetched: ctx->err says why */
	} else if (!(m = json_load_file(mpath, JSON_REJECT_DUPLICATES, &je))) {
		dbs_fail(&ctx->err, DBS_EINPUT, "no readable backup '%s' (%s)", id, je.text);
		dbs_error_set_file(&ctx->err, mpath, 0, 0);
		dbs_error_set_hint(&ctx->err, "'dbshift backups list' shows the backups there are");
	} else if ((problem = manifest_problem(ctx, m))) {
		dbs_fail(&ctx->err, DBS_EINPUT, "damaged manifest of backup '%s': %s", id, problem);
		dbs_error_set_file(&ctx->err, mpath, 0, 0);
		dbs_error_set_hint(&ctx->err, "do not restore this backup; take a new one");
		json_decref(m);
		m = NULL;
	}
	free(mpath);
	return m;
}

/* The first file of a backup (the dump), as the driver's restore takes it. */
static char *dump_name(json_t *m)
{
	const json_t *f = json_array_get(json_object_get(m, "files"), 0);
	const char *file = json_string_value(json_object_get(f, "plain_path"));
	if (!file)
		file = json_string_value(json_object_get(f, "path"));
	return xstrndup(file, strcspn(file, "/"));
}

/* Re-check every file of a backup against its manifest. */
static int check_files(dbs_ctx *ctx, json_t *m, const char *dir)
{
	json_t *files = json_object_get(m, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		char *path = xprintf("%s/%s", dir, json_string_value(json_object_get(f, "path")));
		char sum[65];
		int64_t size = 0;
		int rc = 0;
		if (sha256_path(path, sum, &size) < 0)
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "backup file '%s' is missing", path);
		else if (strcmp(sum, json_string_value(json_object_get(f, "sha256"))) ||
			 size != json_integer_value(json_object_get(f, "size")))
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "backup file '%s' does not match its "
				      "checksum", path);
		if (rc)
			dbs_error_set_hint(&ctx->err, "the backup is damaged: do not restore it; "
					   "take a new one");
		free(path);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The plaintext of a backup's files, after check_files: dir itself when
 * it is not encrypted; else each file opened with backup_key_file's key
 * into a private directory *plain (the caller removes it), or, with plain
 * NULL, only checked.  Each must match its plaintext SHA-256.
 */
static int open_files(dbs_ctx *ctx, const char *id, json_t *m, const char *dir, char **plain)
{
	if (plain)
		*plain = NULL;
	if (!json_object_get(m, "encryption")) {
		if (plain)
			*plain = xstrdup(dir);
		return 0;
	}
	const char *kf = ctx->opts.backup_key_file;
	if (!kf || !*kf) {
		dbs_fail(&ctx->err, DBS_EINPUT, "backup %s is encrypted, and no backup_key_file says "
			 "where its key is", id);
		dbs_error_set_hint(&ctx->err, "set backup_key_file to the key it was taken with");
		return DBS_EINPUT;
	}
	unsigned char key[32];
	int rc = seal_key_load(kf, key, &ctx->err);
	char *into = plain && !rc ? xprintf("%s/.open-%ld", dir, (long)getpid()) : NULL;
	if (into && make_dirs(into, 0700) < 0)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot create '%s': %s", into, strerror(errno));
	json_t *files = json_object_get(m, "files");
	for (size_t i = 0; !rc && i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *prel = json_string_value(json_object_get(f, "plain_path"));
		char *in = xprintf("%s/%s", dir, rel), *out = into ? xprintf("%s/%s", into, prel) : NULL;
		char sum[65] = "";
		if (out)
			make_parents(out, 0700);
		if ((rc = seal_open(key, in, out, prel, sum, &ctx->err)))
			dbs_error_set_detail(&ctx->err, "the file matches its checksum in the manifest, "
					     "so it is whole: the key is not the one backup %s was "
					     "encrypted with", id);
		else if (strcmp(sum, json_string_value(json_object_get(f, "plain_sha256"))))
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "the plaintext of '%s' does not match its "
				      "checksum", in);
		free(in);
		free(out);
	}
	explicit_bzero(key, sizeof(key));
	if (rc && into) {
		rmtree(into);
		free(into);
		into = NULL;
	}
	if (plain)
		*plain = into;
	return rc;
}

/* Forget what open_files opened. */
static void close_files(json_t *m, char *plain)
{
	if (plain && json_object_get(m, "encryption"))
		rmtree(plain);
	free(plain);
}

/* Compare the connected database's row counts with the manifest's. */
static int compare_counts(dbs_ctx *ctx, const db_driver *d, db_conn *c, json_t *m)
{
	json_t *now = NULL;
	int rc = counts_json(d, c, &now, &ctx->err);
	if (rc)
		return rc;
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(m, "tables"), name, v) {
		json_t *got = json_object_get(now, name);
		if (!got || json_integer_value(got) != json_integer_value(v)) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "table %s has %lld rows after the restore, "
				      "the backup says %lld", name,
				      got ? (long long)json_integer_value(got) : -1LL,
				      (long long)json_integer_value(v));
			break;
		}
	}
	json_decref(now);
	return rc;
}

/* Restore the dump of backup m (its files opened in plain) into the
 * empty database at url, and compare its row counts with the manifest. */
static int load_dump(dbs_ctx *ctx, json_t *m, const char *plain, const char *url)
{
	const db_driver *d = ctx->driver;
	db_conn *sc = NULL;
	char *top = dump_name(m);
	int rc = db_restore(d, url, plain, top, json_string_value(json_object_get(m, "format")),
			    &ctx->err);
	if (!rc)
		rc = db_connect(d, &sc, url, &ctx->err);
	if (!rc)
		rc = compare_counts(ctx, d, sc, m);
	if (sc)
		db_close(d, sc);
	free(top);
	return rc;
}

int backup_load_into(dbs_ctx *ctx, const char *id, const char *url)
{
	char *dir, *plain = NULL;
	json_t *m = manifest_load(ctx, id, &dir);
	int rc = m ? check_files(ctx, m, dir) : DBS_EINPUT;
	if (!rc)
		rc = open_files(ctx, id, m, dir, &plain);
	if (!rc)
		rc = load_dump(ctx, m, plain, url);
	close_files(m, plain);
	json_decref(m);
	free(dir);
	return rc;
}

int dbs_backup_verify(dbs_ctx *ctx, const char *id, int restore, char **report)
{
	char *dir, *plain = NULL;
	json_t *m = manifest_load(ctx, id, &dir);
	int rc = m ? check_files(ctx, m, dir) : DBS_EINPUT;
	if (!rc)
		rc = open_files(ctx, id, m, dir, restore ? &plain : NULL);
	if (!rc && restore) {
		/* restore into a scratch database beside this one, count, drop it */
		const db_driver *d = ctx->driver;
		char *name = xprintf("dbshift_verify_%ld", (long)getpid()), *url = NULL;
		rc = db_scratch_create(d, ctx->conn, name, &url, &ctx->err);
		if (!rc) {
			rc = load_dump(ctx, m, plain, url);
			dbs_error e2 = { 0 };
			if (db_scratch_drop(d, ctx->conn, url, &e2) && !rc) {
				dbs_error_move(&ctx->err, &e2);
				rc = DBS_EFAIL;
			}
			dbs_error_clear(&e2);
		}
		free(url);
		free(name);
		json_t *pa = json_object_get(m, "paths_archive");
		if (!rc && pa) {  /* the files too, into a scratch directory */
			char *ap = xprintf("%s/%s", plain, json_string_value(json_object_get(pa, "path")));
			char *scratch = xprintf("%s/.files-%ld", dir, (long)getpid());
			rc = files_restore(ctx, pa, ap, scratch);
			rmtree(scratch);
			free(scratch);
			free(ap);
		}
	}
	close_files(m, plain);
	if (!rc) {
		/* remember it was verified: prune keeps the newest verified backup */
		char *mark = xprintf("%s/verified", dir), at[32];
		utc_now(at);
		mode_t old = umask(077);
		FILE *f = fopen(mark, "w");
		if (f) {
			fprintf(f, "%s%s\n", at, restore ? " restore" : "");
			fclose(f);
		}
		umask(old);
		free(mark);
	}
	if (report)
		*report = rc ? dbs_error_json("backups verify", &ctx->err)
			     : report_dump(json_pack("{s:s, s:s, s:b, s:s}", "command",
				"backups verify", "backup", id, "restored", restore, "status",
				"succeeded"));
	json_decref(m);
	free(dir);
	return rc;
}

static int restore(dbs_ctx *ctx, const char *id, const dbs_restore_opts *o, char **report)
{
	const char *target = o ? o->target : NULL;
	char *dir, *plain = NULL;
	json_t *m = manifest_load(ctx, id, &dir);
	int rc = m ? check_files(ctx, m, dir) : DBS_EINPUT;
	if (!rc)  /* opened before anything is dropped: a wrong key changes nothing */
		rc = open_files(ctx, id, m, dir, &plain);
	const db_driver *d = ctx->driver;
	const char *url = target ? target : ctx->opts.database;
	if (!rc && target) {
		const db_driver *td;
		if ((rc = driver_for_url(&td, target, &ctx->err)) == 0 && td != d)
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "a %s backup cannot be restored into "
				      "a %s database", d->name, td->name);
	}
	if (!rc && !target) {
		/* only into the database it was taken of, unless told otherwise */
		const char *was = json_string_value(json_object_get(m, "identity"));
		char *is = NULL;
		rc = db_identity(d, ctx->conn, &is, &ctx->err);
		if (!rc && (!was || strcmp(was, is))) {
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "backup %s was taken of another database (%s), "
				      "not of %s", id, json_string_value(json_object_get(m, "database")),
				      ctx->display_url);
			dbs_error_set_hint(&ctx->err, "to restore it into this database anyway, name "
					   "it with --target URL");
		}
		free(is);
	}
	if (!rc && !target) {
		/* tables made since the backup would survive a restore: drop them */
		db_rows *r = NULL;
		rc = table_counts(d, ctx->conn, &r, &ctx->err);
		json_t *tables = json_object_get(m, "tables");
		for (size_t i = 0; !rc && r && i < r->nrows; i++)
			if (!json_object_get(tables, DB_VAL(r, i, 0))) {
				char *qname = db_quote_table(d, DB_VAL(r, i, 0));
				char *sql = xprintf("DROP TABLE IF EXISTS %s", qname);
				rc = db_query(d, ctx->conn, sql, 0, NULL, NULL, &ctx->err);
				free(sql);
				free(qname);
			}
		db_rows_free(r);
	}
	if (!rc) {
		char *top = dump_name(m);
		rc = db_restore(d, url, plain, top, json_string_value(json_object_get(m, "format")),
				&ctx->err);
		free(top);
	}
	if (!rc) {
		db_conn *c = NULL;
		rc = db_connect(d, &c, url, &ctx->err);
		if (!rc)
			rc = compare_counts(ctx, d, c, m);
		if (c)
			db_close(d, c);
	}
	json_t *pa = json_object_get(m, "paths_archive");
	if (!rc && pa) {
		char *ap = xprintf("%s/%s", plain, json_string_value(json_object_get(pa, "path")));
		rc = files_restore(ctx, pa, ap, o ? o->files_to : NULL);
		free(ap);
	}
	close_files(m, plain);
	char *shown = dbs_redact_url(url);
	if (!rc)
		ctx_log(ctx, "restore of backup %s into %s: done, row counts match", id, shown);
	if (report)
		*report = rc ? dbs_error_json("restore", &ctx->err)
			     : report_dump(json_pack("{s:s, s:s, s:s, s:s}", "command", "restore",
				"backup", id, "database", shown, "status", "succeeded"));
	free(shown);
	ctx_drop_state(ctx);  /* the history may be the backup's now */
	json_decref(m);
	free(dir);
	return rc;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The backup ids of backup_dir, oldest first (ids are UTC timestamps). */
static char **backup_ids(const dbs_ctx *ctx, size_t *n);

static int has_id(char **ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return 1;
	return 0;
}

/* The ids of backup_dir and of backup_upload, oldest first; *remote those
 * of backup_upload (when there is one: else NULL).  A store that cannot
 * be listed is an error (in ctx->err). */
/* The backups here and in the store (*remote), merged and sorted; on a
 * store that cannot be listed, those here (and its error). */
static int all_ids(dbs_ctx *ctx, char ***ids, size_t *n, char ***remote, size_t *nremote)
{
	*ids = backup_ids(ctx, n);
	int rc = offsite_ids(ctx, remote, nremote);
	for (size_t i = 0; !rc && i < *nremote; i++)
		if (!has_id(*ids, *n, (*remote)[i])) {
			*ids = xrealloc(*ids, (*n + 1) * sizeof(char *));
			(*ids)[(*n)++] = xstrdup((*remote)[i]);
		}
	if (*n)
		qsort(*ids, *n, sizeof(char *), id_cmp);
	return rc;
}

static void ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* When backup id was taken, from its id (YYYYMMDDTHHMMSSZ), or 0. */
static time_t id_time(const char *id)
{
	struct tm tm = { 0 };
	const char *end = strptime(id, "%Y%m%dT%H%M%SZ", &tm);
	return end ? timegm(&tm) : 0;
}

static char **backup_ids(const dbs_ctx *ctx, size_t *n)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	DIR *d = opendir(bdir);
	struct dirent *de;
	char **ids = NULL;
	*n = 0;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			ids = xrealloc(ids, (*n + 1) * sizeof(char *));
			ids[(*n)++] = xstrdup(de->d_name);
		}
	if (d)
		closedir(d);
	if (*n)
		qsort(ids, *n, sizeof(char *), id_cmp);
	return ids;
}

char *dbs_backup_newest(dbs_ctx *ctx)
{
	/* with a database: the newest backup of that database */
	char *is = NULL;
	if (ctx->conn) {
		dbs_error e = { 0 };
		db_identity(ctx->driver, ctx->conn, &is, &e);
		dbs_error_clear(&e);
	}
	size_t n;
	char **ids = backup_ids(ctx, &n);
	char *newest = NULL;
	for (size_t i = n; i-- > 0 && !newest;) {
		char *dir;
		json_t *m = is ? manifest_load(ctx, ids[i], &dir) : NULL;
		if (is) {
			dbs_error_clear(&ctx->err);
			free(dir);
		}
		const char *was = json_string_value(json_object_get(m, "identity"));
		if (!is || (was && !strcmp(was, is)))
			newest = xstrdup(ids[i]);
		json_decref(m);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(is);
	return newest;
}

/* Remove the backups beyond the newest keep (0: any number) and those
 * older than max_age_s (0: any age), never the newest verified one; each
 * removed goes into removed with why (by: the setting or option). */
static int prune(dbs_ctx *ctx, int keep, int64_t max_age_s, int dry_run, const char *by_keep,
		 const char *by_age, json_t *removed, size_t *total)
{
	size_t n, nr = 0;
	char **ids = NULL, **remote = NULL;
	int rc = all_ids(ctx, &ids, &n, &remote, &nr);
	*total = n;
	if (rc) {
		ids_free(ids, n);
		ids_free(remote, nr);
		return rc;
	}
	/* the newest verified backup is never removed */
	long keep_verified = -1;
	for (size_t i = n; i-- > 0 && keep_verified < 0;) {
		char *dir = backup_path(ctx, ids[i]), *mark = xprintf("%s/verified", dir);
		if (access(mark, F_OK) == 0)
			keep_verified = (long)i;
		free(mark);
		free(dir);
	}
	time_t now = time(NULL);
	for (size_t i = 0; !rc && i < n; i++) {
		char *dir = backup_path(ctx, ids[i]);
		struct stat st;
		int here = stat(dir, &st) == 0, there = has_id(remote, nr, ids[i]);
		time_t at = here ? st.st_mtime : id_time(ids[i]);
		int too_many = keep > 0 && i + (size_t)keep < n;
		int too_old = max_age_s > 0 && at && now - at > max_age_s;
		if ((too_many || too_old) && (long)i != keep_verified) {
			json_array_append_new(removed, json_pack("{s:s, s:s, s:s}", "id", ids[i], "why",
				too_many ? by_keep : by_age, "where", here && there ? "local+remote"
				: here ? "local" : "remote"));
			if (!dry_run && here)
				rmtree(dir);
			if (!dry_run && there)
				rc = offsite_remove(ctx, ids[i]);
			ctx_log(ctx, "backup %s %s: %s", ids[i], dry_run ? "would be removed"
				: "removed", too_many ? by_keep : by_age);
		}
		free(dir);
	}
	ids_free(ids, n);
	ids_free(remote, nr);
	return rc;
}

char *dbs_backups_prune(dbs_ctx *ctx, int keep, int64_t max_age_s, int dry_run)
{
	json_t *removed = json_array();
	size_t n = 0;
	if (prune(ctx, keep, max_age_s, dry_run, "beyond --keep",
		  "older than --max-age", removed, &n)) {
		json_decref(removed);
		return dbs_error_json("backups prune", &ctx->err);
	}
	return report_dump(json_pack("{s:s, s:o, s:I, s:b}", "command", "backups prune",
				     "removed", removed, "total", (json_int_t)n, "dry_run", dry_run));
}

/* After a backup: the retention of backup_keep and backup_max_age; the
 * backup's document (text, consumed) gains what was removed. */
static char *retain(dbs_ctx *ctx, char *text)
{
	int64_t age = 0;
	if (ctx->opts.backup_max_age)
		parse_age_s(ctx->opts.backup_max_age, &age);
	if (!ctx->opts.backup_keep && !age)
		return text;
	json_t *removed = json_array(), *doc = json_loads(text, 0, NULL);
	size_t n;
	if (prune(ctx, ctx->opts.backup_keep, age, 0, "beyond backup_keep",
		  "older than backup_max_age", removed, &n)) {
		/* the backup is taken: a retention that failed is a warning */
		ctx_warn(ctx, "retention after backup: %s", ctx->err.message);
		dbs_error_clear(&ctx->err);
	}
	json_object_set_new(doc, "pruned", removed);
	free(text);
	return report_dump(doc);
}

char *dbs_backups_list(dbs_ctx *ctx)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	json_t *list = json_array();
	size_t n, nr = 0;
	char **ids = NULL, **remote = NULL;
	json_t *store_err = NULL;
	if (all_ids(ctx, &ids, &n, &remote, &nr)) {
		/* the store is down: the backups here, and the store's error */
		store_err = report_error(&ctx->err);
		dbs_error_clear(&ctx->err);
	}
	for (size_t i = 0; i < n; i++) {
		char *dir = backup_path(ctx, ids[i]), *mpath = xprintf("%s/manifest.json", dir);
		int here = access(mpath, F_OK) == 0, there = has_id(remote, nr, ids[i]);
		json_t *m = NULL;
		if (here) {
			free(dir);
			m = manifest_load(ctx, ids[i], &dir);
		} else {  /* only off the host: its manifest, not the files */
			char *tmp = xprintf("%s/.manifest-%ld.json", bdir, (long)getpid());
			make_dirs(bdir, 0700);
			offsite_manifest(ctx, ids[i], tmp, &m);
			free(tmp);
		}
		dbs_error_clear(&ctx->err);
		free(dir);
		free(mpath);
		if (!m)
			continue;
		int64_t size = 0;
		json_t *files = json_object_get(m, "files");
		for (size_t k = 0; k < json_array_size(files); k++)
			size += json_integer_value(json_object_get(json_array_get(files, k), "size"));
		json_array_append_new(list, json_pack("{s:s, s:O, s:O, s:I, s:O, s:s, s:b}", "id",
			ids[i], "created_at", json_object_get(m, "created_at"), "format",
			json_object_get(m, "format"), "size", (json_int_t)size, "database",
			json_object_get(m, "database"), "where", here && there ? "local+remote"
			: here ? "local" : "remote", "encrypted",
			json_object_get(m, "encryption") != NULL));
		json_decref(m);
	}
	ids_free(ids, n);
	ids_free(remote, nr);
	json_t *doc = json_pack("{s:s, s:s, s:o}", "command", "backups list", "backup_dir", bdir,
				"backups", list);
	if (store_err)
		json_object_set_new(doc, "error", store_err);
	return report_dump(doc);
}

/* The end of a backup or restore as a run (no lock, no history): its
 * alert, and its report in report_dir with its own document (a manifest,
 * a restore's facts) under the command's name; text goes to *report. */
static int as_run(dbs_ctx *ctx, const char *command, int rc, int64_t t0, run *r,
		  char **report, char *text)
{
	json_t *doc = !rc && text ? json_loads(text, 0, NULL) : NULL;
	json_t *st = json_pack("{s:s, s:s, s:I}", "step", command, "status",
			       rc ? "failed" : "succeeded", "duration_ms", (json_int_t)(now_ms() - t0));
	run_add_step(r, st, rc ? &ctx->err : NULL);
	if (doc)
		r->fields = json_pack("{s:o}", command, doc);
	run_end(ctx, r, rc, NULL);
	if (report)
		*report = text;
	else
		free(text);
	return rc;
}

int dbs_backup(dbs_ctx *ctx, const char *format, int jobs, dbs_backup_cb cb, void *cb_data,
	       char **id_out, char **report)
{
	int64_t t0 = now_ms();
	run r;
	char *text = NULL;
	run_open(ctx, &r, "backup");
	int rc = backup_take(ctx, format, jobs, cb, cb_data, id_out, &text);
	return as_run(ctx, "backup", rc, t0, &r, report, text);
}

int dbs_restore(dbs_ctx *ctx, const char *id, const dbs_restore_opts *o, char **report)
{
	int64_t t0 = now_ms();
	run r;
	char *text = NULL;
	run_open(ctx, &r, "restore");
	int rc = restore(ctx, id, o, &text);
	return as_run(ctx, "restore", rc, t0, &r, report, text);
}
