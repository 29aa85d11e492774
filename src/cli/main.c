/*
 * main.c - the dbshift command: global options, the command table, and
 * the dispatch.  Options come from dbshift.conf, then the environment,
 * then the command line, each beating the one before.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Every command: how its arguments are read, what it needs opened. */
/* help's own options: what meson installs, made from these tables */
static int help_man;
static const char *help_completion;
static const cli_option help_options[] = {
	{ "--man", &help_man, NULL, "the man page dbshift(1) (help --man COMMAND: "
	  "dbshift-COMMAND(1); help --man dbshift.conf: dbshift.conf(5))", NULL },
	{ "--completion", NULL, &help_completion, "the completion script of a shell: bash, zsh "
	  "or fish", "SHELL" },
	{ NULL, NULL, NULL, NULL, NULL }
};

const cli_command cli_commands[] = {
	{ "new", check_new, cmd_new, NEED_NOTHING, NULL, "new NAME",
	  "create <version>_<name>.sql with up and down sections" },
	{ "status", check_status, cmd_status, NEED_BOTH, status_options,
	  "status [--exit-code | --runs [--limit N]]",
	  "every migration: applied, pending, drifted, missing or failed (or the runs)" },
	{ "watch", check_watch, cmd_watch, NEED_DB, watch_options, "watch [RUN]",
	  "follow a run (default: the running one) in the terminal until it ends" },
	{ "serve", check_serve, cmd_serve, NEED_BOTH, serve_options, "serve [--listen ADDR:PORT]",
	  "the live view: an HTML page, JSON endpoints and /metrics (read-only)" },
	{ "plan", check_plan, cmd_plan, NEED_BOTH, plan_options,
	  "plan [TARGET] [--rollback] [--steps N]",
	  "what migrate (or rollback) would run, with its SQL; changes nothing" },
	{ "migrate", check_migrate, cmd_migrate, NEED_BOTH, migrate_options,
	  "migrate [TARGET] [--dry-run]", "apply pending migrations up to TARGET (default: all)" },
	{ "up", check_migrate, cmd_migrate, NEED_BOTH, migrate_options, "up [TARGET]",
	  "same as migrate" },
	{ "rollback", check_rollback, cmd_rollback, NEED_BOTH, rollback_options,
	  "rollback [TARGET | [APP] --steps N] [--dry-run]",
	  "undo applied migrations down to TARGET (default: the last one)" },
	{ "down", check_rollback, cmd_rollback, NEED_BOTH, rollback_options, "down [TARGET]",
	  "same as rollback" },
	{ "redo", NULL, cmd_redo, NEED_BOTH, redo_options, "redo",
	  "roll back the last migration and apply it again" },
	{ "baseline", check_baseline, cmd_baseline, NEED_BOTH, NULL, "baseline VERSION",
	  "mark every migration up to VERSION as applied, without running it" },
	{ "adopt", check_adopt, cmd_adopt, NEED_BOTH, adopt_options, "adopt [--yes]",
	  "take over the history of dbmate, golang-migrate, goose, Flyway or Diesel "
	  "(shows what it would record; --yes records it)" },
	{ "lint", check_lint, cmd_lint, NEED_DIR, lint_options,
	  "lint [FILE...] [--format F] [--fail-on LEVEL]",
	  "static safety analysis of migration SQL (no database needed)" },
	{ "assess", check_assess, cmd_assess, NEED_BOTH, assess_options,
	  "assess [TARGET] [--long-query DURATION]",
	  "lint plus live facts: table sizes, rows, blockers, a time estimate" },
	{ "data", check_data, cmd_data, NEED_DB, data_options,
	  "data run FILE [--dry-run] [--batch-size N] ...",
	  "batched data migration: keyset walk, checkpoints, resume, throttle" },
	{ "backup", check_backup, cmd_backup, NEED_DB, backup_options,
	  "backup [--format custom|plain|directory] [-j N]",
	  "back the database up, with a manifest of checksums" },
	{ "backups", check_backups, cmd_backups, 0, backups_options,
	  "backups list | verify ID [--restore] | prune",
	  "list, re-check (and test-restore) or prune backups" },
	{ "restore", check_restore, cmd_restore, NEED_DB, restore_options,
	  "restore ID [--target URL] [--yes]",
	  "restore a backup, replacing the database (or into another one)" },
	{ "doctor", check_doctor, cmd_doctor, NEED_BOTH, NULL, "doctor", "the pre-migration checklist" },
	{ "schema", check_schema, cmd_schema, NEED_DB, NULL, "schema dump [FILE]",
	  "the schema as normalized text: the snapshot for verify --schema" },
	{ "verify", check_verify, cmd_verify, NEED_BOTH, verify_options, "verify [--schema FILE]",
	  "post-migration checks: history, primary keys, FK indexes, invalid indexes..." },
	{ "settings", NULL, cmd_settings, NEED_NOTHING, NULL, "settings",
	  "the keys of dbshift.conf, their defaults and what they do" },
	{ "release", check_release, cmd_release, NEED_BOTH, release_options,
	  "release [--rollback [TARGET]] [--dry-run] [--from STEP]",
	  "the runbook of [release]: doctor, backup, migrate, data, verify, health, hooks" },
	{ "fleet", check_fleet, cmd_fleet, NEED_NOTHING, fleet_options,
	  "fleet COMMAND [--shard K/N] [--only-failed] [--exit-code]",
	  "migrate, rollback, status, plan, verify or release every database of [fleet]" },
	{ "rehearse", check_rehearse, cmd_rehearse, NEED_BOTH, rehearse_options,
	  "rehearse [TARGET] [--rollback] [--backup ID | --fresh] [--keep]",
	  "run the plan on a copy restored from a backup first: times, locks, downtime" },
	{ "notify", check_notify, cmd_notify, 0, notify_options, "notify --test",
	  "send a test message to each notify_url" },
	{ "repair", check_repair, cmd_repair, NEED_BOTH, repair_options,
	  "repair [--down-done | --down-undone]",
	  "clear failed records and accept changed checksums" },
	{ "wait", check_wait, cmd_wait, NEED_NOTHING, wait_options, "wait [--timeout DURATION]",
	  "wait until the database accepts connections (a deploy's first step)" },
	{ "create", NULL, cmd_create, NEED_NOTHING, NULL, "create",
	  "make the database when it is not there (as dbmate create)" },
	/* answered by main before anything is read */
	{ "help", NULL, NULL, NEED_NOTHING, help_options, "help [COMMAND]",
	  "this help, or a command's usage and every option it takes" },
	{ "version", NULL, NULL, NEED_NOTHING, NULL, "version", "the version of dbshift" },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

/* Global options that take a value, and where the value goes. */
typedef struct raw_globals {
	const char *database, *dir, *env, *config, *lock_wait;
	int json, quiet, verbose, no_color, help, version;
} raw_globals;

static int take_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], name))
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 1;
}

/* 1 handled, 0 not a global option, -1 missing value. */
static int global_option(raw_globals *r, int argc, char **argv, int *i)
{
	struct { const char *name; const char **out; } vals[] = {
		{ "--database", &r->database }, { "--dir", &r->dir }, { "--env", &r->env },
		{ "--config", &r->config }, { "--lock-wait", &r->lock_wait },
	};
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		int t = take_value(argc, argv, i, vals[k].name, vals[k].out);
		if (t)
			return t;
	}
	struct { const char *name; int *flag; } flags[] = {
		{ "--json", &r->json }, { "--quiet", &r->quiet }, { "-q", &r->quiet },
		{ "--verbose", &r->verbose }, { "-v", &r->verbose },
		{ "--no-color", &r->no_color }, { "--help", &r->help }, { "-h", &r->help },
		{ "--version", &r->version },
	};
	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
		if (!strcmp(argv[*i], flags[k].name)) {
			*flags[k].flag = 1;
			return 1;
		}
	return 0;
}

static int command_option(const cli_option *opts, int argc, char **argv, int *i)
{
	for (const cli_option *o = opts; o && o->name; o++) {
		if (o->flag && !strcmp(argv[*i], o->name)) {
			*o->flag = 1;
			return 1;
		}
		if (o->value) {
			int t = take_value(argc, argv, i, o->name, o->value);
			if (t)
				return t;
		}
	}
	return 0;
}

/* Check the arguments, open what the command needs, run it, close. */
static int dispatch(cli *g, const cli_command *cmd)
{
	g->need = cmd->need;
	if (!cmd->check && g->nargs)
		return usage_error(g, "%s takes no arguments", cmd->name);
	int rc = cmd->check ? cmd->check(g) : 0;
	dbs_ctx *ctx = NULL;
	if (!rc && g->need != NEED_NOTHING)
		rc = open_ctx(g, &ctx, g->need);
	if (!rc && ctx && !g->quiet)  /* retries; with -v the lock's wait, statements */
		dbs_set_events(ctx, g->verbose ? ~0u : DBS_EV_BIT(DBS_EV_RETRY), show_event, g);
	if (!rc)
		rc = cmd->run(g, ctx);
	dbs_close(ctx);
	return rc;
}

/* The usage error of a word that names no command, with the nearest one. */
static int unknown_command(cli *g, const char *word)
{
	const char *near = near_command(word);
	return usage_error(g, "unknown command '%s'%s%s%s", word, near ? " (did you mean " : "",
			   near ? near : "", near ? "?)" : "");
}

/* Read argv: global and command options, the command, its arguments
 * (into g->args); 0, or the exit code of a usage error. */
static int parse_args(cli *g, raw_globals *r, const cli_command **cmd, int argc, char **argv)
{
	int rest = 0;  /* after "--", every word is an argument */
	for (int i = 1; i < argc; i++) {
		if (!rest && !strcmp(argv[i], "--")) {
			rest = 1;
			continue;
		}
		int t = rest ? 0 : global_option(r, argc, argv, &i);
		if (t == 0 && *cmd && !rest)
			t = command_option((*cmd)->options, argc, argv, &i);
		g->command = *cmd ? (*cmd)->name : NULL;
		if (t < 0)
			return usage_error(g, "option '%s' needs a value", argv[i]);
		if (t > 0) {
			/* --format json is --json: a usage error after it is JSON too */
			if (!strcmp(argv[i], "--format=json") ||
			    (!strcmp(argv[i], "json") && !strcmp(argv[i - 1], "--format")))
				r->json = 1;
			continue;
		}
		g->json = r->json;
		if (!rest && argv[i][0] == '-' && argv[i][1]) {
			const char *near = near_option(*cmd, argv[i]);
			return usage_error(g, "unknown option '%s'%s%s%s%s%s", argv[i],
					   *cmd ? " for " : "", *cmd ? (*cmd)->name : "",
					   near ? " (did you mean " : "", near ? near : "",
					   near ? "?)" : "");
		}
		if (*cmd) {
			g->args[g->nargs++] = argv[i];
			continue;
		}
		if (!(*cmd = find_command(argv[i])))
			return unknown_command(g, argv[i]);
	}
	return 0;
}

/* The options: dbshift.conf and the environment, then the command line. */
void ask_framework_plan(cli *g, const char *kind, const dbs_migrate_opts *o)
{
	g->opts.framework_plan = kind;
	g->opts.framework_plan_target = o->target;
	g->opts.framework_plan_steps = o->steps;
}

static int load_options(cli *g, const raw_globals *r)
{
	dbs_error err = { 0 };
	int rc = dbs_options_load(&g->opts, r->config, r->env, &err);
	if (rc) {
		rc = report_failure(g, &err);
		dbs_error_clear(&err);
		return rc;
	}
	if (r->database) {
		free(g->opts.database);
		g->opts.database = take_url_arg(r->database);
	}
	if (r->dir) {
		free(g->opts.dir);
		g->opts.dir = strdup(r->dir);
	}
	return parse_duration_opt(g, "--lock-wait", r->lock_wait, 1000, "seconds",
				  &g->opts.lock_wait_ms);
}

int main(int argc, char **argv)
{
	cli g = { 0 };
	raw_globals r = { 0 };
	const cli_command *cmd = NULL;
	g.args = calloc((size_t)argc + 1, sizeof(char *));
	int rc = parse_args(&g, &r, &cmd, argc, argv);
	if (rc)
		goto out;
	if (r.version || (cmd && !strcmp(cmd->name, "version"))) {
		g.command = "version";
		g.json = r.json;
		if (g.json)
			json_emit_new(&g, json_pack("{s:s}", "version", DBSHIFT_VERSION));
		else
			printf("dbshift %s\n", DBSHIFT_VERSION);
		goto out;
	}
	if (cmd && !strcmp(cmd->name, "help") && (help_man || help_completion)) {
		if (help_generate(stdout, help_man ? (g.nargs ? g.args[0] : "dbshift") : NULL,
				  help_completion))
			rc = help_man ? usage_error(&g, "no man page '%s': give a command, "
						    "dbshift or dbshift.conf", g.args[0])
				      : usage_error(&g, "bad --completion '%s': use bash, zsh "
						    "or fish", help_completion);
		goto out;
	}
	if (cmd && !strcmp(cmd->name, "help") && g.nargs) {
		const cli_command *about = find_command(g.args[0]);
		g.command = "help";
		g.json = r.json;
		if (about && g.json)
			json_emit_new(&g, help_json(about));
		else if (about)
			command_help(stdout, about);
		else
			rc = unknown_command(&g, g.args[0]);
		goto out;
	}
	if (r.json && (r.help || (cmd && !strcmp(cmd->name, "help")))) {
		g.command = "help";
		g.json = 1;
		json_emit_new(&g, help_json(r.help && cmd && strcmp(cmd->name, "help") ? cmd : NULL));
		goto out;
	}
	if (r.help && cmd && strcmp(cmd->name, "help")) {
		command_help(stdout, cmd);
		goto out;
	}
	if (r.help || !cmd || !strcmp(cmd->name, "help")) {
		int asked = r.help || cmd;
		usage(asked ? stdout : stderr);
		rc = asked ? 0 : 2;
		goto out;
	}
	g.command = cmd->name;
	g.json = r.json;
	g.quiet = r.quiet;
	g.verbose = r.verbose;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	g.color = !r.no_color && isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
		  !(term && !strcmp(term, "dumb"));
	if (!(rc = load_options(&g, &r)))
		rc = dispatch(&g, cmd);
	dbs_options_release(&g.opts);
out:
	rc = json_finish(&g, rc);
	free(g.args);
	return rc;
}
