"""Segmentation metrics: binary scores from one confusion count, region and instance metrics.

* :mod:`seglab.metrics.binary`: ``confusion_counts`` (TP, TN, FP, FN, counted
  once) and every score derived from them; documented empty-class policy.
* :mod:`seglab.metrics.region`: contingency table, ARI, adapted Rand error,
  variation of information, probabilistic Rand index, segmentation covering.
* :mod:`seglab.metrics.boundary`: BSDS boundary precision/recall, ODS/OIS.
* :mod:`seglab.metrics.instance`: IoU matching, DSB-2018 AP, panoptic quality.
* :func:`evaluate` picks the family from the data by the one scoring rule
  (:mod:`seglab.metrics._rule`: :func:`truth_kind`, :func:`metric_kind_for`,
  :func:`score_output`), which ``seglab compare`` and ``seglab tune`` use too.
* :func:`diagnose` notes degenerate results (empty, full, 10x more or fewer objects).

Ground truth is always the first argument, the prediction the second.
"""

from __future__ import annotations

from ._evaluate import evaluate
from ._rule import (
    METRIC_KINDS,
    RULE_TEXT,
    TruthLooksLikeImageError,
    metric_kind_for,
    output_kind_of,
    prediction_for,
    prepare_truth,
    score_output,
    score_prepared,
    truth_kind,
)
from .binary import (
    Confusion,
    accuracy,
    binary_scores,
    confusion_counts,
    dice,
    f1,
    iou,
    jaccard,
    mcc,
    precision,
    recall,
    scores_from_counts,
    sensitivity,
    specificity,
)
from .boundary import boundary_pr, boundary_pr_curve, ods_ois
from .diagnostics import diagnose
from .instance import average_precision, instance_scores, iou_matrix, match_instances, object_table, panoptic_quality
from .region import (
    adapted_rand_error,
    adjusted_rand_index,
    contingency_table,
    probabilistic_rand_index,
    rand_index,
    region_scores,
    segmentation_covering,
    variation_of_information,
)

__all__ = [
    "METRIC_KINDS",
    "RULE_TEXT",
    "TruthLooksLikeImageError",
    "diagnose",
    "metric_kind_for",
    "output_kind_of",
    "prediction_for",
    "prepare_truth",
    "score_output",
    "score_prepared",
    "truth_kind",
    "Confusion",
    "accuracy",
    "adapted_rand_error",
    "adjusted_rand_index",
    "average_precision",
    "binary_scores",
    "boundary_pr",
    "boundary_pr_curve",
    "confusion_counts",
    "contingency_table",
    "dice",
    "evaluate",
    "f1",
    "instance_scores",
    "iou",
    "iou_matrix",
    "jaccard",
    "match_instances",
    "mcc",
    "object_table",
    "ods_ois",
    "panoptic_quality",
    "precision",
    "probabilistic_rand_index",
    "rand_index",
    "recall",
    "region_scores",
    "scores_from_counts",
    "segmentation_covering",
    "sensitivity",
    "specificity",
    "variation_of_information",
]
