"""Instance metrics: hand-made objects with known IoUs, AP, PQ, Hungarian matching."""

from __future__ import annotations

import numpy as np
import pytest

from seglab._core.errors import ParameterError
from seglab.metrics.instance import (
    IOU_THRESHOLDS,
    average_precision,
    instance_scores,
    iou_matrix,
    match_instances,
    object_table,
    panoptic_quality,
)


@pytest.fixture
def scene():
    """Truth: three 10x10 squares. Pred: A exact, B shifted 2 columns (IoU 80/120), C missed, one extra."""
    truth = np.zeros((40, 60), np.int32)
    pred = np.zeros((40, 60), np.int32)
    truth[2:12, 2:12] = 1
    truth[2:12, 30:40] = 2
    truth[25:35, 5:15] = 3
    pred[2:12, 2:12] = 7
    pred[2:12, 32:42] = 8
    pred[25:35, 45:55] = 9
    return truth, pred


def test_iou_matrix(scene):
    iou, t, p = iou_matrix(*scene)
    assert t.tolist() == [1, 2, 3] and p.tolist() == [7, 8, 9]
    dense = iou.toarray()
    expected = np.zeros((3, 3))
    expected[0, 0] = 1.0
    expected[1, 1] = 80 / 120
    np.testing.assert_allclose(dense, expected)


def test_scores_known_answers(scene):
    s = instance_scores(*scene)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 1)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert s["ap50"] == pytest.approx(2 / 4)
    # at 0.75 the shifted square (IoU 0.667) no longer matches: 1 / (1 + 2 + 2)
    assert s["ap75"] == pytest.approx(1 / 5)
    # thresholds 0.5, 0.55, 0.6, 0.65 keep B (IoU 0.667 > t); 0.7 .. 0.95 do not
    expected_map = (4 * (2 / 4) + 6 * (1 / 5)) / 10
    assert s["map"] == pytest.approx(expected_map)
    assert s["pq"] == pytest.approx((1 + 80 / 120) / (2 + 0.5 + 0.5))
    assert panoptic_quality(*scene) == pytest.approx(s["pq"])
    aps = average_precision(*scene)
    assert list(aps) == list(IOU_THRESHOLDS)
    assert aps[0.65] == pytest.approx(0.5) and aps[0.7] == pytest.approx(0.2)


def test_object_table(scene):
    rows = object_table(*scene)
    assert [(r["true_label"], r["pred_label"], r["matched"]) for r in rows] == [
        (1, 7, True), (2, 8, True), (3, 0, False), (0, 9, False)]
    assert rows[1]["iou"] == pytest.approx(80 / 120)
    assert rows[2]["iou"] == 0.0 and rows[2]["best_pred_label"] == 0
    assert rows[3]["pred_area"] == 100


def test_hungarian_beats_greedy():
    # pred 5 overlaps both truths; the best single pair is (1, 5), but matching (1, 6) and (2, 5)
    # yields more total IoU.
    truth = np.zeros((1, 30), int)
    pred = np.zeros((1, 30), int)
    truth[0, 0:10] = 1
    truth[0, 10:20] = 2
    pred[0, 4:14] = 5   # IoU(1,5) = 6/14, IoU(2,5) = 4/16
    pred[0, 0:4] = 6    # IoU(1,6) = 4/10
    m = match_instances(truth, pred, threshold=0.2)
    assert [(t, p) for t, p, _ in m] == [(1, 6), (2, 5)]
    assert [v for _, _, v in m] == pytest.approx([4 / 10, 4 / 16])
    s = instance_scores(truth, pred, threshold=0.2)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 0, 0)
    # at 0.5 nothing matches (best IoU 6/14)
    assert match_instances(truth, pred) == []


def test_empty_images():
    z = np.zeros((5, 5), int)
    s = instance_scores(z, z)
    assert (s["precision"], s["recall"], s["f1"], s["ap50"], s["map"], s["pq"]) == (1.0,) * 6
    one = z.copy()
    one[1:3, 1:3] = 4
    s = instance_scores(one, z)
    assert (s["tp"], s["fn"], s["precision"], s["recall"], s["map"], s["pq"]) == (0, 1, 0.0, 0.0, 0.0, 0.0)


def test_threshold_errors(scene):
    with pytest.raises(ParameterError, match=r"`threshold` is an IoU in \[0, 1\); got 1.5"):
        instance_scores(*scene, threshold=1.5)
