/*
 * lint_report.c - the analysis as text (with the SQL line and a caret),
 * JSON, SARIF 2.1.0 (code scanning) and GitHub workflow annotations.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyze/lint.h"


typedef struct counts {
	size_t statements, findings, red, yellow, suppressed;
} counts;

static counts count(const dbs_lint *l)
{
	counts c = { 0 };
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			c.statements++;
			for (size_t f = 0; f < s->nf; f++) {
				if (s->f[f].reason) {
					c.suppressed++;
					continue;
				}
				c.findings++;
				if (s->f[f].rule->level == DBS_RED)
					c.red++;
				else if (s->f[f].rule->level == DBS_YELLOW)
					c.yellow++;
			}
		}
	return c;
}

void dbs_lint_summarize(const dbs_lint *l, dbs_lint_summary *out)
{
	counts c = count(l);
	const char *band = risk_band(l->worst, l->top_score);
	*out = (dbs_lint_summary){ l->n, c.statements, c.red, c.yellow, c.suppressed,
				   (const char *const *)l->warnings, l->nwarnings, l->score,
				   l->top_score, l->worst, band, risk_advice(band) };
}

int dbs_lint_migration_at(const dbs_lint *l, size_t i, dbs_lint_migration *out)
{
	if (i >= l->n)
		return -1;
	const lint_migration *lm = &l->mig[i];
	*out = (dbs_lint_migration){ lm->m->app, lm->m->version, lm->m->name, lm->sec->file,
				     lm->score, lm->level, lm->irreversible, lm->ns };
	return 0;
}

int dbs_lint_statement_at(const dbs_lint *l, size_t i, size_t k, dbs_lint_statement *out)
{
	if (i >= l->n || k >= l->mig[i].ns)
		return -1;
	const stmt_info *s = &l->mig[i].s[k];
	*out = (dbs_lint_statement){ s->file, s->line, s->col, s->text, s->kind, s->lock,
				     s->tables, s->rewrites, s->scans, !s->no_tx_only, s->score,
				     s->level, s->nf };
	return 0;
}

int dbs_lint_finding_at(const dbs_lint *l, size_t i, size_t k, size_t f,
			dbs_lint_finding *out)
{
	if (i >= l->n || k >= l->mig[i].ns || f >= l->mig[i].s[k].nf)
		return -1;
	const finding *x = &l->mig[i].s[k].f[f];
	*out = (dbs_lint_finding){ x->rule->id, x->message, FINDING_FIX(x), x->rule->level,
				   x->line, x->col, x->reason };
	return 0;
}

static json_t *finding_json(const finding *f)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "rule", f->rule->id, "level",
			      dbs_level_name(f->rule->level), "message", f->message, "fix",
			      FINDING_FIX(f), "line", f->line, "col", f->col);
	json_object_set_new(o, "allowed", json_boolean(f->reason != NULL));
	if (f->reason)
		json_object_set_new(o, "reason", json_string(f->reason));
	return o;
}

json_t *lint_name_list(const char *names)
{
	json_t *a = json_array();
	for (const char *p = names; p && *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		p += strspn(p, ", ");
	}
	return a;
}

json_t *lint_statement_json(const stmt_info *s)
{
	json_t *fs = json_array();
	for (size_t f = 0; f < s->nf; f++)
		json_array_append_new(fs, finding_json(&s->f[f]));
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:o, s:b, s:b, s:b, s:s, s:i, s:o}",
		"file", s->file, "line", s->line, "col", s->col, "kind", s->kind,
		"sql", s->text, "lock", s->lock ? json_string(s->lock) : json_null(),
		"tables", lint_name_list(s->tables),
		"rewrites", s->rewrites, "scans", s->scans,
		"in_transaction", !s->no_tx_only, "level", dbs_level_name(s->level),
		"score", s->score, "findings", fs);
}

void add_json_at(strbuf *sb, json_t *v, int depth)
{
	/* a string holds no raw newline: each one is where an indent goes */
	char *t = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	for (char *p = t, *nl; *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n'))) {
			strbuf_adds(sb, p);
			break;
		}
		strbuf_add(sb, p, (size_t)(nl - p) + 1);
		strbuf_addf(sb, "%*s", depth * 2, "");
	}
	free(t);
	json_decref(v);
}

/* The JSON document, written a migration at a time: as one jansson tree
 * it was most of a big lint's memory (59 MB for 10,000 statements, 32 MB
 * written this way). */
static char *lint_json(const dbs_lint *l)
{
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, "{\n  \"command\": \"lint\",\n  \"dialect\": ");
	add_json_at(&sb, json_string(l->dialect->name), 1);
	strbuf_adds(&sb, ",\n  \"migrations\": [");
	for (size_t i = 0; i < l->n; i++) {
		const lint_migration *lm = &l->mig[i];
		json_t *stmts = json_array();
		for (size_t k = 0; k < lm->ns; k++)
			json_array_append_new(stmts, lint_statement_json(&lm->s[k]));
		strbuf_adds(&sb, i ? ",\n    " : "\n    ");
		add_json_at(&sb, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:o}",
			"app", lm->m->app, "version", lm->m->version, "name", lm->m->name,
			"file", lm->sec->file, "score", lm->score, "level",
			dbs_level_name(lm->level), "irreversible", lm->irreversible,
			"statements", stmts), 2);
	}
	strbuf_adds(&sb, l->n ? "\n  ],\n  \"warnings\": " : "],\n  \"warnings\": ");
	json_t *warn = json_array();
	for (size_t i = 0; i < l->nwarnings; i++)
		json_array_append_new(warn, json_string(l->warnings[i]));
	add_json_at(&sb, warn, 1);
	counts c = count(l);
	const char *band = risk_band(l->worst, l->top_score);
	strbuf_adds(&sb, ",\n  \"summary\": ");
	add_json_at(&sb, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "total",
		(json_int_t)c.statements, "migrations", (json_int_t)l->n, "statements",
		(json_int_t)c.statements, "red", (json_int_t)c.red, "yellow", (json_int_t)c.yellow,
		"allowed", (json_int_t)c.suppressed), 1);
	strbuf_adds(&sb, ",\n  \"risk\": ");
	add_json_at(&sb, json_pack("{s:s, s:i, s:i, s:s, s:s}", "worst", dbs_level_name(l->worst),
		"score", l->score, "top_score", l->top_score, "band", band,
		"recommendation", risk_advice(band)), 1);
	strbuf_adds(&sb, "\n}");
	return strbuf_detach(&sb);
}

static json_t *sarif(const dbs_lint *l)
{
	json_t *rules = json_array(), *results = json_array();
	/* rules that fired, in order of first appearance */
	json_t *seen = json_object();
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			for (size_t f = 0; f < s->nf; f++) {
				const finding *fd = &s->f[f];
				if (!json_object_get(seen, fd->rule->id)) {
					json_object_set_new(seen, fd->rule->id,
							    json_integer((json_int_t)json_array_size(rules)));
					char *uri = xprintf("docs/rules.md#%s", fd->rule->id);
					json_array_append_new(rules, json_pack(
						"{s:s, s:{s:s}, s:{s:s}, s:s, s:{s:s}}", "id", fd->rule->id,
						"shortDescription", "text", fd->rule->id, "help", "text",
						fd->rule->fix, "helpUri", uri, "defaultConfiguration", "level",
						fd->rule->level == DBS_RED ? "error" : "warning"));
					free(uri);
				}
				json_t *r = json_pack("{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i, s:i}}}]}",
					"ruleId", fd->rule->id,
					"ruleIndex", json_integer_value(json_object_get(seen, fd->rule->id)),
					"level", fd->rule->level == DBS_RED ? "error" : "warning",
					"message", "text", fd->message, "locations", "physicalLocation",
					"artifactLocation", "uri", s->file, "region", "startLine", fd->line,
					"startColumn", fd->col);
				if (fd->reason)
					json_object_set_new(r, "suppressions", json_pack("[{s:s, s:s}]",
						"kind", "inSource", "justification", fd->reason));
				json_array_append_new(results, r);
			}
		}
	json_decref(seen);
	return json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}",
		"$schema", "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
		"runs", "tool", "driver", "name", "dbshift", "version", DBSHIFT_VERSION,
		"rules", rules, "results", results);
}

/* GitHub workflow command escaping: data, and property values. */
static void gh_escape(strbuf *sb, const char *s, int property)
{
	for (; *s; s++) {
		if (*s == '%')
			strbuf_adds(sb, "%25");
		else if (*s == '\r')
			strbuf_adds(sb, "%0D");
		else if (*s == '\n')
			strbuf_adds(sb, "%0A");
		else if (property && *s == ':')
			strbuf_adds(sb, "%3A");
		else if (property && *s == ',')
			strbuf_adds(sb, "%2C");
		else
			strbuf_add(sb, s, 1);
	}
}

static char *github(const dbs_lint *l)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			for (size_t f = 0; f < s->nf; f++) {
				const finding *fd = &s->f[f];
				if (fd->reason)
					continue;
				strbuf_addf(&sb, "::%s file=", fd->rule->level == DBS_RED ? "error" : "warning");
				gh_escape(&sb, s->file, 1);
				strbuf_addf(&sb, ",line=%d,col=%d,title=", fd->line, fd->col);
				gh_escape(&sb, fd->rule->id, 1);
				strbuf_adds(&sb, "::");
				char *msg = xprintf("%s (fix: %s)", fd->message, FINDING_FIX(fd));
				gh_escape(&sb, msg, 0);
				free(msg);
				strbuf_adds(&sb, "\n");
			}
		}
	for (size_t i = 0; i < l->nwarnings; i++) {
		strbuf_adds(&sb, "::warning::");
		gh_escape(&sb, l->warnings[i], 0);
		strbuf_adds(&sb, "\n");
	}
	return strbuf_detach(&sb);
}

char *dbs_lint_render(const dbs_lint *l, const char *format)
{
	json_t *doc = NULL;
	if (!strcmp(format, "github"))
		return github(l);
	if (!strcmp(format, "json"))
		return lint_json(l);
	if (!strcmp(format, "sarif"))
		doc = sarif(l);
	else
		return NULL;
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}
