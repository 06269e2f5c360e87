
/*
 * From PostgreSQL errors to dura_rc and one-line messages.
 *
 *   08xxx connection exceptions, 40001 serialization failure, 40P01
 *   deadlock, 57P01/57P02/57P03 shutdown / crash / cannot connect now,
 *   53300 too many connections, 53200 out of memory, 55P03 lock not
 *   available, 57014 query cancelled               -> DURA_RETRY
 *   DBL01 (raised by our functions: token unknown, expired or used)
 *                                                  -> DURA_LOCK_LOST
 *   23505 unique violation (history event id)      -> DURA_PERMANENT
 *   42xxx syntax/undefined object/privilege, 3F000 no such schema,
 *   3D000 no such database, 28xxx authentication   -> DURA_CONFIG
 *   anything else                                  -> DURA_PERMANENT
 * A failure without SQLSTATE comes from libpq itself: a lost connection
 * (RETRY) unless the connection is still fine (PERMANENT).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pg_internal.h"

void dura_pg_err(struct dura_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

dura_rc dura_pg_sqlstate_rc(const char *s, int conn_ok)
{
	if (!s || strlen(s) != 5)
		return conn_ok ? DURA_PERMANENT : DURA_RETRY;
	if (strncmp(s, "08", 2) == 0)
		return DURA_RETRY;
	static const char *const retry[] = {
		"40001", "40P01", "57P01", "57P02", "57P03", "53300", "53200",
		"55P03", "57014", "58000", "58030", NULL,
	};
	for (size_t i = 0; retry[i]; i++)
		if (strcmp(s, retry[i]) == 0)
			return DURA_RETRY;
	if (strcmp(s, "DBL01") == 0)
		return DURA_LOCK_LOST;
	if (strcmp(s, "23505") == 0)
		return DURA_PERMANENT;
	if (strncmp(s, "42", 2) == 0 || strcmp(s, "3F000") == 0 ||
	    strcmp(s, "3D000") == 0 || strncmp(s, "28", 2) == 0)
		return DURA_CONFIG;
	/* the connection may have died while the error was produced */
	return conn_ok ? DURA_PERMANENT : DURA_RETRY;
}

int dura_pg_sqlstate_rolled_back(const char *s)
{
	return s && (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
	             strcmp(s, "55P03") == 0);
}

void dura_pg_one_line(char *dst, size_t len, const char *src,
                      const char *secret)
{
	if (!len)
		return;
	size_t slen = secret ? strlen(secret) : 0;
	size_t o = 0;
	int space = 0;
	for (const char *p = src ? src : ""; *p && o + 1 < len;) {
		if (slen && strncmp(p, secret, slen) == 0) {
			for (const char *m = "***"; *m && o + 1 < len; m++)
				dst[o++] = *m;
			p += slen;
			space = 0;
			continue;
		}
		char c = *p++;
		if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
			space = 1;
			continue;
		}
		if (space && o > 0 && o + 1 < len)
			dst[o++] = ' ';
		space = 0;
		if (o + 1 < len)
			dst[o++] = c;
	}
	dst[o] = '\0';
}

dura_rc dura_pg_result_error(PGconn *conn, const PGresult *res,
                             const char *what, struct dura_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	int conn_ok = conn && PQstatus(conn) == CONNECTION_OK;
	char msg[400];
	const char *secret = conn ? PQpass(conn) : NULL;
	if (secret && strlen(secret) < 3)
		secret = NULL; /* masking a 1-2 character password would garble text */
	dura_pg_one_line(msg, sizeof msg,
	                 primary ? primary : (conn ? PQerrorMessage(conn) : "no connection"),
	                 secret);
	if (!msg[0])
		snprintf(msg, sizeof msg, "connection lost");
	char det[200] = "";
	if (detail)
		dura_pg_one_line(det, sizeof det, detail, secret);
	dura_rc rc = dura_pg_sqlstate_rc(state, conn_ok);
	dura_pg_err(err, "PostgreSQL %s: %s%s%s%s%s%s", what, msg,
	            det[0] ? " (" : "", det, det[0] ? ")" : "",
	            state ? " SQLSTATE " : "", state ? state : "");
	return rc;
}

void dura_pg_connect_error(PGconn *conn, char *dst, size_t len)
{
	const char *host = conn ? PQhost(conn) : NULL;
	const char *port = conn ? PQport(conn) : NULL;
	const char *user = conn ? PQuser(conn) : NULL;
	const char *db = conn ? PQdb(conn) : NULL;
	const char *secret = conn ? PQpass(conn) : NULL;
	if (secret && strlen(secret) < 3)
		secret = NULL;
	char why[300];
	dura_pg_one_line(why, sizeof why, conn ? PQerrorMessage(conn) : "out of memory",
	                 secret);
	snprintf(dst, len, "cannot connect to PostgreSQL at %s:%s (user %s, database %s): %s",
	         host && *host ? host : "localhost", port && *port ? port : "5432",
	         user && *user ? user : "?", db && *db ? db : "?", why);
}
