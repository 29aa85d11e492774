/* cmd_new.c - dbshift new NAME: create an empty migration file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int check_new(cli *g)
{
	if (g->nargs != 1)
		return usage_error(g, "new takes one NAME, e.g. 'dbshift new create_users'");
	return 0;
}

int cmd_new(cli *g, dbs_ctx *ctx)
{
	(void)ctx;
	char *path = NULL;
	dbs_error err = { 0 };
	if (g->opts.framework && strcmp(g->opts.framework, "none"))
		return usage_error(g, "new is not for framework = %s: make its migrations "
				   "with the framework's own command", g->opts.framework);
	int rc = dbs_new_migration(g->opts.dir, g->args[0], &path, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		return rc;
	}
	if (g->json) {
		char *doc = dbs_new_json(path);
		json_emit(g, doc);
		free(doc);
	} else
		printf("created %s\n", path);
	free(path);
	return 0;
}
