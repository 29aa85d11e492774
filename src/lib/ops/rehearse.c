/*
 * rehearse.c - dbshift rehearse: run the plan on a copy first.
 *
 * The newest backup of this database (or --backup ID, or one taken now
 * with --fresh) is restored into a scratch database beside it
 * (db_scratch_create: PostgreSQL, a database on the same server; SQLite,
 * a file beside the database's), and what migrate (or rollback) would run
 * here runs there, with its data runs and the data assertions, as a
 * second context on the scratch (its own lock and history, no alerts,
 * hooks or report file).  Then the scratch is dropped (unless --keep).
 * The live database is only read, but for the rehearsal's one row in
 * dbshift_runs, written first: the scratch is named for the run
 * ("dbshift_rehearse_<database>_<run id>"), so a rehearsal that was
 * killed leaves a scratch the next one recognizes (its run is not alive)
 * and drops.
 *
 * The report says, for each migration: its time, its statements' times
 * and the rows they changed, and the locks it took with how long each was
 * held (the lock each statement takes is lint's; in a transaction it is
 * held from its statement to the commit).  The downtime is the longest
 * time any table was locked against writes (SQLite: the longest write
 * transaction, which holds the whole database).  Nothing else uses the
 * scratch, so nothing waits for a lock there: assess looks at the live
 * database's sessions.
 *
 * The plan's identity (plan_identity, rehearsal_gate.c) is recorded with
 * it, for require_rehearsal.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/lint.h"
#include "ops/ops.h"

#define SCRATCH_PREFIX "dbshift_rehearse_"

/* ---- what ran: the statements of the scratch's run ---- */

typedef struct seen_stmt {
	char *what, *file;
	int line;
	int64_t us, rows;
} seen_stmt;

typedef struct seen_step {
	char *what;             /* "APP/VERSION_NAME up" */
	const dbs_step *step;   /* of the live plan, matched by label and way */
	int64_t ms;
	json_t *error;
} seen_step;

typedef struct rehearsal {
	dbs_ctx *ctx;
	const dbs_plan *plan;   /* the live database's plan */
	seen_stmt *s;
	size_t ns;
	seen_step *st;
	size_t nst;
} rehearsal;

static void on_event(const dbs_event *e, void *data)
{
	rehearsal *rh = data;
	if (e->kind != DBS_EV_STATEMENT || !e->what)
		return;
	rh->s = xrealloc(rh->s, (rh->ns + 1) * sizeof(*rh->s));
	rh->s[rh->ns++] = (seen_stmt){ xstrdup(e->what), xstrdup(e->file ? e->file : ""), e->line,
				      e->us, e->rows };
}

static void on_step(const dbs_step *s, int64_t ms, const dbs_error *err, void *data)
{
	rehearsal *rh = data;
	char label[512];
	plan_label(s->entry, label, sizeof(label));
	size_t n = strlen(label);
	snprintf(label + n, sizeof(label) - n, " %s", s->direction == DBS_UP ? "up" : "down");
	const dbs_step *mine = NULL;
	for (size_t i = 0; i < rh->plan->n && !mine; i++) {
		char l2[512];
		const dbs_step *p = &rh->plan->steps[i];
		plan_label(p->entry, l2, sizeof(l2));
		size_t k = strlen(l2);
		snprintf(l2 + k, sizeof(l2) - k, " %s", p->direction == DBS_UP ? "up" : "down");
		if (!strcmp(l2, label))
			mine = p;
	}
	rh->st = xrealloc(rh->st, (rh->nst + 1) * sizeof(*rh->st));
	rh->st[rh->nst++] = (seen_step){ xstrdup(label), mine, ms, err ? report_error(err) : NULL };
}

static void rehearsal_free(rehearsal *rh)
{
	for (size_t i = 0; i < rh->ns; i++) {
		free(rh->s[i].what);
		free(rh->s[i].file);
	}
	for (size_t i = 0; i < rh->nst; i++) {
		free(rh->st[i].what);
		json_decref(rh->st[i].error);
	}
	free(rh->s);
	free(rh->st);
}

/* "a, b" as ["a", "b"]. */
static json_t *tables_json(const char *list)
{
	json_t *a = json_array();
	size_t n;
	for (const char *p = list ? list : ""; (n = list_word(&p)); p += n)
		json_array_append_new(a, json_stringn(p, n));
	return a;
}

/* Does a lock in this mode stop other sessions' writes (it conflicts with
 * ROW EXCLUSIVE), or their reads too (ACCESS EXCLUSIVE)? */
static const char *blocks(const char *mode)
{
	if (!mode)
		return "nothing";
	if (!strcmp(mode, "ACCESS EXCLUSIVE"))
		return "reads and writes";
	if (!strcmp(mode, "SHARE") || !strcmp(mode, "SHARE ROW EXCLUSIVE") ||
	    !strcmp(mode, "EXCLUSIVE"))
		return "writes";
	return "nothing";
}

/* The report of step k: its statements, the rows they changed, its locks
 * and how long each was held; *longest the longest a table (or, with one
 * writer, the database) was held against writes. */
static json_t *step_json(const rehearsal *rh, const seen_step *st, int64_t *longest,
			 json_t **worst)
{
	dbs_ctx *ctx = rh->ctx;
	const dbs_lint *lint = rh->plan->lint;
	size_t mig = 0;
	int have_lint = 0;
	for (size_t i = 0; st->step && i < rh->plan->n; i++)
		if (&rh->plan->steps[i] == st->step)
			have_lint = dbs_plan_step_lint(rh->plan, i, &mig) == 0 && lint;
	const lint_migration *lm = have_lint ? &lint->mig[mig] : NULL;
	int in_tx = st->step && !st->step->no_transaction;
	json_t *stmts = json_array(), *locks = json_array();
	int64_t rows = 0, before_us = 0, step_us = st->ms * 1000;
	int rows_known = 0;
	for (size_t i = 0; i < rh->ns; i++) {
		const seen_stmt *s = &rh->s[i];
		if (strcmp(s->what, st->what))
			continue;
		const stmt_info *si = NULL;
		for (size_t k = 0; lm && k < lm->ns && !si; k++)
			if (lm->s[k].line == s->line && lm->s[k].file && !strcmp(lm->s[k].file, s->file))
				si = &lm->s[k];
		if (s->rows >= 0) {
			rows += s->rows;
			rows_known = 1;
		}
		json_t *o = json_pack("{s:s, s:i, s:I}", "file", s->file, "line", s->line,
				      "duration_us", (json_int_t)s->us);
		if (s->rows >= 0)
			json_object_set_new(o, "rows", json_integer(s->rows));
		if (si && si->kind)
			json_object_set_new(o, "kind", json_string(si->kind));
		json_array_append_new(stmts, o);
		if (si && si->lock && !db_one_writer(ctx->driver)) {
			/* held from its statement to the commit, or for itself alone */
			int64_t held_us = in_tx ? step_us - before_us : s->us;
			if (held_us < s->us)
				held_us = s->us;
			const char *b = blocks(si->lock);
			json_t *l = json_pack("{s:s, s:o, s:s, s:I, s:s, s:i}", "scope", "tables",
					      "tables", tables_json(si->tables), "mode", si->lock,
					      "held_ms", (json_int_t)((held_us + 999) / 1000), "blocks",
					      b, "line", s->line);
			json_array_append(locks, l);
			if (strcmp(b, "nothing") && (held_us + 999) / 1000 > *longest) {
				*longest = (held_us + 999) / 1000;
				json_decref(*worst);
				*worst = json_pack("{s:s, s:O}", "migration", st->what, "lock", l);
			}
			json_decref(l);
		}
		before_us += s->us;
	}
	if (db_one_writer(ctx->driver) && st->step) {
		/* one writer at a time: its transaction held the whole database */
		json_t *l = json_pack("{s:s, s:[], s:s, s:I, s:s}", "scope", "database", "tables",
				      "mode", "write", "held_ms", (json_int_t)st->ms, "blocks", "writes");
		json_array_append(locks, l);
		if (!*worst || st->ms > *longest) {
			*longest = st->ms;
			json_decref(*worst);
			*worst = json_pack("{s:s, s:O}", "migration", st->what, "lock", l);
		}
		json_decref(l);
	}
	json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o}", "migration", st->what, "duration_ms",
			      (json_int_t)st->ms, "status", st->error ? "failed" : "succeeded",
			      "statements", stmts, "locks", locks);
	json_object_set_new(o, "rows_changed", rows_known ? json_integer(rows) : json_null());
	if (st->error)
		json_object_set(o, "error", st->error);
	return o;
}

/* ---- the scratch ---- */

/* "dbshift_rehearse_<8 hex of this database's identity>_" */
static char *scratch_prefix(dbs_ctx *ctx)
{
	char *is = NULL, sum[65];
	dbs_error e = { 0 };
	db_identity(ctx->driver, ctx->conn, &is, &e);
	dbs_error_clear(&e);
	sha256_hex(is ? is : "", is ? strlen(is) : 0, sum);
	free(is);
	return xprintf("%s%.8s_", SCRATCH_PREFIX, sum);
}

/* The run a scratch URL names (after prefix, in a file name or a
 * conninfo's dbname), or NULL. */
static char *scratch_run(const char *url, const char *prefix)
{
	const char *p = strstr(url, prefix);
	if (!p)
		return NULL;
	p += strlen(prefix);
	size_t n = strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-");
	return n ? xstrndup(p, n) : NULL;
}

/* Did run id leave its scratch on purpose (--keep), or is it running? */
static int scratch_wanted(dbs_ctx *ctx, const char *id)
{
	if (live_run_alive(ctx, id))
		return 1;
	db_rows *r = NULL;
	dbs_error e = { 0 };
	int kept = 0;
	if (!state_runs(ctx->driver, ctx->conn, id, 1, &r, &e) && r->nrows == 1 && DB_VAL(r, 0, 7)) {
		json_t *doc = json_loads(DB_VAL(r, 0, 7), 0, NULL);
		kept = json_is_string(json_object_get(doc, "scratch_kept"));
		json_decref(doc);
	}
	db_rows_free(r);
	dbs_error_clear(&e);
	return kept;
}

/* Drop the scratches of rehearsals of this database that neither run
 * nor were kept: what a killed one left.  Each dropped is said in
 * *dropped. */
static void sweep(dbs_ctx *ctx, const char *prefix, json_t *dropped)
{
	db_rows *urls = NULL;
	dbs_error e = { 0 };
	if (db_scratch_list(ctx->driver, ctx->conn, prefix, &urls, &e)) {
		ctx_warn(ctx, "cannot list the scratch databases of earlier rehearsals: %s",
			 e.message);
		dbs_error_clear(&e);
		return;
	}
	for (size_t i = 0; i < urls->nrows; i++) {
		const char *url = DB_VAL(urls, i, 0);
		char *id = scratch_run(url, prefix);
		if (!id || scratch_wanted(ctx, id)) {
			free(id);
			continue;
		}
		char *shown = dbs_redact_url(url);
		if (db_scratch_drop(ctx->driver, ctx->conn, url, &e)) {
			ctx_warn(ctx, "cannot drop %s, left by rehearsal %s: %s", shown, id, e.message);
			dbs_error_clear(&e);
		} else {
			ctx_log(ctx, "dropped %s, left by rehearsal %s", shown, id);
			json_array_append_new(dropped, json_string(shown));
		}
		free(shown);
		free(id);
	}
	db_rows_free(urls);
}

/* The backup to start from: --backup, one taken now, or the newest. */
static int pick_backup(dbs_ctx *ctx, const dbs_rehearse_opts *o, char **id)
{
	*id = NULL;
	if (o->backup) {
		*id = xstrdup(o->backup);
		return 0;
	}
	if (o->fresh) {
		char *text = NULL;
		int rc = dbs_backup(ctx, NULL, 0, NULL, NULL, id, &text);
		free(text);
		return rc;
	}
	if (!(*id = dbs_backup_newest(ctx))) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "no backup of this database to rehearse on");
		dbs_error_set_hint(&ctx->err, "take one ('dbshift backup'), name one with --backup "
				   "ID, or rehearse with --fresh");
		return DBS_EPOLICY;
	}
	return 0;
}

/* The options of the run on the scratch: this project's, on url, without
 * what reaches beyond the database (alerts, hooks, report files) and
 * without the gates the rehearsal itself is for. */
static void scratch_options(const dbs_ctx *ctx, const char *url, int assertions,
			    dbs_options *so)
{
	options_copy(so, &ctx->opts);
	char **drop[] = { &so->database, &so->notify_url, &so->report_dir, &so->before_migrate,
			  &so->after_migrate, &so->after_rollback, &so->on_failure,
			  &so->promote_from, &so->require_rehearsal };
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		free(*drop[i]);
		*drop[i] = NULL;
	}
	so->database = xstrdup(url);
	so->report_dir = xstrdup("");
	so->require_backup = 0;
	so->assertions = assertions;
}

/* Run the plan on the scratch at url. */
static int run_there(dbs_ctx *ctx, const dbs_rehearse_opts *o, const char *url, rehearsal *rh,
		     json_t **assertions)
{
	dbs_options so;  /* (the run there reads the assertions, once) */
	scratch_options(ctx, url, assertions_present(ctx), &so);
	dbs_ctx *sc = NULL;
	dbs_error e = { 0 };
	int rc = dbs_open(&sc, &so, &e);
	dbs_options_release(&so);
	if (rc) {
		dbs_error_move(&ctx->err, &e);
		return rc;
	}
	dbs_set_events(sc, DBS_EV_BIT(DBS_EV_STATEMENT), on_event, rh);
	dbs_migrate_opts mo = { .target = o->target, .force = o->force, .steps = o->steps };
	char *text = NULL;
	rc = o->rollback ? dbs_rollback(sc, &mo, on_step, rh, &text)
			 : dbs_migrate(sc, &mo, on_step, rh, &text);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	*assertions = json_incref(json_object_get(doc, "assertions"));
	json_decref(doc);
	free(text);
	if (rc) {
		dbs_error_move(&ctx->err, &sc->err);
		char *msg = xprintf("rehearsal: %s", ctx->err.message);
		free(ctx->err.message);
		ctx->err.message = msg;
		dbs_error_set_hint(&ctx->err, "it failed on the copy; the live database is as it "
				   "was. Fix the migration (or the data), and rehearse again");
	}
	dbs_close(sc);
	return rc;
}

int dbs_rehearse(dbs_ctx *ctx, const dbs_rehearse_opts *o, char **report)
{
	dbs_migrate_opts mo = { .target = o->target, .force = o->force, .steps = o->steps };
	dbs_plan *plan = NULL;
	*report = NULL;
	if (ctx->fw) {  /* its own migrate would have to be pointed at the scratch */
		dbs_fail(&ctx->err, DBS_EINPUT, "rehearse with framework = %s: not implemented",
			 ctx->fwo->name);
		dbs_error_set_hint(&ctx->err, "rehearse by hand: restore a backup into another "
				   "database ('dbshift restore ID --target URL') and migrate it");
		*report = dbs_error_json("rehearse", &ctx->err);
		return DBS_EINPUT;
	}
	int rc = o->rollback ? dbs_plan_rollback(ctx, &mo, &plan) : dbs_plan_migrate(ctx, &mo, &plan);
	if (!rc && !plan->n) {
		dbs_plan_free(plan);
		*report = report_dump(json_pack("{s:s, s:s, s:b, s:[]}", "command", "rehearse",
						"database", dbs_database_display(ctx), "nothing", 1,
						"migrations"));
		return 0;
	}
	char *backup = NULL;
	if (!rc)
		rc = pick_backup(ctx, o, &backup);
	if (rc) {
		dbs_plan_free(plan);
		*report = dbs_error_json("rehearse", &ctx->err);
		return rc;
	}
	char plan_id[65];
	json_t *plan_list = NULL;
	plan_identity(plan, plan_id, &plan_list);
	run r;
	run_open(ctx, &r, "rehearse");
	/* its row first: while it is there and alive, its scratch is its own */
	if (!r.nested && !(rc = state_ensure(ctx->driver, ctx->conn, &ctx->err))) {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		json_t *doc = json_pack("{s:s, s:i, s:s}", "command", "rehearse", "pid", (int)getpid(),
					"host", host);
		char *text = json_dumps(doc, JSON_COMPACT);
		rc = state_record_run(ctx->driver, ctx->conn, r.id, "rehearse", ctx->opts.env,
				      r.started, "running", text, &ctx->err);
		free(text);
		json_decref(doc);
		r.have_state = !rc;
		if (!rc)
			live_start(ctx, &r);
	}
	char *prefix = scratch_prefix(ctx), *name = xprintf("%s%s", prefix, r.id), *url = NULL;
	json_t *dropped = json_array(), *assertions = NULL;
	rehearsal rh = { .ctx = ctx, .plan = plan };
	if (!rc)
		sweep(ctx, prefix, dropped);
	if (!rc) {
		live_step(ctx, "restore", 0, 2);
		rc = db_scratch_create(ctx->driver, ctx->conn, name, &url, &ctx->err);
	}
	int made = !rc;
	if (!rc)
		rc = backup_load_into(ctx, backup, url);
	if (!rc) {
		live_step(ctx, o->rollback ? "rollback" : "migrate", 1, 2);
		rc = run_there(ctx, o, url, &rh, &assertions);
	}
	if (made && !o->keep) {
		dbs_error e = { 0 };
		if (db_scratch_drop(ctx->driver, ctx->conn, url, &e) && !rc) {
			dbs_error_move(&ctx->err, &e);
			rc = DBS_EFAIL;
		}
		dbs_error_clear(&e);
	}
	int64_t longest = 0;
	json_t *worst = NULL, *steps = json_array();
	for (size_t i = 0; i < rh.nst; i++) {
		json_array_append_new(steps, step_json(&rh, &rh.st[i], &longest, &worst));
		dbs_error se = { 0 };
		if (rh.st[i].error)
			se.message = (char *)json_string_value(json_object_get(rh.st[i].error,
									       "message"));
		if (rh.st[i].step)
			run_step(ctx, &r, rh.st[i].step->entry, rh.st[i].step->direction == DBS_UP
				 ? "up" : "down", rh.st[i].ms, 1, rh.st[i].error ? &se : NULL);
	}
	char *shown = url && o->keep && made ? dbs_redact_url(url) : NULL;
	r.fields = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:o, s:s?, s:o, s:I}",
			     "way", o->rollback ? "rollback" : "migrate", "plan_id", plan_id, "plan",
			     plan_list, "backup", backup, "migrations", steps, "downtime",
			     worst ? worst : json_null(), "downtime_ms", (json_int_t)longest,
			     "assertions", assertions ? assertions : json_array(), "scratch_kept",
			     shown, "scratches_dropped", dropped, "rehearsed_at_ms",
			     (json_int_t)wall_ms());
	if (!rc && r.nested)
		snprintf(ctx->rehearsed, sizeof(ctx->rehearsed), "%s", plan_id);
	free(shown);
	rc = run_end(ctx, &r, rc, report);
	rehearsal_free(&rh);
	free(url);
	free(name);
	free(prefix);
	free(backup);
	dbs_plan_free(plan);
	return rc;
}
