/*
 * url.c - database URLs: which driver, how to show one without its
 * secrets, and where the secrets are in the text as typed.
 *
 * PostgreSQL connection strings (postgres:// and postgresql:// URIs, and
 * key=value conninfo) are read by libpq itself (PQconninfoParse), so what
 * dbshift shows, hides and connects to is exactly what libpq understood.
 * A string libpq rejects is an input error; its message is scrubbed of
 * anything that may be part of a password before anyone sees it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "driver/driver.h"

static int is_pg_uri(const char *url)
{
	return starts_with(url, "postgres://") || starts_with(url, "postgresql://");
}

/* scheme://... (RFC 3986's scheme characters), not a "://" further on */
static int is_uri(const char *url)
{
	size_t k = 0;
	while (isalnum((unsigned char)url[k]) || url[k] == '+' || url[k] == '-' || url[k] == '.')
		k++;
	return k > 0 && !strncmp(url + k, "://", 3);
}

size_t url_sqlite_prefix(const char *url)
{
	return starts_with(url, "sqlite:") ? 7 : starts_with(url, "sqlite3:") ? 8 : 0;
}

int url_is_postgres(const char *url)
{
	/* a URI, or key=value conninfo ("host=db dbname=app"), not another URI */
	return is_pg_uri(url) || (!is_uri(url) && !url_sqlite_prefix(url) && strchr(url, '='));
}

/* ---- where the secrets are, following libpq's grammar ---- */

static void span_push(size_t (*spans)[2], size_t *n, size_t max, size_t off, size_t len)
{
	if (spans && *n < max) {
		spans[*n][0] = off;
		spans[*n][1] = len;
	}
	(*n)++;
}

static int is_secret_key(const char *key, size_t n)
{
	/* the key as libpq decodes it ("pass%77ord" is "password") */
	char buf[32];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < sizeof(buf); i++) {
		if (key[i] == '%' && i + 2 < n) {
			char hex[3] = { key[i + 1], key[i + 2], 0 };
			buf[k++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			buf[k++] = key[i];
		}
	}
	buf[k] = '\0';
	return !strcmp(buf, "password") || !strcmp(buf, "sslpassword");
}

size_t url_secret_spans(const char *url, size_t (*spans)[2], size_t max)
{
	size_t n = 0;
	if (is_uri(url)) {
		/* libpq's URI grammar; other URIs (mysql://...) are read the same way */
		const char *start = strstr(url, "://") + 3;
		const char *p = start;
		while (*p && *p != '@' && *p != '/')
			p++;
		if (*p == '@') {
			const char *colon = memchr(start, ':', (size_t)(p - start));
			if (colon)
				span_push(spans, &n, max, (size_t)(colon + 1 - url),
					  (size_t)(p - colon - 1));
			p++;
		} else {
			p = start;
		}
		/* the hosts: "[v6]" or a name up to : / ? or ",", each with an
		 * optional port up to / ? or ","; then the path up to '?' */
		do {
			if (*p == ',')
				p++;
			if (*p == '[') {
				p += strcspn(p, "]");
				if (*p)
					p++;
			} else {
				p += strcspn(p, ":/?,");
			}
			if (*p == ':')
				p += strcspn(p, "/?,");
		} while (*p == ',');
		const char *q = strchr(p, '?');
		while (q) {
			const char *key = q + 1;
			const char *end = key + strcspn(key, "&");
			const char *eq = memchr(key, '=', (size_t)(end - key));
			if (eq && is_secret_key(key, (size_t)(eq - key)))
				span_push(spans, &n, max, (size_t)(eq + 1 - url), (size_t)(end - eq - 1));
			q = *end ? end : NULL;
		}
		return n;
	}
	if (!url_is_postgres(url))
		return 0;
	/* key = value pairs; a value may be 'quoted \' like this' */
	const char *p = url;
	for (;;) {
		p += strspn(p, " \t\n\r\f\v");
		if (!*p)
			break;
		const char *key = p;
		p += strcspn(p, "= \t\n\r\f\v");
		size_t klen = (size_t)(p - key);
		p += strspn(p, " \t\n\r\f\v");
		if (*p != '=')
			break;
		p++;
		p += strspn(p, " \t\n\r\f\v");
		const char *val = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			val++;
		} else {
			/* unquoted: a backslash takes the next character, even a blank */
			while (*p && !isspace((unsigned char)*p))
				p += p[0] == '\\' && p[1] ? 2 : 1;
		}
		if (is_secret_key(key, klen))
			span_push(spans, &n, max, (size_t)(val - url), (size_t)(p - val));
		if (*p == '\'')
			p++;
	}
	return n;
}

/* Every secret span of url (caller frees); *n is how many. */
static size_t (*all_spans(const char *url, size_t *n))[2]
{
	*n = url_secret_spans(url, NULL, 0);
	size_t (*spans)[2] = xcalloc(*n ? *n : 1, sizeof(*spans));
	url_secret_spans(url, spans, *n);
	return spans;
}

int dbs_url_password(const char *url, size_t from, size_t *off, size_t *len)
{
	size_t n;
	size_t (*spans)[2] = all_spans(url, &n);
	int found = 0;
	for (size_t i = 0; i < n && !found; i++)
		if (spans[i][0] >= from && spans[i][1] > 0) {
			*off = spans[i][0];
			*len = spans[i][1];
			found = 1;
		}
	free(spans);
	return found;
}

/* url with every secret span replaced by "****": for strings libpq rejects. */
static char *mask_spans(const char *url)
{
	strbuf sb;
	strbuf_init(&sb);
	size_t pos = 0, off, len;
	while (dbs_url_password(url, pos, &off, &len)) {
		strbuf_add(&sb, url + pos, off - pos);
		strbuf_adds(&sb, "****");
		pos = off + len;
	}
	strbuf_adds(&sb, url + pos);
	return strbuf_detach(&sb);
}

/* ---- libpq's reading ---- */

static char *pct_decode(const char *s, size_t n)
{
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };
			char *end;
			long v = strtol(hex, &end, 16);
			if (*end == '\0' && v > 0) {
				char c = (char)v;
				strbuf_add(&sb, &c, 1);
				i += 2;
				continue;
			}
		}
		strbuf_add(&sb, s + i, 1);
	}
	return strbuf_detach(&sb);
}

char *url_scrub(const char *url, const char *text)
{
	/* every secret as typed, as libpq decodes it, and as libpq read it */
	size_t n;
	size_t (*spans)[2] = all_spans(url, &n);
	char **secrets = xcalloc(2 * n + 3, sizeof(char *));
	size_t ns = 0;
	for (size_t i = 0; i < n; i++)
		if (spans[i][1]) {
			secrets[ns++] = xstrndup(url + spans[i][0], spans[i][1]);
			secrets[ns++] = pct_decode(url + spans[i][0], spans[i][1]);
		}
	free(spans);
	PQconninfoOption *opts = url_is_postgres(url) ? PQconninfoParse(url, NULL) : NULL;
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (o->val && *o->val && (!strcmp(o->keyword, "password") ||
					  !strcmp(o->keyword, "sslpassword")))
			secrets[ns++] = xstrdup(o->val);  /* at most two: room was kept */
	PQconninfoFree(opts);
	strbuf sb;
	strbuf_init(&sb);
	for (const char *p = text; *p;) {
		size_t best = 0;
		for (size_t i = 0; i < ns; i++) {
			size_t l = strlen(secrets[i]);
			if (l > best && !strncmp(p, secrets[i], l))
				best = l;
		}
		if (best) {
			strbuf_adds(&sb, "****");
			p += best;
		} else {
			strbuf_add(&sb, p++, 1);
		}
	}
	for (size_t i = 0; i < ns; i++)
		free(secrets[i]);
	free(secrets);
	return strbuf_detach(&sb);
}

/* Does a URI's authority hold a second '@' (one in its password)? */
static int two_ats(const char *url)
{
	if (!is_uri(url))
		return 0;
	const char *a = strstr(url, "://") + 3;
	size_t n = strcspn(a, "/?#");
	const char *at = memchr(a, '@', n);
	return at && memchr(at + 1, '@', n - (size_t)(at + 1 - a)) != NULL;
}

int url_pg_parse(const char *url, PQconninfoOption **out, dbs_error *err)
{
	char *msg = NULL;
	if (two_ats(url)) {  /* libpq would take the password's tail for the host */
		*out = NULL;  /* (nothing of the URL is shown: its tail is the password's) */
		dbs_fail(err, DBS_EINPUT, "invalid database URL: its user info holds an "
			 "unencoded '@'");
		dbs_error_set_hint(err, "percent-encode it: write '@' in a password as %%40");
		return DBS_EINPUT;
	}
	*out = PQconninfoParse(url, &msg);
	if (*out)
		return 0;
	char *why = msg ? url_scrub(url, msg) : xstrdup("out of memory");
	size_t n = strlen(why);
	while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
		why[--n] = '\0';
	char *shown = mask_spans(url);
	char *safe = url_scrub(url, shown);
	dbs_fail(err, DBS_EINPUT, "invalid database URL '%s'", safe);
	dbs_error_set_detail(err, "%s", why);
	dbs_error_set_hint(err, "write postgres://USER@HOST:PORT/DB?sslmode=..., with "
			   "characters such as @ : / ? # in the password percent-encoded");
	free(safe);
	free(shown);
	free(why);
	PQfreemem(msg);
	return DBS_EINPUT;
}

/* ---- showing a URL ---- */

static void add_encoded(strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			strbuf_add(sb, s, 1);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

static const char *opt_val(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, key))
			return o->val && *o->val ? o->val : NULL;
	return NULL;
}

void url_add_conninfo_value(strbuf *sb, const char *v)
{
	strbuf_adds(sb, "'");
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			strbuf_adds(sb, "\\");
		strbuf_add(sb, v, 1);
	}
	strbuf_adds(sb, "'");
}

/* "-c search_path=..." in libpq's options: a blank or backslash of the
 * value escaped with a backslash, the schema as a quoted identifier. */
static void add_search_path(strbuf *sb, const char *schema)
{
	strbuf_adds(sb, "-csearch_path=\"");
	for (const char *s = schema; *s; s++) {
		if (*s == '"')
			strbuf_adds(sb, "\"");
		if (*s == ' ' || *s == '\\' || *s == '\t')
			strbuf_adds(sb, "\\");
		strbuf_add(sb, s, 1);
	}
	strbuf_adds(sb, "\",public");
}

/* libpq's options as a URI (or key=value when that is how they came),
 * without any password. */
static char *serialize(const char *url, const PQconninfoOption *opts)
{
	strbuf sb;
	strbuf_init(&sb);
	if (!is_pg_uri(url)) {
		for (const PQconninfoOption *o = opts; o->keyword; o++) {
			if (!o->val || !*o->val || !strcmp(o->keyword, "password") ||
			    !strcmp(o->keyword, "sslpassword"))
				continue;
			strbuf_addf(&sb, "%s%s=", sb.len ? " " : "", o->keyword);
			url_add_conninfo_value(&sb, o->val);
		}
		return strbuf_detach(&sb);
	}
	strbuf_add(&sb, url, (size_t)(strstr(url, "://") + 3 - url));
	const char *user = opt_val(opts, "user"), *host = opt_val(opts, "host");
	const char *port = opt_val(opts, "port"), *db = opt_val(opts, "dbname");
	/* a plain name or address goes before the path; anything else (several
	 * hosts, a socket directory, odd characters) and its port go in the
	 * query, percent-encoded */
	int ipv6 = host && strchr(host, ':') && strspn(host, "0123456789abcdefABCDEF:.") == strlen(host);
	int host_in_query = host && !ipv6 &&
		strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~") !=
		strlen(host);
	if (port && strspn(port, "0123456789") != strlen(port))
		host_in_query = 1;
	if (user) {
		add_encoded(&sb, user);
		strbuf_adds(&sb, "@");
	}
	if (host && !host_in_query)
		strbuf_addf(&sb, ipv6 ? "[%s]" : "%s", host);
	if (port && !host_in_query)
		strbuf_addf(&sb, ":%s", port);
	strbuf_adds(&sb, "/");
	if (db)
		add_encoded(&sb, db);
	int first = 1;
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		const char *k = o->keyword;
		if (!o->val || !*o->val || !strcmp(k, "password") || !strcmp(k, "sslpassword") ||
		    !strcmp(k, "user") || !strcmp(k, "dbname") ||
		    (!strcmp(k, "host") && !host_in_query) ||
		    (!strcmp(k, "port") && !host_in_query))
			continue;
		strbuf_addf(&sb, "%s%s=", first ? "?" : "&", k);
		add_encoded(&sb, o->val);
		first = 0;
	}
	return strbuf_detach(&sb);
}

char *dbs_redact_url(const char *url)
{
	if (!url)
		return xstrdup("");
	if (!url_is_postgres(url))
		return mask_spans(url);
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	if (!opts) {
		char *masked = mask_spans(url), *safe = url_scrub(url, masked);
		free(masked);
		return safe;
	}
	char *shown = serialize(url, opts);
	PQconninfoFree(opts);
	return shown;
}

char *url_pg_with_schema(const char *url, const char *schema, dbs_error *err)
{
	PQconninfoOption *opts;
	if (url_pg_parse(url, &opts, err))
		return NULL;
	strbuf sb, o;
	strbuf_init(&sb);
	strbuf_init(&o);
	for (const PQconninfoOption *p = opts; p->keyword; p++) {
		if (!p->val || !*p->val)
			continue;
		if (!strcmp(p->keyword, "options")) {
			strbuf_addf(&o, "%s ", p->val);
			continue;
		}
		strbuf_addf(&sb, "%s%s=", sb.len ? " " : "", p->keyword);
		url_add_conninfo_value(&sb, p->val);
	}
	PQconninfoFree(opts);
	add_search_path(&o, schema);
	strbuf_addf(&sb, "%soptions=", sb.len ? " " : "");
	url_add_conninfo_value(&sb, o.buf);
	strbuf_release(&o);
	return strbuf_detach(&sb);
}

int url_pg_check(const char *url, dbs_error *err)
{
	PQconninfoOption *opts = NULL;
	int rc = url_pg_parse(url, &opts, err);
	PQconninfoFree(opts);
	return rc;
}
