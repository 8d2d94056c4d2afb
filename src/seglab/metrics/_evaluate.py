"""``seglab.evaluate``: pick the metric family from the data and score a prediction."""

from __future__ import annotations

import numpy as np

from seglab._core.errors import ParameterError, close_matches_hint
from seglab._core.validation import check_labels, check_same_shape

KINDS = ("auto", "binary", "region", "instance")


def _is_binary(array: np.ndarray) -> bool:
    if array.dtype == bool:
        return True
    values = np.unique(array)
    return values.size <= 2 and (values.size == 1 or values[0] == 0)


def evaluate(truth, pred, *, instances: bool = False, kind: str = "auto") -> dict:
    """Score a prediction against the ground truth with the metrics that fit the data.

    Parameters
    ----------
    truth : (M, N[, P]) array_like, or list of label arrays
        Ground truth: a mask, a label image, or several label images (one per
        annotator, BSDS style; region metrics only).
    pred : array_like, same shape
        Prediction.
    instances : bool
        Score objects (positive labels) by IoU matching; same as
        ``kind="instance"``.
    kind : {'auto', 'binary', 'region', 'instance'}
        ``'auto'``: binary when both arrays are binary (bool, or two values
        {0, v}); region metrics otherwise.

    Returns
    -------
    dict
        ``binary``: ``tp, tn, fp, fn, accuracy, precision, recall, specificity,
        f1, iou, mcc`` (:func:`seglab.metrics.binary.binary_scores`).
        ``region``: ``ari, adapted_rand_error, vi, vi_split, vi_merge, covering,
        pri, n_regions_true, n_regions_pred``
        (:func:`seglab.metrics.region.region_scores`; with several truths,
        ``pri`` is the probabilistic Rand index over all of them and the other
        scores are means over the truths).
        ``instance``: ``precision, recall, f1`` at IoU 0.5, ``ap50, ap75, map,
        pq, tp, fp, fn, n_true, n_pred``
        (:func:`seglab.metrics.instance.instance_scores`).

    Raises
    ------
    ShapeMismatchError
        When `pred` and `truth` differ in shape.
    ParameterError
        Unknown `kind`, or a `kind` that contradicts `instances`.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[0, 1], [1, 1]], bool)
    >>> evaluate(truth, np.array([[0, 1], [0, 1]], bool))["recall"]
    0.6666666666666666
    """
    if kind not in KINDS:
        raise ParameterError(
            f"`kind` must be one of {', '.join(map(repr, KINDS))}; got {kind!r}.{close_matches_hint(kind, KINDS)}"
        )
    if instances:
        if kind not in ("auto", "instance"):
            raise ParameterError(f"instances=True asks for instance metrics but kind={kind!r}; drop one of them")
        kind = "instance"
    several = isinstance(truth, (list, tuple))
    if several:
        if kind not in ("auto", "region"):
            raise ParameterError(
                f"a list of {len(truth)} truths is scored with region metrics only; got kind={kind!r}"
            )
        from .region import region_scores

        return region_scores(list(truth), pred)

    t = np.asarray(truth)
    p = np.asarray(pred)
    check_same_shape(t, p, reference_name="truth", other_name="pred")
    if kind == "auto":
        t = check_labels(t, name="truth")
        p = check_labels(p, name="pred")
        kind = "binary" if _is_binary(t) and _is_binary(p) else "region"
    if kind == "binary":
        from .binary import confusion_counts

        return confusion_counts(t, p).scores()
    if kind == "region":
        from .region import region_scores

        return region_scores(t, p)
    from .instance import instance_scores

    return instance_scores(t, p)
