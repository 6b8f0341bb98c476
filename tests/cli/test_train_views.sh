#!/usr/bin/env bash
# test_train_views.sh: `clgraph train` with two views (inputs x1, x2: the multiview sampler) and
# device augmentations (--augment), end to end on a small synthetic MNIST-format data set that
# this test writes with python3's standard library (128 train / 64 test 28x28 images of three
# random bright rectangles each, built with `clgraph data build mnist mnist=DIR`):
#  - a two-view graph (a small conv encoder, info_nce between the views' embeddings) trains:
#    the loss falls over 64 steps (mean of the last four logged values below 0.92 times the mean
#    of the first two); its metric vdiff = mean |x1 - x2| shows the views differ in training
#    (> 0.05) and are the same unaugmented images in evaluation (= 0); with --augment none the
#    training views are identical (= 0);
#  - config.json and the checkpoint record the sampler and the pipelines (the default one for
#    1-channel views: rrc(scale=0.2:1),flip);
#  - resume is bit-identical with augmentation (cmp of whole checkpoint files: --steps 10
#    --checkpoint-every 5, then --resume --steps 15 with the same --augment given again, then
#    --resume --steps 20 == --steps 20); another --augment on resume is refused;
#  - a size-changing pipeline (rrc(size=24) on 28x28 fields into a 24x24 graph input) trains
#    and evaluates (evaluation resizes the whole images; the default pipeline for such an input,
#    which crops to the graph's size, is tests/test_train_views.c's); `clgraph eval` of that run
#    gives the trainer's final test loss (within 1e-5 relative) and identical views, also with
#    a remainder batch (--batch 24);
#  - graphs/simclr_mnist.graph trains for a short run;
#  - refused with exit 1 before any work (no run directory left behind): pipeline syntax, an
#    unknown input, a non-image input, an output size other than the graph input's, an empty
#    pipeline, a value given twice, views that are not consecutive, an input x beside views.
# Eight training runs of a few seconds each: about 40 s on a loaded 2-core PoCL machine (up to
# 150 s under ASan with the whole suite running beside it).
. "$(dirname "$0")/lib.bash"
CLG_TIMEOUT=200
check() { n=$((n + 1)); echo "check $n: $* (at ${SECONDS}s)"; }
# t ARGS...: clgraph train ARGS in $TMP, must exit 0 without any sanitizer report
t() { clg 0 train "$@"; }
# refuse RC PATTERN ARGS...: clgraph train ARGS must exit RC with PATTERN (ERE) on stderr
refuse() {
    local want=$1 pat=$2; shift 2
    clg "$want" train "$@"
    refused "$pat"
}
# values RUN SPLIT KEY: the KEY values of RUN's metrics.jsonl records of SPLIT, one per line
values() { grep "\"split\":\"$2\"" "$TMP/$1/metrics.jsonl" | sed "s/.*\"$3\":\([^,}]*\).*/\1/"; }

# The data: IDX files of 28x28 images (three rectangles of random size, place and intensity).
mnist_rects "$TMP/m" 128 64
(cd "$TMP" && "$BIN" data build mnist mnist=m --out d >/dev/null 2>&1) || fail "data build"

cat >"$TMP/v.graph" <<'EOF'
# two views of the same anchors, a small encoder, SimCLR's loss; vdiff: how much the views differ
input x1 : f32[N, 1, 28, 28]
input x2 : f32[N, 1, 28, 28]
def f(x) {
  h = max_pool2d(relu(conv(x, 8, k=3, pad=1)), 4)
  return mlp(flatten(h), [64, 32])
}
minimize info_nce(f(x1), f(x2), temperature=0.5)
metric vdiff = mean(abs(x1 - x2))
EOF
sed 's/28, 28\]/24, 24]/' "$TMP/v.graph" >"$TMP/v24.graph"
{ cat "$TMP/v.graph"; echo 'input y : i32[N]'; } >"$TMP/vy.graph"
cat >"$TMP/gap.graph" <<'EOF'
input x1 : f32[N, 1, 28, 28]
input x2 : f32[N, 1, 28, 28]
input x4 : f32[N, 1, 28, 28]
z = dense(flatten(x1 + x2 + x4), 4)
minimize mean(z * z)
EOF
sed 's/x4/x/g' "$TMP/gap.graph" >"$TMP/withx.graph"
OPTS=(--data d --batch 32 --optimizer "adam(lr=3e-3)" --quiet)

check "two views train: the loss falls, the views differ, evaluation is unaugmented"
t v.graph "${OPTS[@]}" --steps 64 --log-every 4 --eval-every 32 --augment "rrc(scale=0.5:1),flip" \
    --out A
mapfile -t loss < <(values A train loss)
[ "${#loss[@]}" -eq 16 ] || fail "want 16 logged steps, got ${#loss[@]}"
echo "  train loss: ${loss[*]}"
awk -v a="${loss[0]}" -v b="${loss[1]}" -v c="${loss[12]}" -v d="${loss[13]}" -v e="${loss[14]}" \
    -v f="${loss[15]}" 'BEGIN { exit !((c + d + e + f) / 4 < 0.92 * (a + b) / 2) }' ||
    fail "the loss did not fall"
for v in $(values A train vdiff); do
    awk -v v="$v" 'BEGIN { exit !(v > 0.05) }' || fail "training views too similar: vdiff $v"
done
[ "$(values A test vdiff | sort -u)" = "0" ] || fail "evaluation views differ: $(values A test vdiff)"
grep -q '"sampler": "multiview"' "$TMP/A/config.json" || fail "config.json: sampler"
grep -q '"views": 2' "$TMP/A/config.json" || fail "config.json: views"
grep -qF '"augment": {"x1": "rrc(scale=0.5:1),flip", "x2": "rrc(scale=0.5:1),flip"}' \
    "$TMP/A/config.json" || fail "config.json: augment"
grep -qF 'x1=rrc(scale=0.5:1),flip;x2=rrc(scale=0.5:1),flip' "$(ck A 64)" ||
    fail "the checkpoint lacks the augmentation record"

check "--augment none: identical views"
t v.graph "${OPTS[@]}" --steps 4 --log-every 2 --no-eval --augment none --out N
[ "$(values N train vdiff | sort -u)" = "0" ] || fail "views differ without augmentation"
grep -qF '"augment_record": "none"' "$TMP/N/config.json" || fail "config.json: none"

check "the default pipeline; resume with augmentation is bit-identical; another is refused"
t v.graph "${OPTS[@]}" --steps 20 --log-every 5 --no-eval --out B
grep -qF '"augment": {"x1": "rrc(scale=0.2:1),flip", "x2": "rrc(scale=0.2:1),flip"}' \
    "$TMP/B/config.json" || fail "config.json: the default pipeline"
t v.graph "${OPTS[@]}" --steps 10 --log-every 5 --no-eval --checkpoint-every 5 --out C
t --resume C --steps 15 --quiet --augment "x2=rrc(scale=0.2:1),flip" \
    --augment "x1=rrc(scale = 0.2:1), flip"
t --resume C --steps 20 --quiet
cmp "$(ck B 20)" "$(ck C 20)" || fail "resumed checkpoint differs"
refuse 1 "differs from the run's 'x1=rrc\(scale=0.2:1\),flip;x2=rrc\(scale=0.2:1\),flip'" \
    --resume C --steps 30 --augment "rrc(scale=0.5:1),flip"
refuse 1 "augmentation 'none', which differs" --resume C --steps 30 --augment none

check "a size-changing pipeline: 28x28 fields cropped to a 24x24 graph input"
t v24.graph "${OPTS[@]}" --steps 8 --log-every 4 --eval-every 8 --augment "rrc(size=24),flip" \
    --out S
[ "$(values S test vdiff)" = "0" ] || fail "evaluation views differ: $(values S test vdiff)"
values S test loss | grep -qE '^[0-9.]+$' || fail "no finite evaluation loss"
# clgraph eval of that run computes what the trainer's own evaluation did: the same resize of
# the whole 28x28 images to 24x24, the same forward pass. The 64 test examples are two full
# batches of 32 (the trainer drops a remainder batch, eval does not: none here), so eval's loss
# is the trainer's final test loss up to the summation order of the mean (float32 reductions
# on the device, averaged in double by both): within 1e-5 relative.
clg 0 eval S --quiet --no-probe --no-r2
# ej KEY: the first number KEY of S/eval.json
ej() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" "$TMP/S/eval.json" | head -1; }
eloss=$(ej loss)
evd=$(ej vdiff)
tloss=$(values S test loss | tail -1)
echo "  eval loss $eloss, the trainer's test loss $tloss; eval vdiff $evd"
awk -v a="$eloss" -v b="$tloss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" &&
    d <= 1e-5 * (b < 0 ? -b : b)) }' || fail "eval's loss $eloss differs from the trainer's $tloss"
[ "$evd" = "0" ] || fail "eval's views differ: vdiff $evd"
# --batch 24: two full batches and a remainder of 16 (resized by the augmenter compiled for 24
# rows; info_nce depends on the batch, so only the views and a finite loss are checked)
clg 0 eval S --batch 24 --quiet --no-probe --no-r2
echo "  --batch 24: eval loss $(ej loss), vdiff $(ej vdiff)"
ej loss | grep -qE '^[0-9.]+$' || fail "--batch 24: no finite loss"
[ "$(ej vdiff)" = "0" ] || fail "--batch 24: views differ: vdiff $(ej vdiff)"

check "graphs/simclr_mnist.graph trains for a short run"
t "$SRC/graphs/simclr_mnist.graph" --data d --batch 32 --steps 6 --log-every 3 --eval-every 6 \
    --quiet --out R
[ -f "$(ck R 6)" ] || fail "no checkpoint"
values R test loss | grep -qE '^[0-9.]+$' || fail "no finite evaluation loss"

check "refused before any work"
refuse 1 "^error: --augment flip\(p=1.5\): augmentation 'flip\(p=1.5\)': at character 6" \
    v.graph --data d --augment "flip(p=1.5)" --out X1
refuse 1 "--augment x3=flip: the graph has no input 'x3' \(its inputs: x1, x2\)" \
    v.graph --data d --augment x3=flip --out X1
refuse 1 "--augment y=flip: graph input 'y' is i32\[\] per example; augmentations need f32" \
    vy.graph --data d --augment y=flip --out X1
refuse 1 "the pipeline makes 24x24 images of x's 28x28 ones, but graph input 'x1'" \
    v.graph --data d --augment "rrc(size=24)" --out X1
refuse 1 "--augment : empty pipeline" v.graph --data d --augment "" --out X1
refuse 1 "input 'x1' given twice" v.graph --data d --augment x1=flip --augment x1=none --out X1
refuse 1 "given twice for all image inputs" v.graph --data d --augment flip --augment none \
    --out X1
refuse 1 "x3 is missing before x4" gap.graph --data d --out X1
refuse 1 "input 'x' beside the views x1..x2" withx.graph --data d --out X1
[ ! -e "$TMP/X1" ] || fail "a refused run left its directory"

echo "all $n checks passed"
