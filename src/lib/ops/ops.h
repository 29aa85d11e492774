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

#endif
