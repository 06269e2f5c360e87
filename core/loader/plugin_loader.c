/*
 * Finding, loading and checking provider plugins (see plugin_loader.h).
 *
 * A plugin is untrusted input: every field of its table is checked before
 * use, and nothing beyond the fixed prefix is read until struct_size says the
 * plugin actually has it.  Every refusal is one line that names the file,
 * what is wrong and what was expected.
 */
#include "config.h"

#include "plugin_loader.h"
#include "base/util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The search path as a list of directories, in order.  Owned strings. */
struct dirlist {
	char **dirs;
	size_t n;
};

static void dirlist_add(struct dirlist *l, const char *dir, size_t len)
{
	if (len == 0)
		return;
	char *d = dura_xstrndup(dir, len);
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->dirs[i], d) == 0) { /* keep the first occurrence */
			free(d);
			return;
		}
	}
	l->dirs = dura_xrealloc(l->dirs, (l->n + 1) * sizeof *l->dirs);
	l->dirs[l->n++] = d;
}

static void dirlist_add_colon_list(struct dirlist *l, const char *list, int only_existing)
{
	while (list && *list) {
		const char *colon = strchr(list, ':');
		size_t len = colon ? (size_t)(colon - list) : strlen(list);
		if (!only_existing) {
			dirlist_add(l, list, len);
		} else {
			char *d = dura_xstrndup(list, len);
			struct stat st;
			if (len > 0 && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
				dirlist_add(l, d, len);
			free(d);
		}
		list = colon ? colon + 1 : NULL;
	}
}

#ifdef DURA_BUILD_DIR
/* 1 when the running program lives under the build tree (durabench run from
 * it, or a test program): only then may it load the build's plugins.  An
 * installed binary must not pick up a stale build tree that still exists. */
static int running_from_build_tree(void)
{
	char exe[PATH_MAX], build[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0 || !realpath(DURA_BUILD_DIR, build))
		return 0;
	exe[n] = '\0';
	size_t bl = strlen(build);
	return strncmp(exe, build, bl) == 0 && exe[bl] == '/';
}
#endif

/* Builds the search path of plugin_loader.h.  The caller frees it with
 * dirlist_free. */
static void search_path(const char *plugin_dir, struct dirlist *l)
{
	memset(l, 0, sizeof *l);
	if (plugin_dir && *plugin_dir)
		dirlist_add(l, plugin_dir, strlen(plugin_dir));
	dirlist_add_colon_list(l, getenv("DURABENCH_PLUGIN_PATH"), 0);
#ifdef DURA_BUILD_PLUGIN_DIRS
	if (running_from_build_tree())
		dirlist_add_colon_list(l, DURA_BUILD_PLUGIN_DIRS, 1);
#endif
#ifdef DURA_PKGLIBDIR
	dirlist_add(l, DURA_PKGLIBDIR, strlen(DURA_PKGLIBDIR));
#endif
}

int dura_plugin_dir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (!dir)
		return 0;
	if (!*dir) {
		dura_errbuf(err, errlen, "--plugin-dir: empty directory name");
		return -1;
	}
	if (stat(dir, &st) != 0) {
		dura_errbuf(err, errlen, "--plugin-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		dura_errbuf(err, errlen, "--plugin-dir %s: not a directory", dir);
		return -1;
	}
	return 0;
}

static void dirlist_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->dirs[i]);
	free(l->dirs);
	memset(l, 0, sizeof *l);
}

static int is_regular_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Resolves a name or path to a file.  Returns an owned path, or NULL with
 * the one-line error in err. */
static char *resolve(const char *name_or_path, const char *plugin_dir, char *err, size_t errlen)
{
	if (strchr(name_or_path, '/')) {
		if (!is_regular_file(name_or_path)) {
			dura_errbuf(err, errlen, "plugin %s: no such file (expected a provider .so)",
			            name_or_path);
			return NULL;
		}
		return dura_xstrdup(name_or_path);
	}
	if (!*name_or_path) {
		dura_errbuf(err, errlen, "plugin name is empty (expected a name like 'sqlite' or a path)");
		return NULL;
	}
	struct dirlist l;
	search_path(plugin_dir, &l);
	const char *suffix = ends_with(name_or_path, ".so") ? "" : ".so";
	for (size_t i = 0; i < l.n; i++) {
		char *p = dura_xasprintf("%s/%s%s", l.dirs[i], name_or_path, suffix);
		if (is_regular_file(p)) {
			dirlist_free(&l);
			return p;
		}
		free(p);
	}
	struct dura_buf b = { 0 };
	for (size_t i = 0; i < l.n; i++)
		dura_buf_printf(&b, "%s%s", i ? ", " : "", l.dirs[i]);
	dura_buf_append(&b, "", 1);
	dura_errbuf(err, errlen, "plugin %s: %s%s not found in the search path (searched: %s)",
	            name_or_path, name_or_path, suffix, l.n ? (const char *)b.data : "nothing");
	dura_buf_free(&b);
	dirlist_free(&l);
	return NULL;
}

/* Required operations, in table order, for the NULL check. */
#define REQ(field) { #field, offsetof(struct dura_provider_ops, field) }
static const struct {
	const char *name;
	size_t offset;
} required_ops[] = {
	REQ(open), REQ(close), REQ(enqueue_orchestrator), REQ(fetch_orchestration_item),
	REQ(ack_orchestration_item), REQ(abandon_orchestration_item),
	REQ(renew_orchestration_lock), REQ(release_orchestration_item), REQ(fetch_work_item),
	REQ(ack_work_item), REQ(abandon_work_item), REQ(renew_work_lock),
	REQ(release_work_item), REQ(read_history), REQ(release_history),
	REQ(instance_status), REQ(release_instance_status),
};
#undef REQ

/* Checks the table; 0 or -1 with the message (naming path) in err. */
static int check_ops(const char *path, const struct dura_provider_ops *ops, char *err, size_t errlen)
{
	if (!ops) {
		dura_errbuf(err, errlen, "plugin %s: %s() returned NULL (expected its operations table)",
		            path, DURA_PROVIDER_ENTRY_SYMBOL);
		return -1;
	}
	if (ops->abi_major != DURA_ABI_MAJOR) {
		dura_errbuf(err, errlen,
		            "plugin %s: ABI major %u, expected %u (rebuild it against this durabench's provider.h)",
		            path, (unsigned)ops->abi_major, (unsigned)DURA_ABI_MAJOR);
		return -1;
	}
	if (ops->struct_size < DURA_OPS_MIN_SIZE) {
		dura_errbuf(err, errlen,
		            "plugin %s: operations table is %u bytes, expected at least %zu (every required operation of ABI %u.0)",
		            path, (unsigned)ops->struct_size, (size_t)DURA_OPS_MIN_SIZE,
		            (unsigned)DURA_ABI_MAJOR);
		return -1;
	}
	if (!ops->name || !*ops->name) {
		dura_errbuf(err, errlen, "plugin %s: name is %s (expected a short provider name)",
		            path, ops->name ? "empty" : "NULL");
		return -1;
	}
	if (!ops->options) {
		dura_errbuf(err, errlen,
		            "plugin %s: options is NULL (expected an option array, at least the {NULL} terminator)",
		            path);
		return -1;
	}
	for (size_t i = 0; i < sizeof required_ops / sizeof required_ops[0]; i++) {
		void (*fn)(void);
		memcpy(&fn, (const char *)ops + required_ops[i].offset, sizeof fn);
		if (!fn) {
			dura_errbuf(err, errlen,
			            "plugin %s: required operation %s is NULL (expected every ABI %u.0 operation up to release_instance_status)",
			            path, required_ops[i].name, (unsigned)DURA_ABI_MAJOR);
			return -1;
		}
	}
	/* An option array that never ends would hang `durabench plugins`; a
	 * sane plugin has a handful. */
	size_t n = 0;
	for (const struct dura_option_spec *s = ops->options; s->name; s++) {
		if (++n > 1000) {
			dura_errbuf(err, errlen,
			            "plugin %s: options array has no {NULL} terminator within 1000 entries",
			            path);
			return -1;
		}
	}
	return 0;
}

int dura_plugin_load(const char *name_or_path, const char *plugin_dir,
                     struct dura_plugin *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!name_or_path) {
		dura_errbuf(err, errlen, "no plugin given (expected a name like 'sqlite' or a path)");
		return -1;
	}
	if (dura_plugin_dir_check(plugin_dir, err, errlen) != 0)
		return -1;
	char *path = resolve(name_or_path, plugin_dir, err, errlen);
	if (!path)
		return -1;
	/* RTLD_NOW: an unresolved symbol is reported here, as one line, instead
	 * of killing the process at the first call.  RTLD_LOCAL: several
	 * plugins export the same entry symbol. */
	dlerror();
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *why = dlerror();
		dura_errbuf(err, errlen, "plugin %s: cannot load it (expected a shared object): %s",
		            path, why ? why : "unknown dlopen error");
		free(path);
		return -1;
	}
	dlerror();
	void *sym = dlsym(handle, DURA_PROVIDER_ENTRY_SYMBOL);
	if (!sym) {
		dura_errbuf(err, errlen,
		            "plugin %s: symbol %s not found (expected a durabench provider exporting it)",
		            path, DURA_PROVIDER_ENTRY_SYMBOL);
		dlclose(handle);
		free(path);
		return -1;
	}
	dura_provider_entry_fn *entry;
	memcpy(&entry, &sym, sizeof entry); /* object-to-function pointer, POSIX */
	const struct dura_provider_ops *ops = entry();
	if (check_ops(path, ops, err, errlen) != 0) {
		dlclose(handle);
		free(path);
		return -1;
	}
	out->ops = ops;
	out->path = path;
	out->handle = handle;
	return 0;
}

void dura_plugin_unload(struct dura_plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	dura_plugin_forget(p);
}

void dura_plugin_forget(struct dura_plugin *p)
{
	if (!p)
		return;
	free(p->path);
	memset(p, 0, sizeof *p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dura_plugin_foreach_candidate(const char *plugin_dir,
                                   void (*fn)(const char *path, void *arg),
                                   void *arg)
{
	struct dirlist l;
	search_path(plugin_dir, &l);
	for (size_t i = 0; i < l.n; i++) {
		DIR *d = opendir(l.dirs[i]);
		if (!d)
			continue;
		/* Sorted, so the listing is stable from run to run. */
		char **names = NULL;
		size_t n = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || !ends_with(e->d_name, ".so"))
				continue;
			names = dura_xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = dura_xstrdup(e->d_name);
		}
		closedir(d);
		if (n)
			qsort(names, n, sizeof *names, cmp_str);
		for (size_t j = 0; j < n; j++) {
			char *p = dura_xasprintf("%s/%s", l.dirs[i], names[j]);
			if (is_regular_file(p))
				fn(p, arg);
			free(p);
			free(names[j]);
		}
		free(names);
	}
	dirlist_free(&l);
}

int dura_plugin_newer_minor(const struct dura_plugin *p, char *buf, size_t len)
{
	const struct dura_provider_ops *ops = p->ops;
	if (ops->abi_minor <= DURA_ABI_MINOR)
		return 0;
	dura_errbuf(buf, len,
	            "plugin %s (%s) was built for ABI %u.%u, this durabench knows %u.%u: "
	            "running it without the operations added after %u.%u",
	            ops->name, p->path, (unsigned)ops->abi_major, (unsigned)ops->abi_minor,
	            (unsigned)DURA_ABI_MAJOR, (unsigned)DURA_ABI_MINOR, (unsigned)DURA_ABI_MAJOR,
	            (unsigned)DURA_ABI_MINOR);
	return 1;
}
