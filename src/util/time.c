/*
 * time.c - clocks, sleeping, and durations as people write them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "util/util.h"

void utc_of(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);  /* RFC 3339 */
}

void utc_now(char out[32])
{
	utc_of(time(NULL), out);
}

int rfc3339(const char *s, char out[64])
{
	size_t n = strlen(s);
	if (n < 19 || n > 40 || (s[10] != ' ' && s[10] != 'T'))
		return 0;
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	for (int i = 0; i < 19; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : i != 10 && s[i] != shape[i])
			return 0;
	const char *p = s + 19;
	size_t frac = *p == '.' ? 1 + strspn(p + 1, "0123456789") : 0;
	const char *z = p + frac;
	if (!strcmp(z, "Z") || !strcmp(z, "+00") || !strcmp(z, "+00:00") || !*z)
		snprintf(out, 64, "%.10sT%.8s%.*sZ", s, s + 11, (int)frac, p);
	else if ((*z == '+' || *z == '-') && strlen(z) == 3 && isdigit((unsigned char)z[1]) &&
		 isdigit((unsigned char)z[2]))
		snprintf(out, 64, "%.10sT%.8s%.*s%s:00", s, s + 11, (int)frac, p, z);
	else if ((*z == '+' || *z == '-') && strlen(z) == 6 && z[3] == ':')
		snprintf(out, 64, "%.10sT%.8s%.*s%s", s, s + 11, (int)frac, p, z);
	else
		return 0;
	return 1;
}

char *rfc3339_dup(const char *s)
{
	char out[64];
	return !s ? NULL : xstrdup(rfc3339(s, out) ? out : s);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Milliseconds of a duration written the one way dbshift writes them
 * everywhere: digits with an optional fraction and a unit (ms, s, min, h,
 * d), or bare digits meaning seconds.  No signs, exponents, "inf" or
 * "nan"; nothing above INT_MAX ms.
 */
int parse_duration_ms(const char *s, int *out)
{
	return parse_duration_unit(s, 1000, out);
}

int parse_duration_unit(const char *s, int bare_ms, int *out)
{
	const char *p = s;
	while (*p == ' ')
		p++;
	size_t whole = strspn(p, "0123456789");
	if (whole == 0)
		return -1;
	const char *end = p + whole;
	if (*end == '.') {
		size_t frac = strspn(end + 1, "0123456789");
		if (frac == 0)
			return -1;
		end += 1 + frac;
	}
	double v = strtod(p, NULL);  /* only digits and one '.' were accepted */
	while (*end == ' ')
		end++;
	double mult;
	if (!*end)
		mult = bare_ms;
	else if (!strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "min"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!strcmp(end, "d"))
		mult = 86400000;
	else
		return -1;
	double ms = v * mult;
	if (!isfinite(ms) || ms > 2147483647.0)
		return -1;
	*out = (int)ms;
	return 0;
}

int dbs_parse_duration(const char *s, int *ms)
{
	return parse_duration_ms(s, ms);
}

int dbs_parse_duration_in(const char *s, int bare_ms, int *ms)
{
	return parse_duration_unit(s, bare_ms, ms);
}

int dbs_parse_age(const char *s, int64_t *secs)
{
	return parse_age_s(s, secs);
}

int parse_schedule(const char *s, int **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	while (*s == ' ')
		s++;
	if (!strcmp(s, "none"))
		return 0;
	char *copy = xstrdup(s);
	int rc = 0;
	for (char *p = copy, *save = NULL, *tok; (tok = strtok_r(p, ",", &save)); p = NULL) {
		while (*tok == ' ')
			tok++;
		size_t len = strlen(tok);
		while (len > 0 && tok[len - 1] == ' ')
			tok[--len] = '\0';
		int ms;
		if (parse_duration_ms(tok, &ms)) {
			rc = -1;
			break;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(int));
		(*out)[(*n)++] = ms;
	}
	free(copy);
	if (rc || *n == 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/*
 * Seconds of an age: digits and a unit (s, min, h, d, w), or bare digits
 * meaning seconds; ages go beyond what durations in ms hold (backups kept
 * for months).  -1 if it is not one.
 */
int parse_age_s(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 12)
		return -1;
	int64_t v = strtoll(s, NULL, 10), mult;
	const char *u = s + n;
	if (!*u || !strcmp(u, "s"))
		mult = 1;
	else if (!strcmp(u, "min"))
		mult = 60;
	else if (!strcmp(u, "h"))
		mult = 3600;
	else if (!strcmp(u, "d"))
		mult = 86400;
	else if (!strcmp(u, "w"))
		mult = 7 * 86400;
	else
		return -1;
	*out = v * mult;
	return 0;
}

/* Bytes of a size: digits and a unit (B, KiB, MiB, GiB, KB, MB, GB), or
 * bare digits meaning bytes; -1 if it is not one. */
int parse_size(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 15)
		return -1;
	static const struct { const char *unit; int64_t mult; } units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1 << 10 }, { "MiB", 1 << 20 }, { "GiB", 1 << 30 },
		{ "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(s + n, units[i].unit)) {
			int64_t v = strtoll(s, NULL, 10);
			if (v > INT64_MAX / units[i].mult)
				return -1;  /* beyond what 64 bits hold */
			*out = v * units[i].mult;
			return 0;
		}
	return -1;
}
