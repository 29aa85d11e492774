/*
 * lint_sqlite.c - what each SQLite statement does.  SQLite's SQL is not
 * PostgreSQL's, so statements are split with sqlite3_complete() and read
 * by their keywords.  SQLite locks the whole database for any write, so
 * the rules here are about what ALTER TABLE can do in the linked version,
 * what needs the table-rebuild procedure, and data loss.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "analyze/lint.h"

#define MAX_WORDS 64

/* The first words of a statement, upper-cased, with their offsets. */
typedef struct words {
	char *w[MAX_WORDS];
	size_t off[MAX_WORDS];
	size_t n;
} words;

static void words_read(words *ws, const char *s, size_t len, size_t base)
{
	size_t i = 0;
	ws->n = 0;
	while (i < len && ws->n < MAX_WORDS) {
		i += sql_skip_space(s + i, len - i);
		if (i >= len)
			break;
		size_t j = i;
		if (isalnum((unsigned char)s[i]) || s[i] == '_') {
			while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
				j++;
		} else if (s[i] == '\'' || s[i] == '"' || s[i] == '`' || s[i] == '[') {
			char close = s[i] == '[' ? ']' : s[i];
			j++;
			while (j < len && s[j] != close)
				j++;
			j = j < len ? j + 1 : len;
		} else {
			j++;
		}
		char *w = xstrndup(s + i, j - i);
		for (char *p = w; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		ws->off[ws->n] = base + i;
		ws->w[ws->n++] = w;
		i = j;
	}
}

static void words_release(words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

static int is(const words *ws, size_t i, const char *w)
{
	return i < ws->n && !strcmp(ws->w[i], w);
}

static int has_word(const words *ws, size_t from, const char *w)
{
	for (size_t i = from; i < ws->n; i++)
		if (!strcmp(ws->w[i], w))
			return 1;
	return 0;
}

/* A table name as written, lower-cased, without quotes. */
static char *name_at(const words *ws, size_t i)
{
	if (i >= ws->n)
		return xstrdup("?");
	const char *w = ws->w[i];
	size_t n = strlen(w);
	char *r = (w[0] == '"' || w[0] == '`' || w[0] == '[') && n >= 2 ? xstrndup(w + 1, n - 2)
									  : xstrdup(w);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* Past a quoted name or string at p ('...', "...", `...`, [...]). */
static const char *skip_quoted(const char *p)
{
	char close = *p == '[' ? ']' : *p;
	const char *e = strchr(p + 1, close);
	return e ? e + 1 : p + strlen(p);
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* The first word of each item of the parenthesized list that starts at
 * text's first '(' (a CREATE TABLE's columns, an INSERT's), lower-cased
 * and unquoted, leaving out table constraints; how many (*out NULL-ended). */
static size_t list_names(const char *text, char ***out)
{
	static const char *const constraints[] = { "constraint", "primary", "unique", "check",
						   "foreign" };
	char **names = xcalloc(1, sizeof(char *));
	size_t n = 0;
	const char *p = strchr(text, '(');
	int depth = p ? 1 : 0, first = 1;
	for (p = p ? p + 1 : ""; *p && depth > 0;) {
		if (first) {
			p += strspn(p, " \t\r\n");
			const char *b = p;
			size_t len = 0;
			if (*p == '"' || *p == '`' || *p == '[') {
				p = skip_quoted(p);
				b++;
				len = p > b ? (size_t)(p - b - 1) : 0;
			} else {
				while (is_ident(*p))
					p++;
				len = (size_t)(p - b);
			}
			char *name = xstrndup(b, len);
			for (char *c = name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			int keep = *name != '\0';
			for (size_t k = 0; keep && k < sizeof(constraints) / sizeof(*constraints); k++)
				keep = strcmp(name, constraints[k]) != 0;
			if (keep) {
				names = xrealloc(names, (n + 2) * sizeof(char *));
				names[n++] = name;
				names[n] = NULL;
			} else {
				free(name);
			}
			first = 0;
		} else if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			p = skip_quoted(p);
		} else {
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
			first = *p == ',' && depth == 1;
			p++;
		}
	}
	*out = names;
	return n;
}

/* The table after the last FROM of text (outside quotes), or NULL. */
static char *last_from(const char *text)
{
	const char *from = NULL;
	for (const char *p = text; *p;) {
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			p = skip_quoted(p);
		} else if (is_ident(*p)) {
			const char *b = p;
			while (is_ident(*p))
				p++;
			if (p - b == 4 && !strncasecmp(b, "FROM", 4))
				from = p;
		} else {
			p++;
		}
	}
	if (!from)
		return NULL;
	words ws;
	words_read(&ws, from, strlen(from), 0);
	char *t = ws.n ? name_at(&ws, 0) : NULL;
	words_release(&ws);
	return t;
}

static void alter(lint_state *st, stmt_info *s, const words *ws, size_t start)
{
	size_t i = 2;
	if (is(ws, i + 1, "."))
		i += 2;  /* schema.table */
	char *table = name_at(ws, i);
	int existing = !lint_is_new_table(st, table);
	int version = sqlite3_libversion_number();
	size_t act = i + 1;
	s->kind = "ALTER TABLE";
	s->score = 2;
	stmt_set_tables(s, table);
	if (is(ws, act, "RENAME")) {
		int col = !is(ws, act + 1, "TO");
		if (col && version < 3025000)
			stmt_finding(st, s, "sqlite-unsupported-alter", ws->off[act], "RENAME COLUMN "
				     "needs SQLite 3.25.0; this is %s", sqlite3_libversion());
		else if (existing)
			stmt_finding(st, s, "rename", ws->off[act], "renaming %s of %s breaks running "
				     "code that still uses the old name", col ? "a column" : "table", table);
		if (!col) {
			lint_add_new_table(st, ws->n > act + 2 ? ws->w[act + 2] : "?");
			char *to = name_at(ws, act + 2);
			model_rename(st->model, table, NULL, to);
			free(to);
		}
	} else if (is(ws, act, "ADD") && !is(ws, act + 1, "CONSTRAINT") &&
		   !is(ws, act + 1, "PRIMARY") && !is(ws, act + 1, "UNIQUE") &&
		   !is(ws, act + 1, "FOREIGN") && !is(ws, act + 1, "CHECK")) {
		s->score = 1;
		size_t d = act + 1 + is(ws, act + 1, "COLUMN");
		if (model_knows(st->model, table)) {
			char *c = name_at(ws, d);
			model_set(st->model, table, c, "");
			free(c);
		}
		const char *why = NULL;
		size_t dflt = 0;
		for (size_t k = d; k < ws->n; k++)
			if (is(ws, k, "DEFAULT"))
				dflt = k;
		if (has_word(ws, d, "PRIMARY") || has_word(ws, d, "UNIQUE"))
			why = "a column added by ALTER TABLE cannot be PRIMARY KEY or UNIQUE";
		else if (has_word(ws, d, "NOT") && has_word(ws, d, "NULL") && !dflt)
			why = "a NOT NULL column needs a non-NULL default to be added";
		else if (dflt && (is(ws, dflt + 1, "CURRENT_TIMESTAMP") || is(ws, dflt + 1, "CURRENT_TIME") ||
				  is(ws, dflt + 1, "CURRENT_DATE") || is(ws, dflt + 1, "(")))
			why = "an added column's default must be a constant";
		if (why)
			stmt_finding(st, s, "sqlite-unsupported-alter", ws->off[d], "%s", why);
	} else if (is(ws, act, "DROP") && !is(ws, act + 1, "CONSTRAINT")) {
		s->score = 3;
		size_t c = act + 1 + is(ws, act + 1, "COLUMN");
		char *col = name_at(ws, c);
		if (version < 3035000)
			stmt_finding(st, s, "sqlite-unsupported-alter", ws->off[act], "DROP COLUMN "
				     "needs SQLite 3.35.0; this is %s", sqlite3_libversion());
		else if (existing) {
			stmt_finding(st, s, "drop-object", ws->off[act], "DROP COLUMN %s.%s deletes "
				     "its data and breaks code still reading it", table, col);
			stmt_finding(st, s, "sqlite-table-rebuild", ws->off[act], "DROP COLUMN fails "
				     "if %s is indexed, part of a key, or used by a view or trigger: "
				     "then the table must be rebuilt", col);
		}
		free(col);
	} else {
		stmt_finding(st, s, "sqlite-unsupported-alter", act < ws->n ? ws->off[act] : start,
			     "SQLite's ALTER TABLE can only RENAME, ADD COLUMN and DROP COLUMN; "
			     "this change needs the table to be rebuilt");
	}
	free(table);
}

/* What a DROP TABLE took away: the table's columns before it, when known
 * (from the migrations read so far, else from the database). */
typedef struct dropped {
	char *table;         /* NULL: the statement dropped no table */
	char **cols;         /* NULL-ended; NULL: not known */
	size_t n;
} dropped;

static void columns_before(lint_state *st, const char *table, dropped *d)
{
	d->table = xstrdup(table);
	const model_table *mt = model_table_of(st->model, table);
	if (mt) {
		d->cols = xcalloc(mt->n + 1, sizeof(char *));
		for (size_t i = 0; i < mt->n; i++)
			d->cols[d->n++] = xstrdup(mt->cols[i].column);
		return;
	}
	db_rows *r = NULL;
	dbs_error e = { 0 };
	if (st->db && !db_columns(st->db->driver, st->db->conn, table, &r, &e) && r && r->nrows) {
		d->cols = xcalloc(r->nrows + 1, sizeof(char *));
		for (size_t i = 0; i < r->nrows; i++) {
			char *c = xstrdup(DB_VAL(r, i, 0) ? DB_VAL(r, i, 0) : "");
			for (char *p = c; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			d->cols[d->n++] = c;
		}
	}
	db_rows_free(r);
	dbs_error_clear(&e);
}

static void statement(lint_state *st, stmt_info *s, const words *ws, size_t start,
		      dropped *gone)
{
	s->lock = "database write";
	if (is(ws, 0, "CREATE") && (is(ws, 1, "TABLE") || (is(ws, 2, "TABLE") &&
	    (is(ws, 1, "TEMP") || is(ws, 1, "TEMPORARY"))))) {
		size_t i = is(ws, 1, "TABLE") ? 2 : 3;
		if (is(ws, i, "IF"))
			i += 3;
		char *t = name_at(ws, i);
		s->kind = "CREATE TABLE";
		s->score = 1;
		stmt_set_tables(s, t);
		lint_add_new_table(st, t);
		if (is(ws, i + 1, "(")) {  /* its columns, for a rebuild later on */
			char **cols;
			size_t n = list_names(s->text, &cols);
			model_drop_table(st->model, t);
			for (size_t k = 0; k < n; k++)
				model_set(st->model, t, cols[k], "");
			free_words(cols);
		}
		free(t);
	} else if (is(ws, 0, "CREATE") && has_word(ws, 1, "INDEX")) {
		s->kind = "CREATE INDEX";
		s->score = 2;
		s->scans = 1;
	} else if (is(ws, 0, "CREATE")) {
		s->kind = "CREATE";
		s->score = 1;
	} else if (is(ws, 0, "ALTER") && is(ws, 1, "TABLE")) {
		alter(st, s, ws, start);
	} else if (is(ws, 0, "DROP")) {
		s->kind = "DROP";
		s->score = 3;
		if (is(ws, 1, "TABLE")) {
			size_t i = is(ws, 2, "IF") ? 4 : 2;
			char *t = name_at(ws, i);
			s->kind = "DROP TABLE";
			stmt_set_tables(s, t);
			if (!lint_is_new_table(st, t)) {
				stmt_finding(st, s, "drop-object", start, "DROP TABLE %s deletes it and "
					     "its data for good, and breaks code still using it", t);
				columns_before(st, t, gone);
			}
			model_drop_table(st->model, t);
			free(t);
		}
	} else if (is(ws, 0, "UPDATE") || is(ws, 0, "DELETE")) {
		size_t i = is(ws, 0, "DELETE") ? 2 : 1;
		if (is(ws, i, "OR"))
			i += 2;
		char *t = name_at(ws, i);
		s->kind = is(ws, 0, "UPDATE") ? "UPDATE" : "DELETE";
		s->score = 4;
		stmt_set_tables(s, t);
		if (!has_word(ws, 1, "WHERE") && ws->n < MAX_WORDS && !lint_is_new_table(st, t))
			stmt_finding(st, s, "dml-without-where", start, "%s without WHERE changes "
				     "every row of %s", s->kind, t);
		free(t);
	} else if (is(ws, 0, "INSERT") || is(ws, 0, "REPLACE")) {
		s->kind = "INSERT";
		s->score = 4;
	} else if (is(ws, 0, "BEGIN") || is(ws, 0, "COMMIT") || is(ws, 0, "END") ||
		   is(ws, 0, "ROLLBACK") || is(ws, 0, "SAVEPOINT") || is(ws, 0, "RELEASE")) {
		s->kind = "TRANSACTION";
		s->lock = NULL;
		s->tx_control = !is(ws, 0, "SAVEPOINT") && !is(ws, 0, "RELEASE") &&
				!(is(ws, 0, "ROLLBACK") && ws->n > 1 && is(ws, 1, "TO")) &&
				!(is(ws, 0, "ROLLBACK") && ws->n > 2 && is(ws, 1, "TRANSACTION") &&
				  is(ws, 2, "TO"));
		if (!(s->tx_control && st->sec && st->sec->no_transaction))
			stmt_finding(st, s, "transaction-control", start, "transaction control inside a "
			     "migration breaks dbshift's all-or-nothing guarantee");
	} else if (is(ws, 0, "VACUUM")) {
		s->kind = "VACUUM";
		s->score = 3;
		s->no_tx_only = 1;
	} else if (is(ws, 0, "SELECT") || is(ws, 0, "PRAGMA") || is(ws, 0, "WITH")) {
		/* a literal: the words are freed once the statement is read */
		s->kind = is(ws, 0, "SELECT") ? "SELECT" : is(ws, 0, "PRAGMA") ? "PRAGMA" : "WITH";
		s->lock = NULL;
	} else {
		s->kind = "OTHER";
		s->score = 3;
	}
}

/* Does statement text copy rows from table into copy?  The columns it
 * fills when so (*cols, NULL-ended; -1 when not). */
static int copies(const char *text, const char *copy, const char *table, char ***cols)
{
	words ws;
	words_read(&ws, text, strlen(text), 0);
	char *into = ws.n > 2 ? name_at(&ws, 2) : NULL;
	int yes = is(&ws, 0, "INSERT") && is(&ws, 1, "INTO") && into && !strcmp(into, copy) &&
		  is(&ws, 3, "(");
	words_release(&ws);
	free(into);
	char *src = yes ? last_from(text) : NULL;
	yes = src && !strcmp(src, table);
	free(src);
	if (!yes)
		return -1;
	list_names(text, cols);
	return 0;
}

/* The table a statement renames to table ("ALTER TABLE copy RENAME TO
 * table"), or NULL. */
static char *renamed_to(const char *text, const char *table)
{
	words ws;
	words_read(&ws, text, strlen(text), 0);
	char *copy = NULL, *to = ws.n > 5 ? name_at(&ws, 5) : NULL;
	if (is(&ws, 0, "ALTER") && is(&ws, 1, "TABLE") && is(&ws, 3, "RENAME") &&
	    is(&ws, 4, "TO") && to && !strcmp(to, table))
		copy = name_at(&ws, 2);
	words_release(&ws);
	free(to);
	return copy;
}

/*
 * SQLite's table rebuild (Django's way of changing a table there): CREATE
 * TABLE copy, INSERT INTO copy (...) SELECT ... FROM t, DROP TABLE t,
 * ALTER TABLE copy RENAME TO t.  The DROP loses data only in the columns
 * of t the copy did not take: with none, it is a rebuild (yellow); else
 * the finding names the columns lost.  When t's columns are not known, the
 * DROP stays as red as any.
 */
static void rebuilds(lint_state *st, stmt_info *s, size_t ns, size_t i, const dropped *d)
{
	char *copy = NULL, **taken = NULL;
	for (size_t j = i + 1; j < ns && !copy; j++)
		copy = renamed_to(s[j].text, d->table);
	for (size_t k = i; copy && k-- > 0 && !taken;)
		if (copies(s[k].text, copy, d->table, &taken))
			taken = NULL;
	if (taken && d->cols && lint_is_new_table(st, copy)) {
		strbuf lost;
		strbuf_init(&lost);
		for (size_t c = 0; c < d->n; c++) {
			size_t t = 0;
			while (taken[t] && strcmp(taken[t], d->cols[c]))
				t++;
			if (!taken[t])
				strbuf_addf(&lost, "%s%s", lost.len ? ", " : "", d->cols[c]);
		}
		for (size_t f = 0; f < s[i].nf; f++) {
			if (strcmp(s[i].f[f].rule->id, "drop-object"))
				continue;
			free(s[i].f[f].message);
			if (lost.len) {
				s[i].f[f].message = xprintf("rebuilds %s without %s: the data there is "
					"deleted for good, and code still reading it breaks", d->table,
					lost.buf);
			} else {
				s[i].f[f].rule = rule_find("sqlite-table-rebuild");
				s[i].f[f].message = xprintf("rebuilds %s through %s, every column "
					"kept: its rows are copied while the database is locked for "
					"writes", d->table, copy);
			}
		}
		strbuf_release(&lost);
	}
	free_words(taken);
	free(copy);
}

static int sq_analyze(lint_state *st, stmt_info **out, size_t *n, dbs_error *err)
{
	(void)err;
	const char *sql = st->sec->sql;
	size_t len = strlen(sql), from = 0, first = *n;
	dropped *gone = NULL;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && sql[i] != ';')
			continue;
		/* a statement ends at a ';' that completes it (not in a string or trigger) */
		char *part = xstrndup(sql + from, i - from + (i < len));
		int complete = i == len || sqlite3_complete(part);
		free(part);
		if (!complete)
			continue;
		size_t slen = i - from;
		size_t skip = sql_skip_space(sql + from, slen);
		if (skip < slen) {
			words ws;
			words_read(&ws, sql + from, slen, from);
			*out = xrealloc(*out, (*n + 1) * sizeof(stmt_info));
			stmt_info *s = &(*out)[(*n)++];
			memset(s, 0, sizeof(*s));
			s->file = st->sec->file;
			stmt_locate(st, s, from + skip, &s->line, &s->col);
			s->text = sql_trimmed(sql + from, slen);
			gone = xrealloc(gone, (*n - first) * sizeof(dropped));
			memset(&gone[*n - first - 1], 0, sizeof(dropped));
			statement(st, s, &ws, from + skip, &gone[*n - first - 1]);
			words_release(&ws);
		}
		from = i + 1;
	}
	for (size_t i = first; i < *n; i++) {
		dropped *d = &gone[i - first];
		if (d->table)
			rebuilds(st, *out + first, *n - first, i - first, d);
		free(d->table);
		free_words(d->cols);
	}
	free(gone);
	return 0;
}

const lint_dialect lint_sqlite = { "sqlite", sq_analyze, NULL, NULL };
