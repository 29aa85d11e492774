/*
 * doctor.c - the pre-migration checklist.  Each check passes, warns or
 * fails with a one-line reason and, when not passing, a hint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "analyze/lint.h"
#include "ops/ops.h"

#define PROBE_TIMEOUT_MS   3000
#define MIB                (1024.0 * 1024.0)
/* What pg_dump, pg_restore and dbshift itself hold while a backup or a
 * restore streams: their memory follows the schema's objects, not the
 * rows. */
#define STREAM_NEED        (64 * 1024 * 1024)

static char *tcp_probe(const char *hostport)
{
	return probe_tcp(hostport, PROBE_TIMEOUT_MS);
}

static char *http_probe(const char *url)
{
	return probe_http(url, PROBE_TIMEOUT_MS);
}

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

/* One check per entry of a comma-separated list. */
static void probe_list(checks *c, const char *list, const char *id,
		       char *(*probe)(const char *), const char *hint)
{
	char *copy = xstrdup(list);
	for (char *p = copy, *save = NULL, *tok; (tok = strtok_r(p, ", ", &save)); p = NULL) {
		char *why = probe(tok);
		if (why)
			check(c, id, "fail", hint, "%s: %s", tok, why);
		else
			check(c, id, "pass", NULL, "%s answers", tok);
		free(why);
	}
	free(copy);
}

/* The newest backup's age in seconds, or -1 when there is none. */
static long newest_backup_age(dbs_ctx *ctx)
{
	char *newest = dbs_backup_newest(ctx);
	struct tm tm = { 0 };
	long age = newest && strptime(newest, "%Y%m%dT%H%M%SZ", &tm)
		   ? (long)(time(NULL) - timegm(&tm)) : -1;
	free(newest);
	return age;
}

static void check_connection(dbs_ctx *ctx, checks *c)
{
	const db_driver *d = ctx->driver;
	char *version = NULL, *why = NULL;
	db_server_version(d, ctx->conn, &version, &ctx->err);
	check(c, "connect", "pass", NULL, "connected to %s (%s %s)", ctx->display_url, d->name,
	      version ? version : "?");
	free(version);
	if (db_can_create(d, ctx->conn, &why, &ctx->err) || why)
		check(c, "privileges", "fail", "grant CREATE on the schema to the migrating user",
		      "%s", why ? why : ctx->err.message);
	else
		check(c, "privileges", "pass", NULL, "the user can create tables");
	free(why);
	dbs_error_clear(&ctx->err);
}

static void check_pending(dbs_ctx *ctx, checks *c)
{
	dbs_plan *plan = NULL;
	dbs_migrate_opts o = { .force = 1 };
	if (dbs_plan_migrate(ctx, &o, &plan)) {
		check(c, "pending", "fail", ctx->err.hint, "%s", ctx->err.message);
	} else {
		dbs_level max = DBS_RED, worst = plan->lint ? plan->lint->worst : DBS_GREEN;
		if (ctx->opts.max_risk)
			dbs_level_parse(ctx->opts.max_risk, &max);
		check(c, "pending", worst > max ? "fail" : worst == DBS_RED ? "warn" : "pass",
		      "see 'dbshift lint' and 'dbshift assess'",
		      "%zu pending migration%s, risk %s (worst finding %s; max_risk %s)",
		      plan->n, plan->n == 1 ? "" : "s", plan->lint
		      ? risk_band(plan->lint->worst, plan->lint->top_score) : "low",
		      dbs_level_name(worst), dbs_level_name(max));
	}
	dbs_plan_free(plan);
	dbs_error_clear(&ctx->err);
}

/* Room for a backup where backups go, and the age of the newest one. */
static void check_backup_room(dbs_ctx *ctx, checks *c)
{
	const char *bdir = ctx->opts.backup_dir ? ctx->opts.backup_dir : "backups";
	struct statvfs vfs;
	int64_t size = 0;
	char *probe = xstrdup(bdir);
	while (statvfs(probe, &vfs) != 0 && strchr(probe, '/'))
		*strrchr(probe, '/') = '\0';
	if (statvfs(probe, &vfs) != 0 && statvfs(".", &vfs) != 0) {
		check(c, "disk", "warn", "create backup_dir", "cannot see the free space of '%s'", bdir);
	} else if (!db_database_size(ctx->driver, ctx->conn, &size, &ctx->err)) {
		double free_b = (double)vfs.f_bavail * (double)vfs.f_frsize;
		const char *st = free_b < (double)size ? "fail" : free_b < 2.0 * (double)size ? "warn"
											 : "pass";
		check(c, "disk", st, "free space where backups go, or point backup_dir elsewhere",
		      "%.1f MB free for backups in '%s', the database is %.1f MB", free_b / 1048576.0,
		      bdir, (double)size / 1048576.0);
	}
	free(probe);
	dbs_error_clear(&ctx->err);

	long age = newest_backup_age(ctx);
	int max_age_s = setting_ms(ctx->opts.doctor_backup_age, "doctor_backup_age") / 1000;
	if (age < 0)
		check(c, "backup-age", "warn", "take one with 'dbshift backup'", "no backup in '%s'", bdir);
	else
		check(c, "backup-age", age > max_age_s ? "warn" : "pass",
		      "take a fresh one with 'dbshift backup'", "the newest backup is %ld h %ld min old",
		      age / 3600, age / 60 % 60);
}

/* MemAvailable of /proc/meminfo in bytes, or -1. */
static int64_t memory_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : (int64_t)kb * 1024;
}

/*
 * The memory the run needs.  Here: a backup or restore streams (pg_dump,
 * pg_restore, SQLite's backup API), but an encrypted SQLite backup holds
 * the database in memory while it is sealed.  On the server: an index a
 * pending migration builds sorts in maintenance_work_mem, and one on a
 * table bigger than that spills to disk, slower, its lock held longer.
 */
static void check_memory(dbs_ctx *ctx, checks *c)
{
	int64_t avail = memory_available(), size = 0, need = STREAM_NEED;
	int whole = db_one_writer(ctx->driver) && ctx->opts.backup_encrypt;
	if (whole && !db_database_size(ctx->driver, ctx->conn, &size, &ctx->err))
		need += size;
	dbs_error_clear(&ctx->err);
	if (avail < 0)
		check(c, "memory", "warn", "run doctor where /proc/meminfo can be read",
		      "cannot see the memory available here");
	else
		check(c, "memory", avail < need ? "fail" : avail < 2 * need ? "warn" : "pass",
		      "free memory on this host, or run the backup where there is more",
		      "%.0f MB available here; a backup or restore needs about %.0f MB%s",
		      (double)avail / MIB, (double)need / MIB, whole ? " (an encrypted SQLite "
		      "backup holds the database in memory)" : "");

	int64_t mem = -1;
	if (db_index_build_memory(ctx->driver, ctx->conn, &mem, &ctx->err) || mem < 0) {
		dbs_error_clear(&ctx->err);
		return;
	}
	dbs_plan *plan = NULL;
	dbs_migrate_opts o = { .force = 1 };
	if (dbs_plan_migrate(ctx, &o, &plan) || !plan->lint) {
		dbs_plan_free(plan);
		dbs_error_clear(&ctx->err);
		return;
	}
	const dbs_lint *l = plan->lint;
	int64_t biggest = -1;
	char where[512] = "";
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			db_rows *f = NULL;
			if (!s->kind || strcmp(s->kind, "CREATE INDEX") || !s->tables ||
			    strchr(s->tables, ','))
				continue;
			if (!db_table_facts(ctx->driver, ctx->conn, s->tables, &f, &ctx->err) &&
			    f->nrows == 1 && DB_VAL(f, 0, 0)) {
				int64_t b = strtoll(DB_VAL(f, 0, 0), NULL, 10);
				if (b > biggest) {
					biggest = b;
					snprintf(where, sizeof(where), "%s (%s:%d)", s->tables, s->file,
						 s->line);
				}
			}
			db_rows_free(f);
			dbs_error_clear(&ctx->err);
		}
	dbs_plan_free(plan);
	if (biggest < 0)
		check(c, "index-memory", "pass", NULL, "no pending migration builds an index on a "
		      "table that has rows");
	else
		check(c, "index-memory", biggest > mem ? "warn" : "pass",
		      "raise maintenance_work_mem for that migration (SET maintenance_work_mem = ... "
		      "before the CREATE INDEX), or accept a slower build",
		      "the biggest table a pending migration indexes is %s, %.1f MB; "
		      "maintenance_work_mem is %.1f MB%s", where, (double)biggest / MIB,
		      (double)mem / MIB, biggest > mem ? ": the build sorts on disk" : "");
}

/* Sessions a migration would queue behind, by kind. */
static void check_sessions(dbs_ctx *ctx, checks *c)
{
	db_rows *blk = NULL;
	int long_s = setting_ms(ctx->opts.doctor_long_query, "doctor_long_query") / 1000;
	char long_what[64];
	snprintf(long_what, sizeof(long_what), "queries running longer than %d s", long_s);
	const struct { const char *kind, *id, *what; } kinds[] = {
		{ "long query", "long-queries", long_what },
		{ "waiting for a lock", "locks", "sessions waiting for locks" },
		{ "idle in transaction", "idle-in-transaction", "sessions idle in a transaction" },
	};
	if (db_blockers(ctx->driver, ctx->conn, long_s, NULL, &blk, &ctx->err)) {
		db_rows_free(blk);
		blk = NULL;
	}
	for (size_t k = 0; blk && k < 3; k++) {
		strbuf sb;
		strbuf_init(&sb);
		size_t n = 0;
		for (size_t i = 0; i < blk->nrows; i++)
			if (!strcmp(DB_VAL(blk, i, 1), kinds[k].kind))
				strbuf_addf(&sb, "%spid %s (%s s)", n++ ? ", " : "", DB_VAL(blk, i, 0),
					    DB_VAL(blk, i, 2) ? DB_VAL(blk, i, 2) : "?");
		if (n)
			check(c, kinds[k].id, "warn", "a migration would queue behind them: "
			      "wait, or end them (pg_terminate_backend)", "%zu %s: %s", n,
			      kinds[k].what, sb.buf);
		else
			check(c, kinds[k].id, "pass", NULL, "no %s", kinds[k].what);
		strbuf_release(&sb);
	}
	db_rows_free(blk);
	dbs_error_clear(&ctx->err);

	int64_t lag = 0;
	if (!ctx_replica_lag_ms(ctx, &lag))
		check(c, "replication-lag", lag > setting_ms(ctx->opts.doctor_max_lag, "doctor_max_lag")
		      ? "warn" : "pass",
		      "wait for the replicas to catch up", "replica lag %lld ms", (long long)lag);
	else if (ctx->opts.replica_url)
		check(c, "replication-lag", "fail", "check replica_url: the replica must accept "
		      "connections", "cannot measure the replica's lag: %s", ctx->err.message);
	dbs_error_clear(&ctx->err);
}

int dbs_doctor(dbs_ctx *ctx, char **report, int *failed)
{
	checks c = { json_array(), 0, 0 };
	check_connection(ctx, &c);
	check_pending(ctx, &c);
	check_backup_room(ctx, &c);
	check_memory(ctx, &c);
	check_sessions(ctx, &c);
	if (ctx->opts.check_tcp)
		probe_list(&c, ctx->opts.check_tcp, "tcp", tcp_probe,
			   "check that the service is up and reachable from here");
	if (ctx->opts.check_http)
		probe_list(&c, ctx->opts.check_http, "http", http_probe,
			   "check the health endpoint of that service");
	*failed = c.fails;
	int total = (int)json_array_size(c.list);
	*report = report_dump(json_pack("{s:s, s:s, s:o, s:i, s:i, s:{s:i, s:i, s:i, s:i}}",
					"command", "doctor", "database", ctx->display_url,
					"checks", c.list, "failed", c.fails, "warnings", c.warns,
					"summary", "total", total, "passed",
					total - c.fails - c.warns, "warned", c.warns, "failed",
					c.fails));
	return 0;
}
