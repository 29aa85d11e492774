/*
 * fuzz_check.c - the SQLite preflight (driver/sqlite_check.c) on scripts it
 * never saw: no crash, leak or undefined behaviour, and the copy of what
 * the scripts reach refuses whatever the copy of the whole schema refuses
 * (a plan naming sqlite_master gets the whole copy), at the same script
 * with the same message, or before it.  The input is the plan's scripts,
 * separated by lines of "----".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "driver/sqlite_check.h"

static const char schema[] =
	"CREATE TABLE a (id integer PRIMARY KEY, c int, u text UNIQUE);"
	"CREATE INDEX a_c ON a (c);"
	"CREATE TABLE b (id integer PRIMARY KEY, a_id int REFERENCES a (id));"
	"CREATE VIEW v AS SELECT id, c FROM a;"
	"CREATE TRIGGER a_t AFTER INSERT ON a BEGIN INSERT INTO b (a_id) VALUES (new.id); END;"
	"CREATE TABLE f1 (x int); CREATE TABLE f2 (x int); CREATE INDEX f2_x ON f2 (x);";

/* The first script refused and its message ("" and n when none). */
static size_t check(sqlite3 *db, const char *const *scripts, size_t n, char **msg)
{
	sq_checker *k = NULL;
	dbs_error err = { 0 };
	size_t i = n;
	*msg = NULL;
	if (!sqlite_check_begin(db, scripts, n, &k, &err)) {
		for (i = 0; i < n; i++) {
			size_t off = 0;
			if (sqlite_check_script(k, scripts[i], &off, &err))
				break;
		}
	}
	sqlite_check_end(k);
	*msg = xstrdup(err.message ? err.message : "");
	dbs_error_clear(&err);
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096 || memchr(data, 0, size))
		return 0;
	char *text = xstrndup((const char *)data, size);
	const char *scripts[17] = { "SELECT 1 FROM sqlite_master;" };
	size_t n = 1;
	for (char *p = text, *sep; n < 16; p = sep + 6) {
		scripts[n++] = p;
		if (!(sep = strstr(p, "\n----\n")))
			break;
		*sep = '\0';
	}
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	    sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK) {
		char *part_msg, *whole_msg;
		size_t part = check(db, scripts + 1, n - 1, &part_msg);
		size_t whole = check(db, scripts, n, &whole_msg);
		if (whole > 0 && whole < n) {  /* the whole copy refused script whole - 1 */
			if (part > whole - 1)
				abort();  /* the partial copy let it pass */
			if (part == whole - 1 && strcmp(part_msg, whole_msg))
				abort();  /* refused for another reason */
		}
		free(part_msg);
		free(whole_msg);
	}
	sqlite3_close(db);
	free(text);
	return 0;
}
