/* cmd_baseline.c - dbshift baseline VERSION: adopt an existing database. */
#include <stdlib.h>

#include "cli.h"

int cmd_baseline(cli *g)
{
	if (g->nargs != 1)
		return usage_error(g, "baseline takes one VERSION (or APP:VERSION)");
	dbs_ctx *ctx;
	int rc = open_ctx(g, &ctx, 0);
	if (rc)
		return rc;
	size_t n = 0;
	char *report = NULL;
	rc = dbs_baseline(ctx, g->args[0], &n, &report);
	g->done = n;
	rc = finish_run(g, ctx, rc, report, "mark as applied (baseline)");
	dbs_close(ctx);
	return rc;
}
