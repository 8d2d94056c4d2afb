"""seglab.metrics.diagnose: degenerate results get a note with a hint, good ones none."""

from __future__ import annotations

import numpy as np

from seglab.metrics import diagnose


def _truth():
    truth = np.zeros((60, 60), bool)
    for r in range(4):
        for c in range(4):
            truth[3 + 14 * r:13 + 14 * r, 3 + 14 * c:13 + 14 * c] = True
    return truth


def test_good_prediction_has_no_note():
    assert diagnose(_truth(), _truth(), "binary") == []


def test_empty_and_full_masks():
    truth = _truth()
    assert diagnose(truth, np.zeros_like(truth), "binary") == [
        "empty prediction: nothing was segmented (the truth has 44% foreground)"]
    (note,) = diagnose(truth, np.ones_like(truth), "binary")
    assert note.startswith("the mask covers 100% of the image (the truth 44%)") and "try pre-step invert" in note


def test_merged_objects_and_over_segmented_partitions():
    truth = _truth()
    merged = np.zeros_like(truth)
    merged[3:57, 3:57] = True
    (note,) = diagnose(truth, merged, "binary")
    assert note.startswith("1 objects, 16x fewer than the truth's 16") and "split_touching" in note
    partition = np.arange(3600).reshape(60, 60) // 4 + 1  # 900 tiny regions vs 16 objects + background
    (note,) = diagnose(truth.astype(np.int32), partition, "region")
    assert note.startswith("900 regions, 53x more than the truth's 17: over-segmented")
