/*
 * MariaDB server and client error numbers -> dura_rc.
 *
 *   RETRY      deadlock (1213), lock wait timeout (1205), statement or
 *              connection killed, server shutting down, too many
 *              connections, and every client-side connection failure
 *              (CR_* 2002..2055: cannot connect, server gone, lost
 *              connection -- a read/write timeout is reported as 2013)
 *   LOCK_LOST  our procedures' SIGNAL MYSQL_ERRNO 30001
 *   PERMANENT  duplicate key (a duplicate event id), data too long, bad
 *              value: the request itself cannot succeed
 *   CONFIG     access denied, unknown database/table/procedure, the
 *              schema or server is unusable (wrong version, read-only)
 *   CORRUPT    a table or index the server reports as corrupt (1034,
 *              1194, 1195)
 *   anything else: PERMANENT (the message carries the number)
 */
#include <stdarg.h>
#include <stdio.h>

#include "mdb_internal.h"

/* Server error numbers (mysqld_error.h); spelled out so the mapping reads
 * in one place. */
enum {
	ER_NOT_KEYFILE = 1034,           /* index file corrupt */
	ER_CON_COUNT = 1040,
	ER_DBACCESS_DENIED = 1044,
	ER_ACCESS_DENIED = 1045,
	ER_BAD_DB = 1049,
	ER_SERVER_SHUTDOWN = 1053,
	ER_DUP_ENTRY = 1062,
	ER_NO_SUCH_TABLE = 1146,
	ER_LOCK_WAIT_TIMEOUT = 1205,
	ER_LOCK_DEADLOCK = 1213,
	ER_TABLEACCESS_DENIED = 1142,
	ER_CRASHED_ON_USAGE = 1194,      /* table marked as crashed */
	ER_CRASHED_ON_REPAIR = 1195,
	ER_SP_DOES_NOT_EXIST = 1305,
	ER_OPTION_PREVENTS = 1290,       /* read-only server */
	ER_DATA_TOO_LONG = 1406,
	ER_QUERY_INTERRUPTED = 1317,
	ER_CONNECTION_KILLED = 1927,
	ER_STATEMENT_TIMEOUT = 1969,
	ER_PROCACCESS_DENIED = 1370,
	ER_NEED_REPREPARE = 1615,
};

dura_rc dura_mdb_errno_rc(unsigned e)
{
	switch (e) {
	case MDB_ERRNO_LOCK_LOST:
		return DURA_LOCK_LOST;
	case ER_NOT_KEYFILE:
	case ER_CRASHED_ON_USAGE:
	case ER_CRASHED_ON_REPAIR:
		return DURA_CORRUPT;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_CON_COUNT:
	case ER_SERVER_SHUTDOWN:
	case ER_QUERY_INTERRUPTED:
	case ER_CONNECTION_KILLED:
	case ER_STATEMENT_TIMEOUT:
	case ER_NEED_REPREPARE:
		return DURA_RETRY;
	case ER_DBACCESS_DENIED:
	case ER_ACCESS_DENIED:
	case ER_BAD_DB:
	case ER_NO_SUCH_TABLE:
	case ER_TABLEACCESS_DENIED:
	case ER_SP_DOES_NOT_EXIST:
	case ER_OPTION_PREVENTS:
	case ER_PROCACCESS_DENIED:
		return DURA_CONFIG;
	case ER_DUP_ENTRY:
	case ER_DATA_TOO_LONG:
		return DURA_PERMANENT;
	default:
		break;
	}
	if (e >= 2000 && e < 3000) /* client errors (errmsg.h) */
		return (e >= 2002 && e <= 2013) || e == 2026 || e == 2055 ? DURA_RETRY
		                                                           : DURA_PERMANENT;
	return DURA_PERMANENT;
}

int dura_mdb_errno_broken(unsigned e)
{
	/* client-side failures and a killed session leave nothing usable;
	 * after a statement the server merely rejected, the session is fine */
	return (e >= 2000 && e < 3000) || e == ER_CONNECTION_KILLED || e == ER_SERVER_SHUTDOWN;
}

int dura_mdb_errno_rolled_back(unsigned e)
{
	/* InnoDB rolled back the whole transaction (deadlock), or our exit
	 * handler did (lock wait timeout inside a procedure) */
	return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_NEED_REPREPARE;
}

void dura_mdb_err(struct dura_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}
