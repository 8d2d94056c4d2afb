"""Matplotlib figures: histogram with thresholds, Sobel magnitude/orientation, snakes, panels.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas, never
pyplot, so no GUI backend is touched and the global backend of the caller's
session is left alone. Each function returns the Figure and, given `path`,
also writes it as PNG atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError

from .overlay import save_figure, to_uint8

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["histogram_plot", "sobel_panels", "contour_plot", "panel"]


def _figure(width_in, height_in, dpi=100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def histogram_plot(image: ArrayLike, thresholds: Sequence[float] = (), path: str | os.PathLike[str] | None = None, *,
                   bins: int = 256, title: str = "") -> Figure:
    """Plot the intensity histogram with each threshold as a vertical red dashed line.

    Parameters
    ----------
    image : ndarray
        Any image (all channels pooled).
    thresholds : float or sequence of float
        Threshold(s) to mark (``axvline`` at each value).
    path : str or Path, optional
        Write the figure as PNG there.
    bins : int
        Histogram bins.
    title : str
        Axes title (e.g. which pre-steps made the image shown).

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(image).ravel()
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float)).ravel()
    figure = _figure(6.4, 3.6)
    ax = figure.add_subplot(1, 1, 1)
    ax.hist(values, bins=bins, color="0.4")
    for t in thresholds:
        ax.axvline(t, color="red", linestyle="--", linewidth=1.2, label=f"threshold {t:g}")
    ax.set_xlabel("intensity")
    ax.set_ylabel("pixels")
    if title:
        ax.set_title(title, fontsize=10)
    if thresholds.size:
        ax.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


def sobel_panels(magnitude: ArrayLike, orientation: ArrayLike, path: str | os.PathLike[str] | None = None) -> Figure:
    """Show an edge magnitude (gray) beside its orientation (cyclic colours, radians)."""
    magnitude = np.asarray(magnitude)
    orientation = np.asarray(orientation)
    if magnitude.shape != orientation.shape:
        raise ParameterError(f"`orientation` has shape {orientation.shape}; expected {magnitude.shape}, the shape "
                             "of `magnitude`")
    figure = _figure(10, 4.4)
    ax1 = figure.add_subplot(1, 2, 1)
    ax1.imshow(magnitude, cmap="gray")
    ax1.set_title("magnitude")
    ax1.axis("off")
    ax2 = figure.add_subplot(1, 2, 2)
    shown = ax2.imshow(orientation, cmap="twilight", vmin=-np.pi, vmax=np.pi)
    ax2.set_title("orientation (rad)")
    ax2.axis("off")
    figure.colorbar(shown, ax=ax2, fraction=0.046)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


def contour_plot(image: ArrayLike, contour: ArrayLike, init: ArrayLike | None = None, seeds: ArrayLike | None = None,
                 path: str | os.PathLike[str] | None = None) -> Figure:
    """Show a final contour (red), its initial contour (dashed blue) and seeds over the image."""
    image = np.asarray(image)
    figure = _figure(6, 6 * image.shape[0] / max(image.shape[1], 1))
    ax = figure.add_axes([0, 0, 1, 1])
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    if seeds is not None:
        seeds = np.asarray(seeds)
        shown = np.ma.masked_equal(seeds, 0)
        ax.imshow(shown, cmap="tab10", alpha=0.6, interpolation="nearest", vmin=1, vmax=10)
    if init is not None:
        init = np.asarray(init, dtype=float)
        ax.plot(init[:, 1], init[:, 0], "--", color="tab:blue", linewidth=1.5, label="initial")
    if contour is not None:
        contour = np.asarray(contour, dtype=float)
        ax.plot(contour[:, 1], contour[:, 0], "-", color="red", linewidth=2, label="final")
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.axis("off")
    if path is not None:
        save_figure(figure, path)
    return figure


def panel(images: Mapping[str, ArrayLike], path: str | os.PathLike[str] | None = None, ncols: int | None = None, *,
          title_px: int = 24, dpi: int = 100) -> Figure:
    """Place several pictures side by side, each at its own pixel size (no resampling), with titles.

    Parameters
    ----------
    images : dict of str -> ndarray
        Title -> picture (gray, RGB or bool). All are drawn in cells of the
        largest picture's size.
    path : str or Path, optional
        Write the panel as PNG there.
    ncols : int, optional
        Columns (default: all in one row, at most 4).
    title_px : int
        Height of the title band above each picture, in pixels.

    Returns
    -------
    matplotlib.figure.Figure
        Its PNG is ``ncols * W`` by ``nrows * (H + title_px)`` pixels, with
        ``(H, W)`` the largest picture's shape.
    """
    if not images:
        raise ParameterError("`images` is empty; give a dict of title -> array")
    arrays = {str(k): np.asarray(v) for k, v in images.items()}
    n = len(arrays)
    if ncols is None:
        ncols = min(n, 4)
    if int(ncols) < 1:
        raise ParameterError(f"`ncols` got {ncols!r}; expected an integer >= 1")
    ncols = int(ncols)
    nrows = math.ceil(n / ncols)
    cell_h = max(a.shape[0] for a in arrays.values())
    cell_w = max(a.shape[1] for a in arrays.values())
    width, height = ncols * cell_w, nrows * (cell_h + title_px)
    figure = _figure(width / dpi, height / dpi, dpi=dpi)
    for index, (title, array) in enumerate(arrays.items()):
        row, col = divmod(index, ncols)
        h, w = array.shape[:2]
        left = col * cell_w
        bottom = height - (row * (cell_h + title_px) + title_px + h)
        ax = figure.add_axes([left / width, bottom / height, w / width, h / height])
        shown = to_uint8(array) if array.dtype == bool or array.dtype.kind == "f" else array
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, interpolation="nearest", aspect="auto")
        ax.set_title(title, fontsize=9, pad=2)
        ax.axis("off")
    if path is not None:
        save_figure(figure, path, dpi=dpi)
    return figure
