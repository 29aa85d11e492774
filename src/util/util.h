/*
 * util.h - the bottom layer: memory, the string builder, files, text,
 * hashing, time and the error helpers.  It knows nothing of migrations or
 * databases; every other part of dbshift stands on it.
 */
#ifndef DBSHIFT_UTIL_H
#define DBSHIFT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "dbshift/dbshift.h"

/* ---- memory and strings (after git's strbuf) ---- */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvprintf(const char *fmt, va_list ap);

typedef struct strbuf {
	char *buf;   /* never NULL after strbuf_init; NUL-terminated */
	size_t len, alloc;
} strbuf;

void strbuf_init(strbuf *sb);
void strbuf_add(strbuf *sb, const char *data, size_t n);
void strbuf_adds(strbuf *sb, const char *s);
void strbuf_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *strbuf_detach(strbuf *sb);
void strbuf_reset(strbuf *sb);  /* empty again, its memory kept */
void strbuf_release(strbuf *sb);

/* The largest file read_file reads (EFBIG above it). */
#define READ_FILE_MAX (64L * 1024 * 1024)
/* A whole regular file (EISDIR, EINVAL for FIFOs and devices, EFBIG
 * above READ_FILE_MAX), NUL-terminated; -1 with errno on failure. */
int read_file(const char *path, char **out, size_t *len);
/* mkdir -p of path's parent directories (make_parents) or of path itself
 * too (make_dirs: -1 with errno when it is not a directory after). */
void make_parents(const char *path, mode_t mode);
int make_dirs(const char *path, mode_t mode);
/* Remove dir and everything below it. */
void rmtree(const char *dir);
/* Why read_file failed, for people ("not a regular file", ...). */
const char *read_file_error(int e);
/* Input error (file:line:col) unless text[0..len) is UTF-8 without NUL. */
int check_text(const char *path, const char *text, size_t len, dbs_error *err);
/* Words of s, separated by blanks; '...' and "..." group (no escapes, no
 * expansion: this is no shell).  A NULL-terminated array, each word and the
 * array allocated (free_words); -1 on an unclosed quote. */
int split_words(const char *s, char ***out, size_t *n);
void free_words(char **w);
/* The next word of a list separated by blanks or commas ("a, b c"): *p
 * moves to it; its length, 0 at the end.  for (p = s; (n = list_word(&p));
 * p += n) walks them. */
size_t list_word(const char **p);
int starts_with(const char *s, const char *prefix);
/* true/yes/on/1 or false/no/off/0 into *out; -1 if it is neither. */
int parse_bool(const char *s, int *out);
int ends_with(const char *s, const char *suffix);
int is_digits(const char *s, size_t n);
/* Is "HOST:PORT" (HOST may be [v6]) one whose port is 1 to 65535, or 0
 * with allow_zero (listen on any free port)? */
int is_host_port(const char *s, size_t n, int allow_zero);
/* 1-based line and column of byte offset off in text. */
void text_position(const char *text, size_t off, int *line, int *col);
/* Move line and col (those of offset from) on to offset to, or to the
 * end of text if that comes first; the offset reached.  What a caller
 * that walks a text front to back uses, not text_position from 0 each
 * time. */
size_t text_advance(const char *text, size_t from, size_t to, int *line, int *col);
/* Offset of the first byte in sql[0..n) that is not blank or a comment. */
size_t sql_skip_space(const char *sql, size_t n);
/* sql[0..n) without leading and trailing blanks and comments, copied. */
char *sql_trimmed(const char *sql, size_t n);
void sha256_hex(const char *data, size_t n, char out[65]);
/* SHA-384 as hex (sqlx's checksum of a migration). */
void sha384_hex(const char *data, size_t n, char out[97]);
/* FNV-1a, 64 bits, of a string: the same on every machine. */
uint64_t fnv1a(const char *s);
/* SHA-256 (hex) and size of the regular file at path, read in chunks; -1
 * with errno when it cannot be read. */
int sha256_path(const char *path, char out[65], int64_t *size);

/* ---- files encrypted at rest (seal.c) ---- */

typedef struct seal_sums {
	int64_t plain_size, sealed_size;
	char plain_sha256[65], sealed_sha256[65];
} seal_sums;
/* The 32-byte key in path (raw, or 64 hex digits); an input error when the
 * file is readable by others or holds no such key. */
int seal_key_load(const char *path, unsigned char key[32], dbs_error *err);
/* Encrypt a stream into the file out (AES-256-GCM), bound to name:
 * seal_begin creates out, seal_write encrypts into it as the plaintext
 * comes (-1 once anything failed), seal_end finishes it and gives the
 * sums of both (an error, out removed, if anything failed); seal_abort
 * removes out.  No plaintext is written anywhere. */
typedef struct sealer sealer;
sealer *seal_begin(const unsigned char key[32], const char *out, const char *name);
int seal_write(sealer *s, const void *buf, size_t n);
int seal_end(sealer *s, seal_sums *sums, dbs_error *err);
void seal_abort(sealer *s);
/* Decrypt in into out (NULL: only check it), bound to name; fails when the
 * key is not the one or the file was changed (out is then removed). */
int seal_open(const unsigned char key[32], const char *in, const char *out, const char *name,
	      char plain_sha256[65], dbs_error *err);
/* Now, UTC, in RFC 3339: "YYYY-MM-DDTHH:MM:SSZ" (what both drivers store);
 * utc_of: the time t so. */
void utc_now(char out[32]);
void utc_of(time_t t, char out[32]);
/* s as RFC 3339 when it is a time as the databases write one ("2026-11-22
 * 06:26:38+00": SQLite's text, PostgreSQL's timestamptz): a fraction is
 * kept, an offset other than UTC becomes +HH:MM.  1 when out was written,
 * 0 when s is no such time. */
int rfc3339(const char *s, char out[64]);
/* A copy of s, in RFC 3339 when it is such a time; NULL for NULL. */
char *rfc3339_dup(const char *s);
int64_t now_ms(void);
int64_t now_us(void);  /* the same monotonic clock, in microseconds */
/* Milliseconds since the epoch (the wall clock, for other processes). */
int64_t wall_ms(void);
/* Seconds of an age ("30d", "12h", "2w"); -1 if it is not one. */
int parse_age_s(const char *s, int64_t *secs);
/* Bytes of a size ("16MiB", "5MB", "1048576"); -1 if it is not one. */
int parse_size(const char *s, int64_t *bytes);
void sleep_ms(int ms);
/* Milliseconds of "60s", "2min", "500ms", "1h", "7d" or plain seconds; -1 if bad. */
int parse_duration_ms(const char *s, int *out);
/* The same with bare digits meaning bare_ms milliseconds each (an
 * option's documented unit: 1 for ms, 1000 for seconds). */
int parse_duration_unit(const char *s, int bare_ms, int *out);
/* "1s, 2s, 5s" -> {1000, 2000, 5000}; "none" -> n = 0; -1 if bad. */
int parse_schedule(const char *s, int **out, size_t *n);
/* user@host of this process, for applied_by. */
const char *whoami(void);

/* ---- errors ---- */

int dbs_fail(dbs_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dbs_error_set_hint(dbs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dbs_error_set_detail(dbs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dbs_error_set_file(dbs_error *err, const char *file, int line, int col);
void dbs_error_move(dbs_error *dst, dbs_error *src);

#include "util/banned.h"

#endif
