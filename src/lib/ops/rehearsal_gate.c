/*
 * rehearsal_gate.c - require_rehearsal: migrate and release refuse a plan
 * that no successful rehearsal of the same identity, younger than the
 * setting, ran in this database's dbshift_runs.  The identity of a plan
 * is the SHA-256 of its steps (way, app, version, checksum) in order.
 * It lives apart from rehearse.c, which runs migrate, because migrate
 * asks it.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

void plan_identity(const dbs_plan *plan, char id[65], json_t **list)
{
	strbuf sb;
	strbuf_init(&sb);
	if (list)
		*list = json_array();
	for (size_t i = 0; i < plan->n; i++) {
		const dbs_step *s = &plan->steps[i];
		const plan_entry *pe = (const plan_entry *)(const void *)s->entry;
		const char *way = s->direction == DBS_UP ? "up" : "down";
		const char *sum = pe->m ? pe->m->checksum : "";
		char label[512];
		strbuf_addf(&sb, "%s %s %s %s\n", way, s->entry->app, s->entry->version, sum);
		if (list)
			json_array_append_new(*list, json_pack("{s:s, s:s, s:s}", "migration",
				plan_label(s->entry, label, sizeof(label)), "way", way, "checksum",
				sum));
	}
	sha256_hex(sb.buf ? sb.buf : "", sb.len, id);
	strbuf_release(&sb);
}

/* What differs between the plan now (list) and a rehearsal's (was). */
static char *plan_difference(const json_t *list, const json_t *was)
{
	strbuf sb;
	strbuf_init(&sb);
	for (int side = 0; side < 2; side++) {
		const json_t *a = side ? was : list, *b = side ? list : was;
		for (size_t i = 0; i < json_array_size(a); i++) {
			const json_t *x = json_array_get(a, i);
			const char *m = json_string_value(json_object_get(x, "migration"));
			int found = 0, same = 0;
			for (size_t k = 0; k < json_array_size(b) && !found; k++) {
				const json_t *y = json_array_get(b, k);
				if (!strcmp(m, json_string_value(json_object_get(y, "migration")))) {
					found = 1;
					same = json_equal(x, y);
				}
			}
			if (!found)
				strbuf_addf(&sb, "%s%s %s", sb.len ? ", " : "", m, side ? "is no longer "
					    "in the plan" : "was not rehearsed");
			else if (!same && !side)
				strbuf_addf(&sb, "%s%s changed since", sb.len ? ", " : "", m);
		}
	}
	return strbuf_detach(&sb);
}

int rehearsal_gate(dbs_ctx *ctx, const dbs_plan *plan, int force, json_t **facts)
{
	int max_ms = setting_ms(ctx->opts.require_rehearsal, "require_rehearsal");
	char id[65];
	json_t *list = NULL;
	*facts = NULL;
	plan_identity(plan, id, &list);
	if (!strcmp(ctx->rehearsed, id)) {  /* a step of this release rehearsed it */
		json_decref(list);
		*facts = json_pack("{s:s, s:s}", "plan_id", id, "rehearsal", "this release");
		return 0;
	}
	int exists = 0;
	db_rows *r = NULL;
	int rc = db_table_exists(ctx->driver, ctx->conn, "dbshift_runs", &exists, &ctx->err);
	if (!rc && exists)
		rc = db_query(ctx->driver, ctx->conn, "SELECT run_id, CAST(report AS text) FROM "
			      "dbshift_runs WHERE command = 'rehearse' AND status = 'succeeded' "
			      "ORDER BY started_at DESC, run_id DESC LIMIT 100", 0, NULL, &r,
			      &ctx->err);
	if (rc) {
		json_decref(list);
		return rc;
	}
	char *why = NULL, *newest_other = NULL;
	const char *ok_id = NULL;
	int64_t age = -1;
	for (size_t i = 0; r && i < r->nrows && !ok_id && !why; i++) {
		json_t *doc = DB_VAL(r, i, 1) ? json_loads(DB_VAL(r, i, 1), 0, NULL) : NULL;
		const char *pid = json_string_value(json_object_get(doc, "plan_id"));
		const char *way = json_string_value(json_object_get(doc, "way"));
		int64_t at = json_integer_value(json_object_get(doc, "rehearsed_at_ms"));
		if (pid && !strcmp(pid, id) && way && !strcmp(way, "migrate")) {
			age = wall_ms() - at;
			if (age <= max_ms)
				ok_id = DB_VAL(r, i, 0);
			else
				why = xprintf("the newest rehearsal of this plan, %s, is %lld min "
					      "old", DB_VAL(r, i, 0), (long long)(age / 60000));
		} else if (!newest_other && way && !strcmp(way, "migrate")) {
			char *d = plan_difference(list, json_object_get(doc, "plan"));
			newest_other = xprintf("the newest rehearsal, %s, ran another plan: %s",
					       DB_VAL(r, i, 0), d);
			free(d);
		}
		json_decref(doc);
	}
	*facts = json_pack("{s:s, s:s, s:s?, s:b}", "plan_id", id, "require_rehearsal",
			   ctx->opts.require_rehearsal, "rehearsal", ok_id, "forced", !ok_id && force);
	if (!ok_id && !force) {
		rc = dbs_fail(&ctx->err, DBS_EPOLICY, "require_rehearsal = %s: no successful "
			      "rehearsal of this plan (%zu migration%s) in the last %s: %s",
			      ctx->opts.require_rehearsal, plan->n, plan->n == 1 ? "" : "s",
			      ctx->opts.require_rehearsal, why ? why : newest_other ? newest_other
			      : "there is none");
		dbs_error_set_hint(&ctx->err, "run 'dbshift rehearse' (on a copy restored from the "
				   "newest backup), or, reviewed, run with --force");
	} else if (!ok_id) {
		json_object_set_new(*facts, "forced_past", json_string(why ? why : newest_other
			? newest_other : "no rehearsal of this plan"));
	}
	free(why);
	free(newest_other);
	db_rows_free(r);
	json_decref(list);
	return rc;
}
