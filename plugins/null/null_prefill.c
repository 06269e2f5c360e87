/* The null provider's bulk prefill (ABI 1.4): n completed instances that
 * share one copy of the history's bodies, so a million of them cost a few
 * hundred bytes each. */

#include "null_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shared copy of one prefill's history (bodies and event array),
 * owned by the store until close. */
static struct null_template *make_template(const struct dura_event *history, size_t n)
{
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += history[i].body.len;
	struct null_template *t = malloc(sizeof *t + n * sizeof(struct dura_event) + bytes);
	if (!t)
		return NULL;
	struct dura_event *ev = (void *)(t + 1);
	uint8_t *p = (uint8_t *)(ev + n);
	for (size_t i = 0; i < n; i++) {
		ev[i].event_id = history[i].event_id;
		ev[i].body = (struct dura_bytes){ p, history[i].body.len };
		if (history[i].body.len)
			memcpy(p, history[i].body.data, history[i].body.len);
		p += history[i].body.len;
	}
	/* sorted ascending once, so every instance's borrowed array is */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && ev[k - 1].event_id > ev[k].event_id; k--) {
			struct dura_event x = ev[k];
			ev[k] = ev[k - 1];
			ev[k - 1] = x;
		}
	t->events = ev;
	t->n = n;
	t->begin = (const uint8_t *)(ev + n);
	t->end = p;
	t->next = NULL;
	return t;
}

void null_free_templates(dura_store *s)
{
	for (struct null_template *t = s->templates, *next; t; t = next) {
		next = t->next;
		free(t);
	}
	s->templates = NULL;
}

static void id_of(char *buf, size_t len, const char *prefix, uint64_t i)
{
	snprintf(buf, len, "%s%" PRIu64, prefix, i);
}

/* Gives instance `in` the template as execution `execution` and the
 * metadata; -1 on OOM (nothing changed). */
static int fill(struct null_inst *in, const struct null_template *t,
                const struct dura_instance_meta *meta)
{
	struct null_exec *ex = null_add_exec(in, meta->execution);
	if (!ex)
		return -1;
	if (null_set_meta(in, meta) != 0) {
		in->n_execs--;
		return -1;
	}
	*ex = (struct null_exec){ meta->execution, t->events, t->n, 0 };
	return 0;
}

/* Undoes fill() on the instance, removing it when nothing else is left. */
static void unfill(dura_store *s, struct null_inst *in)
{
	in->n_execs--;
	free(in->name);
	free(in->parent);
	free(in->output);
	in->name = in->parent = NULL;
	in->output = NULL;
	in->has_meta = 0;
	if (!in->head && !in->n_execs) {
		null_map_remove(&s->insts, &in->by_id);
		null_free_instance(s, in);
	}
}

static int exists(dura_store *s, const char *id)
{
	struct null_inst *in = null_instance(s, id, 0);
	if (!in)
		return 0;
	int history = 0;
	for (size_t i = 0; i < in->n_execs; i++)
		history |= in->execs[i].n > 0;
	return in->has_meta || history;
}

dura_rc null_prefill(dura_store *s, const char *prefix, uint64_t first, uint64_t n,
                     const struct dura_instance_meta *meta, const struct dura_event *history,
                     size_t n_history, struct dura_err *err)
{
	if (n == 0)
		return DURA_OK;
	char id[DURA_INSTANCE_ID_MAX + 32];
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	for (uint64_t i = 0; i < n; i++) {
		id_of(id, sizeof id, prefix, first + i);
		if (exists(s, id)) {
			pthread_mutex_unlock(&s->mu);
			null_err(err, "null: prefill: instance '%s' exists already", id);
			return DURA_PERMANENT;
		}
	}
	struct null_template *t = make_template(history, n_history);
	if (!t)
		goto oom;
	t->next = s->templates;
	s->templates = t;
	for (uint64_t i = 0; i < n; i++) {
		id_of(id, sizeof id, prefix, first + i);
		struct null_inst *in = null_instance(s, id, 1);
		if (!in || fill(in, t, meta) != 0) {
			while (i-- > 0) {
				id_of(id, sizeof id, prefix, first + i);
				unfill(s, null_instance(s, id, 0));
			}
			goto oom; /* the template stays until close: harmless */
		}
	}
	s->st.commits++;
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
oom:
	pthread_mutex_unlock(&s->mu);
	null_err(err, "null: prefill: out of memory");
	return DURA_RETRY;
}
