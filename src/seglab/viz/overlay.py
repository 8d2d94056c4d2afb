"""Overlays of segmentation results on their image, as uint8 RGB arrays, and atomic PNG writing.

:func:`label_overlay` is :func:`skimage.color.label2rgb` followed by
:func:`skimage.segmentation.mark_boundaries`, converted to uint8;
:func:`overlay_for` picks the right picture for a :class:`~seglab.SegmentationResult`
by its output kind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from seglab._core.pipeline import SegmentationResult

__all__ = ["label_overlay", "mask_overlay", "edges_image", "contour_overlay", "overlay_for", "save_png",
           "to_uint8"]


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Return `array` as uint8: uint8 unchanged, bool -> 0/255, floats in [0, 1] scaled by 255 (rounded).

    Other data (uint16, floats outside [0, 1]) is stretched min..max to 0..255 (a picture, not data).
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    if array.dtype.kind == "f" and values.min() >= 0 and values.max() <= 1:
        return np.round(values * 255).astype(np.uint8)
    lo, hi = values.min(), values.max()
    if hi == lo:
        return np.zeros(array.shape, np.uint8)
    return np.round((values - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _rgb(image: ArrayLike) -> np.ndarray:
    """The image as uint8 RGB by the display rule (:mod:`seglab.viz.display`: 8-bit as stored,
    16-bit/float stretched from the 0.5th to the 99.5th percentile)."""
    from .display import to_display

    return to_display(image, rgb=True)


def label_overlay(image: ArrayLike, labels: ArrayLike, kind: str = "avg", boundaries: bool = True) -> NDArray[np.uint8]:
    """Colour a label image over its image.

    Parameters
    ----------
    image : (M, N[, 3]) ndarray
        The image the labels belong to.
    labels : (M, N) ndarray of int
        Label image (0 = background, drawn black by ``kind='avg'`` as scikit-image does).
    kind : {'avg', 'overlay'}
        ``'avg'``: each region painted with its mean colour;
        ``'overlay'``: label colours blended over the image (alpha 0.3).
    boundaries : bool
        Draw region boundaries (yellow, ``mark_boundaries`` defaults).

    Returns
    -------
    (M, N, 3) ndarray of uint8
        ``to_uint8(mark_boundaries(label2rgb(labels, image, kind=kind), labels))``.
    """
    from skimage.color import label2rgb
    from skimage.segmentation import mark_boundaries

    if kind not in ("avg", "overlay"):
        raise ParameterError(f"`kind` got {kind!r}; expected 'avg' or 'overlay'")
    labels = np.asarray(labels)
    image = np.asarray(image)
    if labels.shape != image.shape[: labels.ndim] or labels.ndim != 2:
        raise ParameterError(f"`labels` has shape {labels.shape}; expected the image's (rows, cols) "
                             f"{image.shape[:2]}")
    out = label2rgb(labels, _rgb(image), kind=kind)
    if boundaries:
        out = mark_boundaries(out, labels)
    return to_uint8(np.clip(out, 0, 1) if np.asarray(out).dtype.kind == "f" else out)


def mask_overlay(image: ArrayLike, mask: ArrayLike, color: tuple[int, int, int] = (255, 0, 0), alpha: float = 0.3,
                 outline: bool = True) -> NDArray[np.uint8]:
    """Tint a mask over the gray/colour image and outline it; uint8 RGB."""
    from skimage.segmentation import find_boundaries

    rgb = _rgb(image).astype(np.float64)
    mask = np.asarray(mask, dtype=bool)
    tint = np.asarray(color, dtype=np.float64)
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * tint
    if outline:
        rgb[find_boundaries(mask, mode="inner")] = tint
    return np.round(rgb).astype(np.uint8)


def edges_image(edges: ArrayLike) -> NDArray[np.uint8]:
    """An edge or probability map as a gray uint8 RGB picture (stretched min..max)."""
    return _rgb(to_uint8(np.asarray(edges, dtype=np.float64)) if np.asarray(edges).dtype != np.uint8 else edges)


def contour_overlay(image: ArrayLike, contour: ArrayLike,
                    color: tuple[int, int, int] = (255, 0, 0)) -> NDArray[np.uint8]:
    """Draw a closed (K, 2) (row, col) contour over the image as a 1-pixel line; uint8 RGB."""
    from skimage.draw import polygon_perimeter

    rgb = _rgb(image).copy()
    contour = np.asarray(contour, dtype=float)
    contour = contour[np.isfinite(contour).all(axis=1)] if contour.ndim == 2 else contour.reshape(0, 2)
    if len(contour) == 0:
        return rgb
    rows, cols = rgb.shape[:2]
    reach = 4 * (rows + cols)
    if len(contour) >= 3 and np.abs(contour).max() <= reach:
        rr, cc = polygon_perimeter(np.round(contour[:, 0]), np.round(contour[:, 1]), shape=rgb.shape[:2], clip=False)
    else:
        # A contour reaching far outside (a circle of radius 1e12) would have every edge rasterised in full
        # (117 GiB for one line): draw each edge clipped to the image instead.
        rr, cc = _clipped_perimeter(contour, rows, cols)
    rgb[rr, cc] = color
    return rgb


def _clipped_perimeter(contour: NDArray[Any], rows: int, cols: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Pixels of a closed polygon's edges inside a rows x cols image, each edge clipped first (Liang-Barsky)."""
    from skimage.draw import line

    low, high = np.array([-1.0, -1.0]), np.array([rows, cols], dtype=float)
    pieces_r, pieces_c = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
    for start, end in zip(contour, np.roll(contour, -1, axis=0)):
        delta = end - start
        t0, t1 = 0.0, 1.0
        for axis in (0, 1):
            for p, q in ((-delta[axis], start[axis] - low[axis]), (delta[axis], high[axis] - start[axis])):
                if p == 0:
                    if q < 0:
                        t0, t1 = 1.0, 0.0  # parallel to this side and outside it
                elif p < 0:
                    t0 = max(t0, q / p)
                else:
                    t1 = min(t1, q / p)
        if t0 > t1:
            continue
        a, b = np.round(start + t0 * delta).astype(np.intp), np.round(start + t1 * delta).astype(np.intp)
        r, c = line(int(a[0]), int(a[1]), int(b[0]), int(b[1]))
        pieces_r.append(r)
        pieces_c.append(c)
    rr, cc = np.concatenate(pieces_r), np.concatenate(pieces_c)
    inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
    return rr[inside], cc[inside]


def overlay_for(result: SegmentationResult, *, image: ArrayLike | None = None,
                max_side: int | None = None) -> NDArray[np.uint8]:
    """Return the picture that suits a :class:`~seglab.SegmentationResult` (uint8 RGB).

    mask -> red tint and outline over the image; labels -> region boundaries
    (``kind='overlay'``); edges/proba -> gray map; contour -> the snake as a red line.

    Parameters
    ----------
    result : SegmentationResult
    image : ndarray, optional
        The image to draw on: pass the *original* image, so the picture shows what the user
        gave (``result.image`` is the image after the pre-steps, e.g. inverted or blurred, and
        is the fallback). Shown by the display rule of :mod:`seglab.viz.display`.
    max_side : int, optional
        Draw at reduced size (every k-th pixel) when the longest side exceeds it; see
        :func:`overlay_stride` to tell the user.
    """
    if image is None:
        image = result.image
    if image is None:
        raise ParameterError("the result carries no image; pass the image to label_overlay/mask_overlay instead")
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] not in (3, 4) or image.ndim > 3:
        raise ParameterError(f"overlays are drawn for 2-D images; the result's image has shape {image.shape}")
    kind = result.output
    data = result.data
    step = 1
    if max_side is not None:
        from .display import display_stride, reduce

        step = display_stride(image.shape, max_side)
        image, data = reduce(image, step), reduce(data, step)
    if kind == "mask":
        return mask_overlay(image, data)
    if kind == "labels":
        return label_overlay(image, data, kind="overlay", boundaries=True)
    if kind in ("edges", "proba", "image"):
        return edges_image(data)
    if kind == "contour":
        return contour_overlay(image, np.asarray(result.extras["contour"]) / step)
    raise ParameterError(f"no overlay for output kind {kind!r}")


def save_png(array: ArrayLike, path: str | os.PathLike[str]) -> Path:
    """Write an image array as PNG atomically (temporary file in the same folder, then ``os.replace``).

    uint8 and uint16 are written as they are; bool as 0/255; floats in [0, 1]
    scaled to uint8. Returns the path.
    """
    from PIL import Image

    array = np.asarray(array)
    if array.dtype not in (np.uint8, np.uint16):
        array = to_uint8(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ParameterError(f"save_png needs (M, N), (M, N, 3) or (M, N, 4); got shape {array.shape}")
    if array.dtype == np.uint16 and array.ndim == 3:
        raise ParameterError("save_png writes 16-bit PNGs for single-channel images only; got 16-bit colour")
    from seglab.io import atomic_write

    image = Image.fromarray(np.ascontiguousarray(array))
    return atomic_write(path, lambda handle: image.save(handle, format="PNG"))



def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: float | None = None) -> Path:
    """Save a matplotlib figure as PNG atomically (same temp-then-replace as :func:`save_png`)."""
    from seglab.io import atomic_write

    return atomic_write(path, lambda handle: figure.savefig(handle, format="png",
                                                           dpi=dpi if dpi is not None else figure.dpi))

