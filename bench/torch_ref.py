#!/usr/bin/python3
"""torch_ref.py: PyTorch reference of the two benchmark training steps of BENCH.md.

Builds the CIM step (BENCH.md section 2) and the CRL-TAC step (section 3) exactly as defined
there: the splitmix64 data and parameter init of section 1, the same layer order and loss
formulas, Adam with lr 1e-3, 2 threads. Prints the losses of steps 1-3 with their components,
checks them against the table of section 4 (to 1e-5), then times the step (5 warm-up steps,
--timed timed steps, loss copied to the host) and ends with one JSON line per step:
    {"step": "cim", "median_ms": ..., "min_ms": ..., "losses": [...]}

Run it through bench/run_torch_ref.sh, which selects Debian's python3 and the OpenMP build of
OpenBLAS (see BENCH.md section 5 for why). Usage:
    torch_ref.py [--step cim|crl|both] [--timed N] [--no-check] [--dump DIR]
--dump DIR also writes the data, the initial parameters, the gradients of step 1 and the first
three losses as .npy/.json under DIR/cim/ and DIR/crl/ (tensor-by-tensor comparisons; never
committed: everything is a deterministic function of section 1).
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---- BENCH.md section 1: deterministic numbers ----------------------------------------------

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix_r(s, n):
    """r(s, i) for i = 0..n-1 as a uint64 array (all arithmetic mod 2^64)."""
    with np.errstate(over="ignore"):
        i = np.arange(n, dtype=np.uint64)
        z = np.uint64(s) + (i + np.uint64(1)) * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def splitmix_u(s, n):
    """u(s, i) for i = 0..n-1 as float64 in [0, 1)."""
    return (splitmix_r(s, n) >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)


def uniform(s, shape, lo, hi):
    """Uniform(s, shape, lo, hi): computed in double, rounded to float32."""
    n = int(np.prod(shape)) if len(shape) else 1
    v = lo + (hi - lo) * splitmix_u(s, n)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def labels(s, n, k):
    """floor(k * u(s, i)) for i = 0..n-1 as int64."""
    return torch.from_numpy(np.floor(k * splitmix_u(s, n)).astype(np.int64))


def make_params(table):
    """table: list of (name, weight shape, bias shape, fan_in); streams 1, 2, 3, ... in order."""
    params = {}
    stream = 1
    for name, wshape, bshape, fan_in in table:
        b = 1.0 / math.sqrt(fan_in)
        params[name + ".weight"] = uniform(stream, wshape, -b, b).requires_grad_()
        params[name + ".bias"] = uniform(stream + 1, bshape, -b, b).requires_grad_()
        stream += 2
    return params


# ---- BENCH.md section 2: CIM ----------------------------------------------------------------

CIM_PARAMS = [
    ("tn.conv1", [16, 3, 3, 3], [16], 27),
    ("tn.conv2", [32, 16, 3, 3], [32], 144),
    ("tn.conv3", [16, 32, 3, 3], [16], 288),
    ("tn.conv4", [1, 16, 3, 3], [1], 144),
    ("clf.fc1", [1024, 2352], [1024], 2352),
    ("clf.fc2", [512, 1024], [512], 1024),
    ("clf.fc3", [256, 512], [256], 512),
    ("clf.fc4", [2, 256], [2], 256),
]


def ssim_window():
    """The 7-tap Gaussian (sigma 1.5), normalised in double, rounded to float32."""
    g = np.exp(-((np.arange(7, dtype=np.float64) - 3.0) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    return torch.from_numpy(g.astype(np.float32))


def ssim(a, b, g):
    """Per-image SSIM of a, b [N,3,H,W] (data range 1), valid 7x7 Gaussian filtering -> [N]."""
    c = a.shape[1]
    wh = g.view(1, 1, 1, 7).repeat(c, 1, 1, 1)
    wv = g.view(1, 1, 7, 1).repeat(c, 1, 1, 1)

    def filt(t):
        return F.conv2d(F.conv2d(t, wh, groups=c), wv, groups=c)

    mu_a, mu_b = filt(a), filt(b)
    s_aa = filt(a * a) - mu_a * mu_a
    s_bb = filt(b * b) - mu_b * mu_b
    s_ab = filt(a * b) - mu_a * mu_b
    c1, c2 = 1e-4, 9e-4
    m = ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (s_aa + s_bb + c2))
    return m.flatten(1).mean(1)


def cim_setup():
    data = {
        "x": uniform(1001, [64, 3, 28, 28], 0.0, 1.0),
        "xp": uniform(1002, [64, 3, 28, 28], 0.0, 1.0),
        "xn": uniform(1003, [64, 3, 28, 28], 0.0, 1.0),
        "y": labels(1004, 64, 2),
        "g": ssim_window(),
    }
    return data, make_params(CIM_PARAMS)


def cim_loss(d, p):
    """Returns (Loss, {component: tensor})."""
    x = d["x"]
    h1 = F.max_pool2d(F.relu(F.conv2d(x, p["tn.conv1.weight"], p["tn.conv1.bias"], padding=1)), 2)
    h2 = F.max_pool2d(F.relu(F.conv2d(h1, p["tn.conv2.weight"], p["tn.conv2.bias"], padding=1)), 2)
    u2 = F.interpolate(h2, scale_factor=2, mode="nearest")
    h3 = F.relu(F.conv2d(u2, p["tn.conv3.weight"], p["tn.conv3.bias"], padding=1))
    u3 = F.interpolate(h3, scale_factor=2, mode="nearest")
    m = torch.sigmoid(F.conv2d(u3, p["tn.conv4.weight"], p["tn.conv4.bias"], padding=1))
    psi = m * x
    a1 = F.relu(F.linear(psi.flatten(1), p["clf.fc1.weight"], p["clf.fc1.bias"]))
    a2 = F.relu(F.linear(a1, p["clf.fc2.weight"], p["clf.fc2.bias"]))
    a3 = F.relu(F.linear(a2, p["clf.fc3.weight"], p["clf.fc3.bias"]))
    logits = F.linear(a3, p["clf.fc4.weight"], p["clf.fc4.bias"])
    ce = (torch.logsumexp(logits, 1) - logits.gather(1, d["y"].view(-1, 1)).squeeze(1)).mean()
    l_con = (ssim(psi, d["xp"], d["g"]) - ssim(psi, d["xn"], d["g"])).mean()
    return ce + 1.0 * l_con, {"CE": ce, "L_con": l_con}


# ---- BENCH.md section 3: CRL-TAC ------------------------------------------------------------

CRL_PARAMS = [
    ("f.conv1", [32, 1, 3, 3], [32], 9),
    ("f.conv2", [64, 32, 3, 3], [64], 288),
    ("f.conv3", [64, 64, 3, 3], [64], 576),
    ("f.fc", [200, 1600], [200], 1600),
    ("g.fc1", [200, 200], [200], 200),
    ("g.fc2", [50, 200], [50], 200),
    ("p.conv1", [32, 1, 3, 3], [32], 9),
    ("p.conv2", [32, 32, 3, 3], [32], 288),
    ("p.fc1", [128, 56448], [128], 56448),
    ("p.fc2", [289, 128], [289], 128),
]
K_IMG, M_CROP, CROP, GRID = 64, 8, 20, 17


def crl_setup():
    X = uniform(2001, [K_IMG, 1, 84, 84], 0.0, 1.0)
    T = labels(2002, K_IMG * M_CROP, GRID * GRID).view(K_IMG, M_CROP)
    # Gather indices of the crops: crops[n,0,a,b] = X[i,0,r_n+a,c_n+b], n = 8*i + j.
    t = T.reshape(-1)
    r, c = 4 * (t // GRID), 4 * (t % GRID)
    ar = torch.arange(CROP)
    img = torch.arange(K_IMG).repeat_interleave(M_CROP)
    flat = (img.view(-1, 1, 1) * (84 * 84) + (r.view(-1, 1, 1) + ar.view(1, -1, 1)) * 84
            + (c.view(-1, 1, 1) + ar.view(1, 1, -1)))
    img_of = torch.arange(K_IMG * M_CROP) // M_CROP
    pos = (img_of.view(-1, 1) == img_of.view(1, -1)) & ~torch.eye(K_IMG * M_CROP, dtype=torch.bool)
    data = {"X": X, "T": T, "crop_index": flat, "pos": pos.float(),
            "diag": torch.eye(K_IMG * M_CROP, dtype=torch.bool)}
    return data, make_params(CRL_PARAMS)


def crl_loss(d, p):
    X = d["X"]
    crops = X.reshape(-1)[d["crop_index"]].unsqueeze(1)            # [512,1,20,20]
    e1 = F.relu(F.conv2d(crops, p["f.conv1.weight"], p["f.conv1.bias"], padding=1))
    e2 = F.relu(F.conv2d(e1, p["f.conv2.weight"], p["f.conv2.bias"], stride=2, padding=1))
    e3 = F.relu(F.conv2d(e2, p["f.conv3.weight"], p["f.conv3.bias"], stride=2, padding=1))
    h = F.linear(e3.flatten(1), p["f.fc.weight"], p["f.fc.bias"])
    q = F.linear(F.relu(F.linear(h, p["g.fc1.weight"], p["g.fc1.bias"])),
                 p["g.fc2.weight"], p["g.fc2.bias"])
    z = q / q.norm(dim=1, keepdim=True).clamp_min(1e-12)
    S = (z @ z.t()) / 0.5
    lse = torch.logsumexp(S.masked_fill(d["diag"], float("-inf")), dim=1)
    logprob = S - lse.view(-1, 1)
    l_a = -(logprob * d["pos"]).sum(1) / 7.0
    l_nce = l_a.mean()

    p1 = F.relu(F.conv2d(X, p["p.conv1.weight"], p["p.conv1.bias"], padding=1))
    p2 = F.relu(F.conv2d(p1, p["p.conv2.weight"], p["p.conv2.bias"], padding=1))
    p3 = F.avg_pool2d(p2, 2)
    hp = F.relu(F.linear(p3.flatten(1), p["p.fc1.weight"], p["p.fc1.bias"]))
    lp = F.log_softmax(F.linear(hp, p["p.fc2.weight"], p["p.fc2.bias"]), dim=1)

    l_img = l_a.detach().view(K_IMG, M_CROP).mean(1)
    adv = l_img - l_img.mean()
    l_pg = (adv * lp.gather(1, d["T"]).sum(1)).mean()
    ent = (-(lp.exp() * lp).sum(1)).mean()
    loss = l_nce + l_pg - 0.0025 * ent
    return loss, {"L_nce": l_nce, "L_pg": l_pg, "H": ent}


# ---- BENCH.md section 4: reference values ---------------------------------------------------

REFERENCE = {
    "cim": [("Loss", "CE", "L_con"),
            (0.695600, 0.696434, -0.000835),
            (0.688041, 0.688931, -0.000889),
            (0.696401, 0.697279, -0.000878)],
    "crl": [("Loss", "L_nce", "L_pg", "H"),
            (6.222174, 6.236344, -0.000008, 5.664707),
            (6.222661, 6.235403, -0.000907, 4.733987),
            (6.213781, 6.230370, -0.003210, 5.351176)],
}
TOL = 1e-5
STEPS = {"cim": (cim_setup, cim_loss), "crl": (crl_setup, crl_loss)}


def dump(directory, name, data, params, grads, losses):
    """Writes data, initial parameters, step-1 gradients (<f4 / <i4 .npy) and losses to
    directory/name/, for comparing another implementation tensor by tensor."""
    import os
    out = os.path.join(directory, name)
    os.makedirs(out, exist_ok=True)
    for k, v in list(data.items()) + [("param." + k, v) for k, v in params.items()] + \
            [("grad1." + k, v) for k, v in grads.items()]:
        a = v.detach().numpy()
        a = a.astype(np.int32) if a.dtype in (np.int64, np.bool_) else a.astype(np.float32)
        np.save(os.path.join(out, k + ".npy"), np.ascontiguousarray(a))
    with open(os.path.join(out, "losses.json"), "w") as f:
        json.dump(losses, f)


def run(name, timed, check, dump_dir=None):
    setup, loss_fn = STEPS[name]
    data, params = setup()
    init = {k: v.detach().clone() for k, v in params.items()}
    nparam = sum(t.numel() for t in params.values())
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)
        loss, parts = loss_fn(data, params)
        loss.backward()
        opt.step()
        return loss.item(), {k: v.item() for k, v in parts.items()}

    ref = REFERENCE[name]
    names = ref[0]
    print(f"== {name}: {nparam} parameters")
    ok = True
    losses = []
    # Steps 1-3 are checked; steps 4-5 finish the 5 warm-up steps.
    for t in range(1, 6):
        loss, parts = step()
        losses.append(loss)
        if t == 1 and dump_dir:
            grads = {k: v.grad.detach().clone() for k, v in params.items()}
        vals = (loss,) + tuple(parts[k] for k in names[1:])
        line = f"step {t}: " + "  ".join(f"{k}={v:.6f}" for k, v in zip(names, vals))
        print(line)
        if t <= 3 and check:
            for k, v, r in zip(names, vals, ref[t]):
                good = abs(v - r) <= TOL
                ok &= good
                print(f"  {'PASS' if good else 'FAIL'} {name} step {t} {k}: {v:.7f} "
                      f"(reference {r:.6f}, diff {v - r:+.1e})")
    if dump_dir:
        dump(dump_dir, name, data, init, grads, losses[:3])
    times = []
    for _ in range(timed):
        t0 = time.perf_counter()
        loss, _ = step()
        times.append((time.perf_counter() - t0) * 1e3)
        losses.append(loss)
    result = {"step": name, "median_ms": round(statistics.median(times), 3),
              "min_ms": round(min(times), 3), "timed_steps": timed,
              "threads": torch.get_num_threads(), "losses": [round(v, 7) for v in losses[:3]]}
    return ok, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", choices=["cim", "crl", "both"], default="both")
    ap.add_argument("--timed", type=int, default=20)
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--dump", metavar="DIR",
                    help="write data, initial params, step-1 grads and losses as .npy to DIR/STEP/")
    args = ap.parse_args()
    if args.timed < 1:
        ap.error("--timed must be at least 1")
    torch.set_num_threads(2)
    names = ["cim", "crl"] if args.step == "both" else [args.step]
    ok = True
    results = []
    for n in names:
        good, res = run(n, args.timed, not args.no_check, args.dump)
        ok &= good
        results.append(res)
    for res in results:
        print(json.dumps(res))
    if not args.no_check:
        print("PASS: reference losses reproduced" if ok else "FAIL: reference losses differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
