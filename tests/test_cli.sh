#!/usr/bin/env bash
# test_cli.sh: end-to-end checks of the clgraph command line: help, version, command dispatch
# and suggestions, `devices` (text and JSON), device selection errors and the no-platform case.
# Needs CLGRAPH_BIN (set by ctest); prints each check and stops at the first failure.
. "$(dirname "$0")/cli/lib.bash"
unset CLGRAPH_CL_DIR
export CLGRAPH_CACHE_DIR="$TMP/cache"

# run WANT_RC ARGS...: runs clgraph with ARGS, stdout in $TMP/out, stderr in $TMP/err.
run() {
    local want=$1; shift
    check "clgraph $* (want exit $want)"
    clg "$want" "$@"
}

run 0 --version
grep -qE '^clgraph 0\.1\.0 \(git [^ )]+\)$' "$TMP/out" || fail "bad version line"

run 1
expect err "usage: clgraph"

run 0 --help
for c in devices check run train eval viz data bench; do expect out "  $c "; done
run 0 help
expect out "commands:"
run 0 help devices
expect out "usage: clgraph devices"
run 0 devices --help
expect out "usage: clgraph devices"
run 0 check --help
expect out "usage: clgraph check"
run 1 help nosuchcommand
expect err "unknown command 'nosuchcommand'"

run 1 chek
expect err "clgraph: unknown command 'chek' (did you mean 'check'?)"
run 1 devics
expect err "(did you mean 'devices'?)"
run 1 zzzzzzzzzz
expect err "unknown command 'zzzzzzzzzz'"
run 1 --bogus

run 1 eval x
expect err "x: error: no such run directory"

run 0 devices
expect out "[0] "
expect out "features:"
grep -c '^\* \[' "$TMP/out" | grep -qx 1 || fail "exactly one device must be marked"

run 0 devices --json
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and d, "empty list"
keys = ["index", "selected", "platform", "platform_vendor", "platform_version", "name",
        "vendor", "type", "version", "driver_version", "opencl_c_version", "compute_units",
        "max_clock_mhz", "global_mem_bytes", "local_mem_bytes", "local_mem_type",
        "max_alloc_bytes", "max_work_group_size", "preferred_float_vector_width", "fp16",
        "fp64", "subgroups", "atomics32_global", "atomics32_local", "atomics64"]
for i, dev in enumerate(d):
    assert dev["index"] == i
    missing = [k for k in keys if k not in dev]
    assert not missing, missing
    assert dev["type"] in ("cpu", "gpu", "accelerator", "other")
assert sum(dev["selected"] for dev in d) == 1
' "$TMP/out" || fail "devices --json is not the expected JSON"

run 0 devices --json --device 0
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["selected"]' "$TMP/out" \
    || fail "--device 0 is not selected"
run 0 devices --device=0

run 1 devices --device 99
expect err "out of range"
expect err "  [0] "
run 1 devices --device
expect err "needs a value"
run 1 devices --frobnicate
expect err "unknown option '--frobnicate'"

check "CLGRAPH_DEVICE=nomatch clgraph devices (want exit 1)"
CLGRAPH_DEVICE=nomatch clg 1 devices
expect err "no OpenCL device matches 'nomatch'"
expect err "  [0] "

# No platform at all: ocl-icd reads its vendor list from OCL_ICD_VENDORS.
check "OCL_ICD_VENDORS=/nonexistent clgraph devices (want exit 2)"
OCL_ICD_VENDORS=/nonexistent OCL_ICD_FILENAMES= clg 2 devices
expect err "no OpenCL platform was found"
expect err "ci/setup"

echo "all $n CLI checks passed"
