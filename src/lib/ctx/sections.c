/*
 * sections.c - the sections of the release steps that move more than the
 * database: which kinds there are, their keys and what each key's value
 * may be (checked when dbshift.conf is read, config.c), and the lists
 * their values hold:
 *
 *   rename = OLD -> NEW, OLD2 -> NEW2        (pairs split on ',' and "->")
 *   set    = KEY = VALUE, KEY2 = "a, b"      (pairs split on ',' and '=')
 *   remove = KEY KEY2                        (words)
 *
 * A value may be written in double quotes (to hold a ',' or a blank).
 */
#include <stdlib.h>
#include <string.h>

#include "ctx/ctx.h"

static const struct {
	const char *kind;
	const char *keys;      /* every key, by blanks */
	const char *required;
} kinds[] = {
	{ "files", "from to from_endpoint to_endpoint from_region to_region keep max_failures",
	  "from to" },
	{ "settings", "file rename set remove", "file" },
	{ "dotenv", "file rename set remove", "file" },
	{ "bucket", "from to from_endpoint to_endpoint from_region to_region "
		    "from_access_key_env from_secret_key_env to_access_key_env to_secret_key_env "
		    "keep max_failures", "from to" },
	{ "mail", "from to from_user from_password_env to_user to_password_env folders keep "
		  "max_failures", "from to from_user from_password_env to_user to_password_env" },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int kind_index(const char *kind, size_t n)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strlen(kinds[i].kind) == n && !strncmp(kinds[i].kind, kind, n))
			return (int)i;
	return -1;
}

int section_kind_known(const char *kind, size_t n)
{
	return kind_index(kind, n) >= 0;
}


const char *section_kinds(void)
{
	return "files, settings, dotenv, bucket, mail";
}

/* Is word w among the blank-separated words of list? */
static int among(const char *list, const char *w)
{
	size_t n = strlen(w), k;
	for (const char *p = list; (k = list_word(&p)); p += k)
		if (k == n && !strncmp(p, w, n))
			return 1;
	return 0;
}

const char *section_keys(const char *kind)
{
	int k = kind_index(kind, strlen(kind));
	return k < 0 ? "" : kinds[k].keys;
}

const char *section_get(const dbs_section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], key))
			return s->values[i];
	return NULL;
}

const dbs_section *section_find(const dbs_section *secs, size_t n, const char *kind,
				size_t kn, const char *name, size_t nn)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(secs[i].kind) == kn && !strncmp(secs[i].kind, kind, kn) &&
		    strlen(secs[i].name) == nn && !strncmp(secs[i].name, name, nn))
			return &secs[i];
	return NULL;
}

void pairs_free(pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

/* One item of a list, unquoted and trimmed (NULL: a quote not closed). */
static char *item(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n && *p == '"') {
		if (n < 2 || p[n - 1] != '"')
			return NULL;
		return xstrndup(p + 1, n - 2);
	}
	return xstrndup(p, n);
}

int pairs_parse(const char *value, const char *sep, pair **out, size_t *nout, char **why)
{
	pair *p = NULL;
	size_t n = 0;
	*out = NULL;
	*nout = 0;
	for (const char *s = value; *s;) {
		/* the item runs to the next ',' outside quotes */
		const char *e = s;
		int quoted = 0;
		for (; *e && (quoted || *e != ','); e++)
			quoted ^= *e == '"';
		size_t len = (size_t)(e - s);
		char *whole = xstrndup(s, len);
		char *at = strstr(whole, sep);
		char *k = at ? item(whole, (size_t)(at - whole)) : NULL;
		char *v = at ? item(at + strlen(sep), strlen(at + strlen(sep))) : NULL;
		if (!k || !v || !*k) {
			*why = xprintf("'%s' is not %s", whole, !strcmp(sep, "->")
				       ? "OLD -> NEW" : "KEY = VALUE");
			free(k);
			free(v);
			free(whole);
			pairs_free(p, n);
			return -1;
		}
		free(whole);
		p = xrealloc(p, (n + 1) * sizeof(*p));
		p[n].key = k;
		p[n++].value = v;
		s = *e ? e + 1 : e;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	*out = p;
	*nout = n;
	return 0;
}

static int env_name_ok(const char *v)
{
	return *v && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
		     == strlen(v) && !(*v >= '0' && *v <= '9');
}

/* Where a side of files, bucket or mail may be. */
static const char *side_problem(const char *kind, const char *v)
{
	if (!strcmp(kind, "bucket"))
		return starts_with(v, "s3://") && v[5] && v[5] != '/' ? NULL
		       : "give s3://BUCKET[/PREFIX]";
	if (!strcmp(kind, "mail"))
		return (starts_with(v, "imap://") && v[7]) || (starts_with(v, "imaps://") && v[8])
		       ? NULL : "give imap://HOST[:PORT]/ or imaps://HOST[:PORT]/";
	if (!*v)
		return "give a directory or s3://BUCKET[/PREFIX]";
	if (starts_with(v, "s3://"))
		return v[5] && v[5] != '/' ? NULL : "give s3://BUCKET[/PREFIX]";
	return strstr(v, "://") ? "give a directory or s3://BUCKET[/PREFIX]" : NULL;
}

const char *section_value_problem(const char *kind, const char *key, const char *value,
				  char **why)
{
	*why = NULL;
	int k = kind_index(kind, strlen(kind));
	if (k < 0)
		return "unknown kind";
	if (!among(kinds[k].keys, key)) {
		*why = xprintf("unknown key '%s' in [%s \"...\"]", key, kind);
		return "known keys";
	}
	if (!strcmp(key, "keep")) {
		int b;
		if (parse_bool(value, &b))
			*why = xprintf("bad keep '%s'", value);
		return "use true or false";
	}
	if (!strcmp(key, "max_failures")) {
		char *end;
		long n = strtol(value, &end, 10);
		if (!*value || *end || n < 0 || n > 1000000000)
			*why = xprintf("bad max_failures '%s'", value);
		return "give how many items may fail before the step fails (0: none)";
	}
	if (!strcmp(key, "from") || !strcmp(key, "to")) {
		const char *p = side_problem(kind, value);
		if (p)
			*why = xprintf("bad %s '%s'", key, value);
		return p;
	}
	if (strstr(key, "_env")) {
		if (!env_name_ok(value))
			*why = xprintf("bad %s '%s'", key, value);
		return "give the name of an environment variable that holds it (never the "
		       "secret itself)";
	}
	if (!strcmp(key, "rename") || !strcmp(key, "set")) {
		pair *p = NULL;
		size_t n = 0;
		char *w = NULL;
		if (pairs_parse(value, !strcmp(key, "rename") ? "->" : "=", &p, &n, &w))
			*why = xprintf("bad %s: %s", key, w);
		else if (!n)
			*why = xprintf("%s is empty", key);
		free(w);
		pairs_free(p, n);
		return !strcmp(key, "rename") ? "write OLD -> NEW, OLD2 -> NEW2 (dotted keys)"
					      : "write KEY = VALUE, KEY2 = VALUE2 (dotted keys; "
						"quote a value that holds a comma)";
	}
	if ((!strcmp(key, "remove") || !strcmp(key, "folders") || !strcmp(key, "file")) &&
	    !*value)
		*why = xprintf("%s is empty", key);
	return "give a value";
}

char *section_missing(const dbs_section *s)
{
	int k = kind_index(s->kind, strlen(s->kind));
	size_t n;
	for (const char *p = k < 0 ? "" : kinds[k].required; (n = list_word(&p)); p += n) {
		char *word = xstrndup(p, n);
		if (!section_get(s, word))
			return word;
		free(word);
	}
	return NULL;
}

void section_release(dbs_section *s)
{
	free(s->kind);
	free(s->name);
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
}

void section_copy(dbs_section *dst, const dbs_section *src)
{
	dst->kind = xstrdup(src->kind);
	dst->name = xstrdup(src->name);
	dst->n = src->n;
	dst->keys = xcalloc(src->n ? src->n : 1, sizeof(char *));
	dst->values = xcalloc(src->n ? src->n : 1, sizeof(char *));
	for (size_t i = 0; i < src->n; i++) {
		dst->keys[i] = xstrdup(src->keys[i]);
		dst->values[i] = xstrdup(src->values[i]);
	}
}
