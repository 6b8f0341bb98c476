#!/usr/bin/env bash
# test_train_e2e.sh: training end to end through `clgraph run --steps K` on synthetic data that
# this test generates deterministically with python3's standard library (random.Random with a
# fixed seed, npy written with struct: no numpy).
#
#  - MLP (mlp(x, [16, 2])) on 128 points of an XOR of four Gaussian blobs (centres (+-1.5,
#    +-1.5), sigma 0.5; the class is the quadrant parity, so no linear model separates it), run's
#    --optimizer adam(lr=0.01): train accuracy <= 0.75 before training, >= 0.95 after 100 steps
#    (PoCL: 0.586 -> 0.984) and a loss below 0.1 (0.037); the trained parameters, fetched and
#    fed back with --steps 0, give >= 0.95 on 128 held-out points of the same distribution.
#  - CNN (conv 3x3 with 8 channels, relu, max_pool2d 2, dense 4) on 64 noisy 8x8 images with a
#    bar whose orientation is the class (horizontal, vertical, diagonal, anti-diagonal; random
#    position, Gaussian noise sigma 0.4), the graph's own `with sgd(lr=0.05, momentum=0.9)`:
#    accuracy <= 0.5 before, >= 0.9 after 60 steps (PoCL: 0.266 -> 1.0, loss 0.022).
#  - Determinism: the same --seed gives bit-identical fetches and trained parameters (cmp of the
#    npy files); another seed gives other initial parameters, hence other outputs; a graph with
#    random ops (dropout, normal_like) and no parameters: same seed same bits, another seed other
#    bits; dropout(p=0.5) keeps 96..160 of 256 ones, scaled to 2.
# Each training run takes about a second on PoCL; the whole test about 15 s.
. "$(dirname "$0")/lib.bash"

# run ARGS...: clgraph run ARGS in $TMP, must exit 0 without any sanitizer report
run() {
    check "clgraph run $*"
    clg 0 run "$@"
}

# scalar FILE: prints the f32 scalar stored in $TMP/FILE (an npy of shape ())
scalar() {
    "$PY" - "$TMP/$1" <<'PYEOF' || fail "cannot read $1"
import ast, struct, sys
d = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", d[8:10])[0]
h = ast.literal_eval(d[10:10 + hl].decode())
assert h["descr"] == "<f4" and h["shape"] == (), h
print("%.6f" % struct.unpack("<f", d[10 + hl:14 + hl])[0])
PYEOF
}

# assert NAME VALUE OP BOUND: e.g. assert acc 0.98 '>=' 0.95
assert() {
    echo "  $1 = $2 (want $3 $4)"
    "$PY" -c "import sys; sys.exit(0 if $2 $3 $4 else 1)" || fail "$1 = $2, want $3 $4"
}

same() { cmp -s "$TMP/$1" "$TMP/$2" || fail "$1 and $2 differ"; }
differ() { cmp -s "$TMP/$1" "$TMP/$2" && fail "$1 and $2 are identical"; return 0; }

"$PY" - "$TMP" <<'PYEOF' || fail "cannot write the data"
import random, struct, sys
def npy(name, descr, shape, vals):
    s = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, s)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    fmt = "<%d%s" % (len(vals), "f" if descr == "<f4" else "i")
    with open(sys.argv[1] + "/" + name, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack(fmt, *vals))
R = random.Random(2024)
def blobs(tag):
    xs, ys = [], []
    for i in range(128):
        q = i % 4
        cx, cy = (-1.5 if q & 1 else 1.5), (-1.5 if q & 2 else 1.5)
        xs += [cx + R.gauss(0, 0.5), cy + R.gauss(0, 0.5)]
        ys.append((q & 1) ^ (q >> 1))
    npy("blobs_x_%s.npy" % tag, "<f4", (128, 2), xs)
    npy("blobs_y_%s.npy" % tag, "<i4", (128,), ys)
blobs("train")
blobs("test")
xs, ys = [], []
for i in range(64):
    c = i % 4
    img = [[R.gauss(0, 0.4) for _ in range(8)] for _ in range(8)]
    p, s = R.randrange(1, 7), R.randrange(-1, 2)
    for t in range(8):
        r, q = [(p, t), (t, p), (t, t + s), (t, 7 - t + s)][c]
        if 0 <= q < 8:
            img[r][q] += 1.0
    xs += [v for row in img for v in row]
    ys.append(c)
npy("bars_x.npy", "<f4", (64, 1, 8, 8), xs)
npy("bars_y.npy", "<i4", (64,), ys)
npy("r.npy", "<f4", (4, 64), [1.0] * 256)
PYEOF

cat >"$TMP/mlp.graph" <<'EOF'
input x : f32[N, 2]
input y : i32[N]
logits = mlp(x, [16, 2], name="clf")
loss = cross_entropy(logits, y)
minimize loss
metric acc = accuracy(logits, y)
EOF
cat >"$TMP/cnn.graph" <<'EOF'
input x : f32[N, 1, 8, 8]
input y : i32[N]
h = max_pool2d(relu(conv(x, 8, k=3, pad=1)), 2)
logits = dense(flatten(h), 4)
loss = cross_entropy(logits, y)
minimize loss with sgd(lr=0.05, momentum=0.9)
metric acc = accuracy(logits, y)
EOF
cat >"$TMP/rand.graph" <<'EOF'
input x : f32[B, D]
output d = dropout(x, p=0.5)
output z = normal_like(x)
EOF

# ---- MLP on XOR blobs ----
MLP=(mlp.graph --feed x=blobs_x_train.npy --feed y=blobs_y_train.npy --optimizer 'adam(lr=0.01)')
PARAMS="clf.dense0.w clf.dense0.b clf.dense1.w clf.dense1.b"
run "${MLP[@]}" --seed 1 --steps 0 --fetch acc=acc0.npy
assert "MLP train accuracy before training" "$(scalar acc0.npy)" '<=' 0.75
fetch_params() { for p in $PARAMS; do printf -- '--fetch %s=%s_%s.npy ' "$p" "$1" "$p"; done; }
# shellcheck disable=SC2046
run "${MLP[@]}" --seed 1 --steps 100 --fetch acc=acc_a.npy --fetch loss=loss_a.npy \
    --fetch logits=logits_a.npy $(fetch_params a)
assert "MLP train accuracy after 100 steps" "$(scalar acc_a.npy)" '>=' 0.95
assert "MLP train loss after 100 steps" "$(scalar loss_a.npy)" '<' 0.1
feed_params() { for p in $PARAMS; do printf -- '--feed %s=%s_%s.npy ' "$p" "$1" "$p"; done; }
# shellcheck disable=SC2046
run mlp.graph --feed x=blobs_x_test.npy --feed y=blobs_y_test.npy $(feed_params a) \
    --fetch acc=acc_test.npy
assert "MLP held-out accuracy of the trained parameters" "$(scalar acc_test.npy)" '>=' 0.95
# same seed: the same bits; another seed: another initialisation, other outputs
# shellcheck disable=SC2046
run "${MLP[@]}" --seed 1 --steps 100 --fetch acc=acc_b.npy --fetch loss=loss_b.npy \
    --fetch logits=logits_b.npy $(fetch_params b)
for f in loss logits; do same ${f}_a.npy ${f}_b.npy; done
for p in $PARAMS; do same "a_$p.npy" "b_$p.npy"; done
run "${MLP[@]}" --seed 2 --steps 0 --fetch logits=logits_s2_0.npy
run "${MLP[@]}" --seed 1 --steps 0 --fetch logits=logits_s1_0.npy
differ logits_s1_0.npy logits_s2_0.npy
run "${MLP[@]}" --seed 2 --steps 100 --fetch logits=logits_s2.npy
differ logits_a.npy logits_s2.npy

# ---- CNN on bar orientations ----
CNN=(cnn.graph --feed x=bars_x.npy --feed y=bars_y.npy --seed 1)
run "${CNN[@]}" --steps 0 --fetch acc=cacc0.npy
assert "CNN train accuracy before training" "$(scalar cacc0.npy)" '<=' 0.5
run "${CNN[@]}" --steps 60 --fetch acc=cacc.npy --fetch logits=clogits_a.npy --fetch conv0.w=cw_a.npy
assert "CNN train accuracy after 60 steps" "$(scalar cacc.npy)" '>=' 0.9
run "${CNN[@]}" --steps 60 --fetch logits=clogits_b.npy --fetch conv0.w=cw_b.npy
same clogits_a.npy clogits_b.npy
same cw_a.npy cw_b.npy

# ---- random ops ----
run rand.graph --feed x=r.npy --seed 5 --fetch d=d_a.npy --fetch z=z_a.npy
run rand.graph --feed x=r.npy --seed 5 --fetch d=d_b.npy --fetch z=z_b.npy
same d_a.npy d_b.npy
same z_a.npy z_b.npy
run rand.graph --feed x=r.npy --seed 6 --fetch d=d_c.npy --fetch z=z_c.npy
differ d_a.npy d_c.npy
differ z_a.npy z_c.npy
"$PY" - "$TMP/d_a.npy" <<'PYEOF' || fail "dropout values"
import struct, sys
d = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", d[8:10])[0]
v = struct.unpack("<256f", d[10 + hl:])
assert set(v) <= {0.0, 2.0}, set(v)
kept = sum(1 for x in v if x == 2.0)
print("  dropout kept %d of 256" % kept)
assert 96 <= kept <= 160, kept
PYEOF

echo "all $n checks passed"
