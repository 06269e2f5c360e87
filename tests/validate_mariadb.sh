#!/bin/sh
# The MariaDB provider passes the conformance suite against a real server
# (url = auto: a throwaway mariadbd durabench starts and removes), prints
# its address with the password masked, and leaves no server behind.
set -u
. "${top_srcdir:?}/tests/mariadb_common.sh"

"$DURABENCH" validate --plugin mariadb --option url=auto >"$tmp/out" 2>"$tmp/err"
rc=$?
last=$(tail -n 1 "$tmp/out")
passed=${last%% passed*}
if [ "$rc" -eq 0 ] && echo "$last" | grep -qE '^[0-9]+ passed, 0 failed, [0-9]+ skipped$' && [ "$passed" -ge 40 ]; then
	ok "mariadb, url = auto: $last"
else
	not_ok "mariadb, url = auto: exit $rc, '$last'"
	grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
	sed 's/^/# stderr: /' "$tmp/err"
fi
if grep -q 'mariadb://durabench:\*\*\*@127\.0\.0\.1:' "$tmp/out" &&
	! grep -qE 'durabench:[0-9a-f]{48}@' "$tmp/out" "$tmp/err"; then
	ok "the server's address is printed with its password masked"
else
	not_ok "address printed with the password masked"
	grep -i 'address' "$tmp/out" | sed 's/^/# /'
fi
check "no throwaway server or directory left behind" servers_gone

# A server that refuses connections: a clear error naming it, not a hang.
"$DURABENCH" validate --plugin mariadb --option 'url=mariadb://u:pw@127.0.0.1:1' \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "127.0.0.1:1" "$tmp/out" "$tmp/err" &&
	! grep -q ':pw@' "$tmp/out" "$tmp/err"; then
	ok "refused server: clear error (exit $rc), password masked"
else
	not_ok "refused server (exit $rc)"
	sed 's/^/# /' "$tmp/out" "$tmp/err" | head -20
fi
finish
