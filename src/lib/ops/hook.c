/*
 * hook.c - the programs of [hook "NAME"] sections, run as callbacks
 * (before_migrate, after_migrate, after_rollback, on_failure).
 *
 * A hook runs from its argv, never through a shell, in its own process
 * group: past its timeout the whole group is killed.  It gets the run's
 * facts in its environment (DBSHIFT_RUN_ID, DBSHIFT_ENV, DBSHIFT_STEP,
 * DBSHIFT_STATUS, DBSHIFT_DATABASE_URL without the password); its output
 * goes to the log, and its last lines into the run's report.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

#define LAST_LINES 10

static const dbs_hook *find_hook(const dbs_ctx *ctx, const char *name, size_t len)
{
	for (size_t i = 0; i < ctx->opts.nhooks; i++)
		if (strlen(ctx->opts.hooks[i].name) == len &&
		    !strncmp(ctx->opts.hooks[i].name, name, len))
			return &ctx->opts.hooks[i];
	return NULL;
}

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
	for (const char *p = list ? list : ""; *(p += strspn(p, " \t,")); p += n) {
		n = strcspn(p, " \t,");
		const dbs_hook *h = find_hook(ctx, p, n);
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
	json_t *all = json_array();
	for (const char *p = out ? out : ""; *p;) {
		size_t len = strcspn(p, "\n");
		ctx_log(ctx, "[%s] hook %s: %.*s", r->id, h->name, (int)len, p);
		json_array_append_new(all, json_stringn(p, len));
		p += len + (p[len] == '\n');
	}
	while (json_array_size(all) > LAST_LINES)
		json_array_remove(all, 0);
	return all;
}

/* Run one hook; 0, or its failure in ctx->err. */
static int hook_once(dbs_ctx *ctx, const run *r, const dbs_hook *h, const char *when,
		     const char *status, int *code, char **out)
{
	char **argv = NULL, **env = NULL;
	size_t nenv = 0;
	split_words(h->run, &argv, NULL);
	if (h->env)
		split_words(h->env, &env, &nenv);
	env = xrealloc(env, (nenv + 6) * sizeof(char *));
	env[nenv++] = xprintf("DBSHIFT_RUN_ID=%s", r->id);
	env[nenv++] = xprintf("DBSHIFT_ENV=%s", ctx->opts.env ? ctx->opts.env : "");
	env[nenv++] = xprintf("DBSHIFT_STEP=%s", when);
	env[nenv++] = xprintf("DBSHIFT_STATUS=%s", status);
	env[nenv++] = xprintf("DBSHIFT_DATABASE_URL=%s", ctx->display_url ? ctx->display_url : "");
	env[nenv] = NULL;
	spawn_opts so = { h->cwd, h->timeout_ms, 0 };
	*code = -1;
	int rc = spawn_full((const char *const *)argv, (const char *const *)env, &so, out, code,
			    &ctx->err);
	if (!rc && *code != 0)
		rc = dbs_fail(&ctx->err, DBS_EFAIL, "hook '%s' failed (exit %d)", h->name, *code);
	else if (rc && so.timed_out)
		dbs_fail(&ctx->err, DBS_EFAIL, "hook '%s' ran past its timeout of %d ms and was "
			 "killed, with its process group", h->name, h->timeout_ms);
	free_words(argv);
	free_words(env);
	return rc;
}

int hooks_run(dbs_ctx *ctx, run *r, const char *when, const char *list, const char *status)
{
	size_t n;
	int failed = 0;
	for (const char *p = list ? list : ""; *(p += strspn(p, " \t,")); p += n) {
		n = strcspn(p, " \t,");
		const dbs_hook *h = find_hook(ctx, p, n);
		if (!h)
			continue;
		int code;
		char *out = NULL;
		int64_t t0 = now_ms();
		ctx_log(ctx, "[%s] hook %s (%s): started", r->id, h->name, when);
		dbs_error saved = ctx->err;
		memset(&ctx->err, 0, sizeof(ctx->err));
		int rc = hook_once(ctx, r, h, when, status, &code, &out);
		json_t *s = json_pack("{s:s, s:s, s:s, s:b, s:I}", "hook", h->name, "action", when,
				      "status", rc ? "failed" : "succeeded", "critical", h->critical,
				      "duration_ms", (json_int_t)(now_ms() - t0));
		if (code >= 0)
			json_object_set_new(s, "exit_code", json_integer(code));
		json_object_set_new(s, "output", output_lines(ctx, r, h, out));
		free(out);
		if (rc)
			json_object_set_new(s, "error", report_error(&ctx->err));
		json_array_append_new(r->steps, s);
		if (rc)
			r->failed++;
		else
			r->ok++;
		ctx_log(ctx, "[%s] hook %s (%s): %s", r->id, h->name, when,
			rc ? ctx->err.message : "ok");
		if (rc && h->critical) {
			dbs_error_clear(&saved);
			failed = 1;  /* ctx->err holds it; the hooks after it do not run */
			break;
		}
		if (rc)
			ctx_warn(ctx, "%s", ctx->err.message);
		dbs_error_clear(&ctx->err);
		ctx->err = saved;
	}
	return failed ? DBS_EFAIL : 0;
}

void hooks_on_failure(dbs_ctx *ctx, run *r)
{
	dbs_error keep = ctx->err;
	memset(&ctx->err, 0, sizeof(ctx->err));
	if (hooks_run(ctx, r, "on_failure", ctx->opts.on_failure, "failed"))
		ctx_warn(ctx, "%s", ctx->err.message);
	dbs_error_clear(&ctx->err);
	ctx->err = keep;
}
