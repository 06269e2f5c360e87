/*
 * The run command's scale-out settings (docs/scale-out.md): which runs use
 * worker processes, and how the driver starts them.
 */
#ifndef DURA_RUN_SCALEOUT_H
#define DURA_RUN_SCALEOUT_H

#include <stddef.h>
#include <stdint.h>

#include "driver/driver_processes.h"
#include "scenario/scenario.h"
#include "services/address_resolve.h"

/* --processes N (NULL: none) replaces [run] processes and every
 * [provider] processes; --external-workers needs exactly one run (one
 * provider, one config, repeat 1) and starts no local worker.  Returns 0,
 * or -1 after printing the error. */
int dura_scaleout_overrides(const char *processes, int external, const char *join_wait,
                            struct dura_scenario *sc, size_t n_selected,
                            uint64_t *join_wait_ms);

/* The worker processes of provider def's runs: its processes key, else
 * [run] processes. */
unsigned dura_scaleout_processes(const struct dura_scenario *sc,
                                 const struct dura_provider_def *def);

/* Fills *sp for a run of def (prepared: its resolved options) when it is a
 * scale-out run and returns 1; 0 for an in-process run.  *options_text
 * (caller frees) holds the options handed to local workers.  -1 with err
 * when an option cannot be handed over. */
int dura_scaleout_plan(const struct dura_scenario *sc, const struct dura_provider_def *def,
                       const struct dura_prepared *prepared, const char *plugin_dir,
                       int external, uint64_t join_wait_ms, struct dura_scaleout_params *sp,
                       char **options_text, char *err, size_t errlen);

/* Before any run: a provider whose runs use worker processes must offer
 * the scale-out operations and a store that can be shared (checked on the
 * probe store).  0, or -1 with err. */
int dura_scaleout_probe(const struct dura_provider_ops *ops, dura_store *store,
                        const struct dura_scenario *sc, const struct dura_provider_def *def,
                        int external, char *err, size_t errlen);

#endif
