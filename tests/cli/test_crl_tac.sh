#!/usr/bin/env bash
# test_crl_tac.sh: graphs/crl_tac.graph (CRL-TAC, SEEDS.md section 2) end to end through the CLI
# on a tiny mnist_grid (built from synthetic MNIST-format files: 64 train / 32 test 28x28 images
# of random rectangles, labels i mod 10, placed in the 84x84 canvas by `clgraph data build
# mnist_grid mnist=DIR`):
#  - clgraph check --bind N=16 passes and shows the two alternating objectives;
#  - clgraph train (batch 4, 3 steps, a checkpoint after each) alternates: step t = 0 (h phase)
#    updates f and g and leaves eta's Adam state at zero, t = 1 (eta phase) changes every eta.*
#    tensor and no f.* / g.* tensor, t = 2 (h phase) the other way round; the losses are finite;
#  - clgraph eval writes eval.json with crop_mass in [0, 1] (from p_crops and the data's cell
#    field), the probes h->y and z->y, and no class accuracy (the graph has no value logits);
#  - clgraph viz writes report.html with the P(T|X) heatmap section over the 17x17 grid.
# About 40-60 s on PoCL (kernel compilation of three processes dominates).
. "$(dirname "$0")/lib.bash"
GRAPH="$SRC/graphs/crl_tac.graph"
CLG_TIMEOUT=300
# c CMD ARGS...: clgraph CMD ARGS in $TMP, must exit 0 without any sanitizer report
c() { clg 0 "$@"; }

mnist_rects "$TMP/m" 64 32
c data build mnist_grid mnist=m --out d

check "clgraph check --bind N=16 passes, with the two phases alternating"
c check "$GRAPH" --bind N=16
grep -q "minimize l_h" "$TMP/out" || fail "no h-phase objective"
grep -q "minimize l_eta" "$TMP/out" || fail "no eta-phase objective"
grep -q "runs: every 2 steps, on the steps t (from 0) with t mod 2 == 0" "$TMP/out" || fail "h"
grep -q "runs: every 2 steps, on the steps t (from 0) with t mod 2 == 1" "$TMP/out" || fail "eta"
grep -q "p_crops                  f32\[16, 289\]" "$TMP/out" || fail "p_crops shape"

check "3 training steps alternate: eta changes only at t = 1, f and g only at t = 0 and 2"
c train "$GRAPH" --data d --batch 4 --steps 3 --checkpoint-every 1 --log-every 1 --no-eval \
    --seed 1 --out R
for s in 1 2 3; do [ -f "$(ck R $s)" ] || fail "no checkpoint after step $s"; done
"$PY" - "$(ck R 1)" "$(ck R 2)" "$(ck R 3)" "$TMP/R/metrics.jsonl" <<'EOF' || fail "alternation"
import json, math, sys
from cgtest import tensors as load
c1, c2, c3 = (load(p) for p in sys.argv[1:4])
params = [k for k in c1 if ":" not in k]
eta = [k for k in params if k.startswith("eta.")]
enc = [k for k in params if k.startswith(("f.", "g."))]
assert len(eta) == 8 and len(enc) == 12 and len(params) == 20, params
# eta's Adam state (objective 1: suffix :1) is still zero after step t = 0
for k in eta:
    assert c1[k + ":exp_avg:1"] == bytes(len(c1[k + ":exp_avg:1"])), k + " updated at t = 0"
    assert c1[k + ":exp_avg:1"] != c2[k + ":exp_avg:1"], k + " no eta state at t = 1"
for k in enc:
    assert c1[k + ":exp_avg"] != bytes(len(c1[k + ":exp_avg"])), k + " not updated at t = 0"
# t = 1 (eta phase): every eta tensor changes, no f/g tensor does; t = 2 the other way round
for k in eta:
    assert c1[k] != c2[k], k + " unchanged at t = 1"
    assert c2[k] == c3[k], k + " changed at t = 2"
for k in enc:
    assert c1[k] == c2[k], k + " changed at t = 1"
    assert c2[k] != c3[k], k + " unchanged at t = 2"
recs = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
train = [r for r in recs if r.get("split") == "train"]
assert [r["step"] for r in train] == [1, 2, 3], [r["step"] for r in train]
for r in train:
    for m in ("l_h", "l_eta", "ent", "pmax", "i_w"):
        v = r[m]
        assert v is not None and math.isfinite(v), (r["step"], m, v)
    assert 0 < r["ent"] <= math.log(289) + 1e-4, r["ent"]
EOF

check "clgraph eval: crop_mass in [0, 1], probes of h and z"
c eval R --probe h:y --probe z:y --probe-steps 20 --quiet
"$PY" - "$TMP/R/eval.json" <<'EOF' || fail "eval.json: $(head -c 2000 "$TMP/R/eval.json")"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["examples"] == 32 and e["step"] == 3, (e["examples"], e["step"])
assert "accuracy" not in e, "P(T|X)'s logits scored as class scores"
cm = e["crop_mass"]
assert cm is not None and 0.0 <= cm <= 1.0, cm
for k in ("h->y", "z->y"):
    a = e["probe"][k]["accuracy"]
    assert 0.0 <= a <= 1.0, (k, a)
assert e["probe"]["h->y"]["features"] == 200 and e["probe"]["z->y"]["features"] == 50
for m in ("l_h", "l_eta", "ent"):
    assert m in e["metrics"], m
EOF

check "clgraph viz: report.html with the P(T|X) heatmaps"
c viz R --examples 4
grep -q "crops" "$TMP/out" || fail "viz did not list the crops section"
R="$TMP/R/report.html"
grep -qF '<section id="crops">' "$R" || fail "no crops section"
grep -qF "<h3>p_crops</h3>" "$R" || fail "no p_crops heatmaps"
grep -qF "the 17x17 map of P(T|X)" "$R" || fail "not the 17x17 grid"
echo "all $n checks passed"
