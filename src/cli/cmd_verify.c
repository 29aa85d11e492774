/* cmd_verify.c - dbshift verify: post-migration checks of history and schema. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *schema_file, *compare_url;

const cli_option verify_options[] = {
	{ "--schema", NULL, &schema_file, "compare the live schema with a snapshot", "FILE" },
	{ "--compare", NULL, &compare_url, "compare row counts with another database", "URL" },
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_verify(cli *g)
{
	if (g->nargs)
		return usage_error(g, "verify takes no arguments");
	g->opts.framework_no_sql = 1;  /* a framework's SQL: not needed */
	return 0;
}

int cmd_verify(cli *g, dbs_ctx *ctx)
{
	int rc;
	char *out = NULL, *compare = compare_url ? take_url_arg(compare_url) : NULL;
	int failed = 0;
	if (dbs_verify(ctx, schema_file ? schema_file : g->opts.schema_file, compare, &out,
		       &failed)) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else {
		if (g->json)
			json_emit(g, out);
		else
			render_report(out, render_verify);
		rc = failed ? 1 : 0;
	}
	free(out);
	free(compare);
	return rc;
}

/* dbshift schema dump [FILE]: the snapshot verify --schema compares with. */
int check_schema(cli *g)
{
	if (g->nargs < 1 || g->nargs > 2 || strcmp(g->args[0], "dump"))
		return usage_error(g, "usage: dbshift schema dump [FILE]");
	g->opts.framework_no_sql = 1;  /* a framework's SQL: not needed */
	return 0;
}

int cmd_schema(cli *g, dbs_ctx *ctx)
{
	int rc = 0;
	char *text = NULL;
	if (dbs_schema_dump(ctx, &text)) {
		rc = report_failure(g, dbs_last_error(ctx));
	} else if (g->nargs == 2) {
		FILE *f = fopen(g->args[1], "w");
		int bad = !f || fputs(text, f) < 0;
		if (f && fclose(f) != 0)
			bad = 1;
		if (bad) {
			char msg[512];
			snprintf(msg, sizeof(msg), "cannot write '%s': %s", g->args[1],
				 strerror(errno));
			dbs_error e = { .code = DBS_EFAIL, .message = msg,
					.hint = (char *)"give a file in a directory you can write" };
			rc = report_failure(g, &e);
		} else if (g->json) {
			json_emit_new(g, json_pack("{s:s}", "file", g->args[1]));
		} else if (!g->quiet) {
			printf("schema written to %s\n", g->args[1]);
		}
	} else if (g->json) {
		json_emit_new(g, json_pack("{s:s}", "schema", text));
	} else {
		fputs(text, stdout);
	}
	free(text);
	return rc;
}
