/*
 * adopt.c - take over the history the tool used before kept in the
 * database (plan/history.c reads it): dbmate's or golang-migrate's
 * schema_migrations, goose's goose_db_version, Flyway's
 * flyway_schema_history, Diesel's __diesel_schema_migrations, sqlx's
 * _sqlx_migrations, Prisma's _prisma_migrations, Drizzle's
 * __drizzle_migrations.  A dry run
 * says what would be recorded; otherwise the rows go into
 * dbshift_migrations in one transaction, under the migrator lock, as one
 * run.  The other tool's table is left as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* The migrations of the top level (the other tools know no apps). */
static const migration *file_of(const dbs_ctx *ctx, const char *version)
{
	for (size_t i = 0; i < ctx->src.n; i++)
		if (!*ctx->src.m[i].app && !dbs_version_cmp(ctx->src.m[i].version, version))
			return &ctx->src.m[i];
	return NULL;
}

/* The other tool's rows as dbshift's: the file's version, name and
 * checksum (Flyway's kept as theirs), its time or now, its user or ours. */
static void as_ours(const dbs_ctx *ctx, const foreign_history *f, history_row *h)
{
	const migration *m = file_of(ctx, h->version);
	char now[32];
	utc_now(now);
	if (m) {
		free(h->version);
		h->version = xstrdup(m->version);
	}
	h->app = xstrdup("");
	h->name = xstrdup(m ? m->name : "");
	if (!h->checksum)
		h->checksum = xstrdup(m ? m->checksum : "");
	if (!h->applied_at)
		h->applied_at = xstrdup(now);
	if (!h->applied_by)  /* the other tool did not say who */
		h->applied_by = xstrdup(f->tool);
	h->message = xprintf("adopted from %s (%s)", f->tool, f->table);
}

static json_t *row_json(const dbs_ctx *ctx, const history_row *h)
{
	const migration *m = file_of(ctx, h->version);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "version", h->version, "name", h->name,
			      "status", h->status, "applied_at", h->applied_at);
	json_object_set_new(o, "file", m ? json_string(m->path) : json_null());
	json_object_set_new(o, "duration_ms", h->duration_ms >= 0 ? json_integer(h->duration_ms)
								   : json_null());
	json_object_set_new(o, "applied_by", json_string(h->applied_by));
	static const char *const kept[] = { "flyway", "sqlx", "prisma" };
	const char *whose = m ? "dbshift" : "none";
	for (size_t i = 0; i < sizeof(kept) / sizeof(*kept); i++)
		if (starts_with(h->checksum, kept[i]) && h->checksum[strlen(kept[i])] == ':')
			whose = kept[i];
	json_object_set_new(o, "checksum", json_string(whose));
	return o;
}

static int read_foreign(dbs_ctx *ctx, foreign_history *f, history_row **rows, size_t *n)
{
	int rc = foreign_find(ctx->driver, ctx->conn, f, &ctx->err);
	if (!rc && !f->tool) {
		rc = dbs_fail(&ctx->err, DBS_EINPUT, "no other tool's history here: none of "
			      "schema_migrations, goose_db_version, flyway_schema_history, "
			      "__diesel_schema_migrations, _sqlx_migrations, _prisma_migrations or "
			      "__drizzle_migrations is in %s",
			      ctx->display_url);
		dbs_error_set_hint(&ctx->err, "to mark migrations as applied without running "
				   "them, use 'dbshift baseline VERSION'");
	}
	const char **vers = xcalloc(ctx->src.n + 1, sizeof(*vers));
	const char **sums = xcalloc(ctx->src.n + 1, sizeof(*sums));
	size_t nv = 0;
	for (size_t i = 0; i < ctx->src.n; i++)
		if (!*ctx->src.m[i].app) {
			sums[nv] = ctx->src.m[i].checksum;
			vers[nv++] = ctx->src.m[i].version;
		}
	if (!rc)
		rc = foreign_read(ctx->driver, ctx->conn, f, vers, sums, nv, rows, n, &ctx->err);
	free(sums);
	free(vers);
	for (size_t i = 0; !rc && i < *n; i++)
		as_ours(ctx, f, &(*rows)[i]);
	return rc;
}

/* dbshift's history must be empty: adopt starts it. */
static int fresh(dbs_ctx *ctx)
{
	if (!ctx->nrows)
		return 0;
	dbs_fail(&ctx->err, DBS_EINPUT, "dbshift's history already has %zu row%s: adopt only "
		 "starts one", ctx->nrows, ctx->nrows == 1 ? "" : "s");
	dbs_error_set_hint(&ctx->err, "'dbshift status' shows what it holds");
	return DBS_EINPUT;
}

/* The rows written in one transaction: committed, or rolled back on rc. */
static int end_tx(dbs_ctx *ctx, const run *r, int rc)
{
	if (!rc)
		return db_query(ctx->driver, ctx->conn, "COMMIT", 0, NULL, NULL, &ctx->err);
	if (r->locked) {
		dbs_error e = { 0 };
		db_query(ctx->driver, ctx->conn, "ROLLBACK", 0, NULL, NULL, &e);
		dbs_error_clear(&e);
	}
	return rc;
}

/* One adopted migration as a step of the run (skipped when rc failed it). */
static void adopt_step(run *r, const char *app, const char *version, const char *name, int rc)
{
	run_add_step(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "app", app, "version",
				  version, "name", name, "action", "adopt", "status",
				  rc ? "skipped" : "succeeded", "duration_ms", 0, "attempts", 1),
		     NULL);
}

/*
 * A framework's project (Django): its record stays the framework's; what
 * adopt takes is the SHA-256 of each applied migration's file as it is
 * now, into dbshift_migrations, so that an applied file edited from now
 * on is drifted (dbshift records it itself for what it applies).  Those
 * already kept are left as they are.
 */
static int adopt_framework(dbs_ctx *ctx, int apply, char **report)
{
	int rc = ctx_load_state(ctx);
	if (rc) {
		*report = run_less_report(ctx, "adopt");
		return rc;
	}
	const migration **take = xcalloc(ctx->nentries + 1, sizeof(*take));
	size_t n = 0;
	json_t *list = json_array();
	for (size_t i = 0; i < ctx->nentries; i++) {
		const plan_entry *pe = &ctx->entries[i];
		if (pe->pub.state != DBS_APPLIED || !pe->m || !*pe->m->checksum ||
		    (pe->row && pe->row->checksum && *pe->row->checksum))
			continue;
		take[n++] = pe->m;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "app",
			pe->m->app, "version", pe->m->version, "name", pe->m->name, "status",
			"applied", "applied_at", pe->row && pe->row->applied_at ? pe->row->applied_at
			: "", "file", pe->m->path, "checksum", pe->m->checksum));
	}
	if (!apply) {
		*report = report_dump(json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:{s:I, s:I, "
			"s:I, s:I}}", "command", "adopt", "database", ctx->display_url, "tool",
			ctx->fwo->name, "table", "django_migrations", "framework", 1, "dry_run", 1,
			"migrations", list, "summary", "total", (json_int_t)n, "applied",
			(json_int_t)n, "failed", (json_int_t)0, "without_file", (json_int_t)0));
		free(take);
		return 0;
	}
	run r;
	rc = run_begin(ctx, &r, "adopt");
	r.fields = json_pack("{s:s, s:s, s:b, s:b, s:o}", "tool", ctx->fwo->name, "table",
			     "django_migrations", "framework", 1, "dry_run", 0, "migrations", list);
	if (!rc)
		rc = db_query(ctx->driver, ctx->conn, "BEGIN", 0, NULL, NULL, &ctx->err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = state_record(ctx->driver, ctx->conn, take[i], "applied", 0,
				  "adopted: the file as it was then", 0, &ctx->err);
	rc = end_tx(ctx, &r, rc);
	for (size_t i = 0; r.locked && i < n; i++)
		adopt_step(&r, take[i]->app, take[i]->version, take[i]->name, rc);
	free(take);
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);
	return rc;
}

int dbs_adopt(dbs_ctx *ctx, int apply, char **report)
{
	foreign_history f = { 0 };
	if (ctx->fw)
		return adopt_framework(ctx, apply, report);
	history_row *rows = NULL;
	size_t n = 0;
	*report = NULL;
	int rc = ctx_files_only(ctx, "adopt");
	if (!rc)
		rc = ctx_load_state(ctx);
	if (!rc)
		rc = fresh(ctx);
	if (!rc)
		rc = read_foreign(ctx, &f, &rows, &n);
	if (rc) {
		*report = run_less_report(ctx, "adopt");
		return rc;
	}
	json_t *list = json_array();
	size_t failed = 0, nofile = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list, row_json(ctx, &rows[i]));
		failed += !strcmp(rows[i].status, "failed");
		nofile += !file_of(ctx, rows[i].version);
	}
	json_t *summary = json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)n, "applied",
				    (json_int_t)(n - failed), "failed", (json_int_t)failed,
				    "without_file", (json_int_t)nofile);
	if (!apply) {
		*report = report_dump(json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "command",
			"adopt", "database", ctx->display_url, "tool", f.tool, "table", f.table,
			"dry_run", 1, "migrations", list, "summary", summary));
		history_rows_free(rows, n);
		return 0;
	}
	json_decref(summary);
	run r;
	rc = run_begin(ctx, &r, "adopt");
	r.fields = json_pack("{s:s, s:s, s:b, s:o}", "tool", f.tool, "table", f.table, "dry_run",
			     0, "migrations", list);
	if (!rc)
		rc = fresh(ctx);  /* again, under the lock */
	if (!rc)
		rc = db_query(ctx->driver, ctx->conn, "BEGIN", 0, NULL, NULL, &ctx->err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = state_insert(ctx->driver, ctx->conn, &rows[i], &ctx->err);
	rc = end_tx(ctx, &r, rc);
	for (size_t i = 0; r.locked && i < n; i++)
		adopt_step(&r, "", rows[i].version, rows[i].name, rc);
	history_rows_free(rows, n);
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);
	return rc;
}
