/*
 * moves.h - the release steps that move more than the database (moves.c
 * and one file per kind: move_files.c, move_settings.c, move_dotenv.c,
 * move_bucket.c, move_mail.c).
 */
#ifndef DBSHIFT_MOVES_H
#define DBSHIFT_MOVES_H

#include "ops/ops.h"
#include "remote/remote.h"

/* One doing of a step KIND:NAME. */
typedef struct move {
	dbs_ctx *ctx;
	const dbs_section *sec;
	const char *word;       /* "files:media" */
	const char *run_id;     /* the release's: names the file kept */
	int dry_run;            /* plan only: nothing changes */
	int undo;               /* in rollback_steps */
	int keep;               /* keep = true: an undo removes nothing */
	int64_t max_failures;
	/* items (files, objects, messages): count_items set by the kind */
	int count_items;
	int64_t items_total, bytes_total, copied, skipped, failed, bytes;
	int64_t t0;
	json_t *manifest;       /* what was copied (a dry run: would be), one object each */
	json_t *failures;       /* [{item, error}] */
	json_t *changes;        /* settings, dotenv: [{op, key, before, after}], masked */
	json_t *extra;          /* more fields of the result, or NULL */
	char *kept;             /* the old file kept, or NULL */
	int kept_mode;          /* and the mode it had */
	char *restored;         /* an undo: the file put back, or NULL */
} move;

typedef struct move_kind {
	const char *kind;
	/* before the first step (m->dry_run set): the sides can be read,
	 * the file parsed; DBS_EINPUT naming what to fix */
	int (*check)(move *m);
	/* copy or change what is missing or differs (a dry run: count it) */
	int (*run)(move *m);
	/* undo what done (the step's result in the release rolled back) did */
	int (*undo)(move *m, const json_t *done);
} move_kind;

extern const move_kind move_files, move_settings, move_dotenv, move_bucket, move_mail;

/* The counts, each also shown on the live row. */
void move_total(move *m, int64_t items, int64_t bytes);
void move_progress(move *m);
void move_copied(move *m, json_t *entry, int64_t bytes);
void move_skipped(move *m);
void move_failed(move *m, const char *item, const char *why);
int move_too_many(const move *m);
/* s as JSON can hold it: a copy, its bytes above ASCII as '?' when it is
 * not UTF-8 (caller frees). */
char *printable(const char *s);
/* A change of a key, its values masked when secret. */
void move_change(move *m, const char *op, const char *key, const char *before,
		 const char *after);
/* Does the key name a secret (*PASSWORD*, *SECRET*, *KEY*, *TOKEN*, ...)?
 * masked: value as it may be shown (a secret's as "********", a URL's
 * password hidden); caller frees. */
int secret_key(const char *key);
char *masked(const char *key, const char *value);
/* Write path whole, atomically (temp file, fsync, rename) with mode. */
int write_atomic(const char *path, const char *data, size_t n, mode_t mode, dbs_error *err);
/* The store of side ("from" or "to") of m's section: its URL, SIDE_endpoint,
 * SIDE_region (default s3_endpoint, s3_region), the keys in the variables
 * SIDE_access_key_env and SIDE_secret_key_env (default AWS_*). */
int move_store(move *m, const char *side, s3 **out);
/* An undo of settings and dotenv: the file kept by done put back. */
int move_restore(move *m, const json_t *done);
/* Keep text (the old file at path, of mode) as PATH.dbshift-RUN, 0600:
 * m->kept. */
int keep_old(move *m, const char *path, const char *text, size_t n, int mode);

#endif
