/* Resolving core-provided services in provider options: url = auto (the
 * plugin's local-server recipe), the remote-emulation proxy, password
 * masking. */
#include "config.h"

#include "address_resolve.h"
#include "address_rewrite.h"
#include "local_server.h"
#include "proxy.h"
#include "base/mask.h"
#include "base/units.h"
#include "base/url.h"
#include "base/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const dura_core_option_keys[] = {
	"plugin", "emulate_rtt", "emulate_jitter", "emulate_bandwidth", NULL,
};

int dura_is_core_option(const char *key)
{
	for (size_t i = 0; dura_core_option_keys[i]; i++)
		if (strcmp(key, dura_core_option_keys[i]) == 0)
			return 1;
	return 0;
}

/* A local server started for url = auto, shared by every option that asks
 * for the same recipe. */
struct local {
	const struct dura_local_recipe *recipe;
	void *server;   /* owned; NULL when it could not start */
	char *error;    /* why it could not start (owned): a second url = auto
	                   of the same recipe fails at once */
};

struct dura_env {
	pthread_mutex_t lock;            /* validate may prepare from threads */
	struct local *locals;            /* one per recipe asked for */
	size_t n_locals;
	struct dura_proxy **proxies;
	size_t n_proxies;
};

struct dura_env *dura_env_new(void)
{
	struct dura_env *env = dura_xcalloc(1, sizeof *env);
	pthread_mutex_init(&env->lock, NULL);
	return env;
}

void dura_env_free(struct dura_env *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < env->n_proxies; i++)
		dura_proxy_stop(env->proxies[i]);
	free(env->proxies);
	for (size_t i = 0; i < env->n_locals; i++) {
		env->locals[i].recipe->stop(env->locals[i].server);
		free(env->locals[i].error);
	}
	free(env->locals);
	pthread_mutex_destroy(&env->lock);
	free(env);
}

static const struct dura_option_spec *find_spec(const struct dura_provider_ops *ops,
                                                const char *key)
{
	for (const struct dura_option_spec *s = ops->options; s && s->name; s++)
		if (strcmp(s->name, key) == 0)
			return s;
	return NULL;
}

static void list_accepted(const struct dura_provider_ops *ops, struct dura_buf *b)
{
	for (const struct dura_option_spec *s = ops->options; s && s->name; s++)
		dura_buf_printf(b, "%s%s", b->len ? ", " : "", s->name);
	for (size_t i = 1; dura_core_option_keys[i]; i++) /* "plugin" is implied */
		dura_buf_printf(b, "%s%s", b->len ? ", " : "", dura_core_option_keys[i]);
	dura_buf_append(b, "", 1);
}

static void add_option(struct dura_prepared *p, const char *key, const char *value)
{
	p->options = dura_xrealloc(p->options, (p->n_options + 1) * sizeof *p->options);
	p->options[p->n_options].key = dura_xstrdup(key);
	p->options[p->n_options].value = dura_xstrdup(value);
	p->n_options++;
}

/* The recipe "auto" means for this plugin, or NULL with the reason. */
static const struct dura_local_recipe *auto_recipe(const struct dura_provider_ops *ops,
                                                   const char *key, char *err, size_t errlen)
{
	const char *name = dura_plugin_local_server(ops);
	if (!name) {
		dura_errbuf(err, errlen,
		            "'%s = auto': plugin '%s' declares no local server to start (give an address)",
		            key, ops->name);
		return NULL;
	}
	const struct dura_local_recipe *r = dura_local_recipe_find(name);
	if (!r) {
		char known[256];
		dura_local_recipe_names(known, sizeof known);
		dura_errbuf(err, errlen,
		            "'%s = auto': plugin '%s' asks for a local '%s' server, which this durabench cannot start (it can start: %s)",
		            key, ops->name, name, known);
	}
	return r;
}

/* The address of recipe r's server, started on first use.  NULL with the
 * reason in err. */
static const char *local_address_locked(struct dura_env *env, const struct dura_local_recipe *r,
                                        char *err, size_t errlen)
{
	struct local *l = NULL;
	for (size_t i = 0; i < env->n_locals; i++)
		if (env->locals[i].recipe == r)
			l = &env->locals[i];
	if (!l) {
		env->locals = dura_xrealloc(env->locals, (env->n_locals + 1) * sizeof *env->locals);
		l = &env->locals[env->n_locals++];
		memset(l, 0, sizeof *l);
		l->recipe = r;
		char why[1024];
		if (r->start(&l->server, why, sizeof why) != 0) {
			l->server = NULL;
			l->error = dura_xstrdup(why);
		}
	}
	if (l->server)
		return r->address(l->server);
	dura_errbuf(err, errlen, "url = auto: cannot start a local %s server: %s", r->what,
	            l->error);
	return NULL;
}

/* The server already started for recipe r (NULL if none). */
static void *local_server_locked(const struct dura_env *env, const struct dura_local_recipe *r)
{
	for (size_t i = 0; i < env->n_locals; i++)
		if (env->locals[i].recipe == r)
			return env->locals[i].server;
	return NULL;
}

/* A client the proxy could not connect to its target would otherwise only
 * be seen by the plugin as a closed connection: name the target. */
static void log_proxy_failure(void *arg, const char *message)
{
	fprintf(stderr, "durabench: delay proxy: %s\n", message);
}

/* Puts a proxy in front of *url and replaces *url with the rewritten one. */
static int start_proxy_locked(struct dura_env *env, struct dura_prepared *p, char **url,
                              char *err, size_t errlen)
{
	char host[256], why[512];
	int port;
	if (dura_address_endpoint(*url, host, sizeof host, &port, why, sizeof why) != 0) {
		dura_errbuf(err, errlen, "'emulate_rtt': %s", why);
		return -1;
	}
	struct dura_proxy_config cfg = {
		.listen_host = "127.0.0.1",
		.listen_port = 0,
		.target_host = host,
		.target_port = port,
		.rtt_us = p->emulate_rtt_us,
		.jitter_us = p->emulate_jitter_us,
		.bandwidth_bps = p->emulate_bandwidth_bps,
		.log = log_proxy_failure,
	};
	struct dura_proxy *proxy;
	if (dura_proxy_start(&cfg, &proxy, why, sizeof why) != 0) {
		dura_errbuf(err, errlen, "cannot start the delay proxy: %s", why);
		return -1;
	}
	env->proxies = dura_xrealloc(env->proxies, (env->n_proxies + 1) * sizeof *env->proxies);
	env->proxies[env->n_proxies++] = proxy;
	char *rewritten = dura_address_rewrite(*url, "127.0.0.1", dura_proxy_port(proxy), why,
	                                       sizeof why);
	if (!rewritten) {
		dura_errbuf(err, errlen, "'emulate_rtt': %s", why);
		return -1;
	}
	p->target_display = dura_url_mask(*url);
	p->proxy = proxy;
	free(*url);
	*url = rewritten;
	p->proxied = 1;
	return 0;
}

/* The plugin's own check of its option values (ABI 1.2 check_options),
 * before anything is started: the plugin's keys only, as given.  0, or -1
 * with "option 'KEY': why" (the quoted key lets callers name its line). */
static int check_values(const struct dura_provider_ops *ops, const struct dura_option *options,
                        size_t n_options, size_t *at, char *err, size_t errlen)
{
	dura_check_options_fn *check = DURA_OPT_OP(ops, check_options);
	if (!check)
		return 0;
	struct dura_option *own = dura_xcalloc(n_options + 1, sizeof *own);
	size_t *index = dura_xcalloc(n_options + 1, sizeof *index); /* own -> options */
	size_t n = 0;
	for (size_t i = 0; i < n_options; i++)
		if (!dura_is_core_option(options[i].key)) {
			index[n] = i;
			own[n++] = options[i];
		}
	size_t bad = n;
	struct dura_err perr;
	dura_rc rc = check(own, n, &bad, &perr);
	int ret = 0;
	if (rc != DURA_OK) {
		perr.msg[DURA_ERR_MAX - 1] = '\0';
		if (bad < n) {
			dura_errbuf(err, errlen, "option '%s': %s", own[bad].key, perr.msg);
			*at = index[bad];
		} else {
			dura_errbuf(err, errlen, "options of plugin '%s': %s", ops->name, perr.msg);
		}
		ret = -1;
	}
	free(index);
	free(own);
	return ret;
}

int dura_env_prepare(struct dura_env *env, const struct dura_provider_ops *ops,
                     const struct dura_option *options, size_t n_options,
                     struct dura_prepared *out, size_t *bad_option, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *emulate[3] = { NULL, NULL, NULL }; /* rtt, jitter, bandwidth */
	size_t emulate_at[3] = { n_options, n_options, n_options };
	size_t bad = n_options; /* the option an error is about: none yet */
	const struct dura_option *url_opt = NULL;
	const struct dura_option_spec *url_spec = NULL;

	for (size_t i = 0; i < n_options; i++) {
		const char *key = options[i].key;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].key, key) == 0) {
				dura_errbuf(err, errlen, "option '%s' given twice", key);
				bad = i;
				goto fail;
			}
		}
		if (strcmp(key, "plugin") == 0)
			continue;
		if (strcmp(key, "emulate_rtt") == 0) {
			emulate[0] = options[i].value;
			emulate_at[0] = i;
			continue;
		}
		if (strcmp(key, "emulate_jitter") == 0) {
			emulate[1] = options[i].value;
			emulate_at[1] = i;
			continue;
		}
		if (strcmp(key, "emulate_bandwidth") == 0) {
			emulate[2] = options[i].value;
			emulate_at[2] = i;
			continue;
		}
		const struct dura_option_spec *spec = find_spec(ops, key);
		if (!spec) {
			struct dura_buf b = { 0 };
			list_accepted(ops, &b);
			dura_errbuf(err, errlen, "unknown option '%s' for plugin '%s' (accepted: %s)",
			            key, ops->name, (const char *)b.data);
			dura_buf_free(&b);
			bad = i;
			goto fail;
		}
		if (spec->flags & DURA_OPT_URL) {
			url_opt = &options[i];
			url_spec = spec;
			continue; /* added below, resolved */
		}
		add_option(out, key, options[i].value);
	}
	if (check_values(ops, options, n_options, &bad, err, errlen) != 0)
		goto fail;
	if (!url_spec) {
		for (const struct dura_option_spec *s = ops->options; s && s->name; s++) {
			if (s->flags & DURA_OPT_URL) {
				url_spec = s;
				break;
			}
		}
	}
	out->networked = url_spec != NULL;

	char why[256];
	uint64_t v;
	if (emulate[0]) {
		if (dura_parse_duration_us(emulate[0], &v, why, sizeof why) != 0) {
			dura_errbuf(err, errlen, "'emulate_rtt': %s", why);
			bad = emulate_at[0];
			goto fail;
		}
		out->emulate_rtt_us = v;
	}
	if (emulate[1]) {
		if (dura_parse_duration_us(emulate[1], &v, why, sizeof why) != 0) {
			dura_errbuf(err, errlen, "'emulate_jitter': %s", why);
			bad = emulate_at[1];
			goto fail;
		}
		out->emulate_jitter_us = v;
	}
	if (emulate[2]) {
		if (dura_parse_bandwidth(emulate[2], &v, why, sizeof why) != 0) {
			dura_errbuf(err, errlen, "'emulate_bandwidth': %s", why);
			bad = emulate_at[2];
			goto fail;
		}
		out->emulate_bandwidth_bps = v;
	}
	int emulating = emulate[0] || emulate[1] || emulate[2];
	if (emulating && !url_spec) {
		dura_errbuf(err, errlen,
		            "'%s' needs a networked provider; plugin '%s' has no address option",
		            emulate[0] ? "emulate_rtt" : emulate[1] ? "emulate_jitter" : "emulate_bandwidth",
		            ops->name);
		bad = emulate[0] ? emulate_at[0] : emulate[1] ? emulate_at[1] : emulate_at[2];
		goto fail;
	}
	if (!url_spec)
		return 0;

	const char *given = url_opt ? url_opt->value
	                            : (url_spec->default_value ? url_spec->default_value : "");
	char *url = dura_xstrdup(given);
	dura_secret_note(url);
	int is_auto = strcasecmp(url, "auto") == 0;
	const struct dura_local_recipe *recipe = NULL;
	if (is_auto && !(recipe = auto_recipe(ops, url_spec->name, err, errlen))) {
		free(url);
		goto fail;
	}
	if (!env) { /* check only: start nothing */
		out->display_url = dura_url_mask(url);
		add_option(out, url_spec->name, url);
		free(url);
		return 0;
	}
	pthread_mutex_lock(&env->lock);
	int rc = 0;
	if (is_auto) {
		const char *address = local_address_locked(env, recipe, err, errlen);
		rc = address ? 0 : -1;
		if (address) {
			free(url);
			url = dura_xstrdup(address);
			/* what server faults act on (run_faults.c) */
			out->local.recipe = recipe;
			out->local.server = local_server_locked(env, recipe);
		}
	}
	if (rc == 0 && emulating)
		rc = start_proxy_locked(env, out, &url, err, errlen);
	pthread_mutex_unlock(&env->lock);
	if (rc != 0) {
		free(url);
		if (url_opt)
			bad = (size_t)(url_opt - options);
		goto fail;
	}
	dura_secret_note(url); /* the auto server's password, for one */
	out->display_url = dura_url_mask(url);
	add_option(out, url_spec->name, url);
	free(url);
	return 0;
fail:
	dura_prepared_free(out);
	if (bad_option)
		*bad_option = bad;
	return -1;
}

void dura_prepared_free(struct dura_prepared *p)
{
	for (size_t i = 0; i < p->n_options; i++) {
		free((char *)p->options[i].key);
		free((char *)p->options[i].value);
	}
	free(p->options);
	free(p->display_url);
	free(p->target_display);
	memset(p, 0, sizeof *p);
}
