#!/usr/bin/python3
"""crl_step3.py: where clgraph's CRL-TAC step-3 difference from BENCH.md comes from.

    bench/crl_step3.py [--clgraph build/clgraph] [--dir /tmp/crl_step3] [--seeds N]
                       [--no-f64-perturb]

Question: clgraph's step-3 Loss/L_nce/L_pg miss BENCH.md section 4 by 1.5-2.7e-5 while steps 1-2
pass. Is clgraph's forward arithmetic off at step 3, or are its parameters after two Adam updates
elsewhere (rounding differences of steps 1-2 amplified by Adam)? What it does (torch_ref.py's own
crl_setup/crl_loss throughout):

1. writes the bench's inputs and initial parameters as .npy (clgraph names), runs
   `clgraph run bench/crl.graph --feed ... --steps 2 --fetch NAME=...` : clgraph's parameters
   after 2 updates (P_cg) and its float32 step-3 forward (loss, l_nce, l_pg, h);
2. PyTorch float32 (torch_ref's setup: Adam lr 1e-3, 2 threads): parameters after 2 updates
   (P_pt) and its step-3 values; float64 from the same start: P_64 and the exact step-3 values;
3. the step-3 forward in float64 at P_cg, P_pt and at hybrids (the f/g encoder of one set with
   the P(T|X) net p.* of the other), and in PyTorch float32 at P_cg;
4. per tensor the distances |P_cg - P_pt|, |P_cg - P_64|, |P_pt - P_64| relative to the size of
   the two updates |P_64 - P_0| and the count of elements apart by more than 1e-4 (lr = 1e-3);
5. float64 trajectories whose step-1 gradients are replaced by clgraph's float32 ones
   (`clgraph run --grad`) or PyTorch's, steps 2-3 exact: does the rounding of the step-1
   gradients alone move step 3 as far as clgraph's (or PyTorch's) run? And float64 trajectories
   whose step-1 gradients get random noise of float32 size (per tensor: the mean relative L2
   error of the two float32 gradients, times the gradient's rms, times N(0,1)), --seeds runs;
   Then, for the elements whose parameters part by more than 1e-4 in float64 replays of the two
   updates from the two float32 step-1 gradients: their step-1 and step-2 gradients;
6. elementwise-relative perturbations g * (1 + 1e-7 N(0,1)) of the step-1 gradients in float32
   and float64, --seeds runs each (they do not flip signs, so Adam's first step ignores them).

Run with LD_LIBRARY_PATH as bench/run_torch_ref.sh sets it (about 5 minutes on 2 cores).
Results and conclusion: bench/README.md, CRL-TAC section ("Step 3: forward or trajectory?").
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref as R  # noqa: E402

COMP = ("Loss", "L_nce", "L_pg", "H")
REF3 = dict(zip(COMP, R.REFERENCE["crl"][3]))


def cgname(k):
    return k.replace(".weight", ".w").replace(".bias", ".b")


def values(loss, parts):
    return {"Loss": float(loss), **{k: float(v) for k, v in parts.items()}}


def fmt(v, ref=None):
    s = " ".join(f"{k}={v[k]:+.7f}" for k in COMP)
    if ref is not None:
        s += "   diff " + " ".join(f"{k}={v[k] - ref[k]:+.1e}" for k in COMP)
    return s


def forward(data, params, dtype):
    d = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in data.items()}
    p = {k: v.detach().to(dtype) for k, v in params.items()}
    with torch.no_grad():
        return values(*R.crl_loss(d, p))


def train2(data, params0, dtype, perturb=None):
    """Adam lr 1e-3, 2 updates from params0 in dtype; perturb(name, grad) -> grad at step 1.
    Returns (params after 2 updates, step-3 values in dtype)."""
    d = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in data.items()}
    p = {k: v.detach().clone().to(dtype).requires_grad_() for k, v in params0.items()}
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    for t in (1, 2):
        opt.zero_grad(set_to_none=False)
        loss, _ = R.crl_loss(d, p)
        loss.backward()
        if t == 1 and perturb is not None:
            for k, v in p.items():
                v.grad.copy_(perturb(k, v.grad))
        opt.step()
    with torch.no_grad():
        v3 = values(*R.crl_loss(d, p))
    return {k: v.detach().clone() for k, v in p.items()}, v3


def run_clgraph(exe, graph, out, data, params0):
    os.makedirs(out, exist_ok=True)
    feeds = {
        "X": data["X"].numpy().astype(np.float32),
        "T": data["T"].numpy().astype(np.int32),
        "view": np.arange(512, dtype=np.int32),
        "img": (np.arange(512) // 8).astype(np.int32),
    }
    feeds.update({cgname(k): v.detach().numpy().astype(np.float32) for k, v in params0.items()})
    cmd = [exe, "run", graph]
    for k, v in feeds.items():
        f = os.path.join(out, f"feed.{k}.npy")
        np.save(f, np.ascontiguousarray(v))
        cmd += ["--feed", f"{k}={f}"]
    cmd += ["--steps", "2"]
    for k in params0:
        cmd += ["--fetch", f"{cgname(k)}={os.path.join(out, 'cg2.' + cgname(k) + '.npy')}"]
    for k in ("loss", "l_nce", "l_pg", "h"):
        cmd += ["--fetch", f"{k}={os.path.join(out, 'cg3.' + k + '.npy')}"]
    subprocess.run(cmd, check=True)
    # step-1 gradients: a forward and backward pass at the initial parameters, no update
    cmd = [exe, "run", graph] + [x for k in feeds
                                 for x in ("--feed", f"{k}={os.path.join(out, 'feed.' + k + '.npy')}")]
    for k in params0:
        cmd += ["--grad", f"{cgname(k)}={os.path.join(out, 'cg1grad.' + cgname(k) + '.npy')}"]
    subprocess.run(cmd, check=True)
    g1 = {k: torch.from_numpy(np.load(os.path.join(out, f"cg1grad.{cgname(k)}.npy")))
          for k in params0}
    p2 = {k: torch.from_numpy(np.load(os.path.join(out, f"cg2.{cgname(k)}.npy")))
          for k in params0}
    v3 = {c: float(np.load(os.path.join(out, f"cg3.{n}.npy")))
          for c, n in zip(COMP, ("loss", "l_nce", "l_pg", "h"))}
    return p2, v3, g1


def grad1(data, params0, dtype):
    d = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in data.items()}
    p = {k: v.detach().clone().to(dtype).requires_grad_() for k, v in params0.items()}
    loss, _ = R.crl_loss(d, p)
    loss.backward()
    return {k: v.grad.detach().clone() for k, v in p.items()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clgraph", default=os.path.join(here, "..", "build", "clgraph"))
    ap.add_argument("--dir", default="/tmp/crl_step3")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-f64-perturb", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    data, params0 = R.crl_setup()
    params0 = {k: v.detach() for k, v in params0.items()}

    print("== trajectories (2 Adam updates from the same initial parameters)", flush=True)
    p_cg, v_cg, g_cg = run_clgraph(a.clgraph, os.path.join(here, "crl.graph"), a.dir, data, params0)
    p_pt, v_pt = train2(data, params0, torch.float32)
    p_64, v_64 = train2(data, params0, torch.float64)
    print(f"clgraph f32 step 3 (clgraph run)       {fmt(v_cg, REF3)}")
    print(f"PyTorch f32 step 3                     {fmt(v_pt, REF3)}")
    print(f"float64 step 3 (exact trajectory)      {fmt(v_64, REF3)}")

    print("\n== step-3 forward at fixed parameters (diff: against BENCH.md)", flush=True)
    f_cg = forward(data, p_cg, torch.float64)
    f_pt = forward(data, p_pt, torch.float64)
    t_cg = forward(data, p_cg, torch.float32)
    print(f"f64 forward at P_cg                    {fmt(f_cg, REF3)}")
    print(f"f64 forward at P_pt                    {fmt(f_pt, REF3)}")
    print(f"PyTorch f32 forward at P_cg            {fmt(t_cg, REF3)}")
    print("clgraph f32 - f64 at P_cg             "
          + " ".join(f"{k}={v_cg[k] - f_cg[k]:+.1e}" for k in COMP))
    print("PyTorch f32 - f64 at P_pt             "
          + " ".join(f"{k}={v_pt[k] - f_pt[k]:+.1e}" for k in COMP))
    print("PyTorch f32 - f64 at P_cg             "
          + " ".join(f"{k}={t_cg[k] - f_cg[k]:+.1e}" for k in COMP))
    print("f64: P_cg - P_pt                      "
          + " ".join(f"{k}={f_cg[k] - f_pt[k]:+.1e}" for k in COMP))
    is_p = {k: k.startswith("p.") for k in params0}
    hyb1 = {k: (p_pt[k] if is_p[k] else p_cg[k]) for k in params0}
    hyb2 = {k: (p_cg[k] if is_p[k] else p_pt[k]) for k in params0}
    f_h1 = forward(data, hyb1, torch.float64)
    f_h2 = forward(data, hyb2, torch.float64)
    print(f"f64 at f,g of P_cg + p of P_pt         {fmt(f_h1, REF3)}")
    print(f"f64 at f,g of P_pt + p of P_cg         {fmt(f_h2, REF3)}")

    print("\n== parameters after 2 updates, per tensor: ||A - B|| / ||P_64 - P_0|| "
          "(the size of the two updates); n: elements with |A - B| > 1e-4", flush=True)
    print(f"{'tensor':<12} {'numel':>8} {'|upd|/|P0|':>10} {'cg-pt':>8} {'n':>6} {'cg-64':>8} "
          f"{'n':>6} {'pt-64':>8} {'n':>6}")
    for k in params0:
        p0, c, t, e = (params0[k].double(), p_cg[k].double(), p_pt[k].double(), p_64[k].double())
        upd = torch.linalg.norm(e - p0).item()
        row = f"{cgname(k):<12} {p0.numel():>8} {upd / torch.linalg.norm(p0).item():>10.2e}"
        for name, x, y in (("cg-pt", c, t), ("cg-64", c, e), ("pt-64", t, e)):
            dist = torch.linalg.norm(x - y).item()
            row += f" {dist / upd:>8.2e} {int(((x - y).abs() > 1e-4).sum()):>6}"
        print(row)
    sq = {k: torch.linalg.norm(p_cg[k].double() - p_pt[k].double()).item() ** 2 for k in params0}
    n_p = sum(params0[k].numel() for k in params0 if is_p[k])
    print(f"share of ||P_cg - P_pt||^2 in the P(T|X) net p.*: "
          f"{sum(v for k, v in sq.items() if is_p[k]) / sum(sq.values()):.3f} "
          f"(p.* holds {n_p / sum(v.numel() for v in params0.values()):.3f} of the elements)")

    print("\n== float64 trajectories whose step-1 gradients are float32 ones (cast to float64; "
          "steps 2-3 exact); diff: against the float64 trajectory", flush=True)
    g_64 = grad1(data, params0, torch.float64)
    g_pt = grad1(data, params0, torch.float32)
    for k in params0:
        n64 = torch.linalg.norm(g_64[k]).item()
        print(f"  {cgname(k):<11} step-1 gradient rel L2 error vs float64: clgraph "
              f"{torch.linalg.norm(g_cg[k].double() - g_64[k]).item() / n64:.2e} PyTorch "
              f"{torch.linalg.norm(g_pt[k].double() - g_64[k]).item() / n64:.2e}")
    for name, g in (("clgraph", g_cg), ("PyTorch", g_pt)):
        _, v = train2(data, params0, torch.float64, lambda k, _g, g=g: g[k].double())
        print(f"f64, {name} f32 step-1 grads:  {fmt(v, v_64)}")
        print("    against BENCH.md: " + " ".join(f"{c}={v[c] - REF3[c]:+.1e}" for c in COMP))
    for s in range(a.seeds):
        gen = torch.Generator().manual_seed(2000 + s)

        def noise(k, g, gen=gen):
            rel = 0.5 * (torch.linalg.norm(g_cg[k].double() - g_64[k]) +
                         torch.linalg.norm(g_pt[k].double() - g_64[k])) / torch.linalg.norm(g_64[k])
            rms = torch.linalg.norm(g_64[k]) / g_64[k].numel() ** 0.5
            return g_64[k] + rel * rms * torch.randn(g.shape, generator=gen, dtype=torch.float64)
        _, v = train2(data, params0, torch.float64, noise)
        print(f"f64, step-1 grads + random noise of float32 size, seed {s}: {fmt(v, v_64)}",
              flush=True)

    print("\n== where the parameters part: float64 replays of the two updates from clgraph's "
          "and PyTorch's float32 step-1 gradients (step 2 exact); for the elements whose "
          "replayed P2 are > 1e-4 apart: how many had a zero / sub-eps (< 1e-8) float64 step-1 "
          "gradient, how many a step-2 gradient of other sign in the two replays, their median "
          "|step-2 gradient| (tensor's median in brackets); and the largest |P1 difference|",
          flush=True)
    d64 = {k: (v.double() if v.is_floating_point() else v) for k, v in data.items()}

    def replay(g1):
        p = {k: v.clone().double().requires_grad_() for k, v in params0.items()}
        opt = torch.optim.Adam(list(p.values()), lr=1e-3)
        for k, v in p.items():
            v.grad = g1[k].double().clone()
        opt.step()
        p1 = {k: v.detach().clone() for k, v in p.items()}
        opt.zero_grad(set_to_none=False)
        R.crl_loss(d64, p)[0].backward()
        g2 = {k: v.grad.clone() for k, v in p.items()}
        opt.step()
        return p1, g2, {k: v.detach().clone() for k, v in p.items()}
    ra, rb = replay(g_cg), replay(g_pt)
    for k in params0:
        far = (ra[2][k] - rb[2][k]).abs() > 1e-4
        nf = int(far.sum())
        if nf == 0:
            continue
        g2a, g2b = ra[1][k], rb[1][k]
        print(f"  {cgname(k):<11} apart {nf:6d}: g1 zero {int((g_64[k][far] == 0).sum()):6d}, "
              f"sub-eps {int((g_64[k][far].abs() < 1e-8).sum()):6d}; step-2 sign differs "
              f"{int((torch.sign(g2a[far]) * torch.sign(g2b[far]) <= 0).sum()):6d}; median "
              f"|g2| {g2a[far].abs().median().item():.1e} ({g2a.abs().median().item():.1e}); "
              f"max |P1 diff| {(ra[0][k] - rb[0][k]).abs().max().item():.1e}")

    print(f"\n== perturbed step-1 gradients: g * (1 + 1e-7 N(0,1)) elementwise, {a.seeds} seeds "
          "each; diff: against the unperturbed run of the same precision", flush=True)
    for dtype, base in ((torch.float32, v_pt), (torch.float64, v_64)):
        if dtype == torch.float64 and a.no_f64_perturb:
            continue
        worst = {c: 0.0 for c in COMP}
        for s in range(a.seeds):
            gen = torch.Generator().manual_seed(1000 + s)

            def perturb(name, g, gen=gen):
                n = torch.randn(g.shape, generator=gen, dtype=torch.float64)
                return (g.double() * (1 + 1e-7 * n)).to(g.dtype)
            _, v = train2(data, params0, dtype, perturb)
            for c in COMP:
                worst[c] = max(worst[c], abs(v[c] - base[c]))
            print(f"{str(dtype)[6:]} seed {s}: {fmt(v, base)}", flush=True)
        print(f"{str(dtype)[6:]} largest |perturbed - unperturbed|: "
              + " ".join(f"{c}={worst[c]:.1e}" for c in COMP))
    return 0


if __name__ == "__main__":
    sys.exit(main())
