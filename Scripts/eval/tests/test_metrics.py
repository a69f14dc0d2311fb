import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import metrics as m  # noqa: E402


def test_normalize():
    assert m.normalize("Hello, World!") == "HELLOWORLD"
    assert m.normalize("b-056") == "B056"
    assert m.normalize("...") == ""


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("ABC", "", 3), ("", "AB", 2), ("KITTEN", "SITTING", 3),
                                   ("FLAW", "LAWN", 2), ("B056", "B056", 0), ("B056", "8056", 1),
                                   ("EXIT", "TIXE", 4), ("ROOM", "RM", 2)])
def test_levenshtein(a, b, d):
    assert m.levenshtein(a, b) == d == m.levenshtein(b, a)


def test_referee_hand_worked():
    # EXIT vs reported [EXT, EXIT2]: min(lev(EXIT,EXT)=1, lev(EXIT,EXIT2)=1) / 4 = 0.25
    assert m.referee_distance("EXIT", ["EXT", "EXIT2"]) == pytest.approx(0.25)
    # case and punctuation do not count
    assert m.referee_distance("B056", ["b056,"]) == 0.0
    # the cap: "AB" vs "XYZWV" has distance 5 > len 2 -> 5/2 = 2.5, capped at 1
    assert m.referee_distance("AB", ["XYZWV"]) == 1.0
    # nothing reported -> 1
    assert m.referee_distance("STAIR", []) == 1.0
    assert m.referee_distance("STAIR", ["", "!!"]) == 1.0


def test_referee_accuracy_hand_worked():
    gt = ["ROOM", "B056", "EXIT"]
    rep = ["RO0M", "B056"]
    # ROOM: 1/4 = 0.25 ; B056: 0 ; EXIT: min(lev(EXIT,RO0M)=4, lev(EXIT,B056)=4)/4 = 1 -> mean 1.25/3
    assert m.referee_accuracy(gt, rep) == pytest.approx(1 - 1.25 / 3)
    assert m.referee_accuracy([], rep) is None
    # an extra spurious word never lowers the referee accuracy
    assert m.referee_accuracy(gt, rep + ["JUNK"]) == pytest.approx(1 - 1.25 / 3)


def test_word_prf_and_cer():
    gt = ["WARNING", "QUALIFIED", "PERSONNEL", "ONLY"]
    rep = ["WARNING", "QUALIFED", "ONLY", "ONLY", "XX"]
    tp = m.word_matches(gt, rep)
    assert tp == 2  # ONLY counted once (multiset)
    p, r, f = m.prf(tp, 4, 5)
    assert (p, r) == (pytest.approx(0.4), pytest.approx(0.5)) and f == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    # CER: WARNING 0 + QUALIFIED<-QUALIFED 1 + ONLY<-ONLY 0 + PERSONNEL<-the second ONLY 7
    # (delete PERS, keep ON, N->L, E->Y, delete L) -> 8 / 29
    e, c = m.cer_counts(gt, rep)
    assert (e, c) == (8, 7 + 9 + 9 + 4)
    # a word too far from every reported word (distance >= its length) stays unpaired: all its chars
    assert m.cer_counts(["EXIT", "AB"], ["EXIT", "XYZ"]) == (2, 6)
    assert m.prf(0, 0, 0) == (None, None, None)
    assert m.prf(0, 0, 3) == (0.0, None, 0.0)


def test_iou_and_detection():
    assert m.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert m.iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    gt = [{"text": "A", "bbox": (0, 0, 10, 10)}, {"text": "B", "bbox": (20, 0, 30, 10)},
          {"text": "C", "bbox": (50, 0, 60, 10), "care": False}]
    rep = [{"text": "A", "bbox": (1, 1, 10, 10)},      # IoU 0.81 -> hit
           {"text": "B", "bbox": (25, 0, 35, 10)},     # IoU 1/3 -> miss, counts as a false box
           {"text": "C", "bbox": (50, 0, 60, 10)}]     # matches don't-care -> ignored
    assert m.detection_counts(gt, rep) == (1, 2, 2)


def test_tally_dont_care_and_negatives():
    t = m.Tally()
    gt = [{"text": "EXIT", "bbox": (0, 0, 40, 10)}, {"text": "STAIR", "bbox": (0, 20, 50, 30), "care": False}]
    out = t.add(gt, [{"text": "exit", "bbox": (0, 0, 40, 10)}, {"text": "STAIR", "bbox": None}])
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["accuracy"] == 1.0
    t.add([], [{"text": "JUNK", "bbox": (0, 0, 5, 5)}])          # a frame with no text
    s = t.summary()
    assert s["frames"] == 2 and s["gt_words"] == 1 and s["reported_words"] == 2
    assert s["precision"] == 0.5 and s["false_words_per_negative_frame"] == 1.0
    assert s["accuracy"] == 1.0 and s["det_recall"] == 1.0 and s["det_precision"] == 0.5


def test_grouping_and_question_answering():
    h = 10
    frame = [{"text": "3074", "bbox": (0, 0, 40, h)}, {"text": "IDF", "bbox": (45, 0, 75, h)},
             {"text": "RESTRICTED", "bbox": (300, 0, 400, h)}, {"text": "AREA", "bbox": (300, 15, 340, 25)}]
    groups = m.group_words(frame)
    assert sorted(sorted(w["text"] for w in g) for g in groups) == [["3074", "IDF"], ["AREA", "RESTRICTED"]]
    ans = m.answer_questions(["3074", "restricted", "NOPE"], [frame])
    assert ans == {"3074": ["IDF"], "restricted": ["AREA"], "NOPE": []}
    truth = {"3074": ["IDF"], "restricted": ["AREA", "AUTHORIZED"]}
    s, n = m.qa_score(truth, ans)
    # IDF 0 + AREA 0 + AUTHORIZED vs [AREA]: lev 7 / 10 = 0.7
    assert n == 3 and s == pytest.approx(0.7)


def test_lpcv_file_formats_round_trip():
    q = ["STAIR", "B005", "EXIT"]
    assert m.read_questions(m.write_questions(q)) == q
    a = {"STAIR": ["EXIT", "1"], "B005": ["Conference", "Room"], "EXIT": []}
    assert m.read_answers(m.write_answers(a)) == a
    assert m.read_answers("STAIR: -;B005: Conference Room;") == {"STAIR": [], "B005": ["Conference", "Room"]}
