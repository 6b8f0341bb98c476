#!/usr/bin/env bash
# test_train.sh: `clgraph train` end to end on a small regression (an MLP predicting the content
# latents c from x of the latent_pairs builder, which needs no source data; 256 train / 64 test,
# batch 32, 8 steps per epoch):
#  - a run through a built data directory: the train loss falls, metrics.jsonl has train and
#    test records, one checkpoint per epoch, config.json, graph.graph and log.txt exist;
#  - GRAPH and --data DIR are recorded as absolute paths (resume from another directory);
#  - resume equivalence, bit for bit (cmp of whole checkpoint files): --epochs 2 then --resume
#    --epochs 4 == --epochs 4; and a mid-epoch one: --steps 13 --checkpoint-every 5 then
#    --resume --steps 32 == --epochs 4;
#  - a crash while writing a checkpoint (CLGRAPH_TEST_CRASH_IN_CHECKPOINT=after_tmp_write and
#    =mid_write _exit(137) as a kill -9 would) leaves the previous checkpoint loadable, and
#    resuming from it still gives the uninterrupted run's bits; --keep 1 keeps one;
#  - refused with exit 1 and the reason: a corrupt checkpoint (a flipped byte, a truncated
#    file), a changed graph, another --batch on resume, an existing run without --resume;
#  - refused with exit 1 before any work (no run directory left behind): fields that do not
#    match the graph's inputs, a missing data set, bad option values (tests/cli/test_trainopt.sh
#    has more for --lr-schedule and --clip-grad),
#    a run directory that cannot be created;
#  - a non-finite loss stops the run with its step; --debug-nan names the op;
#  - metrics.jsonl and --json-log lines are valid JSON (escaped objective texts, no key twice).
# About 10 s on PoCL.
. "$(dirname "$0")/lib.bash"
# t ARGS...: clgraph train ARGS in $TMP, must exit 0 without any sanitizer report
t() { clg 0 train "$@"; }
# refuse RC PATTERN ARGS...: clgraph train ARGS must exit RC with PATTERN (ERE) on stderr
refuse() {
    local want=$1 pat=$2; shift 2
    clg "$want" train "$@"
    refused "$pat"
}
cat >"$TMP/reg.graph" <<'EOF'
# a small regression: predict the content latents c from x (latent_pairs)
input x : f32[N, 10]
input c : f32[N, 5]
pred = mlp(x, [32, 5], name="net")
d = pred - c
loss = mean(d * d)
minimize loss
metric mse = mean(d * d)
EOF
sed 's/input c : f32\[N, 5\]/input z : f32[N, 5]/; s/d = pred - c/d = pred - z/' \
    "$TMP/reg.graph" >"$TMP/badfields.graph"
sed 's/d = pred - c/d = sqrt(0 - 1 - pred * pred) - c/' "$TMP/reg.graph" >"$TMP/nan.graph"
(cd "$TMP" && "$BIN" data build latent_pairs n_train=256 n_test=64 --out lp >/dev/null 2>&1) ||
    fail "data build"
OPTS=(--data lp --batch 32 --optimizer "adam(lr=0.01)" --log-every 2 --quiet)

check "a short run: loss falls, metrics, checkpoints, run files"
t reg.graph "${OPTS[@]}" --epochs 4 --out A
for f in config.json graph.graph metrics.jsonl log.txt; do
    [ -s "$TMP/A/$f" ] || fail "A/$f missing"
done
cmp -s "$TMP/A/graph.graph" "$TMP/reg.graph" || fail "graph.graph is not the graph"
grep -q '"graph_fnv1a64"' "$TMP/A/config.json" || fail "config.json lacks the graph hash"
grep -q '"clgraph_version"' "$TMP/A/config.json" || fail "config.json lacks the version"
[ "$(ls "$TMP/A/checkpoints" | wc -l)" -eq 4 ] || fail "want 4 checkpoints: $(ls "$TMP/A/checkpoints")"
[ "$(grep -c '"split":"test"' "$TMP/A/metrics.jsonl")" -eq 4 ] || fail "want 4 evaluations"
first=$(grep '"split":"train"' "$TMP/A/metrics.jsonl" | head -1 | sed 's/.*"loss":\([^,]*\).*/\1/')
last=$(grep '"split":"train"' "$TMP/A/metrics.jsonl" | tail -1 | sed 's/.*"loss":\([^,]*\).*/\1/')
echo "  train loss $first -> $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.7 * a) }' || fail "loss did not fall"
grep -q '"mse":' "$TMP/A/metrics.jsonl" || fail "no metric in metrics.jsonl"

check "relative GRAPH and --data DIR are recorded absolute: resume works from another directory"
grep -q "\"graph\": \"$(cd "$TMP" && pwd -P)/reg.graph\"" "$TMP/A/config.json" ||
    fail "config.json's graph is not absolute: $(grep '"graph"' "$TMP/A/config.json")"
grep -q "\"data\": \"$(cd "$TMP" && pwd -P)/lp\"" "$TMP/A/config.json" ||
    fail "config.json's data is not absolute: $(grep '"data"' "$TMP/A/config.json")"
cp -r "$TMP/A" "$TMP/A2"
(cd / && timeout 120 "$BIN" train --resume "$TMP/A2" --epochs 5 --quiet >"$TMP/out" 2>"$TMP/err") ||
    fail "resume from / failed"
t reg.graph --resume A2 --data lp --epochs 6 --quiet

check "resume equivalence: --epochs 2, then --resume --epochs 4, bit for bit"
t reg.graph "${OPTS[@]}" --epochs 2 --out B
t --resume B --epochs 4 --quiet
cmp "$(ck A 32)" "$(ck B 32)" || fail "resumed checkpoint differs"

check "mid-epoch resume: --steps 13 --checkpoint-every 5, then --resume --steps 32"
t reg.graph "${OPTS[@]}" --steps 13 --checkpoint-every 5 --out M
[ -f "$(ck M 13)" ] && [ -f "$(ck M 10)" ] || fail "checkpoints 10 and 13 expected: $(ls "$TMP/M/checkpoints")"
t --resume M --steps 32 --quiet
cmp "$(ck A 32)" "$(ck M 32)" || fail "mid-epoch resumed checkpoint differs"

check "a crash while writing a checkpoint leaves the previous one; resume still exact"
t reg.graph "${OPTS[@]}" --epochs 1 --out C
for mode in after_tmp_write mid_write; do
    (cd "$TMP" && CLGRAPH_TEST_CRASH_IN_CHECKPOINT=$mode timeout 120 "$BIN" train --resume C \
        --epochs 4 --quiet >"$TMP/out" 2>"$TMP/err")
    rc=$?
    [ "$rc" -eq 137 ] || fail "crash hook $mode: exit $rc"
    ls "$TMP/C/checkpoints" | grep -q 'tmp' || fail "no temporary file left by the crash"
    [ "$(ls "$TMP/C/checkpoints" | grep -vc tmp)" -eq 1 ] || fail "the crash left a checkpoint"
    cmp -s "$(ck A 8)" "$(ck C 8)" || fail "the previous checkpoint changed"
done
t --resume C --epochs 4 --quiet --keep 1
cmp "$(ck A 32)" "$(ck C 32)" || fail "resume after crashes differs"
[ "$(ls "$TMP/C/checkpoints" | grep -vc tmp)" -eq 1 ] || fail "--keep 1 kept $(ls "$TMP/C/checkpoints")"

check "a corrupt or mismatched checkpoint is refused with the reason"
cp -r "$TMP/B" "$TMP/F"
f=$(ck F 32)
size=$(stat -c %s "$f")
printf '\x55' | dd of="$f" bs=1 seek=$((size - 7)) conv=notrunc 2>/dev/null
refuse 1 'corrupt checkpoint: the data hash' --resume F --epochs 5
cp "$(ck B 32)" "$f"
truncate -s $((size - 100)) "$f"
refuse 1 'corrupt checkpoint' --resume F --epochs 5
cp "$(ck B 32)" "$f"
refuse 1 "batch 16 differs from the run's 32" --resume F --epochs 5 --batch 16
cp "$TMP/reg.graph" "$TMP/g2.graph"
t g2.graph "${OPTS[@]}" --steps 3 --out G
sed -i 's/\[32, 5\]/[16, 5]/' "$TMP/g2.graph"
refuse 1 'the graph file changed since the checkpoint' --resume G --steps 6
refuse 1 'already holds a run' reg.graph "${OPTS[@]}" --epochs 1 --out A

check "refused before any work: fields, data set, options, run directory"
refuse 1 "graph input 'z'.*|'z'" badfields.graph "${OPTS[@]}" --out X1
grep -q "c f32" "$TMP/err" || fail "the data set's fields are not listed"
[ ! -e "$TMP/X1" ] || fail "a refused run left its directory"
refuse 1 "no data set named 'nosuch'" reg.graph --data nosuch --out X2
refuse 1 "nodir" reg.graph --data nodir/ --out X3
refuse 1 "--batch expects an integer" reg.graph --data lp --batch 0 --out X4
refuse 1 "--epochs expects an integer" reg.graph --data lp --epochs two --out X4
refuse 1 "--clip-grad 0: expected a positive" reg.graph --data lp --clip-grad 0 --out X4
refuse 1 "--lr-schedule cosin: unknown schedule 'cosin'" reg.graph --data lp --lr-schedule cosin \
    --out X4
refuse 1 "optimizer" reg.graph --data lp --optimizer "adamm(lr=1)" --out X4
refuse 1 "alpha" reg.graph --data latent_pairs:alpha=1 --out X4
touch "$TMP/afile"
refuse 1 "cannot create the run directory" reg.graph --data lp --out afile/run
[ ! -e "$TMP/X4" ] || fail "a refused run left its directory"

check "a non-finite loss stops the run with its step; --debug-nan names the op"
refuse 1 "is NaN at step 2 " nan.graph "${OPTS[@]}" --epochs 1 --out N1
refuse 1 "sqrt at .*nan.graph" nan.graph "${OPTS[@]}" --epochs 1 --out N2 --debug-nan

check "metrics.jsonl and --json-log are valid JSON: objective texts escaped, a metric named as an objective once"
cat >"$TMP/two.graph" <<'EOF'
input x : f32[N, 10]
input c : f32[N, 5]
pred = mlp(x, [16, 5], act="tanh", name="net")
d = pred - c
l_a = mean(d * d)
minimize l_a over net
minimize mean(mlp(x, [4, 5], act="relu", name="aux") * 0) + mean(d * d) over aux every 2
metric l_a = l_a
EOF
t two.graph --data lp --batch 32 --steps 4 --log-every 2 --out J1 --json-log
cp "$TMP/out" "$TMP/J1.jsonlog"
for f in J1/metrics.jsonl J1.jsonlog; do
    python3 - "$TMP/$f" <<'EOF' || fail "$f: not one JSON object per line, or l_a twice"
import json, sys
for line in open(sys.argv[1]):
    pairs = json.loads(line, object_pairs_hook=lambda kv: kv)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    assert 'mean(mlp(x, [4, 5], act="relu", name="aux") * 0) + mean(d * d)' in keys, keys
EOF
done

echo "all $n checks passed"
