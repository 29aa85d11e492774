/*
 * verify.c - post-migration verification: the history (nothing pending,
 * no drift, no failed rows) and the schema (every table has a primary
 * key, every foreign key a covering index, no invalid indexes, no NOT
 * VALID constraints, no sequence behind its column).  Each check passes
 * or fails with the objects it found.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

static const struct {
	const char *id, *title;
} schema_checks[] = {
	{ "no-primary-key", "every table has a primary key" },
	{ "fk-without-index", "every foreign key has a covering index" },
	{ "invalid-index", "no invalid indexes" },
	{ "not-valid-constraint", "no NOT VALID constraints left" },
	{ "sequence-behind", "no sequence behind its column's largest value" },
};

static void add_check(json_t *checks, const char *id, const char *title, json_t *objects)
{
	json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:o}", "check", id, "title", title,
						"status", json_array_size(objects) ? "fail" : "pass",
						"objects", objects));
}

int dbs_schema_dump(dbs_ctx *ctx, char **text)
{
	return ctx->driver->schema_dump(ctx->conn, ctx->opts.database, text, &ctx->err);
}

/* diff -u of the snapshot and the live schema, or NULL when equal. */
static int schema_diff(dbs_ctx *ctx, const char *snapshot, char **diff)
{
	char *want = NULL, *live = NULL;
	*diff = NULL;
	if (read_file(snapshot, &want, NULL) < 0) {
		dbs_fail(&ctx->err, DBS_EINPUT, "cannot read schema snapshot '%s'", snapshot);
		dbs_error_set_hint(&ctx->err, "write one with 'dbshift schema dump FILE'");
		return DBS_EINPUT;
	}
	int rc = dbs_schema_dump(ctx, &live);
	if (!rc && strcmp(want, live)) {
		char tmp[] = "/tmp/dbshift-schema.XXXXXX";
		int fd = mkstemp(tmp);
		if (fd < 0 || write(fd, live, strlen(live)) != (ssize_t)strlen(live)) {
			rc = dbs_fail(&ctx->err, DBS_EFAIL, "cannot write a temporary file");
		} else {
			char *label = xprintf("--label=%s", snapshot);
			const char *argv[] = { "diff", "-u", label, "--label=live schema", snapshot,
					       tmp, NULL };
			int code = 0;
			rc = spawn_status(argv, NULL, diff, &code, &ctx->err);
			free(label);
		}
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
	}
	free(want);
	free(live);
	return rc;
}

int dbs_verify(dbs_ctx *ctx, const char *schema_file, int json, char **out, int *failed)
{
	int rc = ctx_load_state(ctx);
	db_rows *probs = NULL;
	char *diff = NULL;
	if (!rc && schema_file)
		rc = schema_diff(ctx, schema_file, &diff);
	if (!rc)
		rc = ctx->driver->schema_problems(ctx->conn, &probs, &ctx->err);
	if (rc) {
		free(diff);
		return rc;
	}
	json_t *checks = json_array();
	static const struct { dbs_state state; const char *id, *title; } hist[] = {
		{ DBS_PENDING, "pending", "nothing pending" },
		{ DBS_DRIFTED, "drift", "no applied migration changed since" },
		{ DBS_FAILED, "failed", "no failed migrations" },
	};
	for (size_t h = 0; h < sizeof(hist) / sizeof(hist[0]); h++) {
		json_t *objs = json_array();
		for (size_t i = 0; i < ctx->nentries; i++) {
			const dbs_entry *e = &ctx->entries[i].pub;
			if (e->state == hist[h].state)
				json_array_append_new(objs, json_sprintf("%s%s%s_%s", e->app,
					*e->app ? "/" : "", e->version, e->name));
		}
		add_check(checks, hist[h].id, hist[h].title, objs);
	}
	for (size_t k = 0; k < sizeof(schema_checks) / sizeof(schema_checks[0]); k++) {
		json_t *objs = json_array();
		for (size_t i = 0; i < probs->nrows; i++)
			if (!strcmp(DB_VAL(probs, i, 0), schema_checks[k].id))
				json_array_append_new(objs, json_string(DB_VAL(probs, i, 1)));
		add_check(checks, schema_checks[k].id, schema_checks[k].title, objs);
	}
	db_rows_free(probs);
	if (schema_file) {
		json_t *objs = json_array();
		if (diff)
			json_array_append_new(objs, json_string(schema_file));
		add_check(checks, "schema", "the schema matches the snapshot", objs);
		if (diff)
			json_object_set_new(json_array_get(checks, json_array_size(checks) - 1),
					    "diff", json_string(diff));
	}
	*failed = 0;
	strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < json_array_size(checks); i++) {
		json_t *c = json_array_get(checks, i);
		json_t *objs = json_object_get(c, "objects");
		int fail = json_array_size(objs) > 0;
		*failed += fail;
		strbuf_addf(&sb, "%-4s  %s", fail ? "FAIL" : "pass",
			    json_string_value(json_object_get(c, "title")));
		for (size_t k = 0; k < json_array_size(objs); k++)
			strbuf_addf(&sb, "%s%s", k ? ", " : ": ", json_string_value(json_array_get(objs, k)));
		strbuf_adds(&sb, "\n");
		const char *d = json_string_value(json_object_get(c, "diff"));
		if (d)
			strbuf_addf(&sb, "%s\n", d);
	}
	free(diff);
	strbuf_addf(&sb, "verify: %d of %zu checks failed\n", *failed, json_array_size(checks));
	if (json) {
		strbuf_release(&sb);
		*out = report_dump(json_pack("{s:s, s:s, s:o, s:i}", "command", "verify", "database",
					     dbs_database_display(ctx), "checks", checks, "failed", *failed));
	} else {
		json_decref(checks);
		*out = strbuf_detach(&sb);
	}
	return 0;
}
