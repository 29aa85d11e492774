/*
 * notify_on.c - the words of notify_url and notify_on: checked when the
 * config is read, matched when a notification is about to go (notify.c).
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctx/ctx.h"

static const char *const events[] = { "start", "success", "failure" };
static const char *const commands[] = {
	"release", "migrate", "rollback", "redo", "data", "backup", "restore", "repair",
	"baseline", "fleet",
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int word_in(const char *w, size_t n, const char *const *list, size_t nlist)
{
	for (size_t i = 0; i < nlist; i++)
		if (strlen(list[i]) == n && !strncmp(w, list[i], n))
			return 1;
	return 0;
}

int notify_on_check(const char *value)
{
	size_t n;
	for (const char *p = value; (n = list_word(&p)); p += n)
		if (!word_in(p, n, events, NEVENTS) && !word_in(p, n, commands, NCOMMANDS))
			return -1;
	return 0;
}

/* An http(s) URL that libcurl reads; *origin (when asked) is its
 * scheme://host[:port], with nothing that could be a secret. */
int url_origin(const char *url, char **origin)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = !u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		 curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		 (strcmp(scheme, "http") && strcmp(scheme, "https")) ? -1 : 0;
	if (!rc && origin) {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		*origin = xprintf("%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int notify_urls_check(const char *value)
{
	size_t n;
	int any = 0;
	for (const char *p = value; (n = list_word(&p)); p += n) {
		char *one = xstrndup(p, n);
		int bad = url_origin(one, NULL);
		free(one);
		if (bad)
			return -1;
		any = 1;
	}
	return any ? 0 : -1;
}

/* Does notify_on select this event of this command?  Each kind of word
 * that is named narrows; a kind that is not named selects all. */
int notify_selected(const char *on, const char *event, const char *command)
{
	int ev_named = 0, ev_hit = 0, cmd_named = 0, cmd_hit = 0;
	size_t n, clen = strcspn(command, " ");
	for (const char *p = on ? on : ""; (n = list_word(&p)); p += n) {
		if (word_in(p, n, events, NEVENTS)) {
			ev_named = 1;
			ev_hit |= strlen(event) == n && !strncmp(p, event, n);
		} else {
			cmd_named = 1;
			cmd_hit |= clen == n && !strncmp(p, command, n);
		}
	}
	return (!ev_named || ev_hit) && (!cmd_named || cmd_hit);
}
