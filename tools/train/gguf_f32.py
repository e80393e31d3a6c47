"""A minimal GGUF v3 writer for the F32 file BitNet's converter hands to llama-quantize: keys
in the given order, F32 tensors, data aligned to 32 bytes (no general.alignment key, as the
converter writes it). `bitjit quantize` turns it into the I2_S file."""

import struct

import numpy as np

_U32, _I32, _F32, _BOOL, _STR, _ARR = 4, 5, 6, 7, 8, 9
ALIGN = 32


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def u32(v):
    return (_U32, struct.pack("<I", v))


def f32(v):
    return (_F32, struct.pack("<f", v))


def boolean(v):
    return (_BOOL, struct.pack("<B", 1 if v else 0))


def string(v):
    return (_STR, _str(v))


def str_array(vs):
    return (_ARR, struct.pack("<IQ", _STR, len(vs)) + b"".join(_str(v) for v in vs))


def f32_array(vs):
    return (_ARR, struct.pack("<IQ", _F32, len(vs)) + np.asarray(vs, "<f4").tobytes())


def i32_array(vs):
    return (_ARR, struct.pack("<IQ", _I32, len(vs)) + np.asarray(vs, "<i4").tobytes())


def write(path, kvs, tensors):
    """kvs: [(key, (type, bytes))]; tensors: [(name, float32 array in ggml order: the numpy
    shape is ne reversed, so ne[0] is the last, contiguous axis)]."""
    head = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
    for key, (t, payload) in kvs:
        head += _str(key) + struct.pack("<I", t) + payload
    offset, blobs = 0, []
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        ne = list(reversed(array.shape))
        head += _str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        head += struct.pack("<IQ", 0, offset)
        pad = (-len(data)) % ALIGN
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head += b"\0" * ((-len(head)) % ALIGN)
    with open(path, "wb") as f:
        f.write(head)
        for blob in blobs:
            f.write(blob)
