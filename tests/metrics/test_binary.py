"""Binary scores: oracles against scikit-learn and the documented empty-class policy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seglab._core.errors import InvalidImageError, ParameterError, ShapeMismatchError
from seglab.metrics import binary
from seglab.metrics.binary import SCORE_KEYS, Confusion, binary_scores, confusion_counts, scores_from_counts

skm = pytest.importorskip("sklearn.metrics")


def _masks(rng, case, shape=(13, 17)):
    if case == "empty_truth":
        return np.zeros(shape, bool), rng.random(shape) < 0.3
    if case == "empty_pred":
        return rng.random(shape) < 0.3, np.zeros(shape, bool)
    if case == "both_empty":
        return np.zeros(shape, bool), np.zeros(shape, bool)
    if case == "all_true":
        return np.ones(shape, bool), np.ones(shape, bool)
    if case == "all_true_truth":
        return np.ones(shape, bool), rng.random(shape) < 0.5
    density = rng.uniform(0.05, 0.95, size=2)
    return rng.random(shape) < density[0], rng.random(shape) < density[1]


CASES = ["random"] * 15 + ["empty_truth", "empty_pred", "both_empty", "all_true", "all_true_truth"]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_scores_equal_sklearn(index):
    rng = np.random.default_rng(1000 + index)
    case = CASES[index]
    t, p = _masks(rng, case)
    s = binary_scores(t, p)
    yt, yp = t.ravel(), p.ravel()
    tn, fp, fn, tp = skm.confusion_matrix(yt, yp, labels=[False, True]).ravel()
    assert (s["tp"], s["tn"], s["fp"], s["fn"]) == (tp, tn, fp, fn)
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(yt, yp))
    # f1 / iou: our policy is scikit-learn's zero_division=1.0 everywhere
    assert s["f1"] == pytest.approx(skm.f1_score(yt, yp, zero_division=1.0))
    assert s["iou"] == pytest.approx(skm.jaccard_score(yt, yp, zero_division=1.0))
    # precision / recall / specificity / mcc: equal wherever scikit-learn's are defined
    if tp + fp:
        assert s["precision"] == pytest.approx(skm.precision_score(yt, yp))
    if tp + fn:
        assert s["recall"] == pytest.approx(skm.recall_score(yt, yp))
    if tn + fp:
        assert s["specificity"] == pytest.approx(skm.recall_score(~yt, ~yp))
    if (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn):
        assert s["mcc"] == pytest.approx(skm.matthews_corrcoef(yt, yp))


def test_empty_class_policy():
    z = np.zeros((4, 4), bool)
    o = np.ones((4, 4), bool)
    some = z.copy()
    some[1, 1] = True
    both_empty = binary_scores(z, z)
    assert {k: both_empty[k] for k in ("precision", "recall", "f1", "iou", "mcc", "specificity")} == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0, "mcc": 1.0, "specificity": 1.0}
    missed = binary_scores(some, z)  # truth has a positive, nothing predicted
    assert (missed["precision"], missed["recall"], missed["f1"], missed["iou"], missed["mcc"]) == (
        0.0, 0.0, 0.0, 0.0, 0.0)
    invented = binary_scores(z, some)  # empty truth, one false positive
    assert (invented["precision"], invented["recall"], invented["f1"], invented["mcc"]) == (0.0, 0.0, 0.0, 0.0)
    assert invented["specificity"] == pytest.approx(15 / 16)
    full = binary_scores(o, o)
    assert (full["specificity"], full["mcc"], full["f1"]) == (1.0, 1.0, 1.0)
    partial = binary_scores(o, ~some)  # all-true truth, one FN: specificity undefined -> 0
    assert (partial["specificity"], partial["mcc"]) == (0.0, 0.0)
    for s in (both_empty, missed, invented, full, partial):
        assert all(np.isfinite(v) for v in s.values())


def test_hand_case_values():
    t = np.array([[1, 1, 1, 0], [0, 0, 1, 0]], bool)
    p = np.array([[1, 1, 0, 1], [0, 0, 1, 0]], bool)
    s = binary_scores(t, p)
    assert (s["tp"], s["tn"], s["fp"], s["fn"]) == (3, 3, 1, 1)
    assert s["precision"] == 0.75 and s["recall"] == 0.75 and s["f1"] == 0.75
    assert s["iou"] == 0.6
    assert s["mcc"] == pytest.approx((9 - 1) / 16)


def test_keys_types_and_json():
    s = binary_scores(np.eye(4, dtype=bool), np.eye(4, dtype=np.uint8) * 255)
    assert tuple(s) == SCORE_KEYS
    assert all(type(s[k]) is int for k in ("tp", "tn", "fp", "fn"))
    assert all(type(s[k]) is float for k in SCORE_KEYS[4:])
    assert json.loads(json.dumps(s)) == s


def test_single_score_functions_match_binary_scores(rng):
    t, p = rng.random((20, 20)) < 0.4, rng.random((20, 20)) < 0.4
    s = binary_scores(t, p)
    for name in ("accuracy", "precision", "recall", "specificity", "f1", "iou", "mcc"):
        assert getattr(binary, name)(t, p) == s[name]
    assert binary.dice(t, p) == s["f1"] and binary.jaccard(t, p) == s["iou"]
    assert binary.sensitivity(t, p) == s["recall"]


def test_confusion_add_and_sum_over_chunks(rng):
    t, p = rng.random((64, 50)) < 0.3, rng.random((64, 50)) < 0.6
    whole = confusion_counts(t, p)
    parts = [confusion_counts(t[i:i + 16], p[i:i + 16]) for i in range(0, 64, 16)]
    assert sum(parts) == whole
    assert parts[0] + parts[1] + parts[2] + parts[3] == whole
    assert whole.n == t.size
    assert sum(parts).scores() == binary_scores(t, p)
    with pytest.raises(TypeError, match="unsupported operand"):
        whole + 3


def test_chunked_count_matches_direct(rng, monkeypatch):
    monkeypatch.setattr(binary, "_CHUNK", 7)
    t, p = rng.random((33, 29)) < 0.5, rng.random((33, 29)) < 0.5
    c = confusion_counts(t, p)
    assert c.tp == int(np.sum(t & p)) and c.fp == int(np.sum(~t & p))
    assert c.fn == int(np.sum(t & ~p)) and c.tn == int(np.sum(~t & ~p))


def test_huge_counts_do_not_overflow():
    big = 10**12  # products exceed int64
    s = scores_from_counts(big, big, big // 2, big // 4)
    assert s["mcc"] == pytest.approx((big * big - big * big / 8) / np.sqrt(1.5 * 1.25 * 1.5 * 1.25) / big**2)


def test_3d_and_uint8_masks():
    t = np.zeros((3, 4, 5), np.uint8)
    t[1] = 255
    s = binary_scores(t, t > 0)
    assert (s["tp"], s["tn"]) == (20, 40) and s["mcc"] == 1.0


def test_errors():
    with pytest.raises(ShapeMismatchError, match=r"`mask_pred` has shape \(3, 4\); expected \(4, 4\)"):
        binary_scores(np.zeros((4, 4), bool), np.zeros((3, 4), bool))
    with pytest.raises(InvalidImageError, match="`mask_true` has 3 distinct values"):
        binary_scores(np.array([[0, 1], [2, 0]]), np.zeros((2, 2), bool))
    with pytest.raises(ParameterError, match="counts must be non-negative"):
        scores_from_counts(1, -1, 0, 0)
