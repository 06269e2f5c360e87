#!/usr/bin/env python3
"""The layer check: every #include "..." of core/ and plugins/ against the
table in core/layers.txt.

  layer_check.py SRCDIR [BUILDDIR]

Prints one line per violation, "FILE:LINE: message", and exits 1 if there
is any.  Rules:
  * a file in core/LAYER/ includes "x.h" (its own folder), "OTHER/x.h" where
    OTHER is allowed for LAYER in the table, or a build-generated header
    (config.h, dura_commit.h);
  * an "OTHER/x.h" must name an existing core/OTHER/x.h;
  * the table itself and the edges actually used have no cycle;
  * a file in plugins/NAME/ includes only its own folder's headers (and the
    public header, which is included with <...> and not looked at here).
"""
import os
import re
import sys

GENERATED = {"config.h", "dura_commit.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
ANGLE = re.compile(r'^\s*#\s*include\s+<([^>]+)>')


def read_table(path):
    allowed, errors = {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if ":" not in line:
                errors.append("%s:%d: expected 'LAYER: LAYERS'" % (path, n))
                continue
            layer, deps = line.split(":", 1)
            allowed[layer.strip()] = set(deps.split())
    for layer, deps in allowed.items():
        for d in deps:
            if d not in allowed:
                errors.append("%s: layer %s names unknown layer %s" % (path, layer, d))
    return allowed, errors


def find_cycle(edges):
    """A cycle in {node: set(nodes)} as a list, or None."""
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def sources(top):
    for root, _dirs, files in os.walk(top):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                yield os.path.join(root, name)


def check_core(src, allowed, used, errors):
    core = os.path.join(src, "core")
    for path in sources(core):
        rel = os.path.relpath(path, src)
        parts = rel.split(os.sep)
        if len(parts) != 3:
            errors.append("%s:0: core sources live in core/LAYER/" % rel)
            continue
        layer = parts[1]
        if layer not in allowed:
            errors.append("%s:0: folder core/%s is not a layer in core/layers.txt" % (rel, layer))
            continue
        with open(path, errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                where = "%s:%d" % (rel, n)
                if inc in GENERATED:
                    continue
                if "/" not in inc:
                    if not os.path.exists(os.path.join(core, layer, inc)):
                        errors.append('%s: "%s" is not a header of core/%s' % (where, inc, layer))
                    continue
                target = inc.split("/", 1)[0]
                if target not in allowed or inc.count("/") != 1 or ".." in inc:
                    errors.append('%s: "%s" is not LAYER/header.h of core/' % (where, inc))
                    continue
                if not os.path.exists(os.path.join(core, inc)):
                    errors.append('%s: "%s" does not exist' % (where, inc))
                if target == layer:
                    errors.append('%s: "%s" names its own layer; include "%s"'
                                  % (where, inc, inc.split("/", 1)[1]))
                    continue
                used.setdefault(layer, set()).add(target)
                if target not in allowed[layer]:
                    errors.append("%s: layer %s may not include %s (\"%s\"); allowed: %s"
                                  % (where, layer, target, inc,
                                     " ".join(sorted(allowed[layer])) or "nothing"))


def check_plugins(src, layers, errors):
    for top in ("plugins", "examples"):
        base = os.path.join(src, top)
        if not os.path.isdir(base):
            continue
        for path in sources(base):
            rel = os.path.relpath(path, src)
            folder = os.path.dirname(path)
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    a = ANGLE.match(line)
                    if a and (a.group(1).split("/", 1)[0] in layers or
                              a.group(1).startswith(("core/", "durabench/")) and
                              a.group(1) != "durabench/provider.h"):
                        errors.append('%s:%d: a plugin includes no core header (<%s>)'
                                      % (rel, n, a.group(1)))
                        continue
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if "/" in inc or not os.path.exists(os.path.join(folder, inc)):
                        errors.append('%s:%d: a plugin includes only <durabench/provider.h> '
                                      'and its own headers, not "%s"' % (rel, n, inc))


def main():
    if len(sys.argv) < 2:
        print("usage: layer_check.py SRCDIR", file=sys.stderr)
        return 2
    src = sys.argv[1]
    table = os.path.join(src, "core", "layers.txt")
    allowed, errors = read_table(table)
    c = find_cycle(allowed)
    if c:
        errors.append("%s: the table has a cycle: %s" % (table, " -> ".join(c)))
    used = {}
    check_core(src, allowed, used, errors)
    c = find_cycle(used)
    if c:
        errors.append("core: the includes form a cycle between layers: %s" % " -> ".join(c))
    check_plugins(src, allowed, errors)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
