/*
 * move_mail.c - mail:NAME: the messages of IMAP folders copied to another
 * IMAP server (or account), by libcurl's IMAP.
 *
 *   [mail "support"]
 *   from = imaps://old.example.com/     ; from_user, from_password_env
 *   to = imaps://new.example.com/       ; to_user, to_password_env
 *   folders = *                         ; or a list: INBOX, Archive
 *
 * Per folder: the source's messages are listed with one UID FETCH (UID,
 * FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE: the Message-ID), and so are
 * the target folder's (made with CREATE when missing, its hierarchy
 * delimiter put in place of the source's).  A message whose Message-ID
 * the target folder holds is skipped; one without a Message-ID is
 * compared by the SHA-256 of its bytes.  Others are fetched whole (the
 * \Seen flag that fetching sets on the source is taken off again where
 * it was not set) and appended with the source's flags and internal date
 * (on a connection libcurl made and logged in: libcurl's own APPEND
 * carries neither).  The manifest lists each message copied (folder,
 * Message-ID or SHA-256, size, flags, the source's internal date); the
 * undo marks exactly those \Deleted in the target and removes them with
 * UID EXPUNGE (so nothing else marked deleted goes).  A server that
 * cannot be reached ends the step, with what was copied so far recorded.
 * Passwords come from the variables the section names, never the file,
 * and never appear in output.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ops/moves.h"

typedef struct imap {
	CURL *c;
	char *base;       /* imap[s]://host[:port] */
	char *user;
	char *password;
	char delim;       /* its hierarchy delimiter, 0: none known */
	int lost;         /* the last request did not reach it */
	CURL *appender;   /* a connection libcurl made and logged in, for APPEND */
	int tag;
} imap;

typedef struct message {
	long uid;
	char *flags;      /* "\\Seen \\Flagged" (no \\Recent) */
	char *date;       /* INTERNALDATE */
	int64_t size;
	char *msgid;      /* or NULL */
	char sha[65];     /* "" until computed */
} message;

typedef struct folder_list {
	message *m;
	size_t n;
} folder_list;

static void list_free(folder_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->m[i].flags);
		free(l->m[i].date);
		free(l->m[i].msgid);
	}
	free(l->m);
	memset(l, 0, sizeof(*l));
}

/* ---- requests ---- */

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	strbuf_add(arg, data, size * n);
	return size * n;
}

/* The URL of folder (NULL: the server), ;UID=uid when uid > 0. */
static char *url_of(imap *im, const char *folder, long uid)
{
	if (!folder)
		return xprintf("%s/", im->base);
	char *e = curl_easy_escape(im->c, folder, 0);
	char *u = uid > 0 ? xprintf("%s/%s;UID=%ld", im->base, e, uid) : xprintf("%s/%s", im->base, e);
	curl_free(e);
	return u;
}

/* One request: custom (a command) or a fetch (uid). */
static int request(move *m, imap *im, const char *folder, const char *custom, long uid,
		   strbuf *out)
{
	CURL *c = im->c;
	curl_easy_reset(c);
	char *url = url_of(im, folder, uid);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERNAME, im->user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, im->password);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (custom)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom);
	CURLcode cc = curl_easy_perform(c);
	im->lost = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
		   cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
		   cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_WEIRD_SERVER_REPLY;
	int rc = 0;
	if (cc != CURLE_OK) {
		char *safe = url_of(im, folder, 0);  /* no uid, and never a password */
		rc = dbs_fail(&m->ctx->err, DBS_EFAIL, "%s: %s%s%s: %s", m->word,
			      custom ? custom : "fetch from ",
			      custom ? " on " : "", safe, curl_easy_strerror(cc));
		if (im->lost)
			dbs_error_set_hint(&m->ctx->err, "check that the IMAP server is up, and the "
					   "from and to of [mail \"%s\"]", m->sec->name);
		else if (cc == CURLE_LOGIN_DENIED)
			dbs_error_set_hint(&m->ctx->err, "check the user and the password variable of "
					   "[mail \"%s\"]", m->sec->name);
		free(safe);
	}
	free(url);
	return rc;
}

/* ---- the answers: IMAP's parenthesised lists, as JSON ---- */

/* One value at *p: NIL (null), a number or atom or "quoted" (a string),
 * a (list) (an array); NULL at a {literal} (libcurl passes on only the
 * lines of a custom command's answer, not its literals), at anything
 * else it cannot read, or lists deeper than 16. */
static json_t *value_in(const char **p, int depth)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (*s == '(') {
		if (depth >= 16)
			return NULL;
		json_t *a = json_array();
		s++;
		while (*s == ' ')
			s++;
		while (*s && *s != ')') {
			json_t *v = value_in(&s, depth + 1);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
			while (*s == ' ')
				s++;
		}
		if (*s != ')') {  /* not closed */
			json_decref(a);
			return NULL;
		}
		*p = s + 1;
		return a;
	}
	if (*s == '"') {
		strbuf sb;
		strbuf_init(&sb);
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			strbuf_add(&sb, s, 1);
		}
		*p = *s ? s + 1 : s;
		json_t *v = json_stringn(sb.buf, sb.len);
		strbuf_release(&sb);
		return v ? v : json_string("");
	}
	size_t n = strcspn(s, " ()\r\n");
	/* BODY[...] and the like hold their brackets */
	if (n && s[n] == '(' && memchr(s, '[', n))
		n += strcspn(s + n, "]") + (s[n + strcspn(s + n, "]")] ? 1 : 0);
	if (!n || *s == '{')
		return NULL;
	*p = s + n;
	if (n == 3 && !strncmp(s, "NIL", 3))
		return json_null();
	json_t *v = json_stringn(s, n);
	return v ? v : json_string("");  /* (not UTF-8: as no value) */
}

static json_t *value(const char **p)
{
	return value_in(p, 0);
}

static void flags_text(const json_t *flags, strbuf *sb)
{
	for (size_t i = 0; i < json_array_size(flags); i++) {
		const char *f = json_string_value(json_array_get(flags, i));
		if (f && strcmp(f, "\\Recent"))
			strbuf_addf(sb, "%s%s", sb->len ? " " : "", f);
	}
}

/* Each " FETCH (...)" line of an answer, its items as a JSON array (NULL
 * for a line it cannot read: one cut at a literal). */
static void each_fetch(const strbuf *sb, void (*fn)(json_t *items, const char *line, void *),
		       void *data)
{
	for (const char *line = sb->buf; *line;) {
		size_t n = strcspn(line, "\n");
		const char *f = strstr(line, " FETCH (");
		if (f && f < line + n && line[0] == '*') {
			char *one = xstrndup(line, n);
			const char *p = one + (f - line) + 7;
			json_t *items = value(&p);
			fn(items, one, data);
			json_decref(items);
			free(one);
		}
		line += n + (line[n] == '\n');
	}
}

static const char *item(json_t *items, const char *key)
{
	for (size_t i = 0; i + 1 < json_array_size(items); i += 2) {
		const char *k = json_string_value(json_array_get(items, i));
		if (k && !strcmp(k, key))
			return json_string_value(json_array_get(items, i + 1));
	}
	return NULL;
}

/* First pass: UID, FLAGS, INTERNALDATE, RFC822.SIZE (never literals). */
static void add_message(json_t *items, const char *line, void *data)
{
	folder_list *out = data;
	(void)line;
	const char *uid = item(items, "UID"), *size = item(items, "RFC822.SIZE");
	const char *date = item(items, "INTERNALDATE");
	if (!uid || strtol(uid, NULL, 10) <= 0)
		return;
	message msg = { .uid = strtol(uid, NULL, 10), .size = size ? strtoll(size, NULL, 10) : -1,
			.date = date ? xstrdup(date) : NULL };
	strbuf fl;
	strbuf_init(&fl);
	for (size_t i = 0; i + 1 < json_array_size(items); i += 2)
		if (!strcmp(json_string_value(json_array_get(items, i)) ?: "", "FLAGS"))
			flags_text(json_array_get(items, i + 1), &fl);
	msg.flags = strbuf_detach(&fl);
	out->m = xrealloc(out->m, (out->n + 1) * sizeof(message));
	out->m[out->n++] = msg;
}

/* Second pass: the envelope's Message-ID (a line cut at a literal has
 * none: that message is compared by its bytes). */
static void add_msgid(json_t *items, const char *line, void *data)
{
	folder_list *out = data;
	(void)line;
	const char *uid = item(items, "UID");
	json_t *env = NULL;
	for (size_t i = 0; i + 1 < json_array_size(items); i += 2)
		if (!strcmp(json_string_value(json_array_get(items, i)) ?: "", "ENVELOPE"))
			env = json_array_get(items, i + 1);
	const char *id = json_string_value(json_array_get(env, 9));
	long u = uid ? strtol(uid, NULL, 10) : 0;
	for (size_t i = 0; id && *id && i < out->n; i++)
		if (out->m[i].uid == u && !out->m[i].msgid)
			out->m[i].msgid = xstrdup(id);
}

/* The messages of a folder (selected by the custom command's URL). */
static int list_messages(move *m, imap *im, const char *folder, folder_list *out)
{
	strbuf sb;
	strbuf_init(&sb);
	memset(out, 0, sizeof(*out));
	int rc = request(m, im, folder, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)", 0,
			 &sb);
	if (!rc)
		each_fetch(&sb, add_message, out);
	strbuf_reset(&sb);
	if (!rc && out->n)
		rc = request(m, im, folder, "UID FETCH 1:* (UID ENVELOPE)", 0, &sb);
	if (!rc)
		each_fetch(&sb, add_msgid, out);
	strbuf_release(&sb);
	return rc;
}

/* The folders of a server: name and delimiter (the \Noselect ones left
 * out); *delim the server's. */
static int list_folders(move *m, imap *im, json_t **names)
{
	strbuf sb;
	strbuf_init(&sb);
	*names = json_array();
	int rc = request(m, im, NULL, "LIST \"\" \"*\"", 0, &sb);
	for (const char *line = sb.buf; !rc && *line;) {
		size_t n = strcspn(line, "\n");
		if (!strncmp(line, "* LIST ", 7)) {
			const char *p = line + 7;
			json_t *attrs = value(&p), *d = attrs ? value(&p) : NULL;
			json_t *name = d ? value(&p) : NULL;
			int noselect = 0;
			for (size_t i = 0; i < json_array_size(attrs); i++) {
				const char *a = json_string_value(json_array_get(attrs, i));
				noselect |= a && (!strcasecmp(a, "\\Noselect") ||
						  !strcasecmp(a, "\\NonExistent"));
			}
			if (json_string_value(d) && strlen(json_string_value(d)) == 1)
				im->delim = json_string_value(d)[0];
			if (json_string_value(name) && !noselect)
				json_array_append(*names, name);
			json_decref(attrs);
			json_decref(d);
			json_decref(name);
		}
		line += n + (line[n] == '\n');
	}
	strbuf_release(&sb);
	return rc;
}

/* ---- the servers ---- */

static int open_side(move *m, const char *side, imap *im)
{
	char k[16], u[16], pw[32];
	snprintf(k, sizeof(k), "%s", side);
	snprintf(u, sizeof(u), "%s_user", side);
	snprintf(pw, sizeof(pw), "%s_password_env", side);
	memset(im, 0, sizeof(*im));
	const char *url = section_get(m->sec, k), *env = section_get(m->sec, pw);
	const char *secret = getenv(env);
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int bad = curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
		  curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		  curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK;
	curl_url_get(h, CURLUPART_PORT, &port, 0);
	curl_url_get(h, CURLUPART_PATH, &path, 0);
	int rc = 0;
	if (bad || (path && strcmp(path, "/") && *path)) {
		rc = dbs_fail(&m->ctx->err, DBS_EINPUT, "%s: %s = %s: give imap://HOST[:PORT]/ or "
			      "imaps://HOST[:PORT]/", m->word, k, url);
		dbs_error_set_hint(&m->ctx->err, "name the folders in folders =, not in the URL");
	} else if (!secret || !*secret) {
		rc = dbs_fail(&m->ctx->err, DBS_EINPUT, "%s: %s is not set", m->word, env);
		dbs_error_set_hint(&m->ctx->err, "set the variable %s names to the password of %s",
				   pw, section_get(m->sec, u));
	} else {
		im->base = port ? xprintf("%s://%s:%s", scheme, host, port)
				: xprintf("%s://%s", scheme, host);
		im->user = xstrdup(section_get(m->sec, u));
		im->password = xstrdup(secret);
		im->c = curl_easy_init();
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(h);
	return rc;
}

static void close_side(imap *im)
{
	if (im->c)
		curl_easy_cleanup(im->c);
	if (im->appender)
		curl_easy_cleanup(im->appender);
	if (im->password)
		explicit_bzero(im->password, strlen(im->password));
	free(im->password);
	free(im->base);
	free(im->user);
}

/* The folders to copy: folders = * (every one the source has) or a list. */
static int folders_of(move *m, imap *src, json_t **out)
{
	json_t *all = NULL;
	int rc = list_folders(m, src, &all);
	const char *want = section_get(m->sec, "folders");
	if (rc || !want || !strcmp(want, "*")) {
		*out = all;
		return rc;
	}
	*out = json_array();
	size_t k;
	for (const char *p = want; (k = list_word(&p)); p += k)
		json_array_append_new(*out, json_stringn(p, k));
	json_decref(all);
	return 0;
}

/* A source folder's name on the target (its delimiter in place). */
static char *target_name(const imap *src, const imap *dst, const char *name)
{
	char *t = xstrdup(name);
	if (src->delim && dst->delim && src->delim != dst->delim)
		for (char *p = t; *p; p++)
			if (*p == src->delim)
				*p = dst->delim;
	return t;
}

static void sha_of(const char *data, size_t n, char out[65])
{
	sha256_hex(data, n, out);
}

/* The SHA-256 of the target's messages that have no Message-ID. */
static int target_shas(move *m, imap *dst, const char *folder, folder_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->m[i].msgid)
			continue;
		strbuf body;
		strbuf_init(&body);
		int rc = request(m, dst, folder, NULL, l->m[i].uid, &body);
		if (!rc)
			sha_of(body.buf, body.len, l->m[i].sha);
		strbuf_release(&body);
		if (rc)
			return rc;
	}
	return 0;
}

static int holds(const folder_list *l, const char *msgid, const char *sha)
{
	for (size_t i = 0; i < l->n; i++)
		if ((msgid && l->m[i].msgid && !strcmp(l->m[i].msgid, msgid)) ||
		    (!msgid && *sha && !strcmp(l->m[i].sha, sha)))
			return 1;
	return 0;
}

/* ---- APPEND with the flags and the date ----
 *
 * libcurl's own APPEND sends "(\Seen)" and no date, so the message is
 * appended on a connection libcurl made and logged in (CONNECT_ONLY), by
 * one command of RFC 3501: APPEND "folder" (flags) "date" {size}, the
 * message after the server's "+".
 */

/* Wait until the connection can be read (or written). */
static int wait_socket(CURL *c, int out)
{
	curl_socket_t fd;
	if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
		return -1;
	struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
	return poll(&p, 1, 60000) == 1 ? 0 : -1;
}

static int send_all(CURL *c, const char *data, size_t n)
{
	while (n) {
		size_t sent = 0;
		CURLcode cc = curl_easy_send(c, data, n, &sent);
		if (cc == CURLE_AGAIN) {
			if (wait_socket(c, 1))
				return -1;
			continue;
		}
		if (cc != CURLE_OK)
			return -1;
		data += sent;
		n -= sent;
	}
	return 0;
}

/* The next line the server sends (without its CRLF) into line. */
static int recv_line(CURL *c, strbuf *in, strbuf *line)
{
	for (;;) {
		char *nl = memchr(in->buf, '\n', in->len);
		if (nl) {
			size_t n = (size_t)(nl - in->buf) + 1;
			strbuf_reset(line);
			strbuf_add(line, in->buf, n - (n > 1 && nl[-1] == '\r' ? 2 : 1));
			memmove(in->buf, in->buf + n, in->len - n + 1);
			in->len -= n;
			return 0;
		}
		char buf[4096];
		size_t got = 0;
		CURLcode cc = curl_easy_recv(c, buf, sizeof(buf), &got);
		if (cc == CURLE_AGAIN) {
			if (wait_socket(c, 0))
				return -1;
			continue;
		}
		if (cc != CURLE_OK || !got)
			return -1;
		strbuf_add(in, buf, got);
	}
}

/* An IMAP quoted string. */
static void quoted(strbuf *sb, const char *s)
{
	strbuf_adds(sb, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_adds(sb, "\\");
		strbuf_add(sb, s, 1);
	}
	strbuf_adds(sb, "\"");
}

/* A connection made and logged in by libcurl, kept for the step. */
static int appender(move *m, imap *im)
{
	if (im->appender)
		return 0;
	CURL *c = curl_easy_init();
	char *url = xprintf("%s/", im->base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERNAME, im->user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, im->password);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(c);
	free(url);
	if (cc != CURLE_OK) {
		im->lost = cc != CURLE_LOGIN_DENIED;
		curl_easy_cleanup(c);
		return dbs_fail(&m->ctx->err, DBS_EFAIL, "%s: cannot log in to %s/: %s", m->word,
				im->base, curl_easy_strerror(cc));
	}
	im->appender = c;
	return 0;
}

/* Append msg (its bytes in body) to folder with its flags and date. */
static int append_exact(move *m, imap *im, const char *folder, const message *msg,
			const strbuf *body)
{
	dbs_error *err = &m->ctx->err;
	int rc = appender(m, im);
	if (rc)
		return rc;
	char tag[16];
	snprintf(tag, sizeof(tag), "D%d ", ++im->tag);
	size_t tn = strlen(tag);
	strbuf cmd, in, line;
	strbuf_init(&cmd);
	strbuf_init(&in);
	strbuf_init(&line);
	strbuf_addf(&cmd, "%sAPPEND ", tag);
	quoted(&cmd, folder);
	strbuf_addf(&cmd, " (%s)", msg->flags);
	if (msg->date) {
		strbuf_adds(&cmd, " ");
		quoted(&cmd, msg->date);
	}
	strbuf_addf(&cmd, " {%zu}\r\n", body->len);
	int io = send_all(im->appender, cmd.buf, cmd.len);
	while (!io && !(io = recv_line(im->appender, &in, &line)) && line.buf[0] != '+' &&
	       strncmp(line.buf, tag, tn))
		;  /* untagged lines */
	if (!io && line.buf[0] == '+') {
		io = send_all(im->appender, body->buf, body->len);
		if (!io)
			io = send_all(im->appender, "\r\n", 2);
		while (!io && !(io = recv_line(im->appender, &in, &line)) && strncmp(line.buf, tag, tn))
			;
	}
	if (io) {
		im->lost = 1;
		curl_easy_cleanup(im->appender);
		im->appender = NULL;
		rc = dbs_fail(err, DBS_EFAIL, "%s: APPEND to %s/%s: the connection was lost",
			      m->word, im->base, folder);
		dbs_error_set_hint(err, "check that the IMAP server is up, and the to of [mail "
				   "\"%s\"]", m->sec->name);
	} else if (strncmp(line.buf + tn, "OK", 2)) {
		rc = dbs_fail(err, DBS_EFAIL, "%s: APPEND to %s/%s: %s", m->word, im->base, folder,
			      line.buf + tn);
	}
	strbuf_release(&cmd);
	strbuf_release(&in);
	strbuf_release(&line);
	return rc;
}

/* Fetching sets \Seen: taken off again where the source had it not. */
static int unseen_again(move *m, imap *src, const char *folder, const message *msg)
{
	if (strstr(msg->flags, "\\Seen"))
		return 0;
	char *cmd = xprintf("UID STORE %ld -FLAGS.SILENT (\\Seen)", msg->uid);
	strbuf ignore;
	strbuf_init(&ignore);
	int rc = request(m, src, folder, cmd, 0, &ignore);
	strbuf_release(&ignore);
	free(cmd);
	return rc;
}

/* Copy the messages of folder (listed in sl) to the target. */
static int mail_folder(move *m, imap *src, imap *dst, const char *folder, folder_list *sl,
		       json_t *tfolders)
{
	folder_list tl = { 0 };
	char *tfolder = target_name(src, dst, folder);
	int rc = 0, there = 0;
	for (size_t i = 0; i < json_array_size(tfolders); i++)
		there |= !strcmp(json_string_value(json_array_get(tfolders, i)), tfolder);
	if (there)
		rc = list_messages(m, dst, tfolder, &tl);
	if (!rc && there)
		rc = target_shas(m, dst, tfolder, &tl);
	if (!rc && !there && !m->dry_run) {
		char *cmd = xprintf("CREATE \"%s\"", tfolder);
		strbuf ignore;
		strbuf_init(&ignore);
		rc = request(m, dst, NULL, cmd, 0, &ignore);
		strbuf_release(&ignore);
		free(cmd);
	}
	for (size_t i = 0; !rc && i < sl->n; i++) {
		message *msg = &sl->m[i];
		strbuf body;
		strbuf_init(&body);
		int fetched = 0;
		if (!msg->msgid) {  /* compared by its bytes */
			if ((rc = request(m, src, folder, NULL, msg->uid, &body)))
				goto failed;
			fetched = 1;
			sha_of(body.buf, body.len, msg->sha);
			if ((rc = unseen_again(m, src, folder, msg)))
				goto failed;
		}
		if (holds(&tl, msg->msgid, msg->sha)) {
			move_skipped(m);
			strbuf_release(&body);
			continue;
		}
		json_t *it = json_pack("{s:s, s:s?, s:I, s:s, s:s?}", "folder", tfolder, "message_id",
				       msg->msgid, "size", (json_int_t)msg->size, "flags", msg->flags,
				       "internal_date", msg->date);
		if (!msg->msgid)
			json_object_set_new(it, "sha256", json_string(msg->sha));
		if (m->dry_run) {
			move_copied(m, it, msg->size);
			strbuf_release(&body);
			continue;
		}
		if (!fetched && !(rc = request(m, src, folder, NULL, msg->uid, &body)))
			rc = unseen_again(m, src, folder, msg);
		if (!rc)
			rc = append_exact(m, dst, tfolder, msg, &body);
		if (!rc) {
			move_copied(m, it, msg->size);
			strbuf_release(&body);
			continue;
		}
		json_decref(it);
	failed:
		strbuf_release(&body);
		if (src->lost || dst->lost)
			break;  /* the step ends here: rc and its error stay */
		move_failed(m, msg->msgid ? msg->msgid : msg->sha, m->ctx->err.message);
		dbs_error_clear(&m->ctx->err);
		rc = 0;
	}
	list_free(&tl);
	free(tfolder);
	return rc;
}

static int mail_run(move *m)
{
	imap src, dst;
	json_t *folders = NULL, *tfolders = NULL;
	int rc = open_side(m, "from", &src);
	if (!rc)
		rc = open_side(m, "to", &dst);
	else
		memset(&dst, 0, sizeof(dst));
	if (!rc)
		rc = folders_of(m, &src, &folders);
	if (!rc)
		rc = list_folders(m, &dst, &tfolders);
	m->count_items = 1;
	/* every folder listed first: the totals are known from the start */
	size_t nf = json_array_size(folders);
	folder_list *lists = xcalloc(nf ? nf : 1, sizeof(folder_list));
	int64_t items = 0, bytes = 0;
	for (size_t i = 0; !rc && i < nf; i++) {
		rc = list_messages(m, &src, json_string_value(json_array_get(folders, i)), &lists[i]);
		for (size_t k = 0; !rc && k < lists[i].n; k++)
			bytes += lists[i].m[k].size > 0 ? lists[i].m[k].size : 0;
		items += (int64_t)lists[i].n;
	}
	if (!rc)
		move_total(m, items, bytes);
	for (size_t i = 0; !rc && i < nf; i++)
		rc = mail_folder(m, &src, &dst, json_string_value(json_array_get(folders, i)),
				 &lists[i], tfolders);
	for (size_t i = 0; i < nf; i++)
		list_free(&lists[i]);
	free(lists);
	m->extra = json_pack("{s:o?}", "folders", folders ? json_incref(folders) : NULL);
	json_decref(folders);
	json_decref(tfolders);
	close_side(&src);
	close_side(&dst);
	return rc;
}

/* Before the first step: both servers answer, logged in. */
static int mail_check(move *m)
{
	imap src, dst;
	json_t *a = NULL, *b = NULL;
	int rc = open_side(m, "from", &src);
	if (!rc)
		rc = open_side(m, "to", &dst);
	else
		memset(&dst, 0, sizeof(dst));
	if (!rc && !m->undo)
		rc = list_folders(m, &src, &a);
	if (!rc)
		rc = list_folders(m, &dst, &b);
	json_decref(a);
	json_decref(b);
	close_side(&src);
	close_side(&dst);
	return rc;
}

static int mail_undo(move *m, const json_t *done)
{
	const json_t *list = json_object_get(done, "manifest");  /* (keep: moves.c) */
	imap dst;
	int rc = open_side(m, "to", &dst);
	char *folder = NULL;
	folder_list tl = { 0 };
	for (size_t i = 0; !rc && i < json_array_size(list); i++) {
		const json_t *it = json_array_get(list, i);
		const char *f = json_string_value(json_object_get(it, "folder"));
		const char *id = json_string_value(json_object_get(it, "message_id"));
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		if (!f)
			continue;
		if (!folder || strcmp(folder, f)) {  /* the folder's messages, once */
			list_free(&tl);
			free(folder);
			folder = xstrdup(f);
			if ((rc = list_messages(m, &dst, f, &tl)) ||
			    (rc = target_shas(m, &dst, f, &tl))) {
				if (dst.lost)
					break;
				list_free(&tl);  /* (a folder gone: nothing of it to remove) */
				dbs_error_clear(&m->ctx->err);
				rc = 0;
			}
		}
		long uid = 0;
		for (size_t k = 0; k < tl.n && !uid; k++)
			if ((id && tl.m[k].msgid && !strcmp(tl.m[k].msgid, id)) ||
			    (!id && sha && !strcmp(tl.m[k].sha, sha)))
				uid = tl.m[k].uid;
		if (!uid) {
			move_skipped(m);  /* gone already */
			continue;
		}
		if (m->dry_run) {
			move_copied(m, json_pack("{s:s, s:s?}", "folder", f, "message_id", id), 0);
			continue;
		}
		char *del = xprintf("UID STORE %ld +FLAGS.SILENT (\\Deleted)", uid);
		char *exp = xprintf("UID EXPUNGE %ld", uid);
		strbuf ignore;
		strbuf_init(&ignore);
		rc = request(m, &dst, f, del, 0, &ignore);
		if (!rc)
			rc = request(m, &dst, f, exp, 0, &ignore);
		strbuf_release(&ignore);
		free(del);
		free(exp);
		if (!rc) {
			move_copied(m, json_pack("{s:s, s:s?}", "folder", f, "message_id", id), 0);
			for (size_t k = 0; k < tl.n; k++)
				if (tl.m[k].uid == uid)
					tl.m[k].uid = 0;
		} else if (!dst.lost) {
			move_failed(m, id ? id : sha ? sha : "?", m->ctx->err.message);
			dbs_error_clear(&m->ctx->err);
			rc = 0;
		}
	}
	list_free(&tl);
	free(folder);
	close_side(&dst);
	return rc;
}

const move_kind move_mail = { "mail", mail_check, mail_run, mail_undo };
