"""Issue 13's open misses, re-measured side by side in one run: the code before this round's change and after.

``python -m benchmarks.misses [--big] [--out benchmarks/MISSES.md]``

"Before" is the previous code path, reproduced here call for call (it is the scikit-image / serial-histogram call
the old implementation made), so both columns come from the same process, machine load and input:

* Otsu (and every one-pass global method): the histogram pass. Before: ``cv2.calcHist`` over 4 Mi-pixel chunks
  in one thread; after: the same chunks on cv2's threads. Beside: ``cv2.threshold(THRESH_OTSU)`` and the memory
  floor (one read + write pass, ``np.copy``). ``--big`` uses the 17480 x 8026 slice size (seeded synthetic).
* Niblack / Sauvola: peak temporaries (tracemalloc, in float64 images of the input's size) and time on 1024x1024.
  Before: ``skimage.filters.threshold_niblack`` / ``threshold_sauvola``; after: seglab's strip-wise integral images.
* local, method=median: time at block_size 51 (before: scikit-image's ``ndi.median_filter`` path) and at the top of
  the tune range (151), where the old path takes minutes.

Round 4 (``--only otsu,globals,kmeans_gray``; before = the code of round 3, reproduced here call for call):

* otsu: before = round 3's histogram (1-row ``cv2.calcHist`` parts of <= 4 Mi pixels handed to a persistent
  Python thread pool, ``_round3_histogram``), after = ``otsu``. ``--runs N`` repeats the whole round-robin
  measurement N times and reports every run's x floor and x cv2.
* globals: otsu, isodata, li, yen, triangle, mean, minimum on a bimodal 2048x2048 uint8 image (``--big``: also the
  17480 x 8026 slice size), before / after / the scikit-image call (``image > threshold_<m>(image)``; 2048 only) /
  cv2 THRESH_OTSU and THRESH_TRIANGLE / the floor (``np.copy`` of the image: the bool mask is one byte per pixel).
  One more row per size: the histogram pass alone (``full_histogram``, every core) against the same floor, the
  part of every global threshold that no change after it can remove.
* kmeans_gray: 2048x2048 uint8, k=3 and 'auto' (2..8) (``--big``: also the slice size, after and floor only).
  Before: round 3's path (the Python-pool histogram, the full DP table, a Python-pool ``cv2.LUT`` of 1-row parts);
  after: ``kmeans``. Floor: one read + write pass over the
  bytes read and written (uint8 in, int32 labels out: ``np.copy`` of 5 bytes per pixel, as benchmarks/_harness).
  Both sides allocate their output on every call; the minor page faults per call of each are reported (glibc
  hands a freed block of this size back to the next call, so neither pays first-touch faults). One more row: the
  stages of ``kmeans`` alone (histogram, DP, lookup-table pass).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _time(function, repeats=5):
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _peak_units(function, unit):
    function()
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / unit


def _round2_histogram(image):
    """full_histogram before round 3: 4 Mi-pixel chunks of calcHist on a ThreadPoolExecutor made per call."""
    from concurrent.futures import ThreadPoolExecutor

    import cv2

    flat = np.ascontiguousarray(image).reshape(-1)

    def count(start):
        chunk = flat[start: start + (1 << 22)].reshape(1, -1)
        return cv2.calcHist([chunk], [0], None, [256], [0, 256]).ravel().astype(np.int64)

    starts = range(0, flat.size, 1 << 22)
    threads = min(len(starts), max(cv2.getNumThreads(), 1))
    if threads < 2:
        return sum((count(start) for start in starts), np.zeros(256, np.int64))
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(count, starts), np.zeros(256, np.int64))


def _round2_global(image, method):
    from seglab.threshold._histogram import apply_threshold, threshold_from_histogram

    counts = _round2_histogram(image)
    nonzero = np.flatnonzero(counts)
    lo, hi = nonzero[0], nonzero[-1]
    return apply_threshold(image, threshold_from_histogram(method, counts[lo: hi + 1], np.arange(lo, hi + 1)))


def _round3_histogram(image):
    """full_histogram of round 3 (uint8): 1-row calcHist parts of <= 4 Mi pixels on a persistent Python pool."""
    import cv2

    from seglab.threshold import run_parts

    flat = np.ascontiguousarray(image).reshape(-1)

    def count(bounds):
        chunk = flat[bounds[0]: bounds[1]].reshape(1, -1)
        return cv2.calcHist([chunk], [0], None, [256], [0, 256]).ravel().astype(np.int64)

    return sum(run_parts(count, flat.size, max_part=1 << 22), np.zeros(256, np.int64))


def _round3_global(image, method):
    """A global threshold as round 3 computed it (its histogram; minimum through scikit-image's hist= path)."""
    from skimage import filters

    from seglab.threshold._histogram import apply_threshold, threshold_from_histogram

    counts = _round3_histogram(image)
    nonzero = np.flatnonzero(counts)
    lo, hi = nonzero[0], nonzero[-1]
    counts, centers = counts[lo: hi + 1], np.arange(lo, hi + 1)
    if method == "minimum":
        threshold = filters.threshold_minimum(hist=(counts, centers))
    else:
        threshold = threshold_from_histogram(method, counts, centers)
    return apply_threshold(image, threshold)


def _round3_costs(c1: np.ndarray, c2: np.ndarray, cw: np.ndarray, r0: int, r1: int,
                  stop: int, out: np.ndarray, work: np.ndarray) -> None:
    """Write ``cost_t[r0:r1, :stop]`` into `out` (`work`: scratch of the same shape, ``stop >= r0``).

    ``cost_t[j, i] = max((c2[j] - c2[i]) - (c1[j] - c1[i])**2 / (cw[j] - cw[i]), 0)`` for i < j, +inf for
    i >= j: the operations, in the order, of the ``cost[i, j]`` table the DP has always used.
    """
    rows, columns = slice(r0, r1), slice(0, stop)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.subtract(c1[rows, None], c1[None, columns], out=work)
        np.multiply(work, work, out=work)
        np.subtract(cw[rows, None], cw[None, columns], out=out)
        np.divide(work, out, out=work)
        np.subtract(c2[rows, None], c2[None, columns], out=out)
        np.subtract(out, work, out=out)
    np.maximum(out, 0.0, out=out)
    # i >= j only where i >= r0: columns r0.. of the block, on and above its diagonal.
    np.copyto(out[:, r0:], np.inf, where=~np.tri(r1 - r0, stop - r0, -1, dtype=bool))


_ROUND3_SCRATCH = threading.local()
# The two tables of an 8-bit histogram are kept per thread (1 MB): first-touching fresh ones cost more than the DP.
_ROUND3_SIDE = 257


def _round3_tables(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Two contiguous (side, side) float64 work tables; reused per thread for 8-bit histograms."""
    if side > _ROUND3_SIDE:
        return np.empty((side, side)), np.empty((side, side))
    buffer = getattr(_ROUND3_SCRATCH, "buffer", None)
    if buffer is None:
        buffer = _ROUND3_SCRATCH.buffer = np.empty(2 * _ROUND3_SIDE * _ROUND3_SIDE)
    size = side * side
    return buffer[:size].reshape(side, side), buffer[size: 2 * size].reshape(side, side)



def _round3_partitions(v, w, ks):
    """Round 3's DP: the full (n+1)^2 cost table for every k (built by broadcasting subtractions)."""
    n = v.size
    k_max = max(ks)
    v = v - np.average(v, weights=w)
    cw = np.concatenate(([0.0], np.cumsum(w)))
    c1 = np.concatenate(([0.0], np.cumsum(w * v)))
    c2 = np.concatenate(([0.0], np.cumsum(w * v * v)))
    back = np.zeros((k_max, n + 1), np.int64)
    side = n + 1
    cost_t, total = _round3_tables(side)
    _round3_costs(c1, c2, cw, 0, side, side, cost_t, total)
    best = cost_t[:, 0].copy()
    last_row = cost_t[n].copy()
    rows = np.arange(side)
    for m in range(1, k_max - 1):
        np.add(cost_t, best[None, :], out=total)
        arg = np.argmin(total, axis=1)
        back[m] = arg
        best = total[rows, arg]
    back[k_max - 1, n] = int(np.argmin(last_row + best))
    return {k: _backtrack(back, n, k) for k in ks}


def _round3_gray_kmeans(image, ks):
    """kmeans on a uint8 image as round 3 ran it: Python-pool histogram, full DP, Python-pool 1-row cv2.LUT."""
    import cv2

    from seglab.cluster import choose_knee
    from seglab.threshold import run_parts

    counts = _round3_histogram(image)
    present = np.flatnonzero(counts)
    values = present.astype(np.float64)
    weights = counts[present].astype(np.float64)
    fits = {}
    for k, assignment in _round3_partitions(values, weights, ks).items():
        centers = np.bincount(assignment, weights * values, k) / np.bincount(assignment, weights, k)
        fits[k] = (assignment, centers, float(np.sum(weights * (values - centers[assignment]) ** 2)))
    chosen = choose_knee(ks, [fits[k][2] for k in ks]) if len(ks) > 1 else ks[0]
    assignment, centers, inertia = fits[chosen]
    rank = np.empty(chosen, np.int32)
    rank[np.argsort(centers, kind="stable")] = np.arange(1, chosen + 1, dtype=np.int32)
    table = np.zeros(256, np.int32)
    table[present] = rank[assignment]
    flat = image.reshape(-1)
    out = np.empty(flat.size, np.int32)

    def part(bounds):
        cv2.LUT(flat[bounds[0]: bounds[1]].reshape(1, -1), table, dst=out[bounds[0]: bounds[1]].reshape(1, -1))

    run_parts(part, flat.size, max_part=1 << 28)
    return out.reshape(image.shape), inertia


def _minor_faults(function, calls=20):
    """Minor page faults per call (first touches of fresh memory), after one warm-up call."""
    import resource

    function()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        function()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / calls


def _round_robin(calls, rounds):
    """Median seconds of each call, the calls interleaved so that they share the machine's moments.

    The order rotates every round: a call after one that churned the allocator (scikit-image's float64
    temporaries) pays fresh page faults for its output, so no call may always follow the same one."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for call in calls.values():
        call()
    for index in range(rounds):
        for name in names[index % len(names):] + names[: index % len(names)]:
            start = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def otsu_rows(big: bool, runs: int = 1) -> list[list[str]]:
    import cv2

    from seglab.threshold import otsu

    shape = (17480, 8026) if big else (4096, 4096)
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(110, 40, shape), 0, 255).astype(np.uint8)

    # Round-robin, so that the four columns share the same moments of a machine other sessions load too.
    calls = {"after": lambda: otsu(image), "before": lambda: _round3_global(image, "otsu"),
             "floor": lambda: np.copy(image),
             "peer": lambda: cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)}
    assert np.array_equal(_round3_global(image, "otsu"), otsu(image))
    assert np.array_equal(otsu(image), cv2.threshold(image, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1] > 0)
    results = []
    for _ in range(runs):
        median = _round_robin(calls, 9)
        results.append((median, os.getloadavg()[0]))
    size = f"{shape[0]}x{shape[1]} uint8"
    rows = []
    for index, (m, load) in enumerate(results, 1):
        rows.append(["otsu", size, f"seconds (run {index} of {runs}, load {load:.1f})", f"{m['before']:.4f}",
                     f"{m['after']:.4f}", f"cv2 THRESH_OTSU {m['peer']:.4f}",
                     f"x floor {m['before'] / m['floor']:.2f} -> {m['after'] / m['floor']:.2f} (floor "
                     f"{m['floor']:.4f} s); x cv2 {m['after'] / m['peer']:.2f}"])
    return rows


def globals_rows(big: bool) -> list[list[str]]:
    """Every one-pass global threshold: time against the floor, before / after, beside the user's call."""
    import cv2
    from skimage import filters

    from seglab import threshold

    methods = ("otsu", "isodata", "li", "yen", "triangle", "mean", "minimum")
    cv2_flag = {"otsu": cv2.THRESH_OTSU, "triangle": cv2.THRESH_TRIANGLE}
    rows = []
    for shape in [(2048, 2048)] + ([(17480, 8026)] if big else []):
        rng = np.random.default_rng(0)
        size = shape[0] * shape[1]
        # Bimodal (threshold_minimum needs two peaks): two Gaussians, pixels shuffled.
        image = np.concatenate([rng.normal(70, 20, size // 2), rng.normal(170, 25, size - size // 2)])
        image = np.clip(image, 0, 255).astype(np.uint8)
        rng.shuffle(image)
        image = image.reshape(shape)
        small = size <= 1 << 24
        for method in methods:
            function = getattr(threshold, method)
            calls = {"after": lambda: function(image), "before": lambda: _round3_global(image, method),
                     "floor": lambda: np.copy(image)}
            assert np.array_equal(calls["after"](), calls["before"]())
            if small:
                skimage_call = getattr(filters, f"threshold_{method}")
                calls["skimage"] = lambda: image > skimage_call(image)
                assert np.array_equal(calls["after"](), calls["skimage"]())
            if method in cv2_flag:
                flag = cv2_flag[method]
                calls["cv2"] = lambda: cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + flag)
            m = _round_robin(calls, 11 if small else 5)
            beside = "; ".join(f"{name} {m[name]:.4g}" for name in ("skimage", "cv2") if name in m)
            rows.append([method, f"bimodal {shape[0]}x{shape[1]} uint8", "seconds", f"{m['before']:.4g}",
                         f"{m['after']:.4g}", beside,
                         f"x floor {m['before'] / m['floor']:.2f} -> {m['after'] / m['floor']:.2f} (floor "
                         f"{m['floor']:.4g} s, load {os.getloadavg()[0]:.1f})"])
        from seglab.threshold import full_histogram

        m = _round_robin({"histogram": lambda: full_histogram(image), "before": lambda: _round3_histogram(image),
                          "floor": lambda: np.copy(image)}, 21 if small else 5)
        rows.append(["histogram pass alone", f"bimodal {shape[0]}x{shape[1]} uint8", "seconds", f"{m['before']:.4g}",
                     f"{m['histogram']:.4g}", "",
                     f"x floor {m['before'] / m['floor']:.2f} -> {m['histogram'] / m['floor']:.2f} (floor "
                     f"{m['floor']:.4g} s, load {os.getloadavg()[0]:.1f}): the least any global threshold costs"])
    return rows


def _old_kmeans_1d(values, weights, k):
    """The 1-D k-means DP before round 3 (``cost[i, j]``, argmin over axis 0)."""
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
    return _backtrack(back, n, k)


def _backtrack(back, n, k):
    """Group index of each of the n sorted values from the DP's split table (both old DPs end this way)."""
    assignment = np.empty(n, np.int64)
    end = n
    for m in range(k - 1, -1, -1):
        start = back[m, end] if m > 0 else 0
        assignment[start:end] = m
        end = start
    return assignment


def _old_gray_kmeans(image, ks):
    """kmeans on a uint8 image before round 3: bincount, an int64 code per pixel, one DP per k, a per-pixel gather."""
    from seglab.cluster import choose_knee

    counts = np.bincount(image.ravel(), minlength=256)
    present = np.flatnonzero(counts)
    values = present.astype(np.float64)
    weights = counts[present].astype(np.float64)
    lut = np.zeros(256, np.int64)
    lut[present] = np.arange(present.size)
    inverse = lut[image.ravel()]
    fits = {}
    for k in ks:
        assignment = _old_kmeans_1d(values, weights, k)
        centers = np.bincount(assignment, weights * values, k) / np.bincount(assignment, weights, k)
        fits[k] = (assignment, centers, float(np.sum(weights * (values - centers[assignment]) ** 2)))
    chosen = choose_knee(ks, [fits[k][2] for k in ks]) if len(ks) > 1 else ks[0]
    assignment, centers, inertia = fits[chosen]
    rank = np.empty(chosen, np.int32)
    rank[np.argsort(centers, kind="stable")] = np.arange(1, chosen + 1, dtype=np.int32)
    return rank[assignment][inverse].reshape(image.shape).astype(np.int32, copy=False), inertia


def kmeans_gray_slice_rows(runs: int = 1) -> list[list[str]]:
    """Gray k-means on the 17480 x 8026 slice size against the 5-byte floor (the memory-bound regime)."""
    from seglab.cluster import kmeans

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(110, 40, (17480, 8026)), 0, 255).astype(np.uint8)
    source = np.ones(image.size * 5 // 2, np.uint8)  # uint8 read + int32 written: 5 bytes per pixel
    rows = []
    for label, k in (("k=3 (default)", 3), ("'auto' (k 2..8)", "auto")):
        calls = {"after": lambda: kmeans(image, n_clusters=k, k_min=2, k_max=8), "floor": lambda: np.copy(source)}
        for index in range(runs):
            m = _round_robin(calls, 5)
            rows.append(["kmeans gray", f"17480x8026 uint8, {label}",
                         f"seconds (run {index + 1} of {runs}, load {os.getloadavg()[0]:.1f})", "",
                         f"{m['after']:.4f}", "", f"x floor {m['after'] / m['floor']:.2f} (floor "
                         f"{m['floor']:.4f} s, 5 B/px)"])
    return rows


def kmeans_gray_rows(runs: int = 1) -> list[list[str]]:
    import seglab
    from seglab.cluster import _kmeans, kmeans
    from seglab.threshold import full_histogram

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(110, 40, (2048, 2048)), 0, 255).astype(np.uint8)
    source = np.ones(image.size * 5 // 2, np.uint8)  # uint8 read + int32 written: 5 bytes per pixel
    rows = []
    for label, k, ks in (("k=3 (default)", 3, [3]), ("'auto' (k 2..8)", "auto", list(range(2, 9)))):
        old_labels, old_inertia = _round3_gray_kmeans(image, ks)
        result = seglab.segment(image, "kmeans", n_clusters=k, k_min=2, k_max=8)
        assert np.array_equal(old_labels, result.data) and old_inertia == result.info["inertia"]
        calls = {"after": lambda: kmeans(image, n_clusters=k, k_min=2, k_max=8),
                 "before": lambda: _round3_gray_kmeans(image, ks), "floor": lambda: np.copy(source)}
        faults = {name: _minor_faults(call) for name, call in calls.items()}
        for index in range(runs):
            m = _round_robin(calls, 15)
            rows.append(["kmeans gray", f"2048x2048 uint8, {label}",
                         f"seconds (run {index + 1} of {runs}, load {os.getloadavg()[0]:.1f})",
                         f"{m['before']:.4f}", f"{m['after']:.4f}", "",
                         f"x floor {m['before'] / m['floor']:.2f} -> {m['after'] / m['floor']:.2f} (floor "
                         f"{m['floor'] * 1000:.3f} ms, 5 B/px)"])
        rows.append(["kmeans gray", f"2048x2048 uint8, {label}", "minor page faults per call",
                     f"{faults['before']:.1f}", f"{faults['after']:.1f}", "", f"floor {faults['floor']:.1f}"])
    # The stages of the after column, each alone (same image, k=3 and 'auto').
    counts = full_histogram(image)
    present = np.flatnonzero(counts)
    values, weights = present.astype(np.float64), counts[present].astype(np.float64)
    table = np.zeros(256, np.int32)
    table[present] = 1 + (present > 110) + (present > 150)
    m = _round_robin({"histogram": lambda: full_histogram(image), "histogram before": lambda: _round3_histogram(image),
                      "dp k=3": lambda: _kmeans._optimal_partitions(values, weights, [3]),
                      "dp k=3 before": lambda: _round3_partitions(values, weights, [3]),
                      "dp auto": lambda: _kmeans._optimal_partitions(values, weights, list(range(2, 9))),
                      "lut": lambda: _kmeans._lookup(image, table), "floor": lambda: np.copy(source)}, 41)
    rows.append(["kmeans gray stages", "2048x2048 uint8", "ms, median of 41",
                 f"histogram {m['histogram before'] * 1e3:.3f}; dp k=3 {m['dp k=3 before'] * 1e3:.3f}",
                 f"histogram {m['histogram'] * 1e3:.3f}; dp k=3 {m['dp k=3'] * 1e3:.3f}; dp auto "
                 f"{m['dp auto'] * 1e3:.3f}; LUT {m['lut'] * 1e3:.3f}", "",
                 f"floor {m['floor'] * 1e3:.3f} ms (load {os.getloadavg()[0]:.1f})"])
    return rows


def local_rows() -> list[list[str]]:
    import seglab
    from seglab.threshold import local, niblack, sauvola

    image, _ = seglab.data.blobs((1024, 1024), n_blobs=30, seed=5)
    unit = image.size * 8
    rows = []
    from skimage.filters import threshold_local, threshold_niblack, threshold_sauvola

    for name, old_call, new_call in (
        ("niblack", lambda: image > threshold_niblack(image, 15, 0.2), lambda: niblack(image)),
        ("sauvola", lambda: image > threshold_sauvola(image, 15, 0.2), lambda: sauvola(image)),
    ):
        assert np.array_equal(old_call(), new_call())
        out = image.size  # the bool mask, not a temporary
        old_peak = _peak_units(old_call, unit) - out / unit
        new_peak = _peak_units(new_call, unit) - out / unit
        rows.append([name, "1024x1024 uint8, window 15", "peak temporaries (float64 images)", f"{old_peak:.2f}",
                     f"{new_peak:.2f}", "", "policy <= 2"])
        rows.append([name, "1024x1024 uint8, window 15", "seconds", f"{_time(old_call, 3):.4f}",
                     f"{_time(new_call, 3):.4f}", "", ""])
    small = image[:512, :512]
    old_median = lambda: small > threshold_local(small, 51, "median")  # noqa: E731
    new_median = lambda: local(small, block_size=51, method="median")  # noqa: E731
    assert np.array_equal(old_median(), new_median())
    rows.append(["local median", "512x512 uint8, block 51", "seconds", f"{_time(old_median, 1):.3f}",
                 f"{_time(new_median, 5):.4f}", "", "skimage threshold_local is the 'before' path"])
    rows.append(["local median", "512x512 uint8, block 151 (tune max)", "seconds", "minutes (not run)",
                 f"{_time(lambda: local(small, block_size=151, method='median'), 5):.4f}", "", ""])
    return rows



def _old_amg_solve(A, rhs, tol=1e-5, maxiter=500):
    """The AMG solve before issue 13's second round: pyamg's own smoothed_aggregation_solver on the scaled system
    (default near-null space, candidate improvement, spectral-radius Jacobi smoothing), same stopping rule."""
    import pyamg
    from scipy import sparse

    scale = 1.0 / np.sqrt(A.diagonal())
    S = sparse.diags(scale)
    ml = pyamg.smoothed_aggregation_solver((S @ A @ S).tocsr(), symmetry="symmetric",
                                           strength=("symmetric", {"theta": 0.1}), max_coarse=500)
    b = rhs[:, 0]
    norm_b = float(np.linalg.norm(b))
    state = {"it": 0}

    class _Converged(Exception):
        pass

    def check(xk):
        state["it"] += 1
        if state["it"] % 2 == 0 and np.linalg.norm(b - A @ (scale * xk)) <= tol * norm_b:
            state["x"] = scale * xk
            raise _Converged

    try:
        return scale * ml.solve(scale * b, tol=1e-300, maxiter=maxiter, accel="cg", callback=check)
    except _Converged:
        return state["x"]


def random_walker_rows(sizes, bf_cache: str | None) -> list[list[str]]:
    """Random walker, camera upsampled, beta=3000 (benchmarks/cases/interactive.py): scikit-image's default
    (cg_j), the AMG path before and after, agreement with the exact ``bf`` solution. ``bf`` at 2048x2048 takes
    ~5 minutes and 12 GB: pass ``--bf-cache DIR`` holding ``bf{n}.npy`` (written on first use)."""
    import warnings

    from skimage.segmentation import random_walker as sk_random_walker
    from skimage.util import img_as_float

    from benchmarks.cases.interactive import _camera_seeds
    from seglab.interactive._random_walker import _linear_system, random_walker

    rows = []
    for n in sizes:
        image, seeds = _camera_seeds(n)
        cache = Path(bf_cache) / f"bf{n}.npy" if bf_cache else None
        if cache is not None and cache.exists():
            exact, bf_s = np.load(cache), None
        else:
            start = time.perf_counter()
            exact = sk_random_walker(image, seeds, beta=3000, mode="bf")
            bf_s = time.perf_counter() - start
            if cache is not None:
                np.save(cache, exact)

        def before():
            A, rhs, unlabelled = _linear_system(img_as_float(image)[..., None], seeds, np.array([1, 2]), 3000.0,
                                                multichannel=False)
            x = _old_amg_solve(A, rhs)
            out = seeds.astype(np.int32).ravel()
            out[unlabelled] = np.where(x >= 1.0 - x, 1, 2)
            return out.reshape(seeds.shape)

        timed = {}
        for name, call in (("after", lambda: random_walker(image, seeds=seeds, beta=3000, mode="amg")),
                           ("before", before),
                           ("cg_j", lambda: sk_random_walker(image, seeds, beta=3000))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                result = call()
                timed[name] = (time.perf_counter() - start, float(np.mean(result == exact)))
        (after_s, after_eq), (before_s, before_eq), (cg_s, cg_eq) = timed["after"], timed["before"], timed["cg_j"]
        size = f"camera {n}x{n} uint8, beta=3000"
        rows.append(["random_walker amg", size, "seconds", f"{before_s:.2f}", f"{after_s:.2f}",
                     f"skimage cg_j (default) {cg_s:.1f}" + (f"; bf {bf_s:.1f}" if bf_s else ""),
                     f"x faster than cg_j {cg_s / before_s:.1f} -> {cg_s / after_s:.1f} (goal >= 5)"])
        rows.append(["random_walker amg", size, "fraction equal to bf", f"{before_eq:.6f}", f"{after_eq:.6f}",
                     f"skimage cg_j {cg_eq:.6f}", "goal >= 0.999"])
    return rows


def kmeans_colour_rows(runs: int) -> list[list[str]]:
    """Colour k-means vs scikit-learn (KMeans(4, n_init=10, random_state=0)) on BSDS 100007, `runs` separate
    measurements (each the median of 5 calls of ours beside 3 of scikit-learn's); before = three refined starts."""
    from sklearn.cluster import KMeans

    import seglab
    from benchmarks.cases.cluster import _colour_image
    from seglab.cluster import _kmeans

    image, name = _colour_image()
    features = image.reshape(-1, 3).astype(np.float64)
    peer_inertia = KMeans(4, n_init=10, random_state=0).fit(features).inertia_
    ratios: dict[str, list[float]] = {"before": [], "after": []}
    inertia = {}
    refine = _kmeans._REFINE
    for _ in range(runs):
        peer = _time(lambda: KMeans(4, n_init=10, random_state=0).fit(features), 3)
        for label, value in (("before", 3), ("after", refine)):
            _kmeans._REFINE = value
            try:
                ours = _time(lambda: seglab.segment(image, "kmeans", n_clusters=4), 5)
                inertia[label] = seglab.segment(image, "kmeans", n_clusters=4).info["inertia"] / peer_inertia
            finally:
                _kmeans._REFINE = refine
            ratios[label].append(peer / ours)
    rows = [["kmeans colour", f"{name}, k=4", f"x faster than sklearn, min/median/max of {runs} runs",
             " / ".join(f"{f(ratios['before']):.1f}" for f in (min, statistics.median, max)),
             " / ".join(f"{f(ratios['after']):.1f}" for f in (min, statistics.median, max)), "",
             "goal >= 20 every run"],
            ["kmeans colour", f"{name}, k=4", "inertia / sklearn's", f"{inertia['before']:.5f}",
             f"{inertia['after']:.5f}", "", "goal <= 1.01"]]
    return rows


def main(argv=None) -> int:
    import platform

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true",
                        help="also the 17480 x 8026 slice size (otsu, globals, kmeans_gray)")
    parser.add_argument("--out", default=str(HERE / "MISSES.md"))
    parser.add_argument("--only", default="otsu,local",
                        help="comma-separated sections: otsu, local, random_walker, kmeans, globals, kmeans_gray "
                             "(default: otsu,local)")
    parser.add_argument("--rw-sizes", default="1024", help="random walker sizes, e.g. 1024,2048")
    parser.add_argument("--bf-cache", default=None, help="folder for the exact bf solutions (bf{n}.npy)")
    parser.add_argument("--kmeans-runs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1, help="repeat the otsu / kmeans_gray measurement N times")
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    rows = []
    if "otsu" in only:
        rows += otsu_rows(args.big, args.runs)
    if "local" in only:
        rows += local_rows()
    if "random_walker" in only:
        rows += random_walker_rows([int(n) for n in args.rw_sizes.split(",")], args.bf_cache)
    if "kmeans" in only:
        rows += kmeans_colour_rows(args.kmeans_runs)
    if "globals" in only:
        rows += globals_rows(args.big)
    if "kmeans_gray" in only:
        rows += kmeans_gray_rows(args.runs)
        if args.big:
            rows += kmeans_gray_slice_rows(args.runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["# Issue 13 misses: before and after, one run", "",
             f"Run: {time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
             f"load average at the end {load:.1f} (other sessions share the machine: absolute times are inflated, "
             "before/after columns come from the same moments). See the module docstring of benchmarks/misses.py.",
             "", "| method | input | quantity | before | after | beside | note |", "|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
