/* durabench: subcommand dispatch. */
#include "config.h"

#include "commands.h"
#include "dura_commit.h"
#include "base/mask.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "run", dura_cmd_run, "run a scenario file on its providers and print comparison tables" },
	{ "check", dura_cmd_check, "parse and check a scenario file without running it" },
	{ "validate", dura_cmd_validate, "run the provider conformance suite on a plugin" },
	{ "plugins", dura_cmd_plugins, "list the provider plugins found and their options" },
	{ "proxy", dura_cmd_proxy, "run the TCP delay proxy standalone" },
	{ "worker", dura_cmd_worker, "join a run's store as one more worker process (scale-out)" },
};

const char *dura_version_string(void)
{
	return PACKAGE_STRING " (commit " DURA_GIT_COMMIT ")";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: durabench <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'durabench <command> --help' describes a command's options.\n"
	           "  --version  print the version\n");
}

int main(int argc, char **argv)
{
	/* A peer closing a socket (proxy, database) must surface as an error
	 * from write(), not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	/* Whatever is printed from here on is masked: every password given on
	 * the command line is known before anything can echo it. */
	dura_mask_stdio();
	for (int i = 1; i < argc; i++)
		dura_secret_note(argv[i]);

	if (argc < 2) {
		usage(stderr);
		return DURA_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("%s\n", dura_version_string());
		return DURA_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return DURA_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "durabench: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return DURA_EXIT_USAGE;
}
