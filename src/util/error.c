/*
 * error.c - the error helpers every part of the library reports through.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

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
	char *message = xvprintf(fmt, ap);
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
	char *hint = xvprintf(fmt, ap);
	va_end(ap);
	free(err->hint);
	err->hint = hint;
}

void dbs_error_set_detail(dbs_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = xvprintf(fmt, ap);
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
