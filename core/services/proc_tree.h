/*
 * The direct children of a process, read from /proc (Linux): what the
 * server faults need to stall or cut a PostgreSQL server whose backends
 * each lead a session of their own (so no process group reaches them).
 */
#ifndef DURA_PROC_TREE_H
#define DURA_PROC_TREE_H

#include <stddef.h>
#include <sys/types.h>

/* Pids of the live children of parent; *out is malloc'ed (caller frees),
 * returns the count (0 with *out NULL when none or /proc is unreadable). */
size_t dura_proc_children(pid_t parent, pid_t **out);

/* The command line of pid as ps shows it (arguments joined by spaces; a
 * process that rewrote its title shows the title), "" when unreadable. */
void dura_proc_cmdline(pid_t pid, char *buf, size_t len);

/* Waits up to ms for pid to be stopped (stopped = 1: state T after
 * SIGSTOP) or running again (stopped = 0), since a signal takes effect
 * after kill() returns.  A process that is exiting or gone counts as done.
 * Returns 0, or -1 on timeout. */
int dura_proc_wait_state(pid_t pid, int stopped, unsigned ms);

#endif
