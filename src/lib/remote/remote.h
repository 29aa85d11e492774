/*
 * remote.h - S3-compatible object storage (s3.c): libcurl with its own
 * AWS SigV4 signing (CURLOPT_AWS_SIGV4), path-style URLs, libxml2 for the
 * answers.  Credentials come from the environment or the AWS credentials
 * file, never from dbshift.conf, and are never printed.
 */
#ifndef DBSHIFT_REMOTE_H
#define DBSHIFT_REMOTE_H

#include "util/util.h"

typedef struct s3 s3;

/* The store of backup_upload (s3://BUCKET[/PREFIX]) at endpoint (NULL:
 * AWS's for region) in region (NULL: us-east-1), files above part_size
 * bytes sent in parts; an input error for a bad URL or no credentials. */
int s3_open(s3 **out, const char *url, const char *endpoint, const char *region,
	    int64_t part_size, dbs_error *err);
/* What is wrong with a setting before anything is sent, or NULL: an
 * s3://BUCKET[/PREFIX] URL (S3's bucket names; no empty, '.' or '..'
 * segment in the prefix, no control character), a region (letters,
 * digits and '-'), an endpoint (an http:// or https:// URL). */
const char *s3_url_problem(const char *url);
const char *s3_region_problem(const char *region);
const char *s3_endpoint_problem(const char *endpoint);
/* The same with the credentials in the variables named access_env and
 * secret_env (NULL: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the
 * credentials file when both are NULL). */
int s3_open_as(s3 **out, const char *url, const char *endpoint, const char *region,
	       int64_t part_size, const char *access_env, const char *secret_env,
	       dbs_error *err);
void s3_close(s3 *s);
/* "s3://bucket/prefix": the store for people. */
const char *s3_name(const s3 *s);

/* Bytes sent or received so far of a transfer, for a progress line. */
typedef void (*s3_progress)(int64_t done, int64_t total, void *data);

/*
 * The objects are named PREFIX/name.  put: the file at path, in one PUT
 * or (above the part size) in parts, each with its Content-MD5; then the
 * object's size and ETag are checked against the file's (*etag: the ETag,
 * *parts: how many parts, 0 for one PUT; each may be NULL).
 * get: into path (0600).  del: remove.  list: the names below name (a
 * "folder", ending in '/'), each as "rest" with its size in *sizes, or,
 * with folders, only the next level's folder names.
 */
int s3_put(s3 *s, const char *name, const char *path, s3_progress cb, void *cb_data,
	   char **etag, int *parts, dbs_error *err);
int s3_get(s3 *s, const char *name, const char *path, dbs_error *err);
int s3_del(s3 *s, const char *name, dbs_error *err);
int s3_list(s3 *s, const char *name, int folders, char ***names, int64_t **sizes, size_t *n,
	    dbs_error *err);
void s3_names_free(char **names, size_t n);

/*
 * Copying between stores (the release step bucket:NAME).  objects: every
 * object below the prefix (paginated): its name after the prefix, size
 * and ETag (unquoted).  head: an object's size (-1: there is none), ETag,
 * type, and the source ETag a copy of ours recorded
 * (x-amz-meta-dbshift-source-etag; "" when none).  copy: CopyObject from
 * src (one endpoint) into name; put_from: s3_put; both record the
 * source's ETag and keep its type.  lost: the last request did not reach
 * the store (a transport failure, not an answer).
 */
typedef struct s3_meta {
	int64_t size;
	char etag[128], source_etag[128], content_type[128];
} s3_meta;
int s3_objects(s3 *s, char ***keys, int64_t **sizes, char ***etags, size_t *n, dbs_error *err);
int s3_head(s3 *s, const char *name, s3_meta *m, dbs_error *err);
int s3_copy(s3 *dst, const char *name, const s3 *src, const char *src_name,
	    const s3_meta *source, dbs_error *err);
int s3_put_from(s3 *s, const char *name, const char *path, const s3_meta *source,
		s3_progress cb, void *cb_data, dbs_error *err);
int s3_lost(const s3 *s);
const char *s3_endpoint(const s3 *s);

#endif
