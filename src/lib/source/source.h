/*
 * source.h - migration files as their tools write them (native, dbmate,
 * goose, Flyway, golang-migrate, sqlx, Diesel, popx, Django-style apps),
 * read into one model: migrations with an up and a down section.
 */
#ifndef DBSHIFT_SOURCE_H
#define DBSHIFT_SOURCE_H

#include "util/util.h"

/* ---- migration sources ---- */

typedef struct section {
	char *file;   /* the file this SQL comes from */
	char *sql;    /* NULL when the section is absent */
	int line;     /* line of file where sql starts (1-based) */
	int no_transaction;  /* this direction runs outside a transaction: 1, or 2
			      * when the file manages its own (golang-migrate) */
	/* What one run learns of the text, kept so that it is learnt once: */
	size_t (*span)[2];  /* its statements ([offset, length]), once split */
	size_t nspan;
	int split;          /* span is set */
	int tx_checked;     /* it passed the in-a-transaction check */
	int parses;         /* times its text was parsed (--verbose shows it) */
	/* A framework's section: its SQL is asked for when a plan needs it
	 * (fetched), and what cannot be written as SQL (RunPython) is kept as
	 * opaque operations: what each is, at which line of sql. */
	int fetched;
	struct opaque_op {
		char *what;
		int line;
		int noop;   /* it does nothing (Django's RunPython.noop) */
	} *opaque;
	size_t nopaque;
} section;

typedef struct migration {
	char *app;          /* "" for the top level */
	char *version;
	char *name;
	const char *format;
	char *path;         /* the file or directory that names it */
	section up, down;
	int string_order;   /* versions compare as strings (Diesel chains) */
	char *phase;
	char **requires;    /* "APP:VERSION" */
	size_t nrequires;
	int requires_line;  /* for error messages */
	char *data_file;    /* -- dbshift:data FILE, run after the migration */
	int data_line;
	char checksum[65];  /* SHA-256 of up.sql (a framework's: of its file) */
	/* A framework's migration (framework/): its place in the framework's
	 * order (1, 2, ...), and whether the framework refuses to undo it. */
	int ordinal;
	int irreversible;
} migration;

typedef struct source {
	migration *m;
	size_t n;
	char *warnings;     /* files that were ignored, a line each, or NULL */
	/* Prisma's migration_lock.toml: the provider it names, and the file */
	char *provider, *provider_file;
} source;

/*
 * Read every migration below dir; an input error names file:line.
 * dialect ("postgres", "sqlite") picks among files written for several
 * databases (popx's <version>_<name>.<dialect>.up.sql).
 */
int source_load(source *src, const char *dir, const char *dialect, dbs_error *err);
/* Are the migrations written for this database (dialect "postgres" or
 * "sqlite")?  Prisma's migration_lock.toml says: an input error naming it
 * when it names another one. */
int source_check_provider(const source *src, const char *dialect, dbs_error *err);
/* Compare the versions of two migrations in their chain's order. */
int migration_version_cmp(const migration *a, const migration *b);
/* Does a history row's checksum say m is unchanged?  dbshift's own is the
 * SHA-256 of up.sql; those adopt kept from another tool are compared as
 * that tool computes them: Flyway's ("flyway:N") the CRC-32 of the file's
 * lines, sqlx's ("sqlx:HEX") the SHA-384 of the file, Prisma's
 * ("prisma:HEX") the SHA-256 of the file, whatever its line ends. */
int migration_checksum_matches(const migration *m, const char *recorded);
/* Compare a migration's version with a version typed by someone. */
int migration_version_cmp_to(const migration *m, const char *version);
/* Does this section hold no statement (absent, blank or only comments)
 * and no opaque operation? */
int section_is_empty(const section *s);
/* Is there no way back from m: its down runs nothing, or (a framework's
 * migration) the framework says so. */
int migration_irreversible(const migration *m);
void source_release(source *src);
/* Parse one native/goose file's text (exposed for the unit tests). */
int source_parse_text(migration *m, const char *path, const char *text,
		      int goose, dbs_error *err);
void migration_release(migration *m);
/* Read one file given on the command line as a migration of its layout
 * (or plain SQL when its name matches none). */
int source_load_file(migration *m, const char *path, dbs_error *err);

#endif
