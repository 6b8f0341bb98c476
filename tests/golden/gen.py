#!/usr/bin/python3
"""gen.py: writes the golden fixtures of tests/golden/cases/ from PyTorch.

Run with Debian's python3 (numpy 1.24, torch 1.13):  /usr/bin/python3 tests/golden/gen.py
Deterministic (per-case seeds from the case name) and idempotent: every case directory is
rewritten from scratch and directories of cases no longer defined here are removed.

Each case is a small graph text plus the torch code computing the same thing. For a case NAME,
cases/NAME/ holds
  graph.graph    the graph (inputs declared with concrete shapes unless the case binds symbols)
  in_X.npy       every feed: inputs and, where the graph has params, every param by full name
  out_Y.npy      expected `--fetch Y` values
  grad_X.npy     expected `--grad X` values: d(target)/dX
  case.json      feeds, fetches, grads, the --grad-of target and the tolerances
Expected values are computed in float64 from float32 inputs (integers as int64 in torch, stored
as <i4), then stored as float32. Unless a case says otherwise the gradient target is
  loss = sum_k sum(Y_k * r_Y_k)      (r_Y_k: a fed random cotangent; a scalar Y_k enters as Y_k)
so each op's vector-Jacobian product is checked with a random cotangent, not just ones.

Each case is also recomputed in float32 torch and compared with the float64 result under the
case's tolerances: a case where float32 PyTorch itself would fail is ill-conditioned and gen.py
stops. If a clgraph binary is found ($CLGRAPH_BIN or build/clgraph), every graph is checked with
`clgraph check` and its listed inputs and params are compared with the feeds.

Feeds larger than BIG values (the CIM classifier's weights) are not stored: case.json describes
them as {"gen": "pyrandom", "seed": S, "scale": A}; value i is
  (floor(R.random() * 2**24) - 2**23) * A / 2**23,  R = random.Random(S), i in C order
which is exact in float32 (A is a power of two) and which Python's standard library reproduces
on every version (random() is guaranteed stable for a given int seed). check.sh writes them.
"""
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
TOL = {"rtol": 2e-4, "atol": 2e-5}
TOL_SSIM = {"rtol": 5e-4, "atol": 5e-5}
BIG = 20000

CASES = []


# ---------------------------------------------------------------------------------------------
# data helpers (float32 inputs, deterministic per case)

class Rng:
    def __init__(self, name):
        self.g = np.random.default_rng(zlib.crc32(name.encode()))

    def normal(self, *shape, scale=1.0):
        return (self.g.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, lo, hi, *shape):
        return self.g.uniform(lo, hi, shape).astype(np.float32)

    def away(self, *shape, lo=0.1, hi=2.0):
        """values with |v| in [lo, hi] and random sign: away from kinks at 0"""
        s = np.where(self.g.uniform(size=shape) < 0.5, -1.0, 1.0)
        return (s * self.g.uniform(lo, hi, shape)).astype(np.float32)

    def ints(self, n, *shape):
        return self.g.integers(0, n, shape).astype(np.int32)


def pyrandom_values(seed, scale, count):
    r = random.Random(seed)
    k = scale / float(1 << 23)
    return [(math.floor(r.random() * (1 << 24)) - (1 << 23)) * k for _ in range(count)]


def pow2_scale(bound):
    return 2.0 ** round(math.log2(bound))


def pyrandom_array(seed, shape, bound):
    scale = pow2_scale(bound)
    n = int(np.prod(shape))
    a = np.array(pyrandom_values(seed, scale, n), dtype=np.float32).reshape(shape)
    return a, {"gen": "pyrandom", "seed": seed, "scale": scale}


# ---------------------------------------------------------------------------------------------
# case definition

def shape_str(a):
    return "[" + ", ".join(str(d) for d in a.shape) + "]"


def decl(name, a):
    t = "f32" if a.dtype == np.float32 else "i32"
    return "input %s : %s%s" % (name, t, shape_str(a))


def add(name, body, feeds, fn, fetch=("y",), grads=None, params=(), cot=None, tol=None,
        raw=False, grad_of="loss", gen_feeds=None, comment=None, run_args=None):
    """Defines a case.

    body: graph statements; unless raw, `input` lines for the feeds that are not params are
    written before it, and cotangent inputs plus `loss = ...` after it.
    feeds: name -> np array (float32 or int32). params: feed names that the graph declares
    itself (layers or `param` statements). fn(T) -> dict of torch values by name.
    fetch: names fetched and compared. grads: feed names differentiated (default: every f32
    feed). cot: fetched names that enter the loss (default: every float fetch).
    raw: body is the whole graph, the target is grad_of (None: the single minimize).
    run_args: extra `clgraph run` arguments (training cases: --steps K, --lr-schedule ...).
    """
    CASES.append(dict(name=name, body=body, feeds=feeds, fn=fn, fetch=list(fetch), grads=grads,
                      params=set(params), cot=cot, tol=tol or TOL, raw=raw, grad_of=grad_of,
                      gen_feeds=gen_feeds or {}, comment=comment, run_args=run_args or []))


# ---------------------------------------------------------------------------------------------
# torch references of the composite ops

def gauss1d(win, sigma, dtype):
    c = torch.arange(win, dtype=dtype) - win // 2
    g = torch.exp(-(c ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def gfilter(x, g):
    """separable Gaussian filter, valid positions only (pytorch-msssim's gaussian_filter)"""
    C = x.shape[1]
    wh = g.view(1, 1, -1, 1).repeat(C, 1, 1, 1)
    ww = g.view(1, 1, 1, -1).repeat(C, 1, 1, 1)
    return F.conv2d(F.conv2d(x, wh, groups=C), ww, groups=C)


def ssim_parts(X, Y, win=11, sigma=1.5, k1=0.01, k2=0.03, rng=1.0):
    """pytorch-msssim _ssim: per-channel mean SSIM and mean contrast-structure, [N, C] each"""
    g = gauss1d(win, sigma, X.dtype)
    C1, C2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    mu1, mu2 = gfilter(X, g), gfilter(Y, g)
    s11 = gfilter(X * X, g) - mu1 * mu1
    s22 = gfilter(Y * Y, g) - mu2 * mu2
    s12 = gfilter(X * Y, g) - mu1 * mu2
    cs_map = (2 * s12 + C2) / (s11 + s22 + C2)
    ssim_map = ((2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1)) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def t_ssim(a, b, **kw):
    return ssim_parts(a, b, **kw)[0].mean(1)


MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def t_ms_ssim(X, Y, scales=5, weights=None, **kw):
    """MS-SSIM exactly as implemented for the fixtures (pytorch-msssim's ms_ssim, plus the
    renormalisation of the weights that GRAPH_LANGUAGE.md asks for):
      w_s      = weights[s] / sum(weights[0:scales])      (weights default: MS_WEIGHTS[0:scales])
      for s in 0 .. scales-1:
        ssim_s[n,c], cs_s[n,c] = per-channel means over valid positions of the SSIM map and the
                                 contrast-structure map (Gaussian window win/sigma, normalised
                                 to sum 1; C1=(k1*range)^2, C2=(k2*range)^2)
        if s < scales-1: v_s = relu(cs_s);  X, Y = avg_pool2d(X|Y, 2, stride 2,
                                 padding=(H%2, W%2), count_include_pad=True)
                                 (an odd side gets one zero row/column on EACH side, divisor 4)
      v_last = relu(ssim_last)
      ms[n,c]  = prod_s v_s[n,c] ** w_s
      out[n]   = mean_c ms[n,c]
    """
    w = torch.tensor(weights if weights is not None else MS_WEIGHTS[:scales], dtype=X.dtype)
    w = w / w.sum()
    vals = []
    for s in range(scales):
        ss, cs = ssim_parts(X, Y, **kw)
        if s < scales - 1:
            vals.append(torch.relu(cs))
            pad = [d % 2 for d in X.shape[2:]]
            X = F.avg_pool2d(X, 2, padding=pad)
            Y = F.avg_pool2d(Y, 2, padding=pad)
    vals.append(torch.relu(ss))
    v = torch.stack(vals, 0)
    return torch.prod(v ** w.view(-1, 1, 1), 0).mean(1)


def t_info_nce(za, zb, t=0.5):
    n = za.shape[0]
    z = F.normalize(torch.cat([za, zb], 0), dim=1)
    sim = z @ z.t() / t
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def t_kl(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).flatten(1).sum(1)


def t_entropy(p, axis=-1):
    return -(p * p.log()).sum(axis)


def t_pairwise(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def t_accuracy(logits, y):
    return (logits.argmax(1) == y).to(logits.dtype).mean()


def t_mlp(x, T, prefix, sizes, act=torch.relu):
    for i in range(len(sizes)):
        x = F.linear(x, T["%sdense%d.w" % (prefix, i)], T.get("%sdense%d.b" % (prefix, i)))
        if i + 1 < len(sizes):
            x = act(x)
    return x


# ---------------------------------------------------------------------------------------------
# the cases

def unary_cases():
    r = Rng
    ops = [
        # name, graph expr, torch fn, input maker
        ("neg", "neg(x)", lambda x: -x, lambda g: g.normal(3, 4)),
        ("neg_op", "-x", lambda x: -x, lambda g: g.normal(3, 4)),
        ("exp", "exp(x)", torch.exp, lambda g: g.normal(3, 4)),
        ("log", "log(x)", torch.log, lambda g: g.uniform(0.2, 3.0, 3, 4)),
        ("sqrt", "sqrt(x)", torch.sqrt, lambda g: g.uniform(0.2, 3.0, 3, 4)),
        ("rsqrt", "rsqrt(x)", torch.rsqrt, lambda g: g.uniform(0.3, 3.0, 3, 4)),
        ("abs", "abs(x)", torch.abs, lambda g: g.away(3, 4)),
        ("square", "square(x)", torch.square, lambda g: g.normal(3, 4)),
        ("pow_1_5", "pow(x, 1.5)", lambda x: x ** 1.5, lambda g: g.uniform(0.2, 2.0, 3, 4)),
        ("pow_3", "pow(x, 3)", lambda x: x ** 3, lambda g: g.normal(3, 4)),
        ("pow_neg0_5", "pow(x, p=-0.5)", lambda x: x ** -0.5, lambda g: g.uniform(0.3, 2.0, 3, 4)),
        ("relu", "relu(x)", torch.relu, lambda g: g.away(3, 4)),
        ("leaky_relu", "leaky_relu(x)", F.leaky_relu, lambda g: g.away(3, 4)),
        ("leaky_relu_0_2", "leaky_relu(x, slope=0.2)", lambda x: F.leaky_relu(x, 0.2),
         lambda g: g.away(3, 4)),
        ("sigmoid", "sigmoid(x)", torch.sigmoid, lambda g: g.normal(3, 4, scale=2)),
        ("tanh", "tanh(x)", torch.tanh, lambda g: g.normal(3, 4)),
        ("softplus", "softplus(x)", F.softplus, lambda g: g.normal(3, 4, scale=3)),
        ("softplus_beta2", "softplus(x, beta=2, threshold=5)",
         lambda x: F.softplus(x, beta=2, threshold=5),
         lambda g: np.concatenate([g.normal(2, 4), g.uniform(3.0, 5.0, 1, 4)]).astype(np.float32)),
        ("clamp", "clamp(x, -0.5, 0.7)", lambda x: torch.clamp(x, -0.5, 0.7),
         lambda g: np.array([-1.3, -0.9, -0.3, 0.0, 0.2, 0.9] * 2, np.float32).reshape(3, 4)
         + g.uniform(-0.1, 0.1, 3, 4)),
        ("clamp_lo", "clamp(x, lo=0.1)", lambda x: torch.clamp(x, min=0.1),
         lambda g: np.where(g.uniform(0, 1, 3, 4) < 0.5, -1, 1).astype(np.float32)
         * g.uniform(0.3, 1.5, 3, 4) + np.float32(0.1)),
        ("stop_gradient", "x * stop_gradient(x)", lambda x: x * x.detach(),
         lambda g: g.normal(3, 4)),
        ("dropout_p0", "dropout(x, 0)", lambda x: x, lambda g: g.normal(3, 4)),
    ]
    for name, expr, fn, mk in ops:
        g = r("unary_" + name)
        x = mk(g)
        add("unary_" + name, "y = %s\n" % expr, {"x": x}, lambda T, fn=fn: {"y": fn(T["x"])})


def binary_cases():
    fns = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div}
    names = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
    for op in "+-*/":
        g = Rng("binary_" + names[op])
        a = g.normal(3, 1, 4)
        b = g.away(5, 4, lo=0.5) if op == "/" else g.normal(5, 4)
        add("binary_%s_bcast" % names[op], "y = a %s b\n" % op, {"a": a, "b": b},
            lambda T, f=fns[op]: {"y": f(T["a"], T["b"])})
    g = Rng("binary_fn")
    a, b = g.normal(3, 4), g.normal(3, 4)
    add("binary_add_fn", "y = add(a, b)\n", {"a": a, "b": b}, lambda T: {"y": T["a"] + T["b"]})
    add("binary_sub_fn_row", "y = sub(a, b)\n", {"a": a, "b": g.normal(4)},
        lambda T: {"y": T["a"] - T["b"]})
    add("binary_mul_fn_col", "y = mul(a, b)\n", {"a": a, "b": g.normal(3, 1)},
        lambda T: {"y": T["a"] * T["b"]})
    add("binary_div_fn_one", "y = div(a, b)\n", {"a": a, "b": g.away(1, lo=0.5)},
        lambda T: {"y": T["a"] / T["b"]})
    add("binary_maximum", "y = maximum(a, b)\n", {"a": g.normal(2, 3, 4), "b": g.normal(3, 4)},
        lambda T: {"y": torch.maximum(T["a"], T["b"])})
    add("binary_minimum", "y = minimum(a, b)\n", {"a": g.normal(3, 1), "b": g.normal(1, 4)},
        lambda T: {"y": torch.minimum(T["a"], T["b"])})
    x = g.away(3, 4, lo=0.5)
    add("binary_scalars", "y = 2.5 * x - 1 + 3 / x - x / 4\n", {"x": x},
        lambda T: {"y": 2.5 * T["x"] - 1 + 3 / T["x"] - T["x"] / 4})
    add("binary_scalar_tensor", "y = a * s + s\n", {"a": g.normal(2, 3), "s": g.normal()},
        lambda T: {"y": T["a"] * T["s"] + T["s"]}, comment="f32[] input broadcast")


def reduce_cases():
    g = Rng("reduce")
    x = g.normal(3, 4, 5)

    def red(f):
        return lambda T: {"y": f(T["x"])}
    variants = [
        ("sum_all", "sum(x)", lambda x: x.sum()),
        ("sum_ax1", "sum(x, 1)", lambda x: x.sum(1)),
        ("sum_list_keep", "sum(x, [0, 2], keepdims=1)", lambda x: x.sum((0, 2), keepdim=True)),
        ("mean_all", "mean(x)", lambda x: x.mean()),
        ("mean_neg_keep", "mean(x, axis=-1, keepdims=1)", lambda x: x.mean(-1, keepdim=True)),
        ("mean_list", "mean(x, [0, 1])", lambda x: x.mean((0, 1))),
        ("max_all", "max(x)", lambda x: x.amax()),
        ("max_ax1", "max(x, 1)", lambda x: x.amax(1)),
        ("max_list_keep", "max(x, [0, 2], keepdims=1)", lambda x: x.amax((0, 2), keepdim=True)),
        ("min_all", "min(x)", lambda x: x.amin()),
        ("min_ax2", "min(x, 2)", lambda x: x.amin(2)),
        ("logsumexp_all", "logsumexp(x)", lambda x: torch.logsumexp(x.flatten(), 0)),
        ("logsumexp_ax_neg1", "logsumexp(x, -1)", lambda x: torch.logsumexp(x, -1)),
        ("logsumexp_list_keep", "logsumexp(x, [0, 2], keepdims=1)",
         lambda x: torch.logsumexp(x, (0, 2), keepdim=True)),
        ("var_all", "var(x)", lambda x: x.var()),
        ("var_ax1", "var(x, 1)", lambda x: x.var(1)),
        ("var_ax1_biased", "var(x, 1, unbiased=0)", lambda x: x.var(1, unbiased=False)),
        ("var_list_biased_keep", "var(x, [0, 2], unbiased=0, keepdims=1)",
         lambda x: x.var((0, 2), unbiased=False, keepdim=True)),
        ("var_list_unbiased", "var(x, axis=[0, 2], unbiased=1)", lambda x: x.var((0, 2))),
    ]
    for name, expr, f in variants:
        add("reduce_" + name, "y = %s\n" % expr, {"x": x}, red(f))
    add("reduce_argmax", "y = argmax(x, 1)\n", {"x": x},
        lambda T: {"y": T["x"].argmax(1)}, grads=[], comment="i32, no gradient")
    add("reduce_argmax_all", "y = argmax(x)\n", {"x": x},
        lambda T: {"y": T["x"].argmax()}, grads=[], comment="index into the flattened x")
    add("reduce_argmax_keep", "y = argmax(x, -1, keepdims=1)\n", {"x": x},
        lambda T: {"y": T["x"].argmax(-1, keepdim=True)}, grads=[])


def shape_cases():
    g = Rng("shape")
    x = g.normal(2, 3, 4)
    S = [
        ("reshape", "reshape(x, [4, -1])", lambda x: x.reshape(4, -1)),
        ("reshape_neg_first", "reshape(x, [-1, 2, 2])", lambda x: x.reshape(-1, 2, 2)),
        ("flatten", "flatten(x)", lambda x: x.flatten(1)),
        ("flatten_0", "flatten(x, start=0)", lambda x: x.flatten(0)),
        ("permute", "permute(x, [2, 0, 1])", lambda x: x.permute(2, 0, 1)),
        ("transpose", "transpose(x, 0, 2)", lambda x: x.transpose(0, 2)),
        ("transpose_neg", "transpose(x, -1, 1)", lambda x: x.transpose(-1, 1)),
        ("slice", "slice(x, 2, 1, 3)", lambda x: x[:, :, 1:3]),
        ("slice_neg", "slice(x, -1, -3, -1)", lambda x: x[..., -3:-1]),
        ("slice_neg_start", "slice(x, 1, -2, 3)", lambda x: x[:, -2:3]),
        ("unsqueeze", "unsqueeze(x, 1)", lambda x: x.unsqueeze(1)),
        ("unsqueeze_neg", "unsqueeze(x, -1)", lambda x: x.unsqueeze(-1)),
        ("broadcast_to_unsq", "broadcast_to(unsqueeze(x, 0), [2, 2, 3, 4])",
         lambda x: x.unsqueeze(0).expand(2, 2, 3, 4)),
    ]
    for name, expr, f in S:
        add("shape_" + name, "y = %s\n" % expr, {"x": x}, lambda T, f=f: {"y": f(T["x"])})
    x4 = g.normal(2, 3, 4, 5)
    add("shape_flatten_mid", "y = flatten(x, start=1, end=2)\n", {"x": x4},
        lambda T: {"y": T["x"].flatten(1, 2)})
    add("shape_flatten_end_neg", "y = flatten(x, 0, -2)\n", {"x": x4},
        lambda T: {"y": T["x"].flatten(0, -2)})
    s = g.normal(3, 1, 4, 1)
    add("shape_squeeze_all", "y = squeeze(x)\n", {"x": s}, lambda T: {"y": T["x"].squeeze()})
    add("shape_squeeze_ax", "y = squeeze(x, 1)\n", {"x": s}, lambda T: {"y": T["x"].squeeze(1)})
    add("shape_squeeze_list", "y = squeeze(x, [1, 3])\n", {"x": s},
        lambda T: {"y": T["x"].squeeze(3).squeeze(1)})
    add("shape_broadcast_to", "y = broadcast_to(x, [2, 3, 4])\n", {"x": g.normal(3, 1)},
        lambda T: {"y": T["x"].expand(2, 3, 4)})
    a, b, c = g.normal(2, 1, 3), g.normal(2, 2, 3), g.normal(2, 3, 3)
    add("shape_concat3_mid", "y = concat([a, b, c], 1)\n", {"a": a, "b": b, "c": c},
        lambda T: {"y": torch.cat([T["a"], T["b"], T["c"]], 1)})
    add("shape_concat_neg", "y = concat([a, b], axis=-1)\n",
        {"a": g.normal(2, 3), "b": g.normal(2, 2)},
        lambda T: {"y": torch.cat([T["a"], T["b"]], -1)})
    xg = g.normal(3, 5)
    idx = np.array([[0, 4, 4, 1], [2, 2, 3, 0], [1, 0, 4, 4]], np.int32)
    add("shape_gather_ax1", "y = gather(x, i, 1)\n", {"x": xg, "i": idx},
        lambda T: {"y": torch.gather(T["x"], 1, T["i"])}, comment="repeated indices accumulate")
    idx0 = np.array([[2, 0, 1, 1, 2], [0, 0, 2, 1, 1]], np.int32)
    add("shape_gather_ax0", "y = gather(x, i, 0)\n", {"x": xg, "i": idx0},
        lambda T: {"y": torch.gather(T["x"], 0, T["i"])})
    add("shape_one_hot", "y = one_hot(i, 5)\n", {"i": np.array([[0, 4, 2], [1, 1, 3]], np.int32)},
        lambda T: {"y": F.one_hot(T["i"], 5).double()}, grads=[], cot=[],
        comment="f32 result, no gradient")


def layer_cases():
    g = Rng("layers")
    x3 = g.normal(2, 3, 5)
    w, b = g.normal(4, 5, scale=0.5), g.normal(4)
    add("linear_bias_3d", "y = linear(x, w, b)\n", {"x": x3, "w": w, "b": b},
        lambda T: {"y": F.linear(T["x"], T["w"], T["b"])})
    add("linear_nobias", "y = linear(x, w)\n", {"x": g.normal(3, 5), "w": w},
        lambda T: {"y": F.linear(T["x"], T["w"])})
    M = [
        ("matmul_2d", (3, 4), (4, 5)),
        ("matmul_1d_2d", (4,), (4, 3)),
        ("matmul_2d_1d", (3, 4), (4,)),
        ("matmul_batched_bcast", (2, 1, 3, 4), (5, 4, 2)),
        ("matmul_batched_2d", (2, 3, 4), (4, 2)),
    ]
    for name, sa, sb in M:
        add(name, "y = matmul(a, b)\n", {"a": g.normal(*sa), "b": g.normal(*sb)},
            lambda T: {"y": torch.matmul(T["a"], T["b"])})

    C = [
        # name, x shape, w shape, bias, graph kwargs, torch kwargs
        ("conv2d_s2_p1", (2, 3, 7, 9), (4, 3, 3, 3), True, "stride=2, pad=1",
         dict(stride=2, padding=1)),
        ("conv2d_dil2", (1, 2, 9, 8), (3, 2, 3, 3), False, "pad=2, dilation=2",
         dict(padding=2, dilation=2)),
        ("conv2d_groups2", (2, 4, 6, 7), (6, 2, 3, 3), True, "pad=1, groups=2",
         dict(padding=1, groups=2)),
        ("conv2d_k2x3", (1, 3, 7, 8), (2, 3, 2, 3), True, "stride=[2, 1], pad=[1, 0]",
         dict(stride=(2, 1), padding=(1, 0))),
        ("conv2d_plain_odd", (2, 2, 5, 5), (3, 2, 3, 3), True, "", {}),
    ]
    for name, xs, ws, bias, gk, tk in C:
        feeds = {"x": g.normal(*xs), "w": g.normal(*ws, scale=0.4)}
        if bias:
            feeds["b"] = g.normal(ws[0])
        args = "x, w" + (", b" if bias else "") + (", " + gk if gk else "")
        add(name, "y = conv2d(%s)\n" % args, feeds,
            lambda T, tk=tk: {"y": F.conv2d(T["x"], T["w"], T.get("b"), **tk)})
    CT = [
        ("conv_transpose2d_s2_p1_op1", (2, 3, 5, 4), (3, 2, 3, 3), True,
         "stride=2, pad=1, output_pad=1", dict(stride=2, padding=1, output_padding=1)),
        ("conv_transpose2d_groups2", (1, 4, 4, 5), (4, 3, 3, 3), True, "stride=2, groups=2",
         dict(stride=2, groups=2)),
        ("conv_transpose2d_k2x3_nobias", (2, 2, 3, 4), (2, 3, 2, 3), False, "pad=[0, 1]",
         dict(padding=(0, 1))),
    ]
    for name, xs, ws, bias, gk, tk in CT:
        feeds = {"x": g.normal(*xs), "w": g.normal(*ws, scale=0.4)}
        if bias:
            feeds["b"] = g.normal(ws[1] * tk.get("groups", 1))
        args = "x, w" + (", b" if bias else "") + ", " + gk
        add(name, "y = conv_transpose2d(%s)\n" % args, feeds,
            lambda T, tk=tk: {"y": F.conv_transpose2d(T["x"], T["w"], T.get("b"), **tk)})
    P = [
        ("max_pool2d_k2", "max_pool2d(x, 2)", (2, 3, 6, 7), lambda x: F.max_pool2d(x, 2)),
        ("max_pool2d_k3_s2_p1", "max_pool2d(x, 3, stride=2, pad=1)", (1, 2, 7, 7),
         lambda x: F.max_pool2d(x, 3, 2, 1)),
        ("avg_pool2d_k2", "avg_pool2d(x, 2)", (2, 3, 6, 7), lambda x: F.avg_pool2d(x, 2)),
        ("avg_pool2d_k3_s2_p1", "avg_pool2d(x, 3, stride=2, pad=1)", (1, 2, 7, 6),
         lambda x: F.avg_pool2d(x, 3, 2, 1)),
        ("avg_pool2d_k2_p1", "avg_pool2d(x, 2, pad=1)", (1, 2, 5, 4),
         lambda x: F.avg_pool2d(x, 2, padding=1)),
        ("upsample_nearest_2", "upsample_nearest(x, 2)", (1, 2, 3, 4),
         lambda x: F.interpolate(x, scale_factor=2, mode="nearest")),
        ("upsample_nearest_3", "upsample_nearest(x, 3)", (2, 1, 2, 3),
         lambda x: F.interpolate(x, scale_factor=3, mode="nearest")),
        ("softmax_last", "softmax(x)", (3, 5), lambda x: torch.softmax(x, -1)),
        ("softmax_ax0", "softmax(x, 0)", (3, 5), lambda x: torch.softmax(x, 0)),
        ("softmax_ax1_3d", "softmax(x, axis=1)", (2, 3, 4), lambda x: torch.softmax(x, 1)),
        ("log_softmax_last", "log_softmax(x)", (3, 5), lambda x: torch.log_softmax(x, -1)),
        ("log_softmax_ax0", "log_softmax(x, 0)", (3, 5), lambda x: torch.log_softmax(x, 0)),
        ("l2_normalize_last", "l2_normalize(x)", (3, 5), lambda x: F.normalize(x, dim=-1)),
        ("l2_normalize_ax1_3d", "l2_normalize(x, axis=1)", (2, 3, 4),
         lambda x: F.normalize(x, dim=1)),
    ]
    for name, expr, xs, f in P:
        add(name, "y = %s\n" % expr, {"x": g.normal(*xs, scale=2)},
            lambda T, f=f: {"y": f(T["x"])})


def sugar_cases():
    g = Rng("sugar")
    x = g.normal(2, 3, 7, 6)
    feeds = {"x": x, "conv0.w": g.normal(4, 3, 3, 3, scale=0.3), "conv0.b": g.normal(4)}
    add("sugar_conv", "y = conv(x, 4, k=3, stride=2, pad=1)\n", feeds,
        lambda T: {"y": F.conv2d(T["x"], T["conv0.w"], T["conv0.b"], stride=2, padding=1)},
        params=["conv0.w", "conv0.b"])
    feeds = {"x": x, "conv0.w": g.normal(2, 3, 2, 3, scale=0.3)}
    add("sugar_conv_k2x3_nobias", "y = conv(x, 2, k=[2, 3], bias=0)\n", feeds,
        lambda T: {"y": F.conv2d(T["x"], T["conv0.w"])}, params=["conv0.w"])
    xt = g.normal(2, 3, 4, 5)
    feeds = {"x": xt, "conv_t0.w": g.normal(3, 2, 3, 3, scale=0.3), "conv_t0.b": g.normal(2)}
    add("sugar_conv_t", "y = conv_t(x, 2, k=3, stride=2, pad=1, output_pad=1)\n", feeds,
        lambda T: {"y": F.conv_transpose2d(T["x"], T["conv_t0.w"], T["conv_t0.b"], stride=2,
                                           padding=1, output_padding=1)},
        params=["conv_t0.w", "conv_t0.b"])
    xd = g.normal(2, 3, 5)
    feeds = {"x": xd, "dense0.w": g.normal(4, 5, scale=0.5), "dense0.b": g.normal(4),
             "dense1.w": g.normal(2, 4, scale=0.5)}
    add("sugar_dense_two", "h = dense(x, 4)\ny = dense(h, 2, bias=0)\n", feeds,
        lambda T: {"y": F.linear(F.linear(T["x"], T["dense0.w"], T["dense0.b"]),
                                 T["dense1.w"])},
        params=["dense0.w", "dense0.b", "dense1.w"], comment="3-D input, two dense layers")
    xm = g.normal(4, 6)
    sizes = [5, 4, 3]
    feeds = {"x": xm}
    fan = 6
    for i, s in enumerate(sizes):
        feeds["clf.dense%d.w" % i] = g.normal(s, fan, scale=0.5)
        feeds["clf.dense%d.b" % i] = g.normal(s, scale=0.3)
        fan = s
    add("sugar_mlp_named", 'y = mlp(x, [5, 4, 3], name="clf")\n', feeds,
        lambda T: {"y": t_mlp(T["x"], T, "clf.", sizes)},
        params=[k for k in feeds if k != "x"])
    feeds = {"x": xm}
    fan = 6
    for i, s in enumerate(sizes[:2]):
        feeds["dense%d.w" % i] = g.normal(s, fan, scale=0.5)
        feeds["dense%d.b" % i] = g.normal(s, scale=0.3)
        fan = s
    add("sugar_mlp_tanh", 'y = mlp(x, [5, 4], act="tanh")\n', feeds,
        lambda T: {"y": t_mlp(T["x"], T, "", sizes[:2], act=torch.tanh)},
        params=[k for k in feeds if k != "x"], comment="unnamed mlp: dense0, dense1 at top")
    p = {"w": g.normal(3, 4, scale=0.5), "b": g.normal(3)}
    add("param_explicit", "param w : f32[3, 4] = normal(std=0.1)\nparam b : f32[3]\n"
        "y = linear(x, w, b)\n", {"x": g.normal(2, 4), **p},
        lambda T: {"y": F.linear(T["x"], T["w"], T["b"])}, params=["w", "b"])


def loss_cases():
    g = Rng("losses")
    logits, y = g.normal(5, 4, scale=1.5), g.ints(4, 5)
    add("cross_entropy", "y = cross_entropy(z, t)\n", {"z": logits, "t": y},
        lambda T: {"y": F.cross_entropy(T["z"], T["t"])})
    add("nll_log_softmax", "y = nll(log_softmax(z), t)\n", {"z": logits, "t": y},
        lambda T: {"y": F.nll_loss(torch.log_softmax(T["z"], -1), T["t"])})
    lp = g.normal(5, 4)
    add("nll_raw", "y = nll(p, t)\n", {"p": lp, "t": y},
        lambda T: {"y": F.nll_loss(T["p"], T["t"])})
    z2 = g.normal(6, 3)
    t2 = np.array([0, 1, 2, 2, 1, 0], np.int32)
    t2[:3] = z2[:3].argmax(1)
    t2[3:] = (z2[3:].argmax(1) + 1) % 3
    add("accuracy", "y = accuracy(z, t)\n", {"z": z2, "t": t2},
        lambda T: {"y": t_accuracy(T["z"], T["t"])}, grads=[], cot=[],
        comment="fetch only: 3 of 6 right, 0.5")
    add("mse", "y = mse(a, b)\n", {"a": g.normal(3, 4), "b": g.normal(3, 4)},
        lambda T: {"y": F.mse_loss(T["a"], T["b"])})
    add("mse_bcast", "y = mse(a, b)\n", {"a": g.normal(2, 3, 4), "b": g.normal(3, 1)},
        lambda T: {"y": ((T["a"] - T["b"]) ** 2).mean()}, comment="broadcast, mean over [2,3,4]")
    add("kl_std_normal", "y = kl_std_normal(mu, lv)\n",
        {"mu": g.normal(3, 5), "lv": g.normal(3, 5, scale=0.5)},
        lambda T: {"y": t_kl(T["mu"], T["lv"])})
    add("kl_std_normal_3d", "y = kl_std_normal(mu, lv)\n",
        {"mu": g.normal(2, 3, 4), "lv": g.normal(2, 3, 4, scale=0.5)},
        lambda T: {"y": t_kl(T["mu"], T["lv"])}, comment="sum over all non-batch dims")
    add("info_nce", "y = info_nce(a, b)\n", {"a": g.normal(4, 6), "b": g.normal(4, 6)},
        lambda T: {"y": t_info_nce(T["a"], T["b"], 0.5)})
    add("info_nce_t0_2", "y = info_nce(a, b, temperature=0.2)\n",
        {"a": g.normal(3, 5), "b": g.normal(3, 5)},
        lambda T: {"y": t_info_nce(T["a"], T["b"], 0.2)})
    add("pairwise_sqdist", "y = pairwise_sqdist(a, b)\n",
        {"a": g.normal(4, 3), "b": g.normal(5, 3)},
        lambda T: {"y": t_pairwise(T["a"], T["b"])})
    p = g.uniform(0.05, 1.0, 3, 5)
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    add("entropy_last", "y = entropy(p)\n", {"p": p}, lambda T: {"y": t_entropy(T["p"])})
    add("entropy_ax0", "y = entropy(p, axis=0)\n", {"p": g.uniform(0.05, 1.0, 3, 4)},
        lambda T: {"y": t_entropy(T["p"], 0)}, comment="unnormalised p: -sum p log p as given")
    add("entropy_of_softmax", "y = entropy(softmax(z))\n", {"z": g.normal(2, 6)},
        lambda T: {"y": t_entropy(torch.softmax(T["z"], -1))})


def t_windows(x, size, stride):
    """every size x size window at stride, row-major over the grid: [N, P, C, size, size]"""
    n, c = x.shape[:2]
    w = x.unfold(2, size, stride).unfold(3, size, stride)  # [N, C, gh, gw, size, size]
    return w.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c, size, size)


def t_crop_grid(x, idx, size, stride):
    w = t_windows(x, size, stride)
    rows = torch.arange(x.shape[0]).unsqueeze(1).expand_as(idx)
    return w[rows, idx].reshape(-1, x.shape[1], size, size)


def crop_cases():
    g = Rng("crops")
    x = g.normal(2, 2, 7, 6)
    # grid of 3x3 windows at stride 2 over 7x6: 3 x 2 = 6 windows, overlapping
    idx = np.array([[5, 0, 3, 0], [1, 2, 2, 4]], np.int32)
    add("crop_grid_overlap", "y = crop_grid(x, i, 3, 2)\n", {"x": x, "i": idx},
        lambda T: {"y": t_crop_grid(T["x"], T["i"], 3, 2)},
        comment="overlapping windows, repeated indices: the gradient scatter-adds")
    add("crop_grid_s4", "y = crop_grid(x, i, 4, 3)\n",
        {"x": g.normal(1, 3, 10, 11), "i": np.array([[3, 1, 8]], np.int32)},
        lambda T: {"y": t_crop_grid(T["x"], T["i"], 4, 3)},
        comment="3 x 3 grid of 4x4 windows, stride 3, ragged borders unused")
    add("crop_all_overlap", "y = crop_all(x, 3, 2)\n", {"x": x},
        lambda T: {"y": t_windows(T["x"], 3, 2).reshape(-1, 2, 3, 3)},
        comment="image-major, windows row-major")
    add("crop_all_tiles", "y = crop_all(x, 2, 2)\n", {"x": g.normal(2, 1, 4, 6)},
        lambda T: {"y": t_windows(T["x"], 2, 2).reshape(-1, 1, 2, 2)})


def ssim_pair(g, shape, noise):
    a = g.uniform(0.0, 1.0, *shape)
    b = (0.8 * a + 0.2 * g.uniform(0.0, 1.0, *shape) + g.normal(*shape, scale=noise))
    return a, b.astype(np.float32)


def ssim_cases():
    g = Rng("ssim")
    a, b = ssim_pair(g, (2, 3, 16, 16), 0.05)
    add("ssim_win7", "y = ssim(a, b, win=7)\n", {"a": a, "b": b},
        lambda T: {"y": t_ssim(T["a"], T["b"], win=7)}, tol=TOL_SSIM)
    a, b = ssim_pair(g, (1, 3, 24, 24), 0.05)
    add("ssim_win11_default", "y = ssim(a, b)\n", {"a": a, "b": b},
        lambda T: {"y": t_ssim(T["a"], T["b"])}, tol=TOL_SSIM)
    a, b = ssim_pair(g, (2, 1, 12, 13), 0.1)
    add("ssim_args", "y = ssim(a, b, win=5, sigma=1.0, k1=0.02, k2=0.05, range=2)\n",
        {"a": a, "b": b},
        lambda T: {"y": t_ssim(T["a"], T["b"], win=5, sigma=1.0, k1=0.02, k2=0.05, rng=2.0)},
        tol=TOL_SSIM)
    a, b = ssim_pair(g, (2, 3, 28, 28), 0.05)
    add("ms_ssim_s2_win7", "y = ms_ssim(a, b, scales=2, win=7)\n", {"a": a, "b": b},
        lambda T: {"y": t_ms_ssim(T["a"], T["b"], scales=2, win=7)}, tol=TOL_SSIM,
        comment="as the CIM graph; default weights renormalised to 2 scales")
    a, b = ssim_pair(g, (2, 2, 30, 29), 0.05)
    add("ms_ssim_s3_weights", "y = ms_ssim(a, b, scales=3, weights=[0.2, 0.3, 0.5], win=7)\n",
        {"a": a, "b": b},
        lambda T: {"y": t_ms_ssim(T["a"], T["b"], scales=3, weights=[0.2, 0.3, 0.5], win=7)},
        tol=TOL_SSIM, comment="odd sides (15, then 8x8) exercise the avg-pool padding")
    a, b = ssim_pair(g, (1, 2, 23, 22), 0.05)
    add("ms_ssim_s3_default_w_win5", "y = ms_ssim(a, b, scales=3, win=5)\n", {"a": a, "b": b},
        lambda T: {"y": t_ms_ssim(T["a"], T["b"], scales=3, win=5)}, tol=TOL_SSIM,
        comment="23x22 -> 12x11 -> 6x6; default weights renormalised to 3 scales")


# ---------------------------------------------------------------------------------------------
# end to end

def kaiming_bias(g, shape, fan_in):
    b = 1.0 / math.sqrt(fan_in)
    return g.uniform(-b, b, *shape)


CIM_GRAPH = """\
# golden case e2e_cim: the first example of GRAPH_LANGUAGE.md (graphs/cim.graph), verbatim
input x  : f32[N, 3, 28, 28]      # anchor images
input xp : f32[N, 3, 28, 28]      # same class as x
input xn : f32[N, 3, 28, 28]      # other class
input y  : i32[N]                 # labels

def tn(x) {                       # transformation network: conv autoencoder -> mask
  h = max_pool2d(relu(conv(x, 16, k=3, pad=1)), 2)
  h = max_pool2d(relu(conv(h, 32, k=3, pad=1)), 2)
  h = relu(conv(upsample_nearest(h, 2), 16, k=3, pad=1))
  return sigmoid(conv(upsample_nearest(h, 2), 1, k=3, pad=1))
}

m      = tn(x)                    # [N,1,28,28]
psi    = m * x                    # broadcast over channels
lcon   = mean(ms_ssim(psi, xn, scales=2, win=7) - ms_ssim(psi, xp, scales=2, win=7))
logits = mlp(flatten(psi), [1024, 512, 256, 2], name="clf")
loss   = cross_entropy(logits, y) + 0.1 * lcon

minimize loss
output mask = m
metric acc = accuracy(logits, y)
"""


def e2e_cases():
    g = Rng("e2e_mlp")
    N = 6
    x, y = g.normal(N, 8), g.ints(3, N)
    body = ("input x : f32[N, 8]\ninput y : i32[N]\n"
            'logits = mlp(x, [16, 16, 3], name="clf")\n'
            "loss = cross_entropy(logits, y)\n"
            "minimize loss\n"
            "metric acc = accuracy(logits, y)\n")
    feeds = {"x": x, "y": y}
    fan = 8
    for i, s in enumerate([16, 16, 3]):
        feeds["clf.dense%d.w" % i] = kaiming_bias(g, (s, fan), fan)
        feeds["clf.dense%d.b" % i] = kaiming_bias(g, (s,), fan)
        fan = s

    def f_mlp(T):
        lg = t_mlp(T["x"], T, "clf.", [16, 16, 3])
        return {"logits": lg, "loss": F.cross_entropy(lg, T["y"]), "acc": t_accuracy(lg, T["y"])}
    add("e2e_mlp_classifier", body, feeds, f_mlp, fetch=["loss", "logits", "acc"],
        grads=[k for k in feeds if k != "y"], raw=True, grad_of=None,
        comment="N bound from feeds; target = the single minimize")

    g = Rng("e2e_cnn")
    N = 3
    x, y = g.uniform(0, 1, N, 3, 12, 12), g.ints(4, N)
    body = ("input x : f32[N, 3, 12, 12]\ninput y : i32[N]\n"
            "h = max_pool2d(relu(conv(x, 4, k=3, pad=1)), 2)\n"
            "h = max_pool2d(relu(conv(h, 6, k=3, pad=1)), 2)\n"
            "logits = dense(flatten(h), 4)\n"
            "loss = cross_entropy(logits, y)\n"
            "minimize loss\n")
    feeds = {"x": x, "y": y,
             "conv0.w": kaiming_bias(g, (4, 3, 3, 3), 27), "conv0.b": kaiming_bias(g, (4,), 27),
             "conv1.w": kaiming_bias(g, (6, 4, 3, 3), 36), "conv1.b": kaiming_bias(g, (6,), 36),
             "dense0.w": kaiming_bias(g, (4, 54), 54), "dense0.b": kaiming_bias(g, (4,), 54)}

    def f_cnn(T):
        h = F.max_pool2d(torch.relu(F.conv2d(T["x"], T["conv0.w"], T["conv0.b"], padding=1)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, T["conv1.w"], T["conv1.b"], padding=1)), 2)
        lg = F.linear(h.flatten(1), T["dense0.w"], T["dense0.b"])
        return {"logits": lg, "loss": F.cross_entropy(lg, T["y"])}
    add("e2e_cnn", body, feeds, f_cnn, fetch=["loss", "logits"],
        grads=[k for k in feeds if k != "y"], raw=True, grad_of=None)

    g = Rng("e2e_cim")
    N = 2
    cim_text = CIM_GRAPH
    x = g.uniform(0, 1, N, 3, 28, 28)
    xp = np.clip(0.85 * x + 0.15 * g.uniform(0, 1, N, 3, 28, 28), 0, 1).astype(np.float32)
    xn = (0.5 * x + 0.5 * g.uniform(0, 1, N, 3, 28, 28)).astype(np.float32)
    y = np.array([0, 1], np.int32)
    feeds = {"x": x, "xp": xp, "xn": xn, "y": y}
    gen_feeds = {}
    convs = [("tn.conv0", 16, 3), ("tn.conv1", 32, 16), ("tn.conv2", 16, 32), ("tn.conv3", 1, 16)]
    for name, o, i in convs:
        feeds[name + ".w"] = kaiming_bias(g, (o, i, 3, 3), i * 9)
        feeds[name + ".b"] = kaiming_bias(g, (o,), i * 9)
    fan = 3 * 28 * 28
    for k, s in enumerate([1024, 512, 256, 2]):
        wn = "clf.dense%d.w" % k
        if s * fan > BIG:
            feeds[wn], gen_feeds[wn] = pyrandom_array(1000 + k, (s, fan), 1.0 / math.sqrt(fan))
        else:
            feeds[wn] = kaiming_bias(g, (s, fan), fan)
        feeds["clf.dense%d.b" % k] = kaiming_bias(g, (s,), fan)
        fan = s

    def conv(h, T, n):
        return F.conv2d(h, T[n + ".w"], T[n + ".b"], padding=1)

    def f_cim(T):
        h = F.max_pool2d(torch.relu(conv(T["x"], T, "tn.conv0")), 2)
        h = F.max_pool2d(torch.relu(conv(h, T, "tn.conv1")), 2)
        h = torch.relu(conv(F.interpolate(h, scale_factor=2, mode="nearest"), T, "tn.conv2"))
        m = torch.sigmoid(conv(F.interpolate(h, scale_factor=2, mode="nearest"), T, "tn.conv3"))
        psi = m * T["x"]
        lcon = (t_ms_ssim(psi, T["xn"], scales=2, win=7)
                - t_ms_ssim(psi, T["xp"], scales=2, win=7)).mean()
        logits = t_mlp(psi.flatten(1), T, "clf.", [1024, 512, 256, 2])
        loss = F.cross_entropy(logits, T["y"]) + 0.1 * lcon
        return {"loss": loss, "mask": m, "lcon": lcon, "logits": logits,
                "acc": t_accuracy(logits, T["y"])}
    add("e2e_cim", cim_text, feeds, f_cim, fetch=["loss", "mask", "lcon", "logits", "acc"],
        grads=["tn.conv0.w", "tn.conv0.b", "tn.conv3.w", "tn.conv3.b", "clf.dense0.b",
               "clf.dense3.w", "clf.dense3.b"],
        raw=True, grad_of=None, gen_feeds=gen_feeds, tol=TOL_SSIM,
        comment="GRAPH_LANGUAGE.md's CIM example at N=2; clf.dense0-2.w generated (pyrandom)")


# ---------------------------------------------------------------------------------------------
# training options: `clgraph run --steps K` with --clip-grad, --lr-schedule and objectives that
# alternate (`minimize ... every K offset J`), against a torch loop; the fetched parameters are
# those after K steps

def t_optim(spec, params):
    """torch.optim from a clgraph optimizer spec such as ('adam', {'lr': 0.01})"""
    name, kw = spec
    kw = dict(kw)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    if "nesterov" in kw:
        kw["nesterov"] = bool(kw["nesterov"])
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return cls(params, **kw)


def optim_text(spec):
    name, kw = spec
    return "%s(%s)" % (name, ", ".join("%s=%r" % (k, v) for k, v in kw.items()))


def t_scheduler(sched, opt, steps):
    """the torch scheduler that docs/TRAINING.md names for an --lr-schedule (None: constant)"""
    S = torch.optim.lr_scheduler
    if sched is None:
        return None
    kind = sched[0]
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=steps, eta_min=sched[1] * opt.defaults["lr"])
    if kind == "step":
        return S.StepLR(opt, step_size=sched[1], gamma=sched[2])
    W = sched[1]
    warm = S.LambdaLR(opt, lambda t: min(1.0, (t + 1) / W))
    if kind == "warmup":
        return warm
    cos = S.CosineAnnealingLR(opt, T_max=steps - W, eta_min=sched[2] * opt.defaults["lr"])
    return S.SequentialLR(opt, [warm, cos], milestones=[W])


def t_train(T, names, objectives, forward, steps, sched=None, clip=None, stats=None):
    """objectives: (loss name, param names, optimizer spec, every, offset), in file order.
    Each step: one forward pass, the gradients of the active objectives (all from it), then per
    active objective in file order clip_grad_norm_ over its gradients and its optimizer's step;
    every scheduler steps once per training step."""
    import warnings
    P = {k: T[k].detach().clone().requires_grad_(True) for k in names}
    opts = [t_optim(o[2], [P[n] for n in o[1]]) for o in objectives]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheds = [t_scheduler(sched, o, steps) for o in opts]
    for t in range(steps):
        outs = forward(P, T)
        active = [k for k, o in enumerate(objectives) if t % o[3] == o[4]]
        grads = {k: torch.autograd.grad(outs[objectives[k][0]], [P[n] for n in objectives[k][1]],
                                        retain_graph=True, allow_unused=True) for k in active}
        for k in active:
            ps = [P[n] for n in objectives[k][1]]
            for p, g in zip(ps, grads[k]):
                p.grad = None if g is None else g.clone()
            if clip is not None:
                norm = torch.nn.utils.clip_grad_norm_([p for p in ps if p.grad is not None], clip)
                if stats is not None:
                    stats.append(round(float(norm), 4))
            opts[k].step()
            for p in ps:
                p.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for s in scheds:
                if s is not None:
                    s.step()
    res = {k: P[k].detach() for k in names}
    with torch.no_grad():
        res.update(forward(P, T))
    return res


TRAIN_BODY = """\
input x : f32[N, 6]
input y : f32[N, 3]
h = tanh(dense(x, 8, name="l1"))
p = dense(h, 3, name="l2")
d = p - y
loss = mean(d * d)
aux = mean(h * h) + mean(p * p)
"""


def train_cases():
    def forward(P, T):
        h = torch.tanh(F.linear(T["x"], P["l1.w"], P["l1.b"]))
        p = F.linear(h, P["l2.w"], P["l2.b"])
        d = p - T["y"]
        return {"loss": (d * d).mean(), "aux": (h * h).mean() + (p * p).mean()}

    names = ["l1.w", "l1.b", "l2.w", "l2.b"]
    ALL = names

    def case(name, objs, steps, sched=None, clip=None, default=None, comment=None):
        g = Rng(name)
        N = 5
        feeds = {"x": g.normal(N, 6), "y": g.normal(N, 3)}
        feeds["l1.w"] = kaiming_bias(g, (8, 6), 6)
        feeds["l1.b"] = kaiming_bias(g, (8,), 6)
        feeds["l2.w"] = kaiming_bias(g, (3, 8), 8)
        feeds["l2.b"] = kaiming_bias(g, (3,), 8)
        lines = []
        for loss, ps, opt, every, offset in objs:
            st = "minimize " + loss
            if ps is not ALL:
                st += " over " + ", ".join(ps)
            if opt is not default:
                st += " with " + optim_text(opt)
            if every != 1:
                st += " every %d" % every + (" offset %d" % offset if offset else "")
            lines.append(st)
        body = "# golden case %s (generated by tests/golden/gen.py)\n" % name
        if comment:
            body += "# " + comment + "\n"
        body += TRAIN_BODY + "\n".join(lines) + "\n"
        args = ["--steps", str(steps)]
        if default is not None:
            args += ["--optimizer", optim_text(default)]
        if sched is not None:
            args += ["--lr-schedule", sched[-1]]
        if clip is not None:
            args += ["--clip-grad", repr(clip)]
        stats = []

        # the parameters each objective's `over` patterns select (none: all)
        objs_t = [(o[0], [n for n in names if o[1] is ALL or
                          any(n == q or n.startswith(q + ".") for q in o[1])]) + o[2:]
                  for o in objs]

        def fn(T):
            return t_train(T, names, objs_t, forward, steps, sched[:-1] if sched else None, clip,
                           stats)
        fn(to_torch(feeds, torch.float64, set()))
        if clip is not None and not (max(stats) > clip and min(stats) < clip):
            raise SystemExit("gen.py: case %s: clipping should be active at some updates and "
                             "inactive at others (norms %s)" % (name, stats))
        add(name, body, feeds, fn, fetch=names + ["loss"], grads=[], raw=True, grad_of=None,
            run_args=args, comment=comment)

    sgd_m = ("sgd", {"lr": 0.1, "momentum": 0.9})
    adam = ("adam", {"lr": 0.02})
    case("train_clip_sgd", [("loss", ALL, sgd_m, 1, 0)], 6, clip=0.6, default=sgd_m,
         comment="clip_grad_norm_(max_norm=0.6) before each sgd step (--optimizer)")
    case("train_clip_two_objectives",
         [("loss", ["l2"], adam, 1, 0), ("aux", ["l1", "l2.b"], ("adamw", {"lr": 0.03}), 1, 0)],
         5, clip=0.5, comment="each objective clipped over its own gradients (only the first"
         " exceeds 0.5)")
    case("train_sched_cosine_adamw", [("loss", ALL, ("adamw", {"lr": 0.05, "weight_decay": 0.5}),
                                       1, 0)], 6, sched=("cosine", 0.1, "cosine(min=0.1)"),
         comment="CosineAnnealingLR(T_max=6, eta_min=0.1 lr); AdamW's decay uses the lr")
    case("train_sched_step_sgd",
         [("loss", ALL, ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": 1}), 1, 0)], 6,
         sched=("step", 2, 0.5, "step(every=2, gamma=0.5)"), comment="StepLR(2, gamma=0.5)")
    case("train_sched_warmup_sgd", [("loss", ALL, ("sgd", {"lr": 0.2}), 1, 0)], 5,
         sched=("warmup", 3, "warmup(steps=3)"), comment="LambdaLR(min(1, (t+1)/3))")
    case("train_sched_warmup_cosine_adam", [("loss", ALL, adam, 1, 0)], 7,
         sched=("warmup_cosine", 3, 0.0, "warmup(steps=3, then=cosine)"),
         comment="SequentialLR(LambdaLR warm-up, CosineAnnealingLR(T_max=4)), milestones [3]")
    case("train_alternate",
         [("loss", ["l1"], adam, 2, 0), ("aux", ["l1", "l2"], sgd_m, 3, 1),
          ("loss", ["l2"], ("adamw", {"lr": 0.01}), 1, 0)], 7,
         comment="every 2 / every 3 offset 1 / every step; each optimizer counts its own steps")
    case("train_alternate_clip_sched",
         [("loss", ["l1"], adam, 2, 0), ("loss", ["l2"], sgd_m, 2, 1)], 6, clip=0.6,
         sched=("warmup_cosine", 2, 0.2, "warmup(steps=2, then=cosine(min=0.2))"),
         comment="two phases alternating, as CRL-TAC's, with clipping and a schedule")


SCHEDULES = [  # (spec, torch description, total steps, steps per epoch)
    ("constant", None, 12, 4),
    ("cosine", ("cosine", 0.0), 12, 4),
    ("cosine(min=0.25)", ("cosine", 0.25), 12, 4),
    ("step(every=5, gamma=0.3)", ("step", 5, 0.3), 12, 4),
    ("step(epochs=2, gamma=0.5)", ("step", 8, 0.5), 20, 4),
    ("step(every=3)", ("step", 3, 0.1), 12, 4),
    ("warmup(steps=4)", ("warmup", 4), 12, 4),
    ("warmup(steps=1)", ("warmup", 1), 5, 4),
    ("warmup(steps=5, then=cosine)", ("warmup_cosine", 5, 0.0), 12, 4),
    ("warmup(steps=3, then=cosine(min=0.1))", ("warmup_cosine", 3, 0.1), 11, 4),
]


def write_schedules(path):
    """schedules.txt: per schedule one line `SPEC<TAB>TOTAL<TAB>SPE<TAB>lr_0 lr_1 ...`, the lr of
    torch.optim.SGD(lr=1) at each step under the scheduler docs/TRAINING.md names (test_schedule.c
    compares cg_lr_schedule_factor with them)"""
    import warnings
    rows = ["# lr multipliers of torch.optim.lr_scheduler, written by tests/golden/gen.py"]
    for spec, desc, total, spe in SCHEDULES:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = t_scheduler(desc, opt, total)
            lrs = []
            for _ in range(total):
                lrs.append(opt.param_groups[0]["lr"])
                opt.step()
                if s is not None:
                    s.step()
        rows.append("%s\t%d\t%d\t%s" % (spec, total, spe, " ".join(repr(v) for v in lrs)))
    with open(path, "w") as fh:
        fh.write("\n".join(rows) + "\n")


# ---------------------------------------------------------------------------------------------
# evaluation and writing

def to_torch(feeds, dtype, want):
    T = {}
    for k, v in feeds.items():
        if v.dtype == np.float32:
            T[k] = torch.tensor(v, dtype=dtype, requires_grad=k in want)
        else:
            T[k] = torch.tensor(v.astype(np.int64))
    return T


def evaluate(c, dtype):
    grads = c["grads"]
    T = to_torch(c["feeds"], dtype, set(grads))
    outs = c["fn"](T)
    if c["raw"]:
        loss = outs["loss"]
    else:
        loss = None
        for k in c["cot"]:
            v = outs[k]
            term = v if v.dim() == 0 else (v * T["r_" + k]).sum()
            loss = term if loss is None else loss + term
        outs["loss"] = loss
    G = {}
    if grads:
        res = torch.autograd.grad(loss, [T[k] for k in grads], allow_unused=True)
        for k, gr in zip(grads, res):
            G[k] = torch.zeros_like(T[k]) if gr is None else gr
    return outs, G


def as_np(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32, torch.bool):
        return t.numpy().astype(np.int32)
    return t.numpy().astype(np.float32)


def close(got, exp, tol):
    got, exp = np.asarray(got, np.float64), np.asarray(exp, np.float64)
    return bool(np.all(np.abs(got - exp) <= tol["atol"] + tol["rtol"] * np.abs(exp)))


def prepare(c):
    """fills in defaults, adds cotangent inputs, builds the graph text"""
    f32 = [k for k, v in c["feeds"].items() if v.dtype == np.float32]
    if c["grads"] is None:
        c["grads"] = f32
    if c["raw"]:
        c["graph"] = c["body"]
        return
    # first pass: output shapes, to declare the cotangents
    T = to_torch(c["feeds"], torch.float64, set())
    outs = c["fn"](T)
    if c["cot"] is None:
        c["cot"] = [k for k in c["fetch"] if outs[k].is_floating_point()]
    g = Rng("cot_" + c["name"])
    terms = []
    for k in c["cot"]:
        if outs[k].dim() == 0:
            terms.append(k)
        else:
            c["feeds"]["r_" + k] = g.normal(*outs[k].shape)
            terms.append("sum(%s * r_%s)" % (k, k))
    lines = ["# golden case %s (generated by tests/golden/gen.py)" % c["name"]]
    if c["comment"]:
        lines.append("# " + c["comment"])
    lines += [decl(k, v) for k, v in c["feeds"].items() if k not in c["params"]]
    text = "\n".join(lines) + "\n" + c["body"]
    if terms:
        text += "loss = " + " + ".join(terms) + "\n"
    else:
        c["grad_of"] = None
    c["graph"] = text


def write_case(c):
    d = os.path.join(CASES_DIR, c["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    outs, G = evaluate(c, torch.float64)
    outs32, G32 = evaluate(c, torch.float32)
    bad = []
    for k in c["fetch"]:
        if not close(as_np(outs32[k]), as_np(outs[k]), c["tol"]):
            bad.append("out " + k)
    for k in c["grads"]:
        if not close(as_np(G32[k]), as_np(G[k]), c["tol"]):
            bad.append("grad " + k)
    for k in c["grads"]:
        if not np.all(np.isfinite(as_np(G[k]))):
            bad.append("grad %s not finite" % k)
    if bad:
        raise SystemExit("gen.py: case %s: float32 torch misses float64 by more than the "
                         "tolerance (ill-conditioned): %s" % (c["name"], ", ".join(bad)))
    with open(os.path.join(d, "graph.graph"), "w") as fh:
        fh.write(c["graph"])
    feeds = []
    for k, v in c["feeds"].items():
        ent = {"name": k, "dtype": "f32" if v.dtype == np.float32 else "i32",
               "shape": list(v.shape)}
        if k in c["gen_feeds"]:
            ent.update(c["gen_feeds"][k])
        else:
            ent["file"] = "in_%s.npy" % k
            np.save(os.path.join(d, ent["file"]), np.array(v, order="C"))
        feeds.append(ent)
    fetches, grads = [], []
    for k in c["fetch"]:
        fn = "out_%s.npy" % k
        np.save(os.path.join(d, fn), np.array(as_np(outs[k]), order="C"))
        fetches.append({"name": k, "file": fn})
    for k in c["grads"]:
        fn = "grad_%s.npy" % k
        np.save(os.path.join(d, fn), np.array(as_np(G[k]), order="C"))
        grads.append({"name": k, "file": fn})
    meta = {"name": c["name"], "graph": "graph.graph", "feeds": feeds, "fetches": fetches,
            "grads": grads, "grad_of": c["grad_of"] if grads else None,
            "rtol": c["tol"]["rtol"], "atol": c["tol"]["atol"]}
    if c["comment"]:
        meta["comment"] = c["comment"]
    if c["run_args"]:
        meta["run_args"] = c["run_args"]
    with open(os.path.join(d, "case.json"), "w") as fh:
        fh.write(dump_json(meta))


def dump_json(meta):
    """case.json: one key per line, one feed/fetch/grad entry per line"""
    rows = []
    for k in sorted(meta):
        v = meta[k]
        if isinstance(v, list):
            items = [" " * 4 + json.dumps(e, sort_keys=True) for e in v]
            body = "[\n" + ",\n".join(items) + "\n  ]" if items else "[]"
            rows.append("  %s: %s" % (json.dumps(k), body))
        else:
            rows.append("  %s: %s" % (json.dumps(k), json.dumps(v)))
    return "{\n" + ",\n".join(rows) + "\n}\n"


def parse_check(text):
    """inputs and params listed by `clgraph check`: name -> shape string"""
    res, sec = {}, None
    for line in text.splitlines():
        m = re.match(r"^(inputs|params|outputs|metrics|objectives) \(", line)
        if m:
            sec = m.group(1)
            continue
        if sec in ("inputs", "params"):
            m = re.match(r"^  (\S+)\s+(f32|i32)(\[[^\]]*\])", line)
            if m:
                res[m.group(1)] = m.group(2) + m.group(3)
    return res


def check_graphs(binary):
    fails = 0
    for c in CASES:
        d = os.path.join(CASES_DIR, c["name"])
        p = subprocess.run([binary, "check", os.path.join(d, "graph.graph")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print("CHECK FAIL %s: %s" % (c["name"], p.stderr.strip()))
            fails += 1
            continue
        listed = parse_check(p.stdout)
        want = {}
        for k, v in c["feeds"].items():
            t = "f32" if v.dtype == np.float32 else "i32"
            want[k] = t + "[" + ", ".join(str(s) for s in v.shape) + "]"
        if c["raw"]:
            # symbolic dims (N) are listed as symbols: compare names and ranks only
            same = set(listed) == set(want) and all(
                listed[k].count(",") == want[k].count(",") for k in want)
        else:
            same = listed == want
        if not same:
            print("CHECK MISMATCH %s: check lists %s, feeds are %s" % (c["name"], listed, want))
            fails += 1
    return fails


def main():
    torch.manual_seed(0)
    unary_cases()
    binary_cases()
    reduce_cases()
    shape_cases()
    layer_cases()
    sugar_cases()
    loss_cases()
    crop_cases()
    ssim_cases()
    e2e_cases()
    train_cases()
    write_schedules(os.path.join(HERE, "schedules.txt"))
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    os.makedirs(CASES_DIR, exist_ok=True)
    for old in os.listdir(CASES_DIR):
        if old not in names:
            shutil.rmtree(os.path.join(CASES_DIR, old))
    for c in CASES:
        prepare(c)
        write_case(c)
    print("gen.py: wrote %d cases to %s" % (len(CASES), os.path.relpath(CASES_DIR)))
    binary = os.environ.get("CLGRAPH_BIN") or os.path.join(HERE, "..", "..", "build", "clgraph")
    if os.path.exists(binary):
        fails = check_graphs(binary)
        print("gen.py: clgraph check: %d of %d graphs rejected or mismatched"
              % (fails, len(CASES)))
    else:
        print("gen.py: no clgraph binary at %s: graphs not checked" % binary)


if __name__ == "__main__":
    main()
