/*
 * cmd_release.c - dbshift release [--rollback [TARGET]] [--dry-run]
 * [--force] [--from STEP]: the runbook of [release] as one run, and its
 * report as a table of steps.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int rollback, dry_run, force;
static const char *from;

const cli_option release_options[] = {
	{ "--rollback", &rollback, NULL, "run rollback_steps (down to TARGET, default: the last one)",
	  NULL },
	{ "--dry-run", &dry_run, NULL, "print every step and what it would do; change nothing",
	  NULL },
	{ "--force", &force, NULL, "run above max_risk; with --from, pass over failed "
	  "non-critical steps", NULL },
	{ "--from", NULL, &from, "resume the last release at STEP", "STEP" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static dbs_release_opts o;

int check_release(cli *g)
{
	if (g->nargs > 1 || (g->nargs && !rollback))
		return usage_error(g, "release takes a TARGET only with --rollback");
	o = (dbs_release_opts){ .rollback = rollback, .target = g->nargs ? g->args[0] : NULL,
				.dry_run = dry_run, .force = force, .from = from };
	return 0;
}

static const char *s_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void put_words(FILE *out, const json_t *a, const char *sep)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		fprintf(out, "%s%s", i ? sep : "", json_string_value(json_array_get(a, i)));
}

static long long i_of(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* A settings or dotenv step's changes, one line each (values masked). */
static void put_changes(FILE *out, const char *indent, const json_t *c)
{
	for (size_t i = 0; i < json_array_size(c); i++) {
		const json_t *x = json_array_get(c, i);
		const char *op = s_of(x, "op");
		if (!strcmp(op, "rename"))
			fprintf(out, "%s~ %s -> %s = %s\n", indent, s_of(x, "from"), s_of(x, "key"),
				s_of(x, "after"));
		else if (!strcmp(op, "set"))
			fprintf(out, "%s+ %s = %s\n", indent, s_of(x, "key"), s_of(x, "after"));
		else
			fprintf(out, "%s- %s = %s\n", indent, s_of(x, "key"), s_of(x, "before"));
	}
}

/* What a files, settings, dotenv, bucket or mail step would do. */
static void put_move(FILE *out, const char *indent, const json_t *w)
{
	const json_t *e = json_object_get(w, "error");
	if (e) {
		fprintf(out, "cannot plan: %s\n", s_of(e, "message"));
		return;
	}
	if (*s_of(w, "undoes")) {
		if (json_object_get(w, "removed") || json_object_get(w, "would_copy"))
			fprintf(out, "remove %lld item%s release %s copied (%lld left as they are)\n",
				i_of(w, "would_copy"), i_of(w, "would_copy") == 1 ? "" : "s",
				s_of(w, "undoes"), i_of(w, "left"));
		else
			fprintf(out, "put back %s as it was before release %s%s\n", s_of(w, "file"),
				s_of(w, "undoes"), json_is_false(json_object_get(w, "changed"))
				? " (it is already)" : "");
		return;
	}
	if (json_object_get(w, "would_copy")) {
		fprintf(out, "copy %lld item%s (%lld bytes) from %s to %s; %lld already there\n",
			i_of(w, "would_copy"), i_of(w, "would_copy") == 1 ? "" : "s", i_of(w, "bytes"),
			s_of(w, "from"), s_of(w, "to"), i_of(w, "skipped"));
		return;
	}
	const json_t *c = json_object_get(w, "changes");
	fprintf(out, "%zu change%s to %s\n", json_array_size(c), json_array_size(c) == 1 ? "" : "s",
		s_of(w, "file"));
	put_changes(out, indent, c);
}

/* What one step would do, in a line or a few. */
static void put_would(FILE *out, const char *step, const json_t *w)
{
	const char *indent = "                      ";
	if (json_object_get(w, "kind")) {
		put_move(out, indent, w);
	} else if (!strcmp(step, "doctor")) {
		fprintf(out, "run the pre-migration checklist\n");
	} else if (!strcmp(step, "backup")) {
		fprintf(out, "back up into %s/ (%s format) and verify it\n", s_of(w, "backup_dir"),
			s_of(w, "format"));
	} else if (!strcmp(step, "assess")) {
		fprintf(out, "assess the plan against the live database (sessions in the way, "
			"table sizes)\n");
	} else if (!strncmp(step, "migrate", 7) || !strcmp(step, "rollback")) {
		const json_t *e = json_object_get(w, "error");
		if (e) {
			fprintf(out, "cannot plan: %s\n", s_of(e, "message"));
			return;
		}
		const json_t *r = json_object_get(w, "risk");
		size_t n = json_array_size(json_object_get(w, "plan"));
		fprintf(out, "%s %zu migration%s", !strcmp(step, "rollback") ? "undo" : "apply", n,
			n == 1 ? "" : "s");
		/* the verdict as plan words it, against the environment's max_risk */
		if (r)
			fprintf(out, ", risk %s (worst finding %s; max_risk %s)%s", s_of(r, "band"),
				s_of(r, "worst"), s_of(w, "max_risk"),
				json_is_true(json_object_get(w, "blocked"))
				? ": REFUSED without --force" : "");
		fputc('\n', out);
		json_t *plan = json_pack("{s:O}", "steps", json_object_get(w, "plan"));
		if (r)
			json_object_set(plan, "risk", (json_t *)r);
		if (n)
			render_plan(out, plan, 0, 0);
		json_decref(plan);
	} else if (!strcmp(step, "data")) {
		const json_t *f = json_object_get(w, "files");
		fprintf(out, "run the data migrations of the migrations applied%s", json_array_size(f)
			? ", then " : "");
		put_words(out, f, ", ");
		fputc('\n', out);
	} else if (!strcmp(step, "verify")) {
		fprintf(out, "check the history and the schema%s%s%s\n",
			*s_of(w, "schema_file") ? " (snapshot " : "", s_of(w, "schema_file"),
			*s_of(w, "schema_file") ? ")" : "");
	} else if (!strcmp(step, "rehearse")) {
		fprintf(out, "restore the newest backup into a scratch database, %s there, drop it\n",
			s_of(w, "way"));
	} else if (!strcmp(step, "assert")) {
		const json_t *a = json_object_get(w, "assertions");
		fprintf(out, "check %zu data assertion%s:", json_array_size(a),
			json_array_size(a) == 1 ? "" : "s");
		for (size_t i = 0; i < json_array_size(a); i++)
			fprintf(out, " %s%s", s_of(json_array_get(a, i), "name"),
				json_is_true(json_object_get(json_array_get(a, i), "invariant"))
				? " (invariant)" : "");
		fputc('\n', out);
	} else if (!strcmp(step, "health")) {
		const json_t *t = json_object_get(w, "targets");
		fprintf(out, "probe until all answer, for up to %lld ms:",
			(long long)json_integer_value(json_object_get(w, "timeout_ms")));
		for (size_t i = 0; i < json_array_size(t); i++)
			fprintf(out, " %s %s", s_of(json_array_get(t, i), "kind"),
				s_of(json_array_get(t, i), "target"));
		fputc('\n', out);
	} else if (!strncmp(step, "hook:", 5)) {
		fprintf(out, "run [");
		const json_t *a = json_object_get(w, "argv");
		for (size_t i = 0; i < json_array_size(a); i++)
			fprintf(out, "%s\"%s\"", i ? ", " : "", json_string_value(json_array_get(a, i)));
		fprintf(out, "]\n%stimeout %lld ms", indent,
			(long long)json_integer_value(json_object_get(w, "timeout_ms")));
		if (*s_of(w, "cwd"))
			fprintf(out, ", in %s", s_of(w, "cwd"));
		if (json_array_size(json_object_get(w, "env"))) {
			fprintf(out, ", env ");
			put_words(out, json_object_get(w, "env"), " ");
		}
		fputc('\n', out);
	}
}

static void render_dry_run(FILE *out, const json_t *doc)
{
	const json_t *steps = json_object_get(doc, "steps");
	fprintf(out, "%s --dry-run on %s: %zu steps\n", strcmp(s_of(doc, "runbook"), "rollback")
		? "release" : "release --rollback", s_of(doc, "database"), json_array_size(steps));
	for (size_t i = 0; i < json_array_size(steps); i++) {
		const json_t *s = json_array_get(steps, i);
		fprintf(out, "%2zu. %-16s %s", i + 1, s_of(s, "step"),
			json_is_false(json_object_get(s, "critical")) ? "(not critical) " : "");
		if (json_object_get(s, "skip"))
			fprintf(out, "skip: %s\n", s_of(s, "skip"));
		else
			put_would(out, s_of(s, "step"), json_object_get(s, "would"));
	}
	fprintf(out, "nothing was changed\n");
}

/* The one-line result of a step for the table. */
static void result_text(char *buf, size_t n, const json_t *s)
{
	const json_t *r = json_object_get(s, "result"), *e = json_object_get(s, "error");
	const char *step = s_of(s, "step");
	buf[0] = '\0';
	if (e) {
		snprintf(buf, n, "%s", s_of(e, "message"));
	} else if (json_object_get(s, "reason")) {
		snprintf(buf, n, "%s", s_of(s, "reason"));
	} else if (!strcmp(step, "backup")) {
		snprintf(buf, n, "backup %s", s_of(r, "id"));
	} else if (!strncmp(step, "migrate", 7) || !strcmp(step, "rollback")) {
		long long k = json_integer_value(json_object_get(json_object_get(r, "summary"),
								 "succeeded"));
		snprintf(buf, n, "%lld step%s", k, k == 1 ? "" : "s");
	} else if (!strcmp(step, "data")) {
		long long rows = 0;
		const json_t *runs = json_object_get(r, "runs");
		for (size_t i = 0; i < json_array_size(runs); i++)
			rows += json_integer_value(json_object_get(json_array_get(runs, i),
								   "rows_changed"));
		snprintf(buf, n, "%zu run%s, %lld rows changed", json_array_size(runs),
			 json_array_size(runs) == 1 ? "" : "s", rows);
	} else if (!strcmp(step, "rehearse")) {
		snprintf(buf, n, "%zu migration%s rehearsed, downtime %lld ms",
			 json_array_size(json_object_get(r, "migrations")),
			 json_array_size(json_object_get(r, "migrations")) == 1 ? "" : "s",
			 (long long)json_integer_value(json_object_get(r, "downtime_ms")));
	} else if (!strcmp(step, "assert")) {
		size_t k = json_array_size(json_object_get(r, "checks"));
		snprintf(buf, n, "%zu assertion%s hold", k, k == 1 ? "" : "s");
	} else if (!strcmp(step, "health")) {
		snprintf(buf, n, "%zu target%s up", json_array_size(json_object_get(r, "targets")),
			 json_array_size(json_object_get(r, "targets")) == 1 ? "" : "s");
	} else if (!strncmp(step, "hook:", 5)) {
		snprintf(buf, n, "exit %lld", json_integer_value(json_object_get(r, "exit_code")));
	} else if (json_object_get(r, "removed")) {
		snprintf(buf, n, "%lld removed, %lld left, %lld failed", i_of(r, "removed"),
			 i_of(r, "left"), i_of(r, "failed"));
	} else if (json_object_get(r, "copied")) {
		snprintf(buf, n, "%lld copied (%lld bytes), %lld skipped, %lld failed",
			 i_of(r, "copied"), i_of(r, "bytes"), i_of(r, "skipped"), i_of(r, "failed"));
	} else if (json_object_get(r, "restored")) {
		snprintf(buf, n, "%s put back", s_of(r, "restored"));
	} else if (json_object_get(r, "changes")) {
		size_t k = json_array_size(json_object_get(r, "changes"));
		snprintf(buf, n, "%zu change%s%s%s", k, k == 1 ? "" : "s",
			 json_object_get(r, "kept") ? ", old file kept as " : "",
			 s_of(json_object_get(r, "kept"), "file"));
	}
}

/* The steps of a release as a table, and its summary. */
static void render_release(FILE *out, const json_t *doc)
{
	const json_t *steps = json_object_get(doc, "steps"), *sum = json_object_get(doc, "summary");
	fprintf(out, "%-18s %-10s %10s  %s\n", "STEP", "STATUS", "TIME", "RESULT");
	for (size_t i = 0; i < json_array_size(steps); i++) {
		const json_t *s = json_array_get(steps, i);
		char res[512], ms[32];
		if (!json_object_get(s, "step"))
			continue;  /* an on_failure hook: in the report */
		result_text(res, sizeof(res), s);
		snprintf(ms, sizeof(ms), "%lld ms",
			 json_integer_value(json_object_get(s, "duration_ms")));
		fprintf(out, "%-18s %-10s %10s  %s%s\n", s_of(s, "step"), s_of(s, "status"), ms, res,
			json_is_false(json_object_get(s, "critical")) &&
			!strcmp(s_of(s, "status"), "failed") ? " (not critical)" : "");
	}
	fprintf(out, "release %s %s: %lld succeeded, %lld failed, %lld skipped (%.1f%% of the "
		"steps run succeeded)\n", s_of(doc, "run_id"), s_of(doc, "status"),
		json_integer_value(json_object_get(sum, "succeeded")),
		json_integer_value(json_object_get(sum, "failed")),
		json_integer_value(json_object_get(sum, "skipped")),
		json_number_value(json_object_get(sum, "success_rate")));
	if (json_is_string(json_object_get(doc, "report_file")))
		fprintf(out, "report %s\n", s_of(doc, "report_file"));
}

/* As each step ends, a line on stderr (the table comes at the end). */
static void progress(const char *step, const char *status, int64_t ms, const dbs_error *err,
		     void *data)
{
	const cli *g = data;
	if (g->quiet || g->json || !strcmp(status, "skipped"))
		return;  /* (the table shows the skipped ones) */
	fprintf(stderr, "dbshift: release: %s %s (%lld ms)%s%s\n", step, status, (long long)ms,
		err ? ": " : "", err ? err->message : "");
}

int cmd_release(cli *g, dbs_ctx *ctx)
{
	char *report = NULL;
	int rc = dbs_release(ctx, &o, progress, g, &report);
	json_t *doc = report ? json_loads(report, 0, NULL) : NULL;
	int ran = doc && json_object_get(doc, "steps");
	if (g->json && report)
		json_emit(g, report);
	else if (ran && !g->quiet)
		(dry_run ? render_dry_run : render_release)(stdout, doc);
	json_decref(doc);
	free(report);
	print_warnings(g, dbs_run_warnings(ctx));
	return rc ? report_failure(g, dbs_last_error(ctx)) : 0;
}
