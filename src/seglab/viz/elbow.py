"""Elbow plot of k-means inertia against k, with the chosen k marked (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["elbow_plot"]


def elbow_plot(k_values: ArrayLike, inertias: ArrayLike, chosen_k: int,
               path: str | os.PathLike[str] | None = None) -> Figure:
    """Plot inertia against k and mark the chosen k.

    Parameters
    ----------
    k_values : sequence of int
        The k tried (``result.extras["k_values"]`` of ``kmeans(n_clusters='auto')``).
    inertias : sequence of float
        Inertia for each k (``result.extras["inertias"]``).
    chosen_k : int
        The k to mark (``result.info["n_clusters"]``); must be one of `k_values`.
    path : str or path-like, optional
        Write the figure there (format from the suffix, e.g. PNG).

    Returns
    -------
    matplotlib.figure.Figure
        The curve is the line labelled ``'inertia'``; the chosen k is the line
        labelled ``'chosen k'`` (a single red marker).

    Examples
    --------
    >>> fig = elbow_plot([2, 3, 4], [10.0, 4.0, 3.0], 3)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['inertia', 'chosen k']
    """
    k = np.asarray(k_values, dtype=float)
    y = np.asarray(inertias, dtype=float)
    if k.shape != y.shape or k.ndim != 1 or k.size == 0:
        raise ParameterError(
            f"`k_values` and `inertias` must be 1-D and of equal length; got {k.shape} and {y.shape}"
        )
    matches = np.flatnonzero(k == chosen_k)
    if matches.size == 0:
        raise ParameterError(f"`chosen_k` got {chosen_k!r}; expected one of {k.astype(int).tolist()}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot(k, y, "o-", color="0.3", label="inertia")
    index = int(matches[0])
    ax.plot([k[index]], [y[index]], "o", color="red", markersize=11, label="chosen k")
    ax.annotate(f"k = {int(chosen_k)}", (k[index], y[index]), textcoords="offset points", xytext=(8, 8))
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("inertia (sum of squared distances)")
    ax.set_xticks(k)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
