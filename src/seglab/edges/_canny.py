"""Canny edge detection (Canny 1986) with scikit-image or OpenCV threshold semantics, and edge-based filling.

``canny`` gives one of two documented, reproducible results:

* ``scale='skimage'`` (default): exactly ``skimage.feature.canny(image, sigma,
  low_threshold, high_threshold, use_quantiles=...)`` - Gaussian smoothing with
  `sigma`, thresholds on the gradient magnitude of the image in its float range
  (integers scaled to [0, 1]; ``None`` = 10 % / 20 % of the dtype's maximum);
  computed in strips of rows with a halo of real neighbours, bit for bit the
  same edges with about 1.3 float64 images of temporaries instead of 6;
* ``scale='opencv'``: exactly ``cv2.Canny(image, low_threshold, high_threshold,
  apertureSize=3, L2gradient=l2gradient)`` on a uint8 image, thresholds on the
  0-255-scaled Sobel magnitude (the "Canny 100/200" of the OpenCV tutorial);
  when ``sigma > 0`` the image is first smoothed by ``cv2.GaussianBlur(image,
  (0, 0), sigma)`` (OpenCV's own Canny does not smooth), so ``sigma=0`` is
  plain ``cv2.Canny``.

``edge_fill`` is scikit-image's "edge-based segmentation" of the coins: Canny,
optional closing of small gaps, ``ndimage.binary_fill_holes``, removal of
small objects, labelling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ImageTypeError, ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray

__all__ = ["canny", "edge_fill"]


def _check_thresholds(low, high, scale, use_quantiles):
    for name, value in (("low_threshold", low), ("high_threshold", high)):
        if value is not None and not (isinstance(value, (int, float, np.number)) and value >= 0):
            raise ParameterError(f"`{name}` got {value!r}; expected a number >= 0 or None")
    if scale == "opencv" and (low is None or high is None):
        raise ParameterError(
            "scale='opencv' needs both `low_threshold` and `high_threshold` on the 0-255 gradient scale "
            "(e.g. low_threshold=100, high_threshold=200); got "
            f"low_threshold={low!r}, high_threshold={high!r}"
        )
    if use_quantiles:
        if scale == "opencv":
            raise ParameterError("`use_quantiles=True` is a scikit-image option; use it with scale='skimage'")
        for name, value in (("low_threshold", low), ("high_threshold", high)):
            if value is not None and value > 1:
                raise ParameterError(f"`{name}` got {value!r}; with use_quantiles=True expected a quantile in [0, 1]")
    if low is not None and high is not None and low > high:
        raise ParameterError(f"`low_threshold` ({low}) must not exceed `high_threshold` ({high})")


@validated
def canny(image: ArrayLike, *, sigma: float = 1.0, low_threshold: float | None = None,
          high_threshold: float | None = None, scale: str = "skimage", use_quantiles: bool = False,
          l2gradient: bool = False) -> NDArray[np.bool_]:
    """Return Canny's edge pixels as a boolean mask.

    Parameters
    ----------
    image : (M, N) ndarray
        Single-channel image. ``scale='opencv'`` needs uint8.
    sigma : float
        Gaussian standard deviation (>= 0). skimage: the smoothing inside
        ``skimage.feature.canny``. opencv: ``cv2.GaussianBlur`` before
        ``cv2.Canny`` when > 0; 0 means no smoothing (plain ``cv2.Canny``).
    low_threshold, high_threshold : float or None
        Hysteresis thresholds. skimage: on the image's float range (None =
        10 % / 20 % of the dtype's maximum, scikit-image's defaults), or
        quantiles with `use_quantiles`. opencv: on the 0-255 Sobel scale,
        both required (e.g. 100 and 200).
    scale : {'skimage', 'opencv'}
        Which library's semantics the thresholds (and the result) follow.
    use_quantiles : bool
        skimage only: thresholds are quantiles of the gradient magnitude.
    l2gradient : bool
        opencv only: ``L2gradient`` of ``cv2.Canny`` (exact magnitude instead
        of ``|gx| + |gy|``). scikit-image always uses the L2 magnitude.

    Returns
    -------
    edges : (M, N) ndarray of bool
        Thin edge pixels.

    Raises
    ------
    ParameterError
        Missing thresholds with ``scale='opencv'``, ``low > high``, quantiles
        above 1.
    ImageTypeError
        ``scale='opencv'`` on an image that is not uint8.

    References
    ----------
    .. [1] Canny, J. (1986). A computational approach to edge detection. IEEE
           TPAMI 8(6), 679-698. :DOI:`10.1109/TPAMI.1986.4767851`

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20), np.uint8); image[5:15, 5:15] = 200
    >>> edges = canny(image, sigma=0, low_threshold=100, high_threshold=200, scale="opencv")
    >>> np.flatnonzero(edges[:, 8]).tolist()
    [4, 14]
    >>> int(canny(image, sigma=1.0).sum()) > 0
    True
    """
    array = check_gray(image, "edge detector 'canny'", spatial_ndim=2)
    if scale not in ("skimage", "opencv"):
        raise ParameterError(f"`scale` got {scale!r}; expected 'skimage' or 'opencv'")
    if not sigma >= 0:
        raise ParameterError(f"`sigma` got {sigma!r}; expected a number >= 0")
    _check_thresholds(low_threshold, high_threshold, scale, use_quantiles)
    if scale == "opencv" and low_threshold is not None and high_threshold is not None:  # both set: checked above
        if array.dtype != np.uint8:
            raise ImageTypeError(
                f"scale='opencv' follows cv2.Canny, which takes uint8 images; got {array.dtype}. Convert first "
                "(e.g. skimage.util.img_as_ubyte) or use scale='skimage' (thresholds on the float range)"
            )
        import cv2

        data = np.ascontiguousarray(array)
        if sigma > 0:
            data = cv2.GaussianBlur(data, (0, 0), float(sigma))
        return cv2.Canny(data, float(low_threshold), float(high_threshold), apertureSize=3,
                         L2gradient=bool(l2gradient)) > 0
    if array.dtype in (np.int64, np.uint64):
        # scikit-image refuses them with a bare ValueError; its thresholds are fractions of the dtype's range
        raise ImageTypeError(
            f"canny (scale='skimage') follows skimage.feature.canny, which does not take 64-bit integer images; "
            f"got {array.dtype} (values {int(array.min())} to {int(array.max())}). Convert first: "
            "image.astype(np.float64) (thresholds then on the values themselves), or a smaller integer dtype "
            "that holds them (thresholds on that dtype's range)"
        )
    return _canny_strips(array, float(sigma), low_threshold, high_threshold, bool(use_quantiles))


# Pixels per strip (halo included) of the strip-wise Canny: each strip holds about ten float64 temporaries of
# its size, so strips stay a few MiB whatever the image size.
_STRIP_PIXELS = 1 << 17


def _canny_strips(array: np.ndarray, sigma: float, low: float | None, high: float | None,
                  use_quantiles: bool) -> NDArray[np.bool_]:
    """``skimage.feature.canny(array, sigma, low, high, use_quantiles=...)`` bit for bit, in strips of rows.

    scikit-image holds the float image, the bleed-over image, the smoothed image, both Sobel derivatives, the
    magnitude and the suppressed magnitude at once (about six float64 images of temporaries). Smoothing
    (Gaussian, ``mode='constant'``, divided by the Gaussian of ones: the "bleed-over"), the Sobel derivatives
    (``'reflect'``), the magnitude and the non-maximum suppression only read neighbours, so each strip of rows
    is computed with a halo of real neighbours (the Gaussian radius + 1 row for Sobel + 1 row for the
    suppression's neighbours) by the same scipy/scikit-image calls: every kept value is the same sequence of
    operations on the same values. A strip keeps only its boolean low/high masks (1 byte a pixel each); the
    hysteresis (8-connected components of the low mask that hold a high pixel) runs on the whole boolean
    image, as scikit-image's does. The Gaussian of ones of a strip depends only on the strip's shape (the
    strip is smoothed as an image of its own), so it is computed once per strip shape.

    ``use_quantiles`` needs the magnitude's global distribution: a first pass writes the magnitude (one
    float64 image) and takes ``np.percentile`` of it in place, a second pass thresholds.
    """
    from scipy import ndimage as ndi
    from skimage._shared.utils import _supported_float_type
    from skimage.feature._canny_cy import _nonmaximum_suppression_bilinear  # type: ignore[import-not-found]
    from skimage.util import img_as_float
    from skimage.util.dtype import dtype_limits

    # scikit-image's threshold rules (skimage.feature.canny)
    dtype_max = dtype_limits(array, clip_negative=False)[1]
    low_t = 0.1 if low is None else (float(low) if use_quantiles else low / dtype_max)
    high_t = 0.2 if high is None else (float(high) if use_quantiles else high / dtype_max)
    if high_t < low_t:
        raise ParameterError(
            f"the high threshold ({high_t:g}) is below the low threshold ({low_t:g}) on the image's float range "
            "(a threshold left at None is 10 % / 20 % of the dtype's maximum); give both thresholds")
    float_type = _supported_float_type(array.dtype)
    rows, cols = array.shape
    radius = int(4.0 * sigma + 0.5)  # scipy's gaussian_filter radius (truncate=4.0, scikit-image's)
    halo = radius + 2  # + 1 row for the Sobel derivatives, + 1 row for the suppression's neighbours
    step = max(min(_STRIP_PIXELS // max(cols, 1), rows // 8 + 1) - 2 * halo, 4 * halo, 16)
    bleed_cache: dict[tuple[int, int], np.ndarray] = {}

    def strip(start: int, stop: int):
        """Return (isobel, jsobel, magnitude, eroded mask) of rows start:stop, plus the halo offset."""
        top, bottom = max(start - halo, 0), min(stop + halo, rows)
        data = img_as_float(array[top:bottom])  # as skimage's gaussian (preserve_range=False)
        data = data.astype(float_type, copy=False)
        smoothed = ndi.gaussian_filter(data, sigma, mode="constant", cval=0.0, truncate=4.0)
        del data
        bleed = bleed_cache.get(smoothed.shape)
        if bleed is None:
            bleed = ndi.gaussian_filter(np.ones(smoothed.shape, float_type), sigma, mode="constant", cval=0.0,
                                        truncate=4.0) + np.finfo(float_type).eps
            bleed_cache[smoothed.shape] = bleed
        smoothed /= bleed
        # the rows start-1 .. stop (one beyond each side, the suppression's neighbours), clipped to the image
        lo, hi = max(start - 1, 0), min(stop + 1, rows)
        jsobel = ndi.sobel(smoothed, axis=1)[lo - top:hi - top]
        isobel = ndi.sobel(smoothed, axis=0)[lo - top:hi - top]
        del smoothed
        isobel, jsobel = np.ascontiguousarray(isobel), np.ascontiguousarray(jsobel)
        magnitude = isobel * isobel
        magnitude += jsobel * jsobel
        np.sqrt(magnitude, out=magnitude)
        eroded = np.zeros(magnitude.shape, bool)  # scikit-image's eroded mask: the image's outer ring is off
        eroded[max(start, 1) - lo:min(stop, rows - 1) - lo, 1:-1] = True
        return isobel, jsobel, magnitude, eroded, start - lo

    bounds = [(start, min(start + step, rows)) for start in range(0, rows, step)]
    if use_quantiles:
        whole = np.empty(array.shape, float_type)
        for start, stop in bounds:
            _, _, magnitude, _, off = strip(start, stop)
            whole[start:stop] = magnitude[off:off + stop - start]
        # in place: the same order statistics as scikit-image's np.percentile on its copy
        low_t, high_t = np.percentile(whole, [100.0 * low_t, 100.0 * high_t], overwrite_input=True)
        del whole
    low_mask = np.empty(array.shape, bool)
    high_mask = np.empty(array.shape, bool)
    for start, stop in bounds:
        isobel, jsobel, magnitude, eroded, off = strip(start, stop)
        suppressed = _nonmaximum_suppression_bilinear(isobel, jsobel, magnitude, eroded, low_t)
        kept = suppressed[off:off + stop - start]
        low_mask[start:stop] = kept > 0
        high_mask[start:stop] = low_mask[start:stop] & (kept >= high_t)
    bleed_cache.clear()
    labels, count = ndi.label(low_mask, np.ones((3, 3), bool))
    if count == 0:
        return low_mask
    good = np.zeros(count + 1, bool)
    good[np.unique(labels[high_mask])] = True
    del high_mask, low_mask
    return good[labels]


@validated
def edge_fill(image: ArrayLike, *, sigma: float = 1.0, low_threshold: float | None = None,
              high_threshold: float | None = None, closing_radius: int = 0,
              min_size: int = 21) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment objects whose outlines are closed edges: Canny, close gaps, fill holes, label.

    The scikit-image coins tutorial ("Comparing edge-based and region-based
    segmentation"): ``edges = skimage.feature.canny(image)``, ``filled =
    ndimage.binary_fill_holes(edges)``, remove objects smaller than
    ``min_size`` pixels (face connectivity, as
    ``skimage.morphology.remove_small_objects``), then label (face
    connectivity). The defaults reproduce the tutorial; ``closing_radius``
    > 0 first closes the edge map with a disk of that radius, which seals
    outlines with small gaps (on ``skimage.data.coins()`` radius 1 recovers
    the coin whose outline the tutorial's version leaves open).

    Parameters
    ----------
    image : (M, N) ndarray
        Single-channel image.
    sigma, low_threshold, high_threshold : float or None
        Passed to ``skimage.feature.canny`` (scikit-image semantics).
    closing_radius : int
        Radius of the disk used to close the edge map; 0 skips it.
    min_size : int
        Filled objects with fewer pixels are removed.

    Returns
    -------
    labels : (M, N) ndarray of int32
        0 = background, 1..n = filled objects (raster order of first pixel).
        ``seglab.segment(image, "edge_fill").info`` holds the values it chose: ``n_objects``.

    References
    ----------
    .. [1] Canny, J. (1986). :DOI:`10.1109/TPAMI.1986.4767851`
    .. [2] scikit-image gallery, "Comparing edge-based and region-based
           segmentation" (plot_coins_segmentation).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((30, 30)); image[8:22, 8:22] = 1.0
    >>> labels = edge_fill(image)
    >>> int(labels.max()), bool(labels[15, 15] == 1)
    (1, True)
    """
    array = check_gray(image, "method 'edge_fill'", spatial_ndim=2)
    for name, value in (("closing_radius", closing_radius), ("min_size", min_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ParameterError(f"`{name}` got {value!r}; expected an integer >= 0")
    from scipy import ndimage as ndi

    edges = canny(array, sigma=sigma, low_threshold=low_threshold, high_threshold=high_threshold)
    if closing_radius > 0:
        r = int(closing_radius)
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        disk = yy * yy + xx * xx <= r * r
        edges = ndi.binary_closing(edges, structure=disk)
    filled = ndi.binary_fill_holes(edges)
    labels, n = ndi.label(filled)
    if min_size > 0 and n:
        sizes = np.bincount(labels.ravel())
        keep = sizes >= min_size
        keep[0] = False
        relabel = np.zeros(n + 1, np.int32)
        relabel[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
        labels = relabel[labels]
        n = int(keep.sum())
    return labels.astype(np.int32, copy=False), {"n_objects": int(n)}
