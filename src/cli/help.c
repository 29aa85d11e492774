/*
 * help.c - every text about the commands, from the one command table
 * (main.c) and its option tables: the help (dbshift help [COMMAND],
 * COMMAND --help), "did you mean", the man pages dbshift(1) and
 * dbshift.conf(5) (the latter from the settings table), and the bash, zsh
 * and fish completions.  meson makes the man pages and completions with
 * the built program (dbshift help --man, --completion SHELL).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

/* The global options, for the help (each with its value and what it does). */
static const struct {
	const char *name, *help;
} globals[] = {
	{ "--database URL", "the database (postgres://..., key=value, sqlite:FILE); else "
	  "DATABASE_URL, else dbshift.conf" },
	{ "--dir DIR", "the migrations directory (default migrations)" },
	{ "--env NAME", "the [env \"NAME\"] section of dbshift.conf to use (or DBSHIFT_ENV)" },
	{ "--config FILE", "the config file (default dbshift.conf, when there is one)" },
	{ "--lock-wait DURATION", "how long to wait for the migrator lock (60s; a bare number is "
	  "seconds)" },
	{ "--json", "one JSON document on stdout" },
	{ "-q, --quiet", "only errors" },
	{ "-v, --verbose", "more: each statement's time, the wait for the migrator lock, how often "
	  "scripts were parsed, the files that are no migration" },
	{ "--no-color", "no colour (also NO_COLOR, TERM=dumb; none off a terminal)" },
	{ "-h, --help", "this help, or with a command its own" },
	{ "--version", "the version of dbshift" },
};

#define NGLOBALS (sizeof(globals) / sizeof(globals[0]))

/* The long name of global option i ("--quiet" of "-q, --quiet"), into buf;
 * whether it takes a value. */
static int global_long(size_t i, char *buf, size_t n)
{
	const char *name = globals[i].name, *comma = strstr(name, ", ");
	const char *l = comma ? comma + 2 : name;
	size_t len = strcspn(l, " ");
	snprintf(buf, n, "%.*s", (int)len, l);
	return l[len] == ' ';
}

/* An option as help and man pages show it: "--phase VALUE". */
static void option_term(const cli_option *o, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", o->name, o->value ? " " : "",
		 o->value ? o->arg ? o->arg : "VALUE" : "");
}

/* Columns to wrap help at: the terminal's, else 80. */
static int help_width(FILE *f)
{
	struct winsize ws;
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* "  TERM  text...": text wrapped at width, its lines after the first
 * indented to column at (TERM too long: text on the next line). */
static void help_line(FILE *f, const char *term, const char *text, int at, int width)
{
	int col = *term ? fprintf(f, "  %s", term) : 0;
	if (col && col + 2 > at) {
		fputc('\n', f);
		col = 0;
	}
	while (*text) {
		int room = width - at - 1;
		if (room < 20)
			room = 20;
		int n = (int)strlen(text);
		if (n > room) {
			n = room;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = (int)strcspn(text, " ");
		}
		fprintf(f, "%*s%.*s\n", at - col, "", n, text);
		col = 0;
		text += n;
		text += strspn(text, " ");
	}
	if (col)
		fputc('\n', f);
}

void usage(FILE *f)
{
	int width = help_width(f);
	fprintf(f, "usage: dbshift [OPTIONS] COMMAND [ARGS]   (dbshift help COMMAND: its options)\n"
		"\ncommands:\n");
	for (const cli_command *c = cli_commands; c->name; c++)
		help_line(f, c->usage, c->description, 34, width);
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < NGLOBALS; i++)
		help_line(f, globals[i].name, globals[i].help, 26, width);
	fputc('\n', f);
	help_line(f, "", "TARGET is VERSION, VERSION_NAME, APP:VERSION, APP:zero or zero. "
		  "Durations: 500ms, 2s, 5min, 1h, 7d. Exit codes: 0 ok, 1 failed, 2 usage or "
		  "input error, 3 refused by policy.", 2, width);
}

/* A command's options, for help --json. */
static json_t *options_json(const cli_option *o)
{
	json_t *list = json_array();
	for (; o && o->name; o++) {
		char term[64];
		option_term(o, term, sizeof(term));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", o->name, "usage",
						      term, "help", o->help ? o->help : ""));
	}
	return list;
}

/* help --json: the commands (or one, c), each with its options. */
json_t *help_json(const cli_command *c)
{
	json_t *list = json_array();
	for (const cli_command *k = c ? c : cli_commands; k->name; k++) {
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o}", "name", k->name,
			"usage", k->usage, "description", k->description, "options",
			options_json(k->options)));
		if (c)
			break;
	}
	json_t *globals_list = json_array();
	for (size_t i = 0; !c && i < NGLOBALS; i++)
		json_array_append_new(globals_list, json_pack("{s:s, s:s}", "name",
			globals[i].name, "help", globals[i].help));
	json_t *doc = json_pack("{s:o}", "commands", list);
	if (!c)
		json_object_set_new(doc, "options", globals_list);
	else
		json_decref(globals_list);
	return doc;
}

/* dbshift help CMD, dbshift CMD --help: its usage, what it does, and every
 * option of its table with its help. */
void command_help(FILE *f, const cli_command *c)
{
	int width = help_width(f);
	fprintf(f, "usage: dbshift [OPTIONS] %s\n\n", c->usage);
	help_line(f, "", c->description, 2, width);
	if (c->options && c->options->name) {
		fprintf(f, "\noptions of %s:\n", c->name);
		for (const cli_option *o = c->options; o->name; o++) {
			char term[64];
			option_term(o, term, sizeof(term));
			help_line(f, term, o->help ? o->help : "", 30, width);
		}
	}
	fprintf(f, "\nglobal options: dbshift help\n");
}

/* Edit distance of a and b (Levenshtein), capped for long words. */
static size_t distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), row[64];
	if (n >= 63 || m >= 63)
		return 99;
	for (size_t j = 0; j <= m; j++)
		row[j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= m; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[m];
}

/* The command nearest to word, when it is near enough to be a typo. */
const char *near_command(const char *word)
{
	const char *best = NULL;
	size_t bd = 3;
	for (const cli_command *c = cli_commands; c->name; c++) {
		size_t d = distance(word, c->name);
		if (d < bd) {
			bd = d;
			best = c->name;
		}
	}
	return best;
}

/* The option of cmd (or a global one) nearest to word. */
const char *near_option(const cli_command *cmd, const char *word)
{
	static char longs[NGLOBALS][32];  /* the global options' long names */
	const char *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < NGLOBALS; i++) {
		global_long(i, longs[i], sizeof(longs[i]));
		size_t d = distance(word, longs[i]);
		if (d < bd) {
			bd = d;
			best = longs[i];
		}
	}
	for (const cli_option *o = cmd ? cmd->options : NULL; o && o->name; o++) {
		size_t d = distance(word, o->name);
		if (d < bd) {
			bd = d;
			best = o->name;
		}
	}
	return best;
}

const cli_command *find_command(const char *name)
{
	for (const cli_command *c = cli_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* ---- man pages ---- */

/* s in roff: backslashes doubled, '-' as \-, a line never starting with
 * '.' or '\''. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void man_item(FILE *f, const char *term, const char *text)
{
	fputs(".TP\n.B ", f);
	roff(f, term);
	fputc('\n', f);
	roff(f, text);
	fputc('\n', f);
}

/* Each option with its value and help. */
static void man_options(FILE *f, const cli_option *opts)
{
	for (const cli_option *o = opts; o->name; o++) {
		char term[64];
		option_term(o, term, sizeof(term));
		man_item(f, term, o->help ? o->help : "");
	}
}

/* Does c have a page of its own (aliases, "same as ...", do not)? */
static int has_page(const cli_command *c)
{
	return strncmp(c->description, "same as ", 8) != 0;
}

/* dbshift(1): the commands with each option, the global options. */
static void man_dbshift(FILE *f)
{
	fprintf(f, ".TH DBSHIFT 1 \"\" \"dbshift %s\" \"User Commands\"\n", DBSHIFT_VERSION);
	fputs(".SH NAME\ndbshift \\- carry a database through schema migrations safely\n"
	      ".SH SYNOPSIS\n.B dbshift\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
	      ".SH DESCRIPTION\ndbshift checks, backs up, assesses, applies, verifies and rolls "
	      "back schema migrations on PostgreSQL and SQLite, with a record of every step.\n"
	      ".SH COMMANDS\n", f);
	for (const cli_command *c = cli_commands; c->name; c++) {
		man_item(f, c->usage, c->description);
		if (c->options && c->options->name) {
			fputs(".RS\n", f);
			man_options(f, c->options);
			fputs(".RE\n", f);
		}
	}
	fputs(".SH OPTIONS\n", f);
	for (size_t i = 0; i < NGLOBALS; i++)
		man_item(f, globals[i].name, globals[i].help);
	fputs(".SH EXIT STATUS\n0 success, 1 the operation failed, 2 usage or input error, "
	      "3 refused by policy.\n.SH ENVIRONMENT\n", f);
	man_item(f, "DATABASE_URL", "the database, when --database is not given");
	man_item(f, "DBSHIFT_ENV", "the environment, when --env is not given");
	man_item(f, "NO_COLOR", "no colour when set to anything but empty");
	man_item(f, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
		 "credentials of backup_upload's object store");
	fputs(".SH FILES\n", f);
	man_item(f, "dbshift.conf", "the settings, see dbshift.conf(5)");
	fputs(".SH SEE ALSO\n.BR dbshift.conf (5)", f);
	for (const cli_command *c = cli_commands; c->name; c++)
		if (has_page(c))
			fprintf(f, ",\n.BR dbshift\\-%s (1)", c->name);
	fputc('\n', f);
}

/* dbshift-COMMAND(1): one command, its options, the exit codes. */
static void man_command(FILE *f, const cli_command *c)
{
	char upper[64];
	size_t i = 0;
	for (; c->name[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)c->name[i]);
	upper[i] = '\0';
	fprintf(f, ".TH DBSHIFT\\-%s 1 \"\" \"dbshift %s\" \"User Commands\"\n", upper,
		DBSHIFT_VERSION);
	fprintf(f, ".SH NAME\ndbshift\\-%s \\- ", c->name);
	roff(f, c->description);
	fputs("\n.SH SYNOPSIS\n.B dbshift\n[\\fIOPTIONS\\fR] ", f);
	roff(f, c->usage);
	fputs("\n.SH DESCRIPTION\n", f);
	fputc(toupper((unsigned char)c->description[0]), f);
	roff(f, c->description + 1);
	fputs(".\n", f);
	for (const cli_command *a = cli_commands; a->name; a++)
		if (a != c && !strncmp(a->description, "same as ", 8) &&
		    !strcmp(a->description + 8, c->name))
			fprintf(f, ".B dbshift %s\nis the same command.\n", a->name);
	if (c->options && c->options->name) {
		fputs(".SH OPTIONS\n", f);
		man_options(f, c->options);
	}
	fputs(".SH GLOBAL OPTIONS\n", f);
	for (size_t k = 0; k < NGLOBALS; k++)
		man_item(f, globals[k].name, globals[k].help);
	fputs(".SH EXIT STATUS\n0 success, 1 the operation failed, 2 usage or input error, "
	      "3 refused by policy.\n.SH SEE ALSO\n.BR dbshift (1),\n.BR dbshift.conf (5)\n", f);
}

/* dbshift.conf(5): every key of the settings table. */
static void man_conf(FILE *f)
{
	fprintf(f, ".TH DBSHIFT.CONF 5 \"\" \"dbshift %s\" \"File Formats\"\n", DBSHIFT_VERSION);
	fputs(".SH NAME\ndbshift.conf \\- dbshift's settings\n.SH DESCRIPTION\nAn INI file: "
	      "keys in [dbshift], overridden per environment in [env \"NAME\"]; the release "
	      "runbook's keys in [release] and [release \"NAME\"]; hooks in [hook \"NAME\"]. "
	      "Durations are written 500ms, 2s, 5min, 1h or 7d.\n.SH KEYS\n", f);
	const char *key, *def, *help;
	for (size_t i = 0; dbs_setting_info(i, &key, &def, &help); i++) {
		char term[128];
		snprintf(term, sizeof(term), "%s%s%s", key, def ? " = " : "", def ? def : "");
		man_item(f, term, help);
	}
	fputs(".SH SEE ALSO\n.BR dbshift (1)\n", f);
}

/* ---- completions ---- */

/* The words of every option of c (NULL: the global ones), a blank before each. */
static void option_words(FILE *f, const cli_command *c)
{
	if (!c) {
		for (size_t i = 0; i < NGLOBALS; i++) {
			char l[32];
			global_long(i, l, sizeof(l));
			fprintf(f, " %s", l);
		}
		return;
	}
	for (const cli_option *o = c->options; o && o->name; o++)
		fprintf(f, " %s", o->name);
}

/* text in double quotes for a shell: ", $, ` and \ escaped. */
static void dquote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (strchr("\"$`\\", *s))
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A shell case arm per command with options: "\tCMD) " before, then its
 * option words, then after. */
static void options_by_command(FILE *f, const char *before, const char *after)
{
	for (const cli_command *c = cli_commands; c->name; c++) {
		if (!c->options || !c->options->name)
			continue;
		fprintf(f, "\t%s) %s", c->name, before);
		option_words(f, c);
		fputs(after, f);
	}
}

static void complete_bash(FILE *f)
{
	fputs("# bash completion for dbshift (made by dbshift help --completion bash)\n"
	      "_dbshift() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd= i\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n\t\t", f);
	/* a global option's value is not the command */
	for (size_t i = 0, first = 1; i < NGLOBALS; i++) {
		char l[32];
		if (global_long(i, l, sizeof(l))) {
			fprintf(f, "%s%s", first ? "" : "|", l);
			first = 0;
		}
	}
	fputs(") i=$((i + 1)) ;;\n"
	      "\t\t-*) ;;\n"
	      "\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tlocal words=\"", f);
	option_words(f, NULL);
	fputs("\"\n\tcase $cmd in\n\t\"\") words+=\"", f);
	for (const cli_command *c = cli_commands; c->name; c++)
		fprintf(f, " %s", c->name);
	fputs("\" ;;\n", f);
	options_by_command(f, "words+=\"", "\" ;;\n");
	fputs("\tesac\n"
	      "\tif [[ $cur == -* || -z $cmd ]]; then\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
	      "\telse\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	      "\tfi\n"
	      "}\n"
	      "complete -F _dbshift dbshift\n", f);
}

static void complete_zsh(FILE *f)
{
	fputs("#compdef dbshift\n# zsh completion for dbshift (made by dbshift help --completion "
	      "zsh)\nlocal -a commands\ncommands=(\n", f);
	for (const cli_command *c = cli_commands; c->name; c++) {
		char entry[512];
		snprintf(entry, sizeof(entry), "%s:%s", c->name, c->description);
		fputc('\t', f);
		dquote(f, entry);
		fputc('\n', f);
	}
	fputs(")\nlocal cmd w\nfor w in ${words[2,CURRENT-1]}; do\n"
	      "\t[[ $w != -* ]] && { cmd=$w; break; }\ndone\n"
	      "if [[ -z $cmd ]]; then\n\t_describe -t commands 'dbshift command' commands\n"
	      "\tcompadd --", f);
	option_words(f, NULL);
	fputs("\n\treturn\nfi\ncase $cmd in\n", f);
	options_by_command(f, "compadd --", " ;;\n");
	fputs("esac\n_files\n", f);
}

static void complete_fish(FILE *f)
{
	fputs("# fish completion for dbshift (made by dbshift help --completion fish)\n", f);
	for (size_t i = 0; i < NGLOBALS; i++) {
		char l[32];
		int value = global_long(i, l, sizeof(l));
		fputs("complete -c dbshift", f);
		if (strstr(globals[i].name, ", "))
			fprintf(f, " -s %c", globals[i].name[1]);
		fprintf(f, " -l %s%s -d ", l + 2, value ? " -r" : "");
		dquote(f, globals[i].help);
		fputc('\n', f);
	}
	for (const cli_command *c = cli_commands; c->name; c++) {
		fprintf(f, "complete -c dbshift -f -n __fish_use_subcommand -a %s -d ", c->name);
		dquote(f, c->description);
		fputc('\n', f);
		for (const cli_option *o = c->options; o && o->name; o++) {
			if (strncmp(o->name, "--", 2))
				fprintf(f, "complete -c dbshift -n '__fish_seen_subcommand_from %s' "
					"-o %s%s -d ", c->name, o->name + 1, o->value ? " -r" : "");
			else
				fprintf(f, "complete -c dbshift -n '__fish_seen_subcommand_from %s' "
					"-l %s%s -d ", c->name, o->name + 2, o->value ? " -r" : "");
			dquote(f, o->help ? o->help : "");
			fputc('\n', f);
		}
	}
}

int help_generate(FILE *f, const char *man, const char *completion)
{
	const cli_command *c = man ? find_command(man) : NULL;
	if (man && !strcmp(man, "dbshift.conf"))
		man_conf(f);
	else if (man && !strcmp(man, "dbshift"))
		man_dbshift(f);
	else if (c && has_page(c))
		man_command(f, c);
	else if (man)
		return -1;
	else if (!strcmp(completion, "bash"))
		complete_bash(f);
	else if (!strcmp(completion, "zsh"))
		complete_zsh(f);
	else if (!strcmp(completion, "fish"))
		complete_fish(f);
	else
		return -1;
	return 0;
}
