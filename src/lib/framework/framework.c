/*
 * framework.c - the framework adapters there are.
 */
#include <string.h>

#include "framework/framework.h"

extern const framework_ops framework_django;

static const framework_ops *const adapters[] = { &framework_django };

const framework_ops *framework_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (!strcmp(adapters[i]->name, name))
			return adapters[i];
	return NULL;
}
