#!/usr/bin/env bash
# `gg report`: forces a small graph (six independent thunks, then one that
# needs them all) on three slots with --trace, then checks the text summary,
# that the SVG timeline is well-formed XML with one bar per trace event and
# one row per slot, that headless Chromium renders it (the screenshot has the
# phase colours where the bars are), and that malformed traces are rejected
# with the file and the position named.
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 sh
here=$(cd "$(dirname "$0")" && pwd)
# Chromium must be installed (tools/deps.sh test installs it).
need chromium
cd "$T"
gg init . >/dev/null

# Six leaves of different lengths (shell loops: a thunk sees only its inputs,
# and sh's builtins need none) and one thunk that needs them all.
for i in 1 2 3 4 5 6; do
	gg thunk -o o$i --placeholder o$i -- sh -c "i=0; while [ \$i -lt $((i * 15000)) ]; do i=\$((i+1)); done; echo $i > o$i" >/dev/null
done
gg thunk -i o1 -i o2 -i o3 -i o4 -i o5 -i o6 -o all --placeholder all -- sh -c 'echo done > all' >/dev/null
gg force -j 3 --no-progress --trace tr.json all 2>force.err
check "the graph is forced" grep -qx done all

gg report --svg tl.svg --top 3 tr.json >report.txt 2>report.err
check "gg report succeeds" [ $? -eq 0 ]
check "the summary counts 7 thunk runs and 21 events" grep -q '^trace tr.json: 7 thunk runs, 21 events on [1-3] slots' report.txt
check "the summary has the wall time" grep -q '^wall time  *[0-9.]* s' report.txt
check "the summary has busy time per phase" \
	sh -c "grep -q '^  materialise ' report.txt && grep -q '^  run ' report.txt && grep -q '^  store outputs ' report.txt"
check "the summary has the utilisation" grep -q '^utilisation  *[0-9.]*%' report.txt
# Which leaves are slowest depends on the machine's load, so the expected list
# is computed from the trace itself: per thunk, the sum of its events.
cat >check_slowest.py <<'PY'
import json, sys
total = {}
for e in json.load(open(sys.argv[1]))["traceEvents"]:
    if e["ph"] == "X":
        total[e["name"]] = total.get(e["name"], 0) + e["dur"]
want = sorted(total, key=lambda n: -total[n])[:3]
lines = open(sys.argv[2]).read().split("slowest 3 thunk runs:\n")[1].splitlines()[1:4]
got = [l.split(None, 9)[-1] for l in lines]
print("slowest from trace", want, "report", got)
sys.exit(0 if got == want else 1)
PY
check "the slowest 3 thunks are listed, slowest first" python3 check_slowest.py tr.json report.txt
check "the critical path follows the trace's dependency edges" grep -q '^critical path (longest chain of dependencies' report.txt
check "the critical path is a leaf, then the thunk that needs all leaves" sh -c "sed -n '/^critical path/,/^\$/p' report.txt | grep -c ' slot ' | grep -qx 2 && sed -n '/^critical path/,/^\$/p' report.txt | grep . | tail -n 1 | grep -q 'sh all T'"

cat >check_svg.py <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
events = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "X"]
root = ET.parse(sys.argv[2]).getroot()   # raises on malformed XML
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class", "").startswith("bar ")]
rows = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "row"]
assert len(bars) == len(events), (len(bars), len(events))
assert len(rows) == len({e["tid"] for e in events}), (len(rows), {e["tid"] for e in events})
for b in bars:
    t = b.find("s:title", ns)
    assert t is not None and t.text.startswith("sh "), "a bar without its thunk's label"
    assert b.get("class").split()[1] in ("materialise", "run", "store"), b.get("class")
assert len([b for b in bars if "run" in b.get("class")]) == 7
legend = "".join(root.find(".//s:g[@class='legend']", ns).itertext())
for p in ("materialise", "run", "store outputs"):
    assert p in legend, p
ticks = [t for t in root.find(".//s:g[@class='axis']", ns).iter("{http://www.w3.org/2000/svg}text")]
assert len(ticks) >= 4, "too few axis ticks"
print(len(bars), "bars", len(rows), "rows")
PY
check "the SVG is well-formed, one bar per event, one row per slot" python3 check_svg.py tr.json tl.svg

# Render it with headless Chromium and look for the bars' colours.
prof=$(mktemp -d "$T/chromium.XXXXXX")
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
	--screenshot="$T/shot.png" --window-size=1400,400 "file://$T/tl.svg" >chromium.log 2>&1
check "chromium renders the SVG to a PNG" [ -s shot.png ]
cat >check_png.py <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
def count(rgb):
    return sum(1 for r in rows for x in range(0, stride, bpp) if all(abs(r[x + k] - rgb[k]) <= 6 for k in range(3)))
orange, blue, green = count((0xf2, 0x8e, 0x2b)), count((0x4e, 0x79, 0xa7)), count((0x59, 0xa1, 0x4f))
print("run pixels", orange, "materialise pixels", blue, "store pixels", green)
assert orange > 5000, "the run bars are not drawn"
assert blue > 100 and green > 100, "the legend or phase bars are missing"
PY
check "the screenshot shows the bars in their phase colours" python3 check_png.py shot.png

# With dependency edges ("args":{"thunk","deps"}), the critical path follows
# them: A -> B -> D (10 + 20 + 5 ms) is longer than C -> D (25 + 5 ms), and
# E's dependency Z did not run in this trace (a memo hit) so costs nothing.
ev() { # NAME THUNK TID TS DUR DEPS
	printf '{"name":"%s","cat":"run","ph":"X","pid":1,"tid":%s,"ts":%s,"dur":%s,"args":{"thunk":"%s","deps":[%s]}}' \
		"$1" "$3" "$4" "$5" "$2" "$6"
}
{
	printf '{"traceEvents":[\n'
	ev "cc a.o" TA 0 0 10000 ''; printf ',\n'
	ev "cc b.o" TB 0 10000 20000 '"TA"'; printf ',\n'
	ev "cc c.o" TC 1 0 25000 ''; printf ',\n'
	ev "ld prog" TD 1 30000 5000 '"TB","TC"'; printf ',\n'
	ev "strip prog" TE 0 30000 1000 '"TZ"'
	printf '\n],"displayTimeUnit":"ms"}\n'
} >deps.json
gg report deps.json >deps.txt 2>&1
check "with edges, the critical path is labelled as such" \
	grep -q '^critical path (longest chain of dependencies, by run time): 3 thunks,  *0.035 s' deps.txt
check "... and goes A, B, D in order" \
	sh -c "sed -n '/^critical path/,\$p' deps.txt | sed -n '2p;3p;4p' | awk '{print \$NF}' | tr '\\n' ' ' | grep -qx 'a.o b.o prog '"

# Malformed traces: the file and the position are named, nothing is written.
printf '{"traceEvents":[\n{"name":"a","ph":"X","tid":0,"ts":1,"dur":2},\n{"name":"b" "ph":"X"}]}' >bad.json
gg report --svg bad.svg bad.json >/dev/null 2>bad.err
check "a malformed trace fails" [ $? -eq 1 ]
check "the error names the file, line and column" grep -q '^gg: bad.json: line 3, column 13: ' bad.err
check "no SVG is written for a malformed trace" [ ! -e bad.svg ]
gg report "$here/../fuzz/corpus/trace/invalid-deep" >/dev/null 2>deep.err
check "nesting is bounded" grep -q 'nested deeper than 64 levels' deep.err
gg report missing.json 2>missing.err
check "a missing file is named" grep -q 'missing.json' missing.err
finish
