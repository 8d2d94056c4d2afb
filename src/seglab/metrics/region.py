"""Region (partition) metrics between two label images, from one contingency table.

Every metric here is a function of the contingency table ``n[i, j]`` = number of
pixels with truth label ``i`` and predicted label ``j`` (built once, sparse,
by :func:`contingency_table`), its row sums ``a`` (truth region sizes) and
column sums ``b`` (predicted region sizes). Label 0 is an ordinary region here
(BSDS has no background label) except in :func:`adapted_rand_error`, which
ignores truth label 0 by default like scikit-image and the SNEMI3D challenge.

* Adjusted Rand index (Hubert & Arabie 1985), equal to
  ``sklearn.metrics.adjusted_rand_score``; Rand index equal to
  ``sklearn.metrics.rand_score``.
* Adapted Rand error (Arganda-Carreras et al. 2015), equal to
  ``skimage.metrics.adapted_rand_error``.
* Variation of information (Meila 2007) in bits, split into
  ``split = H(pred | truth)`` (false splits, over-segmentation: 0 for any
  refinement of the truth) and ``merge = H(truth | pred)`` (false merges,
  under-segmentation: 0 when the prediction only merges nothing). This is the
  order of ``skimage.metrics.variation_of_information(truth, pred)``, which
  returns ``[H(pred|truth), H(truth|pred)]``. BSDS reports ``split + merge``.
* Probabilistic Rand index (Unnikrishnan et al. 2007) against several truths:
  the mean Rand index over the truths (PRI is linear in the pair
  probabilities, so this equals the pairwise definition exactly).
* Segmentation covering (Arbelaez et al. 2011): the covering of the *truth*
  by the prediction, ``1/N sum_R |R| max_R' IoU(R, R')`` over truth regions R,
  as the BSDS benchmark reports; with several truths, the mean over truths
  (BSDS sums ``|R| max IoU`` and ``|R|`` over all annotators; as every
  annotation has N pixels, that is the same mean).

Boundary precision/recall for the BSDS benchmark (:func:`boundary_pr`,
:func:`ods_ois`) live in :mod:`seglab.metrics.boundary` and are re-exported here.

References
----------
.. [1] Hubert L., Arabie P. (1985). Comparing partitions. J. Classification 2, 193-218.
.. [2] Meila M. (2007). Comparing clusterings - an information based distance.
       J. Multivariate Analysis 98(5), 873-895. :DOI:`10.1016/j.jmva.2006.11.013`
.. [3] Unnikrishnan R., Pantofaru C., Hebert M. (2007). Toward objective evaluation
       of image segmentation algorithms. IEEE TPAMI 29(6), 929-944.
.. [4] Arbelaez P., Maire M., Fowlkes C., Malik J. (2011). Contour detection and
       hierarchical image segmentation. IEEE TPAMI 33(5), 898-916.
.. [5] Arganda-Carreras I. et al. (2015). Crowdsourcing the creation of image
       segmentation algorithms for connectomics. Front. Neuroanat. 9:142.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.validation import check_labels, check_same_shape

from .boundary import boundary_pr, ods_ois

__all__ = [
    "Contingency",
    "contingency_table",
    "adjusted_rand_index",
    "rand_index",
    "adapted_rand_error",
    "variation_of_information",
    "probabilistic_rand_index",
    "segmentation_covering",
    "region_scores",
    "boundary_pr",
    "ods_ois",
]

# Dense bincount of pair codes below this many table cells; np.unique above.
_DENSE_CELLS = 1 << 24


def _compact(labels: np.ndarray):
    """Return (consecutive codes 0..K-1 as intp, original label values)."""
    flat = labels.reshape(-1)
    top = int(flat.max())
    if top <= max(4 * flat.size, 1 << 16):
        present = np.bincount(flat, minlength=top + 1) > 0
        values = np.flatnonzero(present)
        lut = np.cumsum(present) - 1
        return lut[flat], values
    values, codes = np.unique(flat, return_inverse=True)
    return codes.reshape(-1), values


class Contingency:
    """Sparse contingency table of two label images, with its margins.

    Attributes
    ----------
    table : scipy.sparse.csr_array of int64, shape (K_true, K_pred)
        ``table[i, j]`` = pixels labelled ``true_labels[i]`` in the truth and
        ``pred_labels[j]`` in the prediction.
    true_labels, pred_labels : ndarray
        The label value of each row / column.
    true_sizes, pred_sizes : ndarray of int64
        Row and column sums (region sizes).
    n : int
        Number of pixels.
    """

    def __init__(self, table, true_labels, pred_labels):
        self.table = table
        self.true_labels = true_labels
        self.pred_labels = pred_labels
        self.true_sizes = np.asarray(table.sum(axis=1)).ravel().astype(np.int64)
        self.pred_sizes = np.asarray(table.sum(axis=0)).ravel().astype(np.int64)
        self.n = int(self.true_sizes.sum())

    def entries(self):
        """Return (rows, cols, counts) of the non-zero cells."""
        coo = self.table.tocoo()
        return coo.row, coo.col, coo.data.astype(np.int64)


def _validated_pair(truth, pred, truth_name="truth", pred_name="pred"):
    t = check_labels(truth, name=truth_name)
    p = check_labels(pred, name=pred_name)
    check_same_shape(t, p, reference_name=truth_name, other_name=pred_name)
    return t, p


def _contingency(t: np.ndarray, p: np.ndarray) -> Contingency:
    from scipy import sparse

    ct, true_labels = _compact(t)
    cp, pred_labels = _compact(p)
    kt, kp = true_labels.size, pred_labels.size
    if kt * kp <= _DENSE_CELLS:
        codes = ct.astype(np.int64, copy=False) * kp + cp
        dense = np.bincount(codes, minlength=kt * kp).reshape(kt, kp)
        table = sparse.csr_array(dense)
    else:
        codes = ct.astype(np.int64) * kp + cp
        uniq, counts = np.unique(codes, return_counts=True)
        table = sparse.csr_array((counts.astype(np.int64), (uniq // kp, uniq % kp)), shape=(kt, kp))
    return Contingency(table, true_labels, pred_labels)


def contingency_table(truth: ArrayLike, pred: ArrayLike) -> Contingency:
    """Build the sparse contingency table of two label images.

    Labels are compacted first (``bincount`` presence or ``np.unique``), so
    large or sparse label values cost nothing extra.

    Parameters
    ----------
    truth, pred : (M, N[, P]) array_like of int
        Label images of the same shape.

    Returns
    -------
    Contingency

    Examples
    --------
    >>> import numpy as np
    >>> c = contingency_table(np.array([[1, 1, 2]]), np.array([[5, 7, 7]]))
    >>> c.table.toarray().tolist(), c.pred_labels.tolist()
    ([[1, 1], [0, 1]], [5, 7])
    """
    return _contingency(*_validated_pair(truth, pred))


def _pair_counts(c: Contingency):
    """sklearn's pair_confusion_matrix entries (ordered pairs), as Python ints."""
    _, _, nij = c.entries()
    n = c.n
    sum_squares = int(np.dot(nij, nij))
    sum_a2 = int(np.dot(c.true_sizes, c.true_sizes))
    sum_b2 = int(np.dot(c.pred_sizes, c.pred_sizes))
    tp = sum_squares - n
    fp = sum_b2 - sum_squares  # together in pred, apart in truth
    fn = sum_a2 - sum_squares  # together in truth, apart in pred
    tn = n * n - fp - fn - sum_squares
    return tn, fp, fn, tp


def _ari(c: Contingency) -> float:
    tn, fp, fn, tp = _pair_counts(c)
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def adjusted_rand_index(truth: ArrayLike, pred: ArrayLike) -> float:
    """Return the adjusted Rand index of two label images (1 = identical, ~0 = chance).

    Equal to ``sklearn.metrics.adjusted_rand_score(truth.ravel(), pred.ravel())``,
    including its convention that two identical partitions (also two single
    regions) score 1.0. Computed from pair counts in Python integers, so it
    does not overflow on gigapixel images.

    Examples
    --------
    >>> import numpy as np
    >>> adjusted_rand_index(np.array([[1, 1, 2, 2]]), np.array([[7, 7, 3, 3]]))
    1.0
    """
    return _ari(_contingency(*_validated_pair(truth, pred)))


def rand_index(truth: ArrayLike, pred: ArrayLike) -> float:
    """Return the (unadjusted) Rand index: the fraction of pixel pairs on which both agree.

    Equal to ``sklearn.metrics.rand_score``. A single-pixel image scores 1.0.
    """
    c = _contingency(*_validated_pair(truth, pred))
    return _rand_from(c)


def _rand_from(c: Contingency) -> float:
    tn, fp, fn, tp = _pair_counts(c)
    total = c.n * (c.n - 1)  # ordered pairs of distinct pixels = tn + fp + fn + tp
    if total == 0:
        return 1.0
    return float((tn + tp) / total)


def adapted_rand_error(truth: ArrayLike, pred: ArrayLike, *, ignore_labels: Sequence[int] = (0,),
                       alpha: float = 0.5) -> tuple[float, float, float]:
    """Return the adapted Rand error with its precision and recall (SNEMI3D).

    Equal to ``skimage.metrics.adapted_rand_error(truth, pred,
    ignore_labels=ignore_labels, alpha=alpha)``, whose conventions we keep:
    pixels whose *truth* label is in `ignore_labels` are left out, and with
    ``P = sum n_ij^2 - n``, ``A = sum a_i^2 - n`` (truth rows) and
    ``B = sum b_j^2 - n`` (prediction columns) it returns
    ``error = 1 - P / (alpha A + (1 - alpha) B)``, ``precision = P / A`` and
    ``recall = P / B``. (scikit-image's docstring describes precision as the
    ratio to the *test* image's pairs; the code, which we match, divides by the
    truth's.) The error is symmetric for ``alpha = 0.5``.

    Where scikit-image would divide by zero (no pair of pixels shares a
    region, or every pixel is ignored) a ratio whose numerator is 0 too is
    1.0: there was no pair to get wrong.

    Returns
    -------
    error, precision, recall : float
    """
    from seglab._core.errors import ParameterError

    if not 0.0 <= alpha <= 1.0:
        raise ParameterError(f"`alpha` must be in [0, 1]; got {alpha}")
    t, p = _validated_pair(truth, pred)
    ignore = np.asarray(tuple(ignore_labels), dtype=np.int64)
    if ignore.size:
        keep = ~np.isin(t, ignore)
        t, p = t[keep], p[keep]
    if t.size == 0:
        return 0.0, 1.0, 1.0
    c = _contingency(t, p)
    _, _, nij = c.entries()
    n = c.n
    sum_p = int(np.dot(nij, nij)) - n
    sum_a = int(np.dot(c.true_sizes, c.true_sizes)) - n
    sum_b = int(np.dot(c.pred_sizes, c.pred_sizes)) - n

    def ratio(num, den):
        return float(num / den) if den else 1.0

    denominator = alpha * sum_a + (1 - alpha) * sum_b
    fscore = float(sum_p / denominator) if denominator else 1.0
    return 1.0 - fscore, ratio(sum_p, sum_a), ratio(sum_p, sum_b)


def _entropies(c: Contingency):
    rows, cols, nij = c.entries()
    n = float(c.n)
    pij = nij / n
    a = c.true_sizes[rows] / n
    b = c.pred_sizes[cols] / n
    split = float(-np.sum(pij * np.log2(pij / a)))  # H(pred | truth)
    merge = float(-np.sum(pij * np.log2(pij / b)))  # H(truth | pred)
    # -0.0 and tiny negative rounding are reported as 0.0
    return max(split, 0.0) + 0.0, max(merge, 0.0) + 0.0


def variation_of_information(truth: ArrayLike, pred: ArrayLike) -> tuple[float, float]:
    """Return the two halves of the variation of information, in bits.

    Returns
    -------
    split : float
        ``H(pred | truth)``, false splits (over-segmentation).
    merge : float
        ``H(truth | pred)``, false merges (under-segmentation).

    ``split + merge`` is the VI. The pair equals
    ``skimage.metrics.variation_of_information(truth, pred)`` (same order).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 1, 1, 1]])
    >>> variation_of_information(truth, np.array([[1, 1, 2, 2]]))  # one false split
    (1.0, 0.0)
    """
    return _entropies(_contingency(*_validated_pair(truth, pred)))


def _covering_from(c: Contingency) -> float:
    rows, cols, nij = c.entries()
    iou = nij / (c.true_sizes[rows] + c.pred_sizes[cols] - nij)
    best = np.zeros(c.true_sizes.size)
    np.maximum.at(best, rows, iou)
    return float(np.dot(c.true_sizes, best) / c.n)


def segmentation_covering(truth: ArrayLike, pred: ArrayLike) -> float:
    """Return the covering of the truth by the prediction (Arbelaez et al. 2011).

    ``C = 1/N sum_{R in truth} |R| max_{R' in pred} |R & R'| / |R | R'|``, in [0, 1].
    This is the "GT covering" the BSDS benchmark reports. It is not symmetric:
    ``segmentation_covering(pred, truth)`` is the covering of the prediction.

    Examples
    --------
    >>> import numpy as np
    >>> segmentation_covering(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]]))
    0.5833333333333333
    """
    return _covering_from(_contingency(*_validated_pair(truth, pred)))


def _as_truth_list(truths):
    if not isinstance(truths, (list, tuple)):
        truths = [truths]
    truths = list(truths)
    if not truths:
        from seglab._core.errors import ParameterError

        raise ParameterError("`truths` is an empty list; pass at least one ground-truth label image")
    return truths


def probabilistic_rand_index(truths: Sequence, pred: ArrayLike) -> float:
    """Return the probabilistic Rand index of `pred` against several truths.

    PRI (Unnikrishnan et al. 2007) is the fraction of pixel pairs whose
    same/different status in `pred` agrees with the probability that the
    annotators put them together; because it is linear in those probabilities
    it equals the mean Rand index over the truths, which is how it is computed.

    Parameters
    ----------
    truths : sequence of (M, N) label arrays, or one label array
    pred : (M, N) label array

    Examples
    --------
    >>> import numpy as np
    >>> probabilistic_rand_index([np.array([[1, 1, 2]]), np.array([[1, 2, 2]])], np.array([[1, 1, 2]]))
    0.6666666666666666
    """
    values = []
    for k, truth in enumerate(_as_truth_list(truths)):
        t, p = _validated_pair(truth, pred, truth_name=f"truths[{k}]", pred_name="pred")
        values.append(_rand_from(_contingency(t, p)))
    return float(np.mean(values))


def region_scores(truth: ArrayLike, pred: ArrayLike) -> dict:
    """Return every region metric of `pred` against one truth or a list of truths.

    Keys: ``ari``, ``adapted_rand_error``, ``vi``, ``vi_split``, ``vi_merge``,
    ``covering``, ``pri``, ``n_regions_true``, ``n_regions_pred``.

    With several truths (BSDS: one label image per annotator) ``pri`` is the
    probabilistic Rand index over all of them and every other score is the mean
    over the truths (BSDS averages covering and VI the same way);
    ``n_regions_true`` is then the mean region count (a float). With one truth
    ``pri`` is its Rand index.
    """
    multi = isinstance(truth, (list, tuple))
    truths = _as_truth_list(truth)
    rows = []
    for k, one in enumerate(truths):
        name = f"truth[{k}]" if multi else "truth"
        t, p = _validated_pair(one, pred, truth_name=name, pred_name="pred")
        c = _contingency(t, p)
        split, merge = _entropies(c)
        are = adapted_rand_error(t, p)[0]
        rows.append(
            {
                "ari": _ari(c),
                "adapted_rand_error": are,
                "vi": split + merge,
                "vi_split": split,
                "vi_merge": merge,
                "covering": _covering_from(c),
                "pri": _rand_from(c),
                "n_regions_true": int(c.true_labels.size),
                "n_regions_pred": int(c.pred_labels.size),
            }
        )
    if len(rows) == 1:
        return rows[0]
    out = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    out["n_regions_pred"] = rows[0]["n_regions_pred"]
    return out
