/*
 * ops.h - what the commands (ops/) share among themselves.
 */
#ifndef DBSHIFT_OPS_H
#define DBSHIFT_OPS_H

#include "ctx/ctx.h"

/* The data migration a schema migration names: check it (before the lock),
 * and run it to the end (the lock held); data.c. */
int data_check(const char *path, dbs_error *err);
int data_step(dbs_ctx *ctx, const char *path, json_t **result);
/* Add to paths the data files whose run did not finish (a release or a
 * migrate stopped in it), to be resumed; a policy error for one whose
 * file is gone or changed. */
int data_unfinished(dbs_ctx *ctx, json_t *paths);

/* Lint the steps of a plan that run SQL (the ctx's state loaded). */
int ctx_lint_plan(dbs_ctx *ctx, const dbs_plan *plan, dbs_lint **out);

/* Hooks (hook.c).  list: hook names, as a callback setting holds them.
 * hooks_check: DBS_EINPUT naming a hook whose program is not there.
 * hooks_run: run them in order, each a step of r; a critical one that
 * fails stops the list (DBS_EFAIL, its failure in err), another is a
 * warning.  hooks_on_failure: the on_failure hooks, each failure a warning
 * (the run's own error stays). */
int hooks_check(dbs_ctx *ctx, const char *list);
int hooks_run(dbs_ctx *ctx, run *r, const char *when, const char *list, const char *status,
	      dbs_error *err);
void hooks_on_failure(dbs_ctx *ctx, run *r);

/* Is the service up (probe.c)?  NULL, or why not (caller frees): a TCP
 * connection to "host:port", an http(s) URL answering 2xx. */
char *probe_tcp(const char *hostport, int timeout_ms);
char *probe_http(const char *url, int timeout_ms);

/* verify (verify.c); with pending_ok, migrations still pending are not a
 * failure (a release after migrate:expand, or after a rollback). */
int verify_run(dbs_ctx *ctx, const char *schema_file, const char *compare_url, int pending_ok,
	       char **report, int *failed);

/*
 * Data assertions (assertions.c): the NAME.sql queries of assertions_dir,
 * read once per run.  load: every file's header and, where the driver
 * parses SQL, that it is one statement (else DBS_EINPUT naming
 * file:line); no directory is no assertions unless need or assertions_dir
 * is set.  before: the invariants' results, into set->before.  check: a
 * check each (verify's shape, with the first rows of a failing one)
 * appended to checks, *failed counting those that failed; invariants
 * only when before was taken.  list: their names, files and kinds.
 */
typedef struct assertion {
	char *name, *path, *text;
	size_t body;         /* where the query starts in text, after the header */
	int invariant;
	int timeout_ms;      /* 0: none */
} assertion;
typedef struct assertion_set {
	assertion *a;
	size_t n, ninvariants;
	json_t *before;      /* {name: rows} of the invariants, or NULL */
} assertion_set;
int assertions_load(dbs_ctx *ctx, int need, assertion_set *set);
/* Has assertions_dir a file that load would read (without reading it)? */
int assertions_present(const dbs_ctx *ctx);
void assertions_free(assertion_set *set);
int assertions_before(dbs_ctx *ctx, assertion_set *set);
int assertions_check(dbs_ctx *ctx, const assertion_set *set, json_t *checks, int *failed);
json_t *assertions_list(const assertion_set *set);
/* The failed ones of checks in a line: "invariant t: before 3, after 2". */
char *assertions_failures(const json_t *checks);

/*
 * Promotion order (promote.c).  An upstream: an environment of the same
 * config file and its history, read without writing.  check: the up steps
 * of plan that promote_from's database has not applied (succeeded, same
 * checksum), as [{migration, there}] (there: "pending", "failed",
 * "changed", ...), and that database for people.  chain: promote_from,
 * then what it promotes from, and so on (a circle is an input error).
 * state: what u says of one migration ("applied" or as above).
 */
typedef struct upstream {
	char *env, *display;
	char *next;          /* what env promotes from, or NULL */
	db_rows *rows;       /* app, version, checksum, status; NULL: no history */
} upstream;
int promotion_check(dbs_ctx *ctx, const dbs_plan *plan, json_t **missing, char **display);
/* The check as migrate makes it: DBS_EPOLICY naming what is missing,
 * unless force; *facts for the run's report ("forced_past": what force
 * let through, for a warning). */
int promotion_gate(dbs_ctx *ctx, const dbs_plan *plan, int force, json_t **facts);
int promotion_chain(dbs_ctx *ctx, upstream **chain, size_t *n);
const char *upstream_state(const upstream *u, const char *app, const char *version,
			   const char *checksum);
void upstream_free(upstream *u);

/* Rehearsals (rehearsal_gate.c).  plan_identity: the SHA-256 of plan's steps
 * (way, app, version, checksum) in order, and them as a list.
 * rehearsal_gate: require_rehearsal, as migrate checks it: DBS_EPOLICY
 * saying which rehearsal is missing or stale (and how the plan changed),
 * unless force; *facts for the run's report ("forced_past": why it was
 * forced, for a warning). */
void plan_identity(const dbs_plan *plan, char id[65], json_t **list);
int rehearsal_gate(dbs_ctx *ctx, const dbs_plan *plan, int force, json_t **facts);

/* One hook (hook.c), when and status (DBSHIFT_STEP, DBSHIFT_STATUS) in
 * its environment: *result holds its name, exit code and last lines of
 * output; 0, or its failure in err. */
int hook_step(dbs_ctx *ctx, const run *r, const dbs_hook *h, const char *when,
	      const char *status, json_t **result, dbs_error *err);

/* A step files:NAME, settings:NAME, dotenv:NAME, bucket:NAME or
 * mail:NAME (moves.c).  check: before the first step, an input error
 * naming what cannot work.  would: what it would do (a dry run; an undo
 * with rollback).  step: do it (rollback: undo what the newest release's
 * step of that word did), run_id the release's; *result its report. */
int move_check(dbs_ctx *ctx, const release_step *s, int rollback);
json_t *move_would(dbs_ctx *ctx, const release_step *s, int rollback);
int move_step(dbs_ctx *ctx, const release_step *s, const char *run_id, int rollback,
	      json_t **result);

/*
 * Backups off the host (offsite.c), with backup_upload set (else each
 * does nothing).  offsite_open: the store, or NULL without one.  push:
 * the files of backup id in dir, then its manifest m, which gains
 * "uploaded" (where each went) and is written to dir again.  fetch: the
 * backup from there into dir.  ids: the backups there.  manifest: one's
 * manifest (through the file tmp).  remove: all of one there.
 */
/* The files kept with a backup (files.c): files_check, that each path of
 * paths (backup_paths) is there and inside the project; files_archive,
 * them into dir, or into sink (*name: the archive's file name; *facts:
 * the manifest's "paths_archive"); files_restore, the archive at path back
 * where they were (root NULL) or under root, each file then checked. */
int files_check(dbs_ctx *ctx, const char *paths);
/* Backup id (its checksums checked, opened if sealed) restored into the
 * empty database at url, its row counts compared (backup.c). */
int backup_load_into(dbs_ctx *ctx, const char *id, const char *url);
int files_archive(dbs_ctx *ctx, const char *dir, const char *paths, db_sink *sink, char **name,
		  json_t **facts);
int files_restore(dbs_ctx *ctx, const json_t *facts, const char *path, const char *root);

struct s3;
int offsite_open(dbs_ctx *ctx, struct s3 **s);
int offsite_push(dbs_ctx *ctx, const char *id, const char *dir, json_t *m, dbs_backup_cb cb,
		 void *cb_data);
int offsite_fetch(dbs_ctx *ctx, const char *id, const char *dir);
int offsite_ids(dbs_ctx *ctx, char ***ids, size_t *n);
int offsite_manifest(dbs_ctx *ctx, const char *id, const char *tmp, json_t **m);
int offsite_remove(dbs_ctx *ctx, const char *id);

#endif
