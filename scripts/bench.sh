#!/usr/bin/env bash
# Reruns the benchmark targets of the issues and prints the figures as
# fractions of the bound and ratios measured in one run (the anchor
# workload three times in one invocation, with the median per cell).
#
# usage: scripts/bench.sh [all|anchor|saturation|harness|ceiling|ceiling-pg|growth|remote|scaleout|repeat]
#                         [--duration D]
# Writes JSON results to bench-out/ (or $BENCH_OUT) and ends with the
# Targets table of issue 14 (scripts/targets.py; also targets.md and
# targets.json there): each target's figure, the fraction of the ceiling,
# met or NOT met, the load average; "not run" for the parts not asked for.
# Exit status: 0 when every step worked, 1 when one failed (durabench,
# bench/ceiling, pgbench), 2 on a usage error; never whether targets were met.
#   ceiling  the harness against the engine's own ceiling, same machine and
#            same PostgreSQL server: bench/ceiling (SQLite, null) and
#            pgbench with the provider's functions (CEILING_SECONDS, 10)
#   ceiling-pg  the PostgreSQL half of ceiling alone
#   growth   throughput with GROWTH_PREFILL (1000000) completed instances
#            prefilled against an empty store (conf/growth.ini: 3
#            repeats, the Targets table takes the ratio of the medians)
#   repeat   scripts/spread.sh: the spread of the anchor figures over 5
#            repeats (not part of "all"; about 8 minutes)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
durabench=${DURABENCH:-$top/durabench}
ceiling_bin=${CEILING:-$top/bench/ceiling}
targets=$here/targets.py
out=${BENCH_OUT:-bench-out}
what=${1:-all}
shift || true
mkdir -p "$out"
extra=("$@")

# step NAME COMMAND...: runs one step of the invocation, recorded (with the
# load average at its start and end, and its exit status) in $out/parts.json
# for scripts/targets.py; a failed step is reported and makes the exit
# status 1, and the other steps still run.
status=0
step() {
	local name=$1 rc=0
	shift
	"$targets" step "$out" "$name" start
	"$@" || rc=$?
	"$targets" step "$out" "$name" end "$rc"
	if [ "$rc" -ne 0 ]; then
		echo "($name: exit status $rc)" >&2
		status=1
	fi
	return "$rc"
}

run() { # name conf [args...]
	local name=$1 conf=$2
	shift 2
	echo "== $name: durabench run $conf $* (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	rm -f "$out/$name.json" "$out/$name.md"
	step "$name" "$durabench" run "$top/conf/$conf" --no-progress --json "$out/$name.json" "$@" \
		"${extra[@]}" >"$out/$name.md" || true
	[ -s "$out/$name.json" ] || return 0
	python3 - "$out/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    ps = r.get("provider_stats") or {}
    rt = ps.get("round_trips_per_orch")
    so = r.get("scale_out") or {}
    pf = r.get("prefill")
    if pf:
        print("%-12s prefill %d instances in %.1f s (%.0f/s), %d read back after the run" % (
            r["provider"], pf["instances"], pf["seconds"], pf["per_sec"], pf["verified"]))
    lc = ps.get("lock_conflicts")
    print("%-12s processes %d  threads %s  lock conflicts/orch %s  driver rt/orch %s" % (
        r["provider"], r.get("processes", 0), so.get("threads", "-"),
        ("%.3f" % (lc / r["completed"])) if lc is not None and r["completed"] else "-",
        ("%.3f" % so["driver_round_trips_per_orch"]) if so else "-"))
    co = ps.get("commits_per_orch")
    print("%-12s %-5s orch/s %8.1f  bound %5s  success %6.2f%%  p50 %7.1f ms  p99 %7.1f ms  cpu/orch %s ms  rt/orch %s  commits/orch %s" % (
        r["provider"], r["config"], r["orch_per_sec"],
        ("%.2f" % r["bound_fraction"]) if r.get("bound_fraction") else "-",
        r["success_pct"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
        ("%.3f" % r["cpu_ms_per_orch"]) if r.get("cpu_ms_per_orch") is not None else "-",
        ("%.1f" % rt) if rt is not None else "-",
        ("%.1f" % co) if co is not None else "-"))
groups = {}
for r in d["runs"]:
    groups.setdefault((r["provider"], r["config"]), []).append(r)
for (prov, cfg), rs in groups.items():
    if len(rs) > 1:
        med = lambda xs: sorted(xs)[len(xs) // 2]
        bf = [r["bound_fraction"] for r in rs if r.get("bound_fraction")]
        print("median of %d %-12s %-5s orch/s %8.1f  bound %s" % (
            len(rs), prov, cfg, med([r["orch_per_sec"] for r in rs]),
            ("%.3f" % med(bf)) if bf else "-"))
for c in d.get("comparisons", []):
    for row in c["rows"]:
        print("ratio %-16s %-5s throughput %.2f  p50 %.2f  p99 %.2f" % (
            c["name"], row["config"], row["throughput_ratio"] or 0,
            row["latency_p50_ratio"] or 0, row["latency_p99_ratio"] or 0))
PY
}


# ---- ceiling ----
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_dir=
stop_pg() {
	if [ -n "$pg_dir" ]; then
		as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$pg_dir"
		pg_dir=
	fi
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# A throwaway PostgreSQL with url = auto's settings (durability off), for
# durabench and pgbench alike: "the same server".
start_pg() {
	pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/durabench-bench-pg.XXXXXX")
	chmod 755 "$pg_dir"
	[ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
	as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null || return 1
	pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o "-p $pg_port -k $pg_dir \
-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
-c max_connections=200 -c shared_buffers=64MB -c max_wal_size=1GB" start >/dev/null || return 1
	export CEILING_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
}

# pg_cpu: CPU seconds the server of start_pg has used so far: the
# postmaster's own and its reaped children's, plus its live children's
# (backends, walwriter, autovacuum)
pg_cpu() {
	python3 - "$(head -n 1 "$pg_dir/data/postmaster.pid")" <<'PY'
import os, sys
pm, hz, total = sys.argv[1], os.sysconf("SC_CLK_TCK"), 0
def stat(pid):
    s = open("/proc/%s/stat" % pid).read()
    return s[s.rindex(")") + 2:].split()
f = stat(pm)
total += sum(int(x) for x in f[11:15])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        f = stat(pid)
    except OSError:
        continue
    if f[1] == pm:
        total += int(f[11]) + int(f[12])
print(total / hz)
PY
}

# SQLite and null: durabench at 2:2 and bench/ceiling on the same plugins
ceiling_db=
ceiling() {
	local secs=${CEILING_SECONDS:-10}
	ceiling_db=$(mktemp -d "${TMPDIR:-/tmp}/durabench-ceiling.XXXXXX")
	local db=$ceiling_db
	export BENCH_DB_DIR=$db
	trap 'stop_pg; [ -z "$ceiling_db" ] || rm -rf "$ceiling_db"' EXIT
	run ceiling ceiling.ini --provider null --provider sqlite-mem --provider sqlite-file
	local p
	for p in "null null" "sqlite-mem sqlite --option database=:memory:" \
	         "sqlite-file sqlite --option database=$db/ceiling-abi.db"; do
		set -- $p
		rm -f "$out/ceiling-$1.txt"
		step "ceiling-$1" "$ceiling_bin" --plugin "$2" "${@:3}" --duration "$secs" \
			>"$out/ceiling-$1.txt" || true
	done
	rm -rf "$db"
}

# PostgreSQL: durabench at 4:4 and pgbench with the provider's own
# functions (scripts/ceiling-pg.sql; 8 clients, as 4:4 has 8 threads with a
# call in flight each: 4 dispatchers, 4 activity workers) on one server,
# each with the server's CPU per orchestration (from /proc)
ceiling_pg() {
	local secs=${CEILING_SECONDS:-10} c0 c1
	trap 'stop_pg; [ -z "$ceiling_db" ] || rm -rf "$ceiling_db"' EXIT
	rm -f "$out/ceiling-pg-local.txt"
	step ceiling-server start_pg || return 0
	c0=$(pg_cpu)
	run ceiling-pg ceiling.ini --provider pg-local --configs 4:4
	c1=$(pg_cpu)
	step ceiling-pg-local pgbench_ceiling "$secs" "$c0" "$c1" || true
	stop_pg
}

# pgbench_ceiling SECONDS C0 C1 (the server's CPU seconds around the
# durabench run): a kept schema holds the provider's functions; what a
# client holds between transactions (ceiling-pg.sql) starts empty.  Writes
# the instances pgbench's clients completed, both server CPU figures and
# the CPU ceiling (every core running nothing but the provider's SQL at
# pgbench's server CPU per orchestration) to $out/ceiling-pg-local.txt.
pgbench_ceiling() {
	local secs=$1 c0=$2 c1=$3 cs c2 n_done
	"$ceiling_bin" --plugin postgres --option "url=$CEILING_PG_URL" \
		--option schema=dura_ceiling --option keep=true --setup-only || return 1
	cs=$(pg_cpu)
	PGOPTIONS="-c search_path=dura_ceiling" "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" \
		-U postgres -n -M prepared -c 8 -j 2 -T "$secs" -f "$here/ceiling-pg.sql" \
		-D tok=0 -D nh=0 -D nm=0 -D oi=none -D wn=0 -D 'wtoks={}' -D 'winsts={}' postgres \
		>"$out/ceiling-pgbench.txt" 2>&1 || { cat "$out/ceiling-pgbench.txt" >&2; return 1; }
	c2=$(pg_cpu)
	n_done=$("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -At \
		-c "SELECT count(*) FROM dura_ceiling.instances WHERE status = 2" postgres) || return 1
	python3 - "$out/ceiling-pg.json" "$n_done" "$secs" "$c0" "$c1" "$cs" "$c2" \
		>"$out/ceiling-pg-local.txt" <<'PY'
import json, os, sys
done, secs = int(sys.argv[2]), float(sys.argv[3])
c0, c1, cs, c2 = map(float, sys.argv[4:8])
try:
    r = [r for r in json.load(open(sys.argv[1]))["runs"] if r["provider"] == "pg-local"][0]
    # durabench's server CPU over every instance it ran (warm-up included,
    # like the server's CPU)
    d_srv = 1000 * (c1 - c0) / r["completed"] if r["completed"] else 0
except (OSError, ValueError, IndexError, KeyError):
    d_srv = 0
c_srv = 1000 * (c2 - cs) / done if done else 0
cores = os.cpu_count() or 1
print("ceiling pg-local completed %d seconds %g clients 8 server_cpu_ms_per_orch %.3f "
      "durabench_server_cpu_ms_per_orch %.3f cpu_ceiling_orch_per_sec %.1f cores %d" % (
      done, secs, c_srv, d_srv, cores * 1000 / c_srv if c_srv else 0, cores))
PY
}

growth() {
	local db
	db=$(mktemp -d "${TMPDIR:-/tmp}/durabench-growth.XXXXXX")
	export BENCH_DB_DIR=$db GROWTH_PREFILL=${GROWTH_PREFILL:-1000000}
	run growth growth.ini
	rm -rf "$db"
}

case "$what" in
repeat) exec "$here/spread.sh" "${extra[@]}" ;;
all|anchor|saturation|harness|ceiling|ceiling-pg|growth|remote|scaleout) ;;
*)
	echo "usage: scripts/bench.sh [all|anchor|saturation|harness|ceiling|ceiling-pg|growth|remote|scaleout|repeat] [run options]" >&2
	exit 2
	;;
esac

"$targets" begin "$out"
case "$what" in
all|anchor) run anchor anchor.ini --repeat 3 ;;&
all|saturation) run saturation-sqlite saturation-sqlite.ini; run saturation-pg saturation-pg.ini ;;&
all|harness) run saturation-null saturation-null.ini ;;&
all|ceiling) ceiling; ceiling_pg; "$targets" ceilings "$out" || status=1 ;;&
ceiling-pg) ceiling_pg; "$targets" ceilings "$out" || status=1 ;;
all|growth) growth ;;&
all|remote) run remote-150ms remote-150ms.ini ;;&
all|scaleout) run scale-out scale-out.ini ;;
esac

# The Targets table: every target of issue 14 with this invocation's
# figure ("not run" for the parts not asked for), also in
# $out/targets.md and $out/targets.json.  The exit status says whether the
# steps worked (0) or one failed (1), not whether the targets were met.
"$targets" table "$out" || status=1
exit "$status"
