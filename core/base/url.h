/*
 * Network addresses in provider options (options flagged DURA_OPT_URL):
 * libpq URLs (postgresql://user:pass@host:port/db?k=v), libpq key=value
 * conninfo strings, and the empty string (libpq defaults: PGHOST/PGPORT).
 */
#ifndef DURA_URL_H
#define DURA_URL_H

#include <stddef.h>

/* The TCP endpoint the value points at.  Empty value or missing parts fall
 * back to $PGHOST / $PGPORT, then localhost:5432.  A Unix-socket host (a
 * path) cannot be proxied: -1 with a message.  Returns 0 or -1. */
int dura_url_endpoint(const char *url, char *host, size_t hostlen, int *port,
                      char *err, size_t errlen);

/* A copy of url with host and port replaced (added if absent), same form
 * (URL or conninfo) as the input; everything else byte for byte.  Caller
 * frees.  NULL with err filled if url cannot be parsed. */
char *dura_url_rewrite(const char *url, const char *host, int port,
                       char *err, size_t errlen);

/* A copy safe to print: any password (URL userinfo, password=..., or a
 * password query parameter) replaced by "***".  Caller frees.  Never NULL. */
char *dura_url_mask(const char *url);

#endif
