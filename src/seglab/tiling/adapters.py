"""Adapters between the tiler and other families' conventions (kept here so their files stay theirs).

* Global thresholds (``tiling="global"``): the spec's ``stat_target`` is
  ``threshold_from_histogram(method, counts, centers, **params)``. For integer
  images the tiler passes one bin per value over ``[min, max]`` of the image
  (what ``skimage.exposure.histogram`` uses for integer input), so the
  threshold equals the in-memory one. The mask is ``image > t``; with
  ``invert=True`` it is ``image <= t`` (the complement, objects darker than
  the background). :func:`apply_global_threshold` defers to
  ``seglab.threshold.apply_threshold(image, t, invert=...)`` when that function
  exists, so the comparison is the threshold family's own.
* Binary scores: :func:`scores` uses ``seglab.metrics.binary.scores_from_counts``.
"""

from __future__ import annotations

import importlib

import numpy as np


def _threshold_apply_function():
    for module_name in ("seglab.threshold", "seglab.threshold._histogram"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        function = getattr(module, "apply_threshold", None)
        if callable(function):
            return function
    return None


def apply_global_threshold(image: np.ndarray, threshold, params: dict) -> np.ndarray:
    """Apply a global threshold exactly as the in-memory method does.

    `threshold` None means the whole image is constant: the threshold family's policy is an empty
    mask (zero labels for ``multi_otsu``). A list of thresholds (``multi_otsu``) gives class indices
    ``searchsorted(thresholds, image, side="left")``, reversed with ``invert``.
    """
    invert = bool(params.get("invert", False))
    if threshold is None:
        return np.zeros(image.shape, np.int32 if "classes" in params else bool)
    if isinstance(threshold, (list, tuple)):
        labels = np.searchsorted(np.asarray(threshold), image, side="left").astype(np.int32)
        if invert:
            np.subtract(int(params.get("classes", len(threshold) + 1)) - 1, labels, out=labels)
        return labels
    function = _threshold_apply_function()
    if function is not None:
        return np.asarray(function(image, threshold, invert=invert), dtype=bool)
    return image <= threshold if invert else image > threshold


def histogram_centers(counts: np.ndarray, dtype, value_range=None):
    """Trim accumulated counts and return ``(counts, centers)`` as the in-memory histogram has them."""
    dtype = np.dtype(dtype)
    if dtype in (np.uint8, np.uint16):
        nonzero = np.flatnonzero(counts)
        lo, hi = int(nonzero[0]), int(nonzero[-1])
        return counts[lo:hi + 1], np.arange(lo, hi + 1)
    lo, hi = value_range
    edges = np.linspace(lo, hi, counts.size + 1)
    return counts, (edges[:-1] + edges[1:]) / 2


def threshold_from_counts(global_stat, counts: np.ndarray, dtype, value_range=None):
    """Call the method's ``stat_target`` on the accumulated histogram."""
    trimmed, centers = histogram_centers(np.asarray(counts), dtype, value_range)
    if np.count_nonzero(trimmed) == 1 and global_stat.method != "manual":
        import warnings

        from seglab._core.errors import ConstantImageWarning

        warnings.warn(f"the image is constant; {global_stat.method!r} returns an empty result",
                      ConstantImageWarning, stacklevel=4)
        return None
    out = global_stat.stat_function(global_stat.method, trimmed, centers, **global_stat.params)
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        out = out[0]
    if isinstance(out, (list, tuple, np.ndarray)):
        return [float(v) for v in out]
    return float(out)


def scores(tp: int, tn: int, fp: int, fn: int):
    """Binary scores from the four counts (``seglab.metrics.binary.scores_from_counts``), or None if absent."""
    try:
        from seglab.metrics.binary import scores_from_counts
    except ImportError:
        return None
    return scores_from_counts(tp, tn, fp, fn)
