"""Marker-controlled watershed (Beucher & Meyer 1993) and the OpenCV distance-transform recipe.

``watershed`` floods the Sobel gradient from markers, exactly as
``skimage.segmentation.watershed(sobel(image), markers, ...)``; an optional
OpenCV backend (Meyer's flooding in ``cv2.watershed``) is faster on large 2-D
images but breaks ties differently and floods its own colour-difference
elevation, so it is not the default (see ``benchmarks/cases/region.py`` for
the measured agreement). ``watershed_distance`` is the OpenCV tutorial recipe
(Otsu, opening, distance transform, sure foreground/background, ``cv2.watershed``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray, check_labels, check_same_shape

__all__ = ["watershed", "watershed_distance"]


def _to_uint8(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return the image as uint8: unchanged if uint8, else min-max rescaled to 0..255 (documented)."""
    if image.dtype == np.uint8:
        return image, False
    # The min and max of the float64 copy are the float64 values of the image's own min and max (the
    # conversion is monotone), so no whole-image float64 copy is needed for them.
    lo, hi = float(np.float64(image.min())), float(np.float64(image.max()))
    if hi == lo:
        return np.zeros(image.shape, np.uint8), True
    # The same elementwise operations as np.round((image.astype(float64) - lo) * scale).astype(uint8), on
    # blocks of rows: float64 temporaries of one block instead of three whole-image ones.
    scale = 255.0 / (hi - lo)
    out = np.empty(image.shape, np.uint8)
    rows = image.shape[0]
    per_row = image.size // rows if rows else 1
    step = max(1, min(rows, max((1 << 14) // max(1, per_row), -(-rows // 16))))
    for start in range(0, rows, step):
        block = image[start: start + step].astype(np.float64)
        np.subtract(block, lo, out=block)
        np.multiply(block, scale, out=block)
        np.round(block, out=block)
        out[start: start + step] = block  # astype(uint8): the same unsafe cast (values are 0..255 here)
    return out, True


def band_markers(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Return int32 markers: 1 where ``image < low``, 2 where ``image > high``, 0 elsewhere.

    This is the scikit-image coins recipe (``markers[coins < 30] = 1; markers[coins > 150] = 2``).
    """
    if not low < high:
        raise ParameterError(f"`low` ({low}) must be smaller than `high` ({high}); the two bands would overlap")
    markers = np.zeros(image.shape, np.int32)
    markers[image < low] = 1
    markers[image > high] = 2
    return markers


def _fill_boundaries(markers: np.ndarray) -> np.ndarray:
    """Give cv2.watershed's -1 boundary pixels the largest neighbouring label."""
    from scipy import ndimage as ndi

    out = markers.copy()
    for _ in range(8):
        holes = out < 0
        if not holes.any():
            break
        grown = ndi.grey_dilation(np.where(holes, 0, out), size=(3, 3))
        out[holes] = grown[holes]
    out[out < 0] = 0
    return out


@validated
def watershed(image: ArrayLike, *, low: float | None = None, high: float | None = None, compactness: float = 0.0,
              watershed_line: bool = False, backend: str = "skimage",
              markers: ArrayLike | None = None) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment an image by flooding its Sobel gradient from markers.

    Markers come from the user (`markers`) or from two intensity bands:
    marker 1 where ``image < low`` and marker 2 where ``image > high`` (the
    scikit-image "comparing edge-based and region-based segmentation" recipe).
    Without either, the gradient's regional minima are the markers (the
    scikit-image default).

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image (2-D or 3-D).
    low, high : float, optional
        Intensity bands for markers 1 and 2; give both or neither. Not
        allowed together with `markers`.
    compactness : float, optional
        Compact watershed weight (Neubert & Protzel 2014); 0 is the classic
        watershed.
    watershed_line : bool, optional
        Separate regions by one-pixel lines labelled 0.
    backend : {'skimage', 'opencv'}, optional
        ``'skimage'``: exactly ``skimage.segmentation.watershed(sobel(image),
        markers, compactness=..., watershed_line=...)``, with about 1.4
        float64 images of temporaries instead of 3.5 (the Sobel elevation
        is written in strips into the padded array the flood reads). ``'opencv'``:
        ``cv2.watershed`` on the image as uint8 RGB (non-uint8 images are
        min-max rescaled to 0..255); 2-D only, ``compactness`` must be 0,
        markers required. OpenCV floods its own neighbour-difference
        elevation and marks boundaries -1; those pixels take the largest
        neighbouring label (or 0 with `watershed_line`). It is faster (about
        3x on 512x512) but does not give the same result: 98 % of pixels
        agree on ``coins`` with bands 30/150, 72 % on the synthetic image of
        ``benchmarks/cases/region.py`` (wide unmarked zones).
    markers : (M, N[, P]) ndarray of int, optional
        User markers (0 = unlabelled). Input, not a parameter.

    Returns
    -------
    labels : ndarray of int32
        Labels of the basins, the markers' values (with bands: 1 = the
        low-intensity basin, 2 = the high-intensity basin); 0 only on
        watershed lines.
        ``seglab.segment(image, "watershed").info`` holds the values it chose: ``n_labels`` and
        ``markers_from`` (``'user'``, ``'bands'`` or ``'minima'``).

    Raises
    ------
    ParameterError
        Only one of `low`/`high`, `low` >= `high`, bands together with
        `markers`, or an OpenCV backend request it cannot honour.
    ShapeMismatchError
        `markers` and `image` differ in shape.

    References
    ----------
    .. [1] Beucher, S. and Meyer, F. (1993). The morphological approach to
           segmentation: the watershed transformation. Mathematical
           Morphology in Image Processing, 433-481.
    .. [2] Neubert, P. and Protzel, P. (2014). Compact watershed and
           preemptive SLIC. ICPR. :DOI:`10.1109/ICPR.2014.181`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.region import watershed
    >>> image = np.zeros((20, 20), np.uint8); image[5:15, 5:15] = 200
    >>> sorted(np.unique(watershed(image, low=50, high=150)).tolist())
    [1, 2]
    """
    array = check_gray(image, "method 'watershed'")
    if (low is None) != (high is None):
        raise ParameterError(
            f"give both `low` and `high` (got low={low!r}, high={high!r}); marker 1 is image < low and "
            "marker 2 is image > high"
        )
    if markers is not None:
        if low is not None:
            raise ParameterError(
                "`markers` was given together with `low`/`high`; use either user markers or intensity bands"
            )
        marker_array = check_labels(markers, name="markers")
        check_same_shape(array, marker_array, reference_name="image", other_name="markers")
        marker_array = marker_array.astype(np.int32, copy=False)
        source = "user"
    elif low is not None and high is not None:  # both or neither (checked above)
        marker_array = band_markers(array, low, high)
        source = "bands"
    else:
        marker_array = None
        source = "minima"
    if backend not in ("skimage", "opencv"):
        raise ParameterError(f"`backend` got {backend!r}; expected 'skimage' or 'opencv'")
    if backend == "opencv":
        labels = _watershed_opencv(array, marker_array, compactness, watershed_line)
    else:
        labels = _watershed_sobel(array, marker_array, float(compactness), bool(watershed_line))
        marker_array = None
    n_labels = int(np.count_nonzero(np.bincount(labels.ravel())[1:]))
    return labels, {"n_labels": n_labels, "markers_from": source}


# Pixels per strip (halo included) of the strip-wise Sobel elevation: a few MiB of float64 per temporary.
_STRIP_PIXELS = 1 << 17


def _watershed_sobel(array: np.ndarray, marker_array: np.ndarray | None, compactness: float,
                     watershed_line: bool) -> np.ndarray:
    """``skimage.segmentation.watershed(skimage.filters.sobel(array), markers, ...)`` with fewer temporaries.

    scikit-image's call holds the Sobel elevation, its float64 copy (``_validate_inputs``), the padded copy
    the flood reads, and for minima markers the inverted and padded copies of ``local_minima``: 3.5 float64
    images on 512 x 512. Here the Sobel elevation is computed in strips along axis 0 (a halo of one real
    neighbour, ``skimage.filters.sobel`` on each strip, 'reflect' at the true borders) straight into the
    zero-padded float64 array the flood reads; regional minima are found on that same array, negated in place
    (negation is exact, so it is restored bit for bit), with ``local_minima``'s own padding value on its ring;
    then scikit-image's own flooding (``_watershed_cy.watershed_raveled``) runs on it, with the same padded
    markers, mask, neighbourhood and marker order as ``skimage.segmentation.watershed``. The labels are
    identical; the temporaries are the padded elevation (1 float64 image), the padded markers (int32), the
    padded int8 mask and the marker positions (8 bytes a marker pixel). Returns int32 labels.
    """
    try:  # scikit-image's private parts; another version without them takes its public path
        from skimage.filters import sobel
        from skimage.morphology import _util
        from skimage.morphology._extrema_cy import _local_maxima  # type: ignore[import-not-found]
        from skimage.segmentation import _watershed_cy  # type: ignore[attr-defined]
        from skimage.util import crop
    except ImportError:  # pragma: no cover - depends on the installed scikit-image
        from skimage.filters import sobel
        from skimage.segmentation import watershed as sk_watershed

        return sk_watershed(sobel(array), marker_array, compactness=compactness,
                            watershed_line=watershed_line).astype(np.int32, copy=False)
    from scipy import ndimage as ndi

    ndim = array.ndim
    footprint, offset = _util._validate_connectivity(ndim, 1, None)
    pad = [(int(p), int(p)) for p in offset]
    inner = tuple(slice(p, p + n) for p, n in zip(offset, array.shape))
    elevation = np.zeros(tuple(n + 2 * int(p) for n, p in zip(array.shape, offset)), np.float64)
    n = array.shape[0]
    plane = max(array.size // max(n, 1), 1)
    # At least 8 planes a strip (the halo is 2 of them), but no more than about a fifth of the image: a thin
    # volume (16 planes) took half of itself per strip, and scikit-image's Sobel temporaries with it (2.92
    # float64 images on 16 x 128 x 128, 1.92 now; a fifth, not less, as the halo's extra Sobel work costs 4-6 %).
    step = max(min(_STRIP_PIXELS // plane, n // 8 + 1) - 2, min(8, max(n // 5, 1)))
    for start in range(0, n, step):
        stop = min(start + step, n)
        top, bottom = max(start - 1, 0), min(stop + 1, n)
        strip = sobel(array[top:bottom])  # float64 (float32 for float32 images, cast exactly below)
        elevation[(slice(inner[0].start + start, inner[0].start + stop),) + inner[1:]] = \
            strip[start - top:stop - top]
        del strip
    if marker_array is None:
        # skimage: local_minima(elevation, connectivity=1) = local_maxima(-elevation) padded with its minimum
        interior = elevation[inner]
        np.negative(interior, out=interior)
        ring = np.ones(elevation.shape, bool)
        ring[inner] = False
        elevation[ring] = interior.min()
        flags = np.zeros(elevation.shape, np.uint8)
        _util._set_border_values(flags, value=3)
        neighbours = _util._offsets_to_raveled_neighbors(
            elevation.shape, _util._resolve_neighborhood(None, 1, ndim), center=(1,) * ndim)
        _local_maxima(elevation.ravel(), flags.ravel(), neighbours)
        np.negative(interior, out=interior)
        elevation[ring] = 0.0
        del ring, interior
        _util._set_border_values(flags, value=0)
        # the padded ring is empty, so labels (raster order) are those of the unpadded minima
        output = np.zeros(elevation.shape, np.int32)
        ndi.label(flags.view(bool), structure=ndi.generate_binary_structure(ndim, 1), output=output)
        del flags
    else:
        output = np.pad(marker_array.astype(np.int32, copy=False), pad, mode="constant")
    mask = np.zeros(elevation.shape, np.int8)
    mask[inner] = 1
    neighbourhood = _util._offsets_to_raveled_neighbors(elevation.shape, footprint, center=offset)
    locations = np.flatnonzero(output)
    strides = np.array(elevation.strides, dtype=np.intp) // elevation.itemsize
    _watershed_cy.watershed_raveled(elevation.ravel(), locations, neighbourhood, mask.ravel(), strides,
                                    compactness, output.ravel(), watershed_line)
    del elevation, mask, locations
    return crop(output, pad, copy=True)


def _watershed_opencv(array, marker_array, compactness, watershed_line):
    import cv2

    if array.ndim != 2:
        raise ParameterError(f"backend='opencv' supports 2-D images only; got shape {array.shape}. "
                             "Use backend='skimage'")
    if compactness != 0:
        raise ParameterError(f"backend='opencv' has no compact watershed; got compactness={compactness}. "
                             "Use backend='skimage' or compactness=0")
    if marker_array is None:
        raise ParameterError("backend='opencv' needs markers: pass `markers` or `low` and `high`")
    gray, _ = _to_uint8(array)
    flooded = cv2.watershed(cv2.merge([gray, gray, gray]), marker_array.astype(np.int32, copy=True))
    if watershed_line:
        return np.where(flooded < 0, 0, flooded).astype(np.int32)
    return _fill_boundaries(flooded).astype(np.int32)


@validated
def watershed_distance(image: ArrayLike, *, invert: bool = False, opening_iterations: int = 2,
                       dilate_iterations: int = 3, dist_mask_size: int = 5, fg_fraction: float = 0.25,
                       fill_holes: bool = True) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Split objects with the OpenCV distance-transform watershed recipe.

    Steps (OpenCV tutorial "Image Segmentation with Watershed Algorithm"):
    Otsu threshold (``THRESH_BINARY``, or ``THRESH_BINARY_INV`` when
    `invert`); `opening_iterations` 3x3 openings; sure background =
    `dilate_iterations` 3x3 dilations; L2 distance transform; sure
    foreground = distance > ``fg_fraction * max``; unknown = sure background
    minus sure foreground; markers = connected components of the sure
    foreground + 1, unknown = 0; ``cv2.watershed`` on the 3-channel image.

    The default ``invert=False`` treats bright objects on a dark background
    as foreground (coins, nuclei in fluorescence). The tutorial's coins
    photograph has dark coins, hence its ``THRESH_BINARY_INV``; set
    ``invert=True`` for such images.

    Parameters
    ----------
    image : (M, N) ndarray
        Single-channel image. Non-uint8 images are min-max rescaled to
        uint8 first (OpenCV's Otsu and watershed need 8-bit input);
        ``info["rescaled"]`` says when.
    invert : bool, optional
        Objects are darker than the background.
    opening_iterations, dilate_iterations : int, optional
        Iterations of the 3x3 opening (noise removal) and dilation (sure background).
    dist_mask_size : {0, 3, 5}, optional
        Mask of ``cv2.distanceTransform`` with ``DIST_L2``; 0 = precise.
    fg_fraction : float, optional
        Sure foreground where the distance exceeds this fraction of its maximum.
    fill_holes : bool, optional
        Fill holes of the opened mask before the distance transform.

    Returns
    -------
    labels : (M, N) ndarray of int32
        Objects 1..n; background and watershed boundaries 0.
        ``seglab.segment(image, "watershed_distance").info`` holds the values it chose:
        ``threshold`` (Otsu), ``n_objects``, ``rescaled``.

    Notes
    -----
    The defaults are chosen to count the objects of scikit-image's ``coins``
    (24 coins, uneven background), not copied from the tutorial. Two steps of
    the OpenCV tutorial fail there: Otsu leaves dark holes inside the coins,
    which put the distance maximum at the rim, and the tutorial's sure
    foreground at 0.7 of the *global* maximum distance keeps only the cores of
    the largest coins (2 objects). Filling the holes first and taking 0.25 of
    the maximum gives 25 objects, 24 of them larger than 300 pixels (one per
    coin); fractions 0.2-0.3 give 23-25 (measured in
    ``tests/region/test_watershed_defaults.py``). Set ``fill_holes=False,
    fg_fraction=0.7`` for the tutorial's recipe exactly.

    References
    ----------
    .. [1] Meyer, F. (1992). Color image segmentation. International
           Conference on Image Processing and its Applications, 303-306.
    .. [2] OpenCV tutorial, Image Segmentation with Watershed Algorithm,
           https://docs.opencv.org/4.x/d3/db4/tutorial_py_watershed.html

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.region import watershed_distance
    >>> rows, cols = np.mgrid[:40, :60]
    >>> image = np.where(((rows - 20) ** 2 + (cols - 20) ** 2 < 100)
    ...                  | ((rows - 20) ** 2 + (cols - 36) ** 2 < 100), 200, 20).astype(np.uint8)
    >>> labels = watershed_distance(image, opening_iterations=0, fg_fraction=0.7)
    >>> int(labels.max())  # two overlapping disks, split
    2
    """
    import cv2

    array = check_gray(image, "method 'watershed_distance'", spatial_ndim=2)
    for name, value in (("opening_iterations", opening_iterations), ("dilate_iterations", dilate_iterations)):
        if int(value) != value or value < 0:
            raise ParameterError(f"`{name}` got {value!r}; expected an integer >= 0")
    if dist_mask_size not in (0, 3, 5):
        raise ParameterError(f"`dist_mask_size` got {dist_mask_size!r}; expected 0 (precise), 3 or 5")
    if not 0.0 <= fg_fraction <= 1.0:
        raise ParameterError(f"`fg_fraction` got {fg_fraction!r}; expected a number in [0, 1]")
    gray, rescaled = _to_uint8(array)
    flag = (cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY) + cv2.THRESH_OTSU
    threshold, thresh = cv2.threshold(gray, 0, 255, flag)
    kernel = np.ones((3, 3), np.uint8)
    opening = cv2.morphologyEx(thresh, cv2.MORPH_OPEN, kernel, iterations=int(opening_iterations))
    if fill_holes:
        from scipy import ndimage as ndi

        opening = np.where(ndi.binary_fill_holes(opening > 0), np.uint8(255), np.uint8(0))
    del thresh
    unknown = cv2.dilate(opening, kernel, iterations=int(dilate_iterations)) == 255  # sure background, for now
    dist = cv2.distanceTransform(opening, cv2.DIST_L2, int(dist_mask_size))
    del opening
    # cv2.threshold(dist, t, 255, THRESH_BINARY) compares the float32 distance with t cast to float32: the same
    # test as a boolean (one byte a pixel where the float32 result and its uint8 copy took five).
    sure_fg = dist > np.float32(fg_fraction * float(dist.max()))
    del dist
    unknown &= ~sure_fg  # the tutorial's sure_bg - sure_fg == 255
    _, components = cv2.connectedComponents(sure_fg.view(np.uint8))
    markers = np.asarray(components, dtype=np.int32)  # already int32: no copy
    del sure_fg, components
    markers += 1
    markers[unknown] = 0
    del unknown
    # The watershed fills `markers` in place (int32: -1 on boundaries, 1 background, 2.. objects); objects
    # become 1.. and the rest 0 without another labels-sized array.
    cv2.watershed(cv2.merge([gray, gray, gray]), markers)
    labels = markers
    labels -= 1
    labels[labels < 0] = 0
    n_objects = int(np.count_nonzero(np.bincount(labels.ravel())[1:]))
    return labels, {"threshold": float(threshold), "n_objects": n_objects, "rescaled": rescaled}
