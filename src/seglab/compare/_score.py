"""Turn a method's output into what a metric needs, and score it against the truth.

Metric kinds
------------
``binary``
    The truth is a mask (``truth != 0``); the prediction is a mask: masks and
    contours as they are, labels as ``labels != 0``, probabilities as
    ``proba >= 0.5``. Edge maps are not scored (they are not segmentations).
``region``
    Both are partitions (BSDS-style): every pixel belongs to a region. A mask
    prediction becomes its connected components (background is one more
    region); probabilities are thresholded at 0.5 first.
``instance``
    The truth is instance labels, 0 = background; masks (and thresholded
    probabilities) become connected components.
``auto``
    A truth with at most two distinct values -> ``binary``; a truth whose
    labels cover every pixel (no 0) -> ``region``; otherwise -> ``instance``.
"""

from __future__ import annotations

import numpy as np

from seglab._core.errors import ParameterError, close_matches_hint

__all__ = [
    "METRIC_KINDS",
    "infer_metric_kind",
    "prediction_for",
    "score",
    "metric_kind_of",
    "LOWER_IS_BETTER",
    "METRIC_ALIASES",
    "PRIMARY_METRIC",
]

METRIC_KINDS = ("auto", "binary", "region", "instance")
# Scores where smaller is better (everything else is maximised).
LOWER_IS_BETTER = frozenset({"vi", "vi_split", "vi_merge", "adapted_rand_error", "fp", "fn", "seconds", "peak_mb"})
METRIC_ALIASES = {"ap": "ap50", "dice": "f1", "jaccard": "iou"}
_BINARY = ("f1", "mcc", "iou", "precision", "recall", "accuracy", "specificity", "dice", "jaccard")
_REGION = ("ari", "adapted_rand_error", "vi", "vi_split", "vi_merge", "covering")
_INSTANCE = ("ap", "ap50", "ap75", "map", "pq")
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
    """Guess the metric kind from a ground-truth array (see the module docstring)."""
    values = np.unique(truth if truth.size <= 4_000_000 else truth[:: max(1, truth.shape[0] // 1024)])
    if values.size <= 2 and (values.size < 2 or values[0] == 0):
        return "binary"
    if values[0] != 0:
        return "region"
    return "instance"


def prepare_truth(truth: np.ndarray, kind: str) -> np.ndarray:
    """Return the truth as the metric kind needs it (bool mask or integer labels)."""
    if kind == "binary":
        return np.asarray(truth) != 0
    from seglab._core.validation import check_labels

    return check_labels(truth, name="truth")


def prediction_for(data: np.ndarray, output: str, kind: str) -> np.ndarray:
    """Convert a method's output to a bool mask (``binary``) or int labels (``region``/``instance``).

    Raises
    ------
    ParameterError
        The output kind cannot be scored as `kind` (edge maps).
    """
    if output == "edges":
        raise ParameterError("edge maps are not segmentations; they cannot be scored as masks or regions")
    if output == "proba":
        data = np.asarray(data) >= 0.5
        output = "mask"
    if kind == "binary":
        return np.asarray(data) != 0
    if output in ("mask", "contour"):
        from scipy import ndimage as ndi

        labels, _ = ndi.label(np.asarray(data, bool))
        if kind == "region":
            # Background is a region too in a partition.
            labels = labels + 1
        return labels.astype(np.int32)
    return np.asarray(data)


def score(truth: np.ndarray, prediction: np.ndarray, kind: str) -> dict[str, float]:
    """Score `prediction` against `truth` with seglab.metrics (truth first)."""
    from seglab.metrics import evaluate

    result = evaluate(truth, prediction, kind=kind)
    out = {}
    for key, value in dict(result).items():
        if isinstance(value, (bool, np.bool_)):
            continue
        if isinstance(value, (int, float, np.integer, np.floating)):
            out[key] = float(value)
    return out
