/* cmd_plan.c - dbshift plan: what migrate or rollback would run. */
#include <stdlib.h>

#include "cli.h"

static int rollback, allow_drift, allow_ooo, allow_irreversible;
static const char *steps;

const cli_option plan_options[] = {
	{ "--rollback", &rollback, NULL, "plan a rollback instead of a migrate", NULL },
	{ "--steps", NULL, &steps, "with --rollback: how many to undo", "N" },
	{ "--allow-drift", &allow_drift, NULL, "plan as migrate --allow-drift would", NULL },
	{ "--allow-out-of-order", &allow_ooo, NULL, "plan as migrate --allow-out-of-order would",
	  NULL },
	{ "--allow-irreversible", &allow_irreversible, NULL,
	  "with --rollback: plan as rollback --allow-irreversible would", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

static dbs_migrate_opts o;

int check_plan(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "plan takes at most one TARGET");
	o = (dbs_migrate_opts){ .target = g->nargs ? g->args[0] : NULL,
				.allow_drift = allow_drift, .allow_out_of_order = allow_ooo,
				.allow_irreversible = allow_irreversible };
	int rc = parse_count(g, "--steps", steps, &o.steps);
	if (rc)
		return rc;
	if (o.steps && !rollback)
		return usage_error(g, "--steps goes with --rollback");
	if (rollback || o.target)
		ask_framework_plan(g, rollback ? "rollback" : "migrate", &o);
	g->opts.framework_sql_way = rollback ? "down" : "up";
	return 0;
}

int cmd_plan(cli *g, dbs_ctx *ctx)
{
	dbs_plan *plan = NULL;
	int rc = rollback ? dbs_plan_rollback(ctx, &o, &plan) : dbs_plan_migrate(ctx, &o, &plan);
	rc = show_plan(g, ctx, "plan", rc, plan);
	dbs_plan_free(plan);
	return rc;
}
