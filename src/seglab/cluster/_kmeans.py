"""K-means clustering of pixel values (Lloyd 1982), with exact and weighted fast paths.

Three paths minimise the same objective, the sum of squared distances of every
pixel's feature vector to its cluster centre (the "inertia" of scikit-learn):

* **8-bit-like gray, no position features** — exact global optimum by dynamic
  programming over the sorted distinct values weighted by their counts (optimal
  1-D k-means, Wang & Song 2011; Bellman 1973). On an 8-bit image that is the
  256-bin histogram and costs O(k * 256**2), independent of the image size. The
  partition is the one multi-Otsu (Liao, Chen & Chung 2001) finds with
  ``classes=k``, because maximising between-class variance over a histogram is
  the same as minimising within-class SSE over it. For integer images of at
  most 16 bits the whole path is two passes over the pixels: the histogram
  (``cv2.calcHist``, split over OpenCV's threads) and one lookup table from
  value to label (``cv2.LUT`` for 8 bits); the DP, the centres, the inertia
  and the 'auto' curve (one DP for every k) come from the bins alone. For
  k <= 3 the DP computes only the table cells that a split cheaper than one
  feasible partition can use (same splits, see ``_partitions_up_to_three``). Other
  gray images (float, 32/64-bit integers) with at most 1024 distinct values count
  them block by block (``np.unique`` per block, merged; stopped at the first
  block past 1024) and label each pixel by the number of cluster boundaries
  below it: no whole-image sort or inverse (``_distinct_values``, ``_label_by_value``).
* **8-bit RGB, no position features** — weighted k-means on the distinct colours
  (packed 24-bit keys, counts as weights): k-means++ seeding (Arthur &
  Vassilvitskii 2007), ``n_init`` seeded starts, Lloyd iterations in float64.
  The weighted inertia *is* the pixel inertia (a colour repeated ``w`` times
  contributes ``w`` times its squared distance). When there are more than
  ``_COARSE_ABOVE`` distinct colours the starts run on the exact means of a
  5-bit-per-channel quantisation (4 or 3 bits if that is still too many),
  and the best ``_REFINE`` of them are refined by Lloyd iterations on the
  full distinct colours, so the returned inertia is still the exact pixel
  inertia of the returned partition.
* **everything else** (float images with many values, position features) —
  :class:`sklearn.cluster.KMeans` on the pixel features (optional dependency).
"""

from __future__ import annotations

import bisect
import threading
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import MissingDependencyError, ParameterError, SeglabWarning
from seglab._core.registry import validated
from seglab._core.validation import check_image

__all__ = ["kmeans", "optimal_kmeans_1d", "weighted_kmeans", "choose_knee"]

_MAX_DP_VALUES = 1024  # exact 1-D DP up to this many distinct gray values (O(k * n**2) memory n**2)
_COARSE_ABOVE = 4096  # above this many distinct colours, run the starts on quantised colour means first
# Best coarse starts refined on the exact distinct colours. One: each refinement is 3-5 ms of a ~30 ms call on
# BSDS 481x321, and over 25 BSDS test images x k in 2..8 the worst inertia vs scikit-learn's n_init=10 is
# 1.0060 with one, 1.0044 with three (goal <= 1.01).
_REFINE = 1


# -- exact 1-D k-means --------------------------------------------------------------------------
def optimal_kmeans_1d(values: ArrayLike, weights: ArrayLike, k: int) -> tuple[NDArray[np.integer[Any]], float]:
    """Return the exact minimum-SSE partition of weighted sorted 1-D points into `k` contiguous groups.

    Parameters
    ----------
    values : (n,) ndarray
        Distinct values in increasing order.
    weights : (n,) ndarray
        Positive counts of each value.
    k : int
        Number of groups, ``1 <= k <= n``.

    Returns
    -------
    assignment : (n,) int ndarray
        Group index 0..k-1 of each value (non-decreasing).
    sse : float
        The optimal weighted sum of squared deviations from the group means.

    References
    ----------
    .. [1] Wang, H. & Song, M. (2011). Ckmeans.1d.dp: Optimal k-means clustering
           in one dimension by dynamic programming. The R Journal 3(2), 29-33.
           :DOI:`10.32614/RJ-2011-015`

    Examples
    --------
    >>> import numpy as np
    >>> a, sse = optimal_kmeans_1d(np.array([0., 1., 10., 11.]), np.ones(4), 2)
    >>> a.tolist(), float(sse)
    ([0, 0, 1, 1], 1.0)
    """
    v = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    assignment = _optimal_partitions(v, w, [int(k)])[int(k)]
    # Report the SSE recomputed directly from the partition (exact, no prefix-sum rounding).
    v = v - np.average(v, weights=w)
    means = np.bincount(assignment, w * v, k) / np.bincount(assignment, w, k)
    sse = float(np.sum(w * (v - means[assignment]) ** 2))
    return assignment, sse


def _optimal_partitions(v: NDArray[np.float64], w: NDArray[np.float64],
                        ks: list[int]) -> dict[int, NDArray[np.int64]]:
    """The optimal contiguous partition of sorted weighted points for every k in `ks`, from one DP.

    The DP over m groups does not depend on the k asked for, so one pass up to ``max(ks)`` serves every k
    (the automatic-k path fits k_min..k_max from one table). Each table entry is computed with the same
    floating-point operations on the same operands as the textbook layout ``cost[i, j]`` (points i..j-1), only
    stored transposed (``cost_t[j, i]``) so that the minimum over the split point i runs along contiguous
    memory; ties go to the first (smallest) i, as ``np.argmin`` over axis 0 of ``cost[i, j]`` did.
    """
    n = v.size
    k_max = max(ks)
    # Centre the values so the prefix-sum formula S2 - S1**2 / W does not cancel catastrophically.
    v = v - np.average(v, weights=w)
    cw = np.concatenate(([0.0], np.cumsum(w)))
    c1 = np.concatenate(([0.0], np.cumsum(w * v)))
    c2 = np.concatenate(([0.0], np.cumsum(w * v * v)))
    # cost_t[j, i]: SSE of the points i..j-1 (0 <= i < j <= n); +inf where i >= j. The last layer of the DP
    # needs only row n (all n points), which is also the table's last row.
    if k_max <= 3 and n >= 3:
        return _partitions_up_to_three(v, c1, c2, cw, ks)
    back = np.zeros((k_max, n + 1), np.int64)
    side = n + 1
    cost_t, total = _cost_block(c1, c2, cw, 0, side)
    best = cost_t[:, 0].copy()  # best[j]: optimal SSE of the first j points in m groups (m = 1 here)
    last_row = cost_t[n].copy()
    rows = np.arange(side)
    for m in range(1, k_max - 1):
        # split: first i points in m groups, points i..j-1 as group m+1
        np.add(cost_t, best[None, :], out=total)
        arg = np.argmin(total, axis=1)
        back[m] = arg
        best = total[rows, arg]
    if k_max > 1:
        back[k_max - 1, n] = int(np.argmin(last_row + best))
    partitions = {}
    for k in ks:
        assignment = np.empty(n, np.int64)
        end = n
        for m in range(k - 1, -1, -1):
            start = back[m, end] if m > 0 else 0
            assignment[start:end] = m
            end = start
        partitions[k] = assignment
    return partitions


def _pair_costs(c1: NDArray[np.float64], c2: NDArray[np.float64], cw: NDArray[np.float64],
                start: NDArray[np.intp], stop: NDArray[np.intp]) -> NDArray[np.float64]:
    """``cost_t[stop, start]`` elementwise (``start < stop``): the operations of :func:`_cost_block`, in order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d = c1[stop] - c1[start]
        np.multiply(d, d, out=d)
        np.divide(d, cw[stop] - cw[start], out=d)
        f = c2[stop] - c2[start]
        np.subtract(f, d, out=f)
    return np.maximum(f, 0.0, out=f)


def _three_group_bound(values: NDArray[np.float64], c1: NDArray[np.float64], c2: NDArray[np.float64],
                       cw: NDArray[np.float64]) -> float:
    """The DP's own value of one 3-group partition (each cost and sum as the DP computes them, so the DP's
    optimum is <= it): equal-weight cuts, then two Lloyd steps on the bins (cut at the midpoint of the means)."""
    n = values.size
    cuts = [bisect.bisect_left(cw, cw[-1] / 3), bisect.bisect_left(cw, cw[-1] * 2 / 3)]  # scalar reads: IEEE
    for step in range(3):
        cuts[0] = min(max(cuts[0], 1), n - 2)
        cuts[1] = min(max(cuts[1], cuts[0] + 1), n - 1)
        if step == 2:
            break
        edges = [0, *cuts, n]
        means = [(c1[b] - c1[a]) / (cw[b] - cw[a]) for a, b in zip(edges[:-1], edges[1:])]
        cuts = [bisect.bisect_right(values, (means[0] + means[1]) / 2),
                bisect.bisect_right(values, (means[1] + means[2]) / 2)]
    edges = [0, *cuts, n]
    costs = []
    for a, b in zip(edges[:-1], edges[1:]):
        d = c1[b] - c1[a]
        d = d * d
        d = d / (cw[b] - cw[a])
        f = (c2[b] - c2[a]) - d
        costs.append(f if f > 0.0 else 0.0)
    return float((costs[0] + costs[1]) + costs[2])


def _partitions_up_to_three(v: NDArray[np.float64], c1: NDArray[np.float64], c2: NDArray[np.float64],
                            cw: NDArray[np.float64], ks: list[int]) -> dict[int, NDArray[np.int64]]:
    """:func:`_optimal_partitions` for k in {2, 3} (k = 3 is kmeans' default), the same splits from a
    fraction of the table.

    With ``first[i]`` = cost(0, i), ``last[j]`` = cost(j, n) and the DP's optimum ``opt <= U`` for the value
    ``U`` of any 3-group partition computed with the DP's own operations (:func:`_three_group_bound`): every
    cost is >= 0 and rounding is monotone, so a split i with ``first[i] > U`` or j with ``last[j] > U`` gives a
    total > U >= opt. The table is computed for the rows j with ``last[j] <= U`` and the columns up to the last
    i with ``first[i] <= U``. Every total that can reach the minimum is then computed as in the full table and
    every other one is larger (or +inf), so the first minimum, which the full table returns on ties, is the
    same split: identical results, tested against the full DP on random and tied histograms.
    """
    n = c1.size - 1
    side = n + 1
    everything = np.arange(side)
    first = _pair_costs(c1, c2, cw, np.zeros(side, np.intp), everything)  # cost_t[:, 0]
    last = _pair_costs(c1, c2, cw, everything, np.full(side, n))  # cost_t[n]
    first[0] = last[n] = np.inf
    splits = {2: [int(np.argmin(last + first))]}
    if 3 in ks:
        bound = _three_group_bound(v, c1, c2, cw)
        columns = np.flatnonzero(first <= bound)
        rows = np.flatnonzero(last <= bound)
        stop = int(columns[-1]) + 1
        r0 = max(int(rows[0]), 2)
        height = side - r0
        cost, _ = _cost_block(c1, c2, cw, r0, stop)
        np.add(cost, first[None, :stop], out=cost)
        arg = np.argmin(cost, axis=1)
        second = np.full(side, np.inf)
        second[r0:] = cost[np.arange(height), arg]
        j = int(np.argmin(last + second))
        splits[3] = [int(arg[j - r0]), j]
    partitions = {}
    for k in ks:
        edges = [0, *splits[k], n] if k > 1 else [0, n]
        assignment = np.empty(n, np.int64)
        for m, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            assignment[a:b] = m
        partitions[k] = assignment
    return partitions


def _cost_block(c1: NDArray[np.float64], c2: NDArray[np.float64], cw: NDArray[np.float64], r0: int,
                stop: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``cost_t[r0:, :stop]`` and a spare block of its shape, both in per-thread work memory.

    ``cost_t[j, i] = max((c2[j] - c2[i]) - (c1[j] - c1[i])**2 / (cw[j] - cw[i]), 0)`` for i < j, +inf for
    i >= j: the operations, in the order, of the ``cost[i, j]`` table the DP has always used.
    """
    out, work = _scratch_tables(c1.size - r0, stop)
    rows, columns = slice(r0, None), slice(0, stop)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.subtract(c1[rows, None], c1[None, columns], out=work)
        np.multiply(work, work, out=work)
        np.subtract(cw[rows, None], cw[None, columns], out=out)
        np.divide(work, out, out=work)
        np.subtract(c2[rows, None], c2[None, columns], out=out)
        np.subtract(out, work, out=out)
    np.maximum(out, 0.0, out=out)
    if stop > r0:  # i >= j: columns r0.. of the first rows, on and above the block's diagonal
        np.copyto(out[: stop - r0, r0:], np.inf, where=~np.tri(stop - r0, stop - r0, -1, dtype=bool))
    return out, work


_SCRATCH = threading.local()
# The two tables of an 8-bit histogram are kept per thread (1 MB): first-touching fresh ones cost more than the DP.
_SCRATCH_SIDE = 257


def _scratch_tables(rows: int, columns: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two contiguous (rows, columns) float64 work tables; reused per thread up to 257 x 257."""
    size = rows * columns
    if size > _SCRATCH_SIDE * _SCRATCH_SIDE:
        return np.empty((rows, columns)), np.empty((rows, columns))
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None:
        buffer = _SCRATCH.buffer = np.empty(2 * _SCRATCH_SIDE * _SCRATCH_SIDE)
    return buffer[:size].reshape(rows, columns), buffer[size: 2 * size].reshape(rows, columns)


# -- weighted Lloyd -------------------------------------------------------------------------------
def _sq_dist(points, sq_norms, centers):
    """``max(sq_norms[:, None] - 2.0 * (points @ centers.T) + |centers|**2, 0)``: the same operations in the
    same order, each in place on the product (one (points, k) array instead of three)."""
    d = points @ centers.T
    np.multiply(d, 2.0, out=d)
    np.subtract(sq_norms[:, None], d, out=d)
    np.add(d, np.einsum("ij,ij->i", centers, centers)[None, :], out=d)
    np.maximum(d, 0.0, out=d)
    return d


def _kmeanspp(points, weights, sq_norms, k, gen):
    """Weighted k-means++ seeding with greedy local trials (as scikit-learn: 2 + log k trials)."""
    n = points.shape[0]
    trials = 2 + int(np.log(k))
    p = weights / weights.sum()
    centers = np.empty((k, points.shape[1]))
    centers[0] = points[gen.choice(n, p=p)]
    closest = _sq_dist(points, sq_norms, centers[:1])[:, 0]
    for c in range(1, k):
        pot = weights * closest
        total = pot.sum()
        if total <= 0:
            centers[c:] = centers[0]
            break
        cumulative = np.cumsum(pot)
        candidates = np.searchsorted(cumulative, gen.random(trials) * cumulative[-1])
        candidates = np.minimum(candidates, n - 1)
        dist = _sq_dist(points, sq_norms, points[candidates])
        new_closest = np.minimum(closest[:, None], dist)
        best = int(np.argmin((weights[:, None] * new_closest).sum(axis=0)))
        centers[c] = points[candidates[best]]
        closest = new_closest[:, best]
    return centers


def _lloyd(points, weights, sq_norms, centers, max_iter, tol):
    k = centers.shape[0]
    labels = None
    for _ in range(max_iter):
        dist = _sq_dist(points, sq_norms, centers)
        new_labels = np.argmin(dist, axis=1)
        del dist  # not alive beside the next iteration's
        wsum = np.bincount(new_labels, weights, k)
        new_centers = centers.copy()
        filled = wsum > 0
        for d in range(points.shape[1]):
            new_centers[filled, d] = np.bincount(new_labels, weights * points[:, d], k)[filled] / wsum[filled]
        shift = float(((new_centers - centers) ** 2).sum())
        stable = labels is not None and np.array_equal(new_labels, labels)
        centers, labels = new_centers, new_labels
        if stable or shift <= tol:
            break
    dist = _sq_dist(points, sq_norms, centers)
    labels = np.argmin(dist, axis=1)
    del dist
    # Exact inertia of this assignment to its own centroids.
    wsum = np.bincount(labels, weights, k)
    filled = wsum > 0
    for d in range(points.shape[1]):
        centers[filled, d] = np.bincount(labels, weights * points[:, d], k)[filled] / wsum[filled]
    # sum(weights * ((points - centers[labels]) ** 2).sum(axis=1)), the differences squared in place
    difference = centers[labels]
    np.subtract(points, difference, out=difference)
    np.square(difference, out=difference)
    squares = difference.sum(axis=1)
    del difference
    np.multiply(weights, squares, out=squares)
    inertia = float(np.sum(squares))
    return labels, centers, inertia


def weighted_kmeans(points: ArrayLike, weights: ArrayLike, k: int, *, n_init: int = 10, rng: int | None = 0,
                    max_iter: int = 300,
                    init: ArrayLike | None = None) -> tuple[NDArray[np.integer[Any]], NDArray[np.float64], float]:
    """Return the best of `n_init` weighted Lloyd runs from seeded k-means++ starts.

    Parameters
    ----------
    points : (n, d) ndarray
        Distinct feature vectors.
    weights : (n,) ndarray
        Positive multiplicities.
    k : int
        Number of clusters (``k <= n``).
    n_init : int
        Number of seeded starts; the lowest weighted inertia wins.
    rng : int
        Seed of :func:`numpy.random.default_rng`.
    max_iter : int
        Lloyd iterations per start.
    init : (k, d) ndarray, optional
        Start from these centres instead (one run).

    Returns
    -------
    labels : (n,) int ndarray
    centers : (k, d) float64 ndarray
    inertia : float
        ``sum(weights * ||points - centers[labels]||**2)``.

    References
    ----------
    .. [1] Arthur, D. & Vassilvitskii, S. (2007). k-means++: the advantages of
           careful seeding. SODA '07. :DOI:`10.1145/1283383.1283494`

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.], [1.], [10.], [11.]]); w = np.array([1., 1., 1., 1.])
    >>> labels, centers, inertia = weighted_kmeans(pts, w, 2, n_init=2)
    >>> float(inertia)
    1.0
    """
    points = np.asarray(points, np.float64)
    weights = np.asarray(weights, np.float64)
    sq_norms = np.einsum("ij,ij->i", points, points)
    tol = 1e-4 * float(np.average(points.var(axis=0))) if points.shape[0] > 1 else 0.0
    gen = np.random.default_rng(rng)
    best = None
    starts = [np.asarray(init, np.float64)] if init is not None else None
    for _run in range(1 if starts else n_init):
        centers = starts[0].copy() if starts else _kmeanspp(points, weights, sq_norms, k, gen)
        result = _lloyd(points, weights, sq_norms, centers, max_iter, tol)
        if best is None or result[2] < best[2]:
            best = result
    if best is None:  # no run at all
        raise ParameterError(f"`n_init` must be >= 1; got {n_init!r}")
    return best


# -- knee -----------------------------------------------------------------------------------------
def choose_knee(k_values: ArrayLike, inertias: ArrayLike) -> int:
    """Return the k at the knee of an inertia curve (Kneedle-style).

    Both axes are normalised to [0, 1]; the knee is the point with the largest
    distance *below* the chord from the first to the last point (for a
    decreasing curve, the largest ``1 - x - y``). Ties go to the smaller k; a
    straight or concave curve (no point below the chord) gives the smallest k.

    References
    ----------
    .. [1] Satopaa, V., Albrecht, J., Irwin, D. & Raghavan, B. (2011). Finding a
           "kneedle" in a haystack. ICDCS Workshops. :DOI:`10.1109/ICDCSW.2011.20`

    Examples
    --------
    >>> choose_knee([2, 3, 4, 5, 6], [100.0, 30.0, 20.0, 15.0, 12.0])
    3
    """
    k = np.asarray(k_values, np.float64)
    y = np.asarray(inertias, np.float64)
    if k.size < 3 or y[0] == y[-1]:
        return int(k[0])
    x = (k - k[0]) / (k[-1] - k[0])
    yn = (y - y[-1]) / (y[0] - y[-1])
    below = 1.0 - x - yn  # distance to the chord y = 1 - x, up to the constant 1/sqrt(2)
    index = int(np.argmax(below))
    return int(k[index]) if below[index] > 0 else int(k[0])


# -- public function ------------------------------------------------------------------------------
def _order_by_intensity(centers):
    """Permutation putting centres from dark to bright (channel mean, then lexicographic)."""
    keys = [centers[:, d] for d in range(centers.shape[1] - 1, -1, -1)] + [centers.mean(axis=1)]
    return np.lexsort(keys)


def _sklearn_kmeans(features, k, n_init, rng):
    try:
        from sklearn.cluster import KMeans
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        raise MissingDependencyError(
            'kmeans on float images or with position features needs scikit-learn: pip install "seglab[learn]"'
        ) from None
    # copy_x=False: `features` is our own copy; scikit-learn centres it in place (and adds the mean back)
    # instead of copying it first, the same operations on the same values.
    model = KMeans(n_clusters=k, n_init=n_init, random_state=rng, copy_x=False).fit(features)
    return model.labels_, np.asarray(model.cluster_centers_, np.float64), float(model.inertia_)


class _Problem:
    """The pixel features reduced to the cheapest exact representation."""

    def __init__(self, image, is_color, position_weight):
        self.shape = image.shape[:-1] if is_color else image.shape
        self.n_channels = 3 if is_color else 1
        self.path = "sklearn"
        self.inverse = None
        self.codes: NDArray[Any] | None = None  # unsigned 8/16-bit codes of the pixels (histogram-dp path)
        self.present: NDArray[np.intp] | None = None  # the codes that occur, in the order of self.points
        self.values: NDArray[Any] | None = None  # the sorted distinct values, image dtype (other gray images)
        self.image: NDArray[Any] = image
        self.more_than = 0  # a lower bound on the distinct values when they were not all counted
        if position_weight == 0 and not is_color:
            codes, offset = _unsigned_codes(image)
            counts = None
            if codes is not None:
                from seglab.threshold import full_histogram

                counts = full_histogram(codes)
                present = np.flatnonzero(counts)
            if counts is not None and present.size <= _MAX_DP_VALUES:
                # The distinct values and their counts, as np.unique gives them, from one histogram pass.
                self.points = (present.astype(np.float64) - offset)[:, None]
                self.weights = counts[present].astype(np.float64)
                self.codes, self.present = codes, present
                self.path = "histogram-dp"
            elif counts is None:
                # np.unique(image, return_inverse=True) would sort a copy of the image and keep int64 positions
                # and an int64 inverse (4-5 float64 images of temporaries); block by block, the same distinct
                # values and counts, stopping at the first block that shows more than the DP takes.
                distinct = _distinct_values(image, _MAX_DP_VALUES)
                if distinct is not None:
                    values, counts = distinct
                    self.points = values.astype(np.float64)[:, None]
                    self.weights = counts.astype(np.float64)
                    self.values = values
                    self.path = "histogram-dp"
                else:
                    self.more_than = _MAX_DP_VALUES  # known: more distinct values than any k asked (<= 20)
        elif position_weight == 0 and image.dtype == np.uint8:
            flat = image.reshape(-1, 3)
            # (r << 16) | (g << 8) | b in uint32, in place: one temporary channel at a time
            packed = flat[:, 0].astype(np.uint32)
            np.left_shift(packed, 16, out=packed)
            channel = flat[:, 1].astype(np.uint32)
            np.left_shift(channel, 8, out=channel)
            np.bitwise_or(packed, channel, out=packed)
            del channel
            np.bitwise_or(packed, flat[:, 2], out=packed)
            if packed.size > (1 << 22):
                counts = np.bincount(packed, minlength=1 << 24)
                keys = np.flatnonzero(counts)
                lut = np.zeros(1 << 24, np.int32)
                lut[keys] = np.arange(keys.size, dtype=np.int32)
                inverse = lut[packed]
                counts = counts[keys]
            else:
                keys, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
            # np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1).astype(np.float64), written
            # column by column into the float64 array (no integer stack beside it)
            self.points = np.empty((keys.size, 3), np.float64)
            for column, shift in enumerate((16, 8, 0)):
                self.points[:, column] = (keys >> shift) & 255
            self.weights = counts.astype(np.float64)
            # int32 (fewer than 2**24 colours): half the int64 inverse's memory while the fit runs
            self.inverse = inverse.ravel().astype(np.int32)
            del inverse
            self.path = "unique-colours"
        if self.path == "sklearn":
            # Our own float64 copy (astype always copies), handed to scikit-learn with copy_x=False: it centres
            # this copy in place instead of making a second one (the same arithmetic on the same values).
            features = image.reshape(-1, self.n_channels).astype(np.float64)
            if position_weight > 0:
                grids = np.indices(self.shape, dtype=np.float64).reshape(len(self.shape), -1).T
                features = np.concatenate([features, position_weight * grids], axis=1)
            self.points = features
            self.weights = None

    def _coarse_to_fine(self, k, n_init, rng):
        """Seeded starts on quantised colour means, then exact Lloyd refinement of the best starts.

        Each coarse point is the exact weighted mean of the colours in its bin, so the coarse
        inertia differs from the full inertia (for the same bin-constant assignment) by a
        constant: the coarse problem ranks starts faithfully, and the refinement on the
        distinct colours makes the final inertia the exact pixel inertia.
        """
        bits = 5
        while True:
            shift = 8 - bits
            codes = (self.points // (1 << shift)) @ np.array([float(1 << (2 * bits)), float(1 << bits), 1.0])
            _, coarse_inv = np.unique(codes, return_inverse=True)
            if coarse_inv.max() + 1 <= _COARSE_ABOVE or bits == 3:
                break
            bits -= 1
        coarse_w = np.bincount(coarse_inv, self.weights)
        coarse = np.stack([np.bincount(coarse_inv, self.weights * self.points[:, d]) / coarse_w
                           for d in range(3)], axis=1)
        del codes, coarse_inv  # per distinct colour: not needed by the starts and the refinement
        if coarse.shape[0] < k:
            return weighted_kmeans(self.points, self.weights, k, n_init=n_init, rng=rng)
        gen_seeds = np.random.default_rng(rng).integers(0, 2**31, n_init)
        starts = sorted((weighted_kmeans(coarse, coarse_w, k, n_init=1, rng=int(seed)) for seed in gen_seeds),
                        key=lambda r: r[2])
        best = None
        for _, centers, _ in starts[:_REFINE]:
            result = weighted_kmeans(self.points, self.weights, k, init=centers)
            if best is None or result[2] < best[2]:
                best = result
        return best

    @property
    def n_distinct(self):
        if self.weights is not None:
            return self.points.shape[0]
        if self.more_than:  # more than any k: the exact count changes nothing (and np.unique would copy)
            return self.more_than + 1
        return np.unique(self.points, axis=0).shape[0] if self.points.shape[0] <= 4_000_000 else self.points.shape[0]

    def fit(self, k, n_init, rng):
        """Return (labels of the points, centres, inertia)."""
        return self.fit_all([k], n_init, rng)[k]

    def fit_all(self, ks, n_init, rng):
        """Return {k: (labels of the points, centres, inertia)} for every k in `ks`."""
        if self.path == "histogram-dp":
            # One exact DP serves every k (the 'auto' curve costs one table, not one per k); the centres and
            # the inertia come from the histogram, never from the pixels.
            values = self.points[:, 0]
            partitions = _optimal_partitions(values, self.weights, list(ks))
            fits = {}
            for k, assignment in partitions.items():
                centers = (np.bincount(assignment, self.weights * values, k)
                           / np.bincount(assignment, self.weights, k))[:, None]
                inertia = float(np.sum(self.weights * (values - centers[assignment, 0]) ** 2))
                fits[k] = (assignment, centers, inertia)
            return fits
        if self.path == "unique-colours":
            if self.points.shape[0] > _COARSE_ABOVE:
                return {k: self._coarse_to_fine(k, n_init, rng) for k in ks}
            return {k: weighted_kmeans(self.points, self.weights, k, n_init=n_init, rng=rng) for k in ks}
        return {k: _sklearn_kmeans(self.points, k, n_init, rng) for k in ks}

    def labels(self, per_point: NDArray[np.int32]) -> NDArray[np.int32]:
        """Spread a label per point to the pixels: one lookup-table pass on the histogram path."""
        if self.codes is not None and self.present is not None:
            table = np.zeros(256 if self.codes.dtype == np.uint8 else 65536, np.int32)
            table[self.present] = per_point
            return _lookup(self.codes, table).reshape(self.shape)
        if self.values is not None:
            return _label_by_value(self.image, self.values, per_point.astype(np.int32, copy=False))
        labels = per_point[self.inverse] if self.inverse is not None else per_point
        return labels.reshape(self.shape).astype(np.int32, copy=False)


def _blocks(size: int) -> range:
    """Starts of the blocks (about 1/16 of the pixels, at least 16384) the block-wise passes walk."""
    return range(0, size, max(1 << 14, -(-size // 16)))


def _flat(image: NDArray[Any]) -> NDArray[Any]:
    return image.reshape(-1)  # a view for the contiguous arrays check_image returns


def _distinct_values(image: NDArray[Any], limit: int) -> tuple[NDArray[Any], NDArray[np.int64]] | None:
    """``np.unique(image, return_counts=True)`` block by block, or None once more than `limit` values show.

    The values (in the image's dtype, sorted) and the counts are those of the whole-image call: each block's
    distinct values are merged into the sorted union and their counts added.
    """
    flat = _flat(image)
    step = _blocks(flat.size).step
    values: NDArray[Any] | None = None
    counts = np.zeros(0, np.int64)
    for start in _blocks(flat.size):
        block_values, block_counts = np.unique(flat[start: start + step], return_counts=True)
        if block_values.size > limit:
            return None
        if values is None:
            values, counts = block_values, block_counts.astype(np.int64)
            continue
        merged, where = np.unique(np.concatenate([values, block_values]), return_inverse=True)
        if merged.size > limit:
            return None
        total = np.zeros(merged.size, np.int64)
        np.add.at(total, where, np.concatenate([counts, block_counts]))
        values, counts = merged, total
    if values is None:
        return None
    return values, counts


def _label_by_value(image: NDArray[Any], values: NDArray[Any], table: NDArray[np.int32]) -> NDArray[np.int32]:
    """``table[index of each pixel's value in values]`` as int32 (the lookup through np.unique's inverse), block
    by block, with no per-pixel index array.

    `values` are sorted and distinct and every pixel holds one of them, so a pixel's index is ``i`` exactly when
    it is ``>= values[i]`` and ``< values[i + 1]``. The table is constant on runs of consecutive values (k
    contiguous groups for 1-D k-means), so a pixel's run is the number of run starts ``<=`` it: one comparison
    per run start (a binary search per pixel was 10x slower) and one lookup.
    """
    starts = np.flatnonzero(table[1:] != table[:-1]) + 1
    run_labels = table[np.concatenate(([0], starts))].astype(np.int32)
    firsts = values[starts]
    flat = _flat(image)
    out = np.empty(flat.size, np.int32)
    step = _blocks(flat.size).step
    run = np.empty(min(step, flat.size), np.int32)
    above = np.empty(run.size, bool)
    for start in _blocks(flat.size):
        block = flat[start: start + step]
        n = block.size
        if firsts.size > 64:  # not 1-D k-means' runs; still exact: the run starts are sorted values
            np.take(run_labels, np.searchsorted(firsts, block, side="right"), out=out[start: start + n])
            continue
        run[:n] = 0
        for first in firsts:
            np.greater_equal(block, first, out=above[:n])
            run[:n] += above[:n]
        np.take(run_labels, run[:n], out=out[start: start + n])
    return out.reshape(image.shape)


def _unsigned_codes(image: NDArray[Any]) -> tuple[NDArray[Any] | None, float]:
    """(codes, offset) with ``value == code - offset`` for integer images of at most 16 bits, else (None, 0).

    uint8/uint16 are their own codes; int8/int16 are shifted by 128/32768 (the sign bit flipped), which keeps
    the order of the values, so the histogram of the codes is the value histogram.
    """
    if image.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(image), 0.0
    if image.dtype in (np.int8, np.int16):
        unsigned = np.uint8 if image.dtype == np.int8 else np.uint16
        sign = unsigned(1 << (8 * image.dtype.itemsize - 1))
        return np.bitwise_xor(np.ascontiguousarray(image).view(unsigned), sign), float(sign)
    return None, 0.0


def _lookup(codes: NDArray[Any], table: NDArray[np.int32]) -> NDArray[np.int32]:
    """``table[codes]`` as int32: cv2.LUT on 2-D views (OpenCV splits their rows over its threads) for 8-bit
    codes, np.take in parts on threads for 16-bit codes."""
    from seglab.threshold import row_views, run_parts

    flat = codes.reshape(-1)
    out = np.empty(flat.size, np.int32)
    if codes.dtype == np.uint8:
        import cv2

        for source, target in zip(row_views(flat), row_views(out)):
            cv2.LUT(source, table, dst=target)
        return out

    def part(bounds: tuple[int, int]) -> None:
        np.take(table, flat[bounds[0]: bounds[1]], out=out[bounds[0]: bounds[1]])

    run_parts(part, flat.size, max_part=1 << 28)
    return out


@validated
def kmeans(image: ArrayLike, *, n_clusters: int = 3, k_min: int = 2, k_max: int = 8, position_weight: float = 0.0,
           rng: int = 0, n_init: int = 10) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Cluster pixel values with k-means; label clusters 1..k from dark to bright.

    Every pixel belongs to a cluster, so label 0 is never used. Labels are
    ordered by the cluster centre's intensity (the mean over channels, ties
    broken by the channels in order), which makes the result independent of
    the initialisation order: label 1 is the darkest cluster.

    The objective is scikit-learn's inertia: the sum over pixels of the squared
    Euclidean distance between the pixel's features and its centre. Features
    are the pixel value(s) in the image's own units (no rescaling), plus
    ``position_weight * (row, col)`` (or ``(plane, row, col)``) when
    `position_weight` > 0.

    How it is computed (same objective in every case):

    * single-channel image with at most 1024 distinct values (every 8-bit
      image) and no position features: the exact global optimum, by dynamic
      programming over the value histogram (optimal 1-D k-means). The
      partition equals multi-Otsu's with ``classes=k``: pixel classes are
      ``np.digitize(image, thresholds, right=True)``, where `thresholds` are
      ``skimage.filters.threshold_multiotsu(image, classes=k)``, up to ties
      between equally good partitions (multi-Otsu scores in float32). `rng`
      and `n_init` play no role.
    * 8-bit RGB, no position features: weighted k-means on the distinct
      colours (their counts as weights), seeded k-means++ and `n_init`
      starts, float64 Lloyd iterations. The reported inertia equals the
      inertia over all pixels. With more than 4096 distinct colours the
      starts run on the means of a 5-bit-per-channel quantisation (coarser
      if needed) and the best one is refined on the exact colours.
    * otherwise: :class:`sklearn.cluster.KMeans` (``n_init``,
      ``random_state=rng``) on the pixel features.

    Parameters
    ----------
    image : (M, N[, 3]) or (P, M, N[, 3]) ndarray
        Gray or RGB image or volume.
    n_clusters : int or 'auto'
        Number of clusters k. ``'auto'`` fits every k in ``k_min..k_max`` and
        picks the knee of the inertia curve (:func:`choose_knee`). The default
        is a fixed 3 (dark / mid / bright): predictable and one fit only;
        the knee is a heuristic to opt into.
    k_min, k_max : int
        Range of k tried by ``'auto'`` (inclusive).
    position_weight : float
        Weight of the pixel coordinates appended to the features; 0 (default)
        clusters values only.
    rng : int
        Seed (k-means++ starts, ``random_state`` of scikit-learn).
    n_init : int
        Number of seeded starts; the lowest inertia wins.

    Returns
    -------
    labels : ndarray of int32
        Cluster labels 1..k, spatial shape of `image`.
        ``seglab.segment(image, "kmeans").info`` holds the values it chose: ``n_clusters``,
        ``inertia`` (float), ``centers`` (list of lists, in label order), ``path``
        (``'histogram-dp'``, ``'unique-colours'`` or ``'sklearn'``); for ``'auto'`` also
        ``k_values`` and ``inertias`` (ndarrays, so they become ``result.extras``) and
        ``chosen_by='knee'``.

    Raises
    ------
    ParameterError
        ``k_min > k_max``, or out-of-range values.
    MissingDependencyError
        The scikit-learn path is needed but scikit-learn is not installed.

    Warns
    -----
    SeglabWarning
        The image has fewer distinct feature vectors than `n_clusters`: each
        distinct value becomes its own cluster (fewer than asked).

    References
    ----------
    .. [1] Lloyd, S. (1982). Least squares quantization in PCM. IEEE Trans.
           Inf. Theory 28(2), 129-137. :DOI:`10.1109/TIT.1982.1056489`
    .. [2] Wang, H. & Song, M. (2011). Ckmeans.1d.dp. The R Journal 3(2).
           :DOI:`10.32614/RJ-2011-015`
    .. [3] Arthur, D. & Vassilvitskii, S. (2007). k-means++.
           :DOI:`10.1145/1283383.1283494`
    .. [4] Liao, P.-S., Chen, T.-S. & Chung, P.-C. (2001). A fast algorithm for
           multilevel thresholding. J. Inf. Sci. Eng. 17(5), 713-727.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 10, 200], [90, 90, 200]], np.uint8)
    >>> kmeans(image, n_clusters=3).tolist()
    [[1, 1, 3], [2, 2, 3]]
    >>> import seglab  # the inertia (and the elbow when k is chosen) come with the registry's result
    >>> seglab.segment(image, "kmeans", n_clusters=3).info["inertia"]
    0.0
    """
    array, image_info = check_image(image)
    auto = isinstance(n_clusters, str)
    if auto and n_clusters != "auto":
        raise ParameterError(f"`n_clusters` got {n_clusters!r}; expected an integer in [2, 20] or 'auto'")
    for name, value, low in (("k_min", k_min, 2), ("k_max", k_max, 2), ("n_init", n_init, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(f"`{name}` got {value!r}; expected an integer >= {low}")
    if not auto and (isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer))
                     or not 2 <= n_clusters <= 20):
        raise ParameterError(f"`n_clusters` got {n_clusters!r}; expected an integer in [2, 20] or 'auto'")
    if auto and k_min > k_max:
        raise ParameterError(f"`k_min` ({k_min}) must not exceed `k_max` ({k_max}); swap them or widen the range")
    if not position_weight >= 0:
        raise ParameterError(f"`position_weight` got {position_weight!r}; expected a number >= 0")

    problem = _Problem(array, image_info.is_color, float(position_weight))
    distinct = problem.n_distinct
    wanted = list(range(int(k_min), int(k_max) + 1)) if auto else [int(n_clusters)]
    usable = [k for k in wanted if k <= distinct]
    if not usable:
        warnings.warn(
            f"the image has only {distinct} distinct value(s), fewer than the {wanted[0]} cluster(s) asked; "
            f"each distinct value is its own cluster ({distinct} cluster(s))",
            SeglabWarning,
            stacklevel=2,
        )
        usable = [distinct]
    fits = problem.fit_all(usable, int(n_init), int(rng))
    info: dict = {}
    if auto:
        k_values = np.array(usable)
        inertias = np.array([fits[k][2] for k in usable])
        chosen = choose_knee(k_values, inertias)
        info.update(k_values=k_values, inertias=inertias, chosen_by="knee")
    else:
        chosen = usable[0]
    point_labels, centers, inertia = fits[chosen]
    order = _order_by_intensity(centers[:, : problem.n_channels])
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    labels = problem.labels(rank[point_labels])
    info = {"n_clusters": int(chosen), "inertia": float(inertia),
            "centers": centers[order].tolist(), "path": problem.path, **info}
    return labels, info
