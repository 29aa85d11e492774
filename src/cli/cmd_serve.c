/*
 * cmd_serve.c - dbshift serve [--listen ADDR:PORT]: the live view over
 * HTTP (libmicrohttpd), read-only.
 *
 *   /               the page (page.c): runs, the running run, progress,
 *                   the server's view, metrics, migrations; it refreshes
 *                   itself from /live once a second
 *   /live           the page's body alone
 *   /api/runs       /api/runs/ID   /api/status   /api/metrics   (JSON)
 *   /metrics        the Prometheus text format (prom.c)
 *
 * Loopback by default.  Any other address needs serve_token_file; with a
 * token, every request sends it (Authorization: Bearer TOKEN, or
 * ?token=TOKEN), compared in constant time.  Only GET and HEAD.  One
 * thread answers, one request at a time, on the one connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"

static const char *listen_arg;

const cli_option serve_options[] = {
	{ "--listen", NULL, &listen_arg, "ADDR:PORT to listen on (serve_listen, 127.0.0.1:8765)",
	  "ADDR:PORT" },
	{ NULL, NULL, NULL, NULL, NULL }
};

typedef struct server {
	dbs_ctx *ctx;
	char *token;      /* NULL: none asked for (loopback without a token file) */
} server;

/* addr as HOST:PORT or [HOST]:PORT, resolved; *loopback says whether only
 * this machine can reach it. */
static int parse_listen(cli *g, const char *addr, struct sockaddr_storage *ss, int *loopback)
{
	const char *colon = strrchr(addr, ':');
	size_t pn = colon ? strlen(colon + 1) : 0;
	if (!colon || colon == addr || !pn || pn > 5 || strspn(colon + 1, "0123456789") != pn ||
	    strtol(colon + 1, NULL, 10) > 65535)  /* getaddrinfo would wrap 99999 */
		return usage_error(g, "bad listen address '%s': give ADDR:PORT, the port from 0 "
				   "to 65535, e.g. 127.0.0.1:8765", addr);
	char *host = strndup(addr, (size_t)(colon - addr));
	size_t hn = strlen(host);
	if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
		memmove(host, host + 1, hn - 2);
		host[hn - 2] = '\0';
	}
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *res;
	int e = getaddrinfo(host, colon + 1, &hints, &res);
	free(host);
	if (e)
		return usage_error(g, "bad listen address '%s': %s", addr, gai_strerror(e));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

/* The token in path: its first line, without surrounding blanks. */
static int read_token(const char *path, char **token)
{
	/* a regular file, opened without blocking: a FIFO would hang serve */
	char buf[4096];
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (got < 0) {
		fprintf(stderr, "dbshift: cannot read serve_token_file '%s': %s\n", path,
			e == EINVAL ? "not a regular file" : strerror(e));
		fprintf(stderr, "hint: put the token in that file (chmod 600), or point "
			"serve_token_file elsewhere\n");
		return 2;
	}
	size_t n = (size_t)got;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	char *s = buf + strspn(buf, " \t");
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n < 16) {
		fprintf(stderr, "dbshift: serve_token_file '%s' holds %s\n", path,
			n ? "a token shorter than 16 characters" : "no token");
		fprintf(stderr, "hint: write a long random token in it, e.g. "
			"'openssl rand -hex 32 > %s'\n", path);
		return 2;
	}
	*token = strdup(s);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
								 MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; "
				"script-src 'unsafe-inline'; connect-src 'self'");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"dbshift\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	json_t *doc = json_pack("{s:s}", "error", msg);
	char *body = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	return reply(c, status, "application/json", body);
}

static int authorized(const server *s, struct MHD_Connection *c)
{
	if (!s->token)
		return 1;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	if (h && !strncasecmp(h, "Bearer ", 7) && dbs_secret_equal(h + 7 + strspn(h + 7, " "),
								   s->token))
		return 1;
	return q && dbs_secret_equal(q, s->token);
}

/* A library document as the answer: 200, or 404 for what is not there
 * (an input error), or 500. */
static enum MHD_Result reply_doc(struct MHD_Connection *c, int rc, char *doc)
{
	char *body = malloc(strlen(doc) + 2);
	sprintf(body, "%s\n", doc);
	free(doc);
	return reply(c, rc == 0 ? MHD_HTTP_OK : exit_code(rc) == 2 ? MHD_HTTP_NOT_FOUND
				 : MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", body);
}

static json_t *load(char *text)
{
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return doc ? doc : json_object();
}

/* The four documents the page and /metrics show. */
typedef struct view_docs {
	json_t *runs, *run, *status, *metrics;
} view_docs;

static void gather(dbs_ctx *ctx, const char *run_id, view_docs *v)
{
	char *t = NULL;
	dbs_runs_json(ctx, 20, &t);
	v->runs = load(t);
	t = NULL;
	dbs_run_json(ctx, run_id, &t);
	v->run = load(t);
	v->status = load(dbs_status_json(ctx));
	t = NULL;
	dbs_metrics_json(ctx, &t);
	v->metrics = load(t);
}

static void view_free(view_docs *v)
{
	json_decref(v->runs);
	json_decref(v->run);
	json_decref(v->status);
	json_decref(v->metrics);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	server *s = cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only");
	if (!authorized(s, c))
		return reply_error(c, MHD_HTTP_UNAUTHORIZED, "a token is needed: send "
				   "'Authorization: Bearer TOKEN' or add ?token=TOKEN");
	char *doc = NULL;
	int rc;
	/* a session the server ended (a restart, pg_terminate_backend) is made
	 * again: serve outlives it */
	if (dbs_refresh(s->ctx))
		return reply_doc(c, -1, dbs_error_json("serve", dbs_last_error(s->ctx)));
	if (!strcmp(url, "/api/runs")) {
		rc = dbs_runs_json(s->ctx, 50, &doc);
		return reply_doc(c, rc, doc);
	}
	if (!strncmp(url, "/api/runs/", 10) && url[10]) {
		rc = dbs_run_json(s->ctx, url + 10, &doc);
		return reply_doc(c, rc, doc);
	}
	if (!strcmp(url, "/api/status")) {
		size_t n;
		rc = dbs_status(s->ctx, &n);
		return reply_doc(c, rc, dbs_status_json(s->ctx));
	}
	if (!strcmp(url, "/api/metrics")) {
		rc = dbs_metrics_json(s->ctx, &doc);
		return reply_doc(c, rc, doc);
	}
	if (!strcmp(url, "/metrics") || !strcmp(url, "/") || !strcmp(url, "/live")) {
		view_docs v = { 0 };
		const char *run = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "run");
		gather(s->ctx, run && *run ? run : NULL, &v);
		char *body = !strcmp(url, "/metrics")
			? prom_text(v.runs, v.run, v.status, v.metrics)
			: page_html(v.runs, v.run, v.status, v.metrics, !strcmp(url, "/live"));
		view_free(&v);
		return reply(c, MHD_HTTP_OK, !strcmp(url, "/metrics")
			     ? "text/plain; version=0.0.4; charset=utf-8" : "text/html; charset=utf-8",
			     body);
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such page: try /, /api/runs, /api/status, "
			   "/api/metrics or /metrics");
}

int check_serve(cli *g)
{
	if (g->nargs)
		return usage_error(g, "serve takes no arguments (--listen ADDR:PORT)");
	return 0;
}

int cmd_serve(cli *g, dbs_ctx *ctx)
{
	const char *addr = listen_arg ? listen_arg : g->opts.serve_listen;
	struct sockaddr_storage ss = { 0 };
	int loopback = 0, rc;
	if ((rc = parse_listen(g, addr, &ss, &loopback)))
		return rc;
	server s = { ctx, NULL };
	const char *tf = g->opts.serve_token_file;
	if (!loopback && !(tf && *tf)) {
		fprintf(stderr, "dbshift: serve: '%s' is reachable from other machines, and no "
			"token guards it\n", addr);
		fprintf(stderr, "hint: set serve_token_file in dbshift.conf to a file holding a "
			"long random token, or listen on 127.0.0.1\n");
		return 2;
	}
	if (tf && *tf && (rc = read_token(tf, &s.token)))
		return rc;
	/* the answering thread inherits this mask: SIGINT and SIGTERM come here */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	/* epoll, not select: select stops at FD_SETSIZE (1,024) connections;
	 * the limit is what the process may open */
	struct rlimit nofile;
	unsigned limit = 1000;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
		getrlimit(RLIMIT_NOFILE, &nofile);
		limit = nofile.rlim_cur > 100 ? (unsigned)(nofile.rlim_cur > 100000 ? 100000
							    : nofile.rlim_cur - 64) : 32;
	}
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
		(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, answer, &s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "dbshift: cannot listen on %s: %s\n", addr, strerror(errno));
		fprintf(stderr, "hint: is the port taken? give another with --listen ADDR:PORT\n");
		free(s.token);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN] = "";
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	printf("serving %s on http://%s%s%s:%u/%s\n", dbs_database_display(ctx),
	       ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
	       info ? (unsigned)info->port : 0, s.token ? " (a token is required)" : "");
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	if (s.token)
		explicit_bzero(s.token, strlen(s.token));
	free(s.token);
	return 0;
}
