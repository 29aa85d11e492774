/* test_source.c - every file format's parser, and its input errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

#include "source/source.h"

static int parse(migration *m, const char *text, int goose, dbs_error *err)
{
	memset(m, 0, sizeof(*m));
	return source_parse_text(m, "f.sql", text, goose, err);
}

static void dbmate_sections(void **state)
{
	(void)state;
	migration m;
	dbs_error err = { 0 };
	assert_int_equal(parse(&m, "-- a comment\n-- dbshift:phase expand\n"
			 "-- dbshift:requires core:20240101\n-- migrate:up\n"
			 "CREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n", 0, &err), 0);
	assert_string_equal(m.up.sql, "CREATE TABLE t (id int);\n");
	assert_int_equal(m.up.line, 5);
	assert_string_equal(m.down.sql, "DROP TABLE t;\n");
	assert_int_equal(m.down.line, 7);
	assert_string_equal(m.phase, "expand");
	assert_int_equal(m.nrequires, 1);
	assert_string_equal(m.requires[0], "core:20240101");
	assert_int_equal(m.up.no_transaction, 0);
	assert_int_equal(m.down.no_transaction, 0);
	migration_release(&m);
}

static void dbmate_transaction_false(void **state)
{
	(void)state;
	migration m;
	dbs_error err = { 0 };
	assert_int_equal(parse(&m, "-- migrate:up transaction:false\nSELECT 1;\n", 0, &err), 0);
	assert_int_equal(m.up.no_transaction, 1);
	assert_int_equal(m.down.no_transaction, 0);
	assert_null(m.down.sql);
	migration_release(&m);
	/* each section has its own mode (dbmate) */
	assert_int_equal(parse(&m, "-- migrate:up\nCREATE INDEX i ON t (a);\n"
			 "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n", 0, &err), 0);
	assert_int_equal(m.up.no_transaction, 0);
	assert_int_equal(m.down.no_transaction, 1);
	migration_release(&m);
	assert_int_equal(parse(&m, "-- migrate:up transaction:false\nSELECT 1;\n"
			 "-- migrate:down transaction:true\nSELECT 2;\n", 0, &err), 0);
	assert_int_equal(m.up.no_transaction, 1);
	assert_int_equal(m.down.no_transaction, 0);
	migration_release(&m);
	/* the native header: bare is both directions */
	static const struct { const char *arg; int up, down; } hdr[] = {
		{ "", 1, 1 }, { " up", 1, 0 }, { " down", 0, 1 }, { " both", 1, 1 },
	};
	for (size_t i = 0; i < sizeof(hdr) / sizeof(*hdr); i++) {
		char *text = xprintf("-- dbshift:no-transaction%s\n-- migrate:up\nSELECT 1;\n"
				     "-- migrate:down\nSELECT 2;\n", hdr[i].arg);
		assert_int_equal(parse(&m, text, 0, &err), 0);
		assert_int_equal(m.up.no_transaction, hdr[i].up);
		assert_int_equal(m.down.no_transaction, hdr[i].down);
		migration_release(&m);
		free(text);
	}
}

static void input_errors(void **state)
{
	(void)state;
	static const struct { const char *text; int line; const char *msg; } cases[] = {
		{ "SELECT 1;\n", 1, "SQL before the up section" },
		{ "-- nothing\n", 1, "no up section" },
		{ "-- dbshift:bogus\n-- migrate:up\nSELECT 1;\n", 1, "unknown directive 'dbshift:bogus'" },
		{ "-- migrate:up\nSELECT 1;\n-- dbshift:phase expand\n", 3,
		  "directive 'dbshift:phase' must come before the up section" },
		{ "-- dbshift:phase sideways\n-- migrate:up\n", 1, "unknown phase 'sideways'" },
		{ "-- dbshift:requires core\n-- migrate:up\n", 1, "malformed requires 'core'" },
		{ "-- migrate:up\n-- migrate:up\n", 2, "second '-- migrate:up' section" },
		{ "-- migrate:down\n-- migrate:up\n", 2, "up section after the down section" },
		{ "-- migrate:sideways\n", 1, "unknown marker 'migrate:sideways'" },
		{ "-- migrate:up transaction:maybe\n", 1, "unknown option 'transaction:maybe' on the up marker" },
		{ "-- migrate:up\n-- migrate:down transaction:nope\n", 2,
		  "unknown option 'transaction:nope' on the down marker" },
		{ "-- dbshift:no-transaction sideways\n-- migrate:up\n", 1,
		  "unknown direction 'sideways' for no-transaction" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		migration m;
		dbs_error err = { 0 };
		assert_int_equal(parse(&m, cases[i].text, 0, &err), DBS_EINPUT);
		assert_string_equal(err.message, cases[i].msg);
		assert_string_equal(err.file, "f.sql");
		assert_int_equal(err.line, cases[i].line);
		assert_non_null(err.hint);
		dbs_error_clear(&err);
		migration_release(&m);
	}
}

static void goose_annotations(void **state)
{
	(void)state;
	migration m;
	dbs_error err = { 0 };
	assert_int_equal(parse(&m, "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\n"
			 "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
			 "-- +goose StatementEnd\n-- +goose Down\nDROP FUNCTION f();\n", 1, &err), 0);
	assert_int_equal(m.up.no_transaction, 1);
	assert_int_equal(m.down.no_transaction, 1);
	assert_int_equal(m.up.line, 3);
	assert_string_equal(m.up.sql, "-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int "
			    "AS $$ SELECT 1; $$ LANGUAGE sql;\n-- +goose StatementEnd\n");
	assert_string_equal(m.down.sql, "DROP FUNCTION f();\n");
	migration_release(&m);
	assert_int_equal(parse(&m, "-- +goose Up\n-- +goose ENVSUB ON\n", 1, &err), DBS_EINPUT);
	assert_string_equal(err.message, "goose's envsub (environment substitution) is not "
			    "implemented");
	dbs_error_clear(&err);
	migration_release(&m);
	/* goose reads its annotations in any case */
	assert_int_equal(parse(&m, "-- +goose up\n-- +goose statementbegin\nSELECT 1;\n"
			 "-- +goose statementend\n-- +goose down\nSELECT 2;\n", 1, &err), 0);
	assert_string_equal(m.down.sql, "SELECT 2;\n");
	migration_release(&m);
	assert_int_equal(parse(&m, "-- +goose Up\n-- +goose TRANSACTION\n", 1, &err), DBS_EINPUT);
	assert_string_equal(err.message, "unknown annotation '+goose TRANSACTION'");
	dbs_error_clear(&err);
	migration_release(&m);
}

/* Write a file below a temporary directory. */
static void put(const char *dir, const char *name, const char *text)
{
	char *path = xprintf("%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/dbshift-unit.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void all_layouts(void **state)
{
	(void)state;
	char *d = tmpdir();
	put(d, "10_ten.sql", "-- migrate:up\nSELECT 10;\n");
	put(d, "9_nine.up.sql", "SELECT 9;\n");
	put(d, "9_nine.down.sql", "SELECT -9;\n");
	put(d, "8_eight/up.sql", "SELECT 8;\n");
	put(d, "8_eight/down.sql", "SELECT -8;\n");
	put(d, "11_goose.sql", "-- +goose Up\nSELECT 11;\n");
	put(d, "V12.1__fly.sql", "SELECT 12.1;\n");
	put(d, "U12.1__fly.sql", "SELECT -12.1;\n");
	put(d, "billing/1_invoices.sql", "-- migrate:up\nSELECT 1;\n");
	put(d, "README.md", "not a migration\n");
	source src;
	dbs_error err = { 0 };
	assert_int_equal(source_load(&src, d, "postgres", &err), 0);
	assert_int_equal(src.n, 6);
	static const char *want[][4] = {
		{ "", "8", "eight", "diesel" }, { "", "9", "nine", "golang-migrate" },
		{ "", "10", "ten", "dbmate" }, { "", "11", "goose", "goose" },
		{ "", "12.1", "fly", "flyway" }, { "billing", "1", "invoices", "dbmate" },
	};
	/* apps sort after the top level ("" < "billing") */
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(src.m[i].app, want[i][0]);
		assert_string_equal(src.m[i].version, want[i][1]);
		assert_string_equal(src.m[i].name, want[i][2]);
		assert_string_equal(src.m[i].format, want[i][3]);
	}
	assert_string_equal(src.m[1].down.sql, "SELECT -9;\n");
	assert_string_equal(src.m[0].down.sql, "SELECT -8;\n");
	assert_string_equal(src.m[4].down.sql, "SELECT -12.1;\n");
	char sum[65];
	sha256_hex("SELECT 9;\n", 10, sum);
	assert_string_equal(src.m[1].checksum, sum);
	source_release(&src);
	rmtree(d);
	free(d);
}

static void layout_errors(void **state)
{
	(void)state;
	static const struct { const char *files[2][2]; const char *msg; } cases[] = {
		{ { { "1_a.sql", "-- migrate:up\n" }, { "1_b.up.sql", "SELECT 1;" } },
		  "duplicate version 1: also used by '%s/1_a.sql'" },
		{ { { "2_a.down.sql", "SELECT 1;" }, { NULL, NULL } },
		  "down migration 2 has no up migration" },
		{ { { "create_table.sql", "SELECT 1;" }, { NULL, NULL } },
		  "file name matches no migration format" },
		{ { { "R__view.sql", "SELECT 1;" }, { NULL, NULL } },
		  "Flyway repeatable migrations (R__) are not implemented" },
		{ { { "afterMigrate.sql", "SELECT 1;" }, { NULL, NULL } },
		  "Flyway callback 'afterMigrate' is not implemented" },
		{ { { "1_x.up.fizz", "create_table(\"x\")" }, { NULL, NULL } },
		  "popx fizz migrations are not implemented" },
		{ { { "00001_backfill.go", "package m" }, { NULL, NULL } },
		  "goose Go migrations are not implemented" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = tmpdir();
		for (int k = 0; k < 2 && cases[i].files[k][0]; k++)
			put(d, cases[i].files[k][0], cases[i].files[k][1]);
		source src;
		dbs_error err = { 0 };
		assert_int_equal(source_load(&src, d, "postgres", &err), DBS_EINPUT);
		char *want = xprintf(cases[i].msg, d);
		assert_string_equal(err.message, want);
		assert_non_null(err.file);
		free(want);
		dbs_error_clear(&err);
		rmtree(d);
		free(d);
	}
	source src;
	dbs_error err = { 0 };
	assert_int_equal(source_load(&src, "/nonexistent/dir", "postgres", &err), DBS_EINPUT);
	assert_string_equal(err.message, "cannot read migrations directory '/nonexistent/dir': "
			    "No such file or directory");
	dbs_error_clear(&err);
}

static void diesel_layout(void **state)
{
	(void)state;
	char *d = tmpdir();
	put(d, "00000000000000_diesel_initial_setup/up.sql", "SELECT 0;\n");
	put(d, "20190102131034_x/up.sql", "SELECT 1;\n");
	put(d, "2019-04-12-101530_create_users/up.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n");
	put(d, "2019-04-12-101530_create_users/down.sql", "DROP INDEX CONCURRENTLY i;\n");
	put(d, "2019-04-12-101530_create_users/metadata.toml",
	    "# no transaction\nrun_in_transaction = false # CIC\n[extra]\nrun_in_transaction = 1\n");
	put(d, "2019-08-31-230457-0000_b/up.sql", "SELECT 3;\n");
	put(d, "2019-08-31-230457-0000_b/metadata.toml", "run_in_transaction = true\n");
	put(d, "20200101000000_late/up.sql", "SELECT 4;\n");
	put(d, "seed.sql", "INSERT INTO t VALUES (1);\n");
	source src;
	dbs_error err = { 0 };
	assert_int_equal(source_load(&src, d, "postgres", &err), 0);
	assert_int_equal(src.n, 5);
	/* Diesel's order: version strings, without the dashes */
	static const char *want[][2] = {
		{ "00000000000000", "diesel_initial_setup" }, { "20190102131034", "x" },
		{ "20190412101530", "create_users" }, { "201908312304570000", "b" },
		{ "20200101000000", "late" },
	};
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(src.m[i].version, want[i][0]);
		assert_string_equal(src.m[i].name, want[i][1]);
		assert_string_equal(src.m[i].format, "diesel");
		assert_int_equal(src.m[i].string_order, 1);
	}
	assert_int_equal(src.m[2].up.no_transaction, 1);
	assert_int_equal(src.m[2].down.no_transaction, 1);
	assert_int_equal(src.m[3].up.no_transaction, 0);
	assert_int_equal(src.m[4].up.no_transaction, 0);
	char *w = xprintf("%s/seed.sql: ignored: not a migration (Diesel reads only the "
			  "directories beside it)\n", d);
	assert_string_equal(src.warnings, w);
	free(w);
	source_release(&src);

	/* what could be a mistyped migration is still an error */
	put(d, "up.sql", "SELECT 1;\n");
	assert_int_equal(source_load(&src, d, "postgres", &err), DBS_EINPUT);
	assert_string_equal(err.message, "file name matches no migration format");
	dbs_error_clear(&err);
	rmtree(d);
	free(d);

	d = tmpdir();
	put(d, "2019-04-12-101530_a/up.sql", "SELECT 1;\n");
	put(d, "2019-04-12-101530_a/metadata.toml", "\nrun_in_transaction = maybe\n");
	assert_int_equal(source_load(&src, d, "postgres", &err), DBS_EINPUT);
	assert_string_equal(err.message, "run_in_transaction must be true or false");
	assert_int_equal(err.line, 2);
	dbs_error_clear(&err);
	rmtree(d);
	free(d);

	/* a separate down file's header sets the down's mode, and nothing else */
	static const struct { const char *header, *msg; } down_hdr[] = {
		{ "-- dbshift:no-transaction up\n", "a down file cannot set the up's transaction mode" },
		{ "-- dbshift:phase expand\n", "directive 'dbshift:phase' belongs in the up file" },
	};
	for (size_t i = 0; i < sizeof(down_hdr) / sizeof(*down_hdr); i++) {
		d = tmpdir();
		put(d, "1_a.up.sql", "SELECT 1;\n");
		char *text = xprintf("%sSELECT 2;\n", down_hdr[i].header);
		put(d, "1_a.down.sql", text);
		free(text);
		assert_int_equal(source_load(&src, d, "postgres", &err), DBS_EINPUT);
		assert_string_equal(err.message, down_hdr[i].msg);
		assert_int_equal(err.line, 1);
		dbs_error_clear(&err);
		rmtree(d);
		free(d);
	}
	d = tmpdir();
	put(d, "1_a.up.sql", "SELECT 1;\n");
	put(d, "1_a.down.sql", "-- dbshift:no-transaction\nDROP INDEX CONCURRENTLY i;\n");
	assert_int_equal(source_load(&src, d, "postgres", &err), 0);
	assert_int_equal(src.m[0].up.no_transaction, 0);
	assert_int_equal(src.m[0].down.no_transaction, 1);
	source_release(&src);
	rmtree(d);
	free(d);

	d = tmpdir();
	put(d, "create_users/up.sql", "SELECT 1;\n");
	assert_int_equal(source_load(&src, d, "postgres", &err), DBS_EINPUT);
	assert_string_equal(err.message, "Diesel migration directory without a version");
	dbs_error_clear(&err);
	rmtree(d);
	free(d);
}

static void popx_layout(void **state)
{
	(void)state;
	char *d = tmpdir();
	put(d, "20210101000000_init.postgres.up.sql", "CREATE TABLE pg (id int);\n");
	put(d, "20210101000000_init.postgres.down.sql", "DROP TABLE pg;\n");
	put(d, "20210101000000_init.sqlite3.up.sql", "CREATE TABLE lite (id int);\n");
	put(d, "20210101000000_init.sqlite3.down.sql", "DROP TABLE lite;\n");
	put(d, "20210101000000_init.mysql.up.sql", "CREATE TABLE my (id int);\n");
	put(d, "20210101000000_init.cockroach.up.sql", "CREATE TABLE cr (id int);\n");
	put(d, "20210101000001_idx.postgres.autocommit.up.sql", "CREATE INDEX CONCURRENTLY i ON pg (id);\n");
	put(d, "20210101000001_idx.down.sql", "DROP INDEX i;\n");
	put(d, "20210101000002_all.up.sql", "SELECT 2;\n");
	put(d, "20210101000002_all.sqlite3.up.sql", "SELECT 'lite';\n");
	put(d, "20210101000003_mysqlonly.mysql.up.sql", "SELECT 3;\n");
	source src;
	dbs_error err = { 0 };
	assert_int_equal(source_load(&src, d, "postgres", &err), 0);
	assert_int_equal(src.n, 3);
	assert_string_equal(src.m[0].up.sql, "CREATE TABLE pg (id int);\n");
	assert_string_equal(src.m[0].down.sql, "DROP TABLE pg;\n");
	assert_string_equal(src.m[0].name, "init");
	assert_string_equal(src.m[0].format, "popx");
	assert_string_equal(src.m[1].name, "idx");
	assert_int_equal(src.m[1].up.no_transaction, 1);
	assert_int_equal(src.m[1].down.no_transaction, 0);
	assert_string_equal(src.m[1].down.sql, "DROP INDEX i;\n");
	assert_string_equal(src.m[2].up.sql, "SELECT 2;\n");
	source_release(&src);

	assert_int_equal(source_load(&src, d, "sqlite", &err), 0);
	assert_int_equal(src.n, 2);  /* idx is PostgreSQL's only */
	assert_string_equal(src.m[0].up.sql, "CREATE TABLE lite (id int);\n");
	assert_string_equal(src.m[0].down.sql, "DROP TABLE lite;\n");
	assert_string_equal(src.m[1].up.sql, "SELECT 'lite';\n");
	source_release(&src);
	rmtree(d);
	free(d);
}

/* Walking a script front to back with text_advance gives, at every
 * offset, what text_position counts from the start (errors and lint
 * findings are placed so); it stops at the text's end. */
static void positions_walked(void **state)
{
	(void)state;
	const char *text = "CREATE TABLE a (x int);\n-- \xc3\xa9t\xc3\xa9\n\tINSERT INTO a VALUES (1);\n\nSELECT 'x';";
	size_t n = strlen(text), at = 0;
	int line = 1, col = 1;
	for (size_t off = 0; off <= n + 3; off++) {
		int l, c;
		text_position(text, off, &l, &c);
		at = text_advance(text, at, off, &line, &col);
		assert_int_equal(at, off < n ? off : n);
		assert_int_equal(line, l);
		assert_int_equal(col, c);
	}
	assert_int_equal(line, 5);
	assert_int_equal(col, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dbmate_sections),
		cmocka_unit_test(dbmate_transaction_false),
		cmocka_unit_test(input_errors),
		cmocka_unit_test(goose_annotations),
		cmocka_unit_test(all_layouts),
		cmocka_unit_test(layout_errors),
		cmocka_unit_test(diesel_layout),
		cmocka_unit_test(popx_layout),
		cmocka_unit_test(positions_walked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
