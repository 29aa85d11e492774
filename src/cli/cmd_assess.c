/* cmd_assess.c - dbshift assess [TARGET]: lint plus the live database's facts. */
#include <stdlib.h>

#include "cli.h"

static const char *long_query;

const cli_option assess_options[] = {
	{ "--long-query", NULL, &long_query, "a query running this long blocks (60s; a bare number is seconds)",
	  "DURATION" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static int secs;

int check_assess(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "assess takes at most one TARGET");
	int ms = 60000;
	int rc = parse_duration_opt(g, "--long-query", long_query, 1000, "seconds", &ms);
	secs = ms / 1000 > 0 ? ms / 1000 : 1;
	g->opts.framework_sql_way = "up";  /* a framework's: what migrate would run */
	if (g->nargs)  /* its plan to TARGET, read with the rest */
		ask_framework_plan(g, "migrate", &(dbs_migrate_opts){ .target = g->args[0] });
	return rc;
}

int cmd_assess(cli *g, dbs_ctx *ctx)
{
	dbs_migrate_opts o = { .target = g->nargs ? g->args[0] : NULL };
	int rc;
	char *out = NULL;
	int stop = 0;
	rc = dbs_assess(ctx, &o, secs, &out, &stop);
	if (rc) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else {
		if (g->json)
			json_emit(g, out);
		else
			render_report(out, render_assess);
		rc = stop ? 1 : 0;
	}
	free(out);
	return rc;
}
