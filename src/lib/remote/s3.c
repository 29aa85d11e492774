/*
 * s3.c - S3-compatible object storage for backups off the host.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, service s3) with the
 * payload's SHA-256 in x-amz-content-sha256 (an object's data: unsigned,
 * its Content-MD5 checked by the store instead); URLs are path-style
 * (ENDPOINT/BUCKET/KEY), which AWS, MinIO, Ceph and s3rver all take.  A
 * file above the part size goes up as a multipart upload; every part and
 * single PUT carries its Content-MD5, and the object's ETag and size are
 * checked afterwards (an MD5, or for parts the MD5 of the parts' MD5s and
 * their count).  Answers (lists, upload ids, errors) are XML, read with
 * libxml2.  Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, else the AWS_PROFILE (default) profile of the
 * credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <ini.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "remote/remote.h"

struct s3 {
	char *endpoint, *region, *bucket, *prefix, *name;
	char *access, *secret, *token;
	int64_t part_size;
	CURL *curl;
	const s3_meta *put_meta;  /* the source ETag and type of the next put */
	int lost;               /* the last request did not reach the store */
};

/* ---- credentials ---- */

typedef struct creds {
	const char *profile;
	char *access, *secret, *token;
} creds;

static int creds_line(void *arg, const char *section, const char *key, const char *value)
{
	creds *c = arg;
	char **slot = !strcmp(key, "aws_access_key_id") ? &c->access
		    : !strcmp(key, "aws_secret_access_key") ? &c->secret
		    : !strcmp(key, "aws_session_token") ? &c->token : NULL;
	if (slot && !strcmp(section, c->profile)) {
		free(*slot);
		*slot = xstrdup(value);
	}
	return 1;
}

static int load_creds(s3 *s, const char *access_env, const char *secret_env, dbs_error *err)
{
	if (access_env || secret_env) {  /* named by the config: those or nothing */
		const char *a = getenv(access_env ? access_env : "AWS_ACCESS_KEY_ID");
		const char *k = getenv(secret_env ? secret_env : "AWS_SECRET_ACCESS_KEY");
		if (!a || !*a || !k || !*k) {
			dbs_fail(err, DBS_EINPUT, "no credentials for %s: %s is not set", s->name,
				 !a || !*a ? (access_env ? access_env : "AWS_ACCESS_KEY_ID")
					   : (secret_env ? secret_env : "AWS_SECRET_ACCESS_KEY"));
			dbs_error_set_hint(err, "set the variables the config names (never the keys "
					   "in dbshift.conf)");
			return DBS_EINPUT;
		}
		s->access = xstrdup(a);
		s->secret = xstrdup(k);
		return 0;
	}
	const char *a = getenv("AWS_ACCESS_KEY_ID"), *k = getenv("AWS_SECRET_ACCESS_KEY");
	if (a && *a && k && *k) {
		s->access = xstrdup(a);
		s->secret = xstrdup(k);
		const char *t = getenv("AWS_SESSION_TOKEN");
		s->token = t && *t ? xstrdup(t) : NULL;
		return 0;
	}
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	char *path = file && *file ? xstrdup(file) : xprintf("%s/.aws/credentials", home ? home : "");
	const char *profile = getenv("AWS_PROFILE");
	creds c = { profile && *profile ? profile : "default", NULL, NULL, NULL };
	FILE *f = fopen(path, "r");
	if (f) {
		ini_parse_file(f, creds_line, &c);
		fclose(f);
	}
	free(path);
	if (!c.access || !c.secret) {
		free(c.access);
		if (c.secret)
			explicit_bzero(c.secret, strlen(c.secret));
		free(c.secret);
		free(c.token);
		dbs_fail(err, DBS_EINPUT, "no credentials for %s", s->name);
		dbs_error_set_hint(err, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give "
				   "profile '%s' aws_access_key_id and aws_secret_access_key in "
				   "~/.aws/credentials (never in dbshift.conf)", c.profile);
		return DBS_EINPUT;
	}
	s->access = c.access;
	s->secret = c.secret;
	s->token = c.token;
	return 0;
}

const char *s3_url_problem(const char *url)
{
	if (!starts_with(url, "s3://") || !url[5] || url[5] == '/')
		return "it is not an s3://BUCKET/PREFIX URL";
	const char *b = url + 5;
	size_t bn = strcspn(b, "/");
	/* S3's bucket names: 3 to 63 of a-z 0-9 . -, a letter or digit at each end */
	if (bn < 3 || bn > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") < bn ||
	    !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[bn - 1]))
		return "its bucket name is not one S3 allows (3 to 63 of a-z, 0-9, '.' and '-', "
		       "starting and ending with a letter or digit)";
	if (memmem(b, bn, "..", 2))
		return "its bucket name holds '..'";
	for (const char *p = b + bn; *p;) {  /* the prefix: /SEGMENT... */
		p++;
		size_t sn = strcspn(p, "/");
		if (!p[sn] && sn == 0)
			break;  /* one trailing slash */
		if (sn == 0 || (sn == 1 && p[0] == '.') || (sn == 2 && !strncmp(p, "..", 2)))
			return "its prefix holds an empty, '.' or '..' segment";
		for (size_t i = 0; i < sn; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return "its prefix holds a control character";
		p += sn;
	}
	return NULL;
}

const char *s3_region_problem(const char *region)
{
	size_t n = strlen(region);
	return n && n < 64 && strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == n ? NULL
		: "a region is letters, digits and '-' (e.g. eu-west-1)";
}

const char *s3_endpoint_problem(const char *endpoint)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int bad = !u || curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
		  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		  (strcmp(scheme, "http") && strcmp(scheme, "https"));
	curl_free(scheme);
	curl_url_cleanup(u);
	return bad ? "an endpoint is an http:// or https:// URL" : NULL;
}

/* A value for a request header: no byte below space (CR LF would add
 * header lines) and none above '~'. */
static int header_safe(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
			return 0;
	return 1;
}

int s3_open(s3 **out, const char *url, const char *endpoint, const char *region,
	    int64_t part_size, dbs_error *err)
{
	return s3_open_as(out, url, endpoint, region, part_size, NULL, NULL, err);
}

int s3_open_as(s3 **out, const char *url, const char *endpoint, const char *region,
	       int64_t part_size, const char *access_env, const char *secret_env, dbs_error *err)
{
	*out = NULL;
	const char *why = s3_url_problem(url);
	if (!why && region && *region)
		why = s3_region_problem(region);
	if (!why && endpoint && *endpoint)
		why = s3_endpoint_problem(endpoint);
	if (why) {
		dbs_fail(err, DBS_EINPUT, "cannot use %s: %s", url, why);
		dbs_error_set_hint(err, "check backup_upload, s3_region and s3_endpoint in "
				   "dbshift.conf, e.g. backup_upload = s3://my-backups/app");
		return DBS_EINPUT;
	}
	s3 *s = xcalloc(1, sizeof(*s));
	const char *b = url + 5;
	size_t bn = strcspn(b, "/");
	s->bucket = xstrndup(b, bn);
	const char *p = b + bn;
	while (*p == '/')
		p++;
	s->prefix = xstrdup(p);
	size_t pn = strlen(s->prefix);
	while (pn && s->prefix[pn - 1] == '/')
		s->prefix[--pn] = '\0';
	s->name = xprintf("s3://%s%s%s", s->bucket, pn ? "/" : "", s->prefix);
	s->region = xstrdup(region && *region ? region : "us-east-1");
	s->endpoint = endpoint && *endpoint ? xstrdup(endpoint)
					    : xprintf("https://s3.%s.amazonaws.com", s->region);
	size_t en = strlen(s->endpoint);
	while (en && s->endpoint[en - 1] == '/')
		s->endpoint[--en] = '\0';
	s->part_size = part_size > 0 ? part_size : 16 << 20;
	int rc = load_creds(s, access_env, secret_env, err);
	if (!rc && (!header_safe(s->access) || (s->token && !header_safe(s->token)) ||
		    !header_safe(s->secret)))  /* the token goes into a header as it is */
		rc = dbs_fail(err, DBS_EINPUT, "the credentials for %s hold a control character "
			      "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN, or "
			      "the credentials file)", s->name);
	if (!rc && !(s->curl = curl_easy_init()))
		rc = dbs_fail(err, DBS_EFAIL, "cannot start libcurl");
	if (rc) {
		s3_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void s3_close(s3 *s)
{
	if (!s)
		return;
	if (s->secret)
		explicit_bzero(s->secret, strlen(s->secret));
	if (s->token)
		explicit_bzero(s->token, strlen(s->token));
	free(s->endpoint);
	free(s->region);
	free(s->bucket);
	free(s->prefix);
	free(s->name);
	free(s->access);
	free(s->secret);
	free(s->token);
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s);
}

const char *s3_name(const s3 *s)
{
	return s->name;
}

/* ---- one request ---- */

typedef struct req {
	const char *method;       /* GET, HEAD, PUT, POST, DELETE */
	char *url;
	const unsigned char *body;  /* PUT / POST */
	size_t body_len, sent;
	FILE *out;                /* GET: the body goes here */
	strbuf resp;              /* else here */
	long status;
	char etag[128];
	int64_t length;           /* Content-Length of the answer */
	s3_progress cb;
	void *cb_data;
	int64_t base, total;      /* of the whole file, for cb */
	const char *copy_from;    /* PUT: x-amz-copy-source (escaped) */
	const s3_meta *meta;      /* PUT, POST uploads: the source's ETag and type */
	char source_etag[128];    /* HEAD: x-amz-meta-dbshift-source-etag */
	char ctype[128];          /* HEAD: Content-Type */
} req;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	req *r = arg;
	if (r->out)
		return fwrite(data, size, n, r->out);
	strbuf_add(&r->resp, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	req *r = arg;
	size_t len = size * n;
	if (len > 5 && !strncasecmp(data, "ETag:", 5)) {
		const char *v = data + 5;
		while (*v == ' ')
			v++;
		size_t vn = strcspn(v, "\r\n");
		snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vn, v);
	} else if (len > 15 && !strncasecmp(data, "Content-Length:", 15)) {
		r->length = strtoll(data + 15, NULL, 10);
	} else if (len > 31 && !strncasecmp(data, "x-amz-meta-dbshift-source-etag:", 31)) {
		const char *v = data + 31;
		while (*v == ' ')
			v++;
		snprintf(r->source_etag, sizeof(r->source_etag), "%.*s", (int)strcspn(v, "\r\n"), v);
	} else if (len > 13 && !strncasecmp(data, "Content-Type:", 13)) {
		const char *v = data + 13;
		while (*v == ' ')
			v++;
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(v, "\r\n"), v);
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	req *r = arg;
	size_t want = size * n, left = r->body_len - r->sent;
	if (want > left)
		want = left;
	memcpy(buf, r->body + r->sent, want);
	r->sent += want;
	return want;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	req *r = arg;
	(void)dltotal;
	(void)ultotal;
	if (r->cb)
		r->cb(r->base + (r->out ? (int64_t)dlnow : (int64_t)ulnow), r->total, r->cb_data);
	return 0;
}

static void hex_of(const unsigned char *md, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The text of the first element called name in xml, or NULL (caller frees). */
static char *xml_text(const char *xml, size_t n, const char *name);

/* "S3 said 403 AccessDenied: ..." for an answer that is not 2xx. */
static int answer_error(const s3 *s, req *r, const char *what, dbs_error *err)
{
	char *code = r->resp.len ? xml_text(r->resp.buf, r->resp.len, "Code") : NULL;
	char *msg = r->resp.len ? xml_text(r->resp.buf, r->resp.len, "Message") : NULL;
	dbs_fail(err, DBS_EFAIL, "%s %s: the store answered %ld%s%s%s%s", what, s->name, r->status,
		 code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
	if (code && (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch") ||
		     !strcmp(code, "AccessDenied")))
		dbs_error_set_hint(err, "check the credentials (AWS_ACCESS_KEY_ID, "
				   "AWS_SECRET_ACCESS_KEY or ~/.aws/credentials) and their rights "
				   "on the bucket");
	else if (code && !strcmp(code, "NoSuchBucket"))
		dbs_error_set_hint(err, "create the bucket, or fix backup_upload");
	free(code);
	free(msg);
	return DBS_EFAIL;
}

/* Run r against the object name (NULL: the bucket) with query (sorted,
 * encoded; may be NULL). */
static int perform(s3 *s, req *r, const char *name, const char *query, const char *md5_b64,
		   dbs_error *err)
{
	CURL *c = s->curl;
	curl_easy_reset(c);
	strbuf_init(&r->resp);
	strbuf url;
	strbuf_init(&url);
	strbuf_addf(&url, "%s/%s", s->endpoint, s->bucket);
	if (name) {
		/* each part of the key escaped, the slashes kept */
		strbuf_adds(&url, "/");
		for (const char *p = name; *p;) {
			size_t k = strcspn(p, "/");
			char *e = curl_easy_escape(c, p, (int)k);
			strbuf_adds(&url, e);
			curl_free(e);
			p += k;
			if (*p == '/') {
				strbuf_adds(&url, "/");
				p++;
			}
		}
	} else {
		strbuf_adds(&url, "/");
	}
	if (query)
		strbuf_addf(&url, "?%s", query);
	r->url = strbuf_detach(&url);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char sha[65] = "UNSIGNED-PAYLOAD", *h;
	if (!md5_b64) {  /* a PUT's body is vouched for by its Content-MD5 instead */
		EVP_Digest(r->body ? (const void *)r->body : "", r->body ? r->body_len : 0, md,
			   &mdlen, EVP_sha256(), NULL);
		hex_of(md, 32, sha);
		sha[64] = '\0';
	}
	struct curl_slist *hs = NULL;
	h = xprintf("x-amz-content-sha256: %s", sha);
	hs = curl_slist_append(hs, h);
	free(h);
	if (s->token) {
		h = xprintf("x-amz-security-token: %s", s->token);
		hs = curl_slist_append(hs, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	if (md5_b64) {
		h = xprintf("Content-MD5: %s", md5_b64);
		hs = curl_slist_append(hs, h);
		free(h);
	}
	if (r->copy_from) {
		h = xprintf("x-amz-copy-source: %s", r->copy_from);
		hs = curl_slist_append(hs, h);
		free(h);
		hs = curl_slist_append(hs, "x-amz-metadata-directive: REPLACE");
	}
	if (r->meta && header_safe(r->meta->etag) && header_safe(r->meta->content_type)) {
		h = xprintf("x-amz-meta-dbshift-source-etag: %s", r->meta->etag);
		hs = curl_slist_append(hs, h);
		free(h);
		if (*r->meta->content_type) {
			h = xprintf("Content-Type: %s", r->meta->content_type);
			hs = curl_slist_append(hs, h);
			free(h);
		}
	}
	hs = curl_slist_append(hs, "Expect:");
	char sigv4[96];
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", s->region);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->access);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (r->cb) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (!strcmp(r->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hs);
	s->lost = cc != CURLE_OK;
	if (cc != CURLE_OK) {
		dbs_fail(err, DBS_EFAIL, "cannot reach the object store at %s: %s", s->endpoint,
			 curl_easy_strerror(cc));
		dbs_error_set_hint(err, "check s3_endpoint and that the store is up");
		return DBS_EFAIL;
	}
	return 0;
}

static void req_done(req *r)
{
	free(r->url);
	strbuf_release(&r->resp);
}

static char *key_of(const s3 *s, const char *name)
{
	return *s->prefix ? xprintf("%s/%s", s->prefix, name) : xstrdup(name);
}

/* ---- XML answers ---- */

static xmlNode *find(xmlNode *n, const char *name)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
		xmlNode *in = find(n->children, name);
		if (in)
			return in;
	}
	return NULL;
}

static xmlDoc *xml_read(const char *xml, size_t n)
{
	return xmlReadMemory(xml, (int)n, "answer.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static char *node_text(xmlNode *n)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	char *s = t ? xstrdup((const char *)t) : NULL;
	xmlFree(t);
	return s;
}

static char *xml_text(const char *xml, size_t n, const char *name)
{
	xmlDoc *d = xml_read(xml, n);
	char *s = d ? node_text(find(xmlDocGetRootElement(d), name)) : NULL;
	xmlFreeDoc(d);
	return s;
}

/* ---- objects ---- */

/* The MD5 of data, as raw bytes. */
static void md5_of(const unsigned char *data, size_t n, unsigned char md[16])
{
	unsigned mdlen = 0;
	EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
}

/* PUT data (whose MD5 is md, sent as Content-MD5) to key; its ETag. */
static int put_one(s3 *s, const char *key, const unsigned char *data, size_t n,
		   const unsigned char md[16], const char *query, int64_t base, int64_t total,
		   s3_progress cb, void *cb_data, char etag[128], dbs_error *err)
{
	char b64[32];
	EVP_EncodeBlock((unsigned char *)b64, md, 16);
	req r = { .method = "PUT", .body = data, .body_len = n, .cb = cb, .cb_data = cb_data,
		  .base = base, .total = total, .meta = query ? NULL : s->put_meta };
	int rc = perform(s, &r, key, query, b64, err);
	if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, "cannot upload to", err);
	if (!rc)
		snprintf(etag, 128, "%s", r.etag);
	req_done(&r);
	return rc;
}

/* Read up to n bytes of f into buf; how many. */
static size_t read_part(FILE *f, unsigned char *buf, size_t n)
{
	size_t got = 0, k;
	while (got < n && (k = fread(buf + got, 1, n - got, f)) > 0)
		got += k;
	return got;
}

/* Upload f in parts; parts gets each part's MD5 (for the ETag S3 gives). */
static int multipart(s3 *s, const char *key, FILE *f, int64_t size, unsigned char *buf,
		     s3_progress cb, void *cb_data, EVP_MD_CTX *parts, int *nparts,
		     dbs_error *err)
{
	req r = { .method = "POST", .meta = s->put_meta };
	int rc = perform(s, &r, key, "uploads=", NULL, err);
	if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, "cannot start an upload to", err);
	char *id = rc ? NULL : xml_text(r.resp.buf, r.resp.len, "UploadId");
	req_done(&r);
	if (!rc && !id)
		rc = dbs_fail(err, DBS_EFAIL, "the store at %s gave no upload id", s->endpoint);
	strbuf done;
	strbuf_init(&done);
	strbuf_adds(&done, "<CompleteMultipartUpload>");
	int64_t sent = 0;
	for (int part = 1; !rc && sent < size; part++) {
		size_t n = read_part(f, buf, (size_t)s->part_size);
		if (!n) {
			rc = dbs_fail(err, DBS_EFAIL, "cannot read the file to upload: %s",
				      strerror(errno));
			break;
		}
		char *q = curl_easy_escape(s->curl, id, 0);
		char *query = xprintf("partNumber=%d&uploadId=%s", part, q), etag[128];
		curl_free(q);
		unsigned char md[16];
		md5_of(buf, n, md);
		EVP_DigestUpdate(parts, md, 16);
		rc = put_one(s, key, buf, n, md, query, sent, size, cb, cb_data, etag, err);
		free(query);
		if (!rc)
			strbuf_addf(&done, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
				    part, etag);
		sent += (int64_t)n;
		*nparts = part;
	}
	strbuf_adds(&done, "</CompleteMultipartUpload>");
	if (id) {
		char *q = curl_easy_escape(s->curl, id, 0);
		char *query = xprintf("uploadId=%s", q);
		curl_free(q);
		req c = { .method = rc ? "DELETE" : "POST", .body = rc ? NULL
			  : (const unsigned char *)done.buf, .body_len = rc ? 0 : done.len };
		dbs_error e2 = { 0 };
		int rc2 = perform(s, &c, key, query, NULL, rc ? &e2 : err);
		if (!rc && !rc2 && (c.status / 100 != 2 || strstr(c.resp.buf, "<Error>")))
			rc2 = answer_error(s, &c, "cannot finish the upload to", err);
		if (!rc)
			rc = rc2;
		dbs_error_clear(&e2);
		req_done(&c);
		free(query);
	}
	strbuf_release(&done);
	free(id);
	return rc;
}

/* The MD5 of a whole file, on a thread of its own while the parts go up:
 * some stores (s3rver) give it as a multipart object's ETag. */
typedef struct whole_md5 {
	const char *path;
	char hex[33];  /* "" when the file could not be read */
} whole_md5;

static void *md5_file(void *arg)
{
	whole_md5 *w = arg;
	FILE *f = fopen(w->path, "rb");
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *buf = xmalloc(1 << 20), md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t n;
	w->hex[0] = '\0';
	if (f && EVP_DigestInit_ex(c, EVP_md5(), NULL)) {
		while ((n = fread(buf, 1, 1 << 20, f)) > 0)
			EVP_DigestUpdate(c, buf, n);
		if (!ferror(f) && EVP_DigestFinal_ex(c, md, &mdlen))
			hex_of(md, 16, w->hex);
	}
	if (f)
		fclose(f);
	free(buf);
	EVP_MD_CTX_free(c);
	return NULL;
}

/* An ETag with its quotes taken off. */
static void unquote(const char *in, char *out, size_t n)
{
	size_t k = strlen(in);
	if (k >= 2 && in[0] == '"' && in[k - 1] == '"')
		snprintf(out, n, "%.*s", (int)(k - 2), in + 1);
	else
		snprintf(out, n, "%s", in);
}

int s3_put(s3 *s, const char *name, const char *path, s3_progress cb, void *cb_data,
	   char **etag, int *parts, dbs_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		if (f)
			fclose(f);
		return dbs_fail(err, DBS_EFAIL, "cannot read '%s': %s", path, strerror(errno));
	}
	/* the ETag of an object is its MD5; of one sent in parts, S3's is the
	 * MD5 of the parts' MD5s and their count (some stores give the MD5) */
	char *key = key_of(s, name), want[80], got[128];
	whole_md5 whole = { .path = path, .hex = "" };
	int64_t size = (int64_t)st.st_size;
	size_t bufn = (size_t)(size < s->part_size ? (size ? size : 1) : s->part_size);
	unsigned char *buf = xmalloc(bufn), md[EVP_MAX_MD_SIZE];
	int rc = 0, nparts = 0;
	if (size <= s->part_size) {
		size_t n = read_part(f, buf, (size_t)size);
		md5_of(buf, n, md);
		hex_of(md, 16, want);
		want[32] = '\0';
		rc = n != (size_t)size ? dbs_fail(err, DBS_EFAIL, "cannot read '%s'", path)
				       : put_one(s, key, buf, n, md, NULL, 0, size, cb, cb_data,
						 got, err);
	} else {
		pthread_t t;
		int threaded = pthread_create(&t, NULL, md5_file, &whole) == 0;
		EVP_MD_CTX *pmd = EVP_MD_CTX_new();
		EVP_DigestInit_ex(pmd, EVP_md5(), NULL);
		rc = multipart(s, key, f, size, buf, cb, cb_data, pmd, &nparts, err);
		unsigned mdlen;
		EVP_DigestFinal_ex(pmd, md, &mdlen);
		hex_of(md, 16, want);
		snprintf(want + 32, sizeof(want) - 32, "-%d", nparts);
		EVP_MD_CTX_free(pmd);
		if (threaded)
			pthread_join(t, NULL);
		else
			md5_file(&whole);
	}
	fclose(f);
	free(buf);
	if (!rc) {  /* what the store holds now: its size and ETag */
		req r = { .method = "HEAD" };
		rc = perform(s, &r, key, NULL, NULL, err);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, "cannot read back the upload to", err);
		unquote(r.etag, got, sizeof(got));
		if (!rc && (r.length != size || (strcmp(got, want) &&
						 (!*whole.hex || strcmp(got, whole.hex)))))
			rc = dbs_fail(err, DBS_EFAIL, "the object %s/%s does not match '%s' after the "
				      "upload (size %lld, ETag %s; the file: %lld, %s)", s->name, name,
				      path, (long long)r.length, got, (long long)size, want);
		req_done(&r);
		if (!rc && etag)
			*etag = xstrdup(got);
		if (parts)
			*parts = nparts;
	}
	free(key);
	return rc;
}

int s3_get(s3 *s, const char *name, const char *path, dbs_error *err)
{
	char *key = key_of(s, name);
	mode_t old = umask(077);
	FILE *f = fopen(path, "wb");
	umask(old);
	if (!f) {
		free(key);
		return dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", path, strerror(errno));
	}
	req r = { .method = "GET", .out = f };
	int rc = perform(s, &r, key, NULL, NULL, err);
	if (fclose(f) != 0 && !rc)
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", path, strerror(errno));
	if (!rc && r.status / 100 != 2) {
		/* the error's XML went to the file: read it back for the message */
		char *text;
		size_t n;
		if (read_file(path, &text, &n) == 0) {
			strbuf_add(&r.resp, text, n);
			free(text);
		}
		rc = answer_error(s, &r, "cannot download from", err);
	}
	if (rc)
		remove(path);
	req_done(&r);
	free(key);
	return rc;
}

int s3_del(s3 *s, const char *name, dbs_error *err)
{
	char *key = key_of(s, name);
	req r = { .method = "DELETE" };
	int rc = perform(s, &r, key, NULL, NULL, err);
	if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, "cannot remove from", err);
	req_done(&r);
	free(key);
	return rc;
}

void s3_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int list_all(s3 *s, const char *name, int folders, char ***names, int64_t **sizes,
		    char ***etags, size_t *n, dbs_error *err)
{
	char *base = key_of(s, name ? name : "");
	size_t blen = strlen(base);
	char *token = NULL;
	int rc = 0;
	*names = NULL;
	*n = 0;
	if (sizes)
		*sizes = NULL;
	if (etags)
		*etags = NULL;
	do {
		/* the query sorted by name, each value escaped, as SigV4 signs it */
		char *p = curl_easy_escape(s->curl, base, 0);
		char *t = token ? curl_easy_escape(s->curl, token, 0) : NULL;
		char *query = xprintf("%s%s%slist-type=2&prefix=%s", t ? "continuation-token=" : "",
				      t ? t : "", t ? "&" : "", p);
		if (folders) {
			char *q2 = xprintf("delimiter=%%2F&%s", query);
			free(query);
			query = q2;
		}
		curl_free(p);
		curl_free(t);
		req r = { .method = "GET" };
		rc = perform(s, &r, NULL, query, NULL, err);
		free(query);
		if (!rc && r.status / 100 != 2)
			rc = answer_error(s, &r, "cannot list", err);
		xmlDoc *d = rc ? NULL : xml_read(r.resp.buf, r.resp.len);
		if (!rc && !d)
			rc = dbs_fail(err, DBS_EFAIL, "the store at %s gave a list that is not XML",
				      s->endpoint);
		free(token);
		token = NULL;
		xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
		for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			const char *el = (const char *)c->name;
			char *v = NULL;
			if (folders && !strcmp(el, "CommonPrefixes"))
				v = node_text(find(c->children, "Prefix"));
			else if (!folders && !strcmp(el, "Contents"))
				v = node_text(find(c->children, "Key"));
			else if (!strcmp(el, "NextContinuationToken"))
				token = node_text(c);
			if (!v)
				continue;
			if (strlen(v) > blen) {
				*names = xrealloc(*names, (*n + 1) * sizeof(char *));
				size_t vn = strlen(v + blen);
				(*names)[*n] = xstrndup(v + blen, folders && vn && v[blen + vn - 1] == '/'
							? vn - 1 : vn);
				if (sizes) {
					char *sz = node_text(find(c->children, "Size"));
					*sizes = xrealloc(*sizes, (*n + 1) * sizeof(int64_t));
					(*sizes)[*n] = sz ? strtoll(sz, NULL, 10) : 0;
					free(sz);
				}
				if (etags) {
					char *e = node_text(find(c->children, "ETag")), u[128] = "";
					if (e)
						unquote(e, u, sizeof(u));
					free(e);
					*etags = xrealloc(*etags, (*n + 1) * sizeof(char *));
					(*etags)[*n] = xstrdup(u);
				}
				(*n)++;
			}
			free(v);
		}
		xmlFreeDoc(d);
		req_done(&r);
	} while (!rc && token);
	free(token);
	free(base);
	return rc;
}

int s3_list(s3 *s, const char *name, int folders, char ***names, int64_t **sizes, size_t *n,
	    dbs_error *err)
{
	return list_all(s, name, folders, names, sizes, NULL, n, err);
}

int s3_objects(s3 *s, char ***keys, int64_t **sizes, char ***etags, size_t *n, dbs_error *err)
{
	return list_all(s, NULL, 0, keys, sizes, etags, n, err);
}

int s3_head(s3 *s, const char *name, s3_meta *m, dbs_error *err)
{
	char *key = key_of(s, name);
	req r = { .method = "HEAD" };
	int rc = perform(s, &r, key, NULL, NULL, err);
	free(key);
	memset(m, 0, sizeof(*m));
	m->size = -1;
	if (!rc && r.status == 404) {
		req_done(&r);
		return 0;
	}
	if (!rc && r.status / 100 != 2)
		rc = answer_error(s, &r, "cannot read", err);
	if (!rc) {
		m->size = r.length;
		unquote(r.etag, m->etag, sizeof(m->etag));
		snprintf(m->source_etag, sizeof(m->source_etag), "%s", r.source_etag);
		snprintf(m->content_type, sizeof(m->content_type), "%s", r.ctype);
	}
	req_done(&r);
	return rc;
}

int s3_copy(s3 *dst, const char *name, const s3 *src, const char *src_name,
	    const s3_meta *source, dbs_error *err)
{
	char *skey = key_of(src, src_name), *key = key_of(dst, name);
	/* /BUCKET/KEY, each part of the key escaped */
	strbuf from;
	strbuf_init(&from);
	strbuf_addf(&from, "/%s/", src->bucket);
	for (const char *p = skey; *p;) {
		size_t k = strcspn(p, "/");
		char *e = curl_easy_escape(dst->curl, p, (int)k);
		strbuf_adds(&from, e);
		curl_free(e);
		p += k;
		if (*p == '/') {
			strbuf_adds(&from, "/");
			p++;
		}
	}
	req r = { .method = "PUT", .copy_from = from.buf, .meta = source };
	int rc = perform(dst, &r, key, NULL, NULL, err);
	if (!rc && (r.status / 100 != 2 || (r.resp.len && strstr(r.resp.buf, "<Error>"))))
		rc = answer_error(dst, &r, "cannot copy into", err);
	req_done(&r);
	strbuf_release(&from);
	free(skey);
	free(key);
	return rc;
}

int s3_put_from(s3 *s, const char *name, const char *path, const s3_meta *source,
		s3_progress cb, void *cb_data, dbs_error *err)
{
	s->put_meta = source;
	int rc = s3_put(s, name, path, cb, cb_data, NULL, NULL, err);
	s->put_meta = NULL;
	return rc;
}

int s3_lost(const s3 *s)
{
	return s->lost;
}

const char *s3_endpoint(const s3 *s)
{
	return s->endpoint;
}
