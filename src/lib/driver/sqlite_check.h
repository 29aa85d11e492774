/*
 * sqlite_check.h - the SQLite driver's preflight (sqlite_check.c), used by
 * sqlite.c only: the driver's check_begin, check_script and check_end.
 */
#ifndef DBSHIFT_SQLITE_CHECK_H
#define DBSHIFT_SQLITE_CHECK_H

#include <sqlite3.h>

#include "util/util.h"

typedef struct sq_checker sq_checker;

/* A checker of the scripts of a plan (all n of them, in plan order) on
 * database db; it copies what they can reach of db's schema. */
int sqlite_check_begin(sqlite3 *db, const char *const *scripts, size_t n, sq_checker **out,
		       dbs_error *err);
int sqlite_check_script(sq_checker *k, const char *sql, size_t *err_offset, dbs_error *err);
void sqlite_check_end(sq_checker *k);

#endif
