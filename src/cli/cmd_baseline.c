/* cmd_baseline.c - dbshift baseline VERSION: adopt an existing database. */
#include <stdlib.h>

#include "cli.h"

static void print_recorded(const dbs_step *step, int64_t ms, const dbs_error *err, void *data)
{
	cli *g = data;
	char label[512];
	(void)ms;
	if (!err)
		g->done++;
	if (g->quiet || g->json)
		return;
	entry_label(step->entry, label, sizeof(label));
	printf("%-12s %s\n", err ? "FAILED" : "recorded", label);
}

int check_baseline(cli *g)
{
	if (g->nargs != 1)
		return usage_error(g, "baseline takes one VERSION (or APP:VERSION)");
	return 0;
}

int cmd_baseline(cli *g, dbs_ctx *ctx)
{
	char *report = NULL;
	int rc = dbs_baseline(ctx, g->args[0], print_recorded, g, &report);
	return finish_run(g, ctx, rc, report, "mark as applied (baseline)");
}
