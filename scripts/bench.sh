#!/usr/bin/env bash
# Reruns the benchmark targets of the issues and prints the figures as
# fractions of the bound and ratios measured in one run.
#
# usage: scripts/bench.sh [all|anchor|saturation|harness|remote|scaleout] [--duration D]
# Writes JSON results to bench-out/ (or $BENCH_OUT).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
durabench=${DURABENCH:-$top/durabench}
out=${BENCH_OUT:-bench-out}
what=${1:-all}
shift || true
mkdir -p "$out"
extra=("$@")

run() { # name conf [args...]
	local name=$1 conf=$2
	shift 2
	echo "== $name: durabench run $conf $*" >&2
	"$durabench" run "$top/conf/$conf" --no-progress --json "$out/$name.json" "$@" "${extra[@]}" \
		>"$out/$name.md" || echo "($name: durabench exited $?)" >&2
	python3 - "$out/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    ps = r.get("provider_stats") or {}
    rt = ps.get("round_trips_per_orch")
    so = r.get("scale_out") or {}
    lc = ps.get("lock_conflicts")
    print("%-12s processes %d  threads %s  lock conflicts/orch %s  driver rt/orch %s" % (
        r["provider"], r.get("processes", 0), so.get("threads", "-"),
        ("%.3f" % (lc / r["completed"])) if lc is not None and r["completed"] else "-",
        ("%.3f" % so["driver_round_trips_per_orch"]) if so else "-"))
    print("%-12s %-5s orch/s %8.1f  bound %5s  success %6.2f%%  p50 %7.1f ms  p99 %7.1f ms  cpu/orch %s ms  rt/orch %s" % (
        r["provider"], r["config"], r["orch_per_sec"],
        ("%.2f" % r["bound_fraction"]) if r.get("bound_fraction") else "-",
        r["success_pct"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
        ("%.3f" % r["cpu_ms_per_orch"]) if r.get("cpu_ms_per_orch") is not None else "-",
        ("%.1f" % rt) if rt is not None else "-"))
for c in d.get("comparisons", []):
    for row in c["rows"]:
        print("ratio %-16s %-5s throughput %.2f  p50 %.2f  p99 %.2f" % (
            c["name"], row["config"], row["throughput_ratio"] or 0,
            row["latency_p50_ratio"] or 0, row["latency_p99_ratio"] or 0))
PY
}

case "$what" in
all|anchor) run anchor anchor.ini ;;&
all|saturation) run saturation-sqlite saturation-sqlite.ini; run saturation-pg saturation-pg.ini ;;&
all|harness) run saturation-null saturation-null.ini ;;&
all|remote) run remote-150ms remote-150ms.ini ;;&
all|scaleout) run scale-out scale-out.ini ;;
esac
