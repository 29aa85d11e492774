/*
 * new.c - a new migration file, named by the time (UTC) and never over
 * another file's version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"

int dbs_new_migration(const char *dir, const char *name, char **path, dbs_error *err)
{
	size_t n = strlen(name);
	if (n == 0 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "0123456789_-") != n)
		return dbs_fail(err, DBS_EINPUT, "bad migration name '%s': use letters, "
				"digits, '_' and '-'", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return dbs_fail(err, DBS_EINPUT, "cannot create directory '%s': %s", dir,
				strerror(errno));
	time_t t = time(NULL);
	for (int tries = 0; tries < 100; tries++, t++) {
		struct tm tm;
		char stamp[32];
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		/* Another file may hold this version already: take the next second. */
		source src;
		dbs_error e2 = { 0 };
		int taken = 0;
		if (!source_load(&src, dir, "postgres", &e2)) {
			for (size_t i = 0; i < src.n && !taken; i++)
				taken = !dbs_version_cmp(src.m[i].version, stamp);
			source_release(&src);
		}
		dbs_error_clear(&e2);
		if (taken)
			continue;
		char *p = xprintf("%s/%s_%s.sql", dir, stamp, name);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST) {
			free(p);
			continue;
		}
		if (fd < 0) {
			dbs_fail(err, DBS_EINPUT, "cannot create '%s': %s", p, strerror(errno));
			free(p);
			return DBS_EINPUT;
		}
		static const char body[] = "-- migrate:up\n\n\n-- migrate:down\n\n";
		ssize_t w = write(fd, body, sizeof(body) - 1);
		close(fd);
		if (w != (ssize_t)sizeof(body) - 1) {
			dbs_fail(err, DBS_EFAIL, "cannot write '%s'", p);
			free(p);
			return DBS_EFAIL;
		}
		*path = p;
		return 0;
	}
	return dbs_fail(err, DBS_EFAIL, "no free version found for '%s'", name);
}
