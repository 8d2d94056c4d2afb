"""evaluate() dispatch and the BSDS boundary benchmark."""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import ParameterError, ShapeMismatchError
from seglab.metrics import evaluate
from seglab.metrics.binary import SCORE_KEYS
from seglab.metrics.boundary import boundary_pr, boundary_pr_curve, bsds_thresholds, match_boundaries, ods_ois

REGION_KEYS = {"ari", "adapted_rand_error", "vi", "vi_split", "vi_merge", "covering", "pri",
               "n_regions_true", "n_regions_pred"}
INSTANCE_KEYS = {"precision", "recall", "f1", "ap50", "ap75", "map", "pq", "tp", "fp", "fn", "n_true", "n_pred",
                 "fg_precision", "fg_recall", "fg_f1", "fg_iou"}


def test_evaluate_picks_family(rng):
    t = rng.random((10, 12)) < 0.5
    p = rng.random((10, 12)) < 0.5
    assert tuple(evaluate(t, p)) == SCORE_KEYS
    assert evaluate(t.astype(np.uint8) * 255, p)["tp"] == int(np.sum(t & p))
    labels = rng.integers(0, 4, (10, 12))
    # labels with background 0 are instances (the rule compare and tune use too); a partition is regions
    assert set(evaluate(labels, labels)) == INSTANCE_KEYS
    assert set(evaluate(labels + 1, labels + 1)) == REGION_KEYS
    assert set(evaluate(labels, labels, instances=True)) == INSTANCE_KEYS
    assert set(evaluate(t, p, kind="region")) == REGION_KEYS
    assert set(evaluate([labels, labels], labels)) == REGION_KEYS | {"boundary_precision", "boundary_recall",
                                                                    "boundary_f1"}
    assert seglab.evaluate is evaluate


def test_evaluate_errors():
    with pytest.raises(ShapeMismatchError, match=r"^`pred` has shape \(3, 4\); expected \(4, 4\), the shape of `truth`$"):
        evaluate(np.zeros((4, 4), bool), np.zeros((3, 4), bool))
    with pytest.raises(ParameterError, match="`kind` must be one of .* got 'regoin'. Did you mean 'region'"):
        evaluate(np.zeros((4, 4), bool), np.zeros((4, 4), bool), kind="regoin")
    with pytest.raises(ParameterError, match="instances=True asks for instance metrics but kind='binary'"):
        evaluate(np.zeros((4, 4), bool), np.zeros((4, 4), bool), instances=True, kind="binary")


def test_match_boundaries_is_maximum(rng):
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    for _ in range(5):
        a = rng.random((25, 25)) < 0.15
        b = rng.random((25, 25)) < 0.15
        m1, m2 = match_boundaries(a, b, 1.5)
        assert m1.sum() == m2.sum()
        assert (m1 <= a).all() and (m2 <= b).all()
        close = (cdist(np.argwhere(a), np.argwhere(b)) <= 1.5).astype(float)
        r, c = linear_sum_assignment(close, maximize=True)
        assert m1.sum() == int(close[r, c].sum())


def test_boundary_pr_hand_case():
    gt = np.zeros((30, 30), bool)
    gt[15, 5:25] = True  # 20 pixels
    pred = np.zeros((30, 30), bool)
    pred[17, 5:15] = True  # 10 pixels, 2 rows away
    pred[3, 5:10] = True  # 5 far pixels
    near = boundary_pr(gt, pred, tolerance_px=2.0)
    assert (near["cnt_r"], near["sum_r"], near["cnt_p"], near["sum_p"]) == (10, 20, 10, 15)
    assert near["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    far = boundary_pr(gt, pred, tolerance_px=1.9)
    assert (far["cnt_r"], far["cnt_p"]) == (0, 0)
    # two annotators: recall counts both, precision the union of matches
    gt2 = np.zeros((30, 30), bool)
    gt2[3, 5:10] = True
    two = boundary_pr([gt, gt2], pred, tolerance_px=2.0)
    assert (two["cnt_r"], two["sum_r"], two["cnt_p"], two["sum_p"]) == (15, 25, 15, 15)


def test_ods_ois_hand_counts():
    # two images, two thresholds; columns cnt_r, sum_r, cnt_p, sum_p
    counts = np.array([
        [[8, 10, 4, 10], [5, 10, 5, 5]],
        [[2, 10, 2, 10], [1, 10, 1, 1]],
    ])
    out = ods_ois(counts, thresholds=[0.25, 0.75])
    # OIS: image 1 best at t=0.75 (F 0.667 vs 0.533), image 2 best at t=0.25 (F 0.2 vs 0.18)
    f = lambda r, p: 2 * r * p / (r + p)  # noqa: E731
    assert f(0.5, 1.0) > f(0.8, 0.4) and f(0.2, 0.2) > f(0.1, 1.0)
    assert out["ois_recall"] == pytest.approx((5 + 2) / 20)
    assert out["ois_precision"] == pytest.approx((5 + 2) / (5 + 10))
    # ODS: summed R/P at t=0.25: (0.5, 0.3); at 0.75: (0.3, 1.0); best F on the segment between
    d = np.linspace(0, 1, 100)
    fs = f(0.5 * (1 - d) + 0.3 * d, 0.3 * (1 - d) + 1.0 * d)
    assert out["ods_f"] == pytest.approx(fs.max())
    assert out["ods_threshold"] == pytest.approx(0.25 + 0.5 * d[fs.argmax()])


def test_bsds_thresholds():
    assert bsds_thresholds(3).tolist() == pytest.approx([0.25, 0.5, 0.75])
    with pytest.raises(ParameterError, match="`n_thresholds` must be >= 1; got 0"):
        bsds_thresholds(0)


def test_bsds_annotator_as_detector(shared_data):
    from scipy.io import loadmat

    gt = loadmat(shared_data("bsds500", "groundTruth", "test", "100007.mat"))["groundTruth"]
    bdry = [gt[0, k]["Boundaries"][0, 0] for k in range(gt.shape[1])]
    s = boundary_pr(bdry[1:], bdry[0])
    # annotator 0 is the coarsest (5 regions): nearly all its boundary pixels are confirmed by some
    # other annotator (precision ~1), but it finds only part of theirs (recall ~0.55).
    # Pinned: cnt_r 6465 of sum_r 11690, cnt_p 1626 of sum_p 1626.
    assert (s["cnt_r"], s["sum_r"], s["cnt_p"], s["sum_p"]) == (6465, 11690, 1626, 1626)
    assert 0.65 < s["f1"] < 0.8  # BSDS reports human F = 0.80 over the test set
    curve = boundary_pr_curve(bdry[1:], bdry[0].astype(float), thresholds=[0.5])
    assert curve.tolist() == [[6465, 11690, 1626, 1626]]
    with pytest.raises(ParameterError, match="`tolerance` is a fraction of the image diagonal"):
        boundary_pr(bdry[1:], bdry[0], tolerance=3)
