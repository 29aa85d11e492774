/*
 * move_dotenv.c - dotenv:NAME: a .env file's variables renamed, set where
 * absent, removed; every other line (comments, blank lines, export,
 * quotes, order) kept as written.
 *
 *   [dotenv "app"]
 *   file = .env
 *   rename = OLD_DB_URL -> DATABASE_URL
 *   set = CELERY_BROKER_URL = ${REDIS_URL}/0     ; only where absent
 *   remove = LEGACY_FLAG
 *
 * A line is KEY=VALUE, optionally after "export "; VALUE bare (up to a
 * " #" comment), 'single-quoted' (as it is) or "double-quoted" (\n, \",
 * \\ and \$ escapes).  A set value's ${VAR} comes from the file itself
 * (after the renames); a VAR it does not hold is an error.  The old file
 * is kept as FILE.dbshift-<run id> (0600); the new one is written 0600,
 * atomically.  The undo puts the kept file back byte for byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/moves.h"

typedef struct env_line {
	char *text;        /* the line as written, without its newline */
	char *key;         /* NULL: a comment or blank line */
	size_t key_at;     /* where the key starts in text */
	char *value;       /* unquoted */
} env_line;

typedef struct env_file {
	env_line *l;
	size_t n;
	int trailing_nl;
} env_file;

static void env_free(env_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->l[i].text);
		free(f->l[i].key);
		free(f->l[i].value);
	}
	free(f->l);
}

static int key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The value after '=' at v, unquoted; NULL when a quote is not closed. */
static char *unquote_value(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\'') {
		const char *e = strchr(v + 1, '\'');
		return e ? xstrndup(v + 1, (size_t)(e - v - 1)) : NULL;
	}
	if (*v == '"') {
		strbuf sb;
		strbuf_init(&sb);
		for (const char *p = v + 1; *p; p++) {
			if (*p == '"')
				return strbuf_detach(&sb);
			if (*p == '\\' && p[1]) {
				p++;
				strbuf_add(&sb, *p == 'n' ? "\n" : p, 1);
			} else {
				strbuf_add(&sb, p, 1);
			}
		}
		strbuf_release(&sb);
		return NULL;
	}
	size_t n = strlen(v);
	const char *hash = v;
	while ((hash = strchr(hash, '#'))) {
		if (hash == v || hash[-1] == ' ' || hash[-1] == '\t') {
			n = (size_t)(hash - v);
			break;
		}
		hash++;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	return xstrndup(v, n);
}

static int env_parse(const char *path, const char *text, env_file *f, dbs_error *err)
{
	memset(f, 0, sizeof(*f));
	size_t len = strlen(text);
	f->trailing_nl = len && text[len - 1] == '\n';
	int line = 0;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		env_line l = { xstrndup(p, n), NULL, 0, NULL };
		line++;
		const char *s = l.text;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s && *s != '#' && *s != '\r') {
			if (!strncmp(s, "export ", 7))
				for (s += 7; *s == ' ' || *s == '\t'; s++)
					;
			size_t k = 0;
			while (key_char(s[k]))
				k++;
			const char *eq = s + k;
			while (*eq == ' ' || *eq == '\t')
				eq++;
			if (!k || *eq != '=' || !(l.value = unquote_value(eq + 1))) {
				dbs_fail(err, DBS_EINPUT, "not a KEY=VALUE line%s",
					 k && *eq == '=' ? " (a quote is not closed)" : "");
				free(l.text);
				env_free(f);
				dbs_error_set_file(err, path, line, 0);
				dbs_error_set_hint(err, "write KEY=value, KEY=\"value\" or KEY='value' "
						   "(# starts a comment)");
				return DBS_EINPUT;
			}
			l.key = xstrndup(s, k);
			l.key_at = (size_t)(s - l.text);
		}
		f->l = xrealloc(f->l, (f->n + 1) * sizeof(env_line));
		f->l[f->n++] = l;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static env_line *env_find(env_file *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->l[i].key && !strcmp(f->l[i].key, key))
			return &f->l[i];
	return NULL;
}

/* value with ${VAR} taken from f; NULL and *missing when VAR is not there. */
static char *expand(env_file *f, const char *value, char **missing)
{
	strbuf sb;
	strbuf_init(&sb);
	*missing = NULL;
	for (const char *p = value; *p;) {
		const char *d = strstr(p, "${");
		const char *e = d ? strchr(d, '}') : NULL;
		if (!d || !e) {
			strbuf_adds(&sb, p);
			break;
		}
		strbuf_add(&sb, p, (size_t)(d - p));
		char *name = xstrndup(d + 2, (size_t)(e - d - 2));
		env_line *l = env_find(f, name);
		if (!l) {
			*missing = name;
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_adds(&sb, l->value);
		free(name);
		p = e + 1;
	}
	return strbuf_detach(&sb);
}

/* KEY=value, quoted when it must be. */
static char *env_assign(const char *key, const char *value)
{
	if (!value[strcspn(value, " \t#\"'\\$\n")])
		return xprintf("%s=%s", key, value);
	strbuf sb;
	strbuf_init(&sb);
	strbuf_addf(&sb, "%s=\"", key);
	for (const char *p = value; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_add(&sb, "\\", 1);
		if (*p == '\n')
			strbuf_adds(&sb, "\\n");
		else
			strbuf_add(&sb, p, 1);
	}
	strbuf_adds(&sb, "\"");
	return strbuf_detach(&sb);
}

static char *env_text(const env_file *f)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < f->n; i++) {
		strbuf_adds(&sb, f->l[i].text);
		if (i + 1 < f->n || f->trailing_nl)
			strbuf_adds(&sb, "\n");
	}
	return strbuf_detach(&sb);
}

/* Apply the section's rename, set and remove to f, each change recorded. */
static int env_apply(move *m, env_file *f, const char *path)
{
	dbs_ctx *ctx = m->ctx;
	pair *p = NULL;
	size_t n = 0;
	char *why = NULL;
	const char *v;
	if ((v = section_get(m->sec, "rename")) && !pairs_parse(v, "->", &p, &n, &why)) {
		for (size_t i = 0; i < n; i++) {
			env_line *old = env_find(f, p[i].key), *now = env_find(f, p[i].value);
			if (!old)
				continue;  /* renamed already, or never there */
			if (now) {
				pairs_free(p, n);
				dbs_fail(&ctx->err, DBS_EFAIL, "%s: %s: both %s and %s are set",
					 m->word, path, old->key, now->key);
				dbs_error_set_hint(&ctx->err, "keep one of them in the file, then run "
						   "again");
				return DBS_EFAIL;
			}
			move_change(m, "rename", p[i].value, old->value, old->value);
			json_object_set_new(json_array_get(m->changes, json_array_size(m->changes) - 1),
					    "from", json_string(p[i].key));
			char *text = xprintf("%.*s%s%s", (int)old->key_at, old->text, p[i].value,
					     old->text + old->key_at + strlen(old->key));
			free(old->text);
			old->text = text;
			free(old->key);
			old->key = xstrdup(p[i].value);
		}
		pairs_free(p, n);
	}
	if ((v = section_get(m->sec, "set")) && !pairs_parse(v, "=", &p, &n, &why)) {
		for (size_t i = 0; i < n; i++) {
			if (env_find(f, p[i].key))
				continue;  /* only where absent */
			char *missing = NULL, *val = expand(f, p[i].value, &missing);
			if (!val) {
				dbs_fail(&ctx->err, DBS_EINPUT, "%s: set %s: ${%s} is not in %s",
					 m->word, p[i].key, missing, path);
				dbs_error_set_hint(&ctx->err, "set %s in the file first, or rename the "
						   "variable it came from to it", missing);
				free(missing);
				pairs_free(p, n);
				return DBS_EINPUT;
			}
			move_change(m, "set", p[i].key, NULL, val);
			env_line l = { env_assign(p[i].key, val), xstrdup(p[i].key), 0, val };
			if (f->n && !f->trailing_nl && *f->l[f->n - 1].text)
				f->trailing_nl = 1;
			f->l = xrealloc(f->l, (f->n + 1) * sizeof(env_line));
			f->l[f->n++] = l;
		}
		pairs_free(p, n);
	}
	if ((v = section_get(m->sec, "remove"))) {
		size_t k;
		for (const char *w = v; (k = list_word(&w)); w += k) {
			char *key = xstrndup(w, k);
			env_line *l;
			while ((l = env_find(f, key))) {
				move_change(m, "remove", key, l->value, NULL);
				size_t at = (size_t)(l - f->l);
				free(l->text);
				free(l->key);
				free(l->value);
				memmove(&f->l[at], &f->l[at + 1], (f->n - at - 1) * sizeof(env_line));
				f->n--;
			}
			free(key);
		}
	}
	free(why);
	return 0;
}

/* Read and parse the section's file. */
static int env_load(move *m, char **text, size_t *len, env_file *f, struct stat *st)
{
	const char *path = section_get(m->sec, "file");
	if (read_file(path, text, len) < 0 || stat(path, st) < 0) {
		dbs_fail(&m->ctx->err, DBS_EINPUT, "%s: cannot read '%s': %s", m->word, path,
			 read_file_error(errno));
		dbs_error_set_hint(&m->ctx->err, "check file in [dotenv \"%s\"] (a path from where "
				   "dbshift runs)", m->sec->name);
		return DBS_EINPUT;
	}
	return env_parse(path, *text, f, &m->ctx->err);
}

static int dotenv_run(move *m)
{
	const char *path = section_get(m->sec, "file");
	char *text = NULL;
	size_t len = 0;
	env_file f;
	struct stat st;
	int rc = env_load(m, &text, &len, &f, &st);
	if (rc) {
		free(text);
		return rc;
	}
	rc = env_apply(m, &f, path);
	if (!rc && !m->dry_run && json_array_size(m->changes)) {
		char *out = env_text(&f);
		if (!(rc = keep_old(m, path, text, len, (int)(st.st_mode & 07777))))
			rc = write_atomic(path, out, strlen(out), 0600, &m->ctx->err);
		free(out);
	}
	env_free(&f);
	free(text);
	return rc;
}

static int dotenv_check(move *m)
{
	if (m->undo)
		return 0;  /* the kept file is what it needs, found as it runs */
	return dotenv_run(m);  /* (m->dry_run: parses and plans, changes nothing) */
}

/* Put the kept file back, byte for byte (the file's kept one is 0600). */
int move_restore(move *m, const json_t *done)
{
	const char *path = section_get(m->sec, "file");
	const json_t *k = json_object_get(done, "kept");
	const char *kept = json_string_value(json_object_get(k, "file"));
	if (!kept) {  /* that run changed nothing */
		m->extra = json_pack("{s:s}", "note", "the release changed nothing in the file");
		return 0;
	}
	char *text = NULL, *now = NULL;
	size_t len = 0, nlen = 0;
	struct stat st;
	if (read_file(kept, &text, &len) < 0) {
		dbs_fail(&m->ctx->err, DBS_EFAIL, "%s: cannot read the kept file '%s': %s", m->word,
			 kept, read_file_error(errno));
		dbs_error_set_hint(&m->ctx->err, "it was written when the release changed %s; "
				   "restore %s by hand", path, path);
		return DBS_EFAIL;
	}
	int same = read_file(path, &now, &nlen) == 0 && nlen == len && !memcmp(now, text, len);
	mode_t mode = json_is_integer(json_object_get(k, "mode"))
		      ? (mode_t)json_integer_value(json_object_get(k, "mode"))
		      : stat(path, &st) == 0 ? st.st_mode & 07777 : 0600;
	int same_mode = stat(path, &st) == 0 && (st.st_mode & 07777) == mode;
	int rc = 0;
	m->restored = xstrdup(path);
	same = same && same_mode;
	if (!m->dry_run && !same)
		rc = write_atomic(path, text, len, mode, &m->ctx->err);
	m->extra = json_pack("{s:s, s:b}", "from_kept", kept, "changed", !same);
	free(text);
	free(now);
	return rc;
}

const move_kind move_dotenv = { "dotenv", dotenv_check, dotenv_run, move_restore };
