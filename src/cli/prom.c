/*
 * prom.c - serve's /metrics in the Prometheus text format (version
 * 0.0.4), from the library's JSON documents: the runs, the selected run
 * (the running one, else the newest), the migrations and the database's
 * metrics.  Each family has its HELP and TYPE once, its samples together;
 * durations are in seconds, counters end in _total.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct prom {
	FILE *f;
	char last[128];   /* the family written last */
} prom;

/* HELP and TYPE of family name, unless it is the one being written. */
static void family(prom *p, const char *name, const char *type, const char *help)
{
	if (!strcmp(p->last, name))
		return;
	snprintf(p->last, sizeof(p->last), "%s", name);
	fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* One sample: labels as "k", "v", ... NULL. */
static void sample(prom *p, const char *name, double value, ...)
{
	va_list ap;
	va_start(ap, value);
	fputs(name, p->f);
	const char *k = va_arg(ap, const char *);
	for (int first = 1; k; first = 0) {
		fprintf(p->f, "%s%s=\"", first ? "{" : ",", k);
		label_value(p->f, va_arg(ap, const char *));
		fputc('"', p->f);
		if (!(k = va_arg(ap, const char *)))
			fputc('}', p->f);
	}
	va_end(ap);
	if (value == floor(value) && fabs(value) < 1e15)
		fprintf(p->f, " %.0f\n", value);
	else
		fprintf(p->f, " %.6g\n", value);
}

static double numv(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void run_families(prom *p, const json_t *runs, const json_t *run)
{
	const json_t *list = json_object_get(runs, "runs");
	static const char *const states[] = { "running", "abandoned", "succeeded", "failed" };
	size_t count[4] = { 0 };
	for (size_t i = 0; i < json_array_size(list); i++)
		for (size_t s = 0; s < 4; s++)
			count[s] += !strcmp(jtext(json_array_get(list, i), "status"), states[s]);
	family(p, "dbshift_run_running", "gauge", "Runs in progress now (1 or 0: one migrator).");
	sample(p, "dbshift_run_running", (double)count[0], NULL);
	family(p, "dbshift_recent_runs", "gauge", "The last 20 runs, by status.");
	for (size_t s = 0; s < 4; s++)
		sample(p, "dbshift_recent_runs", (double)count[s], "status", states[s], NULL);
	if (!*jtext(run, "run_id"))
		return;
	const char *st = jtext(run, "status");
	family(p, "dbshift_run_info", "gauge", "The running run, else the newest (always 1).");
	sample(p, "dbshift_run_info", 1, "run_id", jtext(run, "run_id"), "command",
	       jtext(run, "command"), "status", st, "step", jtext(run, "step"), NULL);
	if (strcmp(st, "running") && strcmp(st, "abandoned"))
		return;
	family(p, "dbshift_run_steps_done", "gauge", "Steps of the running run done.");
	sample(p, "dbshift_run_steps_done", numv(run, "steps_done"), NULL);
	if (json_is_integer(json_object_get(run, "steps_total"))) {
		family(p, "dbshift_run_steps", "gauge", "Steps of the running run in all.");
		sample(p, "dbshift_run_steps", numv(run, "steps_total"), NULL);
	}
	family(p, "dbshift_run_heartbeat_age_seconds", "gauge",
	       "Seconds since the running run's last heartbeat.");
	sample(p, "dbshift_run_heartbeat_age_seconds", numv(run, "heartbeat_age_ms") / 1000, NULL);
	family(p, "dbshift_run_warnings", "gauge", "Warnings of the running run so far.");
	sample(p, "dbshift_run_warnings",
	       (double)json_array_size(json_object_get(run, "warnings")), NULL);
	family(p, "dbshift_run_errors", "gauge", "Errors of the running run so far.");
	sample(p, "dbshift_run_errors", (double)json_array_size(json_object_get(run, "errors")),
	       NULL);
	const json_t *d = json_object_get(run, "data");
	if (json_is_object(d)) {
		static const struct { const char *key, *name, *help; } dk[] = {
			{ "rows_done", "dbshift_data_rows_done", "Rows the running data run changed." },
			{ "rows_total", "dbshift_data_rows", "Rows the running data run has to change in all." },
			{ "rate", "dbshift_data_rows_per_second", "Rows per second of the data run." },
			{ "batch_size", "dbshift_data_batch_size", "Rows in the data run's next batch." },
			{ "waiting_for_lag", "dbshift_data_waiting_for_lag",
			  "1 while the data run waits for replica lag." },
		};
		for (size_t k = 0; k < sizeof(dk) / sizeof(dk[0]); k++) {
			const json_t *v = json_object_get(d, dk[k].key);
			family(p, dk[k].name, "gauge", dk[k].help);
			sample(p, dk[k].name, json_is_boolean(v) ? json_is_true(v) : json_number_value(v),
			       NULL);
		}
		if (json_is_number(json_object_get(d, "eta_s"))) {
			family(p, "dbshift_data_eta_seconds", "gauge", "Seconds the data run has left.");
			sample(p, "dbshift_data_eta_seconds", numv(d, "eta_s"), NULL);
		}
	}
	const json_t *server = json_object_get(run, "server");
	const json_t *prog = json_object_get(server, "progress");
	const json_t *waits = json_object_get(server, "lock_waits");
	for (size_t i = 0; i < json_array_size(prog); i++) {
		const json_t *x = json_array_get(prog, i);
		if (!json_is_number(json_object_get(x, "percent")))
			continue;
		family(p, "dbshift_server_progress_ratio", "gauge",
		       "How far the server's own progress report is (pg_stat_progress_*), 0 to 1.");
		sample(p, "dbshift_server_progress_ratio", numv(x, "percent") / 100, "view",
		       jtext(x, "view"), "phase", jtext(x, "phase"), "relation", jtext(x, "relation"), NULL);
	}
	if (server) {
		double longest = 0;
		for (size_t i = 0; i < json_array_size(waits); i++)
			if (numv(json_array_get(waits, i), "waiting_ms") > longest)
				longest = numv(json_array_get(waits, i), "waiting_ms");
		family(p, "dbshift_lock_waits", "gauge", "Sessions the running run waits for.");
		sample(p, "dbshift_lock_waits", (double)json_array_size(waits), NULL);
		family(p, "dbshift_lock_wait_seconds", "gauge",
		       "The longest lock wait of the running run, in seconds.");
		sample(p, "dbshift_lock_wait_seconds", longest / 1000, NULL);
	}
}

static void migration_families(prom *p, const json_t *status)
{
	const json_t *sum = json_object_get(status, "summary");
	if (!json_is_object(sum))
		return;
	static const char *const states[] = { "applied", "pending", "drifted", "missing", "failed",
					      "running" };
	family(p, "dbshift_migrations", "gauge", "Migrations by state.");
	for (size_t s = 0; s < sizeof(states) / sizeof(*states); s++)
		sample(p, "dbshift_migrations", numv(sum, states[s]), "state", states[s], NULL);
	family(p, "dbshift_migrations_pending", "gauge", "Migrations not applied yet.");
	sample(p, "dbshift_migrations_pending", numv(sum, "pending"), NULL);
}

/* The database's metrics: dbshift_db_NAME(_total for counters), a name in
 * ms given in seconds. */
static void database_families(prom *p, const json_t *m)
{
	const json_t *list = json_object_get(m, "metrics");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *x = json_array_get(list, i);
		const char *name = jtext(x, "name"), *kind = jtext(x, "kind"), *label = jtext(x, "label");
		int counter = !strcmp(kind, "counter");
		size_t n = strlen(name);
		int ms = n > 3 && !strcmp(name + n - 3, "_ms");
		char full[128], help[160], key[64] = "";
		snprintf(full, sizeof(full), "dbshift_db_%.*s%s%s", (int)(ms ? n - 3 : n), name,
			 ms ? "_seconds" : "", counter ? "_total" : "");
		snprintf(help, sizeof(help), "The database's %s (%s).", name, kind);
		family(p, full, counter ? "counter" : "gauge", help);
		double v = numv(x, "value") / (ms ? 1000.0 : 1.0);
		const char *eq = strchr(label, '=');
		if (eq && (size_t)(eq - label) < sizeof(key)) {
			memcpy(key, label, (size_t)(eq - label));
			key[eq - label] = '\0';
			sample(p, full, v, key, eq + 1, NULL);
		} else {
			sample(p, full, v, NULL);
		}
	}
	if (json_is_number(json_object_get(m, "cache_hit_ratio"))) {
		family(p, "dbshift_db_cache_hit_ratio", "gauge",
		       "Blocks found in shared buffers over blocks asked for, 0 to 1.");
		sample(p, "dbshift_db_cache_hit_ratio", numv(m, "cache_hit_ratio"), NULL);
	}
}

char *prom_text(const json_t *runs, const json_t *run, const json_t *status,
		const json_t *metrics)
{
	char *text = NULL;
	size_t n = 0;
	prom p = { open_memstream(&text, &n), "" };
	if (!p.f)
		return strdup("");
	family(&p, "dbshift_up", "gauge", "1 when dbshift could read the database's metrics.");
	sample(&p, "dbshift_up", json_object_get(metrics, "metrics") ? 1 : 0, NULL);
	run_families(&p, runs, run);
	migration_families(&p, status);
	database_families(&p, metrics);
	fclose(p.f);
	return text;
}
