import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))
import energy  # noqa: E402
import report  # noqa: E402
import run_eval  # noqa: E402
import runners  # noqa: E402
import synth  # noqa: E402


def test_bitspot_jsonl_shapes():
    text = "\n".join([
        "not json",
        json.dumps({"frame": 0, "words": [{"text": "Exit", "bbox": [1, 2, 30, 12]}, {"text": "!!", "bbox": [0, 0, 1, 1]}]}),
        json.dumps({"t": 1.0, "words": [{"text": "B056", "box": {"x": 5, "y": 6, "w": 10, "h": 4}}]}),
        json.dumps({"frame": 60, "text": "ROOM", "quad": [[0, 0], [10, 1], [10, 5], [0, 4]]}),
        json.dumps({"type": "summary", "frames": 3}),
    ])
    per = runners.parse_bitspot_jsonl(text, fps=30)
    assert per[0] == [{"text": "Exit", "bbox": [1.0, 2.0, 30.0, 12.0], "conf": None}]
    assert per[30][0]["bbox"] == [5, 6, 15, 10]
    assert per[60][0]["bbox"] == [0, 0, 10, 5]


def test_gated_frames_show_the_last_reported_words():
    per = {0: [{"text": "EXIT"}], 20: [], 40: [{"text": "B056"}]}
    assert runners.words_at(per, 0) == [{"text": "EXIT"}]
    assert runners.words_at(per, 10) == [{"text": "EXIT"}]      # gated: unchanged since frame 0
    assert runners.words_at(per, 30) == []                      # frame 20 was processed and empty
    assert runners.words_at(per, 70) == [{"text": "B056"}]
    assert runners.words_at({5: [{"text": "A"}]}, 2) == []       # nothing reported before it
    # --skip-nonref: the frame kept for sampling point 30 may be 31 or 32
    late = {0: [{"text": "EXIT"}], 32: [{"text": "B056"}]}
    assert runners.words_at(late, 30, ahead=3) == [{"text": "B056"}]
    assert runners.words_at(late, 30) == [{"text": "EXIT"}]       # without look-ahead: the last earlier frame
    assert runners.words_at(late, 28, ahead=3) == [{"text": "EXIT"}]  # 32 is more than 3 frames ahead
    assert runners.lookahead(["--gate", "3", "--skip-nonref"]) == 3
    assert runners.lookahead(["--skip-bidir", "--skip-loop-filter"]) == 3
    assert runners.lookahead(["--gate", "3"]) == 0


def test_bitspot_missing_is_reported_not_raised(monkeypatch):
    monkeypatch.setenv("BITSPOT_BIN", "/nonexistent/bitspot")
    monkeypatch.setattr(runners, "find_bitspot", lambda: None)
    ok, why = runners.BitSpotRunner().available()
    assert not ok and "not available yet" in why


def test_rapidocr_line_split_into_words():
    line = [[[0, 0], [100, 0], [100, 20], [0, 20]], "AB CD", 0.9,
            [[[0, 0], [10, 0], [10, 20], [0, 20]], [[10, 0], [20, 0], [20, 20], [10, 20]], [[20, 0], [30, 0], [30, 20], [20, 20]],
             [[30, 0], [40, 0], [40, 20], [30, 20]], [[40, 0], [50, 0], [50, 20], [40, 20]]],
            ["A", "B", " ", "C", "D"], [0.9] * 5]
    w = runners.RapidOCRRunner.split_words(line)
    assert [x["text"] for x in w] == ["AB", "CD"]
    assert w[0]["bbox"] == [0, 0, 20, 20] and w[1]["bbox"] == [30, 0, 50, 20]
    # without character boxes: proportional split of the line box
    w = runners.RapidOCRRunner.split_words(line[:3])
    assert [x["text"] for x in w] == ["AB", "CD"] and w[0]["bbox"][0] == 0 and w[1]["bbox"][2] == 100


def test_energy_model_is_linear_and_labelled():
    p = energy.host_profile()
    assert p in energy.PROFILES
    assert energy.energy_j(2.0, "pi4b") == pytest.approx(2 * energy.energy_j(1.0, "pi4b"))
    assert energy.one_core_watts("pi4b") == pytest.approx(1.6 + 3.4 / 4)
    assert energy.lpcv_score(0.5, 3600.0) == pytest.approx(0.5)
    assert "modelled" in energy.PROFILES["x86-64-epyc-vcpu"]["source"]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="apt-get install tesseract-ocr")
def test_tesseract_reads_a_clean_sign(tmp_path):
    fonts = synth.list_fonts("eval") or synth.list_fonts("train")
    if not fonts:
        pytest.skip("no fonts")
    font = next((f for f in fonts if "Sans-Regular" in f or "Carlito-Regular" in f), fonts[0])
    img, _ = synth.render_sign(np.random.default_rng(0), [["EXIT", "314"], ["LIBRARY"]], font, size=48,
                               fg=(0, 0, 0), bg=(255, 255, 255), border=False)
    canvas = Image.new("RGB", (img.width + 100, img.height + 100), (255, 255, 255))
    canvas.paste(img.convert("RGB"), (50, 50), img.getchannel("A"))
    p = tmp_path / "sign.png"
    canvas.save(p)
    frames, cpu = runners.TesseractRunner().run([str(p)])
    got = {w["text"].upper() for w in frames[0]["words"]}
    assert {"EXIT", "314", "LIBRARY"} <= got and cpu > 0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="apt-get install ffmpeg")
def test_end_to_end_on_a_tiny_suite(tmp_path):
    subprocess.run([sys.executable, str(HERE.parent / "gen_videos.py"), "--small", "--videos", "1", "--seconds", "2",
                    "--out", str(tmp_path / "suite")], check=True, capture_output=True)
    have_tess = shutil.which("tesseract") is not None
    systems = "tesseract,bitspot" if have_tess else "bitspot"
    run_eval.main(["--suite", str(tmp_path / "suite"), "--out", str(tmp_path / "res"), "--systems", systems, "--no-real"])
    res = json.loads((tmp_path / "res" / "results.json").read_text())
    rows = res["sets"]["synthetic"]["rows"]
    assert res["sets"]["synthetic"]["frames"] == 2
    assert len(list((tmp_path / "res" / "frames" / "v00_180p" / "every30").glob("*.png"))) == 2
    if have_tess:
        assert rows["tesseract"]["available"] and rows["tesseract"]["frames"] == 2
        assert rows["tesseract"]["cpu_ms_per_frame"] > 0
        assert "| Tesseract 5" in (tmp_path / "res" / "results.md").read_text()
    if not rows["bitspot"]["available"]:
        assert "not available yet" in (tmp_path / "res" / "results.md").read_text()
    assert (tmp_path / "res" / "accuracy_vs_energy.svg").read_text().startswith("<svg")


def test_report_renders_unavailable_rows():
    res = {"profile": "pi4b", "profile_info": energy.PROFILES["pi4b"], "one_core_watts": 2.45, "machine": {"cpu": "x", "cores": 2},
           "sets": {"real-dev": {"items": ["real-dev"], "frames": 16, "rows": {
               "a": {"available": True, "label": "A (x)", "accuracy": 0.5, "f1": 0.4, "cer": 0.3, "cpu_ms_per_frame": 100.0,
                     "mj_per_frame": 245.0, "lpcv_score": 12.0},
               "b": {"available": False, "label": "B", "note": "not available yet"}}}}}
    md = report.markdown(res)
    assert "| A (x) | 0.500 | 0.400 | 0.300 |" in md and "not available yet" in md
    assert "<circle" in report.svg(res) or "<rect" in report.svg(res)


def test_rapidocr_missing_spaces_split_at_wide_steps():
    boxes = [[[x, 0], [x + 10, 0], [x + 10, 20], [x, 20]] for x in (0, 10, 20, 50, 60)]
    line = [[[0, 0], [70, 0], [70, 20], [0, 20]], "ABCDE", 0.9, boxes, list("ABCDE"), [0.9] * 5]
    w = runners.RapidOCRRunner.split_words(line)
    assert [x["text"] for x in w] == ["ABC", "DE"]
    assert w[1]["bbox"] == [50, 0, 70, 20]


class _Oracle:
    """A perfect system built from the ground truth (checks the scoring chain end to end)."""
    name, label = "oracle", "oracle"

    def __init__(self, items):
        self.by_png = {p: g for it in items for p, g in zip(it["pngs"], it["gt"])}

    def available(self):
        return True, ""

    def version(self):
        return "1"

    def run(self, pngs):
        return [{"words": [{"text": w["text"], "bbox": w["bbox"]} for w in self.by_png[p] if w["care"]]} for p in pngs], 0.01


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="apt-get install ffmpeg")
def test_oracle_scores_perfectly_and_sampled_frames_line_up(tmp_path):
    subprocess.run([sys.executable, str(HERE.parent / "gen_videos.py"), "--small", "--videos", "1", "--seconds", "4",
                    "--fps", "10", "--seed", "4", "--out", str(tmp_path / "suite")], check=True, capture_output=True)
    items = run_eval.suite_items(tmp_path / "suite", tmp_path / "frames", 1.0, None, None)
    assert items[0]["frames"] == [0, 10, 20, 30]
    rows = run_eval.evaluate(items, [_Oracle(items)], tmp_path, "pi4b", False, tmp_path / "frames", "synthetic")
    r = rows["oracle"]
    if r["gt_words"]:
        assert r["accuracy"] == 1.0 and r["f1"] == 1.0 and r["cer"] == 0.0 and r["det_recall"] == 1.0
    # the k-th sampled PNG is the rendered frame items[0]["frames"][k], not a neighbour
    import gen_videos
    spec = json.loads((tmp_path / "suite" / "v00_180p" / "meta.json").read_text())["spec"]
    raw = {i: a.astype(float) for i, a, _ in gen_videos.iter_frames(spec) if i is not None}
    for k, idx in enumerate(items[0]["frames"]):
        png = np.asarray(Image.open(items[0]["pngs"][k]).convert("RGB"), dtype=float)
        err = {j: np.abs(png - raw[j]).mean() for j in (idx - 1, idx, idx + 1) if j in raw}
        assert min(err, key=err.get) == idx, err


def test_real_dev_labels_score_perfectly_for_an_oracle(tmp_path):
    real = run_eval.default_real_dev()
    if not (real / "labels.json").exists():
        pytest.skip("no shared/data/real-dev")
    items = run_eval.real_dev_items(real, tmp_path)
    assert len(items[0]["pngs"]) == 16 and all(Path(p).exists() for p in items[0]["pngs"])
    rows = run_eval.evaluate(items, [_Oracle(items)], tmp_path, "pi4b", False, tmp_path, "real-dev")
    r = rows["oracle"]
    assert r["accuracy"] == 1.0 and r["f1"] == 1.0 and r["qa_accuracy"] == 1.0
    assert r["frames"] == 16 and r["det_recall"] is None
