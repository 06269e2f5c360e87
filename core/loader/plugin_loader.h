/*
 * Finding, loading and checking provider plugins.
 *
 * A plugin name without '/' is looked up as NAME.so in, in order: the
 * --plugin-dir given on the command line, each directory of
 * $DURABENCH_PLUGIN_PATH (colon separated), the build tree
 * (DURA_BUILD_PLUGIN_DIRS, only when the running program itself lies in
 * the build tree) and the installed pkglibdir.
 * A name containing '/' is a path used as is.
 */
#ifndef DURA_PLUGIN_LOADER_H
#define DURA_PLUGIN_LOADER_H

#include <stddef.h>

#include <durabench/provider.h>

struct dura_plugin {
	const struct dura_provider_ops *ops;
	char *path;    /* resolved file (owned) */
	void *handle;  /* dlopen handle (owned) */
};

/* Loads and checks a plugin: file found, dlopen works, the entry symbol
 * exists, abi_major matches, struct_size covers DURA_OPS_MIN_SIZE, name and
 * options are set, no required operation is NULL.  On failure returns -1 and
 * writes ONE line naming the file, what is wrong and what was expected, e.g.
 *   "plugin ./x.so: ABI major 2, expected 1 (rebuild it against this durabench)".
 * plugin_dir may be NULL.  Free with dura_plugin_unload. */
int dura_plugin_load(const char *name_or_path, const char *plugin_dir,
                     struct dura_plugin *out, char *err, size_t errlen);
void dura_plugin_unload(struct dura_plugin *p);
/* Frees what the loader allocated but leaves the plugin's code mapped (no
 * dlclose): for a plugin that threads may still be inside until the
 * process ends (abandoned after stop_timeout). */
void dura_plugin_forget(struct dura_plugin *p);

/* 0 if dir is NULL (not given) or an existing directory; else -1 with
 * "--plugin-dir DIR: <why>" in err.  A --plugin-dir that is not there is a
 * typo to report, not a directory to skip. */
int dura_plugin_dir_check(const char *dir, char *err, size_t errlen);

/* A plugin built for a newer ABI minor than this core's is loaded and run
 * with the operations this core knows (DURA_OPT_OP never reads past the
 * core's own struct).  When p is such a plugin, writes one line saying so
 * and returns 1; otherwise returns 0 and writes nothing.  Callers print it
 * as a note: nothing is wrong, but the plugin's newer operations are not
 * used. */
int dura_plugin_newer_minor(const struct dura_plugin *p, char *buf, size_t len);

/* Calls fn(path, arg) for every candidate *.so file in the search path, in
 * search order (for `durabench plugins`). */
void dura_plugin_foreach_candidate(const char *plugin_dir,
                                   void (*fn)(const char *path, void *arg),
                                   void *arg);

#endif
