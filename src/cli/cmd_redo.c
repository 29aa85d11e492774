/* cmd_redo.c - dbshift redo: roll back the last migration and apply it again. */
#include <stdlib.h>

#include "cli.h"

static int allow_drift, allow_irreversible, backup, force;

const cli_option redo_options[] = {
	{ "--allow-drift", &allow_drift, NULL, "run even if applied files changed", NULL },
	{ "--allow-irreversible", &allow_irreversible, NULL,
	  "redo even if its down holds no statement (both directions transactional)", NULL },
	{ "--backup", &backup, NULL, "back up before running", NULL },
	{ "--force", &force, NULL, "run above the environment's max_risk", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

int cmd_redo(cli *g, dbs_ctx *ctx)
{
	dbs_migrate_opts o = { .allow_drift = allow_drift,
			       .allow_irreversible = allow_irreversible,
			       .backup = backup, .force = force };
	char *report = NULL;
	int rc = dbs_redo(ctx, &o, print_step, g, &report);
	return finish_run(g, ctx, rc, report, "redo");
}
