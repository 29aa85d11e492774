/* fuzz_lint.c - the PostgreSQL analysis of one migration file: any text
 * gives findings or an input error, never a crash, a stack overflow or a
 * leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	char *text = xstrndup((const char *)data, size);
	migration m;
	memset(&m, 0, sizeof(m));
	m.app = xstrdup("");
	m.version = xstrdup("1");
	m.name = xstrdup("f");
	m.path = xstrdup("1_f.sql");
	m.format = "dbmate";
	m.up.file = xstrdup("1_f.sql");
	m.up.sql = text;
	m.up.line = 1;
	dbs_error err = { 0 };
	if (check_text("1_f.sql", (const char *)data, size, &err) == 0) {
		const migration *ms[] = { &m };
		dbs_lint *l = NULL;
		if (lint_run(&l, &lint_postgres, NULL, NULL, 0, ms, NULL, 1, &err) == 0) {
			char *out = dbs_lint_render(l, "json");
			free(out);
			dbs_lint_free(l);
		}
	}
	dbs_error_clear(&err);
	migration_release(&m);
	return 0;
}
