#!/usr/bin/env python3
"""Float32 baseline for `bitspot bench kernels --onnx`: one Conv node in onnxruntime, one thread.

Usage: onnx_conv.py --shape CIN COUT H W K STRIDE [--shape ...] [--repetitions 7] [--threads 1]
Prints one JSON object per shape: {"shape": [...], "seconds": median, "gmacs": GMAC/s, "samples": [...]}.
Padding is K//2 on every side, the same geometry as the binary kernels. Times are process CPU time
(`--clock cpu`, the default: other users' time slices on a shared machine excluded; with one intra-op
thread it equals the run's own compute time) or wall-clock time (`--clock wall`).
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def conv_model(cin, cout, k, stride):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((cout, cin, k, k)).astype(np.float32)
    b = rng.standard_normal((cout,)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k],
                            strides=[stride, stride], pads=[k // 2] * 4)
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, None, None])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def bench(cin, cout, h, w, k, stride, repetitions, threads, seconds=0.05, clock=time.process_time):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(conv_model(cin, cout, k, stride), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((1, cin, h, w)).astype(np.float32)
    feed = {"x": x}
    y = sess.run(None, feed)[0]
    oh, ow = y.shape[2], y.shape[3]
    iterations = 1
    while True:
        t0 = clock()
        for _ in range(iterations):
            sess.run(None, feed)
        if clock() - t0 > seconds / 4:
            break
        iterations *= 2
    iterations *= 4
    samples = []
    for _ in range(repetitions):
        t0 = clock()
        for _ in range(iterations):
            sess.run(None, feed)
        samples.append((clock() - t0) / iterations)
    med = statistics.median(samples)
    macs = oh * ow * cout * k * k * cin
    return {"shape": [cin, cout, h, w, k, stride], "seconds": med, "gmacs": macs / med / 1e9,
            "samples": samples, "threads": threads, "onnxruntime": ort.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", nargs=6, type=int, action="append", required=True,
                    metavar=("CIN", "COUT", "H", "W", "K", "STRIDE"))
    ap.add_argument("--repetitions", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = ap.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for s in args.shape:
        r = bench(*s, repetitions=args.repetitions, threads=args.threads, clock=clock)
        r["clock"] = args.clock
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
