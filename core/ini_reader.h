/*
 * A small INI reader that never truncates and always knows its line number.
 *
 * Why not inih: Debian 12's libinih (r55) is compiled with a 200-byte line
 * buffer (INI_MAX_LINE, fixed when the library was built) and calls the
 * handler without a line number.  A longer line -- a libpq URL with a few
 * parameters easily is one -- is cut at 199 bytes and its tail parsed as a
 * new line.  ini_parse_stream with a reader of our own could count lines and
 * refuse long lines, but it could never pass a 500-byte value through that
 * buffer; handing inih placeholders instead would mean splitting every line
 * ourselves anyway.  So this file is the whole parser: the grammar is tiny
 * and matches inih's defaults where they are sensible.
 *
 * Grammar, one construct per physical line:
 *   - a UTF-8 byte-order mark at the start of the file is skipped;
 *   - leading and trailing whitespace is ignored (also '\r' of CRLF files);
 *   - an empty line, or one starting with ';' or '#', is a comment;
 *   - "[text]" starts a section; after ']' only whitespace or a comment
 *     (';' or '#') may follow; text is trimmed and may not be empty;
 *   - "key = value": split at the FIRST '=' (values may contain '=', as in
 *     URL query strings); an inline comment starts at a ';' preceded by a
 *     space or tab; key and value are trimmed; the value may be empty;
 *   - anything else is an error.  There are no multi-line values, no
 *     quoting and no ':' delimiter (unlike inih).
 * A line may hold at most DURA_INI_MAX_LINE bytes (without its newline); a
 * longer line is an error, never cut.  A NUL byte in a line is an error.
 */
#ifndef DURA_INI_READER_H
#define DURA_INI_READER_H

#include <stddef.h>
#include <stdio.h>

#define DURA_INI_MAX_LINE 8192

/* Called for every section header (key and value NULL) and every key/value
 * pair, in file order.  section is the trimmed text between the brackets
 * ("provider pg-local"); it is never NULL (a pair before the first section
 * is rejected by the reader).  The strings are valid during the call only.
 * Return 0 to go on; non-zero stops the parse: then write the reason into
 * msg (without file or line: the reader adds "NAME:LINE: "). */
typedef int (*dura_ini_handler)(void *user, int line, const char *section,
                                const char *key, const char *value,
                                char *msg, size_t msglen);

/* Reads f to the end (or the first error).  name is used in messages.
 * Returns 0, or -1 with err = "NAME:LINE: message". */
int dura_ini_parse_stream(FILE *f, const char *name, dura_ini_handler handler,
                          void *user, char *err, size_t errlen);

/* Opens path and parses it.  An unreadable file gives
 * "PATH:0: cannot read: <strerror>". */
int dura_ini_parse_file(const char *path, dura_ini_handler handler, void *user,
                        char *err, size_t errlen);

#endif
