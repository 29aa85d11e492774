/*
 * release.c - dbshift release: the steps of [release] (or, with
 * --rollback, rollback_steps) as one run.
 *
 * Everything that can be checked is checked before the first step: the
 * steps, each hook's program, the data files, the health targets, the
 * plan of the first migrate (or rollback) step with its risk, and, with
 * --from, that the steps before it succeeded in the last release.  Then,
 * under the migrator lock, the steps run in order; migrate, rollback and
 * data runs inside are parts of this run (one report, one row of
 * dbshift_runs, one alert at each end).  A failed critical step stops
 * the release and the steps after it are "skipped"; a failed
 * non-critical one is a warning and the release goes on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define HEALTH_PROBE_MS 3000
#define HEALTH_PAUSE_MS 1000

typedef struct release {
	dbs_ctx *ctx;
	const dbs_release_opts *o;
	release_step *steps;
	size_t n;
	size_t from;            /* the first step to run (--from) */
	json_t *prior;          /* --from: the last release's report */
	dbs_migrate_opts mo;    /* for migrate and rollback steps */
	assertion_set checks;   /* for an assert step: read, and the invariants
				 * taken, before the first step */
} release;

static const char *runbook(const release *rl)
{
	return rl->o->rollback ? "rollback" : "release";
}

/* Walk a "host:port, ..." or "URL, ..." list: fn sees each target. */
static void each_target(const char *list, const char *kind,
			void (*fn)(const char *target, const char *kind, void *data), void *data)
{
	size_t n;
	for (const char *p = list ? list : ""; (n = list_word(&p)); p += n) {
		char *t = xstrndup(p, n);
		fn(t, kind, data);
		free(t);
	}
}

static void target_json(const char *target, const char *kind, void *data)
{
	json_array_append_new(data, json_pack("{s:s, s:s}", "kind", kind, "target", target));
}

/* The health targets: [{kind, target}]. */
static json_t *health_targets(const dbs_ctx *ctx)
{
	json_t *t = json_array();
	each_target(ctx->opts.check_http, "http", target_json, t);
	each_target(ctx->opts.check_tcp, "tcp", target_json, t);
	return t;
}

/* The paths of data_files, as an array. */
static json_t *data_files(const dbs_ctx *ctx)
{
	json_t *a = json_array();
	size_t n;
	for (const char *p = ctx->opts.data_files ? ctx->opts.data_files : ""; (n = list_word(&p));
	     p += n)
		json_array_append_new(a, json_stringn(p, n));
	return a;
}

/* ---- before anything runs ---- */

static int load_steps(release *rl)
{
	dbs_ctx *ctx = rl->ctx;
	const char *value = rl->o->rollback ? ctx->opts.rollback_steps : ctx->opts.release_steps;
	char *why = NULL;
	if (!value) {
		dbs_fail(&ctx->err, DBS_EINPUT, "no %s in dbshift.conf",
			 rl->o->rollback ? "rollback_steps" : "[release] steps");
		dbs_error_set_hint(&ctx->err, rl->o->rollback
			? "add to [release]: rollback_steps = backup rollback verify health"
			: "add a section [release] with, for example: steps = doctor backup "
			  "migrate verify");
		return DBS_EINPUT;
	}
	if (steps_parse(value, rl->o->rollback, ctx->opts.hooks, ctx->opts.nhooks,
			ctx->opts.sections, ctx->opts.nsections,
			ctx->opts.non_critical, &rl->steps, &rl->n, &why)) {
		dbs_fail(&ctx->err, DBS_EINPUT, "%s", why);  /* the config was checked */
		free(why);
		return DBS_EINPUT;
	}
	return 0;
}

/* The step of the last release that has this word, or NULL. */
static json_t *prior_step(const release *rl, const char *word)
{
	json_t *steps = json_object_get(rl->prior, "steps");
	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i);
		const char *w = json_string_value(json_object_get(s, "step"));
		if (w && !strcmp(w, word))
			return s;
	}
	return NULL;
}

/* --from STEP: the last release of this runbook, and every step before
 * STEP succeeded in it (or, with --force, failed as a non-critical one). */
static int resume_check(release *rl)
{
	dbs_ctx *ctx = rl->ctx;
	const char *from = rl->o->from;
	for (rl->from = 0; rl->from < rl->n && strcmp(rl->steps[rl->from].word, from); rl->from++)
		;
	if (rl->from == rl->n) {
		dbs_fail(&ctx->err, DBS_EINPUT, "--from %s: no such step in %s", from,
			 rl->o->rollback ? "rollback_steps" : "steps");
		dbs_error_set_hint(&ctx->err, "give one of the steps as written in [release]");
		return DBS_EINPUT;
	}
	char *text = NULL;
	int rc = state_last_run(ctx->driver, ctx->conn, "release", ctx->opts.env, &text, &ctx->err);
	if (rc)
		return rc;
	rl->prior = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	const char *book = json_string_value(json_object_get(rl->prior, "runbook"));
	const char *id = json_string_value(json_object_get(rl->prior, "run_id"));
	if (!rl->prior) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "--from %s: no earlier release%s%s to resume", from,
			 ctx->opts.env ? " in environment " : "", ctx->opts.env ? ctx->opts.env : "");
		dbs_error_set_hint(&ctx->err, "run the whole runbook, without --from");
		return DBS_EPOLICY;
	}
	if (!book || strcmp(book, runbook(rl))) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "--from %s: the last release, %s, ran the %s "
			 "runbook", from, id ? id : "?", rl->o->rollback ? "release" : "rollback");
		dbs_error_set_hint(&ctx->err, "run the whole runbook, without --from");
		return DBS_EPOLICY;
	}
	for (size_t i = 0; i < rl->from; i++) {
		json_t *s = prior_step(rl, rl->steps[i].word);
		const char *st = s ? json_string_value(json_object_get(s, "status")) : NULL;
		int noncrit = s && json_is_false(json_object_get(s, "critical"));
		if (st && (!strcmp(st, "succeeded") || (!strcmp(st, "failed") && noncrit &&
							 rl->o->force)))
			continue;
		dbs_fail(&ctx->err, DBS_EPOLICY, "--from %s: step %s %s in release %s", from,
			 rl->steps[i].word, !st ? "was not in it" : !strcmp(st, "failed")
			 ? "failed" : "did not run", id);
		if (st && !strcmp(st, "failed") && noncrit)
			dbs_error_set_hint(&ctx->err, "resume from it (--from %s), or pass over its "
					   "failure with --force", rl->steps[i].word);
		else
			dbs_error_set_hint(&ctx->err, "resume from it: --from %s", rl->steps[i].word);
		return DBS_EPOLICY;
	}
	/* the data the migrations of that release left to its data step */
	json_t *left = json_object_get(rl->prior, "data_deferred");
	for (size_t i = 0; i < json_array_size(left); i++)
		json_array_append(ctx->deferred, json_array_get(left, i));
	return 0;
}

/* The options of a migrate or rollback step. */
static dbs_migrate_opts step_opts(const release *rl, const release_step *s)
{
	dbs_migrate_opts mo = rl->mo;
	mo.phase = s->phase;
	return mo;
}

/* Plan a migrate or rollback step as it would run now (force: judge the
 * risk without refusing). */
static int plan_step(release *rl, const release_step *s, int force, dbs_plan **plan)
{
	dbs_migrate_opts mo = step_opts(rl, s);
	mo.force |= force;
	return s->kind == STEP_ROLLBACK ? dbs_plan_rollback(rl->ctx, &mo, plan)
					: dbs_plan_migrate(rl->ctx, &mo, plan);
}

/* Is every step able to run?  Hooks, callbacks, health targets and data
 * files; the first migrate or rollback step's plan and risk. */
static int precheck(release *rl)
{
	/* (a dry run shows the plans, refused or not) */
	dbs_ctx *ctx = rl->ctx;
	const dbs_options *op = &ctx->opts;
	int rc = hooks_check(ctx, op->on_failure), planned = 0, rehearsed = 0;
	for (size_t i = rl->from; !rc && i < rl->n; i++) {
		const release_step *s = &rl->steps[i];
		switch (s->kind) {
		case STEP_HOOK:
			rc = hooks_check(ctx, s->hook->name);
			break;
		case STEP_HEALTH:
			if (!op->check_http && !op->check_tcp) {
				rc = dbs_fail(&ctx->err, DBS_EINPUT, "step health has nothing to check");
				dbs_error_set_hint(&ctx->err, "set check_http (URLs) or check_tcp "
						   "(host:port) in dbshift.conf");
			}
			break;
		case STEP_DATA: {
			json_t *files = data_files(ctx);
			for (size_t k = 0; !rc && k < json_array_size(files); k++)
				rc = data_check(json_string_value(json_array_get(files, k)), &ctx->err);
			if (rc && !ctx->err.line)  /* not there: the setting is what to fix */
				dbs_error_set_hint(&ctx->err, "check data_files in [release] (paths "
						   "from where dbshift runs)");
			json_decref(files);
			break;
		}
		case STEP_VERIFY: {  /* its snapshot, before anything changes */
			char *text = NULL;
			if (op->schema_file && read_file(op->schema_file, &text, NULL) < 0) {
				rc = dbs_fail(&ctx->err, DBS_EINPUT, "step verify: cannot read "
					      "schema_file '%s': %s", op->schema_file,
					      read_file_error(errno));
				dbs_error_set_hint(&ctx->err, "write it with 'dbshift schema dump "
						   "FILE' on a database in the right state, or fix "
						   "schema_file in dbshift.conf");
			}
			free(text);
			break;
		}
		case STEP_ASSERT:
			rc = assertions_load(ctx, 1, &rl->checks);
			break;
		case STEP_REHEARSE:
			rehearsed = 1;  /* it answers require_rehearsal for what follows */
			break;
		case STEP_MOVE:
			rc = move_check(ctx, s, rl->o->rollback);
			break;
		case STEP_MIGRATE:
		case STEP_ROLLBACK:
			rc = hooks_check(ctx, s->kind == STEP_MIGRATE ? op->before_migrate
							: op->after_rollback);
			if (!rc && s->kind == STEP_MIGRATE)
				rc = hooks_check(ctx, op->after_migrate);
			if (!rc && !planned++ && !rl->o->dry_run) {
				dbs_plan *plan = NULL;
				json_t *facts = NULL;
				rc = plan_step(rl, s, 0, &plan);
				/* promotion order: refused before the first step */
				if (!rc && plan->n && s->kind == STEP_MIGRATE && op->promote_from)
					rc = promotion_gate(ctx, plan, rl->o->force, &facts);
				json_decref(facts);
				facts = NULL;
				if (!rc && plan->n && s->kind == STEP_MIGRATE && !rehearsed &&
				    op->require_rehearsal)
					rc = rehearsal_gate(ctx, plan, rl->o->force, &facts);
				json_decref(facts);
				dbs_plan_free(plan);
			}
			break;
		default:
			break;
		}
	}
	return rc;
}

/* ---- --dry-run: what each step would do ---- */

static json_t *hook_json(const dbs_hook *h)
{
	char **argv = NULL, **env = NULL;
	split_words(h->run, &argv, NULL);
	json_t *a = json_array(), *e = json_array();
	for (size_t i = 0; argv && argv[i]; i++)
		json_array_append_new(a, json_string(argv[i]));
	if (h->env && !split_words(h->env, &env, NULL))
		for (size_t i = 0; env[i]; i++)  /* names only: values may be secrets */
			json_array_append_new(e, json_stringn(env[i], strcspn(env[i], "=")));
	free_words(argv);
	free_words(env);
	return json_pack("{s:o, s:i, s:s?, s:o}", "argv", a, "timeout_ms", h->timeout_ms, "cwd",
			 h->cwd, "env", e);
}

static json_t *would(release *rl, const release_step *s, int *blocked)
{
	dbs_ctx *ctx = rl->ctx;
	const dbs_options *op = &ctx->opts;
	switch (s->kind) {
	case STEP_BACKUP:
		return json_pack("{s:s, s:s, s:b}", "backup_dir", op->backup_dir ? op->backup_dir
				 : "backups", "format", db_dump_format(ctx->driver, NULL), "verify", 1);
	case STEP_MIGRATE:
	case STEP_ROLLBACK: {
		dbs_plan *plan = NULL;
		json_t *w;
		if (plan_step(rl, s, 1, &plan)) {
			w = json_pack("{s:o}", "error", report_error(&ctx->err));
			dbs_error_clear(&ctx->err);
		} else {
			dbs_level max = DBS_RED;
			if (op->max_risk)
				dbs_level_parse(op->max_risk, &max);
			int over = plan->lint && dbs_lint_worst(plan->lint) > max && !rl->o->force;
			w = json_pack("{s:o, s:s, s:b}", "plan", report_plan_steps(plan), "max_risk",
				      dbs_level_name(max), "blocked", over);
			if (plan->lint)
				json_object_set_new(w, "risk", report_risk(plan->lint));
			*blocked |= over;
		}
		dbs_plan_free(plan);
		return w;
	}
	case STEP_DATA:
		return json_pack("{s:o}", "files", data_files(ctx));
	case STEP_VERIFY:
		return json_pack("{s:s?}", "schema_file", op->schema_file);
	case STEP_HEALTH:
		return json_pack("{s:o, s:i}", "targets", health_targets(ctx), "timeout_ms",
				 op->health_timeout_ms);
	case STEP_HOOK:
		return hook_json(s->hook);
	case STEP_ASSERT:
		return json_pack("{s:o}", "assertions", assertions_list(&rl->checks));
	case STEP_REHEARSE:
		return json_pack("{s:s}", "way", rl->o->rollback ? "rollback" : "migrate");
	case STEP_MOVE:
		return move_would(ctx, s, rl->o->rollback);
	default:
		return json_object();
	}
}

static int dry_run(release *rl, char **report)
{
	dbs_ctx *ctx = rl->ctx;
	json_t *steps = json_array();
	int blocked = 0;
	for (size_t i = 0; i < rl->n; i++) {
		const release_step *s = &rl->steps[i];
		json_t *st = json_pack("{s:s, s:b}", "step", s->word, "critical", s->critical);
		if (i < rl->from)
			json_object_set_new(st, "skip", json_string("succeeded in the last release"));
		else
			json_object_set_new(st, "would", would(rl, s, &blocked));
		json_array_append_new(steps, st);
	}
	json_t *doc = json_pack("{s:s, s:s, s:b, s:s?, s:s, s:o}", "command", "release",
				"runbook", runbook(rl), "dry_run", 1, "environment", ctx->opts.env,
				"database", ctx->display_url, "steps", steps);
	*report = report_dump(doc);
	if (!blocked)
		return 0;
	dbs_fail(&ctx->err, DBS_EPOLICY, "the release would be refused: a plan's risk is above "
		 "max_risk");
	dbs_error_set_hint(&ctx->err, "see the plan's findings ('dbshift lint'), or, reviewed, "
			   "run with --force");
	return DBS_EPOLICY;
}

/* ---- the steps ---- */

/* A sub-command's JSON report, as a step's result. */
static json_t *parsed(char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return j ? j : json_null();
}

/* Checks failed: a doctor or verify step fails with how many. */
static int checks_failed(dbs_ctx *ctx, const char *what, int failed)
{
	if (!failed)
		return 0;
	dbs_fail(&ctx->err, DBS_EFAIL, "%s: %d check%s failed", what, failed, failed == 1 ? "" : "s");
	dbs_error_set_hint(&ctx->err, "the step's result in the report lists them; 'dbshift %s' "
			   "shows them", what);
	return DBS_EFAIL;
}

static int step_backup(dbs_ctx *ctx, json_t **result)
{
	char *id = NULL, *text = NULL;
	int rc = dbs_backup(ctx, NULL, 0, NULL, NULL, &id, &text);
	json_decref(*result);
	*result = parsed(text);
	if (!rc && !(rc = dbs_backup_verify(ctx, id, 0, NULL)))
		ctx->backed_up = 1;  /* require_backup is met */
	free(id);
	return rc;
}

/* assess fails when sessions would block the migration, or the risk is
 * above max_risk (without --force). */
static int step_assess(release *rl, json_t **result)
{
	dbs_ctx *ctx = rl->ctx;
	char *text = NULL;
	int stop = 0;
	const release_step *m = NULL;
	for (size_t i = 0; i < rl->n && !m; i++)
		if (rl->steps[i].kind == STEP_MIGRATE)
			m = &rl->steps[i];
	dbs_migrate_opts mo = rl->mo;
	mo.phase = m ? m->phase : NULL;
	int rc = dbs_assess(ctx, &mo, setting_ms(ctx->opts.doctor_long_query,
					       "doctor_long_query") / 1000, &text, &stop);
	json_decref(*result);
	*result = parsed(text);
	if (rc)
		return rc;
	size_t blockers = json_array_size(json_object_get(*result, "blockers"));
	const char *worst = json_string_value(json_object_get(json_object_get(*result, "risk"),
							      "worst"));
	dbs_level w = DBS_GREEN, max = DBS_RED;
	if (worst)
		dbs_level_parse(worst, &w);
	if (ctx->opts.max_risk)
		dbs_level_parse(ctx->opts.max_risk, &max);
	if (blockers) {
		dbs_fail(&ctx->err, DBS_EFAIL, "assess: %zu session%s would block the migration",
			 blockers, blockers == 1 ? "" : "s");
		dbs_error_set_hint(&ctx->err, "see them in the step's result; wait, or end them");
		return DBS_EFAIL;
	}
	if (w > max && !rl->o->force) {
		dbs_fail(&ctx->err, DBS_EPOLICY, "assess: the risk is %s, above max_risk %s",
			 dbs_level_name(w), dbs_level_name(max));
		dbs_error_set_hint(&ctx->err, "make the migrations safer, or, reviewed, run with "
				   "--force");
		return DBS_EPOLICY;
	}
	return 0;
}

/* The data runs the migrations left to this step (from their
 * checkpoints), then data_files. */
static int has_value(const json_t *a, const json_t *s)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		if (json_equal(json_array_get(a, i), s))
			return 1;
	return 0;
}

static int step_data(dbs_ctx *ctx, json_t **result)
{
	json_t *runs = json_array(), *files = json_array(), *more = data_files(ctx);
	/* first what an earlier release left unfinished (it resumes), then
	 * this release's migrations' data and data_files */
	int rc = data_unfinished(ctx, files);
	for (size_t i = 0; i < json_array_size(ctx->deferred); i++)
		if (!has_value(files, json_array_get(ctx->deferred, i)))
			json_array_append(files, json_array_get(ctx->deferred, i));
	for (size_t i = 0; i < json_array_size(more); i++)
		if (!has_value(files, json_array_get(more, i)))
			json_array_append(files, json_array_get(more, i));
	json_decref(more);
	for (size_t i = 0; !rc && i < json_array_size(files); i++) {
		json_t *one = NULL;
		rc = data_step(ctx, json_string_value(json_array_get(files, i)), &one);
		if (one)
			json_array_append_new(runs, one);
	}
	json_decref(files);
	json_decref(*result);
	*result = json_pack("{s:o}", "runs", runs);
	return rc;
}

typedef struct health_state {
	json_t *list;     /* [{kind, target, status, attempts, error}] */
	size_t down;
} health_state;

static void probe_one(const char *target, const char *kind, void *data)
{
	health_state *h = data;
	json_t *t = NULL;
	for (size_t i = 0; i < json_array_size(h->list) && !t; i++) {
		json_t *c = json_array_get(h->list, i);
		if (!strcmp(json_string_value(json_object_get(c, "target")), target))
			t = c;
	}
	if (!t) {
		t = json_pack("{s:s, s:s, s:s, s:i}", "kind", kind, "target", target, "status",
			      "down", "attempts", 0);
		json_array_append_new(h->list, t);
	}
	if (!strcmp(json_string_value(json_object_get(t, "status")), "up"))
		return;
	char *why = kind[0] == 'h' ? probe_http(target, HEALTH_PROBE_MS)
				   : probe_tcp(target, HEALTH_PROBE_MS);
	json_object_set_new(t, "attempts",
			    json_integer(json_integer_value(json_object_get(t, "attempts")) + 1));
	json_object_set_new(t, "status", json_string(why ? "down" : "up"));
	if (why)
		json_object_set_new(t, "error", json_string(why));
	else
		json_object_del(t, "error");
	h->down += why != NULL;
	free(why);
}

/* Probe every check_http and check_tcp target until all answer or
 * health_timeout has passed. */
static int step_health(dbs_ctx *ctx, json_t **result)
{
	health_state h = { json_array(), 0 };
	int64_t deadline = now_ms() + ctx->opts.health_timeout_ms;
	for (;;) {
		h.down = 0;
		each_target(ctx->opts.check_http, "http", probe_one, &h);
		each_target(ctx->opts.check_tcp, "tcp", probe_one, &h);
		int64_t left = deadline - now_ms();
		if (!h.down || left <= 0)
			break;
		sleep_ms(left < HEALTH_PAUSE_MS ? (int)left : HEALTH_PAUSE_MS);
	}
	json_decref(*result);
	*result = json_pack("{s:o, s:i}", "targets", h.list, "timeout_ms",
			    ctx->opts.health_timeout_ms);
	if (!h.down)
		return 0;
	dbs_fail(&ctx->err, DBS_EFAIL, "health: %zu target%s still down after %d ms", h.down,
		 h.down == 1 ? "" : "s", ctx->opts.health_timeout_ms);
	dbs_error_set_hint(&ctx->err, "the step's result says which and why; check the service, "
			   "or raise health_timeout in [release]");
	return DBS_EFAIL;
}

/* The assertions, the invariants against what they were when the
 * release began. */
static int step_assert(release *rl, json_t **result)
{
	dbs_ctx *ctx = rl->ctx;
	json_t *list = json_array();
	int failed = 0, rc = assertions_check(ctx, &rl->checks, list, &failed);
	if (rc == DBS_EINPUT)  /* found as it ran, after steps that may have changed things */
		ctx->err.code = rc = DBS_EFAIL;
	json_decref(*result);
	*result = json_pack("{s:o, s:i}", "checks", list, "failed", failed);
	if (!rc && failed) {
		char *what = assertions_failures(list);
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "assert: %d of %zu assertion%s failed: %s",
			      failed, json_array_size(list), json_array_size(list) == 1 ? "" : "s",
			      what);
		free(what);
		dbs_error_set_hint(&ctx->err, "the step's result shows their rows; 'dbshift "
				   "verify' runs them again");
	}
	return rc;
}

/* Does the verify at step i expect pending migrations: after a rollback,
 * or when the migrate before it applied only the expand phase? */
static int pending_expected(const release *rl, size_t i)
{
	if (rl->o->rollback)
		return 1;
	while (i-- > 0)
		if (rl->steps[i].kind == STEP_MIGRATE)
			return rl->steps[i].phase && !strcmp(rl->steps[i].phase, "expand");
	return 0;
}

static int run_one(release *rl, run *r, size_t i, json_t **result)
{
	dbs_ctx *ctx = rl->ctx;
	const release_step *s = &rl->steps[i];
	char *text = NULL;
	int rc = 0, failed = 0;
	dbs_migrate_opts mo = step_opts(rl, s);
	switch (s->kind) {
	case STEP_DOCTOR:
		if (!(rc = dbs_doctor(ctx, &text, &failed)))
			rc = checks_failed(ctx, "doctor", failed);
		break;
	case STEP_BACKUP:
		return step_backup(ctx, result);
	case STEP_ASSESS:
		return step_assess(rl, result);
	case STEP_MIGRATE:
		rc = dbs_migrate(ctx, &mo, NULL, NULL, &text);
		break;
	case STEP_ROLLBACK:
		rc = dbs_rollback(ctx, &mo, NULL, NULL, &text);
		break;
	case STEP_DATA:
		return step_data(ctx, result);
	case STEP_VERIFY:
		if (!(rc = verify_run(ctx, ctx->opts.schema_file, NULL, pending_expected(rl, i),
				      &text, &failed)))
			rc = checks_failed(ctx, "verify", failed);
		break;
	case STEP_HEALTH:
		return step_health(ctx, result);
	case STEP_ASSERT:
		return step_assert(rl, result);
	case STEP_REHEARSE: {
		dbs_rehearse_opts ro = { .target = rl->o->target, .rollback = rl->o->rollback,
					 .force = rl->o->force };
		rc = dbs_rehearse(ctx, &ro, &text);
		break;
	}
	case STEP_MOVE:
		return move_step(ctx, s, r->id, rl->o->rollback, result);
	case STEP_HOOK: {
		json_decref(*result);
		dbs_error e = { 0 };
		rc = hook_step(ctx, r, s->hook, s->word, "running", result, &e);
		ctx_forget_lints(ctx);  /* it may have changed the schema */
		if (rc) {
			dbs_error_clear(&ctx->err);
			ctx->err = e;
		}
		return rc;
	}
	}
	json_decref(*result);
	*result = parsed(text);
	return rc;
}

/* Record step i: {step, critical, status, duration_ms, result, error}. */
static void record(release *rl, run *r, size_t i, const char *status, int64_t ms,
		   json_t *result, const char *why, const dbs_error *err, dbs_release_cb cb,
		   void *cb_data)
{
	const release_step *s = &rl->steps[i];
	json_t *st = json_pack("{s:s, s:b, s:s, s:I}", "step", s->word, "critical", s->critical,
			       "status", status, "duration_ms", (json_int_t)ms);
	if (result)
		json_object_set_new(st, "result", result);
	if (why)
		json_object_set_new(st, "reason", json_string(why));
	run_add_step(r, st, err);
	ctx_log(rl->ctx, "[%s] step %s: %s%s%s", r->id, s->word, status, err ? ": " : "",
		err ? err->message : "");
	if (cb)
		cb(s->word, status, ms, err, cb_data);
}

/* Run the steps from rl->from, r the release's run; the failure of a
 * critical step is the release's (in ctx->err). */
static int run_steps(release *rl, run *r, dbs_release_cb cb, void *cb_data)
{
	dbs_ctx *ctx = rl->ctx;
	int rc = 0, stopped = 0;
	const char *prior_id = json_string_value(json_object_get(rl->prior, "run_id"));
	for (size_t i = 0; i < rl->n; i++) {
		if (i < rl->from) {
			json_t *p = prior_step(rl, rl->steps[i].word);
			char *why = xprintf("%s in release %s", !strcmp(json_string_value(
				json_object_get(p, "status")), "succeeded") ? "succeeded"
				: "failed, not critical, passed over with --force", prior_id);
			record(rl, r, i, "skipped", 0, NULL, why, NULL, cb, cb_data);
			free(why);
			continue;
		}
		if (!rc && rl->o->stop && __atomic_load_n(rl->o->stop, __ATOMIC_RELAXED)) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "stopped before step %s: %zu of %zu "
				      "steps ran", rl->steps[i].word, i, rl->n);
			dbs_error_set_hint(&ctx->err, "resume it with 'dbshift release%s --from %s'",
					   rl->o->rollback ? " --rollback" : "", rl->steps[i].word);
			stopped = 1;
		}
		if (rc) {
			record(rl, r, i, "skipped", 0, NULL, stopped ? "stopped (interrupted)"
			       : "an earlier critical step failed", NULL, cb, cb_data);
			continue;
		}
		json_t *result = json_null();
		int64_t t0 = now_ms();
		ctx_log(ctx, "[%s] step %s: started", r->id, rl->steps[i].word);
		live_step(ctx, rl->steps[i].word, i, rl->n);
		ctx->outer = r;
		int step_rc = run_one(rl, r, i, &result);
		ctx->outer = NULL;
		record(rl, r, i, step_rc ? "failed" : "succeeded", now_ms() - t0, result, NULL,
		       step_rc ? &ctx->err : NULL, cb, cb_data);
		if (step_rc)
			live_error(ctx, rl->steps[i].word, &ctx->err);
		if (step_rc && rl->steps[i].critical) {
			rc = step_rc;
		} else if (step_rc) {
			ctx_warn(ctx, "step %s failed (not critical, the release goes on): %s",
				 rl->steps[i].word, ctx->err.message);
			dbs_error_clear(&ctx->err);
		}
	}
	return rc;
}

int dbs_release(dbs_ctx *ctx, const dbs_release_opts *o, dbs_release_cb cb, void *cb_data,
		char **report)
{
	release rl = { .ctx = ctx, .o = o };
	*report = NULL;
	ctx->runbook = runbook(&rl);  /* for its alerts */
	ctx->rehearsed[0] = '\0';
	ctx->forced = o->force;
	rl.mo = (dbs_migrate_opts){ .target = o->target, .force = o->force, .stop = o->stop };
	json_decref(ctx->deferred);
	ctx->deferred = json_array();
	int rc = load_steps(&rl);
	if (!rc)
		rc = ctx_load_state(ctx);
	if (!rc && o->from)
		rc = resume_check(&rl);
	if (!rc)
		rc = precheck(&rl);
	if (!rc && o->dry_run)
		rc = dry_run(&rl, report);
	else if (!rc && rl.checks.ninvariants)  /* what the release must not change */
		rc = assertions_before(ctx, &rl.checks);
	if (rc || o->dry_run) {
		if (rc && !o->dry_run) {
			notice n = { NULL, "release", "failed", NULL, &ctx->err, -1, NULL };
			ctx_notify(ctx, &n);
		}
		if (rc && (!o->dry_run || !*report))
			*report = dbs_error_json("release", &ctx->err);
		steps_free(rl.steps, rl.n);
		json_decref(rl.prior);
		assertions_free(&rl.checks);
		ctx->runbook = NULL;
		ctx->forced = 0;
		return rc;
	}
	run r;
	for (size_t i = 0; i < rl.n; i++)  /* the data step runs the migrations' data */
		ctx->defer_data |= rl.steps[i].kind == STEP_DATA;
	rc = run_begin(ctx, &r, "release");
	if (!rc)
		rc = run_steps(&rl, &r, cb, cb_data);
	if (rc)
		hooks_on_failure(ctx, &r);
	r.fields = json_pack("{s:s, s:O}", "runbook", runbook(&rl), "data_deferred",
			      ctx->deferred);
	if (o->from)
		json_object_set_new(r.fields, "resumed_from", json_pack("{s:s, s:O}", "step", o->from,
			"run_id", json_object_get(rl.prior, "run_id")));
	ctx->defer_data = ctx->backed_up = 0;
	ctx->rehearsed[0] = '\0';
	rc = run_end(ctx, &r, rc, report);
	ctx->runbook = NULL;
	ctx->forced = 0;
	ctx_drop_state(ctx);
	steps_free(rl.steps, rl.n);
	json_decref(rl.prior);
	assertions_free(&rl.checks);
	return rc;
}
