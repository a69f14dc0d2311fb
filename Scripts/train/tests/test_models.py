"""Model shapes, pruning masks and the exporter's agreement with PyTorch (needs torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import models  # noqa: E402


def _randomise_bn(m):
    """Batch-norm statistics and affine parameters far from their defaults."""
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-3, 3); mod.running_var.uniform_(0.5, 4)
            mod.weight.data.uniform_(-1.5, 1.5); mod.bias.data.uniform_(-1, 1)


def test_recognizer_shapes_and_lengths():
    torch.manual_seed(0)
    for binary in (False, True):
        m = models.Recognizer(binary=binary).eval()
        out = m(torch.randint(0, 256, (2, 1, 32, 52)).float())
        T = models.output_lengths([52])[0]
        assert out["final"].shape == (2, 37, T) and out["exit"].shape == (2, 37, T)


def test_binary_padding_is_plus_one():
    from binary import Block
    b = Block(4, 4, 1, binary=True).eval()
    with torch.no_grad():
        b.weight.fill_(1.0)
        b.bn.running_mean.zero_(); b.bn.running_var.fill_(1 - b.bn.eps); b.bn.weight.fill_(1); b.bn.bias.zero_()
        b.act.slope.fill_(1.0)
        x = torch.full((1, 4, 3, 3), -1.0)          # every activation -1
        y = b(x) - x                                  # the conv part only
    # centre: 9 taps x 4 channels of -1 -> alpha * -36; corner: 4 real taps, 5 padded +1 taps -> alpha * 4 * (5 - 4)
    alpha = 1.0
    assert y[0, 0, 1, 1].item() == pytest.approx(-36 * alpha, abs=1e-3)
    assert y[0, 0, 0, 0].item() == pytest.approx(4 * (5 - 4) * alpha, abs=1e-3)


def test_actbin_binarises_activations_not_weights():
    """Stage actbin (ReActNet step 1): the conv sees the +1-padded sign of its input and the real weights;
    the same state loaded into the student gives sign(W) x mean|W|; stage wbin (diagnostic) the real,
    zero-padded input and sign(W) x mean|W|; export refuses both."""
    from binary import Block
    import export
    torch.manual_seed(0)
    a = Block(4, 4, 1, binary=True, real_weights=True).eval()
    b = Block(4, 4, 1, binary=True).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 4, 5, 5)
    xb = torch.nn.functional.pad(torch.where(x >= 0, 1.0, -1.0), (1, 1, 1, 1), value=1.0)
    with torch.no_grad():
        ya = a.bn(torch.nn.functional.conv2d(xb, a.weight))
        yb = b.bn(torch.nn.functional.conv2d(xb, torch.sign(b.weight) * b.weight.abs().mean(dim=(1, 2, 3), keepdim=True)))
        assert torch.allclose(a(x), a.act(ya + x), atol=1e-5)
        assert torch.allclose(b(x), b.act(yb + x), atol=1e-5)
        assert not torch.allclose(a(x), b(x), atol=1e-3)
        c = Block(4, 4, 1, binary=True, real_acts=True).eval()      # stage wbin: the converse
        c.load_state_dict(a.state_dict())
        wb = torch.sign(c.weight) * c.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        yc = c.bn(torch.nn.functional.conv2d(x, wb, None, 1, 1))
        assert torch.allclose(c(x), c.act(yc + x), atol=1e-5)
    m = models.Recognizer(binary=True, real_weights=True)
    assert m.cfg["real_weights"] and all(blk.real_weights for blk in m.blocks)
    assert models.from_cfg(m.cfg).blocks[0].real_weights
    assert not models.from_cfg(m.cfg, binary=False).blocks[0].binary
    with pytest.raises(AssertionError):
        export.export_recognizer(m.eval(), 24)
    w = models.Recognizer(binary=True, real_acts=True)
    assert w.cfg["real_acts"] and models.from_cfg(w.cfg).blocks[0].real_acts
    with pytest.raises(AssertionError):
        export.export_recognizer(w.eval(), 24)


def test_two_activation_bases_block():
    """act_bases=2: the conv sees pad(sign(x + shift)) + gamma * pad(sign(x + shift2)) (padding +1 in both
    bases); with gamma = 0 it is the one-base block, and a one-base block's state loads into it."""
    from binary import Block
    torch.manual_seed(2)
    one = Block(4, 6, 1, binary=True).eval()
    _randomise_bn(one)
    one.shift.data.uniform_(-0.3, 0.3)
    two = Block(4, 6, 1, binary=True, act_bases=2).eval()
    missing, unexpected = two.load_state_dict(one.state_dict(), strict=False)
    assert sorted(missing) == ["gamma", "shift2"] and not unexpected
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        assert torch.equal(one(x), two(x))            # gamma starts at 0
        two.gamma.fill_(0.6)
        two.shift2.uniform_(-0.8, 0.2)
        pm = lambda s: torch.nn.functional.pad(torch.where(x + s.view(1, -1, 1, 1) >= 0, 1.0, -1.0), (1, 1, 1, 1), value=1.0)
        xb = pm(two.shift) + 0.6 * pm(two.shift2)
        wb = torch.sign(two.weight) * two.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        y = two.bn(torch.nn.functional.conv2d(xb, wb))
        assert torch.allclose(two(x), two.act(y + two.proj(x)), atol=1e-5)
        assert not torch.allclose(two(x), one(x), atol=1e-3)
    with pytest.raises(ValueError):
        Block(4, 4, 1, act_bases=3)
    m = models.Recognizer(binary=True, act_bases=2)
    assert m.cfg["act_bases"] == 2 and models.from_cfg(m.cfg).blocks[0].act_bases == 2
    assert models.from_cfg(m.cfg, binary=False).blocks[0].act_bases == 1    # a teacher has real activations
    assert "act_bases" not in models.Recognizer(binary=False, act_bases=2).cfg
    assert m.op_counts()["binary_macs"] == 2 * models.Recognizer(binary=True).op_counts()["binary_macs"]


@pytest.mark.parametrize("exit_block", [False, True])
def test_two_bases_export_matches_torch_with_pruning(exit_block):
    """A two-base network (second conv per block, pruned inputs folded as +1 in both bases) exports to a
    file whose numpy reference run agrees with PyTorch on both heads."""
    import export
    import train_rec
    torch.manual_seed(3)
    m = models.Recognizer(binary=True, act_bases=2, exit_block=exit_block)
    _randomise_bn(m)
    for b in m.binary_blocks():
        b.shift.data.uniform_(-0.3, 0.3)
    use_second_base(m, gamma=(-0.8, 0.8))
    if not exit_block:        # an exit block after pruned channels is not exported
        train_rec.prune_masks(m, 0.4)
    m.eval()
    w = export.export_recognizer(m, 24)
    imgs = [np.random.default_rng(i).integers(0, 256, (32, 24)).astype(np.uint8) for i in range(2)]
    worst, agree, md = export.check(m, w, {"name": "t"}, imgs)
    assert worst < 1e-3 and agree == 1.0
    nb = 7 + exit_block
    assert sum(n["op_name"] == "binary_conv" for n in md["nodes"]) == 2 * nb
    assert sum(n["op_name"] == "sign_pack" for n in md["nodes"]) == 2 * nb


def test_export_matches_torch_with_pruning():
    import export
    import train_rec
    torch.manual_seed(0)
    m = models.Recognizer(binary=True)
    _randomise_bn(m)
    for b in m.blocks:
        b.shift.data.uniform_(-0.3, 0.3)
    train_rec.prune_masks(m, 0.4)
    kept, total = m.binary_channels()
    assert kept < total
    m.eval()
    w = export.export_recognizer(m, 24)
    imgs = [np.random.default_rng(i).integers(0, 256, (32, 24)).astype(np.uint8) for i in range(2)]
    worst, agree, md = export.check(m, w, {"name": "t"}, imgs)
    assert worst < 1e-3 and agree == 1.0
    assert md["heads"][0]["name"] == "exit" and md["heads"][0]["exit"]


def test_exit_block_exports_and_counts():
    """A binary block on the exit branch (stage exithead): the exported file agrees with PyTorch on both
    heads, and the block's weights and MACs are counted."""
    import export
    torch.manual_seed(1)
    plain, m = models.Recognizer(binary=True), models.Recognizer(binary=True, exit_block=True)
    _randomise_bn(m)
    m.exit_block.shift.data.uniform_(-0.3, 0.3)
    m.eval()
    w = export.export_recognizer(m, 40)
    imgs = [np.random.default_rng(i).integers(0, 256, (32, 40)).astype(np.uint8) for i in range(2)]
    worst, agree, md = export.check(m, w, {"name": "t"}, imgs)
    assert worst < 1e-3 and agree == 1.0
    a, b = plain.op_counts(), m.op_counts()
    extra = 32 * 128 * 128 * 9                     # 1 x 32 time steps, 128 -> 128 channels, 3 x 3
    assert b["exit_binary_macs"] - a["exit_binary_macs"] == extra
    assert b["binary_macs"] - a["binary_macs"] == extra
    assert models.param_bytes(m)[1] > models.param_bytes(plain)[1] + 128 * 128 * 9 // 8


@pytest.mark.parametrize("act_bases", [1, 2])
def test_detector_shapes_and_export(act_bases):
    import export
    import train_rec
    torch.manual_seed(1)
    m = models.Detector(binary=True, act_bases=act_bases)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-3, 3); mod.running_var.uniform_(0.5, 4)
    if act_bases == 2:    # the second base in use (gamma 0 would hide a wrong second conv)
        use_second_base(m)
    train_rec.prune_masks(m, 0.4)
    m.eval()
    out = m(torch.zeros(1, 1, 360, 640))
    assert out["maps"].shape == (1, 2, 90, 160) and out["tiles"].shape == (1, 1, 9, 16)
    w = export.export_detector(m, 40, 48)
    img = np.random.default_rng(0).integers(0, 256, (40, 48)).astype(np.uint8)
    worst, md = export.check_maps(m, w, {"name": "t"}, [img])
    assert worst < 1e-3
    assert sum(n["op_name"] == "binary_conv" for n in md["nodes"]) == len(m.blocks) * act_bases
    assert models.from_cfg(m.cfg).blocks[0].act_bases == act_bases
    assert (models.Detector(binary=True, act_bases=act_bases).op_counts()["binary_macs"]
            == act_bases * models.Detector(binary=True).op_counts()["binary_macs"])


def test_per_block_activation_bases():
    """act_bases as a list (session 19): the second base only in the blocks named; counted, exported and
    rebuilt per block; a one-count list collapses; a list of the wrong length is refused."""
    import export
    import train_rec
    torch.manual_seed(3)
    mixed = [2, 2, 2, 1, 1, 1]
    m = models.Detector(binary=True, act_bases=mixed)
    assert m.cfg["act_bases"] == mixed and [b.act_bases for b in m.blocks] == mixed
    assert [b.act_bases for b in models.from_cfg(m.cfg).blocks] == mixed
    assert models.Detector(binary=True, act_bases=[2] * 6).cfg["act_bases"] == 2
    assert "act_bases" not in models.Detector(binary=True, act_bases=[1] * 6).cfg
    with pytest.raises(ValueError):
        models.Detector(binary=True, act_bases=[2, 1])
    # binary MACs: the one-base count plus blocks 0-2's once more (block 0 at stride 4 after its stride 2)
    one = models.Detector(binary=True).op_counts(640, 360)["binary_macs"]
    extra = 90 * 160 * 9 * (16 * 32 + 32 * 32 + 32 * 48)
    assert m.op_counts(640, 360)["binary_macs"] == one + extra
    assert models.param_bytes(m)[1] > models.param_bytes(models.Detector(binary=True))[1]
    _randomise_bn(m)
    use_second_base(m)
    train_rec.prune_masks(m, 0.4)
    m.eval()
    w = export.export_detector(m, 40, 48)
    img = np.random.default_rng(1).integers(0, 256, (40, 48)).astype(np.uint8)
    worst, md = export.check_maps(m, w, {"name": "t"}, [img])
    assert worst < 1e-3
    assert sum(n["op_name"] == "binary_conv" for n in md["nodes"]) == sum(mixed)
    # a recogniser with an exit block: one count per backbone block, then the exit block's
    n = len(models.REC_BLOCKS) + 1
    r = models.Recognizer(binary=True, exit_block=True, act_bases=[1] * (n - 1) + [2])
    assert r.exit_block.act_bases == 2 and all(b.act_bases == 1 for b in r.blocks)


def test_second_base_grows_only_where_missing():
    """A two-base checkpoint loaded into the same network with a new (two-base) exit block: only the exit
    block's second base is grown (gamma 0); the backbone keeps the shifts and gammas it was trained with."""
    import train_rec
    torch.manual_seed(4)
    src = models.Recognizer(binary=True, act_bases=2)
    use_second_base(src)
    dst = models.Recognizer(binary=True, act_bases=2, exit_block=True)
    missing, _ = dst.load_state_dict(src.state_dict(), strict=False)
    grown = train_rec.grow_second_base(dst, missing, None)
    assert grown == ["exit_block"]
    assert float(dst.exit_block.gamma) == 0.0
    for a, b in zip(src.blocks, dst.blocks):
        assert torch.equal(a.shift2, b.shift2) and torch.equal(a.gamma, b.gamma) and float(b.gamma) != 0.0


def test_act_bases_option():
    """--act-bases: 1, 2 or a per-block list; a list may drop an --init checkpoint's second bases, one count
    may not, and a resumed run keeps its layout."""
    import argparse
    import train_rec
    assert train_rec.parse_act_bases("2") == 2 and train_rec.parse_act_bases("2,2,1") == [2, 2, 1]
    for bad in ("3", "2,x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            train_rec.parse_act_bases(bad)

    class Parser:
        def error(self, msg):
            raise SystemExit(msg)

    def resolve(tmp, want, had, resume=False):
        ck = tmp / "init.pt"
        torch.save(dict(cfg=dict(act_bases=had) if had != 1 else {}), ck)
        out = tmp / "out"
        out.mkdir(exist_ok=True)
        if resume:
            torch.save(dict(cfg=dict(act_bases=had)), out / "last.pt")
        args = argparse.Namespace(out=out, resume=resume, init=ck, act_bases=want, stage="student")
        return train_rec.resolve_act_bases(args, Parser())

    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        assert resolve(tmp, None, 2) == 2 and resolve(tmp, None, 1) == 1
        assert resolve(tmp, 2, 1) == 2
        assert resolve(tmp, [2, 2, 2, 1, 1, 1], 2) == [2, 2, 2, 1, 1, 1]     # dropped where asked
        with pytest.raises(SystemExit, match="cannot be dropped"):
            resolve(tmp, 1, 2)
        with pytest.raises(SystemExit, match="cannot be dropped"):
            resolve(tmp, 1, [2, 1, 1])
        with pytest.raises(SystemExit, match="binary blocks"):
            resolve(tmp, [2, 1], [2, 1, 1])
        with pytest.raises(SystemExit, match="keeps its layout"):
            resolve(tmp, [2, 1, 1], 2, resume=True)
        assert resolve(tmp, [2, 2, 2], 2, resume=True) == [2, 2, 2]


def test_exit_after_option(tmp_path):
    """--exit-after: defaults to the checkpoint the run starts from (else models.REC_EXIT_AFTER), must name a
    block before the last, and a resumed run keeps its exit."""
    import argparse
    import train_rec

    class Parser:
        def error(self, msg):
            raise SystemExit(msg)

    def resolve(want, had, resume=False, init=True):
        ck = tmp_path / "init.pt"
        torch.save(dict(cfg=dict(exit_after=had) if had is not None else {}), ck)
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        (out / "last.pt").unlink(missing_ok=True)
        if resume:
            torch.save(dict(cfg=dict(exit_after=had)), out / "last.pt")
        args = argparse.Namespace(out=out, resume=resume, init=ck if init else None, exit_after=want)
        return train_rec.resolve_exit_after(args, Parser())

    assert resolve(None, 5) == 5 and resolve(None, None) == models.REC_EXIT_AFTER
    assert resolve(None, None, init=False) == models.REC_EXIT_AFTER
    assert resolve(4, 3) == 4 and resolve(4, 4, resume=True) == 4
    for bad in (-1, len(models.REC_BLOCKS) - 1):
        with pytest.raises(SystemExit, match="give a binary block"):
            resolve(bad, 3)
    with pytest.raises(SystemExit, match="keeps its layout"):
        resolve(4, 3, resume=True)
    # the exit's MACs follow it: a later exit does more of the backbone's work before it answers
    counts = [models.Recognizer(binary=True, exit_after=k).op_counts()["exit_binary_macs"] for k in (3, 4, 5)]
    assert counts[0] < counts[1] < counts[2] < models.Recognizer(binary=True).op_counts()["binary_macs"]


def test_dup_shortcut_block_and_option(tmp_path):
    """shortcut="dup" (session 23): the widening blocks add their input's channels repeated (output channel c
    gets input channel c mod cin), carry no projection, count no float MACs for it, and a proj checkpoint
    loads into the dup network with only the projections left over; --shortcut defaults to the checkpoint
    the run starts from and a resumed run keeps its layout."""
    import argparse
    import train_rec
    from binary import Block, dup_map
    torch.manual_seed(0)
    b = Block(32, 48, stride=2, shortcut="dup").eval()
    assert b.proj is None and b.dup and dup_map(32, 48).tolist() == list(range(32)) + list(range(16))
    x = torch.randn(2, 32, 6, 8)
    with torch.no_grad():
        y = b(x)
        b.bn.weight.zero_(); b.bn.bias.zero_()   # the conv path off: the output is RPReLU(shortcut) alone
        s = torch.nn.functional.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=False)
        assert torch.allclose(b(x), b.act(torch.cat([s, s[:, :16]], 1)))
    assert y.shape == (2, 48, 3, 4)
    with pytest.raises(ValueError):
        Block(32, 48, shortcut="zero")
    for M in (models.Recognizer, models.Detector):
        p, d = M(binary=True), M(binary=True, shortcut="dup")
        assert d.cfg["shortcut"] == "dup" and "shortcut" not in p.cfg
        assert models.from_cfg(d.cfg).cfg == d.cfg
        widen = [i for i, blk in enumerate(p.blocks) if blk.cin != blk.cout]
        assert all(p.blocks[i].proj is not None and d.blocks[i].proj is None for i in widen)
        po, do = p.op_counts(), d.op_counts()
        assert do["binary_macs"] == po["binary_macs"] and do["real_macs"] < po["real_macs"]
        assert models.param_bytes(d)[1] < models.param_bytes(p)[1]
        missing, unexpected = d.load_state_dict(p.state_dict(), strict=False)
        assert not missing and unexpected and all(".proj." in k for k in unexpected)
        assert train_rec.changed_shortcuts(missing, unexpected, tmp_path / "log")[0] == [f"blocks.{i}" for i in widen]

    class Parser:
        def error(self, msg):
            raise SystemExit(msg)

    def resolve(want, had, resume=False):
        ck = tmp_path / "init.pt"
        torch.save(dict(cfg=dict(shortcut=had) if had else dict(blocks=[])), ck)
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        (out / "last.pt").unlink(missing_ok=True)
        if resume:
            torch.save(dict(cfg=dict(shortcut=had) if had else dict(blocks=[])), out / "last.pt")
        args = argparse.Namespace(out=out, resume=resume, init=ck, shortcut=want)
        return train_rec.resolve_shortcut(args, Parser())

    assert resolve(None, None) == "proj" and resolve(None, "dup") == "dup" and resolve("dup", None) == "dup"
    assert resolve("dup", "dup", resume=True) == "dup"
    with pytest.raises(SystemExit, match="keeps its layout"):
        resolve("dup", None, resume=True)


def test_prune_masks_keep_fraction():
    import train_rec
    m = models.Recognizer(binary=True)
    train_rec.prune_masks(m, 0.5)
    kept, total = m.binary_channels()
    assert 0.45 <= 1 - kept / total <= 0.55


def use_second_base(m, gamma=(0.2, 0.9)):
    """Two-base blocks with their second base in use: shifts off the first's, gamma drawn from `gamma`."""
    for b in m.binary_blocks():
        if b.act_bases != 2:
            continue
        b.shift2.data.uniform_(-0.9, 0.1)
        b.gamma.data.fill_(float(torch.empty(()).uniform_(*gamma)))


def _randomise(m):
    _randomise_bn(m)
    for b in m.blocks:
        b.shift.data.uniform_(-0.3, 0.3)
        b.act.shift_out.data.uniform_(-0.5, 0.5)
    for h in (m.head, m.exit_head):
        h.weight.data.normal_()


@pytest.mark.parametrize("binary", [True, False])
def test_widen_keeps_outputs(binary):
    """widen.py: 1.5x the channels in every stage, the same outputs on both heads (float64, so that no
    binary activation sits within rounding of its threshold), and the XNOR-Net scales unchanged."""
    from widen import widen_recognizer
    torch.manual_seed(2)
    m = models.Recognizer(binary=binary).double()
    _randomise(m)
    m.eval()
    w = widen_recognizer(m, 1.5, seed=3).double().eval()
    assert [x.numel() for x in w.masks()] == [48, 96, 192]
    assert w.op_counts()["binary_macs"] > 2 * m.op_counts()["binary_macs"]
    x = torch.randint(0, 256, (3, 1, 32, 44)).double()
    with torch.no_grad():
        a, b = m(x), w(x)
        for head in ("final", "exit"):
            assert torch.allclose(a[head], b[head], atol=1e-9), head
        for bm, bw in zip(m.blocks, w.blocks):
            am = bm.weight.abs().mean(dim=(1, 2, 3))
            aw = bw.weight.abs().mean(dim=(1, 2, 3))[: bm.cout]
            assert torch.allclose(am, aw)
    # the widened copy learns: one step moves the two members of a new pair apart
    w.train()
    out = w(x)["final"].sum()
    out.backward()
    g = w.blocks[0].weight.grad
    assert not torch.equal(g[32], g[33]) or not torch.equal(w.blocks[1].weight.grad[:, 32], w.blocks[1].weight.grad[:, 33])


def test_widen_refuses_pruned_and_odd():
    from widen import widen_recognizer
    import train_rec
    m = models.Recognizer(binary=True)
    with pytest.raises(ValueError, match="pairs"):
        widen_recognizer(m, 1.1)          # 32 -> 35: 3 new channels
    train_rec.prune_masks(m, 0.25)
    with pytest.raises(ValueError, match="pruned"):
        widen_recognizer(m, 1.5)
    with pytest.raises(ValueError, match="two activation bases"):
        widen_recognizer(models.Recognizer(binary=True, act_bases=2), 1.5)


def test_two_exits_cascade_and_add_exit(tmp_path):
    """A recogniser with a second exit: eval_rec answers each crop at the first exit confident enough, and
    add_exit.py builds it from a donor whose only difference is an exit head at a later block (any other
    difference is refused), its logits divided by the temperature."""
    import add_exit
    import eval_rec
    conf = np.array([[0.9, 0.5, 0.5, 0.95], [0.95, 0.85, 0.3, 0.99]])
    m1, m2 = eval_rec.exit_masks(conf, 0.8)
    assert m1.tolist() == [True, False, False, True] and m2.tolist() == [False, True, False, False]
    per = {"final": ["F0", "F1", "F2", "F3"], "exit": ["E0", "E1", "E2", "E3"], "exit2": ["L0", "L1", "L2", "L3"]}
    assert eval_rec.cascade(per, conf, 0.8) == ["E0", "L1", "F2", "E3"]
    assert eval_rec.cascade(per, conf[0], 0.8) == ["E0", "F1", "F2", "E3"]     # one exit: a 1-d confidence

    torch.manual_seed(3)
    base = models.Recognizer(binary=True, act_bases=2)
    _randomise(base)
    donor = models.Recognizer(binary=True, act_bases=2, exit_after=5)
    donor.load_state_dict(base.state_dict())
    torch.nn.init.normal_(donor.exit_head.weight)
    ck = lambda m: dict(cfg=dict(m.cfg), model={k: v.clone() for k, v in m.state_dict().items()})  # noqa: E731
    two = add_exit.combine(ck(base), ck(donor))
    add_exit.set_temperature(two, ck(donor), 0.5)
    assert two.cfg["late_exit_after"] == 5 and models.from_cfg(two.cfg).late_exit_after == 5
    x = torch.randint(0, 256, (2, 1, 32, 48)).float()
    with torch.no_grad():
        a, b, d = base.eval()(x), two.eval()(x), donor.eval()(x)
    assert torch.equal(a["final"], b["final"]) and torch.equal(a["exit"], b["exit"])
    assert torch.allclose(b["exit2"], d["exit"] / 0.5, atol=1e-5)
    share = add_exit.mac_share(two)
    assert 0 < share[0] < share[1] < 1
    with torch.no_grad():
        donor.blocks[6].weight.mul_(-1)                      # not the same network any more
    with pytest.raises(add_exit.Mismatch, match="blocks.6.weight"):
        add_exit.combine(ck(base), ck(donor))
    early = models.Recognizer(binary=True, act_bases=2, exit_after=2)
    early.load_state_dict({k: v for k, v in base.state_dict().items() if not k.startswith("exit_head.")}, strict=False)
    with pytest.raises(add_exit.Mismatch, match="after BASE's exit"):
        add_exit.combine(ck(base), ck(early))
    with pytest.raises(ValueError, match="late exit after block 2"):
        models.Recognizer(binary=True, late_exit_after=2)


def test_subcell_head_starts_as_the_stride4_network_and_exports(tmp_path):
    """out_stride=2 (session 24): the 1x1 head gives each stride-4 cell's 2 x 2 sub-cells, rearranged
    depth-to-space; seeded from a stride-4 checkpoint (train_det.fit_head) the maps are the stride-4 maps
    repeated over the sub-cells; the file's maps head holds the 8 channels in pixel_shuffle order; the
    trainer's targets and boxes at stride 2 agree with stride 4's; --out-stride resolves like --shortcut."""
    import argparse
    import export
    import train_det
    import data_det
    torch.manual_seed(2)
    m4 = models.Detector(binary=True)
    _randomise(m4)
    m2 = models.Detector(binary=True, out_stride=2)
    assert m2.cfg["out_stride"] == 2 and "out_stride" not in m4.cfg and models.from_cfg(m2.cfg).cfg == m2.cfg
    missing, unexpected = m2.load_state_dict(train_det.fit_head(m4.state_dict(), m2, tmp_path / "log"), strict=False)
    assert not missing and not unexpected
    m4.eval(), m2.eval()
    x = torch.randint(0, 256, (1, 1, 40, 48)).float()
    with torch.no_grad():
        a, b = m4(x)["maps"], m2(x)["maps"]
    assert b.shape == (1, 2, 20, 24) and torch.allclose(b, a.repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-5)
    assert torch.allclose(train_det.match_maps(a, b.shape[-2:]), b, atol=1e-5)
    assert m2.op_counts()["real_macs"] - m4.op_counts()["real_macs"] == 90 * 160 * 48 * 6
    with pytest.raises(ValueError):
        models.Detector(out_stride=1)
    with pytest.raises(SystemExit):   # only a stride-4 head seeds a stride-2 one
        train_det.fit_head(dict(m2.state_dict(), **{"head.weight": torch.zeros(4, 48, 1, 1)}), m2)
    img = np.random.default_rng(0).integers(0, 256, (40, 48)).astype(np.uint8)
    worst, md = export.check_maps(m2, export.export_detector(m2, 40, 48), {"name": "t"}, [img])
    assert worst < 1e-3
    maps = next(h["node"] for h in md["heads"] if h["name"] == "maps")
    assert md["nodes"][maps - 1]["shape"][2] == 8
    # targets: the same words at both strides give the same boxes back
    h = 12.0
    words = [dict(text="AB", bbox=[100, 100, 150, 100 + h], height=h, care=True),
             dict(text="CD", bbox=[157, 100, 210, 100 + h], height=h, care=True)]
    for s in (4, 2):
        k, hm, ig, tiles = data_det.targets(words, stride=s)
        assert k.shape == (360 // s, 640 // s)
        w = data_det.separation_weights(words, k, stride=s)
        assert w.shape == k.shape and w.max() == 3.0
        boxes = data_det.boxes_from_maps(k, hm, stride=s, split=0.8, join=0.3, split_gap=0.4)
        assert len(boxes) == 2
        for got, want in zip(sorted(boxes), words):
            assert abs(got[0] - want["bbox"][0]) <= s and abs(got[2] - want["bbox"][2]) <= s

    class Parser:
        def error(self, msg):
            raise SystemExit(msg)

    ck = tmp_path / "init.pt"
    torch.save(dict(cfg=dict(out_stride=2)), ck)
    args = argparse.Namespace(out=tmp_path / "o", resume=False, init=ck, out_stride=None)
    from train_rec import starting_point
    assert train_det.resolve_out_stride(args, Parser(), starting_point(args)) == 2
    args.init, args.out_stride = None, None
    assert train_det.resolve_out_stride(args, Parser(), starting_point(args)) == 4


def test_detector_matches_by_word_height():
    import eval_det   # needs torch
    rows = eval_det.by_height([(6, 0.7), (7, 0.2), (10, 0.5), (30, 0.9), (40, 0.1)])
    assert [r["height"] for r in rows] == ["0-8", "8-12", "12-18", "18-27", ">=27"]
    assert [r["words"] for r in rows] == [2, 1, 0, 0, 2]
    assert [r["matched"] for r in rows] == [0.5, 1.0, None, None, 0.5]


def test_second_look_follows_spot_rules():
    """eval_det's second look (`bitspot spot`'s, TextSpotter.detect/zoomIn): which boxes are looked at, the window's
    size, and what replaces them."""
    import eval_det   # needs torch
    SL = eval_det.SecondLook
    assert SL().kind((0, 0, 150, 14)) == "long"            # 10:1 and under 20 px
    assert SL().kind((0, 0, 50, 14)) is None                 # 3.6:1
    assert SL().kind((0, 0, 250, 25)) is None                # 10:1 but 25 px high
    assert SL(max_height=None).kind((0, 0, 250, 25)) == "long"
    assert SL().kind((0, 0, 20, 11)) == "small"              # any width under 12 px
    assert SL().kind((0, 0, 200, 11)) == "small"
    assert SL(small=None).kind((0, 0, 20, 11)) is None
    assert SL(aspect=None).kind((0, 0, 200, 14)) is None

    # spot's rounding (halves away from zero) and resizing (swscale: bilinear up, area down)
    assert [eval_det._round(v) for v in (2.5, 3.5, -2.5, 2.49)] == [3, 4, -3, 2]
    ramp = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (8, 1))            # 8 x 32
    up = eval_det.resize_like_spot(ramp, 64, 16)
    assert up.shape == (16, 64) and up.dtype == np.uint8
    assert np.all(np.diff(up[0].astype(int)) >= 0) and abs(int(up[0, 32]) - 128) <= 8   # still a ramp
    assert eval_det.resize_like_spot(np.full((20, 40), 77, np.uint8), 10, 5).tolist() == [[77] * 10] * 5

    torch.manual_seed(0)
    m = models.Detector(binary=True)
    m.eval()
    g = np.random.default_rng(1).integers(0, 256, (360, 640), dtype=np.uint8)
    box = (100.3, 50.2, 300.7, 62.9, 0.9)
    with torch.no_grad():
        parts, px = eval_det.zoom_in(m, g, box, SL())
        # 48 rows (20 px x (1 + 2 x 0.7), 8-aligned); the box and 0.7 h each side at 20 / 12.7, 32-aligned
        h = 62.9 - 50.2
        assert px == 48 * int(np.ceil((200.4 + 1.4 * h) * 20 / h / 32)) * 32
        for p in parts:
            assert box[0] <= (p[0] + p[2]) / 2 <= box[2] and box[1] <= (p[1] + p[3]) / 2 <= box[3]
        assert eval_det.zoom_in(m, g, (0, 100, 630, 108), SL())[1] == 48 * 1024    # at most 1024 wide
        square = (10, 10, 30, 30, 0.5)
        out, looked, _ = eval_det.second_look(m, g, [box, square], SL(small=None))
        assert looked == 1 and square in out                                    # too short to look at
        out, looked, _ = eval_det.second_look(m, g, [box, square], SL(small=25))
        assert looked == 2 and square not in out                                # looked at: replaced or dropped
        assert all(b[:4] == box[:4] or box[0] <= (b[0] + b[2]) / 2 <= box[2] or square[0] <= (b[0] + b[2]) / 2 <= square[2]
                   for b in out)


@pytest.mark.skipif(not __import__("synth").list_fonts("eval"), reason="held-out fonts not installed")
def test_det_by_face_counts_every_cared_word_under_its_held_out_face(tmp_path, monkeypatch):
    import det_by_face, eval_det, synth
    frames, words, faces = det_by_face.frames_with_faces(3, 20202)
    assert len(frames) == len(words) == len(faces) == 3
    for w, fs in zip(words, faces):
        assert all(synth.is_held_out(f) for f in fs)
        assert all(x["sign"] < len(fs) for x in w)
    torch.manual_seed(0)
    model = models.Detector(binary=True).eval()
    stat = det_by_face.by_face(model, frames, words, faces, None)
    cared = sum(x["care"] for w in words for x in w)
    assert sum(s["words"] for s in stat.values()) == cared
    assert all(s["matched"] <= s["words"] and s["pieces"] <= s["words"] - s["matched"] for s in stat.values())
    # frames that are not the stored set are refused rather than mislabelled
    monkeypatch.setattr(eval_det, "load_eval_set", lambda n, seed: ([f + 1 for f in frames], words))
    with pytest.raises(SystemExit, match="differ"):
        det_by_face.frames_with_faces(3, 20202)
