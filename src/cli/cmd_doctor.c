/* cmd_doctor.c - dbshift doctor: the pre-migration checklist. */
#include <stdlib.h>

#include "cli.h"

int cmd_doctor(cli *g)
{
	if (g->nargs)
		return usage_error(g, "doctor takes no arguments");
	dbs_ctx *ctx;
	int rc = open_ctx(g, &ctx, NEED_BOTH);
	if (rc)
		return rc;
	char *out = NULL;
	int failed = 0;
	dbs_doctor(ctx, &out, &failed);
	if (g->json)
		printf("%s\n", out);
	else
		render_report(out, render_doctor);
	free(out);
	dbs_close(ctx);
	return failed ? 1 : 0;
}
