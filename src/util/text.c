/*
 * text.c - small helpers for text and SQL text: prefixes, digits,
 * line/column of an offset, blanks and comments.
 */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

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

int is_host_port(const char *s, size_t n, int allow_zero)
{
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon || colon == s)
		return 0;
	size_t pn = n - (size_t)(colon + 1 - s);
	if (!pn || pn > 5 || !is_digits(colon + 1, pn))
		return 0;
	long port = 0;
	for (size_t i = 0; i < pn; i++)
		port = port * 10 + (colon[1 + i] - '0');
	return port <= 65535 && (port > 0 || allow_zero);
}

size_t text_advance(const char *text, size_t from, size_t to, int *line, int *col)
{
	size_t i = from;
	for (; i < to && text[i]; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			++*col;  /* count characters, not UTF-8 continuation bytes */
		}
	}
	return i;
}

void text_position(const char *text, size_t off, int *line, int *col)
{
	*line = *col = 1;
	text_advance(text, 0, off, line, col);
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

int split_words(const char *s, char ***out, size_t *n)
{
	char **w = xcalloc(1, sizeof(char *));
	size_t k = 0;
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		strbuf sb;
		strbuf_init(&sb);
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'' || *s == '"') {
				const char *end = strchr(s + 1, *s);
				if (!end) {
					strbuf_release(&sb);
					free_words(w);
					return -1;
				}
				strbuf_add(&sb, s + 1, (size_t)(end - s - 1));
				s = end + 1;
			} else {
				strbuf_add(&sb, s++, 1);
			}
		}
		w = xrealloc(w, (k + 2) * sizeof(char *));
		w[k++] = strbuf_detach(&sb);
		w[k] = NULL;
	}
	*out = w;
	if (n)
		*n = k;
	return 0;
}

void free_words(char **w)
{
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

size_t list_word(const char **p)
{
	*p += strspn(*p, " \t,");
	return strcspn(*p, " \t,");
}

int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}
