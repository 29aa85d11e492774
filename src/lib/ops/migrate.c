/*
 * migrate.c - the commands that move a database along its migrations:
 * migrate, rollback, redo and baseline.
 *
 * Every mutating command runs the same way: take the migrator lock,
 * create the history tables if needed, read the history again under the
 * lock (another process may have moved it), plan, check every script,
 * then run.  A transactional step and its history row commit together;
 * a no-transaction step is recorded "failed" before it starts and
 * "applied" after, so a crash in between blocks the next run until repair.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ops/ops.h"

/* ---- plans ---- */

/* Point err at file:line:col for byte offset off of a section. */
static void locate(dbs_error *err, const section *sec, size_t off)
{
	int line, col;
	text_position(sec->sql, off, &line, &col);
	dbs_error_set_file(err, sec->file, sec->line + line - 1, col);
}

static section *step_section(const dbs_step *s, const plan_entry *pe)
{
	return s->direction == DBS_UP ? &pe->m->up : &pe->m->down;
}

static plan_entry *entry_of(const dbs_step *s)
{
	return (plan_entry *)(void *)s->entry;  /* pub is plan_entry's first member */
}

/* Split sec with the driver's parser, once per run (*off: where it fails). */
static int split_once(dbs_ctx *ctx, section *sec, size_t *off)
{
	if (!db_can_split(ctx->driver) || sec->split)
		return 0;
	sec->parses++;
	int rc = db_split(ctx->driver, sec->sql, &sec->span, &sec->nspan, off, &ctx->err);
	sec->split = !rc;
	return rc;
}

/* Is step s's script checked here?  Not when it has none, nor when it is a
 * framework's: the framework runs it. */
static int checked(const dbs_step *s)
{
	return s->sql && !entry_of(s)->m->ordinal;
}

/* Check every script of a plan before the first one runs. */
static int preflight(dbs_ctx *ctx, const dbs_plan *plan)
{
	const db_driver *d = ctx->driver;
	void *chk = NULL;
	const char **scripts = xcalloc(plan->n + 1, sizeof(*scripts));
	size_t n = 0;
	for (size_t i = 0; i < plan->n; i++)
		if (checked(&plan->steps[i]))
			scripts[n++] = plan->steps[i].sql;
	int rc = db_check_begin(d, ctx->conn, scripts, n, &chk, &ctx->err);
	free(scripts);
	for (size_t i = 0; !rc && i < plan->n; i++) {
		const dbs_step *s = &plan->steps[i];
		const migration *m = entry_of(s)->m;
		section *sec = step_section(s, entry_of(s));
		size_t off = 0;
		if (!checked(s))
			continue;
		/* the analysis first: on PostgreSQL it also splits the script */
		if ((rc = lint_check_transaction(lint_dialect_for(d), m, sec, &ctx->err)))
			break;
		rc = split_once(ctx, sec, &off);
		if (!rc)
			rc = db_check_script(d, chk, s->sql, &off, &ctx->err);
		if (rc) {
			locate(&ctx->err, sec, off);
			break;
		}
		if (s->direction == DBS_UP && m->data_file &&
		    (rc = data_check(m->data_file, &ctx->err)) && !ctx->err.line)
			dbs_error_set_file(&ctx->err, m->path, m->data_line, 0);
	}
	db_check_end(d, chk);
	return rc;
}

static int q(dbs_ctx *ctx, const char *sql, dbs_error *err)
{
	return db_query(ctx->driver, ctx->conn, sql, 0, NULL, NULL, err);
}

static void rollback_quietly(dbs_ctx *ctx)
{
	dbs_error e = { 0 };
	q(ctx, "ROLLBACK", &e);
	dbs_error_clear(&e);
}

/*
 * Run a step's script and write its history row, in whatever transaction
 * the connection is in.  A down without statements (irreversible, run
 * with allow_irreversible) runs nothing and forgets the migration.
 */
/* Step s runs now, for its statements' and retries' events (when
 * anyone listens). */
static void event_step(dbs_ctx *ctx, const dbs_step *s)
{
	if (!ctx_listens(ctx, DBS_EV_STATEMENT) && !ctx_listens(ctx, DBS_EV_RETRY))
		return;
	char label[512];
	plan_label(s->entry, label, sizeof(label));
	size_t n = strlen(label);
	snprintf(label + n, sizeof(label) - n, " %s", s->direction == DBS_UP ? "up" : "down");
	ctx_event_step(ctx, label, step_section(s, entry_of(s)));
}

/* Run step s and write its history row (fresh: the step had no row). */
static int run_and_record(dbs_ctx *ctx, const dbs_step *s, int fresh, int64_t t0, int64_t *ms)
{
	const db_driver *d = ctx->driver;
	migration *m = entry_of(s)->m;
	const section *sec = step_section(s, entry_of(s));
	int up = s->direction == DBS_UP, rc = 0;
	size_t off = 0;
	event_step(ctx, s);
	if ((up || !section_is_empty(sec)) &&
	    (rc = db_run_script(d, ctx->conn, sec->sql, &off, &ctx->err)))
		locate(&ctx->err, sec, off);
	ctx_event_step(ctx, NULL, NULL);  /* the label stays, for a retry */
	*ms = now_ms() - t0;
	if (!rc)
		rc = up ? state_record(d, ctx->conn, m, "applied", *ms, NULL, fresh, &ctx->err)
			: state_forget(d, ctx->conn, m->app, m->version, &ctx->err);
	return rc;
}

/* BEGIN, with the configured timeouts for this transaction. */
static int begin_tx(dbs_ctx *ctx)
{
	int lock_ms = ctx->lock_ms, stmt_ms = ctx->stmt_ms;
	int rc = q(ctx, "BEGIN", &ctx->err);
	if (!rc && (lock_ms || stmt_ms))
		rc = db_set_timeouts(ctx->driver, ctx->conn, lock_ms, stmt_ms, 1, &ctx->err);
	return rc;
}

/* COMMIT after success, else ROLLBACK. */
static int end_tx(dbs_ctx *ctx, int rc)
{
	if (!rc)
		return q(ctx, "COMMIT", &ctx->err);
	rollback_quietly(ctx);
	return rc;
}

/*
 * Run one step outside a transaction.  Its row says "failed" (up) or
 * "failed_down" (down) before it starts, so a crash in between blocks the
 * next run until repair; a failure keeps the statement it reached there.
 */
static int apply_no_tx(dbs_ctx *ctx, const dbs_step *s, int64_t t0, int64_t *ms)
{
	const db_driver *d = ctx->driver;
	migration *m = entry_of(s)->m;
	int up = s->direction == DBS_UP, lock_ms = ctx->lock_ms, stmt_ms = ctx->stmt_ms;
	const char *failed = up ? "failed" : "failed_down";
	dbs_error *err = &ctx->err;
	/* the row's message names the run: while it is alive, status shows the
	 * step running, not failed (ctx_load_state) */
	char *mark = xprintf("%s%s; if that run is gone, %s did not finish", RUNNING_MARK,
			     ctx->run_id, up ? "it" : "the rollback");
	int rc = state_record(d, ctx->conn, m, failed, 0, mark, 0, err);
	free(mark);
	if (!rc && (lock_ms || stmt_ms))
		rc = db_set_timeouts(d, ctx->conn, lock_ms, stmt_ms, 0, err);
	if (!rc)
		rc = run_and_record(ctx, s, 0, t0, ms);
	if (lock_ms || stmt_ms) {
		dbs_error e2 = { 0 };
		db_set_timeouts(d, ctx->conn, 0, 0, 0, &e2);
		dbs_error_clear(&e2);
	}
	if (rc && err->file) {
		/* Keep the facts on the failed row for whoever repairs it. */
		char *note = xprintf("%s at %s:%d:%d: %s", up ? "failed" : "rollback failed",
				     err->file, err->line, err->col, err->message);
		dbs_error e2 = { 0 };
		state_record(d, ctx->conn, m, failed, *ms, note, 0, &e2);
		dbs_error_clear(&e2);
		free(note);
		dbs_error_set_hint(err, up
			? "it ran outside a transaction, so the statements before the "
			  "failing one stay applied: check them, finish or undo them by hand, "
			  "then run 'dbshift repair'"
			: "the rollback ran outside a transaction, so the statements before "
			  "the failing one stay done: finish the down by hand and run 'dbshift "
			  "repair --down-done', or undo those statements and run 'dbshift "
			  "repair --down-undone'");
	}
	return rc;
}

/* A failure outside the script's statements (BEGIN, the history row, a
 * deferred constraint at COMMIT) still names the migration's file. */
static int blame_step(dbs_ctx *ctx, const section *sec, int rc)
{
	if (rc && !ctx->err.file && sec->file)
		dbs_error_set_file(&ctx->err, sec->file, 0, 0);
	return rc;
}

/*
 * A transactional step as one batch (driver run_tx): BEGIN, the timeouts,
 * its statements, its history row, COMMIT; on PostgreSQL one pipeline,
 * so one round trip for a small migration.
 */
static int apply_batch(dbs_ctx *ctx, const dbs_step *s, int64_t t0, int64_t *ms)
{
	const db_driver *d = ctx->driver;
	migration *m = entry_of(s)->m;
	const section *sec = step_section(s, entry_of(s));
	size_t n = sec->nspan;
	db_cmd *cmds = xcalloc(n + 1, sizeof(*cmds));
	for (size_t i = 0; i < n; i++)
		cmds[i] = (db_cmd){ sec->sql + sec->span[i][0], sec->span[i][1], 0, NULL, 0 };
	history_cmd hc;
	if (s->direction == DBS_UP)
		state_record_cmd(d, m, "applied", NULL, !entry_of(s)->row, &hc);
	else
		state_forget_cmd(m, &hc);
	cmds[n] = hc.cmd;
	size_t failed = n, off = 0;
	/* the commit need not wait for the disk: run_end's record of the run
	 * waits, and makes every step before it durable */
	db_tx tx = { ctx->lock_ms, ctx->stmt_ms, 1 };
	event_step(ctx, s);
	int rc = db_run_tx(d, ctx->conn, &tx, cmds, n + 1, &failed, &off, &ctx->err);
	ctx_event_step(ctx, NULL, NULL);  /* the label stays, for a retry */
	*ms = now_ms() - t0;
	if (rc && failed < n) {
		locate(&ctx->err, sec, sec->span[failed][0] + off);
		free(ctx->err.statement);
		ctx->err.statement = sql_trimmed(cmds[failed].sql, cmds[failed].len);
	}
	free(hc.sql);
	free(cmds);
	return blame_step(ctx, sec, rc);
}

/* Run one step once and record it; the failure, if any, is in ctx->err.
 * A framework's migration is applied or undone by the framework, which
 * keeps its own record. */
static int apply_once(dbs_ctx *ctx, const dbs_step *s, int64_t *ms)
{
	int64_t t0 = now_ms();
	*ms = 0;
	const migration *m = entry_of(s)->m;
	if (m && m->ordinal) {
		live_quiet(ctx, 1);
		int rc = s->direction == DBS_UP ? ctx->fwo->apply(ctx->fw, m, &ctx->err)
						: ctx->fwo->unapply(ctx->fw, m, &ctx->err);
		live_quiet(ctx, 0);
		*ms = now_ms() - t0;
		return rc;
	}
	if (s->no_transaction)
		return apply_no_tx(ctx, s, t0, ms);
	if (db_can_run_tx(ctx->driver) && step_section(s, entry_of(s))->split)
		return apply_batch(ctx, s, t0, ms);
	int rc = begin_tx(ctx);
	if (!rc)
		rc = run_and_record(ctx, s, !entry_of(s)->row, t0, ms);
	return blame_step(ctx, step_section(s, entry_of(s)), end_tx(ctx, rc));
}

typedef struct redo_attempt {
	const dbs_plan *plan;
	int64_t ms[2];
	int failed;
} redo_attempt;

typedef struct step_attempt {
	const dbs_step *step;
	int64_t ms;
} step_attempt;

static int attempt_step(dbs_ctx *ctx, void *arg)
{
	step_attempt *a = arg;
	return apply_once(ctx, a->step, &a->ms);
}

/*
 * Run one step; a transactional one that gave up waiting for a lock is
 * retried (after its rollback) on the lock_retries schedule, with jitter,
 * so a migration never stalls traffic queued behind it for long.  A
 * no-transaction step is not retried: part of it may have run.
 */
static int apply_step(dbs_ctx *ctx, const run *r, const dbs_step *s, int64_t *ms,
		      int *attempts)
{
	step_attempt a = { s, 0 };
	int rc;
	if (s->no_transaction || ctx->fw) {  /* a framework retries as it sees fit */
		*attempts = 1;
		rc = apply_once(ctx, s, &a.ms);
	} else {
		char *what = xprintf("[%s] %s_%s", r->id, s->entry->version, s->entry->name);
		rc = retry_on_lock_timeout(ctx, what, attempt_step, &a, attempts);
		free(what);
	}
	*ms = a.ms;
	return rc;
}

/*
 * After a framework's command failed, the truth is its record: did the
 * step happen after all (Django applied or undid the migration, and what
 * failed came later: a project's own migrate command, a signal)?  Then
 * the step is recorded as done and the error says so; never is a
 * rollback claimed that did not happen.  1 when it happened.
 */
static int framework_did(dbs_ctx *ctx, const dbs_step *s)
{
	const migration *m = entry_of(s)->m;
	history_row *rows = NULL;
	size_t n = 0;
	dbs_error e = { 0 };
	if (!m || ctx->fwo->applied(ctx->fw, ctx->driver, ctx->conn, &rows, &n, &e)) {
		dbs_error_clear(&e);
		return 0;
	}
	int recorded = 0;
	for (size_t i = 0; i < n && !recorded; i++)
		recorded = !strcmp(rows[i].app, m->app) && !strcmp(rows[i].version, m->version) &&
			   !strcmp(rows[i].name, m->name);
	history_rows_free(rows, n);
	int did = s->direction == DBS_UP ? recorded : !recorded;
	if (did) {
		/* "Django could not undo shop.0005_x: RuntimeError: ...": the error */
		const char *msg = ctx->err.message ? ctx->err.message : "failed";
		/* "manage.py migrate failed: RuntimeError: ...", after its last step */
		const char *at = strstr(msg, m->path), *colon = strstr(msg, ": ");
		if (at && !strncmp(at + strlen(m->path), ": ", 2))
			msg = at + strlen(m->path) + 2;
		else if (colon && strstr(msg, "manage.py ") == msg)
			msg = colon + 2;
		char *was = xstrdup(msg);
		dbs_fail(&ctx->err, DBS_EFAIL, "%s %s %s (%s's record says so), then failed: %s",
			 ctx->fwo->name, s->direction == DBS_UP ? "applied" : "undid", m->path,
			 ctx->fwo->name, was);
		dbs_error_set_hint(&ctx->err, "that migration stays %s; what failed after it is "
				   "the project's (its migrate command, a signal): 'dbshift status' "
				   "says what is applied now", s->direction == DBS_UP ? "applied"
				   : "undone");
		free(was);
	}
	return did;
}

/*
 * dbshift's own record of the framework's migrations it applied (each
 * file's SHA-256: an applied file edited since is drifted) or undid, of
 * the n steps (those done[i] says, or all): written once the framework's
 * command has ended, as one batch where the driver runs them (one round
 * trip on PostgreSQL) whose commit need not wait for the disk: the run's
 * record, after it, does.
 */
static void framework_notes(dbs_ctx *ctx, const dbs_step *steps, size_t n,
			    const unsigned char *done)
{
	history_cmd *hc = xcalloc(n + 1, sizeof(*hc));
	db_cmd *cmds = xcalloc(n + 1, sizeof(*cmds));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const migration *m = entry_of(&steps[i])->m;
		if ((done && !done[i]) || !m || !*m->checksum)
			continue;
		if (steps[i].direction == DBS_UP)
			state_record_cmd(ctx->driver, m, "applied", NULL, 0, &hc[k]);
		else
			state_forget_cmd(m, &hc[k]);
		cmds[k] = hc[k].cmd;
		k++;
	}
	db_tx tx = { 0, 0, 1 };
	size_t failed = 0, off = 0;
	dbs_error e = { 0 };
	int rc = 0;
	if (db_can_run_tx(ctx->driver))
		rc = k ? db_run_tx(ctx->driver, ctx->conn, &tx, cmds, k, &failed, &off, &e) : 0;
	else if (k && !(rc = q(ctx, "BEGIN", &e))) {  /* one transaction all the same */
		for (size_t i = 0; i < k && !rc; i++)
			rc = db_query(ctx->driver, ctx->conn, cmds[i].sql, cmds[i].nparams,
				      cmds[i].params, NULL, &e);
		if (rc)
			rollback_quietly(ctx);
		else
			rc = q(ctx, "COMMIT", &e);
	}
	if (rc)
		ctx_warn(ctx, "the checksums of what %s did could not be kept: %s",
			 ctx->fwo->name, e.message ? e.message : "failed");
	dbs_error_clear(&e);
	for (size_t i = 0; i < k; i++)
		free(hc[i].sql);
	free(hc);
	free(cmds);
}

/*
 * A framework that carries out a plan in runs of its own (Django: one
 * manage.py migrate [APP TARGET], so a project's migrate command and its
 * post_migrate signals run once) tells each migration's start and end:
 * each is a step of the run, as if dbshift had run it.
 */
typedef struct fw_watch {
	dbs_ctx *ctx;
	run *r;
	const dbs_plan *plan;
	dbs_step_cb cb;
	void *cb_data;
	size_t at;           /* the step under way, or plan->n */
	int64_t t0;
	int attempt;         /* of the framework's run, from 1 */
	unsigned char *done; /* each step done */
	int planned;         /* the framework's plan (else every pending migration) */
} fw_watch;

static void fw_label(const dbs_step *s, char *label, size_t size)
{
	plan_label(s->entry, label, size);
	size_t n = strlen(label);
	snprintf(label + n, size - n, " %s", s->direction == DBS_UP ? "up" : "down");
}

static void fw_progress(void *data, const char *path, int up, int done)
{
	fw_watch *w = data;
	size_t i = 0;
	while (i < w->plan->n && (!entry_of(&w->plan->steps[i])->m ||
				  (w->plan->steps[i].direction == DBS_UP) != up ||
				  strcmp(entry_of(&w->plan->steps[i])->m->path, path)))
		i++;
	if (i == w->plan->n) {
		if (!done)
			ctx_warn(w->ctx, "%s %s %s, which the plan did not list",
				 w->ctx->fwo->name, up ? "applied" : "undid", path);
		return;
	}
	const dbs_step *s = &w->plan->steps[i];
	char label[512];
	fw_label(s, label, sizeof(label));
	if (!done) {
		w->at = i;
		w->t0 = now_ms();
		live_step(w->ctx, label, i, w->plan->n);
		ctx_log(w->ctx, "[%s] %s: started", w->r->id, label);
		return;
	}
	int64_t ms = now_ms() - w->t0;
	w->done[i] = 1;
	run_step(w->ctx, w->r, s->entry, up ? "up" : "down", ms, w->attempt, NULL);
	if (w->cb)
		w->cb(s, ms, NULL, w->cb_data);
	w->at = w->plan->n;
}

static int fw_attempt(dbs_ctx *ctx, void *arg)
{
	fw_watch *w = arg;
	w->attempt++;
	live_quiet(ctx, 1);
	int rc = ctx->fwo->run(ctx->fw, w->planned, fw_progress, w, &ctx->err);
	live_quiet(ctx, 0);
	return rc;
}

/* The framework's run, again on lock_retries' schedule when it gave up
 * waiting for a lock: the migrations it applied stay applied, and the next
 * run starts from the one that gave up. */
static int run_by_framework(dbs_ctx *ctx, run *r, const dbs_plan *plan, int planned,
			    dbs_step_cb cb, void *cb_data)
{
	fw_watch w = { ctx, r, plan, cb, cb_data, plan->n, now_ms(), 0, xcalloc(plan->n, 1),
		       planned };
	int attempts = 1;
	int rc = retry_on_lock_timeout(ctx, r->id, fw_attempt, &w, &attempts);
	if (rc && w.at < plan->n) {  /* the one under way failed, or what came after it */
		const dbs_step *s = &plan->steps[w.at];
		int64_t ms = now_ms() - w.t0;
		w.done[w.at] = framework_did(ctx, s);
		const dbs_error *e = w.done[w.at] ? NULL : &ctx->err;
		run_step(ctx, r, s->entry, s->direction == DBS_UP ? "up" : "down", ms, attempts, e);
		if (cb)
			cb(s, ms, e, cb_data);
	} else if (rc) {  /* after the last step it did: said so, if its record agrees */
		size_t last = plan->n;
		for (size_t i = 0; i < plan->n; i++)
			if (w.done[i])
				last = i;
		if (last < plan->n)
			framework_did(ctx, &plan->steps[last]);
	}
	framework_notes(ctx, plan->steps, plan->n, w.done);
	free(w.done);
	return rc;
}

typedef enum { RUN_MIGRATE, RUN_ROLLBACK, RUN_REDO, RUN_BASELINE } run_kind;
static const char *run_names[] = { "migrate", "rollback", "redo", "baseline" };

/*
 * A backup, verified, before anything runs; if it cannot be had, the run
 * is refused (exit 3) with nothing changed.  pg_dump has finished (and
 * released its locks) before the first DDL statement.
 */
static int backup_first(dbs_ctx *ctx, const char *command, char **taken)
{
	char *id = NULL;
	if (ctx->backed_up)
		return 0;  /* a release's backup step took and verified one */
	int rc = dbs_backup(ctx, NULL, 0, NULL, NULL, &id, NULL);
	if (!rc)
		rc = dbs_backup_verify(ctx, id, 0, NULL);
	if (rc) {
		char *why = xstrdup(ctx->err.message ? ctx->err.message : "failed");
		char *detail = ctx->err.detail ? xstrdup(ctx->err.detail) : NULL;
		dbs_fail(&ctx->err, DBS_EPOLICY, "no verified backup, so nothing was run: %s", why);
		if (detail)
			dbs_error_set_detail(&ctx->err, "%s", detail);
		dbs_error_set_hint(&ctx->err, "fix the backup (backup_dir, disk space, pg_dump), "
				   "or run without --backup where require_backup is off");
		free(why);
		free(detail);
	} else {
		ctx_log(ctx, "backup %s taken and verified before %s", id, command);
		*taken = id;
		id = NULL;
	}
	free(id);
	return rc;
}

/* Refuse a plan whose worst finding is above the environment's max_risk:
 * the ups of a migrate, the downs of a rollback or redo. */
static int check_risk(dbs_ctx *ctx, dbs_plan *plan, const dbs_migrate_opts *o)
{
	dbs_level max = DBS_RED;
	if (ctx->opts.max_risk)
		dbs_level_parse(ctx->opts.max_risk, &max);  /* validated with the config */
	if (!plan->lint || dbs_lint_worst(plan->lint) <= max || o->force)
		return 0;
	int down = plan->n && plan->steps[0].direction == DBS_DOWN;
	plan->blocked = 1;
	dbs_fail(&ctx->err, DBS_EPOLICY, "the plan's risk is %s, above max_risk %s%s%s",
		 dbs_level_name(dbs_lint_worst(plan->lint)), dbs_level_name(max),
		 ctx->opts.env ? " of environment " : "", ctx->opts.env ? ctx->opts.env : "");
	char *list = lint_findings_above(plan->lint, max, 10);
	dbs_error_set_detail(&ctx->err, "%s", list);
	free(list);
	if (down)
		dbs_error_set_hint(&ctx->err, "the down would lose what it drops: take a "
				   "backup ('dbshift backup') and restore it instead "
				   "('dbshift rollback --from-backup ID'), or, reviewed, run with "
				   "--force");
	else
		dbs_error_set_hint(&ctx->err, "make the migrations safer ('dbshift lint' says how), "
				   "allow a reviewed finding with '-- dbshift:allow RULE reason', or "
				   "run with --force");
	return DBS_EPOLICY;
}

/* A redo whose down and up both run in transactions runs in one. */
static int redo_atomic(const dbs_plan *plan)
{
	return plan->n == 2 && !plan->steps[0].no_transaction && !plan->steps[1].no_transaction;
}

/*
 * redo, atomic: the down, the up and both history changes in one
 * transaction; a failure anywhere leaves the migration applied as it was.
 * ms[] are the steps' times; *failed the step that failed.
 */
static int apply_redo(dbs_ctx *ctx, void *arg)
{
	redo_attempt *a = arg;
	int64_t t0 = now_ms();
	int rc = begin_tx(ctx);
	a->failed = 0;
	if (!rc && (rc = run_and_record(ctx, &a->plan->steps[0], 0, t0, &a->ms[0])))
		a->failed = 0;
	else if (!rc && (rc = run_and_record(ctx, &a->plan->steps[1], 0, now_ms(), &a->ms[1])))
		a->failed = 1;
	return end_tx(ctx, rc);
}

/* Does the framework plan this run (a rollback, or a migrate to a target),
 * and carry it out in runs of its own? */
static int framework_plans(const dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o)
{
	return ctx->fw && ctx->fwo->plan && !o->phase &&
	       (kind == RUN_ROLLBACK || (kind == RUN_MIGRATE && o->target));
}

/* The steps of a plan, from the loaded entries (no check yet). */
static int plan_steps(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o, dbs_plan *plan)
{
	dbs_migrate_opts one = *o;
	int rc;
	if (kind == RUN_MIGRATE && ctx->foreign.tool && !ctx->nrows) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "this database has %s's history (%s) and none "
			 "of dbshift's: migrate would run those migrations again",
			 ctx->foreign.tool, ctx->foreign.table);
		dbs_error_set_hint(&ctx->err, "'dbshift adopt' shows what it would take over and "
				   "'dbshift adopt --yes' records it; or mark migrations applied "
				   "with 'dbshift baseline VERSION'");
		return DBS_EPOLICY;
	}
	if (kind == RUN_MIGRATE && ctx->foreign_empty.tool && !ctx->nrows)
		ctx_warn(ctx, "%s's history table (%s) records no migration: taken as nothing "
			 "applied", ctx->foreign_empty.tool, ctx->foreign_empty.table);
	if (framework_plans(ctx, kind, o)) {
		/* the framework's own plan (Django's executor's): what runs */
		const fw_step *fs = NULL;
		size_t nfs = 0;
		rc = ctx->fwo->plan(ctx->fw, kind == RUN_MIGRATE ? "migrate" : "rollback", o->target,
				    kind == RUN_ROLLBACK ? o->steps : 0, &fs, &nfs, &ctx->err);
		if (!rc)
			rc = planner_listed(plan, ctx->entries, ctx->nentries, fs, nfs,
					    kind == RUN_ROLLBACK, o, &ctx->err);
		return rc ? rc : ctx_plan_sql(ctx, plan);
	}
	if (kind == RUN_MIGRATE || kind == RUN_BASELINE) {
		one.allow_out_of_order |= kind == RUN_BASELINE;
		rc = planner_migrate(plan, ctx->entries, ctx->nentries, &one, &ctx->err);
		if (!rc)
			rc = ctx_plan_sql(ctx, plan);
	} else {
		if (kind == RUN_REDO) {
			one.target = NULL;
			one.steps = 1;
		}
		rc = planner_rollback(plan, ctx->entries, ctx->nentries, &one, &ctx->err);
		if (!rc)
			rc = ctx_plan_sql(ctx, plan);
		if (!rc && kind == RUN_REDO && plan->n == 1) {
			const migration *m = entry_of(&plan->steps[0])->m;
			plan->steps = xrealloc(plan->steps, 2 * sizeof(dbs_step));
			plan->steps[1] = plan->steps[0];
			plan->steps[1].direction = DBS_UP;
			plan->steps[1].sql = m->up.sql;
			plan->steps[1].file = m->up.file;
			plan->steps[1].no_transaction = m->up.no_transaction;
			plan->n = 2;
			rc = ctx_plan_sql(ctx, plan);
			if (!rc && !redo_atomic(plan) && section_is_empty(&m->down)) {
				char label[512];
				plan_label(plan->steps[0].entry, label, sizeof(label));
				rc = dbs_fail(&ctx->err, DBS_EPOLICY, "redo of %s stops before its up: "
					      "its down holds no statement, so the up would run on "
					      "top of itself", label);
				dbs_error_set_file(&ctx->err, m->down.file ? m->down.file : m->path, 0, 0);
				dbs_error_set_hint(&ctx->err, "add the SQL that undoes it, or undo it "
						   "by hand and run 'dbshift rollback --allow-irreversible' "
						   "and 'dbshift migrate'");
				plan->blocked = 1;
			}
		}
	}
	return rc;
}

/* Check a plan's scripts and judge its risk.  The lint comes
 * first: its analysis of each pending script also settles the
 * in-a-transaction check, so preflight does not parse it again. */
static int plan_check(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o, dbs_plan *plan)
{
	if (kind == RUN_BASELINE)
		return 0;
	int rc = ctx_lint_plan(ctx, plan, &plan->lint);
	if (!rc && ctx->fw)  /* a framework's SQL is not preflighted: a syntax error stops here */
		rc = lint_refuse_rule(plan->lint, "syntax-error", ctx->fwo->name, &ctx->err);
	if (!rc)
		rc = preflight(ctx, plan);
	if (!rc)
		rc = check_risk(ctx, plan, o);
	return rc;
}

static int make_plan(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o, dbs_plan *plan)
{
	int rc = plan_steps(ctx, kind, o, plan);
	return rc ? rc : plan_check(ctx, kind, o, plan);
}

/* What a plan does, kept past the entries it points into (they are
 * read again under the lock): each step's migration and direction. */
typedef struct plan_shape {
	const migration **m;
	int *up;
	size_t n;
} plan_shape;

static void shape_of(const dbs_plan *p, plan_shape *sh)
{
	sh->n = p->n;
	sh->m = xcalloc(p->n + 1, sizeof(*sh->m));
	sh->up = xcalloc(p->n + 1, sizeof(*sh->up));
	for (size_t i = 0; i < p->n; i++) {
		sh->m[i] = entry_of(&p->steps[i])->m;
		sh->up[i] = p->steps[i].direction == DBS_UP;
	}
}

static int same_steps(const plan_shape *a, const dbs_plan *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->m[i] != entry_of(&b->steps[i])->m ||
		    a->up[i] != (b->steps[i].direction == DBS_UP))
			return 0;
	return 1;
}

/*
 * The plan again under the lock: the history may have moved since the
 * first look.  When the steps are the same, the checks and the lint of
 * the first plan stand; only the risk is judged again.
 */
static int replan(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		  const plan_shape *first, dbs_lint **first_lint, dbs_plan *plan)
{
	int rc = plan_steps(ctx, kind, o, plan);
	if (rc)
		return rc;
	if (!same_steps(first, plan) || !*first_lint)  /* (not checked: see moved_on) */
		return plan_check(ctx, kind, o, plan);
	plan->lint = *first_lint;
	*first_lint = NULL;
	return kind == RUN_BASELINE ? 0 : check_risk(ctx, plan, o);
}

static void plan_release(dbs_plan *plan)
{
	free(plan->steps);
	dbs_lint_free(plan->lint);
	memset(plan, 0, sizeof(*plan));
}

/*
 * The first plan's scripts failed their check, before the lock: did
 * another migrator apply some of them meanwhile, so that they were
 * checked against a schema it was changing ("table c12 already exists")?
 * Then *plan is the plan of the history as it is now, unchecked (its
 * check is made under the lock), and 1; else 0, the failure stands.
 */
static int moved_on(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o, dbs_plan *plan)
{
	if (kind != RUN_MIGRATE || ctx->err.code != DBS_EINPUT || !ctx->err.file)
		return 0;  /* only a script's check can be the schema's doing */
	plan_shape was;
	shape_of(plan, &was);
	dbs_error saved = ctx->err;
	memset(&ctx->err, 0, sizeof(ctx->err));
	ctx_drop_state(ctx);
	dbs_plan now = { 0 };
	int rc = ctx_load_state(ctx);
	if (!rc)
		rc = plan_steps(ctx, kind, o, &now);
	int moved = !rc && !same_steps(&was, &now);
	free(was.m);
	free(was.up);
	if (!moved) {
		plan_release(&now);
		dbs_error_clear(&ctx->err);
		ctx->err = saved;
		return 0;
	}
	dbs_error_clear(&saved);
	plan_release(plan);
	*plan = now;
	return 1;
}

/* The risk decision, for the run report. */
static json_t *risk_json(dbs_ctx *ctx, const dbs_plan *plan, const dbs_migrate_opts *o)
{
	if (!plan->lint)
		return NULL;
	dbs_level worst = dbs_lint_worst(plan->lint), max = DBS_RED;
	if (ctx->opts.max_risk)
		dbs_level_parse(ctx->opts.max_risk, &max);
	return json_pack("{s:s, s:i, s:s, s:s, s:b}", "worst", dbs_level_name(worst),
			 "score", plan->lint->score, "band", risk_band(worst, plan->lint->top_score),
			 "max_risk", dbs_level_name(max), "forced", o->force && worst > max);
}

static int record_baseline(dbs_ctx *ctx, const dbs_step *s)
{
	return state_record(ctx->driver, ctx->conn, entry_of(s)->m, "applied", 0,
			    "baseline: recorded as applied without running", 0, &ctx->err);
}

/* The data migration of an up step, if it has one: after the DDL
 * committed, batch by batch. */
static int run_data(dbs_ctx *ctx, run *r, const dbs_step *s)
{
	const migration *m = entry_of(s)->m;
	if (!m->data_file)
		return 0;
	if (ctx->defer_data) {
		/* a release's data step runs it, after the schema steps */
		json_array_append_new(ctx->deferred, json_string(m->data_file));
		ctx_log(ctx, "[%s] %s_%s data: left to the release's data step", r->id,
			s->entry->version, s->entry->name);
		return 0;
	}
	json_t *result = NULL;
	int64_t t0 = now_ms();
	int rc = data_step(ctx, m->data_file, &result);
	run_step(ctx, r, s->entry, "data", now_ms() - t0, 1, rc ? &ctx->err : NULL);
	json_t *last = json_array_get(r->steps, json_array_size(r->steps) - 1);
	if (result)
		json_object_set_new(last, "data", result);
	return rc;
}

/* The programs of the callbacks a run may call are there, before
 * anything runs. */
static int check_callbacks(dbs_ctx *ctx, run_kind kind)
{
	const dbs_options *op = &ctx->opts;
	int rc = hooks_check(ctx, op->on_failure);
	if (!rc && kind == RUN_MIGRATE)
		rc = hooks_check(ctx, op->before_migrate);
	if (!rc && kind == RUN_MIGRATE)
		rc = hooks_check(ctx, op->after_migrate);
	if (!rc && kind == RUN_ROLLBACK)
		rc = hooks_check(ctx, op->after_rollback);
	return rc;
}

/* after_migrate / after_rollback when the steps (n of them) succeeded,
 * on_failure when something failed (after the run had begun). */
static int after_callbacks(dbs_ctx *ctx, run *r, run_kind kind, size_t n, int rc)
{
	if (!rc && n && kind == RUN_MIGRATE)
		rc = hooks_run(ctx, r, "after_migrate", ctx->opts.after_migrate, "succeeded",
			       &ctx->err);
	else if (!rc && n && kind == RUN_ROLLBACK)
		rc = hooks_run(ctx, r, "after_rollback", ctx->opts.after_rollback, "succeeded",
			       &ctx->err);
	if (rc && kind != RUN_BASELINE && !ctx->outer)
		hooks_on_failure(ctx, r);  /* (a release runs them once, at its end) */
	return rc;
}

/* assertions = on: every assertion after the migrations, the invariants
 * against what they were before; the checks go in the run's report. */
static int check_after(dbs_ctx *ctx, run *r, assertion_set *set)
{
	json_t *list = json_array();
	int failed = 0, rc = assertions_check(ctx, set, list, &failed);
	if (!r->fields)
		r->fields = json_object();
	json_object_set_new(r->fields, "assertions", list);
	if (rc == DBS_EINPUT)  /* (not a query, found as it ran) the migrations did change */
		ctx->err.code = rc = DBS_EFAIL;
	if (rc || !failed)
		return rc;
	char *what = assertions_failures(list);
	dbs_fail(&ctx->err, DBS_EFAIL, "%d assertion%s failed after the migrations: %s", failed,
		 failed == 1 ? "" : "s", what);
	free(what);
	dbs_error_set_hint(&ctx->err, "the migrations are applied; the report shows the rows. Fix "
			   "the data, or undo the migrations with 'dbshift rollback'");
	return DBS_EFAIL;
}

/*
 * Plan, and check the plan, before anything is touched: bad input and
 * policy refusals change nothing, not even the history tables.  Then,
 * under the lock, plan again from the history as it is now.
 */
static int run_plan(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		    dbs_step_cb cb, void *cb_data, char **report)
{
	run r;
	dbs_plan first = { 0 }, plan = { 0 };
	plan_shape shape = { 0 };
	int rc = ctx_load_state(ctx);
	if (!rc)
		rc = make_plan(ctx, kind, o, &first);
	if (rc && moved_on(ctx, kind, o, &first))
		rc = 0;
	if (!rc && kind != RUN_BASELINE)
		rc = check_callbacks(ctx, kind);
	char *backup_id = NULL;
	assertion_set checks = { 0 };
	json_t *promotion = NULL, *rehearsal = NULL;
	if (!rc && kind != RUN_BASELINE && first.n && ctx->opts.assertions)
		rc = assertions_load(ctx, 1, &checks);
	/* (a release checks its first migrate step before it begins, too) */
	if (!rc && kind == RUN_MIGRATE && first.n && ctx->opts.promote_from)
		rc = promotion_gate(ctx, &first, o->force, &promotion);
	if (!rc && kind == RUN_MIGRATE && first.n && ctx->opts.require_rehearsal)
		rc = rehearsal_gate(ctx, &first, o->force, &rehearsal);
	if (!rc && kind != RUN_BASELINE && first.n && (o->backup || ctx->opts.require_backup))
		rc = backup_first(ctx, run_names[kind], &backup_id);
	if (rc) {
		assertions_free(&checks);
		json_decref(promotion);
		json_decref(rehearsal);
		plan_release(&first);
		notice n = { NULL, run_names[kind], "failed", NULL, &ctx->err, -1, NULL };
		ctx_notify(ctx, &n);
		if (report)
			*report = run_less_report(ctx, run_names[kind]);
		return rc;
	}
	shape_of(&first, &shape);
	dbs_lint *lint = first.lint;
	first.lint = NULL;
	plan_release(&first);
	rc = run_begin(ctx, &r, run_names[kind]);
	if (backup_id) {  /* the report says which backup undoes this run */
		if (!r.fields)
			r.fields = json_object();
		json_object_set_new(r.fields, "backup", json_string(backup_id));
		free(backup_id);
	}
	if (promotion) {  /* and what the environment upstream had applied */
		const char *past = json_string_value(json_object_get(promotion, "forced_past"));
		if (past)
			ctx_warn(ctx, "--force: applying what %s has not applied: %s",
				 ctx->opts.promote_from, past);
		if (!r.fields)
			r.fields = json_object();
		json_object_set_new(r.fields, "promotion", promotion);
	}
	if (rehearsal) {  /* and the rehearsal require_rehearsal found */
		const char *past = json_string_value(json_object_get(rehearsal, "forced_past"));
		if (past)
			ctx_warn(ctx, "--force: applying a plan not rehearsed: %s", past);
		if (!r.fields)
			r.fields = json_object();
		json_object_set_new(r.fields, "rehearsal", rehearsal);
	}
	if (!rc)
		rc = replan(ctx, kind, o, &shape, &lint, &plan);
	free(shape.m);
	free(shape.up);
	dbs_lint_free(lint);
	r.risk = risk_json(ctx, &plan, o);
	if (!rc && kind == RUN_MIGRATE && plan.lint && dbs_lint_worst(plan.lint) == DBS_RED) {
		/* applied with red findings (no max_risk stopped them): say so */
		char *list = lint_findings_above(plan.lint, DBS_YELLOW, 20);
		const char *band = risk_band(plan.lint->worst, plan.lint->top_score);
		ctx_warn(ctx, "%s\nrisk: %s (worst finding red): %s", list, band,
					risk_advice(band));
		free(list);
	}
	if (!rc && kind == RUN_MIGRATE && plan.n)
		rc = hooks_run(ctx, &r, "before_migrate", ctx->opts.before_migrate, "running",
			       &ctx->err);
	if (!rc && plan.n && checks.n)
		rc = assertions_before(ctx, &checks);
	if (!rc && kind == RUN_REDO && redo_atomic(&plan) && !ctx->fw) {
		redo_attempt a = { &plan, { 0, 0 }, 0 };
		int attempts = 1;
		ctx_log(ctx, "[%s] %s%s%s_%s redo: started (down and up in one transaction)",
			r.id, plan.steps[0].entry->app, *plan.steps[0].entry->app ? "/" : "",
			plan.steps[0].entry->version, plan.steps[0].entry->name);
		rc = retry_on_lock_timeout(ctx, r.id, apply_redo, &a, &attempts);
		for (size_t i = 0; i < 2 && (i == 0 || !rc || a.failed == 1); i++) {
			const dbs_error *e = rc && a.failed == (int)i ? &ctx->err : NULL;
			run_step(ctx, &r, plan.steps[i].entry, i ? "up" : "down", a.ms[i], attempts, e);
			if (cb)
				cb(&plan.steps[i], a.ms[i], e, cb_data);
		}
		if (!rc)
			rc = run_data(ctx, &r, &plan.steps[1]);
		plan.n = 0;  /* done */
	}
	int all_at_once = !rc && plan.n && ctx->fw && ctx->fwo->run && !o->phase &&
			  (kind == RUN_MIGRATE || kind == RUN_ROLLBACK);
	if (all_at_once)  /* the framework's own runs */
		rc = run_by_framework(ctx, &r, &plan, framework_plans(ctx, kind, o), cb, cb_data);
	for (size_t i = 0; !rc && !all_at_once && i < plan.n; i++) {
		int64_t ms = 0;
		const dbs_step *s = &plan.steps[i];
		int attempts = 1;
		if (kind != RUN_BASELINE) {
			char label[512];
			plan_label(s->entry, label, sizeof(label));
			size_t n = strlen(label);
			snprintf(label + n, sizeof(label) - n, " %s", s->direction == DBS_UP ? "up" : "down");
			if (o->stop && __atomic_load_n(o->stop, __ATOMIC_RELAXED)) {
				rc = dbs_fail(&ctx->err, DBS_EFAIL, "stopped before %s: %zu of %zu "
					      "migrations ran", label, i, plan.n);
				dbs_error_set_hint(&ctx->err, "run it again for the rest");
				break;
			}
			live_step(ctx, label, i, plan.n);
			ctx_log(ctx, "[%s] %s: started", r.id, label);
		}
		rc = kind == RUN_BASELINE ? record_baseline(ctx, s) : apply_step(ctx, &r, s, &ms, &attempts);
		const dbs_error *e = rc && !(ctx->fw && framework_did(ctx, s)) ? &ctx->err : NULL;
		if (!e && ctx->fw && kind != RUN_BASELINE)
			framework_notes(ctx, s, 1, NULL);
		run_step(ctx, &r, s->entry, kind == RUN_BASELINE ? "baseline"
			 : s->direction == DBS_UP ? "up" : "down", ms, attempts, e);
		if (cb)
			cb(s, ms, e, cb_data);
		if (!rc && s->direction == DBS_UP && kind != RUN_BASELINE)
			rc = run_data(ctx, &r, s);
	}
	if (!rc && plan.n && checks.n)
		rc = check_after(ctx, &r, &checks);
	assertions_free(&checks);
	if (rc)
		live_error(ctx, run_names[kind], &ctx->err);
	rc = after_callbacks(ctx, &r, kind, plan.n, rc);
	plan_release(&plan);
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);  /* the history changed: read it again when asked */
	return rc;
}

static int plan_only(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		     dbs_plan **out)
{
	*out = xcalloc(1, sizeof(dbs_plan));
	int rc = ctx_load_state(ctx);
	return rc ? rc : make_plan(ctx, kind, o, *out);
}

int dbs_plan_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out)
{
	return plan_only(ctx, RUN_MIGRATE, o, out);
}

int dbs_plan_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_plan **out)
{
	return plan_only(ctx, RUN_ROLLBACK, o, out);
}

/* A run of its own (not a release's step) says in its alerts whether it
 * was forced. */
static int forced_run(dbs_ctx *ctx, run_kind kind, const dbs_migrate_opts *o,
		      dbs_step_cb cb, void *cb_data, char **report)
{
	int own = !ctx->outer;
	if (own)
		ctx->forced = o->force;
	int rc = run_plan(ctx, kind, o, cb, cb_data, report);
	if (own)
		ctx->forced = 0;
	return rc;
}

int dbs_migrate(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		void *cb_data, char **report)
{
	return forced_run(ctx, RUN_MIGRATE, o, cb, cb_data, report);
}

int dbs_rollback(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
		 void *cb_data, char **report)
{
	return forced_run(ctx, RUN_ROLLBACK, o, cb, cb_data, report);
}

int dbs_redo(dbs_ctx *ctx, const dbs_migrate_opts *o, dbs_step_cb cb,
	     void *cb_data, char **report)
{
	return run_plan(ctx, RUN_REDO, o, cb, cb_data, report);
}

int dbs_baseline(dbs_ctx *ctx, const char *target, dbs_step_cb cb, void *cb_data,
		 char **report)
{
	dbs_migrate_opts o = { .target = target };
	if (ctx_files_only(ctx, "baseline")) {
		if (report)
			*report = run_less_report(ctx, "baseline");
		return DBS_EINPUT;
	}
	return run_plan(ctx, RUN_BASELINE, &o, cb, cb_data, report);
}
