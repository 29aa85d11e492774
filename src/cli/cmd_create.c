/* cmd_create.c - dbshift create: make the database when it is not there
 * (as dbmate create). */
#include "cli.h"

int cmd_create(cli *g, dbs_ctx *ctx)
{
	(void)ctx;
	dbs_error err = { 0 };
	int created = 0;
	int rc = dbs_create_database(&g->opts, &created, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		return rc;
	}
	char *shown = dbs_redact_url(g->opts.database);
	if (g->json)
		json_emit_new(g, json_pack("{s:s, s:b}", "database", shown, "created", created));
	else if (!g->quiet)
		printf("%s %s\n", shown, created ? "created" : "is there already");
	free(shown);
	return 0;
}
