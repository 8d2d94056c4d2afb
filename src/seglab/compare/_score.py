"""Metric names and the bridge from compare/tune to the one scoring rule.

Which metrics a prediction gets is decided by :mod:`seglab.metrics._rule` (the
table there), the same code :func:`seglab.evaluate` runs: mask vs binary truth ->
binary scores; labels vs binary truth -> region scores (never "every label is
foreground"); anything vs instance truth -> instance scores (a mask's connected
components are its objects) plus ``fg_*`` binary scores of the foreground;
anything vs a partition -> region scores. ``infer_metric_kind``,
``prepare_truth`` and ``prediction_for`` here are that module's functions.
"""

from __future__ import annotations

import numpy as np

from seglab._core.errors import ParameterError, close_matches_hint
from seglab.metrics import (
    METRIC_KINDS,
    RULE_TEXT,
    metric_kind_for,
    prediction_for,
    prepare_truth,
    score_prepared,
    truth_kind,
)

__all__ = [
    "METRIC_KINDS",
    "RULE_TEXT",
    "infer_metric_kind",
    "metric_kind_for",
    "prepare_truth",
    "prediction_for",
    "score",
    "metric_kind_of",
    "LOWER_IS_BETTER",
    "METRIC_ALIASES",
    "PRIMARY_METRIC",
]

# Scores where smaller is better (everything else is maximised).
LOWER_IS_BETTER = frozenset({"vi", "vi_split", "vi_merge", "adapted_rand_error", "fp", "fn", "seconds", "peak_mb"})
METRIC_ALIASES = {"ap": "ap50", "dice": "f1", "jaccard": "iou"}
_BINARY = ("f1", "mcc", "iou", "precision", "recall", "accuracy", "specificity", "dice", "jaccard")
_REGION = ("ari", "adapted_rand_error", "vi", "vi_split", "vi_merge", "covering")
_INSTANCE = ("ap", "ap50", "ap75", "map", "pq", "fg_f1", "fg_iou", "fg_precision", "fg_recall")
PRIMARY_METRIC = {"binary": "f1", "region": "covering", "instance": "ap50"}


def metric_kind_of(metric: str) -> tuple[str, str]:
    """Return ``(kind, key)`` for a metric name given by a user (``'ap'`` -> ``('instance', 'ap50')``)."""
    name = str(metric).strip().lower()
    key = METRIC_ALIASES.get(name, name)
    if name in _BINARY:
        return "binary", key
    if name in _REGION:
        return "region", key
    if name in _INSTANCE:
        return "instance", key
    known = (*_BINARY, *_REGION, *_INSTANCE)
    raise ParameterError(
        f"unknown metric {metric!r}; expected one of {', '.join(known)}." + close_matches_hint(name, known)
    )


def infer_metric_kind(truth: np.ndarray) -> str:
    """The kind of a ground truth (:func:`seglab.metrics._rule.truth_kind`)."""
    return truth_kind(truth)


def score(truth: np.ndarray, prediction: np.ndarray, kind: str) -> dict[str, float]:
    """Score a prepared `prediction` against a prepared `truth` (truth first); numbers only."""
    out = {}
    for key, value in dict(score_prepared(truth, prediction, kind)).items():
        if isinstance(value, (bool, np.bool_)):
            continue
        if isinstance(value, (int, float, np.integer, np.floating)):
            out[key] = float(value)
    return out
