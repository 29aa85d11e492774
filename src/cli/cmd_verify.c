/* cmd_verify.c - dbshift verify: post-migration checks of history and schema. */
#include <stdlib.h>

#include "cli.h"

static const char *schema_file, *compare_url;

const cli_option verify_options[] = {
	{ "--schema", NULL, &schema_file, "compare the live schema with a snapshot" },
	{ "--compare", NULL, &compare_url, "compare row counts with another database" },
	{ NULL, NULL, NULL, NULL }
};

int cmd_verify(cli *g)
{
	if (g->nargs)
		return usage_error(g, "verify takes no arguments");
	if (schema_file)
		return not_implemented(g, "verify --schema");
	if (compare_url)
		return not_implemented(g, "verify --compare");
	dbs_ctx *ctx;
	int rc = open_ctx(g, &ctx, 0);
	if (rc)
		return rc;
	char *out = NULL;
	int failed = 0;
	if (dbs_verify(ctx, g->json, &out, &failed)) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else {
		printf("%s%s", out, g->json ? "\n" : "");
		rc = failed ? 1 : 0;
	}
	free(out);
	dbs_close(ctx);
	return rc;
}
