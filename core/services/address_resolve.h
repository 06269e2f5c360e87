/*
 * Core services a provider's options can ask for, resolved before open():
 *   - url = auto (on an option flagged DURA_OPT_URL): the throwaway local
 *     server the plugin names in ops->local_server (local_server.h),
 *     started once per process and shared by every option asking for it;
 *   - emulate_rtt / emulate_jitter / emulate_bandwidth: a delay proxy in
 *     front of the option's endpoint, whose host and port replace the
 *     original ones in the value the plugin receives;
 *   - password masking for every printed form of the address.
 * The env owns every server and proxy it started and stops them in
 * dura_env_free.
 */
#ifndef DURA_ADDRESS_RESOLVE_H
#define DURA_ADDRESS_RESOLVE_H

#include <stddef.h>

#include "local_server.h"

#include <durabench/provider.h>

/* Keys the core consumes itself in a [provider] section / --option list. */
extern const char *const dura_core_option_keys[];
/* 1 if key is one of dura_core_option_keys. */
int dura_is_core_option(const char *key);

struct dura_env;
struct dura_proxy;
struct dura_env *dura_env_new(void);
void dura_env_free(struct dura_env *env);

struct dura_prepared {
	struct dura_option *options;  /* what to pass to open() */
	size_t n_options;
	char *display_url;     /* masked address actually used, or NULL */
	char *target_display;  /* masked original address when proxied, or NULL */
	int networked;         /* has a DURA_OPT_URL option */
	int proxied;           /* routed through the delay proxy */
	unsigned long long emulate_rtt_us;
	unsigned long long emulate_jitter_us;
	unsigned long long emulate_bandwidth_bps;
	/* What faults act on (owned by the env, NULL when absent): */
	struct dura_local_server local; /* the url = auto server behind it */
	struct dura_proxy *proxy;       /* the delay proxy in front of it */
};

/* Checks option keys against the plugin's declared options and the core's
 * keys (unknown key: -1 with "unknown option 'x' for plugin 'p' (accepted:
 * ...)"), applies the services above and fills out.  Free with
 * dura_prepared_free.  env == NULL only checks: keys and values are
 * validated, nothing is started and the address is passed through.  On
 * error, *bad_option (when not NULL) is the index in options of the option
 * the error is about, or n_options when it is about none (the caller maps
 * the index to a file:line). */
int dura_env_prepare(struct dura_env *env, const struct dura_provider_ops *ops,
                     const struct dura_option *options, size_t n_options,
                     struct dura_prepared *out, size_t *bad_option, char *err,
                     size_t errlen);
void dura_prepared_free(struct dura_prepared *p);

#endif
