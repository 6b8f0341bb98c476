#!/usr/bin/env python3
"""npycmp.py: the golden check's helper, standard library only (no numpy at test time).

  npycmp.py args CASE_DIR TMP_DIR     print the `clgraph run` arguments of a case, one per line
                                      (the graph first), writing generated feeds into TMP_DIR
  npycmp.py compare CASE_DIR TMP_DIR  compare TMP_DIR's fetches and gradients with the case's
                                      expected files; print one line:
                                        PASS|FAIL NAME max_abs=A max_rel=R [what failed]
                                      exit 0 on PASS, 1 on FAIL
  npycmp.py selftest                  check the reader, the generator and the comparison

npy files are version 1.0/2.0/3.0, dtype <f4 or <i4, C order. A value passes when
|got - expected| <= atol + rtol * |expected| (numpy.allclose); NaN never passes; integer
results must match exactly. max_rel is max |got - expected| / max(|expected|, atol).
"""
import ast
import json
import math
import os
import random
import struct
import sys
from array import array


def read_npy(path):
    """(dtype 'f4'|'i4', shape tuple, array of values)"""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("%s: not an npy file" % path)
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    descr, order, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    if order:
        raise ValueError("%s: Fortran order" % path)
    if descr not in ("<f4", "<i4"):
        raise ValueError("%s: dtype %s (expected <f4 or <i4)" % (path, descr))
    vals = array("f" if descr == "<f4" else "i")
    if vals.itemsize != 4:
        raise ValueError("array item size is not 4 bytes on this platform")
    body = data[start + hlen:]
    n = 1
    for d in shape:
        n *= d
    if len(body) != 4 * n:
        raise ValueError("%s: %d data bytes for shape %s" % (path, len(body), shape))
    vals.frombytes(body)
    if sys.byteorder != "little":
        vals.byteswap()
    return descr[1:], shape, vals


def write_npy(path, descr, shape, vals):
    """vals: an array('f') or array('i')"""
    if len(shape) == 1:
        dims = "(%d,)" % shape[0]
    else:
        dims = "(" + ", ".join(str(d) for d in shape) + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + " " * pad + "\n"
    if sys.byteorder != "little":
        vals = array(vals.typecode, vals)
        vals.byteswap()
    with open(path, "wb") as fh:
        fh.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode("latin1"))
        fh.write(vals.tobytes())


def pyrandom(seed, scale, count):
    """the generated feeds of gen.py: exact float32 values from Python's random()"""
    r = random.Random(seed)
    k = scale / float(1 << 23)
    f = math.floor
    rnd = r.random
    return array("f", [(f(rnd() * 16777216.0) - 8388608) * k for _ in range(count)])


def load_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as fh:
        return json.load(fh)


def cmd_args(case_dir, tmp):
    c = load_case(case_dir)
    out = [os.path.join(case_dir, c["graph"])]
    for f in c["feeds"]:
        if "gen" in f:
            n = 1
            for d in f["shape"]:
                n *= d
            path = os.path.join(tmp, "gen_%s.npy" % f["name"])
            write_npy(path, "<f4", tuple(f["shape"]), pyrandom(f["seed"], f["scale"], n))
        else:
            path = os.path.join(case_dir, f["file"])
        out += ["--feed", "%s=%s" % (f["name"], path)]
    for f in c["fetches"]:
        out += ["--fetch", "%s=%s" % (f["name"], os.path.join(tmp, f["file"]))]
    for g in c["grads"]:
        out += ["--grad", "%s=%s" % (g["name"], os.path.join(tmp, g["file"]))]
    if c["grads"] and c.get("grad_of"):
        out += ["--grad-of", c["grad_of"]]
    out += c.get("run_args", [])
    for a in out:
        if "\n" in a:
            raise ValueError("newline in an argument: %r" % a)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def compare_arrays(got, exp, rtol, atol):
    """(ok, max_abs, max_rel, message)"""
    gd, gs, gv = got
    ed, es, ev = exp
    if gs != es:
        return False, math.inf, math.inf, "shape %s, expected %s" % (list(gs), list(es))
    if ed == "i4" or gd == "i4":
        if gd != ed:
            return False, math.inf, math.inf, "dtype %s, expected %s" % (gd, ed)
        bad = sum(1 for a, b in zip(gv, ev) if a != b)
        mabs = max((abs(a - b) for a, b in zip(gv, ev)), default=0)
        return bad == 0, float(mabs), float(mabs), "%d of %d differ" % (bad, len(ev)) if bad else ""
    mabs = mrel = 0.0
    bad = 0
    for a, b in zip(gv, ev):
        d = abs(a - b)
        if d != d:  # NaN
            bad += 1
            mabs = mrel = math.inf
            continue
        if d > atol + rtol * abs(b):
            bad += 1
        if d > mabs:
            mabs = d
        r = d / max(abs(b), atol)
        if r > mrel:
            mrel = r
    return bad == 0, mabs, mrel, "%d of %d outside tolerance" % (bad, len(ev)) if bad else ""


def cmd_compare(case_dir, tmp):
    c = load_case(case_dir)
    rtol, atol = c["rtol"], c["atol"]
    ok, mabs, mrel, why = True, 0.0, 0.0, []
    for kind, lst in (("fetch", c["fetches"]), ("grad", c["grads"])):
        for e in lst:
            gp = os.path.join(tmp, e["file"])
            if not os.path.exists(gp):
                ok = False
                why.append("%s %s: not written" % (kind, e["name"]))
                continue
            try:
                got = read_npy(gp)
            except ValueError as err:
                ok = False
                why.append("%s %s: %s" % (kind, e["name"], err))
                continue
            exp = read_npy(os.path.join(case_dir, e["file"]))
            good, a, r, msg = compare_arrays(got, exp, rtol, atol)
            mabs, mrel = max(mabs, a), max(mrel, r)
            if not good:
                ok = False
                why.append("%s %s: %s (max_abs %.3g)" % (kind, e["name"], msg, a))
    print("%s %s max_abs=%.3g max_rel=%.3g%s" % ("PASS" if ok else "FAIL", c["name"], mabs, mrel,
                                               "  [" + "; ".join(why) + "]" if why else ""))
    return 0 if ok else 1


def cmd_selftest():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for shape in [(), (3,), (2, 3)]:
            n = 1
            for s in shape:
                n *= s
            v = array("f", [0.5 * i - 1 for i in range(n)])
            p = os.path.join(d, "a.npy")
            write_npy(p, "<f4", shape, v)
            dt, sh, back = read_npy(p)
            assert (dt, sh, list(back)) == ("f4", shape, list(v)), (shape, sh)
        x = ("f4", (2,), array("f", [1.0, 2.0]))
        assert compare_arrays(x, x, 2e-4, 2e-5)[0]
        y = ("f4", (2,), array("f", [1.0, 2.001]))
        assert not compare_arrays(y, x, 2e-4, 2e-5)[0]
        z = ("f4", (2,), array("f", [1.0, float("nan")]))
        assert not compare_arrays(z, x, 2e-4, 2e-5)[0]
        g = pyrandom(7, 0.5, 4)
        assert all(-0.5 <= t < 0.5 for t in g)
    print("npycmp selftest: ok")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "selftest":
        return cmd_selftest()
    if len(argv) != 4 or argv[1] not in ("args", "compare"):
        sys.stderr.write(__doc__)
        return 2
    return (cmd_args if argv[1] == "args" else cmd_compare)(argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
