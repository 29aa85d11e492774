/*
 * assertions.c - data assertions: the NAME.sql files of assertions_dir,
 * each one query whose rows are violations (zero rows: it holds).
 *
 *   -- dbshift:invariant      its result is taken before the migrations and
 *                             must be the same after them
 *   -- dbshift:timeout 30s    how long it may run (default:
 *                             statement_timeout)
 *
 * The header lines come first, before the query.  Each query runs alone
 * in a read-only transaction that is rolled back (db_query_ro); files are
 * read once per run, in the order of their names.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define DEFAULT_DIR "assertions"
#define MAX_ROWS 1000   /* rows fetched of a query: its violations are counted up to it */
#define SHOWN_ROWS 10   /* rows a report keeps of a failing one */

static const char *dir_of(const dbs_ctx *ctx)
{
	return ctx->opts.assertions_dir ? ctx->opts.assertions_dir : DEFAULT_DIR;
}

void assertions_free(assertion_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->a[i].name);
		free(set->a[i].path);
		free(set->a[i].text);
	}
	free(set->a);
	json_decref(set->before);
	memset(set, 0, sizeof(*set));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The header lines "-- dbshift:WORD [VALUE]" at the top of a's text. */
static int read_header(const dbs_ctx *ctx, assertion *a, dbs_error *err)
{
	const char *t = a->text, *p = t;
	a->timeout_ms = ctx->stmt_ms;
	for (int line = 1;; line++) {
		size_t len = strcspn(p, "\n");
		size_t lead = strspn(p, " \t");
		if (len > lead + 11 && !strncmp(p + lead, "-- dbshift:", 11)) {
			const char *w = p + lead + 11;
			size_t wl = strcspn(w, " \t\r\n");
			const char *v = w + wl + strspn(w + wl, " \t");
			size_t vl = (size_t)(p + len - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
				vl--;
			char *value = xstrndup(v, vl);
			int bad = 0;
			if (wl == 9 && !strncmp(w, "invariant", 9)) {
				a->invariant = 1;
				bad = vl != 0;  /* it takes no value */
			} else if (wl == 7 && !strncmp(w, "timeout", 7)) {
				bad = parse_duration_ms(value, &a->timeout_ms) || a->timeout_ms <= 0;
			} else {
				bad = 2;
			}
			free(value);
			if (bad) {
				dbs_fail(err, DBS_EINPUT, bad == 2 ? "unknown header '-- dbshift:%.*s'"
					 : "bad header '-- dbshift:%.*s'", (int)wl, w);
				dbs_error_set_file(err, a->path, line, (int)lead + 1);
				dbs_error_set_hint(err, "the headers are '-- dbshift:invariant' and "
						   "'-- dbshift:timeout 30s'");
				return DBS_EINPUT;
			}
		} else if (len > lead && strncmp(p + lead, "--", 2) && p[lead] != '\r') {
			break;  /* the query */
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	a->body = (size_t)(p - t);
	return 0;
}

/* The query's own statement boundaries, where the driver has a parser:
 * SQL that does not parse, or more than one statement, is refused here,
 * before anything runs. */
static int check_sql(const dbs_ctx *ctx, const assertion *a, dbs_error *err)
{
	size_t (*spans)[2] = NULL, n = 0, off = 0;
	const char *q = a->text + a->body;
	if (!db_can_split(ctx->driver))
		return 0;
	int rc = db_split(ctx->driver, q, &spans, &n, &off, err);
	if (!rc && n != 1) {
		off = n ? spans[1][0] + sql_skip_space(q + spans[1][0], spans[1][1]) : 0;
		rc = dbs_fail(err, DBS_EINPUT, n ? "more than one statement: an assertion is "
			      "one query" : "no query");
		dbs_error_set_hint(err, "write one query (SELECT ...) whose rows are the "
				   "violations");
	}
	free(spans);
	if (rc) {
		int line, col;
		text_position(a->text, a->body + off, &line, &col);
		dbs_error_set_file(err, a->path, line, col);
	}
	return rc;
}

/* Is a file of the directory, by its name, an assertion? */
static int is_assertion(const char *name)
{
	return name[0] != '.' && ends_with(name, ".sql") && strlen(name) > 4;
}

int assertions_present(const dbs_ctx *ctx)
{
	DIR *d = opendir(dir_of(ctx));
	struct dirent *de;
	int found = 0;
	while (d && !found && (de = readdir(d)))
		found = is_assertion(de->d_name);
	if (d)
		closedir(d);
	return found;
}

int assertions_load(dbs_ctx *ctx, int need, assertion_set *set)
{
	dbs_error *err = &ctx->err;
	const char *dir = dir_of(ctx);
	memset(set, 0, sizeof(*set));
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT && !ctx->opts.assertions_dir && !need)
			return 0;  /* no assertions: none to check */
		dbs_fail(err, DBS_EINPUT, "cannot read the assertions directory '%s': %s", dir,
			 strerror(errno));
		dbs_error_set_hint(err, "make it, with a NAME.sql query whose rows are violations, "
				   "or set assertions_dir in dbshift.conf");
		return DBS_EINPUT;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (is_assertion(de->d_name)) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	set->a = xcalloc(n + 1, sizeof(*set->a));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		assertion *a = &set->a[set->n];
		size_t len = 0;
		a->path = xprintf("%s/%s", dir, names[i]);
		a->name = xstrndup(names[i], strlen(names[i]) - 4);
		set->n++;
		if (!rc && read_file(a->path, &a->text, &len) < 0) {
			rc = dbs_fail(err, DBS_EINPUT, "cannot read assertion '%s': %s", a->path,
				      read_file_error(errno));
			dbs_error_set_hint(err, "make it a readable file, or remove it");
		}
		if (!rc)
			rc = check_text(a->path, a->text, len, err);
		if (!rc)
			rc = read_header(ctx, a, err);
		if (!rc)
			rc = check_sql(ctx, a, err);
		set->ninvariants += a->invariant;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!rc && need && !set->n) {
		rc = dbs_fail(err, DBS_EINPUT, "no assertions in '%s'", dir);
		dbs_error_set_hint(err, "write NAME.sql there, a query whose rows are violations, "
				   "or turn assertions off");
	}
	if (rc)
		assertions_free(set);
	return rc;
}

/* Run a's query: its rows (at most MAX_ROWS, *more past them).  A failure
 * names a's file and line (and, if named, the assertion in its message). */
static int run_one(dbs_ctx *ctx, const assertion *a, int named, db_rows **rows, int *more)
{
	size_t off = 0;
	int rc = db_query_ro(ctx->driver, ctx->conn, a->text + a->body, a->timeout_ms, MAX_ROWS,
			     rows, more, &off, &ctx->err);
	if (rc) {
		int line, col;
		text_position(a->text, a->body + off, &line, &col);
		dbs_error_set_file(&ctx->err, a->path, line, col);
		if (named) {
			char *msg = xprintf("%s %s: %s", a->invariant ? "invariant" : "assertion",
					    a->name, ctx->err.message);
			free(ctx->err.message);
			ctx->err.message = msg;
		}
	}
	return rc;
}

/* The names of r's columns. */
static json_t *names_json(const db_rows *r)
{
	json_t *a = json_array();
	for (size_t j = 0; j < r->ncols; j++)
		json_array_append_new(a, json_string(r->names && r->names[j] ? r->names[j] : "?"));
	return a;
}

/* rows as [[v, ...], ...], the first max of them (SQL NULL: null). */
static json_t *rows_json(const db_rows *r, size_t max)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nrows && i < max; i++) {
		json_t *row = json_array();
		for (size_t j = 0; j < r->ncols; j++)
			json_array_append_new(row, DB_VAL(r, i, j) ? json_string(DB_VAL(r, i, j))
						   : json_null());
		json_array_append_new(a, row);
	}
	return a;
}

int assertions_before(dbs_ctx *ctx, assertion_set *set)
{
	json_decref(set->before);
	set->before = json_object();
	for (size_t i = 0; i < set->n; i++) {
		const assertion *a = &set->a[i];
		db_rows *r = NULL;
		int more = 0;
		if (!a->invariant)
			continue;
		if (run_one(ctx, a, 0, &r, &more)) {
			/* a table the migrations make is not there yet, say: nothing
			 * to hold, and so nothing to check after them */
			ctx_warn(ctx, "invariant %s not checked: it cannot run before the "
				 "migrations: %s", a->name, ctx->err.message);
			dbs_error_clear(&ctx->err);
			continue;
		}
		if (more) {
			db_rows_free(r);
			dbs_fail(&ctx->err, DBS_EFAIL, "invariant %s has more than %d rows", a->name,
				 MAX_ROWS);
			dbs_error_set_file(&ctx->err, a->path, 0, 0);
			dbs_error_set_hint(&ctx->err, "an invariant is a summary that stays the same "
					   "(SELECT count(*), sum(amount) FROM ...)");
			return DBS_EFAIL;
		}
		json_object_set_new(set->before, a->name, rows_json(r, MAX_ROWS));
		db_rows_free(r);
	}
	return 0;
}

int assertions_check(dbs_ctx *ctx, const assertion_set *set, json_t *checks, int *failed)
{
	for (size_t i = 0; i < set->n; i++) {
		const assertion *a = &set->a[i];
		const json_t *before = set->before ? json_object_get(set->before, a->name) : NULL;
		if (a->invariant && !before)
			continue;  /* nothing to compare with: taken around migrations only */
		db_rows *r = NULL;
		int more = 0;
		int rc = run_one(ctx, a, 1, &r, &more);
		if (rc)
			return rc;
		json_t *c, *objs = json_array();
		char *title = xprintf("%s %s", a->invariant ? "invariant" : "assertion", a->name);
		if (a->invariant) {
			json_t *after = rows_json(r, MAX_ROWS);
			int same = !more && json_equal(before, after);
			if (!same)
				json_array_append_new(objs, json_string("changed"));
			c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:o}", "check", "invariant",
				      "name", a->name, "file", a->path, "title", title, "status",
				      same ? "pass" : "fail", "objects", objs, "before", before,
				      "after", after);
		} else {
			if (r->nrows)
				json_array_append_new(objs, json_sprintf("%s%zu violation%s",
					more ? "more than " : "", r->nrows,
					r->nrows == 1 && !more ? "" : "s"));
			c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:o}", "check",
				      "assertion", "name", a->name, "file", a->path, "title", title,
				      "status", r->nrows ? "fail" : "pass", "objects", objs,
				      "violations", (json_int_t)r->nrows, "more", more, "rows",
				      rows_json(r, SHOWN_ROWS));
		}
		json_object_set_new(c, "columns", names_json(r));
		free(title);
		*failed += json_array_size(objs) > 0;
		db_rows_free(r);
		json_array_append_new(checks, c);
	}
	return 0;
}

json_t *assertions_list(const assertion_set *set)
{
	json_t *a = json_array();
	for (size_t i = 0; i < set->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:i}", "name", set->a[i].name,
						   "file", set->a[i].path, "invariant",
						   set->a[i].invariant, "timeout_ms",
						   set->a[i].timeout_ms));
	return a;
}

/* A row as "a | b" into sb. */
static void row_text(strbuf *sb, const json_t *row)
{
	for (size_t j = 0; j < json_array_size(row); j++) {
		const json_t *v = json_array_get(row, j);
		strbuf_addf(sb, "%s%s", j ? " | " : "", json_is_string(v) ? json_string_value(v)
			    : "NULL");
	}
}

char *assertions_failures(const json_t *checks)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < json_array_size(checks); i++) {
		const json_t *c = json_array_get(checks, i);
		const json_t *objs = json_object_get(c, "objects");
		const char *kind = json_string_value(json_object_get(c, "check"));
		if (!json_array_size(objs) || !kind || (strcmp(kind, "assertion") &&
							strcmp(kind, "invariant")))
			continue;
		strbuf_addf(&sb, "%s%s: ", sb.len ? "; " : "",
			    json_string_value(json_object_get(c, "title")));
		if (!strcmp(kind, "invariant")) {
			const json_t *b = json_object_get(c, "before"), *a = json_object_get(c, "after");
			strbuf_adds(&sb, "before ");
			row_text(&sb, json_array_get(b, 0));
			strbuf_adds(&sb, ", after ");
			row_text(&sb, json_array_get(a, 0));
		} else {
			strbuf_addf(&sb, "%s, first ", json_string_value(json_array_get(objs, 0)));
			row_text(&sb, json_array_get(json_object_get(c, "rows"), 0));
		}
	}
	return strbuf_detach(&sb);
}
