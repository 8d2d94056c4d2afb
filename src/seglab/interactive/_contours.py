"""Contour-based interactive methods: snakes and morphological active contours.

* :func:`active_contour` — Kass, Witkin & Terzopoulos snakes, as
  :func:`skimage.segmentation.active_contour`, on a Gaussian-smoothed image.
* :func:`morphological_chan_vese` and :func:`morphological_geodesic_active_contour`
  — Marquez-Neila, Baumela & Alvarez morphological snakes, as scikit-image.

References
----------
.. [1] M. Kass, A. Witkin, D. Terzopoulos, "Snakes: Active contour models",
   IJCV 1(4):321-331, 1988. :DOI:`10.1007/BF00133570`
.. [2] P. Marquez-Neila, L. Baumela, L. Alvarez, "A morphological approach to
   curvature-based evolution of curves and surfaces", IEEE TPAMI 36(1), 2014.
   :DOI:`10.1109/TPAMI.2013.106`
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError
from seglab._core.registry import validated
from seglab._core.validation import check_gray

__all__ = ["active_contour", "morphological_chan_vese", "morphological_geodesic_active_contour", "contour_mask"]


def contour_mask(contour: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return the filled polygon of a closed (K, 2) (row, col) contour as a bool mask.

    The pixels ``skimage.draw.polygon(contour[:, 0], contour[:, 1], shape)`` fills (inside, on an edge or on
    a vertex by scikit-image 0.26's crossing test, with the same floating-point expressions), evaluated only
    for the edges that straddle each row: scikit-image tests every edge at every pixel of the bounding box
    (0.12 s for a 400-point snake on 512 x 512, 15 % of an active_contour call).
    """
    mask = np.zeros(shape, dtype=bool)
    yp = np.ascontiguousarray(contour[:, 0], dtype=np.float64)
    xp = np.ascontiguousarray(contour[:, 1], dtype=np.float64)
    if yp.size == 0:
        return mask
    minr, maxr = int(max(0, yp.min())), min(shape[0] - 1, int(np.ceil(yp.max())))
    minc, maxc = int(max(0, xp.min())), min(shape[1] - 1, int(np.ceil(xp.max())))
    if minr > maxr or minc > maxc:
        return mask
    # Edge i runs from vertex j = i - 1 (cyclic) to vertex i, as in scikit-image's loop.
    yj, xj = np.roll(yp, 1), np.roll(xp, 1)
    x = np.arange(minc, maxc + 1, dtype=np.float64)[None, :]
    step = max(1, (1 << 20) // yp.size)  # rows per block: rows x edges stays small
    for top in range(minr, maxr + 1, step):
        y = np.arange(top, min(top + step, maxr + 1), dtype=np.float64)[:, None]
        y0, y1 = yp[None, :] - y, yj[None, :] - y
        right = (y0 > 0) != (y1 > 0)
        left = (y0 < 0) != (y1 < 0)
        row, edge = np.nonzero(right | left)
        inside = np.zeros((y.shape[0], x.shape[1]), dtype=bool)
        if row.size:
            y0e, y1e = y0[row, edge][:, None], y1[row, edge][:, None]
            x0, x1 = xp[edge][:, None] - x, xj[edge][:, None] - x
            with np.errstate(divide="ignore", invalid="ignore"):
                value = (x0 * y1e - x1 * y0e) / (y1e - y0e)
            r_cross = right[row, edge][:, None] & (value > 0)
            l_cross = left[row, edge][:, None] & (value < 0)
            starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
            odd_r = np.bitwise_xor.reduceat(r_cross, starts, axis=0)
            odd_l = np.bitwise_xor.reduceat(l_cross, starts, axis=0)
            # inside (odd right crossings) or on an edge (right and left parities differ)
            inside[row[starts]] = odd_r | (odd_r != odd_l)
        mask[top: top + y.shape[0], minc: maxc + 1] = inside
    # Vertices (within 1e-12 of a pixel centre) are filled whatever the crossings say.
    near_r, near_c = np.round(yp), np.round(xp)
    hit = (np.abs(yp - near_r) < 1e-12) & (np.abs(xp - near_c) < 1e-12)
    hit &= (near_r >= minr) & (near_r <= maxr) & (near_c >= minc) & (near_c <= maxc)
    mask[near_r[hit].astype(np.intp), near_c[hit].astype(np.intp)] = True
    return mask


@validated
def active_contour(image: ArrayLike, *, contour: ArrayLike, alpha: float = 0.01, beta: float = 0.1,
                   gamma: float = 0.01, w_line: float = 0.0, w_edge: float = 1.0, max_px_move: float = 1.0,
                   max_num_iter: int = 2500, convergence: float = 0.1, boundary_condition: str = "periodic",
                   sigma: float = 3.0) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Fit a snake (active contour) to the edges of an image.

    Parameters
    ----------
    image : (M, N) ndarray
        Gray image.
    contour : (K, 2) ndarray or (row, col, radius)
        Initial snake: (row, col) points, or a circle turned into 400 points
        as in the scikit-image example (``r = row + radius*sin(s)``, ``c = col + radius*cos(s)``).
    alpha, beta, gamma, w_line, w_edge, max_px_move, max_num_iter, convergence, boundary_condition
        As :func:`skimage.segmentation.active_contour`.
    sigma : float
        Gaussian pre-smoothing ``skimage.filters.gaussian(image, sigma=sigma, preserve_range=False)``
        (0 = none); the scikit-image example smooths with 3.

    Returns
    -------
    mask : (M, N) ndarray of bool
        The filled final snake (``skimage.draw.polygon``).
        ``seglab.segment(image, "active_contour").info`` holds the values it chose: ``contour``: the
        final (K, 2) snake.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((60, 60)); image[20:40, 20:40] = 1
    >>> mask = active_contour(image, contour=(30, 30, 20), max_num_iter=50, sigma=1)
    >>> bool(mask[30, 30]), bool(mask[2, 2])
    (True, False)
    >>> import seglab  # the final snake comes with the registry's result
    >>> seglab.segment(image, "active_contour", contour=(30, 30, 20), max_num_iter=50, sigma=1).contour.shape
    (400, 2)
    """
    from skimage.segmentation import active_contour as sk_active_contour

    from .inputs import as_contour, check_contour_on_image

    array = check_gray(image, "method 'active_contour'", spatial_ndim=2)
    snake = check_contour_on_image(as_contour(contour), array.shape)
    if sigma < 0:
        raise ParameterError(f"`sigma` got {sigma!r}; expected a number >= 0 (0 = no smoothing)")
    smoothed = _smooth(array, sigma)
    final = sk_active_contour(smoothed, snake, alpha=alpha, beta=beta, w_line=w_line, w_edge=w_edge, gamma=gamma,
                              max_px_move=max_px_move, max_num_iter=max_num_iter, convergence=convergence,
                              boundary_condition=boundary_condition)
    return contour_mask(final, array.shape), {"contour": np.asarray(final, dtype=float)}


def _smooth(array, sigma):
    from skimage.filters import gaussian
    from skimage.util import img_as_float

    if sigma == 0:
        return img_as_float(array)
    return gaussian(array, sigma=sigma, preserve_range=False)


@validated
def morphological_chan_vese(image: ArrayLike, *, num_iter: int = 35, init_level_set: str = "checkerboard",
                            smoothing: int = 1, lambda1: float = 1.0, lambda2: float = 1.0,
                            contour: ArrayLike | None = None) -> NDArray[np.bool_]:
    """Segment with morphological Chan-Vese (active contours without edges).

    Parameters
    ----------
    image : (M, N) ndarray
        Gray image (used as given, as scikit-image does).
    num_iter, smoothing, lambda1, lambda2
        As :func:`skimage.segmentation.morphological_chan_vese`.
    init_level_set : {'checkerboard', 'disk'}
        Initial level set when no `contour` is given.
    contour : (K, 2) ndarray or (row, col, radius), optional
        Initial contour; its filled polygon replaces `init_level_set`.

    Returns
    -------
    mask : (M, N) ndarray of bool
        Final level set > 0.
    """
    from skimage.segmentation import morphological_chan_vese as sk_mcv

    array = check_gray(image, "method 'morphological_chan_vese'", spatial_ndim=2)
    init = _init_level_set(init_level_set, contour, array.shape)
    _reset_curvature_cycle()
    level_set = sk_mcv(array, num_iter, init_level_set=init, smoothing=smoothing, lambda1=lambda1, lambda2=lambda2)
    return np.asarray(level_set) > 0


@validated
def morphological_geodesic_active_contour(image: ArrayLike, *, num_iter: int = 230, init_level_set: str = "disk",
                                          smoothing: int = 1, threshold: float | str = "auto",
                                          balloon: float = -1.0, alpha: float = 100.0, sigma: float = 5.0,
                                          contour: ArrayLike | None = None) -> NDArray[np.bool_]:
    """Segment with the morphological geodesic active contour on an edge-stopping image.

    The edge-stopping image is ``skimage.segmentation.inverse_gaussian_gradient(image, alpha, sigma)``
    as in the scikit-image example (computed on ``img_as_float(image)``).

    Parameters
    ----------
    image : (M, N) ndarray
        Gray image.
    num_iter, smoothing, threshold, balloon
        As :func:`skimage.segmentation.morphological_geodesic_active_contour`
        (``balloon < 0`` shrinks the contour, ``> 0`` inflates it).
    alpha, sigma
        As :func:`skimage.segmentation.inverse_gaussian_gradient`.
    init_level_set : {'disk', 'checkerboard'}
        Initial level set when no `contour` is given.
    contour : (K, 2) ndarray or (row, col, radius), optional
        Initial contour; its filled polygon replaces `init_level_set`.

    Returns
    -------
    mask : (M, N) ndarray of bool
    """
    from skimage.segmentation import inverse_gaussian_gradient
    from skimage.segmentation import morphological_geodesic_active_contour as sk_mgac
    from skimage.util import img_as_float

    array = check_gray(image, "method 'morphological_geodesic_active_contour'", spatial_ndim=2)
    if isinstance(threshold, str) and threshold != "auto":
        raise ParameterError(f"`threshold` got {threshold!r}; expected 'auto' or a number")
    gimage = inverse_gaussian_gradient(img_as_float(array), alpha=alpha, sigma=sigma)
    init = _init_level_set(init_level_set, contour, array.shape)
    _reset_curvature_cycle()
    level_set = sk_mgac(gimage, num_iter, init_level_set=init, smoothing=smoothing, threshold=threshold,
                        balloon=balloon)
    return np.asarray(level_set) > 0


def _reset_curvature_cycle():
    """Make scikit-image's morphological snakes deterministic across calls.

    scikit-image keeps the curvature operator as a module-level cycle of two functions
    (``morphsnakes._curvop``); its phase carries over from one call to the next, so calling
    ``morphological_chan_vese`` twice on the same input can give different masks. Starting every call
    from a fresh cycle gives the result of a first call in a fresh process, every time.
    """
    from skimage.segmentation import morphsnakes

    if hasattr(morphsnakes, "_curvop") and hasattr(morphsnakes, "_fcycle"):
        morphsnakes._curvop = morphsnakes._fcycle(
            [lambda u: morphsnakes.sup_inf(morphsnakes.inf_sup(u)),
             lambda u: morphsnakes.inf_sup(morphsnakes.sup_inf(u))]
        )


def _init_level_set(name, contour, shape):
    if contour is not None:
        from .inputs import as_contour, check_contour_on_image

        return contour_mask(check_contour_on_image(as_contour(contour), shape), shape).astype(np.int8)
    if name not in ("checkerboard", "disk"):
        raise ParameterError(f"`init_level_set` got {name!r}; expected 'checkerboard' or 'disk'")
    return name
