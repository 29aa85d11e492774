/* headertest.c - <dbshift/dbshift.h> compiles alone, first, under -pedantic. */
#include <dbshift/dbshift.h>

int main(void)
{
	return dbs_version_cmp("1", "1");
}
