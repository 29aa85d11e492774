/*
 * wait.c - wait until the database accepts connections (dbshift wait, as
 * dbmate wait): for a deploy that starts the database and the migration
 * together.  A connection and a SELECT 1 every half second until one
 * works or the time is up; a URL that cannot work is an input error at once.
 * And, as dbmate create, the database itself when it is not there.
 */
#include "ops/ops.h"

int dbs_wait(const dbs_options *opts, int timeout_ms, dbs_wait_cb cb, void *cb_data,
	     int64_t *waited_ms, dbs_error *err)
{
	const db_driver *d;
	int rc = driver_for_url(&d, opts->database, err);
	int64_t t0 = now_ms();
	for (int tries = 1; !rc; tries++) {
		db_conn *c = NULL;
		dbs_error_clear(err);
		/* a server that accepts and never answers: given up at the deadline */
		int64_t left = t0 + timeout_ms - now_ms();
		rc = db_connect_within(d, &c, opts->database, left > 100 ? (int)left : 100, err);
		if (!rc) {
			rc = db_query(d, c, "SELECT 1", 0, NULL, NULL, err);
			db_close(d, c);
		}
		left = t0 + timeout_ms - now_ms();
		if (!rc || rc == DBS_EINPUT)
			break;
		if (left <= 0) {
			char *why = xstrdup(err->message ? err->message : "no answer");
			char *detail = err->detail ? xstrdup(err->detail) : NULL;
			dbs_fail(err, DBS_EFAIL, "the database did not accept a connection in %d ms "
				 "(%d tries): %s", timeout_ms, tries, why);
			if (detail)
				dbs_error_set_detail(err, "%s", detail);
			dbs_error_set_hint(err, "is it running and reachable? wait longer with "
					   "--timeout DURATION");
			free(why);
			free(detail);
			break;
		}
		if (cb)
			cb(tries, err, cb_data);
		sleep_ms(left < 500 ? (int)left : 500);
		rc = 0;
	}
	*waited_ms = now_ms() - t0;
	return rc;
}

int dbs_create_database(const dbs_options *opts, int *created, dbs_error *err)
{
	const db_driver *d;
	*created = 0;
	int rc = driver_for_url(&d, opts->database, err);
	return rc ? rc : db_create_database(d, opts->database, created, err);
}
