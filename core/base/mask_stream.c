/* Streams that mask what is written to them (mask.h): stdout, stderr and
 * every report file go through one, so no message can reach a terminal or
 * a file with a password in it, whichever code path printed it. */
#include "config.h"

#include "mask.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mask_stream {
	FILE *real;          /* where masked text goes */
	int close_real;      /* fclose(real) when this stream is closed */
	int emit_partial;    /* pass on each write whole, not only full lines */
	struct dura_buf pending; /* text after the last '\n', not yet masked */
	struct dura_buf out;     /* scratch for the masked text (reused) */
};

/* Masks pending[0..len) and writes it to real.  Returns 0 or -1. */
static int emit(struct mask_stream *m, size_t len)
{
	char *text = (char *)m->pending.data;
	char saved = text[len];
	text[len] = '\0'; /* the searches need a terminated string */
	dura_buf_reset(&m->out);
	dura_mask_append(&m->out, text, len);
	text[len] = saved;
	memmove(text, text + len, m->pending.len - len + 1);
	m->pending.len -= len;
	if (m->out.len && fwrite(m->out.data, 1, m->out.len, m->real) != m->out.len)
		return -1;
	return fflush(m->real) == 0 ? 0 : -1;
}

static ssize_t mask_write(void *cookie, const char *buf, size_t size)
{
	struct mask_stream *m = cookie;
	dura_buf_append(&m->pending, buf, size);
	dura_buf_append(&m->pending, "", 1); /* keep it terminated ... */
	m->pending.len--;                    /* ... without counting the NUL */
	size_t len = m->pending.len;
	if (!m->emit_partial) {
		const char *text = (const char *)m->pending.data;
		while (len > 0 && text[len - 1] != '\n')
			len--;
	}
	if (len > 0 && emit(m, len) != 0) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)size;
}

static int mask_close(void *cookie)
{
	struct mask_stream *m = cookie;
	int rc = m->pending.len ? emit(m, m->pending.len) : 0;
	if (m->close_real && fclose(m->real) != 0)
		rc = -1;
	dura_buf_free(&m->pending);
	dura_buf_free(&m->out);
	free(m);
	return rc;
}

static FILE *open_mask(FILE *real, int close_real, int emit_partial,
                       struct mask_stream **cookie)
{
	struct mask_stream *m = dura_xcalloc(1, sizeof *m); /* owned by the stream */
	m->real = real;
	m->close_real = close_real;
	m->emit_partial = emit_partial;
	cookie_io_functions_t io = { .write = mask_write, .close = mask_close };
	FILE *f = fopencookie(m, "w", io);
	if (!f)
		free(m);
	*cookie = f ? m : NULL;
	return f;
}

FILE *dura_mask_stream(FILE *real, int close_real, int emit_partial)
{
	struct mask_stream *unused;
	return open_mask(real, close_real, emit_partial, &unused);
}

/* The masking stdout: a last line without '\n' is held in pending, and
 * exit() only flushes streams, never closes them. */
static struct mask_stream *stdout_mask;
/* The stderr stream's state, kept (and flushed at exit) as stdout's is:
 * leak checkers cannot see it through glibc's cookie FILE. */
static struct mask_stream *stderr_mask;

static void emit_rest(FILE *f, struct mask_stream *m)
{
	if (!m)
		return;
	fflush(f);
	flockfile(f);
	if (m->pending.len)
		emit(m, m->pending.len);
	funlockfile(f);
}

static void emit_stdio_rest(void)
{
	emit_rest(stdout, stdout_mask);
	emit_rest(stderr, stderr_mask);
}

void dura_mask_stdio(void)
{
	/* glibc's stdout and stderr are plain variables (assignable); the
	 * originals live on behind the masking streams and are flushed at
	 * exit through them. */
	struct mask_stream *out_mask, *err_mask;
	FILE *out = open_mask(stdout, 0, 0, &out_mask);
	FILE *err = open_mask(stderr, 0, 1, &err_mask);
	if (out) {
		setvbuf(out, NULL, _IOLBF, BUFSIZ);
		stdout_mask = out_mask;
		stdout = out;
	}
	if (err) {
		/* Unbuffered: each fprintf reaches mask_write whole (glibc formats
		 * into one buffer first), so a message is masked as one piece. */
		setvbuf(err, NULL, _IONBF, 0);
		stderr_mask = err_mask;
		stderr = err;
	}
	if (out || err)
		atexit(emit_stdio_rest);
}

FILE *dura_mask_fopen(const char *path)
{
	FILE *real = fopen(path, "w");
	if (!real)
		return NULL;
	FILE *f = dura_mask_stream(real, 1, 0);
	if (!f) {
		int saved = errno;
		fclose(real);
		errno = saved;
	}
	return f;
}
