/* cmd_fleet.c - dbshift fleet COMMAND: one command on every database of
 * [fleet], a table of the targets as they end, and the fleet's summary. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int only_failed, force, rollback, gate;
static const char *shard, *jobs, *steps, *schema;

const cli_option fleet_options[] = {
	{ "--shard", NULL, &shard, "this machine's share of the targets: K of N (default: "
	  "JOB_COMPLETION_INDEX and DBSHIFT_SHARD_COUNT when set)", "K/N" },
	{ "--only-failed", &only_failed, NULL, "only the targets the last fleet run of this "
	  "command did not finish", NULL },
	{ "--jobs", NULL, &jobs, "targets at once (default: jobs in [fleet])", "N" },
	{ "--steps", NULL, &steps, "rollback: how many migrations on each target", "N" },
	{ "--schema", NULL, &schema, "verify: compare each schema with this snapshot", "FILE" },
	{ "--rollback", &rollback, NULL, "release: the rollback runbook", NULL },
	{ "--force", &force, NULL, "run above the environment's max_risk", NULL },
	{ "--exit-code", &gate, NULL, "status: exit 1 when a target is behind or has a "
	  "failed migration (a CI gate)", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

static const char *const commands[] = { "migrate", "rollback", "status", "plan", "verify",
					"release" };

static dbs_fleet_opts o;
static int shard_k, shard_n;
static char shard_text[32];
static volatile int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	int e = errno;
	__atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);  /* read by the targets' threads */
	errno = e;
}

/* K/N: 1 <= K <= N; -1 when it is not. */
static int parse_shard(const char *s, int *k, int *n)
{
	char *end;
	long a = strtol(s, &end, 10);
	if (end == s || *end != '/')
		return -1;
	const char *b = end + 1;
	long c = strtol(b, &end, 10);
	if (end == b || *end || a < 1 || c < 1 || a > c || c > 1000000)
		return -1;
	*k = (int)a;
	*n = (int)c;
	return 0;
}

/* --shard, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based)
 * with the count the Job passes in DBSHIFT_SHARD_COUNT. */
static int read_shard(cli *g)
{
	const char *index = getenv("JOB_COMPLETION_INDEX");
	if (shard) {
		if (parse_shard(shard, &shard_k, &shard_n))
			return usage_error(g, "bad --shard '%s': give K/N with 1 <= K <= N, e.g. 2/8",
					   shard);
	} else if (index && *index) {
		const char *count = getenv("DBSHIFT_SHARD_COUNT");
		char *end;
		long i = strtol(index, &end, 10);
		if (end == index || *end || i < 0)
			return usage_error(g, "bad JOB_COMPLETION_INDEX '%s': a whole number from 0",
					   index);
		if (!count || !*count)
			return usage_error(g, "JOB_COMPLETION_INDEX is set but DBSHIFT_SHARD_COUNT is "
					   "not: set it to the Job's completions (or give --shard K/N)");
		char *t = NULL;
		if (asprintf(&t, "%ld/%s", i + 1, count) < 0)
			return usage_error(g, "out of memory");
		int bad = parse_shard(t, &shard_k, &shard_n);
		free(t);
		if (bad)
			return usage_error(g, "JOB_COMPLETION_INDEX %s does not fit DBSHIFT_SHARD_COUNT "
					   "'%s'", index, count);
	} else {
		return 0;
	}
	snprintf(shard_text, sizeof(shard_text), "%d/%d", shard_k, shard_n);
	o.shard = shard_text;
	return 0;
}

int check_fleet(cli *g)
{
	size_t k = 0;
	while (g->nargs && k < sizeof(commands) / sizeof(commands[0]) &&
	       strcmp(g->args[0], commands[k]))
		k++;
	if (!g->nargs || k == sizeof(commands) / sizeof(commands[0]))
		return usage_error(g, "fleet takes a command: migrate, rollback, status, plan, "
				   "verify or release");
	const char *c = commands[k];
	int takes_target = !strcmp(c, "migrate") || !strcmp(c, "rollback") || !strcmp(c, "plan");
	if (g->nargs > 1 + takes_target)
		return usage_error(g, "fleet %s takes %s", c, takes_target ? "at most one TARGET"
				   : "no arguments");
	if ((steps && strcmp(c, "rollback")) || (schema && strcmp(c, "verify")) ||
	    (rollback && strcmp(c, "release")) ||
	    (force && strcmp(c, "migrate") && strcmp(c, "release")) ||
	    (gate && strcmp(c, "status")))
		return usage_error(g, "fleet %s does not take %s", c, steps ? "--steps"
				   : schema ? "--schema" : rollback ? "--rollback"
				   : force ? "--force" : "--exit-code");
	int n = 0, rc;
	if ((rc = parse_count(g, "--steps", steps, &n)))
		return rc;
	o = (dbs_fleet_opts){ .command = c, .schema_file = schema, .stop = &stop_requested };
	o.migrate = (dbs_migrate_opts){ .target = g->nargs > 1 ? g->args[1] : NULL, .steps = n,
					.force = force, .stop = &stop_requested };
	o.release = (dbs_release_opts){ .rollback = rollback, .force = force,
					.stop = &stop_requested };
	if ((rc = parse_count(g, "--jobs", jobs, &o.jobs)))
		return rc;
	if ((rc = read_shard(g)))
		return rc;
	/* what each target's context reads, as the command alone would */
	g->opts.framework_sql_way = !strcmp(c, "migrate") ? "up"
				    : !strcmp(c, "rollback") ? "down" : NULL;
	g->opts.framework_serve = !strcmp(c, "migrate") || !strcmp(c, "rollback");
	g->opts.framework_no_sql = !strcmp(c, "status");
	return 0;
}

typedef struct view {
	cli *g;
	int width;      /* of the target column */
	size_t done, total;
} view;

/* A line per target as it ends: who, how it ended, its newest applied
 * migration (before -> after, when the command changed it), its time. */
static void show_target(const dbs_fleet_result *r, void *data)
{
	view *v = data;
	v->done++;
	if (v->g->json || v->g->quiet)
		return;
	int status = !strcmp(o.command, "status"), ok = !strcmp(r->status, "succeeded");
	const char *st = !status || !ok ? r->status
			 : r->failed ? "failed" : r->pending ? "behind" : "current";
	char what[64] = "";
	if (ok && !strcmp(o.command, "plan"))
		snprintf(what, sizeof(what), "%zu to run", r->pending);
	else if (ok && status && r->pending)
		snprintf(what, sizeof(what), "%zu pending", r->pending);
	const char *before = r->before ? r->before : "-", *after = r->after ? r->after : "-";
	char versions[160];
	if (strcmp(before, after))
		snprintf(versions, sizeof(versions), "%s -> %s", before, after);
	else
		snprintf(versions, sizeof(versions), "%s", after);
	printf("[%zu/%zu] %-*s  %-9s  %-24s %7.1f s%s%s%s%s\n", v->done, v->total, v->width,
	       r->target, st, versions, (double)r->duration_ms / 1000.0, *what ? "  " : "", what,
	       r->err ? "  " : "", r->err ? r->err->message : "");
	fflush(stdout);
}

/* fleet status: the targets grouped by their newest applied version. */
static void show_groups(const json_t *doc)
{
	json_t *groups = json_object(), *t;
	size_t i;
	json_array_foreach(json_object_get(doc, "targets"), i, t) {
		const char *v = json_string_value(json_object_get(t, "after"));
		json_t *g = json_object_get(groups, v ? v : "(none)");
		if (!g)
			json_object_set_new(groups, v ? v : "(none)", g = json_array());
		json_array_append(g, t);
	}
	printf("\nby newest applied migration:\n");
	const char *v;
	json_t *list;
	json_object_foreach(groups, v, list) {
		size_t behind = 0, failed = 0;
		json_array_foreach(list, i, t) {
			behind += jint(t, "pending") > 0;
			failed += jint(t, "failed") > 0 || strcmp(jtext(t, "status"), "succeeded");
		}
		printf("  %-24s %zu target%s", v, json_array_size(list),
		       json_array_size(list) == 1 ? "" : "s");
		if (behind)
			printf(", %zu behind", behind);
		if (failed)
			printf(", %zu failed", failed);
		printf("\n");
	}
	json_decref(groups);
}

int cmd_fleet(cli *g, dbs_ctx *ctx)
{
	(void)ctx;
	dbs_fleet *f = NULL;
	dbs_error err = { 0 };
	int rc = dbs_fleet_open(&f, &g->opts, &err);
	if (!rc && shard_n)
		rc = dbs_fleet_shard(f, shard_k, shard_n, &err);
	if (!rc && only_failed)
		rc = dbs_fleet_only_failed(f, o.command, o.shard, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		dbs_fleet_free(f);
		return rc;
	}
	view v = { g, 6, 0, dbs_fleet_size(f) };
	for (size_t i = 0; i < v.total; i++) {
		int w = (int)strlen(dbs_fleet_target(f, i));
		if (w > v.width)
			v.width = w < 60 ? w : 60;
	}
	/* Ctrl-C or a TERM (a CI job cancelled, a pod stopped): no new
	 * target starts, running ones end their run; a second one kills */
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!g->json && !g->quiet)
		printf("fleet %s: %zu target%s%s%s, %d at a time\n", o.command, v.total,
		       v.total == 1 ? "" : "s", o.shard ? ", shard " : "", o.shard ? o.shard : "",
		       o.jobs ? o.jobs : g->opts.fleet_jobs);
	char *report = NULL;
	rc = dbs_fleet_run(f, &o, show_target, &v, &report, &err);
	if (!report) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		dbs_fleet_free(f);
		return rc;
	}
	json_t *doc = json_loads(report, 0, NULL);
	if (g->json) {
		json_emit(g, report);
	} else if (!g->quiet && doc) {
		if (!strcmp(o.command, "status"))
			show_groups(doc);
		json_t *s = json_object_get(doc, "summary");
		printf("\nfleet %s: %lld target%s, %lld succeeded, %lld failed, %lld not started\n",
		       o.command, jint(s, "total"), jint(s, "total") == 1 ? "" : "s",
		       jint(s, "succeeded"), jint(s, "failed"), jint(s, "skipped"));
		if (*jtext(doc, "report_file"))
			printf("report: %s\n", jtext(doc, "report_file"));
		json_t *w, *warnings = json_object_get(doc, "warnings");
		size_t i;
		json_array_foreach(warnings, i, w)
			fprintf(stderr, "warning: %s\n", json_string_value(w));
	}
	if (!rc && gate && doc) {  /* a gate: every target current */
		size_t behind = 0, i;
		json_t *t;
		json_array_foreach(json_object_get(doc, "targets"), i, t)
			behind += jint(t, "pending") > 0 || jint(t, "failed") > 0;
		if (behind && !g->json)
			fprintf(stderr, "error: %zu of %zu targets are behind or have a failed "
				"migration\n", behind, json_array_size(json_object_get(doc, "targets")));
		rc = behind ? DBS_EFAIL : 0;
	} else if (rc && !g->json) {
		json_t *s = json_object_get(doc, "summary");
		fprintf(stderr, "error: %lld of %lld targets failed, %lld not started\n",
			jint(s, "failed"), jint(s, "total"), jint(s, "skipped"));
	}
	json_decref(doc);
	free(report);
	dbs_fleet_free(f);
	return rc ? exit_code(rc) : 0;
}
