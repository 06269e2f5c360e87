/*
 * [fault NAME] sections of a scenario file (internal to core/scenario): the
 * loader in scenario.c hands each section and key here.
 */
#ifndef DURA_SCENARIO_FAULTS_H
#define DURA_SCENARIO_FAULTS_H

#include <stddef.h>

#include "scenario.h"

/* Opens [fault NAME] (name already checked for its characters) at line.
 * Returns 0, or -1 with the bare reason in msg. */
int dura_fault_section(struct dura_scenario *sc, const char *name, int line, char *msg,
                       size_t msglen);
/* One key of the last [fault] section. */
int dura_fault_key(struct dura_scenario *sc, int line, const char *key, const char *value,
                   char *msg, size_t msglen);
/* Frees sc->faults. */
void dura_faults_free(struct dura_scenario *sc);

#endif
