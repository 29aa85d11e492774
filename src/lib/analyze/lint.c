/*
 * lint.c - the rules, suppressions, scores and the schema model; the
 * dialects (lint_pg.c, lint_sqlite.c) say what each statement does, this
 * file decides what that means.  Every rule has a page in docs/rules.md.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/lint.h"

static const rule rules[] = {
	{ "index-not-concurrent", DBS_RED,
	  "CREATE INDEX CONCURRENTLY in a migration marked -- dbshift:no-transaction" },
	{ "drop-index-not-concurrent", DBS_YELLOW,
	  "DROP INDEX CONCURRENTLY in a migration marked -- dbshift:no-transaction" },
	{ "concurrently-in-transaction", DBS_RED,
	  "add -- dbshift:no-transaction to the migration's header" },
	{ "add-column-volatile-default", DBS_RED,
	  "add the column without a default, set the default, then backfill in batches" },
	{ "add-column-generated-stored", DBS_RED,
	  "add a plain column, fill it in batches, then keep it current with a trigger" },
	{ "add-column-not-null-no-default", DBS_RED,
	  "add the column nullable (or with a default), backfill, then add NOT NULL safely" },
	{ "add-column-not-null-default", DBS_YELLOW,
	  "make sure the code that inserts rows sets the column or relies on the default" },
	{ "set-not-null", DBS_RED,
	  "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; "
	  "then SET NOT NULL (no scan) and DROP CONSTRAINT c" },
	{ "set-not-null-checked", DBS_YELLOW,
	  "drop the CHECK constraint once NOT NULL is set" },
	{ "constraint-not-valid", DBS_RED,
	  "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later statement" },
	{ "unique-not-using-index", DBS_RED,
	  "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX" },
	{ "alter-column-type", DBS_RED,
	  "add a new column, backfill it in batches, switch reads, then drop the old one" },
	{ "alter-column-type-compatible", DBS_YELLOW,
	  "run it with a lock_timeout; no backfill is needed" },
	{ "rename", DBS_YELLOW,
	  "add the new name alongside (column or view), deploy code that uses it, then drop the old" },
	{ "drop-object", DBS_RED,
	  "stop using it in the code first, deploy, then drop it in a contract migration" },
	{ "truncate", DBS_RED,
	  "DELETE in batches (dbshift data run) if other sessions use the table" },
	{ "dml-without-where", DBS_RED,
	  "add a WHERE clause, or run it in batches with dbshift data run" },
	{ "vacuum-full", DBS_RED,
	  "plain VACUUM, or pg_repack to reclaim space online" },
	{ "cluster", DBS_RED, "pg_repack --order-by to reorder online" },
	{ "table-rewrite", DBS_RED,
	  "on a big table: pg_repack, or a new table filled in batches and swapped in" },
	{ "reindex-not-concurrent", DBS_RED,
	  "REINDEX ... CONCURRENTLY in a migration marked -- dbshift:no-transaction" },
	{ "prefer-jsonb", DBS_YELLOW, "use jsonb" },
	{ "prefer-bigint-key", DBS_YELLOW, "bigint GENERATED ALWAYS AS IDENTITY" },
	{ "prefer-text", DBS_YELLOW, "text, with a CHECK (length(col) <= n) if a limit matters" },
	{ "prefer-timestamptz", DBS_YELLOW, "timestamptz (timestamp with time zone)" },
	{ "missing-lock-timeout", DBS_YELLOW,
	  "SET lock_timeout = '2s'; before the statement (or lock_timeout in dbshift.conf)" },
	{ "transaction-control", DBS_RED,
	  "remove it: dbshift runs each migration in its own transaction "
	  "(or none, with -- dbshift:no-transaction)" },
	{ "releases-migrator-lock", DBS_RED,
	  "remove it: dbshift holds its migrator lock on the session that runs the migration "
	  "(release your own advisory locks by key, with pg_advisory_unlock)" },
	{ "syntax-error", DBS_RED, "fix the SQL" },
	{ "sqlite-unsupported-alter", DBS_RED,
	  "rebuild the table: CREATE TABLE new, INSERT ... SELECT, DROP old, RENAME new" },
	{ "sqlite-table-rebuild", DBS_YELLOW,
	  "follow SQLite's 12-step table rebuild procedure (https://sqlite.org/lang_altertable.html)" },
	{ "opaque-operation", DBS_RED,
	  "make it SQL (RunSQL) where it can be; else run it apart, with a backup, after "
	  "reading what its code changes" },
	{ "django-dropped-default", DBS_YELLOW,
	  "deploy the code that writes the column before migrating, or add the field with "
	  "null=True and make it NOT NULL in a later migration" },
	{ NULL, DBS_GREEN, NULL }
};

const rule *rule_find(const char *id)
{
	for (const rule *r = rules; r->id; r++)
		if (!strcmp(r->id, id))
			return r;
	return NULL;
}

const lint_dialect *lint_dialect_for(const db_driver *d)
{
	static const lint_dialect *const dialects[] = { &lint_postgres, &lint_sqlite };
	for (size_t i = 0; d && i < sizeof(dialects) / sizeof(dialects[0]); i++)
		if (!strcmp(dialects[i]->name, d->name))
			return dialects[i];
	return &lint_postgres;
}

const char *dbs_level_name(dbs_level l)
{
	static const char *names[] = { "green", "yellow", "red" };
	return names[l];
}

int dbs_level_parse(const char *s, dbs_level *out)
{
	for (int l = DBS_GREEN; l <= DBS_RED; l++)
		if (!strcmp(s, dbs_level_name((dbs_level)l))) {
			*out = (dbs_level)l;
			return 0;
		}
	return DBS_EINPUT;
}

const char *risk_band(dbs_level worst, int top_score)
{
	/* the score's band, raised to what the worst finding says */
	const char *band = top_score <= 5 ? "low" : top_score <= 15 ? "medium" : "high";
	if (worst == DBS_RED)
		return "high";
	if (worst == DBS_YELLOW && !strcmp(band, "low"))
		return "medium";
	return band;
}

const char *risk_advice(const char *band)
{
	if (!strcmp(band, "low"))
		return "safe to run during normal traffic; keep a lock_timeout set";
	if (!strcmp(band, "medium"))
		return "run off-peak with lock_timeout set, and check 'dbshift assess' for "
		       "table sizes and blockers first";
	return "split it into expand and contract migrations, take a backup first, and "
	       "run it in a maintenance window";
}

const char *dbs_risk_advice(const char *band)
{
	return risk_advice(band);
}

/* ---- the schema model ---- */

/* The slot of table, or (add) a free one for it; NULL when absent. */
static model_table *table_slot(const lint_model *mm, const char *table, int add)
{
	if (!mm->cap)
		return NULL;
	model_table *free_slot = NULL;
	for (size_t i = (size_t)fnv1a(table) & (mm->cap - 1);; i = (i + 1) & (mm->cap - 1)) {
		model_table *t = &mm->t[i];
		if (t->name && !strcmp(t->name, table))
			return t;
		if (t->gone && !free_slot)
			free_slot = t;
		if (!t->name && !t->gone)
			return add ? (free_slot ? free_slot : t) : NULL;
	}
}

static void model_grow(lint_model *mm)
{
	lint_model old = *mm;
	mm->cap = old.cap ? old.cap * 2 : 64;
	mm->t = xcalloc(mm->cap, sizeof(model_table));
	mm->used = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.t[i].name) {
			*table_slot(mm, old.t[i].name, 1) = old.t[i];
			mm->used++;
		}
	free(old.t);
}

/* The table's entry, created empty when absent. */
static model_table *table_get(lint_model *mm, const char *table)
{
	model_table *t = table_slot(mm, table, 0);
	if (t)
		return t;
	if ((mm->used + 1) * 10 >= mm->cap * 7)
		model_grow(mm);
	t = table_slot(mm, table, 1);
	if (!t->gone)
		mm->used++;
	*t = (model_table){ .name = xstrdup(table) };
	return t;
}

static model_col *model_find(const lint_model *mm, const char *table, const char *column)
{
	model_table *t = table_slot(mm, table, 0);
	for (size_t i = 0; t && i < t->n; i++)
		if (!strcmp(t->cols[i].column, column))
			return &t->cols[i];
	return NULL;
}

const char *model_type(const lint_model *mm, const char *table, const char *column)
{
	model_col *c = model_find(mm, table, column);
	return c ? c->type : NULL;
}

void model_set(lint_model *mm, const char *table, const char *column, const char *type)
{
	model_col *c = model_find(mm, table, column);
	if (!c) {
		model_table *t = table_get(mm, table);
		t->cols = xrealloc(t->cols, (t->n + 1) * sizeof(model_col));
		c = &t->cols[t->n++];
		c->column = xstrdup(column);
		c->type = NULL;
	}
	free(c->type);
	c->type = xstrdup(type);
}

static void table_clear(model_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->cols[i].column);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->name);
	*t = (model_table){ .gone = 1 };
}

/* Dropped: known to have no columns (the database is not asked). */
static void table_empty(model_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->cols[i].column);
		free(t->cols[i].type);
	}
	free(t->cols);
	t->cols = NULL;
	t->n = 0;
}

void model_drop_table(lint_model *mm, const char *table)
{
	model_table *t = table_get(mm, table);
	table_empty(t);
	t->complete = 1;
}

void model_mark_created(lint_model *mm, const char *table)
{
	table_get(mm, table)->created = 1;
}

int model_knows(const lint_model *mm, const char *table)
{
	const model_table *t = table_slot(mm, table, 0);
	return t && t->complete;
}

const model_table *model_table_of(const lint_model *mm, const char *table)
{
	const model_table *t = table_slot(mm, table, 0);
	return t && t->complete ? t : NULL;
}

/* Rename a column (column != NULL) or a table (column == NULL) to `to`. */
void model_rename(lint_model *mm, const char *table, const char *column, const char *to)
{
	model_table *t = table_slot(mm, table, 0);
	if (!t)
		return;
	if (column) {
		for (size_t i = 0; i < t->n; i++)
			if (!strcmp(t->cols[i].column, column)) {
				free(t->cols[i].column);
				t->cols[i].column = xstrdup(to);
			}
		return;
	}
	if (!strcmp(table, to))
		return;
	model_table moved = *t;
	t->cols = NULL;  /* the old name stays known, without columns */
	t->n = 0;
	t->complete = 1;
	t->created = 0;
	model_table *dst = table_get(mm, to);
	dst->complete = moved.complete;
	dst->created = moved.created;
	dst->cols = xrealloc(dst->cols, (dst->n + moved.n + 1) * sizeof(model_col));
	memcpy(dst->cols + dst->n, moved.cols, moved.n * sizeof(model_col));
	dst->n += moved.n;
	free(moved.cols);
}

void model_release(lint_model *mm)
{
	for (size_t i = 0; i < mm->cap; i++)
		if (mm->t[i].name)
			table_clear(&mm->t[i]);
	free(mm->t);
	*mm = (lint_model){ 0 };
}

/* ---- per-statement helpers for the dialects ---- */

/* Created earlier in this migration, or by a pending one before it in
 * the same plan: either way it has no rows yet. */
int lint_is_new_table(const lint_state *st, const char *table)
{
	for (size_t i = 0; i < st->nnew; i++)
		if (!strcmp(st->new_tables[i], table))
			return 1;
	const model_table *t = table_slot(st->model, table, 0);
	return t && t->created;
}

void lint_add_new_table(lint_state *st, const char *table)
{
	if (!st->record_only && st->one_plan)
		model_mark_created(st->model, table);
	st->new_tables = xrealloc(st->new_tables, (st->nnew + 1) * sizeof(char *));
	st->new_tables[st->nnew++] = xstrdup(table);
}

void stmt_locate(lint_state *st, stmt_info *s, size_t off, int *line, int *col)
{
	(void)s;
	if (!st->at_line || off < st->at_off) {
		st->at_off = 0;
		st->at_line = st->at_col = 1;
	}
	st->at_off = text_advance(st->sec->sql, st->at_off, off, &st->at_line, &st->at_col);
	*line = st->at_line + st->sec->line - 1;
	*col = st->at_col;
}

void stmt_finding(lint_state *st, stmt_info *s, const char *id, size_t off,
		  const char *fmt, ...)
{
	if (st->record_only)
		return;
	size_t n, idn = strlen(id);
	for (const char *p = st->exclude ? st->exclude : ""; (n = list_word(&p)); p += n)
		if (n == idn && !strncmp(p, id, n))
			return;  /* lint_exclude: the project does not want it */
	const rule *r = rule_find(id);
	s->f = xrealloc(s->f, (s->nf + 1) * sizeof(finding));
	finding *f = &s->f[s->nf++];
	memset(f, 0, sizeof(*f));
	f->rule = r;
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->message = xstrdup(buf);
	stmt_locate(st, s, off, &f->line, &f->col);
}

void stmt_set_tables(stmt_info *s, const char *table)
{
	if (!table)
		return;
	if (!s->tables) {
		s->tables = xstrdup(table);
		return;
	}
	char *t = xprintf("%s, %s", s->tables, table);
	free(s->tables);
	s->tables = t;
}

static void lint_warn(dbs_lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lint_warn(dbs_lint *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->warnings = xrealloc(l->warnings, (l->nwarnings + 1) * sizeof(char *));
	l->warnings[l->nwarnings++] = xstrdup(buf);
}

/* ---- suppressions: -- dbshift:allow RULE reason ---- */

typedef struct allow {
	int line;
	const rule *rule;
	char *reason;
	int used;
} allow;

/* Read the allow comments of a section; unknown rules are input errors. */
static int read_allows(const section *sec, allow **out, size_t *n, dbs_lint *l, dbs_error *err)
{
	*out = NULL;
	*n = 0;
	const char *p = sec->sql;
	int line = sec->line;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *ln = xstrndup(p, len);
		char *c = strstr(ln, "-- dbshift:allow");
		if (c && strspn(ln, " \t") == (size_t)(c - ln)) {
			char *args = c + strlen("-- dbshift:allow");
			args += strspn(args, " \t");
			size_t idn = strcspn(args, " \t\r");
			char *id = xstrndup(args, idn);
			char *reason = args + idn;
			reason += strspn(reason, " \t");
			size_t rn = strcspn(reason, "\r");
			const rule *r = rule_find(id);
			if (!r) {
				dbs_fail(err, DBS_EINPUT, "unknown rule '%s' in dbshift:allow", id);
				dbs_error_set_file(err, sec->file, line, (int)(c - ln) + 1);
				dbs_error_set_hint(err, "rule names are listed in docs/rules.md");
				free(id);
				free(ln);
				for (size_t k = 0; k < *n; k++)
					free((*out)[k].reason);
				free(*out);
				*out = NULL;
				*n = 0;
				return DBS_EINPUT;
			}
			if (rn == 0)
				lint_warn(l, "%s:%d: dbshift:allow %s without a reason: say why "
					  "it is safe", sec->file, line, id);
			*out = xrealloc(*out, (*n + 1) * sizeof(allow));
			(*out)[(*n)++] = (allow){ line, r, xstrndup(reason, rn), 0 };
			free(id);
		}
		free(ln);
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return 0;
}

/* Apply the allows between the previous statement and this one. */
static void apply_allows(stmt_info *s, int from_line, allow *a, size_t na)
{
	for (size_t k = 0; k < na; k++) {
		if (a[k].line < from_line || a[k].line >= s->line)
			continue;
		for (size_t i = 0; i < s->nf; i++)
			if (s->f[i].rule == a[k].rule && !s->f[i].reason) {
				s->f[i].reason = xstrdup(*a[k].reason ? a[k].reason : "(no reason given)");
				a[k].used = 1;
			}
	}
}

static void stmt_release(stmt_info *s)
{
	free(s->text);
	free(s->tables);
	for (size_t i = 0; i < s->nf; i++) {
		free(s->f[i].message);
		free(s->f[i].reason);
	}
	free(s->f);
}

void dbs_lint_free(dbs_lint *l)
{
	if (!l)
		return;
	if (l->shared) {
		l->shared--;
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < l->mig[i].ns; k++)
			stmt_release(&l->mig[i].s[k]);
		free(l->mig[i].s);
	}
	free(l->mig);
	for (size_t i = 0; i < l->nwarnings; i++)
		free(l->warnings[i]);
	free(l->warnings);
	model_release(&l->model);
	for (size_t i = 0; i < l->nowned; i++)
		migration_release(&l->owned[i]);
	free(l->owned);
	free(l);
}

dbs_level dbs_lint_worst(const dbs_lint *l)
{
	return l->worst;
}

static void state_release(lint_state *st)
{
	for (size_t i = 0; i < st->nnew; i++)
		free(st->new_tables[i]);
	free(st->new_tables);
	for (size_t i = 0; i < st->nchecks; i++)
		free(st->checks[i]);
	free(st->checks);
}

/* A section's parse count is the run's cache, not part of its text. */
static void count_parse(const section *sec)
{
	((section *)sec)->parses++;
}

/* The analysis of a pending up also answers lint_check_transaction:
 * when no statement is transaction control or must run outside one,
 * and all of it parsed, the check has passed. */
static void note_tx_checked(const section *sec, const stmt_info *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].tx_control || s[i].no_tx_only)
			return;
		for (size_t k = 0; k < s[i].nf; k++)
			if (!strcmp(s[i].f[k].rule->id, "syntax-error"))
				return;
	}
	((section *)sec)->tx_checked = 1;
}

/* What nothing can be told of: the score of an operation a framework
 * could not write as SQL (RunPython), above any statement's. */
#define OPAQUE_SCORE 20

/* Each opaque operation of sec as a statement of its own, in line order
 * among s[0..*ns): red, with the highest score, since its code may change
 * any row of any table for any time; one that does nothing (a noop
 * reverse) green, with none. */
static void add_opaque(const section *sec, stmt_info **s, size_t *ns)
{
	for (size_t i = 0; i < sec->nopaque; i++) {
		int line = sec->line + sec->opaque[i].line - 1;
		size_t at = *ns;
		while (at > 0 && (*s)[at - 1].line > line)
			at--;
		*s = xrealloc(*s, (*ns + 1) * sizeof(stmt_info));
		memmove(&(*s)[at + 1], &(*s)[at], (*ns - at) * sizeof(stmt_info));
		(*ns)++;
		stmt_info *x = &(*s)[at];
		memset(x, 0, sizeof(*x));
		x->file = sec->file;
		x->line = line;
		x->col = 1;
		x->text = xstrdup(sec->opaque[i].what);
		if (sec->opaque[i].noop) {
			x->kind = "no-op";
			continue;
		}
		x->kind = "opaque data change";
		x->score = OPAQUE_SCORE;
		x->f = xcalloc(1, sizeof(finding));
		x->f[0] = (finding){ rule_find("opaque-operation"),
				     xprintf("%s cannot be written as SQL: what it changes, and for "
					     "how long, cannot be told", sec->opaque[i].what),
				     line, 1, NULL, NULL };
		x->nf = 1;
	}
}

/* "ALTER TABLE "t" ADD COLUMN "c" ..." as Django writes it: "t" and "c"
 * (quotes kept) into t and c, or 0. */
static int django_add_column(const char *text, char *t, char *c, size_t size)
{
	return sscanf(text, "ALTER TABLE %255s ADD COLUMN %255s", t, c) == 2 &&
	       strlen(t) < size && strlen(c) < size && t[0] == '"' && c[0] == '"';
}

/* The fixes of rules written as a Django project makes them: operations
 * of django.contrib.postgres, the migration's atomic, the settings. */
static const struct { const char *rule, *fix; } django_fixes[] = {
	{ "index-not-concurrent", "AddIndexConcurrently (django.contrib.postgres.operations) "
	  "in a migration with atomic = False" },
	{ "drop-index-not-concurrent", "RemoveIndexConcurrently (django.contrib.postgres."
	  "operations) in a migration with atomic = False" },
	{ "concurrently-in-transaction", "atomic = False on the Migration class" },
	{ "constraint-not-valid", "AddConstraintNotValid, then ValidateConstraint in another "
	  "migration (django.contrib.postgres.operations, Django 4.0+), or RunSQL" },
	{ "prefer-bigint-key", "DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField' in the "
	  "settings (or the app's default_auto_field)" },
	{ "add-column-not-null-no-default", "add the field with null=True, backfill, then "
	  "make it NOT NULL in a later migration" },
	{ "set-not-null", "a RunSQL with ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID "
	  "and VALIDATE, inside SeparateDatabaseAndState with the AlterField as its state" },
	{ "rename", "SeparateDatabaseAndState: keep the database name (db_column, db_table) "
	  "and rename only the model's field" },
};

static void django_terms(stmt_info *s, size_t ns)
{
	for (size_t i = 0; i < ns; i++)
		for (size_t k = 0; k < s[i].nf; k++)
			for (size_t d = 0; d < sizeof(django_fixes) / sizeof(*django_fixes); d++)
				if (!strcmp(s[i].f[k].rule->id, django_fixes[d].rule))
					s[i].f[k].fix = django_fixes[d].fix;
}

/*
 * Django adds a NOT NULL field with a default as two statements: ADD
 * COLUMN ... DEFAULT x NOT NULL, then ALTER COLUMN ... DROP DEFAULT (the
 * default is the model's, not the database's).  From the second on, code
 * still running that inserts rows without the column fails: a finding on
 * it, which hand-written SQL that keeps its default does not get.
 */
static void django_dropped_default(const lint_state *st, stmt_info *s, size_t ns)
{
	for (size_t i = 0; i < ns; i++) {
		char t[256], c[256];
		if (!s[i].text || !django_add_column(s[i].text, t, c, sizeof(t)) ||
		    !strstr(s[i].text, " DEFAULT ") || !strstr(s[i].text, " NOT NULL"))
			continue;
		char *drop = xprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", t, c);
		for (size_t j = i + 1; j < ns; j++) {
			if (!s[j].text || strncmp(s[j].text, drop, strlen(drop)))
				continue;
			stmt_finding((lint_state *)st, &s[j], "django-dropped-default", 0,
				     "Django drops the default of %s.%s right after adding it NOT NULL: "
				     "code still running that inserts rows without %s fails from here "
				     "until it is deployed", t, c, c);
			if (s[j].score < 4)
				s[j].score = 4;
			break;
		}
		free(drop);
	}
}

/*
 * Parsing ahead: the scripts of a run are parsed by worker threads, in
 * order and at most WINDOW ahead of the one being analysed (so memory
 * stays bounded), while this thread walks each tree in turn: the walk
 * needs the schema model the scripts before it built, the parse does not.
 * libpg_query keeps its state per thread.
 */
#define WINDOW 64
#define MAX_WORKERS 4

typedef struct prefetch {
	const lint_dialect *d;
	const section **secs;
	size_t n;
	void **trees;
	char *ready;
	size_t next, done;   /* the next to parse; those analysed */
	int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[MAX_WORKERS];
	int nth;
} prefetch;

static void *prefetch_worker(void *arg)
{
	prefetch *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next < p->n && p->next >= p->done + WINDOW)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->next >= p->n)
			break;
		size_t i = p->next++;
		pthread_mutex_unlock(&p->mu);
		void *tree = p->d->parse(p->secs[i]);
		pthread_mutex_lock(&p->mu);
		p->trees[i] = tree;
		p->ready[i] = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Start parsing secs[0..n) ahead, when it pays: a dialect that can and
 * more than a few scripts. */
static void prefetch_start(prefetch *p, const lint_dialect *d, const section **secs, size_t n)
{
	memset(p, 0, sizeof(*p));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (!d->parse || n < 8 || cpus < 2)
		return;
	p->d = d;
	p->secs = secs;
	p->n = n;
	p->trees = xcalloc(n, sizeof(*p->trees));
	p->ready = xcalloc(n, 1);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	int want = cpus < MAX_WORKERS ? (int)cpus : MAX_WORKERS;
	for (int i = 0; i < want; i++)
		if (!pthread_create(&p->th[p->nth], NULL, prefetch_worker, p))
			p->nth++;
}

/* The tree of secs[i], when its turn comes (NULL: parse it here). */
static void *prefetch_take(prefetch *p, size_t i)
{
	if (!p->nth || i >= p->n)
		return NULL;
	pthread_mutex_lock(&p->mu);
	while (!p->ready[i])
		pthread_cond_wait(&p->cv, &p->mu);
	void *tree = p->trees[i];
	p->trees[i] = NULL;
	pthread_mutex_unlock(&p->mu);
	return tree;
}

/* secs[i] is analysed: one more may be parsed. */
static void prefetch_done(prefetch *p, size_t i)
{
	if (!p->nth)
		return;
	pthread_mutex_lock(&p->mu);
	p->done = i + 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void prefetch_stop(prefetch *p)
{
	if (!p->trees)  /* not started */
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (size_t i = 0; i < p->n; i++)
		if (p->trees[i])
			p->d->free_tree(p->trees[i]);
	free(p->trees);
	free(p->ready);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

/* Analyze one section of m (its up or its down) into lm, or only record
 * what it does to the schema; tree: its parse, made ahead, or NULL. */
static int lint_one(dbs_lint *l, const migration *m, const section *sec, lint_migration *lm,
		    int record_only, void *tree, dbs_error *err)
{
	lint_state st = { .db = l->db.driver ? &l->db : NULL, .model = &l->model, .m = m,
			  .sec = sec, .record_only = record_only, .tree = tree,
			  /* dbshift sets the project's lock_timeout before each script */
			  .lock_timeout_set = l->db.lock_timeout_ms > 0,
			  .one_plan = l->db.one_plan, .exclude = l->db.exclude,
			  .pg_version = l->db.pg_version };
	stmt_info *s = NULL;
	size_t ns = 0;
	int rc = l->dialect->analyze(&st, &s, &ns, err);
	if (tree)
		l->dialect->free_tree(tree);
	count_parse(sec);
	if (!rc && !record_only)
		note_tx_checked(sec, s, ns);
	if (!rc)
		add_opaque(sec, &s, &ns);
	if (!rc && !record_only && m && m->format && !strcmp(m->format, "django")) {
		if (sec == &m->up)
			django_dropped_default(&st, s, ns);
		django_terms(s, ns);
	}
	state_release(&st);
	if (record_only || rc) {
		for (size_t i = 0; i < ns; i++)
			stmt_release(&s[i]);
		free(s);
		return rc;
	}
	allow *a;
	size_t na;
	if ((rc = read_allows(sec, &a, &na, l, err))) {
		for (size_t i = 0; i < ns; i++)
			stmt_release(&s[i]);
		free(s);
		return rc;
	}
	int prev_line = sec->line;
	lm->m = m;
	lm->sec = sec;
	lm->s = s;
	lm->ns = ns;
	for (size_t i = 0; i < ns; i++) {
		apply_allows(&s[i], prev_line, a, na);
		prev_line = s[i].line + 1;
		s[i].level = DBS_GREEN;
		for (size_t k = 0; k < s[i].nf; k++)
			if (!s[i].f[k].reason && s[i].f[k].rule->level > s[i].level)
				s[i].level = s[i].f[k].rule->level;
		lm->score += s[i].score;
		if (s[i].level > lm->level)
			lm->level = s[i].level;
	}
	for (size_t k = 0; k < na; k++) {
		if (!a[k].used)
			lint_warn(l, "%s:%d: dbshift:allow %s matches no finding of the next "
				  "statement", sec->file, a[k].line, a[k].rule->id);
		free(a[k].reason);
	}
	free(a);
	l->score += lm->score;
	if (lm->score > l->top_score)
		l->top_score = lm->score;
	if (lm->level > l->worst)
		l->worst = lm->level;
	return 0;
}

int lint_run(dbs_lint **out, const lint_dialect *d, const lint_db *db,
	     const migration *const *applied, size_t napplied, const migration *const *ms,
	     const int *down, size_t n, dbs_error *err)
{
	dbs_lint *l = xcalloc(1, sizeof(*l));
	l->dialect = d;
	if (db)
		l->db = *db;
	l->mig = xcalloc(n ? n : 1, sizeof(lint_migration));
	/* the scripts in the order they are analysed, parsed ahead */
	const section **secs = xcalloc(napplied + n + 1, sizeof(*secs));
	for (size_t i = 0; i < napplied; i++)
		secs[i] = &applied[i]->up;
	for (size_t i = 0; i < n; i++)
		secs[napplied + i] = down && down[i] ? &ms[i]->down : &ms[i]->up;
	prefetch p;
	prefetch_start(&p, d, secs, napplied + n);
	int rc = 0;
	size_t at = 0;
	for (; at < napplied && !rc; at++) {
		rc = lint_one(l, applied[at], secs[at], NULL, 1, prefetch_take(&p, at), err);
		prefetch_done(&p, at);
	}
	/* An applied migration that no longer parses says nothing of the new ones. */
	if (rc)
		dbs_error_clear(err);
	if (napplied)  /* the rest of them too: the window moves on */
		prefetch_done(&p, napplied - 1);
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		at = napplied + i;
		void *tree = prefetch_take(&p, at);
		rc = lint_one(l, ms[i], secs[at], &l->mig[l->n], 0, tree, err);
		prefetch_done(&p, at);
		if (!rc)
			l->n++;
	}
	prefetch_stop(&p);
	free(secs);
	if (rc) {
		dbs_lint_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

char *lint_findings_above(const dbs_lint *l, dbs_level level, size_t max)
{
	strbuf sb;
	strbuf_init(&sb);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			for (size_t f = 0; f < s->nf; f++) {
				if (s->f[f].reason || s->f[f].rule->level <= level)
					continue;
				if (n++ < max)
					strbuf_addf(&sb, "%s%s:%d:%d [%s] %s", sb.len ? "\n" : "", s->file,
						    s->f[f].line, s->f[f].col, s->f[f].rule->id,
						    s->f[f].message);
			}
		}
	if (n > max)
		strbuf_addf(&sb, "\n... and %zu more", n - max);
	return strbuf_detach(&sb);
}

int lint_refuse_rule(const dbs_lint *l, const char *rule, const char *who, dbs_error *err)
{
	for (size_t i = 0; l && i < l->n; i++)
		for (size_t k = 0; k < l->mig[i].ns; k++) {
			const stmt_info *s = &l->mig[i].s[k];
			for (size_t f = 0; f < s->nf; f++) {
				if (strcmp(s->f[f].rule->id, rule))
					continue;
				dbs_fail(err, DBS_EINPUT, "the SQL %s wrote for %s does not parse: %s",
					 who, s->file, s->f[f].message);
				dbs_error_set_file(err, s->file, s->f[f].line, s->f[f].col);
				dbs_error_set_hint(err, "fix the migration (its RunSQL) so that its "
						   "SQL is valid for this database");
				return DBS_EINPUT;
			}
		}
	return 0;
}

const lint_migration *lint_find(const dbs_lint *l, const section *sec)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (l->mig[i].sec == sec)
			return &l->mig[i];
	return NULL;
}

int lint_check_transaction(const lint_dialect *d, const migration *m, section *sec,
			   dbs_error *err)
{
	if (sec->no_transaction || !sec->sql || sec->tx_checked)
		return 0;
	sec->parses++;
	lint_model model = { 0 };
	lint_state st = { .model = &model, .m = m, .sec = sec, .record_only = 1 };
	stmt_info *s = NULL;
	size_t n = 0;
	int rc = d->analyze(&st, &s, &n, err);
	for (size_t i = 0; i < n; i++) {
		if (!rc && s[i].tx_control) {
			rc = dbs_fail(err, DBS_EINPUT, "transaction control (%.*s) in a migration "
				      "that runs in a transaction", (int)strcspn(s[i].text, " \t\n;"),
				      s[i].text);
			dbs_error_set_file(err, sec->file, s[i].line, s[i].col);
			dbs_error_set_hint(err, "dbshift commits each migration with its history "
					   "row: remove the statement, or mark the migration "
					   "'-- dbshift:no-transaction' to manage transactions yourself");
		}
		if (!rc && s[i].no_tx_only) {
			rc = dbs_fail(err, DBS_EINPUT, "%s cannot run inside a transaction, and "
				      "this migration's %s runs in one", s[i].kind,
				      sec == &m->down ? "down" : "up");
			dbs_error_set_file(err, sec->file, s[i].line, s[i].col);
			if (sec == &m->down)
				dbs_error_set_hint(err, "run the down outside a transaction: "
						   "'-- migrate:down transaction:false' (dbmate), or "
						   "'-- dbshift:no-transaction down' in the header; it "
						   "then runs statement by statement");
			else
				dbs_error_set_hint(err, "add '-- dbshift:no-transaction' to the "
						   "migration's header (dbmate: '-- migrate:up "
						   "transaction:false', goose: '-- +goose NO "
						   "TRANSACTION'); it then runs statement by statement");
		}
		stmt_release(&s[i]);
	}
	free(s);
	state_release(&st);
	model_release(&model);
	sec->tx_checked = !rc;
	return rc;
}
