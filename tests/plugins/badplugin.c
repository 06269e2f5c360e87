/*
 * badplugin: plugins the loader must refuse, each with one defect chosen at
 * build time (tests/loader_errors.sh checks the message and exit code 2):
 *
 *   BAD_ABI_MAJOR     built "for" ABI major 99
 *   BAD_STRUCT_SIZE   struct_size smaller than DURA_OPS_MIN_SIZE
 *   BAD_NO_ENTRY      exports no dura_provider_entry
 *   BAD_NULL_OP       a required operation (fetch_work_item) is NULL
 *   BAD_NO_NAME       name is NULL
 *
 * The operations exist but refuse to do anything: the loader must stop
 * before any of them is called.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <durabench/provider.h>

#include <stdio.h>

static dura_rc nope(struct dura_err *err)
{
	snprintf(err->msg, sizeof err->msg, "badplugin: must never be called");
	return DURA_CONFIG;
}

static dura_open_fn b_open;
static dura_close_fn b_close;
static dura_enqueue_orchestrator_fn b_enqueue;
static dura_fetch_orchestration_item_fn b_fetch_orch;
static dura_ack_orchestration_item_fn b_ack_orch;
static dura_renew_work_lock_fn b_token_op; /* also abandon_*, renew_* */
static dura_release_orchestration_item_fn b_release_orch;
#ifndef BAD_NULL_OP
static dura_fetch_work_item_fn b_fetch_work;
#endif
static dura_ack_work_item_fn b_ack_work;
static dura_release_work_item_fn b_release_work;
static dura_read_history_fn b_read_history;
static dura_release_history_fn b_release_history;
static dura_instance_status_fn b_status;
static dura_release_instance_status_fn b_release_status;

static dura_rc b_open(const struct dura_option *o, size_t n, dura_store **out, struct dura_err *err)
{
	(void)o, (void)n, (void)out;
	return nope(err);
}
static dura_rc b_close(dura_store *s, int drop, struct dura_err *err)
{
	(void)s, (void)drop;
	return nope(err);
}
static dura_rc b_enqueue(dura_store *s, const struct dura_message *m, size_t n, struct dura_err *err)
{
	(void)s, (void)m, (void)n;
	return nope(err);
}
static dura_rc b_fetch_orch(dura_store *s, uint32_t l, uint32_t w, struct dura_orch_item **out,
                            struct dura_err *err)
{
	(void)s, (void)l, (void)w, (void)out;
	return nope(err);
}
static dura_rc b_ack_orch(dura_store *s, uint64_t t, const struct dura_orch_ack *a, struct dura_err *err)
{
	(void)s, (void)t, (void)a;
	return nope(err);
}
static dura_rc b_token_op(dura_store *s, uint64_t t, uint32_t ms, struct dura_err *err)
{
	(void)s, (void)t, (void)ms;
	return nope(err);
}
static void b_release_orch(dura_store *s, struct dura_orch_item *i)
{
	(void)s, (void)i;
}
#ifndef BAD_NULL_OP
static dura_rc b_fetch_work(dura_store *s, uint32_t l, uint32_t w, struct dura_work_item **out,
                            struct dura_err *err)
{
	(void)s, (void)l, (void)w, (void)out;
	return nope(err);
}
#endif
static dura_rc b_ack_work(dura_store *s, uint64_t t, const struct dura_message *c, struct dura_err *err)
{
	(void)s, (void)t, (void)c;
	return nope(err);
}
static void b_release_work(dura_store *s, struct dura_work_item *i)
{
	(void)s, (void)i;
}
static dura_rc b_read_history(dura_store *s, const char *i, uint64_t e, struct dura_history **out,
                              struct dura_err *err)
{
	(void)s, (void)i, (void)e, (void)out;
	return nope(err);
}
static void b_release_history(dura_store *s, struct dura_history *h)
{
	(void)s, (void)h;
}
static dura_rc b_status(dura_store *s, const char *i, struct dura_instance_meta **out, struct dura_err *err)
{
	(void)s, (void)i, (void)out;
	return nope(err);
}
static void b_release_status(dura_store *s, struct dura_instance_meta *m)
{
	(void)s, (void)m;
}

static const struct dura_option_spec bad_options[] = { { NULL, NULL, NULL, 0 } };

static const struct dura_provider_ops bad_ops = {
#ifdef BAD_ABI_MAJOR
	.abi_major = 99,
#else
	.abi_major = DURA_ABI_MAJOR,
#endif
	.abi_minor = DURA_ABI_MINOR,
#ifdef BAD_STRUCT_SIZE
	.struct_size = (uint32_t)offsetof(struct dura_provider_ops, options),
#else
	.struct_size = (uint32_t)sizeof(struct dura_provider_ops),
#endif
#ifdef BAD_NO_NAME
	.name = NULL,
#else
	.name = "badplugin",
#endif
	.description = "deliberately broken plugin for loader tests",
	.options = bad_options,
	.open = b_open,
	.close = b_close,
	.enqueue_orchestrator = b_enqueue,
	.fetch_orchestration_item = b_fetch_orch,
	.ack_orchestration_item = b_ack_orch,
	.abandon_orchestration_item = b_token_op,
	.renew_orchestration_lock = b_token_op,
	.release_orchestration_item = b_release_orch,
#ifdef BAD_NULL_OP
	.fetch_work_item = NULL,
#else
	.fetch_work_item = b_fetch_work,
#endif
	.ack_work_item = b_ack_work,
	.abandon_work_item = b_token_op,
	.renew_work_lock = b_token_op,
	.release_work_item = b_release_work,
	.read_history = b_read_history,
	.release_history = b_release_history,
	.instance_status = b_status,
	.release_instance_status = b_release_status,
};

#ifdef BAD_NO_ENTRY
/* A differently named entry point: present, but not what the loader looks
 * for (and not exported either). */
const struct dura_provider_ops *provider_entry(void);
const struct dura_provider_ops *provider_entry(void)
{
	return &bad_ops;
}
#else
const struct dura_provider_ops *dura_provider_entry(void)
{
	return &bad_ops;
}
#endif
