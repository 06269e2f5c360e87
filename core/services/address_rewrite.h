/*
 * Where a provider's address points, and the same address pointed at the
 * delay proxy instead (emulate_rtt and friends).  Three forms:
 *
 *   libpq          postgresql://... / postgres://... URLs, key=value
 *                  conninfo, and the empty string (PG* defaults).  Parsed
 *                  by libpq itself (PQconninfoParse) when durabench is
 *                  built with PostgreSQL.  Rewritten as a conninfo that
 *                  keeps host (the name TLS verify-full and .pgpass match)
 *                  and sets hostaddr and port to the proxy.
 *   URL            scheme://[user[:password]@]host[:port][/path][?query]
 *                  of any other scheme (mysql://, mariadb://, redis://...):
 *                  host and port are replaced, the rest is kept byte for
 *                  byte.  [v6] literals are accepted.
 *   host:port      a bare endpoint, replaced whole.
 *
 * Only one TCP endpoint can be proxied: several hosts, Unix sockets and a
 * missing port (outside libpq, which defaults to 5432) are refused with a
 * message that says what to give instead.
 */
#ifndef DURA_ADDRESS_REWRITE_H
#define DURA_ADDRESS_REWRITE_H

#include <stddef.h>

/* The TCP endpoint addr points at.  0, or -1 with a message. */
int dura_address_endpoint(const char *addr, char *host, size_t hostlen, int *port,
                          char *err, size_t errlen);

/* addr pointed at host:port instead (see above).  Caller frees.  NULL with
 * a message if addr cannot be parsed. */
char *dura_address_rewrite(const char *addr, const char *host, int port,
                           char *err, size_t errlen);

#endif
