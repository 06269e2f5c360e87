# Shared by the PostgreSQL shell tests (sourced).  Skips the whole test when
# durabench was configured without PostgreSQL.
: "${DURABENCH:?}" "${top_srcdir:?}" "${top_builddir:?}"
if [ "${DURA_WITH_POSTGRES:-0}" != 1 ]; then
	echo "1..0 # SKIP built without PostgreSQL"
	exit 0
fi
. "$top_srcdir/tests/common.sh"
server_dirs=durabench-pg
. "$top_srcdir/tests/auto_servers.sh"
# psql options reaching the url = auto server of the run whose stderr is
# file $1, once it has printed its address: the server's Unix socket (trusted,
# in a 0700 directory only root and the server's OS user can enter).  TCP
# needs the random password, which durabench only ever prints masked.
auto_psql_args() {
	_port=$(sed -n 's/.* at postgresql:[^ ]*@127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$1" | head -n 1)
	_dir=$(ls -d "$tmp"/durabench-pg-* 2>/dev/null | head -n 1)
	[ -n "$_port" ] && [ -n "$_dir" ] && echo "-h $_dir -p $_port -U postgres -d postgres"
}

# ---- the stall tests (pg_stall.sh, pg_stall_interrupt.sh) ----
# Their scenario: a 2:2 run of $2 on an auto server, short drain and
# verification deadlines and 2 s call, connect and acquire deadlines.
write_stall_ini() {
	cat >"$1" <<INI
[run]
duration = $2
warmup = 0s
drain_timeout = 2s
verify_timeout = 3s
configs = 2:2

[workload]
scenario = fanout
max_concurrent = 10
activity_delay = 5ms

[provider pg]
plugin = postgres
url = auto
call_timeout = 2s
connect_timeout = 2s
acquire_timeout = 2s
INI
}
# Waits until the run of pid $1 (stderr in $2) is running on its auto
# server and sets pm to the server's postmaster pid; 1 when it never is.
pm=""
wait_auto_pm() {
	_conn=""
	for _ in $(seq 1 1200); do # starting a server is slow on a loaded machine
		grep -q "running pg" "$2" && _conn=$(auto_psql_args "$2") && break
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$_conn" ] || return 1
	_dir=$(echo "$_conn" | sed 's/.*-h \([^ ]*\).*/\1/')
	pm=$(head -n 1 "$_dir/data/postmaster.pid" 2>/dev/null)
}
# Sends signal $1 to the postmaster and every backend (each backend is a
# session of its own).
stop_server() { [ -n "$pm" ] && kill "-$1" "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null; }
