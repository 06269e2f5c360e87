/*
 * A failure the completion feed reports (scale-out runs) carries only the
 * status FAILED: the worker process that failed the instance knew its
 * category (app, config, infra) and stored it, with the failure text, in
 * the instance's terminal history event.  The driver reads both back from
 * the store, so a failure keeps its category whichever process ran it.
 */
#ifndef DURA_FEED_FAILURE_H
#define DURA_FEED_FAILURE_H

#include <stddef.h>

#include <durabench/provider.h>

#include "engine/orchestration.h"

/* The category of failed instance `instance` (DURA_OUTCOME_FAILED_*) and
 * its stored failure text (NUL-terminated, cut to textlen).  A store that
 * cannot be read after a few tries gives DURA_OUTCOME_FAILED_INFRA and a
 * text saying so: the category is then unknown, and an unreadable store is
 * an infrastructure problem. */
enum dura_outcome dura_feed_failure(const struct dura_provider_ops *ops, dura_store *store,
                                    const char *instance, char *text, size_t textlen);

#endif
