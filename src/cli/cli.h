/*
 * cli.h - what the dbshift commands share: parsed global options, the
 * option tables each command declares, and output helpers.  Commands use
 * only the public API in <dbshift/dbshift.h>.
 */
#ifndef DBSHIFT_CLI_H
#define DBSHIFT_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "dbshift/dbshift.h"

typedef struct cli {
	dbs_options opts;
	int json, quiet, verbose;
	int color;         /* colour: stdout a terminal, and not --no-color,
			      NO_COLOR or TERM=dumb */
	const char *command;
	char **args;       /* positional arguments after the command */
	int nargs;
	size_t done;       /* steps that succeeded in this run */
	int failed_in_tx;  /* a step failed inside its transaction: 1 up, 2 down */
	int redo_atomic;   /* redo's steps ran in one transaction */
	int need;          /* what main opens for the command (NEED_*) */
	json_t *doc;       /* --json: the command's document, printed at the end */
	char *doc_text;    /* or its text, as the library gave it */
} cli;

/* One command-specific option: a flag (int) or a value (const char *). */
typedef struct cli_option {
	const char *name;  /* "--dry-run" */
	int *flag;
	const char **value;
	const char *help;
	const char *arg;   /* what a value is: "DURATION", "N", "FILE" (NULL: VALUE) */
} cli_option;

/*
 * A command: check reads its arguments before anything is opened (a usage
 * error never waits for a database) and may change g->need; main then
 * opens what need says and calls run with the context (NULL for
 * NEED_NOTHING), and closes it after.
 */
typedef struct cli_command {
	const char *name;
	int (*check)(cli *g);       /* NULL: takes no arguments */
	int (*run)(cli *g, dbs_ctx *ctx);
	int need;
	const cli_option *options;  /* NULL-name terminated, may be NULL */
	const char *usage;
	const char *description;
} cli_command;

/* Exit code for a library result: 0, 1 failed, 2 input, 3 policy. */
int exit_code(int rc);

/* Print err on stderr (with --json it also joins the document); returns
 * the exit code. */
int report_failure(cli *g, const dbs_error *err);

/*
 * --json: a command hands its document over (text, or a json_t taken);
 * main prints one document at the end, with "command", "ok" and
 * "exit_code" first and every "..._at" time in RFC 3339 (docs/json.md).
 */
void json_emit(cli *g, const char *text);
void json_emit_new(cli *g, json_t *doc);
int json_finish(cli *g, int code);

/* What a command opens: nothing, a context without files or database (0),
 * the migrations directory, the database, both. */
enum { NEED_NOTHING = -1, NEED_DIR = 1, NEED_DB = 2, NEED_BOTH = 3 };
/* Open what need says (report the failure and return its exit code). */
int open_ctx(cli *g, dbs_ctx **ctx, int need);
/* What a run does, as it happens (dbs_set_events): main asks for the
 * lock-timeout retries unless -q, with -v also for the migrator lock's
 * wait and each statement's time. */
void show_event(const dbs_event *e, void *data);

/* A usage error for the current command (exit 2). */
/* Replacing a database's contents (restore, rollback --from-backup) asks
 * first: confirm_needed refuses when there is no --yes and no terminal to
 * ask at; confirm_restore asks, and says no unless "yes" is typed. */
int confirm_needed(cli *g, const char *what, int yes);
int confirm_restore(dbs_ctx *ctx, const char *id, const char *target);
int usage_error(cli *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The command will ask a framework (Django) for its plan of kind
 * ("migrate" or "rollback") with o's target and steps: read with the rest,
 * in one start of the framework. */
void ask_framework_plan(cli *g, const char *kind, const dbs_migrate_opts *o);

/* Print a run: the step callback and the summary; shared by migrate,
 * rollback and redo. */
void print_step(const dbs_step *step, int64_t ms, const dbs_error *err, void *data);
int finish_run(cli *g, dbs_ctx *ctx, int rc, char *report, const char *verb);

/* Show a plan (human, or JSON with --json) and the error rc left, if
 * any; returns the exit code.  Used by plan and by --dry-run. */
int show_plan(cli *g, dbs_ctx *ctx, const char *command, int rc, const dbs_plan *plan);
/* Parse a positive count given to option opt (NULL s: *out = 0). */
int parse_count(cli *g, const char *opt, const char *s, int *out);
/* A duration option (500ms, 2s, 5min, 1h, 7d; a bare number is bare_ms
 * milliseconds each, bare_unit in words, as the option documents): *ms;
 * NULL s leaves *ms. */
int parse_duration_opt(cli *g, const char *opt, const char *s, int bare_ms,
		       const char *bare_unit, int *ms);
/* A copy of a URL given on the command line; the password in argv itself
 * is overwritten so that the process list does not show it. */
char *take_url_arg(const char *arg);
/* "app/version_name" or "version_name" */
void entry_label(const dbs_entry *e, char *buf, size_t n);

/* A member of a JSON object: its text ("" when it is not a string), its
 * number (0 when it is not one; a real is truncated) (render.c). */
const char *jtext(const json_t *o, const char *key);
long long jint(const json_t *o, const char *key);

/* Text for people from the library's JSON documents (render.c). */
/* color: level words in colour (only when cli.color says so) */
void render_plan(FILE *out, const json_t *doc, int with_sql, int color);
void render_plan_of(FILE *out, const dbs_plan *plan, int with_sql, int color);
void render_assess(FILE *out, const json_t *doc);
void render_verify(FILE *out, const json_t *doc);
void render_assertion(FILE *out, const json_t *check);
void render_doctor(FILE *out, const json_t *doc);
void render_data(FILE *out, const json_t *doc, const char *file);
void render_backups(FILE *out, const json_t *doc);
void render_prune(FILE *out, const json_t *doc);
void render_lint(FILE *out, const dbs_lint *l, int color);
void render_runs(FILE *out, const json_t *doc);
/* A run of a runs list (or a run's document): where it is, or how it
 * ended, in a few words. */
void run_progress(const json_t *run, char *buf, size_t n);
void render_server(FILE *out, const json_t *server);

/* serve's answers, from the runs, the selected run, the status and the
 * metrics documents: the HTML page (fragment: its body alone, page.c) and
 * the Prometheus text (prom.c).  Caller frees. */
char *page_html(const json_t *runs, const json_t *run, const json_t *status,
		const json_t *metrics, int fragment);
char *prom_text(const json_t *runs, const json_t *run, const json_t *status,
		const json_t *metrics);
/* Parse report and render it to stdout; -1 if it is not JSON. */
int render_report(const char *report, void (*render)(FILE *, const json_t *));

/* The commands, one file each: check_X reads the arguments, cmd_X runs. */
/* The command table (main.c), and what help.c makes of it: the help, the
 * "did you mean", man pages and completions. */
extern const cli_command cli_commands[];
void usage(FILE *f);
json_t *help_json(const cli_command *c);  /* NULL: all of them */
void command_help(FILE *f, const cli_command *c);
const cli_command *find_command(const char *name);
const char *near_command(const char *word);
const char *near_option(const cli_command *cmd, const char *word);
/* man: "dbshift" (dbshift(1)) or "dbshift.conf" (dbshift.conf(5)); else
 * completion: "bash", "zsh" or "fish".  -1 for a shell it does not know. */
int help_generate(FILE *f, const char *man, const char *completion);

extern const cli_option fleet_options[];
int check_fleet(cli *g);
int cmd_fleet(cli *g, dbs_ctx *ctx);
int check_wait(cli *g);
int cmd_wait(cli *g, dbs_ctx *ctx);
int cmd_create(cli *g, dbs_ctx *ctx);
int check_new(cli *g);
int cmd_new(cli *g, dbs_ctx *ctx);
int check_status(cli *g);
int cmd_status(cli *g, dbs_ctx *ctx);
int check_watch(cli *g);
int cmd_watch(cli *g, dbs_ctx *ctx);
int check_serve(cli *g);
int cmd_serve(cli *g, dbs_ctx *ctx);
int check_plan(cli *g);
int cmd_plan(cli *g, dbs_ctx *ctx);
int check_migrate(cli *g);
int cmd_migrate(cli *g, dbs_ctx *ctx);
int check_rollback(cli *g);
int cmd_rollback(cli *g, dbs_ctx *ctx);
int cmd_redo(cli *g, dbs_ctx *ctx);
int check_baseline(cli *g);
int cmd_baseline(cli *g, dbs_ctx *ctx);
extern const cli_option adopt_options[];
int check_adopt(cli *g);
int cmd_adopt(cli *g, dbs_ctx *ctx);
int check_repair(cli *g);
int cmd_repair(cli *g, dbs_ctx *ctx);
int check_lint(cli *g);
int cmd_lint(cli *g, dbs_ctx *ctx);
int check_assess(cli *g);
int cmd_assess(cli *g, dbs_ctx *ctx);
int check_data(cli *g);
int cmd_data(cli *g, dbs_ctx *ctx);
int check_backup(cli *g);
int cmd_backup(cli *g, dbs_ctx *ctx);
int check_backups(cli *g);
int cmd_backups(cli *g, dbs_ctx *ctx);
int check_restore(cli *g);
int cmd_restore(cli *g, dbs_ctx *ctx);
int check_verify(cli *g);
int cmd_verify(cli *g, dbs_ctx *ctx);
int check_schema(cli *g);
int cmd_schema(cli *g, dbs_ctx *ctx);
int check_doctor(cli *g);
int cmd_doctor(cli *g, dbs_ctx *ctx);
int cmd_settings(cli *g, dbs_ctx *ctx);
int check_rehearse(cli *g);
int cmd_rehearse(cli *g, dbs_ctx *ctx);
int check_release(cli *g);
int cmd_release(cli *g, dbs_ctx *ctx);
int check_notify(cli *g);
int cmd_notify(cli *g, dbs_ctx *ctx);
/* Each line of warn as a "dbshift: warning:" line on stderr (not --quiet). */
void print_warnings(const cli *g, const char *warn);

extern const cli_option wait_options[];
extern const cli_option migrate_options[], rollback_options[], plan_options[],
	redo_options[], lint_options[], assess_options[], data_options[],
	backup_options[], backups_options[], restore_options[], verify_options[], repair_options[], notify_options[],
	release_options[], status_options[], watch_options[], serve_options[],
	rehearse_options[];

#endif
