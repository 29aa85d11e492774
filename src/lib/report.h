/*
 * report.h - JSON pieces shared by the reports of every command.
 */
#ifndef DBSHIFT_REPORT_H
#define DBSHIFT_REPORT_H

#include <jansson.h>

#include "internal.h"

/* {"message", "detail", "hint", "sqlstate", "file", "line", "col", "statement"} */
json_t *report_error(const dbs_error *err);
/* The steps of a plan, with their statements' analysis when there is one. */
json_t *report_plan_steps(const dbs_plan *plan);
/* {"worst", "score", "top_score", "band"} of an analysis. */
json_t *report_risk(const dbs_lint *l);
/* Indented JSON text of doc, which it consumes; caller frees. */
char *report_dump(json_t *doc);

/*
 * A mutating command's record: run_begin takes the migrator lock, creates
 * the history tables and reads the history again; run_step adds a step;
 * run_end builds the JSON report, stores it in dbshift_runs, logs and
 * unlocks.  Every mutating command goes through these three.
 */
typedef struct run {
	char id[64];
	char started[32];
	const char *command;
	json_t *steps;
	size_t ok, failed;
	int locked, have_state;
	json_t *risk;      /* the risk decision of a migrate, or NULL */
	json_t *extra;     /* a data run's facts, or NULL */
} run;

int run_begin(dbs_ctx *ctx, run *r, const char *command);
void run_step(dbs_ctx *ctx, run *r, const dbs_entry *e, const char *action,
	      int64_t ms, int attempts, const dbs_error *err);
int run_end(dbs_ctx *ctx, run *r, int rc, char **report);

/*
 * Call attempt until it succeeds, fails other than by a lock timeout, or
 * the lock_retries schedule is used up, waiting (with jitter) between
 * attempts and logging each; what names the work in the log.
 */
int retry_on_lock_timeout(dbs_ctx *ctx, const char *what, int (*attempt)(dbs_ctx *, void *),
			  void *arg, int *attempts);

/* The data migration a schema migration names: check it (before the lock),
 * and run it to the end (the lock held); data.c. */
int data_check(const char *path, dbs_error *err);
int data_step(dbs_ctx *ctx, const char *path, json_t **result);

#endif
