"""Gray k-means from one histogram pass: the same labels, centres and inertia as the pixel-wise code it replaced.

The reference below is the code path kmeans ran before issue 13's third round (np.unique over the pixels, the
textbook ``cost[i, j]`` DP, labels gathered through the unique inverse). The fast path (cv2.calcHist, the DP on
the bins, one lookup-table pass) must agree with it exactly: labels, centres, inertia, the 'auto' curve.
"""

from __future__ import annotations

import multiprocessing
import warnings

import numpy as np
import pytest

import seglab
from seglab.cluster import choose_knee
from seglab.cluster._kmeans import _optimal_partitions
from seglab.threshold import full_histogram

skimage_data = pytest.importorskip("skimage.data")
cv2 = pytest.importorskip("cv2")


def _reference_dp(values, weights, k):
    """The optimal 1-D k-means DP as it was (table cost[i, j], argmin over axis 0)."""
    v = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    n = v.size
    v = v - np.average(v, weights=w)
    cw = np.concatenate(([0.0], np.cumsum(w)))
    c1 = np.concatenate(([0.0], np.cumsum(w * v)))
    c2 = np.concatenate(([0.0], np.cumsum(w * v * v)))
    i_idx = np.arange(n + 1)[:, None]
    j_idx = np.arange(n + 1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        wsum = cw[j_idx] - cw[i_idx]
        s1 = c1[j_idx] - c1[i_idx]
        cost = (c2[j_idx] - c2[i_idx]) - s1 * s1 / wsum
    cost = np.where(j_idx > i_idx, np.maximum(cost, 0.0), np.inf)
    best = cost[0].copy()
    back = np.zeros((k, n + 1), np.int64)
    for m in range(1, k):
        total = best[:, None] + cost
        arg = np.argmin(total, axis=0)
        back[m] = arg
        best = total[arg, np.arange(n + 1)]
    assignment = np.empty(n, np.int64)
    end = n
    for m in range(k - 1, -1, -1):
        start = back[m, end] if m > 0 else 0
        assignment[start:end] = m
        end = start
    return assignment


def _reference_fit(values, counts, k):
    w = counts.astype(np.float64)
    v = values.astype(np.float64)
    assignment = _reference_dp(v, w, k)
    centers = np.bincount(assignment, w * v, k) / np.bincount(assignment, w, k)
    inertia = float(np.sum(w * (v - centers[assignment]) ** 2))
    return assignment, centers, inertia


def _reference(image, n_clusters, k_min=2, k_max=8):
    """(labels, centres, inertia, k_values, inertias) of the pre-round-3 gray path."""
    values, inverse, counts = np.unique(image.ravel(), return_inverse=True, return_counts=True)
    ks = list(range(k_min, k_max + 1)) if n_clusters == "auto" else [n_clusters]
    ks = [k for k in ks if k <= values.size] or [values.size]
    fits = {k: _reference_fit(values, counts, k) for k in ks}
    inertias = np.array([fits[k][2] for k in ks])
    chosen = choose_knee(np.array(ks), inertias) if n_clusters == "auto" else ks[0]
    assignment, centers, inertia = fits[chosen]
    order = np.argsort(centers, kind="stable")
    rank = np.empty(chosen, np.int32)
    rank[order] = np.arange(1, chosen + 1, dtype=np.int32)
    labels = rank[assignment][inverse.ravel()].reshape(image.shape)
    return labels, centers[order], inertia, np.array(ks), inertias


def _images():
    gen = np.random.default_rng(7)
    camera = skimage_data.camera()
    return {
        "camera uint8": camera,
        "coins uint8 (strided view)": skimage_data.coins()[::2, ::3],
        "normal uint8 1500x1500 (split passes)": np.clip(gen.normal(110, 40, (1500, 1500)), 0, 255).astype(np.uint8),
        "uint8 volume": gen.integers(0, 256, (3, 40, 50)).astype(np.uint8),
        "uint16, 300 values": (gen.integers(0, 300, (120, 90)) * 151).astype(np.uint16),
        "int8": gen.integers(-128, 128, (60, 70)).astype(np.int8),
        "int16, negative": gen.integers(-30000, -29700, (50, 80)).astype(np.int16),
        "float32, 21 values (old path)": (gen.integers(0, 21, (40, 50)) / 4).astype(np.float32),
        # Exact ties between partitions: equally spaced values with equal counts (k=4 of 6 values has several
        # optimal splits; the first one found must stay the one returned).
        "ties, equal counts": np.tile(np.arange(6, dtype=np.uint8) * 10, (8, 4)),
        "ties, mirrored counts": np.repeat(np.array([0, 1, 2, 3, 4, 5, 6, 7], np.uint8),
                                           [5, 9, 9, 5, 5, 9, 9, 5]).reshape(4, 14),
    }


@pytest.mark.parametrize("name", list(_images()))
@pytest.mark.parametrize("k", [2, 3, 4, 7, "auto"])
def test_gray_fast_path_equals_the_pixelwise_reference(name, k):
    image = _images()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seglab.SeglabWarning)  # fewer distinct values than k on the tie images
        result = seglab.segment(image, "kmeans", n_clusters=k, k_min=2, k_max=6)
    labels, centers, inertia, k_values, inertias = _reference(image, k, 2, 6)
    assert result.info["path"] == "histogram-dp"
    assert result.data.dtype == np.int32
    np.testing.assert_array_equal(result.data, labels)
    assert result.info["centers"] == [[c] for c in centers.tolist()]
    assert result.info["inertia"] == inertia
    if k == "auto":
        np.testing.assert_array_equal(result.extras["k_values"], k_values)
        np.testing.assert_array_equal(result.extras["inertias"], inertias)


def test_wide_uint16_still_goes_to_sklearn():
    """More than 1024 distinct values: no exact DP (a 1024**2 table is the limit), scikit-learn as before."""
    image = np.random.default_rng(1).integers(0, 65535, (60, 70)).astype(np.uint16)
    info = seglab.segment(image, "kmeans", n_clusters=3).info
    assert info["path"] == "sklearn"


def test_histogram_split_over_threads_equals_bincount():
    image = np.random.default_rng(2).integers(0, 256, (2100, 1300)).astype(np.uint8)  # several parts
    np.testing.assert_array_equal(full_histogram(image), np.bincount(image.ravel(), minlength=256))
    wide = np.random.default_rng(3).integers(0, 65536, (1500, 1500)).astype(np.uint16)
    np.testing.assert_array_equal(full_histogram(wide), np.bincount(wide.ravel(), minlength=65536))


def test_one_opencv_thread_gives_the_same_labels():
    image = np.clip(np.random.default_rng(4).normal(90, 30, (1500, 1500)), 0, 255).astype(np.uint8)
    threaded = seglab.segment(image, "kmeans", n_clusters=4)
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        single = seglab.segment(image, "kmeans", n_clusters=4)
    finally:
        cv2.setNumThreads(before)
    np.testing.assert_array_equal(threaded.data, single.data)
    assert threaded.info["inertia"] == single.info["inertia"]


def _child_histogram(queue):
    image = np.arange(1500 * 1500, dtype=np.int64).reshape(1500, 1500).astype(np.uint8)
    queue.put(int(full_histogram(image)[7]))


def test_split_passes_work_in_a_forked_child():
    """A forked worker (dask, multiprocessing) inherits the pool object but not its threads: it must make its own."""
    image = np.zeros((1500, 1500), np.uint8)
    full_histogram(image)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12 warns on fork with threads
        process = context.Process(target=_child_histogram, args=(queue,))
        process.start()
    try:
        count = queue.get(timeout=60)
    finally:
        process.join(timeout=60)
    assert count == -(-1500 * 1500 // 256)  # values 0..255 repeat; 7 < 2250000 % 256 (= 16) gets the extra one


# -- k <= 3: the bounded DP (issue 13, round 4) ------------------------------------------------------------------
# Only the table cells that a split cheaper than a feasible partition's cost can use are computed: the splits must
# be the full DP's, bit for bit, ties included (the full DP returns the first minimum).
def _histograms():
    gen = np.random.default_rng(11)
    cases = []
    for trial in range(240):
        n = int(gen.integers(3, 300))
        kind = trial % 6
        if kind == 0:
            weights = gen.integers(1, 1000, n).astype(float)
        elif kind == 1:  # equal counts on equally spaced values: many exactly tied partitions
            weights = np.ones(n)
        elif kind == 2:  # one bump, as a natural image's histogram
            weights = np.round(np.exp(-((np.arange(n) - n / 2) / (n / 6 + 1)) ** 2) * 1e5) + 1
        elif kind == 3:  # mirrored counts: the two 3-group splits are tied
            weights = np.tile([5.0, 9, 9, 5], n)[:n]
        elif kind == 4:  # huge and tiny bins
            weights = (gen.random(n) < 0.5) * 1e6 + 1
        else:  # counts near a big image's (millions), two values only
            weights = gen.integers(1, 3, n).astype(float) * 4e6
        if trial % 3:
            values = np.sort(gen.choice(np.arange(-500, 500), n, replace=False)).astype(float)
        else:
            values = np.arange(n) * 10.0
        cases.append((values, weights))
    return cases


@pytest.mark.parametrize("ks", [[3], [2, 3], [2]])
def test_bounded_dp_equals_the_full_dp(ks):
    for values, weights in _histograms():
        got = _optimal_partitions(values, weights, ks)
        for k in ks:
            np.testing.assert_array_equal(got[k], _reference_dp(values, weights, k))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int16])
@pytest.mark.parametrize("shape", [(3, 5), (257, 3), (31, 17, 9), (1000, 1001)])
def test_kmeans_k3_equals_the_pixelwise_reference(dtype, shape):
    gen = np.random.default_rng(shape[0])
    info = np.iinfo(dtype)
    low, high = max(info.min, -300), min(info.max, 255 if dtype == np.uint8 else 700)
    image = gen.normal((low + high) / 2, (high - low) / 5, shape).clip(low, high).astype(dtype)
    result = seglab.segment(image, "kmeans", n_clusters=3)
    labels, centers, inertia, _, _ = _reference(image, 3)
    assert result.info["path"] == "histogram-dp"
    np.testing.assert_array_equal(result.data, labels)
    assert result.info["centers"] == [[c] for c in centers.tolist()]
    assert result.info["inertia"] == inertia
