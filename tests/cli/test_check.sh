#!/usr/bin/env bash
# test_check.sh: `clgraph check` end to end: the summary of graphs/cim.graph (text and --json with
# --bind), file:line:col errors for bad graphs, hostile inputs (binary garbage, deep nesting,
# huge identifiers and files, empty and comment-only files, directories, missing files) that
# must give an error or a result without crashing, hanging or using unbounded memory, and every
# main graph of the repository (graphs/**/*.graph outside graphs/lib/) passing.
. "$(dirname "$0")/lib.bash"
# Memory is bounded with ulimit -v, except for sanitizer builds (ASan reserves terabytes of
# address space for its shadow and cannot start under a limit); ASan catches leaks there.
# A hang shows as exit 124; 60 s leaves room for the ASan build on a loaded 2-core machine
# (the 2-million-line file takes 16 s there). clgraph runs in the source tree (relative paths).
CLG_TIMEOUT=60
CLG_VMEM=2000000
CLG_DIR=$SRC
(ulimit -v $CLG_VMEM; "$BIN" --version >/dev/null 2>&1) || { CLG_VMEM=; echo "note: no ulimit -v (sanitizer build)"; }

# run WANT_RC ARGS...: clgraph check ARGS, bounded in time and memory.
run() {
    local want=$1; shift
    check "clgraph check $* (want exit $want)"
    clg "$want" check "$@"
}

# hostile FILE: any clean outcome (0 or 1) is fine; crashes (>= 128), timeouts (124) are not.
hostile() {
    check "hostile input $1"
    clg_exec check "$1"
    [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "hostile $1: exit $RC"
    if [ "$RC" -eq 1 ]; then
        grep -q "error" "$TMP/err" || fail "hostile $1: exit 1 without an error message"
    fi
}

# ---- the example graph ----
cd "$SRC"
run 0 graphs/cim.graph
expect_line out "graph graphs/cim.graph: ok"
expect_line out "symbols: N"
expect_line out "total parameters: 3,075,971"
expect out "params (16 tensors, 3,075,971 values):"
expect out "tn.conv0.w               f32[16, 3, 3, 3]"
expect out "clf.dense0.w             f32[1024, 2352]"
expect out "clf.dense3.b             f32[2]"
expect out "mask                     f32[N, 1, 28, 28]"
expect out "acc                      f32[]"
expect_line out "  1. minimize loss  (line 25)"
[ -s "$TMP/err" ] && fail "unexpected stderr"

run 0 graphs/cim.graph --bind N=64 --json
"$PY" - "$TMP/out" <<'PYEOF' || fail "bad JSON summary"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["symbols"] == {"N": 64}, d["symbols"]
assert d["total_params"] == 3075971, d["total_params"]
ins = {i["name"]: i for i in d["inputs"]}
assert ins["x"]["shape"] == [64, 3, 28, 28] and ins["y"]["dtype"] == "i32", ins
ps = {p["name"]: p for p in d["params"]}
assert len(ps) == 16
assert ps["tn.conv0.w"]["shape"] == [16, 3, 3, 3] and ps["tn.conv0.w"]["count"] == 432
assert ps["clf.dense0.w"]["init"].startswith("kaiming_uniform(a=2.236")
assert sum(p["count"] for p in d["params"]) == 3075971
outs = {o["name"]: o for o in d["outputs"]}
assert outs["mask"]["shape"] == [64, 1, 28, 28]
assert d["metrics"][0]["name"] == "acc" and d["metrics"][0]["shape"] == []
assert len(d["objectives"]) == 1 and d["objectives"][0]["count"] == 3075971
assert d["objectives"][0]["optimizer"] is None
PYEOF

run 0 graphs/cim.graph --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["symbols"]=={"N": None}; assert d["inputs"][0]["shape"]==["N",3,28,28]' "$TMP/out" || fail "symbolic JSON"

run 1 graphs/cim.graph --bind M=3
expect err "no symbol 'M'"
run 1 graphs/cim.graph --bind N=0
expect err "N=0"

# ---- bad graphs: file:line:col: error: ----
bad() { # NAME TEXT WANT
    printf '%s' "$2" >"$TMP/$1"
    run 1 "$TMP/$1"
    expect err "$TMP/$1:$3"
}
bad syntax.graph $'input x : f32[N, 4]\ny = relu(x\n' "3:1: error: expected ',' or ')' in the argument list, found end of file"
bad shape.graph $'input x : f32[N, 4]\ny = conv(x, 8, 3)\n' "2:5: error: conv: input must have 4 dims (N,C,H,W), got f32[N, 4]"
bad name.graph $'input img : f32[N, 4]\ny = relu(imgg)\n' "2:10: error: unknown name 'imgg' (did you mean 'img'?)"
bad lex.graph $'x = 1 $ 2\n' "1:7: error: unexpected character '\$'"
bad obj.graph $'input x : f32[N, 4]\nz = dense(x, 2)\nminimize z\n' "3:10: error: the minimized expression must be an f32 scalar"

# ---- hostile inputs ----
head -c 100000 /dev/urandom >"$TMP/garbage.graph"
hostile "$TMP/garbage.graph"
"$PY" -c 'import sys; sys.stdout.write("y = " + "(" * 20000 + "x" + ")" * 20000 + "\n")' >"$TMP/deep.graph"
run 1 "$TMP/deep.graph"
expect err "nested too deeply"
"$PY" -c 'import sys; sys.stdout.write("y = x" + "+x" * 200000 + "\n")' >"$TMP/chain.graph"
run 1 "$TMP/chain.graph"
expect err "expression is too long"
"$PY" -c 'import sys; sys.stdout.write("a" * (2 << 20) + " = 1\n")' >"$TMP/ident.graph"
run 1 "$TMP/ident.graph"
expect err "1:1: error: identifier is too long (2097152 characters; the limit is 256)"
"$PY" -c 'import sys; sys.stdout.write("s = \"" + "a" * 100000 + "\"\n")' >"$TMP/str.graph"
run 1 "$TMP/str.graph"
expect err "string is too long"
: >"$TMP/empty.graph"
run 0 "$TMP/empty.graph"
expect_line out "inputs (0):"
expect_line out "total parameters: 0"
printf '# nothing\n\n   # but comments\n' >"$TMP/comments.graph"
run 0 "$TMP/comments.graph"
expect_line out "objectives (0):"
"$PY" -c 'import sys; sys.stdout.write(("# " + "x" * 1000 + "\n") * 17000)' >"$TMP/big.graph"
run 1 "$TMP/big.graph"
expect err "big.graph"
"$PY" -c 'import sys; sys.stdout.write("x = 1\n" * 2000000)' >"$TMP/many.graph"
hostile "$TMP/many.graph"
printf 'x = 1\0\n' >"$TMP/nul.graph"
run 1 "$TMP/nul.graph"
expect err "1:6: error: unexpected byte 0x00 (is this a text file?)"
printf 'input x : f32[N]\ny = %s\n' "$(printf 'relu(%.0s' $(seq 150))x$(printf ')%.0s' $(seq 150))" >"$TMP/calls.graph"
run 0 "$TMP/calls.graph"
mkdir "$TMP/dir.graph"
run 1 "$TMP/dir.graph"
expect err "dir.graph"
run 1 "$TMP/missing.graph"
expect err "missing.graph"
printf 'import "loop.graph"\n' >"$TMP/loop.graph"
run 1 "$TMP/loop.graph"
expect err "import cycle"

# ---- every main graph of the repository ----
found=0
while IFS= read -r -d '' g; do
    case "$g" in graphs/lib/*) continue ;; esac
    found=$((found + 1))
    run 0 "$g"
done < <(find graphs -name '*.graph' -print0 | sort -z)
[ "$found" -ge 1 ] || fail "no graphs found"

echo "all $n checks passed"
