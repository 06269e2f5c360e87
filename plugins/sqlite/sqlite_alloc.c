/*
 * SQLite provider: SQLite's memory allocator (SQLITE_CONFIG_MALLOC).
 *
 * Debian builds SQLite with SQLITE_OMIT_LOOKASIDE, so every small
 * allocation of a statement (a cursor per table or index it opens, a
 * record, an unpacked key) goes to malloc and is freed when the statement
 * is reset: about 210 malloc/free pairs per orchestration of
 * bench/ceiling, malloc and free about 8 % of its instructions (callgrind).
 * Here small blocks (up to SMALL_MAX bytes, in 16-byte classes) are kept
 * on per-thread free lists of bounded length; larger ones, and blocks a
 * full list cannot take, go to malloc/free.  Every block carries its
 * usable size in an 8-byte header (SQLite needs 8-byte alignment only).
 *
 * Installed only while SQLite is not yet initialised (otherwise the call
 * fails and SQLite keeps its own), and the plugin then stays loaded until
 * the process exits: blocks and function pointers live on in SQLite after
 * a dlclose.  Sanitizer builds keep SQLite's allocator, so that ASan still
 * checks SQLite's heap use.  Measured (callgrind, bench/ceiling
 * :memory:): 4.0 % fewer instructions per orchestration, of which the
 * initial-exec TLS model below is 2 points.
 */
#include "sqlite_store.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define KEEP_SQLITE_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEP_SQLITE_ALLOCATOR 1
#endif
#endif

/* sanitizer builds compile none of the allocator: SQLite keeps its own */
#ifndef KEEP_SQLITE_ALLOCATOR

#define SMALL_MAX 1024
#define N_CLASSES (SMALL_MAX / 16)
#define LIST_MAX 64 /* blocks kept per class and thread */
#define HDR 8

struct free_block {
	struct free_block *next;
};

/* One thread's free lists; flushed to free() when the thread exits. */
struct thread_cache {
	struct free_block *head[N_CLASSES];
	unsigned n[N_CLASSES];
};

/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr
 * call per allocation (callgrind: 1.5 % of the instructions); 8 bytes of
 * the static TLS that glibc keeps for libraries loaded later */
static __thread struct thread_cache *cache __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void flush_cache(void *arg)
{
	struct thread_cache *c = arg;
	cache = NULL;
	for (int i = 0; i < N_CLASSES; i++) {
		while (c->head[i]) {
			struct free_block *b = c->head[i];
			c->head[i] = b->next;
			free((char *)b - HDR);
		}
	}
	free(c);
}

static void make_key(void)
{
	pthread_key_create(&cache_key, flush_cache);
}

/* The calling thread's lists, freed when it exits; NULL when out of
 * memory (blocks then go straight back to free). */
static struct thread_cache *new_cache(void)
{
	pthread_once(&key_once, make_key);
	struct thread_cache *c = calloc(1, sizeof *c);
	if (c && pthread_setspecific(cache_key, c) != 0) {
		free(c);
		c = NULL;
	}
	return cache = c;
}

static size_t roundup_size(size_t n)
{
	return n <= SMALL_MAX ? (n + 15) & ~(size_t)15 : (n + 7) & ~(size_t)7;
}

static void *block_malloc(int n)
{
	if (n <= 0)
		return NULL;
	size_t size = roundup_size((size_t)n);
	struct thread_cache *c = cache;
	if (size <= SMALL_MAX && c) {
		size_t k = size / 16 - 1;
		if (c->head[k]) {
			struct free_block *b = c->head[k];
			c->head[k] = b->next;
			c->n[k]--;
			return b;
		}
	}
	char *p = malloc(HDR + size);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof size);
	return p + HDR;
}

static int block_size(void *p)
{
	if (!p)
		return 0;
	size_t size;
	memcpy(&size, (char *)p - HDR, sizeof size);
	return (int)size;
}

static void block_free(void *p)
{
	if (!p)
		return;
	size_t size = (size_t)block_size(p);
	struct thread_cache *c = cache ? cache : new_cache();
	if (size <= SMALL_MAX && c && c->n[size / 16 - 1] < LIST_MAX) {
		size_t k = size / 16 - 1;
		struct free_block *b = p;
		b->next = c->head[k];
		c->head[k] = b;
		c->n[k]++;
		return;
	}
	free((char *)p - HDR);
}

static void *block_realloc(void *p, int n)
{
	if (n <= 0)
		return NULL;
	size_t old = (size_t)block_size(p);
	size_t size = roundup_size((size_t)n);
	if (size == old)
		return p;
	/* A large block stays malloc's: realloc grows it in place or remaps
	 * its pages.  The memdb VFS keeps the whole in-memory database in one
	 * block and doubles it as the store grows; copying it instead (past a
	 * million prefilled instances) stopped every worker for 1.7 s. */
	if (old > SMALL_MAX && size > SMALL_MAX) {
		char *q = realloc((char *)p - HDR, HDR + size);
		if (!q)
			return NULL; /* p is still valid, as SQLite expects */
		memcpy(q, &size, sizeof size);
		return q + HDR;
	}
	void *q = block_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < (size_t)n ? old : (size_t)n);
	block_free(p);
	return q;
}

static int block_roundup(int n)
{
	return n <= 0 ? n : (int)roundup_size((size_t)n);
}

static int block_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void block_shutdown(void *arg)
{
	(void)arg;
}

static const sqlite3_mem_methods block_methods = {
	block_malloc, block_free, block_realloc, block_size, block_roundup,
	block_init, block_shutdown, NULL,
};

#endif /* !KEEP_SQLITE_ALLOCATOR */

void dura_sqlite_install_allocator(void)
{
#ifndef KEEP_SQLITE_ALLOCATOR
	/* SQLite will call into this file after a dlclose of the plugin: pin
	 * it first (a reference that dlclose never drops) */
	Dl_info info;
	if (!dladdr((void *)dura_sqlite_install_allocator, &info) || !info.dli_fname ||
	    !dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
		return;
	sqlite3_config(SQLITE_CONFIG_MALLOC, &block_methods);
#endif
}
