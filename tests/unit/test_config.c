/* test_config.c - config file < environment < command line; file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctx/ctx.h"

static char path[] = "/tmp/dbshift-conf.XXXXXX";

static void write_conf(const char *text)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void done(void)
{
	unlink(path);
	snprintf(path, sizeof(path), "/tmp/dbshift-conf.XXXXXX");
	unsetenv("DATABASE_URL");
	unsetenv("DBSHIFT_ENV");
}

static const char conf[] =
	"; comment\n"
	"[dbshift]\n"
	"dir = db/migrations\n"
	"database = sqlite:dev.db\n"
	"lock_wait = 2min\n"
	"\n"
	"[env \"production\"]\n"
	"database = postgres://app@db/app\n"
	"max_risk = yellow\n"
	"require_backup = true\n"
	"lock_wait = 1500ms\n"
	"lock_timeout = 2s\n"
	"lock_retries = 1s, 2s, 5s\n"
	"[env \"staging\"]\n"
	"database = postgres://app@staging/app\n";

static void defaults_and_file(void **state)
{
	(void)state;
	dbs_options o;
	dbs_error err = { 0 };
	write_conf(conf);
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.dir, "db/migrations");
	assert_string_equal(o.database, "sqlite:dev.db");
	assert_int_equal(o.lock_wait_ms, 120000);
	assert_string_equal(o.max_risk, "red");
	assert_int_equal(o.require_backup, 0);
	dbs_options_release(&o);
	done();
}

static void environment_section(void **state)
{
	(void)state;
	dbs_options o;
	dbs_error err = { 0 };
	write_conf(conf);
	assert_int_equal(dbs_options_load(&o, path, "production", &err), 0);
	assert_string_equal(o.dir, "db/migrations");
	assert_string_equal(o.database, "postgres://app@db/app");
	assert_string_equal(o.max_risk, "yellow");
	assert_int_equal(o.require_backup, 1);
	assert_int_equal(o.lock_wait_ms, 1500);
	assert_string_equal(o.env, "production");
	assert_string_equal(o.lock_timeout, "2s");
	int *d;
	size_t nd;
	assert_int_equal(parse_schedule(o.lock_retries, &d, &nd), 0);
	assert_int_equal(nd, 3);
	assert_int_equal(d[0], 1000);
	assert_int_equal(d[2], 5000);
	free(d);
	dbs_options_release(&o);

	setenv("DBSHIFT_ENV", "staging", 1);
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.database, "postgres://app@staging/app");
	dbs_options_release(&o);
	/* the command line's --env beats DBSHIFT_ENV */
	assert_int_equal(dbs_options_load(&o, path, "production", &err), 0);
	assert_string_equal(o.database, "postgres://app@db/app");
	dbs_options_release(&o);
	/* the selected environment's own database beats DATABASE_URL */
	setenv("DATABASE_URL", "sqlite:env.db", 1);
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.database, "postgres://app@staging/app");
	dbs_options_release(&o);
	assert_int_equal(dbs_options_load(&o, path, "production", &err), 0);
	assert_string_equal(o.database, "postgres://app@db/app");
	dbs_options_release(&o);
	/* without an environment, DATABASE_URL beats the file */
	unsetenv("DBSHIFT_ENV");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.database, "sqlite:env.db");
	dbs_options_release(&o);
	unsetenv("DATABASE_URL");
	done();
}

static void errors_name_file_and_line(void **state)
{
	(void)state;
	static const struct { const char *text; const char *env; int line; const char *msg; } cases[] = {
		{ "[dbshift]\ndir = x\ndatabse = y\n", NULL, 3, "unknown key 'databse' in [dbshift]" },
		{ "[dbshift]\n\n[envs \"p\"]\n", NULL, 3, "unknown section [envs \"p\"]" },
		{ "[dbshift]\nmax_risk = purple\n", NULL, 2, "bad max_risk 'purple'" },
		{ "[dbshift]\nlock_wait = soon\n", NULL, 2, "bad lock_wait 'soon'" },
		{ "[dbshift]\nrequire_backup = maybe\n", NULL, 2, "bad require_backup 'maybe'" },
		{ "[dbshift]\njust words\n", NULL, 2, "malformed line" },
		{ "[dbshift]\nlock_timeout = soon\n", NULL, 2, "bad lock_timeout 'soon'" },
		{ "[dbshift]\nlock_retries = 1s, never\n", NULL, 2, "bad lock_retries '1s, never'" },
		{ "[env \"a\"]\nbogus = 1\n", "b", 2, "unknown key 'bogus' in [env \"a\"]" },
		{ "[dbshift]\nlock_wait = nan\n", NULL, 2, "bad lock_wait 'nan'" },
		{ "[dbshift]\nlock_wait = 1e3\n", NULL, 2, "bad lock_wait '1e3'" },
		{ "[dbshift]\nlock_timeout = -2s\n", NULL, 2, "bad lock_timeout '-2s'" },
		{ "[dbshift]\n[xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]\n", NULL, 2,
		  "line longer than 198 characters" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dbs_options o;
		dbs_error err = { 0 };
		write_conf(cases[i].text);
		assert_int_equal(dbs_options_load(&o, path, cases[i].env, &err), DBS_EINPUT);
		assert_string_equal(err.message, cases[i].msg);
		assert_string_equal(err.file, path);
		assert_int_equal(err.line, cases[i].line);
		dbs_error_clear(&err);
		done();
	}
	dbs_options o;
	dbs_error err = { 0 };
	write_conf(conf);
	assert_int_equal(dbs_options_load(&o, path, "prod", &err), DBS_EINPUT);
	char *want = xprintf("no environment 'prod' in %s", path);
	assert_string_equal(err.message, want);
	free(want);
	dbs_error_clear(&err);
	done();
	assert_int_equal(dbs_options_load(&o, "/nonexistent/dbshift.conf", NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "cannot read config file '/nonexistent/dbshift.conf': "
			    "No such file or directory");
	dbs_error_clear(&err);
	/* a directory is not a config file */
	assert_int_equal(dbs_options_load(&o, "/tmp", NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "cannot read config file '/tmp': Is a directory");
	dbs_error_clear(&err);
}

/* A value longer than inih's line buffer is read whole, never cut. */
static void long_values(void **state)
{
	(void)state;
	char url[400];
	snprintf(url, sizeof(url), "postgres://app@db.example.com/app?sslmode=verify-full&"
		 "sslrootcert=/etc/ssl/%0200d/root.crt#x", 7);
	char *text = xprintf("[dbshift]\n; %0300d\ndatabase = %s  ; a comment\n"
			     "dir = short\n", 1, url);
	write_conf(text);
	free(text);
	dbs_options o;
	dbs_error err = { 0 };
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.database, url);
	assert_string_equal(o.dir, "short");
	dbs_options_release(&o);
	done();
}

/* Every key comes from one table: it lists them with their defaults, an
 * unknown key's hint names them all, a copy owns its strings, and a
 * value it cannot take is refused, naming the line. */
static void one_table(void **state)
{
	(void)state;
	const char *key, *def, *help;
	size_t n = 0;
	char keys[1024] = "";
	for (; dbs_setting_info(n, &key, &def, &help); n++) {
		assert_non_null(help);
		if (strncmp(help, "[release]", 9) && strncmp(help, "[fleet]", 7))
			/* the hint names [dbshift]'s keys */
			snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s",
				 *keys ? ", " : "", key);
	}
	assert_int_equal(n, 60);
	assert_true(dbs_setting_info(4, &key, &def, &help));
	assert_string_equal(key, "max_risk");
	assert_string_equal(def, "red");
	assert_int_equal(setting_ms(NULL, "doctor_backup_age"), 24 * 3600 * 1000);

	dbs_options o, copy;
	dbs_error err = { 0 };
	write_conf("[dbshift]\nbogus = 1\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "unknown key 'bogus' in [dbshift]");
	char want[1100];
	snprintf(want, sizeof(want), "known keys: %s", keys);
	assert_string_equal(err.hint, want);
	dbs_error_clear(&err);
	done();

	write_conf("[dbshift]\nnotify_url = ftp://127.0.0.1/hook\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "bad notify_url 'ftp://127.0.0.1/hook'");
	assert_int_equal(err.line, 2);
	dbs_error_clear(&err);
	done();

	write_conf("[fleet]\njobs = 300\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "bad jobs '300'");
	assert_int_equal(err.line, 2);
	dbs_error_clear(&err);
	done();

	write_conf("[fleet]\ntargets = t.txt\njobs = 8\ncanary = 2\non_error = continue\n"
		   "max_failures = 3\n\n[fleet \"prod\"]\njobs = 16\n");
	assert_int_equal(dbs_options_load(&o, path, "prod", &err), DBS_EINPUT);
	assert_non_null(strstr(err.message, "no environment 'prod' in "));
	dbs_error_clear(&err);
	done();
	write_conf("[fleet]\ntargets = t.txt\njobs = 8\ncanary = 2\non_error = continue\n"
		   "max_failures = 3\n\n[env \"prod\"]\n\n[fleet \"prod\"]\njobs = 16\n");
	assert_int_equal(dbs_options_load(&o, path, "prod", &err), 0);
	assert_string_equal(o.fleet_targets, "t.txt");
	assert_int_equal(o.fleet_jobs, 16);
	assert_int_equal(o.fleet_canary, 2);
	assert_string_equal(o.fleet_on_error, "continue");
	assert_int_equal(o.fleet_max_failures, 3);
	dbs_options_release(&o);
	done();

	write_conf("[fleet]\ndatabase = x\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "unknown key 'database' in [fleet]");
	dbs_error_clear(&err);
	done();

	write_conf("[dbshift]\nframework = rails\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), DBS_EINPUT);
	assert_string_equal(err.message, "bad framework 'rails'");
	assert_string_equal(err.hint, "use django (or none)");
	dbs_error_clear(&err);
	done();

	write_conf("[dbshift]\nframework = django\nmanage = /usr/bin/python3 manage.py\n"
		   "manage_timeout = 5min\n");
	assert_int_equal(dbs_options_load(&o, path, NULL, &err), 0);
	assert_string_equal(o.framework, "django");
	assert_string_equal(o.manage, "/usr/bin/python3 manage.py");
	assert_int_equal(o.manage_timeout_ms, 300000);
	dbs_options_release(&o);
	done();

	write_conf(conf);
	assert_int_equal(dbs_options_load(&o, path, "production", &err), 0);
	options_copy(&copy, &o);
	dbs_options_release(&o);
	assert_string_equal(copy.database, "postgres://app@db/app");
	assert_string_equal(copy.doctor_long_query, "60s");
	assert_string_equal(copy.env, "production");
	assert_int_equal(copy.lock_wait_ms, 1500);
	dbs_options_release(&copy);
	done();
}

/* One way to write a duration: the units, and the bare number's unit as
 * the caller documents it; ages beyond what an int of ms holds. */
static void durations(void **state)
{
	(void)state;
	int ms = 0;
	assert_int_equal(dbs_parse_duration("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(dbs_parse_duration("1.5min", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(dbs_parse_duration("3", &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(dbs_parse_duration_in("3", 1, &ms), 0);
	assert_int_equal(ms, 3);
	assert_int_equal(dbs_parse_duration_in("500ms", 1000, &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(dbs_parse_duration_in("1h", 1, &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(dbs_parse_duration_in("-5", 1, &ms), -1);
	assert_int_equal(dbs_parse_duration_in("2x", 1, &ms), -1);
	assert_int_equal(dbs_parse_duration_in("30d", 1, &ms), -1);  /* beyond INT_MAX ms */
	int64_t s = 0;
	assert_int_equal(dbs_parse_age("30d", &s), 0);
	assert_int_equal(s, 30 * 86400);
	assert_int_equal(dbs_parse_age("2w", &s), 0);
	assert_int_equal(s, 14 * 86400);
	assert_int_equal(dbs_parse_age("2x", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
		cmocka_unit_test(defaults_and_file),
		cmocka_unit_test(environment_section),
		cmocka_unit_test(errors_name_file_and_line),
		cmocka_unit_test(long_values),
		cmocka_unit_test(one_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
