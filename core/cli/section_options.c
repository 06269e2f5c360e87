/*
 * A [provider] section's options with --database-url applied (see
 * section_options.h).
 */
#include "config.h"

#include "section_options.h"

#include <string.h>

#include "base/util.h"

const char *dura_url_option(const struct dura_provider_ops *ops)
{
	const char *key = NULL;
	for (const struct dura_option_spec *sp = ops->options; sp && sp->name; sp++)
		if (sp->flags & DURA_OPT_URL)
			key = sp->name;
	return key;
}

struct dura_option *dura_section_options(const struct dura_provider_def *def,
                                         const struct dura_provider_ops *ops,
                                         const char *database_url, size_t *n)
{
	struct dura_option *opts = dura_xcalloc(def->n_options + 1, sizeof *opts);
	const char *url_key = dura_url_option(ops);
	size_t k = 0;
	int replaced = 0;
	for (size_t i = 0; i < def->n_options; i++) {
		opts[k] = def->options[i];
		if (database_url && url_key && strcmp(opts[k].key, url_key) == 0) {
			opts[k].value = database_url;
			replaced = 1;
		}
		k++;
	}
	if (database_url && url_key && !replaced) {
		opts[k].key = url_key;
		opts[k].value = database_url;
		k++;
	}
	*n = k;
	return opts;
}
