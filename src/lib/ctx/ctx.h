/*
 * ctx.h - the session every command runs in (ctx.c), the options it
 * loads (config.c), one mutating run's record and retries (run.c), and the
 * JSON pieces of reports (report.c).
 */
#ifndef DBSHIFT_CTX_H
#define DBSHIFT_CTX_H

#include <stdio.h>

#include <jansson.h>

#include "analyze/lint.h"
#include "framework/framework.h"
#include "plan/plan.h"

/* ---- the context ---- */

struct dbs_ctx {
	dbs_options opts;
	char *display_url;
	const db_driver *driver;
	const db_driver *dialect;  /* the URL's driver, even offline; NULL: none */
	db_conn *conn;
	db_conn *replica;   /* replica_url's connection, once made */
	const db_driver *replica_driver;
	source src;
	history_row *rows;
	size_t nrows;
	plan_entry *entries;
	size_t nentries;
	int state_loaded;
	dbs_error err;
	FILE *log;
	int log_failed;     /* opening the log failed (said once) */
	int lock_ms, stmt_ms;  /* lock_timeout, statement_timeout (0: none) */
	int *retry_ms;      /* the lock_retries schedule */
	size_t nretry;
	char *warnings;     /* of the last run: lines for people, or NULL */
	/* the last run's id, report file and the backup it took first (each
	 * NULL: none), for dbs_last_run */
	char *last_id, *last_report, *last_backup;
	/* While a release runs its steps: the release's run (the steps' runs
	 * are part of it: no lock, alert, report file or row of their own),
	 * whether the data step runs the migrations' data later, and whether
	 * a verified backup was taken. */
	struct run *outer;
	int defer_data, backed_up;
	/* What the alerts of this run say besides its command: the release's
	 * runbook ("release" or "rollback", NULL for other commands) and
	 * whether --force passed what would have stopped it. */
	const char *runbook;
	int forced;
	char run_id[64];    /* the run under way (a release's, for its steps) */
	char rehearsed[65]; /* the plan a rehearse step of this release rehearsed */
	json_t *deferred;   /* the data files migrate left to the data step */
	/* the last analyses of plans, kept for the next plan with the same
	 * steps (ops/lint.c) */
	struct lint_memo *memo;
	size_t nmemo;
	struct live *live;  /* the running run's live row (live.c), or NULL */
	/* framework = django: the adapter and its state; the migrations are
	 * the framework's, not dir's files */
	const framework_ops *fwo;
	framework *fw;
	/* the history of another tool, found when dbshift's is empty (adopt) */
	foreign_history foreign;
	foreign_history foreign_empty;  /* or its table, recording nothing */
	int foreign_looked;  /* looked for it once: it is said once */
	/* who is told what a run does (dbs_set_events); the step running and
	 * its section, for the statements' events */
	dbs_event_cb ev;
	void *ev_data;
	unsigned ev_kinds;
	const section *ev_sec;
	char ev_what[512];
	/* ev_sec's length, and the last statement's place in it: statements
	 * are located front to back, each from the one before */
	size_t ev_len, ev_off;
	int ev_line, ev_col;
};

/* Does someone listen for events of this kind (DBS_EV_*)? */
int ctx_listens(const dbs_ctx *ctx, int kind);
/* Tell the events' listener, if it listens for e's kind, of e. */
void ctx_event(dbs_ctx *ctx, const dbs_event *e);
/* The step that runs now (what; NULL keeps the last), and its section
 * (NULL: none), for the events of its statements and retries. */
void ctx_event_step(dbs_ctx *ctx, const char *what, const section *sec);

/* An analysis of a plan's scripts, by the sections it read (ops/lint.c). */
typedef struct lint_memo {
	const section **key;
	size_t n;
	dbs_lint *lint;
} lint_memo;
/* Forget the kept analyses (something may have changed the schema). */
void ctx_forget_lints(dbs_ctx *ctx);

/* A duration setting's value in ms, or (value NULL) its default (config.c). */
int setting_ms(const char *value, const char *key);
/* A deep copy of src (config.c). */
void options_copy(dbs_options *dst, const dbs_options *src);

/* Ask the framework for the SQL of the steps of plan that have none yet
 * (nothing to do without a framework); a rollback of a migration the
 * framework cannot undo is refused. */
int ctx_plan_sql(dbs_ctx *ctx, dbs_plan *plan);
/* DBS_EINPUT when the migrations are a framework's: command works on
 * dbshift's own files only. */
int ctx_files_only(dbs_ctx *ctx, const char *command);

/* The replay lag of the replicas in ms: replica_url's own, or (none set)
 * what the database says of its standbys. */
int ctx_replica_lag_ms(dbs_ctx *ctx, int64_t *ms);

/* Forget the loaded history (it changed). */
void ctx_drop_state(dbs_ctx *ctx);
/* Load history and order entries (once per context). */
int ctx_load_state(dbs_ctx *ctx);
/* A connection the server ended is made again (for serve, which lives
 * longer than a session may); 0, or the new connection's error. */
int ctx_reconnect_if_lost(dbs_ctx *ctx);
/* The start of the message of the row a step outside a transaction writes
 * before it runs, followed by its run's id. */
#define RUNNING_MARK "running outside a transaction in run "
/* Append a timestamped line to the log file, if one is open. */
void ctx_log(dbs_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The hook called name[0..len) among hooks[0..n), or NULL (steps.c). */
dbs_hook *hook_find(dbs_hook *hooks, size_t n, const char *name, size_t len);
/* A warning of the current run: kept for the output and the report, logged. */
void ctx_warn(dbs_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- release steps (steps.c) ---- */

typedef enum {
	STEP_DOCTOR, STEP_BACKUP, STEP_ASSESS, STEP_MIGRATE, STEP_DATA, STEP_VERIFY,
	STEP_HEALTH, STEP_HOOK, STEP_ROLLBACK, STEP_ASSERT, STEP_REHEARSE, STEP_MOVE
} step_kind;

typedef struct release_step {
	char *word;            /* as written: "migrate:expand", "hook:smoke" */
	step_kind kind;
	const char *phase;     /* migrate: "expand", "contract" or NULL (in word) */
	const dbs_hook *hook;  /* hook: its section */
	const dbs_section *section;  /* files:NAME, settings:NAME, ...: its section */
	int critical;
} release_step;

/* The steps of value (rollback: a rollback_steps value), each checked;
 * -1 and *why (caller frees) when one is not a step, is there twice, or
 * names no hook.  Steps listed in non_critical are not critical. */
int steps_parse(const char *value, int rollback, const dbs_hook *hooks, size_t nhooks,
		const dbs_section *secs, size_t nsecs, const char *non_critical,
		release_step **out, size_t *n, char **why);
void steps_free(release_step *s, size_t n);
/* Every word of non_critical is a step of steps or rollback_steps. */
int non_critical_check(const char *value, const char *steps, const char *rollback_steps,
		       char **why);

/* ---- the sections of files, settings, dotenv, bucket, mail (sections.c) ---- */

/* KEY = VALUE or OLD -> NEW, as a list holds them. */
typedef struct pair {
	char *key, *value;
} pair;

/* Is kind[0..n) one of the kinds?  All of them, for a message. */
int section_kind_known(const char *kind, size_t n);
const char *section_kinds(void);
/* The keys a kind takes, by blanks. */
const char *section_keys(const char *kind);
/* NULL when key = value is right for the kind; else a hint, with *why
 * (caller frees) the problem (NULL *why with a hint: no problem). */
const char *section_value_problem(const char *kind, const char *key, const char *value,
				  char **why);
/* The first required key s lacks (caller frees), or NULL. */
char *section_missing(const dbs_section *s);
/* The value of key in s, or NULL. */
const char *section_get(const dbs_section *s, const char *key);
const dbs_section *section_find(const dbs_section *secs, size_t n, const char *kind,
				size_t kn, const char *name, size_t nn);
/* A rename (sep "->") or set (sep "=") list; -1 and *why (caller frees). */
int pairs_parse(const char *value, const char *sep, pair **out, size_t *n, char **why);
void pairs_free(pair *p, size_t n);
void section_release(dbs_section *s);
void section_copy(dbs_section *dst, const dbs_section *src);

/* ---- alerts (notify.c) ---- */

/* One event of a run, for the notify_url receivers. */
typedef struct notice {
	const char *run_id;       /* NULL: refused before it had one */
	const char *command;
	const char *status;       /* "started", "succeeded" or "failed" */
	const char *failed_step;  /* or NULL */
	const dbs_error *err;     /* the failure, or NULL */
	int64_t duration_ms;      /* -1: none */
	const char *report_path;  /* or NULL */
} notice;

/* POST n to each notify_url notify_on selects; a failure is a warning
 * (ctx_warn), never an error.  Returns how many URLs failed. */
int ctx_notify(dbs_ctx *ctx, const notice *n);
/* Config checks: -1 unless a list of http(s) URLs / of notify_on words
 * (notify_on.c, with what follows). */
int notify_urls_check(const char *value);
int notify_on_check(const char *value);
/* Does notify_on select this event ("start", "success", "failure") of
 * this command?  Each kind of word named narrows; one not named: all. */
int notify_selected(const char *on, const char *event, const char *command);
/* 0 for an http(s) URL libcurl reads; *origin (when asked) is its
 * scheme://host[:port], with nothing that could be a secret. */
int url_origin(const char *url, char **origin);

/* {"message", "detail", "hint", "sqlstate", "file", "line", "col", "statement"} */
json_t *report_error(const dbs_error *err);
/* The steps of a plan, with their statements' analysis when there is one. */
json_t *report_plan_steps(const dbs_plan *plan);
/* {"worst", "score", "top_score", "band"} of an analysis. */
json_t *report_risk(const dbs_lint *l);
/* The lines of text (may be NULL) as a JSON array of strings. */
json_t *report_lines(const char *text);
/* Indented JSON text of doc, which it consumes; caller frees. */
char *report_dump(json_t *doc);
/* Every "..._at" time in doc as RFC 3339 (report_dump does it). */
void report_times(json_t *doc);

/*
 * A mutating command's record: run_begin takes the migrator lock, creates
 * the history tables and reads the history again; run_step adds a step;
 * run_end builds the JSON report, stores it in dbshift_runs, logs and
 * unlocks.  Every mutating command goes through these three.
 */
typedef struct run {
	char id[64];
	int nested;        /* a step of the release ctx->outer */
	char started[32];
	const char *command;
	json_t *steps;
	size_t ok, failed, skipped;
	int locked, have_state;
	json_t *risk;      /* the risk decision of a migrate, or NULL */
	json_t *extra;     /* a data run's facts, or NULL */
	json_t *fields;    /* more fields of the report (a release's, a backup's) */
	int64_t t0;        /* now_ms() at the start */
	char *report_path; /* where the report file goes, or NULL */
} run;

int run_begin(dbs_ctx *ctx, run *r, const char *command);
/* run_begin without the lock and the history tables, for a run that does
 * not change the history (backup, restore): its id, report and alerts. */
void run_open(dbs_ctx *ctx, run *r, const char *command);
void run_step(dbs_ctx *ctx, run *r, const dbs_entry *e, const char *action,
	      int64_t ms, int attempts, const dbs_error *err);
int run_end(dbs_ctx *ctx, run *r, int rc, char **report);
/* The report of a command that failed before its run began (caller
 * frees): its error; dbs_last_run then says there was no run. */
char *run_less_report(dbs_ctx *ctx, const char *command);
/* Step s (its "status" said) into r, with err's facts when it failed. */
void run_add_step(run *r, json_t *s, const dbs_error *err);

/*
 * The live row of a run (live.c): live_start (from run_begin) makes r's
 * row 'running' and starts its heartbeat; live_stop (from run_end) stops
 * it and gives what the database's counters did meanwhile (or NULL).  The
 * others say where the run is: live_step the step being run (the steps
 * done before it, of total; total 0 keeps the counts; within a release's
 * step, what that step is doing), live_data a data run's progress, live_error what went wrong
 * so far (and ctx_warn, here too, each warning).  Each does nothing without a live row.
 */
typedef struct live live;
void live_start(dbs_ctx *ctx, const run *r);
json_t *live_stop(dbs_ctx *ctx);
void live_step(dbs_ctx *ctx, const char *label, size_t done, size_t total);
void live_data(dbs_ctx *ctx, const char *file, const dbs_data_progress *p);
/* The items of a step that copies (files, objects, messages). */
typedef struct items_progress {
	int64_t done, total, bytes, bytes_total, failed;
	double rate;   /* bytes per second */
	double eta_s;  /* -1: unknown */
} items_progress;
void live_items(dbs_ctx *ctx, const char *step, const items_progress *p);
void live_error(dbs_ctx *ctx, const char *what, const dbs_error *err);
/* While another process writes to the database (a framework applying a
 * migration), on a database with one writer at a time (SQLite): on, the
 * heartbeat writes nothing (a beat under way is waited for), since its
 * write could make that process's transaction fail; off again after. */
void live_quiet(dbs_ctx *ctx, int on);
/* The status of row i of state_runs' rows ("running" or "abandoned" for
 * one still marked running: its process gone here, or its heartbeat older
 * than heartbeat_timeout elsewhere), and its heartbeat's age (ms, -1:
 * none); doc: its live document.  live_run_alive: is run id running? */
const char *live_run_status(const dbs_ctx *ctx, const db_rows *r, size_t i, const json_t *doc,
			    int64_t *age);
int live_run_alive(dbs_ctx *ctx, const char *id);

/*
 * Call attempt until it succeeds, fails other than by a lock timeout, or
 * the lock_retries schedule is used up, waiting (with jitter) between
 * attempts and logging each; what names the work in the log.
 */
int retry_on_lock_timeout(dbs_ctx *ctx, const char *what, int (*attempt)(dbs_ctx *, void *),
			  void *arg, int *attempts);

#endif
