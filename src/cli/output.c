/*
 * output.c - how the commands speak: errors in the three parts of a
 * PostgreSQL message (plus where and which statement), plans, and runs.
 * Human text goes to stdout/stderr; with --json, one JSON document goes
 * to stdout and stays the only thing there.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void doc_tree(cli *g);

int report_failure(cli *g, const dbs_error *err)
{
	if (err->file && err->line)
		fprintf(stderr, "dbshift: error: %s:%d:%d: %s\n", err->file, err->line,
			err->col ? err->col : 1, err->message);
	else if (err->file)
		fprintf(stderr, "dbshift: error: %s: %s\n", err->file, err->message);
	else
		fprintf(stderr, "dbshift: error: %s\n", err->message ? err->message : "failed");
	if (err->detail)
		fprintf(stderr, "DETAIL: %s\n", err->detail);
	if (err->hint)
		fprintf(stderr, "HINT: %s\n", err->hint);
	if (err->statement)
		fprintf(stderr, "STATEMENT: %s\n", err->statement);
	/* the error joins the command's document (which may hold it already:
	 * a run's report), or is the document */
	if (g->json) {
		char *text = dbs_error_json(g->command ? g->command : "dbshift", err);
		json_t *doc = json_loads(text, 0, NULL);
		free(text);
		doc_tree(g);
		if (!g->doc) {
			g->doc = doc;
		} else {
			if (!json_object_get(g->doc, "error"))
				json_object_set(g->doc, "error", json_object_get(doc, "error"));
			json_decref(doc);
		}
	}
	return exit_code(err->code);
}

void json_emit_new(cli *g, json_t *doc)
{
	json_decref(g->doc);
	free(g->doc_text);
	g->doc_text = NULL;
	g->doc = doc;
}

void json_emit(cli *g, const char *text)
{
	json_emit_new(g, NULL);
	g->doc_text = text ? strdup(text) : NULL;
}

/* The document as a tree (to add to it), from its text if need be. */
static void doc_tree(cli *g)
{
	if (g->doc_text) {
		json_t *doc = json_loads(g->doc_text, 0, NULL);
		json_emit_new(g, doc);
	}
}

/*
 * A library document begins '{\n  "command": "...",' (jansson, indented,
 * in order): the envelope's keys go in after that line, as text, so a big
 * document (a plan, lint's) is not read and written again.  Else 0.
 */
static int splice(const char *text, int code)
{
	static const char head[] = "{\n  \"command\": \"";
	if (strncmp(text, head, sizeof(head) - 1))
		return 0;
	const char *p = text + sizeof(head) - 1;
	while (*p && *p != '"')
		p += *p == '\\' && p[1] ? 2 : 1;
	if (*p != '"' || (p[1] != ',' && p[1] != '\n'))
		return 0;
	int more = p[1] == ',';
	printf("%.*s,\n  \"ok\": %s,\n  \"exit_code\": %d%s\n%s\n", (int)(p + 1 - text), text,
	       code == 0 ? "true" : "false", code, more ? "," : "",
	       p + (more ? 3 : 2));
	return 1;
}

int json_finish(cli *g, int code)
{
	if (!g->json)
		return code;
	if (g->doc_text && splice(g->doc_text, code)) {
		json_emit_new(g, NULL);
		return code;
	}
	doc_tree(g);
	json_t *doc = g->doc ? g->doc : json_object();
	g->doc = NULL;
	const char *command = json_string_value(json_object_get(doc, "command"));
	json_t *out = json_pack("{s:s, s:b, s:i}", "command", command ? command : g->command
				? g->command : "dbshift", "ok", code == 0, "exit_code", code);
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v)
		if (!json_object_get(out, k))
			json_object_set(out, k, v);
	json_decref(doc);
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(out);
	return code;
}

void print_warnings(const cli *g, const char *warn)
{
	for (const char *p = warn; p && *p && !g->quiet;) {
		size_t n = strcspn(p, "\n");
		fprintf(stderr, "dbshift: warning: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

int open_ctx(cli *g, dbs_ctx **ctx, int need)
{
	dbs_error err = { 0 };
	if (!(need & NEED_DIR)) {
		free(g->opts.dir);  /* nothing to read there */
		g->opts.dir = NULL;
	}
	int rc = need & NEED_DB ? dbs_open(ctx, &g->opts, &err)
				: dbs_open_offline(ctx, &g->opts, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		return rc;
	}
	/* files the migrations directory holds that are no migration (status
	 * prints them, and what reading the history noticed, itself) */
	if (g->verbose && strcmp(g->command, "status"))
		print_warnings(g, dbs_load_warnings(*ctx));
	return 0;
}

void show_event(const dbs_event *e, void *data)
{
	cli *g = data;
	FILE *out = g->json ? stderr : stdout;
	switch (e->kind) {  /* main asks for the retries, and with -v for all */
	case DBS_EV_RETRY:
		fprintf(stderr, "dbshift: %s: attempt %d of %d gave up waiting for a lock (%s); "
			"retrying in %.1f s\n", e->what, e->attempt, e->attempts,
			e->detail ? e->detail : "lock timeout", (double)e->us / 1e6);
		break;
	case DBS_EV_LOCK_WAIT:
		fprintf(stderr, "dbshift: another migrator holds the lock%s%s%s: waiting up to "
			"%.1f s\n", e->detail ? " (" : "", e->detail ? e->detail : "",
			e->detail ? ")" : "", (double)e->us / 1e6);
		break;
	case DBS_EV_LOCK_TAKEN:
		fprintf(stderr, "dbshift: took the migrator lock after %.1f s\n", (double)e->us / 1e6);
		break;
	case DBS_EV_STATEMENT:
		fprintf(out, "  ran %s:%d (%.1f ms)\n", e->file, e->line, (double)e->us / 1e3);
		fflush(out);
		break;
	}
}

void print_step(const dbs_step *step, int64_t ms, const dbs_error *err, void *data)
{
	cli *g = data;
	char label[512];
	if (!err)
		g->done++;
	else if (step->entry->format && !strcmp(step->entry->format, "django"))
		g->failed_in_tx = 0;  /* Django's error says what Django did */
	else
		g->failed_in_tx = step->no_transaction ? 0 : step->direction == DBS_UP ? 1 : 2;
	/* redo runs in one transaction when both directions are transactional */
	g->redo_atomic = !step->entry->no_transaction && !step->entry->down_no_transaction;
	if (g->quiet || g->json)
		return;
	entry_label(step->entry, label, sizeof(label));
	const char *verb = step->direction == DBS_UP ? "applied" : "rolled back";
	if (err)
		verb = step->direction == DBS_UP ? "FAILED" : "FAILED to roll back";
	printf("%-12s %s (%lld ms)\n", verb, label, (long long)ms);
	fflush(stdout);
}

/* --verbose: how often the scripts of this run were parsed. */
static void print_parses(dbs_ctx *ctx)
{
	size_t n;
	int most = dbs_script_parses(ctx, &n);
	printf("parsed %zu script%s, each at most %d time%s\n", n, n == 1 ? "" : "s", most,
	       most == 1 ? "" : "s");
}

/* The ids a user needs next: the run's and its report's, and the backup
 * taken first (what undoes the run). */
static void print_ids(cli *g, dbs_ctx *ctx, const char *report, FILE *out)
{
	const char *id = NULL, *file = NULL, *backup = NULL;
	if (!report || g->json || g->quiet)
		return;
	dbs_last_run(ctx, &id, &file, &backup);
	if (id)
		fprintf(out, "%srun %s%s%s\n", out == stderr ? "dbshift: " : "", id,
			file ? ", report " : "", file ? file : "");
	if (backup)
		fprintf(out, "%sbackup %s was taken first: 'dbshift rollback --from-backup %s' "
			"puts the database back as it was\n", out == stderr ? "dbshift: " : "",
			backup, backup);
}

int finish_run(cli *g, dbs_ctx *ctx, int rc, char *report, const char *verb)
{
	print_warnings(g, dbs_run_warnings(ctx));
	if (rc) {
		int code = report_failure(g, dbs_last_error(ctx));
		if (g->failed_in_tx && !strcmp(g->command, "redo") && g->redo_atomic)
			fprintf(stderr, "dbshift: the redo ran in one transaction, which was rolled "
					"back: the database is as it was before the redo\n");
		else if (g->failed_in_tx)
			fprintf(stderr, "dbshift: its transaction was rolled back: the database "
					"is as it was before that %s\n", g->failed_in_tx == 1
					? "migration" : "rollback step");
		print_ids(g, ctx, report, stderr);
		rc = code;
	} else if (!g->json && !g->quiet && report) {
		if (g->done == 0)
			printf("nothing to %s\n", verb);
		else
			printf("%s: %zu migration%s\n", verb, g->done, g->done == 1 ? "" : "s");
		print_ids(g, ctx, report, stdout);
		if (g->verbose)
			print_parses(ctx);
	}
	if (g->json && report)
		json_emit(g, report);
	free(report);
	return rc;
}

int show_plan(cli *g, dbs_ctx *ctx, const char *command, int rc, const dbs_plan *plan)
{
	if (g->json) {
		char *doc = dbs_plan_json(ctx, command, plan, rc ? dbs_last_error(ctx) : NULL);
		json_emit(g, doc);
		free(doc);
	} else {
		render_plan_of(stdout, plan, !strcmp(command, "plan"), g->color);
		if (g->verbose)
			print_parses(ctx);
	}
	return rc ? report_failure(g, dbs_last_error(ctx)) : 0;
}

int parse_count(cli *g, const char *opt, const char *s, int *out)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;
	if (s && (end == s || *end || v < 1 || v > 1000000))
		return usage_error(g, "bad %s '%s': give a positive number", opt, s);
	*out = (int)v;
	return 0;
}

int parse_duration_opt(cli *g, const char *opt, const char *s, int bare_ms,
		       const char *bare_unit, int *ms)
{
	if (s && dbs_parse_duration_in(s, bare_ms, ms))
		return usage_error(g, "bad %s '%s': give a duration such as 500ms, 2s, 5min, 1h or "
				   "7d (a bare number is %s)", opt, s, bare_unit);
	return 0;
}

char *take_url_arg(const char *arg)
{
	char *copy = strdup(arg);
	size_t off, len, pos = 0;
	/* overwrite the password in our argv, where the process list reads it */
	while (dbs_url_password(arg, pos, &off, &len)) {
		memset((char *)arg + off, 'x', len);
		pos = off + len;
	}
	/* a user info with a second, unencoded '@' (refused later): all of it,
	 * up to the last '@' before the path, may be the password */
	const char *auth = strstr(arg, "://");
	if (auth) {
		auth += 3;
		size_t n = strcspn(auth, "/?#");
		const char *first = memchr(auth, '@', n), *last = NULL;
		for (const char *p = auth; p < auth + n; p++)
			if (*p == '@')
				last = p;
		if (first && last != first)
			memset((char *)auth, 'x', (size_t)(last - auth));
	}
	return copy;
}

int exit_code(int rc)
{
	switch (rc) {
	case DBS_OK: return 0;
	case DBS_EINPUT: return 2;
	case DBS_EPOLICY: return 3;
	default: return 1;
	}
}

int usage_error(cli *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dbs_error err = { .code = DBS_EINPUT, .message = msg,
			  .hint = (char *)"run 'dbshift --help' for the commands and options" };
	return report_failure(g, &err);
}

int confirm_needed(cli *g, const char *what, int yes)
{
	if (yes || isatty(STDIN_FILENO))
		return 0;
	return usage_error(g, "%s replaces the database's contents: pass --yes to confirm "
			   "when not at a terminal", what);
}

int confirm_restore(dbs_ctx *ctx, const char *id, const char *target)
{
	char *shown = target ? dbs_redact_url(target) : NULL;
	fprintf(stderr, "restore backup %s into %s, replacing what is there? type yes: ", id,
		shown ? shown : dbs_database_display(ctx));
	free(shown);
	char line[16] = "";
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n")) {
		fprintf(stderr, "dbshift: not restored: answer 'yes' to restore, or pass --yes\n");
		return 0;
	}
	return 1;
}
