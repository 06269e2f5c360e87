# Shared by pg_common.sh and mariadb_common.sh (sourced after common.sh,
# with $server_dirs set to the prefix of a url = auto server's directory:
# durabench-pg or durabench-mariadb).
#
# url = auto servers are created under $TMPDIR: giving each test its own
# lets it check that its servers are gone even while other tests run
# theirs in parallel.
chmod 755 "$tmp" # the server runs as its own OS user and must reach it
export TMPDIR="$tmp"
servers_left() { ps -eo args | grep -F "$tmp/$server_dirs" | grep -vc grep; }
dirs_left() { ls -d "$tmp/$server_dirs"-* 2>/dev/null | wc -l; }
# 0 once no url = auto server of this test runs and no directory of one is
# left, waiting up to 30 s for them (a server stopped with SIGSTOP is
# resumed and stopped by its guardian in the background); 1 if one is
# still there then.
servers_gone() {
	for _ in $(seq 1 300); do
		[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ] && return 0
		sleep 0.1
	done
	[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ]
}
