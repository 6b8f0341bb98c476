#!/usr/bin/env bash
# test_viz.sh: `clgraph viz RUNDIR` end to end. Two short trainings on colored MNIST built from a
# small synthetic MNIST-format directory (60 train / 30 test digits written here): CIM
# (graphs/cim.graph: mask and psi image outputs) and tests/cli/viz_probe.graph (a softmax over a
# 7x7 grid, embeddings of 16 and 2 dims, RGB conv filters and a [8, 2] parameter embedding them).
# Then viz on both:
#  - report.html exists (written atomically: no temporary file left), has no http(s):// reference,
#    no script, and the expected sections: the run summary, curves (one SVG per quantity), the
#    image grid (x, mask, psi), the P(T|X) heatmaps, the embedding scatters, the filters and their
#    layout at the embedding's coordinates;
#  - every data:image/png decodes (a stdlib-only Python check: signature, chunk CRCs, IHDR,
#    zlib-inflated IDAT of the right size, valid filter bytes) and every <svg> is well-formed XML;
#  - --examples K sets the grid's columns, --out FILE writes elsewhere, eval.json's numbers and a
#    torn last line of metrics.jsonl are handled;
#  - exit 1 with the reason: no RUNDIR, a missing directory, not a run directory, no checkpoint,
#    bad options, an unknown data set, an unwritable --out.
# About 30 s on PoCL with warm kernel caches.
. "$(dirname "$0")/lib.bash"
# run WANT_RC CMD ARGS...: clgraph CMD ARGS in $TMP, with exit status WANT_RC and no sanitizer
# report
run() {
    local want=$1; shift
    check "clgraph $* (want exit $want)"
    clg "$want" "$@"
}

# A synthetic MNIST-format directory (as tests/cli/test_data.sh, another byte pattern) and
# colored MNIST from it.
mkdir -p "$TMP/mnist"
pat='\x01\x10\x40\x80\xc0\xff\x07\x02\x33'
idx_pair "$TMP/mnist" train 60 "$pat"
idx_pair "$TMP/mnist" t10k 30 "$pat"
run 0 data build colored_mnist mnist="$TMP/mnist" --out "$TMP/cm"

run 0 train "$SRC/graphs/cim.graph" --data cm --steps 2 --batch 8 --log-every 1 --out cim --quiet
run 0 train "$SRC/tests/cli/viz_probe.graph" --data cm --steps 4 --batch 8 --log-every 1 \
    --eval-every 2 --out probe --quiet

# check_report FILE: every PNG data URI decodes, every SVG parses; prints "PNGS SVGS".
check_report() {
    python3 - "$1" <<'EOF'
import base64, re, struct, sys, zlib
import xml.etree.ElementTree as ET
html = open(sys.argv[1], encoding="utf-8").read()
pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]*)"', html)
if len(pngs) != html.count("\"data:"):
    sys.exit("a data: URI that is not a PNG image")
for k, b64 in enumerate(pngs):
    b = base64.b64decode(b64, validate=True)
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"image {k}: no PNG signature")
    pos, idat, ihdr, end = 8, b"", None, False
    while pos < len(b):
        (n,) = struct.unpack(">I", b[pos:pos + 4])
        typ, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", b[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(typ + data) != crc:
            sys.exit(f"image {k}: bad CRC in {typ}")
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif typ == b"IDAT":
            idat += data
        elif typ == b"IEND":
            end = True
        pos += 12 + n
    if not ihdr or not end or pos != len(b):
        sys.exit(f"image {k}: missing IHDR/IEND or trailing bytes")
    w, h, depth, ctype = ihdr[:4]
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    if depth != 8 or len(raw) != h * (1 + w * ch):
        sys.exit(f"image {k}: {len(raw)} bytes inflated for {w}x{h}x{ch}")
    if any(raw[r * (1 + w * ch)] > 4 for r in range(h)):
        sys.exit(f"image {k}: bad filter byte")
svgs = re.findall(r"<svg .*?</svg>", html, re.S)
for k, s in enumerate(svgs):
    try:
        ET.fromstring(s.replace("&middot;", "&#183;"))
    except ET.ParseError as err:
        sys.exit(f"svg {k}: {err}")
print(len(pngs), len(svgs))
EOF
}

# ---- CIM: summary, curves, the x / mask / psi grid, the first conv's filters ----
run 0 viz cim
expect out "wrote cim/report.html"
expect out "summary curves images filters"
R=cim/report.html
[ -s "$TMP/$R" ] || fail "no $R"
ls "$TMP/cim" | grep -q '\.tmp' && fail "a temporary file was left in cim/"
check "$R is self-contained and has its sections"
lacks "$R" "http://"
lacks "$R" "https://"
lacks "$R" "<script"
for s in summary curves images filters; do expect "$R" "<section id=\"$s\">"; done
expect "$R" "<a href=\"#curves\">Curves</a>"
# a data directory is recorded as an absolute path
CM=$(cd "$TMP/cm" && pwd -P)
expect "$R" "<td>$CM (colored_mnist: mnist=$TMP/mnist)</td>"
expect "$R" "<th>acc</th>"
expect "$R" ">loss</text>"
expect "$R" ">acc</text>"
for row in x mask psi; do expect "$R" "<tr><th>$row</th>"; done
expect "$R" "#15 &middot; y=1"
expect "$R" "tn.conv0.w</code> [16, 3, 3, 3]"
check "every PNG decodes, every SVG parses"
counts=$(check_report "$TMP/$R") || fail "check_report $R: $counts"
read -r pngs svgs <<<"$counts"
# 16 examples x (x, mask, psi) + the filter grid; one chart per quantity (loss, acc, examples/s)
[ "$pngs" -eq 49 ] || fail "$pngs PNG images in $R, want 49"
[ "$svgs" -eq 3 ] || fail "$svgs SVG charts in $R, want 3"

# ---- --examples, --out, --data (another data set; here the same directory by a relative path) ----
run 0 viz cim --examples 3 --out "$TMP/small.html" --data cm
expect out "wrote $TMP/small.html"
expect small.html "<td>cm (given with --data; the run trained on $CM)</td>"
counts=$(check_report "$TMP/small.html") || fail "check_report small.html: $counts"
[ "${counts% *}" -eq 10 ] || fail "${counts% *} PNG images with --examples 3, want 10"
expect small.html "#2 &middot; y=0"
lacks small.html "#3 &middot;"

# ---- every kind of picture ----
# eval.json numbers in the summary; a torn last line of metrics.jsonl is skipped with a note
printf '{"linear_probe": {"acc": 0.875, "folds": [1, 2]}, "note": "x"}\n' >"$TMP/probe/eval.json"
printf '{"step":5,"epoch":1,"split":"tr' >>"$TMP/probe/metrics.jsonl"
run 0 viz probe --examples 4
expect out "summary curves images crops embeddings filters"
R=probe/report.html
counts=$(check_report "$TMP/$R") || fail "check_report $R: $counts"
check "$R has the heatmaps, the scatters, the filters and their layout"
for s in summary curves images crops embeddings filters not-shown; do
    expect "$R" "<section id=\"$s\">"
done
expect "$R" "<th>linear_probe.acc</th><td>0.875</td>"
expect "$R" "<th>linear_probe.folds[1]</th><td>2</td>"
expect "$R" "<th>note</th><td class=\"s\">x</td>"
expect "$R" "1 line(s) skipped"
expect "$R" "<h3>p_crops</h3>"
expect "$R" "the 7x7 map of P(T|X), the crop coverage over the input"
expect "$R" "#3 &middot; y=0 &middot; max p"
expect "$R" "code: 24 test examples, 16 dims (PCA)"
expect "$R" "emb: 24 test examples, 2 dims"
expect "$R" ">PC1 ("
expect "$R" "conv0.w</code> [8, 3, 5, 5]"
expect "$R" "The filters of <code>conv0.w</code> at their coordinates in <code>E</code> [8, 2]"
expect "$R" "<tr><th>mask</th>"
expect "$R" "<li><code>planes</code> f32[8, 8, 576]: neither an image [N, C, H, W] nor a vector \
[N, D] per example</li>"
# 4 x (x, mask) + 4 x (input, heatmap, coverage) + the filter grid and layout
read -r pngs svgs <<<"$counts"
[ "$pngs" -eq 22 ] || fail "$pngs PNG images in $R, want 22"
# curves: loss, acc, examples/s; scatters: code, emb, logits
[ "$svgs" -eq 6 ] || fail "$svgs SVG charts in $R, want 6"

# ---- errors ----
run 1 viz
expect err "missing the RUNDIR"
run 1 viz "$TMP/nowhere"
expect err "nowhere: error: no such run directory"
mkdir -p "$TMP/plain"
run 1 viz plain
expect err "no config.json: not a run directory"
cp -r "$TMP/cim" "$TMP/nock"
rm -f "$TMP"/nock/checkpoints/*
run 1 viz nock
expect err "no checkpoint in nock/checkpoints"
run 1 viz cim --examples 0
expect err "--examples expects an integer >= 1 and <= 256, got '0'"
run 1 viz cim --examples
expect err "option --examples needs a value"
run 1 viz cim --colour
expect err "unknown option '--colour'"
run 1 viz cim probe
expect err "one run directory at a time"
run 1 viz cim --data no_such_set
expect err "no data set named 'no_such_set'"
run 1 viz cim --out "$TMP/nowhere/r.html"
expect err "nowhere/r.html: error: cannot write the report: no directory $TMP/nowhere"
echo "all $n checks passed"
