"""Local thresholds (a threshold per pixel from its neighbourhood) and hysteresis thresholding.

``local``, ``niblack`` and ``sauvola`` return ``image > T`` with ``T`` the
threshold image scikit-image computes (``threshold_local``,
``threshold_niblack``, ``threshold_sauvola``), ``image <= T`` with
``invert=True``; ``info`` reports ``threshold_mean``, ``threshold_min`` and
``threshold_max`` of ``T``. ``T`` is scikit-image's, bit for bit, computed in
strips (or, for the median, in the image's own dtype) to keep the temporaries
near one float64 image. OpenCV's ``adaptiveThreshold`` uses a different
Gaussian sigma and rounds the local mean, so it is not the same function (see ``benchmarks/cases/threshold.py``
for the measured agreement).

Constant images follow the family policy: empty mask, ``{"constant": True,
"threshold": value}`` and a :class:`~seglab.ConstantImageWarning`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._core.errors import ParameterError
from .._core.registry import validated
from ._common import check_gray, check_odd, constant_result, constant_value

__all__ = ["local", "niblack", "sauvola", "hysteresis"]

LOCAL_METHODS = ("gaussian", "mean", "median")
MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def _summary(threshold_image: np.ndarray) -> dict:
    return {
        "threshold_mean": float(threshold_image.mean()),
        "threshold_min": float(threshold_image.min()),
        "threshold_max": float(threshold_image.max()),
    }


def _compare(array, threshold_image, invert):
    return np.less_equal(array, threshold_image) if invert else np.greater(array, threshold_image)


def local_halo(params) -> int:
    """Pixels of context a tile needs for :func:`local` with `params` (kernel radius + 1)."""
    block_size = int(params["block_size"])
    if params.get("method", "gaussian") == "gaussian":
        sigma = (block_size - 1) / 6.0
        # scipy's gaussian_filter radius with truncate=4.0 (skimage's default)
        return max(int(4.0 * sigma + 0.5), block_size // 2) + 1
    return block_size // 2 + 1


@validated
def local(image: ArrayLike, *, block_size: int = 35, method: str = "gaussian", offset: float = 0.0,
          mode: str = "reflect", invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold each pixel against a weighted mean (or median) of its neighbourhood.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    block_size : int
        Odd side length of the neighbourhood. For ``method='gaussian'`` the
        sigma is ``(block_size - 1) / 6`` as in scikit-image.
    method : {'gaussian', 'mean', 'median'}
        How the neighbourhood is summarised.
    offset : float
        Subtracted from the local statistic (``T = stat - offset``).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap'}
        Border handling (scipy.ndimage); ``'constant'`` pads with 0.
    invert : bool
        False: foreground is ``image > T``; True: ``image <= T``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_local(image, block_size, method, offset=offset, mode=mode)``.
        ``seglab.segment(image, "local").info`` holds the values it chose: ``threshold_mean``,
        ``threshold_min``, ``threshold_max`` of ``T``.

    Raises
    ------
    ParameterError
        Even or too small `block_size`, unknown `method` or `mode`.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, "Digital Image Processing,"
           2nd ed., Prentice-Hall, 2002, pp. 600-612.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.tile(np.array([10, 10, 60, 10], np.uint8), (4, 2))
    >>> local(image, block_size=3, method="mean")[0].tolist()
    [False, False, True, False, False, False, True, False]
    """
    block_size = check_odd("block_size", block_size)
    _check_choice("method", method, LOCAL_METHODS)
    _check_choice("mode", mode, MODES)
    array = check_gray(image, "local")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "local")
    if method == "median":
        threshold_image = _median_threshold(array, block_size, mode)
        if threshold_image is None:
            threshold_image = _median_filter_threshold(array, block_size, mode)
        threshold_image -= offset  # as scikit-image's `thresh_image - offset`, in the same float dtype
        return _compare(array, threshold_image, invert), _summary(threshold_image)
    if method in ("gaussian", "mean"):
        return _separable_threshold(array, block_size, offset, mode, invert, method)
    from skimage.filters import threshold_local

    threshold_image = threshold_local(array, block_size, method, offset=offset, mode=mode)
    return _compare(array, threshold_image, invert), _summary(threshold_image)


def _separable_threshold(array: np.ndarray, block_size: int, offset: float, mode: str, invert: bool,
                        method: str = "gaussian"):
    """``array > threshold_local(array, block_size, method, offset=offset, mode=mode)``, in strips of rows.

    For ``method`` 'gaussian' (``skimage.filters.gaussian``: ``gaussian_filter1d`` per axis) and 'mean'
    (``ndi.uniform_filter``: ``uniform_filter1d`` per axis), both one 1-D filter per axis in axis order.
    scikit-image holds the float image, the threshold image and ``threshold - offset`` at once (2.9 float64
    images of temporaries). Here the one float copy is filtered in place along axis 0, then strip by strip
    along the other axes: every output value is the same sequence of operations on the same values, so the
    mask is bit for bit scikit-image's, and the temporaries stay near one image.
    The summary's ``threshold_mean`` sums strip by strip in float64 (``T.mean()`` may differ in the last bits,
    or from the 7th digit for float32 images, whose mean NumPy accumulates in float32).
    """
    from scipy import ndimage as ndi

    dtype = np.float32 if array.dtype in (np.float16, np.float32) else np.float64  # skimage's float type
    sigma = (block_size - 1) / 6.0
    # scipy's gaussian_filter is one 1-D correlation per axis, axis 0 first, each on the previous one's output.
    # The axis-0 pass runs on the whole image, in place in the one float copy; the later axes work within a
    # slab of axis 0, so they run slab by slab with no halo: the same operations in the same order as
    # scikit-image's call, and no row filtered twice (halos cost 1.4x at block_size 151 on 512 rows).
    smoothed: NDArray[np.floating[Any]] = array.astype(dtype)

    def filter1d(data: np.ndarray, axis: int) -> None:
        if method == "mean":  # ndi.uniform_filter's pass (origin 0, cval 0, as threshold_local calls it)
            ndi.uniform_filter1d(data, block_size, axis=axis, output=data, mode=mode, cval=0.0, origin=0)
        else:
            ndi.gaussian_filter1d(data, sigma, axis=axis, output=data, mode=mode, cval=0.0, truncate=4.0)

    filter1d(smoothed, 0)
    n = array.shape[0]
    step = max(32, -(-n // 4))
    mask = np.empty(array.shape, dtype=bool)
    total, low, high = 0.0, np.inf, -np.inf
    for start in range(0, n, step):
        stop = min(n, start + step)
        threshold = smoothed[start:stop]
        for axis in range(1, array.ndim):
            filter1d(threshold, axis)
        threshold -= offset
        mask[start:stop] = _compare(array[start:stop], threshold, invert)
        total += float(threshold.sum(dtype=np.float64))
        low, high = min(low, float(threshold.min())), max(high, float(threshold.max()))
    return mask, {"threshold_mean": total / array.size, "threshold_min": low, "threshold_max": high}


def _median_filter_threshold(array: np.ndarray, block_size: int, mode: str) -> np.ndarray:
    """``ndi.median_filter(array as float, block_size, mode=mode)`` (scikit-image's call) with one float image.

    The window has an odd number of values and the median is its middle one; the conversion to float is
    monotone (non-decreasing), so it commutes with the median: filtering the image in its own dtype and
    converting the result gives the same floats without the float copy of the image (the border value 0 of
    mode='constant' is 0.0 either way). scikit-image also held ``thresh_image - offset``; the caller subtracts
    in place.
    """
    from scipy import ndimage as ndi

    float_dtype = np.float32 if array.dtype in (np.float16, np.float32) else np.float64
    if array.dtype == np.float16:  # scipy's filters take no float16
        array = array.astype(np.float32)
    median = ndi.median_filter(array, block_size, mode=mode, cval=0)
    return median.astype(float_dtype, copy=False)


# scipy.ndimage border modes as numpy.pad modes (scipy 'reflect' repeats the edge sample: numpy 'symmetric').
_NUMPY_PAD: dict[str, Any] = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap",
                              "constant": "constant"}
# cv2.medianBlur takes uint8 windows up to 255 (Perreault & Hebert's constant-time histogram median beyond 5).
_CV2_MEDIAN_MAX = 255


def _median_threshold(array: np.ndarray, block_size: int, mode: str) -> np.ndarray | None:
    """``ndi.median_filter(array as float, block_size, mode=mode)`` in constant time per pixel, or None.

    A window median of an odd number of values is one of those values, and a monotone relabelling of the
    values commutes with it. So an image with at most 256 distinct values (every 8-bit image) is coded to
    uint8 ranks, padded exactly as scipy extends borders, median-filtered by OpenCV's histogram median
    (cost independent of `block_size`) and mapped back: the result equals scikit-image's
    ``threshold_local(method='median')`` bit for bit. Returns None (the caller uses scikit-image) for 3-D
    images, windows over 255, tiny images where a border pad would exceed the image, or more than 256 values.
    """
    if array.ndim != 2 or block_size > _CV2_MEDIAN_MAX or min(array.shape) <= block_size // 2:
        return None
    float_dtype = np.float32 if array.dtype in (np.float16, np.float32) else np.float64
    if array.dtype == np.uint8 and mode != "constant":
        codes, levels = array, np.arange(256, dtype=float_dtype)
    elif array.dtype == np.bool_:
        codes, levels = array.view(np.uint8), np.arange(2, dtype=float_dtype)
    else:
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            return None
        # More than 256 values among the first 4096 means more in the image: leave before the whole-image
        # passes below (np.unique sorts a copy; bincount takes an int64 copy), which noisy images never pass.
        if np.unique(array.flat[:4096]).size > 256:
            return None
        values = array.ravel()
        if mode == "constant":  # scipy pads with cval = 0: it must be one of the coded levels
            values = np.concatenate([values, np.zeros(1, array.dtype)])
        if array.dtype.kind in "ui" and array.dtype.itemsize <= 2:
            offset = int(array.min()) if mode != "constant" else min(int(array.min()), 0)
            present = np.flatnonzero(np.bincount(values.astype(np.int64) - offset))
            if present.size > 256:
                return None
            lookup = np.zeros(int(present[-1]) + 1, np.uint8)
            lookup[present] = np.arange(present.size, dtype=np.uint8)
            codes = lookup[array.astype(np.int64) - offset]
            levels = (present + offset).astype(float_dtype)
        else:
            levels_raw = np.unique(values)
            if levels_raw.size > 256:
                return None
            codes = np.searchsorted(levels_raw, array).astype(np.uint8)
            levels = levels_raw.astype(float_dtype)
    import cv2

    radius = block_size // 2
    pad_kwargs: dict[str, Any] = {}
    if mode == "constant":
        pad_kwargs["constant_values"] = int(np.searchsorted(levels, 0))
    padded = np.pad(np.ascontiguousarray(codes), radius, mode=_NUMPY_PAD[mode], **pad_kwargs)
    median = cv2.medianBlur(padded, block_size)[radius:-radius, radius:-radius]
    return levels[median]


@validated
def niblack(image: ArrayLike, *, window_size: int = 15, k: float = 0.2,
            invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold with Niblack's local mean and standard deviation, ``T = m - k * s``.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    window_size : int
        Odd side length of the window.
    k : float
        Weight of the local standard deviation.
    invert : bool
        False: foreground is ``image > T``; True: ``image <= T``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_niblack(image, window_size, k)``.
        ``seglab.segment(image, "niblack").info`` holds the values it chose: ``threshold_mean``,
        ``threshold_min``, ``threshold_max`` of ``T``.

    References
    ----------
    .. [1] W. Niblack, "An Introduction to Digital Image Processing,"
           Prentice-Hall, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 10, np.uint8); image[2, 2] = 200
    >>> int(niblack(image, window_size=3).sum())
    1
    """
    window_size = check_odd("window_size", window_size)
    array = check_gray(image, "niblack")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "niblack")
    return _mean_std_threshold(array, window_size, lambda m, s: m - k * s, invert)


@validated
def sauvola(image: ArrayLike, *, window_size: int = 15, k: float = 0.2, r: float | None = None,
            invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold with Sauvola's method, ``T = m * (1 + k * (s / r - 1))``.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    window_size : int
        Odd side length of the window.
    k : float
        Weight of the normalised standard deviation.
    r : float, optional
        Dynamic range of the standard deviation; None uses half the dtype
        range, as scikit-image (127.5 for uint8, 1 for floats).
    invert : bool
        False: foreground is ``image > T``; True: ``image <= T``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_sauvola(image, window_size, k, r)``.
        ``seglab.segment(image, "sauvola").info`` holds the values it chose: ``threshold_mean``,
        ``threshold_min``, ``threshold_max`` of ``T``.

    References
    ----------
    .. [1] J. Sauvola and M. Pietikainen, "Adaptive document image
           binarization," Pattern Recognition 33(2), 225-236, 2000.
           :DOI:`10.1016/S0031-3203(99)00055-2`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 200, np.uint8); image[2, 2] = 10
    >>> int(sauvola(image, window_size=3, invert=True).sum())
    1
    """
    window_size = check_odd("window_size", window_size)
    array = check_gray(image, "sauvola")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "sauvola")
    if r is None:
        from skimage.util import dtype_limits

        low, high = dtype_limits(array, clip_negative=False)
        r = 0.5 * (high - low)
    return _mean_std_threshold(array, window_size, lambda m, s: m * (1 + k * ((s / r) - 1)), invert)


# Rows of the padded image per block of the strip-wise integral images (about 1 MiB of float64 per block row set).
_STRIP_PIXELS = 1 << 17


def _mean_std_threshold(array: np.ndarray, w: int, formula, invert: bool):
    """Niblack/Sauvola in strips, bit for bit as scikit-image's ``_mean_std``.

    scikit-image pads the whole image (reflect, ``w // 2 + 1`` before, ``w // 2`` after), builds two
    float64 integral images (of the values and of their squares) of the padded size and reads each window
    sum from its ``2**ndim`` corners: four full-size float64 arrays at once, plus the threshold image. Here
    the padded image is produced strip by strip across the longest axis (``axis``) from index maps
    (``np.pad`` of each axis's indices, so borders are the same). The integral is ``cumsum`` along axis 0,
    then 1, ...: along the axes before ``axis`` a strip holds whole lines, along ``axis`` the running sum
    carries from one strip to the next (``cumsum`` of the carried slab stacked on the strip: the additions
    happen in the same order as one ``cumsum`` over the whole image), along the later axes whole lines
    again; only the ``w + block`` integral slabs a window needs are kept. Every float operation is the one
    scikit-image performs, in the same order and dtype, so ``T`` and the mask are identical; the peak is a
    few strips instead of five full-size float64 images.
    """
    import itertools

    ndim = array.ndim
    axis = 0 if ndim == 2 else int(np.argmax(array.shape))  # rows in 2-D; a volume's longest axis
    length = array.shape[axis]
    float_dtype: type[np.floating[Any]] = np.float32 if array.dtype in (np.float16, np.float32) else np.float64
    before, after = w // 2 + 1, w // 2
    maps = [np.pad(np.arange(n), (before, after), mode="reflect") for n in array.shape]
    padded_length = maps[axis].size
    slab = max(int(np.prod([m.size for i, m in enumerate(maps) if i != axis])), 1)
    block = max(min(_STRIP_PIXELS // slab, length // 16 + 1), 8)  # small images: small blocks too
    mask = np.empty(array.shape, bool)
    total = w**ndim
    # the window corners and signs of scikit-image's sparse kernel, in its order
    corners = list(itertools.product(*[(0, w)] * ndim))
    signs = [(-1) ** (ndim % 2 != sum(c) % 2) for c in corners]

    def along(start, stop) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    slab_shape = [m.size for m in maps]
    slab_shape[axis] = 0
    carry = carry_sq = None
    kept = kept_sq = np.zeros(slab_shape, np.float64)
    kept_start = 0  # padded index (along `axis`) of kept's first slab
    next_out = 0
    t_sum, t_min, t_max = 0.0, np.inf, -np.inf
    for start in range(0, padded_length, block):
        stop = min(start + block, padded_length)
        values = array.take(maps[axis][start:stop], axis=axis)  # the strip first, then the other axes' maps
        for k in range(ndim):
            if k != axis:
                values = values.take(maps[k], axis=k)  # (3x faster than one np.ix_ gather)
        values = values.astype(float_dtype)
        squares = values * values
        kept, carry = _integral_strip(values, carry, kept, axis)
        del values
        kept_sq, carry_sq = _integral_strip(squares, carry_sq, kept_sq, axis)
        del squares
        last = min(stop - 1 - w, length - 1)  # output index i needs integral slabs i and i + w
        if last < next_out:
            continue
        a, b = next_out - kept_start, last + 1 - kept_start
        m = _window_sums(kept, a, b, w, array.shape, axis, corners, signs).astype(float_dtype, copy=False)
        m /= total
        g2 = _window_sums(kept_sq, a, b, w, array.shape, axis, corners, signs).astype(float_dtype, copy=False)
        g2 /= total
        s = np.sqrt(np.clip(g2 - m * m, 0, None))
        threshold = formula(m, s)
        out = along(next_out, last + 1)
        mask[out] = _compare(array[out], threshold, invert)
        t_sum += float(threshold.sum(dtype=np.float64))
        t_min, t_max = min(t_min, float(threshold.min())), max(t_max, float(threshold.max()))
        next_out = last + 1
        # the next output index, next_out, needs integral slabs >= next_out
        kept, kept_sq = kept[along(b, None)], kept_sq[along(b, None)]
        kept_start = next_out
    return mask, {"threshold_mean": t_sum / array.size, "threshold_min": t_min, "threshold_max": t_max}


def _integral_strip(data: np.ndarray, carry: np.ndarray | None, kept: np.ndarray,
                    axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Append a strip's integral slabs to ``kept``; return it and the new carry (the running sum's last slab).

    ``integral_image``'s cumsums in axis order: whole lines along the axes before ``axis``, the running sum
    continued from ``carry`` along ``axis``, whole lines along the later axes.
    """
    for k in range(axis):
        data = np.cumsum(data, axis=k, dtype=np.float64)
    lead = (slice(None),) * axis
    if carry is None:
        data = np.cumsum(data, axis=axis, dtype=np.float64)
    else:
        data = np.cumsum(np.concatenate([carry, data], axis=axis), axis=axis, dtype=np.float64)
        data = data[lead + (slice(1, None),)]
    carry = data[lead + (slice(data.shape[axis] - 1, None),)].copy()
    for k in range(axis + 1, data.ndim):
        data = np.cumsum(data, axis=k, dtype=np.float64)
    return np.concatenate([kept, data], axis=axis), carry


def _window_sums(integral: np.ndarray, a: int, b: int, w: int, shape: tuple[int, ...], axis: int,
                 corners: list[tuple[int, ...]], signs: list[int]) -> np.ndarray:
    """Slabs a..b-1 (along ``axis``) of scikit-image's ``_correlate_sparse`` on the integral slabs.

    The same corners in the same order, each view times its sign (``val * v`` when the sign is -1), the first
    copied and the others added in place, as ``_correlate_sparse`` does.
    """
    out = None
    for corner, sign in zip(corners, signs):
        view = integral[tuple(slice(a + c, b + c) if k == axis else slice(c, c + n)
                              for k, (c, n) in enumerate(zip(corner, shape)))]
        term = view if sign == 1 else sign * view
        if out is None:
            out = term.copy()
        else:
            out += term
    assert out is not None
    return out


@validated
def hysteresis(image: ArrayLike, *, low: float | None = None, high: float | None = None,
               invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Keep the regions above a loose level that contain a pixel above a strict level.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    low, high : float, optional
        Absolute intensities, ``low <= high``. Bright foreground
        (``invert=False``): pixels ``> high`` seed regions that grow through
        pixels ``> low`` (``skimage.filters.apply_hysteresis_threshold``).
        Dark foreground (``invert=True``): pixels ``<= low`` seed regions
        that grow through pixels ``<= high``. None derives the level from
        Otsu's threshold ``t``: bright: ``low = t``, ``high = (t + max) / 2``;
        dark: ``low = (min + t) / 2``, ``high = t``.
    invert : bool
        Dark foreground instead of bright.

    Returns
    -------
    mask : ndarray of bool
        Regions (face-connected, ``scipy.ndimage.label``'s default) of the
        loose mask that hold at least one strict pixel.
        ``seglab.segment(image, "hysteresis").info`` holds the values it chose: ``{"low": low,
        "high": high}`` as used.

    Raises
    ------
    ParameterError
        ``low > high`` (scikit-image would silently lower `low`).

    References
    ----------
    .. [1] J. Canny, "A computational approach to edge detection," IEEE
           TPAMI 8(6), 679-698, 1986. :DOI:`10.1109/TPAMI.1986.4767851`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 60, 60, 0, 60], [0, 60, 200, 0, 60]], np.uint8)
    >>> hysteresis(image, low=50, high=150).astype(int).tolist()
    [[0, 1, 1, 0, 0], [0, 1, 1, 0, 0]]
    """
    array = check_gray(image, "hysteresis")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "hysteresis")
    if low is None or high is None:
        from ._global import _global

        with np.errstate(all="ignore"):
            otsu_t = _global(array, "otsu", False)[1]["threshold"]
        lo_value, hi_value = float(array.min()), float(array.max())
        if invert:
            low = (lo_value + otsu_t) / 2 if low is None else low
            high = otsu_t if high is None else high
        else:
            low = otsu_t if low is None else low
            high = (otsu_t + hi_value) / 2 if high is None else high
    if low > high:
        raise ParameterError(
            f"parameters `low` ({low!r}) and `high` ({high!r}) are in the wrong order; expected low <= high"
        )
    from scipy import ndimage as ndi

    # skimage.filters.apply_hysteresis_threshold's rule (components of the loose mask, 4-/6-connected, that hold a
    # strict pixel), without its float64 per-label sums (ndi.sum) and their copies: 2.6 float64 images of
    # temporaries there, about one here (the int32 labels and the strict pixels' labels).
    if invert:
        loose, strict = array <= high, array <= low
    else:
        loose, strict = array > low, array > high
    labels, count = ndi.label(loose)
    del loose
    keep = np.zeros(count + 1, bool)
    keep[labels[strict]] = True
    del strict
    keep[0] = False
    mask = keep[labels]
    return mask, {"low": float(low), "high": float(high)}


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        from .._core.errors import close_matches_hint

        raise ParameterError(
            f"parameter `{name}` got {value!r}; expected one of {', '.join(map(repr, choices))}"
            + close_matches_hint(str(value), choices)
        )
