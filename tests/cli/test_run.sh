#!/usr/bin/env bash
# test_run.sh: `clgraph run` end to end: a success case whose fetches, gradient and two SGD steps
# are checked against values computed by hand, then every input error (exit 1 with a message
# naming the problem, never a crash): a missing feed, unknown --feed/--fetch/--grad-of names
# (the message lists the named values), npy files of the wrong dtype (<f8, >f4), truncated, of
# the wrong rank or size or dtype for the declaration, symbols bound differently by two feeds,
# --grad of an i32 input, --grad without --grad-of when there are 2 objectives, --steps without
# minimize, fetch paths that cannot be written, a device selector matching nothing, bad options.
# Last, graphs/cim.graph at N=2 with random inputs and random init for 1 step with fetches and a
# gradient: it must finish (in the ASan + UBSan build: with no sanitizer report).
# npy files are written and read with python3's standard library (struct), not numpy.
. "$(dirname "$0")/lib.bash"

# run WANT_RC ARGS...: clgraph run ARGS in $TMP (stdout/stderr to $TMP/out, $TMP/err), bounded in
# time, no sanitizer report; an error leaves stdout empty.
run() {
    local want=$1; shift
    check "clgraph run $* (want exit $want)"
    clg "$want" run "$@"
    if [ "$want" -ne 0 ]; then
        [ -s "$TMP/out" ] && fail "output on stdout with an error"
    fi
}

# npy FILE DESCR SHAPE FMT VALUES...: writes an npy file (FMT: struct codes of the payload, which
# may disagree with DESCR on purpose; a count below the shape's makes a truncated file).
npy() {
    "$PY" - "$TMP/$1" "${@:2}" <<'PYEOF' || fail "cannot write $1"
import struct, sys
path, descr, shape, fmt = sys.argv[1:5]
vals = [float(v) if fmt[-1] in "fd" else int(v) for v in sys.argv[5:]]
h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack(fmt, *vals))
PYEOF
}

# check_npy FILE DESCR SHAPE VALUES...: the file is an npy of that dtype and shape (a Python tuple)
# whose values agree with VALUES to 1e-6 relative (i32: exactly).
check_npy() {
    "$PY" - "$TMP/$1" "${@:2}" <<'PYEOF' || fail "$1 has the wrong contents"
import ast, struct, sys
path, descr, shape = sys.argv[1:4]
want = [float(v) for v in sys.argv[4:]]
d = open(path, "rb").read()
assert d[:8] == b"\x93NUMPY\x01\x00", d[:8]
hl = struct.unpack("<H", d[8:10])[0]
hdr = ast.literal_eval(d[10:10 + hl].decode())
assert hdr["descr"] == descr and hdr["shape"] == ast.literal_eval(shape) and \
    not hdr["fortran_order"], hdr
got = struct.unpack("<%d%s" % (len(want), "i" if descr == "<i4" else "f"), d[10 + hl:])
ok = all(abs(g - w) <= 1e-6 * max(1.0, abs(w)) for g, w in zip(got, want))
print("got", list(got))
assert ok, ("want", want)
PYEOF
}

cat >"$TMP/two.graph" <<'EOF'
input x : f32[N, 3]
input k : i32[N]
param w : f32[3] = constant(0.5)
a = sum(x * w)
b = mean(square(x * w))
minimize a
minimize b
output s = a + b
output kk = slice(k, 0, 1, 2)
EOF
cat >"$TMP/one.graph" <<'EOF'
input x : f32[N, 3]
input y : f32[M]
param w : f32[3] = constant(0.5)
minimize sum(x * w)
output z = 2 * x + 1
EOF
cat >"$TMP/nomin.graph" <<'EOF'
input x : f32[2, 3]
output z = 2 * x + 1
EOF
npy x.npy "<f4" "(2, 3)" "<6f" 1 2 3 4 5 6
npy k.npy "<i4" "(2,)" "<2i" 7 -3
npy y4.npy "<f4" "(4,)" "<4f" 1 1 1 1
cp "$TMP/x.npy" "$TMP/x.orig"
npy x_f8.npy "<f8" "(2, 3)" "<6d" 1 2 3 4 5 6
npy x_be.npy ">f4" "(2, 3)" ">6f" 1 2 3 4 5 6
npy x_trunc.npy "<f4" "(2, 3)" "<5f" 1 2 3 4 5
npy x_i4.npy "<i4" "(2, 3)" "<6i" 1 2 3 4 5 6
npy x_24.npy "<f4" "(2, 4)" "<8f" 1 2 3 4 5 6 7 8
npy x_3d.npy "<f4" "(2, 3, 1)" "<6f" 1 2 3 4 5 6
npy x_33.npy "<f4" "(3, 3)" "<9f" 1 2 3 4 5 6 7 8 9
npy k3.npy "<i4" "(3,)" "<3i" 1 2 3
npy w4.npy "<f4" "(4,)" "<4f" 1 2 3 4
printf '\x93NUMPY\x01\x00\x46\x00{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_' >"$TMP/x_hdr.npy"

# ---- success: values computed by hand (x = [[1,2,3],[4,5,6]], w = 0.5) ----
# a = sum(x*w) = 10.5; b = mean((x*w)^2) = 91/24; db/dw_j = sum_i x_ij^2 / 6, db/dx = x / 12;
# two objectives: a step takes both gradients at the same w, then both sgd updates.
run 0 two.graph --feed x=x.npy --feed k=k.npy --fetch s=s.npy --fetch a=a.npy --fetch kk=kk.npy \
    --grad w=gw.npy --grad x=gx.npy --grad-of b
[ -s "$TMP/err" ] && fail "unexpected stderr"
check_npy s.npy "<f4" "()" 14.2916667
check_npy a.npy "<f4" "()" 10.5
check_npy kk.npy "<i4" "(1,)" -3
check_npy gw.npy "<f4" "(3,)" 2.83333333 4.83333333 7.5
check_npy gx.npy "<f4" "(2, 3)" 0.0833333 0.1666667 0.25 0.3333333 0.4166667 0.5
# --steps 1 with sgd(lr=0.1): w = 0.5 - 0.1*[5,7,9] - 0.1*[17,29,45]/6
run 0 two.graph --feed x=x.npy --feed k=k.npy --fetch w=w1.npy --steps 1 --optimizer 'sgd(lr=0.1)'
check_npy w1.npy "<f4" "(3,)" -0.28333333 -0.68333333 -1.15
# step 2: db/dw_j = w_j * sum_i x_ij^2 / 3
run 0 two.graph --feed x=x.npy --feed k=k.npy --fetch w=w2.npy --steps 2 --optimizer=sgd\(lr=0.1\)
check_npy w2.npy "<f4" "(3,)" -0.62277778 -0.72277778 -0.325
# a fed parameter replaces its initialiser; the fetch after --steps 0 is the fed value
npy w3.npy "<f4" "(3,)" "<3f" 1 -1 2
run 0 two.graph --feed x=x.npy --feed k=k.npy --feed w=w3.npy --fetch a=a3.npy --fetch w=w3o.npy
check_npy a3.npy "<f4" "()" 16
check_npy w3o.npy "<f4" "(3,)" 1 -1 2
# the gradient of an input the target does not depend on is zeros
run 0 one.graph --feed x=x.npy --feed y=y4.npy --grad y=gy.npy --fetch z=z.npy
check_npy gy.npy "<f4" "(4,)" 0 0 0 0
check_npy z.npy "<f4" "(2, 3)" 3 5 7 9 11 13
# the optimizer state can be fetched: adam's exp_avg after 1 step is (1 - beta1) * g
run 0 one.graph --feed x=x.npy --feed y=y4.npy --steps 1 --fetch w:exp_avg=m.npy
check_npy m.npy "<f4" "(3,)" 0.5 0.7 0.9

# ---- feeds ----
run 1 two.graph --feed x=x.npy --fetch s=s.npy
expect_line err "error: input 'k' is not fed (--feed k=FILE.npy)"
run 1 two.graph --feed x=x.npy --feed k=k.npy --feed bogus=x.npy --fetch s=s.npy
expect_line err "error: --feed bogus: the graph has no input or parameter of that name"
expect err "note: named values: x, k, s, kk"
run 1 two.graph --feed x=x.npy --feed k=k.npy --feed w=w4.npy --fetch s=s.npy
expect_line err "w4.npy: error: the array (<f4, 1 dims) does not fit 'w', which is f32[3]"
run 1 two.graph --feed x=nofile.npy --feed k=k.npy
expect_line err "nofile.npy: error: cannot open: No such file or directory"
run 1 two.graph --feed x --feed k=k.npy
expect_line err "clgraph run: --feed expects NAME=FILE.npy, got 'x'"

# ---- npy files that are not f32/i32 little-endian or are broken ----
run 1 two.graph --feed x=x_f8.npy --feed k=k.npy --fetch s=s.npy
expect err "x_f8.npy: error: dtype '<f8' is not supported; supported dtypes: '<f4' (float32), '<i4' (int32)"
run 1 two.graph --feed x=x_be.npy --feed k=k.npy --fetch s=s.npy
expect err "x_be.npy: error: big-endian dtype '>f4' is not supported"
run 1 two.graph --feed x=x_trunc.npy --feed k=k.npy --fetch s=s.npy
expect_line err "x_trunc.npy: error: truncated data: expected 24 bytes for shape (2, 3) of '<f4', file has 20"
run 1 two.graph --feed x=x_hdr.npy --feed k=k.npy --fetch s=s.npy
expect err "x_hdr.npy: error:"
run 1 two.graph --feed x=x_i4.npy --feed k=k.npy --fetch s=s.npy
expect_line err "x_i4.npy: error: dtype <i4, but input 'x' is declared f32 (<f4) (two.graph:1)"
run 1 two.graph --feed x=x.npy --feed k=x.npy --fetch s=s.npy
expect_line err "x.npy: error: dtype <f4, but input 'k' is declared i32 (<i4) (two.graph:2)"

# ---- shapes against the declarations ----
run 1 two.graph --feed x=x_24.npy --feed k=k.npy --fetch s=s.npy
expect_line err "x_24.npy: error: dim 1 is 4, but input 'x' is declared f32[N, 3] (two.graph:1)"
run 1 two.graph --feed x=x_3d.npy --feed k=k.npy --fetch s=s.npy
expect_line err "x_3d.npy: error: 3 dims, but input 'x' is declared f32[N, 3] (two.graph:1)"
run 1 two.graph --feed x=x_33.npy --feed k=k.npy --fetch s=s.npy
expect_line err "k.npy: error: dim 0 is 2, but symbol N is already 3 from another feed"
run 1 two.graph --feed x=x.npy --feed k=k3.npy --fetch s=s.npy
expect_line err "k3.npy: error: dim 0 is 3, but symbol N is already 2 from another feed"
run 1 two.graph --feed x=x.npy --feed k=k.npy --feed x=x_33.npy --fetch s=s.npy
expect_line err "error: 'x' is fed twice (x.npy and x_33.npy)"

# ---- fetches and gradients ----
run 1 two.graph --feed x=x.npy --feed k=k.npy --fetch bogus=b.npy
expect_line err "error: --fetch bogus: no value of that name"
expect err "note: named values: x, k, s, kk"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad k=gk.npy --grad-of a
expect_line err "error: --grad k: an i32 input has no gradient"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad w=gw.npy
expect_line err "error: --grad needs --grad-of NAME: the graph has 2 minimize statements"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad w=gw.npy --grad-of nosuch
expect_line err "error: --grad-of nosuch: no value of that name"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad w=gw.npy --grad-of x
expect_line err "error: the gradient target 'x' must be an f32 scalar, it is f32[2, 3]"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad s=gs.npy --grad-of a
expect_line err "error: --grad s: not an input or a parameter of the graph"
run 1 nomin.graph --feed x=x.npy --grad x=gx.npy
expect_line err "error: --grad needs --grad-of NAME: the graph has 0 minimize statements"
run 1 nomin.graph --feed x=x.npy --fetch z=z.npy --steps 3
expect_line err "error: --steps needs a minimize statement in the graph"
run 1 two.graph --feed x=x.npy --feed k=k.npy --fetch s=/nonexistent-dir/s.npy
expect_line err "/nonexistent-dir/s.npy: error: cannot create a temporary file next to it: No such file or directory"
run 1 two.graph --feed x=x.npy --feed k=k.npy --fetch s=x.npy/s.npy
expect_line err "x.npy/s.npy: error: cannot create a temporary file next to it: Not a directory"
cmp -s "$TMP/x.npy" "$TMP/x.orig" || fail "x.npy changed"
run 1 two.graph --feed x=x.npy --feed k=k.npy --grad w="$TMP"/gw.npy/g --grad-of a
expect err "error: cannot create a temporary file next to it"

# ---- options and devices ----
run 1 two.graph --feed x=x.npy --feed k=k.npy --fetch s=s.npy --device no-such-device-xyz
expect_line err "error: no OpenCL device matches 'no-such-device-xyz'"
expect_line err "available devices:"
run 1 two.graph --feed x=x.npy --feed k=k.npy --fetch s=s.npy --device 99
expect err "error: device index 99 is out of range"
run 1 two.graph --feed x=x.npy --feed k=k.npy --steps -1
expect_line err "clgraph run: --steps expects a non-negative integer"
run 1 two.graph --feed x=x.npy --feed k=k.npy --seed 1x
expect_line err "clgraph run: --seed expects a non-negative integer"
run 1 two.graph --feed x=x.npy --feed k=k.npy --steps 1 --optimizer 'rmsprop(lr=1)'
expect_line err "error: --optimizer rmsprop(lr=1): unknown optimizer 'rmsprop' (known: sgd, adam, adamw)"
run 1 two.graph --feed x=x.npy --bogus
expect_line err "clgraph run: unknown option '--bogus'"
run 1 --feed x=x.npy
expect_line err "clgraph run: missing the GRAPH file"
run 1 missing.graph --feed x=x.npy
expect_line err "missing.graph: error: cannot open: No such file or directory"

# ---- graphs/cim.graph at N=2: random inputs, parameters from their initialisers ----
"$PY" - "$TMP" <<'PYEOF' || fail "cannot write the CIM feeds"
import random, struct, sys
R = random.Random(7)
def npy(path, descr, shape, vals):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    fmt = "<%d%s" % (len(vals), "i" if descr == "<i4" else "f")
    with open(sys.argv[1] + "/" + path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack(fmt, *vals))
# xp and xn positively correlated with x: no clamp of ms_ssim is active (see the report of
# this test's commit: a clamped ms_ssim gives NaN gradients today)
x = [R.random() for _ in range(2 * 3 * 28 * 28)]
npy("cim_x.npy", "<f4", "(2, 3, 28, 28)", x)
npy("cim_xp.npy", "<f4", "(2, 3, 28, 28)", [0.9 * v + 0.1 * R.random() for v in x])
npy("cim_xn.npy", "<f4", "(2, 3, 28, 28)", [0.6 * v + 0.4 * R.random() for v in x])
npy("cim_y.npy", "<i4", "(2,)", [0, 1])
PYEOF
run 0 "$SRC/graphs/cim.graph" --feed x=cim_x.npy --feed xp=cim_xp.npy --feed xn=cim_xn.npy \
    --feed y=cim_y.npy --steps 1 --fetch loss=cim_loss.npy --fetch mask=cim_mask.npy \
    --fetch acc=cim_acc.npy --grad tn.conv0.w=cim_g.npy --seed 3
"$PY" - "$TMP" <<'PYEOF' || fail "CIM fetches"
import math, struct, sys
def load(name):
    d = open(sys.argv[1] + "/" + name, "rb").read()
    hl = struct.unpack("<H", d[8:10])[0]
    return struct.unpack("<%df" % ((len(d) - 10 - hl) // 4), d[10 + hl:])
loss, = load("cim_loss.npy")
acc, = load("cim_acc.npy")
mask = load("cim_mask.npy")
g = load("cim_g.npy")
assert math.isfinite(loss) and acc in (0.0, 0.5, 1.0), (loss, acc)
assert len(mask) == 2 * 28 * 28 and all(0 < m < 1 for m in mask), mask[:4]
assert len(g) == 16 * 27 and all(math.isfinite(v) for v in g) and any(v != 0 for v in g)
print("loss", loss, "acc", acc)
PYEOF

echo "all $n checks passed"
