#!/usr/bin/python3
"""gen_probe_reference.py: scikit-learn's optimum of the linear probe problem of
tests/eval/fixtures/probe (written by gen_fixtures.py), for tests/test_probe.c.

The fixture records scikit-learn's accuracies; this adds the objective value it reaches,
sum_i CE(W z_i + b, y_i) + ||W||^2 / 2 (C = 1) on the StandardScaler-transformed train features,
so that the test can check that clgraph's device-trained probe reaches the same optimum (not
just the same accuracy). Run with Debian's python3 (numpy, scikit-learn):
    /usr/bin/python3 tests/eval/gen_probe_reference.py
Writes tests/eval/probe_ref/expected.json. Deterministic.
"""
import json
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "fixtures", "probe")
OUT = os.path.join(HERE, "probe_ref")


def main():
    xtr = np.load(os.path.join(SRC, "x_train.npy")).astype(np.float64)
    ytr = np.load(os.path.join(SRC, "y_train.npy"))
    z = StandardScaler().fit_transform(xtr)
    clf = LogisticRegression(C=1.0, solver="lbfgs", multi_class="multinomial", max_iter=10000,
                             tol=1e-10).fit(z, ytr)
    s = z @ clf.coef_.T + clf.intercept_
    s -= s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    obj = float(-logp[np.arange(len(ytr)), ytr].sum() + 0.5 * (clf.coef_ ** 2).sum())
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"objective_value": obj,
                   "objective": "sum_i cross_entropy(W z_i + b, y_i) + 0.5 * ||W||^2 on "
                                "StandardScaler features of fixtures/probe/x_train.npy",
                   "reference": "sklearn %s LogisticRegression(C=1.0, lbfgs, multinomial, "
                                "max_iter=10000, tol=1e-10)" % __import__("sklearn").__version__},
                  f, indent=2, sort_keys=True)
        f.write("\n")
    print("objective", obj)


if __name__ == "__main__":
    main()
