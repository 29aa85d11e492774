/* test_url.c - passwords are hidden in shown URLs, found where libpq finds
 * them, and scrubbed from messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver/driver.h"

static void redact(void **state)
{
	(void)state;
	static const char *cases[][2] = {
		{ "postgres://app:s3cret@db:5432/app", "postgres://app@db:5432/app" },
		{ "postgres://app@db/app?password=s3cret&sslmode=require",
		  "postgres://app@db/app?sslmode=require" },
		{ "postgresql://u:p%40ss@h/d?password=x", "postgresql://u@h/d" },
		/* libpq ends the user info at the first '@' or '/': '?' and '#'
		 * belong to the password */
		{ "postgres://app2:Qz?9secret@db/app", "postgres://app2@db/app" },
		{ "postgres://app2:Qz#9secret@db/app", "postgres://app2@db/app" },
		{ "postgres://u@h/d?password=ab#cd", "postgres://u@h/d" },
		{ "postgres://u:p1@h/d?password=p2", "postgres://u@h/d" },
		{ "postgres://u@h/d?password=", "postgres://u@h/d" },
		{ "postgres://h/d", "postgres://h/d" },
		{ "postgres://u@[::1]:5433/d", "postgres://u@[::1]:5433/d" },
		{ "postgres://u@h1:1,h2:2/d", "postgres://u@/d?host=h1%2Ch2&port=1%2C2" },
		{ "host=db user=app password=secret dbname=app", "user='app' dbname='app' host='db'" },
		{ "host=db password='a b\\'c' dbname=app", "dbname='app' host='db'" },
		{ "sqlite:dev.db", "sqlite:dev.db" },
		/* what libpq rejects is masked by its grammar */
		{ "postgres://u:pw@[::1:5432/d", "postgres://u:****@[::1:5432/d" },
		{ "postgres://u:a%zzb@h/d", "postgres://u:****@h/d" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = dbs_redact_url(cases[i][0]);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
}

/* Every secret span, as libpq would read the text. */
static void spans(void **state)
{
	(void)state;
	size_t off, len;
	const char *u = "postgres://app2:Qz?9secret@db/app?password=ab#cd&sslmode=require";
	assert_int_equal(dbs_url_password(u, 0, &off, &len), 1);
	assert_int_equal(strncmp(u + off, "Qz?9secret", len), 0);
	assert_int_equal(len, strlen("Qz?9secret"));
	assert_int_equal(dbs_url_password(u, off + len, &off, &len), 1);
	assert_int_equal(strncmp(u + off, "ab#cd", len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(dbs_url_password(u, off + len, &off, &len), 0);
	/* an empty password is nothing to hide, and no endless loop */
	assert_int_equal(dbs_url_password("postgres://h/d?password=", 0, &off, &len), 0);
	/* a '?' inside a bracketed host does not start the query (libpq's
	 * grammar: the host, its port, the path, then the query) */
	const char *v6 = "postgresql://u@[::1?x=1]:5432/d?password=pw";
	assert_int_equal(dbs_url_password(v6, 0, &off, &len), 1);
	assert_int_equal(strncmp(v6 + off, "pw", len), 0);
	assert_int_equal(len, 2);
	const char *kv = "host=db password='x y' user=u";
	assert_int_equal(dbs_url_password(kv, 0, &off, &len), 1);
	assert_int_equal(strncmp(kv + off, "x y", len), 0);
}

static void scrub(void **state)
{
	(void)state;
	char *s = url_scrub("postgres://u:a%25b@h/d", "bad token \"a%25b\" and a%b");
	assert_string_equal(s, "bad token \"****\" and ****");
	free(s);
	s = url_scrub("sqlite:x.db", "nothing to hide");
	assert_string_equal(s, "nothing to hide");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redact),
		cmocka_unit_test(spans),
		cmocka_unit_test(scrub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
