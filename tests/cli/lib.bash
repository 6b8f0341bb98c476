# lib.bash: the common part of the shell tests (tests/cli/test_*.sh, tests/test_cli.sh), sourced
# by each as `. "$(dirname "$0")/lib.bash"` before anything else. (Its name does not end in .sh:
# CMakeLists.txt registers every tests/cli/*.sh as a ctest test.)
#
# Sourcing it sets `set -u` and:
#   BIN  the clgraph executable ($CLGRAPH_BIN, required; ctest sets it)
#   SRC  the source tree ($CLGRAPH_SOURCE_DIR, else the tree this file is in)
#   PY   /usr/bin/python3, else python3 from PATH
#   TMP  a fresh temporary directory, removed on exit (a script may replace the EXIT trap)
#   n    the check counter, 0
#   PYTHONPATH  starts with this folder: the tests' Python scripts `from cgtest import ...`
# A test prints "check N: ..." for each check and stops at the first failure (fail: exit 1).
# clgraph runs in $TMP (CLG_DIR) with stdout in $TMP/out and stderr in $TMP/err, bounded by
# CLG_TIMEOUT seconds (120) and, where CLG_VMEM is set, by `ulimit -v $CLG_VMEM`; a script sets
# these after sourcing to change them.
set -u
BIN=${CLGRAPH_BIN:?CLGRAPH_BIN must point to the clgraph executable}
SRC=${CLGRAPH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
CLG_TIMEOUT=120
CLG_VMEM=
CLG_DIR=$TMP
# the Python helpers (tests/cli/cgtest.py) for the tests' Python scripts
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

# fail MESSAGE...: prints FAIL: MESSAGE and the heads (3000 bytes) of $TMP/out and $TMP/err,
# exits 1.
fail() {
    echo "FAIL: $*"
    echo "--- stdout:"; head -c 3000 "$TMP/out" 2>/dev/null
    echo "--- stderr:"; head -c 3000 "$TMP/err" 2>/dev/null
    exit 1
}

# check TEXT...: counts a check and prints "check N: TEXT".
check() { n=$((n + 1)); echo "check $n: $*"; }

# clg_exec ARGS...: runs `clgraph ARGS` in $CLG_DIR (timeout $CLG_TIMEOUT, ulimit -v $CLG_VMEM
# if set), stdout to $TMP/out, stderr to $TMP/err; sets RC to its exit status (124: timed out).
# Fails on any sanitizer report in $TMP/err, whatever the exit status (ASan's own is 1).
clg_exec() {
    (
        [ -z "$CLG_VMEM" ] || ulimit -v "$CLG_VMEM"
        cd "$CLG_DIR" && timeout "$CLG_TIMEOUT" "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    )
    RC=$?
    if grep -qE 'Sanitizer|runtime error:' "$TMP/err"; then
        fail "clgraph $*: sanitizer report"
    fi
}

# clg WANT_RC ARGS...: clg_exec ARGS, and fails unless the exit status is WANT_RC.
clg() {
    local want=$1; shift
    clg_exec "$@"
    [ "$RC" -eq "$want" ] || fail "clgraph $*: exit $RC, want $want"
}

# refused PATTERN: $TMP/err matches the extended regular expression PATTERN (else fails);
# prints its first line as "  refused: ...". Called after a clg that expected the refusal.
refused() {
    grep -qE -- "$1" "$TMP/err" || fail "stderr lacks /$1/"
    echo "  refused: $(head -1 "$TMP/err")"
}

# refused_text TEXT: as refused, for a fixed string.
refused_text() {
    grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'"
    echo "  refused: $(head -1 "$TMP/err")"
}

# expect FILE TEXT: $TMP/FILE (out or err) contains TEXT literally.
expect() { grep -qF -- "$2" "$TMP/$1" || fail "$1 lacks: $2"; }
# expect_line FILE LINE: $TMP/FILE has LINE as a whole line.
expect_line() { grep -qxF -- "$2" "$TMP/$1" || fail "$1 lacks the line: $2"; }
# lacks FILE TEXT: $TMP/FILE does not contain TEXT.
lacks() { ! grep -qF -- "$2" "$TMP/$1" || fail "$1 has: $2"; }

# ck RUN STEP: the path of run directory $TMP/RUN's checkpoint of step STEP.
ck() { echo "$TMP/$1/checkpoints/step-$(printf %012d "$2").safetensors"; }

# be32 V: the four big-endian bytes of V as printf escapes.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

# idx_pair DIR PREFIX COUNT [PATTERN]: MNIST-format DIR/PREFIX-images-idx3-ubyte (COUNT 28x28
# images of the repeating bytes of PATTERN, printf escapes; NUL bytes drop out) and
# DIR/PREFIX-labels-idx1-ubyte (labels i % 10).
idx_pair() {
    local dir=$1 prefix=$2 count=$3 pat=${4:-'\x00\x10\x40\x80\xc0\xff\x07\x00\x33'}
    { printf "$(be32 2051)$(be32 "$count")$(be32 28)$(be32 28)"
      yes "$(printf "$pat")" | tr -d '\n' | head -c $((count * 784)); } \
        >"$dir/$prefix-images-idx3-ubyte"
    { printf "$(be32 2049)$(be32 "$count")"
      for ((i = 0; i < count; i++)); do printf "\\x0$((i % 10))"; done; } >"$dir/$prefix-labels-idx1-ubyte"
}

# mnist_rects DIR TRAIN TEST: creates DIR with MNIST-format train and t10k files of TRAIN and TEST
# 28x28 images (three rectangles of random size, place and intensity; seeds 1 and 2), labels
# i % 10.
mnist_rects() {
    "$PY" - "$@" <<'PYEOF' || fail "writing the synthetic MNIST files"
import os, random, struct, sys
d = sys.argv[1]
os.makedirs(d)
def write(prefix, count, seed):
    r = random.Random(seed)
    img = bytearray()
    for _ in range(count):
        px = bytearray(784)
        for _ in range(3):
            h, w = r.randint(3, 10), r.randint(3, 10)
            y0, x0, v = r.randint(0, 28 - h), r.randint(0, 28 - w), r.randint(80, 255)
            for y in range(y0, y0 + h):
                for x in range(x0, x0 + w):
                    px[y * 28 + x] = max(px[y * 28 + x], v)
        img += px
    with open(os.path.join(d, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, count, 28, 28) + img)
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 2049, count) + bytes(i % 10 for i in range(count)))
write("train", int(sys.argv[2]), 1)
write("t10k", int(sys.argv[3]), 2)
PYEOF
}
