#!/bin/sh
# check.sh: runs every golden case of tests/golden/cases through `clgraph run` and compares the
# fetches and gradients it writes with the PyTorch results stored by gen.py.
#
#   CLGRAPH_BIN=build/clgraph tests/golden/check.sh [PATTERN...]
#
# PATTERN: run only the cases whose name contains one of them. The comparison (npycmp.py) uses
# only Python's standard library: no numpy at test time. Prints one PASS/FAIL line per case with
# the largest absolute and relative errors, then `N passed, N failed`; exits 1 if any failed.
# Environment: CLGRAPH_BIN (default: build/clgraph from the repository root), PYTHON (default
# python3), CLGRAPH_DEVICE (passed through to clgraph), GOLDEN_KEEP=1 keeps the temp dirs.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${CLGRAPH_BIN:-$root/build/clgraph}
py=${PYTHON:-python3}

if [ ! -x "$bin" ]; then
    echo "check.sh: no clgraph binary at $bin (set CLGRAPH_BIN)" >&2
    exit 2
fi
if ! "$py" -c 'import json, struct, array' 2>/dev/null; then
    echo "check.sh: $py cannot run (set PYTHON)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/clgraph-golden.XXXXXX") || exit 2
if [ "${GOLDEN_KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$work"' EXIT
    trap 'exit 2' HUP INT TERM
fi

passed=0
failed=0
nl='
'
for json in "$here"/cases/*/case.json; do
    [ -f "$json" ] || continue
    dir=${json%/case.json}
    name=${dir##*/}
    if [ $# -gt 0 ]; then
        hit=0
        for p in "$@"; do
            case "$name" in *"$p"*) hit=1 ;; esac
        done
        [ $hit = 1 ] || continue
    fi
    tmp=$work/$name
    mkdir -p "$tmp"
    if ! args=$("$py" "$here/npycmp.py" args "$dir" "$tmp"); then
        echo "FAIL $name  [cannot read case.json]"
        failed=$((failed + 1))
        continue
    fi
    # one argument per line; paths have no newlines (npycmp.py refuses them)
    set -f
    oldifs=$IFS
    IFS=$nl
    # shellcheck disable=SC2086
    "$bin" run $args >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    IFS=$oldifs
    set +f
    if [ $rc -ne 0 ]; then
        msg=$(tail -n 3 "$tmp/stderr" | tr '\n' ' ')
        echo "FAIL $name  [clgraph run exited $rc: $msg]"
        failed=$((failed + 1))
        continue
    fi
    if "$py" "$here/npycmp.py" compare "$dir" "$tmp"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "${GOLDEN_KEEP:-0}" = 1 ] && echo "outputs kept in $work"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
