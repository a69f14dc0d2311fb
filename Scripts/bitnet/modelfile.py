"""Writer and reader of BitSpot's `.bitnet` model files (numpy only). Format: docs/model-format.md.

The training exporter builds a model with `ModelWriter`, one `add_*` call per node in execution order,
marks heads with `add_head`, and calls `write(path)`. Helpers:

* `pack_bits(values)` packs ±1 values (last axis = channels) into uint64 words, bit 1 = -1.
* `fold_bn_sign_threshold(...)` turns a binary conv's batch-norm + sign into the integer popcount
  threshold the runtime uses, flipping the weights of channels whose batch-norm scale is negative.
"""
import json
import struct
import zlib

import numpy as np

MAGIC = b"BSPOTNET"
VERSION = (1, 0)
HEADER_SIZE = 64
SECTION_ENTRY_SIZE = 32
ALIGN = 64

SECTION_META, SECTION_GRAPH, SECTION_WEIGHTS, SECTION_THRESHOLDS, SECTION_HEADS = 1, 2, 3, 4, 5

OP_FIRST_CONV, OP_BINARY_CONV, OP_BIT_MAXPOOL, OP_AVG_POOL, OP_REAL_CONV1X1 = 1, 2, 3, 4, 5
OP_ADD, OP_PRELU, OP_SIGN_PACK, OP_GLOBAL_AVG_POOL, OP_UNPACK = 6, 7, 8, 9, 10
OP_NAMES = {1: "first_conv", 2: "binary_conv", 3: "bit_maxpool", 4: "avg_pool", 5: "real_conv1x1",
            6: "add", 7: "prelu", 8: "sign_pack", 9: "global_avg_pool", 10: "unpack"}

DT_U64, DT_I8, DT_I32, DT_F32 = 1, 2, 3, 4
DTYPES = {DT_U64: np.dtype("<u8"), DT_I8: np.dtype("i1"), DT_I32: np.dtype("<i4"), DT_F32: np.dtype("<f4")}

ROLE_WEIGHTS, ROLE_THRESHOLDS, ROLE_SCALE, ROLE_BIAS, ROLE_SHORTCUT_MAP = 1, 2, 3, 4, 5
ROLE_PRELU_SHIFT_IN, ROLE_PRELU_SLOPE, ROLE_PRELU_SHIFT_OUT = 6, 7, 8
ROLE_NAMES = {1: "weights", 2: "thresholds", 3: "scale", 4: "bias", 5: "shortcut_map",
              6: "prelu_shift_in", 7: "prelu_slope", 8: "prelu_shift_out"}

OUTPUT_BITS, OUTPUT_REAL = 0, 1
NONE = 0xFFFFFFFF
NODE_HEADER = struct.Struct("<HHII IIII iiiiii I")  # op, flags, in0, in1, h, w, c, orig_c, attrs[6], nparams
PARAM_REF = struct.Struct("<IIIIQ")  # role, dtype, section, count, offset
HEAD_RECORD = struct.Struct("<II32s")  # node, flags (bit 0: exit), name


def words(channels):
    return (channels + 63) // 64


def pack_bits(values):
    """Packs ±1 (or bool "is -1") values, channels on the last axis, into uint64 words (bit 1 = -1)."""
    v = np.asarray(values)
    neg = (v < 0) if v.dtype != np.bool_ else v
    c = neg.shape[-1]
    w = words(c)
    pad = np.zeros(neg.shape[:-1] + (w * 64 - c,), dtype=bool)
    bits = np.concatenate([neg, pad], axis=-1).reshape(neg.shape[:-1] + (w, 64)).astype(np.uint64)
    return (bits << np.arange(64, dtype=np.uint64)).sum(axis=-1, dtype=np.uint64)


def unpack_bits(packed, channels):
    """The ±1 int8 values of packed words (inverse of pack_bits)."""
    p = np.asarray(packed, dtype=np.uint64)
    bits = (p[..., None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    bits = bits.reshape(p.shape[:-1] + (p.shape[-1] * 64,))[..., :channels]
    return np.where(bits == 1, -1, 1).astype(np.int8)


def fold_bn_sign_threshold(depth, alpha, gamma, beta, mean, var, eps=1e-5, weights_pm1=None):
    """Integer thresholds for sign(BN(alpha * dot)) after a binary conv of `depth` terms.

    dot = depth - 2 * popcount. Returns (thresholds int32, flip bool): output bit is 1 (value -1) iff
    popcount >= threshold, after the weights of channels with `flip` are negated (this function negates
    them in `weights_pm1` (out, ...) when given). A channel whose output is constant gets threshold 0
    (always -1) or depth + 1 (never).
    """
    alpha, gamma, beta, mean, var = (np.asarray(a, dtype=np.float64) for a in (alpha, gamma, beta, mean, var))
    s = alpha * gamma / np.sqrt(var + eps)  # y = s * dot + b
    b = beta - gamma * mean / np.sqrt(var + eps)
    pc = np.arange(depth + 1, dtype=np.float64)
    thresholds = np.zeros(s.shape, dtype=np.int32)
    flip = s < 0
    for c in range(s.size):
        if flip[c]:
            # negated weights: popcount' = depth - popcount, dot' = -dot, y = -s * dot' + b
            y = (-s[c]) * (depth - 2 * pc) + b[c]
        else:
            y = s[c] * (depth - 2 * pc) + b[c]
        neg = y < 0  # monotone non-decreasing in popcount
        thresholds[c] = int(np.argmax(neg)) if neg.any() else depth + 1
    if weights_pm1 is not None:
        weights_pm1[flip] *= -1
    return thresholds, flip


class ModelWriter:
    """Builds a model node by node (execution order). Node 0 is the 8-bit input image."""

    def __init__(self, height, width, channels=1):
        self.input_shape = (height, width, channels)
        self.nodes = []  # dicts
        self.heads = []
        self.shapes = {0: (height, width, channels)}
        self.kinds = {0: "image"}

    # -- node builders --------------------------------------------------------------------------
    def _add(self, op, inputs, shape, kind, attrs=(), params=(), flags=0, orig_c=None):
        idx = len(self.nodes) + 1
        attrs = list(attrs) + [0] * (6 - len(attrs))
        self.nodes.append(dict(op=op, flags=flags, inputs=list(inputs) + [None] * (2 - len(inputs)),
                               shape=shape, orig_c=orig_c if orig_c is not None else shape[2],
                               attrs=attrs, params=list(params)))
        self.shapes[idx] = shape
        self.kinds[idx] = kind
        return idx

    @staticmethod
    def _conv_out(n, k, s):
        return (n + 2 * (k // 2) - k) // s + 1

    def add_first_conv(self, weights_i8, stride=1, zero_point=0, thresholds=None, scale=None, bias=None, orig_c=None):
        """Real 3x3 conv (pad 1) of the 8-bit input; weights (outC, 3, 3, inC) int8.
        Bits output when `thresholds` (int32, bit 1 iff acc < t) is given, else real `scale * acc + bias`."""
        h, w, c = self.shapes[0]
        wt = np.asarray(weights_i8, dtype=np.int8)
        assert wt.shape[1:] == (3, 3, c)
        oc = wt.shape[0]
        shape = (self._conv_out(h, 3, stride), self._conv_out(w, 3, stride), oc)
        params = [(ROLE_WEIGHTS, DT_I8, wt)]
        if thresholds is not None:
            params.append((ROLE_THRESHOLDS, DT_I32, thresholds))
            kind, out = "bits", OUTPUT_BITS
        else:
            params += [(ROLE_SCALE, DT_F32, scale), (ROLE_BIAS, DT_F32, bias)]
            kind, out = "real", OUTPUT_REAL
        return self._add(OP_FIRST_CONV, [0], shape, kind, [stride, zero_point, out], params, orig_c=orig_c)

    def add_binary_conv(self, src, weights_pm1, kernel, stride=1, thresholds=None, scale=None, bias=None,
                        shortcut=None, shortcut_map=None, prelu=None, orig_c=None):
        """Binary conv (3x3 pad +1, or 1x1) of bits node `src`; weights ±1 (outC, k, k, inC).
        Bits output with `thresholds` (bit 1 iff popcount >= t), else real `scale * dot + bias`
        [+ shortcut node (channel map optional)] [then shifted PReLU (shift_in, slope, shift_out)]."""
        assert self.kinds[src] == "bits"
        h, w, c = self.shapes[src]
        wt = np.asarray(weights_pm1)
        assert wt.shape[1:] == (kernel, kernel, c), (wt.shape, kernel, c)
        oc = wt.shape[0]
        shape = (self._conv_out(h, kernel, stride), self._conv_out(w, kernel, stride), oc)
        params = [(ROLE_WEIGHTS, DT_U64, pack_bits(wt))]
        inputs = [src]
        flags = 0
        if thresholds is not None:
            assert shortcut is None and prelu is None
            params.append((ROLE_THRESHOLDS, DT_I32, thresholds))
            kind, out = "bits", OUTPUT_BITS
        else:
            params += [(ROLE_SCALE, DT_F32, scale), (ROLE_BIAS, DT_F32, bias)]
            kind, out = "real", OUTPUT_REAL
            if shortcut is not None:
                assert self.kinds[shortcut] == "real" and self.shapes[shortcut][:2] == shape[:2]
                inputs.append(shortcut)
                if shortcut_map is not None:
                    params.append((ROLE_SHORTCUT_MAP, DT_I32, shortcut_map))
            if prelu is not None:
                flags |= 1
                params += [(ROLE_PRELU_SHIFT_IN, DT_F32, prelu[0]), (ROLE_PRELU_SLOPE, DT_F32, prelu[1]),
                           (ROLE_PRELU_SHIFT_OUT, DT_F32, prelu[2])]
        return self._add(OP_BINARY_CONV, inputs, shape, kind, [kernel, stride, out], params, flags, orig_c)

    def add_bit_maxpool(self, src, ph, pw):
        h, w, c = self.shapes[src]
        return self._add(OP_BIT_MAXPOOL, [src], (-(-h // ph), -(-w // pw), c), "bits", [ph, pw])

    def add_avg_pool(self, src, ph, pw):
        h, w, c = self.shapes[src]
        return self._add(OP_AVG_POOL, [src], (-(-h // ph), -(-w // pw), c), "real", [ph, pw])

    def add_real_conv1x1(self, src, weights, bias, stride=1, orig_c=None):
        """Real 1x1 conv, weights (outC, inC) float32."""
        h, w, c = self.shapes[src]
        wt = np.asarray(weights, dtype=np.float32)
        assert wt.shape[1] == c
        shape = (self._conv_out(h, 1, stride), self._conv_out(w, 1, stride), wt.shape[0])
        return self._add(OP_REAL_CONV1X1, [src], shape, "real", [stride],
                         [(ROLE_WEIGHTS, DT_F32, wt), (ROLE_BIAS, DT_F32, bias)], orig_c=orig_c)

    def add_add(self, a, b, shortcut_map=None):
        """a + b[..., map] (real); `a` fixes the shape."""
        params = [] if shortcut_map is None else [(ROLE_SHORTCUT_MAP, DT_I32, shortcut_map)]
        return self._add(OP_ADD, [a, b], self.shapes[a], "real", [], params)

    def add_prelu(self, src, shift_in, slope, shift_out):
        return self._add(OP_PRELU, [src], self.shapes[src], "real", [],
                         [(ROLE_PRELU_SHIFT_IN, DT_F32, shift_in), (ROLE_PRELU_SLOPE, DT_F32, slope),
                          (ROLE_PRELU_SHIFT_OUT, DT_F32, shift_out)])

    def add_sign_pack(self, src, thresholds):
        """Bits of a real node: bit 1 (value -1) iff x < thresholds[c] (ReActNet shift b: t = -b)."""
        return self._add(OP_SIGN_PACK, [src], self.shapes[src], "bits", [],
                         [(ROLE_THRESHOLDS, DT_F32, thresholds)])

    def add_global_avg_pool(self, src):
        return self._add(OP_GLOBAL_AVG_POOL, [src], (1, 1, self.shapes[src][2]), "real")

    def add_unpack(self, src):
        return self._add(OP_UNPACK, [src], self.shapes[src], "real")

    def add_head(self, node, name, exit=True):
        """Marks real node `node` as a head; `exit` lets the executor stop there."""
        assert self.kinds[node] == "real"
        self.heads.append((node, 1 if exit else 0, name))

    # -- serialisation ---------------------------------------------------------------------------
    def to_bytes(self, meta):
        weights = bytearray()
        thresholds = bytearray()
        graph = bytearray(struct.pack("<IIII", *self.input_shape, len(self.nodes)))
        for n in self.nodes:
            ins = [NONE if i is None else i for i in n["inputs"]]
            graph += NODE_HEADER.pack(n["op"], n["flags"], ins[0], ins[1], *n["shape"], n["orig_c"],
                                      *n["attrs"], len(n["params"]))
            for role, dt, arr in n["params"]:
                a = np.ascontiguousarray(np.asarray(arr).astype(DTYPES[dt]).reshape(-1))
                blob, section = (thresholds, SECTION_THRESHOLDS) if role == ROLE_THRESHOLDS else (weights, SECTION_WEIGHTS)
                while len(blob) % ALIGN:
                    blob.append(0)
                graph += PARAM_REF.pack(role, dt, section, a.size, len(blob))
                blob += a.tobytes()
        heads = bytearray(struct.pack("<I", len(self.heads)))
        for node, flags, name in self.heads:
            heads += HEAD_RECORD.pack(node, flags, name.encode()[:32])
        meta_bytes = json.dumps(meta, sort_keys=True).encode()
        sections = [(SECTION_META, meta_bytes), (SECTION_GRAPH, bytes(graph)), (SECTION_WEIGHTS, bytes(weights)),
                    (SECTION_THRESHOLDS, bytes(thresholds)), (SECTION_HEADS, bytes(heads))]
        table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * len(sections)
        body = bytearray()
        offset = -(-table_end // ALIGN) * ALIGN
        table = bytearray()
        for kind, data in sections:
            pad = offset - table_end - len(body)
            body += b"\0" * pad
            table += struct.pack("<IIQQQ", kind, 0, offset, len(data), 0)
            body += data
            offset = -(-(offset + len(data)) // ALIGN) * ALIGN
        payload = bytes(table) + bytes(body)
        size = HEADER_SIZE + len(payload)
        crc = zlib.crc32(payload) & 0xFFFFFFFF
        header = MAGIC + struct.pack("<HHIQIII", VERSION[0], VERSION[1], HEADER_SIZE, size, len(sections), 1, crc)
        header += b"\0" * (HEADER_SIZE - len(header))
        return header + payload

    def write(self, path, meta):
        data = self.to_bytes(meta)
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


def read(path_or_bytes):
    """Parses a model file into a dict: meta, input_shape, nodes (with numpy params), heads.
    Checks the magic, version, sizes and CRC; the Swift parser is the strict one."""
    data = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else open(path_or_bytes, "rb").read()
    if data[:8] != MAGIC:
        raise ValueError("not a BitSpot model (bad magic)")
    major, minor, hsize, size, nsec, ckind, crc = struct.unpack_from("<HHIQIII", data, 8)
    if major != VERSION[0] or size != len(data) or zlib.crc32(data[HEADER_SIZE:]) & 0xFFFFFFFF != crc:
        raise ValueError("bad version, size or checksum")
    sections = {}
    for i in range(nsec):
        kind, _, off, ln, _ = struct.unpack_from("<IIQQQ", data, HEADER_SIZE + i * SECTION_ENTRY_SIZE)
        sections[kind] = data[off:off + ln]
    g = sections[SECTION_GRAPH]
    h, w, c, n = struct.unpack_from("<IIII", g, 0)
    pos = 16
    nodes = []
    for _ in range(n):
        f = NODE_HEADER.unpack_from(g, pos)
        pos += NODE_HEADER.size
        node = dict(op=f[0], op_name=OP_NAMES[f[0]], flags=f[1], inputs=[None if i == NONE else i for i in f[2:4]],
                    shape=tuple(f[4:7]), orig_c=f[7], attrs=list(f[8:14]), params={})
        for _ in range(f[14]):
            role, dt, sec, count, off = PARAM_REF.unpack_from(g, pos)
            pos += PARAM_REF.size
            node["params"][ROLE_NAMES[role]] = np.frombuffer(sections[sec], DTYPES[dt], count, off)
        nodes.append(node)
    hd = sections[SECTION_HEADS]
    heads = []
    for i in range(struct.unpack_from("<I", hd, 0)[0]):
        node, flags, name = HEAD_RECORD.unpack_from(hd, 4 + i * HEAD_RECORD.size)
        heads.append(dict(node=node, exit=bool(flags & 1), name=name.rstrip(b"\0").decode()))
    return dict(meta=json.loads(sections[SECTION_META]), input_shape=(h, w, c), nodes=nodes, heads=heads)
