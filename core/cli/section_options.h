/*
 * The options of a [provider] section as a command hands them to the
 * address resolver: the file's, with --database-url in place of the
 * plugin's address option.  Shared by `run` and `worker`.
 */
#ifndef DURA_SECTION_OPTIONS_H
#define DURA_SECTION_OPTIONS_H

#include <stddef.h>

#include <durabench/provider.h>

#include "scenario/scenario.h"

/* The name of the plugin's address option (DURA_OPT_URL), or NULL. */
const char *dura_url_option(const struct dura_provider_ops *ops);

/* def's options, database_url (may be NULL) replacing or adding the
 * address option.  A new array whose strings are borrowed (caller frees
 * the array only). */
struct dura_option *dura_section_options(const struct dura_provider_def *def,
                                         const struct dura_provider_ops *ops,
                                         const char *database_url, size_t *n);

#endif
