#!/bin/sh
# The completion feed loses nothing when a reply is lost: a copy of the
# SQLite provider whose first non-empty take_completions_acked reply is lost
# after its transaction committed (tests/sqlite_bugs.sh) runs two worker
# processes on a shared file; the driver makes the call again with the same
# acknowledgement and every instance completes and verifies.  The same lost
# reply with a feed that removes what it hands out (the take_completions
# contract) loses instances: the run fails, which shows the test can.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
. "$top_srcdir/tests/sqlite_bugs.sh"
sqlite_bugs_require python3
workers_left() { ps -eo args | grep -F "worker $tmp/" | grep -vc grep; }

# run NAME: a 2-process run on the copy NAME of the plugin; sets rc
run() {
	cat >"$tmp/$1.ini" <<INI
[run]
duration = 2s
warmup = 500ms
drain_timeout = 5s
configs = 1:1

[workload]
scenario = fanout
max_concurrent = 8
tasks_per_instance = 2
activity_delay = 5ms

[provider sq]
plugin = $tmp/$1.so
database = $tmp/$1.db
shared = true
processes = 2
INI
	timeout 60 "$DURABENCH" run "$tmp/$1.ini" --json "$tmp/$1.json" --no-progress \
		>"$tmp/$1.md" 2>"$tmp/$1.err"
	rc=$?
}

for name in feed_reply_lost feed_reply_lost_unacked; do
	if ! sqlite_bug_build "$name" "$tmp" 2>"$tmp/build.err"; then
		not_ok "$name: could not be built"
		sed 's/^/# /' "$tmp/build.err"
	fi
done

run feed_reply_lost
check "a reply of the acknowledged feed was lost" \
	grep -q 'a completion feed reply is lost' "$tmp/feed_reply_lost.err"
if [ "$rc" -eq 0 ] && python3 - "$tmp/feed_reply_lost.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["launched"] > 0 and r["completed"] == r["launched"] == r["verified"], r
assert r["scale_out"]["feed_entries"] == r["launched"], r["scale_out"]
PY
then
	ok "after it every instance completed, was read from the feed once and verified"
else
	not_ok "a lost reply of the acknowledged feed lost instances (exit $rc)"
	sed 's/^/# /' "$tmp/feed_reply_lost.err"
fi

run feed_reply_lost_unacked
check "a reply of the removing feed was lost" \
	grep -q 'a completion feed reply is lost' "$tmp/feed_reply_lost_unacked.err"
if [ "$rc" -eq 1 ] && grep -q 'still running after the drain timeout' \
	"$tmp/feed_reply_lost_unacked.err" "$tmp/feed_reply_lost_unacked.md"; then
	ok "without the acknowledgement the same lost reply loses instances (the run fails)"
else
	not_ok "without the acknowledgement the lost reply was not seen (exit $rc)"
	sed 's/^/# /' "$tmp/feed_reply_lost_unacked.err"
fi

check "no worker process is left" [ "$(workers_left)" -eq 0 ]
echo "1..$n"
[ "$failed" -eq 0 ]
