/*
 * move_settings.c - settings:NAME: a settings file's keys renamed, set
 * where absent, removed, by dotted paths (DATABASES.default.URL), the
 * objects on the way made as needed and values keeping their types.
 *
 *   [settings "app"]
 *   file = config/settings.json      ; .json, .yaml / .yml or .ini
 *   rename = DATABASE_URL -> DATABASES.default.URL
 *   set = SECURE_SSL_REDIRECT = true, SECURE_HSTS_SECONDS = 31536000
 *   remove = LEGACY_FLAG
 *
 * JSON is read and written by jansson, key order kept (indentation as the
 * file's first indented line).  YAML is edited as text where libfyaml
 * says the keys are, so every comment, blank line and key order stays
 * as written: a key's lines are its line and the deeper ones after it;
 * what is moved keeps its text, re-indented.  INI (section.key) is edited
 * line by line the same way.  A set value is typed as the format types
 * it (JSON: a JSON value, else a string; YAML: a plain scalar, quoted
 * when it must be).
 *
 * The old file is kept as FILE.dbshift-<run id> (0600) and the new one
 * written atomically with the old one's mode; the undo puts the kept file
 * back byte for byte (move_dotenv.c: move_restore).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>
#include <libfyaml.h>

#include "ops/moves.h"

typedef enum { FMT_JSON, FMT_YAML, FMT_INI } fmt;

/* A settings document: JSON as a tree, YAML and INI as their text. */
typedef struct sdoc {
	fmt f;
	const char *path;
	json_t *json;
	char *text;
	int indent;     /* JSON's: spaces per level, or 1 with tabs */
	int tabs;       /* JSON indented with tabs */
	int final_nl;   /* the text ends with a newline */
} sdoc;

static int fmt_of(const char *path, fmt *f)
{
	if (ends_with(path, ".json"))
		*f = FMT_JSON;
	else if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
		*f = FMT_YAML;
	else if (ends_with(path, ".ini") || ends_with(path, ".cfg") || ends_with(path, ".conf"))
		*f = FMT_INI;
	else
		return -1;
	return 0;
}

/* The dotted path's parts (free_words). */
static char **parts_of(const char *path, size_t *n)
{
	char **w = NULL;
	*n = 0;
	for (const char *p = path;;) {
		size_t k = strcspn(p, ".");
		w = xrealloc(w, (*n + 2) * sizeof(char *));
		w[(*n)++] = xstrndup(p, k);
		w[*n] = NULL;
		if (!p[k])
			break;
		p += k + 1;
	}
	return w;
}

/* ---- JSON ---- */

static json_t *json_at(json_t *root, const char *path, json_t **parent, char **last)
{
	size_t n;
	char **w = parts_of(path, &n);
	json_t *cur = root;
	*parent = NULL;
	for (size_t i = 0; i < n && cur; i++) {
		*parent = cur;
		cur = json_is_object(cur) ? json_object_get(cur, w[i]) : NULL;
	}
	if (last)
		*last = xstrdup(w[n - 1]);
	free_words(w);
	return cur;
}

/* Put v (a reference taken) at path, making objects on the way; -1 when
 * something on the way is not an object. */
static int json_put(json_t *root, const char *path, json_t *v)
{
	size_t n;
	char **w = parts_of(path, &n);
	json_t *cur = root;
	int rc = 0;
	for (size_t i = 0; i + 1 < n && !rc; i++) {
		json_t *next = json_object_get(cur, w[i]);
		if (!next) {
			next = json_object();
			json_object_set_new(cur, w[i], next);
		}
		if (!json_is_object(next))
			rc = -1;
		cur = next;
	}
	if (!rc)
		json_object_set_new(cur, w[n - 1], v);
	else
		json_decref(v);
	free_words(w);
	return rc;
}

static char *json_show(const json_t *v)
{
	return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
}

/* Rename old to new where both are in one object: the key keeps its
 * place (the keys after it are taken out and put back in order). */
static int json_rename_in_place(json_t *root, const char *old, const char *new)
{
	const char *od = strrchr(old, '.'), *nd = strrchr(new, '.');
	size_t op = od ? (size_t)(od - old) : 0, np = nd ? (size_t)(nd - new) : 0;
	if (op != np || strncmp(old, new, op))
		return -1;
	json_t *parent;
	char *last;
	json_t *v = json_at(root, old, &parent, &last);
	if (!v || !json_is_object(parent)) {
		free(last);
		return -1;
	}
	json_t *moved = json_object(), *after = json_array();
	int seen = 0;
	const char *k;
	json_t *x;
	json_object_foreach(parent, k, x) {
		if (seen)
			json_array_append_new(after, json_string(k));
		seen |= !strcmp(k, last);
	}
	for (size_t i = 0; i < json_array_size(after); i++) {
		const char *key = json_string_value(json_array_get(after, i));
		json_object_set(moved, key, json_object_get(parent, key));
		json_object_del(parent, key);
	}
	json_object_set(parent, nd ? nd + 1 : new, v);
	json_object_del(parent, last);
	for (size_t i = 0; i < json_array_size(after); i++) {
		const char *key = json_string_value(json_array_get(after, i));
		json_object_set(parent, key, json_object_get(moved, key));
	}
	json_decref(moved);
	json_decref(after);
	free(last);
	return 0;
}

/* ---- YAML: where a key is ---- */

typedef struct yspan {
	size_t lead_line;     /* its comment lines just above it start here */
	size_t key_line;      /* 0-based line of the key */
	size_t key_pos;       /* where the key's token starts, and its length */
	size_t key_len;
	int key_col;
	size_t end_line;      /* the last line of its value */
	int child_col;        /* a mapping value: its keys' column, else -1 */
	int block;            /* the value is a block (lines after the key's) */
	int nkeys;            /* a mapping value: how many keys it has */
	size_t vstart, vend;  /* a scalar value: its text */
} yspan;

/* The offsets of the lines of text: line i is text[at[i] .. at[i+1]). */
typedef struct lines {
	size_t *at;
	size_t n;
} lines;

static void lines_of(const char *text, lines *l)
{
	size_t len = strlen(text);
	l->n = 0;
	l->at = xmalloc(sizeof(size_t) * (len + 2));
	l->at[l->n++] = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			l->at[l->n++] = i + 1;
	if (l->at[l->n - 1] == len)
		l->n--;  /* the text ends with its last line's newline */
	l->at[l->n] = len;
}

static int indent_of(const char *text, const lines *l, size_t i)
{
	int k = 0;
	while (l->at[i] + (size_t)k < l->at[i + 1] && text[l->at[i] + (size_t)k] == ' ')
		k++;
	return k;
}

static int blank_or_comment(const char *text, const lines *l, size_t i)
{
	size_t p = l->at[i];
	while (p < l->at[i + 1] && (text[p] == ' ' || text[p] == '\t'))
		p++;
	return p == l->at[i + 1] || text[p] == '\n' || text[p] == '\r' || text[p] == '#';
}

/* libfyaml's messages, kept (never printed): "<input>:LINE:COL: error: ..." */
static void diag_keep(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	strbuf_add(user, buf, len);
}

/* The YAML text read; NULL and its first error (line, column, message:
 * caller frees) when it cannot be.  Duplicate keys are read, as Ruby's
 * and Python's readers read them. */
static struct fy_document *yaml_parse_why(const char *text, int *line, int *col, char **why)
{
	strbuf said;
	strbuf_init(&said);
	struct fy_diag_cfg dc;
	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.output_fn = diag_keep;
	dc.user = &said;
	dc.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dc);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS,
				    .diag = diag };
	struct fy_document *d = fy_document_build_from_string(&cfg, text, FY_NT);
	if (!d && why) {
		const char *e = strstr(said.buf, ": error: ");
		const char *p = e;
		*line = *col = 0;
		while (p && p > said.buf && p[-1] != '>')  /* back to the end of "<input>" */
			p--;
		if (p && p < e && *p == ':' && sscanf(p, ":%d:%d", line, col) != 2)
			*line = *col = 0;
		*why = e ? xstrndup(e + 9, strcspn(e + 9, "\n")) : xstrdup("not YAML that can be read");
	}
	if (diag)
		fy_diag_unref(diag);
	strbuf_release(&said);
	return d;
}

static struct fy_document *yaml_parse(const char *text)
{
	return yaml_parse_why(text, NULL, NULL, NULL);
}

/* Find path in the YAML text; 1 found (span), 0 not there (*deepest the
 * deepest mapping on the way, as a span of its key, or depth 0: the
 * root), -1 something on the way is no block mapping. */
static int yaml_find(struct fy_document *d, const char *text, const lines *l, const char *path,
		     yspan *sp, size_t *depth, yspan *deepest)
{
	size_t n;
	char **w = parts_of(path, &n);
	struct fy_node *cur = fy_document_root(d);
	int rc = 0;
	*depth = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cur || !fy_node_is_mapping(cur) || fy_node_get_style(cur) == FYNS_FLOW) {
			rc = cur ? -1 : 0;
			break;
		}
		struct fy_node_pair *p = fy_node_mapping_lookup_pair_by_string(cur, w[i], FY_NT);
		if (!p)
			break;
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		struct fy_token *kt = fy_node_get_scalar_token(k);
		const struct fy_mark *km = kt ? fy_token_start_mark(kt) : NULL;
		if (!km) {
			rc = -1;
			break;
		}
		const struct fy_mark *ke = fy_token_end_mark(kt);
		yspan s = { .lead_line = (size_t)km->line, .key_line = (size_t)km->line,
			    .key_pos = km->input_pos, .key_len = ke->input_pos - km->input_pos,
			    .key_col = km->column, .end_line = (size_t)km->line, .child_col = -1 };
		while (s.lead_line > 0 && indent_of(text, l, s.lead_line - 1) == s.key_col &&
		       text[l->at[s.lead_line - 1] + (size_t)s.key_col] == '#')
			s.lead_line--;
		if (s.lead_line == 0)  /* the file's own header comment, not the key's */
			s.lead_line = s.key_line;
		struct fy_token *vt = v && fy_node_is_scalar(v) ? fy_node_get_scalar_token(v) : NULL;
		if (vt) {
			const struct fy_mark *a = fy_token_start_mark(vt), *b = fy_token_end_mark(vt);
			s.vstart = a->input_pos;
			s.vend = b->input_pos;
			s.end_line = (size_t)b->line;
			if (b->column == 0 && s.end_line > s.key_line)
				s.end_line--;
		} else {
			/* a block: the deeper lines after the key's (a sequence may
			 * sit at the key's own column) */
			s.block = 1;
			for (size_t j = s.key_line + 1; j < l->n; j++) {
				if (blank_or_comment(text, l, j))
					continue;
				int ind = indent_of(text, l, j);
				if (ind > s.key_col || (ind == s.key_col && text[l->at[j] + ind] == '-'))
					s.end_line = j;
				else
					break;
			}
			if (v && fy_node_is_mapping(v) && s.end_line > s.key_line)
				for (size_t j = s.key_line + 1; j <= s.end_line; j++)
					if (!blank_or_comment(text, l, j)) {
						s.child_col = indent_of(text, l, j);
						break;
					}
			if (v && fy_node_is_mapping(v) && s.child_col < 0)
				s.child_col = s.key_col + 2;
			if (v && fy_node_is_mapping(v))
				s.nkeys = fy_node_mapping_item_count(v);
		}
		*deepest = s;
		*depth = i + 1;
		cur = v;
		if (i + 1 == n) {
			*sp = s;
			rc = 1;
		}
	}
	free_words(w);
	return rc;
}

/* The text of a value at span s, for a diff, or to move it. */
static char *yaml_value_text(const char *text, const lines *l, const yspan *s)
{
	if (!s->block)
		return xstrndup(text + s->vstart, s->vend - s->vstart);
	if (s->end_line == s->key_line)
		return xstrdup("");
	return xstrndup(text + l->at[s->key_line + 1], l->at[s->end_line + 1] -
			l->at[s->key_line + 1]);
}

/* The block lines of a value re-indented to col (each line's common
 * indentation taken off first). */
static void reindent(strbuf *out, const char *block, int col)
{
	int common = -1;
	for (const char *p = block; *p;) {
		size_t n = strcspn(p, "\n"), k = strspn(p, " ");
		if (k < n && p[k] != '#' && (common < 0 || (int)k < common))
			common = (int)k;
		p += n + (p[n] == '\n');
	}
	if (common < 0)
		common = 0;
	for (const char *p = block; *p;) {
		size_t n = strcspn(p, "\n"), k = strspn(p, " ");
		if (k >= n) {
			strbuf_adds(out, "\n");
		} else {
			size_t cut = k < (size_t)common ? k : (size_t)common;
			strbuf_addf(out, "%*s%.*s\n", col, "", (int)(n - cut), p + cut);
		}
		p += n + (p[n] == '\n');
	}
}

/* A scalar as YAML would read it back as the same value and type. */
static char *yaml_scalar(const char *v)
{
	int plain = *v && !strchr(":#{}[],&*!|>'\"%@`\n", v[0]) && !strstr(v, ": ") &&
		    !strstr(v, " #") && v[strlen(v) - 1] != ' ' && v[0] != ' ' &&
		    !strchr(v, '\n') && !(v[0] == '-' && (v[1] == ' ' || !v[1]));
	if (plain)
		return xstrdup(v);
	json_t *s = json_string(v);
	char *q = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	return q;
}

/* Insert "path: value" (value: a scalar's text, or block lines when
 * block) into the YAML text, making the mappings on the way. */
static int yaml_insert(sdoc *d, const char *path, const char *value, int block,
		       const char *comments)
{
	struct fy_document *fd = yaml_parse(d->text);
	if (!fd)
		return -1;
	lines l;
	lines_of(d->text, &l);
	yspan sp, deepest = { 0 };
	size_t depth = 0, n;
	int found = yaml_find(fd, d->text, &l, path, &sp, &depth, &deepest);
	fy_document_destroy(fd);
	if (found) {
		free(l.at);
		return -1;
	}
	char **w = parts_of(path, &n);
	size_t at;
	int col;
	if (depth == 0) {
		at = strlen(d->text);
		col = 0;
	} else {
		if (!deepest.block || deepest.child_col < 0) {  /* a scalar on the way */
			free_words(w);
			free(l.at);
			return -1;
		}
		at = l.at[deepest.end_line + 1];
		col = deepest.child_col;
	}
	strbuf sb;
	strbuf_init(&sb);
	strbuf_add(&sb, d->text, at);
	if (at && d->text[at - 1] != '\n')
		strbuf_adds(&sb, "\n");
	for (size_t i = depth; i < n; i++, col += 2) {
		if (i + 1 == n && comments && *comments)
			reindent(&sb, comments, col);
		if (i + 1 < n) {
			strbuf_addf(&sb, "%*s%s:\n", col, "", w[i]);
		} else if (block) {
			strbuf_addf(&sb, "%*s%s:\n", col, "", w[i]);
			reindent(&sb, value, col + 2);
		} else {
			strbuf_addf(&sb, "%*s%s: %s\n", col, "", w[i], value);
		}
	}
	strbuf_adds(&sb, d->text + at);
	free(d->text);
	d->text = strbuf_detach(&sb);
	free_words(w);
	free(l.at);
	return 0;
}

/* ---- INI: section.key ---- */

typedef struct ispan {
	long line;         /* the key's line (0-based), -1: none */
	long section_end;  /* the last line of its section (or of the top) */
	int section_found;
	char *value;
} ispan;

/* Where section.key is (a path without a dot: a key before any
 * section): its line and value, and the last key line of the section
 * (its header's line when it has none; -1 for the top without keys). */
static void ini_find(const char *text, const char *path, ispan *s)
{
	const char *dot = strrchr(path, '.');
	char *sec = dot ? xstrndup(path, (size_t)(dot - path)) : xstrdup("");
	const char *key = dot ? dot + 1 : path;
	int in = !*sec, headers = 0;
	long i = 0;
	memset(s, 0, sizeof(*s));
	s->line = s->section_end = -1;
	s->section_found = !*sec;
	for (const char *p = text; *p; i++) {
		size_t n = strcspn(p, "\n");
		const char *q = p, *end = p + n;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q == '[') {
			const char *e = memchr(q, ']', (size_t)(end - q));
			size_t sn = e ? (size_t)(e - q - 1) : 0;
			headers++;
			in = *sec && strlen(sec) == sn && !strncmp(q + 1, sec, sn);
			if (in) {
				s->section_found = 1;
				s->section_end = i;
			}
		} else if (in && (*sec || !headers) && q < end && *q != ';' && *q != '#' &&
			   *q != '\r') {
			size_t k = strcspn(q, "=:\n"), kn = k;
			while (kn && (q[kn - 1] == ' ' || q[kn - 1] == '\t'))
				kn--;
			s->section_end = i;
			if (strlen(key) == kn && !strncmp(q, key, kn) && (q[k] == '=' || q[k] == ':')) {
				const char *v = q + k + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				size_t vn = (size_t)(end - v);
				while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\r'))
					vn--;
				s->line = i;
				free(s->value);
				s->value = xstrndup(v, vn);
			}
		}
		p += n + (p[n] == '\n');
	}
	free(sec);
}

static int ini_line_ok(void *u, const char *s, const char *k, const char *v)
{
	(void)u, (void)s, (void)k, (void)v;
	return 1;
}

/* Replace lines [from, to] of text with repl (NULL: remove them). */
static char *splice_lines(const char *text, size_t from, size_t to, const char *repl)
{
	lines l;
	lines_of(text, &l);
	strbuf sb;
	strbuf_init(&sb);
	size_t a = from < l.n ? l.at[from] : strlen(text);
	size_t b = to + 1 < l.n ? l.at[to + 1] : strlen(text);
	strbuf_add(&sb, text, a);
	if (repl)
		strbuf_adds(&sb, repl);
	strbuf_adds(&sb, text + b);
	free(l.at);
	return strbuf_detach(&sb);
}

/* ---- the document ---- */

static int sdoc_load(move *m, const char *path, const char *text, sdoc *d)
{
	dbs_ctx *ctx = m->ctx;
	memset(d, 0, sizeof(*d));
	d->path = path;
	fmt_of(path, &d->f);
	d->text = xstrdup(text);
	if (d->f == FMT_JSON) {
		json_error_t je;
		d->json = json_loads(text, JSON_DECODE_ANY, &je);
		if (!d->json || !json_is_object(d->json)) {
			dbs_fail(&ctx->err, DBS_EINPUT, "%s", d->json ? "the top is not an object"
				 : je.text);
			dbs_error_set_file(&ctx->err, path, d->json ? 1 : je.line, d->json ? 0
					   : je.column);
			dbs_error_set_hint(&ctx->err, "fix the file (settings:%s reads it as JSON by "
					   "its extension)", m->sec->name);
			return DBS_EINPUT;
		}
		const char *nl = strchr(text, '\n');
		d->tabs = nl && nl[1] == '\t';
		d->indent = d->tabs ? 1 : nl ? (int)strspn(nl + 1, " ") : 0;
		if (d->indent > 8)
			d->indent = 8;
		if (!d->indent && nl)
			d->indent = 2;
		d->final_nl = *text && text[strlen(text) - 1] == '\n';
	} else if (d->f == FMT_YAML) {
		int line = 0, col = 0;
		char *why = NULL;
		struct fy_document *fd = yaml_parse_why(text, &line, &col, &why);
		struct fy_node *root = fd ? fy_document_root(fd) : NULL;
		int ok = root && fy_node_is_mapping(root);
		fy_document_destroy(fd);
		if (!ok && *text) {
			dbs_fail(&ctx->err, DBS_EINPUT, "%s", fd ? "the top is not a mapping" : why);
			dbs_error_set_file(&ctx->err, path, line, col);
			free(why);
			dbs_error_set_hint(&ctx->err, "fix the file (settings:%s reads it as YAML by "
					   "its extension)", m->sec->name);
			return DBS_EINPUT;
		}
		free(why);
	} else {
		int line = ini_parse_string(text, ini_line_ok, NULL);
		if (line) {
			dbs_fail(&ctx->err, DBS_EINPUT, "not an INI line");
			dbs_error_set_file(&ctx->err, path, line, 0);
			dbs_error_set_hint(&ctx->err, "write key = value under [section] headers");
			return DBS_EINPUT;
		}
	}
	return 0;
}

static void sdoc_free(sdoc *d)
{
	json_decref(d->json);
	free(d->text);
}

/* Is path there?  *shown: its value for people; *moved: the value to
 * put elsewhere (JSON: a json_t reference; else text, *block set for a
 * block of YAML lines).  Each may be NULL. */
static int sdoc_get(sdoc *d, const char *path, char **shown, void **moved, int *block)
{
	if (shown)
		*shown = NULL;
	if (d->f == FMT_JSON) {
		json_t *parent;
		json_t *v = json_at(d->json, path, &parent, NULL);
		if (v && shown)
			*shown = json_show(v);
		if (v && moved)
			*moved = json_incref(v);
		return v != NULL;
	}
	if (d->f == FMT_YAML) {
		struct fy_document *fd = yaml_parse(d->text);
		lines l;
		lines_of(d->text, &l);
		yspan sp, deepest;
		size_t depth;
		int found = fd && yaml_find(fd, d->text, &l, path, &sp, &depth, &deepest) == 1;
		fy_document_destroy(fd);
		if (found) {
			char *t = yaml_value_text(d->text, &l, &sp);
			if (block)
				*block = sp.block;
			if (shown && sp.block) {  /* lines: for people, how many */
				size_t k = 0;
				for (const char *c = t; *c; c++)
					k += *c == '\n';
				*shown = xprintf("(%zu line%s)", k, k == 1 ? "" : "s");
			} else if (shown) {
				*shown = xstrdup(t);
			}
			if (moved)
				*moved = t;
			else
				free(t);
		}
		free(l.at);
		return found;
	}
	ispan s;
	ini_find(d->text, path, &s);
	if (s.line >= 0 && shown)
		*shown = xstrdup(s.value);
	if (s.line >= 0 && moved)
		*moved = xstrdup(s.value);
	if (block)
		*block = 0;
	free(s.value);
	return s.line >= 0;
}

/* Is the parent of path a block mapping whose only key path is?  Then
 * *at->vstart is where " {}" goes on its key's line (before the line's
 * end or comment; the parent's line comes before path's, so the offset
 * holds after path's lines are taken out). */
static int deepest_parent(sdoc *d, const char *path, yspan *at)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return 0;
	char *parent = xstrndup(path, (size_t)(dot - path));
	struct fy_document *fd = yaml_parse(d->text);
	lines l;
	lines_of(d->text, &l);
	yspan ps, deepest;
	size_t depth;
	int only = fd && yaml_find(fd, d->text, &l, parent, &ps, &depth, &deepest) == 1 &&
		   ps.block && ps.nkeys == 1;
	if (only) {  /* after the key's ':' */
		const char *colon = d->text + ps.key_pos + ps.key_len;
		while (*colon && *colon != ':' && *colon != '\n')
			colon++;
		at->vstart = (size_t)(colon - d->text) + (*colon == ':');
	}
	fy_document_destroy(fd);
	free(l.at);
	free(parent);
	return only;
}

static int sdoc_remove(sdoc *d, const char *path)
{
	if (d->f == FMT_JSON) {
		json_t *parent;
		char *last;
		json_t *v = json_at(d->json, path, &parent, &last);
		if (v)
			json_object_del(parent, last);
		free(last);
		return 0;
	}
	if (d->f == FMT_YAML) {
		struct fy_document *fd = yaml_parse(d->text);
		lines l;
		lines_of(d->text, &l);
		yspan sp, deepest;
		size_t depth;
		int found = fd ? yaml_find(fd, d->text, &l, path, &sp, &depth, &deepest) : -1;
		fy_document_destroy(fd);
		free(l.at);
		if (found < 0)
			return -1;
		if (found) {  /* (the comments above it stay: they may head more) */
			char *t = splice_lines(d->text, sp.key_line, sp.end_line, NULL);
			/* the last key of a block mapping: it stays a mapping, {} */
			if (depth > 1 && deepest_parent(d, path, &sp)) {
				char *u = xprintf("%.*s {}%s", (int)sp.vstart, t, t + sp.vstart);
				free(t);
				t = u;
			}
			free(d->text);
			d->text = t;
		}
		return 0;
	}
	ispan s;
	ini_find(d->text, path, &s);
	free(s.value);
	if (s.line >= 0) {
		char *t = splice_lines(d->text, (size_t)s.line, (size_t)s.line, NULL);
		free(d->text);
		d->text = t;
	}
	return 0;
}

/* Put value at path (absent): moved (from sdoc_get) or, with moved NULL,
 * the text of a set. */
static int sdoc_put(sdoc *d, const char *path, void *moved, int block, const char *set)
{
	if (d->f == FMT_JSON) {
		json_t *v = moved;
		if (!v) {
			v = json_loads(set, JSON_DECODE_ANY, NULL);
			if (!v)
				v = json_string(set);
		}
		return json_put(d->json, path, v);
	}
	if (d->f == FMT_YAML) {
		char *v = moved ? moved : yaml_scalar(set);
		int rc = yaml_insert(d, path, v, moved ? block : 0, NULL);
		free(v);
		return rc;
	}
	if (*d->text && d->text[strlen(d->text) - 1] != '\n') {
		char *t = xprintf("%s\n", d->text);
		free(d->text);
		d->text = t;
	}
	ispan s;
	ini_find(d->text, path, &s);
	free(s.value);
	const char *dot = strrchr(path, '.');
	char *line = xprintf("%s = %s\n", dot ? dot + 1 : path, moved ? (char *)moved : set);
	free(moved);
	strbuf sb;
	strbuf_init(&sb);
	if (s.section_found && s.section_end >= 0) {
		char *t = splice_lines(d->text, (size_t)s.section_end + 1, (size_t)s.section_end, line);
		strbuf_adds(&sb, t);
		free(t);
	} else if (!dot) {  /* a key before any section */
		strbuf_adds(&sb, line);
		strbuf_adds(&sb, d->text);
	} else {
		strbuf_adds(&sb, d->text);
		if (sb.len && sb.buf[sb.len - 1] != '\n')
			strbuf_adds(&sb, "\n");
		if (!s.section_found)
			strbuf_addf(&sb, "\n[%.*s]\n", (int)(dot - path), path);
		strbuf_adds(&sb, line);
	}
	free(line);
	free(d->text);
	d->text = strbuf_detach(&sb);
	return 0;
}

static char *sdoc_text(sdoc *d)
{
	if (d->f != FMT_JSON)
		return xstrdup(d->text);
	char *s = json_dumps(d->json, JSON_INDENT(d->indent) | JSON_PRESERVE_ORDER);
	strbuf sb;
	strbuf_init(&sb);
	for (const char *p = s; *p;) {  /* (a line starts with its indentation only) */
		size_t k = d->tabs ? strspn(p, " ") : 0;
		for (size_t i = 0; i < k; i++)
			strbuf_add(&sb, "\t", 1);
		size_t n = strcspn(p + k, "\n");
		strbuf_add(&sb, p + k, n + (p[k + n] == '\n'));
		p += k + n + (p[k + n] == '\n');
	}
	if (d->final_nl)
		strbuf_adds(&sb, "\n");
	free(s);
	return strbuf_detach(&sb);
}

/* Rename old to new in YAML: in place when both are in one mapping (the
 * key's token rewritten, all else as it was), else its lines (with the
 * comments just above it) moved under new. */
static int yaml_rename(sdoc *d, const char *old, const char *new)
{
	struct fy_document *fd = yaml_parse(d->text);
	lines l;
	lines_of(d->text, &l);
	yspan sp, deepest;
	size_t depth;
	int found = fd ? yaml_find(fd, d->text, &l, old, &sp, &depth, &deepest) : -1;
	fy_document_destroy(fd);
	if (found != 1) {
		free(l.at);
		return -1;
	}
	const char *od = strrchr(old, '.'), *nd = strrchr(new, '.');
	size_t op = od ? (size_t)(od - old) : 0, np = nd ? (size_t)(nd - new) : 0;
	int rc = 0;
	if (op == np && !strncmp(old, new, op)) {
		char *last = yaml_scalar(nd ? nd + 1 : new);
		char *t = xprintf("%.*s%s%s", (int)sp.key_pos, d->text, last,
				  d->text + sp.key_pos + sp.key_len);
		free(last);
		free(d->text);
		d->text = t;
	} else {
		char *comments = xstrndup(d->text + l.at[sp.lead_line], l.at[sp.key_line] -
					  l.at[sp.lead_line]);
		char *value = yaml_value_text(d->text, &l, &sp);
		if (!sp.block) {  /* with the comment after it on its line */
			free(value);
			size_t e = l.at[sp.end_line + 1];
			while (e > sp.vstart && (d->text[e - 1] == '\n' || d->text[e - 1] == '\r'))
				e--;
			value = xstrndup(d->text + sp.vstart, e - sp.vstart);
		}
		char *t = splice_lines(d->text, sp.lead_line, sp.end_line, NULL);
		free(d->text);
		d->text = t;
		rc = yaml_insert(d, new, value, sp.block, comments);
		free(comments);
		free(value);
	}
	free(l.at);
	return rc;
}

/* ---- the step ---- */

static int cannot(move *m, const char *what, const char *key)
{
	dbs_fail(&m->ctx->err, DBS_EFAIL, "%s: cannot %s %s in %s: something on its way is not "
		 "a mapping", m->word, what, key, section_get(m->sec, "file"));
	dbs_error_set_hint(&m->ctx->err, "fix the file by hand, or the key paths in "
			   "[settings \"%s\"]", m->sec->name);
	return DBS_EFAIL;
}

static int apply(move *m, sdoc *d)
{
	pair *p = NULL;
	size_t n = 0;
	char *why = NULL;
	const char *v;
	int rc = 0;
	if ((v = section_get(m->sec, "rename")) && !pairs_parse(v, "->", &p, &n, &why)) {
		for (size_t i = 0; i < n && !rc; i++) {
			char *shown = NULL;
			void *moved = NULL;
			int block = 0;
			if (!sdoc_get(d, p[i].key, &shown, &moved, &block))
				continue;  /* renamed already, or never there */
			if (sdoc_get(d, p[i].value, NULL, NULL, NULL)) {
				free(shown);
				if (d->f == FMT_JSON)
					json_decref(moved);
				else
					free(moved);
				dbs_fail(&m->ctx->err, DBS_EFAIL, "%s: %s: both %s and %s are set",
					 m->word, d->path, p[i].key, p[i].value);
				dbs_error_set_hint(&m->ctx->err, "keep one of them in the file, then "
						   "run again");
				rc = DBS_EFAIL;
				break;
			}
			move_change(m, "rename", p[i].value, shown, shown);
			json_object_set_new(json_array_get(m->changes, json_array_size(m->changes) - 1),
					    "from", json_string(p[i].key));
			free(shown);
			if (d->f == FMT_YAML) {
				free(moved);
				if (yaml_rename(d, p[i].key, p[i].value))
					rc = cannot(m, "rename", p[i].key);
			} else if (d->f == FMT_JSON && !json_rename_in_place(d->json, p[i].key,
									     p[i].value)) {
				json_decref(moved);
			} else if (sdoc_remove(d, p[i].key) || sdoc_put(d, p[i].value, moved, block,
									NULL)) {
				rc = cannot(m, "rename", p[i].key);
			}
		}
		pairs_free(p, n);
	}
	if (!rc && (v = section_get(m->sec, "set")) && !pairs_parse(v, "=", &p, &n, &why)) {
		for (size_t i = 0; i < n && !rc; i++) {
			if (sdoc_get(d, p[i].key, NULL, NULL, NULL))
				continue;  /* only where absent */
			move_change(m, "set", p[i].key, NULL, p[i].value);
			if (sdoc_put(d, p[i].key, NULL, 0, p[i].value))
				rc = cannot(m, "set", p[i].key);
		}
		pairs_free(p, n);
	}
	if (!rc && (v = section_get(m->sec, "remove"))) {
		size_t k;
		for (const char *w = v; !rc && (k = list_word(&w)); w += k) {
			char *key = xstrndup(w, k), *shown = NULL;
			if (sdoc_get(d, key, &shown, NULL, NULL)) {
				move_change(m, "remove", key, shown, NULL);
				if (sdoc_remove(d, key))
					rc = cannot(m, "remove", key);
			}
			free(shown);
			free(key);
		}
	}
	free(why);
	return rc;
}

static int settings_run(move *m)
{
	dbs_ctx *ctx = m->ctx;
	const char *path = section_get(m->sec, "file");
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	fmt f;
	if (fmt_of(path, &f)) {
		dbs_fail(&ctx->err, DBS_EINPUT, "%s: cannot tell the format of '%s'", m->word, path);
		dbs_error_set_hint(&ctx->err, "name a .json, .yaml, .yml or .ini file");
		return DBS_EINPUT;
	}
	if (read_file(path, &text, &len) < 0 || stat(path, &st) < 0) {
		dbs_fail(&ctx->err, DBS_EINPUT, "%s: cannot read '%s': %s", m->word, path,
			 read_file_error(errno));
		dbs_error_set_hint(&ctx->err, "check file in [settings \"%s\"] (a path from where "
				   "dbshift runs)", m->sec->name);
		free(text);
		return DBS_EINPUT;
	}
	sdoc d;
	int rc = sdoc_load(m, path, text, &d);
	if (!rc)
		rc = apply(m, &d);
	if (!rc && !m->dry_run && json_array_size(m->changes)) {
		char *out = sdoc_text(&d);
		if (!(rc = keep_old(m, path, text, len, (int)(st.st_mode & 07777))))
			rc = write_atomic(path, out, strlen(out), st.st_mode & 07777, &ctx->err);
		free(out);
	}
	sdoc_free(&d);
	free(text);
	return rc;
}

static int settings_check(move *m)
{
	return m->undo ? 0 : settings_run(m);
}

const move_kind move_settings = { "settings", settings_check, settings_run, move_restore };
