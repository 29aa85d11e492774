/*
 * fuzz_url.c - URL redaction checked against libpq's own reading: for any
 * string libpq accepts, the shown URL parses back to the same options with
 * no password, and overwriting the secret spans found in the text (as
 * dbshift does to its argv) leaves libpq no password to read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "driver/driver.h"

static const char *password_of(PQconninfoOption *o)
{
	for (; o && o->keyword; o++)
		if (!strcmp(o->keyword, "password"))
			return o->val;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *url = xstrndup((const char *)data, size);
	if (strlen(url) != size) {
		free(url);
		return 0;
	}
	char *shown = dbs_redact_url(url);
	char *scrubbed = url_scrub(url, url);
	PQconninfoOption *opts = url_is_postgres(url) ? PQconninfoParse(url, NULL) : NULL;
	const char *pw = password_of(opts);
	if (opts) {
		/* the shown URL is what libpq read, minus the secrets: it parses
		 * back to the same options and no password */
		PQconninfoOption *back = PQconninfoParse(shown, NULL);
		if (!back)
			abort();
		for (PQconninfoOption *a = opts, *b = back; a->keyword; a++, b++) {
			int secret = !strcmp(a->keyword, "password") || !strcmp(a->keyword, "sslpassword");
			const char *va = a->val && *a->val ? a->val : NULL;
			const char *vb = b->val && *b->val ? b->val : NULL;
			if (secret ? vb != NULL : (!va != !vb || (va && strcmp(va, vb))))
				abort();
		}
		PQconninfoFree(back);
	}
	/* (a password of x's is what the overwriting writes: nothing to tell) */
	if (pw && *pw && strspn(pw, "x") != strlen(pw)) {
		/* overwrite the spans, as take_url_arg does to argv */
		char *masked = xstrdup(url);
		size_t pos = 0, off, len;
		while (dbs_url_password(masked, pos, &off, &len)) {
			memset(masked + off, 'x', len);
			pos = off + len;
		}
		PQconninfoOption *again = PQconninfoParse(masked, NULL);
		const char *pw2 = password_of(again);
		if (pw2 && !strcmp(pw2, pw))
			abort();  /* a password libpq reads was not found */
		PQconninfoFree(again);
		free(masked);
	}
	PQconninfoFree(opts);
	free(scrubbed);
	free(shown);
	free(url);
	return 0;
}
