/*
 * dbshift.h - the public API of libdbshift.
 *
 * libdbshift carries a database through schema migrations: it reads a
 * migrations directory (dbmate, goose, golang-migrate, Diesel, Flyway
 * layouts), compares it with the history kept in the database, plans what
 * to run and runs it, one migrator at a time, recording every step.
 *
 * Conventions (after libgit2): functions return 0 on success or a negative
 * DBS_E* code; the details of the last failure are kept in the context and
 * read with dbs_last_error().  The library never prints and never exits.
 * What comes back through a pointer-to-pointer belongs to the caller and
 * has a matching _free function; returned plain pointers are borrowed.
 */
#ifndef DBSHIFT_H
#define DBSHIFT_H

#include <stddef.h>
#include <stdint.h>

#include "dbshift/version.h"  /* DBSHIFT_VERSION, made from meson.build */

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes.  Frozen: new codes are only ever added. */
enum {
	DBS_OK = 0,
	DBS_EFAIL = -1,   /* the operation failed (SQL error, connection lost) */
	DBS_EINPUT = -2,  /* bad input: file, flag, config, URL */
	DBS_EPOLICY = -3, /* refused by policy (drift, out of order, failed row) */
	DBS_ELOCKED = -4, /* another migrator holds the lock */
	DBS_ENOMEM = -5
};

/* The last error, in the three parts of a PostgreSQL message. */
typedef struct dbs_error {
	int code;          /* one of DBS_E* */
	char *message;     /* primary line: lowercase, no final period */
	char *detail;      /* server DETAIL or more facts; may be NULL */
	char *hint;        /* what to do next; may be NULL */
	char *sqlstate;    /* five-character SQLSTATE for server errors */
	char *file;        /* file the error is in, or NULL */
	int line, col;     /* 1-based position in file, 0 when unknown */
	char *statement;   /* the failing statement, or NULL */
} dbs_error;

/* Options that select the project and database; see dbs_options_load(). */
/* A [hook "NAME"] of dbshift.conf: a program run by name as a callback
 * (before_migrate, ...) or a release step, never through a shell. */
typedef struct dbs_hook {
	char *name;
	char *run;           /* its argv as written: words; quotes group */
	char *env;           /* "KEY=VALUE ..." added to its environment, or NULL */
	char *cwd;           /* NULL: ours */
	int timeout_ms;      /* past it, it is killed with its process group */
	int critical;        /* its failure fails the run (default) */
} dbs_hook;

/* A section of dbshift.conf for a release step that moves more than the
 * database: [files "NAME"], [settings "NAME"], [dotenv "NAME"],
 * [bucket "NAME"] or [mail "NAME"], named in steps as KIND:NAME.  Its
 * keys as written, each checked when the config was read. */
typedef struct dbs_section {
	char *kind, *name;
	char **keys, **values;
	size_t n;
} dbs_section;

typedef struct dbs_options {
	char *database;      /* URL; never printed as is: see dbs_redact_url() */
	char *dir;           /* migrations directory (default "migrations") */
	char *env;           /* environment name, or NULL */
	char *config;        /* the config file read, or NULL (none) */
	char *log_file;      /* log path; "" disables logging */
	int lock_wait_ms;    /* how long to wait for the migrator lock */
	/* Accepted from the config file for the commands that use them. */
	char *backup_dir, *max_risk, *lock_timeout, *statement_timeout;
	char *lock_retries;  /* waits between attempts after a lock timeout */
	/* doctor: thresholds (durations) and extra checks ("host:port, ..." and
	 * "URL, ...") */
	char *doctor_backup_age, *doctor_long_query, *doctor_max_lag;
	char *check_tcp, *check_http;
	char *notify_url;    /* webhooks: "URL ..." posted on start, success, failure */
	char *notify_on;     /* which: events and commands ("failure release") */
	int notify_timeout_ms;
	char *report_dir;    /* each run's JSON report as <run id>.json; "": none */
	/* callbacks: names of hooks, separated by blanks */
	char *before_migrate, *after_migrate, *after_rollback, *on_failure;
	dbs_hook *hooks;
	size_t nhooks;
	dbs_section *sections;
	size_t nsections;
	int require_backup;
	/* backups: retention after each one (0 / NULL: none), and encryption
	 * with the key in backup_key_file */
	int backup_keep;
	char *backup_max_age;
	int backup_encrypt;
	char *backup_key_file;
	/* backups off the host: s3://BUCKET/PREFIX, the store's endpoint and
	 * region, and the size above which files go up in parts */
	char *backup_upload, *s3_endpoint, *s3_region, *s3_part_size;
	char *backup_paths;  /* files kept with each backup: "media static" */
	char *schema_file;   /* verify's snapshot, or NULL */
	/* data assertions: the directory of NAME.sql queries (NULL: the
	 * default "assertions", which may be absent), and whether migrate,
	 * rollback and redo check them around their migrations */
	char *assertions_dir;
	int assertions;
	/* the environment whose database must have applied a migration before
	 * this one applies it (promotion order), or NULL */
	char *promote_from;
	/* migrate and release refuse a plan with no successful rehearsal
	 * younger than this (a duration), or NULL */
	char *require_rehearsal;
	/* [release]: the steps of each runbook (words), the steps whose
	 * failure is passed over, data files of the data step, and how long
	 * the health step retries */
	char *release_steps, *rollback_steps, *non_critical, *data_files;
	int health_timeout_ms;
	/* the live view: when a silent running run of another host counts as
	 * abandoned, and where serve listens, with its token's file */
	int heartbeat_timeout_ms;
	char *serve_listen, *serve_token_file;
	/* a framework's own migrations instead of dir's files: "django" (or
	 * NULL), the argv that runs its manage.py ("python3 manage.py"), the
	 * settings module it is given (--settings), and how long one of its
	 * commands may run */
	char *framework, *manage, *settings;
	int manage_timeout_ms;
	/* the command reads what is applied and pending only (status): the
	 * framework's SQL is not read unless something asks for it after all */
	int framework_no_sql;
	/* the plan the command will ask the framework for ("migrate" or
	 * "rollback", its target and steps as dbs_migrate_opts has them), read
	 * with everything else in one start of the framework; NULL: none */
	const char *framework_plan;
	const char *framework_plan_target;
	int framework_plan_steps;
	/* the command will lock and run migrations (migrate, rollback): the
	 * lock's own connection, where there is one, is made while the rest
	 * opens, and the start that reads a framework's project runs its
	 * migrate too, when told */
	int framework_serve;
	/* the one way of the framework's SQL the command reads ("up": migrate,
	 * "down": rollback), or NULL: both */
	const char *framework_sql_way;
	/* lint for the whole project, as squawk's excluded_rules and
	 * pg_version: rules never reported (words), and the PostgreSQL major
	 * version the migrations run on (0: a current one) */
	char *lint_exclude;
	int pg_version;
	/* a streaming replica whose replay lag data runs and doctor measure,
	 * or NULL: pg_stat_replication on the database */
	char *replica_url;
	/* [fleet]: where the targets come from (a file, a query on a
	 * catalogue database, or one target per schema of database), how many
	 * run at once, how many run first alone, and what a failure stops */
	char *fleet_targets, *fleet_targets_query, *fleet_targets_database;
	char *fleet_schemas_query;
	int fleet_jobs, fleet_canary, fleet_max_failures;
	char *fleet_on_error;  /* "stop" or "continue" */
} dbs_options;

/*
 * Fill opts from, in increasing precedence: built-in defaults, the config
 * file (config_path, or "dbshift.conf" when it exists and config_path is
 * NULL), the environment (DATABASE_URL, DBSHIFT_ENV) and then whatever the
 * caller sets afterwards.  env_name selects an [env "NAME"] section (NULL:
 * DBSHIFT_ENV).  An unknown section or key is DBS_EINPUT naming file:line.
 */
int dbs_options_load(dbs_options *opts, const char *config_path,
		     const char *env_name, dbs_error *err);
void dbs_options_release(dbs_options *opts);
/* The keys of dbshift.conf, one by one (i = 0, 1, ... until it returns 0):
 * key, default as written (NULL: none) and what it does. */
int dbs_setting_info(size_t i, const char **key, const char **def, const char **help);

/* url as libpq reads it, without its password (and sslpassword); when libpq
 * cannot read it, the text with every possible secret replaced by "****".
 * Caller frees. */
char *dbs_redact_url(const char *url);
/* Where the first non-empty secret at or after byte from of url is, as
 * typed (libpq's grammar): 1 and [*off, *off + *len), or 0 when none. */
int dbs_url_password(const char *url, size_t from, size_t *off, size_t *len);

/* Are the two secrets (tokens) equal?  Compared in constant time. */
int dbs_secret_equal(const char *a, const char *b);

/* Milliseconds of a duration: digits, an optional fraction and a unit (ms,
 * s, min, h, d), or bare digits meaning seconds; -1 if it is not one. */
int dbs_parse_duration(const char *s, int *ms);
/* The same with bare digits meaning bare_ms milliseconds each (an option's
 * documented unit: 1 for milliseconds, 1000 for seconds). */
int dbs_parse_duration_in(const char *s, int bare_ms, int *ms);
/* Seconds of an age (s, min, h, d, w; bare digits: seconds), beyond what
 * milliseconds in an int hold; -1 if it is not one. */
int dbs_parse_age(const char *s, int64_t *secs);

/* Compare two version strings as numbers, dotted parts one by one. */
int dbs_version_cmp(const char *a, const char *b);

/* A context, and its connections, belong to one thread at a time (as a
 * libpq PGconn or an SQLite connection opened without a mutex do): two
 * threads may each open their own.  The threads the library starts for
 * itself (heartbeats, parsing ahead) never touch the caller's. */
typedef struct dbs_ctx dbs_ctx;

/* Open a context: read the migrations directory and connect. */
int dbs_open(dbs_ctx **out, const dbs_options *opts, dbs_error *err);
/* Open without a database: only the migrations directory is read (none
 * when opts->dir is NULL, e.g. to lint files). */
int dbs_open_offline(dbs_ctx **out, const dbs_options *opts, dbs_error *err);
void dbs_close(dbs_ctx *ctx);
const dbs_error *dbs_last_error(const dbs_ctx *ctx);
void dbs_error_clear(dbs_error *err);

/* State of one migration, as status shows it. */
typedef enum {
	DBS_PENDING, DBS_APPLIED, DBS_DRIFTED, DBS_MISSING, DBS_FAILED,
	DBS_RUNNING     /* outside a transaction, by a run that is still alive */
} dbs_state;
#define DBS_NSTATES 6
const char *dbs_state_name(dbs_state s);

typedef struct dbs_entry {
	const char *app;        /* "" for the top-level chain */
	const char *version;
	const char *name;
	const char *path;       /* NULL when missing */
	const char *format;     /* dbmate, goose, sqlx, golang-migrate, popx, diesel,
				 * flyway (NULL when missing) */
	dbs_state state;
	int failed_down;        /* failed while rolling back (its up is applied) */
	int out_of_order;       /* pending but older than the newest applied */
	int no_transaction;     /* its up runs outside a transaction: 1, or 2 when
				 * its file manages its own (golang-migrate) */
	int down_no_transaction;/* its down runs outside a transaction: 1 or 2 */
	int irreversible;       /* its down holds no statement */
	const char *phase;      /* NULL when untagged */
	const char *applied_at; /* NULL unless recorded */
	int64_t duration_ms;    /* -1: not recorded (a framework's record) */
	const char *applied_by;
	const char *message;    /* note recorded with a failed row */
} dbs_entry;

/*
 * Read the history (one query) and order every migration: files plus
 * recorded rows, in plan order.  *n is how many; read them with
 * dbs_status_entry(), borrowed until dbs_close().
 */
int dbs_status(dbs_ctx *ctx, size_t *n);
const dbs_entry *dbs_status_entry(const dbs_ctx *ctx, size_t i);

/* Safety levels of statements and migrations (see dbs_lint_*). */
typedef enum { DBS_GREEN, DBS_YELLOW, DBS_RED } dbs_level;
const char *dbs_level_name(dbs_level l);
/* "green", "yellow" or "red"; DBS_EINPUT otherwise. */
int dbs_level_parse(const char *s, dbs_level *out);

typedef struct dbs_lint dbs_lint;

typedef enum { DBS_UP, DBS_DOWN } dbs_direction;

typedef struct dbs_step {
	const dbs_entry *entry;
	dbs_direction direction;
	const char *sql;        /* the up or down SQL */
	const char *file;       /* the file that SQL comes from */
	int no_transaction;     /* this step runs outside a transaction */
} dbs_step;

typedef struct dbs_plan {
	dbs_step *steps;
	size_t n;
	int blocked;            /* nonzero when policy would refuse this plan */
	dbs_lint *lint;         /* safety analysis of the up steps, or NULL */
} dbs_plan;

typedef struct dbs_migrate_opts {
	const char *target;     /* NULL: all; "VERSION", "APP:VERSION", "zero" */
	int steps;              /* rollback: how many (0: use target/default) */
	int allow_drift;
	int allow_out_of_order;
	int dry_run;
	int force;              /* run above the environment's max_risk */
	int allow_irreversible; /* rollback, redo: a down without statements
				   just forgets the migration */
	const char *phase;      /* migrate: NULL (all), "expand" or "contract" */
	int backup;             /* a verified backup first (or refuse) */
	volatile int *stop;     /* set (another thread, a signal): no further
				   migration starts; the one running ends, and
				   the run fails as stopped */
} dbs_migrate_opts;

/* What migrate / rollback would run; changes nothing. */
int dbs_plan_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out);
int dbs_plan_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out);
void dbs_plan_free(dbs_plan *plan);
/* The analysis of step i of plan: its migration's index in plan->lint
 * (dbs_lint_migration_at), 0; or -1 when the step has none. */
int dbs_plan_step_lint(const dbs_plan *plan, size_t i, size_t *mig);

/* Called after each step runs (err is NULL on success). */
typedef void (*dbs_step_cb)(const dbs_step *step, int64_t duration_ms,
			    const dbs_error *err, void *data);

/*
 * Apply pending migrations (migrate), undo applied ones (rollback), or
 * undo the last and apply it again (redo).  Each takes the migrator lock,
 * creates the history tables on first use, plans again under the lock,
 * checks every script before the first runs, then runs the steps in
 * order, stopping at the first failure.  The JSON report of the run is
 * returned in *report (caller frees) whether or not it succeeded, and is
 * stored in dbshift_runs.
 */
int dbs_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		void *cb_data, char **report);
int dbs_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		 void *cb_data, char **report);
int dbs_redo(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
	     void *cb_data, char **report);

/* Warnings of the last migrate, rollback or redo for people, one per line
 * (the red findings it applied and its risk verdict), or NULL (borrowed). */
const char *dbs_run_warnings(const dbs_ctx *ctx);
/* The last run's id, the file its report was written to and the backup it
 * took first (NULL: none), borrowed until the next run; what its report
 * says too, without reading it back.  After a migrate, rollback, redo,
 * baseline, adopt or repair that failed before its run began: all NULL. */
void dbs_last_run(const dbs_ctx *ctx, const char **id, const char **report_file,
		  const char **backup);
/* Send a test message to each notify_url (whatever notify_on says);
 * DBS_EFAIL when one of them did not take it. */
int dbs_notify_test(dbs_ctx *ctx);
/* The most times any one migration script was parsed since the context
 * was opened, and (scripts) how many were parsed at all: each pending
 * script of a migrate is parsed once by the lint analysis and, on
 * PostgreSQL, once by the driver's split; applied ones not at all. */
int dbs_script_parses(const dbs_ctx *ctx, size_t *scripts);
/* What reading the migrations directory ignored, a line per file (e.g. a
 * seed script beside Diesel directories), and another tool's history
 * where dbshift's is empty (see dbs_adopt), or NULL (borrowed). */
const char *dbs_load_warnings(const dbs_ctx *ctx);

/*
 * What a run is doing, as it happens: dbs_set_events(ctx, kinds, cb, data)
 * has cb called with each event of the kinds asked for (a mask of
 * DBS_EV_BIT(kind); cb NULL: none).  The CLI shows the retries, and with
 * -v everything.  Statements' times cost a little: on PostgreSQL the
 * server is asked to send each result as soon as it has it.
 */
typedef enum {
	DBS_EV_LOCK_WAIT,   /* another migrator holds the lock: waiting (detail: who) */
	DBS_EV_LOCK_TAKEN,  /* the migrator lock is ours after waiting us */
	DBS_EV_RETRY,       /* what gave up waiting for a lock (lock_timeout) in
			       attempt of attempts: the next in us (detail: why) */
	DBS_EV_STATEMENT,   /* a statement of what ran in us, at file:line */
} dbs_event_kind;

typedef struct dbs_event {
	dbs_event_kind kind;
	const char *what;   /* the step: "APP/VERSION_NAME up"; NULL for the lock */
	const char *file;
	int line;
	int attempt, attempts;
	int64_t us;         /* microseconds */
	const char *detail;
	int64_t rows;       /* DBS_EV_STATEMENT: rows it changed (-1: not known) */
} dbs_event;

typedef void (*dbs_event_cb)(const dbs_event *ev, void *data);
#define DBS_EV_BIT(kind) (1u << (kind))
void dbs_set_events(dbs_ctx *ctx, unsigned kinds, dbs_event_cb cb, void *data);

/* Record every pending migration up to target ("VERSION" or
 * "APP:VERSION") as applied without running it; cb sees each one. */
int dbs_baseline(dbs_ctx *ctx, const char *target, dbs_step_cb cb, void *cb_data,
		 char **report);

/*
 * Take over the history the tool used before kept in the database:
 * dbmate's or golang-migrate's schema_migrations, goose's
 * goose_db_version, Flyway's flyway_schema_history (checksums kept as
 * Flyway's), Diesel's __diesel_schema_migrations.  A dirty golang-migrate
 * version or a failed Flyway row becomes a failed row.  apply 0: a dry
 * run, the report says what would be recorded; else the rows are recorded
 * as one run.  DBS_EINPUT when there is no such table or dbshift's
 * history is not empty.
 */
int dbs_adopt(dbs_ctx *ctx, int apply, char **report);

/*
 * Clear failed rows and accept changed checksums.  A migration whose up
 * failed outside a transaction becomes pending.  One whose down failed
 * outside a transaction cannot be guessed: down says what was done by hand
 * since: DBS_DOWN_DONE (the down finished: pending) or DBS_DOWN_UNDONE (its
 * changes are undone: applied); DBS_DOWN_ASK refuses such a row (DBS_EINPUT).
 */
enum { DBS_DOWN_ASK, DBS_DOWN_DONE, DBS_DOWN_UNDONE };
int dbs_repair(dbs_ctx *ctx, int down, size_t *fixed, char **report);

/* Create <dir>/<UTC timestamp>_<name>.sql; the new path in *path. */
int dbs_new_migration(const char *dir, const char *name, char **path,
		      dbs_error *err);

/* ---- safety analysis (lint) ---- */


/*
 * Analyze migration files (any layout; dialect from the database URL's
 * scheme, PostgreSQL when none is set), or the pending migrations of ctx
 * (every migration when ctx has no database).  Findings are not errors:
 * the return is DBS_EINPUT only for bad input such as an unknown rule in
 * "-- dbshift:allow".  Free the result with dbs_lint_free().
 */
int dbs_lint_files(dbs_ctx *ctx, const char *const *files, size_t nfiles, dbs_lint **out);
int dbs_lint_pending(dbs_ctx *ctx, dbs_lint **out);
dbs_level dbs_lint_worst(const dbs_lint *l);
/* The analysis as a document: "json", "sarif" or "github" (workflow
 * commands); NULL for another format.  Text for people: the CLI words it
 * from the structs below. */
char *dbs_lint_render(const dbs_lint *l, const char *format);
void dbs_lint_free(dbs_lint *l);

/*
 * The analysis as structs: what its JSON document holds, without JSON.
 * Migration i, its statement k, that one's finding f; each _at returns 0,
 * or -1 past the end.  The strings are l's, valid while l is.
 */
typedef struct dbs_lint_migration {
	const char *app, *version, *name, *file;
	int score;
	dbs_level level;
	int irreversible;       /* its down is known and holds no statement */
	size_t nstatements;
} dbs_lint_migration;

typedef struct dbs_lint_statement {
	const char *file;
	int line, col;
	const char *sql, *kind;
	const char *lock;       /* the lock it takes, or NULL */
	const char *tables;     /* "a, b", or NULL */
	int rewrites, scans, in_transaction, score;
	dbs_level level;
	size_t nfindings;
} dbs_lint_statement;

typedef struct dbs_lint_finding {
	const char *rule, *message, *fix;
	dbs_level level;
	int line, col;
	const char *allowed;    /* why it is allowed ("-- dbshift:allow"), or NULL */
} dbs_lint_finding;

typedef struct dbs_lint_summary {
	size_t migrations, statements, red, yellow, allowed;
	const char *const *warnings;
	size_t nwarnings;
	int score, top_score;
	dbs_level worst;
	const char *band, *recommendation;
} dbs_lint_summary;

void dbs_lint_summarize(const dbs_lint *l, dbs_lint_summary *out);
int dbs_lint_migration_at(const dbs_lint *l, size_t i, dbs_lint_migration *out);
int dbs_lint_statement_at(const dbs_lint *l, size_t i, size_t k, dbs_lint_statement *out);
int dbs_lint_finding_at(const dbs_lint *l, size_t i, size_t k, size_t f,
			dbs_lint_finding *out);

/*
 * Assess what migrate would run (to o->target): the analysis, plus the
 * size, row estimate and indexes of each table touched, the sessions the
 * migration would wait for now (queries running longer than min_seconds,
 * idle-in-transaction sessions, ungranted locks), and a rough duration of
 * each rewrite, scan and index build, as a JSON document in *report
 * (the CLI renders it for people); *stop is set when a finding is red or
 * something blocks.
 */
int dbs_assess(dbs_ctx *ctx, const dbs_migrate_opts *o, int min_seconds, char **report,
	       int *stop);

/* ---- batched data migrations ---- */

typedef struct dbs_data_opts {
	int batch_size;          /* rows in the first batch (1000) */
	int target_batch_ms;     /* adapt the batch size toward this (0: fixed) */
	int delay_ms;            /* pause between batches */
	int64_t max_rows;        /* stop after changing this many rows (0: all) */
	int64_t max_lag_ms;      /* wait while replica lag is above this (0: never) */
	const char *lag_query;   /* SQL giving the lag in ms, instead of the driver's */
	int dry_run;             /* count the rows that would change; change none */
	volatile int *stop;      /* set (by a signal handler): stop after this batch */
} dbs_data_opts;

typedef struct dbs_data_progress {
	int64_t rows_done, total, batches, batch_size, batch_ms, longest_ms;
	double rate;             /* rows per second */
	double eta_s;            /* seconds left, or -1 when unknown */
	int waiting_lag;         /* waiting for replicas: lag_ms is their lag */
	int64_t lag_ms;
} dbs_data_progress;

typedef void (*dbs_data_cb)(const dbs_data_progress *p, void *data);

/*
 * Run the data migration in file (format: see data.c and the README)
 * under the migrator lock, batch by batch from its checkpoint; cb sees
 * every batch.  *report is the run's JSON report (caller frees).
 */
int dbs_data_run(dbs_ctx *ctx, const char *file, const dbs_data_opts *o, dbs_data_cb cb,
		 void *cb_data, char **report);

/* ---- backups ---- */

/*
 * Back the database up into <backup_dir>/<id>/ (format "custom" (NULL),
 * "plain" or "directory" with jobs; SQLite: its online backup API) with a
 * manifest.json; *id and the manifest (*report) belong to the caller.
 */
/* How far a backup is: "dump" (bytes written so far, of a database of
 * total bytes: the dump is compressed) or "upload" (bytes sent of total). */
typedef struct dbs_backup_progress {
	const char *phase;
	int64_t done, total, elapsed_ms;
} dbs_backup_progress;
typedef void (*dbs_backup_cb)(const dbs_backup_progress *p, void *data);
int dbs_backup(dbs_ctx *ctx, const char *format, int jobs, dbs_backup_cb cb, void *cb_data,
	       char **id, char **report);
/* Re-check a backup's files against its manifest; with restore, also
 * restore it into a scratch database and compare row counts. */
int dbs_backup_verify(dbs_ctx *ctx, const char *id, int restore, char **report);
/* Restore backup id into the database (target NULL), replacing it, or into
 * target; then compare row counts with the manifest.  Without target, the
 * backup must have been taken of this very database (DBS_EINPUT otherwise);
 * a manifest that is damaged is DBS_EINPUT, before anything changes. */
typedef struct dbs_restore_opts {
	const char *target;    /* another database to restore into, or NULL */
	const char *files_to;  /* the files kept with it under this directory
				  instead of where they were, or NULL */
} dbs_restore_opts;
int dbs_restore(dbs_ctx *ctx, const char *id, const dbs_restore_opts *o, char **report);
/* Remove backups beyond the newest keep and older than max_age_s seconds (0:
 * no limit), never the newest verified one; what it did, as a JSON
 * document: {"removed": [{"id", "why"}], "total", "dry_run"}. */
char *dbs_backups_prune(dbs_ctx *ctx, int keep, int64_t max_age_s, int dry_run);
/* The id of the newest backup in backup_dir of ctx's database (of any
 * database when ctx has none), or NULL (caller frees). */
char *dbs_backup_newest(dbs_ctx *ctx);
/* The backups of backup_dir, as a JSON document (caller frees). */
char *dbs_backups_list(dbs_ctx *ctx);

/*
 * Post-migration checks: nothing pending, no drift, no failed rows, every
 * table with a primary key, every foreign key with a covering index, no
 * invalid indexes, no NOT VALID constraints, no sequence behind its
 * column; with schema_file, the schema matches that snapshot (a failure
 * carries the unified diff); with compare_url, every table's row count
 * and first rows (SHA-256 of 1,000 rows by the first column) match that
 * database's; and each data assertion of assertions_dir that is not an
 * invariant has no rows (a failing one carries its first rows).  *report
 * is a JSON document; *failed counts failed checks.
 */
int dbs_verify(dbs_ctx *ctx, const char *schema_file, const char *compare_url,
	       char **report, int *failed);
/* The live schema as normalized text, as 'verify --schema' compares it. */
int dbs_schema_dump(dbs_ctx *ctx, char **text);

/*
 * The pre-migration checklist: connection and version, privileges,
 * pending migrations and their risk, disk space for backups, age of the
 * newest backup, long queries, waiting locks, idle transactions, replica
 * lag.  *report is a JSON document; *failed counts failed checks.
 */
int dbs_doctor(dbs_ctx *ctx, char **report, int *failed);

/* Wait until opts->database accepts a connection (and SELECT 1), trying
 * every half second for up to timeout_ms (cb, if not NULL, hears of each
 * try that failed); how long it took.  DBS_EFAIL
 * with the last error when the time ran out, DBS_EINPUT for a URL that
 * cannot work. */
typedef void (*dbs_wait_cb)(int tries, const dbs_error *why, void *data);
int dbs_wait(const dbs_options *opts, int timeout_ms, dbs_wait_cb cb, void *cb_data,
	     int64_t *waited_ms, dbs_error *err);
/* Make the database opts->database names when it is not there (*created
 * 1), as dbmate create: PostgreSQL's CREATE DATABASE through the server's
 * maintenance database, SQLite's file; one that is there is left alone. */
int dbs_create_database(const dbs_options *opts, int *created, dbs_error *err);


/*
 * Rehearse (rehearse.c): restore the newest backup of this database (or
 * backup, or one taken now with fresh) into a scratch database beside it,
 * run there what migrate (or, with rollback, rollback) would run here,
 * with its data runs and the data assertions, and drop the scratch
 * (unless keep).  The live database gets one row in dbshift_runs; the
 * report says per migration its time, statements, rows changed and locks
 * held, the downtime (the longest time a table was locked against
 * writes) and the plan's identity, which require_rehearsal asks for.
 */
typedef struct dbs_rehearse_opts {
	const char *target;     /* as migrate's or rollback's TARGET */
	int steps;              /* rollback: how many */
	int rollback;
	const char *backup;     /* the backup to start from (NULL: the newest) */
	int fresh;              /* take a backup now and start from it */
	int keep;               /* keep the scratch database */
	int force;              /* past max_risk, as migrate --force */
} dbs_rehearse_opts;
int dbs_rehearse(dbs_ctx *ctx, const dbs_rehearse_opts *o, char **report);

/* ---- release: the runbook of [release] ---- */

typedef struct dbs_release_opts {
	int rollback;           /* run rollback_steps instead of steps */
	const char *target;     /* rollback: down to this (NULL: the last one) */
	int dry_run;            /* say what each step would do; change nothing */
	int force;              /* past max_risk, and --from past failed
				   non-critical steps */
	const char *from;       /* resume the last release at this step */
	volatile int *stop;     /* set (another thread, a signal): no further
				   step starts, a migrate or rollback step
				   starts no further migration, and the release
				   fails as stopped (resume it with from) */
} dbs_release_opts;

/* Called as each step ends: its word, "succeeded", "failed" or
 * "skipped", its time, its failure (or NULL). */
typedef void (*dbs_release_cb)(const char *step, const char *status, int64_t duration_ms,
			       const dbs_error *err, void *data);

/*
 * Run the steps of [release] (or, with rollback, rollback_steps) in
 * order under the migrator lock, as one run: one report, one row of
 * dbshift_runs, one alert at the start and one at the end.  A failed
 * critical step stops the release (the steps after it are "skipped"); a
 * failed non-critical one is recorded and the release goes on.  Hooks,
 * data files, health targets and the plan are checked before anything
 * runs.  With dry_run, *report says what each step would do and nothing
 * changes.  *report is the JSON report (caller frees).
 */
int dbs_release(dbs_ctx *ctx, const dbs_release_opts *o, dbs_release_cb cb, void *cb_data,
		char **report);

/* ---- fleet: one command on many databases ([fleet]) ---- */

/*
 * The targets [fleet] of opts names, in their order: the lines of its
 * targets file (a URL, or env:NAME for the URL in that variable), the
 * first column of targets_query on targets_database (or database), or
 * one target per schema schemas_query gives on database (that schema
 * first on the search path, its history kept there, its own migrator
 * lock).  A bad line, a target twice or no source is DBS_EINPUT.
 */
typedef struct dbs_fleet dbs_fleet;
int dbs_fleet_open(dbs_fleet **out, const dbs_options *opts, dbs_error *err);
void dbs_fleet_free(dbs_fleet *f);
size_t dbs_fleet_size(const dbs_fleet *f);
/* Target i for people: its URL without password (and its schema). */
const char *dbs_fleet_target(const dbs_fleet *f, size_t i);
/* Keep shard k (1 to n) of n: a target lands in the shard its name (as
 * shown) hashes to, whatever the order of the list, so the n shards
 * cover each target once. */
int dbs_fleet_shard(dbs_fleet *f, int k, int n, dbs_error *err);
/* Keep the targets the newest fleet report of command (and shard, or
 * NULL) in report_dir did not end well: failed, or never started.
 * DBS_EINPUT when there is no such report. */
int dbs_fleet_only_failed(dbs_fleet *f, const char *command, const char *shard,
			  dbs_error *err);

typedef struct dbs_fleet_opts {
	const char *command;    /* migrate, rollback, status, plan, verify, release */
	dbs_migrate_opts migrate;  /* migrate, rollback, plan */
	dbs_release_opts release;  /* release */
	const char *schema_file;   /* verify: its snapshot, or NULL */
	int jobs;               /* 0: [fleet] jobs */
	const char *shard;      /* "K/N" for the report, or NULL */
	volatile int *stop;     /* set (Ctrl-C): start no other target */
} dbs_fleet_opts;

/* One target's outcome, as it ends (borrowed for the callback). */
typedef struct dbs_fleet_result {
	size_t index;           /* in the fleet */
	const char *target;     /* as dbs_fleet_target shows it */
	const char *status;     /* "succeeded", "failed", "skipped" (not started) */
	const char *before, *after;  /* the newest applied version (NULL: none) */
	size_t pending;         /* migrations pending after it (plan: to run) */
	size_t failed;          /* failed records (status), failed checks (verify) */
	int64_t duration_ms;
	const dbs_error *err;   /* why it failed or was skipped, or NULL */
	const char *run_report; /* the target's own report file, or NULL */
} dbs_fleet_result;
typedef void (*dbs_fleet_cb)(const dbs_fleet_result *r, void *data);

/*
 * Run o->command on every target, jobs at a time, each with its own
 * context (lock, history, report, backup rules).  The first canary
 * targets run first, and the rest start only if all of them succeeded;
 * on_error = stop starts no target after a failure, continue goes on up
 * to max_failures.  cb hears each target as it ends, one at a time.
 * The fleet's JSON report (*report, caller frees) is also written to
 * report_dir as fleet-RUN.json; with a database in opts, the fleet is a
 * run there too (a live row while it runs).  Alerts: the fleet's start
 * and end, and one per failed target.  DBS_EFAIL when a target failed or
 * did not start; DBS_EINPUT (in err, *report NULL, nothing run) for a
 * command the fleet cannot run: a release with steps beyond the database.
 */
int dbs_fleet_run(dbs_fleet *f, const dbs_fleet_opts *o, dbs_fleet_cb cb, void *data,
		  char **report, dbs_error *err);

/* JSON documents for --json (caller frees). */
char *dbs_status_json(dbs_ctx *ctx);

/*
 * The runs, live (runs.c).  dbs_runs_json: the newest limit runs, each
 * with its status ("running", "abandoned" when its process is gone,
 * "succeeded", "failed"), step and progress.  dbs_run_json: run id's
 * report, or while it runs its live document with what the server knows
 * of it ("server": activity, progress views, lock waits); id NULL: the
 * running run, else the newest.  dbs_metrics_json: the database's
 * metrics, with rates over the running run.  Each gives a JSON document
 * in *doc (an error's when it fails; caller frees).  dbs_refresh forgets
 * the history read so far, for a caller that asks again later, and
 * connects again when the connection was lost (the server ended the
 * session): 0, or the error of the new connection.
 */
int dbs_runs_json(dbs_ctx *ctx, int limit, char **doc);

int dbs_run_json(dbs_ctx *ctx, const char *id, char **doc);
int dbs_metrics_json(dbs_ctx *ctx, char **doc);
int dbs_refresh(dbs_ctx *ctx);

/*
 * Promotion order (promote.c): every migration and its state here and in
 * each environment up the promote_from chain (promote_from, what that one
 * promotes from, ...), read without writing: {environment, database,
 * chain: [{environment, database}], migrations: [{migration, here,
 * upstream: ["applied" | "pending" | "failed" | "changed", ...]}]}.  An
 * input error without promote_from.
 */
int dbs_promotion_json(dbs_ctx *ctx, char **doc);
char *dbs_plan_json(dbs_ctx *ctx, const char *command, const dbs_plan *plan,
		    const dbs_error *err);
/* What to do about a risk band ("low", "medium", "high"), in one line. */
const char *dbs_risk_advice(const char *band);
/* {"command": "new", "file": path} */
char *dbs_new_json(const char *path);
/* {"command": ..., "error": {...}} for a command that failed early. */
char *dbs_error_json(const char *command, const dbs_error *err);

/* The database URL of ctx with the password hidden (borrowed). */
const char *dbs_database_display(const dbs_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
