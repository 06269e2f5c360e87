/* The INI reader: whole lines, counted, never truncated (see ini_reader.h). */
#include "config.h"

#include "ini_reader.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum read_status { LINE_OK, LINE_EOF, LINE_ERROR };

/* Reads one physical line into buf (capacity DURA_INI_MAX_LINE + 2) without
 * its "\n" or "\r\n".  On LINE_ERROR msg says why (too long, NUL byte, I/O). */
static enum read_status read_line(FILE *f, char *buf, size_t *len_out, char *msg, size_t msglen)
{
	size_t len = 0;
	int c;
	int any = 0;
	for (;;) {
		c = getc(f);
		if (c == EOF || c == '\n')
			break;
		any = 1;
		if (c == '\0') {
			dura_errbuf(msg, msglen, "NUL byte in line (not a text file?)");
			return LINE_ERROR;
		}
		if (len == DURA_INI_MAX_LINE + 1) {
			/* One byte more than allowed is stored; only a "\r" before
			 * the newline may still make it fit. */
			dura_errbuf(msg, msglen,
			            "line is longer than %d bytes; durabench never cuts a value: "
			            "shorten it or put it in an environment variable and write ${NAME}",
			            DURA_INI_MAX_LINE);
			return LINE_ERROR;
		}
		buf[len++] = (char)c;
	}
	if (c == EOF && ferror(f)) {
		dura_errbuf(msg, msglen, "cannot read: %s", strerror(errno ? errno : EIO));
		return LINE_ERROR;
	}
	if (len && buf[len - 1] == '\r')
		len--;
	if (len > DURA_INI_MAX_LINE) {
		dura_errbuf(msg, msglen,
		            "line is longer than %d bytes; durabench never cuts a value: "
		            "shorten it or put it in an environment variable and write ${NAME}",
		            DURA_INI_MAX_LINE);
		return LINE_ERROR;
	}
	buf[len] = '\0';
	*len_out = len;
	return (c == EOF && !any) ? LINE_EOF : LINE_OK;
}

/* Trims whitespace in place; returns the start. */
static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	s[n] = '\0';
	return s;
}

/* Cuts an inline comment: a ';' preceded by a space or tab. */
static void cut_inline_comment(char *s)
{
	for (char *p = s; *p; p++) {
		if (*p == ';' && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

/* Handles one line.  *section is the current section (owned here, freed by
 * the caller at the end).  Returns 0 or -1 with msg filled. */
static int parse_line(char *raw, int line, char **section, dura_ini_handler handler,
                      void *user, char *msg, size_t msglen)
{
	char *s = trim(raw);
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close) {
			dura_errbuf(msg, msglen, "unterminated section header (missing ']'): %.60s", s);
			return -1;
		}
		char *rest = close + 1;
		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest != '\0' && *rest != ';' && *rest != '#') {
			dura_errbuf(msg, msglen, "unexpected text after ']': %.60s", rest);
			return -1;
		}
		*close = '\0';
		char *name = trim(s + 1);
		if (*name == '\0') {
			dura_errbuf(msg, msglen, "empty section name '[]'");
			return -1;
		}
		free(*section);
		*section = dura_xstrdup(name);
		return handler(user, line, *section, NULL, NULL, msg, msglen) == 0 ? 0 : -1;
	}
	char *eq = strchr(s, '=');
	if (!eq) {
		dura_errbuf(msg, msglen,
		            "expected 'key = value' or '[section]', found '%.60s%s'", s,
		            strlen(s) > 60 ? "..." : "");
		return -1;
	}
	*eq = '\0';
	char *key = trim(s);
	char *value = eq + 1;
	cut_inline_comment(value);
	value = trim(value);
	if (*key == '\0') {
		dura_errbuf(msg, msglen, "missing key before '='");
		return -1;
	}
	if (!*section) {
		dura_errbuf(msg, msglen, "key '%.60s' before the first [section]", key);
		return -1;
	}
	return handler(user, line, *section, key, value, msg, msglen) == 0 ? 0 : -1;
}

int dura_ini_parse_stream(FILE *f, const char *name, dura_ini_handler handler,
                          void *user, char *err, size_t errlen)
{
	char *buf = dura_xmalloc(DURA_INI_MAX_LINE + 2); /* freed below */
	char *section = NULL;                              /* freed below */
	char msg[512] = "";
	int line = 0;
	int rc = 0;
	for (;;) {
		size_t len;
		line++;
		enum read_status st = read_line(f, buf, &len, msg, sizeof msg);
		if (st == LINE_EOF)
			break;
		if (st == LINE_ERROR) {
			rc = -1;
			break;
		}
		char *text = buf;
		if (line == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
			text += 3; /* byte-order mark some editors write */
		msg[0] = '\0';
		if (parse_line(text, line, &section, handler, user, msg, sizeof msg) != 0) {
			if (!msg[0])
				dura_errbuf(msg, sizeof msg, "rejected");
			rc = -1;
			break;
		}
	}
	if (rc != 0)
		dura_errbuf(err, errlen, "%s:%d: %s", name, line, msg);
	free(section);
	free(buf);
	return rc;
}

int dura_ini_parse_file(const char *path, dura_ini_handler handler, void *user,
                        char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		dura_errbuf(err, errlen, "%s:0: cannot read: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		dura_errbuf(err, errlen, "%s:0: cannot read: %s", path, strerror(EISDIR));
		fclose(f);
		return -1;
	}
	int rc = dura_ini_parse_stream(f, path, handler, user, err, errlen);
	fclose(f);
	return rc;
}
