/*
 * Hiding passwords in any text before it is printed or written.
 *
 * dura_url_mask (url.h) masks one value known to be a libpq address.  The
 * functions here work on free text (error messages, report lines) in which
 * an address may sit whole, cut, quoted or mangled, of any scheme, and on
 * text that no parser could read.  Two nets, both applied:
 *   - patterns: the password of every "scheme://user:password@" and the
 *     value of every "password=" / "sslpassword=" pair (quoted or not);
 *   - known secrets: every password durabench was handed (command line,
 *     scenario values, url = auto) is noted once and hidden wherever it
 *     shows up, even alone (libpq quotes only the bad token of a URL:
 *     invalid percent-encoded token: "sec%zzret").
 * Masked text shows "***" in place of each secret.
 */
#ifndef DURA_MASK_H
#define DURA_MASK_H

#include <stdio.h>

/* A copy of text with every secret replaced by "***".  Caller frees.
 * Never NULL (NULL text gives ""). Thread-safe. */
char *dura_text_mask(const char *text);

struct dura_buf;
/* Appends the masked form of text[0..n) to b; text[n] must be '\0'. */
void dura_mask_append(struct dura_buf *b, const char *text, size_t n);

/* Notes the secrets that value carries (what the patterns would hide in it,
 * reading the whole value as one address, plus their %-decoded forms and
 * their pieces between URL delimiters such as '/' and '@'), so
 * that dura_text_mask hides them anywhere later.  Secrets shorter than
 * DURA_SECRET_MIN_LEN are left to the patterns alone (hiding every "pw" in
 * a report would garble it).  Thread-safe; NULL is ignored. */
#define DURA_SECRET_MIN_LEN 3
void dura_secret_note(const char *value);

/* Notes one secret as it is (a generated password, for instance). */
void dura_secret_note_exact(const char *secret);

/* A stream that masks everything written to it, then writes it to real.
 * Lines are masked whole: text is held until its '\n' (or the close)
 * unless emit_partial, where each write is masked and passed on at once
 * (for an unbuffered stderr with progress lines ending in '\r').
 * Closing it flushes and, if close_real, closes real.  NULL on failure. */
FILE *dura_mask_stream(FILE *real, int close_real, int emit_partial);

/* Replaces stdout and stderr by masking streams over the originals (stdout
 * line buffered, stderr unbuffered).  Call once, first thing in main. */
void dura_mask_stdio(void);

/* fopen(path, "w") behind a masking stream, or NULL with errno. */
FILE *dura_mask_fopen(const char *path);

#endif
