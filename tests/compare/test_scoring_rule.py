"""One scoring rule for evaluate, compare and tune: like is compared with like (issue 15 item 1, issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.compare import compare, rank
from seglab.metrics._rule import TruthLooksLikeImageError, metric_kind_for, score_output, truth_kind


def _squares(seed=0, shape=(64, 80)):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.int32)
    for k, (r, c) in enumerate([(6, 6), (6, 44), (36, 20), (40, 56)], 1):
        labels[r:r + 14, c:c + 16] = k
    image = np.where(labels > 0, 170, 50) + rng.normal(0, 8, shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def test_rule_table():
    assert metric_kind_for("binary", "mask") == "binary"
    assert metric_kind_for("binary", "labels") == "region"
    assert metric_kind_for("binary", "proba") == "binary"
    assert metric_kind_for("instance", "mask") == "instance"
    assert metric_kind_for("instance", "labels") == "instance"
    assert metric_kind_for("region", "mask") == "region"
    assert metric_kind_for("binary", "labels", "instance") == "instance"
    with pytest.raises(seglab.SeglabError, match="edge maps are not segmentations"):
        metric_kind_for("binary", "edges")


def test_labels_against_binary_truth_are_not_all_foreground():
    image, labels = _squares()
    truth = (labels > 0).astype(np.uint8) * 255
    partition = np.where(labels > 0, 2, 1)  # a perfect two-cluster answer (k-means style, no 0)
    kind, scores = score_output(truth, partition, "labels")
    assert kind == "region"
    assert "f1" not in scores
    assert scores["covering"] == pytest.approx(1.0)
    # binary scores of a partition would call every pixel foreground: refused, not computed
    with pytest.raises(seglab.SeglabError, match="every pixel of this label output foreground"):
        score_output(truth, partition, "labels", kind="binary")


def test_compare_ranks_label_outputs_in_their_own_table():
    image, labels = _squares()
    truth = labels > 0
    rows = compare([image], [truth], "otsu,kmeans")
    by_method = {r["method"]: r for r in rows}
    assert by_method["otsu"]["metric_kind"] == "binary"
    assert by_method["otsu"]["f1"] > 0.95
    assert by_method["kmeans"]["metric_kind"] == "region"
    assert "f1" not in by_method["kmeans"] and "recall" not in by_method["kmeans"]
    assert 0.5 < by_method["kmeans"]["covering"] <= 1.0
    ranking = rank(rows)
    kinds = {e["method"]: (e["metric_kind"], e["by"], e["rank"]) for e in ranking}
    assert kinds["otsu"] == ("binary", "f1", 1)
    assert kinds["kmeans"] == ("region", "covering", 1)


def test_instance_truth_gets_the_same_metric_kind_from_evaluate_and_compare():
    image, labels = _squares()
    rows = compare([image], [labels], ["otsu"])
    mask = seglab.segment(image, "otsu").data
    direct = seglab.evaluate(labels, mask)
    assert rows[0]["metric_kind"] == "instance"
    assert set(direct) >= {"ap50", "pq", "fg_f1"}
    for key in ("ap50", "pq", "f1", "fg_f1", "fg_iou"):
        assert rows[0][key] == pytest.approx(direct[key])
    assert direct["ap50"] == pytest.approx(1.0)


def test_tune_scores_instances_of_a_binary_truth_by_connected_components():
    from seglab.compare._score import prepare_truth

    _, labels = _squares()
    ready = prepare_truth((labels > 0).astype(np.uint8) * 255, "instance")
    assert ready.max() == 4  # four objects, not "one object labelled 255"


def test_a_gray_image_given_as_truth_is_refused():
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(120, 30, (64, 64)), 0, 255).astype(np.uint8)
    mask = image > 120
    with pytest.raises(TruthLooksLikeImageError, match=r"looks like a gray image.*did you swap them"):
        seglab.evaluate(image, mask)
    assert truth_kind(mask) == "binary"


def test_compare_notes_a_fragmented_result():
    image, labels = _squares()
    rng = np.random.default_rng(3)
    noisy = np.clip(image.astype(float) + rng.normal(0, 60, image.shape), 0, 255).astype(np.uint8)
    rows = compare([noisy], [labels > 0], ["otsu"])
    assert "more than the truth's 4" in rows[0]["notes"]
    assert "remove_small_objects" in rows[0]["notes"]
    clean = compare([image], [labels > 0], ["otsu"])
    assert clean[0]["notes"] == ""
