#!/usr/bin/env python3
"""Static throughput of the aarch64 NEON tier's inner loop with llvm-mca (no ARM board needed).

Compiles Sources/BitKernels for aarch64 (Embedded Swift, `-target-cpu CPU`), takes the innermost loop of
`NEONKernels.binaryConv` that holds the `cnt.16b` popcounts, runs llvm-mca on it and prints binary MACs
per cycle: (number of `cnt v.16b` in the loop) x 128 / (cycles per iteration).
Usage: Scripts/bench/neon_mca.py [--cpu cortex-a53 --cpu cortex-a72] [--swiftc swiftc] [--llvm-mca llvm-mca]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# Ceilings for an LCE-style eor/cnt/add kernel, from the cores' SIMD pipes (see docs/kernels.md).
CEILINGS = {"cortex-a53": 20, "cortex-a72": 79}


def inner_loop(asm):
    lines = asm.split("\n")
    best = None
    starts = [i for i, l in enumerate(lines) if re.match(r"^\$e10BitKernels11NEONKernels\w*binaryConv\w*:", l)]
    for start in starts:
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(".Lfunc_end"))
        body = lines[start:end]
        for i, l in enumerate(body):
            m = re.match(r"^(\.LBB\w+):", l)
            if not m or not any("Inner Loop Header" in body[k] for k in range(i, min(i + 8, len(body)))):
                continue
            label = m.group(1)
            for j in range(i + 1, min(i + 300, len(body))):
                if re.match(r"^\s+(b(\.\w+)?|cb\w+\s+\w+,|tb\w+\s+\w+,\s*#\d+,)\s*" + re.escape(label) + r"\s*$", body[j]):
                    block = [x for x in body[i + 1:j + 1]
                             if x.strip() and not x.strip().startswith("//") and not re.match(r"^[.$\w]+:", x)]
                    cnts = sum(1 for x in block if re.match(r"^\s+cnt\s+v\d+\.16b", x))
                    if cnts and (best is None or cnts > best[1]):
                        best = (block, cnts)
                    break
    if best is None:
        raise SystemExit("no NEON popcount loop found")
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="append")
    ap.add_argument("--swiftc", default="swiftc")
    ap.add_argument("--llvm-mca", default="llvm-mca")
    ap.add_argument("--print-loop", action="store_true")
    args = ap.parse_args()
    sources = sorted(glob.glob(os.path.join(ROOT, "Sources/BitKernels/**/*.swift"), recursive=True))
    for cpu in args.cpu or ["cortex-a53", "cortex-a72"]:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "k.s")
            subprocess.run([args.swiftc, "-target", "aarch64-none-none-elf", "-enable-experimental-feature", "Embedded",
                            "-wmo", "-parse-as-library", "-O", "-target-cpu", cpu, "-module-name", "BitKernels",
                            *sources, "-S", "-o", out], check=True, stderr=subprocess.DEVNULL)
            block, cnts = inner_loop(open(out).read())
            loop = os.path.join(tmp, "loop.s")
            open(loop, "w").write("\n".join(block) + "\n")
            if args.print_loop:
                print("\n".join(block), file=sys.stderr)
            r = subprocess.run([args.llvm_mca, "-mtriple=aarch64", "-mcpu=" + cpu, "-iterations=1000", loop],
                               check=True, capture_output=True, text=True).stdout
            cycles = int(re.search(r"Total Cycles:\s+(\d+)", r).group(1))
            per_iter = cycles / 1000
            rthr = float(re.search(r"Block RThroughput:\s+([\d.]+)", r).group(1))
            macs = cnts * 128
            print(json.dumps({"cpu": cpu, "loop_instructions": len(block), "cnt_16b": cnts,
                              "binary_macs_per_iteration": macs, "cycles_per_iteration": per_iter,
                              "block_rthroughput": rthr, "binary_macs_per_cycle": round(macs / per_iter, 1),
                              "ceiling_macs_per_cycle": CEILINGS.get(cpu)}))


if __name__ == "__main__":
    main()
