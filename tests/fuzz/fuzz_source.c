/* fuzz_source.c - the migration-file parser: any bytes give a migration or
 * an input error, never a crash, a hang or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	char *text = xstrndup((const char *)data, size);
	dbs_error err = { 0 };
	if (check_text("f.sql", (const char *)data, size, &err) == 0) {
		for (int goose = 0; goose < 2; goose++) {
			migration m;
			memset(&m, 0, sizeof(m));
			m.app = xstrdup("");
			m.version = xstrdup("1");
			m.name = xstrdup("f");
			if (source_parse_text(&m, "f.sql", text, goose, &err) == 0 && !m.up.sql)
				abort();  /* success means an up section */
			migration_release(&m);
			dbs_error_clear(&err);
		}
	}
	dbs_error_clear(&err);
	free(text);
	return 0;
}
