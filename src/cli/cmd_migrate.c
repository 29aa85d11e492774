/* cmd_migrate.c - dbshift migrate [TARGET]: apply pending migrations. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int dry_run, allow_drift, allow_ooo, backup, force;
static const char *phase, *lock_timeout;

const cli_option migrate_options[] = {
	{ "--dry-run", &dry_run, NULL, "print the plan; change nothing", NULL },
	{ "--allow-drift", &allow_drift, NULL, "run even if applied files changed", NULL },
	{ "--allow-out-of-order", &allow_ooo, NULL, "apply migrations older than the newest applied",
	  NULL },
	{ "--phase", NULL, &phase, "expand or contract", "PHASE" },
	{ "--backup", &backup, NULL, "back up before running", NULL },
	{ "--force", &force, NULL, "run above the environment's max_risk", NULL },
	{ "--lock-timeout", NULL, &lock_timeout, "lock_timeout per statement (2s; a bare number is ms)",
	  "DURATION" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static dbs_migrate_opts o;

int check_migrate(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "migrate takes at most one TARGET");
	if (phase && strcmp(phase, "expand") && strcmp(phase, "contract"))
		return usage_error(g, "bad --phase '%s': use expand or contract", phase);
	if (lock_timeout) {
		int ms = 0;
		int rc = parse_duration_opt(g, "--lock-timeout", lock_timeout, 1, "milliseconds",
					    &ms);
		if (rc)
			return rc;
		free(g->opts.lock_timeout);
		g->opts.lock_timeout = malloc(32);
		snprintf(g->opts.lock_timeout, 32, "%dms", ms);
	}
	o = (dbs_migrate_opts){ .target = g->nargs ? g->args[0] : NULL,
				.allow_drift = allow_drift, .allow_out_of_order = allow_ooo,
				.force = force, .phase = phase, .backup = backup };
	if (o.target && !phase)  /* a framework's plan to it, read with the rest */
		ask_framework_plan(g, "migrate", &o);
	/* a framework: its up SQL only, and the start that reads the project
	 * runs its migrate */
	g->opts.framework_sql_way = "up";
	g->opts.framework_serve = !dry_run;
	return 0;
}

int cmd_migrate(cli *g, dbs_ctx *ctx)
{
	int rc;
	if (dry_run) {
		dbs_plan *plan = NULL;
		rc = dbs_plan_migrate(ctx, &o, &plan);
		rc = show_plan(g, ctx, "migrate --dry-run", rc, plan);
		dbs_plan_free(plan);
	} else {
		char *report = NULL;
		rc = dbs_migrate(ctx, &o, print_step, g, &report);
		rc = finish_run(g, ctx, rc, report, "migrate");
	}
	return rc;
}
