"""Post-steps: clean a mask (opening, closing, hole filling, small-object removal) or label it.

Each step equals one scikit-image / SciPy call (tested in ``tests/postprocess``):

* ``opening`` / ``closing``: ``skimage.morphology.opening/closing(mask, disk(radius))``
  (``ball(radius)`` in 3-D). 2-D masks use ``cv2.morphologyEx`` with the
  *same* footprint array (``skimage.morphology.disk``, not OpenCV's ellipse),
  whose default border equals scikit-image's: identical output.
* ``fill_holes``: ``scipy.ndimage.binary_fill_holes``.
* ``remove_small_objects``: ``skimage.morphology.remove_small_objects(mask,
  max_size=min_size - 1, connectivity=connectivity)``: objects with fewer than
  `min_size` pixels go.
* ``label``: ``skimage.measure.label(mask, connectivity=connectivity)``, int32.
  2-D masks use ``cv2.connectedComponentsWithAlgorithm`` with ``CCL_SAUF``,
  which numbers components in raster order like scikit-image: the labels are
  equal exactly, not only up to permutation (OpenCV's default Spaghetti
  algorithm numbers 8-connected components differently).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.registry import validated

from .._core.errors import ParameterError
from .._core.validation import check_labels, check_mask

__all__ = ["opening", "closing", "fill_holes", "remove_small_objects", "label"]


def _check_radius(radius) -> int:
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 1:
        raise ParameterError(f"parameter `radius` must be an integer >= 1; got {radius!r}")
    return int(radius)


def _check_connectivity(connectivity, ndim: int):
    if connectivity is None:
        return ndim
    if (isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer))
            or not 1 <= connectivity <= ndim):
        raise ParameterError(
            f"parameter `connectivity` got {connectivity!r}; expected an integer in [1, {ndim}] for a "
            f"{ndim}-D mask, or None (full connectivity)"
        )
    return int(connectivity)


def _footprint(radius: int, ndim: int) -> np.ndarray:
    from skimage.morphology import ball, disk

    return (disk if ndim == 2 else ball)(radius).astype(bool)


def _morphology(mask, radius, operation: str) -> np.ndarray:
    radius = _check_radius(radius)
    array = check_mask(mask)
    footprint = _footprint(radius, array.ndim)
    if array.ndim == 2:
        import cv2

        code = cv2.MORPH_OPEN if operation == "opening" else cv2.MORPH_CLOSE
        source = np.ascontiguousarray(array).view(np.uint8)
        return cv2.morphologyEx(source, code, footprint.view(np.uint8)).view(bool)
    from skimage import morphology

    return getattr(morphology, operation)(array, footprint)


@validated
def opening(mask: ArrayLike, *, radius: int = 1) -> NDArray[np.bool_]:
    """Remove foreground details smaller than a disk of `radius` (erosion, then dilation).

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool (or 0/255)
        Binary mask.
    radius : int
        Radius of the disk (ball in 3-D) footprint, >= 1.

    Returns
    -------
    opened : ndarray of bool
        Equal to ``skimage.morphology.opening(mask, skimage.morphology.disk(radius))``.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((7, 7), bool); mask[1:6, 1:6] = True; mask[0, 3] = True
    >>> int(opening(mask, radius=1).sum())
    22
    """
    return _morphology(mask, radius, "opening")


@validated
def closing(mask: ArrayLike, *, radius: int = 1) -> NDArray[np.bool_]:
    """Fill background gaps smaller than a disk of `radius` (dilation, then erosion).

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool (or 0/255)
        Binary mask.
    radius : int
        Radius of the disk (ball in 3-D) footprint, >= 1.

    Returns
    -------
    closed : ndarray of bool
        Equal to ``skimage.morphology.closing(mask, skimage.morphology.disk(radius))``.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((7, 7), bool); mask[1:6, 1:6] = True; mask[3, 3] = False
    >>> bool(closing(mask, radius=1)[3, 3])
    True
    """
    return _morphology(mask, radius, "closing")


@validated
def fill_holes(mask: ArrayLike, *, max_hole_size: int = 256) -> NDArray[np.bool_]:
    """Fill background regions not connected to the border.

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool (or 0/255)
        Binary mask.
    max_hole_size : int
        Tiled runs only: the largest hole extent a tile's halo holds (holes
        larger than this stay unfilled when tiled). Not used here.

    Returns
    -------
    filled : ndarray of bool
        Equal to ``scipy.ndimage.binary_fill_holes(mask)`` (face connectivity
        of the background).

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((5, 5), bool); mask[1:4, 1:4] = True; mask[2, 2] = False
    >>> int(fill_holes(mask).sum())
    9
    """
    array = check_mask(mask)
    from scipy import ndimage as ndi

    return ndi.binary_fill_holes(array)


@validated
def remove_small_objects(mask: ArrayLike, *, min_size: int = 64, connectivity: int = 1) -> NDArray[np.bool_]:
    """Remove connected components with fewer than `min_size` pixels.

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool or int
        Binary mask, or a label image (then each label is an object).
    min_size : int
        Smallest object size kept, in pixels (>= 1).
    connectivity : int
        Neighbourhood of a mask's components: 1 (face, scikit-image's
        default) .. ndim (full).

    Returns
    -------
    cleaned : ndarray
        bool for a mask, the labels' dtype for labels; equal to
        ``skimage.morphology.remove_small_objects(mask, max_size=min_size - 1,
        connectivity=connectivity)``.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((6, 6), bool); mask[0, 0] = True; mask[2:5, 2:5] = True
    >>> int(remove_small_objects(mask, min_size=2).sum())
    9
    """
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ParameterError(f"parameter `min_size` must be an integer >= 1; got {min_size!r}")
    data = np.asarray(mask)
    array = check_mask(data) if data.dtype == bool else check_labels(data)
    connectivity = _check_connectivity(connectivity, array.ndim)
    from skimage.morphology import remove_small_objects as sk_remove

    if array.dtype == bool and not array.any():
        return array.copy()
    return sk_remove(array, max_size=int(min_size) - 1, connectivity=connectivity)


@validated
def label(mask: ArrayLike, *, connectivity: int | None = None) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Label the connected components of a mask.

    Parameters
    ----------
    mask : (M, N[, P]) ndarray of bool (or 0/255)
        Binary mask.
    connectivity : int, optional
        1 (face neighbours) .. ndim; None means ndim (8-connectivity in 2-D),
        scikit-image's default.

    Returns
    -------
    labels : ndarray of int32
        0 for background, 1..n numbered in raster order; equal to
        ``skimage.measure.label(mask, connectivity=connectivity)``.
        ``seglab.segment(image, method, post=["label"]).info["post"]["label"]`` holds the
        values it chose: ``{"n_labels": n}``.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], bool)
    >>> label(mask).tolist(), int(label(mask, connectivity=1).max())
    ([[1, 0, 0], [0, 1, 0], [0, 0, 0]], 2)
    """
    array = check_mask(mask)
    connectivity = _check_connectivity(connectivity, array.ndim)
    if array.ndim == 2:
        import cv2

        source = np.ascontiguousarray(array).view(np.uint8)
        count, labels = cv2.connectedComponentsWithAlgorithm(
            source, 4 if connectivity == 1 else 8, cv2.CV_32S, cv2.CCL_SAUF
        )
        return np.asarray(labels), {"n_labels": int(count) - 1}
    from skimage.measure import label as sk_label

    labels, count = sk_label(array, connectivity=connectivity, return_num=True)
    return labels.astype(np.int32, copy=False), {"n_labels": int(count)}
