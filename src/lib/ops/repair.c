/*
 * repair.c - settle what a failed run left: clear failed rows, accept
 * edited files, and record how a failed rollback outside a transaction
 * ended.
 */
#include "ops/ops.h"

/* A failed rollback: say which way it was settled, or refuse to guess. */
static int repair_down(dbs_ctx *ctx, plan_entry *pe, int down, const char **action)
{
	char label[512];
	plan_label(&pe->pub, label, sizeof(label));
	if (down == DBS_DOWN_DONE) {
		*action = "down done: pending";
		return state_forget(ctx->driver, ctx->conn, pe->pub.app, pe->pub.version,
				    &ctx->err);
	}
	if (down == DBS_DOWN_UNDONE) {
		/* a failed row whose file is gone shows as missing: pe->m is set */
		*action = "down undone: applied";
		return state_record(ctx->driver, ctx->conn, pe->m, "applied", pe->pub.duration_ms,
				    "repair: rollback undone by hand", 0, &ctx->err);
	}
	*action = "ask";
	dbs_fail(&ctx->err, DBS_EINPUT, "the rollback of %s failed outside a transaction: "
		 "say how it ended", label);
	if (pe->pub.message)
		dbs_error_set_detail(&ctx->err, "%s", pe->pub.message);
	dbs_error_set_hint(&ctx->err, "finish the down by hand and run 'dbshift repair "
			   "--down-done' (the migration becomes pending), or undo what it did "
			   "and run 'dbshift repair --down-undone' (it stays applied)");
	return DBS_EINPUT;
}

int dbs_repair(dbs_ctx *ctx, int down, size_t *fixed, char **report)
{
	run r;
	*fixed = 0;
	int rc = ctx_files_only(ctx, "repair");
	if (!rc)
		rc = ctx_load_state(ctx);
	/* Refuse to guess before anything is written. */
	for (size_t i = 0; !rc && i < ctx->nentries; i++) {
		plan_entry *pe = &ctx->entries[i];
		const char *action;
		if (pe->pub.state == DBS_FAILED && pe->pub.failed_down && down == DBS_DOWN_ASK)
			rc = repair_down(ctx, pe, down, &action);
	}
	if (rc) {
		if (report)
			*report = run_less_report(ctx, "repair");
		return rc;
	}
	rc = run_begin(ctx, &r, "repair");
	for (size_t i = 0; !rc && i < ctx->nentries; i++) {
		plan_entry *pe = &ctx->entries[i];
		const char *action;
		if (pe->pub.state == DBS_FAILED && pe->pub.failed_down) {
			rc = repair_down(ctx, pe, down, &action);
		} else if (pe->pub.state == DBS_FAILED) {
			action = "clear failed";
			rc = state_forget(ctx->driver, ctx->conn, pe->pub.app, pe->pub.version,
					  &ctx->err);
		} else if (pe->pub.state == DBS_DRIFTED) {
			action = "accept checksum";
			rc = state_accept_checksum(ctx->driver, ctx->conn, pe->m, &ctx->err);
		} else {
			continue;
		}
		run_step(ctx, &r, &pe->pub, action, 0, 1, rc ? &ctx->err : NULL);
		if (!rc)
			(*fixed)++;
	}
	rc = run_end(ctx, &r, rc, report);
	ctx_drop_state(ctx);
	return rc;
}
