"""Shared helpers of the threshold family: input check and the constant-image policy."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._core.errors import ConstantImageWarning, ParameterError
from .._core.validation import check_gray as _check_gray

# Direct call: user -> public function -> helper -> warnings.warn.
_STACKLEVEL = 3


def check_gray(image, method: str) -> np.ndarray:
    """Validate a single-channel image for threshold method `method`."""
    return _check_gray(image, f"threshold {method!r}")


def constant_value(image: np.ndarray):
    """Return the single value of a constant image, or None."""
    low, high = image.min(), image.max()
    return low if low == high else None


def constant_result(image: np.ndarray, value, method: str, *, labels: bool = False):
    """The policy for a constant image: empty output, ``info['constant'] = True`` and a warning."""
    warnings.warn(
        f"threshold {method!r}: the image has a single value ({_number(value)}), so no foreground can be "
        "separated; returning an empty mask",
        ConstantImageWarning,
        stacklevel=_STACKLEVEL,
    )
    info: dict[str, Any] = {"constant": True, "threshold": _number(value)}
    if labels:
        info["thresholds"] = []
        return np.zeros(image.shape, np.int32), info
    return np.zeros(image.shape, bool), info


def check_odd(name: str, value, minimum: int = 3) -> int:
    """Refuse a window size that is not an odd integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"parameter `{name}` got {value!r}; expected an odd integer >= {minimum}")
    if value < minimum or value % 2 != 1:
        raise ParameterError(f"parameter `{name}` must be an odd integer >= {minimum}; got {value!r}")
    return int(value)


def _number(value) -> float:
    return float(value)


# -- the tiler's view of a global threshold (spec facts `stat_target` and `apply_target`) ----------------
def statistic_from_histogram(method: str, counts: np.ndarray, centers: np.ndarray, **params):
    """The threshold (a float, or a list for ``multi_otsu``) of `method` from a whole-image histogram.

    The constant-image policy is the family's: a histogram with a single populated bin gives None
    (an empty result) and a :class:`~seglab.ConstantImageWarning`, except for ``manual``, whose
    threshold does not depend on the image.
    """
    from ._histogram import threshold_from_histogram

    if method != "manual" and np.count_nonzero(counts) <= 1:
        warnings.warn(f"threshold {method!r}: the image is constant; returning an empty result",
                      ConstantImageWarning, stacklevel=2)
        return None
    out = threshold_from_histogram(method, counts, centers, **params)
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        out = out[0]
    if isinstance(out, (list, tuple, np.ndarray)):
        return [float(v) for v in out]
    return float(out)


def apply_statistic(image: np.ndarray, statistic, *, invert: bool = False, classes: int | None = None,
                    **_other) -> np.ndarray:
    """Apply a global threshold to one tile exactly as the in-memory method does.

    `statistic` None (constant image) gives the empty result: an all-False mask, or zero class labels
    for ``multi_otsu``. A list of thresholds gives class indices ``searchsorted(thresholds, image)``,
    reversed with `invert`; a single threshold gives ``image > t`` (``image <= t`` with `invert`).
    Other parameters of the method (already used to compute `statistic`) are ignored.
    """
    from ._histogram import apply_threshold

    if statistic is None:
        return np.zeros(image.shape, np.int32 if classes is not None else bool)
    if isinstance(statistic, (list, tuple)):
        labels = np.searchsorted(np.asarray(statistic), image, side="left").astype(np.int32)
        if invert:
            n_classes = int(classes) if classes is not None else len(statistic) + 1
            np.subtract(n_classes - 1, labels, out=labels)
        return labels
    return np.asarray(apply_threshold(image, statistic, invert=invert), dtype=bool)
