"""Local thresholds (a threshold per pixel from its neighbourhood) and hysteresis thresholding.

``local``, ``niblack`` and ``sauvola`` return ``image > T`` with ``T`` the
threshold image scikit-image computes (``threshold_local``,
``threshold_niblack``, ``threshold_sauvola``), ``image <= T`` with
``invert=True``; ``info`` reports ``threshold_mean``, ``threshold_min`` and
``threshold_max`` of ``T``. They call scikit-image as is: OpenCV's
``adaptiveThreshold`` uses a different Gaussian sigma and rounds the local
mean, so it is not the same function (see ``benchmarks/cases/threshold.py``
for the measured agreement).

Constant images follow the family policy: empty mask, ``{"constant": True,
"threshold": value}`` and a :class:`~seglab.ConstantImageWarning`.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import ParameterError
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


def local(image, *, block_size=35, method="gaussian", offset=0.0, mode="reflect", invert=False):
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
    info : dict
        ``threshold_mean``, ``threshold_min``, ``threshold_max`` of ``T``.

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
    >>> local(image, block_size=3, method="mean")[0][0].tolist()
    [False, False, True, False, False, False, True, False]
    """
    block_size = check_odd("block_size", block_size)
    _check_choice("method", method, LOCAL_METHODS)
    _check_choice("mode", mode, MODES)
    array = check_gray(image, "local")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "local")
    from skimage.filters import threshold_local

    threshold_image = threshold_local(array, block_size, method, offset=offset, mode=mode)
    return _compare(array, threshold_image, invert), _summary(threshold_image)


def niblack(image, *, window_size=15, k=0.2, invert=False):
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
    info : dict
        ``threshold_mean``, ``threshold_min``, ``threshold_max`` of ``T``.

    References
    ----------
    .. [1] W. Niblack, "An Introduction to Digital Image Processing,"
           Prentice-Hall, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 10, np.uint8); image[2, 2] = 200
    >>> int(niblack(image, window_size=3)[0].sum())
    1
    """
    window_size = check_odd("window_size", window_size)
    array = check_gray(image, "niblack")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "niblack")
    from skimage.filters import threshold_niblack

    threshold_image = threshold_niblack(array, window_size=window_size, k=k)
    return _compare(array, threshold_image, invert), _summary(threshold_image)


def sauvola(image, *, window_size=15, k=0.2, r=None, invert=False):
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
    info : dict
        ``threshold_mean``, ``threshold_min``, ``threshold_max`` of ``T``.

    References
    ----------
    .. [1] J. Sauvola and M. Pietikainen, "Adaptive document image
           binarization," Pattern Recognition 33(2), 225-236, 2000.
           :DOI:`10.1016/S0031-3203(99)00055-2`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 200, np.uint8); image[2, 2] = 10
    >>> int(sauvola(image, window_size=3, invert=True)[0].sum())
    1
    """
    window_size = check_odd("window_size", window_size)
    array = check_gray(image, "sauvola")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "sauvola")
    from skimage.filters import threshold_sauvola

    threshold_image = threshold_sauvola(array, window_size=window_size, k=k, r=r)
    return _compare(array, threshold_image, invert), _summary(threshold_image)


def hysteresis(image, *, low=None, high=None, invert=False):
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
    info : dict
        ``{"low": low, "high": high}`` as used.

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
    >>> hysteresis(image, low=50, high=150)[0].astype(int).tolist()
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
    if not invert:
        from skimage.filters import apply_hysteresis_threshold

        mask = apply_hysteresis_threshold(array, low, high)
    else:
        from scipy import ndimage as ndi

        loose = array <= high
        strict = array <= low
        labels, count = ndi.label(loose)
        keep = np.zeros(count + 1, bool)
        keep[np.unique(labels[strict])] = True
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
