/*
 * driver.c - choosing a driver by URL, and the
 * pieces of the driver interface that are the same for every driver.
 */
#include <stdlib.h>
#include <string.h>

#include "driver/driver.h"

int driver_for_url(const db_driver **out, const char *url, dbs_error *err)
{
	if (!url || !*url) {
		dbs_fail(err, DBS_EINPUT, "no database given");
		dbs_error_set_hint(err, "pass --database URL, set DATABASE_URL, or set "
				   "'database' in dbshift.conf");
		return DBS_EINPUT;
	}
	if (url_is_postgres(url)) {
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

const db_driver *driver_guess(const char *url)
{
	const db_driver *d = NULL;
	dbs_error e = { 0 };
	if (url && driver_for_url(&d, url, &e))
		d = NULL;
	dbs_error_clear(&e);
	return d;
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
