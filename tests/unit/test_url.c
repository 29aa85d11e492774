/* test_url.c - passwords are hidden in shown URLs and kept out of argv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "internal.h"

static void redact(void **state)
{
	(void)state;
	static const char *cases[][2] = {
		{ "postgres://app:s3cret@db:5432/app", "postgres://app:****@db:5432/app" },
		{ "postgres://app@db/app?password=s3cret&sslmode=require",
		  "postgres://app@db/app?password=****&sslmode=require" },
		{ "postgresql://u:p%40ss@h/d?password=x", "postgresql://u:****@h/d?password=****" },
		{ "postgres://a:b@c@h/d", "postgres://a:****@h/d" },
		{ "postgres://h/d", "postgres://h/d" },
		{ "sqlite:dev.db", "sqlite:dev.db" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = dbs_redact_url(cases[i][0]);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
}

static void split(void **state)
{
	(void)state;
	static const char *cases[][3] = {
		{ "postgres://app:s3cret@db/app", "postgres://app@db/app", "s3cret" },
		{ "postgres://u:p%40ss@h/d", "postgres://u@h/d", "p@ss" },
		{ "postgres://u@h/d?password=x&sslmode=require", "postgres://u@h/d?sslmode=require", "x" },
		{ "postgres://u@h/d?sslmode=require&password=x", "postgres://u@h/d?sslmode=require", "x" },
		{ "postgres://u@h/d?password=x", "postgres://u@h/d", "x" },
		{ "postgres://u@h/d", "postgres://u@h/d", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *clean, *pw;
		url_split_password(cases[i][0], &clean, &pw);
		assert_string_equal(clean, cases[i][1]);
		if (cases[i][2])
			assert_string_equal(pw, cases[i][2]);
		else
			assert_null(pw);
		free(clean);
		free(pw);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redact),
		cmocka_unit_test(split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
