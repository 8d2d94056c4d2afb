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


def main(argv=None) -> int:
    import os
    import platform

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="Otsu on the 17480 x 8026 slice size")
    parser.add_argument("--out", default=str(HERE / "MISSES.md"))
    args = parser.parse_args(argv)
    rows = otsu_rows(args.big) + local_rows()
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
