/* The null provider's reads: history and instance metadata. */

#include "null_store.h"

#include <stdlib.h>
#include <string.h>

dura_rc null_read_history(dura_store *s, const char *instance, uint64_t execution,
                          struct dura_history **out, struct dura_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	struct null_inst *in = null_instance(s, instance, 0);
	const struct null_exec *ex = in ? null_find_exec(in, execution) : NULL;
	size_t n = ex ? ex->n : 0;
	/* The event array is copied; the bodies stay the store's, which never
	 * frees an event before close. */
	struct dura_history *h = malloc(sizeof *h + n * sizeof(struct dura_event));
	if (!h) {
		pthread_mutex_unlock(&s->mu);
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	struct dura_event *ev = (void *)(h + 1);
	if (n)
		memcpy(ev, ex->events, n * sizeof *ev);
	*h = (struct dura_history){ ev, n };
	pthread_mutex_unlock(&s->mu);
	*out = h;
	return DURA_OK;
}

void null_release_history(dura_store *s, struct dura_history *h)
{
	(void)s;
	free(h);
}

dura_rc null_instance_status(dura_store *s, const char *instance, struct dura_instance_meta **out,
                             struct dura_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	struct null_inst *in = null_instance(s, instance, 0);
	if (!in || !in->has_meta) {
		pthread_mutex_unlock(&s->mu);
		return DURA_EMPTY;
	}
	size_t nlen = in->name ? strlen(in->name) + 1 : 0;
	size_t plen = in->parent ? strlen(in->parent) + 1 : 0;
	/* One allocation: the struct, name, parent, output. */
	struct dura_instance_meta *m = malloc(sizeof *m + nlen + plen + in->output_len);
	if (!m) {
		pthread_mutex_unlock(&s->mu);
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	char *p = (char *)(m + 1);
	*m = (struct dura_instance_meta){ NULL, in->status, { NULL, in->output_len }, NULL, in->current };
	if (nlen) {
		m->name = memcpy(p, in->name, nlen);
		p += nlen;
	}
	if (plen) {
		m->parent = memcpy(p, in->parent, plen);
		p += plen;
	}
	if (in->output_len)
		memcpy(p, in->output, in->output_len);
	m->output.data = (const uint8_t *)p;
	pthread_mutex_unlock(&s->mu);
	*out = m;
	return DURA_OK;
}

void null_release_status(dura_store *s, struct dura_instance_meta *m)
{
	(void)s;
	free(m);
}
