/*
 * lint.c - the lint entry points on a context: files given by name, the
 * pending migrations, and the up steps of a plan (analyze/ does the work).
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* The database lint may ask, when ctx has one, and the project's
 * lock_timeout (dbshift.conf, its environment, --lock-timeout). */
static lint_db *ctx_db(dbs_ctx *ctx, lint_db *db)
{
	db->driver = ctx->conn ? ctx->driver : NULL;
	db->conn = ctx->conn;
	db->lock_timeout_ms = ctx->lock_ms;
	db->exclude = ctx->opts.lint_exclude;
	db->pg_version = ctx->opts.pg_version;
	db->one_plan = 0;
	return db;
}

static const lint_dialect *ctx_dialect(dbs_ctx *ctx)
{
	return lint_dialect_for(ctx->dialect);
}

int dbs_lint_files(dbs_ctx *ctx, const char *const *files, size_t nfiles, dbs_lint **out)
{
	migration *ms = xcalloc(nfiles ? nfiles : 1, sizeof(migration));
	const migration **ptrs = xcalloc(nfiles ? nfiles : 1, sizeof(migration *));
	size_t n = 0;
	int rc = 0;
	for (; n < nfiles && !rc; n++) {
		rc = source_load_file(&ms[n], files[n], &ctx->err);
		ptrs[n] = &ms[n];
	}
	if (rc)
		n--;
	lint_db db;
	if (!rc)  /* files named one by one: each is on the schema as it is */
		rc = lint_run(out, ctx_dialect(ctx), ctx_db(ctx, &db), NULL, 0, ptrs, NULL, n,
			      &ctx->err);
	if (!rc) {
		/* the analysis points into the migrations: keep them with it */
		(*out)->owned = ms;
		(*out)->nowned = n;
		/* a file of one layout holds its down only in dbmate and goose */
		for (size_t i = 0; i < (*out)->n; i++) {
			const migration *m = (*out)->mig[i].m;
			(*out)->mig[i].irreversible = section_is_empty(&m->down) &&
				(!strcmp(m->format, "dbmate") || !strcmp(m->format, "goose"));
		}
	} else {
		for (size_t i = 0; i < n; i++)
			migration_release(&ms[i]);
		free(ms);
	}
	free(ptrs);
	return rc;
}

#define MEMO_MAX 4

/* The analysis of these sections, kept from an earlier plan, or NULL. */
static dbs_lint *memo_find(dbs_ctx *ctx, const section **key, size_t n)
{
	for (size_t i = 0; i < ctx->nmemo; i++)
		if (ctx->memo[i].n == n && !memcmp(ctx->memo[i].key, key, n * sizeof(*key))) {
			ctx->memo[i].lint->shared++;
			return ctx->memo[i].lint;
		}
	return NULL;
}

/* Keep l (one more holder) for the next plan of these sections; the
 * oldest goes when MEMO_MAX are kept. */
static void memo_keep(dbs_ctx *ctx, const section **key, size_t n, dbs_lint *l)
{
	if (ctx->nmemo == MEMO_MAX) {
		dbs_lint_free(ctx->memo[0].lint);
		free(ctx->memo[0].key);
		memmove(ctx->memo, ctx->memo + 1, --ctx->nmemo * sizeof(*ctx->memo));
	}
	ctx->memo = xrealloc(ctx->memo, (ctx->nmemo + 1) * sizeof(*ctx->memo));
	const section **k = xcalloc(n + 1, sizeof(*k));
	memcpy(k, key, n * sizeof(*key));
	l->shared++;
	ctx->memo[ctx->nmemo++] = (lint_memo){ k, n, l };
}

/* Lint the steps of plan that run SQL: the up of a migration, or the
 * down of a rollback (a DROP TABLE there is as red as anywhere).  A plan
 * of the same scripts as one analysed before in this context (doctor,
 * assess and migrate in one release) gets that analysis again: each
 * script is parsed once. */
int ctx_lint_plan(dbs_ctx *ctx, const dbs_plan *plan, dbs_lint **out)
{
	/* Applied migrations are not analysed again: what lint needs of them
	 * (the types of their columns) it asks the database, which knows. */
	const migration **ms = xcalloc(plan->n + 1, sizeof(migration *));
	const section **key = xcalloc(plan->n + 1, sizeof(section *));
	int *down = xcalloc(plan->n + 1, sizeof(int));
	size_t n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const dbs_step *s = &plan->steps[i];
		const migration *m = ((const plan_entry *)(const void *)s->entry)->m;
		if (!m || (s->direction == DBS_DOWN && migration_irreversible(m)))
			continue;  /* an irreversible down runs nothing */
		down[n] = s->direction == DBS_DOWN;
		key[n] = down[n] ? &m->down : &m->up;
		ms[n++] = m;
	}
	lint_db db;
	int rc = 0;
	if (!(*out = memo_find(ctx, key, n))) {
		ctx_db(ctx, &db)->one_plan = 1;
		rc = lint_run(out, ctx_dialect(ctx), &db, NULL, 0, ms, down, n, &ctx->err);
		for (size_t i = 0; !rc && i < (*out)->n; i++) {
			lint_migration *lm = &(*out)->mig[i];
			lm->irreversible = lm->sec == &lm->m->up && migration_irreversible(lm->m);
		}
		if (!rc)
			memo_keep(ctx, key, n, *out);
	}
	free(ms);
	free(key);
	free(down);
	return rc;
}

int dbs_lint_pending(dbs_ctx *ctx, dbs_lint **out)
{
	int rc = ctx_load_state(ctx);
	if (rc)
		return rc;
	dbs_plan plan = { 0 };
	for (size_t i = 0; i < ctx->nentries; i++)
		if (ctx->entries[i].pub.state == DBS_PENDING && ctx->entries[i].m) {
			plan.steps = xrealloc(plan.steps, (plan.n + 1) * sizeof(dbs_step));
			plan.steps[plan.n++] = (dbs_step){ .entry = &ctx->entries[i].pub,
							   .direction = DBS_UP };
		}
	rc = ctx_plan_sql(ctx, &plan);
	if (!rc)
		rc = ctx_lint_plan(ctx, &plan, out);
	free(plan.steps);
	return rc;
}
