/* cmd_assess.c - dbshift assess [TARGET]: lint plus the live database's facts. */
#include <stdlib.h>

#include "cli.h"

static const char *long_query;

const cli_option assess_options[] = {
	{ "--long-query", NULL, &long_query, "a query running this many seconds blocks (60)" },
	{ NULL, NULL, NULL, NULL }
};

int cmd_assess(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "assess takes at most one TARGET");
	int secs = 60;
	int rc = long_query ? parse_count(g, "--long-query", long_query, &secs) : 0;
	if (rc)
		return rc;
	dbs_migrate_opts o = { .target = g->nargs ? g->args[0] : NULL };
	dbs_ctx *ctx;
	if ((rc = open_ctx(g, &ctx, NEED_BOTH)))
		return rc;
	char *out = NULL;
	int stop = 0;
	rc = dbs_assess(ctx, &o, secs, &out, &stop);
	if (rc) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else {
		if (g->json)
			printf("%s\n", out);
		else
			render_report(out, render_assess);
		rc = stop ? 1 : 0;
	}
	free(out);
	dbs_close(ctx);
	return rc;
}
