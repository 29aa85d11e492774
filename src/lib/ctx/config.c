/*
 * config.c - options from dbshift.conf (INI, read with inih), the
 * environment and the command line, in that increasing precedence.
 *
 * [dbshift] holds the defaults; [env "NAME"] overrides them when NAME is
 * selected with --env or DBSHIFT_ENV.  An unknown section or key, or a
 * value that does not parse, is an input error naming file:line.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "ctx/ctx.h"
#include "remote/remote.h"

/* What a setting's value is, and so how it is checked and stored. */
typedef enum {
	SET_TEXT,       /* char *, as written */
	SET_DURATION,   /* char *, a duration ("2s"); read again by who uses it */
	SET_SCHEDULE,   /* char *, waits between attempts ("1s, 2s" or "none") */
	SET_LEVEL,      /* char *, green, yellow or red */
	SET_BOOL,       /* int, true or false */
	SET_MS,         /* int, a duration kept as milliseconds */
	SET_TIMEOUT,    /* SET_MS above zero: a bound on a wait (0 would be none) */
	SET_COUNT,      /* int, a whole number, 0 or more */
	SET_AGE,        /* char *, an age ("30d", "2w"): beyond what ms hold */
	SET_SIZE,       /* char *, a size ("16MiB"), at least 5 MiB (S3's parts) */
	SET_S3,         /* char *, s3://BUCKET[/PREFIX] */
	SET_REGION,     /* char *, an S3 region */
	SET_ENDPOINT,   /* char *, an http(s) URL */
	SET_URLS,       /* char *, http(s) URLs separated by blanks or commas */
	SET_HOSTPORTS,  /* char *, HOST:PORT words (a port 1 to 65535) */
	SET_LISTEN,     /* char *, one ADDR:PORT (a port 0 to 65535) */
	SET_RULES,      /* char *, lint rule ids */
	SET_PGVERSION,  /* int, a PostgreSQL major version, 10 or later */
	SET_EVENTS,     /* char *, notify_on's words */
	SET_HOOKS,      /* char *, names of [hook "NAME"] sections */
	SET_STEPS,      /* char *, release steps (steps.c) */
	SET_FRAMEWORK,  /* char *, "django" (or "none": dir's files) */
	SET_JOBS,       /* int, a whole number from 1 to 256 */
	SET_ON_ERROR    /* char *, "stop" or "continue" */
} set_type;

/*
 * Every key of dbshift.conf, once: parsing, checking, the defaults, the
 * layering of [dbshift] and [env "NAME"], copying, releasing, the hint for
 * an unknown key and 'dbshift settings' all read this table (after curl's
 * option table).
 */
typedef struct setting {
	const char *key;
	set_type type;
	size_t offset;          /* of the field in dbs_options */
	const char *def;        /* the default, as written in the file; NULL: none */
	const char *how;        /* hint for a bad value */
	const char *help;
	int release;            /* 1: a key of [release] and [release "ENV"], 2: of
				 * [fleet] and [fleet "ENV"] */
} setting;

#define OPT(f) offsetof(dbs_options, f)
static const setting settings[] = {
	{ "dir", SET_TEXT, OPT(dir), "migrations", NULL, "the migrations directory", 0 },
	{ "database", SET_TEXT, OPT(database), NULL, NULL,
	  "the database URL (postgres://..., sqlite:FILE); DATABASE_URL beats [dbshift]", 0 },
	{ "backup_dir", SET_TEXT, OPT(backup_dir), "backups", NULL, "where backups go", 0 },
	{ "log_file", SET_TEXT, OPT(log_file), "logs/dbshift.log", NULL,
	  "the log of every run (\"\" turns it off)", 0 },
	{ "max_risk", SET_LEVEL, OPT(max_risk), "red", "use green, yellow or red",
	  "the worst lint level migrate applies without --force", 0 },
	{ "require_backup", SET_BOOL, OPT(require_backup), "false", "use true or false",
	  "migrate takes a verified backup first, or refuses", 0 },
	{ "lock_timeout", SET_DURATION, OPT(lock_timeout), NULL,
	  "write a duration such as 2s, 500ms or 30min",
	  "how long a migration's statement waits for a table lock", 0 },
	{ "statement_timeout", SET_DURATION, OPT(statement_timeout), NULL,
	  "write a duration such as 2s, 500ms or 30min", "how long one statement may run", 0 },
	{ "lock_wait", SET_MS, OPT(lock_wait_ms), "60s",
	  "write a duration such as 60s, 500ms or 2min",
	  "how long to wait for another dbshift's migrator lock", 0 },
	{ "lock_retries", SET_SCHEDULE, OPT(lock_retries), NULL,
	  "write the waits between attempts, e.g. '1s, 2s, 5s', or 'none'",
	  "waits between attempts after a lock timeout (default with lock_timeout: "
	  "1s, 2s, 5s, 10s)", 0 },
	{ "notify_url", SET_URLS, OPT(notify_url), NULL,
	  "give http:// or https:// URLs, separated by blanks",
	  "webhooks (Slack-compatible) posted on the start, success and failure of a run", 0 },
	{ "notify_on", SET_EVENTS, OPT(notify_on), NULL,
	  "use start, success, failure and release, migrate, rollback, redo, data, backup, "
	  "restore, repair, baseline, fleet",
	  "which notifications: events (start success failure) and commands; none named: all", 0 },
	{ "notify_timeout", SET_TIMEOUT, OPT(notify_timeout_ms), "5s", "give a duration like 5s",
	  "how long one notification attempt may take (3 attempts)", 0 },
	{ "before_migrate", SET_HOOKS, OPT(before_migrate), NULL, NULL,
	  "hooks run before a migrate's first step (critical ones stop it)", 0 },
	{ "after_migrate", SET_HOOKS, OPT(after_migrate), NULL, NULL,
	  "hooks run after a migrate's last step succeeded", 0 },
	{ "after_rollback", SET_HOOKS, OPT(after_rollback), NULL, NULL,
	  "hooks run after a rollback succeeded", 0 },
	{ "on_failure", SET_HOOKS, OPT(on_failure), NULL, NULL,
	  "hooks run after a migrate or rollback failed", 0 },
	{ "backup_keep", SET_COUNT, OPT(backup_keep), NULL, "give a whole number, e.g. 7",
	  "after each backup, keep this many of backup_dir (the newest verified one always)", 0 },
	{ "backup_max_age", SET_AGE, OPT(backup_max_age), NULL,
	  "write an age such as 30d, 2w or 12h",
	  "after each backup, remove those older than this (the newest verified one stays)", 0 },
	{ "backup_encrypt", SET_BOOL, OPT(backup_encrypt), "false", "use true or false",
	  "encrypt each backup file (AES-256-GCM) with the key in backup_key_file", 0 },
	{ "backup_key_file", SET_TEXT, OPT(backup_key_file), NULL, NULL,
	  "a file (mode 0600) holding the 32-byte backup key, raw or as 64 hex digits", 0 },
	{ "backup_paths", SET_TEXT, OPT(backup_paths), NULL, NULL,
	  "files and directories (of the project) archived with each backup, put back by restore",
	  0 },
	{ "backup_upload", SET_S3, OPT(backup_upload), NULL,
	  "write s3://BUCKET or s3://BUCKET/PREFIX: a bucket name S3 allows, no empty, '.' "
	  "or '..' segment",
	  "after each backup, upload it to this S3 bucket (credentials: AWS_* or ~/.aws)", 0 },
	{ "s3_endpoint", SET_ENDPOINT, OPT(s3_endpoint), NULL,
	  "write an http:// or https:// URL, e.g. http://127.0.0.1:9000",
	  "the S3 API's URL (MinIO, Ceph...; default: AWS's for s3_region)", 0 },
	{ "s3_region", SET_REGION, OPT(s3_region), "us-east-1",
	  "write a region: letters, digits and '-', e.g. eu-west-1",
	  "the region requests are signed for", 0 },
	{ "s3_part_size", SET_SIZE, OPT(s3_part_size), "16MiB",
	  "give a size of at least 5MiB, e.g. 16MiB",
	  "files above this size are uploaded in parts of this size", 0 },
	{ "report_dir", SET_TEXT, OPT(report_dir), "reports", NULL,
	  "where each run's JSON report is written as RUN_ID.json (empty: nowhere)", 0 },
	{ "doctor_backup_age", SET_DURATION, OPT(doctor_backup_age), "24h",
	  "write a duration such as 24h, 60s or 500ms",
	  "doctor: the newest backup must be younger than this", 0 },
	{ "doctor_long_query", SET_DURATION, OPT(doctor_long_query), "60s",
	  "write a duration such as 24h, 60s or 500ms",
	  "doctor: queries running longer than this are in the way", 0 },
	{ "doctor_max_lag", SET_DURATION, OPT(doctor_max_lag), "10s",
	  "write a duration such as 24h, 60s or 500ms", "doctor: the most replica lag allowed", 0 },
	{ "check_tcp", SET_HOSTPORTS, OPT(check_tcp), NULL,
	  "write host:port words, the port from 1 to 65535",
	  "doctor: host:port, ... that must accept a connection", 0 },
	{ "check_http", SET_URLS, OPT(check_http), NULL,
	  "write http:// or https:// URLs, separated by blanks or commas",
	  "doctor: URL, ... that must answer 2xx", 0 },
	{ "schema_file", SET_TEXT, OPT(schema_file), NULL, NULL,
	  "verify compares the live schema with this snapshot ('dbshift schema dump FILE')", 0 },
	{ "assertions_dir", SET_TEXT, OPT(assertions_dir), NULL, NULL,
	  "the data assertions, NAME.sql each: a query whose rows are violations "
	  "(default: assertions)", 0 },
	{ "promote_from", SET_TEXT, OPT(promote_from), NULL, NULL,
	  "migrate and release refuse a migration this environment's database has not applied, "
	  "succeeded, with the same checksum", 0 },
	{ "require_rehearsal", SET_DURATION, OPT(require_rehearsal), NULL,
	  "write a duration such as 24h, 30min or 7d",
	  "migrate and release refuse a plan with no successful rehearsal younger than this", 0 },
	{ "assertions", SET_BOOL, OPT(assertions), "false", "use true or false",
	  "migrate, rollback and redo take the invariants before and check every assertion "
	  "after their migrations", 0 },
	{ "steps", SET_STEPS, OPT(release_steps), NULL, NULL,
	  "[release]: the steps of 'dbshift release', in order", 1 },
	{ "rollback_steps", SET_STEPS, OPT(rollback_steps), NULL, NULL,
	  "[release]: the steps of 'dbshift release --rollback', in order", 1 },
	{ "non_critical", SET_TEXT, OPT(non_critical), NULL, NULL,
	  "[release]: steps whose failure is recorded and passed over", 1 },
	{ "data_files", SET_TEXT, OPT(data_files), NULL, NULL,
	  "[release]: data migration files the data step runs after the migrations' own", 1 },
	{ "heartbeat_timeout", SET_TIMEOUT, OPT(heartbeat_timeout_ms), "15s",
	  "give a duration like 15s",
	  "a running run of another host whose heartbeat is older than this shows as abandoned", 0 },
	{ "serve_listen", SET_LISTEN, OPT(serve_listen), "127.0.0.1:8765",
	  "write ADDR:PORT, the port from 0 to 65535, e.g. 127.0.0.1:8765",
	  "serve: ADDRESS:PORT to listen on (beyond loopback, serve_token_file is required)", 0 },
	{ "serve_token_file", SET_TEXT, OPT(serve_token_file), NULL, NULL,
	  "serve: a file holding the token each request sends (Authorization: Bearer, ?token=)", 0 },
	{ "health_timeout", SET_TIMEOUT, OPT(health_timeout_ms), "60s", "give a duration like 60s",
	  "[release]: how long the health step retries check_http and check_tcp", 1 },
	{ "framework", SET_FRAMEWORK, OPT(framework), NULL, "use django (or none)",
	  "read and run a framework's own migrations instead of dir's files: django", 0 },
	{ "manage", SET_TEXT, OPT(manage), "python3 manage.py", NULL,
	  "framework: the command (words, no shell) that runs the project's manage.py", 0 },
	{ "settings", SET_TEXT, OPT(settings), NULL, NULL,
	  "framework: the settings module manage.py is given (--settings)", 0 },
	{ "manage_timeout", SET_TIMEOUT, OPT(manage_timeout_ms), "1h", "give a duration like 30min",
	  "framework: how long one manage.py command may run before it is killed", 0 },
	{ "lint_exclude", SET_RULES, OPT(lint_exclude), NULL,
	  "name lint rules (docs/rules.md), e.g. prefer-text prefer-bigint-key",
	  "lint rules never reported for this project (squawk's excluded_rules)", 0 },
	{ "pg_version", SET_PGVERSION, OPT(pg_version), NULL,
	  "give a PostgreSQL major version, 10 or later, e.g. 13",
	  "the PostgreSQL major version the migrations run on, for lint's lock and "
	  "rewrite rules (default: a current one)", 0 },
	{ "replica_url", SET_TEXT, OPT(replica_url), NULL, NULL,
	  "a streaming replica of the database: data runs' --max-lag and doctor measure its "
	  "replay lag there (default: pg_stat_replication on the database)", 0 },
	{ "targets", SET_TEXT, OPT(fleet_targets), NULL, NULL,
	  "[fleet]: a file of databases, one URL or env:NAME per line ('#' comments)", 2 },
	{ "targets_query", SET_TEXT, OPT(fleet_targets_query), NULL, NULL,
	  "[fleet]: SQL run on targets_database whose first column is each database's URL", 2 },
	{ "targets_database", SET_TEXT, OPT(fleet_targets_database), NULL, NULL,
	  "[fleet]: the catalogue database targets_query runs on, a URL or env:NAME "
	  "(default: database)", 2 },
	{ "schemas_query", SET_TEXT, OPT(fleet_schemas_query), NULL, NULL,
	  "[fleet]: SQL run on database whose first column is a schema: one target per schema, "
	  "first on search_path, its history kept there (PostgreSQL)", 2 },
	{ "jobs", SET_JOBS, OPT(fleet_jobs), "4", "give a whole number from 1 to 256",
	  "[fleet]: how many targets run at once, each on its own connection", 2 },
	{ "canary", SET_COUNT, OPT(fleet_canary), "0", "give a whole number, e.g. 1",
	  "[fleet]: the first N targets run first; the rest start only when all of them "
	  "succeeded (with schemas_query, at least 1)", 2 },
	{ "on_error", SET_ON_ERROR, OPT(fleet_on_error), "stop", "use stop or continue",
	  "[fleet]: after a target fails, start no other (stop) or go on (continue)", 2 },
	{ "max_failures", SET_COUNT, OPT(fleet_max_failures), "0", "give a whole number, e.g. 5",
	  "[fleet]: with on_error = continue, start no other target after this many failed "
	  "(0: no bound)", 2 },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))
#define DIR 0           /* settings[DIR] is "dir" */
#define DATABASE 1      /* settings[DATABASE] is "database" */
#define LOG_FILE 3      /* settings[LOG_FILE] is "log_file" */

static int is_text(const setting *st)
{
	return st->type != SET_BOOL && st->type != SET_MS && st->type != SET_TIMEOUT &&
	       st->type != SET_COUNT && st->type != SET_PGVERSION && st->type != SET_JOBS;
}

static char **text_field(dbs_options *o, const setting *st)
{
	return (char **)(void *)((char *)o + st->offset);
}

static int *int_field(dbs_options *o, const setting *st)
{
	return (int *)(void *)((char *)o + st->offset);
}

/* Check value for st and, when o is not NULL, store it there; -1 if bad. */
static int setting_apply(dbs_options *o, const setting *st, const char *value)
{
	int ms, *v = NULL;
	size_t n;
	switch (st->type) {
	case SET_DURATION:
		if (parse_duration_ms(value, &ms))
			return -1;
		break;
	case SET_AGE: {
		int64_t secs;
		if (parse_age_s(value, &secs))
			return -1;
		break;
	}
	case SET_SIZE: {
		int64_t bytes;
		if (parse_size(value, &bytes) || bytes < 5 << 20 || bytes > (int64_t)1 << 32)
			return -1;
		break;
	}
	case SET_S3:
		if (s3_url_problem(value))
			return -1;
		break;
	case SET_REGION:
		if (s3_region_problem(value))
			return -1;
		break;
	case SET_ENDPOINT:
		if (s3_endpoint_problem(value))
			return -1;
		break;
	case SET_SCHEDULE:
		if (parse_schedule(value, &v, &n))
			return -1;
		free(v);
		break;
	case SET_LEVEL:
		if (strcmp(value, "green") && strcmp(value, "yellow") && strcmp(value, "red"))
			return -1;
		break;
	case SET_BOOL:
		return parse_bool(value, o ? int_field(o, st) : &ms);
	case SET_MS:
		return parse_duration_ms(value, o ? int_field(o, st) : &ms);
	case SET_TIMEOUT:
		if (parse_duration_ms(value, &ms) || ms <= 0)
			return -1;
		if (o)
			*int_field(o, st) = ms;
		return 0;
	case SET_COUNT: {
		char *end;
		long c = strtol(value, &end, 10);
		if (end == value || *end || c < 0 || c > 1000000)
			return -1;
		if (o)
			*int_field(o, st) = (int)c;
		return 0;
	}
	case SET_URLS:
		if (notify_urls_check(value))
			return -1;
		break;
	case SET_HOSTPORTS: {
		size_t n, any = 0;
		for (const char *p = value; (n = list_word(&p)); p += n, any++)
			if (!is_host_port(p, n, 0))
				return -1;
		if (!any)
			return -1;
		break;
	}
	case SET_LISTEN:
		if (!is_host_port(value, strlen(value), 1))
			return -1;
		break;
	case SET_RULES: {
		size_t n, any = 0;
		for (const char *p = value; (n = list_word(&p)); p += n, any++) {
			char *id = xstrndup(p, n);
			int known = rule_find(id) != NULL;
			free(id);
			if (!known)
				return -1;
		}
		if (!any)
			return -1;
		break;
	}
	case SET_JOBS:
	case SET_PGVERSION: {
		char *end;
		long v = strtol(value, &end, 10);
		int jobs = st->type == SET_JOBS;
		if (end == value || *end || v < (jobs ? 1 : 10) || v > (jobs ? 256 : 99))
			return -1;
		if (o)
			*int_field(o, st) = (int)v;
		return 0;
	}
	case SET_EVENTS:
		if (notify_on_check(value))
			return -1;
		break;
	case SET_FRAMEWORK:
		if (strcmp(value, "django") && strcmp(value, "none"))
			return -1;
		break;
	case SET_ON_ERROR:
		if (strcmp(value, "stop") && strcmp(value, "continue"))
			return -1;
		break;
	case SET_HOOKS:         /* the names are checked once every hook is read */
	case SET_STEPS:
	case SET_TEXT:
		break;
	}
	if (o) {
		free(*text_field(o, st));
		*text_field(o, st) = xstrdup(value);
	}
	return 0;
}

int setting_ms(const char *value, const char *key)
{
	int ms = 0;
	if (value && !parse_duration_ms(value, &ms))
		return ms;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!strcmp(settings[i].key, key) && settings[i].def)
			parse_duration_ms(settings[i].def, &ms);
	return ms;
}

int dbs_setting_info(size_t i, const char **key, const char **def, const char **help)
{
	if (i >= NSETTINGS)
		return 0;
	*key = settings[i].key;
	*def = settings[i].def;
	*help = settings[i].help;
	return 1;
}

static void hook_release(dbs_hook *h)
{
	free(h->name);
	free(h->run);
	free(h->env);
	free(h->cwd);
}

void dbs_options_release(dbs_options *o)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (is_text(&settings[i]))
			free(*text_field(o, &settings[i]));
	for (size_t i = 0; i < o->nhooks; i++)
		hook_release(&o->hooks[i]);
	free(o->hooks);
	for (size_t i = 0; i < o->nsections; i++)
		section_release(&o->sections[i]);
	free(o->sections);
	free(o->env);
	free(o->config);
	memset(o, 0, sizeof(*o));
}

void options_copy(dbs_options *dst, const dbs_options *src)
{
	*dst = *src;
	for (size_t i = 0; i < NSETTINGS; i++) {
		char **f = text_field(dst, &settings[i]);
		if (is_text(&settings[i]) && *f)
			*f = xstrdup(*f);
	}
	dst->env = src->env ? xstrdup(src->env) : NULL;
	dst->config = src->config ? xstrdup(src->config) : NULL;
	dst->hooks = src->nhooks ? xcalloc(src->nhooks, sizeof(dbs_hook)) : NULL;
	for (size_t i = 0; i < src->nhooks; i++) {
		const dbs_hook *h = &src->hooks[i];
		dst->hooks[i] = (dbs_hook){ xstrdup(h->name), xstrdup(h->run),
			h->env ? xstrdup(h->env) : NULL, h->cwd ? xstrdup(h->cwd) : NULL,
			h->timeout_ms, h->critical };
	}
	dst->sections = src->nsections ? xcalloc(src->nsections, sizeof(dbs_section)) : NULL;
	for (size_t i = 0; i < src->nsections; i++)
		section_copy(&dst->sections[i], &src->sections[i]);
}

typedef struct parse_state {
	FILE *f;
	const char *path;
	int line;
	char *buf;              /* the line being read, whole */
	size_t bufsize;
	char **long_values;     /* values too long for inih's line buffer */
	size_t nlong;
	const char *want_env;   /* selected environment, or NULL */
	int env_found;
	char *layer[2][NSETTINGS];  /* values of [dbshift] and the selected [env] */
	int layer_line[2][NSETTINGS];
	char **steps;           /* every steps and rollback_steps value, checked */
	int *steps_line;        /* once every hook is read (negative: rollback) */
	size_t nsteps;
	dbs_hook *hooks;        /* the [hook "NAME"] sections */
	int *hook_line;
	size_t nhooks;
	dbs_section *secs;      /* the [files "NAME"], [settings "NAME"], ... sections */
	int *sec_line;
	size_t nsecs;
	/* What was written where, to refuse a second of each: sections by
	 * header, keys as "section\x1fkey". */
	char **seen;
	int *seen_line;
	size_t nseen;
	dbs_error *err;
} parse_state;

/* The line name was first seen on, or 0 (and it is now). */
static int seen_before(parse_state *ps, const char *name)
{
	for (size_t i = 0; i < ps->nseen; i++)
		if (!strcmp(ps->seen[i], name))
			return ps->seen_line[i];
	ps->seen = xrealloc(ps->seen, (ps->nseen + 1) * sizeof(char *));
	ps->seen_line = xrealloc(ps->seen_line, (ps->nseen + 1) * sizeof(int));
	ps->seen[ps->nseen] = xstrdup(name);
	ps->seen_line[ps->nseen++] = ps->line;
	return 0;
}


static int config_error(parse_state *ps, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_error(parse_state *ps, const char *hint, const char *fmt, ...)
{
	if (ps->err->code)
		return 0;  /* keep the first error */
	va_list ap;
	va_start(ap, fmt);
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dbs_fail(ps->err, DBS_EINPUT, "%s", msg);
	dbs_error_set_file(ps->err, ps->path, ps->line, 0);
	if (hint)
		dbs_error_set_hint(ps->err, "%s", hint);
	return 0;
}

/* "KIND \"NAME\"" -> NAME (copied into buf), or NULL. */
static const char *quoted_name_of(const char *section, const char *kind, char *buf, size_t n)
{
	size_t k = strlen(kind);
	if (strncmp(section, kind, k) || section[k] != ' ')
		return NULL;
	const char *s = section + k;
	while (*s == ' ')
		s++;
	size_t len = strlen(s);
	if (len < 3 || s[0] != '"' || s[len - 1] != '"' || len - 2 >= n)
		return NULL;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	return buf;
}

#define SECTIONS_HINT "sections are [dbshift], [env \"NAME\"], [release], [release \"ENV\"], " \
	"[fleet], [fleet \"ENV\"], [hook \"NAME\"], and [files|settings|dotenv|bucket|mail " \
	"\"NAME\"] for release steps"

/* What a section header is: -1 unknown, 0 [dbshift] or [env "NAME"],
 * 1 [release] or [release "ENV"], 2 [fleet] or [fleet "ENV"]; *env is the
 * environment it is for. */
static int section_kind(const char *section, char *buf, size_t n, const char **env)
{
	*env = NULL;
	if (!strcmp(section, "dbshift"))
		return 0;
	if (!strcmp(section, "release"))
		return 1;
	if (!strcmp(section, "fleet"))
		return 2;
	if ((*env = quoted_name_of(section, "env", buf, n)))
		return 0;
	if ((*env = quoted_name_of(section, "release", buf, n)))
		return 1;
	if ((*env = quoted_name_of(section, "fleet", buf, n)))
		return 2;
	return -1;
}

/* "KIND \"NAME\"" of a release step's section: KIND's length, NAME in buf;
 * 0 when it is not one. */
static size_t move_section_of(const char *section, char *buf, size_t n)
{
	size_t k = strcspn(section, " ");
	if (!section[k] || !section_kind_known(section, k))
		return 0;
	char kind[16];
	snprintf(kind, sizeof(kind), "%.*s", (int)k, section);
	return quoted_name_of(section, kind, buf, n) ? k : 0;
}

/* A [KIND "NAME"] header of a release step's section. */
static void section_begin(parse_state *ps, const char *kind, size_t kn, const char *name)
{
	if (section_find(ps->secs, ps->nsecs, kind, kn, name, strlen(name))) {
		config_error(ps, "give each its own name", "[%.*s \"%s\"] is defined twice",
			     (int)kn, kind, name);
		return;
	}
	ps->secs = xrealloc(ps->secs, (ps->nsecs + 1) * sizeof(dbs_section));
	ps->sec_line = xrealloc(ps->sec_line, (ps->nsecs + 1) * sizeof(int));
	ps->secs[ps->nsecs] = (dbs_section){ .kind = xstrndup(kind, kn), .name = xstrdup(name) };
	ps->sec_line[ps->nsecs++] = ps->line;
}

/* key = value in a release step's section. */
static int section_key(parse_state *ps, const char *kind, size_t kn, const char *name,
		       const char *key, const char *value)
{
	dbs_section *s = (dbs_section *)section_find(ps->secs, ps->nsecs, kind, kn, name,
						     strlen(name));
	if (!s)
		return 0;  /* its header was refused */
	char *why = NULL;
	const char *hint = section_value_problem(s->kind, key, value, &why);
	if (why) {
		if (!strcmp(hint, "known keys")) {
			char *h = xprintf("[%s] keys: %s", s->kind, section_keys(s->kind));
			config_error(ps, h, "unknown key '%s' in [%s \"%s\"]", key, s->kind, name);
			free(h);
		} else {
			config_error(ps, hint, "%s in [%s \"%s\"]", why, s->kind, name);
		}
		free(why);
		return 0;
	}
	s->keys = xrealloc(s->keys, (s->n + 1) * sizeof(char *));
	s->values = xrealloc(s->values, (s->n + 1) * sizeof(char *));
	s->keys[s->n] = xstrdup(key);
	s->values[s->n++] = xstrdup(value);
	return 1;
}

/* A [hook "NAME"] header: a new hook, with the defaults. */
static void hook_begin(parse_state *ps, const char *name)
{
	if (hook_find(ps->hooks, ps->nhooks, name, strlen(name))) {
		config_error(ps, "give each hook its own name", "hook '%s' is defined twice", name);
		return;
	}
	ps->hooks = xrealloc(ps->hooks, (ps->nhooks + 1) * sizeof(dbs_hook));
	ps->hook_line = xrealloc(ps->hook_line, (ps->nhooks + 1) * sizeof(int));
	ps->hooks[ps->nhooks] = (dbs_hook){ .name = xstrdup(name), .timeout_ms = 5 * 60 * 1000,
					    .critical = 1 };
	ps->hook_line[ps->nhooks++] = ps->line;
}

static int env_words_ok(const char *value)
{
	char **w;
	if (split_words(value, &w, NULL))
		return 0;
	int ok = 1;
	for (size_t i = 0; w[i] && ok; i++) {
		size_t k = strcspn(w[i], "=");
		if (w[i][k] == '=')  /* KEY=VALUE */
			ok = k > 0 && strspn(w[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789_") == k;
		else  /* an upper-case KEY alone: dbshift's own value passed on */
			ok = w[i][0] >= 'A' && w[i][0] <= 'Z' &&
			     strspn(w[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == k;
	}
	free_words(w);
	return ok;
}

/* key = value in a [hook "NAME"] section. */
static int hook_key(parse_state *ps, const char *name, const char *key, const char *value)
{
	dbs_hook *h = hook_find(ps->hooks, ps->nhooks, name, strlen(name));
	char **w = NULL;
	size_t n = 0;
	if (!h)
		return 0;  /* its header was refused */
	if (!strcmp(key, "run")) {
		if (split_words(value, &w, &n) || !n) {
			free_words(w);
			return config_error(ps, "write the program and its arguments; quotes "
					    "group words (there is no shell)", "bad run '%s'", value);
		}
		free_words(w);
		free(h->run);
		h->run = xstrdup(value);
	} else if (!strcmp(key, "timeout")) {
		if (parse_duration_ms(value, &h->timeout_ms) || h->timeout_ms <= 0)
			return config_error(ps, "give a duration like 30s or 5min", "bad timeout '%s'",
					    value);
	} else if (!strcmp(key, "env")) {
		if (!env_words_ok(value))
			return config_error(ps, "write KEY=VALUE words (a bare KEY passes on the "
					    "value dbshift has)", "bad env '%s'", value);
		free(h->env);
		h->env = xstrdup(value);
	} else if (!strcmp(key, "cwd")) {
		free(h->cwd);
		h->cwd = xstrdup(value);
	} else if (!strcmp(key, "critical")) {
		if (parse_bool(value, &h->critical))
			return config_error(ps, "use true or false", "bad critical '%s'", value);
	} else {
		return config_error(ps, "hook keys: run, timeout, env, cwd, critical",
				    "unknown key '%s' in [hook \"%s\"]", key, name);
	}
	return 1;
}

/* "known keys: dir, database, ..." of one kind of section */
static char *known_keys(int release)
{
	strbuf sb;
	strbuf_init(&sb);
	strbuf_adds(&sb, "known keys: ");
	for (size_t i = 0, n = 0; i < NSETTINGS; i++)
		if (settings[i].release == release)
			strbuf_addf(&sb, "%s%s", n++ ? ", " : "", settings[i].key);
	return strbuf_detach(&sb);
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	parse_state *ps = user;
	char envbuf[128];
	if (value[0] == '\x01') {
		/* a value the reader kept aside: inih saw only its number */
		size_t k = strtoul(value + 1, NULL, 10);
		value = k < ps->nlong ? ps->long_values[k] : "";
	}
	char *key = xprintf("%s\x1f%s", section, name);
	int first = seen_before(ps, key);
	free(key);
	if (first)  /* the second would silently win */
		return config_error(ps, "keep one of them", "'%s' is set twice in [%s] (first "
				    "at line %d)", name, section, first);
	const char *hook = quoted_name_of(section, "hook", envbuf, sizeof(envbuf));
	if (hook)
		return hook_key(ps, hook, name, value);
	size_t kn = move_section_of(section, envbuf, sizeof(envbuf));
	if (kn)
		return section_key(ps, section, kn, envbuf, name, value);
	const char *env;
	int kind = section_kind(section, envbuf, sizeof(envbuf), &env);
	if (kind < 0)
		return config_error(ps, SECTIONS_HINT, "unknown section [%s]", section);
	size_t k;
	for (k = 0; k < NSETTINGS && (strcmp(settings[k].key, name) || settings[k].release != kind);
	     k++)
		;
	if (k == NSETTINGS) {
		char *hint = known_keys(kind);
		config_error(ps, hint, "unknown key '%s' in [%s]", name, section);
		free(hint);
		return 0;
	}
	if (setting_apply(NULL, &settings[k], value))
		return config_error(ps, settings[k].how, "bad %s '%s'", name, value);
	if (settings[k].type == SET_STEPS) {
		ps->steps = xrealloc(ps->steps, (ps->nsteps + 1) * sizeof(char *));
		ps->steps_line = xrealloc(ps->steps_line, (ps->nsteps + 1) * sizeof(int));
		ps->steps[ps->nsteps] = xstrdup(value);
		ps->steps_line[ps->nsteps++] = settings[k].offset == OPT(rollback_steps)
					       ? -ps->line : ps->line;
	}
	if (env && (!ps->want_env || strcmp(env, ps->want_env)))
		return 1;  /* checked, but another environment's */
	char **slot = &ps->layer[env != NULL][k];
	free(*slot);
	*slot = xstrdup(value);
	ps->layer_line[env != NULL][k] = ps->line;
	return 1;
}

/* inih's value rules, for a value kept aside: an inline comment starts at
 * a ';' after a blank; blanks around the value go. */
static char *clean_value(const char *v)
{
	const char *end = v + strlen(v);
	for (const char *p = v + 1; p < end; p++)
		if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t')) {
			end = p;
			break;
		}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
			   end[-1] == '\n'))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

/*
 * Reads whole lines for inih, counting them and checking section headers
 * as they go by.  inih's line buffer is small (200 bytes in Debian's
 * build) and it would cut a longer line in two: a long "key = value" goes
 * to inih as "key = \x01N" with the value kept aside (the handler takes it
 * back), a long comment goes as an empty one, and anything else that long
 * is an error naming the line, never a silent cut.
 */
static char *reader(char *str, int num, void *stream)
{
	parse_state *ps = stream;
	ssize_t got = getline(&ps->buf, &ps->bufsize, ps->f);
	if (got < 0)
		return NULL;
	ps->line++;
	if (strlen(ps->buf) < (size_t)got) {  /* inih would stop the value there */
		config_error(ps, "remove the NUL byte (a file saved in another encoding?)",
			     "NUL byte in the line");
		snprintf(str, (size_t)num, ";\n");
		return str;
	}
	const char *s = ps->buf;
	while (*s == ' ' || *s == '\t')
		s++;
	if ((size_t)got < (size_t)num - 1) {
		memcpy(str, ps->buf, (size_t)got + 1);
	} else if (*s == ';' || *s == '#') {
		snprintf(str, (size_t)num, ";\n");
	} else {
		size_t key = strcspn(s, "=:");
		if (!s[key] || key + 24 >= (size_t)num || *s == '[') {
			config_error(ps, "shorten the line, or set the value in the environment "
				     "(DATABASE_URL) instead", "line longer than %d characters", num - 2);
			snprintf(str, (size_t)num, ";\n");
			return str;
		}
		ps->long_values = xrealloc(ps->long_values, (ps->nlong + 1) * sizeof(char *));
		ps->long_values[ps->nlong] = clean_value(s + key + 1);
		snprintf(str, (size_t)num, "%.*s= \x01%zu\n", (int)key, s, ps->nlong++);
		return str;
	}
	if (*s == '[') {
		const char *end = strchr(s, ']');
		char sec[256], envbuf[128];
		size_t n = end ? (size_t)(end - s - 1) : 0;
		if (!end || n >= sizeof(sec)) {
			config_error(ps, NULL, "malformed section header");
		} else {
			memcpy(sec, s + 1, n);
			sec[n] = '\0';
			const char *env;
			size_t kn = move_section_of(sec, envbuf, sizeof(envbuf));
			int first = quoted_name_of(sec, "hook", envbuf, sizeof(envbuf)) || kn
				    ? 0 : seen_before(ps, sec);  /* (these say so themselves) */
			if (first)  /* its keys would silently override the first's */
				config_error(ps, "merge the two into one section",
					     "section [%s] appears twice (first at line %d)", sec, first);
			const char *hook = quoted_name_of(sec, "hook", envbuf, sizeof(envbuf));
			int kind = section_kind(sec, envbuf, sizeof(envbuf), &env);
			if (kn && move_section_of(sec, envbuf, sizeof(envbuf)))
				section_begin(ps, sec, kn, envbuf);
			else if (hook)
				hook_begin(ps, hook);
			else if (kind < 0)
				config_error(ps, SECTIONS_HINT, "unknown section [%s]", sec);
			else if (!kind && env && ps->want_env && !strcmp(env, ps->want_env))
				ps->env_found = 1;
		}
	}
	return str;
}

/* The value [release] itself gives the setting at offset off, or NULL. */
static const char *release_own(const parse_state *ps, size_t off)
{
	for (size_t k = 0; k < NSETTINGS; k++)
		if (settings[k].offset == off)
			return ps->layer[0][k];
	return NULL;
}

/* Step i of ps->steps holds known steps (every section's, selected or
 * not); or, with i < 0, value (the
 * non_critical of layer l) names steps: [release]'s own against its own
 * lists (an environment's [release "NAME"] may list fewer: a step it
 * leaves out is simply not there), an environment's against the lists it
 * runs. */
static void check_steps(parse_state *ps, const dbs_options *o, long i, const char *value,
			int line, int l)
{
	char *why = NULL;
	release_step *s = NULL;
	size_t n = 0;
	int bad;
	if (i >= 0) {
		line = abs(ps->steps_line[i]);
		bad = steps_parse(ps->steps[i], ps->steps_line[i] < 0, ps->hooks, ps->nhooks,
				  ps->secs, ps->nsecs, NULL, &s, &n, &why);
	} else {
		const char *steps = o->release_steps, *rb = o->rollback_steps;
		if (l == 0 && (release_own(ps, OPT(release_steps)) ||
			       release_own(ps, OPT(rollback_steps)))) {
			steps = release_own(ps, OPT(release_steps));
			rb = release_own(ps, OPT(rollback_steps));
		}
		bad = non_critical_check(value, steps, rb, &why);
	}
	steps_free(s, n);
	if (bad) {
		ps->line = line;
		config_error(ps, "steps: doctor backup assess migrate[:expand|:contract] data "
			     "verify health hook:NAME KIND:NAME; rollback_steps: the same with "
			     "rollback instead of migrate and data", "%s", why);
	}
	free(why);
}

/* Can the log at path be written (made, with its directories)?  Checked
 * without making anything: its nearest existing directory must be
 * writable, or the file itself when it is there. */
static int log_writable(const char *path, const char **why)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		*why = S_ISREG(st.st_mode) ? "not writable" : "not a regular file";
		return S_ISREG(st.st_mode) && access(path, W_OK) == 0;
	}
	char *dir = xstrdup(path);
	int ok = 0;
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash) {
			ok = access(".", W_OK | X_OK) == 0;
			break;
		}
		*slash = '\0';
		if (!*dir) {
			ok = access("/", W_OK | X_OK) == 0;
			break;
		}
		if (stat(dir, &st) == 0) {
			ok = S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0;
			break;
		}
	}
	free(dir);
	*why = "its directory cannot be written";
	return ok;
}

/* Every name in a callback's value is a [hook "NAME"]. */
static void check_hook_names(parse_state *ps, const setting *st, const char *value, int line)
{
	size_t n;
	for (const char *p = value; (n = list_word(&p)); p += n) {
		if (!hook_find(ps->hooks, ps->nhooks, p, n)) {
			ps->line = line;
			config_error(ps, "define it in a [hook \"NAME\"] section, with run = ...",
				     "%s names hook '%.*s', which is not defined", st->key, (int)n, p);
			return;
		}
	}
}

int dbs_options_load(dbs_options *opts, const char *config_path,
		     const char *env_name, dbs_error *err)
{
	memset(opts, 0, sizeof(*opts));
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].def)
			setting_apply(opts, &settings[i], settings[i].def);
	if (!env_name || !*env_name)
		env_name = getenv("DBSHIFT_ENV");
	if (env_name && !*env_name)
		env_name = NULL;
	if (env_name)
		opts->env = xstrdup(env_name);

	const char *path = config_path ? config_path : "dbshift.conf";
	struct stat st;
	int exists = stat(path, &st) == 0;
	FILE *f = exists && S_ISREG(st.st_mode) ? fopen(path, "r") : NULL;
	if (exists && !S_ISREG(st.st_mode))
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (!f && (config_path || errno != ENOENT)) {
		dbs_fail(err, DBS_EINPUT, "cannot read config file '%s': %s", path,
			 errno == EINVAL ? "not a regular file" : strerror(errno));
		dbs_error_set_hint(err, "check the --config path");
		dbs_options_release(opts);
		return DBS_EINPUT;
	}
	int env_has_database = 0, dir_set = 0;
	if (f)
		opts->config = xstrdup(path);
	if (f) {
		parse_state ps = { .f = f, .path = path, .want_env = env_name, .err = err };
		int rc = ini_parse_stream(reader, &ps, handler, &ps);
		fclose(f);
		free(ps.buf);
		for (size_t i = 0; i < ps.nseen; i++)
			free(ps.seen[i]);
		free(ps.seen);
		free(ps.seen_line);
		for (size_t i = 0; i < ps.nlong; i++)
			free(ps.long_values[i]);
		free(ps.long_values);
		/* the selected environment's own database beats DATABASE_URL */
		env_has_database = ps.layer[1][DATABASE] != NULL;
		dir_set = ps.layer[0][DIR] || ps.layer[1][DIR];
		if (rc != 0 && !err->code) {
			dbs_fail(err, DBS_EINPUT, "malformed line");
			dbs_error_set_file(err, path, rc, 0);
			dbs_error_set_hint(err, "write 'key = value' under a [section]");
		}
		if (!err->code && env_name && !ps.env_found) {
			dbs_fail(err, DBS_EINPUT, "no environment '%s' in %s", env_name, path);
			dbs_error_set_hint(err, "add a section [env \"%s\"] or choose another "
					   "with --env", env_name);
		}
		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < NSETTINGS; i++) {
				if (!err->code && ps.layer[l][i])
					setting_apply(opts, &settings[i], ps.layer[l][i]);
				if (!err->code && ps.layer[l][i] && settings[i].type == SET_HOOKS)
					check_hook_names(&ps, &settings[i], ps.layer[l][i],
							 ps.layer_line[l][i]);
			}
		for (size_t i = 0; i < ps.nsteps; i++) {
			if (!err->code)
				check_steps(&ps, opts, (long)i, NULL, 0, 0);
			free(ps.steps[i]);
		}
		free(ps.steps);
		free(ps.steps_line);
		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < NSETTINGS; i++)
				if (!err->code && ps.layer[l][i] &&
				    settings[i].offset == OPT(non_critical))
					check_steps(&ps, opts, -1, ps.layer[l][i], ps.layer_line[l][i], l);
		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < NSETTINGS; i++)
				free(ps.layer[l][i]);
		const char *why = NULL;
		for (int l = 1; l >= 0 && !err->code; l--)  /* a log_file written here */
			if (ps.layer[l][LOG_FILE] && *opts->log_file &&
			    !log_writable(opts->log_file, &why)) {
				ps.line = ps.layer_line[l][LOG_FILE];
				config_error(&ps, "give a path dbshift can write, or log_file = \"\" "
					     "for no log", "log_file '%s': %s", opts->log_file, why);
				break;
			}
		for (size_t i = 0; i < ps.nhooks && !err->code; i++)
			if (!ps.hooks[i].run) {
				ps.line = ps.hook_line[i];
				config_error(&ps, "add run = PROGRAM ARGS...", "hook '%s' has no run",
					     ps.hooks[i].name);
			}
		for (size_t i = 0; i < ps.nsecs && !err->code; i++) {
			char *missing = section_missing(&ps.secs[i]);
			if (missing) {
				ps.line = ps.sec_line[i];
				char *hint = xprintf("add %s = ...", missing);
				config_error(&ps, hint, "[%s \"%s\"] has no %s", ps.secs[i].kind,
					     ps.secs[i].name, missing);
				free(hint);
				free(missing);
			}
		}
		opts->hooks = ps.hooks;
		opts->nhooks = ps.nhooks;
		free(ps.hook_line);
		opts->sections = ps.secs;
		opts->nsections = ps.nsecs;
		free(ps.sec_line);
		if (err->code) {
			dbs_options_release(opts);
			return err->code;
		}
	} else if (env_name) {
		dbs_fail(err, DBS_EINPUT, "environment '%s' selected but there is no "
			 "config file", env_name);
		dbs_error_set_hint(err, "create dbshift.conf with a section [env \"%s\"]",
				   env_name);
		dbs_options_release(opts);
		return DBS_EINPUT;
	}
	const char *url = getenv("DATABASE_URL");
	if (url && *url && !env_has_database)
		setting_apply(opts, &settings[DATABASE], url);
	/* dbmate's db/migrations, where there is no migrations/ and dir is not set */
	if (!dir_set && stat("migrations", &st) != 0 && stat("db/migrations", &st) == 0 &&
	    S_ISDIR(st.st_mode))
		setting_apply(opts, &settings[DIR], "db/migrations");
	return 0;
}
