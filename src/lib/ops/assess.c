/*
 * assess.c - lint of what migrate would run, plus the live facts that
 * decide whether now is a good time: the size, row estimate and indexes
 * of every table the plan touches, the sessions it would queue behind,
 * and a rough duration for every rewrite, scan and index build.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/*
 * Rough throughputs for the duration estimate, in bytes per second, and
 * rows per second where only a row count is known (SQLite).  They are an
 * order of magnitude for planning, not a promise.
 */
#define SCAN_BPS    (200.0 * 1024 * 1024)
#define REWRITE_BPS (50.0 * 1024 * 1024)
#define INDEX_BPS   (20.0 * 1024 * 1024)
#define SCAN_RPS    2000000.0
#define REWRITE_RPS 500000.0
#define INDEX_RPS   300000.0

typedef struct table_fact {
	char *name;
	int exists, locked;   /* locked: another session held it; facts unknown */
	int64_t bytes, rows;  /* -1 when unknown */
	char *indexes;
} table_fact;

static table_fact *fact_find(table_fact *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

/* Seconds a statement may take on the tables it touches, or 0. */
static double estimate(const stmt_info *s, table_fact *f, size_t n, const char **what)
{
	int index = s->kind && strstr(s->kind, "INDEX") && !strstr(s->kind, "DROP");
	*what = s->rewrites ? "rewrite" : index ? "index build" : s->scans ? "scan" : NULL;
	if (!*what || !s->tables)
		return 0;
	double secs = 0;
	char *copy = xstrdup(s->tables);
	for (char *p = copy, *save = NULL, *tok; (tok = strtok_r(p, ", ", &save)); p = NULL) {
		table_fact *t = fact_find(f, n, tok);
		if (!t || !t->exists)
			continue;
		if (t->bytes >= 0)
			secs += t->bytes / (s->rewrites ? REWRITE_BPS : index ? INDEX_BPS : SCAN_BPS);
		else if (t->rows >= 0)
			secs += t->rows / (s->rewrites ? REWRITE_RPS : index ? INDEX_RPS : SCAN_RPS);
	}
	free(copy);
	return secs;
}

static int64_t num_or(const char *v, int64_t dflt)
{
	return v ? strtoll(v, NULL, 10) : dflt;
}

/* What assess learns of the live database. */
typedef struct facts {
	table_fact *t;
	size_t n;
	db_rows *blockers;
} facts;

static void facts_release(facts *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->t[i].name);
		free(f->t[i].indexes);
	}
	free(f->t);
	db_rows_free(f->blockers);
}

/* Size, rows and indexes of table; a lock timeout means another session
 * holds it (its holder shows among the blockers). */
static int fact_add(dbs_ctx *ctx, facts *f, const char *table)
{
	db_rows *r = NULL;
	int rc = db_table_facts(ctx->driver, ctx->conn, table, &r, &ctx->err);
	int locked = rc && db_is_lock_timeout(ctx->driver, &ctx->err);
	if (locked) {
		dbs_error_clear(&ctx->err);
		rc = 0;
	}
	if (rc)
		return rc;
	f->t = xrealloc(f->t, (f->n + 1) * sizeof(table_fact));
	table_fact *t = &f->t[f->n++];
	int known = !locked && r->nrows == 1;
	t->name = xstrdup(table);
	t->exists = locked || r->nrows == 1;
	t->bytes = known ? num_or(DB_VAL(r, 0, 0), -1) : -1;
	t->rows = known ? num_or(DB_VAL(r, 0, 1), -1) : -1;
	t->indexes = known && DB_VAL(r, 0, 2) ? xstrdup(DB_VAL(r, 0, 2)) : NULL;
	t->locked = locked;
	db_rows_free(r);
	return 0;
}

/* The facts of every table the plan's statements touch, and the sessions
 * in the way; a catalog query never queues behind a lock held on one. */
static int facts_gather(dbs_ctx *ctx, const dbs_lint *l, int min_seconds, facts *f)
{
	const db_driver *d = ctx->driver;
	strbuf touched;
	strbuf_init(&touched);
	int rc = db_set_timeouts(d, ctx->conn, 1000, 0, 0, &ctx->err);
	for (size_t i = 0; l && i < l->n && !rc; i++)
		for (size_t k = 0; k < l->mig[i].ns && !rc; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			char *copy = s->tables ? xstrdup(s->tables) : NULL;
			for (char *p = copy, *save = NULL, *tok;
			     !rc && p && (tok = strtok_r(p, ", ", &save)); p = NULL) {
				if (fact_find(f->t, f->n, tok))
					continue;
				rc = fact_add(ctx, f, tok);
				strbuf_addf(&touched, "%s%s", touched.len ? "," : "", tok);
			}
			free(copy);
		}
	if (!rc)
		rc = db_blockers(d, ctx->conn, min_seconds, touched.buf, &f->blockers, &ctx->err);
	strbuf_release(&touched);
	dbs_error e2 = { 0 };
	db_set_timeouts(d, ctx->conn, 0, 0, 0, &e2);
	dbs_error_clear(&e2);
	return rc;
}

static json_t *tables_json(const facts *f)
{
	json_t *tables = json_array();
	for (size_t i = 0; i < f->n; i++) {
		const table_fact *t = &f->t[i];
		json_t *o = json_pack("{s:s, s:b}", "table", t->name, "exists", t->exists);
		json_object_set_new(o, "bytes", t->bytes >= 0 ? json_integer(t->bytes) : json_null());
		json_object_set_new(o, "rows", t->rows >= 0 ? json_integer(t->rows) : json_null());
		json_object_set_new(o, "indexes", lint_name_list(t->indexes));
		json_object_set_new(o, "locked", json_boolean(t->locked));
		json_array_append_new(tables, o);
	}
	return tables;
}

static json_t *blockers_json(const db_rows *blk)
{
	json_t *blockers = json_array();
	for (size_t i = 0; i < blk->nrows; i++)
		json_array_append_new(blockers, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}",
			"pid", DB_VAL(blk, i, 0), "kind", DB_VAL(blk, i, 1), "age_seconds",
			DB_VAL(blk, i, 2) ? json_integer(num_or(DB_VAL(blk, i, 2), 0)) : json_null(),
			"user", DB_VAL(blk, i, 3) ? DB_VAL(blk, i, 3) : "",
			"detail", DB_VAL(blk, i, 4) ? DB_VAL(blk, i, 4) : "",
			"query", DB_VAL(blk, i, 5) ? DB_VAL(blk, i, 5) : ""));
	return blockers;
}

/* A rough time of each rewrite, scan and index build; *total their sum. */
static json_t *estimates_json(const dbs_lint *l, const facts *f, double *total)
{
	json_t *estimates = json_array();
	*total = 0;
	for (size_t i = 0; l && i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			const char *what;
			double secs = estimate(s, f->t, f->n, &what);
			if (!what)
				continue;
			*total += secs;
			json_array_append_new(estimates, json_pack("{s:s, s:i, s:i, s:s, s:o, s:f}",
				"file", s->file, "line", s->line, "col", s->col, "what", what,
				"tables", lint_name_list(s->tables), "seconds", secs));
		}
	return estimates;
}

int dbs_assess(dbs_ctx *ctx, const dbs_migrate_opts *o, int min_seconds, char **report,
	       int *stop)
{
	dbs_migrate_opts opts = *o;
	opts.force = 1;  /* judge the risk here, do not refuse on it */
	dbs_plan *plan = NULL;
	facts f = { 0 };
	int rc = dbs_plan_migrate(ctx, &opts, &plan);
	const dbs_lint *l = rc ? NULL : plan->lint;
	if (!rc)
		rc = facts_gather(ctx, l, min_seconds, &f);
	if (!rc) {
		double total;
		json_t *estimates = estimates_json(l, &f, &total);
		dbs_level worst = l ? l->worst : DBS_GREEN;
		/* the lint's verdict, raised to at least medium by sessions in the way */
		const char *verdict = risk_band(worst, l ? l->top_score : 0);
		if (f.blockers->nrows && !strcmp(verdict, "low"))
			verdict = "medium";
		*stop = worst == DBS_RED || f.blockers->nrows > 0;
		json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:f, s:s}", "command",
			"assess", "database", dbs_database_display(ctx), "steps",
			report_plan_steps(plan), "tables", tables_json(&f), "blockers",
			blockers_json(f.blockers), "estimates", estimates, "estimated_seconds",
			total, "verdict", verdict);
		if (l)
			json_object_set_new(doc, "risk", report_risk(l));
		*report = report_dump(doc);
	}
	facts_release(&f);
	dbs_plan_free(plan);
	return rc;
}
