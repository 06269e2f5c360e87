/*
 * Isolation and cleanup: two stores opened in one process with the same
 * options neither share nor reset each other's data (a provider may
 * instead refuse the second open, e.g. of a file in use, with CONFIG or
 * RETRY and a message; the first store must then be untouched), and a
 * store closed with drop = 1 leaves nothing behind: a reopened store is
 * empty, and a file the store created (an option value that is an absolute
 * path) is gone, with every file next to it whose name starts with it.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <dirent.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Writes a recognisable state into t's store: history, metadata, one
 * queued message and one work item. */
static int populate(struct dura_vctx *t, const char *tag)
{
	struct dura_orch_item *it;
	if (dura_venqueue(t, "iso", tag, 0) != 0 || dura_vfetch_instance(t, DURA_VLOCK_MS, "iso", 1, &it) != 0)
		return -1;
	struct dura_event ev = { 1, dura_vstr(tag) };
	struct dura_message w = { "iso", dura_vstr(tag), 0 };
	struct dura_instance_meta meta = { tag, DURA_STATUS_RUNNING, dura_vstr(tag), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
	                             .work_items = &w, .n_work_items = 1, .meta = &meta };
	int r = dura_vack(t, it->token, &ack, DURA_OK);
	dura_vrelease(t, it);
	return r == 0 ? dura_venqueue(t, "iso", tag, 0) : -1;
}

/* The store holds exactly what populate(tag) wrote (reads only). */
static int holds(struct dura_vctx *t, const char *tag, const char *which)
{
	const uint64_t one = 1;
	if (dura_vexpect_history(t, "iso", 1, &one, &tag, 1) != 0)
		return dura_vprefix(t, "%s store", which);
	struct dura_instance_meta *m;
	if (dura_vstatus(t, "iso", DURA_OK, &m) != 0)
		return dura_vprefix(t, "%s store", which);
	int same = m->name && strcmp(m->name, tag) == 0;
	dura_vrelease_status(t, m);
	if (!same)
		return dura_vfail(t, "%s store: instance_status shows the other store's metadata", which);
	return 0;
}

/* The store is empty (reads and wait-0 fetches). */
static int empty(struct dura_vctx *t, const char *which)
{
	if (dura_vexpect_history(t, "iso", 1, NULL, NULL, 0) != 0 || dura_vstatus(t, "iso", DURA_EMPTY, NULL) != 0 ||
	    dura_vexpect_no_orch(t, "queue") != 0 || dura_vexpect_no_work(t, "worker queue") != 0)
		return dura_vprefix(t, "%s store is not empty", which);
	return 0;
}

static int two_stores_isolated(struct dura_vctx *t)
{
	VTRY(populate(t, "first"));
	struct dura_vctx *b = dura_xcalloc(1, sizeof *b);
	*b = *t;
	b->store = NULL;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->open(t->options, t->n_options, &b->store, &err);
	int r = 0;
	if (rc == DURA_CONFIG || rc == DURA_RETRY) {
		/* refused: allowed for a resource in use; the first store must
		 * be intact */
		if (strnlen(err.msg, sizeof err.msg) == 0)
			r = dura_vfail(t, "a second open() with the same options returned %s without a message",
			               dura_vrc_name(rc));
		if (r == 0 && holds(t, "first", "the first") != 0)
			r = dura_vprefix(t, "after a refused second open()");
		free(b);
		return r == 0 ? DURA_VPASS : DURA_VFAIL;
	}
	if (dura_vexpect(t, "second open() with the same options", rc, DURA_OK, &err) != 0) {
		free(b);
		return DURA_VFAIL;
	}
	if (empty(b, "a second") != 0) {
		memcpy(t->reason, b->reason, sizeof t->reason);
		r = -1;
	}
	if (r == 0 && holds(t, "first", "the first") != 0)
		r = dura_vprefix(t, "after opening a second store");
	if (r == 0 && populate(b, "second") != 0) {
		memcpy(t->reason, b->reason, sizeof t->reason);
		r = -1;
	}
	if (r == 0 && holds(t, "first", "the first") != 0)
		r = dura_vprefix(t, "after writing to a second store");
	if (r == 0 && holds(b, "second", "the second") != 0) {
		memcpy(t->reason, b->reason, sizeof t->reason);
		r = -1;
	}
	memset(&err, 0, sizeof err);
	rc = t->ops->close(b->store, 1, &err);
	if (r == 0 && dura_vexpect(t, "close(drop = 1) of the second store", rc, DURA_OK, &err) != 0)
		r = -1;
	free(b);
	if (r == 0 && holds(t, "first", "the first") != 0)
		r = dura_vprefix(t, "after dropping the second store");
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Every absolute path among the options that exists now. */
static size_t existing_paths(struct dura_vctx *t, const char **paths, size_t max)
{
	size_t n = 0;
	struct stat st;
	for (size_t i = 0; i < t->n_options && n < max; i++)
		if (t->options[i].value[0] == '/' && stat(t->options[i].value, &st) == 0 && S_ISREG(st.st_mode))
			paths[n++] = t->options[i].value;
	return n;
}

/* A file in path's directory whose name starts with path's name, or 0. */
static int leftover(const char *path, char *found, size_t len)
{
	char *d = dura_xstrdup(path), *f = dura_xstrdup(path);
	const char *dir = dirname(d), *base = basename(f);
	DIR *dh = opendir(dir);
	int hit = 0;
	struct dirent *e;
	while (dh && !hit && (e = readdir(dh)) != NULL)
		if (strncmp(e->d_name, base, strlen(base)) == 0) {
			snprintf(found, len, "%s/%s", dir, e->d_name);
			hit = 1;
		}
	if (dh)
		closedir(dh);
	free(d);
	free(f);
	return hit;
}

static int drop_leaves_nothing(struct dura_vctx *t)
{
	VTRY(populate(t, "dropped"));
	const char *paths[8];
	size_t n = existing_paths(t, paths, 8);
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->close(t->store, 1, &err);
	t->store = NULL;
	VTRY(dura_vexpect(t, "close(drop = 1)", rc, DURA_OK, &err));
	for (size_t i = 0; i < n; i++) {
		char found[4096];
		VCHECK(t, !leftover(paths[i], found, sizeof found),
		       "close(drop = 1) left %s behind (the store's file was %s)", found, paths[i]);
	}
	memset(&err, 0, sizeof err);
	rc = t->ops->open(t->options, t->n_options, &t->store, &err);
	if (rc != DURA_OK)
		t->store = NULL;
	VTRY(dura_vexpect(t, "open after close(drop = 1)", rc, DURA_OK, &err));
	VTRY(empty(t, "the reopened"));
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_isolation[] = {
	{ "two_stores_isolated", two_stores_isolated,
	  "a second store with the same options is refused or isolated; neither resets the other" },
	{ "drop_leaves_nothing", drop_leaves_nothing,
	  "close(drop = 1) removes the store's file (any sibling named after it) and all its data" },
	{ NULL, NULL, NULL },
};
