/*
 * The INI reader: libinih's ini_parse_stream does the parsing; the reader
 * callback we hand it reads whole physical lines itself, so that
 *   - every line is counted (Debian 12's libinih r55 calls the handler
 *     without a line number; our count stays in step with inih's because the
 *     reader returns exactly one physical line per call),
 *   - an overlong line is refused with its file:line instead of being cut at
 *     inih's 200-byte buffer (which would silently truncate a value and parse
 *     its tail as a new line),
 *   - indented lines are not taken for inih's multi-line continuations,
 *   - section headers are seen even when the section has no keys (inih only
 *     calls the handler for key = value pairs).
 * See ini_reader.h for the grammar.
 */
#include "config.h"

#include "ini_reader.h"
#include "mask.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct pending_section {
	int line;
	char *name; /* owned */
};

struct ini_state {
	FILE *f;
	dura_ini_handler handler;
	void *user;
	int line;                         /* physical lines read so far */
	char **lines;                     /* text of each line as given to inih
	                                     (owned), to explain inih's errors */
	int n_lines;
	struct pending_section *pending;  /* headers not yet delivered */
	size_t n_pending;
	char *section;                    /* current section (owned) */
	int failed;
	int err_line;
	char msg[512];
};

__attribute__((format(printf, 3, 4)))
static void fail(struct ini_state *st, int line, const char *fmt, ...)
{
	if (st->failed)
		return;
	st->failed = 1;
	st->err_line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof st->msg, fmt, ap);
	va_end(ap);
}

/* Reads one physical line without its "\n"/"\r\n" into *buf (grown as
 * needed, owned by the caller).  Returns its length, or -1 at end of file.
 * A line longer than limit is still consumed but flagged by a length above
 * limit (its text is then not complete). */
static long read_physical_line(FILE *f, char **buf, size_t *cap, size_t limit, int *nul)
{
	size_t len = 0;
	int c, any = 0;
	*nul = 0;
	while ((c = getc(f)) != EOF && c != '\n') {
		any = 1;
		if (c == '\0')
			*nul = 1;
		if (len <= limit + 1) { /* keep one extra byte for a final '\r' */
			if (len + 1 >= *cap) {
				*cap = *cap ? *cap * 2 : 256;
				*buf = dura_xrealloc(*buf, *cap);
			}
			(*buf)[len] = (char)c;
		}
		len++;
	}
	if (!any && c == EOF)
		return -1;
	if (!*cap) { /* an empty line still needs its terminator */
		*cap = 256;
		*buf = dura_xrealloc(*buf, *cap);
	}
	if (len <= limit + 1 && len && (*buf)[len - 1] == '\r')
		len--;
	/* An overlong line keeps its first limit + 2 bytes (refused by the
	 * caller, but still terminated: it is noted as a secret first). */
	(*buf)[len <= limit + 1 ? len : limit + 2] = '\0';
	return (long)len;
}

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

/* Notes a "[name]" line for delivery, or fails on what inih would accept
 * but we do not (text after ']', an empty name).  A header without ']' is
 * left for inih to reject. */
static void note_section(struct ini_state *st, const char *text)
{
	const char *close = strchr(text, ']');
	if (!close) {
		/* inih notes this but goes on parsing; stop here with a reason. */
		fail(st, st->line, "unterminated section header (missing ']'): %.60s", text);
		return;
	}
	const char *rest = close + 1;
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest && *rest != ';' && *rest != '#') {
		fail(st, st->line, "unexpected text after ']': %.60s", rest);
		return;
	}
	char *name = dura_xstrndup(text + 1, (size_t)(close - text - 1));
	char *t = trim(name);
	if (!*t) {
		free(name);
		fail(st, st->line, "empty section name '[]'");
		return;
	}
	memmove(name, t, strlen(t) + 1);
	st->pending = dura_xrealloc(st->pending, (st->n_pending + 1) * sizeof *st->pending);
	st->pending[st->n_pending].line = st->line;
	st->pending[st->n_pending].name = name;
	st->n_pending++;
}

/* ini_reader: hands inih one physical line per call. */
static char *reader(char *str, int num, void *stream)
{
	struct ini_state *st = stream;
	static const size_t keep = 3; /* inih needs room for "\r\n\0" */
	if (st->failed || num <= (int)keep)
		return NULL;
	size_t limit = (size_t)num - keep;
	char *buf = NULL; /* freed below or kept in st->lines */
	size_t cap = 0;
	int nul;
	long len = read_physical_line(st->f, &buf, &cap, limit, &nul);
	if (len < 0) {
		if (ferror(st->f))
			fail(st, st->line + 1, "cannot read: %s", strerror(errno ? errno : EIO));
		free(buf);
		return NULL;
	}
	st->line++;
	/* Before anything can echo the line in an error message. */
	dura_secret_note(buf);
	if (nul) {
		fail(st, st->line, "NUL byte in line (not a text file?)");
	} else if ((size_t)len > limit) {
		fail(st, st->line, "line is %ld bytes, longer than the %zu bytes the system's INI parser "
		     "(libinih) reads; durabench never cuts a value: put a long value (such as a URL) "
		     "in an environment variable and write ${NAME}", len, limit);
	}
	if (st->failed) {
		free(buf);
		return NULL;
	}
	char *text = buf;
	if (st->line == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		text += 3; /* byte-order mark some editors write */
	while (isspace((unsigned char)*text))
		text++; /* no multi-line continuations: every line stands alone */
	if (*text == '[') {
		note_section(st, text);
	} else if (*text && *text != ';' && *text != '#') {
		/* inih also splits at ':'; our grammar has '=' only. */
		size_t span = strcspn(text, "=:");
		if (text[span] == ':')
			fail(st, st->line, "expected 'key = value' or '[section]', found '%.60s'", text);
	}
	st->lines = dura_xrealloc(st->lines, (size_t)st->line * sizeof *st->lines);
	st->lines[st->line - 1] = dura_xstrdup(text);
	st->n_lines = st->line;
	free(buf);
	if (st->failed)
		return NULL;
	snprintf(str, (size_t)num, "%s\n", st->lines[st->line - 1]);
	return str;
}

/* Delivers every section header read so far (they precede the current
 * line).  Returns 0, or -1 after failing. */
static int deliver_sections(struct ini_state *st)
{
	for (size_t i = 0; i < st->n_pending && !st->failed; i++) {
		struct pending_section *p = &st->pending[i];
		free(st->section);
		st->section = p->name;
		p->name = NULL;
		char msg[512] = "";
		if (st->handler(st->user, p->line, st->section, NULL, NULL, msg, sizeof msg) != 0)
			fail(st, p->line, "%s", msg[0] ? msg : "rejected");
	}
	for (size_t i = 0; i < st->n_pending; i++)
		free(st->pending[i].name);
	st->n_pending = 0;
	return st->failed ? -1 : 0;
}

/* ini_handler: inih calls this for each key = value (trimmed, inline comment
 * cut).  inih's section argument is not used: it is truncated at 50 bytes
 * and untrimmed; ours comes from the reader. */
static int on_pair(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *st = user;
	(void)section;
	if (st->failed || deliver_sections(st) != 0)
		return 1; /* stop is signalled by the reader returning NULL */
	if (!*key) {
		fail(st, st->line, "missing key before '='");
		return 1;
	}
	if (!st->section) {
		fail(st, st->line, "key '%.60s' before the first [section]", key);
		return 1;
	}
	char msg[512] = "";
	if (st->handler(st->user, st->line, st->section, key, value, msg, sizeof msg) != 0)
		fail(st, st->line, "%s", msg[0] ? msg : "rejected");
	return 1;
}

int dura_ini_parse_stream(FILE *f, const char *name, dura_ini_handler handler,
                          void *user, char *err, size_t errlen)
{
	struct ini_state st = { .f = f, .handler = handler, .user = user };
	int rc = ini_parse_stream(reader, &st, on_pair, &st);
	if (!st.failed && rc > 0) {
		/* inih found a line it cannot parse. */
		const char *text = rc <= st.n_lines ? st.lines[rc - 1] : "";
		if (*text == '[')
			fail(&st, rc, "unterminated section header (missing ']'): %.60s", text);
		else
			fail(&st, rc, "expected 'key = value' or '[section]', found '%.60s'", text);
	} else if (!st.failed && rc < 0) {
		fail(&st, st.line, "the INI parser could not allocate memory");
	}
	if (!st.failed)
		deliver_sections(&st); /* trailing sections without keys */
	if (st.failed)
		dura_errbuf(err, errlen, "%s:%d: %s", name, st.err_line, st.msg);
	for (int i = 0; i < st.n_lines; i++)
		free(st.lines[i]);
	free(st.lines);
	for (size_t i = 0; i < st.n_pending; i++)
		free(st.pending[i].name);
	free(st.pending);
	free(st.section);
	return st.failed ? -1 : 0;
}

int dura_ini_parse_file(const char *path, dura_ini_handler handler, void *user,
                        char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		dura_errbuf(err, errlen, "%s:0: cannot read: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		dura_errbuf(err, errlen, "%s:0: cannot read: %s", path, strerror(EISDIR));
		fclose(f);
		return -1;
	}
	int rc = dura_ini_parse_stream(f, path, handler, user, err, errlen);
	fclose(f);
	return rc;
}
