/*
 * doctor.c - the pre-migration checklist.  Each check passes, warns or
 * fails with a one-line reason and, when not passing, a hint.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "lint.h"
#include "report.h"

/* Thresholds (fixed for now): see the README. */
#define BACKUP_MAX_AGE_S   (24 * 3600)
#define LONG_QUERY_S       60
#define LAG_WARN_MS        10000

typedef struct checks {
	json_t *list;
	int fails, warns;
} checks;

static void check(checks *c, const char *id, const char *status, const char *hint,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check(checks *c, const char *id, const char *status, const char *hint,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:s, s:s, s:s}", "check", id, "status", status, "message", msg);
	if (hint && strcmp(status, "pass"))
		json_object_set_new(o, "hint", json_string(hint));
	json_array_append_new(c->list, o);
	c->fails += !strcmp(status, "fail");
	c->warns += !strcmp(status, "warn");
}

/* The newest backup's age in seconds, or -1 when there is none. */
static long newest_backup_age(const dbs_ctx *ctx)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	DIR *d = opendir(bdir);
	struct dirent *de;
	char newest[64] = "";
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, newest) > 0 &&
		    strlen(de->d_name) < sizeof(newest))
			strcpy(newest, de->d_name);
	if (d)
		closedir(d);
	struct tm tm = { 0 };
	if (!*newest || !strptime(newest, "%Y%m%dT%H%M%SZ", &tm))
		return -1;
	return (long)(time(NULL) - timegm(&tm));
}

int dbs_doctor(dbs_ctx *ctx, int json, char **out, int *failed)
{
	const db_driver *d = ctx->driver;
	checks c = { json_array(), 0, 0 };
	char *version = NULL, *why = NULL;
	int64_t size = 0;

	d->server_version(ctx->conn, &version, &ctx->err);
	check(&c, "connect", "pass", NULL, "connected to %s (%s %s)", ctx->display_url, d->name,
	      version ? version : "?");
	free(version);

	if (d->can_create(ctx->conn, &why, &ctx->err) || why)
		check(&c, "privileges", "fail", "grant CREATE on the schema to the migrating user",
		      "%s", why ? why : ctx->err.message);
	else
		check(&c, "privileges", "pass", NULL, "the user can create tables");
	free(why);

	dbs_plan *plan = NULL;
	dbs_migrate_opts o = { .force = 1 };
	int rc = dbs_plan_migrate(ctx, &o, &plan);
	if (rc) {
		check(&c, "pending", "fail", ctx->err.hint, "%s", ctx->err.message);
	} else {
		dbs_level max = DBS_RED, worst = plan->lint ? plan->lint->worst : DBS_GREEN;
		if (ctx->opts.max_risk)
			dbs_level_parse(ctx->opts.max_risk, &max);
		check(&c, "pending", worst > max ? "fail" : worst == DBS_RED ? "warn" : "pass",
		      "see 'dbshift lint' and 'dbshift assess'",
		      "%zu pending migration%s, risk %s (max_risk %s)", plan->n,
		      plan->n == 1 ? "" : "s", dbs_level_name(worst), dbs_level_name(max));
	}
	dbs_plan_free(plan);
	dbs_error_clear(&ctx->err);

	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	struct statvfs vfs;
	char *probe = xstrdup(bdir);
	while (statvfs(probe, &vfs) != 0 && strchr(probe, '/'))
		*strrchr(probe, '/') = '\0';
	if (statvfs(probe, &vfs) != 0 && statvfs(".", &vfs) != 0) {
		check(&c, "disk", "warn", "create backup_dir", "cannot see the free space of '%s'", bdir);
	} else if (!d->database_size(ctx->conn, &size, &ctx->err)) {
		double free_b = (double)vfs.f_bavail * (double)vfs.f_frsize;
		const char *st = free_b < (double)size ? "fail" : free_b < 2.0 * (double)size ? "warn"
											 : "pass";
		check(&c, "disk", st, "free space where backups go, or point backup_dir elsewhere",
		      "%.1f MB free for backups in '%s', the database is %.1f MB", free_b / 1048576.0,
		      bdir, (double)size / 1048576.0);
	}
	free(probe);
	dbs_error_clear(&ctx->err);

	long age = newest_backup_age(ctx);
	if (age < 0)
		check(&c, "backup-age", "warn", "take one with 'dbshift backup'", "no backup in '%s'", bdir);
	else
		check(&c, "backup-age", age > BACKUP_MAX_AGE_S ? "warn" : "pass",
		      "take a fresh one with 'dbshift backup'", "the newest backup is %ld h %ld min old",
		      age / 3600, age / 60 % 60);

	db_rows *blk = NULL;
	if (!d->blockers(ctx->conn, LONG_QUERY_S, &blk, &ctx->err)) {
		static const struct { const char *kind, *id, *what; } kinds[] = {
			{ "long query", "long-queries", "queries running longer than 60 s" },
			{ "waiting for a lock", "locks", "sessions waiting for locks" },
			{ "idle in transaction", "idle-in-transaction", "sessions idle in a transaction" },
		};
		for (size_t k = 0; k < 3; k++) {
			strbuf sb;
			strbuf_init(&sb);
			size_t n = 0;
			for (size_t i = 0; i < blk->nrows; i++)
				if (!strcmp(DB_VAL(blk, i, 1), kinds[k].kind))
					strbuf_addf(&sb, "%spid %s (%s s)", n++ ? ", " : "", DB_VAL(blk, i, 0),
						    DB_VAL(blk, i, 2) ? DB_VAL(blk, i, 2) : "?");
			if (n)
				check(&c, kinds[k].id, "warn", "a migration would queue behind them: "
				      "wait, or end them (pg_terminate_backend)", "%zu %s: %s", n,
				      kinds[k].what, sb.buf);
			else
				check(&c, kinds[k].id, "pass", NULL, "no %s", kinds[k].what);
			strbuf_release(&sb);
		}
	}
	db_rows_free(blk);
	dbs_error_clear(&ctx->err);

	int64_t lag = 0;
	if (!d->replica_lag_ms(ctx->conn, &lag, &ctx->err))
		check(&c, "replication-lag", lag > LAG_WARN_MS ? "warn" : "pass",
		      "wait for the replicas to catch up", "replica lag %lld ms", (long long)lag);
	dbs_error_clear(&ctx->err);

	*failed = c.fails;
	if (json) {
		*out = report_dump(json_pack("{s:s, s:s, s:o, s:i, s:i}", "command", "doctor",
					     "database", ctx->display_url, "checks", c.list,
					     "failed", c.fails, "warnings", c.warns));
		return 0;
	}
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < json_array_size(c.list); i++) {
		json_t *o = json_array_get(c.list, i);
		const char *st = json_string_value(json_object_get(o, "status"));
		const char *hint = json_string_value(json_object_get(o, "hint"));
		strbuf_addf(&sb, "%-4s  %-20s %s\n", !strcmp(st, "pass") ? "pass" : !strcmp(st, "warn")
			    ? "WARN" : "FAIL", json_string_value(json_object_get(o, "check")),
			    json_string_value(json_object_get(o, "message")));
		if (hint)
			strbuf_addf(&sb, "      %-20s hint: %s\n", "", hint);
	}
	strbuf_addf(&sb, "doctor: %d failed, %d warnings\n", c.fails, c.warns);
	json_decref(c.list);
	*out = strbuf_detach(&sb);
	return 0;
}
