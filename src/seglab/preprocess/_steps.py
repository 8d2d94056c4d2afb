"""Pre-steps: image in, image of the same spatial shape out.

Each step follows one scikit-image / SciPy function exactly and says so; the
OpenCV fast paths are taken only where they give the identical result (tested
in ``tests/preprocess``).

Output dtypes (a promise, since thresholds read values in the image's units):

* ``grayscale``: the input dtype (integers rounded), values in the input's range;
* ``invert``, ``median``, ``rescale_intensity``: the input dtype;
* ``gaussian``: float64 (float32 for float32 input), values in the input's range;
* ``equalize_adapthist``: float64 in [0, 1], as scikit-image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.registry import validated

from .._core.errors import ParameterError
from .._core.validation import check_image

__all__ = ["grayscale", "invert", "median", "gaussian", "rescale_intensity", "equalize_adapthist"]


def _gray_only(image, step: str) -> np.ndarray:
    array, info = check_image(image)
    if info.is_color:
        from .._core.errors import InvalidImageError

        raise InvalidImageError(
            f"pre-step {step!r} works on single-channel images, but `image` is colour (shape {array.shape}); "
            "add the pre-step 'grayscale' before it"
        )
    return array


@validated
def grayscale(image: ArrayLike) -> NDArray[Any]:
    """Convert an RGB image to gray with scikit-image's luminance weights; pass gray images through.

    Parameters
    ----------
    image : (M, N, 3) or (M, N) ndarray
        RGB image (RGBA loses alpha with a warning, see ``check_image``) or an
        already single-channel image, which is returned unchanged.

    Returns
    -------
    gray : (M, N) ndarray
        ``0.2125 R + 0.7154 G + 0.0721 B`` (``skimage.color.rgb2gray``) in the
        input's value range and dtype: for integer input
        ``np.rint(rgb2gray(image) * dtype_max)`` cast back, so a uint8 image
        stays uint8 (and keeps the fast threshold paths); float input keeps
        its values (``rgb2gray`` does not rescale floats).

    References
    ----------
    .. [1] ITU-R BT.709: https://www.itu.int/rec/R-REC-BT.709

    Examples
    --------
    >>> import numpy as np
    >>> grayscale(np.full((2, 2, 3), 200, np.uint8))
    array([[200, 200],
           [200, 200]], dtype=uint8)
    """
    array, info = check_image(image)
    if not info.is_color:
        return array
    from skimage.color import rgb2gray

    gray = rgb2gray(array)
    if array.dtype.kind in "ui":
        top = np.iinfo(array.dtype).max
        return np.rint(gray * top).astype(array.dtype)
    return gray.astype(array.dtype, copy=False)


@validated
def invert(image: ArrayLike) -> NDArray[Any]:
    """Invert intensities as ``skimage.util.invert``.

    Parameters
    ----------
    image : ndarray
        Any image.

    Returns
    -------
    inverted : ndarray
        Same dtype: ``dtype_max - x`` for unsigned integers (255 - x for
        uint8), ``-1 - x`` for signed integers, ``1 - x`` for floats (the
        scikit-image convention for [0, 1] images; for other float ranges
        the order is still reversed).

    Examples
    --------
    >>> import numpy as np
    >>> invert(np.array([[0, 55], [200, 255]], np.uint8))
    array([[255, 200],
           [ 55,   0]], dtype=uint8)
    """
    array, _ = check_image(image)
    from skimage.util import invert as sk_invert

    return sk_invert(array)


@validated
def median(image: ArrayLike, *, size: int = 3) -> NDArray[Any]:
    """Replace each pixel with the median of its ``size`` x ``size`` neighbourhood.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    size : int
        Odd window side length (a cube for 3-D images).

    Returns
    -------
    filtered : ndarray
        Same dtype; equal to ``scipy.ndimage.median_filter(image, size=size, mode='nearest')``
        (border pixels replicated, as ``skimage.filters.median`` and
        OpenCV's ``medianBlur``). For 2-D uint8 images ``cv2.medianBlur`` is
        used (identical result, tested); for uint16/float32 with size 3 or 5 as well.

    Raises
    ------
    ParameterError
        `size` not an odd integer >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.uint8); image[2, 2] = 255
    >>> int(median(image, size=3).max())
    0
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1 or size % 2 != 1:
        raise ParameterError(f"parameter `size` must be an odd integer >= 1; got {size!r}")
    array = _gray_only(image, "median")
    size = int(size)
    if size == 1:
        return array.copy()
    if array.ndim == 2 and (array.dtype == np.uint8 or (array.dtype in (np.uint16, np.float32) and size <= 5)):
        import cv2

        return cv2.medianBlur(np.ascontiguousarray(array), size)
    from scipy import ndimage as ndi

    return ndi.median_filter(array, size=size, mode="nearest")


@validated
def gaussian(image: ArrayLike, *, sigma: float = 1.0) -> NDArray[Any]:
    """Smooth with a Gaussian kernel (``skimage.filters.gaussian``, values kept in the image's range).

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    sigma : float
        Standard deviation in pixels (> 0).

    Returns
    -------
    smoothed : ndarray of float64 (float32 for float32 input)
        ``skimage.filters.gaussian(image, sigma, preserve_range=True)``:
        border mode ``'nearest'``, kernel truncated at 4 sigma. Values stay in
        the input's units, so a threshold chosen on the raw image still applies.

    Examples
    --------
    >>> import numpy as np
    >>> out = gaussian(np.full((4, 4), 100, np.uint8), sigma=1.0)
    >>> out.dtype, float(out[0, 0])
    (dtype('float64'), 100.0)
    """
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or not sigma > 0:
        raise ParameterError(f"parameter `sigma` must be a number > 0; got {sigma!r}")
    array = _gray_only(image, "gaussian")
    from skimage.filters import gaussian as sk_gaussian

    return sk_gaussian(array, sigma=float(sigma), preserve_range=True)


@validated
def rescale_intensity(image: ArrayLike, *, low_percentile: float = 0.0, high_percentile: float = 100.0) -> NDArray[Any]:
    """Stretch intensities between two percentiles to the dtype's full range.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    low_percentile, high_percentile : float
        Percentiles (0..100, low < high) of the image mapped to the bottom and
        top of the output range; values outside are clipped.

    Returns
    -------
    rescaled : ndarray
        ``skimage.exposure.rescale_intensity(image, in_range=(p_low, p_high))``
        with ``(p_low, p_high) = np.percentile(image, (low, high))``: same dtype,
        full dtype range for integers, [0, 1] for floats (scikit-image's
        ``out_range='dtype'``). A constant image is returned unchanged.

    Raises
    ------
    ParameterError
        Percentiles outside 0..100 or ``low_percentile >= high_percentile``.

    Examples
    --------
    >>> import numpy as np
    >>> rescale_intensity(np.array([[50, 100], [150, 200]], np.uint8))
    array([[  0,  85],
           [170, 255]], dtype=uint8)
    """
    for name, value in (("low_percentile", low_percentile), ("high_percentile", high_percentile)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 100:
            raise ParameterError(f"parameter `{name}` must be a number in [0, 100]; got {value!r}")
    if low_percentile >= high_percentile:
        raise ParameterError(
            f"`low_percentile` ({low_percentile!r}) must be below `high_percentile` ({high_percentile!r})"
        )
    array = _gray_only(image, "rescale_intensity")
    low, high = np.percentile(array, (low_percentile, high_percentile))
    if low == high:
        return array.copy()
    from skimage.exposure import rescale_intensity as sk_rescale

    return sk_rescale(array, in_range=(float(low), float(high)))


@validated
def equalize_adapthist(image: ArrayLike, *, clip_limit: float = 0.01, kernel_size: int | None = None) -> NDArray[Any]:
    """Contrast Limited Adaptive Histogram Equalization (CLAHE), ``skimage.exposure.equalize_adapthist``.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    clip_limit : float
        Clipping limit in (0, 1]; higher gives more contrast.
    kernel_size : int, optional
        Side length of the contextual regions; None is 1/8 of each axis.

    Returns
    -------
    equalized : ndarray of float64
        Values in [0, 1] (scikit-image's output).

    References
    ----------
    .. [1] K. Zuiderveld, "Contrast Limited Adaptive Histogram Equalization,"
           Graphics Gems IV, 474-485, 1994.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))
    >>> out = equalize_adapthist(image)
    >>> out.dtype, bool(0.0 <= out.min() <= out.max() <= 1.0)
    (dtype('float64'), True)
    """
    if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float, np.number)) or not 0 < clip_limit <= 1:
        raise ParameterError(f"parameter `clip_limit` must be a number in (0, 1]; got {clip_limit!r}")
    if kernel_size is not None and (isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer))
                                    or kernel_size < 2):
        raise ParameterError(f"parameter `kernel_size` must be an integer >= 2 or None; got {kernel_size!r}")
    array = _gray_only(image, "equalize_adapthist")
    if array.dtype.kind == "f":
        low, high = float(array.min()), float(array.max())
        if low < -1 or high > 1:
            # scikit-image reads float images as [-1, 1] (integers by their dtype's range) and raised a bare
            # ValueError; seglab never rescales behind the user's back, so say which step does it
            from .._core.errors import InvalidImageError

            raise InvalidImageError(
                f"pre-step 'equalize_adapthist' reads float images as values in [-1, 1] (scikit-image's rule); "
                f"`image` ({array.dtype}) has values from {low:.4g} to {high:.4g}. Put the pre-step "
                "'rescale_intensity' before it (CLI: --pre rescale_intensity --pre equalize_adapthist)"
            )
    from skimage.exposure import equalize_adapthist as sk_clahe

    return sk_clahe(array, kernel_size=kernel_size, clip_limit=float(clip_limit))
