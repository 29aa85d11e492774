/*
 * fs.c - whole files read safely, text checked for NUL and bad UTF-8,
 * and who this process runs as.
 */
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

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
	/* read(2) straight into the buffer, sized by fstat (it may still grow) */
	strbuf sb;
	strbuf_init(&sb);
	sb.alloc = (size_t)st.st_size + 2;  /* the file, its NUL, one byte to see EOF */
	sb.buf = xrealloc(sb.buf, sb.alloc);
	int big = 0, bad = 0;
	for (;;) {
		if (sb.alloc - sb.len < 2) {
			sb.alloc += 8192;
			sb.buf = xrealloc(sb.buf, sb.alloc);
		}
		ssize_t n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bad = n < 0;
			break;
		}
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
		if ((big = sb.len > READ_FILE_MAX))
			break;  /* it grew while we read */
	}
	bad |= big;
	if (big)
		errno = EFBIG;
	int saved = errno;
	close(fd);
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

static char who[320];

static void find_who(void)
{
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	const char *user = getenv("USER");
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		user = pw->pw_name;
	snprintf(who, sizeof(who), "%s@%s", user ? user : "unknown", host);
}

const char *whoami(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, find_who);
	return who;
}

void make_parents(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, mode);
			*s = '/';
		}
	free(p);
}

int make_dirs(const char *path, mode_t mode)
{
	make_parents(path, mode);
	return mkdir(path, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
