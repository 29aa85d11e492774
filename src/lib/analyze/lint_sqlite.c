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
		if (!col)
			lint_add_new_table(st, ws->n > act + 2 ? ws->w[act + 2] : "?");
	} else if (is(ws, act, "ADD") && !is(ws, act + 1, "CONSTRAINT") &&
		   !is(ws, act + 1, "PRIMARY") && !is(ws, act + 1, "UNIQUE") &&
		   !is(ws, act + 1, "FOREIGN") && !is(ws, act + 1, "CHECK")) {
		s->score = 1;
		size_t d = act + 1 + is(ws, act + 1, "COLUMN");
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

static void statement(lint_state *st, stmt_info *s, const words *ws, size_t start)
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
			if (!lint_is_new_table(st, t))
				stmt_finding(st, s, "drop-object", start, "DROP TABLE %s deletes it and "
					     "its data for good, and breaks code still using it", t);
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

static int sq_analyze(lint_state *st, stmt_info **out, size_t *n, dbs_error *err)
{
	(void)err;
	const char *sql = st->sec->sql;
	size_t len = strlen(sql), from = 0;
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
			statement(st, s, &ws, from + skip);
			words_release(&ws);
		}
		from = i + 1;
	}
	return 0;
}

const lint_dialect lint_sqlite = { "sqlite", sq_analyze };
