/* cmd_rollback.c - dbshift rollback [TARGET | [APP] --steps N]: undo migrations. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int dry_run, allow_drift, allow_irreversible, backup, force, yes;
static const char *steps, *from_backup, *files_to;

const cli_option rollback_options[] = {
	{ "--steps", NULL, &steps, "how many to undo", "N" },
	{ "--dry-run", &dry_run, NULL, "print the plan; change nothing", NULL },
	{ "--allow-drift", &allow_drift, NULL, "run even if applied files changed", NULL },
	{ "--allow-irreversible", &allow_irreversible, NULL,
	  "forget migrations whose down holds no statement, undoing nothing", NULL },
	{ "--from-backup", NULL, &from_backup, "restore a backup instead", "ID" },
	{ "--files-to", NULL, &files_to, "--from-backup: the files kept with it under this directory",
	  "DIR" },
	{ "--yes", &yes, NULL, "--from-backup: replace the database without asking", NULL },
	{ "--backup", &backup, NULL, "back up before running", NULL },
	{ "--force", &force, NULL, "run above the environment's max_risk", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

/* Restore the backup taken before a run; the restore compares row counts. */
static int rollback_from_backup(cli *g, dbs_ctx *ctx, const char *id)
{
	int rc = 0;
	char *report = NULL;
	dbs_restore_opts ro = { NULL, files_to };
	if (dbs_restore(ctx, id, &ro, &report)) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else if (g->json) {
		json_emit(g, report);
	} else {
		printf("rolled back to backup %s; row counts match the backup\n", id);
	}
	free(report);
	return rc;
}

static dbs_migrate_opts o;

int check_rollback(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "rollback takes at most one TARGET");
	if (from_backup && (g->nargs || steps || backup || force))
		return usage_error(g, "--from-backup takes no TARGET, --steps, --backup or --force");
	if (files_to && !from_backup)
		return usage_error(g, "--files-to goes with --from-backup");
	if (yes && !from_backup)
		return usage_error(g, "--yes goes with --from-backup");
	if (from_backup)  /* it replaces the database: asked, as restore is */
		return confirm_needed(g, "rollback --from-backup", yes);
	o = (dbs_migrate_opts){ .target = g->nargs ? g->args[0] : NULL,
				.allow_drift = allow_drift,
				.allow_irreversible = allow_irreversible,
				.backup = backup, .force = force };
	int rc = parse_count(g, "--steps", steps, &o.steps);
	if (rc)
		return rc;
	if (o.steps && o.target && (strchr(o.target, ':') ||
				    strspn(o.target, "0123456789.") == strlen(o.target)))
		return usage_error(g, "give either TARGET or [APP] --steps N, not both");
	ask_framework_plan(g, "rollback", &o);
	g->opts.framework_sql_way = "down";  /* (see check_migrate) */
	g->opts.framework_serve = !dry_run;
	return 0;
}

int cmd_rollback(cli *g, dbs_ctx *ctx)
{
	int rc;
	if (from_backup && !yes && !confirm_restore(ctx, from_backup, NULL))
		return 1;
	if (from_backup)
		return rollback_from_backup(g, ctx, from_backup);
	if (dry_run) {
		dbs_plan *plan = NULL;
		rc = dbs_plan_rollback(ctx, &o, &plan);
		rc = show_plan(g, ctx, "rollback --dry-run", rc, plan);
		dbs_plan_free(plan);
	} else {
		char *report = NULL;
		rc = dbs_rollback(ctx, &o, print_step, g, &report);
		rc = finish_run(g, ctx, rc, report, "roll back");
	}
	return rc;
}
