/*
 * verify.c - post-migration verification: the history (nothing pending,
 * no drift, no failed rows) and the schema (every table has a primary
 * key, every foreign key a covering index, no invalid indexes, no NOT
 * VALID constraints, no sequence behind its column), and the data
 * assertions (assertions.c) that are not invariants.  Each check passes
 * or fails with the objects it found.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"

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
	return db_schema_dump(ctx->driver, ctx->conn, text, &ctx->err);
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

#define SAMPLE_ROWS 1000

/* SHA-256 of the first SAMPLE_ROWS rows of table, ordered by its first column. */
static int sample_hash(const db_driver *d, db_conn *c, const char *table, char out[65],
		       dbs_error *err)
{
	char *q = db_quote_table(d, table);
	char *sql = xprintf("SELECT * FROM %s ORDER BY 1 LIMIT %d", q, SAMPLE_ROWS);
	db_rows *r = NULL;
	int rc = db_query(d, c, sql, 0, NULL, &r, err);
	if (!rc) {
		strbuf sb;
		strbuf_init(&sb);
		for (size_t i = 0; i < r->nrows * r->ncols; i++) {
			strbuf_adds(&sb, r->v[i] ? r->v[i] : "\\N");
			strbuf_add(&sb, "\0", 1);
		}
		sha256_hex(sb.buf, sb.len, out);
		strbuf_release(&sb);
	}
	db_rows_free(r);
	free(sql);
	free(q);
	return rc;
}

/* Tables whose row counts or sampled rows differ from the other database. */
static int compare_with(dbs_ctx *ctx, const char *url, json_t *objs)
{
	const db_driver *d = ctx->driver, *od;
	int rc = driver_for_url(&od, url, &ctx->err);
	if (!rc && od != d)
		rc = dbs_fail(&ctx->err, DBS_EINPUT, "cannot compare a %s database with a %s one",
			      d->name, od->name);
	db_conn *oc = NULL;
	db_rows *mine = NULL, *theirs = NULL;
	if (!rc)
		rc = db_connect(d, &oc, url, &ctx->err);
	if (!rc)
		rc = table_counts(d, ctx->conn, &mine, &ctx->err);
	if (!rc)
		rc = table_counts(d, oc, &theirs, &ctx->err);
	for (size_t i = 0; !rc && i < mine->nrows; i++) {
		const char *t = DB_VAL(mine, i, 0);
		if (starts_with(t, "dbshift_") || strstr(t, ".dbshift_"))
			continue;  /* our own records differ by design */
		size_t j = 0;
		while (j < theirs->nrows && strcmp(DB_VAL(theirs, j, 0), t))
			j++;
		if (j == theirs->nrows) {
			json_array_append_new(objs, json_sprintf("%s: missing there", t));
		} else if (strcmp(DB_VAL(mine, i, 1), DB_VAL(theirs, j, 1))) {
			json_array_append_new(objs, json_sprintf("%s: %s rows here, %s there", t,
								 DB_VAL(mine, i, 1), DB_VAL(theirs, j, 1)));
		} else {
			char a[65], b[65];
			rc = sample_hash(d, ctx->conn, t, a, &ctx->err);
			if (!rc)
				rc = sample_hash(d, oc, t, b, &ctx->err);
			if (!rc && strcmp(a, b))
				json_array_append_new(objs, json_sprintf("%s: sampled rows differ", t));
		}
	}
	for (size_t j = 0; !rc && theirs && j < theirs->nrows; j++) {
		const char *t = DB_VAL(theirs, j, 0);
		size_t i = 0;
		while (i < mine->nrows && strcmp(DB_VAL(mine, i, 0), t))
			i++;
		if (i == mine->nrows && !starts_with(t, "dbshift_") && !strstr(t, ".dbshift_"))
			json_array_append_new(objs, json_sprintf("%s: missing here", t));
	}
	db_rows_free(mine);
	db_rows_free(theirs);
	if (oc)
		db_close(d, oc);
	return rc;
}

int dbs_verify(dbs_ctx *ctx, const char *schema_file, const char *compare_url,
	       char **report, int *failed)
{
	return verify_run(ctx, schema_file, compare_url, 0, report, failed);
}

int verify_run(dbs_ctx *ctx, const char *schema_file, const char *compare_url, int pending_ok,
	       char **report, int *failed)
{
	assertion_set set;
	int rc = assertions_load(ctx, 0, &set);
	if (rc)
		return rc;
	rc = ctx_load_state(ctx);
	db_rows *probs = NULL;
	char *diff = NULL;
	if (!rc && schema_file)
		rc = schema_diff(ctx, schema_file, &diff);
	if (!rc)
		rc = db_schema_problems(ctx->driver, ctx->conn, &probs, &ctx->err);
	if (rc) {
		assertions_free(&set);
		free(diff);
		return rc;
	}
	json_t *checks = json_array();
	static const struct { dbs_state state; const char *id, *title; } hist[] = {
		{ DBS_PENDING, "pending", "nothing pending" },
		{ DBS_DRIFTED, "drift", "no applied migration changed since" },
		{ DBS_FAILED, "failed", "no failed migrations" },
		{ DBS_RUNNING, "running", "no migration running outside a transaction" },
	};
	for (size_t h = pending_ok; h < sizeof(hist) / sizeof(hist[0]); h++) {
		json_t *objs = json_array();
		for (size_t i = 0; i < ctx->nentries; i++) {
			const dbs_entry *e = &ctx->entries[i].pub;
			char label[512];
			if (e->state == hist[h].state)
				json_array_append_new(objs, json_string(plan_label(e, label,
										   sizeof(label))));
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
	if (compare_url) {
		json_t *objs = json_array();
		if ((rc = compare_with(ctx, compare_url, objs))) {
			assertions_free(&set);
			json_decref(objs);
			json_decref(checks);
			free(diff);
			return rc;
		}
		char *shown = dbs_redact_url(compare_url);
		char *title = xprintf("row counts and sampled rows match %s", shown);
		add_check(checks, "compare", title, objs);
		free(title);
		free(shown);
	}
	if (schema_file) {
		json_t *objs = json_array();
		if (diff)
			json_array_append_new(objs, json_string(schema_file));
		add_check(checks, "schema", "the schema matches the snapshot", objs);
		if (diff)
			json_object_set_new(json_array_get(checks, json_array_size(checks) - 1),
					    "diff", json_string(diff));
	}
	int ignored = 0;
	rc = assertions_check(ctx, &set, checks, &ignored);
	assertions_free(&set);
	if (rc) {
		json_decref(checks);
		free(diff);
		return rc;
	}
	*failed = 0;
	for (size_t i = 0; i < json_array_size(checks); i++)
		*failed += json_array_size(json_object_get(json_array_get(checks, i), "objects")) > 0;
	free(diff);
	int total = (int)json_array_size(checks);
	*report = report_dump(json_pack("{s:s, s:s, s:o, s:i, s:{s:i, s:i, s:i}}", "command",
					"verify", "database", dbs_database_display(ctx), "checks",
					checks, "failed", *failed, "summary", "total", total,
					"passed", total - *failed, "failed", *failed));
	return 0;
}
