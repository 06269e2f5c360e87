#!/bin/sh
# Verification under transient errors is no verification failure: while a
# run verifies its instances (each read slowed by an emulated 100 ms round
# trip, so verification takes a while), every connection of durabench is
# terminated and then every connection slot of the url = auto server is
# taken (a new connection fails with SQLSTATE 53300, too many clients) for
# two seconds.  The reads fail with lost connections and 53300; they are
# retried with backoff under verify_timeout, so every instance is verified:
# exit 0, no "VERIFICATION FAILED", nothing unverified.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

cat >"$tmp/verify.ini" <<'INI'
[run]
duration = 2s
warmup = 0s
verify_timeout = 40s
configs = 2:2

[workload]
scenario = fanout
max_concurrent = 50
tasks_per_instance = 1
activity_delay = 1ms

[provider pg]
plugin = postgres
url = auto
emulate_rtt = 100ms
INI
"$DURABENCH" run "$tmp/verify.ini" --progress 60s --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
run_pid=$!
# Once the run verifies (a log line starts each phase), terminates
# durabench's connections, fills every slot through the server's Unix
# socket (trusted there: the PostgreSQL wire protocol by hand, no client
# library needed), holds them for 2 s, then lets go.
python3 - "$tmp" "$run_pid" >"$tmp/fill" 2>&1 <<'PY'
import glob, os, socket, struct, sys, time
tmp, pid = sys.argv[1], int(sys.argv[2])
def msg(s):
    t = s.recv(1)
    if not t:
        raise EOFError
    n = struct.unpack("!i", s.recv(4, socket.MSG_WAITALL))[0]
    return t, s.recv(n - 4, socket.MSG_WAITALL) if n > 4 else b""
def start():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    body = struct.pack("!i", 196608) + b"user\0postgres\0database\0postgres\0\0"
    s.sendall(struct.pack("!i", len(body) + 4) + body)
    return s
def connect(s=None):
    s = s or start()
    while True:
        t, b = msg(s)
        if t == b"Z":
            return s, None
        if t == b"E":
            fields = dict((f[:1], f[1:]) for f in b.split(b"\0") if f)
            s.close()
            return None, fields.get(b"C", b"?").decode()
def query(s, sql):
    body = sql.encode() + b"\0"
    s.sendall(b"Q" + struct.pack("!i", len(body) + 4) + body)
    out = None
    while True:
        t, b = msg(s)
        if t == b"D":
            out = b[6:].decode()
        if t == b"Z":
            return out
def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
def open_first():
    global path
    for path in glob.glob(tmp + "/durabench-pg-*/.s.PGSQL.*[0-9]"):
        try:
            return connect()[0]
        except (OSError, EOFError):
            pass
    return None
def verifying():
    try:
        return "  verify" in open(tmp + "/err").read()
    except OSError:
        return False
first, seen, deadline = None, None, time.time() + 60
while alive() and not verifying() and time.time() < deadline:
    time.sleep(0.02)
seen = verifying()
while alive() and not first and time.time() < deadline:
    try:
        first = open_first()
    except (OSError, EOFError):
        first = None
print("verification seen", seen)
killed = query(first, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
# every startup sent at once (the postmaster forks a backend per socket),
# the answers read afterwards: far faster than one by one
held, refused = [first], 0
for s in [start() for _ in range(240)]:
    s, code = connect(s)
    if s:
        held.append(s)
    elif code == "53300":
        refused += 1
    else:
        print("unexpected", code); break
print("terminated", killed, "held", len(held), "refused_53300", refused)
time.sleep(2)
for s in held:
    s.close()
PY
sed 's/^/# /' "$tmp/fill"
check "the run reached its verification" grep -q "verification seen True" "$tmp/fill"
slots_taken() { grep -q "refused_53300 [1-9]" "$tmp/fill" && ! grep -q "terminated 0 " "$tmp/fill"; }
check "during verification: durabench's connections terminated, then every slot taken (53300)" \
	slots_taken

reap "$run_pid" 900
check "exit status 0 (got $rc)" [ "$rc" -eq 0 ] ||
	sed 's/^/# /' "$tmp/err" "$tmp/out.md" | grep -v "orch/s" | tail -20
field() { json_field "$tmp/out.json" "runs.0.$1"; }
launched=$(field launched)
echo "# launched $launched completed $(field completed) verified $(field verified)" \
	"unverified $(field unverified) verify_failures $(field verify_failures) $(field verify_error)"
all_verified() {
	[ "$launched" -gt 0 ] && [ "$(field verify_failures)" = 0 ] &&
		[ "$(field unverified)" = 0 ] && [ "$(field verified)" = "$launched" ] &&
		[ "$(field completed)" = "$launched" ]
}
check "every instance verified: no verification failure, nothing unverified" all_verified
check "no VERIFICATION FAILED in the report" not grep -q "VERIFICATION FAILED" "$tmp/out.md"
check "the url = auto server and its directory are gone" servers_gone
finish
