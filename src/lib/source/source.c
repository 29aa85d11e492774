/*
 * source.c - read a migrations directory in any of the layouts teams
 * already have, unchanged:
 *
 *   dbmate / native   <version>_<name>.sql  with -- migrate:up / -- migrate:down
 *   goose             <version>_<name>.sql  with -- +goose Up / -- +goose Down
 *   golang-migrate    <version>_<name>.up.sql + <version>_<name>.down.sql
 *   popx (ory)        <version>_<name>[.<dialect>][.autocommit].{up,down}.sql
 *   Diesel            <version>_<name>/up.sql + down.sql (+ metadata.toml),
 *                     the version digits and dashes (2019-04-12-101530)
 *   Flyway            V<version>__<name>.sql + U<version>__<name>.sql
 *
 * A subdirectory that is not a Diesel migration is an app with its own
 * chain.  Header directives (-- dbshift:...) are read in every format.
 * Each direction has its own transaction mode.  Every problem is an input
 * error naming the file and line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>
#include <pg_query.h>
#include <zlib.h>

#include "source/source.h"

static void section_release(section *s)
{
	free(s->file);
	free(s->sql);
	free(s->span);
	for (size_t i = 0; i < s->nopaque; i++)
		free(s->opaque[i].what);
	free(s->opaque);
}

void migration_release(migration *m)
{
	free(m->app);
	free(m->version);
	free(m->name);
	free(m->path);
	section_release(&m->up);
	section_release(&m->down);
	free(m->phase);
	free(m->data_file);
	for (size_t i = 0; i < m->nrequires; i++)
		free(m->requires[i]);
	free(m->requires);
	memset(m, 0, sizeof(*m));
}

void source_release(source *src)
{
	for (size_t i = 0; i < src->n; i++)
		migration_release(&src->m[i]);
	free(src->m);
	free(src->warnings);
	free(src->provider);
	free(src->provider_file);
	src->m = NULL;
	src->warnings = NULL;
	src->provider = src->provider_file = NULL;
	src->n = 0;
}

/* Versions as text (Diesel chains) or as numbers. */
static int version_cmp(int as_text, const char *a, const char *b)
{
	if (!as_text)
		return dbs_version_cmp(a, b);
	int c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

int migration_version_cmp(const migration *a, const migration *b)
{
	return version_cmp(a->string_order && b->string_order, a->version, b->version);
}

int migration_version_cmp_to(const migration *m, const char *version)
{
	return version_cmp(m->string_order, m->version, version);
}

int section_is_empty(const section *s)
{
	if (s->nopaque)
		return 0;
	if (!s->sql)
		return 1;
	size_t n = strlen(s->sql), i = 0;
	for (;;) {
		i += sql_skip_space(s->sql + i, n - i);
		if (i < n && s->sql[i] == ';')
			i++;
		else
			return i == n;
	}
}

int migration_irreversible(const migration *m)
{
	return m->ordinal ? m->irreversible : section_is_empty(&m->down);
}

static int input_error(dbs_error *err, const char *file, int line,
		       const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int input_error(dbs_error *err, const char *file, int line,
		       const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dbs_fail(err, DBS_EINPUT, "%s", msg);
	dbs_error_set_file(err, file, line, 0);
	if (hint)
		dbs_error_set_hint(err, "%s", hint);
	return DBS_EINPUT;
}

/* The text after "--" and blanks, if the line is a comment; else NULL. */
static const char *comment_body(const char *line, size_t len, size_t *blen)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i + 1 >= len || line[i] != '-' || line[i + 1] != '-')
		return NULL;
	i += 2;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t end = len;
	while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t' ||
			   line[end - 1] == '\r'))
		end--;
	*blen = end - i;
	return line + i;
}

static int is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

static int word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncmp(s, word, n) == 0;
}

/* goose's annotations are case-insensitive ("-- +goose up") */
static int word_is_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Where a directive is read: a file's or section's header, or inside. */
enum place { IN_UP_HEADER, IN_DOWN_HEADER, IN_SECTION };

/* "-- dbshift:no-transaction [up|down|both]"; bare: both, or in a down
 * file's header, the down. */
static int no_transaction_directive(migration *m, const char *path, int lineno,
				    const char *arg, size_t an, enum place where,
				    dbs_error *err)
{
	int up = 0, down = 0;
	if (an == 0)
		up = where == IN_UP_HEADER, down = 1;
	else if (word_is(arg, an, "up"))
		up = 1;
	else if (word_is(arg, an, "down"))
		down = 1;
	else if (word_is(arg, an, "both"))
		up = down = 1;
	else
		return input_error(err, path, lineno,
			"write '-- dbshift:no-transaction', '... up', '... down' or '... both'",
			"unknown direction '%.*s' for no-transaction", (int)an, arg);
	if (up && where == IN_DOWN_HEADER)
		return input_error(err, path, lineno,
			"say it in the up file, or write '-- dbshift:no-transaction down'",
			"a down file cannot set the up's transaction mode");
	m->up.no_transaction |= up;
	m->down.no_transaction |= down;
	return 0;
}

/*
 * Apply one "-- dbshift:..." directive (body points after "dbshift:").
 * Inside a section only "allow" belongs; a down file's header takes
 * "no-transaction" and "allow".
 */
static int directive(migration *m, const char *path, int lineno,
		     const char *body, size_t n, enum place where, dbs_error *err)
{
	size_t w = 0;
	while (w < n && body[w] != ' ' && body[w] != '\t')
		w++;
	const char *arg = body + w;
	size_t an = n - w;
	while (an > 0 && (*arg == ' ' || *arg == '\t')) {
		arg++;
		an--;
	}
	if (word_is(body, w, "allow"))
		return 0;  /* lint suppressions; read by the analyzer */
	if (!word_is(body, w, "no-transaction") && !word_is(body, w, "phase") &&
	    !word_is(body, w, "requires") && !word_is(body, w, "data"))
		return input_error(err, path, lineno,
			"known directives: no-transaction, phase expand|contract, "
			"requires APP:VERSION, data FILE, allow RULE REASON",
			"unknown directive 'dbshift:%.*s'", (int)w, body);
	if (where == IN_SECTION)
		return input_error(err, path, lineno,
			"move it above the '-- migrate:up' line",
			"directive 'dbshift:%.*s' must come before the up section",
			(int)w, body);
	if (word_is(body, w, "no-transaction"))
		return no_transaction_directive(m, path, lineno, arg, an, where, err);
	if (where == IN_DOWN_HEADER)
		return input_error(err, path, lineno, "move it to the up file",
			"directive 'dbshift:%.*s' belongs in the up file", (int)w, body);
	if (word_is(body, w, "data")) {
		if (an == 0)
			return input_error(err, path, lineno, "write '-- dbshift:data FILE', the "
					   "path relative to this file", "data directive without a file");
		/* relative to the migration's own directory */
		const char *slash = strrchr(path, '/');
		free(m->data_file);
		m->data_file = arg[0] == '/' || !slash ? xstrndup(arg, an)
			: xprintf("%.*s/%.*s", (int)(slash - path), path, (int)an, arg);
		m->data_line = lineno;
	} else if (word_is(body, w, "phase")) {
		if (!word_is(arg, an, "expand") && !word_is(arg, an, "contract"))
			return input_error(err, path, lineno,
				"write '-- dbshift:phase expand' or '-- dbshift:phase contract'",
				"unknown phase '%.*s'", (int)an, arg);
		free(m->phase);
		m->phase = xstrndup(arg, an);
	} else {
		const char *colon = memchr(arg, ':', an);
		if (!colon || colon == arg || !is_digits(colon + 1, an - (size_t)(colon - arg) - 1))
			return input_error(err, path, lineno,
				"write '-- dbshift:requires APP:VERSION', e.g. 'billing:20240101120000'",
				"malformed requires '%.*s'", (int)an, arg);
		m->requires = xrealloc(m->requires, (m->nrequires + 1) * sizeof(char *));
		m->requires[m->nrequires++] = xstrndup(arg, an);
		m->requires_line = lineno;
	}
	return 0;
}

/* Directives in the leading comment lines of a whole-file format. */
static int header_directives(migration *m, const char *path, const char *text,
			     enum place where, dbs_error *err)
{
	const char *p = text;
	int lineno = 1;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t bn;
		const char *body = comment_body(p, len, &bn);
		if (!body && !is_blank(p, len))
			break;
		if (body && bn >= 8 && strncmp(body, "dbshift:", 8) == 0) {
			int rc = directive(m, path, lineno, body + 8, bn - 8, where, err);
			if (rc)
				return rc;
		}
		if (!nl)
			break;
		p = nl + 1;
		lineno++;
	}
	return 0;
}

/*
 * Parse a dbmate/native (goose == 0) or goose (goose != 0) file.  Each
 * section runs from the line after its marker to the next marker, so the
 * section's own offsets map straight back to file lines.
 */
/* Where the reading of a dbmate or goose file is. */
typedef struct sections {
	int goose;
	int where;                /* 0 header, 1 up, 2 down */
	const char *up_start, *up_end, *down_start;
	int up_line, down_line;
} sections;

/* An up or down marker at line lineno; next: where the line after it
 * starts.  dbmate markers may say transaction:false|true. */
static int section_marker(migration *m, const char *path, int lineno, sections *sc,
			  int is_up, const char *opt, size_t on, const char *body, size_t bn,
			  const char *line, const char *next, dbs_error *err)
{
	if (on > 0) {
		/* dbmate: each section has its own transaction mode */
		if (!sc->goose && word_is(opt, on, "transaction:false"))
			(is_up ? &m->up : &m->down)->no_transaction = 1;
		else if (sc->goose || !word_is(opt, on, "transaction:true"))
			return input_error(err, path, lineno,
				sc->goose ? "goose markers take no options"
					  : "the options are 'transaction:false' and 'transaction:true'",
				"unknown option '%.*s' on the %s marker", (int)on, opt,
				is_up ? "up" : "down");
	}
	if ((is_up && sc->up_start) || (!is_up && sc->down_start))
		return input_error(err, path, lineno, "keep one up and one down section per file",
				   "second '-- %.*s' section", (int)bn, body);
	if (is_up && sc->where == 2)
		return input_error(err, path, lineno,
				   "put the up section before the down section",
				   "up section after the down section");
	if (is_up) {
		sc->up_start = next;
		sc->up_line = lineno + 1;
	} else {
		if (sc->where == 1)
			sc->up_end = line;
		sc->down_start = next;
		sc->down_line = lineno + 1;
	}
	sc->where = is_up ? 1 : 2;
	return 0;
}

/* A '-- migrate:...' or '-- +goose ...' line (body after the marker). */
static int marker_line(migration *m, const char *path, int lineno, sections *sc,
		       const char *body, size_t bn, const char *line, const char *next,
		       dbs_error *err)
{
	size_t mlen = sc->goose ? strlen("+goose ") : strlen("migrate:");
	const char *w = body + mlen;
	size_t wn = bn - mlen;
	size_t kw = strcspn(w, " \t\r\n");
	if (kw > wn)
		kw = wn;
	const char *opt = w + kw;
	size_t on = wn - kw;
	while (on > 0 && (*opt == ' ' || *opt == '\t')) {
		opt++;
		on--;
	}
	int goose = sc->goose;
	int (*is)(const char *, size_t, const char *) = goose ? word_is_ci : word_is;
	if (is(w, kw, "up") || is(w, kw, "down"))
		return section_marker(m, path, lineno, sc, is(w, kw, "up"),
				      opt, on, body, bn, line, next, err);
	if (goose && (is(w, kw, "StatementBegin") || is(w, kw, "StatementEnd")))
		return 0;  /* our splitter keeps statements whole without them */
	if (goose && is(w, kw, "NO") && is(opt, on, "TRANSACTION")) {
		m->up.no_transaction = m->down.no_transaction = 1;
		return 0;
	}
	if (goose && is(w, kw, "ENVSUB"))  /* running it unsubstituted changes the SQL */
		return input_error(err, path, lineno, "write the values into the SQL",
				   "goose's envsub (environment substitution) is not implemented");
	return input_error(err, path, lineno,
		goose ? "known annotations: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION"
		      : "known markers: '-- migrate:up', '-- migrate:down'",
		"unknown %s '%.*s'", goose ? "annotation" : "marker", (int)bn, body);
}

int source_parse_text(migration *m, const char *path, const char *text,
		      int goose, dbs_error *err)
{
	const char *marker = goose ? "+goose " : "migrate:";
	size_t mlen = strlen(marker);
	sections sc = { .goose = goose };
	int lineno = 1, rc = 0;
	for (const char *p = text; *p && !rc; lineno++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t bn;
		const char *body = comment_body(p, len, &bn);
		const char *next = nl ? nl + 1 : p + len;
		if (body && bn >= 8 && strncmp(body, "dbshift:", 8) == 0)
			rc = directive(m, path, lineno, body + 8, bn - 8,
				       sc.where == 0 ? IN_UP_HEADER : IN_SECTION, err);
		else if (body && bn >= mlen && (goose ? strncasecmp(body, marker, mlen)
						  : strncmp(body, marker, mlen)) == 0)
			rc = marker_line(m, path, lineno, &sc, body, bn, p, next, err);
		else if (sc.where == 0 && !body && !is_blank(p, len))
			rc = input_error(err, path, lineno,
				goose ? "put SQL after '-- +goose Up'" : "put SQL after '-- migrate:up'",
				"SQL before the up section");
		p = next;
	}
	if (rc)
		return rc;
	if (!sc.up_start)
		return input_error(err, path, 1,
			goose ? "add a '-- +goose Up' line before the SQL that applies it"
			      : "add a '-- migrate:up' line before the SQL that applies it",
			"no up section");
	if (!sc.up_end)
		sc.up_end = sc.up_start + strlen(sc.up_start);
	m->up.file = xstrdup(path);
	m->up.sql = xstrndup(sc.up_start, (size_t)(sc.up_end - sc.up_start));
	m->up.line = sc.up_line;
	if (sc.down_start) {
		m->down.file = xstrdup(path);
		m->down.sql = xstrdup(sc.down_start);
		m->down.line = sc.down_line;
	}
	return 0;
}

/* Does text have a line that is a dbmate marker ('-- migrate:...')? */
static int has_dbmate_marker(const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p), bn;
		const char *body = comment_body(p, len, &bn);
		if (body && bn >= 8 && !strncmp(body, "migrate:", 8))
			return 1;
		p = nl ? nl + 1 : p + len;
	}
	return 0;
}

/*
 * sqlx's simple migration: <version>_<name>.sql without markers, the
 * whole file its up and no down; "-- no-transaction" at its very start
 * runs it outside a transaction, as sqlx does.  The migration takes
 * text.
 */
static int sqlx_simple(migration *m, const char *path, char *text, dbs_error *err)
{
	m->format = "sqlx";
	m->up.file = xstrdup(path);
	m->up.sql = text;
	m->up.line = 1;
	m->up.no_transaction |= !strncmp(text, "-- no-transaction", 17);
	return header_directives(m, path, text, IN_UP_HEADER, err);
}

/*
 * Atlas's file directives: comment lines at the very top of the file,
 * ended by an empty line (without it they are the first statement's, and
 * Atlas ignores them there too).  "-- atlas:txmode none" runs the file
 * outside a transaction; "-- atlas:txmode file" is the default;
 * "-- atlas:delimiter" (statements ended by something else than ';') is
 * not implemented.  Others (atlas:nolint, atlas:checkpoint...) change
 * nothing that runs.
 */
static int atlas_directives(migration *m, const char *path, dbs_error *err)
{
	const char *p = m->up.sql;
	int none = 0, lineno = 1;
	while (!strncmp(p, "--", 2)) {
		size_t n = strcspn(p, "\n");
		const char *d = p + 2 + strspn(p + 2, " \t");
		if (!strncmp(d, "atlas:delimiter", 15))
			return input_error(err, path, lineno, "end each statement with ';' and "
					   "remove the directive", "Atlas's atlas:delimiter is not "
					   "implemented");
		if (!strncmp(d, "atlas:txmode", 12)) {
			const char *v = d + 12 + strspn(d + 12, " \t");
			size_t vn = strcspn(v, " \t\r\n");
			none = vn == 4 && !strncmp(v, "none", 4);
		}
		p += n + (p[n] == '\n');
		lineno++;
	}
	if (none && (*p == '\n' || !strncmp(p, "\r\n", 2)))
		m->up.no_transaction = 1;
	return 0;
}

/* ---- file names ---- */

enum kind { K_SINGLE, K_UP, K_DOWN, K_SKIP /* for another database */ };

typedef struct piece {
	char *app, *version, *name, *path;
	const char *format;
	enum kind kind;
	int dir;             /* Diesel directory */
	const char *dialect; /* popx: "postgres", "sqlite3", ...; NULL: any */
	int autocommit;      /* popx: runs outside a transaction */
	int string_order;    /* its chain orders versions as strings */
	/* the tool whose files without markers these are, by what is beside
	 * them: "drizzle" (its journal, meta/_journal.json), "atlas" (its
	 * atlas.sum); NULL: sqlx's */
	const char *bare_as;
} piece;

/* <digits>_<name><suffix>: version and name, or 0. */
static int split_name(const char *fname, const char *suffix, char **version,
		      char **name)
{
	if (!ends_with(fname, suffix))
		return 0;
	size_t n = strlen(fname) - strlen(suffix);
	size_t v = strspn(fname, "0123456789");
	if (v == 0 || v >= n || fname[v] != '_' || v + 1 >= n)
		return 0;
	*version = xstrndup(fname, v);
	*name = xstrndup(fname + v + 1, n - v - 1);
	return 1;
}

/*
 * A Diesel directory name: the version is what comes before the first
 * '_', digits and dashes ("2019-04-12-101530", "2019-04-12-101530-0000"),
 * recorded without the dashes as Diesel records it.
 */
static int split_diesel(const char *fname, char **version, char **name)
{
	size_t v = strspn(fname, "0123456789-");
	if (v == 0 || fname[0] < '0' || fname[0] > '9' || fname[v - 1] == '-' ||
	    (fname[v] != '_' && fname[v] != '\0'))
		return 0;
	char *ver = xmalloc(v + 1);
	size_t k = 0;
	for (size_t i = 0; i < v; i++)
		if (fname[i] != '-')
			ver[k++] = fname[i];
	ver[k] = '\0';
	*version = ver;
	*name = xstrdup(fname[v] == '_' ? fname + v + 1 : "");
	return 1;
}

/* Flyway: [VU]<1.2.3 or 1_2_3>__<name>.sql */
static int split_flyway(const char *fname, char **version, char **name)
{
	if ((fname[0] != 'V' && fname[0] != 'U') || !ends_with(fname, ".sql"))
		return 0;
	const char *sep = strstr(fname + 1, "__");
	if (!sep || sep == fname + 1)
		return 0;
	size_t vn = (size_t)(sep - fname - 1);
	char *v = xstrndup(fname + 1, vn);
	for (size_t i = 0; i < vn; i++) {
		if (v[i] == '_')
			v[i] = '.';
		if (!(v[i] == '.' || (v[i] >= '0' && v[i] <= '9')) ||
		    (v[i] == '.' && (i == 0 || i + 1 == vn || v[i - 1] == '.'))) {
			free(v);
			return 0;
		}
	}
	*version = v;
	*name = xstrndup(sep + 2, strlen(sep + 2) - 4);
	return 1;
}

/*
 * A Flyway SQL callback: <event>[__<description>].sql, the event one of
 * Flyway's (beforeMigrate, afterEachMigrate, afterMigrateError...): its
 * length, or 0.
 */
static size_t flyway_callback(const char *fname)
{
	static const char *const events[] = {
		"beforeMigrate", "beforeEachMigrate", "beforeEachMigrateStatement",
		"afterEachMigrateStatement", "afterEachMigrateStatementError", "afterEachMigrate",
		"afterEachMigrateError", "afterMigrate", "afterMigrateApplied", "afterVersioned",
		"afterMigrateError", "beforeUndo", "beforeEachUndo", "beforeEachUndoStatement",
		"afterEachUndoStatement", "afterEachUndoStatementError", "afterEachUndo",
		"afterEachUndoError", "afterUndo", "afterUndoError", "beforeClean", "afterClean",
		"afterCleanError", "beforeInfo", "afterInfo", "afterInfoError", "beforeValidate",
		"afterValidate", "afterValidateError", "beforeBaseline", "afterBaseline",
		"afterBaselineError", "beforeRepair", "afterRepair", "afterRepairError",
		"beforeConnect", "afterConnect", "beforeEachConnect", "afterEachConnect",
		"createSchema", "beforeCreateSchema",
	};
	for (size_t i = 0; i < sizeof(events) / sizeof(*events); i++) {
		size_t n = strlen(events[i]);
		if (!strncmp(fname, events[i], n) &&
		    (!strcmp(fname + n, ".sql") || !strncmp(fname + n, "__", 2)))
			return n;
	}
	return 0;
}

static const char *name_hint =
	"name it <version>_<name>.sql (dbmate, goose), <version>_<name>.up.sql "
	"and .down.sql (golang-migrate, popx), V<version>__<name>.sql (Flyway), "
	"<version>_<name>/up.sql (Diesel) or <version>_<name>/migration.sql (Prisma)";

/*
 * popx's suffixes on a golang-migrate name: [.<dialect>][.autocommit],
 * the dialect under the name pop normalizes it to (pop's synonyms:
 * sqlite for sqlite3, postgresql, pg and pgx for postgres, cockroachdb
 * and crdb for cockroach, mariadb for mysql).
 */
static void popx_suffixes(piece *pc)
{
	static const struct { const char *name, *dialect; } dialects[] = {
		{ "postgres", "postgres" }, { "postgresql", "postgres" }, { "pg", "postgres" },
		{ "pgx", "postgres" }, { "sqlite3", "sqlite3" }, { "sqlite", "sqlite3" },
		{ "mysql", "mysql" }, { "mariadb", "mysql" }, { "cockroach", "cockroach" },
		{ "cockroachdb", "cockroach" }, { "crdb", "cockroach" },
	};
	char *dot = strrchr(pc->name, '.');
	if (dot && !strcmp(dot, ".autocommit")) {
		pc->autocommit = 1;
		*dot = '\0';
		dot = strrchr(pc->name, '.');
	}
	for (size_t i = 0; dot && i < sizeof(dialects) / sizeof(*dialects); i++)
		if (!strcmp(dot + 1, dialects[i].name)) {
			pc->dialect = dialects[i].dialect;
			*dot = '\0';
			break;
		}
	if (pc->dialect || pc->autocommit)
		pc->format = "popx";
}

static int classify_file(piece *pc, const char *fname)
{
	char *v = NULL, *n = NULL;
	if (split_name(fname, ".up.sql", &v, &n)) {
		pc->format = "golang-migrate";
		pc->kind = K_UP;
	} else if (split_name(fname, ".down.sql", &v, &n)) {
		pc->format = "golang-migrate";
		pc->kind = K_DOWN;
	} else if (split_name(fname, ".sql", &v, &n)) {
		pc->format = "dbmate";  /* or goose: decided by content */
		pc->kind = K_SINGLE;
	} else if (split_flyway(fname, &v, &n)) {
		pc->format = "flyway";
		pc->kind = fname[0] == 'V' ? K_UP : K_DOWN;
	} else {
		return 0;
	}
	pc->version = v;
	pc->name = n;
	if (pc->kind != K_SINGLE && strcmp(pc->format, "flyway"))
		popx_suffixes(pc);
	return 1;
}

/* A data migration (-- dbshift:table ... in its first lines), kept beside
 * the migrations that name it (migrations/data/fill.sql): no migration. */
static int is_data_file(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, &text, &len) < 0)
		return 0;
	int yes = 0;
	const char *p = text;
	for (int lines = 0; *p && lines < 20 && !yes; lines++) {
		size_t n = strcspn(p, "\n"), bn;
		const char *body = comment_body(p, n, &bn);
		yes = body && bn > 14 && !strncmp(body, "dbshift:table ", 14);
		p += n + (p[n] == '\n');
	}
	free(text);
	return yes;
}

/*
 * Could a file that matches no format be a migration whose name is
 * mistyped?  Those are errors; other files beside Diesel directories or
 * Flyway scripts (a seed script, a schema dump) are ignored with a
 * warning, as those tools ignore them.
 */
static int looks_like_migration(const char *fname)
{
	return (fname[0] >= '0' && fname[0] <= '9') ||
	       ((fname[0] == 'V' || fname[0] == 'U') && fname[1] >= '0' && fname[1] <= '9') ||
	       !strcmp(fname, "up.sql") || !strcmp(fname, "down.sql") ||
	       strstr(fname, ".up.") || strstr(fname, ".down.");
}

typedef struct pieces {
	piece *p;
	size_t n, alloc;
	strbuf warnings;
	char *provider, *provider_file;  /* Prisma's migration_lock.toml says */
} pieces;

static void pieces_push(pieces *ps, piece pc)
{
	if (ps->n == ps->alloc) {
		ps->alloc = ps->alloc ? ps->alloc * 2 : 64;
		ps->p = xrealloc(ps->p, ps->alloc * sizeof(piece));
	}
	ps->p[ps->n++] = pc;
}

static void piece_release(piece *pc)
{
	free(pc->app);
	free(pc->version);
	free(pc->name);
	free(pc->path);
}

static void pieces_release(pieces *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		piece_release(&ps->p[i]);
	free(ps->p);
	strbuf_release(&ps->warnings);
	free(ps->provider);
	free(ps->provider_file);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* An entry of a directory: its name, and whether it is a directory (the
 * one it points to, for a link). */
typedef struct dir_entry {
	char *name;
	int dir;
} dir_entry;

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

/* Sorted entries of dir (no dot files), or an input error.  Where the
 * file system gives readdir the type, no file is stat'ed here. */
static int list_dir(const char *dir, dir_entry **out, size_t *n, dbs_error *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		dbs_fail(err, DBS_EINPUT, "cannot read migrations directory '%s': %s",
			 dir, strerror(errno));
		dbs_error_set_hint(err, "create it with 'dbshift new NAME' or point "
				   "--dir at the directory that holds the migrations");
		return DBS_EINPUT;
	}
	dir_entry *v = NULL;
	size_t cnt = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		dir_entry *e = &v[cnt++];
		e->name = xstrdup(de->d_name);
		if (de->d_type == DT_DIR || de->d_type == DT_REG) {
			e->dir = de->d_type == DT_DIR;
		} else {  /* a link, or a file system that does not say */
			char *path = xprintf("%s/%s", dir, de->d_name);
			e->dir = is_dir(path);
			free(path);
		}
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

static void free_entries(dir_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Does directory dir hold the file name?  (A directory holding up.sql
 * is a Diesel migration, one holding migration.sql a Prisma one.) */
static int dir_holds(const char *dir, const char *name)
{
	char *path = xprintf("%s/%s", dir, name);
	int yes = is_file(path);
	free(path);
	return yes;
}

static int is_diesel_dir(const char *path)
{
	return dir_holds(path, "up.sql");
}

static int is_prisma_dir(const char *path)
{
	return dir_holds(path, "migration.sql");
}

/* inih's handler for migration_lock.toml: its provider = "...", at the
 * top (Prisma writes it so, quoted as TOML quotes a string). */
static int lock_line(void *arg, const char *sect, const char *key, const char *value)
{
	char **provider = arg;
	size_t n = strlen(value);
	if (!*sect && !strcmp(key, "provider") && !*provider)
		*provider = n >= 2 && value[0] == '"' && value[n - 1] == '"'
			    ? xstrndup(value + 1, n - 2) : xstrdup(value);
	return 1;
}

/* Prisma's migration_lock.toml in dir: the provider it names (the first
 * such file of the directory tree is kept). */
static void read_prisma_lock(pieces *ps, const char *dir)
{
	char *path = xprintf("%s/migration_lock.toml", dir), *text = NULL;
	size_t len = 0;
	if (!ps->provider && read_file(path, &text, &len) == 0)
		ini_parse_string(text, lock_line, &ps->provider);
	free(text);
	if (ps->provider && !ps->provider_file)
		ps->provider_file = path;
	else
		free(path);
}

/* A migration that is a directory (Diesel's, Prisma's) into ps: it takes
 * *path. */
static void push_dir(pieces *ps, piece *pc, const char *format, const char *app, char **path)
{
	pc->format = format;
	pc->kind = K_SINGLE;
	pc->dir = 1;
	pc->path = *path;
	pc->app = xstrdup(app);
	pieces_push(ps, *pc);
	*path = NULL;
}

/* Collect the pieces of one chain directory; app subdirectories recurse once. */
static int scan_dir(pieces *ps, const char *dir, const char *app, dbs_error *err)
{
	dir_entry *names;
	size_t n;
	int rc = list_dir(dir, &names, &n, err);
	if (rc)
		return rc;
	int has_diesel = 0, has_prisma = 0, has_flyway = 0;
	const char *bare_as = dir_holds(dir, "meta/_journal.json") ? "drizzle"
			      : dir_holds(dir, "atlas.sum") ? "atlas" : NULL;
	for (size_t i = 0; i < n && !has_diesel && !has_prisma; i++) {
		if (!names[i].dir)
			continue;
		char *path = xprintf("%s/%s", dir, names[i].name);
		has_diesel = is_diesel_dir(path);
		has_prisma = !has_diesel && is_prisma_dir(path);
		free(path);
	}
	for (size_t i = 0; i < n && !has_flyway; i++) {
		char *v, *nm;
		if (!names[i].dir && split_flyway(names[i].name, &v, &nm)) {
			has_flyway = 1;
			free(v);
			free(nm);
		}
	}
	size_t first = ps->n;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *name = names[i].name;
		char *path = xprintf("%s/%s", dir, name);
		piece pc = { 0 };
		if (names[i].dir && ends_with(name, ".sql")) {
			rc = input_error(err, path, 0, "rename the directory, or move the migration "
					 "file it stands for into its place",
					 "a directory named like a migration file");
		} else if (names[i].dir && is_diesel_dir(path)) {
			if (!split_diesel(name, &pc.version, &pc.name)) {
				rc = input_error(err, path, 0,
					"name it <version>_<name> (e.g. 2019-04-12-101530_create_users "
					"or 20190412101530_create_users), as 'diesel migration "
					"generate' does", "Diesel migration directory without a version");
			} else {
				push_dir(ps, &pc, "diesel", app, &path);
			}
		} else if (names[i].dir && is_prisma_dir(path)) {
			/* Prisma knows a migration by its whole name: two of one
			 * time are two migrations, so the name is the version */
			if (!split_name(name, "", &pc.version, &pc.name)) {
				rc = input_error(err, path, 0,
					"name it <version>_<name> (e.g. 20230404095503_init, or 0_init "
					"for a baseline), as 'prisma migrate dev' does",
					"Prisma migration directory without a version");
			} else {
				free(pc.version);
				free(pc.name);
				pc.version = xstrdup(name);
				pc.name = xstrdup("");
				push_dir(ps, &pc, "prisma", app, &path);
			}
		} else if (names[i].dir) {
			if (*app)
				rc = input_error(err, path, 0,
					"apps are one level deep: move it up to the migrations directory",
					"directory inside app '%s' is not a migration", app);
			else
				rc = scan_dir(ps, path, name, err);
		} else if (ends_with(name, ".go") && !ends_with(name, "_test.go") &&
			   split_name(name, ".go", &pc.version, &pc.name)) {
			/* skipping it would change the schema the history builds */
			rc = input_error(err, path, 0, "write it as a SQL migration, or apply it "
				"with goose and mark it applied with 'dbshift baseline'",
				"goose Go migrations are not implemented");
			free(pc.version);
			free(pc.name);
		} else if (ends_with(name, ".up.fizz") || ends_with(name, ".down.fizz")) {
			/* skipping it would change the schema the history builds */
			rc = input_error(err, path, 0, "write it as the SQL that 'soda generate "
				"sql' or 'fizz' prints for your database, in a .up.sql / .down.sql file",
				"popx fizz migrations are not implemented");
		} else if (ends_with(name, ".sql")) {
			size_t cb;
			if (name[0] == 'R' && starts_with(name, "R__")) {
				rc = input_error(err, path, 0,
					"turn it into a versioned V<version>__<name>.sql migration "
					"(a new one each time it changes)",
					"Flyway repeatable migrations (R__) are not implemented");
			} else if ((cb = flyway_callback(name))) {
				rc = input_error(err, path, 0,
					"run it as a release hook (before_migrate, after_migrate, "
					"on_failure), or move it out of the migrations directory",
					"Flyway callback '%.*s' is not implemented", (int)cb, name);
			} else if (classify_file(&pc, name)) {
				pc.bare_as = bare_as;
				pc.path = path;
				pc.app = xstrdup(app);
				pieces_push(ps, pc);
				path = NULL;
			} else if (is_data_file(path)) {
				;  /* a data migration, run by the directive that names it */
			} else if ((has_diesel || has_prisma) && !looks_like_migration(name)) {
				strbuf_addf(&ps->warnings, "%s: ignored: not a migration (%s "
					    "reads only the directories beside it)\n", path,
					    has_diesel ? "Diesel" : "Prisma");
			} else if (has_flyway && !looks_like_migration(name)) {
				strbuf_addf(&ps->warnings, "%s: ignored: not a migration (Flyway "
					    "reads only V, U and R files and its callbacks)\n", path);
			} else {
				rc = input_error(err, path, 0, name_hint,
						 "file name matches no migration format");
			}
		}
		free(path);
	}
	/* Diesel and Prisma order their migrations by name, as strings: so
	 * does a chain of their directories only */
	if (has_prisma)
		read_prisma_lock(ps, dir);
	int only_diesel = has_diesel || has_prisma;
	for (size_t i = first; i < ps->n; i++)
		if (!strcmp(ps->p[i].app, app) && !ps->p[i].dir)
			only_diesel = 0;
	for (size_t i = first; i < ps->n && only_diesel; i++)
		if (!strcmp(ps->p[i].app, app))
			ps->p[i].string_order = 1;
	free_entries(names, n);
	return rc;
}

static int piece_vcmp(const piece *x, const piece *y)
{
	return version_cmp(x->string_order && y->string_order, x->version, y->version);
}

static int piece_cmp(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	int c = strcmp(x->app, y->app);
	if (c)
		return c;
	c = piece_vcmp(x, y);
	if (c)
		return c;
	c = (int)x->kind - (int)y->kind;
	return c ? c : strcmp(x->path, y->path);
}

/* A migration file's text: a regular file, UTF-8, no NUL byte. */
static int load_text(const char *path, char **text, dbs_error *err)
{
	size_t len;
	if (read_file(path, text, &len) < 0) {
		dbs_fail(err, DBS_EINPUT, "cannot read '%s': %s", path, read_file_error(errno));
		dbs_error_set_file(err, path, 0, 0);
		dbs_error_set_hint(err, "a migration is a regular file of at most 64 MB");
		return DBS_EINPUT;
	}
	int rc = check_text(path, *text, len, err);
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

static int load_whole(section *s, const char *path, dbs_error *err)
{
	int rc = load_text(path, &s->sql, err);
	if (rc)
		return rc;
	s->file = xstrdup(path);
	s->line = 1;
	return 0;
}

/*
 * Diesel's metadata.toml: run_in_transaction = true | false at the top
 * level.  Other keys and tables are Diesel's or the project's and are left
 * alone.  As in Diesel, a file without the key means false (serde's
 * default for a missing bool), no file means true.
 */
static int diesel_metadata(migration *m, const char *path, dbs_error *err)
{
	char *text;
	int rc = load_text(path, &text, err);
	if (rc)
		return rc;
	int in_table = 0, run_in_tx = 0, lineno = 1;
	for (char *p = text; *p && !rc; lineno++) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t i = 0;
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < len && p[i] == '[') {
			in_table = 1;
		} else if (!in_table && len - i >= 18 &&
			   !strncmp(p + i, "run_in_transaction", 18)) {
			size_t k = i + 18;
			while (k < len && (p[k] == ' ' || p[k] == '\t'))
				k++;
			size_t vs = k < len && p[k] == '=' ? k + 1 : len + 1;
			while (vs < len && (p[vs] == ' ' || p[vs] == '\t'))
				vs++;
			size_t ve = vs;
			while (ve < len && p[ve] >= 'a' && p[ve] <= 'z')
				ve++;
			size_t rest = ve;
			while (rest < len && (p[rest] == ' ' || p[rest] == '\t' || p[rest] == '\r'))
				rest++;
			int ok = vs <= len && (rest == len || p[rest] == '#');
			if (ok && word_is(p + vs, ve - vs, "true"))
				run_in_tx = 1;
			else if (ok && word_is(p + vs, ve - vs, "false"))
				run_in_tx = 0;
			else
				rc = input_error(err, path, lineno,
					"write 'run_in_transaction = true' or 'run_in_transaction = false'",
					"run_in_transaction must be true or false");
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	free(text);
	if (!rc && !run_in_tx)
		m->up.no_transaction = m->down.no_transaction = 1;
	return rc;
}

/* How a golang-migrate file must run, as golang-migrate runs every file:
 * as written, with no transaction around it; PROCEDURE, a CALL or a DO
 * block that may end the transaction it runs in. */
enum unwrapped { IN_OURS, OWN_CONTROL, CANNOT_NEST, PROCEDURE };

static int word_at(const char *s, size_t len, size_t *at, const char *word)
{
	size_t n = strlen(word), i = *at;
	if (len - i < n || strncasecmp(s + i, word, n) ||
	    (i + n < len && ((s[i + n] | 0x20) >= 'a' && (s[i + n] | 0x20) <= 'z')))
		return 0;
	i += n;
	*at = i + sql_skip_space(s + i, len - i);
	return 1;
}

/* Can the statement st, its first word at at, not run in a transaction? */
static int cannot_nest(const char *st, size_t len, size_t at)
{
	if (word_at(st, len, &at, "CREATE") || word_at(st, len, &at, "DROP")) {
		if (word_at(st, len, &at, "DATABASE") || word_at(st, len, &at, "TABLESPACE") ||
		    word_at(st, len, &at, "SUBSCRIPTION"))
			return 1;
		word_at(st, len, &at, "UNIQUE");
		return word_at(st, len, &at, "INDEX") && word_at(st, len, &at, "CONCURRENTLY");
	}
	if (word_at(st, len, &at, "REINDEX")) {
		if (at < len && st[at] == '(') {  /* REINDEX (VERBOSE, CONCURRENTLY) ... */
			const char *close = memchr(st + at, ')', len - at);
			if (!close)
				return 0;
			char *opts = xstrndup(st + at, (size_t)(close - st) - at);
			int concurrently = strcasestr(opts, "CONCURRENTLY") != NULL;
			free(opts);
			if (concurrently)
				return 1;
			at = (size_t)(close - st) + 1;
			at += sql_skip_space(st + at, len - at);
		}
		word_at(st, len, &at, "VERBOSE");
		if (word_at(st, len, &at, "SCHEMA") || word_at(st, len, &at, "DATABASE") ||
		    word_at(st, len, &at, "SYSTEM"))
			return 1;
		return (word_at(st, len, &at, "INDEX") || word_at(st, len, &at, "TABLE")) &&
		       word_at(st, len, &at, "CONCURRENTLY");
	}
	return word_at(st, len, &at, "VACUUM") ||
	       (word_at(st, len, &at, "ALTER") && word_at(st, len, &at, "SYSTEM")) ||
	       (word_at(st, len, &at, "DISCARD") && word_at(st, len, &at, "ALL"));
}

/*
 * Does a script begin, commit or roll back a transaction of its own
 * (BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK or ABORT; savepoints
 * are no such thing), hold a statement that cannot run inside one
 * (CREATE/DROP/REINDEX ... CONCURRENTLY, VACUUM, CREATE/DROP DATABASE,
 * TABLESPACE or SUBSCRIPTION, ALTER SYSTEM, DISCARD ALL: the statements
 * Flyway runs outside a transaction), or a procedure (CALL, and a DO
 * block that commits or rolls back: it may control the transaction only
 * outside a transaction block)?  libpg_query's scanner finds where the
 * statements start, past strings, comments and dollar quotes; a
 * statement's first words tell the rest.
 */
static enum unwrapped golang_migrate_mode(const char *sql)
{
	static const char *const control[] = { "BEGIN", "START", "COMMIT", "END", "ABORT" };
	PgQuerySplitResult sr = pg_query_split_with_scanner(sql);
	enum unwrapped mode = IN_OURS;
	for (int i = 0; !sr.error && mode != OWN_CONTROL && i < sr.n_stmts; i++) {
		char *st = xstrndup(sql + sr.stmts[i]->stmt_location,
				    sr.stmts[i]->stmt_len ? (size_t)sr.stmts[i]->stmt_len
							  : strlen(sql + sr.stmts[i]->stmt_location));
		size_t len = strlen(st), at = sql_skip_space(st, len);
		for (size_t k = 0; k < sizeof(control) / sizeof(*control); k++)
			if (word_at(st, len, &at, control[k]))
				mode = OWN_CONTROL;
		if (word_at(st, len, &at, "ROLLBACK")) {  /* ROLLBACK [WORK] TO: a savepoint */
			if (!word_at(st, len, &at, "WORK"))
				word_at(st, len, &at, "TRANSACTION");
			if (!word_at(st, len, &at, "TO"))
				mode = OWN_CONTROL;
		}
		size_t verb = at;
		if (mode != OWN_CONTROL && cannot_nest(st, len, at))
			mode = CANNOT_NEST;
		at = verb;
		if (mode == IN_OURS && (word_at(st, len, &at, "CALL") ||
		    (word_at(st, len, &at, "DO") && (strcasestr(st, "COMMIT") ||
						     strcasestr(st, "ROLLBACK")))))
			mode = PROCEDURE;
		free(st);
	}
	pg_query_free_split_result(sr);
	return mode;
}

/*
 * golang-migrate wraps nothing, and Prisma sends the whole file as one
 * query (on PostgreSQL one implicit transaction, which a statement that
 * cannot run in one fails): a file that manages its own transaction
 * runs as written, outside dbshift's (no_transaction 2), as does one
 * that could not run inside a transaction at all or calls a procedure
 * (1).  Flyway runs a script outside its transaction when a statement
 * cannot run inside one, and a CALL inside it; a script of its own
 * BEGIN ... COMMIT, run in Flyway's, commits it: as written, as here.
 */
static void as_its_tool(section *s, const piece *pc)
{
	int flyway = !strcmp(pc->format, "flyway");
	if (!s->sql || s->no_transaction || (!flyway && strcmp(pc->format, "golang-migrate") &&
					     strcmp(pc->format, "prisma")))
		return;
	enum unwrapped mode = golang_migrate_mode(s->sql);
	if (flyway)
		s->no_transaction = mode == OWN_CONTROL ? 2 : mode == CANNOT_NEST;
	else
		s->no_transaction = mode == OWN_CONTROL ? 2 : mode != IN_OURS;
}

/* Build one migration from its up piece and optional down piece. */
static int build(migration *m, piece *up, piece *down, dbs_error *err)
{
	int rc = 0;
	m->app = xstrdup(up->app);
	m->version = xstrdup(up->version);
	m->name = xstrdup(up->name);
	m->path = xstrdup(up->path);
	m->format = up->format;
	m->string_order = up->string_order;
	if (up->dir && !strcmp(up->format, "prisma")) {
		/* migration.sql, and the down.sql Prisma's guide has one write
		 * beside it (prisma migrate diff ... --script > down.sql) */
		char *u = xprintf("%s/migration.sql", up->path), *d = xprintf("%s/down.sql", up->path);
		rc = load_whole(&m->up, u, err);
		if (!rc)
			rc = header_directives(m, u, m->up.sql, IN_UP_HEADER, err);
		if (!rc)
			as_its_tool(&m->up, up);
		if (!rc && is_file(d))
			rc = load_whole(&m->down, d, err);
		if (!rc && m->down.sql)
			rc = header_directives(m, d, m->down.sql, IN_DOWN_HEADER, err);
		if (!rc && m->down.sql)
			as_its_tool(&m->down, up);
		free(u);
		free(d);
	} else if (up->dir) {
		char *u = xprintf("%s/up.sql", up->path), *d = xprintf("%s/down.sql", up->path);
		char *meta = xprintf("%s/metadata.toml", up->path);
		rc = load_whole(&m->up, u, err);
		if (!rc)
			rc = header_directives(m, u, m->up.sql, IN_UP_HEADER, err);
		if (!rc && is_file(d))
			rc = load_whole(&m->down, d, err);
		if (!rc && m->down.sql)
			rc = header_directives(m, d, m->down.sql, IN_DOWN_HEADER, err);
		if (!rc && is_file(meta))
			rc = diesel_metadata(m, meta, err);
		free(u);
		free(d);
		free(meta);
	} else if (up->kind == K_SINGLE) {
		char *text;
		if ((rc = load_text(up->path, &text, err)))
			return rc;
		int goose = strcasestr(text, "+goose up") || strcasestr(text, "+goose down");
		if (goose)
			m->format = "goose";
		if (!goose && !has_dbmate_marker(text)) {  /* source_load checks its neighbours */
			rc = sqlx_simple(m, up->path, text, err);
			if (up->bare_as)  /* Drizzle's and Atlas's run as sqlx's do */
				m->format = up->bare_as;
			if (!rc && up->bare_as && !strcmp(up->bare_as, "atlas"))
				rc = atlas_directives(m, up->path, err);
		} else {
			rc = source_parse_text(m, up->path, text, goose, err);
			free(text);
		}
	} else {
		rc = load_whole(&m->up, up->path, err);
		if (!rc)
			rc = header_directives(m, up->path, m->up.sql, IN_UP_HEADER, err);
		m->up.no_transaction |= up->autocommit;
		if (!rc)
			as_its_tool(&m->up, up);
		if (!rc && down) {
			rc = load_whole(&m->down, down->path, err);
			if (!rc)
				rc = header_directives(m, down->path, m->down.sql, IN_DOWN_HEADER, err);
			m->down.no_transaction |= down->autocommit;
			if (!rc)
				as_its_tool(&m->down, down);
			if (!strcmp(down->format, "popx"))
				m->format = "popx";
		}
	}
	if (!rc)
		sha256_hex(m->up.sql, strlen(m->up.sql), m->checksum);
	return rc;
}

/*
 * Flyway's checksum of a script: CRC-32 (zlib's) over its lines as Java's
 * BufferedReader.readLine gives them, without their ends (\n, \r\n or
 * \r), a byte order mark dropped from the first; as a signed 32-bit int.
 */
static long flyway_checksum(const char *text)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const char *p = text;
	if (!strncmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (*p) {
		size_t n = strcspn(p, "\r\n");
		crc = crc32(crc, (const Bytef *)p, (uInt)n);
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p += 2;
		else if (*p)
			p++;
	}
	return (long)(int32_t)(uint32_t)crc;
}

/* text with each `from` (one or two bytes) written as `to`. */
static char *replaced(const char *text, const char *from, const char *to)
{
	strbuf sb;
	strbuf_init(&sb);
	size_t n = strlen(from);
	for (const char *p = text; *p;) {
		const char *hit = strstr(p, from);
		if (!hit) {
			strbuf_addf(&sb, "%s", p);
			break;
		}
		strbuf_addf(&sb, "%.*s%s", (int)(hit - p), p, to);
		p = hit + n;
	}
	return strbuf_detach(&sb);
}

/*
 * Does Prisma's checksum of a migration.sql say it is this text?  It is
 * the SHA-256 of the file, as Prisma compares it: of the text as it is,
 * with \r\n as \n, or with \n as \r\n (git may have changed the line ends
 * since); written by an old Prisma without the leading zero of each byte.
 */
static int prisma_checksum_matches(const char *text, const char *want)
{
	int match = 0;
	for (int v = 0; v < 3 && !match; v++) {
		/* the other line ends only when the file as it is does not match */
		char *other = v == 1 ? replaced(text, "\r\n", "\n")
			      : v == 2 ? replaced(text, "\n", "\r\n") : NULL;
		const char *t = other ? other : text;
		char sum[65], old[65];
		sha256_hex(t, strlen(t), sum);
		free(other);
		if (strlen(want) == 64) {
			match = !strcmp(sum, want);
			continue;
		}
		size_t k = 0;
		for (int b = 0; b < 32; b++) {  /* {:x} of each byte */
			if (sum[2 * b] != '0')
				old[k++] = sum[2 * b];
			old[k++] = sum[2 * b + 1];
		}
		old[k] = '\0';
		match = !strcmp(old, want);
	}
	return match;
}

int migration_checksum_matches(const migration *m, const char *recorded)
{
	if (!*recorded || !*m->checksum)
		return 1;  /* a record that keeps none (Django's own), or nothing to compare */
	if (starts_with(recorded, "flyway:")) {
		char *end;
		long want = strtol(recorded + 7, &end, 10);
		return !*end && end != recorded + 7 && m->up.sql &&
		       flyway_checksum(m->up.sql) == want;
	}
	if (starts_with(recorded, "prisma:"))
		return m->up.sql && prisma_checksum_matches(m->up.sql, recorded + 7);
	if (starts_with(recorded, "sqlx:")) {  /* SHA-384 of the file, as sqlx's */
		char sum[97];
		if (!m->up.sql)
			return 0;
		sha384_hex(m->up.sql, strlen(m->up.sql), sum);
		return !strcmp(recorded + 5, sum);
	}
	return !strcmp(recorded, m->checksum);
}

/* popx's name for the files of a database ("postgres", "sqlite3"). */
static const char *popx_dialect(const char *dialect)
{
	return dialect && !strcmp(dialect, "sqlite") ? "sqlite3" : dialect;
}

/*
 * Of the pieces [from, to) of one version, keep what this database runs:
 * files for another dialect go, and a dialect's own file beats the
 * dialect-less one of the same kind.  Dropped pieces become K_SKIP.
 */
static void pick_dialect(piece *p, size_t from, size_t to, const char *dialect)
{
	for (size_t i = from; i < to; i++)
		if (p[i].dialect && (!dialect || strcmp(p[i].dialect, dialect)))
			p[i].kind = K_SKIP;
	for (size_t i = from; i < to; i++) {
		if (p[i].kind == K_SKIP || !p[i].dialect)
			continue;
		for (size_t j = from; j < to; j++)
			if (j != i && p[j].kind == p[i].kind && !p[j].dialect)
				p[j].kind = K_SKIP;
	}
}

/*
 * In a directory (an app) whose files carry dbmate's or goose's markers,
 * a file without any is a file that lacks them, not sqlx's: its error is
 * the one dbmate's reading gives ("SQL before the up section").
 */
static int markers_agree(const source *src, dbs_error *err)
{
	for (size_t i = 0, end; i < src->n; i = end) {
		const migration *bare = NULL;
		int marked = 0;
		for (end = i; end < src->n && !strcmp(src->m[end].app, src->m[i].app); end++) {
			const char *f = src->m[end].format;
			marked |= !strcmp(f, "dbmate") || !strcmp(f, "goose");
			if ((!strcmp(f, "sqlx") || !strcmp(f, "drizzle") || !strcmp(f, "atlas")) &&
			    !bare)
				bare = &src->m[end];
		}
		if (marked && bare) {
			migration as_dbmate = { 0 };
			int rc = source_parse_text(&as_dbmate, bare->up.file, bare->up.sql, 0, err);
			migration_release(&as_dbmate);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int source_load(source *src, const char *dir, const char *dialect, dbs_error *err)
{
	pieces ps = { 0 };
	memset(src, 0, sizeof(*src));
	strbuf_init(&ps.warnings);
	int rc = scan_dir(&ps, dir, "", err);
	if (!rc && ps.n)
		qsort(ps.p, ps.n, sizeof(piece), piece_cmp);
	dialect = popx_dialect(dialect);
	src->m = xcalloc(ps.n ? ps.n : 1, sizeof(migration));
	for (size_t i = 0, end; !rc && i < ps.n; i = end) {
		/* the pieces of one version: [i, end) */
		for (end = i + 1; end < ps.n && !strcmp(ps.p[i].app, ps.p[end].app) &&
		     !piece_vcmp(&ps.p[i], &ps.p[end]); end++)
			;
		pick_dialect(ps.p, i, end, dialect);
		piece *up = NULL, *down = NULL, *extra = NULL;
		int other_db = 0;
		for (size_t k = i; k < end; k++) {
			piece *pc = &ps.p[k];
			other_db |= pc->kind == K_SKIP && pc->dialect && (!dialect ||
				     strcmp(pc->dialect, dialect));
			if (pc->kind == K_SKIP)
				continue;
			if (pc->kind == K_DOWN && !down)
				down = pc;
			else if (pc->kind != K_DOWN && !up)
				up = pc;
			else if (!extra)
				extra = pc;
		}
		if (!up && (!down || other_db))
			continue;  /* a migration for other databases */
		if (!up) {
			rc = input_error(err, down->path, 0,
				"add the up migration or remove this file",
				"down migration %s has no up migration", down->version);
		} else if (extra || (down && (up->kind == K_SINGLE ||
				     !strcmp(up->format, "flyway") != !strcmp(down->format, "flyway")))) {
			piece *other = extra ? extra : down;
			rc = input_error(err, other->path, 0,
				"give each migration its own version, e.g. with 'dbshift new NAME'",
				"duplicate version %s: also used by '%s'", up->version, up->path);
		} else {
			rc = build(&src->m[src->n], up, down, err);
			src->n++;
		}
	}
	if (!rc)
		rc = markers_agree(src, err);
	if (!rc && ps.warnings.len)
		src->warnings = strbuf_detach(&ps.warnings);
	src->provider = ps.provider;
	src->provider_file = ps.provider_file;
	ps.provider = ps.provider_file = NULL;
	pieces_release(&ps);
	if (rc)
		source_release(src);
	return rc;
}

static const char *dialect_title(const char *dialect)
{
	return !strcmp(dialect, "sqlite") ? "SQLite" : "PostgreSQL";
}

int source_check_provider(const source *src, const char *dialect, dbs_error *err)
{
	static const struct { const char *provider, *dialect; } runs[] = {
		{ "postgresql", "postgres" }, { "postgres", "postgres" }, { "sqlite", "sqlite" },
	};
	if (!src->provider || !dialect)
		return 0;
	for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
		if (strcmp(src->provider, runs[i].provider))
			continue;
		if (!strcmp(dialect, runs[i].dialect))
			return 0;
		char *hint = xprintf("point --database at a %s database, or use the migrations "
				     "written for this one", dialect_title(runs[i].dialect));
		int rc = input_error(err, src->provider_file, 0, hint, "the migrations are written "
				     "for %s (provider = \"%s\"), and this database is %s",
				     dialect_title(runs[i].dialect), src->provider,
				     dialect_title(dialect));
		free(hint);
		return rc;
	}
	return input_error(err, src->provider_file, 0, "dbshift runs PostgreSQL and SQLite: "
			   "migrate this database with Prisma",
			   "the migrations are written for provider \"%s\", which dbshift does "
			   "not run", src->provider);
}

int source_load_file(migration *m, const char *path, dbs_error *err)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	piece pc = { 0 };
	memset(m, 0, sizeof(*m));
	if (!classify_file(&pc, base)) {
		/* plain SQL (Diesel's up.sql, a hand-written script) */
		pc.version = xstrdup("0");
		pc.name = xstrndup(base, strcspn(base, "."));
		pc.format = "sql";
		pc.kind = K_UP;
	} else if (pc.kind == K_DOWN) {
		pc.kind = K_UP;  /* lint a down file as the SQL it is */
	}
	pc.app = xstrdup("");
	pc.path = xstrdup(path);
	int rc = build(m, &pc, NULL, err);
	piece_release(&pc);
	if (rc)
		migration_release(m);
	return rc;
}
