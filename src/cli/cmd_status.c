/* cmd_status.c - dbshift status: every migration and its state, or
 * (--runs) the newest runs and where each is. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int runs, nruns = 20, exit_code_pending, promotion;
static const char *limit;

const cli_option status_options[] = {
	{ "--exit-code", &exit_code_pending, NULL, "exit 1 when any migration is pending (a CI gate)",
	  NULL },
	{ "--runs", &runs, NULL, "the newest runs instead: running, abandoned, how each ended",
	  NULL },
	{ "--limit", NULL, &limit, "how many runs --runs lists (20)", "N" },
	{ "--promotion", &promotion, NULL, "where each migration is applied up the promote_from "
	  "chain", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_status(cli *g)
{
	if (g->nargs)
		return usage_error(g, "status takes no arguments");
	if (limit && !runs)
		return usage_error(g, "--limit goes with --runs");
	if (exit_code_pending && runs)
		return usage_error(g, "--exit-code does not go with --runs");
	if (promotion && (runs || exit_code_pending))
		return usage_error(g, "--promotion goes alone");
	if (limit && parse_count(g, "--limit", limit, &nruns))
		return 2;
	if (runs)
		g->need = NEED_DB;
	g->opts.framework_no_sql = 1;  /* Django's SQL is not needed to say what is pending */
	return 0;
}

static int show_runs(cli *g, dbs_ctx *ctx)
{
	char *doc = NULL;
	int rc = dbs_runs_json(ctx, nruns, &doc);
	if (rc) {
		free(doc);
		return report_failure(g, dbs_last_error(ctx));
	}
	if (g->json)
		json_emit(g, doc);
	else
		render_report(doc, render_runs);
	free(doc);
	return 0;
}

/* --promotion: a column per environment up the chain. */
static void render_promotion(FILE *out, const json_t *doc)
{
	const json_t *chain = json_object_get(doc, "chain"), *list = json_object_get(doc, "migrations");
	const char *here = json_string_value(json_object_get(doc, "environment"));
	int w = 9;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *m = json_string_value(json_object_get(json_array_get(list, i), "migration"));
		if ((int)strlen(m) > w)
			w = (int)strlen(m);
	}
	for (size_t k = 0; k < json_array_size(chain); k++)
		fprintf(out, "%s %s: %s\n", k ? "  from" : "promote_from",
			json_string_value(json_object_get(json_array_get(chain, k), "environment")),
			json_string_value(json_object_get(json_array_get(chain, k), "database")));
	fprintf(out, "\n%-*s  %-12s", w, "MIGRATION", here ? here : "here");
	for (size_t k = 0; k < json_array_size(chain); k++)
		fprintf(out, "  %-12s", json_string_value(json_object_get(json_array_get(chain, k),
									  "environment")));
	fputc('\n', out);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *m = json_array_get(list, i), *up = json_object_get(m, "upstream");
		fprintf(out, "%-*s  %-12s", w, json_string_value(json_object_get(m, "migration")),
			json_string_value(json_object_get(m, "here")));
		for (size_t k = 0; k < json_array_size(up); k++)
			fprintf(out, "  %-12s", json_string_value(json_array_get(up, k)));
		fputc('\n', out);
	}
}

static int show_promotion(cli *g, dbs_ctx *ctx)
{
	char *doc = NULL;
	if (dbs_promotion_json(ctx, &doc))
		return report_failure(g, dbs_last_error(ctx));
	if (g->json)
		json_emit(g, doc);
	else
		render_report(doc, render_promotion);
	free(doc);
	return 0;
}

int cmd_status(cli *g, dbs_ctx *ctx)
{
	size_t n;
	int rc;
	if (runs)
		return show_runs(g, ctx);
	if (promotion)
		return show_promotion(g, ctx);
	rc = dbs_status(ctx, &n);
	print_warnings(g, dbs_load_warnings(ctx));
	if (rc)
		return report_failure(g, dbs_last_error(ctx));
	size_t pending = 0;
	for (size_t i = 0; i < n; i++)
		pending += dbs_status_entry(ctx, i)->state == DBS_PENDING;
	int rc_pending = exit_code_pending && pending ? 1 : 0;
	if (g->json) {
		char *doc = dbs_status_json(ctx);
		json_emit(g, doc);
		free(doc);
		return rc_pending;
	}
	size_t counts[DBS_NSTATES] = { 0 }, wlabel = 9, wat = 22;  /* a time with its fraction is longer */
	char label[512];
	for (size_t i = 0; i < n; i++) {
		const dbs_entry *e = dbs_status_entry(ctx, i);
		entry_label(e, label, sizeof(label));
		if (strlen(label) > wlabel)
			wlabel = strlen(label);
		if (e->applied_at && strlen(e->applied_at) > wat)
			wat = strlen(e->applied_at);
	}
	printf("database: %s\n", dbs_database_display(ctx));
	/* how the files were read (sqlx's and dbmate's names are the same) */
	const char *seen[8];
	size_t nseen = 0;
	for (size_t i = 0; i < n && nseen < 8; i++) {
		const char *f = dbs_status_entry(ctx, i)->format;
		size_t k = 0;
		while (f && k < nseen && strcmp(seen[k], f))
			k++;
		if (f && k == nseen)
			seen[nseen++] = f;
	}
	for (size_t k = 0; k < nseen; k++)
		printf("%s%s", k ? ", " : "layout: ", seen[k]);
	printf("%s\n", nseen ? "\n" : "");
	printf("%-*s  %-8s  %-21s  %-*s  %8s  %s\n", (int)wlabel, "MIGRATION", "PHASE",
	       "STATE", (int)wat, "APPLIED AT", "DURATION", "BY");
	for (size_t i = 0; i < n; i++) {
		const dbs_entry *e = dbs_status_entry(ctx, i);
		counts[e->state]++;
		entry_label(e, label, sizeof(label));
		char state[32], dur[32] = "";
		snprintf(state, sizeof(state), "%s%s%s", dbs_state_name(e->state),
			 e->out_of_order ? " (out of order)" : "",
			 e->state == DBS_FAILED ? e->failed_down ? " (rollback)" : " (up)" : "");
		if (e->state != DBS_PENDING && e->duration_ms >= 0)
			snprintf(dur, sizeof(dur), "%lld ms", (long long)e->duration_ms);
		printf("%-*s  %-8s  %-21s  %-*s  %8s  %s\n", (int)wlabel, label,
		       e->phase ? e->phase : "-", state, (int)wat,
		       e->applied_at ? e->applied_at : "", dur,
		       e->applied_by ? e->applied_by : "");
		if ((e->state == DBS_FAILED || e->state == DBS_RUNNING) && e->message)
			printf("    %s\n", e->message);
	}
	printf("\n%zu applied, %zu pending, %zu drifted, %zu missing, %zu failed",
	       counts[DBS_APPLIED], counts[DBS_PENDING], counts[DBS_DRIFTED],
	       counts[DBS_MISSING], counts[DBS_FAILED]);
	if (counts[DBS_RUNNING])
		printf(", %zu running", counts[DBS_RUNNING]);
	putchar('\n');
	return rc_pending;
}
