/*
 * driver.c - choosing a driver by URL, the wrappers every call to a
 * driver goes through, and the pieces that are the same for every driver.
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
	size_t k = url_sqlite_prefix(url);
	if (k && url[k]) {
		*out = &driver_sqlite;
		return 0;
	}
	char *shown = dbs_redact_url(url);
	dbs_fail(err, DBS_EINPUT, "unsupported database URL '%s'", shown);
	dbs_error_set_hint(err, "use postgres://USER@HOST:PORT/DB, host=... dbname=..., "
			   "sqlite:path/to/file.db (or dbmate's sqlite3:), sqlite:///abs/path.db "
			   "or sqlite::memory:");
	free(shown);
	return DBS_EINPUT;
}

int url_check(const char *url, dbs_error *err)
{
	const db_driver *d;
	int rc = driver_for_url(&d, url, err);
	return rc || !url_is_postgres(url) ? rc : url_pg_check(url, err);
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
	for (size_t j = 0; r->names && j < r->ncols; j++)
		free(r->names[j]);
	free(r->names);
	free(r->v);
	free(r);
}

int table_counts(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err)
{
	db_rows *t = NULL;
	int rc = db_query(d, c, d->intro->tables_sql, 0, NULL, &t, err);
	if (rc)
		return rc;
	db_rows *r = xcalloc(1, sizeof(*r));
	r->ncols = 2;
	r->v = xcalloc(t->nrows * 2 + 1, sizeof(char *));
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		char *q = db_quote_table(d, DB_VAL(t, i, 0));
		char *sql = xprintf("SELECT count(*) FROM %s", q);
		db_rows *n = NULL;
		rc = db_query(d, c, sql, 0, NULL, &n, err);
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

/* ---- the wrappers ---- */

int db_connect(const db_driver *d, db_conn **out, const char *url, dbs_error *err)
{
	return d->core->connect(out, url, err);
}

int db_connect_within(const db_driver *d, db_conn **out, const char *url, int timeout_ms,
		      dbs_error *err)
{
	return d->core->connect_within ? d->core->connect_within(out, url, timeout_ms, err)
				       : d->core->connect(out, url, err);
}

int db_connection_ok(const db_driver *d, db_conn *c)
{
	return !d->core->connection_ok || d->core->connection_ok(c);
}

int db_create_database(const db_driver *d, const char *url, int *created, dbs_error *err)
{
	return d->core->create_database(url, created, err);
}

void db_close(const db_driver *d, db_conn *c)
{
	d->core->close(c);
}

int db_query(const db_driver *d, db_conn *c, const char *sql, int nparams,
	     const char *const *params, db_rows **rows, dbs_error *err)
{
	return d->core->query(c, sql, nparams, params, rows, err);
}

int db_check_begin(const db_driver *d, db_conn *c, const char *const *scripts, size_t n,
		   void **chk, dbs_error *err)
{
	if (d->core->check_begin)
		return d->core->check_begin(c, scripts, n, chk, err);
	*chk = NULL;
	return 0;
}

int db_check_script(const db_driver *d, void *chk, const char *sql, size_t *err_offset,
		    dbs_error *err)
{
	if (d->core->check_script)
		return d->core->check_script(chk, sql, err_offset, err);
	return 0;
}

void db_check_end(const db_driver *d, void *chk)
{
	if (d->core->check_end)
		d->core->check_end(chk);
}

int db_run_script(const db_driver *d, db_conn *c, const char *sql, size_t *err_offset,
		  dbs_error *err)
{
	return d->core->run_script(c, sql, err_offset, err);
}

int db_split(const db_driver *d, const char *sql, size_t (**spans)[2], size_t *n,
	     size_t *err_offset, dbs_error *err)
{
	return d->core->split(sql, spans, n, err_offset, err);
}

int db_run_tx(const db_driver *d, db_conn *c, const db_tx *tx, const db_cmd *cmds, size_t n,
	      size_t *failed, size_t *err_offset, dbs_error *err)
{
	return d->core->run_tx(c, tx, cmds, n, failed, err_offset, err);
}

int db_query_ro(const db_driver *d, db_conn *c, const char *sql, int timeout_ms,
		size_t max_rows, db_rows **rows, int *more, size_t *err_offset, dbs_error *err)
{
	return d->core->query_ro(c, sql, timeout_ms, max_rows, rows, more, err_offset, err);
}

void db_observe(const db_driver *d, db_conn *c, db_stmt_observer fn, void *data)
{
	if (d->core->observe)
		d->core->observe(c, fn, data);
}

int db_lock(const db_driver *d, db_conn *c, int wait_ms, dbs_error *err)
{
	return d->core->lock(c, wait_ms, err);
}

void db_unlock(const db_driver *d, db_conn *c)
{
	d->core->unlock(c);
}

int db_set_timeouts(const db_driver *d, db_conn *c, int lock_ms, int statement_ms, int local,
		    dbs_error *err)
{
	return d->core->set_timeouts(c, lock_ms, statement_ms, local, err);
}

int db_is_lock_timeout(const db_driver *d, const dbs_error *err)
{
	return d->core->is_lock_timeout(err);
}

void db_set_lock_wait(const db_driver *d, db_conn *c, int ms)
{
	d->core->set_lock_wait(c, ms);
}

int db_table_exists(const db_driver *d, db_conn *c, const char *table, int *exists,
		    dbs_error *err)
{
	return d->intro->table_exists(c, table, exists, err);
}

int db_table_facts(const db_driver *d, db_conn *c, const char *table, db_rows **rows,
		   dbs_error *err)
{
	return d->intro->table_facts(c, table, rows, err);
}

int db_blockers(const db_driver *d, db_conn *c, int min_seconds, const char *tables,
		db_rows **rows, dbs_error *err)
{
	return d->intro->blockers(c, min_seconds, tables, rows, err);
}

int db_replica_lag_ms(const db_driver *d, db_conn *c, int64_t *ms, dbs_error *err)
{
	return d->intro->replica_lag_ms(c, ms, err);
}

int db_server_version(const db_driver *d, db_conn *c, char **version, dbs_error *err)
{
	return d->intro->server_version(c, version, err);
}

int db_identity(const db_driver *d, db_conn *c, char **identity, dbs_error *err)
{
	return d->intro->identity(c, identity, err);
}

int db_schema_problems(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err)
{
	return d->intro->schema_problems(c, rows, err);
}

int db_schema_dump(const db_driver *d, db_conn *c, char **text, dbs_error *err)
{
	return d->intro->schema_dump(c, text, err);
}

int db_index_build_memory(const db_driver *d, db_conn *c, int64_t *bytes, dbs_error *err)
{
	*bytes = -1;
	return d->intro->index_build_memory ? d->intro->index_build_memory(c, bytes, err) : 0;
}

int db_database_size(const db_driver *d, db_conn *c, int64_t *bytes, dbs_error *err)
{
	return d->intro->database_size(c, bytes, err);
}

int db_can_create(const db_driver *d, db_conn *c, char **why, dbs_error *err)
{
	return d->intro->can_create(c, why, err);
}

char *db_quote_table(const db_driver *d, const char *name)
{
	return d->intro->quote_table(name);
}

int db_func_volatility(const db_driver *d, db_conn *c, const char *name, char *vol,
		       dbs_error *err)
{
	if (d->intro->func_volatility)
		return d->intro->func_volatility(c, name, vol, err);
	*vol = 0;
	return 0;
}

int db_session(const db_driver *d, db_conn *c, char **id, dbs_error *err)
{
	*id = NULL;
	return d->intro->session ? d->intro->session(c, id, err) : 0;
}

/* No rows, of ncols columns: what a driver without a live member gives. */
static int no_rows(db_rows **rows, size_t ncols)
{
	*rows = xcalloc(1, sizeof(db_rows));
	(*rows)->ncols = ncols;
	return 0;
}

int db_activity(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		dbs_error *err)
{
	if (!d->intro->activity || !session)
		return no_rows(rows, 3);
	return d->intro->activity(c, session, rows, err);
}

int db_progress(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		dbs_error *err)
{
	if (!d->intro->progress || !session)
		return no_rows(rows, 6);
	return d->intro->progress(c, session, rows, err);
}

int db_lock_waits(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		  dbs_error *err)
{
	if (!d->intro->lock_waits || !session)
		return no_rows(rows, 9);
	return d->intro->lock_waits(c, session, rows, err);
}

int db_metrics(const db_driver *d, db_conn *c, int all, db_rows **rows, dbs_error *err)
{
	if (!d->intro->metrics)
		return no_rows(rows, 4);
	return d->intro->metrics(c, all, rows, err);
}

int db_dump(const db_driver *d, db_conn *c, const char *dir, const char *format, int jobs,
	    db_sink *sink, char **file, dbs_error *err)
{
	return d->archive->dump(c, dir, format, jobs, sink, file, err);
}

int db_restore(const db_driver *d, const char *url, const char *dir, const char *file,
	       const char *format, dbs_error *err)
{
	return d->archive->restore(url, dir, file, format, err);
}

int db_scratch_create(const db_driver *d, db_conn *c, const char *name, char **scratch_url,
		      dbs_error *err)
{
	return d->archive->scratch_create(c, name, scratch_url, err);
}

int db_scratch_list(const db_driver *d, db_conn *c, const char *prefix, db_rows **urls,
		    dbs_error *err)
{
	return d->archive->scratch_list(c, prefix, urls, err);
}

int db_scratch_drop(const db_driver *d, db_conn *c, const char *scratch_url, dbs_error *err)
{
	return d->archive->scratch_drop(c, scratch_url, err);
}

int db_column_type(const db_driver *d, db_conn *c, const char *table, const char *column,
		   char **type, dbs_error *err)
{
	*type = NULL;
	return d->intro->column_type ? d->intro->column_type(c, table, column, type, err) : 0;
}

int db_columns(const db_driver *d, db_conn *c, const char *table, db_rows **rows,
	       dbs_error *err)
{
	*rows = NULL;
	return d->intro->columns(c, table, rows, err);
}

int db_can_split(const db_driver *d)
{
	return d->core->split != NULL;
}

int db_can_run_tx(const db_driver *d)
{
	return d->core->run_tx != NULL;
}

int db_one_writer(const db_driver *d)
{
	return d->core->one_writer;
}

char *db_dump_formats_text(const db_driver *d)
{
	strbuf sb;
	strbuf_init(&sb);
	const char *const *f = d->archive->formats;
	for (size_t i = 0; f[i]; i++)
		strbuf_addf(&sb, "%s%s", i == 0 ? "" : f[i + 1] ? ", " : " or ", f[i]);
	return strbuf_detach(&sb);
}

int db_format_known(const char *format)
{
	static const db_driver *const all[] = { &driver_postgres, &driver_sqlite };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (const char *const *f = all[i]->archive->formats; *f; f++)
			if (!strcmp(*f, format))
				return 1;
	return 0;
}

const char *db_dump_format(const db_driver *d, const char *requested)
{
	const char *const *f = d->archive->formats;
	if (!requested)
		return f[0];
	for (; *f; f++)
		if (!strcmp(*f, requested))
			return *f;
	return NULL;
}
