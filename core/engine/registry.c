/*
 * The registry of orchestrations and activities, by name: filled before a
 * runtime starts, read by every dispatcher thread without locks afterwards
 * (it must not change while a runtime runs on it).
 */
#include "config.h"

#include "orchestration.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

struct reg_entry {
	char *name; /* owned */
	size_t len;
	dura_orchestration_fn orch;
	dura_activity_fn act;
	void *user;
};

struct reg_list {
	struct reg_entry *v; /* owned */
	size_t n, cap;
};

struct dura_registry {
	struct reg_list orchs;
	struct reg_list acts;
};

struct dura_registry *dura_registry_new(void)
{
	return dura_xcalloc(1, sizeof(struct dura_registry));
}

static void reg_list_free(struct reg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

void dura_registry_free(struct dura_registry *reg)
{
	if (!reg)
		return;
	reg_list_free(&reg->orchs);
	reg_list_free(&reg->acts);
	free(reg);
}

static struct reg_entry *reg_find(const struct reg_list *l, const uint8_t *name,
                                  size_t len)
{
	/* Registries hold a handful of names: a linear scan beats hashing. */
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].len == len && memcmp(l->v[i].name, name, len) == 0)
			return &l->v[i];
	return NULL;
}

static struct reg_entry *reg_put(struct reg_list *l, const char *name)
{
	size_t len = strlen(name);
	struct reg_entry *e = reg_find(l, (const uint8_t *)name, len);
	if (e)
		return e; /* re-registering replaces */
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = dura_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof *e);
	e->name = dura_xstrdup(name);
	e->len = len;
	return e;
}

void dura_registry_add_orchestration(struct dura_registry *reg, const char *name,
                                     dura_orchestration_fn fn, void *user)
{
	struct reg_entry *e = reg_put(&reg->orchs, name);
	e->orch = fn;
	e->user = user;
}

void dura_registry_add_activity(struct dura_registry *reg, const char *name,
                                dura_activity_fn fn, void *user)
{
	struct reg_entry *e = reg_put(&reg->acts, name);
	e->act = fn;
	e->user = user;
}

dura_activity_fn dura_registry_find_activity(const struct dura_registry *reg,
                                             const uint8_t *name, size_t len,
                                             void **user)
{
	struct reg_entry *e = reg_find(&reg->acts, name, len);
	if (user)
		*user = e ? e->user : NULL;
	return e ? e->act : NULL;
}

dura_orchestration_fn dura_registry_find_orchestration(const struct dura_registry *reg,
                                                       const uint8_t *name,
                                                       size_t len, void **user)
{
	struct reg_entry *e = reg_find(&reg->orchs, name, len);
	if (user)
		*user = e ? e->user : NULL;
	return e ? e->orch : NULL;
}
