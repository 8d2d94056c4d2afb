"""Binary segmentation scores, all derived from one confusion count.

The four counts (TP, TN, FP, FN) are computed once by :func:`confusion_counts`
(three ``np.count_nonzero`` passes over bounded chunks: no float temporaries, no
``bincount`` of 8-byte indices, memory independent of the image size). Every
score is a function of those counts only (:func:`scores_from_counts`), so counts
from tiles can be summed (``Confusion.__add__``, builtin ``sum``) and scored once.
This is the design of segmentation_models.pytorch's ``get_stats`` + metric
functions.

Empty-class policy (no NaN, no warning)
---------------------------------------
A ratio whose denominator is zero is *undefined*; instead of NaN we score the
question it asks:

* ``precision = TP / (TP + FP)``; with nothing predicted (``TP + FP == 0``) it is
  1.0 when the truth is empty too (nothing to find, nothing claimed) and 0.0
  when the truth has positives (the empty prediction missed them).
* ``recall = TP / (TP + FN)``; with an empty truth it is 1.0 when nothing was
  predicted and 0.0 when something was (every prediction is a false positive).
* ``specificity = TN / (TN + FP)``; with an all-foreground truth it is 1.0 when
  the prediction is all foreground too and 0.0 otherwise (symmetric to recall).
* ``f1 = 2 TP / (2 TP + FP + FN)`` (= Dice) and ``iou = TP / (TP + FP + FN)``
  (= Jaccard) are 1.0 when truth and prediction are both empty; whenever one
  of them is not empty the denominator is positive and the formula applies.
* ``mcc`` (Matthews) is undefined when truth or prediction is constant (one
  factor of its denominator is zero). Then it is 1.0 when the prediction equals
  the truth exactly (``FP == FN == 0``) and 0.0 otherwise (no correlation can
  be shown). scikit-learn returns 0.0 in both cases; we differ in the first.
* ``accuracy`` is always defined (masks are never empty).

These agree with scikit-learn's ``precision_score``/``recall_score``/
``f1_score``/``jaccard_score`` wherever those are defined, and with
``f1_score(..., zero_division=1.0)`` and ``jaccard_score(..., zero_division=1.0)``
everywhere.

References
----------
.. [1] Chicco D., Jurman G. (2020). The advantages of the Matthews correlation
       coefficient (MCC) over F1 score and accuracy in binary classification
       evaluation. BMC Genomics 21, 6. :DOI:`10.1186/s12864-019-6413-7`
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.validation import check_mask, check_same_shape

__all__ = [
    "Confusion",
    "SCORE_KEYS",
    "confusion_counts",
    "scores_from_counts",
    "binary_scores",
    "accuracy",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
    "f1",
    "dice",
    "iou",
    "jaccard",
    "mcc",
]

#: Keys of :func:`binary_scores`, in order.
SCORE_KEYS = ("tp", "tn", "fp", "fn", "accuracy", "precision", "recall", "specificity", "f1", "iou", "mcc")

# Elements per count_nonzero pass: bounds the bool temporary of ``t & p`` to 4 MiB.
_CHUNK = 1 << 22


@dataclass(frozen=True, slots=True)
class Confusion:
    """The four counts of a binary comparison (Python ints, any size).

    ``Confusion`` objects add up (``a + b``, ``sum(list_of_confusions)``), so a
    tiled evaluation sums the counts of its tiles and scores them once.

    Examples
    --------
    >>> Confusion(tp=1, tn=2, fp=0, fn=1) + Confusion(tp=3, tn=0, fp=1, fn=0)
    Confusion(tp=4, tn=2, fp=1, fn=1)
    >>> sum([Confusion(1, 0, 0, 0), Confusion(0, 1, 0, 0)]).n
    2
    """

    tp: int
    tn: int
    fp: int
    fn: int

    def __add__(self, other):
        if not isinstance(other, Confusion):
            return NotImplemented
        return Confusion(self.tp + other.tp, self.tn + other.tn, self.fp + other.fp, self.fn + other.fn)

    def __radd__(self, other):
        # builtin sum() starts from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    @property
    def n(self) -> int:
        """Total number of pixels."""
        return self.tp + self.tn + self.fp + self.fn

    def scores(self) -> dict:
        """Return :func:`scores_from_counts` of these counts."""
        return scores_from_counts(self.tp, self.tn, self.fp, self.fn)


def _as_bool_pair(mask_true, mask_pred):
    t = check_mask(mask_true, name="mask_true")
    p = check_mask(mask_pred, name="mask_pred")
    check_same_shape(t, p, reference_name="mask_true", other_name="mask_pred")
    return t, p


def _count(t: np.ndarray, p: np.ndarray) -> Confusion:
    """Count on validated, same-shape boolean arrays."""
    t = t.reshape(-1)
    p = p.reshape(-1)
    n = t.size
    n_true = int(np.count_nonzero(t))
    n_pred = int(np.count_nonzero(p))
    tp = 0
    for start in range(0, n, _CHUNK):
        stop = start + _CHUNK
        tp += int(np.count_nonzero(t[start:stop] & p[start:stop]))
    fp = n_pred - tp
    fn = n_true - tp
    return Confusion(tp=tp, tn=n - tp - fp - fn, fp=fp, fn=fn)


def confusion_counts(mask_true: ArrayLike, mask_pred: ArrayLike) -> Confusion:
    """Count true/false positives/negatives of a predicted mask against the truth.

    Parameters
    ----------
    mask_true : (M, N[, P]) array_like of bool, or with values {0, v}
        Ground truth.
    mask_pred : array_like, same shape as `mask_true`
        Prediction.

    Returns
    -------
    Confusion
        ``Confusion(tp, tn, fp, fn)`` as Python ints.

    Raises
    ------
    ShapeMismatchError
        When the shapes differ.
    InvalidImageError
        When a mask has more than two values.

    Examples
    --------
    >>> import numpy as np
    >>> confusion_counts(np.array([[1, 1], [0, 0]]), np.array([[1, 0], [1, 0]]))
    Confusion(tp=1, tn=1, fp=1, fn=1)
    """
    t, p = _as_bool_pair(mask_true, mask_pred)
    return _count(t, p)


def _ratio(num: int, den: int, when_undefined: float) -> float:
    return float(num / den) if den else float(when_undefined)


def scores_from_counts(tp: int, tn: int, fp: int, fn: int) -> dict:
    """Return every binary score from the four counts.

    The empty-class policy is described in the module docstring.

    Returns
    -------
    dict
        Keys ``tp, tn, fp, fn`` (int) and ``accuracy, precision, recall,
        specificity, f1, iou, mcc`` (float), in that order; JSON-ready.

    Examples
    --------
    >>> s = scores_from_counts(tp=3, tn=5, fp=1, fn=1)
    >>> s["precision"], s["f1"], s["iou"]
    (0.75, 0.75, 0.6)
    >>> scores_from_counts(0, 4, 0, 0)["f1"]  # both empty: perfect
    1.0
    """
    tp, tn, fp, fn = (int(v) for v in (tp, tn, fp, fn))
    if min(tp, tn, fp, fn) < 0:
        from seglab._core.errors import ParameterError

        raise ParameterError(f"counts must be non-negative; got tp={tp}, tn={tn}, fp={fp}, fn={fn}")
    n = tp + tn + fp + fn
    # two square roots of exact integer products: a perfect prediction gives exactly 1.0
    den_mcc = math.sqrt((tp + fp) * (tp + fn)) * math.sqrt((tn + fp) * (tn + fn))
    if den_mcc:
        # Python ints: tp*tn cannot overflow, unlike int64 on gigapixel counts
        mcc_value = (tp * tn - fp * fn) / den_mcc
        mcc_value = max(-1.0, min(1.0, mcc_value))
    else:
        mcc_value = 1.0 if fp == 0 and fn == 0 else 0.0
    return {
        "tp": tp,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "accuracy": _ratio(tp + tn, n, 1.0),
        "precision": _ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0),
        "recall": _ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0),
        "specificity": _ratio(tn, tn + fp, 1.0 if fn == 0 else 0.0),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, 1.0),
        "iou": _ratio(tp, tp + fp + fn, 1.0),
        "mcc": float(mcc_value),
    }


def binary_scores(mask_true: ArrayLike, mask_pred: ArrayLike) -> dict:
    """Score a predicted mask against the truth: counts and every binary score.

    Parameters
    ----------
    mask_true : (M, N[, P]) array_like of bool, or with values {0, v}
        Ground truth.
    mask_pred : array_like, same shape as `mask_true`
        Prediction.

    Returns
    -------
    dict
        Keys exactly ``tp, tn, fp, fn, accuracy, precision, recall, specificity,
        f1, iou, mcc`` (Python ints and floats). Empty classes never give NaN;
        see the module docstring for the policy.

    Raises
    ------
    ShapeMismatchError
        When the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[0, 1, 1], [0, 1, 0]], bool)
    >>> pred = np.array([[0, 1, 0], [0, 1, 1]], bool)
    >>> s = binary_scores(truth, pred)
    >>> s["tp"], s["fp"], s["fn"], round(s["f1"], 4)
    (2, 1, 1, 0.6667)
    """
    return confusion_counts(mask_true, mask_pred).scores()


def _one(key: str, doc: str) -> Callable[[ArrayLike, ArrayLike], float]:
    def score(mask_true: ArrayLike, mask_pred: ArrayLike) -> float:
        return confusion_counts(mask_true, mask_pred).scores()[key]

    score.__name__ = key
    score.__qualname__ = key
    score.__doc__ = (
        f"Return the {doc} of `mask_pred` against `mask_true` (a float in "
        f"[{-1 if key == 'mcc' else 0}, 1]).\n\n"
        "Derived from :func:`confusion_counts`; the empty-class policy is in the\n"
        "module docstring. To compute several scores use :func:`binary_scores`,\n"
        "which counts once.\n"
    )
    return score


accuracy = _one("accuracy", "accuracy (TP + TN) / N")
precision = _one("precision", "precision TP / (TP + FP)")
recall = _one("recall", "recall (sensitivity) TP / (TP + FN)")
sensitivity = recall
specificity = _one("specificity", "specificity TN / (TN + FP)")
f1 = _one("f1", "F1 score (= Dice coefficient) 2 TP / (2 TP + FP + FN)")
dice = f1
iou = _one("iou", "intersection over union (= Jaccard index) TP / (TP + FP + FN)")
jaccard = iou
mcc = _one("mcc", "Matthews correlation coefficient")
