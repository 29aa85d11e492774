/* cmd_watch.c - dbshift watch [RUN]: follow a run (the running one, else
 * the newest) once a second until it ends; the exit code is its outcome. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const cli_option watch_options[] = {
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_watch(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "watch follows one run: give at most one RUN");
	return 0;
}

/* The lines a document gives (the run's line, the server's view). */
static char *view_text(const json_t *doc)
{
	char line[1024];
	run_progress(doc, line, sizeof(line));
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (!f)
		return NULL;
	fprintf(f, "%s  %s  %s\n", json_string_value(json_object_get(doc, "run_id")),
		json_string_value(json_object_get(doc, "status")), line);
	const json_t *server = json_object_get(doc, "server");
	if (server)
		render_server(f, server);
	fclose(f);
	return text;
}

int cmd_watch(cli *g, dbs_ctx *ctx)
{
	char *id = g->nargs ? strdup(g->args[0]) : NULL, *last = NULL;
	int rc = 0;
	for (;;) {
		char *text = NULL;
		if ((rc = dbs_run_json(ctx, id, &text))) {
			free(text);
			rc = report_failure(g, dbs_last_error(ctx));
			break;
		}
		json_t *doc = json_loads(text, 0, NULL);
		const char *st = json_string_value(json_object_get(doc, "status"));
		if (!id)  /* follow this one, whatever starts later */
			id = strdup(json_string_value(json_object_get(doc, "run_id")));
		char *view = g->json ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
				     : view_text(doc);
		if (view && (!last || strcmp(view, last))) {
			if (g->json) {
				printf("%s\n", view);
			} else {
				char at[16];
				time_t t = time(NULL);
				struct tm tm;
				localtime_r(&t, &tm);
				strftime(at, sizeof(at), "%H:%M:%S", &tm);
				printf("%s  %s", at, view);
			}
			fflush(stdout);
		}
		free(last);
		last = view;
		int ended = !st || strcmp(st, "running");
		rc = st && !strcmp(st, "succeeded") ? 0 : 1;
		json_decref(doc);
		free(text);
		if (ended)
			break;
		sleep(1);
	}
	free(last);
	free(id);
	return rc;
}
