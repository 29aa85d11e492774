/*
 * page.c - serve's HTML page, from the library's JSON documents: the
 * selected run (the running one, else the newest) with its step, progress
 * bar, ETA, warnings, errors and what the server says of it; the
 * database's metrics; the migrations; the recent runs.  No external
 * assets: the style and the script are in the page, which fetches its
 * body again from /live once a second.  Every text is escaped.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* text, escaped for HTML (element content and quoted attributes) */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void tag_text(FILE *f, const char *open, const char *text, const char *close)
{
	fputs(open, f);
	esc(f, text);
	fputs(close, f);
}

static void list_lines(FILE *f, const char *title, const json_t *lines, const char *cls)
{
	if (!json_array_size(lines))
		return;
	fprintf(f, "<h3>%s</h3><ul class=\"%s\">", title, cls);
	for (size_t i = 0; i < json_array_size(lines); i++)
		tag_text(f, "<li>", json_string_value(json_array_get(lines, i)), "</li>");
	fputs("</ul>", f);
}

static void data_progress(FILE *f, const json_t *d)
{
	long long done = jint(d, "rows_done"), total = jint(d, "rows_total");
	const json_t *pct = json_object_get(d, "percent");
	fprintf(f, "<div class=\"bar\"><progress id=\"data-progress\" max=\"%lld\" value=\"%lld\">"
		"</progress> <span id=\"rows\" data-rows-done=\"%lld\">%lld / %lld rows", total > 0 ?
		total : 1, done, done, done, total);
	if (json_is_number(pct))
		fprintf(f, " (%.1f%%)", json_number_value(pct));
	fputs("</span></div><p class=\"facts\">", f);
	tag_text(f, "<span>", jtext(d, "file"), "</span> ");
	fprintf(f, "<span>%.0f rows/s</span> ", json_number_value(json_object_get(d, "rate")));
	if (json_is_number(json_object_get(d, "eta_s")))
		fprintf(f, "<span id=\"eta\">ETA %.0f s</span> ",
			json_number_value(json_object_get(d, "eta_s")));
	else
		fputs("<span id=\"eta\">ETA unknown</span> ", f);
	fprintf(f, "<span>batch %lld rows</span> <span>%lld batches</span>", jint(d, "batch_size"),
		jint(d, "batches"));
	if (json_is_true(json_object_get(d, "waiting_for_lag")))
		fprintf(f, " <span class=\"warn\">waiting for replica lag (%lld ms)</span>",
			jint(d, "lag_ms"));
	fputs("</p>", f);
}

static void server_html(FILE *f, const json_t *server)
{
	const json_t *act = json_object_get(server, "activity");
	const json_t *prog = json_object_get(server, "progress");
	const json_t *waits = json_object_get(server, "lock_waits");
	fputs("<h3>In the server</h3>", f);
	if (*jtext(server, "error"))
		tag_text(f, "<p class=\"bad\">", jtext(server, "error"), "</p>");
	if (json_is_object(act)) {
		tag_text(f, "<p id=\"activity\">session ", jtext(act, "state"), "");
		if (*jtext(act, "wait_event"))
			tag_text(f, ", waiting on ", jtext(act, "wait_event"), "");
		fprintf(f, ", statement running %lld s</p>", jint(act, "statement_ms") / 1000);
	}
	for (size_t i = 0; i < json_array_size(prog); i++) {
		const json_t *p = json_array_get(prog, i);
		const json_t *pct = json_object_get(p, "percent");
		fputs("<div class=\"pgprogress\">", f);
		tag_text(f, "<b>", jtext(p, "view"), "</b> on ");
		tag_text(f, "<code>", jtext(p, "relation"), "</code>: ");
		tag_text(f, "<span class=\"phase\">", jtext(p, "phase"), "</span>");
		if (json_is_number(pct))
			fprintf(f, " <progress max=\"100\" value=\"%.1f\"></progress> "
				"<span class=\"pct\">%.1f%%</span> (%lld of %lld %s)",
				json_number_value(pct), json_number_value(pct), jint(p, "done"),
				jint(p, "total"), jtext(p, "unit"));
		fputs("</div>", f);
	}
	if (json_array_size(waits)) {
		fputs("<table class=\"waits\"><tr><th>waits for</th><th>on</th><th>for</th>"
		      "<th>held by pid</th><th>user</th><th>state</th><th>in transaction</th></tr>", f);
		for (size_t i = 0; i < json_array_size(waits); i++) {
			const json_t *w = json_array_get(waits, i);
			tag_text(f, "<tr><td>", jtext(w, "mode"), "</td>");
			tag_text(f, "<td>", *jtext(w, "relation") ? jtext(w, "relation") : jtext(w, "lock_type"),
				 "</td>");
			fprintf(f, "<td>%lld s</td><td>%lld</td>", jint(w, "waiting_ms") / 1000,
				jint(w, "blocker_pid"));
			tag_text(f, "<td>", jtext(w, "blocker_user"), "</td>");
			tag_text(f, "<td>", jtext(w, "blocker_state"), "</td>");
			fprintf(f, "<td>%lld s</td></tr>", jint(w, "blocker_transaction_ms") / 1000);
		}
		fputs("</table>", f);
	}
	if (!json_array_size(prog) && !json_array_size(waits))
		fputs("<p class=\"quiet\">no progress report and no lock wait</p>", f);
}

static void finished_steps(FILE *f, const json_t *steps)
{
	if (!json_array_size(steps))
		return;
	fputs("<table class=\"steps\"><tr><th>step</th><th>status</th><th>duration</th></tr>", f);
	for (size_t i = 0; i < json_array_size(steps); i++) {
		const json_t *s = json_array_get(steps, i);
		char what[512];
		if (*jtext(s, "step"))
			snprintf(what, sizeof(what), "%s", jtext(s, "step"));
		else if (*jtext(s, "hook"))
			snprintf(what, sizeof(what), "hook %s", jtext(s, "hook"));
		else
			snprintf(what, sizeof(what), "%s%s%s%s%s %s", jtext(s, "app"), *jtext(s, "app")
				 ? "/" : "", jtext(s, "version"), *jtext(s, "name") ? "_" : "",
				 jtext(s, "name"), jtext(s, "action"));
		tag_text(f, "<tr><td>", what, "</td>");
		tag_text(f, "<td class=\"", jtext(s, "status"), "\">");
		esc(f, jtext(s, "status"));
		fprintf(f, "</td><td>%lld ms</td></tr>", jint(s, "duration_ms"));
	}
	fputs("</table>", f);
}

static void run_section(FILE *f, const json_t *run)
{
	const char *st = jtext(run, "status");
	if (!*jtext(run, "run_id")) {
		const char *why = jtext(json_object_get(run, "error"), "message");
		fputs("<section id=\"run\"><h2>No run to show</h2><p class=\"quiet\">", f);
		esc(f, *why ? why : "nothing is recorded yet");
		fputs("</p></section>", f);
		return;
	}
	tag_text(f, "<section id=\"run\" data-run-id=\"", jtext(run, "run_id"), "\"");
	tag_text(f, " data-status=\"", st, "\">");
	tag_text(f, "<h2>Run <code id=\"run-id\">", jtext(run, "run_id"), "</code> ");
	tag_text(f, "<span class=\"badge ", st, "\">");
	esc(f, st);
	fputs("</span></h2><p class=\"facts\">", f);
	tag_text(f, "<span id=\"command\">", jtext(run, "command"), "</span> ");
	if (*jtext(run, "environment"))
		tag_text(f, "<span>env ", jtext(run, "environment"), "</span> ");
	tag_text(f, "<span>started ", jtext(run, "started_at"), "</span> ");
	if (*jtext(run, "finished_at"))
		tag_text(f, "<span>finished ", jtext(run, "finished_at"), "</span> ");
	if (*jtext(run, "host")) {
		fprintf(f, "<span>pid %lld on ", jint(run, "pid"));
		tag_text(f, "", jtext(run, "host"), "</span>");
	}
	fputs("</p>", f);
	if (!strcmp(st, "running") || !strcmp(st, "abandoned")) {
		const json_t *total = json_object_get(run, "steps_total");
		tag_text(f, "<p class=\"step\">Step: <b id=\"step\">", *jtext(run, "step") ?
			 jtext(run, "step") : "starting", "</b>");
		if (json_is_integer(total))
			fprintf(f, " <span id=\"steps\">(%lld done of %lld)</span>", jint(run, "steps_done"),
				(long long)json_integer_value(total));
		if (*jtext(run, "current"))
			tag_text(f, " &middot; <span id=\"current\">", jtext(run, "current"), "</span>");
		fputs("</p>", f);
		if (!strcmp(st, "abandoned"))
			fprintf(f, "<p class=\"bad\">Its process is gone: the last heartbeat was %lld s "
				"ago. A rerun resumes a data run from its checkpoint.</p>",
				jint(run, "heartbeat_age_ms") / 1000);
		if (json_is_object(json_object_get(run, "data")))
			data_progress(f, json_object_get(run, "data"));
		list_lines(f, "Warnings", json_object_get(run, "warnings"), "warnings");
		list_lines(f, "Errors", json_object_get(run, "errors"), "errors");
		if (json_is_object(json_object_get(run, "server")))
			server_html(f, json_object_get(run, "server"));
	} else {
		const json_t *sum = json_object_get(run, "summary");
		const json_t *e = json_object_get(run, "error");
		if (json_is_object(sum))
			fprintf(f, "<p id=\"summary\">%lld succeeded, %lld failed, %lld skipped</p>",
				jint(sum, "succeeded"), jint(sum, "failed"), jint(sum, "skipped"));
		if (json_is_object(e))
			tag_text(f, "<p class=\"bad\" id=\"error\">", jtext(e, "message"), "</p>");
		const json_t *d = json_object_get(run, "data");
		if (json_is_object(d)) {
			tag_text(f, "<p>data: ", jtext(d, "file"), "");
			fprintf(f, ", %lld rows changed</p>", jint(d, "rows_changed"));
		}
		finished_steps(f, json_object_get(run, "steps"));
		list_lines(f, "Warnings", json_object_get(run, "warnings"), "warnings");
	}
	fputs("</section>", f);
}

static void metrics_section(FILE *f, const json_t *m)
{
	const json_t *list = json_object_get(m, "metrics");
	const json_t *rr = json_object_get(m, "run");
	const json_t *ratio = json_object_get(m, "cache_hit_ratio");
	fputs("<section id=\"metrics\"><h2>Database</h2>", f);
	if (json_is_object(json_object_get(m, "error")))
		tag_text(f, "<p class=\"bad\">", jtext(json_object_get(m, "error"), "message"), "</p>");
	if (json_is_number(ratio))
		fprintf(f, "<p>cache hit ratio <b>%.2f%%</b></p>", 100 * json_number_value(ratio));
	if (json_is_object(rr)) {
		const json_t *ps = json_object_get(rr, "per_second");
		const json_t *rratio = json_object_get(rr, "cache_hit_ratio");
		fprintf(f, "<p>during the run (%lld s): ", jint(rr, "seconds"));
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)ps, k, v) {
			esc(f, k);
			fprintf(f, " %.1f/s &middot; ", json_number_value(v));
		}
		if (json_is_number(rratio))
			fprintf(f, "cache hit ratio %.2f%%", 100 * json_number_value(rratio));
		fputs("</p>", f);
	}
	fputs("<table class=\"metrics\"><tr><th>metric</th><th></th><th>value</th></tr>", f);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *x = json_array_get(list, i);
		tag_text(f, "<tr><td>", jtext(x, "name"), "</td>");
		tag_text(f, "<td>", jtext(x, "label"), "</td>");
		fprintf(f, "<td>%lld</td></tr>", jint(x, "value"));
	}
	fputs("</table></section>", f);
}

static void migrations_section(FILE *f, const json_t *status)
{
	const json_t *sum = json_object_get(status, "summary");
	const json_t *list = json_object_get(status, "migrations");
	fputs("<section id=\"migrations\"><h2>Migrations</h2>", f);
	if (json_is_object(sum))
		fprintf(f, "<p id=\"migration-counts\">%lld applied, %lld pending, %lld drifted, "
			"%lld missing, %lld failed, %lld running</p>", jint(sum, "applied"),
			jint(sum, "pending"), jint(sum, "drifted"), jint(sum, "missing"),
			jint(sum, "failed"), jint(sum, "running"));
	fputs("<table><tr><th>migration</th><th>state</th><th>applied at</th></tr>", f);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *e = json_array_get(list, i);
		char label[512];
		snprintf(label, sizeof(label), "%s%s%s%s%s", jtext(e, "app"), *jtext(e, "app") ? "/" : "",
			 jtext(e, "version"), *jtext(e, "name") ? "_" : "", jtext(e, "name"));
		tag_text(f, "<tr><td>", label, "</td>");
		tag_text(f, "<td class=\"", jtext(e, "state"), "\">");
		esc(f, jtext(e, "state"));
		tag_text(f, "</td><td>", jtext(e, "applied_at"), "</td></tr>");
	}
	fputs("</table></section>", f);
}

static void runs_section(FILE *f, const json_t *runs)
{
	const json_t *list = json_object_get(runs, "runs");
	fputs("<section id=\"runs\"><h2>Recent runs</h2><table><tr><th>run</th><th>command</th>"
	      "<th>status</th><th>started</th><th>where it is</th></tr>", f);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *r = json_array_get(list, i);
		char what[512];
		run_progress(r, what, sizeof(what));
		tag_text(f, "<tr><td><a href=\"?run=", jtext(r, "run_id"), "\"");
		tag_text(f, " data-run=\"", jtext(r, "run_id"), "\">");
		esc(f, jtext(r, "run_id"));
		tag_text(f, "</a></td><td>", jtext(r, "command"), "</td>");
		tag_text(f, "<td class=\"", jtext(r, "status"), "\">");
		esc(f, jtext(r, "status"));
		tag_text(f, "</td><td>", jtext(r, "started_at"), "</td>");
		tag_text(f, "<td>", what, "</td></tr>");
	}
	fputs("</table></section>", f);
}

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}"
	"header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;"
	"align-items:baseline}header h1{font-size:18px;margin:0}"
	"section{background:#fff;margin:14px 20px;padding:12px 16px;border-radius:6px;"
	"box-shadow:0 1px 2px #0002}h2{font-size:16px;margin:4px 0 8px}h3{font-size:14px;"
	"margin:10px 0 4px}table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;"
	"text-align:left}th{color:#667}progress{width:320px;height:16px}"
	".badge{padding:1px 8px;border-radius:10px;font-size:12px;background:#ccd}"
	".running{background:#cfe3ff}.succeeded{color:#1a7f37}.badge.succeeded{background:#d3f5dc}"
	".failed,.abandoned,.bad{color:#b42318}.badge.failed,.badge.abandoned{background:#fde2e0}"
	".warn,.warnings{color:#9a6700}.quiet{color:#889}.facts span{margin-right:12px}"
	"code{font-size:13px}";

static const char script[] =
	"(function(){var live=document.getElementById('live');"
	"function tick(){fetch('live'+location.search,{cache:'no-store'}).then(function(r){"
	"return r.ok?r.text():null}).then(function(t){if(t)live.innerHTML=t}).catch(function(){})}"
	"setInterval(tick,1000);"
	"document.addEventListener('click',function(e){var a=e.target.closest('a[data-run]');"
	"if(!a)return;e.preventDefault();var p=new URLSearchParams(location.search);"
	"p.set('run',a.getAttribute('data-run'));location.search=p.toString()})})();";

char *page_html(const json_t *runs, const json_t *run, const json_t *status,
		const json_t *metrics, int fragment)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (!f)
		return strdup("");
	if (!fragment)
		fprintf(f, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width\">"
			"<title>dbshift live</title><style>%s</style></head><body><div id=\"live\">",
			style);
	char at[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("<header><h1>dbshift</h1>", f);
	tag_text(f, "<span id=\"database\">", jtext(status, "database"), "</span>");
	tag_text(f, "<span id=\"updated\">updated ", at, "</span></header>");
	run_section(f, run);
	metrics_section(f, metrics);
	migrations_section(f, status);
	runs_section(f, runs);
	if (!fragment)
		fprintf(f, "</div><script>%s</script></body></html>\n", script);
	fclose(f);
	return text;
}
