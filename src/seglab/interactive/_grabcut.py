"""GrabCut: iterated graph cuts with colour GMMs from a rectangle (Rother, Kolmogorov & Blake 2004).

Wraps :func:`cv2.grabCut` with ``GC_INIT_WITH_RECT``. OpenCV's GMM
initialisation draws from its global RNG, so the function seeds it
(``cv2.setRNGSeed(rng)``) first: the same `rng` gives the same mask.

References
----------
.. [1] C. Rother, V. Kolmogorov, A. Blake, "GrabCut: interactive foreground
   extraction using iterated graph cuts", ACM TOG 23(3):309-314, 2004.
   :DOI:`10.1145/1015706.1015720`
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ConversionWarning, ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_image

__all__ = ["grabcut"]


@validated
def grabcut(image: ArrayLike, *, rect: ArrayLike, iter_count: int = 5, rng: int = 0) -> NDArray[np.bool_]:
    """Extract the foreground inside a rectangle with GrabCut.

    Parameters
    ----------
    image : (M, N, 3) ndarray
        Colour image, passed to OpenCV channel order as given (GrabCut's colour
        models do not depend on channel order). uint8 is used as is; floats in
        [0, 1] are scaled by 255; other data is rescaled min..max to 0..255 with
        a :class:`~seglab.ConversionWarning`.
    rect : (row, col, height, width)
        Rectangle that contains the object; pixels outside are background.
    iter_count : int
        GrabCut iterations.
    rng : int
        Seed for OpenCV's RNG (``cv2.setRNGSeed``).

    Returns
    -------
    mask : (M, N) ndarray of bool
        ``GC_FGD`` or ``GC_PR_FGD`` pixels.
    """
    import cv2

    from .inputs import as_rect

    array, info = check_image(image)
    if not info.is_color or info.spatial_ndim != 2:
        raise ParameterError(f"grabcut needs a 2-D RGB image (M, N, 3); got shape {array.shape}")
    row, col, height, width = as_rect(rect, array.shape[:2])
    rows, cols = array.shape[:2]
    if height * width == rows * cols:
        # OpenCV asserts (!bgdSamples.empty()) deep inside grabCut: say what to change instead
        raise ParameterError(
            f"`rect` (row={row}, col={col}, height={height}, width={width}) covers the whole {rows} x {cols} image; "
            "GrabCut learns the background from the pixels outside the rectangle, so leave a margin, e.g. "
            f"rect=(1, 1, {max(rows - 2, 1)}, {max(cols - 2, 1)})"
        )
    if iter_count < 1:
        raise ParameterError(f"`iter_count` got {iter_count!r}; expected an integer >= 1")
    image8 = _to_uint8(array)
    mask = np.zeros(array.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(int(rng))
    cv2.grabCut(image8, mask, (col, row, width, height), bgd, fgd, int(iter_count), cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def _to_uint8(array):
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype.kind == "f" and array.min() >= 0 and array.max() <= 1:
        return _by_row_blocks(array, lambda block: np.round(block * 255))
    lo, hi = float(array.min()), float(array.max())
    warnings.warn(
        f"grabcut works on 8-bit colour; the {array.dtype} image (range {lo:g}..{hi:g}) was rescaled to 0..255",
        ConversionWarning, stacklevel=3,
    )
    span = hi - lo if hi > lo else 1.0
    return _by_row_blocks(array, lambda block: np.round((block.astype(np.float64) - lo) * (255.0 / span)))


def _by_row_blocks(array, scaled):
    """``scaled(array).astype(np.uint8)`` (C-contiguous), computed on blocks of rows: the same elementwise
    operations, with the float temporaries of one block instead of the whole colour image (three float64
    images of float64 RGB)."""
    out = np.empty(array.shape, np.uint8)
    rows = array.shape[0]
    per_row = array.size // rows if rows else 1
    step = max(1, min(rows, max((1 << 14) // max(1, per_row), -(-rows // 16))))
    for start in range(0, rows, step):
        out[start: start + step] = scaled(array[start: start + step])  # astype(uint8)'s unsafe cast
    return out
