/* cmd_repair.c - dbshift repair: clear failed rows, accept changed checksums. */
#include <stdlib.h>

#include "cli.h"

int cmd_repair(cli *g)
{
	if (g->nargs)
		return usage_error(g, "repair takes no arguments");
	dbs_ctx *ctx;
	int rc = open_ctx(g, &ctx, NEED_BOTH);
	if (rc)
		return rc;
	size_t n = 0;
	char *report = NULL;
	rc = dbs_repair(ctx, &n, &report);
	g->done = n;
	rc = finish_run(g, ctx, rc, report, "repair");
	dbs_close(ctx);
	return rc;
}
