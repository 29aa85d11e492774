/* cmd_data.c - dbshift data run FILE: a batched data migration. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int dry_run;
static const char *batch_size, *target_ms, *delay, *max_rows, *max_lag, *lag_query;

const cli_option data_options[] = {
	{ "--dry-run", &dry_run, NULL, "count the rows that would change; change none", NULL },
	{ "--batch-size", NULL, &batch_size, "rows in the first batch (1000)", "N" },
	{ "--target-batch-ms", NULL, &target_ms, "adapt the batch size toward this (500)",
	  "MS" },
	{ "--delay", NULL, &delay, "pause between batches (0; 200ms, 1s; a bare number is ms)",
	  "DURATION" },
	{ "--max-rows", NULL, &max_rows, "stop after changing this many rows", "N" },
	{ "--max-lag", NULL, &max_lag, "wait while replica lag is above this (2s; a bare number is ms)",
	  "DURATION" },
	{ "--lag-query", NULL, &lag_query, "SQL that gives the replica lag in ms", "SQL" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static volatile int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

typedef struct view {
	cli *g;
	int tty;
	time_t last_line;
} view;

static void progress(const dbs_data_progress *p, void *data)
{
	view *v = data;
	if (v->g->quiet || v->g->json)
		return;
	if (p->waiting_lag) {
		fprintf(stderr, "%swaiting: replica lag %lld ms%s", v->tty ? "\r" : "",
			(long long)p->lag_ms, v->tty ? "\033[K" : "\n");
		return;
	}
	double pct = p->total > 0 ? 100.0 * (double)p->rows_done / (double)p->total : 100.0;
	if (pct > 100)
		pct = 100;
	char eta[32] = "?";
	if (p->eta_s >= 0)
		snprintf(eta, sizeof(eta), "%.0f s", p->eta_s);
	if (v->tty) {
		int filled = (int)(pct / 5);
		fprintf(stderr, "\r[%.*s%.*s] %5.1f%% %lld/%lld rows, %.0f rows/s, ETA %s, batch %lld\033[K",
			filled, "####################", 20 - filled, "....................", pct,
			(long long)p->rows_done, (long long)p->total, p->rate, eta,
			(long long)p->batch_size);
	} else if (time(NULL) - v->last_line >= 5) {
		v->last_line = time(NULL);
		fprintf(stderr, "data run: %lld/%lld rows (%.1f%%), %.0f rows/s, ETA %s\n",
			(long long)p->rows_done, (long long)p->total, pct, p->rate, eta);
	}
}

/* A whole number from 0 to max, or a usage error that says the range. */
static int number(cli *g, const char *opt, const char *s, long long max, long long *out)
{
	char *end;
	if (!s)
		return 0;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end || v < 0 || v > max || errno || strspn(s, "0123456789") != strlen(s))
		return usage_error(g, "bad %s '%s': give a whole number from 0 to %lld", opt, s, max);
	*out = v;
	return 0;
}

static long long bs, tm, mr;
static int dl, ml;

int check_data(cli *g)
{
	if (g->nargs != 2 || strcmp(g->args[0], "run"))
		return usage_error(g, "usage: dbshift data run FILE");
	bs = 1000, tm = 500, dl = 0, mr = 0, ml = 0;
	int rc;
	if ((rc = number(g, "--batch-size", batch_size, 100000000, &bs)) ||
	    (rc = number(g, "--target-batch-ms", target_ms, INT_MAX, &tm)) ||
	    (rc = parse_duration_opt(g, "--delay", delay, 1, "milliseconds", &dl)) ||
	    (rc = number(g, "--max-rows", max_rows, INT64_MAX, &mr)) ||
	    (rc = parse_duration_opt(g, "--max-lag", max_lag, 1, "milliseconds", &ml)))
		return rc;
	if (bs < 1)
		return usage_error(g, "--batch-size must be at least 1");
	return 0;
}

int cmd_data(cli *g, dbs_ctx *ctx)
{
	int rc;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	dbs_data_opts o = { .batch_size = (int)bs, .target_batch_ms = (int)tm, .delay_ms = (int)dl,
			    .max_rows = mr, .max_lag_ms = ml, .lag_query = lag_query,
			    .dry_run = dry_run, .stop = &stop_requested };
	view v = { g, isatty(STDERR_FILENO), 0 };
	char *report = NULL;
	rc = dbs_data_run(ctx, g->args[1], &o, progress, &v, &report);
	if (v.tty && !g->quiet && !g->json && !dry_run)
		fputc('\n', stderr);
	if (rc)
		rc = report_failure(g, dbs_last_error(ctx));
	if (g->json && report) {
		json_emit(g, report);
	} else if (!rc && report && !g->quiet) {
		json_t *doc = json_loads(report, 0, NULL);
		render_data(stdout, doc, g->args[1]);
		json_decref(doc);
	}
	free(report);
	return rc;
}
