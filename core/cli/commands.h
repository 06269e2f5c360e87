/*
 * The subcommands of the durabench program.  Each takes argv with argv[0]
 * being the subcommand name and returns the process exit code:
 *   0  success
 *   1  the work ran but failed (lost instances, verification or conformance
 *      failures, regression)
 *   2  bad usage or configuration (bad INI, unknown option, plugin refused,
 *      unreachable database)
 *   130 interrupted (Ctrl-C): what ran is reported
 */
#ifndef DURA_COMMANDS_H
#define DURA_COMMANDS_H

#define DURA_EXIT_OK 0
#define DURA_EXIT_FAIL 1
#define DURA_EXIT_USAGE 2
#define DURA_EXIT_INTERRUPTED 130 /* 128 + SIGINT, as a shell reports it */

int dura_cmd_run(int argc, char **argv);      /* core/cmd_run.c */
int dura_cmd_check(int argc, char **argv);    /* core/cmd_run.c */
int dura_cmd_validate(int argc, char **argv); /* core/cmd_validate.c */
int dura_cmd_plugins(int argc, char **argv);  /* core/cmd_plugins.c */
int dura_cmd_proxy(int argc, char **argv);    /* core/cmd_proxy.c */
int dura_cmd_worker(int argc, char **argv);   /* core/cli/cmd_worker.c */

/* "durabench 0.1.0 (commit abcdef)" */
const char *dura_version_string(void);

#endif
