/*
 * The [fault NAME] sections of a scenario bound to providers: which
 * provider can take which action (checked by `durabench check` with
 * file:line), which providers must go through the delay proxy, and, per run,
 * the plan the driver executes, whose actions land on the provider's proxy
 * and url = auto server (core/services).
 */
#ifndef DURA_RUN_FAULTS_H
#define DURA_RUN_FAULTS_H

#include <stddef.h>
#include <stdio.h>

#include <durabench/provider.h>

#include "driver/run_monitor.h"
#include "scenario/scenario.h"

#include "services/local_server.h"

struct dura_proxy;

/* What a provider offers to faults, from its plugin and its options (the
 * values actually used, command-line overrides included). */
struct dura_fault_caps {
	int networked;    /* has an address option: a proxy can sit in front */
	int auto_server;  /* url = auto: a server we started, that we can stop,
	                     restart and pause */
	int server_kills; /* ... and whose connections it can end itself
	                     (else kill-connections needs the delay proxy) */
	int emulating;    /* emulate_* given: it goes through the proxy anyway */
	unsigned worker_processes; /* local worker processes of its runs
	                     (kill-worker); 0: in-process, or external workers */
};
/* Fills *out; worker_processes is the caller's to set. */
void dura_fault_caps_of(const struct dura_provider_ops *ops, const struct dura_option *opts,
                        size_t n_opts, struct dura_fault_caps *out);

/* 1 if fault f applies to provider `name` with caps c: listed (or no list
 * and c can take the action). */
int dura_fault_applies(const struct dura_fault_def *f, const char *name,
                       const struct dura_fault_caps *c);

/* Checks every fault against the providers (names[i] with caps[i]):
 * a provider listed in `providers` that cannot take the action, or a fault
 * no provider can take, is an error "FILE:LINE: ..." at the section.
 * Returns 0, or -1 with err filled. */
int dura_faults_check_providers(const struct dura_scenario *sc, const char *const *names,
                                const struct dura_fault_caps *caps, size_t n, char *err,
                                size_t errlen);

/* 1 if some fault covering provider `name` needs the delay proxy in front of
 * it and nothing else puts one there (the caller then routes it through one
 * with 0 ms added). */
int dura_faults_need_proxy(const struct dura_scenario *sc, const char *name,
                           const struct dura_fault_caps *c);

/* The faults of one run of provider `name`, bound to its server and proxy
 * (either may be NULL).  Owns its steps; free with dura_run_faults_free. */
struct dura_run_faults {
	struct dura_fault_plan plan;
	struct dura_fault_step *steps;
	const struct dura_fault_def **defs;
	struct dura_local_server server;
	struct dura_proxy *proxy;
};
void dura_run_faults_init(struct dura_run_faults *rf, const struct dura_scenario *sc,
                          const char *name, const struct dura_fault_caps *c,
                          struct dura_local_server server, struct dura_proxy *proxy);
void dura_run_faults_free(struct dura_run_faults *rf);

#endif
