/*
 * hook.c - the programs of [hook "NAME"] sections, run as callbacks
 * (before_migrate, after_migrate, after_rollback, on_failure).
 *
 * A hook runs from its argv, never through a shell, in its own process
 * group: past its timeout the whole group is killed.  It gets the run's
 * facts in its environment (DBSHIFT_RUN_ID, DBSHIFT_ENV, DBSHIFT_STEP,
 * DBSHIFT_STATUS, DBSHIFT_DATABASE_URL without the password); of its
 * output a bounded tail is kept (the last 1 MB, of which the last
 * LOG_LINES lines go to the log, and the last LAST_LINES to the report).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

#define LAST_LINES 10
#define LOG_LINES 1000

/* Can argv0 be run (from cwd, for a relative path)? */
static int runnable(const char *argv0, const char *cwd)
{
	if (strchr(argv0, '/')) {
		char *p = argv0[0] != '/' && cwd ? xprintf("%s/%s", cwd, argv0) : xstrdup(argv0);
		int ok = access(p, X_OK) == 0;
		free(p);
		return ok;
	}
	const char *path = getenv("PATH");
	size_t n;
	for (const char *d = path ? path : "/usr/bin:/bin"; *d; d += n + (d[n] == ':')) {
		n = strcspn(d, ":");
		char *p = xprintf("%.*s/%s", (int)n, n ? d : ".", argv0);
		int ok = access(p, X_OK) == 0;
		free(p);
		if (ok)
			return 1;
	}
	return 0;
}

int hooks_check(dbs_ctx *ctx, const char *list)
{
	size_t n;
	for (const char *p = list ? list : ""; (n = list_word(&p)); p += n) {
		const dbs_hook *h = hook_find(ctx->opts.hooks, ctx->opts.nhooks, p, n);
		char **argv = NULL;
		if (!h || split_words(h->run, &argv, NULL))
			continue;  /* the config was checked when it was read */
		int ok = runnable(argv[0], h->cwd);
		if (!ok) {
			dbs_fail(&ctx->err, DBS_EINPUT, "hook '%s' cannot run: no program '%s'%s%s",
				 h->name, argv[0], h->cwd ? " in " : "", h->cwd ? h->cwd : "");
			dbs_error_set_hint(&ctx->err, "fix run = ... in [hook \"%s\"] (a path, or a "
					   "program on PATH, made executable); nothing was run", h->name);
		}
		free_words(argv);
		if (!ok)
			return DBS_EINPUT;
	}
	return 0;
}

/* The last lines of out, as a JSON array; each line also to the log. */
static json_t *output_lines(dbs_ctx *ctx, const run *r, const dbs_hook *h, const char *out)
{
	json_t *all = report_lines(out);
	size_t n = json_array_size(all), from = n > LOG_LINES ? n - LOG_LINES : 0;
	if (from)
		ctx_log(ctx, "[%s] hook %s: (%zu lines before these not logged)", r->id, h->name,
			from);
	for (size_t i = from; i < n; i++)
		ctx_log(ctx, "[%s] hook %s: %s", r->id, h->name,
			json_string_value(json_array_get(all, i)));
	while (json_array_size(all) > LAST_LINES)
		json_array_remove(all, 0);
	return all;
}

/* Run one hook; 0, or its failure in err. */
static int hook_once(dbs_ctx *ctx, const run *r, const dbs_hook *h, const char *when,
		     const char *status, int *code, char **out, dbs_error *err)
{
	char **argv = NULL, **env = NULL;
	size_t nenv = 0;
	split_words(h->run, &argv, NULL);
	if (h->env)
		split_words(h->env, &env, &nenv);
	/* The database's URL and password go to a hook only when its env asks
	 * for them by name (a bare KEY passes on dbshift's own value). */
	const char *secret[] = { "DATABASE_URL", "PGPASSWORD", NULL }, *unset_env[3] = { 0 };
	for (size_t i = 0, k = 0; secret[i]; i++) {
		int asked = 0;
		for (size_t j = 0; j < nenv; j++)
			asked |= !strcmp(env[j], secret[i]) ||
				 (!strncmp(env[j], secret[i], strlen(secret[i])) &&
				  env[j][strlen(secret[i])] == '=');
		if (!asked)
			unset_env[k++] = secret[i];
	}
	for (size_t j = 0; j < nenv; j++)
		if (!strchr(env[j], '=')) {
			const char *v = getenv(env[j]);
			char *kv = xprintf("%s=%s", env[j], v ? v : "");
			free(env[j]);
			env[j] = kv;
		}
	env = xrealloc(env, (nenv + 6) * sizeof(char *));
	env[nenv++] = xprintf("DBSHIFT_RUN_ID=%s", r->id);
	env[nenv++] = xprintf("DBSHIFT_ENV=%s", ctx->opts.env ? ctx->opts.env : "");
	env[nenv++] = xprintf("DBSHIFT_STEP=%s", when);
	env[nenv++] = xprintf("DBSHIFT_STATUS=%s", status);
	env[nenv++] = xprintf("DBSHIFT_DATABASE_URL=%s", ctx->display_url ? ctx->display_url : "");
	env[nenv] = NULL;
	/* the last 1 MB of what it prints: the log and the report keep a tail */
	spawn_opts so = { .cwd = h->cwd, .timeout_ms = h->timeout_ms, .max_out = 1 << 20,
			  .keep_tail = 1, .unset_env = unset_env };
	*code = -1;
	int rc = spawn_full((const char *const *)argv, (const char *const *)env, &so, out, code,
			    err);
	if (so.dropped && *out) {
		char *kept = xprintf("(the first %zu bytes of its output were not kept)\n%s",
				     so.dropped, *out);
		free(*out);
		*out = kept;
	}
	if (!rc && *code != 0) {
		rc = dbs_fail(err, DBS_EFAIL, "hook '%s' failed (exit %d)", h->name, *code);
		dbs_error_set_hint(err, "its output is in the log and the run's report; fix what "
				   "it reports, or mark it critical = false if the run may go on "
				   "without it");
	} else if (rc && so.timed_out) {
		dbs_fail(err, DBS_EFAIL, "hook '%s' ran past its timeout of %d ms and was "
			 "killed, with its process group", h->name, h->timeout_ms);
		dbs_error_set_hint(err, "make it finish sooner, or raise timeout in [hook \"%s\"]",
				   h->name);
	}
	free_words(argv);
	free_words(env);
	return rc;
}

int hook_step(dbs_ctx *ctx, const run *r, const dbs_hook *h, const char *when,
	      const char *status, json_t **result, dbs_error *err)
{
	int code;
	char *out = NULL;
	ctx_log(ctx, "[%s] hook %s (%s): started", r->id, h->name, when);
	int rc = hook_once(ctx, r, h, when, status, &code, &out, err);
	*result = json_pack("{s:s, s:b}", "hook", h->name, "critical", h->critical);
	if (code >= 0)
		json_object_set_new(*result, "exit_code", json_integer(code));
	json_object_set_new(*result, "output", output_lines(ctx, r, h, out));
	free(out);
	ctx_log(ctx, "[%s] hook %s (%s): %s", r->id, h->name, when, rc ? err->message : "ok");
	return rc;
}

int hooks_run(dbs_ctx *ctx, run *r, const char *when, const char *list, const char *status,
	      dbs_error *err)
{
	size_t n;
	for (const char *p = list ? list : ""; (n = list_word(&p)); p += n) {
		const dbs_hook *h = hook_find(ctx->opts.hooks, ctx->opts.nhooks, p, n);
		if (!h)
			continue;
		json_t *s = NULL;
		dbs_error e = { 0 };
		int64_t t0 = now_ms();
		int rc = hook_step(ctx, r, h, when, status, &s, &e);
		/* a step of r: {hook, action, status, critical, duration_ms, exit_code, output} */
		json_object_update_new(s, json_pack("{s:s, s:s, s:I}", "action", when, "status",
						    rc ? "failed" : "succeeded", "duration_ms",
						    (json_int_t)(now_ms() - t0)));
		run_add_step(r, s, rc ? &e : NULL);
		if (rc && h->critical) {
			/* the hooks after it do not run */
			dbs_error_clear(err);
			*err = e;
			return DBS_EFAIL;
		}
		if (rc)
			ctx_warn(ctx, "%s", e.message);
		dbs_error_clear(&e);
	}
	return 0;
}

void hooks_on_failure(dbs_ctx *ctx, run *r)
{
	dbs_error e = { 0 };
	if (hooks_run(ctx, r, "on_failure", ctx->opts.on_failure, "failed", &e))
		ctx_warn(ctx, "%s", e.message);
	dbs_error_clear(&e);
}
