/*
 * notify.c - alerts: a POST to each notify_url when a run starts,
 * succeeds or fails, with libcurl.
 *
 * The body is Slack-compatible: {"text": "...", "dbshift": {...}} where the
 * object holds the facts a receiver can act on (run id, command,
 * environment, database without its password, status, failed step and its
 * error, duration, report path).  Each URL gets notify_timeout per attempt
 * and 3 attempts, 0.5 s and then 1 s apart; one that still fails is a
 * warning of the run (output, log, report), never a failed run.  A URL may
 * carry a token (Slack's do, in the path): messages name only its origin.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctx/ctx.h"

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* One POST; NULL when the receiver answered 2xx, else why not. */
static char *post_once(const char *url, const char *body, int timeout_ms)
{
	CURL *h = curl_easy_init();
	if (!h)
		return xstrdup("cannot start libcurl");
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return xstrdup(*errbuf ? errbuf : curl_easy_strerror(cc));
	if (status < 200 || status > 299)
		return xprintf("HTTP status %ld", status);
	return NULL;
}

/* POST body to url, 3 attempts; NULL, or why the last one failed. */
static char *post(const char *url, const char *body, int timeout_ms)
{
	static const int backoff_ms[] = { 500, 1000 };
	char *why = NULL;
	for (int i = 0; i < 3; i++) {
		free(why);
		if (!(why = post_once(url, body, timeout_ms)) || i == 2)
			break;
		sleep_ms(backoff_ms[i]);
	}
	return why;
}

static const char *event_of(const char *status)
{
	return !strcmp(status, "started") ? "start"
	       : !strcmp(status, "succeeded") ? "success" : "failure";
}

/* The one line a chat shows. */
static char *notice_text(dbs_ctx *ctx, const notice *n)
{
	strbuf sb;
	strbuf_init(&sb);
	strbuf_addf(&sb, "dbshift %s %s", n->command, n->status);
	if (ctx->runbook && !strcmp(ctx->runbook, "rollback"))
		strbuf_adds(&sb, " (runbook rollback: the database was rolled back)");
	if (ctx->forced)
		strbuf_adds(&sb, " (forced: --force passed the risk gate and failed steps)");
	if (ctx->display_url)
		strbuf_addf(&sb, " on %s", ctx->display_url);
	if (ctx->opts.env)
		strbuf_addf(&sb, " (environment %s)", ctx->opts.env);
	if (n->failed_step)
		strbuf_addf(&sb, " at %s", n->failed_step);
	if (n->err && n->err->message)
		strbuf_addf(&sb, ": %s", n->err->message);
	if (n->duration_ms >= 0)
		strbuf_addf(&sb, " (%lld ms)", (long long)n->duration_ms);
	return strbuf_detach(&sb);
}

static char *notice_body(dbs_ctx *ctx, const notice *n)
{
	char *text = notice_text(ctx, n);
	json_t *facts = json_pack("{s:s?, s:s, s:s?, s:s?, s:s, s:s?}", "run_id", n->run_id,
				  "command", n->command, "environment", ctx->opts.env,
				  "database", ctx->display_url, "status", n->status,
				  "failed_step", n->failed_step);
	if (ctx->runbook)
		json_object_set_new(facts, "runbook", json_string(ctx->runbook));
	json_object_set_new(facts, "forced", json_boolean(ctx->forced));
	if (n->err && n->err->code)
		json_object_set_new(facts, "error", report_error(n->err));
	if (n->duration_ms >= 0)
		json_object_set_new(facts, "duration_ms", json_integer(n->duration_ms));
	if (n->report_path)
		json_object_set_new(facts, "report", json_string(n->report_path));
	json_t *doc = json_pack("{s:s, s:o}", "text", text, "dbshift", facts);
	free(text);
	report_times(doc);
	char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return body;
}

int ctx_notify(dbs_ctx *ctx, const notice *n)
{
	const char *urls = ctx->opts.notify_url;
	if (ctx->outer)
		return 0;  /* a step of a release: the release alerts, once */
	if (!urls || !notify_selected(ctx->opts.notify_on, event_of(n->status), n->command))
		return 0;
	char *body = notice_body(ctx, n);
	int failed = 0;
	size_t len;
	for (const char *p = urls; (len = list_word(&p)); p += len) {
		char *url = xstrndup(p, len), *origin = NULL;
		url_origin(url, &origin);
		char *why = post(url, body, ctx->opts.notify_timeout_ms);
		if (why) {
			ctx_warn(ctx, "notification of %s %s to %s failed after 3 attempts: %s",
				 n->command, n->status, origin ? origin : "(URL)", why);
			failed++;
		} else {
			ctx_log(ctx, "notified %s of %s %s", origin ? origin : "(URL)", n->command,
				n->status);
		}
		free(why);
		free(origin);
		free(url);
	}
	free(body);
	return failed;
}

int dbs_notify_test(dbs_ctx *ctx)
{
	if (!ctx->opts.notify_url) {
		dbs_fail(&ctx->err, DBS_EINPUT, "no notify_url is set");
		dbs_error_set_hint(&ctx->err, "set notify_url = URL in dbshift.conf");
		return DBS_EINPUT;
	}
	notice n = { .command = "notify --test", .status = "succeeded", .duration_ms = -1 };
	char *saved = ctx->opts.notify_on;
	ctx->opts.notify_on = NULL;  /* a test goes whatever notify_on says */
	int failed = ctx_notify(ctx, &n);
	ctx->opts.notify_on = saved;
	if (failed) {
		dbs_fail(&ctx->err, DBS_EFAIL, "%d notification%s failed", failed,
			 failed == 1 ? "" : "s");
		dbs_error_set_hint(&ctx->err, "check notify_url and that its receiver is up");
		return DBS_EFAIL;
	}
	return 0;
}
