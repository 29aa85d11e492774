/*
 * util.c - memory, the string builder, small text helpers, hashing, time,
 * and the error helpers every part of the library reports through.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"

static void oom(void)
{
	fputs("dbshift: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *vxprintf(const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		oom();
	char *p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = vxprintf(fmt, ap);
	va_end(ap);
	return p;
}

void strbuf_init(strbuf *sb)
{
	sb->alloc = 64;
	sb->len = 0;
	sb->buf = xmalloc(sb->alloc);
	sb->buf[0] = '\0';
}

static void strbuf_grow(strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->alloc)
		return;
	while (sb->len + extra + 1 > sb->alloc)
		sb->alloc *= 2;
	sb->buf = xrealloc(sb->buf, sb->alloc);
}

void strbuf_add(strbuf *sb, const char *data, size_t n)
{
	strbuf_grow(sb, n);
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_adds(strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = vxprintf(fmt, ap);
	va_end(ap);
	strbuf_adds(sb, p);
	free(p);
}

char *strbuf_detach(strbuf *sb)
{
	char *p = sb->buf;
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return p;
}

void strbuf_release(strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

int read_file(const char *path, char **out, size_t *len)
{
	/* A FIFO would block the open and /dev/zero never ends: regular files
	 * only, opened without blocking, and never more than READ_FILE_MAX. */
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if (st.st_size > READ_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return -1;
	}
	strbuf sb;
	strbuf_init(&sb);
	char chunk[8192];
	size_t n;
	int big = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && !big) {
		strbuf_add(&sb, chunk, n);
		big = sb.len > READ_FILE_MAX;  /* it grew while we read */
	}
	int bad = ferror(f) || big;
	if (big)
		errno = EFBIG;
	int saved = errno;
	fclose(f);
	if (bad) {
		strbuf_release(&sb);
		errno = saved;
		return -1;
	}
	if (len)
		*len = sb.len;
	*out = strbuf_detach(&sb);
	return 0;
}

const char *read_file_error(int e)
{
	return e == EINVAL ? "not a regular file" : e == EFBIG ? "larger than 64 MB"
		: strerror(e);
}

int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int is_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

void text_position(const char *text, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			c++;  /* count characters, not UTF-8 continuation bytes */
		}
	}
	*line = l;
	*col = c;
}

void sha256_hex(const char *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

void utc_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S+00", &tm);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

const char *whoami(void)
{
	static char buf[320];
	if (buf[0])
		return buf;
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	const char *user = getenv("USER");
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		user = pw->pw_name;
	snprintf(buf, sizeof(buf), "%s@%s", user ? user : "unknown", host);
	return buf;
}

/* ---- errors ---- */

void dbs_error_clear(dbs_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->detail);
	free(err->hint);
	free(err->sqlstate);
	free(err->file);
	free(err->statement);
	memset(err, 0, sizeof(*err));
}

int dbs_fail(dbs_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	/* Format first: an argument may be one of err's own strings. */
	va_list ap;
	va_start(ap, fmt);
	char *message = vxprintf(fmt, ap);
	va_end(ap);
	dbs_error_clear(err);
	err->message = message;
	err->code = code;
	return code;
}

void dbs_error_set_hint(dbs_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *hint = vxprintf(fmt, ap);
	va_end(ap);
	free(err->hint);
	err->hint = hint;
}

void dbs_error_set_detail(dbs_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = vxprintf(fmt, ap);
	va_end(ap);
	free(err->detail);
	err->detail = detail;
}

void dbs_error_set_file(dbs_error *err, const char *file, int line, int col)
{
	char *copy = file ? xstrdup(file) : NULL;
	free(err->file);
	err->file = copy;
	err->line = line;
	err->col = col;
}

void dbs_error_move(dbs_error *dst, dbs_error *src)
{
	dbs_error_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

size_t sql_skip_space(const char *sql, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r') {
			i++;
		} else if (i + 1 < n && sql[i] == '-' && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				i++;
		} else if (i + 1 < n && sql[i] == '/' && sql[i + 1] == '*') {
			i += 2;
			while (i + 1 < n && !(sql[i] == '*' && sql[i + 1] == '/'))
				i++;
			i = i + 2 <= n ? i + 2 : n;
		} else {
			break;
		}
	}
	return i;
}

char *sql_trimmed(const char *sql, size_t n)
{
	size_t start = sql_skip_space(sql, n);
	size_t end = n;
	while (end > start && (sql[end - 1] == ' ' || sql[end - 1] == '\t' ||
			       sql[end - 1] == '\n' || sql[end - 1] == '\r' ||
			       sql[end - 1] == ';'))
		end--;
	return xstrndup(sql + start, end - start);
}

/*
 * Milliseconds of a duration written the one way dbshift writes them
 * everywhere: digits with an optional fraction and a unit (ms, s, min, h,
 * d), or bare digits meaning seconds.  No signs, exponents, "inf" or
 * "nan"; nothing above INT_MAX ms.
 */
int parse_duration_ms(const char *s, int *out)
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
	if (!*end || !strcmp(end, "s"))
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

/* Length of the valid UTF-8 sequence at u[0..n), or 0 (no overlong forms,
 * surrogates or code points above U+10FFFF). */
static size_t utf8_len(const unsigned char *u, size_t n)
{
	unsigned char c = u[0];
	size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		   : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((u[k] & 0xC0) != 0x80)
			return 0;
	if ((len == 2 && c < 0xC2) || (len == 3 && c == 0xE0 && u[1] < 0xA0) ||
	    (len == 3 && c == 0xED && u[1] >= 0xA0) || (len == 4 && c > 0xF4) ||
	    (len == 4 && c == 0xF0 && u[1] < 0x90) || (len == 4 && c == 0xF4 && u[1] >= 0x90))
		return 0;
	return len;
}

int check_text(const char *path, const char *text, size_t len, dbs_error *err)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t i = 0, n = 0;
	while (i < len && u[i] && (n = utf8_len(u + i, len - i)))
		i += n;
	if (i >= len)
		return 0;
	int nul = u[i] == 0, line, col;
	text_position(text, i, &line, &col);
	dbs_fail(err, DBS_EINPUT, "the file contains %s (byte %zu)",
		 nul ? "a NUL byte" : "invalid UTF-8", i + 1);
	dbs_error_set_file(err, path, line, col);
	dbs_error_set_hint(err, "%s", nul
		? "a migration is text: remove the NUL byte (nothing after it would run)"
		: "save the file as UTF-8");
	return DBS_EINPUT;
}
