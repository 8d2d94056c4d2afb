"""The scoring rule: which metrics a prediction gets, from the kind of truth and the kind of output.

One rule, one implementation: :func:`seglab.evaluate`, :func:`seglab.compare.compare` and
:func:`seglab.tune.tune` all score through :func:`score_output`, so the same truth and the same
prediction get the same metric kind and the same numbers everywhere.

Kinds of truth (:func:`truth_kind`)
-----------------------------------
``binary``
    At most two values, one of them 0 (a mask saved as 0/255, or bool).
``instance``
    Integer labels with 0 = background and at least two objects (Cell Tracking
    Challenge ``man_seg``, DSB 2018).
``region``
    Integer labels covering every pixel (no 0): a partition, as BSDS human segmentations;
    a list of label images (several annotators) is always ``region``, and also gets BSDS
    boundary scores ``boundary_precision, boundary_recall, boundary_f1``.

A "truth" whose neighbouring pixels differ as often as a photograph's do is refused
(:class:`TruthLooksLikeImageError`): it is almost always an image given in the truth's place.

Kinds of output
---------------
``mask`` (and ``contour``; ``proba`` thresholded at 0.5 first), ``labels``. ``edges`` maps are
not segmentations and are not scored. For plain arrays (:func:`seglab.evaluate`) an array with
at most two values, one of them 0, is a ``mask``; anything else is ``labels``.

The rule (``metric_kind='auto'``)
---------------------------------
==============  =====================================  ===========================================
truth \\ output  mask                                   labels
==============  =====================================  ===========================================
binary          ``binary``: f1, iou, mcc, ... of the    ``region``: the truth is a partition into
                mask                                   background and foreground, the labels one
                                                       region each (covering, ARI, VI). Never
                                                       "every label is foreground".
instance        ``instance``: the mask's connected      ``instance``: labels as objects (0 =
                components are the objects (AP, PQ,    background), plus ``fg_*`` of
                matched F1), plus ``fg_f1, fg_iou,     ``labels != 0``
                fg_precision, fg_recall`` of the mask
region          ``region``: the mask's connected        ``region``
                components, background one more
                region
==============  =====================================  ===========================================

A kind given explicitly (``kind='binary'`` etc.) is honoured when it makes sense: ``binary``
scores ``labels != 0`` against ``truth != 0`` only when the labels have a background (0); a
partition (no 0) would make every pixel foreground, so it is refused. ``instance`` on a binary
truth takes the truth's connected components as its objects. Rankings put each kind in its own
table: a label output scored by region metrics is never ranked among masks scored by F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ImageTypeError, InvalidImageError, ParameterError, close_matches_hint

__all__ = [
    "METRIC_KINDS",
    "TRUTH_KINDS",
    "TruthLooksLikeImageError",
    "truth_kind",
    "output_kind_of",
    "metric_kind_for",
    "prepare_truth",
    "prediction_for",
    "score_prepared",
    "score_output",
    "RULE_TEXT",
]

METRIC_KINDS = ("auto", "binary", "region", "instance")
TRUTH_KINDS = ("binary", "instance", "region")

#: One line per rule, for help texts and reports.
RULE_TEXT = (
    "mask vs binary truth: binary scores (f1, iou, mcc); "
    "labels vs binary truth: region scores (covering, ari, vi) of the truth's background/foreground partition, "
    "ranked in their own table; "
    "mask vs instance truth: instance scores (ap50, pq) of the mask's connected components plus fg_f1/fg_iou of "
    "the foreground; labels vs instance truth: instance scores; anything vs a partition (no 0): region scores."
)

# Above this many pixels, kind inference looks at a regular subsample (the answer depends on
# the set of values and on how often neighbours differ; both survive subsampling rows).
_SAMPLE_PIXELS = 4_000_000
# A label image changes value only at object boundaries (a few % of horizontal neighbours);
# a photograph or micrograph changes at most pixels.
_IMAGE_LIKE_CHANGE = 0.30
_IMAGE_LIKE_VALUES = 32
_FG_KEYS = ("precision", "recall", "f1", "iou")


class TruthLooksLikeImageError(InvalidImageError):
    """The ground truth looks like a gray image (TRUTH and PRED swapped?)."""


def _sample(array: np.ndarray) -> np.ndarray:
    if array.size <= _SAMPLE_PIXELS:
        return array
    step = int(np.ceil(array.size / _SAMPLE_PIXELS))
    return array[::step] if array.ndim >= 2 else array[::step]


def _neighbour_change(array: np.ndarray) -> float:
    """Fraction of horizontally adjacent pixel pairs whose values differ."""
    if array.ndim < 2 or array.shape[-1] < 2:
        return 0.0
    return float(np.count_nonzero(array[..., 1:] != array[..., :-1])) / float(array[..., 1:].size)


def _values(array: np.ndarray) -> np.ndarray:
    return np.unique(_sample(array))


def _check_scorable(array: np.ndarray, name: str) -> None:
    """Refuse what no metric can score: non-numeric dtypes and NaN/inf (``nan != 0`` would be foreground)."""
    if array.dtype.kind not in "biuf":
        raise ImageTypeError(f"`{name}` has dtype {array.dtype}; a mask or label image holds booleans or whole "
                             "numbers (for a complex image use np.abs first)")
    if array.ndim == 0:
        raise InvalidImageError(f"`{name}` is a single value ({array!r}), not a mask or label image")
    if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise InvalidImageError(f"`{name}` contains {bad:,} NaN or infinite value(s); a mask or label image holds "
                                "finite whole numbers (replace them first, e.g. np.nan_to_num)")


def truth_kind(truth: ArrayLike, *, name: str = "truth") -> str:
    """Return the kind of a ground truth: ``'binary'``, ``'instance'`` or ``'region'``.

    A list or tuple of label images (BSDS: one per annotator) is ``'region'``.

    Raises
    ------
    TruthLooksLikeImageError
        More than 32 distinct values and neighbouring pixels differ as often as in a photograph
        (over 30 % of horizontal neighbours): an image given where the truth belongs.
    InvalidImageError, ImageTypeError
        Not a label image (fractional or negative values).

    Examples
    --------
    >>> import numpy as np
    >>> truth_kind(np.array([[0, 255], [0, 0]], np.uint8)), truth_kind(np.array([[0, 1], [2, 2]]))
    ('binary', 'instance')
    >>> truth_kind(np.array([[1, 1], [2, 3]]))
    'region'
    """
    if isinstance(truth, (list, tuple)):
        return "region"
    array = np.asarray(truth)
    if array.dtype == bool:
        return "binary"
    if array.dtype.kind == "f" and array.size and not np.array_equal(_sample(array), np.round(_sample(array))):
        raise InvalidImageError(
            f"`{name}` holds fractional values ({array.dtype}); a ground truth is a mask or a label image of "
            "whole numbers. Is it an image? The truth comes first: seglab evaluate TRUTH PRED"
        )
    values = _values(array)
    if values.size <= 2 and (values.size < 2 or values[0] == 0):
        return "binary"
    if values.size > _IMAGE_LIKE_VALUES:
        change = _neighbour_change(_sample(array))
        if change > _IMAGE_LIKE_CHANGE:
            raise TruthLooksLikeImageError(
                f"`{name}` looks like a gray image, not a ground truth: {values.size} distinct values and "
                f"{change:.0%} of neighbouring pixels differ (a label image changes only at object boundaries); "
                "did you swap them? The truth comes first: seglab evaluate TRUTH PRED"
            )
    if values[0] != 0:
        return "region"
    return "instance"


def output_kind_of(pred: ArrayLike) -> str:
    """``'mask'`` for an array with at most two values, one of them 0 (or bool); else ``'labels'``."""
    array = np.asarray(pred)
    if array.dtype == bool:
        return "mask"
    values = _values(array)
    return "mask" if values.size <= 2 and (values.size < 2 or values[0] == 0) else "labels"


def _normal_output(output: str) -> str:
    if output == "edges":
        raise ParameterError(
            "edge maps are not segmentations; they cannot be scored as masks or regions (score them with "
            "seglab.metrics.boundary_pr)"
        )
    if output in ("mask", "contour", "proba"):
        return "mask"
    if output == "labels":
        return "labels"
    raise ParameterError(f"output kind {output!r} cannot be scored; expected mask, contour, proba or labels")


def metric_kind_for(truth_kind_: str, output: str, requested: str = "auto") -> str:
    """The metric kind the rule gives a (truth kind, output kind) pair (table in the module docstring).

    Parameters
    ----------
    truth_kind_ : {'binary', 'instance', 'region'}
        From :func:`truth_kind`.
    output : {'mask', 'contour', 'proba', 'labels'}
        The method's output kind.
    requested : {'auto', 'binary', 'region', 'instance'}
        ``'auto'`` applies the rule; anything else is honoured.

    Examples
    --------
    >>> metric_kind_for("binary", "labels"), metric_kind_for("instance", "mask")
    ('region', 'instance')
    """
    if requested not in METRIC_KINDS:
        raise ParameterError(
            f"metric kind got {requested!r}; expected one of {', '.join(METRIC_KINDS)}."
            + close_matches_hint(str(requested), METRIC_KINDS)
        )
    out = _normal_output(output)
    if requested != "auto":
        return requested
    if truth_kind_ == "binary":
        return "binary" if out == "mask" else "region"
    return truth_kind_


def prepare_truth(truth: ArrayLike, kind: str, *, truth_kind_: str | None = None) -> NDArray[Any] | list[NDArray[Any]]:
    """Return the truth as metric kind `kind` needs it.

    ``binary``: bool mask (``truth != 0``). ``instance``: int labels; a binary truth becomes its
    connected components (each object one label). ``region``: int labels as they are (a binary
    truth is the two-region partition background/foreground); a list stays a list.
    """
    from seglab._core.validation import check_labels

    if isinstance(truth, (list, tuple)):
        if kind != "region":
            raise ParameterError(f"a list of {len(truth)} truths is scored with region metrics only; got {kind!r}")
        return [check_labels(t, name=f"truth[{k}]") for k, t in enumerate(truth)]
    array = np.asarray(truth)
    if kind == "binary":
        if truth_kind_ is None:
            truth_kind_ = truth_kind(array)
        if truth_kind_ == "region":
            raise ParameterError(
                "binary scores need a truth with background 0; this truth is a partition (every pixel labelled); "
                "score it with region metrics"
            )
        return array != 0
    labels = check_labels(array, name="truth")
    if kind == "instance":
        if truth_kind_ is None:
            truth_kind_ = truth_kind(labels)
        if truth_kind_ == "binary":
            from scipy import ndimage as ndi

            labels, _ = ndi.label(labels != 0)
    return labels


def prediction_for(data: ArrayLike, output: str, kind: str) -> NDArray[Any]:
    """Convert a method's output to what metric kind `kind` needs (bool mask or int labels).

    Raises
    ------
    ParameterError
        Edge maps; binary scores asked of a label partition with no background.
    """
    out = _normal_output(output)
    data = np.asarray(data)
    if output == "proba":
        data = data >= 0.5
    if kind == "binary":
        if out == "labels" and data.size and not (data == 0).any():
            raise ParameterError(
                "binary scores would call every pixel of this label output foreground (it has no background "
                "label 0); labels are scored with region metrics (covering, ari, vi) or, against instance truth, "
                "instance metrics"
            )
        return data != 0
    if out == "mask":
        from scipy import ndimage as ndi

        labels, _ = ndi.label(data != 0)
        if kind == "region":
            # In a partition the background is one more region.
            labels = labels + 1
        return labels.astype(np.int32)
    from seglab._core.validation import check_labels

    return check_labels(data, name="pred")


def score_prepared(truth: Any, prediction: NDArray[Any], kind: str) -> dict:
    """Score a prepared prediction against a prepared truth (both from this module's helpers)."""
    if kind == "binary":
        from .binary import confusion_counts

        return confusion_counts(truth, prediction).scores()
    if kind == "region":
        from .region import region_scores

        scores = region_scores(truth, prediction)
        if isinstance(truth, (list, tuple)):
            scores.update(_boundary_scores(truth, prediction))
        return scores
    if kind == "instance":
        from .binary import confusion_counts
        from .instance import instance_scores

        scores = instance_scores(truth, prediction)
        fg = confusion_counts(np.asarray(truth) != 0, np.asarray(prediction) != 0).scores()
        scores.update({f"fg_{key}": fg[key] for key in _FG_KEYS})
        return scores
    raise ParameterError(f"metric kind got {kind!r}; expected binary, region or instance")


def _boundary_scores(truths, prediction) -> dict:
    """BSDS boundary precision/recall/F of a partition against several annotators' partitions.

    Boundaries of truth and prediction come from the same function (``find_boundaries``,
    ``mode='inner'``), matched within BSDS's default tolerance (0.0075 of the diagonal).
    """
    from skimage.segmentation import find_boundaries

    from .boundary import boundary_pr

    maps = [find_boundaries(np.asarray(t), mode="inner") for t in truths]
    found = boundary_pr(maps, find_boundaries(np.asarray(prediction), mode="inner"))
    return {"boundary_precision": found["precision"], "boundary_recall": found["recall"],
            "boundary_f1": found["f1"]}


def score_output(truth: ArrayLike, data: ArrayLike, output: str | None = None, *,
                 kind: str = "auto") -> tuple[str, dict]:
    """Score a method's output against the truth by the rule; return ``(metric_kind, scores)``.

    Parameters
    ----------
    truth : array_like or list of array_like
        Mask, instance labels, a partition, or several partitions (BSDS annotators).
    data : array_like
        The output, same shape.
    output : {'mask', 'contour', 'proba', 'labels'}, optional
        The output kind; default: inferred from `data` (:func:`output_kind_of`).
    kind : {'auto', 'binary', 'region', 'instance'}
        ``'auto'`` applies the rule of the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((6, 6), np.uint8); truth[1:3, 1:3] = 255; truth[4:6, 4:6] = 255
    >>> kind, s = score_output(truth, np.arange(36).reshape(6, 6) // 18 + 1, "labels")
    >>> kind, "f1" in s, "covering" in s
    ('region', False, True)
    """
    from seglab._core.validation import check_same_shape

    for k, item in enumerate(truth if isinstance(truth, (list, tuple)) else [truth]):
        _check_scorable(np.asarray(item), "truth" if not isinstance(truth, (list, tuple)) else f"truth[{k}]")
    _check_scorable(np.asarray(data), "pred")
    if output is None:
        output = output_kind_of(data)
    tkind = truth_kind(truth)
    kind = metric_kind_for(tkind, output, kind)
    first = truth[0] if isinstance(truth, (list, tuple)) else truth
    check_same_shape(np.asarray(first), np.asarray(data), reference_name="truth", other_name="pred")
    ready = prepare_truth(truth, kind, truth_kind_=tkind)
    return kind, score_prepared(ready, prediction_for(data, output, kind), kind)
