/*
 * config.c - options from dbshift.conf (INI, read with inih), the
 * environment and the command line, in that increasing precedence.
 *
 * [dbshift] holds the defaults; [env "NAME"] overrides them when NAME is
 * selected with --env or DBSHIFT_ENV.  An unknown section or key, or a
 * value that does not parse, is an input error naming file:line.
 */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "ctx/ctx.h"

static const char *const keys[] = {
	"dir", "database", "backup_dir", "log_file", "max_risk", "require_backup",
	"lock_timeout", "statement_timeout", "lock_wait", "lock_retries", "notify_url",
	"doctor_backup_age", "doctor_long_query", "doctor_max_lag", "check_tcp", "check_http", NULL
};

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
	dbs_options base, env;  /* [dbshift] and the selected [env] */
	int env_lock_wait_set, base_lock_wait_set;
	int env_require_set, base_require_set;
	dbs_error *err;
} parse_state;

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
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

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* "env \"NAME\"" -> NAME (borrowed into buf), or NULL. */
static const char *env_name_of(const char *section, char *buf, size_t n)
{
	if (strncmp(section, "env ", 4))
		return NULL;
	const char *s = section + 4;
	while (*s == ' ')
		s++;
	size_t len = strlen(s);
	if (len < 3 || s[0] != '"' || s[len - 1] != '"' || len - 2 >= n)
		return NULL;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	return buf;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	parse_state *ps = user;
	char envbuf[128];
	dbs_options *o;
	if (value[0] == '\x01') {
		/* a value the reader kept aside: inih saw only its number */
		size_t k = strtoul(value + 1, NULL, 10);
		value = k < ps->nlong ? ps->long_values[k] : "";
	}
	int *lock_set, *req_set;
	const char *env = env_name_of(section, envbuf, sizeof(envbuf));
	if (!strcmp(section, "dbshift")) {
		o = &ps->base;
		lock_set = &ps->base_lock_wait_set;
		req_set = &ps->base_require_set;
	} else if (env) {
		o = &ps->env;
		lock_set = &ps->env_lock_wait_set;
		req_set = &ps->env_require_set;
	} else {
		return config_error(ps, "sections are [dbshift] and [env \"NAME\"]",
				    "unknown section [%s]", section);
	}
	size_t k;
	for (k = 0; keys[k] && strcmp(keys[k], name); k++)
		;
	if (!keys[k])
		return config_error(ps, "known keys: dir, database, backup_dir, log_file, "
				    "max_risk, require_backup, lock_timeout, "
				    "statement_timeout, lock_wait, lock_retries, notify_url, "
				    "doctor_backup_age, doctor_long_query, doctor_max_lag, "
				    "check_tcp, check_http",
				    "unknown key '%s' in [%s]", name, section);
	if (env && (!ps->want_env || strcmp(env, ps->want_env)))
		return 1;  /* checked, but another environment's */
	if (!strcmp(name, "dir"))
		set_str(&o->dir, value);
	else if (!strcmp(name, "database"))
		set_str(&o->database, value);
	else if (!strcmp(name, "backup_dir"))
		set_str(&o->backup_dir, value);
	else if (!strcmp(name, "log_file"))
		set_str(&o->log_file, value);
	else if (!strcmp(name, "lock_timeout") || !strcmp(name, "statement_timeout")) {
		int ms;
		if (parse_duration_ms(value, &ms))
			return config_error(ps, "write a duration such as 2s, 500ms or 30min",
					    "bad %s '%s'", name, value);
		set_str(!strcmp(name, "lock_timeout") ? &o->lock_timeout : &o->statement_timeout,
			value);
	} else if (!strcmp(name, "lock_retries")) {
		int *v = NULL;
		size_t n;
		if (parse_schedule(value, &v, &n))
			return config_error(ps, "write the waits between attempts, e.g. "
					    "'1s, 2s, 5s', or 'none'", "bad lock_retries '%s'", value);
		free(v);
		set_str(&o->lock_retries, value);
	}
	else if (!strcmp(name, "notify_url"))
		set_str(&o->notify_url, value);
	else if (!strcmp(name, "check_tcp"))
		set_str(&o->check_tcp, value);
	else if (!strcmp(name, "check_http"))
		set_str(&o->check_http, value);
	else if (starts_with(name, "doctor_")) {
		int ms;
		if (parse_duration_ms(value, &ms))
			return config_error(ps, "write a duration such as 24h, 60s or 500ms",
					    "bad %s '%s'", name, value);
		set_str(!strcmp(name, "doctor_backup_age") ? &o->doctor_backup_age
			: !strcmp(name, "doctor_long_query") ? &o->doctor_long_query
			: &o->doctor_max_lag, value);
	}
	else if (!strcmp(name, "max_risk")) {
		if (strcmp(value, "green") && strcmp(value, "yellow") && strcmp(value, "red"))
			return config_error(ps, "use green, yellow or red",
					    "bad max_risk '%s'", value);
		set_str(&o->max_risk, value);
	} else if (!strcmp(name, "require_backup")) {
		if (parse_bool(value, &o->require_backup))
			return config_error(ps, "use true or false",
					    "bad require_backup '%s'", value);
		*req_set = 1;
	} else if (!strcmp(name, "lock_wait")) {
		if (parse_duration_ms(value, &o->lock_wait_ms))
			return config_error(ps, "write a duration such as 60s, 500ms or 2min",
					    "bad lock_wait '%s'", value);
		*lock_set = 1;
	}
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
			const char *env = env_name_of(sec, envbuf, sizeof(envbuf));
			if (strcmp(sec, "dbshift") && !env)
				config_error(ps, "sections are [dbshift] and [env \"NAME\"]",
					     "unknown section [%s]", sec);
			else if (env && ps->want_env && !strcmp(env, ps->want_env))
				ps->env_found = 1;
		}
	}
	return str;
}

static void overlay(char **dst, char *src)
{
	if (src) {
		free(*dst);
		*dst = xstrdup(src);
	}
}

void dbs_options_release(dbs_options *o)
{
	free(o->database);
	free(o->dir);
	free(o->env);
	free(o->log_file);
	free(o->backup_dir);
	free(o->max_risk);
	free(o->lock_timeout);
	free(o->statement_timeout);
	free(o->lock_retries);
	free(o->check_tcp);
	free(o->check_http);
	free(o->doctor_backup_age);
	free(o->doctor_long_query);
	free(o->doctor_max_lag);
	free(o->notify_url);
	memset(o, 0, sizeof(*o));
}

int dbs_options_load(dbs_options *opts, const char *config_path,
		     const char *env_name, dbs_error *err)
{
	memset(opts, 0, sizeof(*opts));
	opts->dir = xstrdup("migrations");
	opts->log_file = xstrdup("logs/dbshift.log");
	opts->backup_dir = xstrdup("backups");
	opts->max_risk = xstrdup("red");
	opts->lock_wait_ms = 60000;
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
	int env_has_database = 0;
	if (f) {
		parse_state ps = { .f = f, .path = path, .want_env = env_name, .err = err };
		int rc = ini_parse_stream(reader, &ps, handler, &ps);
		fclose(f);
		free(ps.buf);
		for (size_t i = 0; i < ps.nlong; i++)
			free(ps.long_values[i]);
		free(ps.long_values);
		/* the selected environment's own database beats DATABASE_URL */
		env_has_database = ps.env.database != NULL;
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
		if (!err->code) {
			dbs_options *layers[2] = { &ps.base, &ps.env };
			int lock_set[2] = { ps.base_lock_wait_set, ps.env_lock_wait_set };
			int req_set[2] = { ps.base_require_set, ps.env_require_set };
			for (int i = 0; i < 2; i++) {
				dbs_options *l = layers[i];
				overlay(&opts->dir, l->dir);
				overlay(&opts->database, l->database);
				overlay(&opts->backup_dir, l->backup_dir);
				overlay(&opts->log_file, l->log_file);
				overlay(&opts->max_risk, l->max_risk);
				overlay(&opts->lock_timeout, l->lock_timeout);
				overlay(&opts->statement_timeout, l->statement_timeout);
				overlay(&opts->lock_retries, l->lock_retries);
				overlay(&opts->check_tcp, l->check_tcp);
				overlay(&opts->check_http, l->check_http);
				overlay(&opts->doctor_backup_age, l->doctor_backup_age);
				overlay(&opts->doctor_long_query, l->doctor_long_query);
				overlay(&opts->doctor_max_lag, l->doctor_max_lag);
				overlay(&opts->notify_url, l->notify_url);
				if (lock_set[i])
					opts->lock_wait_ms = l->lock_wait_ms;
				if (req_set[i])
					opts->require_backup = l->require_backup;
			}
		}
		dbs_options_release(&ps.base);
		dbs_options_release(&ps.env);
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
		overlay(&opts->database, (char *)url);
	return 0;
}
