/* cmd_notify.c - dbshift notify --test: a test message to each notify_url. */
#include <stdio.h>

#include "cli.h"

static int test;

const cli_option notify_options[] = {
	{ "--test", &test, NULL, "send a test message to each notify_url", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

int check_notify(cli *g)
{
	if (g->nargs)
		return usage_error(g, "notify takes no arguments");
	if (!test)
		return usage_error(g, "say what to send: dbshift notify --test");
	return 0;
}

int cmd_notify(cli *g, dbs_ctx *ctx)
{
	int rc = dbs_notify_test(ctx);
	print_warnings(g, dbs_run_warnings(ctx));
	if (rc)
		return report_failure(g, dbs_last_error(ctx));
	if (g->json)
		json_emit_new(g, json_pack("{s:b}", "sent", 1));
	else if (!g->quiet)
		printf("notify: test message sent to every notify_url\n");
	return 0;
}
