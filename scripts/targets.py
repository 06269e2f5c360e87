#!/usr/bin/env python3
"""Issue 14's performance targets, read from one scripts/bench.sh invocation.

scripts/bench.sh records every step it runs (a durabench run, a ceiling
measurement) in OUT/parts.json: its name, the load average when it started
and ended, and whether it worked.  This script reads that record and the
files the steps wrote (OUT/NAME.json from `durabench run --json`,
OUT/ceiling-PROVIDER.txt), and prints one row per target of issue 14 items
1-7 with the measured figure, the fraction of the ceiling where one was
measured, met / NOT met, and the load average during the step.  A target
whose steps were not part of this invocation says "not run"; one whose
step ran but gave no usable figure says "no figure" and why.  Figures are
read from the JSON fields by name, never by position.

usage:
  targets.py begin OUT               start a new record (bench.sh, once)
  targets.py step OUT NAME start     a step starts (records the load)
  targets.py step OUT NAME end RC    it ended with exit status RC
  targets.py ceilings OUT            print the ceiling comparison lines
  targets.py table OUT               print the Targets table, write
                                     OUT/targets.md and OUT/targets.json
Exit status: 0, or 2 when the record or a file cannot be read or written
(never whether targets were met: that is in the table).
"""
import json
import math
import os
import re
import sys
import time

MANIFEST = "parts.json"


def load_average():
    """The 1-, 5- and 15-minute load averages of the machine."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def manifest_path(out):
    return os.path.join(out, MANIFEST)


def read_manifest(out):
    """The record of this invocation, or None when there is none."""
    try:
        with open(manifest_path(out)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def cmd_begin(out):
    write_json(manifest_path(out), {"started_at": time.time(), "steps": {}})


def cmd_step(out, name, phase, rc=None):
    doc = read_manifest(out)
    if doc is None:
        raise SystemExit("targets.py: %s: no record (run 'begin' first)" % manifest_path(out))
    step = doc["steps"].setdefault(name, {})
    if phase == "start":
        step.clear()
        step.update(started_at=time.time(), load_start=load_average())
    elif phase == "end":
        step.update(ended_at=time.time(), load_end=load_average(), rc=int(rc))
    else:
        raise SystemExit("targets.py: step phase must be start or end, not %r" % phase)
    write_json(manifest_path(out), doc)


class NoFigure(Exception):
    """A step ran but left no usable figure for a target."""


def fmt(x, digits=0):
    return "{:,.{}f}".format(x, digits)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def number(x):
    """A JSON figure as a float; None for null, NaN or a missing field."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(x)


class Invocation:
    """What one bench.sh invocation ran and wrote, in OUT."""

    def __init__(self, out):
        self.out = out
        self.manifest = read_manifest(out) or {"steps": {}}
        self.steps = self.manifest["steps"]
        self._docs = {}

    def ran(self, step):
        return step in self.steps

    def worked(self, step):
        return self.steps.get(step, {}).get("rc") == 0

    def doc(self, step):
        """The JSON report durabench wrote for STEP."""
        if step not in self._docs:
            path = os.path.join(self.out, step + ".json")
            try:
                with open(path) as f:
                    self._docs[step] = json.load(f)
            except (OSError, ValueError) as e:
                raise NoFigure("%s.json: %s" % (step, getattr(e, "strerror", None) or e))
        return self._docs[step]

    def runs(self, step, provider, config):
        """The runs of PROVIDER at CONFIG in STEP that ran."""
        rs = [r for r in self.doc(step).get("runs", [])
              if r.get("provider") == provider and r.get("config") == config]
        if not rs:
            raise NoFigure("no %s run at %s in %s.json" % (provider, config, step))
        done = [r for r in rs if r.get("ran")]
        if not done:
            raise NoFigure("%s %s did not run: %s" % (provider, config, rs[0].get("error") or "?"))
        return done

    def run(self, step, provider, config):
        """The one run of PROVIDER at CONFIG, refused unless it lost nothing."""
        return clean(self.runs(step, provider, config)[0], provider, config)

    def clean_runs(self, step, provider, config):
        """Every repeat of PROVIDER at CONFIG, refused unless none lost anything."""
        return [clean(r, provider, config) for r in self.runs(step, provider, config)]

    def ceiling(self, provider):
        """OUT/ceiling-PROVIDER.txt as a dict of its key value pairs."""
        path = os.path.join(self.out, "ceiling-%s.txt" % provider)
        try:
            with open(path) as f:
                words = f.read().split()
        except OSError as e:
            raise NoFigure("ceiling-%s.txt: %s" % (provider, e.strerror))
        if len(words) < 2 or words[0] != "ceiling":
            raise NoFigure("ceiling-%s.txt: not a ceiling line" % provider)
        kv = dict(zip(words[2::2], words[3::2]))
        if "completed" in kv and "seconds" in kv and "orch_per_sec" not in kv:
            # pgbench: instances its clients completed over its duration
            secs = float(kv["seconds"])
            kv["orch_per_sec"] = float(kv["completed"]) / secs if secs > 0 else 0.0
        return kv


def unclean(r):
    """Why a run's figures cannot stand for a target ('' when they can)."""
    if r.get("interrupted"):
        return "interrupted"
    failed = sum((r.get("failed") or {}).values())
    if failed:
        return "%d failed" % failed
    if r.get("verify_failures"):
        return "%d failed verification" % r["verify_failures"]
    if number(r.get("orch_per_sec")) is None:
        return "no throughput"
    return ""


def clean(r, provider, config):
    """R itself, or NoFigure when its figures cannot stand for a target."""
    lost = unclean(r)
    if lost:
        raise NoFigure("%s %s: %s" % (provider, config, lost))
    return r


def ceiling_figure(kv):
    """The ceiling in orch/s: one core of the provider's own work
    (bench/ceiling: completed / its CPU seconds), or what pgbench's clients
    completed per second on the same server."""
    v = kv.get("orch_per_cpu_sec", kv.get("orch_per_sec"))
    return float(v) if v is not None else None


class Result:
    def __init__(self, value, text, fraction=None):
        self.value, self.text, self.fraction = value, text, fraction


# ---- the figures, each a function of an Invocation returning a Result ----

def saturation(step, provider, config, field="orch_per_sec"):
    def figure(inv):
        r = inv.run(step, provider, config)
        if field == "orch_per_sec":
            v = number(r["orch_per_sec"])
            cpu = number(r.get("cpu_ms_per_orch"))
            text = "%s orch/s" % fmt(v)
            if cpu is not None:
                text += " (%.3f ms CPU/orch)" % cpu
            return Result(v, text, fraction_of_ceiling(inv, provider, v))
        if field == "cpu_ms_per_orch":
            v = number(r.get("cpu_ms_per_orch"))
            if v is None:
                raise NoFigure("%s %s: no CPU per orchestration" % (provider, config))
            return Result(v, "%.3f ms CPU/orch (%s orch/s)" % (v, fmt(r["orch_per_sec"])))
        ps = r.get("provider_stats") or {}
        if field == "round_trips_per_orch":
            v = number(ps.get("round_trips_per_orch"))
            if v is None:
                raise NoFigure("%s %s: the provider counts no round trips" % (provider, config))
            return Result(v, "%.2f round trips/orch" % v)
        if field == "lock_conflicts_per_orch":
            if ps.get("lock_conflicts") is None or not r.get("completed"):
                raise NoFigure("%s %s: the provider counts no lock conflicts" % (provider, config))
            v = ps["lock_conflicts"] / r["completed"]
            return Result(v, "%.3f lock conflicts/orch (%d in %d orch)" % (
                v, ps["lock_conflicts"], r["completed"]))
        raise ValueError(field)
    return figure


def fraction_of_ceiling(inv, provider, orch_per_sec):
    """orch_per_sec over PROVIDER's ceiling measured in this invocation."""
    if not inv.worked("ceiling-" + provider):
        return None
    try:
        c = ceiling_figure(inv.ceiling(provider))
    except NoFigure:
        return None
    return orch_per_sec / c if c else None


def ceiling_comparison(step, provider, config):
    """durabench's saturation in STEP against PROVIDER's ceiling."""
    def figure(inv):
        r = inv.run(step, provider, config)
        kv = inv.ceiling(provider)
        c = ceiling_figure(kv)
        if not c:
            raise NoFigure("ceiling-%s.txt: no throughput" % provider)
        d = number(r["orch_per_sec"])
        text = "%s / %s orch/s" % (fmt(d), fmt(c))
        dcpu, ccpu = number(r.get("cpu_ms_per_orch")), kv.get("cpu_ms_per_orch")
        if dcpu and ccpu is not None:
            text += " (CPU: %.2f)" % (float(ccpu) / dcpu)
        return Result(d / c, text, d / c)
    return figure


def anchor(provider, config, repeats=3):
    def figure(inv):
        rs = inv.clean_runs("anchor", provider, config)
        bf = [number(r.get("bound_fraction")) for r in rs]
        if None in bf:
            raise NoFigure("%s %s: no bound fraction" % (provider, config))
        if len(bf) < repeats:
            raise NoFigure("%s %s: %d repeat(s), the target takes the median of %d" % (
                provider, config, len(bf), repeats))
        return Result(median(bf), "%.3f of the bound (median of %d: %s)" % (
            median(bf), len(bf), ", ".join("%.3f" % x for x in bf)))
    return figure


def remote(provider, config, rtt_ms):
    def figure(inv):
        r = inv.run("remote-150ms", provider, config)
        env = {p.get("name"): p for p in inv.doc("remote-150ms").get("environment", {}).get("providers", [])}
        rtt = number(env.get(provider, {}).get("emulated_rtt_ms"))
        if rtt is None or rtt < rtt_ms:
            raise NoFigure("%s: emulated round trip %s ms, the target's is %d ms" % (provider, rtt, rtt_ms))
        v = number(r["orch_per_sec"])
        batch = inv.doc("remote-150ms").get("scenario", {}).get("run", {}).get("activity_batch")
        return Result(v, "%.1f orch/s (emulated %g ms, activity_batch %s)" % (v, rtt, batch))
    return figure


def field_median(dicts, key):
    """The median of field KEY over DICTS (None when one has no figure)."""
    xs = [number(d.get(key)) for d in dicts]
    return None if None in xs else median(xs)


def prefill_rate(provider, config="2:2"):
    def figure(inv):
        rs = inv.clean_runs("growth", provider, config)
        pfs = [r.get("prefill") or {} for r in rs]
        if not all(pf.get("instances") for pf in pfs):
            raise NoFigure("%s: nothing prefilled" % provider)
        v = field_median(pfs, "per_sec")
        n = min(pf["instances"] for pf in pfs)
        text = "%s instances/s (%s in %.1f s" % (
            fmt(v), fmt(n), field_median(pfs, "seconds"))
        # durabench's own CPU: an in-process store's whole cost, which a
        # loaded machine stretches less than the wall time
        cpu = field_median(pfs, "cpu_seconds")
        if cpu:
            text += "; %s per CPU second" % fmt(n / cpu)
        if len(rs) > 1:
            text += "; median of %d" % len(rs)
        return Result(v, text + ")")
    return figure


def growth(empty, full, config="2:2", instances=1000000):
    """Prefilled / empty throughput: the ratio of the medians over the
    repeats (growth.ini runs 3, interleaved, since one 6-10 s run of a file
    or a server moves by more than the target's 10 % margin from the next)."""
    def figure(inv):
        es = inv.clean_runs("growth", empty, config)
        fs = inv.clean_runs("growth", full, config)
        n = min((f.get("prefill") or {}).get("instances") or 0 for f in fs)
        if n < instances:
            raise NoFigure("%s: %s prefilled, the target's is %s" % (full, fmt(n), fmt(instances)))
        ev = field_median(es, "orch_per_sec")
        fv = field_median(fs, "orch_per_sec")
        if not ev:
            raise NoFigure("%s: no throughput" % empty)
        text = "%.2f (%s / %s orch/s, %s prefilled" % (fv / ev, fmt(fv), fmt(ev), fmt(n))
        ec = field_median(es, "cpu_ms_per_orch")
        fc = field_median(fs, "cpu_ms_per_orch")
        if ec and fc:
            text += "; CPU / orch %.3f / %.3f ms = %.2f" % (fc, ec, fc / ec)
        if len(es) > 1 or len(fs) > 1:
            each = lambda rs: ", ".join(fmt(number(r["orch_per_sec"])) for r in rs)
            text += "; medians of %d and %d repeats: %s / %s" % (len(fs), len(es), each(fs), each(es))
        return Result(fv / ev, text + ")")
    return figure


# ---- the targets of issue 14 items 1-7 ----

AT_LEAST, AT_MOST, MEASURED = ">=", "<=", "measured"


class Target:
    def __init__(self, item, text, steps, figure, how, bound=None):
        self.item, self.text, self.steps = item, text, steps
        self.figure, self.how, self.bound = figure, how, bound

    def met(self, value):
        if self.how == AT_LEAST:
            return value >= self.bound
        if self.how == AT_MOST:
            return value <= self.bound
        return True  # the target is the measurement itself


def ceiling_targets():
    out = []
    for p in ("sqlite-mem", "sqlite-file"):
        out.append(Target(1, "ceiling %s: durabench 2:2 / bench/ceiling per core" % p,
                          ["ceiling", "ceiling-" + p], ceiling_comparison("ceiling", p, "2:2"), MEASURED))
    out.append(Target(1, "ceiling pg-local: durabench 4:4 / pgbench, same server",
                      ["ceiling-pg", "ceiling-pg-local"], ceiling_comparison("ceiling-pg", "pg-local", "4:4"),
                      MEASURED))
    return out


TARGETS = ceiling_targets() + [
    Target(2, "null >= 20,000 orch/s at 2:2", ["saturation-null"],
           saturation("saturation-null", "null", "2:2"), AT_LEAST, 20000),
    Target(2, "null <= 0.050 ms CPU/orch at 2:2", ["saturation-null"],
           saturation("saturation-null", "null", "2:2", "cpu_ms_per_orch"), AT_MOST, 0.050),
    Target(3, "sqlite-mem >= 10,000 orch/s at 2:2", ["saturation-sqlite"],
           saturation("saturation-sqlite", "sqlite-mem", "2:2"), AT_LEAST, 10000),
    Target(3, "sqlite-mem >= 0.5 of its ceiling", ["ceiling", "ceiling-sqlite-mem"],
           ceiling_comparison("ceiling", "sqlite-mem", "2:2"), AT_LEAST, 0.5),
    Target(3, "sqlite-file (WAL, NORMAL) at 2:2, beside it", ["saturation-sqlite"],
           saturation("saturation-sqlite", "sqlite-file", "2:2"), MEASURED),
    Target(4, "pg-local >= 800 orch/s at 4:4", ["saturation-pg"],
           saturation("saturation-pg", "pg-local", "4:4"), AT_LEAST, 800),
    Target(4, "pg-local <= 5 round trips/orch at 4:4", ["saturation-pg"],
           saturation("saturation-pg", "pg-local", "4:4", "round_trips_per_orch"), AT_MOST, 5),
    Target(4, "pg-local <= 0.2 lock conflicts/orch at 4:4", ["saturation-pg"],
           saturation("saturation-pg", "pg-local", "4:4", "lock_conflicts_per_orch"), AT_MOST, 0.2),
    Target(4, "pg-local >= 0.7 of the pgbench ceiling", ["ceiling-pg", "ceiling-pg-local"],
           ceiling_comparison("ceiling-pg", "pg-local", "4:4"), AT_LEAST, 0.7),
] + [
    Target(5, "anchor %s %s >= %.2f of the bound, median of 3" % (p, c, b), ["anchor"], anchor(p, c), AT_LEAST, b)
    for p, b in (("sqlite-mem", 0.97), ("pg-local", 0.95)) for c in ("1:1", "2:2", "4:4")
] + [
    Target(6, "far database pg-far >= 20 orch/s at 4:4, emulate_rtt 150ms", ["remote-150ms"],
           remote("pg-far", "4:4", 150), AT_LEAST, 20),
    Target(7, "prefill sqlite-mem >= 100,000 instances/s", ["growth"],
           prefill_rate("sqlite-mem-full"), AT_LEAST, 100000),
    Target(7, "prefill sqlite-file >= 100,000 instances/s", ["growth"],
           prefill_rate("sqlite-file-full"), AT_LEAST, 100000),
] + [
    Target(7, "%s 1,000,000 prefilled / empty >= 0.9" % p, ["growth"], growth(p, p + "-full"), AT_LEAST, 0.9)
    for p in ("sqlite-mem", "sqlite-file", "pg-local")
]


def part_of(step):
    """The scripts/bench.sh part that runs STEP."""
    if step.startswith("ceiling"):
        return "ceiling"
    return {"saturation-null": "harness", "saturation-sqlite": "saturation",
            "saturation-pg": "saturation", "remote-150ms": "remote"}.get(step, step)


def load_text(inv, steps):
    """The 1-minute load average from the first step's start to the last's end."""
    recs = [inv.steps[s] for s in steps if s in inv.steps]
    starts = [r["load_start"][0] for r in recs if r.get("load_start")]
    ends = [r["load_end"][0] for r in recs if r.get("load_end")]
    if not starts:
        return None, "-"
    first, last = starts[0], ends[-1] if ends else None
    return [first, last], "%.1f -> %s" % (first, "%.1f" % last if last is not None else "?")


def evaluate(inv, t):
    row = {"item": t.item, "target": t.text, "figure": None, "figure_text": "",
           "fraction": None, "status": "not run", "load": None, "steps": t.steps}
    load, row["load_text"] = load_text(inv, t.steps)
    row["load"] = load
    missing = [s for s in t.steps if not inv.ran(s)]
    if missing:
        row["figure_text"] = "- (scripts/bench.sh %s)" % part_of(missing[0])
        return row
    try:
        res = t.figure(inv)
    except NoFigure as e:
        failed = [s for s in t.steps if not inv.worked(s)]
        row["status"] = "no figure"
        row["figure_text"] = str(e) + (" (step %s failed)" % ", ".join(failed) if failed else "")
        return row
    row["figure"], row["figure_text"], row["fraction"] = res.value, res.text, res.fraction
    row["status"] = "met" if t.met(res.value) else "NOT met"
    return row


def markdown(rows):
    lines = ["| # | target | measured | fraction of ceiling | status | load (1 min) |",
             "|---|---|---|---:|---|---|"]
    for r in rows:
        lines.append("| %d | %s | %s | %s | %s | %s |" % (
            r["item"], r["target"], r["figure_text"].replace("|", "/"),
            "%.2f" % r["fraction"] if r["fraction"] is not None else "-",
            "**NOT met**" if r["status"] == "NOT met" else r["status"], r["load_text"]))
    return "\n".join(lines) + "\n"


def cmd_table(out):
    inv = Invocation(out)
    rows = [evaluate(inv, t) for t in TARGETS]
    failed = sorted(s for s in inv.steps if not inv.worked(s))
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("met", "NOT met", "no figure", "not run")}
    summary = "%d met, %d NOT met, %d no figure, %d not run" % tuple(counts.values())
    if failed:
        summary += "; steps that failed: " + ", ".join(failed)
    md = "## Targets (issue 14)\n\n" + markdown(rows) + "\n" + summary + "\n"
    with open(os.path.join(out, "targets.md"), "w") as f:
        f.write(md)
    write_json(os.path.join(out, "targets.json"),
               {"rows": rows, "counts": counts, "failed_steps": failed, "steps": inv.steps})
    sys.stdout.write("\n" + md)


def cmd_ceilings(out):
    """One line per ceiling measured: durabench's figure against it."""
    inv = Invocation(out)
    for provider, step, config in (("null", "ceiling", "2:2"), ("sqlite-mem", "ceiling", "2:2"),
                                   ("sqlite-file", "ceiling", "2:2"), ("pg-local", "ceiling-pg", "4:4")):
        if not inv.worked("ceiling-" + provider):
            continue
        try:
            res = ceiling_comparison(step, provider, config)(inv)
        except NoFigure as e:
            print("ceiling %-11s no figure: %s" % (provider, e))
            continue
        kv = inv.ceiling(provider)
        extra = ""
        if provider == "pg-local":
            tps = None
            try:
                with open(os.path.join(out, "ceiling-pgbench.txt")) as f:
                    tps = re.search(r"tps = ([0-9.]+)", f.read())
            except OSError:
                pass
            extra = "pgbench %s clients, %s tps" % (kv.get("clients", "?"), tps.group(1) if tps else "?")
            if kv.get("server_cpu_ms_per_orch") and kv.get("cpu_ceiling_orch_per_sec"):
                # the server's CPU per orchestration under each, and the CPU
                # ceiling: every core running nothing but the provider's SQL
                cc = float(kv["cpu_ceiling_orch_per_sec"])
                d = number(inv.run(step, provider, config)["orch_per_sec"])
                extra += "; server CPU/orch %s ms durabench, %s ms pgbench; CPU ceiling %.1f orch/s " \
                         "(%s cores), fraction %.2f" % (
                             kv.get("durabench_server_cpu_ms_per_orch", "?"),
                             kv["server_cpu_ms_per_orch"], cc, kv.get("cores", "?"),
                             d / cc if cc and d is not None else 0)
        else:
            extra = "%s ms CPU/orch, %s rt/orch" % (kv.get("cpu_ms_per_orch"), kv.get("round_trips_per_orch"))
        print("ceiling %-11s %s %s  (%s)  fraction %.2f" % (provider, config, res.text, extra, res.fraction))


def main(argv):
    cmds = {"begin": (cmd_begin, 1), "ceilings": (cmd_ceilings, 1), "table": (cmd_table, 1),
            "step": (cmd_step, (3, 4))}
    if len(argv) < 2 or argv[0] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    fn, nargs = cmds[argv[0]]
    n = len(argv) - 1
    if n != nargs and not (isinstance(nargs, tuple) and n in nargs):
        sys.stderr.write(__doc__)
        return 2
    try:
        fn(*argv[1:])
    except OSError as e:
        sys.stderr.write("targets.py: %s: %s\n" % (e.filename or "", e.strerror))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
