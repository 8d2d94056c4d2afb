"""Global thresholds from an intensity histogram (the statistic the tiler reduces over chunks).

For integer images, scikit-image computes every global threshold from the
histogram ``np.bincount`` gives over ``[image.min(), image.max()]`` (one bin per
integer value). This module computes that same histogram faster
(:func:`integer_histogram`, ``cv2.calcHist`` over chunks, counts kept exact in
``int64``) and derives each threshold from it (:func:`threshold_from_histogram`),
so a histogram summed over tiles gives *exactly* the in-memory threshold.

Signature used by the tiler (``MethodSpec.stat_target``)::

    threshold_from_histogram(method, counts, centers, **params) -> float | list[float]

* ``counts`` : 1-D integer array, pixel count per bin (summed over chunks);
* ``centers`` : 1-D array of the same length, the value each bin stands for.
  For integer images, one bin per integer value (``np.arange(lo, hi + 1)``);
  bins with zero count at either end are ignored, so the full dtype range
  (``np.arange(256)`` for uint8, ``np.arange(65536)`` for uint16) is fine;
* ``params`` : the method's parameters (``classes`` for ``multi_otsu``,
  ``threshold`` for ``manual``; ``invert`` and others are accepted and ignored).

Returns a float (a list of floats for ``multi_otsu``). For a histogram with a
single non-empty bin it returns that bin's center; the caller applies the
constant-image policy. With integer bins the result equals
``skimage.filters.threshold_<method>(image)``; for float images the tiler must
choose the bins (e.g. 256 bins over the global min/max, as scikit-image does),
and the result then equals scikit-image's only if the same bins are used.

Exception: ``multi_otsu`` and ``minimum`` on more than ``MULTI_OTSU_MAX_BINS``
(1024) integer values (wide uint16 images) merge the bins into 256
equal-width bins first, as scikit-image does for float images: scikit-image's
one-bin-per-value path builds a 65536 x 65536 table (multi-Otsu, > 10 min) or
smooths 65536 bins in a Python loop (minimum, minutes, then usually "Unable to
find two maxima").

``otsu``, ``yen``, ``isodata`` and ``multi_otsu`` call scikit-image with
``hist=``; ``li``, ``triangle`` and ``mean`` are ports of scikit-image 0.26's
integer code path (scikit-image takes no ``hist=`` for them) and ``minimum``
a port of its ``hist=`` path with the maxima search vectorised, tested for
equality in ``tests/threshold``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._core.errors import ParameterError, close_matches_hint

__all__ = ["HISTOGRAM_METHODS", "integer_histogram", "threshold_from_histogram", "apply_threshold", "run_parts",
           "row_views"]

HISTOGRAM_METHODS = ("manual", "otsu", "multi_otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")

# scikit-image's multi-Otsu builds a bins x bins table (65536**2 floats for uint16: it runs for > 10 min);
# beyond this many integer values the histogram is merged into 256 bins, as scikit-image does for floats.
MULTI_OTSU_MAX_BINS = 1024

# cv2.calcHist returns float32 counts: keep every chunk below 2**24 pixels so each count is exact.
_CHUNK = 1 << 22


def integer_histogram(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(counts, centers)`` of an unsigned 8/16-bit image, trimmed to its min..max.

    Equals ``skimage.exposure.histogram(image)`` (int64 counts, one bin per
    integer value from ``image.min()`` to ``image.max()``) without the
    int64 copy of the image that ``np.bincount`` makes.
    """
    full = full_histogram(image)
    nonzero = np.flatnonzero(full)
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    return full[lo: hi + 1], np.arange(lo, hi + 1)


def full_histogram(image: np.ndarray) -> np.ndarray:
    """Counts (int64) over the whole dtype range of a uint8 (256 bins) or uint16 (65536 bins) image."""
    import cv2

    flat = np.ascontiguousarray(image).reshape(-1)
    if image.dtype == np.uint8:
        # cv2.calcHist splits the rows of a 2-D array over OpenCV's threads itself, with no Python thread
        # hand-off (~0.1 ms a call, a fifth of the whole pass at 2048 x 2048). Each call counts at most 2**24
        # pixels, so its float32 counts are exact integers; the sum does not depend on the order.
        counts = np.zeros(256, np.int64)
        for rows in row_views(flat, max_pixels=_EXACT):
            counts += cv2.calcHist([rows], [0], None, [256], [0, 256]).ravel().astype(np.int64)
        return counts

    def count(bounds: tuple[int, int]) -> np.ndarray:
        chunk = flat[bounds[0]: bounds[1]].reshape(1, -1)
        return cv2.calcHist([chunk], [0], None, [65536], [0, 65536]).ravel().astype(np.int64)

    # 16-bit calcHist runs on one thread whatever the shape: parts on threads (cv2 releases the GIL) use every
    # core. Each part stays below 2**24 pixels so its float32 counts are exact integers.
    return sum(run_parts(count, flat.size, max_part=_CHUNK), np.zeros(65536, np.int64))


# Width of the 2-D views handed to OpenCV (see row_views); a cv2.calcHist call counts at most _EXACT pixels.
_ROW = 4096
_EXACT = 1 << 24


def row_views(flat: np.ndarray, *, max_pixels: int | None = None) -> list[np.ndarray]:
    """Contiguous 2-D views that cover a contiguous 1-D array in order.

    Rows of ``_ROW`` (4096) pixels, in blocks of at most `max_pixels` pixels, then the remainder as one row.
    OpenCV splits the rows of a 2-D array over its own threads (cv2.calcHist, cv2.LUT, cv2.threshold); one
    row of a whole image would run on one core, whatever the image's shape (a 1 x N image, a volume).
    """
    full = flat.size - flat.size % _ROW
    per_block = max(1, (max_pixels or full or 1) // _ROW) * _ROW
    views = [flat[start: min(start + per_block, full)].reshape(-1, _ROW) for start in range(0, full, per_block)]
    if full < flat.size:
        views.append(flat[full:].reshape(1, -1))
    return views


# Below this many pixels a part is not worth a thread hand-off (~50 us against ~0.25 ns of work per pixel).
_MIN_PART = 1 << 20
_POOL: tuple[int, Any] | None = None


def worker_threads() -> int:
    """Threads for a split pass: OpenCV's thread setting (a tiled worker sets it to 1), at most the CPUs."""
    import cv2

    return max(1, min(cv2.getNumThreads(), os.cpu_count() or 1))


def run_parts(function: Any, size: int, *, max_part: int | None = None, min_part: int = _MIN_PART) -> list[Any]:
    """Return ``[function((start, stop)) ...]`` over contiguous parts of ``range(size)``, in order.

    One part per thread of :func:`worker_threads` (more if a part would exceed `max_part`, fewer if one
    would fall under `min_part`). The calling thread and ``threads - 1`` threads of a persistent pool (a call
    costs no thread start) take the next part as they come free, so a thread that another process slows
    down takes fewer parts. `function` must release the GIL (OpenCV calls do).
    """
    threads = worker_threads()
    parts = max(1, min(threads, size // max(min_part, 1)))
    if max_part:
        parts = max(parts, -(-size // max_part))
    edges = [size * p // parts for p in range(parts + 1)]
    bounds = list(zip(edges[:-1], edges[1:]))
    if parts == 1 or threads == 1:
        return [function(b) for b in bounds]
    import itertools

    turns = itertools.count()  # next() on it is atomic under the GIL

    def take() -> list[tuple[int, Any]]:
        done = []
        while (index := next(turns)) < parts:
            done.append((index, function(bounds[index])))
        return done

    pool = _thread_pool(threads)
    helpers = [pool.submit(take) for _ in range(min(threads, parts) - 1)]
    done = take()
    for helper in helpers:
        done += helper.result()
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]


def _thread_pool(threads: int) -> Any:
    """A process-wide pool of ``threads - 1`` helpers, made again after a fork (a forked child inherits the
    pool object but none of its threads: work handed to it would never run)."""
    global _POOL
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid or _POOL[1]._max_workers < threads - 1:
        _POOL = (pid, ThreadPoolExecutor(max_workers=max(threads - 1, 1), thread_name_prefix="seglab-parts"))
    return _POOL[1]


def _trim(counts: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nonzero = np.flatnonzero(counts)
    return counts[nonzero[0]: nonzero[-1] + 1], centers[nonzero[0]: nonzero[-1] + 1]


def threshold_from_histogram(method: str, counts: ArrayLike, centers: ArrayLike, **params: Any) -> Any:
    """Compute a global threshold from bin counts and bin centers.

    Parameters
    ----------
    method : str
        One of ``manual, otsu, multi_otsu, li, yen, triangle, isodata, mean, minimum``.
    counts : (B,) array of int
        Pixels per bin.
    centers : (B,) array
        The value of each bin.
    **params
        ``classes`` (multi_otsu), ``threshold`` (manual); others are ignored.

    Returns
    -------
    threshold : float or list of float
        The threshold (thresholds for ``multi_otsu``), as scikit-image computes
        it on the image the histogram came from.

    Raises
    ------
    ParameterError
        Unknown method, mismatched or empty histogram.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.filters import threshold_otsu
    >>> image = np.array([[10, 10, 12], [200, 210, 210]], np.uint8)
    >>> counts = np.bincount(image.ravel(), minlength=256)
    >>> bool(threshold_from_histogram("otsu", counts, np.arange(256)) == threshold_otsu(image))
    True
    """
    if method not in HISTOGRAM_METHODS:
        raise ParameterError(
            f"`method` got {method!r}; expected one of {', '.join(HISTOGRAM_METHODS)}"
            + close_matches_hint(str(method), HISTOGRAM_METHODS)
        )
    counts = np.asarray(counts)
    centers = np.asarray(centers)
    if counts.ndim != 1 or counts.shape != centers.shape:
        raise ParameterError(
            f"`counts` and `centers` must be 1-D arrays of the same length; got shapes {counts.shape} and "
            f"{centers.shape}"
        )
    if counts.size == 0 or not (counts > 0).any():
        raise ParameterError("`counts` holds no pixels; the histogram is empty")
    if method == "manual":
        return float(params.get("threshold", 128.0))
    counts, centers = _trim(counts, centers)
    if counts.size == 1:
        return float(centers[0]) if method != "multi_otsu" else [float(centers[0])]
    from skimage import filters

    if method == "otsu":
        return float(filters.threshold_otsu(hist=(counts, centers)))
    if method == "yen":
        return float(filters.threshold_yen(hist=(counts, centers)))
    if method == "isodata":
        return float(filters.threshold_isodata(hist=(counts, centers)))
    if method == "minimum":
        if counts.size > MULTI_OTSU_MAX_BINS:
            counts, centers = _rebin(counts, centers, 256)
        try:
            return float(_minimum(counts, centers))
        except RuntimeError as exc:
            from .._core.errors import InvalidImageError

            raise InvalidImageError(
                f"threshold 'minimum' cannot be computed for this image: {exc}. The histogram needs two clear "
                "peaks; try 'otsu' or 'li' instead"
            ) from None
    if method == "multi_otsu":
        classes = int(params.get("classes", 3))
        if counts.size > MULTI_OTSU_MAX_BINS:
            counts, centers = _rebin(counts, centers, 256)
        # scikit-image normalises the histogram it computes from an image (float64, then float32) but
        # not one passed as hist=: normalise the same way so both give the same thresholds.
        prob = counts / np.sum(counts)
        return [float(t) for t in filters.threshold_multiotsu(hist=(prob, centers), classes=classes)]
    if method == "mean":
        return _mean(counts, centers)
    if method == "li":
        return _li(counts, centers)
    return _triangle(counts, centers)


def _rebin(counts: np.ndarray, centers: np.ndarray, nbins: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge consecutive integer bins into `nbins` bins of (nearly) equal width; centers = middle of each."""
    index = (np.arange(counts.size) * nbins) // counts.size
    merged = np.bincount(index, weights=counts, minlength=nbins).astype(np.int64)
    first = np.searchsorted(index, np.arange(nbins), side="left")
    last = np.searchsorted(index, np.arange(nbins), side="right") - 1
    middle = (centers[first].astype(np.float64) + centers[last].astype(np.float64)) / 2
    return merged, middle


def _minimum(counts: np.ndarray, centers: np.ndarray, max_num_iter: int = 10000) -> Any:
    """Port of ``skimage.filters.threshold_minimum(hist=(counts, centers))`` (0.26) on a trimmed histogram.

    The same float32 smoothing (``ndi.uniform_filter1d(h, 3)`` until fewer than three maxima remain), with the
    maxima found by array operations instead of scikit-image's Python loop over the bins (~0.4 ms of ~0.5 ms for
    256 bins). The loop's rule: walking up the bins, a bin is a maximum where the first strict decrease after a
    strict increase (or after the start) begins; equal neighbours change nothing.
    """
    from scipy import ndimage as ndi

    smooth = counts.astype("float32", copy=False)
    maxima = np.zeros(0, np.intp)
    last = 0
    for iteration in range(max_num_iter):
        last = iteration
        smooth = ndi.uniform_filter1d(smooth, 3)
        step = (smooth[1:] > smooth[:-1]).view(np.int8) - (smooth[1:] < smooth[:-1]).view(np.int8)
        moves = np.flatnonzero(step)
        direction = step[moves]
        before = np.concatenate(([1], direction[:-1]))
        maxima = moves[(direction == -1) & (before == 1)]
        if maxima.size < 3:
            break
    if maxima.size != 2:
        raise RuntimeError("Unable to find two maxima in histogram")
    if last == max_num_iter - 1:
        raise RuntimeError("Maximum iteration reached for histogram smoothing")
    threshold_idx = np.argmin(smooth[maxima[0]: maxima[1] + 1])
    return centers[maxima[0] + threshold_idx]


def _mean(counts: np.ndarray, centers: np.ndarray) -> float:
    if centers.dtype.kind in "iu":
        # An exact integer sum divided once: what np.mean gives on an integer image (< 2**53).
        total = int(np.dot(counts.astype(np.int64), centers.astype(np.int64)))
        return total / int(counts.sum())
    return float(np.dot(counts.astype(np.float64), centers.astype(np.float64)) / counts.sum())


def _li(counts: np.ndarray, centers: np.ndarray) -> float:
    """Port of the integer branch of ``skimage.filters.threshold_li`` (0.26), tolerance 0.5."""
    image_min = centers[0]
    shifted = centers - image_min
    tolerance = 0.5 if centers.dtype.kind in "iu" else float(np.min(np.diff(centers))) / 2
    t_next = _mean(counts, shifted)
    t_curr = -2 * tolerance
    hist = counts.astype("float32", copy=False)
    while abs(t_next - t_curr) > tolerance:
        t_curr = t_next
        foreground = shifted > t_curr
        background = ~foreground
        mean_fore = np.average(shifted[foreground], weights=hist[foreground])
        mean_back = np.average(shifted[background], weights=hist[background])
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (np.log(mean_back) - np.log(mean_fore))
    return float(t_next + image_min)


def _triangle(counts: np.ndarray, centers: np.ndarray) -> float:
    """Port of ``skimage.filters.threshold_triangle`` (0.26) after its histogram step."""
    hist = counts.astype(np.int64) if counts.dtype.kind in "iu" else counts
    nbins = len(hist)
    arg_peak_height = int(np.argmax(hist))
    peak_height = hist[arg_peak_height]
    arg_low_level, arg_high_level = np.flatnonzero(hist)[[0, -1]]
    flip = arg_peak_height - arg_low_level < arg_high_level - arg_peak_height
    if flip:
        hist = hist[::-1]
        arg_low_level = nbins - arg_high_level - 1
        arg_peak_height = nbins - arg_peak_height - 1
    width = arg_peak_height - arg_low_level
    x1 = np.arange(width)
    y1 = hist[x1 + arg_low_level]
    norm = np.sqrt(peak_height**2 + width**2)
    peak_height = peak_height / norm
    width = width / norm
    length = peak_height * x1 - width * y1
    arg_level = np.argmax(length) + arg_low_level
    if flip:
        arg_level = nbins - arg_level - 1
    return float(centers[arg_level])


def apply_threshold(image: np.ndarray, threshold, invert: bool = False) -> np.ndarray:
    """Return ``image > threshold`` (``image <= threshold`` when `invert`) as a new bool array.

    `threshold` is used as given (its NumPy type decides the comparison
    precision, as in ``image > threshold``). For uint8/uint16 images the
    comparison ``image > t`` equals ``image > floor(t)``, which
    ``cv2.threshold`` evaluates with no temporary beyond the output.
    """
    if image.dtype in (np.uint8, np.uint16) and math.isfinite(float(threshold)):
        level = math.floor(float(threshold))
        top = np.iinfo(image.dtype).max
        if level < 0 or level >= top:
            above = level < 0
            return np.full(image.shape, above != invert, dtype=bool)
        if image.dtype == np.uint8 and image.flags.c_contiguous:
            import cv2

            kind = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
            _, out = cv2.threshold(image.reshape(-1, image.shape[-1]), level, 1, kind)
            return out.reshape(image.shape).view(bool)
        comparison = np.less_equal if invert else np.greater
        return comparison(image, level)
    comparison = np.less_equal if invert else np.greater
    return comparison(image, threshold)
