/* fuzz_config.c - dbshift.conf: any bytes give options or an input error
 * naming the file, never a crash, a cut line or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/dbshift-fuzz-conf.%ld", (long)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	unsetenv("DATABASE_URL");
	unsetenv("DBSHIFT_ENV");
	for (int e = 0; e < 2; e++) {
		dbs_options o;
		dbs_error err = { 0 };
		int rc = dbs_options_load(&o, path, e ? "prod" : NULL, &err);
		if (rc == 0)
			dbs_options_release(&o);
		else if (rc != DBS_EINPUT || !err.message)
			abort();  /* an error is an input error, with a message */
		dbs_error_clear(&err);
	}
	return 0;
}
