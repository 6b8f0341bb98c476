#!/bin/sh
# run.sh: the clgraph / PyTorch side-by-side of BENCH.md: runs `clgraph bench` and
# bench/run_torch_ref.sh for both steps, several processes each, alternating them in one run,
# and writes bench/RESULTS.md (per-process medians and minima, the median of the processes, the
# ratio clgraph/PyTorch, the loss checks, the OpenCL call counts of the timed steps, the command,
# the machine and the date). Usage (from anywhere):
#     bench/run.sh [OUT.md]                         default: bench/RESULTS.md
# Settings (environment): CLGRAPH (default build/clgraph), CIM_PROCS (3), CRL_PROCS (2),
# CIM_CL ("--warmup 5 --steps 20"), CRL_CL ("--warmup 1 --steps 3": a clgraph CRL-TAC step takes
# seconds, so fewer timed steps than BENCH.md's 20), CIM_TORCH ("--timed 20"), CRL_TORCH
# ("--timed 20"). The clgraph processes run with bench/clshim.so preloaded (built here with cc),
# which counts the OpenCL calls of the timed steps (bench/README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$here/RESULTS.md}
CLGRAPH=${CLGRAPH:-$root/build/clgraph}
CIM_PROCS=${CIM_PROCS:-3}
CRL_PROCS=${CRL_PROCS:-2}
CIM_CL=${CIM_CL:---warmup 5 --steps 20}
CRL_CL=${CRL_CL:---warmup 1 --steps 3}
CIM_TORCH=${CIM_TORCH:---timed 20}
CRL_TORCH=${CRL_TORCH:---timed 20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -shared -fPIC -O2 -o "$tmp/clshim.so" "$here/clshim.c" -ldl

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u '+%Y-%m-%d %H:%M UTC')
# one clgraph process: its JSON line to $tmp/cl.STEP.K.json, its shim counts to .shim
run_cl() {
    cut -d' ' -f1 /proc/loadavg >"$tmp/cl.$1.$3.load"
    LD_PRELOAD="$tmp/clshim.so" "$CLGRAPH" bench "$root/bench/$1.graph" $2 --json \
        >"$tmp/cl.$1.$3.json" 2>"$tmp/cl.$1.$3.err" || true
    grep '^clshim: timed steps' "$tmp/cl.$1.$3.err" >"$tmp/cl.$1.$3.shim" || true
    echo "clgraph $1 process $3: $(grep -o '"median_ms": [0-9.]*' "$tmp/cl.$1.$3.json" || cat "$tmp/cl.$1.$3.err")" >&2
}
run_torch() {
    cut -d' ' -f1 /proc/loadavg >"$tmp/torch.$1.$3.load"
    "$here/run_torch_ref.sh" --step "$1" $2 --no-check >"$tmp/torch.$1.$3.out" 2>&1 || true
    tail -1 "$tmp/torch.$1.$3.out" >"$tmp/torch.$1.$3.json"
    echo "torch   $1 process $3: $(grep -o '"median_ms": [0-9.]*' "$tmp/torch.$1.$3.json" || tail -3 "$tmp/torch.$1.$3.out")" >&2
}
k=1
while [ "$k" -le "$CIM_PROCS" ]; do
    run_cl cim "$CIM_CL" "$k"
    run_torch cim "$CIM_TORCH" "$k"
    k=$((k + 1))
done
k=1
while [ "$k" -le "$CRL_PROCS" ]; do
    run_cl crl "$CRL_CL" "$k"
    run_torch crl "$CRL_TORCH" "$k"
    k=$((k + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

pocl=$(clinfo 2>/dev/null | sed -n 's/^ *Platform Version *//p' | grep -m1 PoCL || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
torchv=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)
/usr/bin/python3 - "$tmp" "$out" <<EOF
import glob, json, os, statistics, sys
tmp, out = sys.argv[1], sys.argv[2]
def loads(kind, step):
    return [open(f).read().strip() for f in sorted(glob.glob(f"{tmp}/{kind}.{step}.*.load"))]
def load(kind, step):
    res = []
    for f in sorted(glob.glob(f"{tmp}/{kind}.{step}.*.json")):
        try:
            res.append(json.loads(open(f).read().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            pass
    return res
L = []
L.append("# Benchmark results: clgraph vs PyTorch (BENCH.md steps)\n")
L.append("Written by \`bench/run.sh\` (do not edit by hand; re-run it). Date: $start; clgraph "
         "git $rev; PyTorch $torchv (Debian, 2 threads, OpenMP OpenBLAS via run_torch_ref.sh).\n")
L.append("Machine: $(nproc) cores, CPU \`$cpu\`, OpenCL platform \`$pocl\`. Load average "
         "(1/5/15 min) $load_before before the run, $load_after after it.\n")
L.append("Command: \`bench/run.sh\` with CIM_PROCS=$CIM_PROCS CRL_PROCS=$CRL_PROCS, clgraph "
         "\`$CIM_CL\` (CIM) / \`$CRL_CL\` (CRL-TAC), torch_ref \`$CIM_TORCH\` / \`$CRL_TORCH\`; "
         "the processes alternate clgraph, PyTorch, clgraph, ... Each clgraph process also runs "
         "the 3 checked steps first; each PyTorch process 5 warm-up steps.\n")
L.append("The machine is shared with other engineers who build and test at the same time; the load "
         "averages (the run itself adds about 2) say how busy it was. Step times move 10-30 % "
         "between processes (BENCH.md section 5), more under load: compare medians of processes.\n")
L.append("| step | impl | per-process median (ms) | per-process min (ms) | median of processes (ms) | best min (ms) | GFLOP/s (median) | 1-min load at each start |")
L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
ratios = []
for step, title, gflop in (("cim", "CIM", 2.00), ("crl", "CRL-TAC", 38.2)):
    meds = {}
    for kind, name in (("cl", "clgraph"), ("torch", "PyTorch")):
        r = load(kind, step)
        if not r:
            L.append(f"| {title} | {name} | (no result) | | | | | |")
            continue
        md = [x["median_ms"] for x in r]; mn = [x["min_ms"] for x in r]
        meds[kind] = statistics.median(md)
        L.append(f"| {title} | {name} | {', '.join(f'{v:.1f}' for v in md)} | "
                 f"{', '.join(f'{v:.1f}' for v in mn)} | **{meds[kind]:.1f}** | {min(mn):.1f} | "
                 f"{gflop / (meds[kind] / 1e3):.2f} | {', '.join(loads(kind, step))} |")
    if len(meds) == 2:
        ratios.append(f"{title}: clgraph / PyTorch = **{meds['cl'] / meds['torch']:.1f}x** "
                      f"({meds['cl']:.1f} ms / {meds['torch']:.1f} ms, medians of processes)")
L.append("")
L += [f"- {r}" for r in ratios]
L.append("\nGFLOP/s use BENCH.md's counts of the convolutions and GEMMs of a step (CIM 2.00, "
         "CRL-TAC 38.2 GFLOP).\n")
L.append("## clgraph loss checks (first process of each step; BENCH.md section 4, tolerance 1e-5)\n")
for step in ("cim", "crl"):
    r = load("cl", step)
    if not r:
        continue
    L.append(f"{step}: {'PASS' if r[0]['pass'] else 'FAIL'}\n")
    L.append("| step | value | clgraph | reference | diff | PyTorch spread | |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    nsens = 0
    for c in r[0]["checks"]:
        v = c.get("verdict", "pass" if c["pass"] else "fail")
        nsens += v == "rounding-sensitive"
        sp = f"{c['spread']:.1e}" if "spread" in c else ""
        L.append(f"| {c['step']} | {c['name']} | {c['value']:.7f} | {c['reference']:.6f} | "
                 f"{c['value'] - c['reference']:+.1e} | {sp} | "
                 f"{'PASS' if v == 'pass' else 'FAIL' if v == 'fail' else 'rounding-sensitive'} |")
    if nsens:
        L.append("\nrounding-sensitive: outside the tolerance, but PyTorch's own float32 spread on "
                 "that value (bench/torch_spread.py: PyTorch run with 1 or 2 threads, "
                 "deterministic algorithms, oneDNN off, pthreads OpenBLAS) exceeds the tolerance "
                 "too; see bench/README.md.")
    if not r[0]["pass"]:
        L.append("\nWhy a check fails: see bench/README.md (CRL-TAC step 3: clgraph's values are "
                 "outside both the tolerance and PyTorch's measured spread).")
    L.append("")
L.append("## OpenCL calls during the timed steps (bench/clshim.so, first process of each step)\n")
for step in ("cim", "crl"):
    f = f"{tmp}/cl.{step}.1.shim"
    r = load("cl", step)
    if os.path.exists(f) and open(f).read().strip() and r:
        counts = open(f).read().split("timed steps: ", 1)[1].split()
        calls = [w for w in counts if not w.endswith("=0")]
        L.append(f"- {step} ({r[0]['timed_steps']} timed steps): nonzero counts "
                 f"{' '.join(calls)}; every other wrapped call (clCreateBuffer, "
                 f"clBuildProgram, clFinish, clWaitForEvents, ...) 0.")
L.append("")
open(out, "w").write("\n".join(L))
print(f"wrote {out}")
EOF
