#!/usr/bin/env bash
# test_trainopt.sh: the training options of issue 6 through the CLI, on a small regression (an
# MLP encoder and a dense head predicting latent_pairs' c from x; 256 train examples, batch 32,
# 8 steps per epoch) whose two objectives alternate (`every 2` / `every 2 offset 1`):
#  - clgraph check shows each objective's schedule (text and --json);
#  - a run with --lr-schedule warmup(then=cosine) and --clip-grad records both (config.json,
#    checkpoint metadata), and resuming it from a mid-run checkpoint gives the same bytes (cmp
#    of whole checkpoint files); with step(every=...), --steps 6 then --resume --steps 12 gives
#    the bytes of a --steps 12 run;
#  - the options change the result (a run without them differs), and an alternating objective
#    leaves its parameters alone on the other steps (a run of 1 step changes only enc);
#  - refused with exit 1 naming the problem: unknown schedules, bad or unknown arguments, a bad
#    --clip-grad, another schedule or clip value on resume, another run length for a cosine
#    schedule on resume; clgraph run refuses them without --steps.
# About 40 s on PoCL.
. "$(dirname "$0")/lib.bash"
# c CMD ARGS...: clgraph CMD ARGS in $TMP, must exit 0 without any sanitizer report
c() { clg 0 "$@"; }
# refuse RC PATTERN CMD ARGS...: clgraph CMD ARGS must exit RC with PATTERN (a fixed string) on
# stderr
refuse() {
    local want=$1 pat=$2; shift 2
    clg "$want" "$@"
    refused_text "$pat"
}
# meta FILE KEY: the checkpoint's metadata value of KEY
meta() { head -c 4000 "$1" | tr -c '[:print:]' ' ' | grep -o "\"$2\":\"[^\"]*\"" | head -1; }

cat >"$TMP/alt.graph" <<'EOF'
input x : f32[N, 10]
input c : f32[N, 5]
h = mlp(x, [16], name="enc")
pred = dense(h, 5, name="head")
d = pred - c
loss = mean(d * d)
minimize loss over enc with adam(lr=0.01) every 2
minimize loss over head with sgd(lr=0.05, momentum=0.9) every 2 offset 1
metric mse = mean(d * d)
EOF
(cd "$TMP" && "$BIN" data build latent_pairs n_train=256 n_test=64 --out lp >/dev/null 2>&1) ||
    fail "data build"
OPTS=(--data lp --batch 32 --no-eval --quiet)
SCHED="warmup(steps=3, then=cosine(min=0.1))"

check "clgraph check shows when each objective runs"
c check alt.graph
grep -q "runs: every 2 steps, on the steps t (from 0) with t mod 2 == 0" "$TMP/out" || fail "text"
grep -q "runs: every 2 steps, on the steps t (from 0) with t mod 2 == 1" "$TMP/out" || fail "text"
c check alt.graph --json
grep -q '"every": 2, "offset": 1' "$TMP/out" || fail "json"

check "a run with a schedule and clipping records them; resuming mid-run is bit-identical"
c train alt.graph "${OPTS[@]}" --steps 12 --checkpoint-every 4 --lr-schedule "$SCHED" \
    --clip-grad 0.5 --out A
grep -qF '"lr_schedule": "warmup(steps=3, then=cosine(min=0.1))"' "$TMP/A/config.json" ||
    fail "config.json lr_schedule: $(grep lr_schedule "$TMP/A/config.json")"
grep -qF '"clip_grad": 0.5' "$TMP/A/config.json" || fail "config.json clip_grad"
[ "$(meta "$(ck A 12)" lr_schedule)" = '"lr_schedule":"warmup(steps=3, then=cosine(min=0.1))"' ] ||
    fail "checkpoint lr_schedule: $(meta "$(ck A 12)" lr_schedule)"
[ "$(meta "$(ck A 12)" clip_grad)" = '"clip_grad":"0.5"' ] || fail "checkpoint clip_grad"
[ "$(meta "$(ck A 12)" lr_schedule_steps)" = '"lr_schedule_steps":"12"' ] || fail "steps"
mkdir -p "$TMP/B/checkpoints"
cp "$TMP/A/config.json" "$TMP/A/graph.graph" "$TMP/B/"
cp "$(ck A 4)" "$TMP/B/checkpoints/"
c train --resume B --steps 12 --checkpoint-every 4 --quiet
for s in 8 12; do
    cmp -s "$(ck A $s)" "$(ck B $s)" || fail "resumed step-$s differs from the uninterrupted run"
done

check "with step(every=5): --steps 6 then --resume --steps 12 == --steps 12"
c train alt.graph "${OPTS[@]}" --steps 12 --lr-schedule "step(every=5, gamma=0.5)" \
    --clip-grad 0.5 --out C
c train alt.graph "${OPTS[@]}" --steps 6 --lr-schedule "step(every=5, gamma=0.5)" \
    --clip-grad 0.5 --out D
c train --resume D --steps 12 --quiet
cmp -s "$(ck C 12)" "$(ck D 12)" || fail "resumed run differs"

check "the options change the result; an alternating objective waits for its steps"
c train alt.graph "${OPTS[@]}" --steps 12 --out E
cmp -s "$(ck C 12)" "$(ck E 12)" && fail "schedule and clipping changed nothing"
c train alt.graph "${OPTS[@]}" --steps 1 --out F
c train alt.graph "${OPTS[@]}" --steps 2 --out G
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# after step 0 only enc (every 2) has an optimizer state; after step 1 the head's too
"$PY" - "$(ck F 1)" "$(ck G 2)" <<'EOF' || fail "alternation"
import sys
from cgtest import tensors as load
def zero(b):
    return b == bytes(len(b))
f, g = load(sys.argv[1]), load(sys.argv[2])
for name in ("enc.dense0.w:exp_avg", "enc.dense0.b:exp_avg_sq"):
    assert not zero(f[name]), name + " still zero after step 0"
for name in ("head.w:momentum_buffer:1", "head.b:momentum_buffer:1"):
    assert zero(f[name]), name + " changed at step 0"
    assert not zero(g[name]), name + " still zero after step 1"
assert f["enc.dense0.w:exp_avg"] == g["enc.dense0.w:exp_avg"], "enc updated at step 1"
EOF

check "refused with exit 1, naming the problem"
refuse 1 "--lr-schedule linear: unknown schedule 'linear'" train alt.graph "${OPTS[@]}" \
    --lr-schedule linear --out X
refuse 1 "cosine: min is a fraction of lr in [0, 1]" train alt.graph "${OPTS[@]}" \
    --lr-schedule "cosine(min=2)" --out X
refuse 1 "unknown key 'step' for step (its keys: every, epochs, gamma)" train alt.graph \
    "${OPTS[@]}" --lr-schedule "step(step=3)" --out X
refuse 1 "step needs every=N (steps) or epochs=E, one of them" train alt.graph "${OPTS[@]}" \
    --lr-schedule "step(gamma=0.5)" --out X
refuse 1 "step: gamma must be > 0" train alt.graph "${OPTS[@]}" \
    --lr-schedule "step(every=2, gamma=0)" --out X
refuse 1 "warmup needs steps=W" train alt.graph "${OPTS[@]}" --lr-schedule warmup --out X
refuse 1 "steps expects an integer >= 1" train alt.graph "${OPTS[@]}" \
    --lr-schedule "warmup(steps=0)" --out X
refuse 1 "then=step: warmup continues with constant or cosine[(min=F)]" train alt.graph \
    "${OPTS[@]}" --lr-schedule "warmup(steps=2, then=step)" --out X
refuse 1 "unexpected 'x' after the schedule" train alt.graph "${OPTS[@]}" \
    --lr-schedule "cosine x" --out X
for v in 0 -1 abc inf; do
    refuse 1 "--clip-grad $v: expected a positive finite maximum norm" train alt.graph \
        "${OPTS[@]}" --clip-grad "$v" --out X
done
[ ! -e "$TMP/X" ] || fail "a refused run left its directory"
refuse 1 "--lr-schedule 'cosine' differs from the run's 'step(every=5, gamma=0.5)'" \
    train --resume C --steps 14 --lr-schedule cosine
refuse 1 "--clip-grad '1' differs from the run's '0.5'" train --resume C --steps 14 \
    --clip-grad 1
refuse 1 "--clip-grad '1' differs from the run's 'none'" train --resume E --steps 14 \
    --clip-grad 1
refuse 1 "spans the whole run, which had 12 steps; this invocation asks for 16" \
    train --resume A --steps 16
refuse 1 "--lr-schedule shapes training steps: give --steps K too" run alt.graph \
    --lr-schedule cosine
refuse 1 "epochs need a data set (clgraph train)" run alt.graph --steps 2 \
    --lr-schedule "step(epochs=1)" --feed x=nosuch.npy
echo "all $n checks passed"
