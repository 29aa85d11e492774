/* cmd_settings.c - dbshift settings: the keys of dbshift.conf, from the
 * library's one table of them. */
#include <stdlib.h>

#include "cli.h"

int cmd_settings(cli *g, dbs_ctx *ctx)
{
	(void)ctx;
	const char *key, *def, *help;
	if (g->json) {
		json_t *list = json_array();
		for (size_t i = 0; dbs_setting_info(i, &key, &def, &help); i++)
			json_array_append_new(list, json_pack("{s:s, s:s?, s:s}", "key", key,
							      "default", def, "help", help));
		json_t *root = json_pack("{s:s, s:o}", "command", "settings", "settings", list);
		char *doc = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_emit(g, doc);
		free(doc);
		json_decref(root);
		return 0;
	}
	printf("[dbshift] and [env \"NAME\"] in dbshift.conf take these keys:\n\n");
	for (size_t i = 0; dbs_setting_info(i, &key, &def, &help); i++)
		printf("  %-18s %-18s %s\n", key, def ? def : "-", help);
	return 0;
}
