"""Lock the public surface of seglab.metrics and keep its import light."""

from __future__ import annotations

import subprocess
import sys

import seglab.metrics


def test_public_names():
    assert sorted(seglab.metrics.__all__) == sorted([
        "Confusion", "accuracy", "adapted_rand_error", "adjusted_rand_index", "average_precision",
        "binary_scores", "boundary_pr", "boundary_pr_curve", "confusion_counts", "contingency_table", "dice",
        "evaluate", "f1", "instance_scores", "iou", "iou_matrix", "jaccard", "match_instances", "mcc",
        "object_table", "ods_ois", "panoptic_quality", "precision", "probabilistic_rand_index", "rand_index",
        "recall", "region_scores", "scores_from_counts", "segmentation_covering", "sensitivity", "specificity",
        "variation_of_information",
        "METRIC_KINDS", "RULE_TEXT", "TruthLooksLikeImageError", "diagnose", "metric_kind_for", "output_kind_of",
        "prediction_for", "prepare_truth", "score_output", "score_prepared", "truth_kind",
    ])
    assert all(hasattr(seglab.metrics, name) for name in seglab.metrics.__all__)


def test_import_does_not_load_heavy_libraries():
    code = (
        "import sys, seglab.metrics, seglab.viz.confusion; "
        "print(sorted(m for m in ('sklearn', 'cv2', 'dask', 'torch', 'matplotlib', 'skimage') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
