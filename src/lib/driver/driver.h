/*
 * driver.h - the one interface every database implements (pg.c,
 * sqlite.c), database URLs read by libpq's rules (url.c), and programs
 * run without a shell (spawn.c).
 */
#ifndef DBSHIFT_DRIVER_H
#define DBSHIFT_DRIVER_H

#include "util/util.h"

/* ---- drivers ---- */

typedef struct db_conn db_conn;

/* One result set, all values as text (NULL for SQL NULL). */
typedef struct db_rows {
	size_t nrows, ncols;
	char **v;            /* nrows * ncols */
	char **names;        /* the columns' names (query_ro), or NULL */
	int64_t affected;    /* rows an INSERT / UPDATE / DELETE changed */
} db_rows;
void db_rows_free(db_rows *r);
#define DB_VAL(r, i, j) ((r)->v[(i) * (r)->ncols + (j)])

/* One command of a batch: len bytes of SQL (not NUL-terminated) with
 * text parameters; reuse: the same text comes again and again on the
 * connection (a history row), so a driver may prepare it once. */
typedef struct db_cmd {
	const char *sql;
	size_t len;
	int nparams;
	const char *const *params;
	int reuse;
} db_cmd;

/* How a run_tx transaction runs: its lock and statement timeouts (ms, 0:
 * none), and no_wait: its COMMIT need not wait for the disk (PostgreSQL's
 * synchronous_commit off); a later commit on the connection that waits,
 * such as the run's record, makes it durable with everything before it. */
/* A statement just ran: sql points into the text the caller passed (a
 * script, or a command of a batch), len bytes; us, its time in
 * microseconds (on PostgreSQL's pipeline: from the previous result to its
 * own, as the server flushed them); rows, the rows it changed (-1: the
 * database does not say). */
typedef void (*db_stmt_observer)(void *data, const char *sql, size_t len, int64_t us,
				 int64_t rows);

typedef struct db_tx {
	int lock_ms, stmt_ms;
	int no_wait;
} db_tx;

/*
 * A database driver: three small tables behind one name, each with its
 * own version, reached only through the db_* wrappers below.  core runs
 * SQL and holds the migrator lock; intro reads what the database knows of
 * itself (assess, verify, doctor, lint); archive dumps, restores and makes
 * scratch databases (backups).  Parameters are written $1, $2, ... in the
 * SQL of every driver.  Where the databases differ, there is a member
 * here for it: nothing outside the drivers tests a driver's name.
 */
typedef struct db_core {
	int version;            /* 1 */
	/* SQL for the milliseconds since the transaction began (history rows
	 * written in a run_tx batch), or NULL. */
	const char *tx_elapsed_ms;
	/* SQL for a blob's bytes as lower-case hex, one %s: the column (the
	 * checksums another tool keeps as bytes, for adopt). */
	const char *blob_hex;
	/* One writer at a time for the whole database (SQLite): a second
	 * process's write can make another's deferred transaction fail at
	 * once instead of waiting (SQLite's deadlock rule). */
	int one_writer;
	int (*connect)(db_conn **out, const char *url, dbs_error *err);
	/* connect, giving up after timeout_ms (dbshift wait); NULL: a driver
	 * whose connect does not wait on a network */
	int (*connect_within)(db_conn **out, const char *url, int timeout_ms, dbs_error *err);
	/* Make the database url names when it is not there (*created 1), as
	 * dbmate create does; one that is there is left alone (*created 0). */
	int (*create_database)(const char *url, int *created, dbs_error *err);
	/* Is the connection still there (not ended by the server)?  NULL: it
	 * cannot be lost (a file). */
	int (*connection_ok)(db_conn *c);
	void (*close)(db_conn *c);
	/* Run sql with text parameters; rows may be NULL when none wanted. */
	int (*query)(db_conn *c, const char *sql, int nparams,
		     const char *const *params, db_rows **rows, dbs_error *err);
	/*
	 * Find problems in the scripts of a plan before anything runs (syntax,
	 * unknown tables where the driver can tell, COPY): check_begin makes a
	 * checker for connection c and the n scripts of the plan (it may look
	 * at them all first), check_script checks one script after those
	 * before it in plan order (an input error sets *err_offset), check_end
	 * frees the checker.
	 */
	int (*check_begin)(db_conn *c, const char *const *scripts, size_t n, void **chk,
			   dbs_error *err);
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
	/*
	 * Split a script into its statements ([offset, length] each) with the
	 * database's own parser; an input error, with *err_offset, when it
	 * does not parse.  NULL: the driver checks and runs scripts whole.
	 */
	int (*split)(const char *sql, size_t (**spans)[2], size_t *n, size_t *err_offset,
		     dbs_error *err);
	/*
	 * Run cmds[0..n) as one transaction: BEGIN, the settings of tx for
	 * it, each command, COMMIT, in as few round trips as the database
	 * allows (PostgreSQL: one pipeline).  It stops
	 * at the first failure (*failed is its index, n for BEGIN or COMMIT;
	 * *err_offset the byte in that command where it failed) and leaves
	 * the transaction rolled back.  NULL: not offered.
	 */
	int (*run_tx)(db_conn *c, const db_tx *tx, const db_cmd *cmds, size_t n, size_t *failed,
		      size_t *err_offset, dbs_error *err);
	/* The one-migrator-at-a-time lock; wait_ms 0 means do not wait. */
	int (*lock)(db_conn *c, int wait_ms, dbs_error *err);
	void (*unlock)(db_conn *c);
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
	/* Call fn (NULL: stop) after each statement run_script or run_tx ran
	 * on c, with where it starts in the caller's text and its time. */
	void (*observe)(db_conn *c, db_stmt_observer fn, void *data);
	/*
	 * Run sql, one query (a data assertion), in a read-only transaction of
	 * its own that is rolled back after, stopped after timeout_ms (0: no
	 * bound): at most max_rows of its rows, *more 1 when it had more.
	 * More than one statement, or a statement that is not a query: an
	 * input error (DBS_EINPUT).  Any failure sets *err_offset, the byte
	 * of sql it names.
	 */
	int (*query_ro)(db_conn *c, const char *sql, int timeout_ms, size_t max_rows,
			db_rows **rows, int *more, size_t *err_offset, dbs_error *err);
} db_core;

typedef struct db_intro {
	int version;            /* 1 */
	/* SQL listing the user tables (names quote_table can use). */
	const char *tables_sql;
	/* Does a table exist in the current schema / database? */
	int (*table_exists)(db_conn *c, const char *table, int *exists, dbs_error *err);
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
	/* The worst replay lag of the replicas, in ms (0 without replicas). */
	int (*replica_lag_ms)(db_conn *c, int64_t *ms, dbs_error *err);
	/*
	 * server_version: e.g. "15.4".  identity: what tells this database
	 * from every other one (the server's system identifier and the
	 * database's name, or the file's real path), recorded in backups so
	 * that a restore never lands in another database by mistake.
	 */
	int (*server_version)(db_conn *c, char **version, dbs_error *err);
	int (*identity)(db_conn *c, char **identity, dbs_error *err);
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
	/* The memory an index build may sort in before it spills to disk
	 * (PostgreSQL: maintenance_work_mem), in bytes; NULL: no such bound. */
	int (*index_build_memory)(db_conn *c, int64_t *bytes, dbs_error *err);
	/* A table name from tables_sql, ready to put in SQL (caller frees). */
	char *(*quote_table)(const char *name);
	/* How volatile function name is ('i', 's', 'v'; 0 when unknown), for
	 * lint; NULL where the database has no such notion. */
	int (*func_volatility)(db_conn *c, const char *name, char *vol, dbs_error *err);
	/* The type of table.column as lint's model writes types ("int4",
	 * "varchar(40)", "numeric(10,2)", "text[]"), *type NULL when there is
	 * no such column; NULL where lint keeps no model. */
	int (*column_type)(db_conn *c, const char *table, const char *column, char **type,
			   dbs_error *err);
	/* The names of table's columns in order, a row each (none when there
	 * is no such table). */
	int (*columns)(db_conn *c, const char *table, db_rows **rows, dbs_error *err);
	/*
	 * What a live view shows of a run (serve, watch).  session: what
	 * names connection c's server process for the others (PostgreSQL: its
	 * backend pid), *id NULL where there is none.  For that session:
	 * activity, one row (state, wait event, ms its statement has run);
	 * progress, rows (view, phase, relation, done, total, unit) of the
	 * server's own progress reports; lock_waits, rows (lock type, mode,
	 * relation, ms waited, blocker pid, user, application, state, ms in
	 * its transaction) of the locks it waits for and who holds them.
	 * metrics: rows (name, "counter" or "gauge", label "key=value" or "",
	 * value) of the database; only the counters, which are cheap to read,
	 * unless all.  NULL: the database has none of it.
	 */
	int (*session)(db_conn *c, char **id, dbs_error *err);
	int (*activity)(db_conn *c, const char *session, db_rows **rows, dbs_error *err);
	int (*progress)(db_conn *c, const char *session, db_rows **rows, dbs_error *err);
	int (*lock_waits)(db_conn *c, const char *session, db_rows **rows, dbs_error *err);
	int (*metrics)(db_conn *c, int all, db_rows **rows, dbs_error *err);
} db_intro;

/*
 * Where a dump goes instead of a file in dir: begin is called once with
 * the file's name, then write with its bytes as they come (both 0, or
 * non-zero to stop the dump).  A backup sealed on the way (backup.c).
 */
typedef struct db_sink {
	int (*begin)(void *data, const char *file);
	int (*write)(void *data, const void *buf, size_t n);
	void *data;
} db_sink;

typedef struct db_archive {
	int version;            /* 1 */
	/* The dump formats, the default first, NULL-terminated. */
	const char *const *formats;
	/*
	 * Backups (backup.c).  dump writes the connected database into dir in
	 * one of formats (jobs for "directory") and names what it wrote
	 * (*file, relative to dir); with a sink, the dump goes there instead
	 * of into dir (a format that is a directory cannot: an input error,
	 * DBS_EINPUT, before anything is done); restore loads such a dump into the
	 * database at url, replacing what is there.  A scratch database is an
	 * empty one beside this one, for restore tests and rehearsals:
	 * scratch_create gives its URL; scratch_list the URLs of those there
	 * are whose names begin with prefix, one a row.
	 */
	int (*dump)(db_conn *c, const char *dir, const char *format, int jobs, db_sink *sink,
		    char **file, dbs_error *err);
	int (*restore)(const char *url, const char *dir, const char *file, const char *format,
		       dbs_error *err);
	int (*scratch_create)(db_conn *c, const char *name, char **scratch_url, dbs_error *err);
	int (*scratch_drop)(db_conn *c, const char *scratch_url, dbs_error *err);
	int (*scratch_list)(db_conn *c, const char *prefix, db_rows **urls, dbs_error *err);
} db_archive;

typedef struct db_driver {
	const char *name;       /* "postgres", "sqlite": for people and manifests */
	const char *timestamp_type;  /* column type of applied_at */
	const char *json_type;       /* column type of run reports */
	/* what follows the history table's definition (SQLite: WITHOUT
	 * ROWID, its rows kept in the primary key's B-tree: one B-tree to
	 * write a row into, not two) */
	const char *history_suffix;
	const db_core *core;
	const db_intro *intro;
	const db_archive *archive;
} db_driver;

/* The wrappers: db_X(d, ...) calls d's X.  An optional member that a
 * driver leaves NULL does nothing (check_*), reports 0 (func_volatility:
 * unknown), or is asked for first (db_can_split, db_can_run_tx). */
int db_connect(const db_driver *d, db_conn **out, const char *url, dbs_error *err);
int db_create_database(const db_driver *d, const char *url, int *created, dbs_error *err);
int db_connection_ok(const db_driver *d, db_conn *c);
int db_connect_within(const db_driver *d, db_conn **out, const char *url, int timeout_ms,
		      dbs_error *err);
void db_close(const db_driver *d, db_conn *c);
int db_query(const db_driver *d, db_conn *c, const char *sql, int nparams,
	     const char *const *params, db_rows **rows, dbs_error *err);
int db_check_begin(const db_driver *d, db_conn *c, const char *const *scripts, size_t n,
		   void **chk, dbs_error *err);
int db_check_script(const db_driver *d, void *chk, const char *sql, size_t *err_offset,
		    dbs_error *err);
void db_check_end(const db_driver *d, void *chk);
int db_run_script(const db_driver *d, db_conn *c, const char *sql, size_t *err_offset,
		  dbs_error *err);
int db_split(const db_driver *d, const char *sql, size_t (**spans)[2], size_t *n,
	     size_t *err_offset, dbs_error *err);
int db_query_ro(const db_driver *d, db_conn *c, const char *sql, int timeout_ms,
		size_t max_rows, db_rows **rows, int *more, size_t *err_offset, dbs_error *err);
int db_run_tx(const db_driver *d, db_conn *c, const db_tx *tx, const db_cmd *cmds, size_t n,
	      size_t *failed, size_t *err_offset, dbs_error *err);
void db_observe(const db_driver *d, db_conn *c, db_stmt_observer fn, void *data);
int db_lock(const db_driver *d, db_conn *c, int wait_ms, dbs_error *err);
void db_unlock(const db_driver *d, db_conn *c);
int db_set_timeouts(const db_driver *d, db_conn *c, int lock_ms, int statement_ms, int local,
		    dbs_error *err);
int db_is_lock_timeout(const db_driver *d, const dbs_error *err);
void db_set_lock_wait(const db_driver *d, db_conn *c, int ms);
int db_table_exists(const db_driver *d, db_conn *c, const char *table, int *exists,
		    dbs_error *err);
int db_table_facts(const db_driver *d, db_conn *c, const char *table, db_rows **rows,
		   dbs_error *err);
int db_blockers(const db_driver *d, db_conn *c, int min_seconds, const char *tables,
		db_rows **rows, dbs_error *err);
int db_replica_lag_ms(const db_driver *d, db_conn *c, int64_t *ms, dbs_error *err);
int db_server_version(const db_driver *d, db_conn *c, char **version, dbs_error *err);
int db_identity(const db_driver *d, db_conn *c, char **identity, dbs_error *err);
int db_schema_problems(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err);
int db_schema_dump(const db_driver *d, db_conn *c, char **text, dbs_error *err);
int db_database_size(const db_driver *d, db_conn *c, int64_t *bytes, dbs_error *err);
/* *bytes -1 where the database has no such bound. */
int db_index_build_memory(const db_driver *d, db_conn *c, int64_t *bytes, dbs_error *err);
int db_can_create(const db_driver *d, db_conn *c, char **why, dbs_error *err);
char *db_quote_table(const db_driver *d, const char *name);
int db_func_volatility(const db_driver *d, db_conn *c, const char *name, char *vol,
		       dbs_error *err);
int db_dump(const db_driver *d, db_conn *c, const char *dir, const char *format, int jobs,
	    db_sink *sink, char **file, dbs_error *err);
int db_restore(const db_driver *d, const char *url, const char *dir, const char *file,
	       const char *format, dbs_error *err);
int db_scratch_list(const db_driver *d, db_conn *c, const char *prefix, db_rows **urls,
		    dbs_error *err);
int db_scratch_create(const db_driver *d, db_conn *c, const char *name, char **scratch_url,
		      dbs_error *err);
int db_scratch_drop(const db_driver *d, db_conn *c, const char *scratch_url, dbs_error *err);
int db_column_type(const db_driver *d, db_conn *c, const char *table, const char *column,
		   char **type, dbs_error *err);
int db_columns(const db_driver *d, db_conn *c, const char *table, db_rows **rows,
	       dbs_error *err);
/* The live view's members; one a driver leaves NULL gives *id NULL or
 * no rows. */
int db_session(const db_driver *d, db_conn *c, char **id, dbs_error *err);
int db_activity(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		dbs_error *err);
int db_progress(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		dbs_error *err);
int db_lock_waits(const db_driver *d, db_conn *c, const char *session, db_rows **rows,
		  dbs_error *err);
int db_metrics(const db_driver *d, db_conn *c, int all, db_rows **rows, dbs_error *err);
int db_can_split(const db_driver *d);
int db_can_run_tx(const db_driver *d);
int db_one_writer(const db_driver *d);
/* The dump format for a request (NULL: the default), or NULL when the
 * driver writes no such format. */
const char *db_dump_format(const db_driver *d, const char *requested);
/* "custom, plain or directory": d's formats, for messages (caller frees). */
char *db_dump_formats_text(const db_driver *d);
/* Does any driver write this dump format (a manifest's)? */
int db_format_known(const char *format);

/* Run argv (no shell) with extra_env added; its output in *out_text (may
 * be NULL), or in the error's detail when it fails (spawn.c). */
int spawn_run(const char *const *argv, const char *const *extra_env, char **out_text,
	      dbs_error *err);
/* How to run a program beyond its argv. */
typedef struct spawn_opts {
	const char *cwd;   /* NULL: ours */
	int timeout_ms;    /* > 0: in its own process group, killed (group and
			      all) past it */
	int timed_out;     /* set when it was */
	char **err_text;   /* not NULL: its stderr apart, here (caller frees) */
	/* A bound on what is kept of each stream (0: none): with keep_tail,
	 * its last max_out bytes (dropped counts the rest); without, a child
	 * that writes more is killed and overflowed set. */
	size_t max_out;
	int keep_tail;
	size_t dropped;
	int overflowed;
	const char *const *unset_env;  /* names not passed on from ours, or NULL */
	/* Not NULL: its stdout goes to out_sink as it comes, kept nowhere (its
	 * stderr apart needs err_text); a sink that returns non-zero stops
	 * the child (sink_failed). */
	int (*out_sink)(void *data, const void *buf, size_t n);
	void *sink_data;
	int sink_failed;
} spawn_opts;
/* Run argv (no shell) and give its output (stdout and stderr, in *out_text,
 * also on failure when it ran; stderr apart with o->err_text) and exit
 * code, whatever the code. */
int spawn_full(const char *const *argv, const char *const *extra_env, spawn_opts *o,
	       char **out_text, int *exit_code, dbs_error *err);
/*
 * A child kept under way, in steps: spawn_start (with_input: a socket to
 * its stdin, else /dev/null), spawn_read_line (what it writes up to its
 * first newline, without it: -1 when it ended or failed first, and
 * spawn_finish says why), spawn_say (text to its stdin, which then ends;
 * o's timeout counts again from here) and spawn_finish (the rest, to o's
 * sink or *out_text, and its exit code, as spawn_full; frees c).  o must
 * outlive c.
 */
typedef struct spawn_child spawn_child;
int spawn_start(const char *const *argv, const char *const *extra_env, spawn_opts *o,
		int with_input, spawn_child **c, dbs_error *err);
int spawn_read_line(spawn_child *c, char **line);
int spawn_say(spawn_child *c, const char *text);
int spawn_finish(spawn_child *c, char **out_text, int *exit_code, dbs_error *err);
/* Kill c (and its process group, with a timeout); spawn_finish still
 * waits for it and frees it. */
void spawn_kill(spawn_child *c);
/* Run argv and give its output and exit code, whatever the code. */
int spawn_status(const char *const *argv, const char *const *extra_env, char **out_text,
		 int *exit_code, dbs_error *err);

/* ---- database URLs (url.c) ---- */

/* The length of a SQLite URL's scheme: 7 for sqlite:, 8 for dbmate's
 * sqlite3:, else 0. */
size_t url_sqlite_prefix(const char *url);
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
/* 0 when libpq reads the PostgreSQL url; else an input error without its
 * secrets. */
int url_pg_check(const char *url, dbs_error *err);
/* 0 when a driver takes url and (PostgreSQL) libpq reads it; else an
 * input error without its secrets (driver.c). */
int url_check(const char *url, dbs_error *err);
/* A PostgreSQL url as key=value conninfo that puts schema first on the
 * search_path (then public), keeping its other options; NULL and err
 * when libpq cannot read url.  Caller frees. */
char *url_pg_with_schema(const char *url, const char *schema, dbs_error *err);

extern const db_driver driver_postgres;
extern const db_driver driver_sqlite;

/* Rows of (table, exact row count) of every user table (driver.c). */
int table_counts(const db_driver *d, db_conn *c, db_rows **rows, dbs_error *err);

/* The driver for a URL, or an input error that says which URLs work. */
int driver_for_url(const db_driver **out, const char *url, dbs_error *err);
/* The driver of url, or NULL when there is no URL or none fits (quietly). */
const db_driver *driver_guess(const char *url);

#endif
