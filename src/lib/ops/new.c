/*
 * new.c - a new migration, written the way the directory's newest one is:
 * dbmate's <version>_<name>.sql (also the default), goose's (the same
 * name, goose's markers), sqlx's (the same name, no markers),
 * golang-migrate's or popx's pair of .up.sql and .down.sql, Flyway's
 * V<n>__<name>.sql with its U file, a Diesel directory, or a Prisma one
 * (<time>_<name>/migration.sql).  Versions are the time (UTC), as those tools make them,
 * except where the directory counts (1, 2, 3 or 000001, 000002: Flyway,
 * golang-migrate -seq): then the next number.  A directory whose time
 * versions are longer (popx: 20 digits, the time and six more) gets the
 * time padded with zeros to that width.  Never over another migration's
 * version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"

/* How the directory writes its migrations: the format of its newest
 * top-level one, and when its versions count, the next number. */
typedef struct layout {
	const char *format;
	int counted;
	char next[32];
	int diesel_dashes;  /* Diesel's 2019-04-12-101530 rather than digits only */
	int time_digits;    /* a time version's width: popx's 20 (the time and
			     * six digits), or 14 */
} layout;

static void layout_of(const source *src, layout *l)
{
	const migration *newest = NULL;
	long long max = 0;
	size_t width = 0;
	int all_counted = 1;
	for (size_t i = 0; i < src->n; i++) {
		const migration *m = &src->m[i];
		if (*m->app)
			continue;
		newest = m;  /* the source is in version order */
		size_t d = strspn(m->version, "0123456789");
		long long v = strtoll(m->version, NULL, 10);
		if (d >= 14 || d == 0)
			all_counted = 0;
		if (v > max)
			max = v;
		if (m->version[0] == '0' && d > width)
			width = d;
	}
	*l = (layout){ .format = newest ? newest->format : "dbmate" };
	/* Diesel and Prisma name a new one by the time, whatever came before */
	l->counted = newest && all_counted && strcmp(l->format, "diesel") &&
		     strcmp(l->format, "prisma");
	l->time_digits = 14;
	if (newest && !l->counted) {  /* the time, padded as the newest one is */
		size_t d = strspn(newest->version, "0123456789");
		if (d > 14 && d < 24 && !newest->version[d])
			l->time_digits = (int)d;
	}
	if (l->counted)
		snprintf(l->next, sizeof(l->next), "%0*lld", (int)width, max + 1);
	if (newest && !strcmp(l->format, "diesel")) {
		const char *base = strrchr(newest->path, '/');
		base = base ? base + 1 : newest->path;
		l->diesel_dashes = strlen(base) > 4 && base[4] == '-';
	}
}

static int taken(const source *src, const char *version)
{
	for (size_t i = 0; i < src->n; i++)
		if (!*src->m[i].app && !dbs_version_cmp(src->m[i].version, version))
			return 1;
	return 0;
}

/* Create path (not there before) holding body; 1 when it was there. */
static int create(const char *path, const char *body, dbs_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return 1;
	if (fd < 0)
		return dbs_fail(err, DBS_EINPUT, "cannot create '%s': %s", path, strerror(errno));
	size_t n = strlen(body);
	ssize_t w = write(fd, body, n);
	close(fd);
	if (w != (ssize_t)n)
		return dbs_fail(err, DBS_EFAIL, "cannot write '%s'", path);
	return 0;
}

/* The files of one migration in layout l: the up's path in *path. */
static int write_migration(const layout *l, const char *dir, const char *version,
			   const char *name, char **path, dbs_error *err)
{
	const char *f = l->format;
	char *up = NULL, *down = NULL;
	const char *up_body = "", *down_body = "";
	if (!strcmp(f, "golang-migrate") || !strcmp(f, "popx")) {
		up = xprintf("%s/%s_%s.up.sql", dir, version, name);
		down = xprintf("%s/%s_%s.down.sql", dir, version, name);
	} else if (!strcmp(f, "flyway")) {
		up = xprintf("%s/V%s__%s.sql", dir, version, name);
		down = xprintf("%s/U%s__%s.sql", dir, version, name);
	} else if (!strcmp(f, "diesel") || !strcmp(f, "prisma")) {
		char *sub = xprintf("%s/%s_%s", dir, version, name);
		if (mkdir(sub, 0755) < 0) {
			int e = errno;
			free(sub);
			return e == EEXIST ? 1 : dbs_fail(err, DBS_EINPUT, "cannot create a directory "
							  "in '%s': %s", dir, strerror(e));
		}
		if (!strcmp(f, "prisma")) {  /* as 'prisma migrate dev --create-only' */
			up = xprintf("%s/migration.sql", sub);
			up_body = "-- This is an empty migration.\n";
		} else {
			up = xprintf("%s/up.sql", sub);
			down = xprintf("%s/down.sql", sub);
		}
		free(sub);
	} else {
		up = xprintf("%s/%s_%s.sql", dir, version, name);
		up_body = !strcmp(f, "goose") ? "-- +goose Up\n\n\n-- +goose Down\n\n"
			  : !strcmp(f, "sqlx") ? "-- Add migration script here\n"  /* as sqlx's */
			  : "-- migrate:up\n\n\n-- migrate:down\n\n";
	}
	int rc = create(up, up_body, err);
	if (!rc && down && (rc = create(down, down_body, err)) == 1)
		rc = dbs_fail(err, DBS_EINPUT, "'%s' is there already", down);
	if (!rc)
		*path = up;
	else
		free(up);
	free(down);
	return rc;
}

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
	source src = { 0 };
	dbs_error e2 = { 0 };
	if (source_load(&src, dir, "postgres", &e2))
		memset(&src, 0, sizeof(src));  /* an unreadable directory: dbmate's way */
	dbs_error_clear(&e2);
	layout l;
	layout_of(&src, &l);
	if (!strcmp(l.format, "drizzle")) {
		/* a file Drizzle's journal does not list is one Drizzle never runs */
		source_release(&src);
		dbs_fail(err, DBS_EINPUT, "'%s' holds Drizzle's migrations, which drizzle-kit "
			 "writes with their journal (meta/_journal.json)", dir);
		dbs_error_set_hint(err, "run 'drizzle-kit generate --custom --name %s'", name);
		return DBS_EINPUT;
	}
	int rc = 1;
	time_t t = time(NULL);
	for (int tries = 0; tries < 100 && rc == 1; tries++, t++) {
		char version[32];
		struct tm tm;
		gmtime_r(&t, &tm);
		if (l.counted)
			snprintf(version, sizeof(version), "%s", l.next);
		else
			strftime(version, sizeof(version), l.diesel_dashes ? "%Y-%m-%d-%H%M%S"
				 : "%Y%m%d%H%M%S", &tm);
		size_t w = strlen(version);
		if (!l.counted && !l.diesel_dashes && w < (size_t)l.time_digits) {
			/* popx: the time + 000000 */
			memset(version + w, '0', (size_t)l.time_digits - w);
			version[l.time_digits] = '\0';
		}
		char digits[32];
		size_t k = 0;
		for (const char *p = version; *p; p++)
			if (*p != '-')
				digits[k++] = *p;
		digits[k] = '\0';
		/* another migration may hold this version already: the next second */
		if (!l.counted && taken(&src, digits))
			continue;
		rc = write_migration(&l, dir, version, name, path, err);
		if (rc == 1 && l.counted)
			rc = dbs_fail(err, DBS_EINPUT, "version %s of '%s' is taken", version, dir);
	}
	source_release(&src);
	if (rc == 1)
		rc = dbs_fail(err, DBS_EFAIL, "no free version found for '%s'", name);
	return rc;
}
