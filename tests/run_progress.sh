#!/bin/sh
# The progress display: through a pseudo-terminal of 40, 80 and 200
# columns every redraw of the live line fits the width (so it never wraps)
# and says which run of how many; the drain shows its own timeout; with
# --progress the plain periodic lines go to a log that is no terminal.
set -u
. "${top_srcdir:?}/tests/common.sh"
quick="$top_srcdir/conf/quick.ini"
short="--duration 1s --warmup 200ms --configs 1:1"

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not available"
	exit 0
fi

# runs durabench with stderr on a pty of $1 columns; checks every redraw
for width in 40 80 200; do
	# shellcheck disable=SC2086
	python3 - "$width" "$DURABENCH" run "$quick" $short --repeat 2 >"$tmp/py" 2>&1 <<'PY'
import fcntl, os, re, struct, subprocess, sys, termios
width = int(sys.argv[1])
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child closed its end
        break
    if not chunk:
        break
    out += chunk
rc = proc.wait()
assert rc == 0, "exit %d" % rc
text = out.decode("utf-8", "replace").replace("\r\n", "\n")
# each redraw starts with '\r' and runs to the next '\r' or newline
draws = [seg.split("\n")[0] for seg in text.split("\r")[1:]]
lines = [d.rstrip() for d in draws if d.strip()]
assert lines, "no progress line drawn: %r" % text[:500]
for d in draws:
    assert len(d) < width, "%d columns at width %d: %r" % (len(d), width, d)
assert all(re.match(r"run [12]/2  ", l) for l in lines), lines[:5]
assert any(l.startswith("run 2/2") for l in lines), "second run shown"
if width >= 80:
    assert any(re.search(r"run [0-9.]+/1s  [0-9]+ orch/s", l) for l in lines), lines[:5]
    assert any(re.search(r"drain [0-9.]+/30s", l) for l in lines), "drain with its timeout"
    assert any("ETA " in l for l in lines), "ETA shown"
if width >= 200:
    assert any(re.search(r"p50 [0-9.]+ p99 [0-9.]+ ms  done [0-9]+  failed 0  in flight", l)
               for l in lines), lines[:5]
print("%d redraws, longest %d columns" % (len(draws), max(len(d) for d in draws)))
PY
	rc=$?
	check "live progress at $width columns: every redraw fits, run k/N$( [ "$width" -ge 80 ] && echo ', drain timeout, ETA')" test "$rc" -eq 0
	sed 's/^/# /' "$tmp/py"
done

# --- periodic lines for logs: no terminal, plain lines ---
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --progress 300ms >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && ! grep -q "$(printf '\r')" "$tmp/err" &&
	grep -Eq '^durabench: run 1/1  sqlite-mem 1:1  run [0-9.]+/1s  [0-9]+ orch/s  p50 [0-9.]+ p99 [0-9.]+ ms  done [0-9]+  failed 0  in flight [0-9]+  ETA [0-9]+s$' "$tmp/err"
rc=$?
check "--progress 300ms: plain periodic lines on a non-terminal stderr" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --progress 0s >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- '--progress: must be > 0' "$tmp/err"
rc=$?
check "--progress 0s is refused" test "$rc" -eq 0
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short >/dev/null 2>"$tmp/err"
! grep -q "orch/s" "$tmp/err"
rc=$?
check "without --progress nothing periodic goes to a non-terminal" test "$rc" -eq 0

echo "1..$n"
[ "$failed" -eq 0 ]
