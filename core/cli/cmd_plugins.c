/* `durabench plugins`: list the provider plugins in the search path. */
#include "config.h"

#include "commands.h"
#include "loader/plugin_loader.h"
#include "services/local_server.h"
#include "base/util.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: durabench plugins [--plugin-dir DIR]\n"
	        "\n"
	        "Lists every provider plugin (*.so) found in the search path, in search\n"
	        "order: --plugin-dir (it must exist), $DURABENCH_PLUGIN_PATH (colon\n"
	        "separated), the build tree (only for a durabench that itself runs from\n"
	        "it), the installed plugin directory.  For each: name, ABI version, file,\n"
	        "description and accepted options; a file that cannot be used as a plugin\n"
	        "is listed with the reason.\n"
	        "\n"
	        "  --plugin-dir DIR  search DIR first\n"
	        "  --help            this text\n"
	        "\n"
	        "Exit status: 0 if at least one usable plugin was found, 2 otherwise.\n");
}

struct listing {
	size_t usable;
	size_t refused;
};

static void print_option(const struct dura_provider_ops *ops, const struct dura_option_spec *s)
{
	const char *local = dura_plugin_local_server(ops);
	char address[128];
	snprintf(address, sizeof address, " [address: %s%s%s and emulate_* accepted]",
	         local ? "'auto' (a local " : "", local ? local : "", local ? " server)" : "");
	const char *def = s->default_value ? s->default_value : "";
	/* A secret default (a password) is never printed. */
	if ((s->flags & DURA_OPT_SECRET) && *def)
		def = "***";
	printf("    %-20s default: %-14s %s%s%s\n", s->name, *def ? def : "(none)",
	       s->help ? s->help : "",
	       (s->flags & DURA_OPT_URL) ? address : "",
	       (s->flags & DURA_OPT_SECRET) ? " [secret]" : "");
}

static void list_one(const char *path, void *arg)
{
	struct listing *l = arg;
	struct dura_plugin p;
	char err[1024];
	if (dura_plugin_load(path, NULL, &p, err, sizeof err) != 0) {
		l->refused++;
		printf("(unusable)  %s\n    error: %s\n\n", path, err);
		return;
	}
	l->usable++;
	const struct dura_provider_ops *ops = p.ops;
	printf("%s  (ABI %u.%u)  %s\n", ops->name, (unsigned)ops->abi_major,
	       (unsigned)ops->abi_minor, p.path);
	printf("    %s\n", ops->description ? ops->description : "(no description)");
	char note[1024];
	if (dura_plugin_newer_minor(&p, note, sizeof note))
		printf("    note: %s\n", note);
	if (!ops->options[0].name) {
		printf("    options: none\n");
	} else {
		printf("    options:\n");
		for (const struct dura_option_spec *s = ops->options; s->name; s++)
			print_option(ops, s);
	}
	printf("\n");
	dura_plugin_unload(&p);
}

int dura_cmd_plugins(int argc, char **argv)
{
	const char *plugin_dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return DURA_EXIT_OK;
		} else if (strcmp(argv[i], "--plugin-dir") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "durabench plugins: --plugin-dir needs a directory\n");
				return DURA_EXIT_USAGE;
			}
			plugin_dir = argv[++i];
		} else if (strncmp(argv[i], "--plugin-dir=", 13) == 0) {
			plugin_dir = argv[i] + 13;
		} else {
			fprintf(stderr, "durabench plugins: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return DURA_EXIT_USAGE;
		}
	}
	char err[512];
	if (dura_plugin_dir_check(plugin_dir, err, sizeof err) != 0) {
		fprintf(stderr, "durabench plugins: %s\n", err);
		return DURA_EXIT_USAGE;
	}
	printf("durabench ABI %u.%u\n\n", (unsigned)DURA_ABI_MAJOR, (unsigned)DURA_ABI_MINOR);
	struct listing l = { 0, 0 };
	dura_plugin_foreach_candidate(plugin_dir, list_one, &l);
	printf("%zu usable plugin%s, %zu refused\n", l.usable, l.usable == 1 ? "" : "s", l.refused);
	if (l.usable == 0) {
		fprintf(stderr, "durabench plugins: no usable plugin found in the search path\n");
		return DURA_EXIT_USAGE;
	}
	return DURA_EXIT_OK;
}
