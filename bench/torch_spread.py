#!/usr/bin/python3
"""torch_spread.py: PyTorch's own spread on the reference losses of BENCH.md section 4.

    bench/torch_spread.py [--step crl|cim|both] [--json FILE]

Runs steps 1-3 of torch_ref.py's own setup and loss (the same code that reproduces BENCH.md's
table) under variants that are all legitimate float32 PyTorch, each in a fresh process:
1 or 2 threads, torch.use_deterministic_algorithms(True), oneDNN (mkldnn) convolutions off,
OpenBLAS's OpenMP or pthreads build; and once in float64 (the exact values, within ~1e-12).
Prints every value with its difference from the reference table, then per value the spread of
the float32 variants: the largest |variant - reference|. A value whose float32 spread exceeds
the check's tolerance (1e-5) cannot be reproduced to 1e-5 even by PyTorch itself run another
way: `clgraph bench` marks such values "rounding-sensitive" (bench/*.spec `spread` lines) rather
than FAIL. --json writes {step: {variant: [[values of step 1], ...]}, "reference": ...}.
Run from anywhere; it finds torch_ref.py next to itself.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

# name: (threads, deterministic, mkldnn, openmp OpenBLAS, dtype)
VARIANTS = {
    "f32 2 threads (reference setup)": (2, False, True, True, "f32"),
    "f32 1 thread": (1, False, True, True, "f32"),
    "f32 2 threads deterministic": (2, True, True, True, "f32"),
    "f32 1 thread deterministic": (1, True, True, True, "f32"),
    "f32 2 threads no oneDNN conv": (2, False, False, True, "f32"),
    "f32 2 threads pthreads OpenBLAS": (2, False, True, False, "f32"),
    "f64 2 threads": (2, False, True, True, "f64"),
}
TOL = 1e-5


def child(step, threads, det, mkldnn, dtype):
    """Runs steps 1-3 in this process and prints one JSON line: [[values of step t], ...]."""
    import torch
    sys.path.insert(0, HERE)
    import torch_ref as R
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(det)
    torch.backends.mkldnn.enabled = mkldnn
    setup, loss_fn = R.STEPS[step]
    data, params = setup()
    if dtype == "f64":
        data = {k: (v.double() if v.dtype == torch.float32 else v) for k, v in data.items()}
        params = {k: v.detach().double().requires_grad_() for k, v in params.items()}
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)
    names = R.REFERENCE[step][0]
    out = []
    for _ in range(3):
        opt.zero_grad(set_to_none=False)
        loss, parts = loss_fn(data, params)
        loss.backward()
        opt.step()
        out.append([loss.item()] + [parts[k].item() for k in names[1:]])
    print(json.dumps(out))


def run_variant(step, spec):
    threads, det, mkldnn, omp, dtype = spec
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    if omp and os.path.isdir(OMP):
        env["LD_LIBRARY_PATH"] = OMP
    env["OMP_NUM_THREADS"] = str(threads)
    args = [sys.executable, os.path.abspath(__file__), "--child", step, str(threads),
            str(int(det)), str(int(mkldnn)), dtype]
    res = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        s, t, d, m, dt = sys.argv[2:7]
        child(s, int(t), bool(int(d)), bool(int(m)), dt)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", choices=["cim", "crl", "both"], default="crl")
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    import torch_ref as R
    steps = ["cim", "crl"] if a.step == "both" else [a.step]
    result = {}
    for step in steps:
        ref = R.REFERENCE[step]
        names = ref[0]
        vals = {v: run_variant(step, spec) for v, spec in VARIANTS.items()}
        result[step] = vals
        print(f"== {step}: values of steps 1-3 and their difference from BENCH.md section 4")
        for v, rows in vals.items():
            print(f"  {v}")
            for t in range(3):
                print("    step %d: " % (t + 1) + "  ".join(
                    f"{n}={x:.7f} ({x - r:+.1e})" for n, x, r in zip(names, rows[t], ref[t + 1])))
        print(f"== {step}: float32 spread (largest |variant - reference| over the float32 "
              f"variants; 'sensitive' where it exceeds {TOL:g})")
        for t in range(3):
            cells = []
            for i, n in enumerate(names):
                sp = max(abs(rows[t][i] - ref[t + 1][i]) for v, rows in vals.items()
                         if VARIANTS[v][4] == "f32")
                cells.append(f"{n} {sp:.1e}{' sensitive' if sp > TOL else ''}")
            print(f"    step {t + 1}: " + ", ".join(cells))
    result["reference"] = {s: R.REFERENCE[s] for s in steps}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
