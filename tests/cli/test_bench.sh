#!/usr/bin/env bash
# test_bench.sh: the reference checks of `clgraph bench` on a tiny graph and spec: a value
# within the tolerance passes; one outside it fails (exit 1) unless the spec's `spread` line
# says PyTorch's own spread on it exceeds the tolerance too and it lies within twice that
# spread, then it is marked "rounding-sensitive" (exit 0, and "verdict" in --json), farther off
# it fails; a spread of a value that no ref line
# names is an error that names the line.
. "$(dirname "$0")/lib.bash"

# run WANT_RC SPEC [ARGS...]: clgraph bench on the tiny graph with SPEC.
run() {
    local want=$1 spec=$2; shift 2
    check "bench with $spec $* (want exit $want)"
    clg "$want" bench "$TMP/t.graph" --spec "$TMP/$spec" --warmup 0 --steps 1 "$@"
}

cat >"$TMP/t.graph" <<'EOF'
input x : f32[4, 2]
param w : f32[1, 2]
loss = mean(square(sum(x * w, 1) - 1))
minimize loss with sgd(lr=0.1)
EOF
head='input x uniform 5 0 1
params fanin'
printf '%s\nref 1 loss=0\n' "$head" >"$TMP/probe.spec"
run 1 probe.spec --json
loss=$("$PY" -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["checks"][0]["value"]))' "$TMP/out") \
    || fail "no loss in the --json output"
off=$("$PY" -c "print(repr($loss + 2e-5))")

printf '%s\nref 1 loss=%s\n' "$head" "$loss" >"$TMP/pass.spec"
run 0 pass.spec
expect out "PASS step 1 loss"
expect out "PASS: reference losses reproduced"

printf '%s\nref 1 loss=%s\nspread 1 loss=1e-6\n' "$head" "$off" >"$TMP/fail.spec"
run 1 fail.spec
expect out "FAIL step 1 loss"
expect out "spread 1.0e-06"
expect out "FAIL: reference losses differ"

printf '%s\nref 1 loss=%s\nspread 1 loss=1e-4\n' "$head" "$off" >"$TMP/sens.spec"
run 0 sens.spec
expect out "rounding-sensitive step 1 loss"
expect out "spread 1.0e-04"
expect out "(1 value outside the tolerance marked rounding-sensitive"
run 0 sens.spec --json
expect out '"verdict": "rounding-sensitive", "spread": 0.0001'
expect out '"pass": true, "warmup"'

far=$("$PY" -c "print(repr($loss + 5e-5))")
printf '%s\nref 1 loss=%s\nspread 1 loss=2e-5\n' "$head" "$far" >"$TMP/far.spec"
run 1 far.spec
expect out "FAIL step 1 loss"

printf '%s\nref 1 loss=%s\nspread 1 nope=1e-4\n' "$head" "$loss" >"$TMP/bad.spec"
run 1 bad.spec
expect err "bad.spec:4: error: spread of 'nope' at step 1, but no 'ref 1' line names it"

echo "ok: $n checks"
