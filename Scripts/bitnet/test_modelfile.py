#!/usr/bin/env python3
"""Self-checks of modelfile.py (numpy only): python3 -m unittest Scripts/bitnet/test_modelfile.py"""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bitnet import modelfile as mf  # noqa: E402


class ModelFileTests(unittest.TestCase):
    def test_pack_unpack_round_trip_and_bit_order(self):
        rng = np.random.default_rng(0)
        for c in (1, 63, 64, 65, 130):
            v = np.where(rng.random((3, 4, c)) < 0.5, -1, 1).astype(np.int8)
            p = mf.pack_bits(v)
            self.assertEqual(p.shape, (3, 4, mf.words(c)))
            np.testing.assert_array_equal(mf.unpack_bits(p, c), v)
        one = np.ones(70, np.int8)
        one[65] = -1
        p = mf.pack_bits(one)
        self.assertEqual(int(p[0]), 0)
        self.assertEqual(int(p[1]), 1 << 1)  # channel 65 = bit 1 of word 1; bit 1 means -1

    def test_fold_bn_sign_threshold_matches_float_reference(self):
        rng = np.random.default_rng(1)
        depth, n = 9 * 40, 200
        alpha = rng.uniform(0.01, 0.1, n)
        gamma = rng.normal(0, 1, n)  # about half negative: weights get flipped
        beta, mean, var = rng.normal(0, 1, n), rng.normal(0, 5, n), rng.uniform(0.1, 4, n)
        gamma[:3] = [1e-9, -1e-9, 2.0]
        beta[:3] = [5.0, 5.0, 100.0]  # constant outputs
        w = np.where(rng.random((n, depth)) < 0.5, -1, 1).astype(np.int64)
        x = np.where(rng.random((50, depth)) < 0.5, -1, 1).astype(np.int64)
        wf = w.copy()
        t, flip = mf.fold_bn_sign_threshold(depth, alpha, gamma, beta, mean, var, weights_pm1=wf)
        dot = x @ w.T  # float model
        y = gamma * (alpha * dot - mean) / np.sqrt(var + 1e-5) + beta
        want_negative = y < 0
        popcount = (depth - x @ wf.T) // 2  # runtime with the flipped weights
        got_negative = popcount >= t
        np.testing.assert_array_equal(got_negative, want_negative)
        self.assertTrue(flip.any() and not flip.all())

    def test_writer_reader_round_trip(self):
        m = mf.ModelWriter(8, 10, 1)
        n1 = m.add_first_conv(np.ones((64, 3, 3, 1), np.int8), 2, 128, thresholds=np.zeros(64, np.int32))
        n2 = m.add_binary_conv(n1, np.ones((8, 1, 1, 64), np.int8), 1, 1, scale=np.ones(8), bias=np.zeros(8))
        m.add_head(n2, "out", exit=False)
        data = m.to_bytes({"name": "t"})
        r = mf.read(data)
        self.assertEqual(r["input_shape"], (8, 10, 1))
        self.assertEqual([n["op_name"] for n in r["nodes"]], ["first_conv", "binary_conv"])
        self.assertEqual(r["nodes"][0]["shape"], (4, 5, 64))
        self.assertEqual(r["heads"], [{"node": 2, "exit": False, "name": "out"}])
        bad = bytearray(data)
        bad[-1] ^= 1
        with self.assertRaises(ValueError):
            mf.read(bytes(bad))


if __name__ == "__main__":
    unittest.main()
