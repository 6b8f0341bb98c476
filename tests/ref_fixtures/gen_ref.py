#!/usr/bin/python3
"""gen_ref.py: expected values of the C reference ops (src/ops/ref.c), computed by PyTorch.

Writes ref_expected.h next to this script: one `static const double ref_<case>[]` per case,
the torch (float64) output flattened row-major. tests/test_ref.c recomputes every case with the
C references and compares. Inputs are not stored: both sides build them from the formula

    v(i, seed) = sin(0.37 i + 1.7 seed) + 0.3 cos(1.1 i + 0.5 seed)      (i = flat index)
    input      = scale * v + shift

(math.sin/cos here, libm in C), integer inputs from (a i + b) % m. Run with Debian's python3
(torch 1.13): /usr/bin/python3 tests/ref_fixtures/gen_ref.py. Deterministic: no random draws.
ms_ssim/ssim are transcribed from pytorch-msssim (VainF/pytorch-msssim, ssim.py) in float64,
with the window and weights computed in double (the package rounds them to float32), because
the package is not a dependency.
"""
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
CASES = []


def v(i, seed):
    return math.sin(0.37 * i + 1.7 * seed) + 0.3 * math.cos(1.1 * i + 0.5 * seed)


def inp(shape, seed, scale=1.0, shift=0.0):
    n = math.prod(shape)
    return torch.tensor([scale * v(i, seed) + shift for i in range(n)]).reshape(shape)


def ints(shape, a, b, m):
    n = math.prod(shape)
    return torch.tensor([(a * i + b) % m for i in range(n)], dtype=torch.int64).reshape(shape)


def case(name, t):
    if not torch.is_tensor(t):
        t = torch.tensor(t)
    CASES.append((name, t.detach().to(torch.float64).reshape(-1).tolist()))


# ---- unary ---------------------------------------------------------------------------------
x = inp([37], 1, 2.0)
xp = inp([37], 1, 1.0, 1.5)
case("neg", -x)
case("exp", torch.exp(x))
case("log", torch.log(xp))
case("sqrt", torch.sqrt(xp))
case("rsqrt", torch.rsqrt(xp))
case("abs", torch.abs(x))
case("square", torch.square(x))
case("pow3", torch.pow(x, 3.0))
case("pow_m15", torch.pow(xp, -1.5))
case("relu", F.relu(x))
case("leaky_relu", F.leaky_relu(x, 0.01))
case("leaky_relu02", F.leaky_relu(x, 0.2))
case("sigmoid", torch.sigmoid(x))
case("tanh", torch.tanh(x))
case("softplus", F.softplus(x))
case("softplus_b2_t15", F.softplus(x, beta=2.0, threshold=1.5))
case("clamp", torch.clamp(x, -0.5, 0.7))

# ---- binary --------------------------------------------------------------------------------
BIN_SHAPES = [([2, 3, 4], [2, 3, 4]), ([2, 1, 4], [3, 1]), ([5], [2, 3, 5]), ([1], [4, 1, 3]),
              ([3, 1, 2, 1], [4, 1, 5])]
for k, (sa, sb) in enumerate(BIN_SHAPES):
    a = inp(sa, 2)
    b = inp(sb, 3, 1.0, 2.0)
    case(f"add{k}", a + b)
    case(f"sub{k}", a - b)
    case(f"mul{k}", a * b)
    case(f"div{k}", a / b)
    case(f"maximum{k}", torch.maximum(a, b - 2.0))
    case(f"minimum{k}", torch.minimum(a, b - 2.0))

# ---- reductions ----------------------------------------------------------------------------
x = inp([3, 4, 5], 3)
RED_DIMS = [(0, 1, 2), (0,), (1,), (2,), (0, 2), (1, 2)]
for k, d in enumerate(RED_DIMS):
    case(f"sum{k}", x.sum(dim=d))
    case(f"mean{k}", x.mean(dim=d))
    case(f"max{k}", torch.amax(x, dim=d))
    case(f"min{k}", torch.amin(x, dim=d))
    case(f"logsumexp{k}", torch.logsumexp(x, dim=d))
    case(f"var{k}", torch.var(x, dim=d, unbiased=True))
    case(f"var_biased{k}", torch.var(x, dim=d, unbiased=False))
case("argmax_all", torch.argmax(x))
for ax in range(3):
    case(f"argmax{ax}", torch.argmax(x, dim=ax))
x7 = inp([7], 4)
case("sum_r1", x7.sum())
case("logsumexp_r1", torch.logsumexp(x7, dim=0))

# ---- shape ops -----------------------------------------------------------------------------
x = inp([2, 3, 4, 5], 5)
case("permute", x.permute(2, 0, 3, 1))
case("transpose13", x.transpose(1, 3))
case("concat1", torch.cat([inp([2, 3, 4], 6), inp([2, 1, 4], 7), inp([2, 2, 4], 8)], 1))
case("concat0", torch.cat([inp([1, 3], 6), inp([2, 3], 7)], 0))
case("concat2", torch.cat([inp([2, 2, 3], 6), inp([2, 2, 1], 7)], 2))
x = inp([4, 5, 6], 9)
case("slice_a1", x[:, 1:4])
case("slice_neg", x[:, :, -4:-1])
case("slice_clamp", x[2:10])
x = inp([3, 4, 5], 10)
case("gather1", torch.gather(x, 1, ints([2, 3, 5], 7, 3, 4)))
case("gather0", torch.gather(x, 0, ints([3, 2, 4], 5, 1, 3)))
case("gather2", torch.gather(x, 2, ints([3, 4, 7], 3, 2, 5)))
case("one_hot", F.one_hot(ints([6], 7, 3, 4), 5))
case("broadcast_to0", torch.broadcast_to(inp([3, 1], 11), [2, 3, 4]))
case("broadcast_to1", torch.broadcast_to(inp([1], 11), [5]))
case("broadcast_to2", torch.broadcast_to(inp([2, 1, 3], 11), [2, 4, 3]))

# ---- dense layers --------------------------------------------------------------------------
x = inp([2, 3, 5], 12)
w = inp([4, 5], 13, 0.5)
b = inp([4], 14)
case("linear", F.linear(x, w, b))
case("linear_nobias", F.linear(x, w))
MM = [([3, 4], [4, 5]), ([4], [4, 5]), ([3, 4], [4]), ([4], [4]), ([2, 1, 3, 4], [5, 4, 2]),
      ([4], [2, 4, 3]), ([2, 3, 4], [4])]
for k, (sa, sb) in enumerate(MM):
    case(f"matmul{k}", torch.matmul(inp(sa, 15), inp(sb, 16)))

# ---- convolutions and pooling --------------------------------------------------------------
# (x shape, w shape, bias?, stride, pad, dilation, groups)
CONV = [([2, 3, 7, 6], [4, 3, 3, 3], True, (1, 1), (0, 0), (1, 1), 1),
        ([1, 4, 9, 8], [6, 2, 3, 2], True, (2, 1), (1, 2), (2, 1), 2),
        ([2, 6, 5, 7], [6, 1, 3, 3], False, (2, 2), (1, 1), (1, 1), 6),
        ([1, 2, 4, 4], [3, 2, 1, 1], True, (1, 1), (0, 0), (1, 1), 1)]
for k, (xs, ws, hasb, st, pd, dl, g) in enumerate(CONV):
    b = inp([ws[0]], 19) if hasb else None
    case(f"conv{k}", F.conv2d(inp(xs, 17), inp(ws, 18, 0.5), b, st, pd, dl, g))
# (x shape, w shape, bias?, stride, pad, output_pad, groups, dilation)
CONVT = [([2, 3, 4, 5], [3, 2, 3, 3], True, (2, 2), (1, 1), (1, 1), 1, (1, 1)),
         ([1, 4, 3, 4], [4, 3, 2, 3], True, (2, 3), (0, 1), (1, 2), 2, (1, 1)),
         ([1, 2, 5, 4], [2, 3, 3, 2], False, (1, 1), (1, 1), (1, 1), 1, (2, 3))]
for k, (xs, ws, hasb, st, pd, op, g, dl) in enumerate(CONVT):
    b = inp([ws[1] * g], 22) if hasb else None
    case(f"convt{k}", F.conv_transpose2d(inp(xs, 20), inp(ws, 21, 0.5), b, st, pd, op, g, dl))
# (k, stride, pad) on x [2, 3, 7, 6]
POOL = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0))]
x = inp([2, 3, 7, 6], 23)
for k, (ks, st, pd) in enumerate(POOL):
    case(f"maxpool{k}", F.max_pool2d(x, ks, st, pd))
    case(f"avgpool{k}", F.avg_pool2d(x, ks, st, pd))
case("upsample", F.interpolate(inp([1, 2, 3, 4], 24), scale_factor=3, mode="nearest"))

# ---- along an axis -------------------------------------------------------------------------
x = inp([3, 4, 5], 25, 2.0)
for ax in range(3):
    case(f"softmax{ax}", F.softmax(x, dim=ax))
    case(f"log_softmax{ax}", F.log_softmax(x, dim=ax))
    case(f"l2_normalize{ax}", F.normalize(x, p=2.0, dim=ax, eps=1e-12))
    case(f"entropy{ax}", torch.special.entr(inp([3, 4, 5], 26, 1.0, 1.5)).sum(dim=ax))

# ---- losses --------------------------------------------------------------------------------
logits = inp([5, 7], 27, 2.0)
y = ints([5], 3, 1, 7)
case("cross_entropy", F.cross_entropy(logits, y))
case("nll", F.nll_loss(F.log_softmax(logits, 1), y))
logits = inp([6, 4], 28)
y = ints([6], 1, 0, 4)
case("accuracy", (logits.argmax(1) == y).double().mean())
case("mse0", F.mse_loss(*torch.broadcast_tensors(inp([2, 3, 4], 29), inp([3, 1], 30))))
case("mse1", F.mse_loss(inp([5], 29), inp([5], 30)))
mu, lv = inp([3, 2, 4], 31), inp([3, 2, 4], 32, 0.5)
case("kl", 0.5 * (lv.exp() + mu ** 2 - 1 - lv).flatten(1).sum(1))


def info_nce(za, zb, t):
    n = za.shape[0]
    z = F.normalize(torch.cat([za, zb]), dim=1)
    sim = z @ z.t() / t
    sim.fill_diagonal_(float("-inf"))
    return F.cross_entropy(sim, (torch.arange(2 * n) + n) % (2 * n))


za, zb = inp([4, 6], 33), inp([4, 6], 34)
case("info_nce05", info_nce(za, zb, 0.5))
case("info_nce01", info_nce(za, zb, 0.1))
a, b = inp([4, 3], 35), inp([5, 3], 36)
case("pairwise", ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


# ---- SSIM (pytorch-msssim, float64) --------------------------------------------------------
def gauss(win, sigma):
    c = torch.arange(win, dtype=torch.float64) - win // 2
    g = torch.exp(-(c ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).reshape(1, 1, 1, -1)


def gfilter(x, g):
    c = x.shape[1]
    out = F.conv2d(x, g.repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, g.transpose(2, 3).repeat(c, 1, 1, 1), groups=c)


def _ssim(x, y, g, rng, k1, k2):
    c1, c2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    m1, m2 = gfilter(x, g), gfilter(y, g)
    s11 = gfilter(x * x, g) - m1 ** 2
    s22 = gfilter(y * y, g) - m2 ** 2
    s12 = gfilter(x * y, g) - m1 * m2
    cs = (2 * s12 + c2) / (s11 + s22 + c2)
    ss = (2 * m1 * m2 + c1) / (m1 ** 2 + m2 ** 2 + c1) * cs
    return ss.flatten(2).mean(-1), cs.flatten(2).mean(-1)


def ssim(x, y, win=11, sigma=1.5, k1=0.01, k2=0.03, rng=1.0):
    return _ssim(x, y, gauss(win, sigma), rng, k1, k2)[0].mean(1)


def ms_ssim(x, y, scales=5, weights=None, win=11, sigma=1.5, k1=0.01, k2=0.03, rng=1.0):
    if weights is None:
        weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:scales]
        weights = [w / sum(weights) for w in weights]
    weights = torch.tensor(weights)
    g = gauss(win, sigma)
    mcs = []
    for i in range(scales):
        sp, cs = _ssim(x, y, g, rng, k1, k2)
        if i < scales - 1:
            mcs.append(torch.relu(cs))
            pad = (x.shape[2] % 2, x.shape[3] % 2)
            x = F.avg_pool2d(x, kernel_size=2, padding=pad)
            y = F.avg_pool2d(y, kernel_size=2, padding=pad)
    v = torch.stack(mcs + [torch.relu(sp)], dim=0)
    return torch.prod(v ** weights.view(-1, 1, 1), dim=0).mean(1)


def img_pair(shape):
    a = inp(shape, 40, 0.35, 0.5)
    b = torch.tensor([0.5 + 0.3 * v(i, 40) + 0.1 * v(i, 41) for i in range(math.prod(shape))])
    return a, b.reshape(shape)


a, b = img_pair([2, 3, 16, 13])
case("ssim_w7", ssim(a, b, win=7))
case("ssim_k", ssim(a, b, win=5, sigma=0.8, k1=0.02, k2=0.05, rng=2.0))
a, b = img_pair([1, 2, 12, 11])
case("ssim_w11", ssim(a, b))
a, b = img_pair([2, 3, 28, 28])
case("ms_ssim_s2", ms_ssim(a, b, scales=2, win=7))
a, b = img_pair([1, 2, 23, 19])
case("ms_ssim_s3", ms_ssim(a, b, scales=3, win=5))
case("ms_ssim_w", ms_ssim(a, b, scales=3, weights=[0.5, 0.3, 0.2], win=3, sigma=1.0))
case("ms_ssim_s1", ms_ssim(a, b, scales=1, win=5))
a, b = img_pair([1, 1, 48, 40])
case("ms_ssim_s5", ms_ssim(a, b, scales=5, win=3))


# ---- crops ---------------------------------------------------------------------------------
def windows(x, size, stride):
    n, c = x.shape[:2]
    u = x.unfold(2, size, stride).unfold(3, size, stride)  # [N, C, gh, gw, s, s]
    return u.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c, size, size)


x = inp([2, 3, 9, 8], 42)
w = windows(x, 3, 2)  # gh = 4, gw = 3
idx = ints([2, 4], 5, 2, 12)
case("crop_grid", torch.stack([w[n, idx[n]] for n in range(2)]).reshape(-1, 3, 3, 3))
case("crop_all", w.reshape(-1, 3, 3, 3))

# ---- write ---------------------------------------------------------------------------------
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref_expected.h")
with open(out, "w") as f:
    f.write("/* ref_expected.h: generated by gen_ref.py (torch %s, float64); do not edit.\n"
            " * Expected outputs of the reference ops, flattened row-major. */\n"
            % torch.__version__.split("a")[0])
    f.write("#ifndef CG_REF_EXPECTED_H\n#define CG_REF_EXPECTED_H\n\n")
    for name, vals in CASES:
        f.write("static const double ref_%s[%d] = {\n" % (name, len(vals)))
        for i in range(0, len(vals), 4):
            f.write("    " + " ".join("%.17g," % t for t in vals[i:i + 4]) + "\n")
        f.write("};\n")
    f.write("\n#endif\n")
print("wrote %d cases to %s" % (len(CASES), out))
