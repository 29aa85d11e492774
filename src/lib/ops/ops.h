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

/* Lint the up steps of a plan (the ctx's state loaded). */
int ctx_lint_plan(dbs_ctx *ctx, const dbs_plan *plan, dbs_lint **out);

#endif
