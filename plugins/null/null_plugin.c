/*
 * The null provider plugin: the harness-overhead baseline (null_store.h
 * says what it is).  The operations table, open, close, stats, describe.
 */

#include "null_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct dura_option_spec null_options[] = {
	{ NULL, NULL, NULL, 0 },
};

static dura_open_fn null_open;
static dura_close_fn null_close;
static dura_stats_fn null_stats;
static dura_ping_fn null_ping;
static dura_describe_fn null_describe;

static dura_rc null_open(const struct dura_option *options, size_t n_options, dura_store **out,
                         struct dura_err *err)
{
	*out = NULL;
	if (n_options > 0) {
		null_err(err, "null: unknown option '%s' (the null provider takes no options)",
		         options[0].key);
		return DURA_CONFIG;
	}
	/* Owned by the caller until close. */
	dura_store *s = calloc(1, sizeof *s);
	if (!s) {
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines use null_now_ms() */
	pthread_cond_init(&s->orch_cond, &ca);
	pthread_cond_init(&s->work_cond, &ca);
	pthread_condattr_destroy(&ca);
	s->next_seq = 1;
	s->next_token = 1;
	*out = s;
	return DURA_OK;
}

static dura_rc null_close(dura_store *s, int drop, struct dura_err *err)
{
	(void)drop; /* memory: nothing survives close either way */
	(void)err;
	for (size_t i = 0; i < s->insts.nb; i++) {
		for (struct null_mnode *x = s->insts.b[i], *next; x; x = next) {
			next = x->next;
			null_free_instance(s, NULL_CONTAINER(x, struct null_inst, by_id));
		}
	}
	null_free_work(s);
	null_free_templates(s);
	null_map_free(&s->insts);
	null_map_free(&s->orch_tokens);
	null_map_free(&s->work_tokens);
	null_heap_free(&s->ready);
	null_heap_free(&s->orch_locks);
	null_heap_free(&s->orch_timers);
	null_heap_free(&s->work_locks);
	null_heap_free(&s->work_timers);
	pthread_cond_destroy(&s->orch_cond);
	pthread_cond_destroy(&s->work_cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return DURA_OK;
}

static dura_rc null_stats(dura_store *s, struct dura_stats *out)
{
	pthread_mutex_lock(&s->mu);
	struct dura_stats st = s->st;
	pthread_mutex_unlock(&s->mu);
	/* Only what the caller's (possibly older, shorter) struct holds. */
	st.struct_size = out->struct_size;
	memcpy(out, &st, out->struct_size < sizeof st ? out->struct_size : sizeof st);
	return DURA_OK;
}

static dura_rc null_ping(dura_store *s, struct dura_err *err)
{
	(void)s;
	(void)err;
	return DURA_OK;
}

static void null_describe(dura_store *s, char *buf, size_t len)
{
	(void)s;
	snprintf(buf, len, "null (in-process hash tables and queues, the harness baseline)");
}

static const struct dura_provider_ops null_ops = {
	DURA_PROVIDER_PREFIX("null",
		"in-process store of hash tables and queues: the harness alone, a baseline"),
	.options = null_options,
	.open = null_open,
	.close = null_close,
	.enqueue_orchestrator = null_enqueue_orchestrator,
	.fetch_orchestration_item = null_fetch_orch,
	.ack_orchestration_item = null_ack_orch,
	.abandon_orchestration_item = null_abandon_orch,
	.renew_orchestration_lock = null_renew_orch,
	.release_orchestration_item = null_release_orch,
	.fetch_work_item = null_fetch_work,
	.ack_work_item = null_ack_work,
	.abandon_work_item = null_abandon_work,
	.renew_work_lock = null_renew_work,
	.release_work_item = null_release_work,
	.read_history = null_read_history,
	.release_history = null_release_history,
	.instance_status = null_instance_status,
	.release_instance_status = null_release_status,
	.stats = null_stats,
	.ping = null_ping,
	.ack_work_item_and_fetch = null_ack_work_and_fetch,
	.ack_orchestration_item_and_fetch = null_ack_orch_and_fetch,
	.describe = null_describe,
	.fetch_work_items = null_fetch_work_items,
	.ack_work_items_and_fetch = null_ack_work_items_and_fetch,
	.prefill = null_prefill,
};

const struct dura_provider_ops *dura_provider_entry(void)
{
	return &null_ops;
}
