"""import_bitnet.py: a model file turned back into a checkpoint computes what the file computes,
exports to the same file, and bad or pruned files are refused (needs torch)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import models  # noqa: E402
import export  # noqa: E402
import import_bitnet as ib  # noqa: E402
from test_models import _randomise, use_second_base  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "import_bitnet.py"


def _file(tmp_path, m, h, w, task):
    m.eval()
    path = tmp_path / f"{task}.bitnet"
    export.export_net(m, h, w).write(path, {"name": "t", "task": task})
    return path


def _random_recognizer(seed, **kw):
    torch.manual_seed(seed)
    m = models.Recognizer(binary=True, **kw)
    _randomise(m)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):   # conv outputs of size ~ alpha * sqrt(9 cin): keep BN inputs in range
            mod.running_var.mul_(0.05)
    if m.exit_block is not None:
        m.exit_block.shift.data.uniform_(-0.3, 0.3)
    if kw.get("act_bases", 1) != 1:
        use_second_base(m)
    return m


@pytest.mark.parametrize("exit_block,act_bases,exit_after", [(False, 1, 3), (True, 1, 3), (False, 2, 3), (True, 2, 3),
                                                              (True, [1, 2, 1, 1, 2, 1, 1, 2], 3),
                                                              (False, 2, 4), (False, 2, 5),   # later exits (session 22)
                                                              (False, 2, (3, 5)), (True, 1, (3, 4)),   # two exits
                                                              (False, 1, "dup"), (True, 2, "dup")])   # repeated-channel shortcuts
def test_recognizer_round_trip(tmp_path, exit_block, act_bases, exit_after):
    late, shortcut = None, "proj"
    if exit_after == "dup":
        exit_after, shortcut = 3, "dup"
    if isinstance(exit_after, tuple):
        exit_after, late = exit_after
    m = _random_recognizer(4, exit_block=exit_block, act_bases=act_bases, exit_after=exit_after, late_exit_after=late,
                           shortcut=shortcut)
    path = _file(tmp_path, m, 32, 40, "recognizer")
    got, _, report = ib.import_file(path, n_batches=0, check_n=2)
    cfg = got.cfg
    assert cfg["blocks"] == [tuple(b) for b in m.cfg["blocks"]] and cfg["exit_after"] == m.cfg["exit_after"]
    assert cfg.get("exit_block", False) == exit_block and cfg.get("act_bases", 1) == act_bases
    assert cfg.get("late_exit_after") == late and cfg.get("shortcut", "proj") == shortcut
    assert all((b.proj is None) == (shortcut == "dup" or b.cin == b.cout) for b in got.blocks)
    assert report["float_rel_diff_after_export"] < 1e-6
    assert report["max_head_diff_vs_file"] < 1e-3
    x = torch.randint(0, 256, (3, 1, 32, 40)).float()
    with torch.no_grad():
        a, b = m(x), got.eval()(x)
    assert ("exit2" in b) == (late is not None)
    for head in ("final", "exit") + (("exit2",) if late is not None else ()):
        assert (a[head].argmax(1) == b[head].argmax(1)).float().mean() > 0.99
        assert torch.allclose(a[head], b[head], atol=1e-3), head
    # binary weights: the signs, at the fresh-layer magnitude
    for bm, bg in zip(m.blocks, got.blocks):
        assert torch.equal(torch.where(bm.weight >= 0, 1, -1), torch.where(bg.weight >= 0, 1, -1))
        assert torch.allclose(bg.weight.abs(), torch.full_like(bg.weight, ib.latent_magnitude(bg.cin)))
        assert bm.act_bases == bg.act_bases
        if bm.act_bases == 2:
            assert torch.equal(bm.shift2, bg.shift2) and float(bg.gamma.detach()) == pytest.approx(float(bm.gamma.detach()), rel=1e-5)


@pytest.mark.parametrize("act_bases,shortcut,out_stride", [(1, "proj", 4), (2, "proj", 4), ([2, 2, 2, 1, 1, 1], "proj", 4),
                                                           ([1, 2, 1, 1, 2, 1], "proj", 4), (1, "dup", 4), (2, "dup", 4),
                                                           (1, "proj", 2), (2, "dup", 2)])   # sub-cell maps (session 24)
def test_detector_round_trip(tmp_path, act_bases, shortcut, out_stride):
    torch.manual_seed(5)
    m = models.Detector(binary=True, act_bases=act_bases, shortcut=shortcut, out_stride=out_stride)
    _randomise(m)
    if act_bases != 1:
        use_second_base(m)
    path = _file(tmp_path, m, 80, 120, "detector")
    got, _, report = ib.import_file(path, n_batches=0, check_n=1)
    cfg = got.cfg
    assert cfg["task"] == "detector" and cfg["blocks"] == [tuple(b) for b in m.cfg["blocks"]]
    assert cfg.get("act_bases", 1) == act_bases and cfg.get("shortcut", "proj") == shortcut
    assert cfg.get("out_stride", 4) == out_stride
    assert report["float_rel_diff_after_export"] < 1e-6 and report["max_head_diff_vs_file"] < 1e-3
    x = torch.randint(0, 256, (1, 1, 80, 120)).float()
    with torch.no_grad():
        a, b = m.eval()(x)["maps"], got.eval()(x)["maps"]
    assert a.shape == b.shape == (1, 2, 80 // out_stride, 120 // out_stride)
    assert torch.allclose(a, b, atol=1e-3)


def test_tie_explanation_tells_a_flipped_tie_from_a_real_difference(tmp_path):
    """The import check accepts head differences only where a block's input lies within rounding of a
    threshold: a changed parameter is refused, a planted near-threshold activation is explained."""
    torch.manual_seed(6)
    m = models.Detector(binary=True, act_bases=2)
    _randomise(m)
    use_second_base(m)
    m.eval()
    path = _file(tmp_path, m, 80, 120, "detector")
    md = ib.mf.read(path)
    _, ids = ib.infer_layout(md)
    img = np.random.default_rng(3).integers(0, 256, (80, 120)).astype(np.uint8)
    assert ib.tie_explanation(m, md, ids, img) is None            # same function: nothing differs
    # a real difference: block 2's batch-norm bias moved after export; its input is untouched
    with torch.no_grad():
        m.blocks[2].bn.bias.add_(0.5)
    node, d, near = ib.tie_explanation(m, md, ids, img)
    assert node == ids["blocks"][2] and d < 1e-4 and near == 0
    with torch.no_grad():
        m.blocks[2].bn.bias.sub_(0.5)
    # a tie: the file's block 0 output 1e-4 above PyTorch's (below the agreement tolerance), and block 1's
    # thresholds for one channel 5e-5 below the file's value of one activation v: the file reads
    # v >= v - 5e-5 -> +1, PyTorch v - 1e-4 < v - 5e-5 -> -1
    with torch.no_grad():
        m.blocks[0].act.shift_out.add_(1e-4)
        seen = {}
        h = m.blocks[1].register_forward_hook(lambda mod, inp, out: seen.setdefault("x", inp[0]))
        m(torch.from_numpy(img.astype(np.float32))[None, None])
        h.remove()
        x = seen["x"][0]
        c = 0
        v = float(x[c].flatten()[x[c].flatten().abs().argmax()])
        m.blocks[1].shift[c] = -(v - 5e-5)
        m.blocks[1].shift2[c] = -(v - 5e-5)
    export.export_net(m, 80, 120).write(path, {"name": "t", "task": "detector"})
    md = ib.mf.read(path)
    with torch.no_grad():
        m.blocks[0].act.shift_out.sub_(1e-4)
    node, d, near = ib.tie_explanation(m, md, ids, img)
    assert node == ids["blocks"][1] and 5e-5 < d < 2e-4 and near >= 1


def test_recalibration_keeps_eval_function_and_matches_batch_statistics():
    """After recalibrate_bn the evaluation-mode outputs are unchanged, and a training-mode pass (batch
    statistics) on the calibration inputs gives nearly the same outputs, as it did not before (float64,
    so that no binary activation sits within rounding of its threshold)."""
    m = _random_recognizer(6).double()
    for mod in m.modules():                           # the importer's starting point: statistics 0 / 1
        if isinstance(mod, torch.nn.BatchNorm2d):
            s = mod.weight.detach() / torch.sqrt(mod.running_var + mod.eps)
            mod.bias.data -= s * mod.running_mean
            mod.weight.data = s * (1 + mod.eps) ** 0.5
            mod.running_mean.zero_(); mod.running_var.fill_(1.0)
    m.dropout.p = 0.0
    torch.manual_seed(7)
    batches = [torch.randint(0, 256, (16, 1, 32, 48)).double() for _ in range(4)]
    x = torch.cat(batches)
    m.eval()
    with torch.no_grad():
        before = m(x)["final"]
        saved = {k: v.clone() for k, v in m.state_dict().items()}
        m.train()
        train_before = m(x)["final"]       # (a training-mode pass moves the running statistics)
    m.load_state_dict(saved)
    ib.recalibrate_bn(m, batches)
    with torch.no_grad():
        m.eval()
        after = m(x)["final"]
        m.train()
        train_after = m(x)["final"]
    assert torch.allclose(before, after, atol=1e-6)
    gap_before = (train_before - before).abs().mean()
    gap_after = (train_after - after).abs().mean()
    assert gap_after < 0.2 * gap_before, (gap_before, gap_after)


def test_refuses_pruned_damaged_and_other_files(tmp_path):
    import train_rec
    m = _random_recognizer(8)
    train_rec.prune_masks(m, 0.3)
    with pytest.raises(ib.ImportFailure, match="pruned"):
        ib.import_file(_file(tmp_path, m, 32, 24, "recognizer"), n_batches=0)
    good = _file(tmp_path, _random_recognizer(9), 32, 24, "recognizer")
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "bad.bitnet"
    bad.write_bytes(bytes(data))
    with pytest.raises(ib.ImportFailure, match="not a readable"):
        ib.import_file(bad, n_batches=0)
    other = _file(tmp_path, _random_recognizer(10), 32, 24, "classifier")
    with pytest.raises(ib.ImportFailure, match="task"):
        ib.import_file(other, n_batches=0)


def test_cli_exit_codes_and_no_partial_output(tmp_path):
    good = _file(tmp_path, _random_recognizer(11), 32, 24, "recognizer")
    out = tmp_path / "ck" / "best.pt"
    run = lambda *a: subprocess.run([sys.executable, str(SCRIPT), *map(str, a)], capture_output=True, text=True)
    r = run(good, out, "--calibration-batches", "-1")
    assert r.returncode == 64 and "--calibration-batches" in r.stderr
    r = run(tmp_path / "missing.bitnet", out)
    assert r.returncode == 66 and "no such file" in r.stderr
    bad = tmp_path / "bad.bitnet"
    bad.write_bytes(good.read_bytes()[:200])
    r = run(bad, out)
    assert r.returncode == 65 and "bad.bitnet" in r.stderr and not out.exists()
    r = run(good, out, "--calibration-batches", "0")
    assert r.returncode == 0, r.stderr
    ck = torch.load(out, weights_only=False)
    assert ck["stage"] == "import" and ck["cfg"]["stem"] == 32
    r = run(good, out, "--calibration-batches", "0")
    assert r.returncode == 64 and "--overwrite" in r.stderr


def test_dup_shortcut_export_refuses_a_pruned_source_channel(tmp_path):
    """A duplicating shortcut's channel map can only name kept input channels: a pruned channel that a kept
    output channel repeats (zero in training) has no place in the file, so export says so."""
    m = _random_recognizer(6, shortcut="dup")
    m.mask0[3] = 0.0                       # the stem's channel 3: block 1 (32 -> 64) repeats it in outputs 3 and 35
    with pytest.raises(ValueError, match=r"pruned input channels \[3\]"):
        export.export_net(m.eval(), 32, 40)
    m.mask1[3] = m.mask1[35] = 0.0         # ... unless both of those are pruned too (and block 3's repeats of them)
    with pytest.raises(ValueError, match=r"pruned input channels \[3, 35\]"):
        export.export_net(m.eval(), 32, 40)
    m.mask2[[3, 35, 67, 99]] = 0.0
    export.export_net(m.eval(), 32, 40)
