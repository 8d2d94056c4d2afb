"""Instance (object) metrics: IoU matching, detection scores, DSB-2018 AP and panoptic quality.

Objects are the positive labels of a label image (0 = background). The IoU of
every overlapping (truth, pred) pair comes from one sparse contingency table
(:func:`iou_matrix`). Matching at an IoU threshold ``t`` is one-to-one:

* for ``t >= 0.5`` a pair matches when ``IoU > t``; two objects cannot both have
  IoU > 0.5 with the same object, so these pairs are already one-to-one and
  no assignment is needed (Kirillov et al. 2019, Theorem 1);
* for ``t < 0.5`` the pairs with ``IoU > t`` are assigned by the Hungarian
  method (:func:`scipy.optimize.linear_sum_assignment`) maximising the summed
  IoU, the convention of StarDist's ``matching``.

Scores at a threshold (TP = matched pairs, FP = unmatched predictions,
FN = unmatched truths):

* ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
  ``f1 = 2 TP / (2 TP + FP + FN)``; when both images have no object all three are
  1.0, and a zero denominator otherwise gives 0.0 (the binary policy);
* ``ap(t) = TP / (TP + FP + FN)``, the "average precision" of the 2018 Data
  Science Bowl (1.0 when both have no object); ``map`` is its mean over
  ``t = 0.5, 0.55, ..., 0.95``;
* panoptic quality ``PQ = sum_TP IoU / (TP + FP/2 + FN/2)`` at ``t = 0.5``
  (Kirillov et al. 2019), 1.0 when both are empty.

References
----------
.. [1] Caicedo J. C. et al. (2019). Nucleus segmentation across imaging experiments:
       the 2018 Data Science Bowl. Nature Methods 16, 1247-1253.
       :DOI:`10.1038/s41592-019-0612-7`
.. [2] Kirillov A., He K., Girshick R., Rother C., Dollar P. (2019). Panoptic
       segmentation. CVPR. :DOI:`10.1109/CVPR.2019.00963`
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError

from .region import _contingency, _validated_pair

__all__ = [
    "IOU_THRESHOLDS",
    "iou_matrix",
    "match_instances",
    "instance_scores",
    "object_table",
    "average_precision",
    "panoptic_quality",
]

#: The DSB-2018 / COCO thresholds 0.5:0.05:0.95.
IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


class _Overlaps:
    """Objects and their overlapping pairs (validated once)."""

    def __init__(self, truth, pred):
        t, p = _validated_pair(truth, pred)
        c = _contingency(t, p)
        rows, cols, nij = c.entries()
        keep_rows = c.true_labels != 0
        keep_cols = c.pred_labels != 0
        self.true_labels = c.true_labels[keep_rows].astype(np.int64)
        self.pred_labels = c.pred_labels[keep_cols].astype(np.int64)
        self.true_areas = c.true_sizes[keep_rows]
        self.pred_areas = c.pred_sizes[keep_cols]
        # re-index rows/cols onto objects only
        row_map = np.cumsum(keep_rows) - 1
        col_map = np.cumsum(keep_cols) - 1
        sel = keep_rows[rows] & keep_cols[cols]
        self.rows = row_map[rows[sel]]
        self.cols = col_map[cols[sel]]
        inter = nij[sel]
        self.iou = inter / (self.true_areas[self.rows] + self.pred_areas[self.cols] - inter)

    @property
    def n_true(self):
        return self.true_labels.size

    @property
    def n_pred(self):
        return self.pred_labels.size

    def match(self, threshold: float):
        """Return (rows, cols, ious) of the matched pairs."""
        cand = self.iou > threshold
        rows, cols, ious = self.rows[cand], self.cols[cand], self.iou[cand]
        if threshold >= 0.5 or rows.size == 0:
            return rows, cols, ious
        from scipy.optimize import linear_sum_assignment

        ur, ri = np.unique(rows, return_inverse=True)
        uc, ci = np.unique(cols, return_inverse=True)
        weights = np.zeros((ur.size, uc.size))
        weights[ri, ci] = ious
        r, c = linear_sum_assignment(weights, maximize=True)
        ok = weights[r, c] > threshold
        return ur[r[ok]], uc[c[ok]], weights[r[ok], c[ok]]


def _check_threshold(threshold):
    if not 0.0 <= threshold < 1.0:
        raise ParameterError(f"`threshold` is an IoU in [0, 1); got {threshold}")


def iou_matrix(truth: ArrayLike, pred: ArrayLike) -> tuple[Any, NDArray[np.int64], NDArray[np.int64]]:
    """Return the IoU of every overlapping pair of objects, as a sparse matrix.

    Parameters
    ----------
    truth, pred : (M, N[, P]) label arrays (0 = background)

    Returns
    -------
    iou : scipy.sparse.csr_array of float64, shape (n_true, n_pred)
    true_labels, pred_labels : ndarray of int64
        The label of each row and column.

    Examples
    --------
    >>> import numpy as np
    >>> iou, t, p = iou_matrix(np.array([[1, 1, 0, 0]]), np.array([[0, 3, 3, 0]]))
    >>> iou.toarray().tolist(), t.tolist(), p.tolist()
    ([[0.3333333333333333]], [1], [3])
    """
    from scipy import sparse

    o = _Overlaps(truth, pred)
    matrix = sparse.csr_array((o.iou, (o.rows, o.cols)), shape=(o.n_true, o.n_pred))
    return matrix, o.true_labels, o.pred_labels


def match_instances(truth: ArrayLike, pred: ArrayLike, *, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Match truth and predicted objects one-to-one at an IoU threshold.

    Returns
    -------
    list of (true_label, pred_label, iou)
        The matched pairs (``IoU > threshold``), sorted by true label.
    """
    _check_threshold(threshold)
    o = _Overlaps(truth, pred)
    rows, cols, ious = o.match(threshold)
    order = np.argsort(rows, kind="stable")
    return [
        (int(o.true_labels[r]), int(o.pred_labels[c]), float(v))
        for r, c, v in zip(rows[order], cols[order], ious[order])
    ]


def _detection(tp, fp, fn):
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn)
    ap = tp / (tp + fp + fn)
    return float(precision), float(recall), float(f1), float(ap)


def _scores(o: _Overlaps, threshold: float = 0.5) -> dict:
    rows, cols, ious = o.match(threshold)
    tp = int(rows.size)
    fp = o.n_pred - tp
    fn = o.n_true - tp
    precision, recall, f1, ap = _detection(tp, fp, fn)
    aps = []
    for t in IOU_THRESHOLDS:
        r, _, _ = o.match(t)
        k = int(r.size)
        aps.append(_detection(k, o.n_pred - k, o.n_true - k)[3])
    pq_den = tp + fp / 2 + fn / 2
    pq = float(ious.sum() / pq_den) if pq_den else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ap50": aps[0],
        "ap75": aps[5],
        "map": float(np.mean(aps)),
        "pq": pq,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "n_true": int(o.n_true),
        "n_pred": int(o.n_pred),
    }


def instance_scores(truth: ArrayLike, pred: ArrayLike, *, threshold: float = 0.5) -> dict:
    """Return detection scores, DSB-2018 AP and panoptic quality of predicted objects.

    Parameters
    ----------
    truth, pred : (M, N[, P]) label arrays (0 = background)
    threshold : float
        IoU threshold of ``precision, recall, f1, tp, fp, fn`` (``pq`` uses it
        too; ``ap50, ap75, map`` use their own).

    Returns
    -------
    dict
        ``precision, recall, f1, ap50, ap75, map, pq`` (floats) and
        ``tp, fp, fn, n_true, n_pred`` (ints).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((10, 10), int); truth[1:4, 1:4] = 1; truth[6:9, 6:9] = 2
    >>> pred = np.zeros((10, 10), int); pred[1:4, 1:4] = 5  # found 1, missed 2
    >>> s = instance_scores(truth, pred)
    >>> s["tp"], s["fn"], s["ap50"], s["pq"]
    (1, 1, 0.5, 0.6666666666666666)
    """
    _check_threshold(threshold)
    return _scores(_Overlaps(truth, pred), threshold)


def average_precision(truth: ArrayLike, pred: ArrayLike, *, thresholds: Sequence[float] = IOU_THRESHOLDS) -> dict:
    """Return ``{threshold: TP / (TP + FP + FN)}`` (the DSB-2018 AP) for each threshold."""
    o = _Overlaps(truth, pred)
    out = {}
    for t in thresholds:
        _check_threshold(t)
        k = int(o.match(t)[0].size)
        out[float(t)] = _detection(k, o.n_pred - k, o.n_true - k)[3]
    return out


def panoptic_quality(truth: ArrayLike, pred: ArrayLike) -> float:
    """Return the panoptic quality ``sum IoU(TP) / (TP + FP/2 + FN/2)`` at IoU 0.5."""
    return _scores(_Overlaps(truth, pred), 0.5)["pq"]


def object_table(truth: ArrayLike, pred: ArrayLike, *, threshold: float = 0.5) -> list[dict]:
    """Return one row per object: its partner and IoU.

    Rows for truth objects come first (by label), then the predicted objects
    that matched nothing (false positives, ``true_label = 0``).

    Returns
    -------
    list of dict
        Keys ``true_label``, ``pred_label`` (0 when unmatched), ``iou`` (of the
        match; for an unmatched truth, its best IoU with any prediction and
        ``best_pred_label``), ``matched`` (bool), ``true_area``, ``pred_area``.
    """
    _check_threshold(threshold)
    o = _Overlaps(truth, pred)
    rows, cols, ious = o.match(threshold)
    partner = dict(zip(rows.tolist(), zip(cols.tolist(), ious.tolist())))
    best = np.zeros(o.n_true)
    best_col = np.full(o.n_true, -1)
    for r, c, v in zip(o.rows, o.cols, o.iou):
        if v > best[r]:
            best[r], best_col[r] = v, c
    table = []
    for r in range(o.n_true):
        if r in partner:
            c, v = partner[r]
            table.append({"true_label": int(o.true_labels[r]), "pred_label": int(o.pred_labels[c]), "iou": v,
                          "matched": True, "true_area": int(o.true_areas[r]), "pred_area": int(o.pred_areas[c])})
        else:
            b = int(best_col[r])
            table.append({"true_label": int(o.true_labels[r]), "pred_label": 0, "iou": float(best[r]),
                          "best_pred_label": int(o.pred_labels[b]) if b >= 0 else 0,
                          "matched": False, "true_area": int(o.true_areas[r]), "pred_area": 0})
    matched_cols = set(cols.tolist())
    for c in range(o.n_pred):
        if c not in matched_cols:
            table.append({"true_label": 0, "pred_label": int(o.pred_labels[c]), "iou": 0.0, "matched": False,
                          "true_area": 0, "pred_area": int(o.pred_areas[c])})
    return table
