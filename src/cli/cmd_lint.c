/* cmd_lint.c - dbshift lint [FILE...]: static safety analysis of migrations. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *format, *fail_on;

const cli_option lint_options[] = {
	{ "--format", NULL, &format, "text, json, sarif or github", "FORMAT" },
	{ "--fail-on", NULL, &fail_on, "exit 1 when a finding is at or above this level (red)",
	  "LEVEL" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static const char *fmt;
static dbs_level limit;

int check_lint(cli *g)
{
	fmt = format ? format : g->json ? "json" : "text";
	limit = DBS_RED;
	if (!strcmp(fmt, "json"))
		g->json = 1;  /* --format json is --json, whatever happens next */
	if (strcmp(fmt, "text") && strcmp(fmt, "json") && strcmp(fmt, "sarif") && strcmp(fmt, "github"))
		return usage_error(g, "bad --format '%s': use text, json, sarif or github", fmt);
	if (fail_on && dbs_level_parse(fail_on, &limit))
		return usage_error(g, "bad --fail-on '%s': use green, yellow or red", fail_on);
	/* with FILEs, or without a database, no connection is made */
	g->need = g->nargs ? 0 : g->opts.database ? NEED_BOTH : NEED_DIR;
	g->opts.framework_sql_way = "up";  /* a framework's: what migrate would run */
	return 0;
}

int cmd_lint(cli *g, dbs_ctx *ctx)
{
	dbs_lint *l = NULL;
	int rc = g->nargs ? dbs_lint_files(ctx, (const char *const *)g->args, (size_t)g->nargs, &l)
		      : dbs_lint_pending(ctx, &l);
	if (rc)
		return report_failure(g, dbs_last_error(ctx));
	int text = !strcmp(fmt, "text");
	char *out = text ? NULL : dbs_lint_render(l, fmt);
	if (text) {
		render_lint(stdout, l, g->color);
	} else if (!strcmp(fmt, "json")) {
		json_emit(g, out);
	} else {
		fputs(out, stdout);
		if (strcmp(fmt, "github"))
			fputc('\n', stdout);
	}
	free(out);
	/* a finding at or above the limit fails; green never does */
	rc = limit > DBS_GREEN && dbs_lint_worst(l) >= limit ? 1 : 0;
	dbs_lint_free(l);
	return rc;
}
