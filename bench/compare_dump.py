#!/usr/bin/python3
"""compare_dump.py: compares `clgraph bench --dump DIR` with `torch_ref.py --dump DIR` tensors.

    compare_dump.py CLGRAPH_DIR TORCH_DIR     (TORCH_DIR is e.g. /tmp/ref/crl)

clgraph names a parameter NAME.w / NAME.b, torch_ref.py NAME.weight / NAME.bias. For each
parameter prints the largest absolute difference of the initial values (param.*) and of the
step-1 gradients (grad1.*), the largest gradient magnitude, and how many gradient elements have
opposite signs or are zero in one and not the other (what Adam's first step turns into a
+-lr difference).
"""
import os
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 1
    cg, ref = sys.argv[1], sys.argv[2]
    names = sorted(f[len("param."):-len(".npy")] for f in os.listdir(cg) if f.startswith("param."))
    print(f"{'parameter':<12} {'param diff':>10} {'grad diff':>10} {'max |grad|':>10} "
          f"{'sign flips':>10} {'zero/nonzero':>12}")
    for n in names:
        tn = n[:-2] + ".weight" if n.endswith(".w") else n[:-2] + ".bias"
        p_cg, p_ref = np.load(f"{cg}/param.{n}.npy"), np.load(f"{ref}/param.{tn}.npy")
        g_cg, g_ref = np.load(f"{cg}/grad1.{n}.npy"), np.load(f"{ref}/grad1.{tn}.npy")
        flips = int(np.sum(np.sign(g_cg) * np.sign(g_ref) < 0))
        zeros = int(np.sum((g_cg == 0) != (g_ref == 0)))
        print(f"{n:<12} {np.abs(p_cg - p_ref).max():10.2e} {np.abs(g_cg - g_ref).max():10.2e} "
              f"{np.abs(g_ref).max():10.2e} {flips:10d} {zeros:12d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
