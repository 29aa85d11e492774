/*
 * driver.c - choosing a driver by URL, hiding passwords in URLs, and the
 * pieces of the driver interface that are the same for every driver.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int driver_for_url(const db_driver **out, const char *url, dbs_error *err)
{
	if (!url || !*url) {
		dbs_fail(err, DBS_EINPUT, "no database given");
		dbs_error_set_hint(err, "pass --database URL, set DATABASE_URL, or set "
				   "'database' in dbshift.conf");
		return DBS_EINPUT;
	}
	if (starts_with(url, "postgres://") || starts_with(url, "postgresql://")) {
		*out = &driver_postgres;
		return 0;
	}
	if (starts_with(url, "sqlite:") && url[7]) {
		*out = &driver_sqlite;
		return 0;
	}
	char *shown = dbs_redact_url(url);
	dbs_fail(err, DBS_EINPUT, "unsupported database URL '%s'", shown);
	dbs_error_set_hint(err, "use postgres://USER@HOST:PORT/DB, sqlite:path/to/file.db, "
			   "sqlite:///abs/path.db or sqlite::memory:");
	free(shown);
	return DBS_EINPUT;
}

int dbs_url_password(const char *url, size_t from, size_t *off, size_t *len)
{
	const char *scheme = strstr(url, "://");
	if (scheme && (size_t)(scheme - url) + 3 >= from) {
		const char *auth = scheme + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = NULL;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;  /* the last @ ends the user info */
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon && (size_t)(colon - url) + 1 >= from) {
			*off = (size_t)(colon - url) + 1;
			*len = (size_t)(at - colon) - 1;
			return 1;
		}
	}
	/* password=... among the query parameters */
	const char *q = strchr(url, '?');
	for (; q; q = strchr(q + 1, '&')) {
		if (!strncmp(q + 1, "password=", 9) && (size_t)(q + 10 - url) >= from) {
			*off = (size_t)(q + 10 - url);
			*len = strcspn(q + 10, "&#");
			return 1;
		}
	}
	return 0;
}

char *dbs_redact_url(const char *url)
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

void db_rows_free(db_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void url_split_password(const char *url, char **clean, char **password)
{
	size_t off, len;
	*password = NULL;
	if (!dbs_url_password(url, 0, &off, &len)) {
		*clean = xstrdup(url);
		return;
	}
	/* percent-decoded, as libpq would read it */
	strbuf pw;
	strbuf_init(&pw);
	for (size_t i = off; i < off + len; i++) {
		if (url[i] == '%' && i + 2 < off + len + 2 && hexval(url[i + 1]) >= 0 &&
		    hexval(url[i + 2]) >= 0) {
			char c = (char)(hexval(url[i + 1]) * 16 + hexval(url[i + 2]));
			strbuf_add(&pw, &c, 1);
			i += 2;
		} else {
			strbuf_add(&pw, url + i, 1);
		}
	}
	*password = strbuf_detach(&pw);
	strbuf sb;
	strbuf_init(&sb);
	if (url[off - 1] == ':') {
		/* user:password@ -> user@ */
		strbuf_add(&sb, url, off - 1);
		strbuf_adds(&sb, url + off + len);
	} else {
		/* ?password=x&a=b -> ?a=b ; ?a=b&password=x -> ?a=b */
		size_t start = off - strlen("password=");
		size_t end = off + len;
		if (url[start - 1] == '&') {
			start--;
		} else if (url[end] == '&') {
			end++;
		} else {
			start--;  /* the only parameter: drop the '?' too */
		}
		strbuf_add(&sb, url, start);
		strbuf_adds(&sb, url + end);
	}
	*clean = strbuf_detach(&sb);
}

int table_counts(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err)
{
	db_rows *t = NULL;
	int rc = d->query(c, d->tables_sql, 0, NULL, &t, err);
	if (rc)
		return rc;
	db_rows *r = xcalloc(1, sizeof(*r));
	r->ncols = 2;
	r->v = xcalloc(t->nrows * 2 + 1, sizeof(char *));
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		char *q = d->quote_table(DB_VAL(t, i, 0));
		char *sql = xprintf("SELECT count(*) FROM %s", q);
		db_rows *n = NULL;
		rc = d->query(c, sql, 0, NULL, &n, err);
		if (!rc) {
			DB_VAL(r, i, 0) = xstrdup(DB_VAL(t, i, 0));
			DB_VAL(r, i, 1) = xstrdup(DB_VAL(n, 0, 0));
			r->nrows++;
		}
		db_rows_free(n);
		free(sql);
		free(q);
	}
	db_rows_free(t);
	if (rc)
		db_rows_free(r);
	else
		*rows = r;
	return rc;
}
