"""benchmarks/memory.py --sweep: every method of ours beyond its defaults (dtypes, colour, volume, tune corners)."""

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

memory = pytest.importorskip("benchmarks.memory")


def test_variants_cover_dtypes_colour_volume_and_corners():
    from seglab import get_method

    labels = [v[0] for v in memory.sweep_variants(get_method("kmeans"), 64)]
    for wanted in ("uint8", "uint16", "int16", "float32", "float64", "float64 noisy", "bool", "rgb uint8",
                   "volume uint8", "volume float32", "uint8 n_clusters=8"):
        assert wanted in labels
    volume = {v[0]: v[1] for v in memory.sweep_variants(get_method("otsu"), 64)}["volume uint8"]
    assert volume.shape == (2, 16, 16)  # size/32 planes (at least 2) of size/4 x size/4
    assert "rgb uint8" not in [v[0] for v in memory.sweep_variants(get_method("otsu"), 64)]  # gray only


def test_sweep_measures_our_methods_and_reports_refusals():
    rows = memory.sweep(48, {"otsu", "kmeans", "slic"})
    methods = {r["method"] for r in rows}
    assert methods == {"otsu", "kmeans"}  # slic is one library call: outside the policy, not swept
    by = {(r["method"], r["variant"]): r for r in rows}
    assert by[("otsu", "bool")]["error"].startswith("ImageTypeError")  # refused, reported with its error
    assert by[("otsu", "uint8")]["error"] == "" and 0 <= by[("otsu", "uint8")]["float64_images"] <= 2.0
    assert all(np.isfinite(r["float64_images"]) for r in rows)


def test_time_limit_stops_a_long_warm_up():
    import time

    def slow():
        end = time.monotonic() + 5
        while time.monotonic() < end:
            pass

    result, peak, error = memory._trace(slow, limit=1)
    assert result is None and peak == 0 and error.startswith("not measured: the warm-up call ran over 1 s")
