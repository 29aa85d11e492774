/* test_version.c - versions compare as numbers, dotted parts one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "source/source.h"

static void numbers_not_strings(void **state)
{
	(void)state;
	assert_true(dbs_version_cmp("9", "10") < 0);
	assert_true(dbs_version_cmp("10", "9") > 0);
	assert_true(dbs_version_cmp("20240101120000", "20240101120001") < 0);
	assert_int_equal(dbs_version_cmp("007", "7"), 0);
	assert_true(dbs_version_cmp("99999999999999999999999", "100000000000000000000000") < 0);
}

static void dotted_parts(void **state)
{
	(void)state;
	assert_true(dbs_version_cmp("1.2", "1.10") < 0);
	assert_true(dbs_version_cmp("1.10", "1.9") > 0);
	assert_true(dbs_version_cmp("1.2.3", "1.2.10") < 0);
	assert_int_equal(dbs_version_cmp("1.0", "1"), 0);
	assert_int_equal(dbs_version_cmp("1", "1.0.0"), 0);
	assert_true(dbs_version_cmp("1", "1.0.1") < 0);
	assert_true(dbs_version_cmp("2", "1.99") > 0);
	assert_int_equal(dbs_version_cmp("1_2", "1.2"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_not_strings),
		cmocka_unit_test(dotted_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
