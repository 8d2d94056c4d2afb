"""Map-reduce evaluation over large masks: confusion counts summed per chunk."""

from __future__ import annotations

from typing import Any

import numpy as np

from seglab._core.errors import ShapeMismatchError

__all__ = ["confusion_from_zarr"]


def _as_dask(array, chunks):
    import dask.array as da

    if isinstance(array, da.Array):
        return array
    if isinstance(array, (str, bytes)) or hasattr(array, "__fspath__"):
        from ._io import open_array

        return open_array(array)
    return da.from_array(array, chunks=chunks if chunks else getattr(array, "chunks", "auto"))


def _counts(t, p):
    t = np.asarray(t) != 0
    p = np.asarray(p) != 0
    tp = np.count_nonzero(t & p)
    fp = np.count_nonzero(p) - tp
    fn = np.count_nonzero(t) - tp
    tn = t.size - tp - fp - fn
    return np.array([[tp, tn, fp, fn]], np.int64)


def confusion_from_zarr(truth: Any, pred: Any, *, chunks: int | tuple[int, ...] | None = None) -> dict:
    """Count true/false positives/negatives of two large masks, chunk by chunk (ground truth first).

    Parameters
    ----------
    truth, pred : path, zarr array, dask array or ndarray
        Binary masks of one shape (non-zero = foreground), e.g. a ``run_tiled`` output.
    chunks : int or tuple, optional
        Chunking for inputs that have none.

    Returns
    -------
    dict
        ``{"tp", "tn", "fp", "fn"}`` as Python ints, plus ``"scores"``:
        ``seglab.metrics.binary.scores_from_counts`` of them when that module is installed.

    Examples
    --------
    >>> import numpy as np
    >>> c = confusion_from_zarr(np.array([[1, 0], [1, 1]]), np.array([[1, 1], [0, 1]]), chunks=1)
    >>> (c["tp"], c["tn"], c["fp"], c["fn"])
    (2, 0, 1, 1)
    """
    t = _as_dask(truth, chunks)
    p = _as_dask(pred, chunks)
    if t.shape != p.shape:
        raise ShapeMismatchError(f"`pred` has shape {p.shape}; expected {t.shape}, the shape of `truth`")
    p = p.rechunk(t.chunks)
    import dask

    parts = [dask.delayed(_counts)(tb, pb) for tb, pb in zip(t.to_delayed().ravel(), p.to_delayed().ravel())]
    total = np.sum(dask.compute(*parts), axis=0)[0]
    tp, tn, fp, fn = (int(v) for v in total)
    result: dict[str, Any] = {"tp": tp, "tn": tn, "fp": fp, "fn": fn}
    from seglab.metrics.binary import scores_from_counts

    result["scores"] = scores_from_counts(tp, tn, fp, fn)
    return result
