/*
 * source.c - read a migrations directory in any of the layouts teams
 * already have, unchanged:
 *
 *   dbmate / native   <version>_<name>.sql  with -- migrate:up / -- migrate:down
 *   goose             <version>_<name>.sql  with -- +goose Up / -- +goose Down
 *   golang-migrate    <version>_<name>.up.sql + <version>_<name>.down.sql
 *   Diesel            <version>_<name>/up.sql + down.sql
 *   Flyway            V<version>__<name>.sql + U<version>__<name>.sql
 *
 * A subdirectory that is not a Diesel migration is an app with its own
 * chain.  Header directives (-- dbshift:...) are read in every format.
 * Every problem is an input error naming the file and line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

void migration_release(migration *m)
{
	free(m->app);
	free(m->version);
	free(m->name);
	free(m->path);
	free(m->up.file);
	free(m->up.sql);
	free(m->down.file);
	free(m->down.sql);
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
	src->m = NULL;
	src->n = 0;
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

/*
 * Apply one "-- dbshift:..." directive (body points after "dbshift:").
 * in_header is zero inside a section, where only "allow" belongs.
 */
static int directive(migration *m, const char *path, int lineno,
		     const char *body, size_t n, int in_header, dbs_error *err)
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
	if (!in_header)
		return input_error(err, path, lineno,
			"move it above the '-- migrate:up' line",
			"directive 'dbshift:%.*s' must come before the up section",
			(int)w, body);
	if (word_is(body, w, "no-transaction")) {
		m->no_transaction = 1;
	} else if (word_is(body, w, "data")) {
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
			     dbs_error *err)
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
			int rc = directive(m, path, lineno, body + 8, bn - 8, 1, err);
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
int source_parse_text(migration *m, const char *path, const char *text,
		      int goose, dbs_error *err)
{
	const char *marker = goose ? "+goose " : "migrate:";
	size_t mlen = strlen(marker);
	const char *p = text;
	int lineno = 1, where = 0;  /* 0 header, 1 up, 2 down */
	const char *up_start = NULL, *up_end = NULL, *down_start = NULL;
	int up_line = 0, down_line = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t bn;
		const char *body = comment_body(p, len, &bn);
		if (body && bn >= 8 && strncmp(body, "dbshift:", 8) == 0) {
			int rc = directive(m, path, lineno, body + 8, bn - 8,
					   where == 0, err);
			if (rc)
				return rc;
		} else if (body && bn >= mlen && strncmp(body, marker, mlen) == 0) {
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
			int is_up = goose ? word_is(w, kw, "Up") : word_is(w, kw, "up");
			int is_down = goose ? word_is(w, kw, "Down") : word_is(w, kw, "down");
			if (is_up || is_down) {
				if (on > 0) {
					if (!goose && is_up && word_is(opt, on, "transaction:false"))
						m->no_transaction = 1;
					else if (!goose && word_is(opt, on, "transaction:true"))
						;
					else
						return input_error(err, path, lineno,
							goose ? NULL : "the only option is 'transaction:false'",
							"unknown option '%.*s' on the %s marker",
							(int)on, opt, is_up ? "up" : "down");
				}
				if ((is_up && up_start) || (is_down && down_start))
					return input_error(err, path, lineno,
						"keep one up and one down section per file",
						"second '-- %.*s' section", (int)(bn), body);
				if (is_up) {
					if (where == 2)
						return input_error(err, path, lineno,
							"put the up section before the down section",
							"up section after the down section");
					where = 1;
					up_start = nl ? nl + 1 : p + len;
					up_line = lineno + 1;
				} else {
					if (where == 1)
						up_end = p;
					where = 2;
					down_start = nl ? nl + 1 : p + len;
					down_line = lineno + 1;
				}
			} else if (goose && (word_is(w, kw, "StatementBegin") ||
					     word_is(w, kw, "StatementEnd"))) {
				/* our splitter keeps statements whole without them */
			} else if (goose && word_is(w, kw, "NO") &&
				   word_is(opt, on, "TRANSACTION")) {
				m->no_transaction = 1;
			} else {
				return input_error(err, path, lineno,
					goose ? "known annotations: Up, Down, StatementBegin, "
						"StatementEnd, NO TRANSACTION"
					      : "known markers: '-- migrate:up', '-- migrate:down'",
					"unknown %s '%.*s'", goose ? "annotation" : "marker",
					(int)bn, body);
			}
		} else if (where == 0 && !body && !is_blank(p, len)) {
			return input_error(err, path, lineno,
				goose ? "put SQL after '-- +goose Up'"
				      : "put SQL after '-- migrate:up'",
				"SQL before the up section");
		}
		if (!nl)
			break;
		p = nl + 1;
		lineno++;
	}
	if (!up_start)
		return input_error(err, path, 1,
			goose ? "add a '-- +goose Up' line before the SQL that applies it"
			      : "add a '-- migrate:up' line before the SQL that applies it",
			"no up section");
	if (!up_end)
		up_end = up_start + strlen(up_start);
	m->up.file = xstrdup(path);
	m->up.sql = xstrndup(up_start, (size_t)(up_end - up_start));
	m->up.line = up_line;
	if (down_start) {
		m->down.file = xstrdup(path);
		m->down.sql = xstrdup(down_start);
		m->down.line = down_line;
	}
	return 0;
}

/* ---- file names ---- */

enum kind { K_SINGLE, K_UP, K_DOWN };

typedef struct piece {
	char *app, *version, *name, *path;
	const char *format;
	enum kind kind;
	int dir;  /* Diesel directory */
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

static const char *name_hint =
	"name it <version>_<name>.sql (dbmate, goose), <version>_<name>.up.sql "
	"and .down.sql (golang-migrate), V<version>__<name>.sql (Flyway), or "
	"<version>_<name>/up.sql (Diesel)";

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
	return 1;
}

typedef struct pieces {
	piece *p;
	size_t n, alloc;
} pieces;

static void pieces_push(pieces *ps, piece pc)
{
	if (ps->n == ps->alloc) {
		ps->alloc = ps->alloc ? ps->alloc * 2 : 64;
		ps->p = xrealloc(ps->p, ps->alloc * sizeof(piece));
	}
	ps->p[ps->n++] = pc;
}

static void pieces_release(pieces *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->p[i].app);
		free(ps->p[i].version);
		free(ps->p[i].name);
		free(ps->p[i].path);
	}
	free(ps->p);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (no dot files), or an input error. */
static int list_dir(const char *dir, char ***names, size_t *n, dbs_error *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		dbs_fail(err, DBS_EINPUT, "cannot read migrations directory '%s': %s",
			 dir, strerror(errno));
		dbs_error_set_hint(err, "create it with 'dbshift new NAME' or point "
				   "--dir at the directory that holds the migrations");
		return DBS_EINPUT;
	}
	char **v = NULL;
	size_t cnt = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(char *));
		v[cnt++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(char *), name_cmp);
	*names = v;
	*n = cnt;
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
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

/* Collect the pieces of one chain directory; app subdirectories recurse once. */
static int scan_dir(pieces *ps, const char *dir, const char *app, dbs_error *err)
{
	char **names;
	size_t n;
	int rc = list_dir(dir, &names, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		char *path = xprintf("%s/%s", dir, names[i]);
		piece pc = { 0 };
		if (is_dir(path) && ends_with(names[i], ".sql")) {
			rc = input_error(err, path, 0, "rename the directory, or move the migration "
					 "file it stands for into its place",
					 "a directory named like a migration file");
		} else if (is_dir(path)) {
			char *up = xprintf("%s/up.sql", path);
			int named = split_name(names[i], "", &pc.version, &pc.name);
			if (named && !is_file(up)) {
				free(pc.version);
				free(pc.name);
				pc.version = pc.name = NULL;
				named = 0;
			}
			if (named) {
				pc.format = "diesel";
				pc.kind = K_SINGLE;
				pc.dir = 1;
				pc.path = path;
				pc.app = xstrdup(app);
				pieces_push(ps, pc);
				path = NULL;
			} else if (*app) {
				rc = input_error(err, path, 0,
					"apps are one level deep: move it up to the migrations directory",
					"directory inside app '%s' is not a migration", app);
			} else {
				rc = scan_dir(ps, path, names[i], err);
			}
			free(up);
		} else if (ends_with(names[i], ".sql")) {
			if (names[i][0] == 'R' && starts_with(names[i], "R__")) {
				rc = input_error(err, path, 0,
					"turn it into a versioned V<version>__<name>.sql migration",
					"Flyway repeatable migrations are not implemented");
			} else if (!classify_file(&pc, names[i])) {
				rc = input_error(err, path, 0, name_hint,
						 "file name matches no migration format");
			} else {
				pc.path = path;
				pc.app = xstrdup(app);
				pieces_push(ps, pc);
				path = NULL;
			}
		}
		free(path);
	}
	free_names(names, n);
	return rc;
}

static int piece_cmp(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	int c = strcmp(x->app, y->app);
	if (c)
		return c;
	c = dbs_version_cmp(x->version, y->version);
	if (c)
		return c;
	return (int)x->kind - (int)y->kind;
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

/* Build one migration from its up piece and optional down piece. */
static int build(migration *m, piece *up, piece *down, dbs_error *err)
{
	int rc = 0;
	m->app = xstrdup(up->app);
	m->version = xstrdup(up->version);
	m->name = xstrdup(up->name);
	m->path = xstrdup(up->path);
	m->format = up->format;
	if (up->dir) {
		char *u = xprintf("%s/up.sql", up->path), *d = xprintf("%s/down.sql", up->path);
		rc = load_whole(&m->up, u, err);
		if (!rc)
			rc = header_directives(m, u, m->up.sql, err);
		if (!rc && is_file(d))
			rc = load_whole(&m->down, d, err);
		free(u);
		free(d);
	} else if (up->kind == K_SINGLE) {
		char *text;
		if ((rc = load_text(up->path, &text, err)))
			return rc;
		int goose = strstr(text, "+goose Up") || strstr(text, "+goose Down");
		if (goose)
			m->format = "goose";
		rc = source_parse_text(m, up->path, text, goose, err);
		free(text);
	} else {
		rc = load_whole(&m->up, up->path, err);
		if (!rc)
			rc = header_directives(m, up->path, m->up.sql, err);
		if (!rc && down)
			rc = load_whole(&m->down, down->path, err);
	}
	if (!rc)
		sha256_hex(m->up.sql, strlen(m->up.sql), m->checksum);
	return rc;
}

int source_load(source *src, const char *dir, dbs_error *err)
{
	pieces ps = { 0 };
	memset(src, 0, sizeof(*src));
	int rc = scan_dir(&ps, dir, "", err);
	if (!rc && ps.n)
		qsort(ps.p, ps.n, sizeof(piece), piece_cmp);
	src->m = xcalloc(ps.n ? ps.n : 1, sizeof(migration));
	for (size_t i = 0; !rc && i < ps.n; i++) {
		piece *pc = &ps.p[i];
		piece *next = i + 1 < ps.n ? &ps.p[i + 1] : NULL;
		int same_next = next && !strcmp(pc->app, next->app) &&
				!dbs_version_cmp(pc->version, next->version);
		if (pc->kind == K_DOWN) {
			rc = input_error(err, pc->path, 0,
				"add the up migration or remove this file",
				"down migration %s has no up migration", pc->version);
			break;
		}
		piece *down = NULL;
		if (pc->kind == K_UP && same_next && next->kind == K_DOWN &&
		    !strcmp(pc->format, next->format)) {
			down = next;
			i++;
			next = i + 1 < ps.n ? &ps.p[i + 1] : NULL;
			same_next = next && !strcmp(pc->app, next->app) &&
				    !dbs_version_cmp(pc->version, next->version);
		}
		if (same_next) {
			rc = input_error(err, next->path, 0,
				"give each migration its own version, e.g. with 'dbshift new NAME'",
				"duplicate version %s: also used by '%s'", pc->version, pc->path);
			break;
		}
		rc = build(&src->m[src->n], pc, down, err);
		src->n++;
	}
	pieces_release(&ps);
	if (rc)
		source_release(src);
	return rc;
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
	free(pc.app);
	free(pc.version);
	free(pc.name);
	free(pc.path);
	if (rc)
		migration_release(m);
	return rc;
}
