/*
 * internal.h - what the pieces of libdbshift share and nobody else sees:
 * the string builder, error helpers, the migration source model, the
 * history rows, and the driver interface every database implements.
 */
#ifndef DBSHIFT_INTERNAL_H
#define DBSHIFT_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "dbshift/dbshift.h"

/* ---- memory and strings (after git's strbuf) ---- */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct strbuf {
	char *buf;   /* never NULL after strbuf_init; NUL-terminated */
	size_t len, alloc;
} strbuf;

void strbuf_init(strbuf *sb);
void strbuf_add(strbuf *sb, const char *data, size_t n);
void strbuf_adds(strbuf *sb, const char *s);
void strbuf_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *strbuf_detach(strbuf *sb);
void strbuf_release(strbuf *sb);

/* The largest file read_file reads (EFBIG above it). */
#define READ_FILE_MAX (64L * 1024 * 1024)
/* A whole regular file (EISDIR, EINVAL for FIFOs and devices, EFBIG
 * above READ_FILE_MAX), NUL-terminated; -1 with errno on failure. */
int read_file(const char *path, char **out, size_t *len);
/* Why read_file failed, for people ("not a regular file", ...). */
const char *read_file_error(int e);
/* Input error (file:line:col) unless text[0..len) is UTF-8 without NUL. */
int check_text(const char *path, const char *text, size_t len, dbs_error *err);
int starts_with(const char *s, const char *prefix);
int ends_with(const char *s, const char *suffix);
int is_digits(const char *s, size_t n);
/* 1-based line and column of byte offset off in text. */
void text_position(const char *text, size_t off, int *line, int *col);
/* Offset of the first byte in sql[0..n) that is not blank or a comment. */
size_t sql_skip_space(const char *sql, size_t n);
/* sql[0..n) without leading and trailing blanks and comments, copied. */
char *sql_trimmed(const char *sql, size_t n);
void sha256_hex(const char *data, size_t n, char out[65]);
/* Now, UTC, as "YYYY-MM-DD HH:MM:SS+00" (what both drivers store). */
void utc_now(char out[32]);
int64_t now_ms(void);
void sleep_ms(int ms);
/* Milliseconds of "60s", "2min", "500ms", "1h", "7d" or plain seconds; -1 if bad. */
int parse_duration_ms(const char *s, int *out);
/* "1s, 2s, 5s" -> {1000, 2000, 5000}; "none" -> n = 0; -1 if bad. */
int parse_schedule(const char *s, int **out, size_t *n);
/* user@host of this process, for applied_by. */
const char *whoami(void);

/* ---- errors ---- */

int dbs_fail(dbs_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dbs_error_set_hint(dbs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dbs_error_set_detail(dbs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dbs_error_set_file(dbs_error *err, const char *file, int line, int col);
void dbs_error_move(dbs_error *dst, dbs_error *src);

/* ---- migration sources ---- */

typedef struct section {
	char *file;   /* the file this SQL comes from */
	char *sql;    /* NULL when the section is absent */
	int line;     /* line of file where sql starts (1-based) */
	int no_transaction;  /* this direction runs outside a transaction */
} section;

typedef struct migration {
	char *app;          /* "" for the top level */
	char *version;
	char *name;
	const char *format;
	char *path;         /* the file or directory that names it */
	section up, down;
	int string_order;   /* versions compare as strings (Diesel chains) */
	char *phase;
	char **requires;    /* "APP:VERSION" */
	size_t nrequires;
	int requires_line;  /* for error messages */
	char *data_file;    /* -- dbshift:data FILE, run after the migration */
	int data_line;
	char checksum[65];  /* SHA-256 of up.sql */
} migration;

typedef struct source {
	migration *m;
	size_t n;
	char *warnings;     /* files that were ignored, a line each, or NULL */
} source;

/*
 * Read every migration below dir; an input error names file:line.
 * dialect ("postgres", "sqlite") picks among files written for several
 * databases (popx's <version>_<name>.<dialect>.up.sql).
 */
int source_load(source *src, const char *dir, const char *dialect, dbs_error *err);
/* Compare the versions of two migrations in their chain's order. */
int migration_version_cmp(const migration *a, const migration *b);
/* Compare a migration's version with a version typed by someone. */
int migration_version_cmp_to(const migration *m, const char *version);
/* Does this section hold no statement (absent, blank or only comments)? */
int section_is_empty(const section *s);
void source_release(source *src);
/* Parse one native/goose file's text (exposed for the unit tests). */
int source_parse_text(migration *m, const char *path, const char *text,
		      int goose, dbs_error *err);
void migration_release(migration *m);
/* Read one file given on the command line as a migration of its layout
 * (or plain SQL when its name matches none). */
int source_load_file(migration *m, const char *path, dbs_error *err);

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
int planner_rollback(dbs_plan *plan, plan_entry *e, size_t n,
		     const dbs_migrate_opts *o, dbs_error *err);

/* ---- drivers ---- */

typedef struct db_conn db_conn;

/* One result set, all values as text (NULL for SQL NULL). */
typedef struct db_rows {
	size_t nrows, ncols;
	char **v;            /* nrows * ncols */
	int64_t affected;    /* rows an INSERT / UPDATE / DELETE changed */
} db_rows;
void db_rows_free(db_rows *r);
#define DB_VAL(r, i, j) ((r)->v[(i) * (r)->ncols + (j)])

/*
 * A database driver.  The engine calls only through this table; where the
 * databases differ, there is a method or a field here for it.  Parameters
 * are written $1, $2, ... in the SQL of every driver.
 */
typedef struct db_driver {
	int version;            /* 1 */
	const char *name;       /* "postgres", "sqlite" */
	const char *timestamp_type;  /* column type of applied_at */
	const char *json_type;       /* column type of run reports */

	int (*connect)(db_conn **out, const char *url, dbs_error *err);
	void (*close)(db_conn *c);
	/* Run sql with text parameters; rows may be NULL when none wanted. */
	int (*query)(db_conn *c, const char *sql, int nparams,
		     const char *const *params, db_rows **rows, dbs_error *err);
	/*
	 * Find problems in the scripts of a plan before anything runs (syntax,
	 * unknown tables where the driver can tell, COPY): check_begin makes a
	 * checker for connection c, check_script checks one script after those
	 * before it in plan order (an input error sets *err_offset), check_end
	 * frees the checker.
	 */
	int (*check_begin)(db_conn *c, void **chk, dbs_error *err);
	int (*check_script)(void *chk, const char *sql, size_t *err_offset, dbs_error *err);
	void (*check_end)(void *chk);
	/*
	 * Run every statement of a script, one at a time, in whatever
	 * transaction state the connection is in.  On failure *err_offset is
	 * the byte offset in sql of the error (or of the failing statement)
	 * and err->statement the failing statement.
	 */
	int (*run_script)(db_conn *c, const char *sql, size_t *err_offset,
			  dbs_error *err);
	/* The one-migrator-at-a-time lock; wait_ms 0 means do not wait. */
	int (*lock)(db_conn *c, int wait_ms, dbs_error *err);
	void (*unlock)(db_conn *c);
	/* Does a table exist in the current schema / database? */
	int (*table_exists)(db_conn *c, const char *table, int *exists, dbs_error *err);
	/* The safety analysis of this database's SQL (lint.h). */
	const struct lint_dialect *lint;
	/*
	 * Live facts for assess.  table_facts: one row (bytes, row estimate,
	 * "index, index") or none when the table does not exist; NULL values
	 * when unknown.  blockers: rows (pid, kind, age in seconds, user,
	 * detail, query) of sessions that a migration would queue behind:
	 * queries running longer than min_seconds, sessions idle in a
	 * transaction, ungranted locks, and sessions holding a lock on one of
	 * tables ("a,b"; may be NULL).
	 */
	int (*table_facts)(db_conn *c, const char *table, db_rows **rows, dbs_error *err);
	int (*blockers)(db_conn *c, int min_seconds, const char *tables, db_rows **rows,
			dbs_error *err);
	/*
	 * Bound how long statements wait for locks and run (0: no bound), for
	 * the current transaction (local) or the session.  is_lock_timeout
	 * tells a failure that gave up waiting for a lock, worth retrying.
	 */
	int (*set_timeouts)(db_conn *c, int lock_ms, int statement_ms, int local, dbs_error *err);
	int (*is_lock_timeout)(const dbs_error *err);
	/* How long any statement may wait for another process's lock on the
	 * database before it fails naming the holder (--lock-wait). */
	void (*set_lock_wait)(db_conn *c, int ms);
	/* The worst replay lag of the replicas, in ms (0 without replicas). */
	int (*replica_lag_ms)(db_conn *c, int64_t *ms, dbs_error *err);
	/*
	 * Backups (backup.c).  dump writes the connected database into dir in
	 * format ("custom", "plain", "directory"; jobs for directory) and names
	 * what it wrote (*file, relative to dir); restore loads such a dump into
	 * the database at url, replacing what is there.  tables_sql lists the
	 * user tables (names quote_table can use).  server_version: e.g.
	 * "15.4".  identity: what tells this database from every other one (the
	 * server's system identifier and the database's name, or the file's
	 * real path), recorded in backups so that a restore never lands in
	 * another database by mistake.  A scratch database is an empty one beside
	 * this one, for restore tests: scratch_create gives its URL.
	 */
	int (*dump)(db_conn *c, const char *dir, const char *format, int jobs, char **file,
		    dbs_error *err);
	int (*restore)(const char *url, const char *dir, const char *file, const char *format,
		       dbs_error *err);
	const char *tables_sql;
	int (*server_version)(db_conn *c, char **version, dbs_error *err);
	int (*identity)(db_conn *c, char **identity, dbs_error *err);
	int (*scratch_create)(db_conn *c, const char *name, char **scratch_url, dbs_error *err);
	int (*scratch_drop)(db_conn *c, const char *scratch_url, dbs_error *err);
	/*
	 * Schema problems for verify: rows of (check, object) for
	 * "no-primary-key", "fk-without-index", "invalid-index",
	 * "not-valid-constraint", "sequence-behind".
	 */
	int (*schema_problems)(db_conn *c, db_rows **rows, dbs_error *err);
	/* The schema as normalized text (no dbshift_* tables), for snapshots. */
	int (*schema_dump)(db_conn *c, char **text, dbs_error *err);
	/*
	 * For doctor: the database's size in bytes, and whether this user can
	 * create tables (NULL *why) or why not.
	 */
	int (*database_size)(db_conn *c, int64_t *bytes, dbs_error *err);
	int (*can_create)(db_conn *c, char **why, dbs_error *err);
	/* A table name from tables_sql, ready to put in SQL (caller frees). */
	char *(*quote_table)(const char *name);
	/* How volatile function name is ('i', 's', 'v'; 0 when unknown), for
	 * lint; NULL where the database has no such notion. */
	int (*func_volatility)(db_conn *c, const char *name, char *vol, dbs_error *err);
} db_driver;

/* Run argv (no shell) with extra_env added; its output in *out_text (may
 * be NULL), or in the error's detail when it fails (spawn.c). */
int spawn_run(const char *const *argv, const char *const *extra_env, char **out_text,
	      dbs_error *err);
/* Run argv and give its output and exit code, whatever the code. */
int spawn_status(const char *const *argv, const char *const *extra_env, char **out_text,
		 int *exit_code, dbs_error *err);
/* ---- database URLs (url.c) ---- */

/* A libpq connection string: postgres:// or postgresql://, or key=value. */
int url_is_postgres(const char *url);
/* Where url's secrets are as typed ([offset, length] pairs, up to max;
 * returns how many there are), following libpq's grammar. */
size_t url_secret_spans(const char *url, size_t (*spans)[2], size_t max);
/* text with every secret of url (as typed, decoded, or as libpq read it)
 * replaced by "****"; caller frees. */
char *url_scrub(const char *url, const char *text);
/* libpq's reading of a PostgreSQL URL (PQconninfoParse; PQconninfoFree
 * it), or an input error whose text has no secret of url in it. */
struct _PQconninfoOption;
int url_pg_parse(const char *url, struct _PQconninfoOption **out, dbs_error *err);
/* Append v to a conninfo string as a quoted value. */
void url_add_conninfo_value(strbuf *sb, const char *v);

extern const db_driver driver_postgres;
extern const db_driver driver_sqlite;

/* Rows of (table, exact row count) of every user table (driver.c). */
int table_counts(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err);

/* The driver for a URL, or an input error that says which URLs work. */
int driver_for_url(const db_driver **out, const char *url, dbs_error *err);
/* The driver of url, or NULL when there is no URL or none fits (quietly). */
const db_driver *driver_guess(const char *url);

/* ---- state tables (dbshift_migrations, dbshift_runs) ---- */

#define STATE_SCHEMA_VERSION 1

int state_ensure(const db_driver *d, db_conn *c, dbs_error *err);
int state_exists(const db_driver *d, db_conn *c, int *exists, dbs_error *err);
int state_read(const db_driver *d, db_conn *c, history_row **rows, size_t *n,
	       dbs_error *err);
int state_record(const db_driver *d, db_conn *c, const migration *m,
		 const char *status, int64_t duration_ms, const char *message,
		 dbs_error *err);
int state_forget(const db_driver *d, db_conn *c, const char *app,
		 const char *version, dbs_error *err);
int state_accept_checksum(const db_driver *d, db_conn *c, const migration *m,
			  dbs_error *err);
int state_record_run(const db_driver *d, db_conn *c, const char *run_id,
		     const char *command, const char *env, const char *started,
		     const char *status, const char *report, dbs_error *err);

/* ---- the context ---- */

struct dbs_ctx {
	dbs_options opts;
	char *display_url;
	const db_driver *driver;
	const db_driver *dialect;  /* the URL's driver, even offline; NULL: none */
	db_conn *conn;
	source src;
	history_row *rows;
	size_t nrows;
	plan_entry *entries;
	size_t nentries;
	int state_loaded;
	dbs_error err;
	FILE *log;
	char *warnings;     /* of the last run: lines for people, or NULL */
};

/* Forget the loaded history (it changed). */
void ctx_drop_state(dbs_ctx *ctx);
/* Load history and order entries (once per context). */
int ctx_load_state(dbs_ctx *ctx);
/* Append a timestamped line to the log file, if one is open. */
void ctx_log(dbs_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
