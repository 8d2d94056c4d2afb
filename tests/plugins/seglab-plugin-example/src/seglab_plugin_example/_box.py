"""Box-mean local threshold in exact integer arithmetic (so tiles equal the whole image bit for bit)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi


def box_mean_threshold(image: ArrayLike, *, size: int = 15, offset: float = 0.0) -> NDArray[np.bool_]:
    """Return ``image > mean(size x size box) + offset``, compared as integer sums (no rounding)."""
    array = np.asarray(image)
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
        local = ndi.uniform_filter(array, size=size, mode="nearest")
        return array > local + offset
    weights = np.ones((size,) * array.ndim, np.int64)
    total = ndi.correlate(array.astype(np.int64), weights, mode="nearest")
    n = size ** array.ndim
    return array.astype(np.int64) * n > total + offset * n
