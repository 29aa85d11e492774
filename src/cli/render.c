/*
 * render.c - text for people, from the structs of an analysis and a plan
 * (lint, plan) and from the JSON documents the library returns (assess,
 * a release's dry run, verify, doctor, data runs, backups).  The library
 * never words a line for a terminal; this file does, and only this file.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *jtext(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

long long jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : (long long)json_number_value(v);
}

static int yes(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* Each non-empty line of text, indented. */
static void put_indented(FILE *out, const char *text, const char *indent)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		if (n)
			fprintf(out, "%s%.*s\n", indent, (int)n, text);
		text += n + (text[n] != '\0');
	}
}

static const char *colour(const char *level, int on)
{
	if (!on)
		return "";
	return !strcmp(level, "red") ? "\033[31m" : !strcmp(level, "yellow") ? "\033[33m"
									    : "\033[32m";
}

/* A JSON array of names as "a, b" in buf, or NULL when it is empty. */
static const char *names(const json_t *list, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(list) && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
					 json_string_value(json_array_get(list, i)) ?: "");
	return buf[0] ? buf : NULL;
}

/* A statement of a JSON document as the struct (tables into buf). */
static void stmt_of_json(const json_t *s, dbs_lint_statement *v, char *buf, size_t n)
{
	dbs_level level = DBS_GREEN;
	dbs_level_parse(jtext(s, "level"), &level);
	*v = (dbs_lint_statement){ jtext(s, "file"), (int)jint(s, "line"), (int)jint(s, "col"),
				   jtext(s, "sql"), jtext(s, "kind"),
				   json_string_value(json_object_get(s, "lock")),
				   names(json_object_get(s, "tables"), buf, n), yes(s, "rewrites"),
				   yes(s, "scans"), yes(s, "in_transaction"), (int)jint(s, "score"),
				   level, json_array_size(json_object_get(s, "findings")) };
}

/* Its findings as structs, into fs[v->nfindings]. */
static void findings_of_json(const json_t *s, dbs_lint_finding *fs)
{
	const json_t *list = json_object_get(s, "findings");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *f = json_array_get(list, i);
		dbs_level level = DBS_GREEN;
		dbs_level_parse(jtext(f, "level"), &level);
		fs[i] = (dbs_lint_finding){ jtext(f, "rule"), jtext(f, "message"), jtext(f, "fix"),
					    level, (int)jint(f, "line"), (int)jint(f, "col"),
					    yes(f, "allowed") ? jtext(f, "reason") : NULL };
	}
}

/* "3:1 yellow ALTER TABLE, ACCESS EXCLUSIVE lock on t, rewrites [rule]" */
static void put_statement(FILE *out, const dbs_lint_statement *s, const dbs_lint_finding *fs,
			  int color)
{
	const char *level = dbs_level_name(s->level);
	fprintf(out, "%d:%d %s%-6s%s %s", s->line, s->col, colour(level, color), level,
		color ? "\033[0m" : "", s->kind);
	if (s->lock)
		fprintf(out, ", %s lock%s%s", s->lock, s->tables ? " on " : "",
			s->tables ? s->tables : "");
	if (s->rewrites)
		fputs(", rewrites", out);
	else if (s->scans)
		fputs(", scans", out);
	if (!s->in_transaction)
		fputs(", outside a transaction only", out);
	for (size_t f = 0; f < s->nfindings; f++)
		if (!fs[f].allowed)
			fprintf(out, " [%s]", fs[f].rule);
	fputc('\n', out);
}

/* A statement of a JSON document (a plan's step). */
static void put_json_statement(FILE *out, const json_t *s, int color)
{
	char buf[1024];
	dbs_lint_statement v;
	stmt_of_json(s, &v, buf, sizeof(buf));
	dbs_lint_finding *fs = calloc(v.nfindings + 1, sizeof(*fs));
	findings_of_json(s, fs);
	put_statement(out, &v, fs, color);
	free(fs);
}

void entry_label(const dbs_entry *e, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s", e->app, *e->app ? "/" : "", e->version, *e->name ? "_" : "",
		 e->name);
}

/* A step's first line: "up   app/0002_note (no transaction) (score 3, yellow)". */
static void put_step_head(FILE *out, const dbs_entry *e, int up, int scored, int score,
			  const char *level)
{
	char label[512];
	entry_label(e, label, sizeof(label));
	int notx = up ? e->no_transaction : e->down_no_transaction;
	fprintf(out, "%-4s %s%s%s", up ? "up" : "down", label,
		notx == 2 ? " (its own transaction)" : notx ? " (no transaction)" : "",
		!up && e->irreversible ? " (irreversible: no statement undoes it)" : "");
	if (scored)
		fprintf(out, " (score %d, %s)", score, level);
	fputc('\n', out);
}

static void put_risk(FILE *out, const char *band, const char *worst, long long score,
		     long long top)
{
	fprintf(out, "risk: %s (worst finding %s; score %lld in all, %lld at most in one "
		"migration): %s\n", band, worst, score, top, dbs_risk_advice(band));
}

/* The findings of statement k of migration i of l (free them). */
static dbs_lint_finding *findings_at(const dbs_lint *l, size_t i, size_t k, size_t n)
{
	dbs_lint_finding *fs = calloc(n + 1, sizeof(*fs));
	for (size_t f = 0; f < n; f++)
		dbs_lint_finding_at(l, i, k, f, &fs[f]);
	return fs;
}

/* A step of a JSON document (assess's, a release's dry run). */
static void put_step(FILE *out, const json_t *st, int with_sql, int color)
{
	int up = !strcmp(jtext(st, "direction"), "up");
	const json_t *stmts = json_object_get(st, "statements");
	dbs_entry e = { .app = jtext(st, "app"), .version = jtext(st, "version"),
			.name = jtext(st, "name"), .no_transaction = yes(st, "no_transaction"),
			.down_no_transaction = yes(st, "down_no_transaction"),
			.irreversible = yes(st, "irreversible") };
	const char *own = jtext(st, "own_transaction");
	if (*own && strcmp(own, "down"))
		e.no_transaction = 2;
	if (*own && strcmp(own, "up"))
		e.down_no_transaction = 2;
	put_step_head(out, &e, up, stmts != NULL, (int)jint(st, "score"), jtext(st, "level"));
	for (size_t k = 0; k < json_array_size(stmts); k++) {
		fputs("    ", out);
		put_json_statement(out, json_array_get(stmts, k), color);
		if (with_sql)
			put_indented(out, jtext(json_array_get(stmts, k), "sql"), "        ");
	}
	if (!stmts && with_sql && json_is_string(json_object_get(st, "sql")))
		put_indented(out, jtext(st, "sql"), "    ");
}

void render_plan(FILE *out, const json_t *doc, int with_sql, int color)
{
	const json_t *steps = json_object_get(doc, "steps");
	if (json_array_size(steps) == 0) {
		fputs("nothing to do\n", out);
		return;
	}
	for (size_t i = 0; i < json_array_size(steps); i++)
		put_step(out, json_array_get(steps, i), with_sql, color);
	const json_t *r = json_object_get(doc, "risk");
	if (r)
		put_risk(out, jtext(r, "band"), jtext(r, "worst"), jint(r, "score"),
			 jint(r, "top_score"));
}

void render_plan_of(FILE *out, const dbs_plan *plan, int with_sql, int color)
{
	if (!plan || plan->n == 0) {
		fputs("nothing to do\n", out);
		return;
	}
	for (size_t i = 0; i < plan->n; i++) {
		const dbs_step *st = &plan->steps[i];
		size_t mi = 0;
		dbs_lint_migration m = { 0 };
		int scored = !dbs_plan_step_lint(plan, i, &mi) &&
			     !dbs_lint_migration_at(plan->lint, mi, &m);
		put_step_head(out, st->entry, st->direction == DBS_UP, scored, m.score,
			      dbs_level_name(m.level));
		dbs_lint_statement s;
		for (size_t k = 0; scored && !dbs_lint_statement_at(plan->lint, mi, k, &s); k++) {
			dbs_lint_finding *fs = findings_at(plan->lint, mi, k, s.nfindings);
			fputs("    ", out);
			put_statement(out, &s, fs, color);
			free(fs);
			if (with_sql)
				put_indented(out, s.sql, "        ");
		}
		if (!scored && with_sql && st->sql)
			put_indented(out, st->sql, "    ");
	}
	if (plan->lint) {
		dbs_lint_summary c;
		dbs_lint_summarize(plan->lint, &c);
		put_risk(out, c.band, dbs_level_name(c.worst), c.score, c.top_score);
	}
}

static void human_bytes(char *buf, size_t n, long long b)
{
	if (b < 0)
		snprintf(buf, n, "size unknown");
	else if (b < 1024 * 1024)
		snprintf(buf, n, "%.1f kB", b / 1024.0);
	else if (b < 1024LL * 1024 * 1024)
		snprintf(buf, n, "%.1f MB", b / (1024.0 * 1024));
	else
		snprintf(buf, n, "%.1f GB", b / (1024.0 * 1024 * 1024));
}

static void put_table(FILE *out, const json_t *t)
{
	char size[32];
	const json_t *rows = json_object_get(t, "rows");
	char buf[1024];
	const char *idx = names(json_object_get(t, "indexes"), buf, sizeof(buf));
	human_bytes(size, sizeof(size), json_is_integer(json_object_get(t, "bytes"))
		    ? jint(t, "bytes") : -1);
	if (!yes(t, "exists"))
		fprintf(out, "  %s: does not exist yet\n", jtext(t, "table"));
	else if (yes(t, "locked"))
		fprintf(out, "  %s: size unknown: locked by another session (see blockers)\n",
			jtext(t, "table"));
	else if (json_is_integer(rows))
		fprintf(out, "  %s: %s, ~%lld rows, indexes: %s\n", jtext(t, "table"), size,
			(long long)json_integer_value(rows), idx ? idx : "none");
	else
		fprintf(out, "  %s: %s, rows unknown (never analyzed), indexes: %s\n",
			jtext(t, "table"), size, idx ? idx : "none");
}

void render_assess(FILE *out, const json_t *doc)
{
	render_plan(out, doc, 0, 0);
	const json_t *tables = json_object_get(doc, "tables");
	const json_t *blk = json_object_get(doc, "blockers");
	fputs("\ntables:\n", out);
	if (!json_array_size(tables))
		fputs("  (none)\n", out);
	for (size_t i = 0; i < json_array_size(tables); i++)
		put_table(out, json_array_get(tables, i));
	fputs("\nblockers now:\n", out);
	if (!json_array_size(blk))
		fputs("  (none)\n", out);
	for (size_t i = 0; i < json_array_size(blk); i++) {
		const json_t *b = json_array_get(blk, i);
		char age[32] = "?";
		if (json_is_integer(json_object_get(b, "age_seconds")))
			snprintf(age, sizeof(age), "%lld", jint(b, "age_seconds"));
		fprintf(out, "  pid %s, %s for %s s (user %s, %s): %s\n", jtext(b, "pid"),
			jtext(b, "kind"), age, *jtext(b, "user") ? jtext(b, "user") : "?",
			jtext(b, "detail"), jtext(b, "query"));
	}
	const json_t *r = json_object_get(doc, "risk");
	fprintf(out, "\nestimated time of rewrites, scans and index builds: %.1f s "
		"(rough: from table sizes)\n",
		json_number_value(json_object_get(doc, "estimated_seconds")));
	fprintf(out, "risk: %s (worst finding %s%s): %s\n", jtext(doc, "verdict"),
		r ? jtext(r, "worst") : "green",
		json_array_size(blk) ? ", and sessions it would wait for" : "",
		dbs_risk_advice(jtext(doc, "verdict")));
}

/* A row of values (SQL NULL as NULL), cells separated by " | ". */
static void render_row(FILE *out, const char *indent, const json_t *row)
{
	fputs(indent, out);
	for (size_t j = 0; j < json_array_size(row); j++) {
		const json_t *v = json_array_get(row, j);
		fprintf(out, "%s%s", j ? " | " : "", json_is_string(v) ? json_string_value(v) : "NULL");
	}
	fputc('\n', out);
}

/* A failed data assertion's rows (its first ones), or an invariant's
 * result before and after, under its check's line. */
void render_assertion(FILE *out, const json_t *c)
{
	const json_t *cols = json_object_get(c, "columns");
	const char *kind = jtext(c, "check");
	if (!json_is_array(cols))
		return;
	fprintf(out, "      %s\n", jtext(c, "file"));
	if (!strcmp(kind, "invariant")) {
		static const char *const when[] = { "before", "after" };
		render_row(out, "        ", cols);
		for (size_t w = 0; w < 2; w++) {
			const json_t *rows = json_object_get(c, when[w]);
			fprintf(out, "      %s:\n", when[w]);
			for (size_t i = 0; i < json_array_size(rows); i++)
				render_row(out, "        ", json_array_get(rows, i));
		}
		return;
	}
	const json_t *rows = json_object_get(c, "rows");
	render_row(out, "        ", cols);
	for (size_t i = 0; i < json_array_size(rows); i++)
		render_row(out, "        ", json_array_get(rows, i));
	long long n = jint(c, "violations");
	if ((size_t)n > json_array_size(rows) || yes(c, "more"))
		fprintf(out, "        (%s%lld rows; the first %zu shown)\n", yes(c, "more")
			? "more than " : "", n, json_array_size(rows));
}

void render_verify(FILE *out, const json_t *doc)
{
	const json_t *checks = json_object_get(doc, "checks");
	for (size_t i = 0; i < json_array_size(checks); i++) {
		const json_t *c = json_array_get(checks, i);
		const json_t *objs = json_object_get(c, "objects");
		fprintf(out, "%-4s  %s", json_array_size(objs) ? "FAIL" : "pass", jtext(c, "title"));
		for (size_t k = 0; k < json_array_size(objs); k++)
			fprintf(out, "%s%s", k ? ", " : ": ", json_string_value(json_array_get(objs, k)));
		fputc('\n', out);
		if (json_is_string(json_object_get(c, "diff")))
			fprintf(out, "%s\n", jtext(c, "diff"));
		if (json_array_size(objs))
			render_assertion(out, c);
	}
	fprintf(out, "verify: %lld of %zu checks failed\n", jint(doc, "failed"),
		json_array_size(checks));
}

void render_doctor(FILE *out, const json_t *doc)
{
	const json_t *checks = json_object_get(doc, "checks");
	for (size_t i = 0; i < json_array_size(checks); i++) {
		const json_t *o = json_array_get(checks, i);
		const char *st = jtext(o, "status");
		fprintf(out, "%-4s  %-20s %s\n", !strcmp(st, "pass") ? "pass" : !strcmp(st, "warn")
			? "WARN" : "FAIL", jtext(o, "check"), jtext(o, "message"));
		if (json_is_string(json_object_get(o, "hint")))
			fprintf(out, "      %-20s hint: %s\n", "", jtext(o, "hint"));
	}
	fprintf(out, "doctor: %lld failed, %lld warnings\n", jint(doc, "failed"),
		jint(doc, "warnings"));
}

void render_data(FILE *out, const json_t *doc, const char *file)
{
	const json_t *d = json_object_get(doc, "data");
	if (yes(doc, "dry_run")) {
		fprintf(out, "dry run: %lld rows of %s would change%s; nothing was changed\n",
			jint(doc, "rows_to_change"), jtext(doc, "table"),
			yes(doc, "finished_before") ? " (it finished earlier)" : "");
		return;
	}
	if (!d)
		return;
	long long changed = jint(d, "rows_changed"), batches = jint(d, "batches");
	const char *last = json_string_value(json_object_get(d, "last_key"));
	fprintf(out, "data run: %lld rows changed in %lld batches (longest %lld ms)", changed,
		batches, jint(d, "longest_batch_ms"));
	if (yes(d, "finished"))
		fputs(batches || changed ? "; finished\n" : "; nothing left to do\n", out);
	else
		fprintf(out, "; %s after key %s with about %lld rows left: run 'dbshift data run "
			"%s' again to resume\n", yes(d, "stopped") ? "stopped" : "paused",
			last ? last : "?", jint(d, "rows_left_estimate"), file);
}

void render_backups(FILE *out, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "backups");
	if (!json_array_size(list))
		fprintf(out, "no backups in %s\n", jtext(doc, "backup_dir"));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *b = json_array_get(list, i);
		fprintf(out, "%-20s  %-22s  %-9s  %12lld bytes  %-12s  %s%s\n", jtext(b, "id"),
			jtext(b, "created_at"), jtext(b, "format"), jint(b, "size"), jtext(b, "where"),
			jtext(b, "database"), yes(b, "encrypted") ? " (encrypted)" : "");
	}
}

void render_prune(FILE *out, const json_t *doc)
{
	int dry = yes(doc, "dry_run");
	const json_t *gone = json_object_get(doc, "removed");
	for (size_t i = 0; i < json_array_size(gone); i++) {
		const json_t *b = json_array_get(gone, i);
		fprintf(out, "%s %s (%s)\n", dry ? "would remove" : "removed", jtext(b, "id"),
			jtext(b, "why"));
	}
	fprintf(out, "%zu of %lld backups %s\n", json_array_size(gone), jint(doc, "total"),
		dry ? "would be removed" : "removed");
}

/* The last migration file read for its source lines. */
typedef struct source_file {
	char *path, *text;
} source_file;

/* Line `line` of the file at path (read once into sf), or NULL. */
static char *file_line(source_file *sf, const char *path, long line)
{
	if (!sf->path || strcmp(sf->path, path)) {
		free(sf->path);
		free(sf->text);
		sf->path = strdup(path);
		sf->text = NULL;
		FILE *f = fopen(path, "r");
		size_t n = 0;
		if (f) {
			if (getdelim(&sf->text, &n, '\0', f) < 0) {
				free(sf->text);
				sf->text = NULL;
			}
			fclose(f);
		}
	}
	const char *p = sf->text;
	for (long l = 1; p && l < line; l++)
		if ((p = strchr(p, '\n')))
			p++;
	return p ? strndup(p, strcspn(p, "\r\n")) : NULL;
}

static void put_finding(FILE *out, const dbs_lint_statement *s, const dbs_lint_finding *f,
			const char *mig_file, source_file *sf, int color)
{
	if (f->allowed) {
		fprintf(out, "    allowed [%s]: %s\n", f->rule, f->allowed);
		return;
	}
	const char *level = dbs_level_name(f->level);
	fprintf(out, "    %s:%d:%d: %s%s%s [%s] %s\n", s->file, f->line, f->col,
		colour(level, color), level, color ? "\033[0m" : "", f->rule, f->message);
	char *src = strcmp(s->file, mig_file) ? NULL : file_line(sf, mig_file, f->line);
	if (src)
		fprintf(out, "    %5d | %s\n          | %*s^\n", f->line, src, f->col - 1, "");
	free(src);
	fprintf(out, "          fix: %s\n", f->fix);
}

void render_lint(FILE *out, const dbs_lint *l, int color)
{
	source_file sf = { NULL, NULL };
	dbs_lint_migration m;
	for (size_t i = 0; !dbs_lint_migration_at(l, i, &m); i++) {
		const char *level = dbs_level_name(m.level);
		fprintf(out, "%s (score %d, %s%s%s)\n", m.file, m.score, colour(level, color),
			level, color ? "\033[0m" : "");
		if (m.irreversible)
			fputs("  irreversible: its down holds no statement, so rollback refuses it "
			      "without --allow-irreversible\n", out);
		dbs_lint_statement s;
		for (size_t k = 0; !dbs_lint_statement_at(l, i, k, &s); k++) {
			dbs_lint_finding *fs = findings_at(l, i, k, s.nfindings);
			fputs("  ", out);
			put_statement(out, &s, fs, color);
			for (size_t f = 0; f < s.nfindings; f++)
				put_finding(out, &s, &fs[f], m.file, &sf, color);
			free(fs);
		}
	}
	free(sf.path);
	free(sf.text);
	dbs_lint_summary c;
	dbs_lint_summarize(l, &c);
	for (size_t i = 0; i < c.nwarnings; i++)
		fprintf(out, "warning: %s\n", c.warnings[i]);
	fprintf(out, "%zu migration%s, %zu statement%s: %zu red, %zu yellow finding%s",
		c.migrations, c.migrations == 1 ? "" : "s", c.statements,
		c.statements == 1 ? "" : "s", c.red, c.yellow, c.red + c.yellow == 1 ? "" : "s");
	if (c.allowed)
		fprintf(out, " (%zu allowed)", c.allowed);
	fprintf(out, "; score %d (riskiest migration %d): %s risk, %s\n", c.score, c.top_score,
		c.band, c.recommendation);
}

int render_report(const char *report, void (*render)(FILE *, const json_t *))
{
	json_error_t e;
	json_t *doc = json_loads(report, 0, &e);
	if (!doc)
		return -1;
	render(stdout, doc);
	json_decref(doc);
	return 0;
}

/* What a run is at, in a few words: its step and a data run's rows while
 * it runs; its summary (or error) once it ended. */
void run_progress(const json_t *run, char *buf, size_t n)
{
	const char *st = jtext(run, "status");
	size_t at = 0;
#define PUT(...) do { int k_ = snprintf(buf + at, at < n ? n - at : 0, __VA_ARGS__); \
		      if (k_ > 0) at += (size_t)k_; } while (0)
	buf[0] = '\0';
	if (!strcmp(st, "running") || !strcmp(st, "abandoned")) {
		const json_t *total = json_object_get(run, "steps_total");
		PUT("%s", *jtext(run, "step") ? jtext(run, "step") : "starting");
		if (json_is_integer(total) && json_integer_value(total) > 1)
			PUT(" (step %lld of %lld)", jint(run, "steps_done") + 1, (long long)json_integer_value(total));
		if (*jtext(run, "current"))
			PUT(": %s", jtext(run, "current"));
		const json_t *d = json_object_get(run, "data");
		if (json_is_object(d)) {
			PUT(", %lld/%lld rows", jint(d, "rows_done"), jint(d, "rows_total"));
			if (json_is_number(json_object_get(d, "percent")))
				PUT(" (%.1f%%)", json_number_value(json_object_get(d, "percent")));
			PUT(", %.0f rows/s", json_number_value(json_object_get(d, "rate")));
			if (json_is_number(json_object_get(d, "eta_s")))
				PUT(", ETA %.0f s", json_number_value(json_object_get(d, "eta_s")));
			if (yes(d, "waiting_for_lag"))
				PUT(", waiting for replica lag");
		}
		const json_t *it = json_object_get(run, "items");
		if (json_is_object(it)) {  /* a files, bucket or mail step */
			PUT(", %lld/%lld items, %lld/%lld bytes", jint(it, "done"), jint(it, "total"),
			    jint(it, "bytes"), jint(it, "bytes_total"));
			PUT(", %.0f bytes/s", json_number_value(json_object_get(it, "rate")));
			if (json_is_number(json_object_get(it, "eta_s")))
				PUT(", ETA %.0f s", json_number_value(json_object_get(it, "eta_s")));
			if (jint(it, "failed"))
				PUT(", %lld failed", jint(it, "failed"));
		}
		if (!strcmp(st, "abandoned"))
			PUT("; its process is gone (heartbeat %lld s ago)",
			    jint(run, "heartbeat_age_ms") / 1000);
	} else {
		const json_t *s = json_object_get(run, "summary");
		const json_t *d = json_object_get(run, "data");
		if (json_is_object(d) && json_object_get(d, "rows_changed"))
			PUT("%s: %lld rows changed%s", jtext(d, "file"), jint(d, "rows_changed"),
			    yes(d, "finished") ? ", finished" : "");
		else if (json_is_object(s))
			PUT("%lld succeeded, %lld failed", jint(s, "succeeded"), jint(s, "failed"));
		const json_t *e = json_object_get(run, "error");
		const char *why = json_is_object(e) ? jtext(e, "message") : json_string_value(e);
		if (why && *why)
			PUT("%s%s", at ? ": " : "", why);
	}
	if (jint(run, "warnings") > 0)
		PUT(" [%lld warning%s]", jint(run, "warnings"), jint(run, "warnings") > 1 ? "s" : "");
#undef PUT
}

void render_runs(FILE *out, const json_t *doc)
{
	const json_t *runs = json_object_get(doc, "runs");
	fprintf(out, "database: %s\n\n", jtext(doc, "database"));
	if (!json_array_size(runs)) {
		fprintf(out, "no runs recorded yet\n");
		return;
	}
	fprintf(out, "%-32s  %-10s  %-9s  %-22s  %s\n", "RUN", "COMMAND", "STATUS", "STARTED",
		"PROGRESS");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *r = json_array_get(runs, i);
		char what[512];
		run_progress(r, what, sizeof(what));
		fprintf(out, "%-32s  %-10s  %-9s  %-22s  %s\n", jtext(r, "run_id"), jtext(r, "command"),
			jtext(r, "status"), jtext(r, "started_at"), what);
	}
}

/* What the server says of a running run's session: its progress views
 * and the locks it waits for, a line each. */
void render_server(FILE *out, const json_t *server)
{
	const json_t *act = json_object_get(server, "activity");
	const json_t *prog = json_object_get(server, "progress");
	const json_t *waits = json_object_get(server, "lock_waits");
	if (*jtext(server, "error"))
		fprintf(out, "  server: %s\n", jtext(server, "error"));
	if (json_is_object(act) && *jtext(act, "wait_event"))
		fprintf(out, "  server: %s, waiting on %s, statement running %lld s\n",
			jtext(act, "state"), jtext(act, "wait_event"), jint(act, "statement_ms") / 1000);
	for (size_t i = 0; i < json_array_size(prog); i++) {
		const json_t *p = json_array_get(prog, i);
		fprintf(out, "  %s on %s: %s", jtext(p, "view"), jtext(p, "relation"), jtext(p, "phase"));
		if (json_is_number(json_object_get(p, "percent")))
			fprintf(out, ", %.1f%% (%lld of %lld %s)",
				json_number_value(json_object_get(p, "percent")), jint(p, "done"),
				jint(p, "total"), jtext(p, "unit"));
		fputc('\n', out);
	}
	for (size_t i = 0; i < json_array_size(waits); i++) {
		const json_t *w = json_array_get(waits, i);
		fprintf(out, "  waiting %lld s for a %s lock (%s%s%s), held by pid %lld (user %s, "
			"%s, %lld s in its transaction)\n", jint(w, "waiting_ms") / 1000, jtext(w, "mode"),
			jtext(w, "lock_type"), *jtext(w, "relation") ? " on " : "", jtext(w, "relation"),
			jint(w, "blocker_pid"), jtext(w, "blocker_user"), jtext(w, "blocker_state"),
			jint(w, "blocker_transaction_ms") / 1000);
	}
}
