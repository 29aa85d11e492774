/* cmd_doctor.c - dbshift doctor: the pre-migration checklist. */
#include <stdlib.h>

#include "cli.h"

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
