/*
 * cmd_backup.c - dbshift backup, backups list|verify [ID] [--restore], and
 * restore ID [--target URL] [--yes].
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *format, *jobs, *target, *keep, *max_age, *files_to;
static int restore_check, yes, dry_run;

/* Each command its own options: one it does not take is a usage error,
 * never one taken and ignored. */
const cli_option backup_options[] = {
	{ "--format", NULL, &format, "custom (default), plain or directory", "FORMAT" },
	{ "-j", NULL, &jobs, "parallel jobs for the directory format", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

const cli_option restore_options[] = {
	{ "--target", NULL, &target, "into this database instead", "URL" },
	{ "--yes", &yes, NULL, "do not ask", NULL },
	{ "--files-to", NULL, &files_to, "the files kept with it under this directory", "DIR" },
	{ NULL, NULL, NULL, NULL, NULL }
};

const cli_option backups_options[] = {
	{ "--restore", &restore_check, NULL, "backups verify: also restore into a scratch database",
	  NULL },
	{ "--keep", NULL, &keep, "backups prune: keep the newest N", "N" },
	{ "--max-age", NULL, &max_age, "backups prune: remove those older than this (30d, 2w; a bare number is days)",
	  "AGE" },
	{ "--dry-run", &dry_run, NULL, "backups prune: say what would go", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

/* Dump size so far next to the database's size (the dump is compressed),
 * then the upload's bytes sent of all. */
static void progress(const dbs_backup_progress *p, void *data)
{
	(void)data;
	if (!strcmp(p->phase, "upload"))
		fprintf(stderr, "\ruploading: %.1f of %.1f MB, %.0f s\033[K", p->done / 1048576.0,
			p->total / 1048576.0, p->elapsed_ms / 1000.0);
	else
		fprintf(stderr, "\r%.1f MB written of a %.1f MB database, %.0f s\033[K",
			p->done / 1048576.0, p->total / 1048576.0, p->elapsed_ms / 1000.0);
}

static int fail(cli *g, dbs_ctx *ctx)
{
	return report_failure(g, dbs_last_error(ctx));
}

static int njobs;

int check_backup(cli *g)
{
	if (g->nargs)
		return usage_error(g, "backup takes no arguments");
	njobs = 0;
	return jobs ? parse_count(g, "-j", jobs, &njobs) : 0;
}

int cmd_backup(cli *g, dbs_ctx *ctx)
{
	int rc;
	char *id = NULL, *manifest = NULL;
	int tty = isatty(STDERR_FILENO) && !g->quiet && !g->json;
	if (tty)
		fprintf(stderr, "backing up %s\n", dbs_database_display(ctx));
	rc = dbs_backup(ctx, format, njobs, tty ? progress : NULL, NULL, &id, &manifest);
	if (tty)
		fputs("\r\033[K", stderr);
	if (rc) {
		free(manifest);
		return fail(g, ctx);
	}
	if (g->json)
		json_emit(g, manifest);
	else
		printf("backup %s written to %s/%s\n", id, g->opts.backup_dir, id);
	free(manifest);
	free(id);
	return 0;
}

static int nkeep;
static int64_t max_age_s;

static int check_prune(cli *g)
{
	nkeep = 0;
	max_age_s = 0;
	int rc = parse_count(g, "--keep", keep, &nkeep);
	if (rc)
		return rc;
	/* an age (30d, 2w, 12h), a bare number being days */
	if (max_age && (strspn(max_age, "0123456789") == strlen(max_age)
			? dbs_parse_age(max_age, &max_age_s) || (max_age_s *= 86400) <= 0
			: dbs_parse_age(max_age, &max_age_s) || max_age_s <= 0))
		return usage_error(g, "bad --max-age '%s': give an age such as 12h, 30d or 2w (a "
				   "bare number is days)", max_age);
	if (g->nargs != 1 || (!nkeep && !max_age_s))
		return usage_error(g, "usage: dbshift backups prune [--keep N] [--max-age AGE] [--dry-run]");
	g->need = 0;
	return 0;
}

static int prune(cli *g, dbs_ctx *ctx)
{
	char *out = dbs_backups_prune(ctx, nkeep, max_age_s, dry_run);
	if (g->json)
		json_emit(g, out);
	else
		render_report(out, render_prune);
	free(out);
	return 0;
}

int check_backups(cli *g)
{
	const char *sub = g->nargs ? g->args[0] : "";
	if (!strcmp(sub, "prune") && restore_check)
		return usage_error(g, "--restore is an option of backups verify, not of backups prune");
	if (!strcmp(sub, "prune"))
		return check_prune(g);
	if (keep || max_age || dry_run)
		return usage_error(g, "%s is an option of backups prune, not of backups %s",
				   keep ? "--keep" : max_age ? "--max-age" : "--dry-run",
				   *sub ? sub : "");
	if (!strcmp(sub, "list") && restore_check)
		return usage_error(g, "--restore is an option of backups verify, not of backups list");
	if (strcmp(sub, "list") && strcmp(sub, "verify"))
		return usage_error(g, "usage: dbshift backups list | verify ID [--restore] | "
				   "prune [--keep N] [--max-age AGE] [--dry-run]");
	if (!strcmp(sub, "list") && g->nargs != 1)
		return usage_error(g, "backups list takes no arguments");
	if (!strcmp(sub, "verify") && g->nargs > 2)
		return usage_error(g, "usage: dbshift backups verify [ID] [--restore]");
	/* verify without an ID takes the newest backup of this database */
	int need_db = !strcmp(sub, "verify") && (restore_check || g->nargs == 1);
	g->need = need_db ? NEED_DB : 0;
	return 0;
}

int cmd_backups(cli *g, dbs_ctx *ctx)
{
	int rc = 0;
	if (!strcmp(g->args[0], "prune"))
		return prune(g, ctx);
	if (!strcmp(g->args[0], "list")) {
		char *out = dbs_backups_list(ctx);
		json_t *doc = json_loads(out, 0, NULL);
		const json_t *e = json_object_get(doc, "error");
		if (e)  /* the store could not be listed: only the backups here */
			rc = 1;
		if (g->json)
			json_emit(g, out);
		else
			render_report(out, render_backups);
		if (e && !g->json)
			fprintf(stderr, "dbshift: error: could not list the backups in the store, only "
				"those here: %s\n", jtext(e, "message"));
		json_decref(doc);
		free(out);
	} else {
		/* without an ID: the newest backup */
		char *report = NULL, *id = g->nargs == 2 ? strdup(g->args[1]) : dbs_backup_newest(ctx);
		if (!id) {
			return usage_error(g, "no backup of %s in %s: take one with 'dbshift backup'",
					   dbs_database_display(ctx), g->opts.backup_dir);
		}
		if (dbs_backup_verify(ctx, id, restore_check, &report)) {
			free(report);
			free(id);
			return fail(g, ctx);
		}
		if (g->json)
			json_emit(g, report);
		else
			printf("backup %s: every file matches its checksum%s\n", id,
			       restore_check ? "; restored into a scratch database, row counts match" : "");
		free(report);
		free(id);
	}
	return rc;
}

int check_restore(cli *g)
{
	if (g->nargs != 1)
		return usage_error(g, "usage: dbshift restore ID [--target URL] [--yes]");
	return confirm_needed(g, "restore", yes);
}

int cmd_restore(cli *g, dbs_ctx *ctx)
{
	int rc;
	if (!yes && !confirm_restore(ctx, g->args[0], target))
		return 1;
	char *report = NULL, *into = target ? take_url_arg(target) : NULL;
	dbs_restore_opts ro = { into, files_to };
	rc = dbs_restore(ctx, g->args[0], &ro, &report);
	free(into);
	if (rc) {
		free(report);
		return fail(g, ctx);
	}
	if (g->json)
		json_emit(g, report);
	else
		printf("restored backup %s; row counts match the backup\n", g->args[0]);
	free(report);
	return 0;
}
