/* cmd_doctor.c - dbshift doctor: the pre-migration checklist. */
#include <stdlib.h>

#include "cli.h"

int check_doctor(cli *g)
{
	if (g->nargs)
		return usage_error(g, "doctor takes no arguments");
	g->opts.framework_sql_way = "up";  /* a framework's: what migrate would run */
	return 0;
}

int cmd_doctor(cli *g, dbs_ctx *ctx)
{
	char *out = NULL;
	int failed = 0;
	dbs_doctor(ctx, &out, &failed);
	if (g->json)
		json_emit(g, out);
	else
		render_report(out, render_doctor);
	free(out);
	return failed ? 1 : 0;
}
