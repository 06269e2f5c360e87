#!/bin/sh
# No password reaches any output, however malformed the address carrying it:
# a battery of unusual addresses, each with the marker S3CRET in its password,
# goes through run --database-url, a scenario file and validate --option (the
# PostgreSQL plugin refuses them, libpq quoting what it could not parse), and
# through a successful SQLite run whose database path looks like addresses
# (so the marker would sit in the table, JSON, CSV, SVG and history).  The
# marker must appear in no stdout, stderr or file written.
set -u
. "${top_srcdir:?}/tests/common.sh"
marker=S3CRET

# One address per line.
cat >"$tmp/addresses" <<'EOF_ADDR'
postgresql://bench:S3CRETmark@[::1:55432/bench
postgresql://bench:sec%zzS3CRETmark@127.0.0.1:55432/bench
postgresql://bench:S3CRETmark%00@127.0.0.1:1/bench
postgres://bench:S3CRETmark@127.0.0.1:99999/bench
postgresql://bench:S3CRET@mark@127.0.0.1:1/bench
postgresql://bench:S3CRET/mark@127.0.0.1:1/bench
postgresql://bench:S3CRET?mark@127.0.0.1:1/bench
postgresql://bench:S3CRET mark@127.0.0.1:1/bench
postgresql://bench:S3CRET"mark@127.0.0.1:1/bench
postgresql://bench:S3CRET]mark@[::1]:1/bench
postgresql://127.0.0.1:1/bench?password=S3CRETmark&sslmode=bogus
postgresql://127.0.0.1:1/bench?sslpassword=S3CRETmark&bad
postgresql://127.0.0.1:1/bench?host=[&password=S3CRETmark
host=127.0.0.1 port=1 password=S3CRETmark sslmode=bogus
host=127.0.0.1 port=1 password='S3CRET mark
host=127.0.0.1 port=1 password = 'S3CRET\'mark' sslmode=bogus
host=127.0.0.1 port=1 sslpassword=S3CRETmark bogus
dbname=postgresql://u:S3CRETmark@127.0.0.1:1/db
mysql://u:S3CRETmark@127.0.0.1/db
redis://:S3CRETmark@127.0.0.1
EOF_ADDR
count=$(wc -l <"$tmp/addresses")
check "the battery has $count addresses" [ "$count" -ge 15 ]

cat >"$tmp/base.ini" <<'INI'
[run]
duration = 1s
warmup = 0s
configs = 1:1

[workload]
scenario = fanout

[provider pg]
plugin = postgres
INI

# leaks FILE...: the files (that exist) holding the marker
leaks() { for f in "$@"; do [ -f "$f" ] && grep -l -F "$marker" "$f"; done; }

i=0
cli_bad=0 ini_bad=0 val_bad=0
while IFS= read -r addr; do
	i=$((i + 1))
	d="$tmp/a$i"
	mkdir "$d"
	"$DURABENCH" run "$tmp/base.ini" --database-url "$addr" --no-progress \
		--json "$d/r.json" --csv "$d/r.csv" --svg "$d/r.svg" --track "$d/h.jsonl" \
		>"$d/run.out" 2>"$d/run.err"
	l=$(leaks "$d/run.out" "$d/run.err" "$d/r.json" "$d/r.csv" "$d/r.svg" "$d/h.jsonl")
	[ -s "$d/run.err" ] || l="$l (no error printed)"
	if [ -n "$l" ]; then
		cli_bad=$((cli_bad + 1))
		echo "# run --database-url '$addr': $l"
		sed 's/^/#   /' "$d/run.err"
	fi

	{ cat "$tmp/base.ini"; printf 'url = %s\n' "$addr"; } >"$d/s.ini"
	"$DURABENCH" run "$d/s.ini" --no-progress --json "$d/s.json" >"$d/ini.out" 2>"$d/ini.err"
	l=$(leaks "$d/ini.out" "$d/ini.err" "$d/s.json")
	[ -s "$d/ini.err" ] || l="$l (no error printed)"
	if [ -n "$l" ]; then
		ini_bad=$((ini_bad + 1))
		echo "# scenario url = '$addr': $l"
		sed 's/^/#   /' "$d/ini.err"
	fi

	"$DURABENCH" validate --plugin postgres --option "url=$addr" >"$d/val.out" 2>"$d/val.err"
	l=$(leaks "$d/val.out" "$d/val.err")
	[ -s "$d/val.err" ] || [ -s "$d/val.out" ] || l="$l (nothing printed)"
	if [ -n "$l" ]; then
		val_bad=$((val_bad + 1))
		echo "# validate --option url='$addr': $l"
		sed 's/^/#   /' "$d/val.err" "$d/val.out"
	fi
done <"$tmp/addresses"
check "run --database-url: the marker is in no output for $i addresses ($cli_bad leaked)" \
	[ "$cli_bad" -eq 0 ]
check "scenario file url = ...: the marker is in no output ($ini_bad leaked)" [ "$ini_bad" -eq 0 ]
check "validate --option url=...: the marker is in no output ($val_bad leaked)" [ "$val_bad" -eq 0 ]

# A run that succeeds while addresses with the marker sit in what it reports:
# an SQLite database whose path holds them.
dir1="$tmp/p/mysql://u:S3CRETmark@h"
dir2="$tmp/q/x password=S3CRETmark y"
mkdir -p "$dir1" "$dir2"
cat >"$tmp/ok.ini" <<INI
[run]
duration = 1s
warmup = 0s
configs = 1:1

[workload]
scenario = fanout

[provider one]
plugin = sqlite
database = $dir1/db.sqlite

[provider two]
plugin = sqlite
database = $dir2/db.sqlite
INI
"$DURABENCH" run "$tmp/ok.ini" --no-progress --json "$tmp/ok.json" --csv "$tmp/ok.csv" \
	--svg "$tmp/ok.svg" --track "$tmp/ok.jsonl" >"$tmp/ok.out" 2>"$tmp/ok.err"
rc=$?
check "a run with address-like database paths completes (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/ok.err"
paths_masked() { grep -q 'mysql://u:\*\*\*@h' "$tmp/ok.out" && grep -q 'password=\*\*\*' "$tmp/ok.out"; }
check "the table's environment block shows the paths masked" paths_masked
l=$(leaks "$tmp/ok.out" "$tmp/ok.err" "$tmp/ok.json" "$tmp/ok.csv" "$tmp/ok.svg" "$tmp/ok.jsonl")
no_leak() {
	[ -z "$l" ] && [ -s "$tmp/ok.json" ] && [ -s "$tmp/ok.csv" ] && [ -s "$tmp/ok.svg" ] &&
		[ -s "$tmp/ok.jsonl" ]
}
check "the marker is in no output of the successful run: $l" no_leak
check "masked JSON and history are still valid JSON" python3 -c \
	'import json,sys; json.load(open(sys.argv[1])); [json.loads(l) for l in open(sys.argv[2])]' \
	"$tmp/ok.json" "$tmp/ok.jsonl"
finish
