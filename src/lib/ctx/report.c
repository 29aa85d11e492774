/*
 * report.c - the JSON documents of the read-only commands (status, plan)
 * and of errors; runs build theirs in run.c with report_error().  Times are RFC 3339.
 */
#include <stdlib.h>
#include <string.h>

#include "ctx/ctx.h"

json_t *report_error(const dbs_error *err)
{
	static const char *codes[] = { "ok", "failed", "input", "policy", "locked", "nomem" };
	int c = -err->code;
	json_t *o = json_pack("{s:s, s:s}", "code", c >= 0 && c <= 5 ? codes[c] : "failed",
			      "message", err->message ? err->message : "unknown error");
	if (err->detail)
		json_object_set_new(o, "detail", json_string(err->detail));
	if (err->hint)
		json_object_set_new(o, "hint", json_string(err->hint));
	if (err->sqlstate)
		json_object_set_new(o, "sqlstate", json_string(err->sqlstate));
	if (err->file) {
		json_object_set_new(o, "file", json_string(err->file));
		if (err->line)
			json_object_set_new(o, "line", json_integer(err->line));
		if (err->col)
			json_object_set_new(o, "col", json_integer(err->col));
	}
	if (err->statement)
		json_object_set_new(o, "statement", json_string(err->statement));
	return o;
}

/* Every "..._at" string of doc, at any depth, in RFC 3339: the times read
 * back from either database, and from reports written before. */
void report_times(json_t *doc)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_array(doc))
		json_array_foreach(doc, i, v)
			report_times(v);
	json_object_foreach(doc, k, v) {
		size_t n = strlen(k);
		char out[64];
		if (n > 3 && !strcmp(k + n - 3, "_at")) {
			if (json_is_string(v) && rfc3339(json_string_value(v), out))
				json_string_set(v, out);
		} else
			report_times(v);
	}
}

char *report_dump(json_t *doc)
{
	report_times(doc);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}

static json_t *entry_json(const dbs_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "app", e->app, "version",
			      e->version, "name", e->name, "state", dbs_state_name(e->state),
			      "out_of_order", e->out_of_order);
	json_object_set_new(o, "file", e->path ? json_string(e->path) : json_null());
	json_object_set_new(o, "format", e->format ? json_string(e->format) : json_null());
	json_object_set_new(o, "phase", e->phase ? json_string(e->phase) : json_null());
	json_object_set_new(o, "no_transaction", json_boolean(e->no_transaction));
	json_object_set_new(o, "down_no_transaction", json_boolean(e->down_no_transaction));
	if (e->no_transaction == 2 || e->down_no_transaction == 2)  /* its file's own */
		json_object_set_new(o, "own_transaction", json_string(
			e->no_transaction == 2 && e->down_no_transaction == 2 ? "both"
			: e->no_transaction == 2 ? "up" : "down"));
	json_object_set_new(o, "irreversible", json_boolean(e->irreversible));
	if (e->state == DBS_FAILED)
		json_object_set_new(o, "failed_direction", json_string(e->failed_down ? "down" : "up"));
	if (e->state != DBS_PENDING) {
		json_object_set_new(o, "applied_at", json_string(e->applied_at));
		json_object_set_new(o, "duration_ms", e->duration_ms < 0 ? json_null()
				    : json_integer(e->duration_ms));
		json_object_set_new(o, "applied_by", json_string(e->applied_by));
	}
	if (e->message)
		json_object_set_new(o, "message", json_string(e->message));
	return o;
}

char *dbs_status_json(dbs_ctx *ctx)
{
	size_t n = 0, counts[DBS_NSTATES] = { 0 };
	int rc = dbs_status(ctx, &n);
	if (rc)
		return dbs_error_json("status", dbs_last_error(ctx));
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		const dbs_entry *e = dbs_status_entry(ctx, i);
		counts[e->state]++;
		json_array_append_new(list, entry_json(e));
	}
	json_t *summary = json_pack("{s:I}", "total", (json_int_t)n);
	for (int s = 0; s < DBS_NSTATES; s++)
		json_object_set_new(summary, dbs_state_name((dbs_state)s),
				    json_integer((json_int_t)counts[s]));
	json_t *warnings = report_lines(dbs_load_warnings(ctx));
	return report_dump(json_pack("{s:s, s:s, s:o, s:o, s:o}", "command", "status", "database",
			      dbs_database_display(ctx), "migrations", list, "summary",
			      summary, "warnings", warnings));
}

json_t *report_lines(const char *text)
{
	json_t *a = json_array();
	for (const char *p = text; p && *p;) {
		size_t len = strcspn(p, "\n");
		json_array_append_new(a, json_stringn(p, len));
		p += len + (p[len] == '\n');
	}
	return a;
}

/* The analysis of step i's script, or NULL (none made, or a framework's). */
static const lint_migration *step_lint(const dbs_plan *plan, size_t i)
{
	const dbs_step *s = &plan->steps[i];
	const migration *m = ((const plan_entry *)(const void *)s->entry)->m;
	return m && plan->lint ? lint_find(plan->lint, s->direction == DBS_UP ? &m->up : &m->down)
			       : NULL;
}

/* Step i of plan, with its statements' analysis. */
static json_t *plan_step(const dbs_plan *plan, size_t i)
{
	const dbs_step *s = &plan->steps[i];
	json_t *o = entry_json(s->entry);
	json_object_set_new(o, "direction", json_string(s->direction == DBS_UP ? "up" : "down"));
	json_object_set_new(o, "sql_file", s->file ? json_string(s->file) : json_null());
	json_object_set_new(o, "sql", s->sql ? json_string(s->sql) : json_null());
	const lint_migration *lm = step_lint(plan, i);
	if (lm) {
		json_t *stmts = json_array();
		for (size_t k = 0; k < lm->ns; k++)
			json_array_append_new(stmts, lint_statement_json(&lm->s[k]));
		json_object_set_new(o, "level", json_string(dbs_level_name(lm->level)));
		json_object_set_new(o, "score", json_integer(lm->score));
		json_object_set_new(o, "statements", stmts);
	}
	return o;
}

json_t *report_plan_steps(const dbs_plan *plan)
{
	json_t *steps = json_array();
	for (size_t i = 0; plan && i < plan->n; i++)
		json_array_append_new(steps, plan_step(plan, i));
	return steps;
}

int dbs_plan_step_lint(const dbs_plan *plan, size_t i, size_t *mig)
{
	const lint_migration *lm = plan && i < plan->n ? step_lint(plan, i) : NULL;
	if (!lm)
		return -1;
	*mig = (size_t)(lm - plan->lint->mig);
	return 0;
}

json_t *report_risk(const dbs_lint *l)
{
	return json_pack("{s:s, s:i, s:i, s:s}", "worst", dbs_level_name(l->worst), "score",
			 l->score, "top_score", l->top_score, "band", risk_band(l->worst, l->top_score));
}

/* Written a step at a time: a plan of every script of a big history was
 * twice the memory of its analysis as one jansson tree. */
char *dbs_plan_json(dbs_ctx *ctx, const char *command, const dbs_plan *plan,
		    const dbs_error *err)
{
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, "{\n  \"command\": ");
	add_json_at(&sb, json_string(command), 1);
	strbuf_adds(&sb, ",\n  \"database\": ");
	add_json_at(&sb, json_string(dbs_database_display(ctx)), 1);
	strbuf_adds(&sb, ",\n  \"steps\": [");
	size_t n = plan ? plan->n : 0;
	for (size_t i = 0; i < n; i++) {
		json_t *step = plan_step(plan, i);
		report_times(step);
		strbuf_adds(&sb, i ? ",\n    " : "\n    ");
		add_json_at(&sb, step, 2);
	}
	strbuf_adds(&sb, n ? "\n  ],\n  \"blocked\": " : "],\n  \"blocked\": ");
	strbuf_adds(&sb, plan && plan->blocked ? "true" : "false");
	if (plan && plan->lint) {
		strbuf_adds(&sb, ",\n  \"risk\": ");
		add_json_at(&sb, report_risk(plan->lint), 1);
	}
	if (err && err->code) {
		strbuf_adds(&sb, ",\n  \"error\": ");
		add_json_at(&sb, report_error(err), 1);
	}
	strbuf_adds(&sb, "\n}");
	return strbuf_detach(&sb);
}

char *dbs_error_json(const char *command, const dbs_error *err)
{
	return report_dump(json_pack("{s:s, s:s, s:o}", "command", command, "status", "failed",
			      "error", report_error(err)));
}

char *dbs_new_json(const char *path)
{
	return report_dump(json_pack("{s:s, s:s}", "command", "new", "file", path));
}
