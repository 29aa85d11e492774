/*
 * ctx.c - the session: options, the connection, the files and history
 * read once and merged into entries, and the log every command writes to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctx/ctx.h"

/* ---- the context ---- */

/* Durations and the retry schedule, parsed once (validated on load). */
static void times_parse(dbs_ctx *ctx)
{
	const dbs_options *o = &ctx->opts;
	if (o->lock_timeout)
		parse_duration_ms(o->lock_timeout, &ctx->lock_ms);
	if (o->statement_timeout)
		parse_duration_ms(o->statement_timeout, &ctx->stmt_ms);
	if (o->lock_retries)
		parse_schedule(o->lock_retries, &ctx->retry_ms, &ctx->nretry);
	else if (ctx->lock_ms)
		parse_schedule("1s, 2s, 5s, 10s", &ctx->retry_ms, &ctx->nretry);
}

int dbs_open_offline(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	dbs_ctx *ctx = xcalloc(1, sizeof(*ctx));
	options_copy(&ctx->opts, opts);
	/* migrations are read for the URL's database, else PostgreSQL's */
	ctx->dialect = driver_guess(opts->database);
	ctx->display_url = opts->database ? dbs_redact_url(opts->database) : NULL;
	times_parse(ctx);
	int rc = ctx->opts.dir ? source_load(&ctx->src, ctx->opts.dir, ctx->dialect
					     ? ctx->dialect->name : "postgres", err) : 0;
	if (rc) {
		dbs_close(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int dbs_open(dbs_ctx **out, const dbs_options *opts, dbs_error *err)
{
	const db_driver *d;
	int rc = driver_for_url(&d, opts->database, err);
	if (rc)
		return rc;
	dbs_ctx *ctx;
	if ((rc = dbs_open_offline(&ctx, opts, err)))
		return rc;
	ctx->driver = d;
	if ((rc = db_connect(d, &ctx->conn, opts->database, err))) {
		dbs_close(ctx);
		return rc;
	}
	db_set_lock_wait(d, ctx->conn, opts->lock_wait_ms);
	*out = ctx;
	return 0;
}

void ctx_drop_state(dbs_ctx *ctx)
{
	plan_entries_free(ctx->entries, ctx->nentries);
	history_rows_free(ctx->rows, ctx->nrows);
	ctx->entries = NULL;
	ctx->rows = NULL;
	ctx->nentries = ctx->nrows = 0;
	ctx->state_loaded = 0;
}

void ctx_forget_lints(dbs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nmemo; i++) {
		dbs_lint_free(ctx->memo[i].lint);
		free(ctx->memo[i].key);
	}
	free(ctx->memo);
	ctx->memo = NULL;
	ctx->nmemo = 0;
}

void dbs_close(dbs_ctx *ctx)
{
	if (!ctx)
		return;
	ctx_drop_state(ctx);
	ctx_forget_lints(ctx);
	if (ctx->conn)
		db_close(ctx->driver, ctx->conn);
	source_release(&ctx->src);
	dbs_options_release(&ctx->opts);
	dbs_error_clear(&ctx->err);
	free(ctx->display_url);
	free(ctx->retry_ms);
	free(ctx->warnings);
	json_decref(ctx->deferred);
	if (ctx->log)
		fclose(ctx->log);
	free(ctx);
}

const dbs_error *dbs_last_error(const dbs_ctx *ctx)
{
	return &ctx->err;
}

const char *dbs_run_warnings(const dbs_ctx *ctx)
{
	return ctx->warnings;
}

const char *dbs_load_warnings(const dbs_ctx *ctx)
{
	return ctx->src.warnings;
}

int dbs_script_parses(const dbs_ctx *ctx, size_t *scripts)
{
	int most = 0;
	*scripts = 0;
	for (size_t i = 0; i < ctx->src.n; i++) {
		const section *s[2] = { &ctx->src.m[i].up, &ctx->src.m[i].down };
		for (int k = 0; k < 2; k++) {
			*scripts += s[k]->parses > 0;
			if (s[k]->parses > most)
				most = s[k]->parses;
		}
	}
	return most;
}

const char *dbs_database_display(const dbs_ctx *ctx)
{
	return ctx->display_url ? ctx->display_url : "";
}

int ctx_load_state(dbs_ctx *ctx)
{
	if (ctx->state_loaded)
		return 0;
	int exists = 0, rc = 0;
	if (ctx->conn) {
		rc = state_exists(ctx->driver, ctx->conn, &exists, &ctx->err);
		if (!rc && exists)
			rc = state_read(ctx->driver, ctx->conn, &ctx->rows, &ctx->nrows, &ctx->err);
	}
	if (!rc)
		rc = planner_order(&ctx->entries, &ctx->nentries, &ctx->src, ctx->rows,
				   ctx->nrows, &ctx->err);
	if (!rc)
		ctx->state_loaded = 1;
	return rc;
}

int dbs_status(dbs_ctx *ctx, size_t *n)
{
	int rc = ctx_load_state(ctx);
	*n = rc ? 0 : ctx->nentries;
	return rc;
}

const dbs_entry *dbs_status_entry(const dbs_ctx *ctx, size_t i)
{
	return i < ctx->nentries ? &ctx->entries[i].pub : NULL;
}

/* ---- the log ---- */

void ctx_log(dbs_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->log) {
		if (!ctx->opts.log_file || !*ctx->opts.log_file)
			return;
		make_parents(ctx->opts.log_file, 0700);  /* the log holds SQL and errors */
		int fd = open(ctx->opts.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0)
			fchmod(fd, 0600);  /* also one made by an older release */
		if (fd < 0 || !(ctx->log = fdopen(fd, "a"))) {
			if (fd >= 0)
				close(fd);
			return;  /* logging never stops a migration */
		}
	}
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(ctx->log, "%s ", ts);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(ctx->log, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->log);
	fflush(ctx->log);
}
