#!/bin/sh
# --html: the page is self-contained (no URL but the SVG namespace, no
# script, link or image), holds the tables, the intervals and the chart,
# and headless Chromium renders it without a console message into a
# screenshot that is not blank and shows the chart's bar colour.  A page
# that logs to the console is caught (the check can fail).  Skipped (TAP
# skip) only when chromium is not installed.
set -u
. "${top_srcdir:?}/tests/common.sh"
show() { sed 's/^/# /' "$1"; }

cat >"$tmp/two.ini" <<'INI'
[run]
duration = 1s
warmup = 200ms
configs = 1:1
repeat = 2
[workload]
scenario = fanout
max_concurrent = 4
tasks_per_instance = 2
activity_delay = 1ms
[provider mem-a]
plugin = sqlite
[provider mem-b]
plugin = sqlite
[compare a-vs-b]
subject = mem-a
baseline = mem-b
INI
"$DURABENCH" run "$tmp/two.ini" --quiet --html "$tmp/report.html" >"$tmp/out.md" 2>"$tmp/err"
rc=$?
check "run with --html exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || show "$tmp/err"

python3 - "$tmp/report.html" >"$tmp/py" 2>&1 <<'PY'
import re, sys
from html.parser import HTMLParser
page = open(sys.argv[1], encoding="utf-8").read()
urls = set(re.findall(r"[a-z]+://[^\s\"'<>]+", page))
assert urls <= {"http://www.w3.org/2000/svg"}, urls
tags = []
class P(HTMLParser):
    def handle_starttag(self, tag, attrs):
        tags.append((tag, dict(attrs)))
P().feed(page)
names = [t for t, _ in tags]
for bad in ("script", "link", "img", "iframe", "object"):
    assert bad not in names, bad
assert names.count("table") >= 3 and "svg" in names and "rect" in names, names
assert "no difference detected" in page or "subject faster" in page or "subject slower" in page
assert re.search(r"\[[0-9.]+, [0-9.]+\]", page), "an interval"
assert "<title>durabench: fanout (two.ini)</title>" in page
assert "Environment" in page and "mem-a" in page
PY
rc=$?
check "the page is self-contained and holds tables, intervals, chart, environment" test "$rc" -eq 0
[ "$rc" -eq 0 ] || show "$tmp/py"

browser=""
for b in chromium chromium-browser; do
	command -v "$b" >/dev/null 2>&1 && { browser=$b; break; }
done
if [ -z "$browser" ]; then
	n=$((n + 1))
	echo "ok $n # SKIP chromium not installed (apt-get install chromium)"
	n=$((n + 1))
	echo "ok $n # SKIP chromium not installed"
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi

# render PAGE into PNG; the browser's log (console messages) into LOG
render() {
	timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$tmp/profile-$3" --enable-logging=stderr --v=0 \
		--window-size=1280,1400 --screenshot="$2" "file://$1" >"$tmp/log-$3" 2>&1
}

printf '<!DOCTYPE html><html><body><p>x</p><script>console.error("boom")</script></body></html>\n' \
	>"$tmp/noisy.html"
render "$tmp/noisy.html" "$tmp/noisy.png" noisy
grep -q ':CONSOLE' "$tmp/log-noisy"
rc=$?
check "control: a page that logs to the console is caught" test "$rc" -eq 0

render "$tmp/report.html" "$tmp/report.png" report
rc=$?
[ "$rc" -eq 0 ] && [ -s "$tmp/report.png" ] && ! grep -q ':CONSOLE' "$tmp/log-report"
rc=$?
check "chromium renders the page without console messages" test "$rc" -eq 0
[ "$rc" -eq 0 ] || grep -E 'CONSOLE|rror' "$tmp/log-report" | grep -v dbus | head -5 | sed 's/^/# /'

# PNG decoded with the standard library alone (zlib + the five filters)
python3 - "$tmp/report.png" >"$tmp/py" 2>&1 <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    ln, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + ln]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + ln
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for _ in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
pixels = [tuple(r[x:x + 3]) for r in rows for x in range(0, stride, bpp)]
nonwhite = sum(1 for p in pixels if p != (255, 255, 255))
blue = sum(1 for p in pixels if abs(p[0] - 0x00) < 8 and abs(p[1] - 0x72) < 8 and abs(p[2] - 0xB2) < 8)
print("%dx%d, %d non-white pixels, %d of the first bar colour" % (w, h, nonwhite, blue))
assert nonwhite > w * h // 100, "blank page"
assert blue > 200, "no chart bar"
PY
rc=$?
check "the screenshot is not blank and shows the chart" test "$rc" -eq 0
show "$tmp/py"
[ -n "${KEEP_SCREENSHOT:-}" ] && cp "$tmp/report.png" "$KEEP_SCREENSHOT"

echo "1..$n"
[ "$failed" -eq 0 ]
