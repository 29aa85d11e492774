/*
 * framework.h - a framework's own migrations (a Django project's) behind
 * one small interface, so that status, plan, lint, assess, the risk gate,
 * require_backup, the lock and the run's record apply to them as to
 * dbshift's files.  The framework lists its migrations, gives each one's
 * SQL, and applies or undoes one at a time, keeping its own semantics and
 * its own record (django_migrations).  django.c is the one adapter; another
 * (Rails, Alembic) is one file with these members and a line in
 * framework.c.
 */
#ifndef DBSHIFT_FRAMEWORK_H
#define DBSHIFT_FRAMEWORK_H

#include "plan/plan.h"

typedef struct framework framework;

typedef struct framework_ops {
	const char *name;
	/* Talk to the project as o says (manage, settings, manage_timeout). */
	int (*open)(framework **out, const dbs_options *o, dbs_error *err);
	void (*close)(framework *fw);
	/* Every migration in the framework's order (ordinal 1, 2, ...), with
	 * what each requires and no SQL yet (its sections not fetched). */
	int (*list)(framework *fw, source *src, dbs_error *err);
	/* The migrations the framework recorded as applied, read with d on c
	 * (none when it recorded nothing yet). */
	int (*applied)(framework *fw, const db_driver *d, db_conn *c, history_row **rows,
		       size_t *n, dbs_error *err);
	/* The SQL of m's up (or its down) into that section (fetched), with
	 * what cannot be SQL as opaque operations; m->irreversible when the
	 * framework cannot undo it. */
	int (*sql)(framework *fw, migration *m, int up, dbs_error *err);
	/* Apply m, or undo it, as the framework does (it records either). */
	int (*apply)(framework *fw, const migration *m, dbs_error *err);
	int (*unapply)(framework *fw, const migration *m, dbs_error *err);
	/* The framework's own plan for a run: kind "migrate" (to target) or
	 * "rollback" (to target, or the last steps of the app target names),
	 * as the framework would run it against what is applied: each step's
	 * path and direction, in its order (kept by fw until the next plan). */
	int (*plan)(framework *fw, const char *kind, const char *target, int steps,
		    const fw_step **out, size_t *n, dbs_error *err);
	/* Carry out the plan last asked for (or, planned 0, every pending
	 * migration) in the framework's own runs, so that a project's hooks
	 * and signals run once per run, as when the team migrates; progress
	 * is told as each migration starts (done 0) and is done (done 1), by
	 * its path ("shop.0001_initial") and direction. */
	int (*run)(framework *fw, int planned,
		   void (*progress)(void *data, const char *path, int up, int done), void *data,
		   dbs_error *err);
	/* What the database the framework's settings point at is, written as
	 * db_identity writes it. */
	int (*identity)(framework *fw, char **identity, dbs_error *err);
} framework_ops;

/* The adapter called name, or NULL. */
const framework_ops *framework_find(const char *name);

#endif
