/* cmd_repair.c - dbshift repair: clear failed rows, accept changed checksums. */
#include <stdlib.h>

#include "cli.h"

static int down_done, down_undone;

const cli_option repair_options[] = {
	{ "--down-done", &down_done, NULL,
	  "a rollback that failed outside a transaction was finished by hand", NULL },
	{ "--down-undone", &down_undone, NULL,
	  "a rollback that failed outside a transaction was undone by hand", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_repair(cli *g)
{
	if (g->nargs)
		return usage_error(g, "repair takes no arguments");
	if (down_done && down_undone)
		return usage_error(g, "give either --down-done or --down-undone, not both");
	return 0;
}

int cmd_repair(cli *g, dbs_ctx *ctx)
{
	size_t n = 0;
	char *report = NULL;
	int rc = dbs_repair(ctx, down_done ? DBS_DOWN_DONE : down_undone ? DBS_DOWN_UNDONE
			: DBS_DOWN_ASK, &n, &report);
	g->done = n;
	return finish_run(g, ctx, rc, report, "repair");
}
