/*
 * plan.h - the history tables (history.c) and the planner (planner.c):
 * files and history rows merged into entries in plan order, and the steps
 * a migrate or rollback would take.
 */
#ifndef DBSHIFT_PLAN_H
#define DBSHIFT_PLAN_H

#include "driver/driver.h"
#include "source/source.h"

/* ---- history rows ---- */

typedef struct history_row {
	char *app, *version, *name, *checksum, *status, *applied_at;
	int64_t duration_ms;
	char *applied_by, *message;
} history_row;

void history_rows_free(history_row *rows, size_t n);

/* ---- the planner ---- */

/*
 * Merge files and history rows into entries in plan order: a topological
 * order of the app chains and their requires (input error on a cycle,
 * naming it), then rows whose file is gone.  entries[i].m / .row may be
 * NULL.  Exposed for the unit tests.
 */
typedef struct plan_entry {
	dbs_entry pub;
	migration *m;
	history_row *row;
	size_t *preds;      /* indices of the entries this one follows */
	size_t npreds;
} plan_entry;

void plan_entries_free(plan_entry *e, size_t n);

int planner_order(plan_entry **out, size_t *nout, source *src,
		  history_row *rows, size_t nrows, dbs_error *err);
/* "app/version_name" or "version_name", in buf. */
const char *plan_label(const dbs_entry *p, char *buf, size_t n);
int planner_migrate(dbs_plan *plan, plan_entry *e, size_t n,
		    const dbs_migrate_opts *o, dbs_error *err);
/* A step of a framework's own plan: which migration, which way. */
typedef struct fw_step {
	char *path;          /* "shop.0002_item_note" */
	int up;
} fw_step;

/* A framework's own plan (steps, in its order) as dbshift's plan, less
 * what is done already, with the same refusals (rollback: steps go
 * down). */
int planner_listed(dbs_plan *plan, plan_entry *e, size_t n, const fw_step *steps,
		   size_t nsteps, int rollback, const dbs_migrate_opts *o, dbs_error *err);
int planner_rollback(dbs_plan *plan, plan_entry *e, size_t n,
		     const dbs_migrate_opts *o, dbs_error *err);

/* ---- state tables (dbshift_migrations, dbshift_runs) ---- */

#define STATE_SCHEMA_VERSION 2

int state_ensure(const db_driver *d, db_conn *c, dbs_error *err);
int state_exists(const db_driver *d, db_conn *c, int *exists, dbs_error *err);
int state_read(const db_driver *d, db_conn *c, history_row **rows, size_t *n,
	       dbs_error *err);
/* Write m's history row; fresh: m has none yet, so a plain insert (cheaper
 * to prepare than the upsert, which SQLite does again after each script
 * that changed the schema). */
int state_record(const db_driver *d, db_conn *c, const migration *m,
		 const char *status, int64_t duration_ms, const char *message, int fresh,
		 dbs_error *err);
/* Insert h as it is (adopt: another tool's row, with its time and user). */
int state_insert(const db_driver *d, db_conn *c, const history_row *h, dbs_error *err);

/*
 * The history another tool kept in the database (adopt): dbmate's or
 * golang-migrate's schema_migrations, goose's goose_db_version, Flyway's
 * flyway_schema_history, Diesel's __diesel_schema_migrations, sqlx's
 * _sqlx_migrations, Prisma's _prisma_migrations, Drizzle's
 * __drizzle_migrations.
 * foreign_find: the first of those there (*tool NULL: none).
 * foreign_read: its rows, one per version, in its order: status
 * "applied" or "failed" (golang-migrate's dirty version, Flyway's failed
 * row), applied_at, duration_ms (-1: not kept), applied_by and checksum
 * (Flyway's, as "flyway:N"; else NULL) where the tool keeps them.
 * golang-migrate keeps only its last version: every file up to it counts
 * as applied (vers: the migrations' versions, to say which).  Flyway's
 * baseline row likewise stands for every version up to its own.
 * Drizzle keeps the SHA-256 of each file it ran (sums: the migrations'
 * checksums, beside vers; NULL: none to match), and the time of its
 * journal's entry: a row is the migration whose file has its hash, and
 * every one before the last so found counts as applied (Drizzle runs
 * what is newer than its newest row); a row no file has is kept under its
 * time, and shows as missing.
 */
typedef struct foreign_history {
	const char *tool, *table;
	const char *read;  /* the query foreign_read runs */
	/* its column of each version's checksum as bytes (sqlx's SHA-384 of
	 * the file), kept as "<tool>:<hex>"; or NULL */
	const char *checksum;
} foreign_history;
int foreign_find(const db_driver *d, db_conn *c, foreign_history *f, dbs_error *err);
int foreign_read(const db_driver *d, db_conn *c, const foreign_history *f,
		 const char *const *vers, const char *const *sums, size_t nvers,
		 history_row **rows, size_t *n, dbs_error *err);
/* The same writes as commands for a batch (driver run_tx): the row's
 * duration is measured by the database from the transaction's start
 * (driver tx_elapsed_ms).  Free hc->sql after use. */
typedef struct history_cmd {
	db_cmd cmd;
	char *sql;
	char at[32];
	const char *p[9];
} history_cmd;
void state_record_cmd(const db_driver *d, const migration *m, const char *status,
		     const char *message, int fresh, history_cmd *hc);
void state_forget_cmd(const migration *m, history_cmd *hc);
int state_forget(const db_driver *d, db_conn *c, const char *app,
		 const char *version, dbs_error *err);
int state_accept_checksum(const db_driver *d, db_conn *c, const migration *m,
			  dbs_error *err);
/* Write a run's row (insert, or replace what it had) with status and
 * report, stamped now (finished_at, heartbeat_ms): its final report, or
 * while it runs ("running") its live document at each heartbeat. */
int state_record_run(const db_driver *d, db_conn *c, const char *run_id,
		     const char *command, const char *env, const char *started,
		     const char *status, const char *report, dbs_error *err);
/* Rows (run_id, command, environment, started_at, finished_at, status,
 * heartbeat_ms, report) of the newest limit runs, or of run id (not
 * NULL); none when there is no history. */
int state_runs(const db_driver *d, db_conn *c, const char *id, int limit, db_rows **rows,
	       dbs_error *err);
/* The report of the newest finished run of command in environment env
 * (NULL: none), or *report NULL when there is none. */
int state_last_run(const db_driver *d, db_conn *c, const char *command, const char *env,
		   char **report, dbs_error *err);

#endif
