/* cmd_wait.c - dbshift wait [--timeout DURATION]: until the database
 * accepts connections (as dbmate wait). */
#include <stdlib.h>

#include "cli.h"

static const char *timeout;

const cli_option wait_options[] = {
	{ "--timeout", NULL, &timeout, "give up after this long (60s; a bare number is seconds)",
	  "DURATION" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static int ms;

int check_wait(cli *g)
{
	if (g->nargs)
		return usage_error(g, "wait takes no arguments");
	ms = 60000;
	return parse_duration_opt(g, "--timeout", timeout, 1000, "seconds", &ms);
}

/* -v: each try that failed, on stderr */
static void not_yet(int tries, const dbs_error *why, void *data)
{
	(void)data;
	fprintf(stderr, "dbshift: wait: try %d: %s\n", tries, why->message ? why->message : "");
}

int cmd_wait(cli *g, dbs_ctx *ctx)
{
	(void)ctx;
	dbs_error err = { 0 };
	int64_t waited = 0;
	int rc = dbs_wait(&g->opts, ms, g->verbose ? not_yet : NULL, NULL, &waited, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		return rc;
	}
	if (g->json)
		json_emit_new(g, json_pack("{s:I}", "waited_ms", (json_int_t)waited));
	else if (!g->quiet)
		printf("the database accepts connections (waited %lld ms)\n", (long long)waited);
	return 0;
}
