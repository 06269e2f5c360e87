#!/usr/bin/env bash
# Repeatability of the anchor workload: runs conf/anchor.ini (sqlite-mem and
# pg-local at 1:1, 2:2, 4:4) N times in one invocation (default 5; runs
# interleave: repeat, then config, then provider) and prints, per provider
# x config, the spread (max - min) / median of orch/s and of p50 latency,
# next to the spread the wall-clock window count and Little's law would
# have given, that of the mean latency and that of p50 / mean (the shape:
# a p50 that moves while the mean holds means the distribution's shape
# moves, not the speed; heavy load moves it too, by adding a tail), the
# harness CPU and provider calls per orchestration, and
# the figures of each repeat in run order (a drift from repeat to repeat
# would show accumulated server state).  docs/benchmarks.md explains it.
#
# usage: scripts/spread.sh [--repeat N] [other durabench run options]
# Writes spread.json and spread.md to bench-out/ (or $BENCH_OUT).
# Exit status 0 when every cell is within the target (3 %), 1 when one is
# not, 2 when the run itself failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
durabench=${DURABENCH:-$top/durabench}
out=${BENCH_OUT:-bench-out}
mkdir -p "$out"
repeat=5
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--repeat) repeat=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared: read the figures with it)" >&2
echo "== durabench run conf/anchor.ini --repeat $repeat ${args[*]}" >&2
rc=0
"$durabench" run "$top/conf/anchor.ini" --repeat "$repeat" --no-progress \
	--json "$out/spread.json" "${args[@]}" >"$out/spread.md" || rc=$?
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ ! -s "$out/spread.json" ]; then
	echo "spread.sh: durabench wrote no report (exit $rc)" >&2
	exit 2
fi
prc=0
python3 - "$out/spread.json" <<'PY' || prc=$?
import json, sys

TARGET = 3.0
d = json.load(open(sys.argv[1]))

def spread(v):
    v = sorted(x for x in v if x is not None)
    if len(v) < 2:
        return None
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return 100.0 * (v[-1] - v[0]) / med if med else None

def fmt(x, spec="%.1f"):
    return "-" if x is None else spec % x

cells = {}
for r in d["runs"]:
    if r.get("ran"):
        cells.setdefault((r["provider"], r["config"]), []).append(r)

# the report's own summary: the spreads durabench prints next to its figures
summary = {(s["provider"], s["config"]): s for s in d.get("repeats", [])}
print("%-11s %-4s %4s %9s %7s %9s %7s %8s %8s %8s %8s %9s %8s" % (
    "provider", "cfg", "runs", "orch/s", "spread", "p50 ms", "spread",
    "counted", "Little", "mean ms", "p50/mean", "cpu/orch", "rt/orch"))
worst = 0.0
for (prov, cfg), rs in cells.items():
    s = summary.get((prov, cfg), {})
    so = spread([r["orch_per_sec"] for r in rs])
    sp = spread([r["latency_ms"]["p50"] for r in rs])
    sc = spread([r.get("counted_orch_per_sec") for r in rs])
    sl = spread([r.get("little_orch_per_sec") for r in rs])
    sa = spread([r["latency_ms"]["avg"] for r in rs])
    ss = spread([r["latency_ms"]["p50"] / r["latency_ms"]["avg"]
                 for r in rs if r["latency_ms"]["avg"]])
    cpu = sorted(r["cpu_ms_per_orch"] for r in rs)[len(rs) // 2]
    rt = sorted((r["provider_stats"] or {}).get("round_trips_per_orch") or 0 for r in rs)[len(rs) // 2]
    for x in (so, sp):
        if x is not None:
            worst = max(worst, x)
    print("%-11s %-4s %4d %9s %6s%% %9s %6s%% %7s%% %7s%% %7s%% %7s%% %8.3f %8.1f" % (
        prov, cfg, len(rs), fmt(s.get("orch_per_sec", {}).get("median")), fmt(so, "%.2f"),
        fmt(s.get("latency_p50_ms", {}).get("median")), fmt(sp, "%.2f"),
        fmt(sc, "%.2f"), fmt(sl, "%.2f"), fmt(sa, "%.2f"), fmt(ss, "%.2f"), cpu, rt))
print()
print("per repeat, in run order (orch/s | p50 ms):")
for (prov, cfg), rs in cells.items():
    print("  %-11s %-4s %s | %s" % (prov, cfg,
          " ".join("%.2f" % r["orch_per_sec"] for r in rs),
          " ".join("%.1f" % r["latency_ms"]["p50"] for r in rs)))
print()
print("spread = (max - min) / median over the repeats; counted / Little / mean ms / "
      "p50/mean: the spread of the wall-clock window count, of Little's law, of the "
      "mean latency and of p50 / mean latency (the distribution's shape), for comparison")
ok = worst <= TARGET
print("worst spread of orch/s and p50: %.2f %% (target <= %.0f %%): %s" % (
    worst, TARGET, "met" if ok else "NOT met"))
sys.exit(0 if ok else 1)
PY
[ "$rc" -eq 0 ] || { echo "spread.sh: durabench exited $rc" >&2; exit 2; }
exit $prc
