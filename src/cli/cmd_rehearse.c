/*
 * cmd_rehearse.c - dbshift rehearse [TARGET] [--rollback] [--backup ID |
 * --fresh] [--keep]: the plan run first on a copy restored from a
 * backup, and what it did there: each migration's time, rows and locks,
 * and the downtime a user would see.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int rollback, fresh, keep, force;
static const char *backup, *steps;

const cli_option rehearse_options[] = {
	{ "--rollback", &rollback, NULL, "rehearse what rollback would run instead", NULL },
	{ "--steps", NULL, &steps, "--rollback: how many to undo", "N" },
	{ "--backup", NULL, &backup, "start from this backup (default: the newest of this database)",
	  "ID" },
	{ "--fresh", &fresh, NULL, "take a backup now and start from it", NULL },
	{ "--keep", &keep, NULL, "keep the scratch database afterwards (its URL is printed)", NULL },
	{ "--force", &force, NULL, "rehearse a plan above the environment's max_risk", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

static dbs_rehearse_opts o;

int check_rehearse(cli *g)
{
	if (g->nargs > 1)
		return usage_error(g, "rehearse takes at most one TARGET");
	if (backup && fresh)
		return usage_error(g, "--backup and --fresh do not go together");
	if (steps && !rollback)
		return usage_error(g, "--steps goes with --rollback");
	o = (dbs_rehearse_opts){ .target = g->nargs ? g->args[0] : NULL, .rollback = rollback,
				 .backup = backup, .fresh = fresh, .keep = keep, .force = force };
	return parse_count(g, "--steps", steps, &o.steps);
}

static const char *s_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long i_of(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* What a lock of the report is on: its tables, or the whole database. */
static void put_on(FILE *out, const json_t *l)
{
	const json_t *t = json_object_get(l, "tables");
	if (!strcmp(s_of(l, "scope"), "database")) {
		fputs("the database", out);
		return;
	}
	for (size_t i = 0; i < json_array_size(t); i++)
		fprintf(out, "%s%s", i ? ", " : "", json_string_value(json_array_get(t, i)));
}

/* Per migration: its time, rows and locks; then the downtime. */
static void render_rehearsal(FILE *out, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "migrations");
	if (json_is_true(json_object_get(doc, "nothing"))) {
		fprintf(out, "nothing to rehearse\n");
		return;
	}
	fprintf(out, "rehearsed on a copy of backup %s (%s)\n", s_of(doc, "backup"),
		s_of(doc, "way"));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *m = json_array_get(list, i), *locks = json_object_get(m, "locks");
		const json_t *rows = json_object_get(m, "rows_changed");
		fprintf(out, "%-10s %s (%lld ms", strcmp(s_of(m, "status"), "succeeded") ? "FAILED"
			: "rehearsed", s_of(m, "migration"), i_of(m, "duration_ms"));
		if (json_is_integer(rows))
			fprintf(out, ", %lld row%s changed", (long long)json_integer_value(rows),
				json_integer_value(rows) == 1 ? "" : "s");
		fprintf(out, ")\n");
		for (size_t k = 0; k < json_array_size(locks); k++) {
			const json_t *l = json_array_get(locks, k);
			fprintf(out, "           lock %s on ", s_of(l, "mode"));
			put_on(out, l);
			fprintf(out, " held %lld ms (blocks %s)\n", i_of(l, "held_ms"), s_of(l, "blocks"));
		}
	}
	const json_t *w = json_object_get(doc, "downtime");
	if (json_is_object(w)) {
		fprintf(out, "downtime: %lld ms (%s on ", i_of(doc, "downtime_ms"),
			s_of(json_object_get(w, "lock"), "mode"));
		put_on(out, json_object_get(w, "lock"));
		fprintf(out, ", %s)\n", s_of(w, "migration"));
	} else
		fprintf(out, "downtime: none (no lock against writes)\n");
	const json_t *a = json_object_get(doc, "assertions");
	size_t bad = 0;
	for (size_t i = 0; i < json_array_size(a); i++)
		bad += strcmp(s_of(json_array_get(a, i), "status"), "pass") != 0;
	if (json_array_size(a))
		fprintf(out, "assertions: %zu of %zu failed\n", bad, json_array_size(a));
	if (*s_of(doc, "scratch_kept"))
		fprintf(out, "kept the scratch database: %s\n", s_of(doc, "scratch_kept"));
	fprintf(out, "plan %.12s, run %s\n", s_of(doc, "plan_id"), s_of(doc, "run_id"));
}

int cmd_rehearse(cli *g, dbs_ctx *ctx)
{
	char *report = NULL;
	int rc = dbs_rehearse(ctx, &o, &report);
	print_warnings(g, dbs_run_warnings(ctx));
	if (g->json && report)
		json_emit(g, report);
	else if (!rc && report && !g->quiet)
		render_report(report, render_rehearsal);
	else if (rc && report && !g->json) {
		json_t *doc = json_loads(report, 0, NULL);
		if (json_array_size(json_object_get(doc, "migrations")) && !g->quiet)
			render_rehearsal(stdout, doc);
		json_decref(doc);
	}
	free(report);
	return rc ? report_failure(g, dbs_last_error(ctx)) : 0;
}
