"""Benchmark harness: seglab vs peers (scikit-image, OpenCV, scikit-learn, SciPy) vs the memory floor.

A family declares its cases in ``benchmarks/cases/<family>.py`` as a function ``cases(quick: bool)`` returning
a list of :class:`Case`. The runner (``python -m benchmarks``) times each callable in the same process
(median of ``repeats`` runs), measures the peak RSS of one extra run of each in a fresh subprocess-free way
(tracked via psutil's RSS high-water sampling), computes the agreement of seglab's output with each peer's,
and writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.json``.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Case:
    """One benchmark row group: a method on one input.

    Attributes
    ----------
    method : str
        Registry name (or step name) being measured.
    input_name : str
        Short description of the input ("camera 512x512 uint8", "synthetic 17480x8026 uint8").
    seglab : callable
        Zero-argument callable running seglab; returns the output array (or any object `agreement` reads).
    peers : dict of str -> callable
        Zero-argument callables running the direct library calls a user would write.
    agreement : callable, optional
        ``agreement(ours, peer_output) -> (label, value)``, e.g. ``("equal", 1.0)`` or ``("IoU", 0.999)``.
    nbytes : int
        Bytes read + written by one pass (for the memory floor); 0 to skip the floor.
    repeats : int
        Timed runs (median reported); >= 5 for small inputs, >= 3 for big ones.
    note : str
        Anything a reader must know (border modes, which peer is exact).
    """

    method: str
    input_name: str
    seglab: Callable[[], Any]
    peers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    agreement: Callable[[Any, Any], tuple[str, float]] | None = None
    nbytes: int = 0
    repeats: int = 5
    note: str = ""


class PeakRSS:
    """Sample the process RSS in a thread; ``peak - baseline`` is the extra memory a call used."""

    def __init__(self, interval: float = 0.002):
        import psutil

        self._process = psutil.Process()
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        gc.collect()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def time_call(function: Callable[[], Any], repeats: int) -> tuple[float, Any, float]:
    """Return (median seconds, last output, extra peak RSS in MiB)."""
    with PeakRSS() as memory:
        output = function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), output, memory.extra_mb


def memory_floor(nbytes: int, repeats: int = 5) -> float:
    """Seconds for one read+write pass over `nbytes` bytes into a new array (np.copy)."""
    source = np.ones(max(nbytes // 2, 1), np.uint8)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copy(source)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def run_case(case: Case) -> dict[str, Any]:
    """Time seglab and every peer for one case and compute agreements."""
    ours_s, ours_out, ours_mb = time_call(case.seglab, case.repeats)
    row: dict[str, Any] = {
        "method": case.method, "input": case.input_name, "seglab_s": ours_s, "seglab_peak_mb": ours_mb,
        "peers": {}, "note": case.note,
    }
    for name, peer in case.peers.items():
        peer_s, peer_out, peer_mb = time_call(peer, case.repeats)
        entry = {"seconds": peer_s, "peak_mb": peer_mb, "ratio": ours_s / peer_s if peer_s > 0 else float("nan")}
        if case.agreement is not None:
            label, value = case.agreement(ours_out, peer_out)
            entry["agreement"] = {"kind": label, "value": float(value)}
        row["peers"][name] = entry
        del peer_out
        gc.collect()
    if case.nbytes:
        floor = memory_floor(case.nbytes)
        row["floor_s"] = floor
        row["floor_ratio"] = ours_s / floor if floor > 0 else float("nan")
    fastest = min((e["seconds"] for e in row["peers"].values()), default=None)
    row["ratio_to_fastest_peer"] = ours_s / fastest if fastest else None
    return row


def synthetic_inputs(spec, shape) -> dict:
    """Seeds, a contour and a rectangle for methods that need user input (the same for every benchmark)."""
    from seglab.interactive.inputs import circle_contour

    rows, cols = shape
    inputs: dict = {}
    if "seeds" in spec.inputs:
        seeds = np.zeros(shape, np.int32)
        seeds[rows // 2 - 5: rows // 2 + 5, cols // 2 - 5: cols // 2 + 5] = 1
        seeds[:4, :4] = 2
        inputs["seeds"] = seeds
    if "contour" in spec.inputs:
        inputs["contour"] = circle_contour(rows / 2, cols / 2, rows / 3)
    if "rect" in spec.inputs:
        inputs["rect"] = (rows // 8, cols // 8, rows * 3 // 4, cols * 3 // 4)
    return inputs
