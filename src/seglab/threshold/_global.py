"""Global thresholds: one value for the whole image (Otsu, Li, Yen, triangle, ISODATA, mean, minimum, multi-Otsu).

Every function returns ``(mask, info)`` with ``mask == (image > t)`` exactly as
``image > skimage.filters.threshold_<method>(image)`` (``image <= t`` with
``invert=True``) and ``info["threshold"] = t``.

Fast paths (results identical to scikit-image, tested): for uint8 and uint16
images the histogram is computed once with ``cv2.calcHist`` (exact int64
counts) and passed to scikit-image as ``hist=`` (otsu, yen, isodata, minimum,
multi_otsu); the mask is written by ``cv2.threshold`` (uint8) or
``np.greater`` against ``floor(t)``, which equals ``image > t`` on integers.
``li``, ``triangle`` and ``mean`` take no ``hist=`` in scikit-image: they call
scikit-image on the image. Float images always call scikit-image as is (256
bins over the image's range).

Constant images (one policy for every threshold): all-False mask (all-0
labels for ``multi_otsu``), ``info == {"constant": True, "threshold": value}``
and a :class:`~seglab.ConstantImageWarning`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.registry import validated

from .._core.errors import InvalidImageError, ParameterError
from ._common import check_gray, constant_result, constant_value
from ._histogram import apply_threshold, integer_histogram, threshold_from_histogram

__all__ = ["manual", "otsu", "multi_otsu", "li", "yen", "triangle", "isodata", "mean", "minimum"]

# li, triangle and mean use seglab's ports of scikit-image's integer branches (tested equal on real and
# random uint8/uint16 images); the others pass the histogram to scikit-image as ``hist=``.
_HIST_METHODS = ("otsu", "yen", "isodata", "minimum", "li", "triangle", "mean")


def _global(image, method: str, invert: bool):
    """Validate, apply the constant policy, compute the threshold and the mask."""
    array = check_gray(image, method)
    if array.dtype in (np.uint8, np.uint16):
        counts, centers = integer_histogram(array)
        if counts.size == 1:
            return constant_result(array, centers[0], method)
        if method in _HIST_METHODS:
            threshold = threshold_from_histogram(method, counts, centers)
        else:
            threshold = _skimage_threshold(array, method)
    else:
        value = constant_value(array)
        if value is not None:
            return constant_result(array, value, method)
        threshold = _skimage_threshold(array, method)
    return apply_threshold(array, threshold, invert), {"threshold": float(threshold)}


def _skimage_threshold(array: np.ndarray, method: str):
    from skimage import filters

    function = getattr(filters, f"threshold_{method}")
    try:
        return function(array)
    except RuntimeError as exc:  # threshold_minimum on a histogram without two peaks
        raise InvalidImageError(
            f"threshold {method!r} cannot be computed for this image: {exc}. The histogram needs two clear "
            "peaks; try 'otsu' or 'li' instead"
        ) from None


@validated
def manual(image: ArrayLike, *, threshold: float = 128.0,
           invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image at a fixed value.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    threshold : float
        Intensity in the image's own units. The default is the middle of the
        uint8 range; for uint16 or float images set it explicitly.
    invert : bool
        False: foreground is ``image > threshold``; True: ``image <= threshold``.

    Returns
    -------
    mask : ndarray of bool
        Same shape as `image`.
        ``seglab.segment(image, "manual").info`` holds the values it chose:
        ``{"threshold": threshold}``.

    Examples
    --------
    >>> import numpy as np
    >>> mask = manual(np.array([[0, 100], [150, 255]], np.uint8), threshold=100)
    >>> mask.tolist()
    [[False, False], [True, True]]
    """
    array = check_gray(image, "manual")
    value = constant_value(array)
    if value is not None:
        return constant_result(array, value, "manual")
    return apply_threshold(array, threshold, invert), {"threshold": float(threshold)}


@validated
def otsu(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image with Otsu's method (maximal between-class variance).

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_otsu(image)``.
        ``seglab.segment(image, "otsu").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] N. Otsu, "A threshold selection method from gray-level histograms,"
           IEEE Trans. SMC 9(1), 62-66, 1979. :DOI:`10.1109/TSMC.1979.4310076`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:6] = 200
    >>> int(otsu(image).sum())
    16
    >>> import seglab  # the threshold it chose comes with the registry's result
    >>> seglab.segment(image, "otsu").info["threshold"]
    0.0
    """
    return _global(image, "otsu", invert)


@validated
def li(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image with Li's iterative minimum cross-entropy method.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_li(image)``.
        ``seglab.segment(image, "li").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] C. H. Li and P. K. S. Tam, "An iterative algorithm for minimum
           cross entropy thresholding," Pattern Recognition Letters 19(8),
           771-776, 1998. :DOI:`10.1016/S0167-8655(98)00057-9`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 12, 11], [200, 210, 205]], np.uint8)
    >>> li(image).tolist()
    [[False, False, False], [True, True, True]]
    """
    return _global(image, "li", invert)


@validated
def yen(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image with Yen's maximum-correlation criterion.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_yen(image)``.
        ``seglab.segment(image, "yen").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] J. C. Yen, F. J. Chang and S. Chang, "A new criterion for automatic
           multilevel thresholding," IEEE Trans. Image Processing 4(3),
           370-378, 1995. :DOI:`10.1109/83.366472`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 12, 11], [200, 210, 205]], np.uint8)
    >>> yen(image).tolist()
    [[False, False, False], [True, True, True]]
    """
    return _global(image, "yen", invert)


@validated
def triangle(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image with the triangle method (Zack et al.).

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_triangle(image)``.
        ``seglab.segment(image, "triangle").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] G. W. Zack, W. E. Rogers and S. A. Latt, "Automatic measurement of
           sister chromatid exchange frequency," J. Histochem. Cytochem. 25(7),
           741-753, 1977. :DOI:`10.1177/25.7.70454`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((10, 10), np.uint8); image[:2] = 200; image[2, :3] = 100
    >>> int(triangle(image).sum())
    23
    """
    return _global(image, "triangle", invert)


@validated
def isodata(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image with the ISODATA (Ridler-Calvard) method.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_isodata(image)``.
        ``seglab.segment(image, "isodata").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] T. W. Ridler and S. Calvard, "Picture thresholding using an
           iterative selection method," IEEE Trans. SMC 8(8), 630-632, 1978.
           :DOI:`10.1109/TSMC.1978.4310039`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 12, 11], [200, 210, 205]], np.uint8)
    >>> isodata(image).tolist()
    [[False, False, False], [True, True, True]]
    """
    return _global(image, "isodata", invert)


@validated
def mean(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image at its mean intensity.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_mean(image)``.
        ``seglab.segment(image, "mean").info`` holds the values it chose: ``{"threshold": t}``.

    References
    ----------
    .. [1] C. A. Glasbey, "An analysis of histogram-based thresholding
           algorithms," CVGIP 55(6), 532-537, 1993. :DOI:`10.1006/cgip.1993.1040`

    Examples
    --------
    >>> import numpy as np
    >>> mean(np.array([[0, 10], [20, 30]], np.uint8)).tolist()
    [[False, False], [True, True]]
    """
    return _global(image, "mean", invert)


@validated
def minimum(image: ArrayLike, *, invert: bool = False) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Threshold an image at the valley between the two peaks of its smoothed histogram.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image with a bimodal histogram.
    invert : bool
        False: foreground is ``image > t``; True: ``image <= t``.

    Returns
    -------
    mask : ndarray of bool
        Equal to ``image > skimage.filters.threshold_minimum(image)``.
        ``seglab.segment(image, "minimum").info`` holds the values it chose: ``{"threshold": t}``.

    Raises
    ------
    InvalidImageError
        The smoothed histogram does not have exactly two peaks.

    Notes
    -----
    Integer images spanning more than 1024 values (wide uint16) use 256
    equal-width bins, as scikit-image does for floats; scikit-image's
    one-bin-per-value path takes minutes there and rarely finds two peaks.

    References
    ----------
    .. [1] C. A. Glasbey, "An analysis of histogram-based thresholding
           algorithms," CVGIP 55(6), 532-537, 1993. :DOI:`10.1006/cgip.1993.1040`
    .. [2] J. M. S. Prewitt and M. L. Mendelsohn, "The analysis of cell
           images," Ann. N. Y. Acad. Sci. 128, 1035-1053, 1966.
           :DOI:`10.1111/j.1749-6632.1965.tb11715.x`

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = np.concatenate([rng.normal(60, 10, 500), rng.normal(180, 10, 500)])
    >>> image = np.clip(image, 0, 255).astype(np.uint8).reshape(20, 50)
    >>> int(minimum(image).sum())
    500
    """
    return _global(image, "minimum", invert)


@validated
def multi_otsu(image: ArrayLike, *, classes: int = 3,
               invert: bool = False) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Split an image into `classes` intensity classes with multi-level Otsu.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    classes : int
        Number of classes, 2 to 5.
    invert : bool
        False: label 0 is the darkest class (background) and ``classes - 1``
        the brightest; True: the order is reversed (brightest is 0).

    Returns
    -------
    labels : ndarray of int32
        Class index of each pixel: the number of thresholds strictly below
        it, ``np.digitize(image, thresholds, right=True)``. A pixel equal to a
        threshold goes to the darker class, so ``labels > 0`` equals
        ``image > t`` for ``classes=2`` as in :func:`otsu`. (The scikit-image
        gallery uses ``np.digitize(image, thresholds)``, which puts such
        pixels in the brighter class.)
        ``seglab.segment(image, "multi_otsu").info`` holds the values it chose: ``{"thresholds":
        [t1, ...]}`` from ``skimage.filters.threshold_multiotsu``. Integer images spanning more than
        1024 values (wide uint16) are histogrammed in 256 equal-width bins, as scikit-image does for
        floats (its one-bin-per-value path runs for more than 10 minutes there), so thresholds are
        then bin centers, not skimage's exact integer values.

    Raises
    ------
    ParameterError
        `classes` outside 2..5.
    InvalidImageError
        The image has fewer distinct values than `classes`.

    References
    ----------
    .. [1] P.-S. Liao, T.-S. Chen and P.-C. Chung, "A fast algorithm for
           multilevel thresholding," J. Inf. Sci. Eng. 17(5), 713-727, 2001.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 11, 12], [100, 101, 102], [200, 201, 202]], np.uint8)
    >>> multi_otsu(image, classes=3).tolist()
    [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    """
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or not 2 <= classes <= 5:
        raise ParameterError(f"parameter `classes` got {classes!r}; expected an integer in [2, 5]")
    array = check_gray(image, "multi_otsu")
    if array.dtype in (np.uint8, np.uint16):
        counts, centers = integer_histogram(array)
        if counts.size == 1:
            return constant_result(array, centers[0], "multi_otsu", labels=True)
        n_values = int(np.count_nonzero(counts))
    else:
        value = constant_value(array)
        if value is not None:
            return constant_result(array, value, "multi_otsu", labels=True)
        n_values = None
    from skimage import filters

    try:
        if n_values is not None:
            if n_values < classes:
                raise ValueError(f"only {n_values} different values")
            thresholds = np.asarray(threshold_from_histogram("multi_otsu", counts, centers, classes=classes))
        else:
            thresholds = filters.threshold_multiotsu(array, classes=classes)
    except ValueError as exc:
        raise InvalidImageError(
            f"threshold 'multi_otsu' cannot split this image into {classes} classes ({exc}); lower `classes`"
        ) from None
    if array.dtype in (np.uint8, np.uint16):
        # A lookup table over every integer value: one gather pass, no full-size float temporaries.
        levels = np.arange(np.iinfo(array.dtype).max + 1)
        lut = np.searchsorted(thresholds, levels, side="left").astype(np.int32)
        labels = lut[array]
    else:
        labels = np.searchsorted(thresholds, array, side="left").astype(np.int32)
    if invert:
        np.subtract(classes - 1, labels, out=labels)
    return labels, {"thresholds": [float(t) for t in thresholds]}
