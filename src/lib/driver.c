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

char *dbs_redact_url(const char *url)
{
	strbuf sb;
	strbuf_init(&sb);
	const char *scheme = strstr(url, "://");
	const char *p = url;
	if (scheme) {
		const char *auth = scheme + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = NULL;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;  /* the last @ ends the user info */
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			strbuf_add(&sb, url, (size_t)(colon - url) + 1);
			strbuf_adds(&sb, "****");
			p = at;
		}
	}
	/* password=... in the query string */
	const char *q = strchr(p, '?');
	if (!q) {
		strbuf_adds(&sb, p);
		return strbuf_detach(&sb);
	}
	strbuf_add(&sb, p, (size_t)(q - p));
	while (*q) {
		size_t n = strcspn(q + 1, "&") + 1;
		if (!strncmp(q + 1, "password=", 9))
			strbuf_addf(&sb, "%cpassword=****", *q);
		else
			strbuf_add(&sb, q, n);
		q += n;
	}
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
