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
"""
import json
import os
import shutil

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

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


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    probe()
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"gen_fixtures.py: wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
