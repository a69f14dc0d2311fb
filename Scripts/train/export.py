#!/usr/bin/env python3
"""Export a trained binary recognizer checkpoint to a BitSpot model file (Scripts/bitnet/modelfile.py,
docs/model-format.md) and golden fixtures; check the file against the PyTorch model.

Folding (per kept channel; pruned channels are dropped, their +1 binary inputs folded into the bias):
  first layer   int8 weights w_q = round(w / s), s = max|w| / 127 per output channel, zero point 128;
                real output scale = s / 64 * g / sqrt(var + eps), bias = beta - g * mean / sqrt(var + eps)
  sign_pack     threshold = -shift (bit 1 = -1 iff x < threshold; torch: +1 iff x + shift >= 0)
  binary conv   weights sign(W); real output scale = alpha * g / sqrt(var + eps), bias as above plus
                scale * (sum of the pruned input channels' weight signs) ; + shortcut ; RPReLU
  heads         real 1x1 convolutions after average pooling over the remaining rows

  .venv-train/bin/python Scripts/train/export.py checkpoints/rec/finetune/best.pt --out Models/recognizer.bitnet \
      --golden Models/golden/recognizer
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from common import CHARSET, ROOT
import data_det
import data_rec
import models

sys.path.insert(0, str(ROOT / "Scripts"))
sys.path.insert(0, str(ROOT / "Scripts" / "golden"))
from bitnet import modelfile as mf  # noqa: E402
import make_golden as ref  # noqa: E402

F32 = np.float32


def _bn(bn):
    g = bn.weight.detach().double().numpy()
    b = bn.bias.detach().double().numpy()
    mu = bn.running_mean.double().numpy()
    var = bn.running_var.double().numpy()
    inv = g / np.sqrt(var + bn.eps)
    return inv, b - mu * inv


def _prelu(act, keep):
    return (act.shift_in.detach().numpy()[keep].astype(F32), act.slope.detach().numpy()[keep].astype(F32),
            act.shift_out.detach().numpy()[keep].astype(F32))


def export_recognizer(model: models.Recognizer, width: int = 128, meta_extra=None):
    """ModelWriter for the binary recognizer (eval mode) on 32 x `width` crops."""
    return export_net(model, 32, width)


def export_detector(model, height=360, width=640):
    """ModelWriter for the binary detector (eval mode) on `height` x `width` frames."""
    return export_net(model, height, width)


def _export_block(w, x, b, kin, kout, pruned_in, stride, c):
    """One binary block: sign-pack (shift as threshold), binary 3x3 conv with alpha and batch-norm folded
    into scale/bias (pruned inputs read as +1, folded into the bias), shortcut, RPReLU.

    A block with two activation bases (b1 + gamma * b2, `Block.act_bases == 2`) is written with the
    format's existing ops: a second sign-pack at the second shift, and two binary convs over the same
    weights, the second base's first (scale gamma * s, the bias and the block's shortcut), then the first
    base's (scale s, bias 0, the second conv as its shortcut, RPReLU):
    y = s * dot1 + (gamma * s * dot2 + bias + shortcut) = s * (dot1 + gamma * dot2) + bias + shortcut."""
    bits = w.add_sign_pack(x, (-b.shift.detach().numpy()[kin]).astype(F32))
    two = getattr(b, "act_bases", 1) == 2
    gamma = float(b.gamma.detach()) if two else 0.0
    bits2 = w.add_sign_pack(x, (-b.shift2.detach().numpy()[kin]).astype(F32)) if two else None
    W = b.weight.detach().numpy()
    Wb = np.where(W >= 0, 1, -1).astype(np.int8)                 # out, in, 3, 3
    alpha = np.abs(W).mean(axis=(1, 2, 3)).astype(np.float64)
    inv, bias = _bn(b.bn)
    sc = alpha * inv
    const = Wb[:, pruned_in].sum(axis=(1, 2, 3)).astype(np.float64) if len(pruned_in) else 0.0
    bias = bias + sc * const * (1.0 + gamma)                    # pruned inputs are +1 in both bases
    wts = Wb[kout][:, kin].transpose(0, 2, 3, 1)
    short = x
    if stride == 2:
        short = w.add_avg_pool(short, 2, 2)
    if b.proj is not None:
        pw = b.proj.weight.detach().numpy()[:, :, 0, 0][kout][:, kin].astype(F32)
        pb = b.proj.bias.detach().numpy()[kout].astype(F32)
        short = w.add_real_conv1x1(short, pw, pb)
    smap = dup_shortcut_map(b, kin, kout) if b.dup else None
    if two:
        short = w.add_binary_conv(bits2, wts, 3, stride, scale=(gamma * sc[kout]).astype(F32),
                                  bias=bias[kout].astype(F32), shortcut=short, shortcut_map=smap, orig_c=c)
        bias, smap = np.zeros_like(bias), None
    return w.add_binary_conv(bits, wts, 3, stride, scale=sc[kout].astype(F32), bias=bias[kout].astype(F32),
                             shortcut=short, shortcut_map=smap, prelu=_prelu(b.act, kout), orig_c=c)


def dup_shortcut_map(b, kin, kout):
    """The file's channel map of a duplicating shortcut (`Block.dup`): kept output channel j adds the kept
    input channel that holds original channel kout[j] mod cin. A pruned source channel (zero in training)
    has no place in the map, so such a file is refused."""
    src = b.dup_index.numpy()[kout]
    where = {int(ch): i for i, ch in enumerate(kin)}
    missing = sorted({int(ch) for ch in src if int(ch) not in where})
    if missing:
        raise ValueError(f"duplicating shortcut reads pruned input channels {missing}: not exportable")
    return np.array([where[int(ch)] for ch in src], np.int32)


LATE_EXIT = "exit2"   # a recogniser's second exit head, when it has one


def head_names(task):
    """(exit head, final head): their names in the model file of a detector or a recogniser."""
    return ("tiles", "maps") if task == "detector" else ("exit", "final")


def export_net(model, height, width):
    assert models.fully_binary(model), "only the binary student is exported"
    model.eval()
    detector = model.cfg.get("task") == "detector"
    masks = [m.bool().numpy() for m in model.masks()]
    keeps = [np.nonzero(m)[0] for m in masks]
    so = model.stage_of
    w = mf.ModelWriter(height, width, 1)
    # first layer
    st = model.stem
    wq_f, s = st.qweight()
    s = s.detach().double().numpy().reshape(-1)
    wint = torch.round(st.conv.weight.detach() / torch.from_numpy(s).float().view(-1, 1, 1, 1)).clamp(-127, 127)
    wint = wint.numpy().astype(np.int8).transpose(0, 2, 3, 1)
    inv, bias = _bn(st.bn)
    k0 = keeps[0]
    scale = (s / st.IN_SCALE) * inv
    x = w.add_first_conv(wint[k0], stride=st.stride, zero_point=st.ZERO_POINT, scale=scale[k0].astype(F32),
                         bias=bias[k0].astype(F32), orig_c=len(masks[0]))
    x = w.add_prelu(x, *_prelu(st.act, k0))
    exit_node = late_node = None
    for i, (b, (c, stride, pool)) in enumerate(zip(model.blocks, model.cfg["blocks"])):
        kin, kout = keeps[so[i]], keeps[so[i + 1]]
        x = _export_block(w, x, b, kin, kout, np.nonzero(~masks[so[i]])[0], stride, c)
        if pool > 1:
            x = w.add_avg_pool(x, pool, 1)
        if i == model.exit_after:
            if detector:
                k = models.DET_TILE // 4
                e = w.add_avg_pool(x, k, k)
            else:
                e = x if w.shapes[x][0] == 1 else w.add_avg_pool(x, w.shapes[x][0], 1)
            if getattr(model, "exit_block", None) is not None:
                ce = model.exit_block.cout
                assert len(kout) == ce, "an exit block after pruned channels is not exported (its shortcut would need them)"
                e = _export_block(w, e, model.exit_block, kout, np.arange(ce), np.nonzero(~masks[so[i + 1]])[0], 1, ce)
                kout = np.arange(ce)
            hw = model.exit_head.weight.detach().numpy()[:, :, 0, 0][:, kout].astype(F32)
            exit_node = w.add_real_conv1x1(e, hw, model.exit_head.bias.detach().numpy().astype(F32))
        if i == getattr(model, "late_exit_after", None):
            e = x if w.shapes[x][0] == 1 else w.add_avg_pool(x, w.shapes[x][0], 1)
            hw = model.late_exit_head.weight.detach().numpy()[:, :, 0, 0][:, kout].astype(F32)
            late_node = w.add_real_conv1x1(e, hw, model.late_exit_head.bias.detach().numpy().astype(F32))
    f = x if detector or w.shapes[x][0] == 1 else w.add_avg_pool(x, w.shapes[x][0], 1)
    kl = keeps[so[-1]]
    hw = model.head.weight.detach().numpy()[:, :, 0, 0][:, kl].astype(F32)
    final_node = w.add_real_conv1x1(f, hw, model.head.bias.detach().numpy().astype(F32))
    exit_name, final_name = head_names(model.cfg.get("task"))
    w.add_head(exit_node, exit_name, exit=True)
    if late_node is not None:
        w.add_head(late_node, LATE_EXIT, exit=True)
    w.add_head(final_node, final_name, exit=False)
    return w


def run_reference(model_dict, img):
    """Runs a parsed model file (modelfile.read) with the golden numpy ops; returns {node: output}."""
    out = {0: img}
    for idx, n in enumerate(model_dict["nodes"], start=1):
        p, a, ins = n["params"], n["attrs"], n["inputs"]
        op = n["op_name"]
        if op == "first_conv":
            wt = p["weights"].reshape(n["shape"][2], 3, 3, img.shape[2])
            y = ref.first_conv(img, wt, a[0], a[1], scale=p.get("scale"), bias=p.get("bias")) if a[2] == 1 else \
                ref.first_conv(img, wt, a[0], a[1], thresholds=p["thresholds"])
        elif op == "sign_pack":
            y = np.where(out[ins[0]] < p["thresholds"], -1, 1).astype(np.int8)
        elif op == "binary_conv":
            src = out[ins[0]]
            k, stride = a[0], a[1]
            wt = mf.unpack_bits(p["weights"].reshape(n["shape"][2], k, k, -1), src.shape[2])
            if a[2] == 0:
                y = ref.binary_conv(src, wt, k, stride, thresholds=p["thresholds"])
            else:
                pr = (p["prelu_shift_in"], p["prelu_slope"], p["prelu_shift_out"]) if n["flags"] & 1 else None
                sc = out[ins[1]] if ins[1] is not None else None
                y = ref.binary_conv(src, wt, k, stride, scale=p["scale"], bias=p["bias"], shortcut=sc,
                                    smap=p.get("shortcut_map"), pr=pr)
        elif op == "avg_pool":
            y = ref.avg_pool(out[ins[0]], a[0], a[1])
        elif op == "real_conv1x1":
            y = ref.real_conv1x1(out[ins[0]], p["weights"].reshape(n["shape"][2], -1), p["bias"], max(1, a[0]))
        elif op == "prelu":
            y = ref.prelu(out[ins[0]], p["prelu_shift_in"], p["prelu_slope"], p["prelu_shift_out"])
        elif op == "add":
            b = out[ins[1]]
            y = (out[ins[0]] + (b if "shortcut_map" not in p else b[..., p["shortcut_map"]])).astype(F32)
        elif op == "global_avg_pool":
            y = ref.global_avg_pool(out[ins[0]])
        elif op == "unpack":
            y = out[ins[0]].astype(F32)
        elif op == "bit_maxpool":
            y = ref.bit_maxpool(out[ins[0]], a[0], a[1])
        else:
            raise ValueError(op)
        out[idx] = y
    return out


def load_model(path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    m = models.from_cfg(ck["cfg"])
    m.load_state_dict(ck["model"])
    m.eval()
    return m, ck


def check_maps(model, writer, meta, imgs):
    """Max |torch - reference| over every head output for `imgs` (H x W uint8), heads by name."""
    md = mf.read(writer.to_bytes(meta))
    heads = {h["name"]: h["node"] for h in md["heads"]}
    worst = 0.0
    for img in imgs:
        out = run_reference(md, img[..., None])
        with torch.no_grad():
            t = model(torch.from_numpy(img).float()[None, None])
        for name, node in heads.items():
            tt = (model.head_layout(t[name]) if name == "maps" else t[name])[0].numpy().transpose(1, 2, 0)
            worst = max(worst, float(np.abs(out[node] - tt).max()))
    return worst, md


def tie_note(model, md, imgs, worst, agree=1e-2):
    """Where the check's difference is over `agree`, what import_bitnet.tie_explanation says of it (a sign
    flip at an activation within rounding of its threshold, or not), as text to append to the check line."""
    if worst <= agree:
        return ""
    import import_bitnet as ib                  # imports this module: imported here, not at the top
    try:
        _, ids = ib.infer_layout(md)
    except ib.ImportFailure as e:               # e.g. pruned: no per-block attribution
        return f" (not traced: {e})"
    notes = []
    for img in imgs:
        why = ib.tie_explanation(model, md, ids, img)
        if why is not None:
            node, d, near = why
            notes.append(f"node {node} first differs, {near} of its input activations within {d:.1e} of a threshold"
                         + ("" if near else ": NOT a rounding tie, the file and the network differ"))
    return " (" + "; ".join(notes) + ")" if notes else ""


def check(model, writer, meta, imgs):
    """Max |torch - reference| of both heads' logits, and greedy-decoded agreement, over `imgs` (H x W uint8)."""
    md = mf.read(writer.to_bytes(meta))
    heads = {h["name"]: h["node"] for h in md["heads"]}
    worst, agree = 0.0, 0
    for img in imgs:
        out = run_reference(md, img[..., None])
        with torch.no_grad():
            t = model(torch.from_numpy(img).float()[None, None])
        names = [n for n in ("exit", LATE_EXIT, "final") if n in t]
        for name in names:
            r = out[heads[name]][0]               # W' x C
            tt = t[name][0].numpy().T
            worst = max(worst, float(np.abs(r - tt).max()))
            agree += int((r.argmax(1) == tt.argmax(1)).all())
    return worst, agree / (len(names) * len(imgs)), md


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--width", type=int, help="input width written in the file (recognizer: 128, crops vary; detector: 640)")
    ap.add_argument("--height", type=int, default=360, help="detector input height")
    ap.add_argument("--golden", type=Path, help="write fixtures PREFIX.bitnet/.golden.bin/.golden.json (small input)")
    ap.add_argument("--check-n", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_model(args.checkpoint)
    if not models.fully_binary(model):
        ap.exit(65, f"export: {args.checkpoint}: stage {ck.get('stage')!r} is not fully binary; only a binary "
                    f"student is exported (train the student stage from it first)\n")
    prov = {"checkpoint": str(args.checkpoint), "stage": ck.get("stage"), "step": ck.get("step"),
            "eval": (ck.get("eval") or {}).get("final", (ck.get("eval") or {}).get("f1"))}
    if model.cfg.get("task") == "detector":
        from eval_det import load_eval_set as det_set
        width = args.width or 640
        stride = model.cfg.get("out_stride", data_det.STRIDE)
        meta = {"name": "bitspot-detector", "task": "detector",
                "input": {"height": args.height, "width": width, "channels": 1,
                          "normalisation": f"none: the grey (luma) frame scaled to {width} x {args.height}, 8-bit; zero point 128",
                          "trained_on": "640 x 360 renders (Scripts/train/data_det.py); fully convolutional, any input size runs"},
                "output": {"maps": ("stride 4: channel 0 word-kernel logit (sigmoid >= 0.5: text), channel 1 log2 word height in input px"
                                    if stride == 4 else
                                    "stride 2 as 2 x 2 sub-cells of each stride-4 cell: channel 4k + 2i + j is channel k of sub-cell (i, j) "
                                    "(depth-to-space, PyTorch's pixel_shuffle order); channel 0 word-kernel logit (sigmoid >= 0.5: text), "
                                    "channel 1 log2 word height in input px"),
                           "tiles": "early exit, one logit per 40 x 40 input px tile: text present; skip the frame when all sigmoid < threshold",
                           "boxes": f"4-connected kernel components; h = 2^mean(height); box x from (min col)*{stride} - {data_det.SHRINK_X}h to (max col+1)*{stride} + {data_det.SHRINK_X}h, y = centre +- h/2; components of one line at most {data_det.WORD_JOIN}h apart joined, then split at column-profile valleys below {data_det.WORD_SPLIT} x the peaks either side and at least {data_det.SPLIT_GAP}h wide (Scripts/train/data_det.py boxes_from_maps, join_components, split_columns)",
                           "shrink_x": data_det.SHRINK_X},
                "provenance": prov}
        writer = export_detector(model, args.height, width)
        frames, _ = det_set(100)  # evaluation frames (held-out fonts, 640 x 360)
        # The reference check runs at the frames' own size (same weights; the file's size is metadata
        # and layer shapes).
        check_imgs = [f[:360, :640] for f in frames[:2]]
        worst, md = check_maps(model, export_detector(model, 360, 640), meta, check_imgs)
        print(f"reference vs torch: max |output diff| {worst:.2e} over 2 frames{tie_note(model, md, check_imgs, worst)}")
        gh, gw = 40, 40
        gmake = lambda: export_detector(model, gh, gw)
        fr, ws = det_set(100)
        i = next((k for k, w in enumerate(ws) if any(x["care"] for x in w)), 0)
        b = next((x["bbox"] for x in ws[i] if x["care"]), [0, 0, gw, gh])
        y0 = int(np.clip((b[1] + b[3]) / 2 - gh / 2, 0, fr[i].shape[0] - gh))
        x0 = int(np.clip(b[0] - 8, 0, fr[i].shape[1] - gw))
        gimg = fr[i][y0:y0 + gh, x0:x0 + gw]   # a window over a word of the first frame with text
    else:
        from eval_rec import load_eval_set
        width = args.width or 128
        meta = {"name": "bitspot-recognizer", "task": "recognizer", "charset": CHARSET, "blank": 0,
                # max_width: the widest crop it was trained on (wider ones squeezed); bitspot spot's default
                "input": {"height": 32, "width": width, "channels": 1, "variable_width": True,
                          "max_width": int(ck.get("args", {}).get("max_width")
                                           or ck.get("source_meta", {}).get("input", {}).get("max_width") or data_rec.MAX_WIDTH),
                          "normalisation": "per crop: u8 = clip(round(128 + 50 * (x - mean) / max(std, 8)), 0, 255)"},
                "output": "logits (ceil(W/4) time steps x 37 classes), CTC greedy decoding; class 0 = blank, 1.. = charset",
                "heads": {"exit": "early-exit CTC head after block %d; confidence = min over steps of max softmax" % model.exit_after,
                          "final": "final CTC head"},
                "provenance": prov}
        if getattr(model, "late_exit_after", None) is not None:
            t = model.cfg.get("late_exit_temperature")
            meta["heads"][LATE_EXIT] = ("second early-exit CTC head after block %d, tried when the first is not confident "
                                        "enough; same confidence, same threshold" % model.late_exit_after
                                        + (" (its logits divided by a temperature of %g, Scripts/train/add_exit.py)" % t if t else ""))
        writer = export_recognizer(model, width)
        imgs, _ = load_eval_set(200)
        sample = [a for a in imgs if a.shape[1] <= 96][: args.check_n]
        worst, agree, md = check(model, writer, meta, sample)
        print(f"reference vs torch: max |logit diff| {worst:.2e}, argmax agreement {agree:.3f} over {len(sample)} crops")
        gh, gw = 32, 16
        gmake = lambda: export_recognizer(model, 16)
        gimg = next((a for a in imgs if a.shape[1] == 16), None)
        if gimg is None:
            a = imgs[0]
            gimg = np.pad(a, ((0, 0), (0, max(0, 16 - a.shape[1]))), mode="edge")[:, :16]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = writer.write(args.out, meta)
    print(f"wrote {args.out}: {n} bytes, {len(md['nodes'])} nodes")
    if args.golden:
        g = gmake()
        gmeta = dict(meta, input=dict(meta["input"], height=gh, width=gw), name=meta["name"] + "-golden")
        gmd = mf.read(g.to_bytes(gmeta))
        out = run_reference(gmd, np.ascontiguousarray(gimg)[..., None])
        args.golden.parent.mkdir(parents=True, exist_ok=True)
        ref.write_fixture(str(args.golden.parent), args.golden.name, g, out, gmeta)
        print(f"wrote golden fixtures {args.golden}.bitnet/.golden.bin/.golden.json ({gh} x {gw} input)")


if __name__ == "__main__":
    main()
