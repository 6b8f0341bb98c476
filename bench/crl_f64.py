#!/usr/bin/python3
"""crl_f64.py: the CRL-TAC step of torch_ref.py evaluated in float64, to judge float32 results.

    bench/crl_f64.py [CLGRAPH_DUMP TORCH_DUMP]

Runs torch_ref's own crl_setup/crl_loss with every float tensor cast to float64 and Adam lr 1e-3
for 3 steps, printing Loss, L_nce, L_pg, H per step (the exact values within ~1e-12). With two
directories (`clgraph bench bench/crl.graph --dump A`, `run_torch_ref.sh --step crl --dump B`,
then B/crl) it also prints, per parameter, the relative L2 error of both float32 step-1
gradients against float64 and their sign disagreements with it. Run with LD_LIBRARY_PATH as
run_torch_ref.sh sets it. Used for the analysis in bench/README.md.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref as R  # noqa: E402


def main():
    torch.set_num_threads(2)
    data, params = R.crl_setup()
    d64 = {k: (v.double() if v.dtype == torch.float32 else v) for k, v in data.items()}
    p64 = {k: v.detach().double().requires_grad_() for k, v in params.items()}
    opt = torch.optim.Adam(list(p64.values()), lr=1e-3)
    for t in range(1, 4):
        opt.zero_grad()
        loss, parts = R.crl_loss(d64, p64)
        loss.backward()
        if t == 1 and len(sys.argv) == 3:
            cg, ref = sys.argv[1], sys.argv[2]
            for k, v in p64.items():
                n = k.replace(".weight", ".w").replace(".bias", ".b")
                g = v.grad.numpy()
                gt = np.load(f"{ref}/grad1.{k}.npy").astype(np.float64)
                gc = np.load(f"{cg}/grad1.{n}.npy").astype(np.float64)
                nrm = np.linalg.norm(g)
                print(f"{n:<11} rel err vs f64: torch {np.linalg.norm(gt - g) / nrm:9.2e} "
                      f"clgraph {np.linalg.norm(gc - g) / nrm:9.2e}  sign flips vs f64: torch "
                      f"{int(np.sum(np.sign(gt) * np.sign(g) < 0)):5d} clgraph "
                      f"{int(np.sum(np.sign(gc) * np.sign(g) < 0)):5d}")
        opt.step()
        print(f"f64 step {t}: Loss={loss.item():.7f} " +
              " ".join(f"{k}={v.item():.7f}" for k, v in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
