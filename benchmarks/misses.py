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
"""

from __future__ import annotations

import argparse
import statistics
import sys
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


def _serial_histogram(image):
    """The histogram pass before this round: chunks of 4 Mi pixels, one thread."""
    import cv2

    flat = image.reshape(-1)
    counts = np.zeros(256, np.int64)
    for start in range(0, flat.size, 1 << 22):
        counts += cv2.calcHist([flat[start: start + (1 << 22)].reshape(1, -1)], [0], None, [256], [0, 256]
                               ).ravel().astype(np.int64)
    return counts


def otsu_rows(big: bool) -> list[list[str]]:
    import cv2

    from seglab.threshold import otsu
    from seglab.threshold._histogram import apply_threshold, threshold_from_histogram

    shape = (17480, 8026) if big else (4096, 4096)
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(110, 40, shape), 0, 255).astype(np.uint8)

    def before():
        counts = _serial_histogram(image)
        nonzero = np.flatnonzero(counts)
        lo, hi = nonzero[0], nonzero[-1]
        t = threshold_from_histogram("otsu", counts[lo: hi + 1], np.arange(lo, hi + 1))
        return apply_threshold(image, t)

    # Round-robin, so that the four columns share the same moments of a machine other sessions load too.
    calls = {"after": lambda: otsu(image), "before": before, "floor": lambda: np.copy(image),
             "peer": lambda: cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)}
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(9):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - start)
    after, old, floor, peer = (statistics.median(seconds[n]) for n in ("after", "before", "floor", "peer"))
    assert np.array_equal(before(), otsu(image))
    size = f"{shape[0]}x{shape[1]} uint8"
    return [["otsu", size, "seconds", f"{old:.4f}", f"{after:.4f}", f"cv2 THRESH_OTSU {peer:.4f}",
             f"x floor {old / floor:.2f} -> {after / floor:.2f} (floor {floor:.4f} s)"]]


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
    import os
    import platform

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="Otsu on the 17480 x 8026 slice size")
    parser.add_argument("--out", default=str(HERE / "MISSES.md"))
    parser.add_argument("--only", default="otsu,local",
                        help="comma-separated sections: otsu, local, random_walker, kmeans (default: otsu,local)")
    parser.add_argument("--rw-sizes", default="1024", help="random walker sizes, e.g. 1024,2048")
    parser.add_argument("--bf-cache", default=None, help="folder for the exact bf solutions (bf{n}.npy)")
    parser.add_argument("--kmeans-runs", type=int, default=5)
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    rows = []
    if "otsu" in only:
        rows += otsu_rows(args.big)
    if "local" in only:
        rows += local_rows()
    if "random_walker" in only:
        rows += random_walker_rows([int(n) for n in args.rw_sizes.split(",")], args.bf_cache)
    if "kmeans" in only:
        rows += kmeans_colour_rows(args.kmeans_runs)
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
