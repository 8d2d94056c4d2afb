"""``seglab.evaluate``: pick the metric family from the data and score a prediction."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError, close_matches_hint
from seglab._core.validation import check_same_shape

KINDS = ("auto", "binary", "region", "instance")


def evaluate(truth: ArrayLike, pred: ArrayLike, *, instances: bool = False, kind: str = "auto") -> dict:
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
        ``'auto'``: the scoring rule of :mod:`seglab.metrics._rule`, the same
        one ``seglab compare`` and ``seglab tune`` use: a binary `pred`
        (bool, or two values {0, v}) is a mask, anything else labels;
        mask vs binary truth -> binary; labels vs binary truth -> region;
        anything vs instance truth (0 = background, two or more objects) ->
        instance (a mask's connected components are its objects);
        anything vs a partition (no 0) or a list of truths -> region.

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
        pq, tp, fp, fn, n_true, n_pred`` and the foreground's binary
        ``fg_precision, fg_recall, fg_f1, fg_iou``
        (:func:`seglab.metrics.instance.instance_scores`).

    Raises
    ------
    ShapeMismatchError
        When `pred` and `truth` differ in shape.
    ParameterError
        Unknown `kind`, or a `kind` that contradicts `instances`.
    TruthLooksLikeImageError
        The truth looks like a gray image (arguments swapped?).

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
    if isinstance(truth, (list, tuple)) and kind not in ("auto", "region"):
        raise ParameterError(f"a list of {len(truth)} truths is scored with region metrics only; got kind={kind!r}")
    if not several:
        check_same_shape(np.asarray(truth), np.asarray(pred), reference_name="truth", other_name="pred")
    from ._rule import score_output

    return score_output(truth, pred, kind=kind)[1]
