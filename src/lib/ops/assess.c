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

int dbs_assess(dbs_ctx *ctx, const dbs_migrate_opts *o, int min_seconds, char **report,
	       int *stop)
{
	dbs_migrate_opts opts = *o;
	opts.force = 1;  /* judge the risk here, do not refuse on it */
	dbs_plan *plan = NULL;
	int rc = dbs_plan_migrate(ctx, &opts, &plan);
	if (rc) {
		dbs_plan_free(plan);
		return rc;
	}
	const db_driver *d = ctx->driver;

	/* the tables the plan touches, existing ones first asked about; a
	 * catalog query never queues behind a lock held on one of them */
	table_fact *facts = NULL;
	size_t nf = 0;
	strbuf touched;
	strbuf_init(&touched);
	rc = db_set_timeouts(d, ctx->conn, 1000, 0, 0, &ctx->err);
	const dbs_lint *l = plan->lint;
	for (size_t i = 0; l && i < l->n && !rc; i++)
		for (size_t k = 0; k < l->mig[i].ns && !rc; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			if (!s->tables)
				continue;
			char *copy = xstrdup(s->tables);
			for (char *p = copy, *save = NULL, *tok; !rc && (tok = strtok_r(p, ", ", &save)); p = NULL) {
				if (fact_find(facts, nf, tok))
					continue;
				db_rows *r = NULL;
				rc = db_table_facts(d, ctx->conn, tok, &r, &ctx->err);
				int locked = rc && db_is_lock_timeout(d, &ctx->err);
				if (locked) {  /* its holder shows among the blockers */
					dbs_error_clear(&ctx->err);
					rc = 0;
				}
				if (rc)
					break;
				facts = xrealloc(facts, (nf + 1) * sizeof(table_fact));
				table_fact *t = &facts[nf++];
				t->name = xstrdup(tok);
				t->exists = locked || r->nrows == 1;
				t->bytes = t->exists && !locked ? num_or(DB_VAL(r, 0, 0), -1) : -1;
				t->rows = t->exists && !locked ? num_or(DB_VAL(r, 0, 1), -1) : -1;
				t->indexes = t->exists && !locked && DB_VAL(r, 0, 2) ? xstrdup(DB_VAL(r, 0, 2))
										    : NULL;
				t->locked = locked;
				strbuf_addf(&touched, "%s%s", touched.len ? "," : "", tok);
				db_rows_free(r);
			}
			free(copy);
		}
	db_rows *blk = NULL;
	if (!rc)
		rc = db_blockers(d, ctx->conn, min_seconds, touched.buf, &blk, &ctx->err);
	strbuf_release(&touched);
	dbs_error e2 = { 0 };
	db_set_timeouts(d, ctx->conn, 0, 0, 0, &e2);
	dbs_error_clear(&e2);
	if (rc)
		goto out;

	json_t *tables = json_array(), *blockers = json_array(), *estimates = json_array();
	for (size_t i = 0; i < nf; i++) {
		json_t *t = json_pack("{s:s, s:b}", "table", facts[i].name, "exists", facts[i].exists);
		json_object_set_new(t, "bytes", facts[i].bytes >= 0 ? json_integer(facts[i].bytes) : json_null());
		json_object_set_new(t, "rows", facts[i].rows >= 0 ? json_integer(facts[i].rows) : json_null());
		json_object_set_new(t, "indexes", facts[i].indexes ? json_string(facts[i].indexes) : json_null());
		json_object_set_new(t, "locked", json_boolean(facts[i].locked));
		json_array_append_new(tables, t);
	}
	for (size_t i = 0; i < blk->nrows; i++)
		json_array_append_new(blockers, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}",
			"pid", DB_VAL(blk, i, 0), "kind", DB_VAL(blk, i, 1), "age_seconds",
			DB_VAL(blk, i, 2) ? json_integer(num_or(DB_VAL(blk, i, 2), 0)) : json_null(),
			"user", DB_VAL(blk, i, 3) ? DB_VAL(blk, i, 3) : "",
			"detail", DB_VAL(blk, i, 4) ? DB_VAL(blk, i, 4) : "",
			"query", DB_VAL(blk, i, 5) ? DB_VAL(blk, i, 5) : ""));
	double total = 0;
	for (size_t i = 0; l && i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			const char *what;
			double secs = estimate(s, facts, nf, &what);
			if (!what)
				continue;
			total += secs;
			json_array_append_new(estimates, json_pack("{s:s, s:i, s:i, s:s, s:s?, s:f}",
				"file", s->file, "line", s->line, "col", s->col, "what", what,
				"tables", s->tables, "seconds", secs));
		}
	dbs_level worst = l ? l->worst : DBS_GREEN;
	/* the lint's verdict, raised to at least medium by sessions in the way */
	const char *verdict = risk_band(worst, l ? l->top_score : 0);
	if (blk->nrows && !strcmp(verdict, "low"))
		verdict = "medium";
	*stop = worst == DBS_RED || blk->nrows > 0;

	json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:f, s:s}", "command", "assess",
		"database", dbs_database_display(ctx), "steps", report_plan_steps(plan),
		"tables", tables, "blockers", blockers, "estimates", estimates,
		"estimated_seconds", total, "verdict", verdict);
	if (l)
		json_object_set_new(doc, "risk", report_risk(l));
	*report = report_dump(doc);
out:
	db_rows_free(blk);
	for (size_t i = 0; i < nf; i++) {
		free(facts[i].name);
		free(facts[i].indexes);
	}
	free(facts);
	dbs_plan_free(plan);
	return rc;
}
