"""Measured runs on the threads of one process (a dask worker with several threads) keep apart.

tracemalloc and the warning filters are process-wide. When each run started and stopped them itself, the
first run to end stopped tracing under the other (in CPython 3.11 a use-after-free: compare on a threaded
worker crashed the interpreter inside scipy.ndimage.label) and interleaved ``catch_warnings`` mixed the
threads' warnings. These tests make two runs overlap deterministically and check what each one reports.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc
import types
import warnings

import numpy as np

from seglab._core.pipeline import Pipeline
from seglab._core.registry import MethodSpec, Param
from seglab.compare._compare import _PROBES, run_pipeline_measured

GATES: dict[str, threading.Event] = {}
SEEN: dict[str, bool] = {}


def _gated(image, *, who=0):
    """Warn with the caller's name; run 1 waits inside until run 0 has finished, then looks at tracemalloc."""
    warnings.warn(f"from run {who}", UserWarning, stacklevel=1)
    if who == 0:
        GATES["zero_inside"].set()
        GATES["one_inside"].wait(10)
    else:
        GATES["one_inside"].set()
        GATES["zero_done"].wait(10)
        SEEN["tracing_after_zero_ended"] = tracemalloc.is_tracing()
        np.ones(image.shape)  # allocate while the other run's end has passed
    return np.asarray(image) > 100


def _overlapping_runs(monkeypatch, seglab_registry):
    module = types.ModuleType("seglab_test_gated")
    module.gated = _gated
    monkeypatch.setitem(sys.modules, module.__name__, module)
    seglab_registry.register(MethodSpec("toy_gated", "toy", f"{module.__name__}:gated", "mask", "waits for a gate",
                                        params=(Param("who", "int", 0, min=0, max=1),)), replace=True)
    GATES.update(zero_inside=threading.Event(), one_inside=threading.Event(), zero_done=threading.Event())
    SEEN.clear()
    image = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    results: dict[int, tuple] = {}

    def run(who):
        pipeline = Pipeline.from_dict({"method": {"name": "toy_gated", "params": {"who": who}}})
        with _PROBES.holding():
            results[who] = run_pipeline_measured(pipeline, image)
        if who == 0:
            GATES["zero_done"].set()

    zero = threading.Thread(target=run, args=(0,))
    zero.start()
    assert GATES["zero_inside"].wait(10)
    one = threading.Thread(target=run, args=(1,))  # enters second: run 0 started tracing
    one.start()
    zero.join(20)
    one.join(20)
    return results


def test_overlapping_runs_keep_tracing_and_their_own_warnings(monkeypatch, seglab_registry):
    tracing_before = tracemalloc.is_tracing()
    show_before = warnings.showwarning
    results = _overlapping_runs(monkeypatch, seglab_registry)
    assert set(results) == {0, 1}
    # run 0 ended while run 1 was inside: tracing must still be on for run 1 (it was stopped before the fix)
    assert SEEN["tracing_after_zero_ended"] is True
    assert results[0][3] == ["UserWarning: from run 0"]
    assert results[1][3] == ["UserWarning: from run 1"]
    # tracemalloc cannot tell threads apart: an overlapped run reports no peak rather than the other's
    assert np.isnan(results[0][2]) and np.isnan(results[1][2])
    assert np.array_equal(results[1][0].data, np.arange(64 * 64, dtype=np.uint8).reshape(64, 64) > 100)
    # the process is left as it was found
    assert tracemalloc.is_tracing() is tracing_before
    assert warnings.showwarning is show_before


def test_a_run_alone_reports_its_peak(seglab_registry):
    image = np.zeros((256, 256), np.uint8)
    image[64:192, 64:192] = 200
    pipeline = Pipeline.from_dict({"method": {"name": "otsu", "params": {}}})
    result, _seconds, peak, caught = run_pipeline_measured(pipeline, image)
    # otsu's mask alone is 64 KiB; its peak covers at least that and stays far below a float64 copy per pixel x 8
    assert 0.06 <= peak < 4.0
    assert caught == []
    assert result.data.sum() == 128 * 128
