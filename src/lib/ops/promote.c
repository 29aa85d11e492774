/*
 * promote.c - promotion order: promote_from = ENV in an [env "NAME"]
 * section makes NAME's migrate and release refuse a migration that ENV's
 * database has not applied, succeeded, with the same checksum.  ENV's
 * database is the one its section of the same config file names; its
 * history is read in a read-only transaction (db_query_ro), never
 * written.  Chains (prod <- staging <- dev) hold hop by hop, and
 * status --promotion walks them.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define MAX_CHAIN 16         /* environments along one chain */
#define MAX_HISTORY 10000000 /* rows of an upstream history read at most */

void upstream_free(upstream *u)
{
	free(u->env);
	free(u->display);
	free(u->next);
	db_rows_free(u->rows);
	memset(u, 0, sizeof(*u));
}

/* The database of environment env, by the same config file as ctx's
 * (*url NULL when it names none), and what env promotes from (*next, or
 * NULL). */
static int env_database(dbs_ctx *ctx, const char *env, char **url, char **next)
{
	dbs_options up;
	dbs_error e = { 0 };
	*url = *next = NULL;
	if (!ctx->opts.config) {
		dbs_fail(&ctx->err, DBS_EINPUT, "promote_from = %s, but there is no config file "
			 "to find it in", env);
		return DBS_EINPUT;
	}
	if (dbs_options_load(&up, ctx->opts.config, env, &e)) {
		dbs_fail(&ctx->err, DBS_EINPUT, "promote_from = %s: %s", env, e.message);
		dbs_error_set_hint(&ctx->err, "name an environment of %s ([env \"NAME\"] with its "
				   "database)", ctx->opts.config);
		dbs_error_clear(&e);
		return DBS_EINPUT;
	}
	if (up.database && *up.database)
		*url = xstrdup(up.database);
	*next = up.promote_from ? xstrdup(up.promote_from) : NULL;
	dbs_options_release(&up);
	return 0;
}

/* Read environment env's history: u->rows (app, version, checksum,
 * status), none when it has no history table. */
static int read_upstream(dbs_ctx *ctx, const char *env, upstream *u)
{
	char *url = NULL;
	memset(u, 0, sizeof(*u));
	u->env = xstrdup(env);
	int rc = env_database(ctx, env, &url, &u->next);
	if (!rc && (!url || (ctx->opts.database && !strcmp(url, ctx->opts.database)))) {
		rc = dbs_fail(&ctx->err, DBS_EINPUT, "promote_from = %s: environment %s %s", env,
			      env, url ? "has this environment's database" : "names no database");
		dbs_error_set_hint(&ctx->err, "give [env \"%s\"] its own database = URL", env);
	}
	const db_driver *d = NULL;
	db_conn *c = NULL;
	int exists = 0;
	if (!rc) {
		u->display = dbs_redact_url(url);
		rc = driver_for_url(&d, url, &ctx->err);
	}
	if (!rc)
		rc = db_connect(d, &c, url, &ctx->err);
	if (!rc)
		rc = db_table_exists(d, c, "dbshift_migrations", &exists, &ctx->err);
	if (!rc && exists) {
		int more = 0;
		size_t off = 0;
		rc = db_query_ro(d, c, "SELECT app, version, checksum, status FROM dbshift_migrations",
				 0, MAX_HISTORY, &u->rows, &more, &off, &ctx->err);
	}
	if (rc && ctx->err.code != DBS_EINPUT) {
		char *msg = xprintf("promote_from = %s: cannot read its history (%s): %s", env,
				    u->display ? u->display : "?", ctx->err.message);
		free(ctx->err.message);
		ctx->err.message = msg;
	}
	if (c)
		db_close(d, c);
	free(url);
	return rc;
}

const char *upstream_state(const upstream *u, const char *app, const char *version,
			   const char *checksum)
{
	for (size_t i = 0; u->rows && i < u->rows->nrows; i++) {
		const db_rows *r = u->rows;
		if (strcmp(DB_VAL(r, i, 0) ? DB_VAL(r, i, 0) : "", app) ||
		    strcmp(DB_VAL(r, i, 1) ? DB_VAL(r, i, 1) : "", version))
			continue;
		if (!DB_VAL(r, i, 3) || strcmp(DB_VAL(r, i, 3), "applied"))
			return DB_VAL(r, i, 3) ? DB_VAL(r, i, 3) : "unknown";
		if (checksum && DB_VAL(r, i, 2) && strcmp(DB_VAL(r, i, 2), checksum))
			return "changed";
		return "applied";
	}
	return "pending";
}

int promotion_check(dbs_ctx *ctx, const dbs_plan *plan, json_t **missing, char **display)
{
	upstream u;
	*missing = json_array();
	*display = NULL;
	int rc = read_upstream(ctx, ctx->opts.promote_from, &u);
	for (size_t i = 0; !rc && i < plan->n; i++) {
		const dbs_step *s = &plan->steps[i];
		const plan_entry *pe = (const plan_entry *)(const void *)s->entry;
		if (s->direction != DBS_UP || !pe->m)
			continue;
		const char *st = upstream_state(&u, pe->m->app, pe->m->version, pe->m->checksum);
		char label[512];
		if (strcmp(st, "applied"))
			json_array_append_new(*missing, json_pack("{s:s, s:s}", "migration",
				plan_label(s->entry, label, sizeof(label)), "there", st));
	}
	if (!rc)
		*display = xstrdup(u.display);
	upstream_free(&u);
	return rc;
}

int promotion_chain(dbs_ctx *ctx, upstream **chain, size_t *n)
{
	*chain = NULL;
	*n = 0;
	if (!ctx->opts.promote_from) {
		dbs_fail(&ctx->err, DBS_EINPUT, "no promote_from for %s%s",
			 ctx->opts.env ? "environment " : "this database",
			 ctx->opts.env ? ctx->opts.env : "");
		dbs_error_set_hint(&ctx->err, "set promote_from = ENV in [env \"NAME\"], and choose "
				   "NAME with --env");
		return DBS_EINPUT;
	}
	char *env = xstrdup(ctx->opts.promote_from);
	int rc = 0;
	while (!rc && env) {
		for (size_t i = 0; i < *n; i++)
			if (!strcmp((*chain)[i].env, env) ||
			    (ctx->opts.env && !strcmp(ctx->opts.env, env))) {
				rc = dbs_fail(&ctx->err, DBS_EINPUT, "promote_from goes round in a "
					      "circle at environment %s", env);
				break;
			}
		if (!rc && *n == MAX_CHAIN)
			rc = dbs_fail(&ctx->err, DBS_EINPUT, "promote_from: a chain of more than "
				      "%d environments", MAX_CHAIN);
		if (rc)
			break;
		*chain = xrealloc(*chain, (*n + 1) * sizeof(**chain));
		rc = read_upstream(ctx, env, &(*chain)[*n]);
		/* the next hop: what env itself promotes from */
		const char *next = (*chain)[(*n)++].next;
		free(env);
		env = !rc && next ? xstrdup(next) : NULL;
	}
	free(env);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			upstream_free(&(*chain)[i]);
		free(*chain);
		*chain = NULL;
		*n = 0;
	}
	return rc;
}

/* promote_from = ENV: refuse (exit 3) what ENV's database has not applied,
 * unless forced; *facts says what was found, for the run's report. */
int promotion_gate(dbs_ctx *ctx, const dbs_plan *plan, int force, json_t **facts)
{
	json_t *missing = NULL;
	char *display = NULL;
	if (ctx->fw) {
		dbs_fail(&ctx->err, DBS_EINPUT, "promote_from with framework = %s: not implemented",
			 ctx->fwo->name);
		dbs_error_set_hint(&ctx->err, "remove promote_from from this environment");
		return DBS_EINPUT;
	}
	int rc = promotion_check(ctx, plan, &missing, &display);
	if (rc) {
		json_decref(missing);
		return rc;
	}
	size_t n = json_array_size(missing);
	*facts = json_pack("{s:s, s:s, s:O, s:b}", "from", ctx->opts.promote_from, "database",
			   display, "missing", missing, "forced", n && force);
	if (n) {
		strbuf sb;
		strbuf_init(&sb);
		for (size_t i = 0; i < n; i++) {
			const json_t *m = json_array_get(missing, i);
			strbuf_addf(&sb, "%s%s (%s)", i ? ", " : "",
				    json_string_value(json_object_get(m, "migration")),
				    json_string_value(json_object_get(m, "there")));
		}
		if (!force) {
			rc = dbs_fail(&ctx->err, DBS_EPOLICY, "promote_from = %s: %zu of the "
				      "migrations to apply %s not applied there: %s",
				      ctx->opts.promote_from, n, n == 1 ? "is" : "are", sb.buf);
			dbs_error_set_hint(&ctx->err, "migrate %s first (dbshift --env %s migrate), "
					   "or, reviewed, run with --force", ctx->opts.promote_from,
					   ctx->opts.promote_from);
		} else {
			json_object_set_new(*facts, "forced_past", json_string(sb.buf));
		}
		strbuf_release(&sb);
	}
	json_decref(missing);
	free(display);
	return rc;
}

int dbs_promotion_json(dbs_ctx *ctx, char **doc)
{
	upstream *chain = NULL;
	size_t n = 0;
	*doc = NULL;
	int rc = ctx_load_state(ctx);
	if (!rc)
		rc = promotion_chain(ctx, &chain, &n);
	if (rc)
		return rc;
	json_t *envs = json_array(), *list = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(envs, json_pack("{s:s, s:s}", "environment", chain[k].env,
						      "database", chain[k].display));
	for (size_t i = 0; i < ctx->nentries; i++) {
		const plan_entry *pe = &ctx->entries[i];
		char label[512];
		json_t *there = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(there, json_string(upstream_state(&chain[k],
				pe->pub.app, pe->pub.version, pe->m ? pe->m->checksum : NULL)));
		json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "migration",
			plan_label(&pe->pub, label, sizeof(label)), "here",
			dbs_state_name(pe->pub.state), "upstream", there));
	}
	*doc = report_dump(json_pack("{s:s, s:s?, s:s, s:o, s:o}", "command", "status --promotion",
				     "environment", ctx->opts.env, "database",
				     dbs_database_display(ctx), "chain", envs, "migrations", list));
	for (size_t k = 0; k < n; k++)
		upstream_free(&chain[k]);
	free(chain);
	return 0;
}
