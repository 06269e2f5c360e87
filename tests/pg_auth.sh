#!/bin/sh
# url = auto opens no superuser to other users: while a run holds its
# throwaway server, a TCP connection without the password (or with a wrong
# one) is refused, another OS user (nobody) can neither log in over TCP nor
# reach the Unix socket, the password is on no process's command line or
# environment and in no file left readable, and it is printed only masked.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
psql=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

cat >"$tmp/auth.ini" <<'INI'
[run]
duration = 8s
warmup = 0s
configs = 1:1

[workload]
scenario = fanout
max_concurrent = 4
activity_delay = 5ms

[provider pg]
plugin = postgres
url = auto
keep = true
INI
"$DURABENCH" run "$tmp/auth.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
run_pid=$!
conn=""
for _ in $(seq 1 300); do
	conn=$(auto_psql_args "$tmp/err") && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.1
done
check "the run reports its server address" [ -n "$conn" ]
port=$(echo "$conn" | sed 's/.*-p \([0-9]*\).*/\1/')
dir=$(echo "$conn" | sed 's/.*-h \([^ ]*\).*/\1/')

# shellcheck disable=SC2086 # $conn is a list of options
who=$("$psql" $conn -XAtw -c 'select current_user' 2>&1)
check "the server is up (root over its Unix socket): $who" [ "$who" = postgres ]

out=$(PGPASSWORD= "$psql" -XAtw -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 42' 2>&1)
check "TCP without a password is refused: $out" has "$out" "no password supplied"
out=$(PGPASSWORD=guess "$psql" -XAtw -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 42' 2>&1)
check "TCP with a wrong password is refused: $out" has "$out" "password authentication failed"

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- env HOME=/ "$@"; }
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	out=$(as_nobody "$psql" -XAtw -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 42' 2>&1)
	check "another OS user (nobody) is refused over TCP: $out" has "$out" "no password supplied"
	out=$(as_nobody "$psql" -XAtw -h "$dir" -p "$port" -U postgres -d postgres -c 'select 42' 2>&1)
	check "another OS user (nobody) cannot reach the Unix socket: $out" has "$out" "Permission denied"
	out=$(as_nobody ls "$dir" 2>&1)
	check "another OS user (nobody) cannot look into the server directory: $out" has "$out" "Permission denied"
else
	ok "# SKIP not root, or no nobody/nogroup: the other-user checks need them"
	ok "# SKIP not root"
	ok "# SKIP not root"
fi

# The password is 48 hex digits; no process shows one on its command line
# or in its environment, and no file under the server directory holds it.
leaks=$(for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
	tr '\0' ' ' <"$f" 2>/dev/null | grep -lE '[0-9a-f]{48}' >/dev/null && echo "$f"
done)
check "no command line or environment holds a 48-hex-digit secret: $leaks" [ -z "$leaks" ]
check "initdb's password file is gone" [ ! -e "$dir/pwfile" ]

wait "$run_pid"
rc=$?
run_pid=""
check "the run itself (the plugin, given the password) succeeds (exit $rc)" [ "$rc" -eq 0 ] ||
	sed 's/^/# /' "$tmp/err"
check "the address is printed with the password masked" \
	grep -q 'at postgresql://postgres:\*\*\*@127\.0\.0\.1:' "$tmp/err"
check "no output holds the password" \
	not grep -qE '[0-9a-f]{48}' "$tmp/err" "$tmp/out.md" "$tmp/out.json"
schema=$(json_field "$tmp/out.json" runs.0.store | sed -n 's/.*schema \(durabench_[0-9a-f]*\).*/\1/p')
schema_named() {
	[ -n "$schema" ] && grep -q "^- run pg 1:1: .*schema $schema" "$tmp/out.md" &&
		grep -q "pg 1:1: store kept (keep = true): .*schema $schema" "$tmp/err"
}
check "the run's schema ($schema) is in the JSON and the environment, and keep says it is kept" \
	schema_named
check "the server and its directory are gone" servers_gone
finish
