#!/usr/bin/python3
"""gen_fixtures.py: writes the scikit-learn reference fixtures of the evaluation measures
(src/eval/measures.h) and of the device-trained linear probe of `clgraph eval`.

Run with Debian's python3 (numpy 1.24, scikit-learn 1.2; `ci/setup --golden` installs them):
    /usr/bin/python3 tests/eval/gen_fixtures.py
Deterministic (fixed seeds) and idempotent: tests/eval/fixtures/ is rewritten from scratch.
Arrays are .npy (features float32, labels int32); the reference values go to a small JSON per
problem, computed in float64 by scikit-learn from the float32 arrays as stored.

fixtures/probe/  the linear probe problem: 4 overlapping anisotropic Gaussian classes in 20
    dimensions with offset means (so the standardisation matters), 1000 train / 500 test
    examples, classes of unequal size. Files x_train.npy f32[1000,20], y_train.npy i32[1000],
    x_test.npy f32[500,20], y_test.npy i32[500]; expected.json: scikit-learn's
    LogisticRegression(C=1, lbfgs, multinomial, max_iter=10000, tol=1e-10) test and train
    accuracy after a StandardScaler fitted on the train split, its test predictions' balanced
    accuracy, and the objective it minimises (see "objective" in the JSON).

fixtures/r2_linear/, fixtures/r2_nonlinear/  R^2 problems: x_train, y_train, x_test, y_test
    (float32). r2_linear: targets an affine map of 8 features plus noise, where one feature is
    twice another (exactly, in float32) and one is constant (the least squares must cope with a
    singular Gram matrix). r2_nonlinear: the identifiability setting in small: 5-d latents z, features
    an invertible 3-layer leaky-ReLU mixing of z (SEEDS.md section 3) plus a little noise,
    targets z; 1500 train examples, above the kernel ridge's default cap of 1000, so the strided
    subset is exercised. expected.json: r2_linear (LinearRegression on StandardScaler features,
    r2_score uniform average), r2_kernel_ridge (GridSearchCV(KernelRidge(rbf), alpha x gamma
    grid of the identifiability code, cv=3) on standardised features and targets), the chosen
    alpha and gamma and their mean CV score, and r2_kernel_ridge_fixed (KernelRidge(alpha=1,
    gamma=0.1), no search).

fixtures/embed/  alignment and uniformity: z, z_pos f32[300, 16] (unit rows) and z_far
    f32[300, 16] (rows scaled so that mean exp(-2 d^2) underflows in float64); expected.json:
    alignment, uniformity, uniformity_log of z, and uniformity_log of z_far (scipy logsumexp).

fixtures/classes/  y_true, y_pred, group i32[400] (5 classes, class 4 absent from y_true but
    predicted; 4 groups, group 3 empty) and scores f32[400, 5] whose argmax is y_pred;
    expected.json: accuracy, balanced_accuracy (scikit-learn), per-group count and accuracy,
    worst_group_accuracy.

fixtures/crops/  probs f32[64, 289] (softmax rows over the 17 x 17 grid of 20 x 20 crops at
    stride 4 on the 84 x 84 canvas) and cell i32[64] (mnist_grid cells); expected.json:
    crop_mass, computed from overlap areas (a crop counts when its area of overlap with the
    digit's 28 x 28 cell is > 0).

Cap rule shared with src/eval/measures.c: a split of n rows capped at m < n uses the rows
(np.arange(m) * n) // m.
"""
import json
import os
import shutil
import warnings

import numpy as np
from scipy.special import logsumexp
from scipy.spatial.distance import pdist
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

# The kernel ridge grid of ysharma1126/ssl_identifiability (disentanglement_utils.py) and the
# caps of src/eval/measures.h (CG_R2_KRR_MAX_TRAIN, CG_R2_MAX_TEST).
KRR_GRID = {"alpha": [1e0, 0.1, 1e-2, 1e-3], "gamma": np.logspace(-2, 2, 4)}
KRR_MAX_TRAIN = 1000
MAX_TEST = 10000

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def save(dirname, name, arr):
    """Saves arr as dirname/name.npy (float arrays as float32, integer ones as int32)."""
    arr = np.asarray(arr)
    arr = arr.astype(np.float32 if arr.dtype.kind == "f" else np.int32)
    np.save(os.path.join(dirname, name + ".npy"), arr)
    return arr


def write_json(dirname, obj):
    with open(os.path.join(dirname, "expected.json"), "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def probe():
    """The linear probe problem (see the module docstring)."""
    d = os.path.join(OUT, "probe")
    os.makedirs(d)
    rng = np.random.default_rng(20260601)
    k, dim, n_train, n_test = 4, 20, 1000, 500
    means = rng.normal(0.0, 0.45, size=(k, dim)) + rng.uniform(-4, 4, size=dim)
    scales = rng.uniform(0.3, 3.0, size=dim)          # anisotropic: per-dimension spread
    mix = np.linalg.qr(rng.normal(size=(dim, dim)))[0]  # rotated, correlated noise
    prior = np.array([0.4, 0.3, 0.2, 0.1])

    def sample(n):
        y = rng.choice(k, size=n, p=prior)
        noise = (rng.normal(size=(n, dim)) @ mix) * scales
        return means[y] + noise, y

    xtr, ytr = sample(n_train)
    xte, yte = sample(n_test)
    xtr = save(d, "x_train", xtr)
    ytr = save(d, "y_train", ytr)
    xte = save(d, "x_test", xte)
    yte = save(d, "y_test", yte)

    xtr64, xte64 = xtr.astype(np.float64), xte.astype(np.float64)
    sc = StandardScaler().fit(xtr64)
    clf = LogisticRegression(C=1.0, solver="lbfgs", multi_class="multinomial", max_iter=10000,
                             tol=1e-10)
    clf.fit(sc.transform(xtr64), ytr)
    pte = clf.predict(sc.transform(xte64))
    ptr = clf.predict(sc.transform(xtr64))
    acc = float(accuracy_score(yte, pte))
    assert 0.6 < acc < 0.95, f"probe problem too easy or too hard: test accuracy {acc}"
    write_json(d, {
        "n_classes": k,
        "n_train": n_train,
        "n_test": n_test,
        "dim": dim,
        "reference": "sklearn %s LogisticRegression(C=1.0, solver='lbfgs', "
                     "multi_class='multinomial', max_iter=10000, tol=1e-10) on "
                     "StandardScaler().fit(x_train)-transformed features" %
                     __import__("sklearn").__version__,
        "objective": "sum_i cross_entropy(W x_i + b, y_i) + 0.5 * ||W||^2 (C = 1; b not "
                     "penalised); equivalently mean_i cross_entropy + ||W||^2 / (2 * n_train)",
        "test_accuracy": acc,
        "train_accuracy": float(accuracy_score(ytr, ptr)),
        "test_balanced_accuracy": float(balanced_accuracy_score(yte, pte)),
        "tolerance_accuracy": 0.01,
    })


def subset(n, m):
    """The rows of the strided cap of n rows to m (all rows when m >= n)."""
    return np.arange(n) if m >= n else (np.arange(m) * n) // m


def r2_reference(xtr, ytr, xte, yte):
    """The R^2 values of measures.c's protocol, computed by scikit-learn in float64."""
    xtr, ytr, xte, yte = (a.astype(np.float64) for a in (xtr, ytr, xte, yte))
    # linear: LinearRegression (intercept) on standardised features, all train rows
    sx = StandardScaler().fit(xtr)
    lin = LinearRegression().fit(sx.transform(xtr), ytr)
    r2_lin = r2_score(yte[subset(len(yte), MAX_TEST)],
                      lin.predict(sx.transform(xte[subset(len(xte), MAX_TEST)])))
    # kernel ridge: capped train split, features and targets standardised on it, grid by 3-fold
    # CV, refit, r2 on the standardised test targets
    rows = subset(len(xtr), KRR_MAX_TRAIN)
    xs, ys = xtr[rows], ytr[rows]
    sx, sy = StandardScaler().fit(xs), StandardScaler().fit(ys)
    xte_s = sx.transform(xte[subset(len(xte), MAX_TEST)])
    yte_s = sy.transform(yte[subset(len(yte), MAX_TEST)])
    gs = GridSearchCV(KernelRidge(kernel="rbf"), param_grid=KRR_GRID, cv=3)
    gs.fit(sx.transform(xs), sy.transform(ys))
    fixed = KernelRidge(kernel="rbf", alpha=1.0, gamma=0.1).fit(sx.transform(xs),
                                                                sy.transform(ys))
    return {
        "r2_linear": float(r2_lin),
        "r2_kernel_ridge": float(r2_score(yte_s, gs.predict(xte_s))),
        "kernel_ridge_alpha": float(gs.best_params_["alpha"]),
        "kernel_ridge_gamma": float(gs.best_params_["gamma"]),
        "kernel_ridge_cv_r2": float(gs.best_score_),
        "r2_kernel_ridge_fixed": float(r2_score(yte_s, fixed.predict(xte_s))),
        "fixed_alpha": 1.0,
        "fixed_gamma": 0.1,
    }


def r2_problem(name, xtr, ytr, xte, yte):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    arrs = [save(d, k, v) for k, v in
            (("x_train", xtr), ("y_train", ytr), ("x_test", xte), ("y_test", yte))]
    ref = r2_reference(*arrs)
    ref.update({"n_train": len(xtr), "n_test": len(xte), "dx": xtr.shape[1],
                "dy": ytr.shape[1]})
    write_json(d, ref)
    return ref


def r2_linear():
    rng = np.random.default_rng(7001)
    n_train, n_test = 500, 300

    scale = rng.uniform(0.5, 2, size=6)

    def sample(n, w, b):
        x = rng.normal(size=(n, 6)) * scale + 3.0
        x = x.astype(np.float32).astype(np.float64)  # so that the copy below is exact in float32
        x = np.concatenate([x, 2.0 * x[:, :1], np.full((n, 1), 3.0)], axis=1)
        return x, x @ w + b + 0.8 * rng.normal(size=(n, 3))

    w = rng.normal(size=(8, 3)) * 0.5
    b = rng.normal(size=3)
    xtr, ytr = sample(n_train, w, b)
    xte, yte = sample(n_test, w, b)
    ref = r2_problem("r2_linear", xtr, ytr, xte, yte)
    assert 0.5 < ref["r2_linear"] < 0.99, ref


def mixing(rng, dim, layers=3):
    """Bias-free square layers, weights U(-1, 1) with unit-norm columns (SEEDS.md section 3),
    condition number < 5 (drawn again until so)."""
    mats = []
    for _ in range(layers):
        while True:
            m = rng.uniform(-1, 1, size=(dim, dim))
            m /= np.linalg.norm(m, axis=0, keepdims=True)
            if np.linalg.cond(m) < 5:
                mats.append(m)
                break
    return mats


def r2_nonlinear():
    rng = np.random.default_rng(7002)
    mats = mixing(rng, 5)

    def sample(n):
        z = rng.normal(size=(n, 5))
        h = z
        for k, m in enumerate(mats):
            h = h @ m
            if k < len(mats) - 1:
                h = np.where(h > 0, h, 0.2 * h)
        return h + 0.01 * rng.normal(size=h.shape), z

    xtr, ytr = sample(1500)
    xte, yte = sample(400)
    ref = r2_problem("r2_nonlinear", xtr, ytr, xte, yte)
    assert ref["r2_kernel_ridge"] > ref["r2_linear"] + 0.1, ref


def embed():
    d = os.path.join(OUT, "embed")
    os.makedirs(d)
    rng = np.random.default_rng(7003)
    z = rng.normal(size=(300, 16)) + 0.7 * rng.normal(size=(1, 16))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    zp = z + 0.3 * rng.normal(size=z.shape)
    zp /= np.linalg.norm(zp, axis=1, keepdims=True)
    zf = z * 200.0
    z, zp, zf = (save(d, k, v).astype(np.float64) for k, v in
                 (("z", z), ("z_pos", zp), ("z_far", zf)))
    sq = pdist(z, "sqeuclidean")
    sqf = pdist(zf, "sqeuclidean")
    assert np.mean(np.exp(-2 * sqf)) == 0.0  # the plain mean underflows
    write_json(d, {
        "alignment": float(np.mean(np.sum((z - zp) ** 2, axis=1))),
        "uniformity": float(np.mean(np.exp(-2 * sq))),
        "uniformity_log": float(np.log(np.mean(np.exp(-2 * sq)))),
        "far_uniformity_log": float(logsumexp(-2 * sqf) - np.log(len(sqf))),
    })


def classes():
    d = os.path.join(OUT, "classes")
    os.makedirs(d)
    rng = np.random.default_rng(7004)
    n = 400
    y = rng.choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1])
    g = rng.choice(3, size=n)
    # a classifier that is good on group 0, worse on 1, poor on 2; it sometimes says class 4
    keep = rng.uniform(size=n) < np.array([0.9, 0.7, 0.4])[g]
    p = np.where(keep, y, rng.choice(5, size=n))
    scores = rng.normal(size=(n, 5))
    scores[np.arange(n), p] = scores.max(axis=1) + rng.uniform(0.1, 1.0, size=n)
    save(d, "y_true", y)
    save(d, "y_pred", p)
    save(d, "group", g)
    save(d, "scores", scores)
    assert (np.argmax(scores.astype(np.float32), axis=1) == p).all()
    groups = []
    for k in range(4):
        m = g == k
        groups.append({"count": int(m.sum()),
                       "accuracy": float((y[m] == p[m]).mean()) if m.any() else 0.0})
    write_json(d, {
        "n_classes": 5,
        "n_groups": 4,
        "accuracy": float(accuracy_score(y, p)),
        "balanced_accuracy": float(balanced_accuracy_score(y, p)),
        "groups": groups,
        "worst_group_accuracy": min(x["accuracy"] for x in groups if x["count"]),
    })


def crops():
    d = os.path.join(OUT, "crops")
    os.makedirs(d)
    rng = np.random.default_rng(7005)
    n, canvas, size, stride, cell_px = 64, 84, 20, 4, 28
    side = (canvas - size) // stride + 1
    logits = rng.normal(size=(n, side * side)) * 2.0
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs = save(d, "probs", probs).astype(np.float64)
    cell = save(d, "cell", rng.integers(0, 9, size=n))
    pos = np.arange(side) * stride
    masses = []
    for i in range(n):
        top, left = cell_px * (cell[i] // 3), cell_px * (cell[i] % 3)
        oh = np.clip(np.minimum(pos + size, top + cell_px) - np.maximum(pos, top), 0, None)
        ow = np.clip(np.minimum(pos + size, left + cell_px) - np.maximum(pos, left), 0, None)
        area = np.outer(oh, ow).reshape(-1)
        masses.append(probs[i][area > 0].sum() / probs[i].sum())
    write_json(d, {"canvas": canvas, "size": size, "stride": stride,
                   "crop_mass": float(np.mean(masses))})


def main():
    # balanced_accuracy_score warns that class 4 is predicted but absent: that is the point
    warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    probe()
    r2_linear()
    r2_nonlinear()
    embed()
    classes()
    crops()
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"gen_fixtures.py: wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
