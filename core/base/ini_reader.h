/*
 * Scenario-file reader: libinih (ini_parse_stream) with a line reader of our
 * own that counts lines and never lets a value be cut.
 *
 * Debian 12's libinih (r55) is compiled with a 200-byte line buffer
 * (INI_MAX_LINE; the runtime knobs its header exports do not change the
 * stack buffer the library was built with) and calls the handler without a
 * line number.  Left alone it cuts a longer line at 199 bytes and parses the
 * tail as a new line with a wrong number.  Our reader hands inih exactly one
 * physical line per call, so line numbers stay exact, and refuses a line
 * longer than DURA_INI_MAX_LINE with its file:line; a long value (a libpq
 * URL with many parameters) goes into an environment variable and the file
 * says ${NAME}, which the scenario loader expands without any limit.
 *
 * Grammar, one construct per physical line:
 *   - a UTF-8 byte-order mark at the start of the file is skipped;
 *   - leading and trailing whitespace is ignored (also '\r' of CRLF files);
 *     an indented line is an ordinary line (no multi-line values);
 *   - an empty line, or one starting with ';' or '#', is a comment;
 *   - "[text]" starts a section; after ']' only whitespace or a comment
 *     (';' or '#') may follow; text is trimmed and may not be empty;
 *   - "key = value": split at the FIRST '=' (values may contain '=', as in
 *     URL query strings); an inline comment starts at a ';' preceded by
 *     whitespace; key and value are trimmed; the value may be empty;
 *   - anything else (including inih's "key: value") is an error.
 * A NUL byte in a line is an error.
 */
#ifndef DURA_INI_READER_H
#define DURA_INI_READER_H

#include <stddef.h>
#include <stdio.h>

/* Longest line, in bytes without its newline: libinih's buffer less the
 * "\r\n\0" it needs. */
#define DURA_INI_MAX_LINE 197

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
