"""cgtest: the Python helpers of the shell tests (tests/cli/*.sh), for their `"$PY" - <<EOF`
scripts; tests/cli/lib.bash puts this folder on PYTHONPATH. Standard library only (numpy is
imported by f32_reader alone, when it is called)."""
import glob
import json
import struct


def _read(path):
    """(bytes of the safetensors file PATH, its header size, its parsed header)."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return b, n, json.loads(b[8:8 + n])


def tensors(path):
    """The tensors of the safetensors file PATH: {name: raw bytes}, __metadata__ left out."""
    b, n, h = _read(path)
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in h.items() if k != "__metadata__"}


def last_checkpoint(run):
    """The path of run directory RUN's checkpoint of the highest step."""
    return sorted(glob.glob(run + "/checkpoints/step-*.safetensors"))[-1]


def f32_reader(path):
    """A function t(NAME): the f32 tensor NAME of the safetensors file PATH as a numpy array of
    its shape."""
    import numpy as np
    b, n, h = _read(path)

    def t(name):
        m = h[name]
        s, e = m["data_offsets"]
        return np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32).reshape(m["shape"])
    return t
