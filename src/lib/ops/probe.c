/*
 * probe.c - is a service up?  A TCP connection to host:port, or an HTTP
 * request answered 2xx: doctor's check_tcp and check_http, and the
 * release's health step, which repeats them until a deadline.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ops/ops.h"

char *probe_tcp(const char *hostport, int timeout_ms)
{
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1])
		return xstrdup("not host:port");
	char *host = xstrndup(hostport, (size_t)(colon - hostport));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int g = getaddrinfo(host, colon + 1, &hints, &res);
	free(host);
	if (g)
		return xstrdup(gai_strerror(g));
	char *why = NULL;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS)) {
		why = xstrdup(strerror(errno));
	} else {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t len = sizeof(err);
		if (poll(&p, 1, timeout_ms) != 1)
			why = xstrdup("timed out");
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
			why = xstrdup(strerror(err ? err : errno));
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return why;
}

static size_t discard(char *p, size_t size, size_t n, void *data)
{
	(void)p;
	(void)data;
	return size * n;
}

char *probe_http(const char *url, int timeout_ms)
{
	CURL *h = curl_easy_init();
	if (!h)
		return xstrdup("cannot start libcurl");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return xstrdup(curl_easy_strerror(cc));
	if (code < 200 || code > 299)
		return xprintf("answered HTTP %ld", code);
	return NULL;
}
