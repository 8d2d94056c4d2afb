"""Seeded region growing (flood fill with a tolerance, Adams & Bischof 1994) and connected components."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray, check_labels

__all__ = ["region_growing", "connected_components"]


def _structure(ndim: int, connectivity):
    from scipy import ndimage as ndi

    if connectivity is None:
        connectivity = ndim
    if int(connectivity) != connectivity or not 1 <= connectivity <= ndim:
        raise ParameterError(f"`connectivity` got {connectivity!r}; expected an integer in [1, {ndim}] "
                             f"for a {ndim}-D image, or None for full connectivity")
    return ndi.generate_binary_structure(ndim, int(connectivity))


def _seed_labels(seeds, shape) -> np.ndarray:
    """Return seeds as an int label image: a label image is kept, points become labels 1..k."""
    array = np.asarray(seeds)
    if array.shape == tuple(shape):
        return check_labels(array, name="seeds")
    if array.ndim == 2 and array.shape[1] == len(shape) and array.dtype.kind in "iuf":
        points = np.round(array).astype(np.int64)
        if array.dtype.kind == "f" and not np.array_equal(points, array):
            raise ParameterError("`seeds` points must be whole pixel coordinates (row, col)")
        inside = np.all((points >= 0) & (points < np.asarray(shape)), axis=1)
        if not inside.all():
            bad = points[~inside][0].tolist()
            raise ParameterError(f"seed point {bad} lies outside the image of shape {tuple(shape)}")
        out = np.zeros(shape, np.int32)
        # Later points do not overwrite earlier ones at the same pixel.
        for index in range(len(points) - 1, -1, -1):
            out[tuple(points[index])] = index + 1
        return out
    raise ParameterError(
        f"`seeds` has shape {array.shape}; expected a label image of shape {tuple(shape)} or a list of "
        f"{len(shape)}-element points, e.g. [(row, col), ...]"
    )


@validated
def region_growing(image: ArrayLike, *, tolerance: float | None = None, connectivity: int | None = None,
                   seeds: ArrayLike | None = None) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Grow regions from seeds through connected pixels of similar value.

    For each seed region, the accepted values are ``[min(seed values) -
    tolerance, max(seed values) + tolerance]``; the region is every pixel in
    that band connected to the seed. For a single seed point this is exactly
    ``skimage.segmentation.flood(image, point, tolerance=tolerance,
    connectivity=connectivity)``. Seeds are processed in increasing label
    order and a pixel keeps the first region that reaches it.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image.
    tolerance : float, optional
        Largest accepted difference to the seed values; ``None`` accepts the
        seed values only (as ``skimage.segmentation.flood``).
    connectivity : int, optional
        1 = face neighbours ... ``ndim`` = all neighbours (``None``).
    seeds : ndarray or sequence of points
        A label image (0 = no seed) or ``[(row, col), ...]`` points
        (labels 1..k in order). Required input.

    Returns
    -------
    labels : ndarray of int32
        Grown regions with the seeds' labels; 0 = not reached.
        ``seglab.segment(image, "region_growing").info`` holds the values it chose: ``n_regions``.

    Raises
    ------
    MissingInputError
        No seeds given.
    ParameterError
        Points outside the image, bad tolerance or connectivity.

    References
    ----------
    .. [1] Adams, R. and Bischof, L. (1994). Seeded region growing. IEEE
           TPAMI 16(6), 641-647. :DOI:`10.1109/34.295913`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.region import region_growing
    >>> image = np.zeros((6, 6), np.uint8); image[:, 3:] = 100
    >>> region_growing(image, seeds=[(0, 0), (5, 5)], tolerance=10)[0].tolist()
    [1, 1, 1, 2, 2, 2]
    """
    from scipy import ndimage as ndi

    from seglab._core.errors import MissingInputError

    array = check_gray(image, "method 'region_growing'")
    if seeds is None:
        raise MissingInputError("region_growing needs `seeds`: a label image or a list of (row, col) points")
    if tolerance is not None and (not np.isfinite(tolerance) or tolerance < 0):
        raise ParameterError(f"`tolerance` got {tolerance!r}; expected a number >= 0 or None")
    structure = _structure(array.ndim, connectivity)
    seed_labels = _seed_labels(seeds, array.shape)
    out = np.zeros(array.shape, np.int32)
    step = max(array.shape[0] // 8 + 1, 1)
    n_regions = 0
    objects = ndi.find_objects(seed_labels)
    for index, box in enumerate(objects):
        if box is None:
            continue
        label = index + 1
        seed_values = array[box][seed_labels[box] == label]
        lo, hi = seed_values.min(), seed_values.max()
        if tolerance is not None:
            lo, hi = _band(array.dtype, lo, hi, tolerance)
        if array.dtype.kind == "f":
            # Float images compare in float64 (the bounds are float64 numbers): a float64 scalar makes NumPy
            # cast the image in small buffered chunks, the comparisons of a float64 copy without the copy.
            lo, hi = np.float64(lo), np.float64(hi)
        band = array >= lo
        band &= array <= hi
        components, _ = ndi.label(band, structure=structure)
        del band
        hit = np.unique(components[seed_labels == label])
        hit = hit[hit > 0]
        # np.isin's temporaries grow with the pixels whose component number lies between the hit ones (up to
        # 1.5 float64 images): run it on blocks of rows, with the `out == 0` test and the write.
        written = False
        for start in range(0, array.shape[0], step):
            rows = slice(start, start + step)
            region = np.isin(components[rows], hit)
            region &= out[rows] == 0
            out[rows][region] = label
            written = written or bool(region.any())
        # A written pixel is never overwritten (`out == 0`), so the labels present are the ones that wrote
        # (np.bincount of the output cost an int64 copy of it and a third of the time on 2048x2048).
        n_regions += written
    return out, {"n_regions": n_regions}


def _band(dtype, lo, hi, tolerance):
    """Tolerance band clipped to the dtype's range and cast to it, as skimage.flood does for integers."""
    if dtype.kind in "ui":
        limits = np.iinfo(dtype)
        # skimage casts the bounds to the image dtype (C truncation toward zero); so do we.
        return int(max(float(lo) - tolerance, limits.min)), int(min(float(hi) + tolerance, limits.max))
    return float(lo) - tolerance, float(hi) + tolerance


@validated
def connected_components(image: ArrayLike, *, connectivity: int | None = None,
                         background: float = 0.0) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Label connected groups of pixels that differ from `background`.

    Every pixel ``!= background`` is foreground; touching foreground pixels
    share a label whatever their values (a mask or a label image is
    relabelled by connectivity). Labels are numbered in raster order, as
    ``skimage.measure.label(image != background, connectivity=...)``.

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        Single-channel image, mask (``bool`` allowed) or label image.
    connectivity : int, optional
        1 = face neighbours ... ``ndim`` = all neighbours (``None``).
    background : float, optional
        Value of background pixels.

    Returns
    -------
    labels : ndarray of int32
        Components 1..n, background 0.
        ``seglab.segment(image, "connected_components").info`` holds the values it chose:
        ``n_objects``.

    References
    ----------
    .. [1] Wu, K., Otoo, E. and Suzuki, K. (2009). Optimizing two-pass
           connected-component labeling algorithms. Pattern Analysis and
           Applications 12, 117-135. :DOI:`10.1007/s10044-008-0109-y`

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.region import connected_components
    >>> image = np.array([[1, 1, 0, 0], [0, 0, 0, 5], [0, 0, 0, 5]])
    >>> connected_components(image).tolist()
    [[1, 1, 0, 0], [0, 0, 0, 2], [0, 0, 0, 2]]
    """
    from scipy import ndimage as ndi

    if isinstance(image, np.ndarray) and image.dtype == bool:
        array = image
    else:
        array = check_gray(image, "method 'connected_components'")
    structure = _structure(array.ndim, connectivity)
    labels, count = ndi.label(array != background, structure=structure, output=np.int32)
    return labels, {"n_objects": int(count)}
