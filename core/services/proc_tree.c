/* Children and command lines of processes, from /proc (proc_tree.h). */
#include "config.h"

#include "proc_tree.h"
#include "base/util.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* State letter of /proc/PID/stat ('?' when gone). */
static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	char *close_paren = strrchr(buf, ')');
	return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

int dura_proc_wait_state(pid_t pid, int stopped, unsigned ms)
{
	uint64_t deadline = dura_now_ms() + ms;
	for (;;) {
		char st = state_of(pid);
		if (st == '?' || st == 'Z' || st == 'X' || (st == 'T') == (stopped != 0))
			return 0;
		if (dura_now_ms() >= deadline)
			return -1;
		dura_sleep_ms(1);
	}
}

/* Parent pid from /proc/PID/stat, -1 when unreadable.  The command name
 * (field 2) may hold spaces and parentheses: parse after the last ')'. */
static long parent_of(const char *pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *close_paren = strrchr(buf, ')');
	char state;
	long ppid;
	if (!close_paren || sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2)
		return -1;
	return state == 'Z' || state == 'X' ? -1 : ppid; /* a zombie takes no signal */
}

size_t dura_proc_children(pid_t parent, pid_t **out)
{
	*out = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (parent_of(e->d_name) != (long)parent)
			continue;
		*out = dura_xrealloc(*out, (n + 1) * sizeof **out);
		(*out)[n++] = (pid_t)strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return n;
}

void dura_proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}
