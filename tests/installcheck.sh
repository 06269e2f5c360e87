#!/bin/sh
# make installcheck: what a provider author has after `make install`, and
# nothing else (no source tree, no build tree): pkg-config finds the
# header, the installed skeleton builds with the documented line, passes
# validate and runs in the installed example scenario.  PATH and
# PKG_CONFIG_PATH point at the installation (set by the Makefile).
set -u
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/durabench-installcheck.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1 # away from any source or build tree

echo "1..8"
check "pkg-config knows durabench" pkg-config --exists durabench
examples=$(pkg-config --variable=examplesdir durabench)
plugindir=$(pkg-config --variable=plugindir durabench)
abi=$(pkg-config --variable=abi_version durabench)
inc=$(pkg-config --variable=includedir durabench)
hdr_abi=$(sed -n 's/^#define DURA_ABI_MAJOR \([0-9]*\).*/\1/p' "$inc/durabench/provider.h").$(sed -n 's/^#define DURA_ABI_MINOR \([0-9]*\).*/\1/p' "$inc/durabench/provider.h")
check "abi_version ($abi) is the installed header's ($hdr_abi)" [ "${abi:-none}" = "$hdr_abi" ]

# The build line of docs/writing-a-provider.md and of skeleton.c's header.
${CC:-cc} -std=c11 -O2 -Wall $(pkg-config --cflags durabench) \
	-shared -fPIC -o skeleton.so "$examples/skeleton.c" -lpthread 2>cc.err
rc=$?
sed 's/^/# cc: /' cc.err
check "the installed skeleton builds through pkg-config" [ "$rc" -eq 0 ]

durabench validate --plugin ./skeleton.so >validate.out 2>&1
rc=$?
grep -v '^ok ' validate.out | sed 's/^/# /'
check "the installed durabench validates it" \
	sh -c '[ "$1" -eq 0 ] && ! grep -q "^not ok" validate.out' sh "$rc"

durabench run "$examples/skeleton.ini" --plugin-dir . --quiet >run.out 2>run.err
rc=$?
sed 's/^/# /' run.err
check "it runs in the installed example scenario" \
	sh -c '[ "$1" -eq 0 ] && grep -q "^| skeleton | " run.out' sh "$rc"

durabench plugins >plugins.out 2>&1
check "the shipped plugins are found in the installed plugindir ($plugindir)" \
	grep -qF "$plugindir/sqlite.so" plugins.out
docdir=$(pkg-config --variable=docdir durabench)
check "the docs are installed ($docdir)" [ -f "$docdir/writing-a-provider.md" ]
datadir=$(pkg-config --variable=datarootdir durabench)
check "the example scenarios are installed" [ -f "$datadir/durabench/conf/quick.ini" ]
[ "$failed" -eq 0 ]
