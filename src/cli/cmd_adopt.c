/* cmd_adopt.c - dbshift adopt [--yes]: take over the history of the tool
 * used before (a dry run unless --yes). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int yes;

const cli_option adopt_options[] = {
	{ "--yes", &yes, NULL, "record the rows (without it: only show what would be recorded)",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_adopt(cli *g)
{
	if (g->nargs)
		return usage_error(g, "adopt takes no arguments");
	return 0;
}

static void show_rows(const json_t *doc)
{
	const json_t *list = json_object_get(doc, "migrations");
	const json_t *sum = json_object_get(doc, "summary");
	int framework = json_is_true(json_object_get(doc, "framework"));
	if (!json_array_size(list) && framework) {
		printf("nothing to adopt: dbshift keeps the checksum of every applied %s "
		       "migration's file\n", json_string_value(json_object_get(doc, "tool")));
		return;
	}
	if (!json_array_size(list)) {
		printf("%s's history in %s records no migration: nothing was applied, and "
		       "'dbshift migrate' applies them all\n",
		       json_string_value(json_object_get(doc, "tool")),
		       json_string_value(json_object_get(doc, "table")));
		return;
	}
	if (framework)
		printf("applied %s migrations whose file dbshift keeps no checksum of (adopt "
		       "keeps each file as it is now): %zu\n",
		       json_string_value(json_object_get(doc, "tool")), json_array_size(list));
	else
		printf("%s's history in %s: %zu version%s\n",
		       json_string_value(json_object_get(doc, "tool")),
		       json_string_value(json_object_get(doc, "table")), json_array_size(list),
		       json_array_size(list) == 1 ? "" : "s");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *m = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *app = json_string_value(json_object_get(m, "app"));
		char label[512];
		snprintf(label, sizeof(label), "%s%s%s%s%s", app ? app : "", app && *app ? "/" : "",
			 json_string_value(json_object_get(m, "version")), *name ? "_" : "", name);
		const char *why = json_is_null(json_object_get(m, "file"))
				  ? "  (no file here: it will show as missing)"
				  : !strcmp(json_string_value(json_object_get(m, "checksum")), "flyway")
				  ? "  (Flyway's checksum kept)" : "";
		printf("  %-40s %-8s %s%s\n", label,
		       json_string_value(json_object_get(m, "status")),
		       json_string_value(json_object_get(m, "applied_at")), why);
	}
	if (json_is_true(json_object_get(doc, "dry_run")))
		printf("nothing recorded: 'dbshift adopt --yes' records %lld row%s in "
		       "dbshift_migrations\n", (long long)json_integer_value(json_object_get(sum,
		       "total")), json_integer_value(json_object_get(sum, "total")) == 1 ? "" : "s");
}

int cmd_adopt(cli *g, dbs_ctx *ctx)
{
	char *report = NULL;
	int rc = dbs_adopt(ctx, yes, &report);
	json_t *doc = report && !g->json && !g->quiet ? json_loads(report, 0, NULL) : NULL;
	if (!rc && doc && json_object_get(doc, "tool"))
		show_rows(doc);
	g->done = json_array_size(json_object_get(doc, "migrations"));
	json_decref(doc);
	if (!yes) {
		if (rc) {
			free(report);
			return report_failure(g, dbs_last_error(ctx));
		}
		if (g->json)
			json_emit(g, report);
		free(report);
		return 0;
	}
	return finish_run(g, ctx, rc, report, "adopt");
}
