/*
 * state.c - the history dbshift keeps in the database it migrates:
 *
 *   dbshift_meta        key/value; "schema_version" says how to read the rest
 *   dbshift_migrations  one row per applied (or failed) migration
 *   dbshift_runs        one row per mutating command, with its JSON report;
 *                       'running' with a live document and a heartbeat
 *                       while it runs (version 2)
 *
 * The SQL is written once for every driver; column types that differ come
 * from the driver (timestamp_type, json_type).  Callers hold the migrator
 * lock around state_ensure, so two processes never create them at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan/plan.h"

static void row_clear(history_row *r)
{
	free(r->app);
	free(r->version);
	free(r->name);
	free(r->checksum);
	free(r->status);
	free(r->applied_at);
	free(r->applied_by);
	free(r->message);
}

void history_rows_free(history_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		row_clear(&rows[i]);
	free(rows);
}

int state_exists(const db_driver *d, db_conn *c, int *exists, dbs_error *err)
{
	return db_table_exists(d, c, "dbshift_migrations", exists, err);
}

static int create_tables(const db_driver *d, db_conn *c, dbs_error *err)
{
	char *ddl[3];
	ddl[0] = xprintf("CREATE TABLE dbshift_meta (key text PRIMARY KEY, value text NOT NULL)");
	ddl[1] = xprintf(
		"CREATE TABLE dbshift_migrations ("
		"app text NOT NULL, version text NOT NULL, name text NOT NULL, "
		"checksum text NOT NULL, status text NOT NULL, applied_at %s NOT NULL, "
		"duration_ms bigint NOT NULL, applied_by text NOT NULL, "
		"tool_version text NOT NULL, message text, PRIMARY KEY (app, version))%s",
		d->timestamp_type, d->history_suffix);
	ddl[2] = xprintf(
		"CREATE TABLE dbshift_runs ("
		"run_id text PRIMARY KEY, command text NOT NULL, environment text, "
		"started_at %s NOT NULL, finished_at %s NOT NULL, status text NOT NULL, "
		"applied_by text NOT NULL, tool_version text NOT NULL, report %s NOT NULL, "
		"heartbeat_ms bigint)",
		d->timestamp_type, d->timestamp_type, d->json_type);
	int rc = db_query(d, c, "BEGIN", 0, NULL, NULL, err);
	for (int i = 0; i < 3 && !rc; i++)
		rc = db_query(d, c, ddl[i], 0, NULL, NULL, err);
	if (!rc) {
		char v[16];
		snprintf(v, sizeof(v), "%d", STATE_SCHEMA_VERSION);
		const char *p[] = { v };
		rc = db_query(d, c, "INSERT INTO dbshift_meta VALUES ('schema_version', $1)",
			      1, p, NULL, err);
	}
	if (!rc)
		rc = db_query(d, c, "COMMIT", 0, NULL, NULL, err);
	else
		db_query(d, c, "ROLLBACK", 0, NULL, NULL, &(dbs_error){ 0 });
	for (int i = 0; i < 3; i++)
		free(ddl[i]);
	return rc;
}

/* The checkpoints of data runs. */
static int create_data_table(const db_driver *d, db_conn *c, dbs_error *err)
{
	char *ddl = xprintf("CREATE TABLE IF NOT EXISTS dbshift_data (name text PRIMARY KEY, "
			    "last_key text, rows_done bigint NOT NULL, finished integer NOT NULL, "
			    "updated_at %s NOT NULL)", d->timestamp_type);
	int rc = db_query(d, c, ddl, 0, NULL, NULL, err);
	free(ddl);
	return rc;
}

/* Change the tables with ddl and say they are now of version v, at once. */
static int upgrade(const db_driver *d, db_conn *c, const char *ddl, int v, dbs_error *err)
{
	char val[16];
	snprintf(val, sizeof(val), "%d", v);
	const char *p[] = { val };
	int rc = db_query(d, c, "BEGIN", 0, NULL, NULL, err);
	if (!rc)
		rc = db_query(d, c, ddl, 0, NULL, NULL, err);
	if (!rc)
		rc = db_query(d, c, "UPDATE dbshift_meta SET value = $1 WHERE key = 'schema_version'",
			      1, p, NULL, err);
	if (!rc)
		return db_query(d, c, "COMMIT", 0, NULL, NULL, err);
	db_query(d, c, "ROLLBACK", 0, NULL, NULL, &(dbs_error){ 0 });
	return rc;
}

int state_ensure(const db_driver *d, db_conn *c, dbs_error *err)
{
	int exists = 0;
	int rc = state_exists(d, c, &exists, err);
	if (rc)
		return rc;
	if (!exists) {
		rc = create_tables(d, c, err);
		return rc ? rc : create_data_table(d, c, err);
	}
	db_rows *r = NULL;
	rc = db_query(d, c, "SELECT value FROM dbshift_meta WHERE key = 'schema_version'",
		      0, NULL, &r, err);
	if (rc)
		return rc;
	long v = r->nrows == 1 && DB_VAL(r, 0, 0) ? strtol(DB_VAL(r, 0, 0), NULL, 10) : 0;
	db_rows_free(r);
	if (v > STATE_SCHEMA_VERSION) {
		dbs_fail(err, DBS_EFAIL, "the history tables are from a newer dbshift "
			 "(schema version %ld, this one knows %d)", v, STATE_SCHEMA_VERSION);
		dbs_error_set_hint(err, "upgrade dbshift");
		return DBS_EFAIL;
	}
	if (v < 2)  /* version 2: runs have a heartbeat while they run */
		rc = upgrade(d, c, "ALTER TABLE dbshift_runs ADD COLUMN heartbeat_ms bigint", 2, err);
	return rc ? rc : create_data_table(d, c, err);
}

int state_read(const db_driver *d, db_conn *c, history_row **out, size_t *n,
	       dbs_error *err)
{
	db_rows *r = NULL;
	int rc = db_query(d, c, "SELECT app, version, name, checksum, status, applied_at, "
			  "duration_ms, applied_by, message FROM dbshift_migrations",
			  0, NULL, &r, err);
	if (rc)
		return rc;
	history_row *rows = xcalloc(r->nrows ? r->nrows : 1, sizeof(history_row));
	for (size_t i = 0; i < r->nrows; i++) {
		history_row *h = &rows[i];
		char **f[] = { &h->app, &h->version, &h->name, &h->checksum, &h->status };
		for (size_t j = 0; j < 5; j++)
			*f[j] = xstrdup(DB_VAL(r, i, j) ? DB_VAL(r, i, j) : "");
		/* one form on both drivers: PostgreSQL writes "2026-11-22 06:26:38+00" */
		h->applied_at = rfc3339_dup(DB_VAL(r, i, 5) ? DB_VAL(r, i, 5) : "");
		h->duration_ms = DB_VAL(r, i, 6) ? strtoll(DB_VAL(r, i, 6), NULL, 10) : 0;
		h->applied_by = xstrdup(DB_VAL(r, i, 7) ? DB_VAL(r, i, 7) : "");
		h->message = DB_VAL(r, i, 8) ? xstrdup(DB_VAL(r, i, 8)) : NULL;
	}
	*out = rows;
	*n = r->nrows;
	db_rows_free(r);
	return 0;
}

/* The upsert of a history row (a plain insert when fresh: no row yet);
 * dur is its duration_ms (SQL). */
static char *record_sql(const char *dur, int fresh)
{
	return xprintf("INSERT INTO dbshift_migrations (app, version, name, checksum, status, "
		"applied_at, duration_ms, applied_by, tool_version, message) "
		"VALUES ($1, $2, $3, $4, $5, $6, %s, $7, $8, $9)%s", dur, fresh ? "" :
		" ON CONFLICT (app, version) DO UPDATE SET name = excluded.name, "
		"checksum = excluded.checksum, status = excluded.status, "
		"applied_at = excluded.applied_at, duration_ms = excluded.duration_ms, "
		"applied_by = excluded.applied_by, tool_version = excluded.tool_version, "
		"message = excluded.message");
}

/* The history row of m as a command; dur is its duration_ms (SQL). */
static void record_fill(history_cmd *hc, const migration *m, const char *status,
			const char *message, const char *dur, int fresh)
{
	utc_now(hc->at);
	hc->p[0] = m->app;
	hc->p[1] = m->version;
	hc->p[2] = m->name;
	hc->p[3] = m->checksum;
	hc->p[4] = status;
	hc->p[5] = hc->at;
	hc->p[6] = whoami();
	hc->p[7] = DBSHIFT_VERSION;
	hc->p[8] = message;
	hc->sql = record_sql(dur, fresh);
	hc->cmd = (db_cmd){ hc->sql, strlen(hc->sql), 9, hc->p, 1 };
}

void state_record_cmd(const db_driver *d, const migration *m, const char *status,
		     const char *message, int fresh, history_cmd *hc)
{
	record_fill(hc, m, status, message,
		    d->core->tx_elapsed_ms ? d->core->tx_elapsed_ms : "0", fresh);
}

static const char forget_sql[] = "DELETE FROM dbshift_migrations WHERE app = $1 AND version = $2";

void state_forget_cmd(const migration *m, history_cmd *hc)
{
	hc->p[0] = m->app;
	hc->p[1] = m->version;
	hc->sql = xstrdup(forget_sql);
	hc->cmd = (db_cmd){ hc->sql, strlen(hc->sql), 2, hc->p, 1 };
}

int state_record(const db_driver *d, db_conn *c, const migration *m,
		 const char *status, int64_t duration_ms, const char *message, int fresh,
		 dbs_error *err)
{
	char dur[32];
	history_cmd hc;
	snprintf(dur, sizeof(dur), "%lld", (long long)duration_ms);
	record_fill(&hc, m, status, message, dur, fresh);
	int rc = db_query(d, c, hc.sql, 9, hc.p, NULL, err);
	free(hc.sql);
	return rc;
}

int state_forget(const db_driver *d, db_conn *c, const char *app,
		 const char *version, dbs_error *err)
{
	const char *p[] = { app, version };
	return db_query(d, c, forget_sql, 2, p, NULL, err);
}

int state_accept_checksum(const db_driver *d, db_conn *c, const migration *m,
			  dbs_error *err)
{
	const char *p[] = { m->app, m->version, m->checksum, m->name };
	return db_query(d, c, "UPDATE dbshift_migrations SET checksum = $3, name = $4 "
			"WHERE app = $1 AND version = $2", 4, p, NULL, err);
}

int state_record_run(const db_driver *d, db_conn *c, const char *run_id,
		     const char *command, const char *env, const char *started,
		     const char *status, const char *report, dbs_error *err)
{
	char finished[32], beat[32];
	utc_now(finished);
	snprintf(beat, sizeof(beat), "%lld", (long long)wall_ms());
	const char *p[] = { run_id, command, env, started, finished, status, whoami(),
			    DBSHIFT_VERSION, report, beat };
	return db_query(d, c, "INSERT INTO dbshift_runs (run_id, command, environment, "
			"started_at, finished_at, status, applied_by, tool_version, report, "
			"heartbeat_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
			"ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, "
			"status = excluded.status, report = excluded.report, "
			"heartbeat_ms = excluded.heartbeat_ms", 10, p, NULL, err);
}

int state_runs(const db_driver *d, db_conn *c, const char *id, int limit, db_rows **rows,
	       dbs_error *err)
{
	int exists = 0;
	*rows = NULL;
	int rc = db_table_exists(d, c, "dbshift_runs", &exists, err);
	if (rc)
		return rc;
	if (!exists) {
		*rows = xcalloc(1, sizeof(db_rows));
		(*rows)->ncols = 8;
		return 0;
	}
	char n[16];
	snprintf(n, sizeof(n), "%d", limit > 0 ? limit : 1);
	const char *p[] = { n, id };
	return db_query(d, c, id ?
		"SELECT run_id, command, environment, CAST(started_at AS text), CAST(finished_at "
		"AS text), status, heartbeat_ms, CAST(report AS text) FROM dbshift_runs "
		"WHERE run_id = $2 LIMIT $1" :
		"SELECT run_id, command, environment, CAST(started_at AS text), CAST(finished_at "
		"AS text), status, heartbeat_ms, CAST(report AS text) FROM dbshift_runs "
		"ORDER BY started_at DESC, run_id DESC LIMIT $1", id ? 2 : 1, p, rows, err);
}

int state_last_run(const db_driver *d, db_conn *c, const char *command, const char *env,
		   char **report, dbs_error *err)
{
	int exists = 0;
	*report = NULL;
	int rc = db_table_exists(d, c, "dbshift_runs", &exists, err);
	if (rc || !exists)
		return rc;
	db_rows *r = NULL;
	const char *p[] = { command, env ? env : "" };
	rc = db_query(d, c, "SELECT CAST(report AS text) FROM dbshift_runs WHERE command = $1 "
		      "AND coalesce(environment, '') = $2 AND status <> 'running' "
		      "ORDER BY started_at DESC, run_id DESC LIMIT 1", 2, p, &r, err);
	if (!rc && r->nrows == 1 && DB_VAL(r, 0, 0))
		*report = xstrdup(DB_VAL(r, 0, 0));
	db_rows_free(r);
	return rc;
}

int state_insert(const db_driver *d, db_conn *c, const history_row *h, dbs_error *err)
{
	char dur[32];
	snprintf(dur, sizeof(dur), "%lld", (long long)(h->duration_ms >= 0 ? h->duration_ms : -1));
	char *sql = record_sql(dur, 1);
	const char *p[] = { h->app, h->version, h->name, h->checksum, h->status, h->applied_at,
			    h->applied_by, DBSHIFT_VERSION, h->message };
	int rc = db_query(d, c, sql, 9, p, NULL, err);
	free(sql);
	return rc;
}

/* ---- the history of the tool used before (adopt) ---- */

/* Each tool's table and how its rows are read (one row per version
 * applied, or golang-migrate's one row: version, dirty), in the order
 * they are looked for (sqlx: success false is a migration it left
 * partly applied).  dbmate's and golang-migrate's tables have one
 * name: golang-migrate's has a dirty column. */
static const foreign_history foreign_tools[] = {
	{ "flyway", "flyway_schema_history",
	  "SELECT version, CAST(success AS text), CAST(checksum AS text), "
	  "CAST(installed_on AS text), CAST(execution_time AS text), installed_by, type "
	  "FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank", NULL },
	{ "goose", "goose_db_version",
	  "SELECT CAST(version_id AS text), CAST(is_applied AS text), CAST(tstamp AS text) "
	  "FROM goose_db_version WHERE version_id > 0 ORDER BY id", NULL },
	{ "diesel", "__diesel_schema_migrations",
	  "SELECT version, CAST(run_on AS text) FROM __diesel_schema_migrations", NULL },
	{ "golang-migrate", "schema_migrations",
	  "SELECT CAST(version AS text), CAST(dirty AS text) FROM schema_migrations", NULL },
	{ "dbmate", "schema_migrations", "SELECT CAST(version AS text) FROM schema_migrations",
	  NULL },
	{ "sqlx", "_sqlx_migrations",
	  "SELECT CAST(version AS text), CAST(success AS text), CAST(installed_on AS text), "
	  "CAST(execution_time AS text) FROM _sqlx_migrations ORDER BY version", "checksum" },
	{ "drizzle", "drizzle.__drizzle_migrations",  /* PostgreSQL: its own schema */
	  "SELECT hash, CAST(created_at AS text) FROM drizzle.__drizzle_migrations "
	  "ORDER BY created_at, id", NULL },
	{ "drizzle", "__drizzle_migrations",
	  "SELECT hash, CAST(created_at AS text) FROM __drizzle_migrations "
	  "ORDER BY created_at, id", NULL },
	{ "prisma", "_prisma_migrations",
	  "SELECT migration_name, CAST(finished_at AS text), CAST(rolled_back_at AS text), "
	  "CAST(started_at AS text), checksum FROM _prisma_migrations "
	  "ORDER BY started_at, migration_name", NULL },
};

/* The checksums f keeps as bytes, as "<tool>:<hex>" on the rows read. */
static int foreign_checksums(const db_driver *d, db_conn *c, const foreign_history *f,
			     history_row *rows, size_t n, dbs_error *err)
{
	char *hex = xprintf(d->core->blob_hex, f->checksum);
	char *sql = xprintf("SELECT CAST(version AS text), %s FROM %s", hex, f->table);
	db_rows *r = NULL;
	int rc = db_query(d, c, sql, 0, NULL, &r, err);
	for (size_t i = 0; !rc && i < r->nrows; i++) {
		const char *v = DB_VAL(r, i, 0), *sum = DB_VAL(r, i, 1);
		for (size_t j = 0; v && sum && *sum && j < n; j++)
			if (!dbs_version_cmp(rows[j].version, v)) {
				free(rows[j].checksum);
				rows[j].checksum = xprintf("%s:%s", f->tool, sum);
			}
	}
	db_rows_free(r);
	free(sql);
	free(hex);
	return rc;
}

int foreign_find(const db_driver *d, db_conn *c, foreign_history *f, dbs_error *err)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < sizeof(foreign_tools) / sizeof(foreign_tools[0]); i++) {
		const foreign_history *t = &foreign_tools[i];
		int exists = 0;
		int rc = db_table_exists(d, c, t->table, &exists, err);
		if (rc)
			return rc;
		if (!exists)
			continue;
		if (!strcmp(t->tool, "golang-migrate")) {  /* or dbmate's, without dirty */
			db_rows *r = NULL;
			dbs_error e = { 0 };
			int dirty = !db_query(d, c, "SELECT dirty FROM schema_migrations WHERE 1 = 0",
					      0, NULL, &r, &e);
			db_rows_free(r);
			dbs_error_clear(&e);
			if (!dirty)
				t = &foreign_tools[i + 1];  /* dbmate's */
		}
		*f = *t;
		return 0;
	}
	return 0;
}

static int truthy(const char *v)
{
	return v && (!strcmp(v, "t") || !strcmp(v, "true") || !strcmp(v, "1"));
}

static history_row *add_row(history_row **rows, size_t *n, const char *version)
{
	for (size_t i = 0; i < *n; i++)  /* a later row of the same version wins */
		if (!dbs_version_cmp((*rows)[i].version, version))
			return &(*rows)[i];
	*rows = xrealloc(*rows, (*n + 1) * sizeof(**rows));
	history_row *h = &(*rows)[(*n)++];
	memset(h, 0, sizeof(*h));
	h->version = xstrdup(version);
	h->duration_ms = -1;
	return h;
}

static void set_field(char **field, const char *v)
{
	free(*field);
	*field = v && *v ? xstrdup(v) : NULL;
}

/* A time another tool wrote, in RFC 3339 as dbshift's own. */
static void set_time(char **field, const char *v)
{
	free(*field);
	*field = v && *v ? rfc3339_dup(v) : NULL;
}

/* A time Prisma wrote: PostgreSQL's timestamptz, or on SQLite the
 * milliseconds since 1970 (how its engine keeps a time there). */
static void set_prisma_time(char **field, const char *v)
{
	if (!v || strspn(v, "0123456789") != strlen(v) || strlen(v) < 10) {
		set_time(field, v);
		return;
	}
	char out[32];
	utc_of((time_t)(strtoll(v, NULL, 10) / 1000), out);
	set_field(field, out);
}

/* The tool undid version: it is no row of the history any more. */
static void drop_row(history_row *rows, size_t *n, const char *version)
{
	for (size_t i = 0; i < *n; i++)
		if (!dbs_version_cmp(rows[i].version, version)) {
			row_clear(&rows[i]);
			memmove(&rows[i], &rows[i + 1], (*n - i - 1) * sizeof(*rows));
			(*n)--;
			return;
		}
}

/* Every version of vers up to last (and last itself): applied. */
static void applied_up_to(history_row **rows, size_t *n, const char *const *vers,
			  size_t nvers, const char *last, const char *status)
{
	for (size_t i = 0; i < nvers; i++)
		if (dbs_version_cmp(vers[i], last) < 0)
			set_field(&add_row(rows, n, vers[i])->status, "applied");
	set_field(&add_row(rows, n, last)->status, status);
}

int foreign_read(const db_driver *d, db_conn *c, const foreign_history *f,
		 const char *const *vers, const char *const *sums, size_t nvers,
		 history_row **out, size_t *nout, dbs_error *err)
{
	size_t newest = nvers;  /* Drizzle: the last migration a row's hash found */
	db_rows *r = NULL;
	int rc = db_query(d, c, f->read, 0, NULL, &r, err);
	if (rc) {  /* a table of that name, but not of that shape: someone else's */
		char *why = xstrdup(err->message ? err->message : "cannot be read");
		dbs_error_clear(err);
		rc = dbs_fail(err, DBS_EINPUT, "table %s is not %s's history (%s): %s", f->table,
			      f->tool, "the columns it keeps are not there", why);
		dbs_error_set_hint(err, "if the table is your own, adopt cannot read it: mark "
				   "what is applied with 'dbshift baseline VERSION' instead");
		free(why);
	}
	history_row *rows = NULL;
	size_t n = 0;
	for (size_t i = 0; !rc && i < r->nrows; i++) {
		const char *v = DB_VAL(r, i, 0);
		if (!v || !*v || *v == '-')
			continue;  /* golang-migrate's -1 (or NULL): nothing applied */
		if (!strcmp(f->tool, "golang-migrate")) {
			applied_up_to(&rows, &n, vers, nvers, v,
				      truthy(DB_VAL(r, i, 1)) ? "failed" : "applied");
		} else if (!strcmp(f->tool, "goose")) {
			if (truthy(DB_VAL(r, i, 1))) {
				history_row *h = add_row(&rows, &n, v);
				set_field(&h->status, "applied");
				set_time(&h->applied_at, DB_VAL(r, i, 2));
			} else {  /* goose recorded its down */
				drop_row(rows, &n, v);
			}
		} else if (!strcmp(f->tool, "flyway")) {
			const char *type = DB_VAL(r, i, 6) ? DB_VAL(r, i, 6) : "";
			if (!strncmp(type, "UNDO", 4) || !strcmp(type, "DELETE")) {
				drop_row(rows, &n, v);
				continue;
			}
			if (strstr(type, "BASELINE")) {
				applied_up_to(&rows, &n, vers, nvers, v, "applied");
				continue;
			}
			history_row *h = add_row(&rows, &n, v);
			set_field(&h->status, truthy(DB_VAL(r, i, 1)) ? "applied" : "failed");
			free(h->checksum);
			h->checksum = DB_VAL(r, i, 2) ? xprintf("flyway:%s", DB_VAL(r, i, 2)) : NULL;
			set_time(&h->applied_at, DB_VAL(r, i, 3));
			h->duration_ms = DB_VAL(r, i, 4) ? strtoll(DB_VAL(r, i, 4), NULL, 10) : -1;
			set_field(&h->applied_by, DB_VAL(r, i, 5));
		} else if (!strcmp(f->tool, "drizzle")) {  /* hash, created_at */
			size_t k = 0;
			while (sums && k < nvers && strcmp(sums[k], v))
				k++;
			history_row *h = add_row(&rows, &n, sums && k < nvers ? vers[k]
						 : DB_VAL(r, i, 1) ? DB_VAL(r, i, 1) : v);
			set_field(&h->status, "applied");
			free(h->checksum);
			h->checksum = xstrdup(v);  /* dbshift's own: the SHA-256 of the file */
			if (sums && k < nvers && (newest == nvers || k > newest))
				newest = k;
		} else if (!strcmp(f->tool, "prisma")) {
			/* migration_name, the directory's name, is the version; a row
			 * rolled back (prisma migrate resolve --rolled-back) is no
			 * longer applied; one that never finished failed (and blocks
			 * prisma migrate deploy) */
			if (DB_VAL(r, i, 2)) {
				drop_row(rows, &n, v);
			} else {
				history_row *h = add_row(&rows, &n, v);
				set_field(&h->status, DB_VAL(r, i, 1) ? "applied" : "failed");
				set_prisma_time(&h->applied_at, DB_VAL(r, i, 1) ? DB_VAL(r, i, 1)
									 : DB_VAL(r, i, 3));
				free(h->checksum);
				h->checksum = DB_VAL(r, i, 4) ? xprintf("prisma:%s", DB_VAL(r, i, 4)) : NULL;
			}
		} else if (!strcmp(f->tool, "sqlx")) {  /* success false: partly applied */
			history_row *h = add_row(&rows, &n, v);
			set_field(&h->status, truthy(DB_VAL(r, i, 1)) ? "applied" : "failed");
			set_time(&h->applied_at, DB_VAL(r, i, 2));
			if (DB_VAL(r, i, 3))  /* nanoseconds */
				h->duration_ms = strtoll(DB_VAL(r, i, 3), NULL, 10) / 1000000;
		} else {  /* dbmate, diesel */
			history_row *h = add_row(&rows, &n, v);
			set_field(&h->status, "applied");
			if (!strcmp(f->tool, "diesel"))
				set_time(&h->applied_at, DB_VAL(r, i, 1));
		}
	}
	db_rows_free(r);
	if (!rc && newest < nvers)
		applied_up_to(&rows, &n, vers, nvers, vers[newest], "applied");
	if (!rc && f->checksum && d->core->blob_hex)
		rc = foreign_checksums(d, c, f, rows, n, err);
	if (rc) {
		history_rows_free(rows, n);
		return rc;
	}
	*out = rows;
	*nout = n;
	return 0;
}
