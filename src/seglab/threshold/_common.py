"""Shared helpers of the threshold family: input check and the constant-image policy."""

from __future__ import annotations

import warnings

import numpy as np

from .._core.errors import ConstantImageWarning, InvalidImageError, ParameterError
from .._core.validation import check_image

# Direct call: user -> public function -> helper -> warnings.warn.
_STACKLEVEL = 3


def check_gray(image, method: str) -> np.ndarray:
    """Validate a single-channel image for threshold method `method`."""
    array, info = check_image(image)
    if info.is_color:
        raise InvalidImageError(
            f"threshold {method!r} works on single-channel images, but `image` is colour (shape {array.shape}); "
            "convert it first: seglab.preprocess.grayscale(image), or pre=['grayscale'] in seglab.segment"
        )
    return array


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
    info = {"constant": True, "threshold": _number(value)}
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
