/*
 * version.c - migration versions compare as numbers, never as strings:
 * "9" < "10", "20240101120000" < "20240101120001", and Flyway's dotted
 * versions part by part ("1.2" < "1.10", "1.0" == "1").  Numbers of any
 * length compare exactly (no integer overflow): leading zeros are dropped,
 * then the longer number is the larger.
 */
#include <string.h>

#include "source/source.h"

static int is_sep(char c)
{
	return c == '.' || c == '_';
}

/* Compare one numeric part [a, a+na) with [b, b+nb). */
static int part_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	while (na > 0 && *a == '0') {
		a++;
		na--;
	}
	while (nb > 0 && *b == '0') {
		b++;
		nb--;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	int c = memcmp(a, b, na);
	return c < 0 ? -1 : c > 0;
}

int dbs_version_cmp(const char *a, const char *b)
{
	for (;;) {
		size_t na = strcspn(a, "._"), nb = strcspn(b, "._");
		int c = part_cmp(a, na, b, nb);
		if (c)
			return c;
		a += na;
		b += nb;
		if (is_sep(*a))
			a++;
		if (is_sep(*b))
			b++;
		if (!*a && !*b)
			return 0;
	}
}
