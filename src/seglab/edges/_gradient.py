"""Gradient and Laplacian edge maps: Sobel, Scharr, Prewitt, Laplace, Laplacian of Gaussian.

Semantics are scikit-image's (``skimage.filters.sobel`` and friends): integer
images become floats in [0, 1] (``img_as_float``), float images keep their
values; the derivative along an axis is the kernel ``[1, 0, -1]`` convolved
along that axis (so it is positive where values increase) times the smoothing
weights along the other axes; the border is ``'reflect'`` (``dcba|abcd``, half-
sample symmetric, which is OpenCV's ``BORDER_REFLECT``); the magnitude is
``sqrt(sum_i g_i**2 / ndim)`` (scikit-image divides by ``sqrt(ndim)``). On 2-D
images the filtering runs through ``cv2.sepFilter2D`` with ``BORDER_REFLECT``
(the same kernel and border). uint8 images take an exact path: integer kernels
give integer derivatives that float32 holds exactly (so the result is the same
whatever the memory alignment or tiling), and the magnitude is formed in
float64 row blocks; it equals scikit-image to float32 output rounding, with a
fraction of its time and memory on large slices. Other dtypes are filtered in
float64 (3-D volumes through ``scipy.ndimage``) strip by strip, with one real
neighbour row each side; the Laplacian of Gaussian runs SciPy's passes in strips
with a halo of the Gaussian's radius. Each strip path gives the whole-image
call's values bit for bit, with a few strips of temporaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray

__all__ = ["sobel", "scharr", "prewitt", "laplace", "log"]

_SMOOTH = {
    "sobel": np.array([1.0, 2.0, 1.0]) / 4,
    "scharr": np.array([3.0, 10.0, 3.0]) / 16,
    "prewitt": np.full(3, 1.0 / 3),
}
_EDGE = np.array([1.0, 0.0, -1.0])


def _as_float(image):
    """scikit-image's conversion: integers -> img_as_float (float64 in [0, 1] or [-1, 1]); floats kept."""
    if image.dtype.kind == "f":
        return image.astype(np.float32 if image.dtype == np.float16 else image.dtype, copy=False)
    from skimage.util import img_as_float

    return img_as_float(image)


def _derivatives(image, smooth):
    """Return the per-axis derivatives (float64) with scikit-image's kernels and 'reflect' border."""
    data = np.asarray(image, np.float64)
    if data.ndim == 2:
        import cv2

        # sepFilter2D correlates: the flipped edge kernel [-1, 0, 1] gives x[i+1] - x[i-1].
        flipped = _EDGE[::-1].copy()
        g_rows = cv2.sepFilter2D(data, cv2.CV_64F, smooth, flipped, borderType=cv2.BORDER_REFLECT)
        g_cols = cv2.sepFilter2D(data, cv2.CV_64F, flipped, smooth, borderType=cv2.BORDER_REFLECT)
        return [g_rows, g_cols]
    from scipy import ndimage as ndi

    out = []
    for axis in range(data.ndim):
        g = ndi.convolve1d(data, _EDGE, axis=axis, mode="reflect")
        for other in range(data.ndim):
            if other != axis:
                g = ndi.convolve1d(g, smooth, axis=other, mode="reflect")
        out.append(g)
    return out


_NORM = {"sobel": 4.0, "scharr": 16.0, "prewitt": 3.0}
# Pixels per float64 row block of the magnitude/orientation pass: a few MiB per temporary, so the peak is the two
# float32 derivative images plus small blocks, whatever the image size (1024 full rows made 512 x 512 images one
# block and the peak six float64 images).
_BLOCK_PIXELS = 1 << 18


def _gradient_uint8(array, name):
    """uint8 fast path: exact integer derivatives in float32, magnitude/orientation in float64 row blocks.

    With the unnormalised integer kernels every derivative is an integer below 2**24, so float32 holds it
    exactly whatever order or SIMD path OpenCV takes: the result does not depend on memory alignment or on
    tiling. The scale (``img_as_float``'s 1/255 and the kernel normalisation) is applied once, in float64.
    """
    import cv2

    smooth = _SMOOTH[name] * _NORM[name]  # [1, 2, 1], [3, 10, 3], [1, 1, 1]
    flipped = _EDGE[::-1].copy()  # sepFilter2D correlates: [-1, 0, 1] gives x[i+1] - x[i-1]
    data = np.ascontiguousarray(array)
    g_rows = cv2.sepFilter2D(data, cv2.CV_32F, smooth, flipped, borderType=cv2.BORDER_REFLECT)
    g_cols = cv2.sepFilter2D(data, cv2.CV_32F, flipped, smooth, borderType=cv2.BORDER_REFLECT)
    scale = 1.0 / (_NORM[name] * 255.0 * np.sqrt(2.0))
    magnitude = np.empty(array.shape, np.float32)
    orientation = np.empty(array.shape, np.float32)
    # At most 1/8 of the rows too, so that small images get small blocks as well.
    block_rows = max(min(_BLOCK_PIXELS // max(array.shape[1], 1), array.shape[0] // 8 + 1), 1)
    for start in range(0, array.shape[0], block_rows):
        rows = slice(start, start + block_rows)
        r = g_rows[rows].astype(np.float64)
        c = g_cols[rows].astype(np.float64)
        magnitude[rows] = np.sqrt(r * r + c * c) * scale
        # Adding 0.0 turns -0.0 into +0.0, so a leftward gradient is +pi, never -pi: range (-pi, pi].
        orientation[rows] = np.arctan2(r + 0.0, c + 0.0)
    return magnitude, {"orientation": orientation}


def _gradient(image, name):
    array = check_gray(image, f"edge filter {name!r}")
    if array.ndim == 2 and array.dtype == np.uint8:
        return _gradient_uint8(array, name)
    return _gradient_strips(array, name)


def _gradient_strips(array, name):
    """Other dtypes and 3-D: the float64 derivatives, magnitude and orientation, strip by strip.

    Each derivative is one 3-tap pass along every axis (the edge kernel along its own axis, the smoothing
    along the others), so only one pass per derivative mixes strips across the strip axis, reading one
    neighbour each side: a strip with one real neighbour row each side (the image's own 'reflect' border at
    its edges) gets, on its own rows, the very values of the whole-image call, and the magnitude and
    orientation are the same element-wise operations on them. The strips run across the rows in 2-D (the
    OpenCV path) and across the longest axis in 3-D; the temporaries are a few strips (the whole-image call
    held the float64 copy, both derivatives and the squares at once: 4.5 float64 images).
    """
    smooth = _SMOOTH[name]
    axis = 0 if array.ndim == 2 else int(np.argmax(array.shape))
    length = array.shape[axis]
    others = max(array.size // max(length, 1), 1)
    step = max(min(_BLOCK_PIXELS // others, length // 8 + 1), 1)
    magnitude = np.empty(array.shape, np.float32)
    orientation = np.empty(array.shape, np.float32) if array.ndim == 2 else None

    def along(start: int, stop: int) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    for start in range(0, length, step):
        stop = min(start + step, length)
        top, bottom = max(start - 1, 0), min(stop + 1, length)
        own = along(start - top, stop - top)
        grads = [g[own] for g in _derivatives(_as_float(array[along(top, bottom)]), smooth)]
        # the whole-image call's expressions, cast to float32 on assignment as .astype(np.float32) does
        magnitude[along(start, stop)] = np.sqrt(sum(g * g for g in grads) / len(grads))
        if orientation is not None:
            # "+ 0.0" turns -0.0 into +0.0, so a leftward gradient is +pi, never -pi: range (-pi, pi].
            orientation[start:stop] = np.arctan2(grads[0] + 0.0, grads[1] + 0.0)
    return magnitude, ({} if orientation is None else {"orientation": orientation})


@validated
def sobel(image: ArrayLike) -> tuple[NDArray[np.float32], dict[str, Any]]:
    """Return the Sobel gradient magnitude and orientation (scikit-image semantics).

    Parameters
    ----------
    image : (M, N) or (P, M, N) ndarray
        Single-channel image or volume.

    Returns
    -------
    edges : ndarray of float32
        ``sqrt((g_row**2 + g_col**2) / 2)``, equal to ``skimage.filters.sobel(image)``
        (float32 rounding). Integer images are scaled to [0, 1] first.
        ``seglab.segment(image, "sobel").info`` holds the values it chose: ``orientation`` (2-D
        only): float32 ``np.arctan2(g_row, g_col)`` in radians, where ``g_row =
        skimage.filters.sobel_h(image)`` is the derivative down the rows (positive where values
        increase downwards) and ``g_col = skimage.filters.sobel_v(image)`` along the columns
        (positive to the right). 0 points right, +pi/2 points down (rows grow downwards). Range
        (-pi, pi]: a leftward gradient is +pi (``np.arctan2`` on scikit-image's derivatives may give
        -pi there, when the row derivative is -0.0).

    References
    ----------
    .. [1] Sobel, I. & Feldman, G. (1968). A 3x3 isotropic gradient operator for
           image processing. Stanford AI Project talk; see also Kittler (1983),
           On the accuracy of the Sobel edge detector, :DOI:`10.1016/0262-8856(83)90006-9`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5)); image[:, 3:] = 1.0
    >>> bool(sobel(image)[2, 2] > 0)
    True
    >>> import seglab
    >>> float(seglab.segment(image, "sobel").extras["orientation"][2, 2])
    0.0
    """
    return _gradient(image, "sobel")


@validated
def scharr(image: ArrayLike) -> tuple[NDArray[np.float32], dict[str, Any]]:
    """Return the Scharr gradient magnitude and orientation (as :func:`sobel`, smoothing [3, 10, 3]/16).

    Equal to ``skimage.filters.scharr(image)``; ``info['orientation']`` is
    ``np.arctan2(scharr_h, scharr_v)``.

    References
    ----------
    .. [1] Scharr, H. (2000). Optimal operators in digital image processing.
           PhD thesis, Heidelberg. :DOI:`10.11588/heidok.00000962`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5)); image[3:, :] = 1.0
    >>> import seglab
    >>> round(float(seglab.segment(image, "scharr").extras["orientation"][2, 2]), 4)
    1.5708
    """
    return _gradient(image, "scharr")


@validated
def prewitt(image: ArrayLike) -> tuple[NDArray[np.float32], dict[str, Any]]:
    """Return the Prewitt gradient magnitude and orientation (as :func:`sobel`, smoothing [1, 1, 1]/3).

    Equal to ``skimage.filters.prewitt(image)``.

    References
    ----------
    .. [1] Prewitt, J. M. S. (1970). Object enhancement and extraction. Picture
           Processing and Psychopictorics, 75-149.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.uint8); image[:, 3:] = 255
    >>> edges = prewitt(image)
    >>> round(float(edges[2, 2]), 6)
    0.707107
    """
    return _gradient(image, "prewitt")


@validated
def laplace(image: ArrayLike, *, ksize: int = 3) -> NDArray[np.float32]:
    """Return the discrete Laplacian, as ``skimage.filters.laplace(image, ksize)``.

    The kernel is scikit-image's (``skimage.restoration.uft.laplacian``: 2*ndim in
    the centre, -1 at the face neighbours), the border ``'reflect'``. Values are
    signed (float32): zero-crossings mark edges.

    Parameters
    ----------
    image : (M, N) or (P, M, N) ndarray
        Single-channel image or volume.
    ksize : int
        Kernel size, odd (scikit-image's parameter).

    References
    ----------
    .. [1] Marr, D. & Hildreth, E. (1980). Theory of edge detection. Proc. R.
           Soc. Lond. B 207, 187-217. :DOI:`10.1098/rspb.1980.0020`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5)); image[2, 2] = 1.0
    >>> float(laplace(image)[2, 2])
    4.0
    """
    if isinstance(ksize, bool) or not isinstance(ksize, (int, np.integer)) or ksize < 3 or ksize % 2 != 1:
        raise ParameterError(f"`ksize` got {ksize!r}; expected an odd integer >= 3")
    from skimage.filters import laplace as sk_laplace

    array = check_gray(image, "edge filter 'laplace'")
    return sk_laplace(_as_float(array), ksize=int(ksize)).astype(np.float32)


@validated
def log(image: ArrayLike, *, sigma: float = 2.0) -> NDArray[np.float32]:
    """Return the Laplacian of Gaussian, ``scipy.ndimage.gaussian_laplace(img_as_float(image), sigma)``.

    Border ``'reflect'``, Gaussian truncated at 4 sigma (SciPy's defaults).
    Values are signed (float32): bright blobs of radius about ``sigma*sqrt(2)``
    give strong negative responses; edges are zero-crossings.

    Parameters
    ----------
    image : (M, N) or (P, M, N) ndarray
        Single-channel image or volume.
    sigma : float
        Gaussian standard deviation in pixels (> 0).

    References
    ----------
    .. [1] Marr, D. & Hildreth, E. (1980). Theory of edge detection.
           :DOI:`10.1098/rspb.1980.0020`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((15, 15)); image[7, 7] = 1.0
    >>> bool(log(image, sigma=1.5)[7, 7] < 0)
    True
    """
    if not sigma > 0:
        raise ParameterError(f"`sigma` got {sigma!r}; expected a number > 0")
    from scipy import ndimage as ndi

    array = check_gray(image, "edge filter 'log'")
    sigma = float(sigma)
    radius = int(4.0 * sigma + 0.5)  # scipy's gaussian_filter1d radius (truncate=4.0)
    axis = int(np.argmax(array.shape))  # strips across the longest axis (the first of equal ones)
    # sigma <= 1e-15: scipy skips every pass (the LoG is ndim * image); keep its call for that corner.
    step = _log_step(array.shape, axis, radius) if sigma > 1e-15 else None
    if step is None:
        return ndi.gaussian_laplace(_as_float(array), sigma).astype(np.float32)
    return _log_strips(array, sigma, radius, axis, step)


# Pixels per LoG strip core (halo excluded): each strip holds three float64 temporaries of its size (the float
# copy, the two second-derivative terms), about 8 MiB each whatever the image size.
_LOG_STRIP_PIXELS = 1 << 20


def _log_step(shape: tuple[int, ...], axis: int, radius: int) -> int | None:
    """Strip length along ``axis`` for the strip-wise LoG, or None when one strip would be the whole image.

    At most a quarter of the axis (so small images get small strips too) and at least 8 halo lengths (the halo
    rows are filtered along ``axis`` and thrown away: 2 * radius / step of that pass is extra work).
    """
    length = shape[axis]
    others = max(int(np.prod(shape)) // max(length, 1), 1)
    step = max(min(_LOG_STRIP_PIXELS // others, length // 4 + 1), 8 * radius, 16)
    return None if step >= length else step


def _log_strips(array: np.ndarray, sigma: float, radius: int, axis: int, step: int) -> NDArray[np.float32]:
    """``ndi.gaussian_laplace(img_as_float(array), sigma).astype(np.float32)`` bit for bit, in strips.

    SciPy forms the LoG as ``sum_k gaussian_filter(data, sigma, order=e_k)``: per term one 1-D Gaussian pass
    per axis in axis order (``gaussian_filter1d``, ``'reflect'``), each pass in place on the term, the terms
    summed in axis order. Only the pass along ``axis`` mixes strips, and it reads ``radius`` neighbours each
    side: so a strip with ``radius`` real neighbours each side (clipped at the image's edge, where the
    reflection is the full call's) gets, on its own rows, the same sequence of operations on the same values.
    Passes along the axes after ``axis`` run on the strip's own rows only. Holds the float strip and two term
    strips (three float64 images for the full call: the float copy, the output and the second term).
    """
    from scipy import ndimage as ndi

    ndim = array.ndim
    length = array.shape[axis]
    out = np.empty(array.shape, np.float32)

    def along(start: int, stop: int) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    for start in range(0, length, step):
        stop = min(start + step, length)
        top, bottom = max(start - radius, 0), min(stop + radius, length)
        data = _as_float(array[along(top, bottom)])  # scikit-image's conversion, value by value
        own = along(start - top, stop - top)
        total = None
        for term in range(ndim):
            buffer = np.empty(data.shape, data.dtype)
            source = data
            for k in range(axis + 1):  # the passes up to `axis` need the halo
                ndi.gaussian_filter1d(source, sigma, k, 2 if k == term else 0, buffer, "reflect", 0.0, 4.0)
                source = buffer
            kept = buffer[own]
            for k in range(axis + 1, ndim):  # later passes are line by line: the strip's own rows only
                ndi.gaussian_filter1d(kept, sigma, k, 2 if k == term else 0, kept, "reflect", 0.0, 4.0)
            if total is None:
                total = kept
            else:
                total += kept
            del buffer
        del data
        out[along(start, stop)] = total
    return out
