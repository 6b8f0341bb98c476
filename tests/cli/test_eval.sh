#!/usr/bin/env bash
# test_eval.sh: `clgraph eval RUNDIR` end to end on a small classification run. The data set is
# written here as a clgraph data directory by numpy (4 Gaussian classes in 8 dimensions, 400
# train / 130 test examples, fields x f32[8], y i32, group i32 = example index mod 3, c f32[2] a
# latent factor); an MLP (dense 16, relu, dense 4) trains 40 steps of batch 32, so the test
# split is 4 full batches and a remainder of 2. Then:
#  - eval.json: the graph's metrics (acc, ce), loss, accuracy and balanced accuracy in [0, 1],
#    the group table (counts summing to 130, the worst group the smallest accuracy), the default
#    probe h->y and the R^2 of c from h, split test, examples 130, the checkpoint's step;
#  - the numbers are those of a numpy forward pass from the checkpoint's tensors (safetensors
#    read by the test): accuracy, balanced accuracy, the mean cross-entropy (metric ce, loss)
#    and the per-group table, over every test example once (the remainder batch included);
#  - a second eval writes byte-identical eval.json (it reproduces from the checkpoint); another
#    --batch gives the same numbers; --json prints the document; --quiet only the last line;
#    --split train writes eval_train.json over the 400 train examples; --probe and --no-probe;
#  - a contrastive graph (outputs z, z_pos) trained 6 steps on latent_pairs: alignment and
#    uniformity equal numpy's from the checkpoint, R^2 for every output and latent field (c, s,
#    s_pos; the observations x, x_pos, x_neg left out), no accuracy or probe (no logits, no y);
#  - exit 1 with the reason: no RUNDIR, a missing directory, not a run directory, no checkpoint,
#    a corrupt or truncated checkpoint, bad options (--split, --batch, --probe forms, unknown
#    output or field, --groups of a missing field, an unknown --data).
# About 16 s of CPU time on PoCL (a minute of wall-clock time on the shared 2-core machine).
. "$(dirname "$0")/lib.bash"
# run WANT_RC CMD ARGS...: clgraph CMD ARGS in $TMP, with exit status WANT_RC and no sanitizer
# report
run() { clg "$@"; }
# refuse PATTERN ARGS...: clgraph eval ARGS exits 1 with PATTERN on stderr
refuse() {
    local pat=$1; shift
    check "eval $* is refused: /$pat/"
    clg 1 eval "$@"
    refused "$pat"
}
"$PY" -c 'import numpy' 2>/dev/null || fail "$PY has no numpy (ci/setup installs python3-numpy)"

"$PY" - "$TMP/blobs" <<'EOF' || fail "writing the data set"
import json, os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
means = rng.normal(0, 2.0, size=(4, 8))
A = rng.normal(size=(8, 2))
info = {"name": "blobs", "seed": 0, "params": {}, "splits": {}}
for split, count in (("train", 400), ("test", 130)):
    y = rng.integers(0, 4, size=count).astype(np.int32)
    x = (means[y] + rng.normal(0, 1.5, size=(count, 8))).astype(np.float32)
    fields = {"x": x, "y": y, "group": (np.arange(count) % 3).astype(np.int32),
              "c": (x @ A).astype(np.float32)}
    os.makedirs(os.path.join(out, split))
    for k, v in fields.items():
        np.save(os.path.join(out, split, k + ".npy"), v)
    info["splits"][split] = {"count": count, "fields": [
        {"name": k, "dtype": "f32" if v.dtype == np.float32 else "i32", "shape": list(v.shape[1:])}
        for k, v in fields.items()]}
json.dump(info, open(os.path.join(out, "info.json"), "w"), indent=2)
EOF
cat >"$TMP/mlp.graph" <<'EOF'
input x : f32[N, 8]
input y : i32[N]
h = relu(dense(x, 16, name="enc"))
logits = dense(h, 4, name="clf")
minimize cross_entropy(logits, y)
output h
metric acc = accuracy(logits, y)
metric ce = cross_entropy(logits, y)
EOF
check "train 40 steps"
run 0 train mlp.graph --data blobs --steps 40 --batch 32 --optimizer "adam(lr=0.01)" --out R --quiet

check "eval: exit 0, a table, eval.json with every measure that applies"
run 0 eval R
grep -q "wrote R/eval.json" "$TMP/out" || fail "no final line"
grep -q "worst_group_accuracy" "$TMP/out" || fail "no group table printed"
cp "$TMP/R/eval.json" "$TMP/first.json"
# The numpy reference: the forward pass from the checkpoint's tensors over the test split.
"$PY" - "$TMP" <<'EOF' || fail "eval.json does not match the reference"
import json, sys
import numpy as np
from cgtest import f32_reader, last_checkpoint
tmp = sys.argv[1]
ev = json.load(open(tmp + "/R/eval.json"))
t = f32_reader(last_checkpoint(tmp + "/R"))
x = np.load(tmp + "/blobs/test/x.npy").astype(np.float64)
y = np.load(tmp + "/blobs/test/y.npy")
grp = np.load(tmp + "/blobs/test/group.npy")
h = np.maximum(x @ t("enc.w").T + t("enc.b"), 0)
z = h @ t("clf.w").T + t("clf.b")
pred = z.argmax(1)
zs = z - z.max(1, keepdims=True)
ce = float(np.mean(np.log(np.exp(zs).sum(1)) - zs[np.arange(len(y)), y]))
acc = float(np.mean(pred == y))
bacc = float(np.mean([np.mean(pred[y == k] == k) for k in np.unique(y)]))
def close(a, b, tol, what):
    if abs(a - b) > tol:
        sys.exit(f"{what}: eval.json {a}, numpy {b}")
assert ev["split"] == "test" and ev["examples"] == 130 and ev["step"] == 40, ev
assert ev["checkpoint"].endswith("step-000000000040.safetensors"), ev["checkpoint"]
assert set(ev["metrics"]) == {"acc", "ce"}, ev["metrics"]
for k in ("accuracy", "balanced_accuracy", "worst_group_accuracy"):
    assert 0 <= ev[k] <= 1, (k, ev[k])
close(ev["accuracy"], acc, 1e-9, "accuracy")
close(ev["balanced_accuracy"], bacc, 1e-9, "balanced_accuracy")
close(ev["metrics"]["acc"], acc, 1e-6, "metric acc")
close(ev["metrics"]["ce"], ce, 1e-4, "metric ce")
close(ev["loss"], ce, 1e-4, "loss")
assert ev["group_field"] == "group"
gs = ev["groups"]
assert [g["group"] for g in gs] == [0, 1, 2] and sum(g["count"] for g in gs) == 130, gs
for g in gs:
    m = grp == g["group"]
    assert g["count"] == m.sum() and g["correct"] == (pred[m] == y[m]).sum(), g
close(ev["worst_group_accuracy"], min(g["accuracy"] for g in gs), 1e-12, "worst group")
p = ev["probe"]["h->y"]
assert 0 <= p["accuracy"] <= 1 and p["features"] == 16 and p["classes"] == 4, p
assert "h->c" in ev["r2"] and ev["r2"]["h->c"]["linear"] <= 1, ev["r2"]
print(f"  accuracy {acc:.4f}, balanced {bacc:.4f}, ce {ce:.5f}, probe {p['accuracy']:.4f}, "
      f"r2 linear {ev['r2']['h->c']['linear']:.4f} kernel ridge {ev['r2']['h->c']['kernel_ridge']:.4f}")
EOF

check "a second eval reproduces eval.json byte for byte"
run 0 eval R --quiet
cmp -s "$TMP/first.json" "$TMP/R/eval.json" || fail "eval.json differs: $(diff "$TMP/first.json" "$TMP/R/eval.json")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "--quiet printed more than the last line"

check "--batch 7 (another batching, 19 batches and a remainder of 4): the same numbers"
run 0 eval R --batch 7 --json --no-probe
"$PY" - "$TMP" <<'EOF' || fail "--batch 7 differs"
import json, sys
a = json.load(open(sys.argv[1] + "/first.json"))
b = json.load(open(sys.argv[1] + "/out"))
assert b["batch"] == 7 and "probe" not in b, b
assert a["accuracy"] == b["accuracy"] and a["groups"] == b["groups"], (a, b)
assert abs(a["loss"] - b["loss"]) < 1e-5 and abs(a["metrics"]["ce"] - b["metrics"]["ce"]) < 1e-5
EOF
cmp -s "$TMP/out" "$TMP/R/eval.json" || fail "--json printed something else than eval.json"
cp "$TMP/R/eval.json" "$TMP/b7.json"

check "--split train: eval_train.json over the 400 train examples; --probe h:group"
run 0 eval R --split train --probe h:group --no-r2 --quiet
"$PY" - "$TMP" <<'EOF' || fail "eval_train.json"
import json, sys
e = json.load(open(sys.argv[1] + "/R/eval_train.json"))
assert e["split"] == "train" and e["examples"] == 400, e
assert list(e["probe"]) == ["h->group"] and e["probe"]["h->group"]["classes"] == 3, e["probe"]
assert "r2" not in e
EOF
cmp -s "$TMP/b7.json" "$TMP/R/eval.json" || fail "--split train changed eval.json"

check "a contrastive run on latent_pairs (pairs sampler): alignment, uniformity, R^2 of c, s, s_pos"
run 0 data build latent_pairs n_train=200 n_test=70 --out lp
cat >"$TMP/cl.graph" <<'EOF'
input x : f32[N, 10]
input x_pos : f32[N, 10]
z = l2_normalize(mlp(x, [32, 8], name="enc"))
z_pos = l2_normalize(mlp(x_pos, [32, 8], name="enc"))
minimize info_nce(z, z_pos, temperature=0.5)
output z
output z_pos
EOF
run 0 train cl.graph --data lp --steps 6 --batch 32 --out P --quiet
run 0 eval P --quiet
"$PY" - "$TMP" <<'EOF' || fail "the contrastive run's eval.json"
import json, sys
import numpy as np
from cgtest import f32_reader, last_checkpoint
tmp = sys.argv[1]
ev = json.load(open(tmp + "/P/eval.json"))
t = f32_reader(last_checkpoint(tmp + "/P"))
def enc(x):
    h = np.maximum(x @ t("enc.dense0.w").T + t("enc.dense0.b"), 0)
    z = h @ t("enc.dense1.w").T + t("enc.dense1.b")
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
z = enc(np.load(tmp + "/lp/test/x.npy").astype(np.float64))
zp = enc(np.load(tmp + "/lp/test/x_pos.npy").astype(np.float64))
align = float(np.mean(np.sum((z - zp) ** 2, axis=1)))
d2 = np.sum((z[:, None, :] - z[None, :, :]) ** 2, axis=2)
iu = np.triu_indices(len(z), 1)
unif = float(np.mean(np.exp(-2 * d2[iu])))
assert ev["examples"] == 70 and "accuracy" not in ev and "probe" not in ev, ev
assert abs(ev["alignment"] - align) < 1e-5, (ev["alignment"], align)
assert abs(ev["uniformity"] - unif) < 1e-5, (ev["uniformity"], unif)
assert abs(ev["uniformity_log"] - np.log(unif)) < 1e-4, (ev["uniformity_log"], np.log(unif))
want = {f"{o}->{f}" for o in ("z", "z_pos") for f in ("c", "s", "s_pos")}
assert set(ev["r2"]) == want, sorted(ev["r2"])  # x, x_pos, x_neg are observations, not factors
for v in ev["r2"].values():
    assert v["linear"] <= 1 and v["kernel_ridge"] <= 1, v
print(f"  alignment {align:.5f}, uniformity {unif:.5f}, r2 z->c {ev['r2']['z->c']}")
EOF

check "refusals"
refuse "usage: clgraph eval|missing RUNDIR" 
refuse "nowhere: error: no such run directory" nowhere
mkdir -p "$TMP/empty"
refuse "empty: error: no config.json: not a run directory" empty
cp -r "$TMP/R" "$TMP/N" && rm -f "$TMP/N"/checkpoints/*
refuse "N: error: no checkpoint in N/checkpoints" N
cp -r "$TMP/R" "$TMP/C"
ck=$(ls "$TMP"/C/checkpoints/*.safetensors | tail -1)
"$PY" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-5]^=0x40; open(p,"wb").write(b)' "$ck"
refuse "corrupt checkpoint: the data hash" C
truncate -s 100 "$ck"
refuse "corrupt checkpoint" C
refuse "--split expects test or train, got 'val'" R --split val
refuse "--batch expects an integer >= 1, got '0'" R --batch 0
refuse "--probe h: expected OUTPUT:FIELD|--probe h:" R --probe h
refuse "--probe nosuch:y: the graph .* has no f32 value 'nosuch'" R --probe nosuch:y
refuse "--probe h:nosuch: the test split of .* has no integer label field 'nosuch' \(fields: x, y, group, c\)" R --probe h:nosuch
refuse "--groups nosuch: the data set .* has no such field" R --groups nosuch
refuse "--data nosuch: no data set named 'nosuch'" R --data nosuch
refuse "unknown option '--bogus'" R --bogus
refuse "give --probe or --no-probe, not both" R --probe h:y --no-probe
echo "PASS: $n checks"
