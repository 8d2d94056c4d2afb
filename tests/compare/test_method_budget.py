"""compare's per-method time budget: a method over it becomes error rows, the others are scored as usual."""

from __future__ import annotations

import sys
import time
import types

import numpy as np

from seglab._core.registry import MethodSpec, Param
from seglab.compare import compare

MODULE = "seglab_test_budget"


def _slow(image, *, threshold=100.0):
    time.sleep(60.0)
    return np.asarray(image) > threshold


def _install(monkeypatch, seglab_registry):
    module = types.ModuleType(MODULE)
    module.slow = _slow
    monkeypatch.setitem(sys.modules, MODULE, module)
    spec = MethodSpec("toy_slow", "toy", f"{MODULE}:slow", "mask", "sleeps a minute",
                      params=(Param("threshold", "float", 100.0, min=0.0, max=255.0),))
    seglab_registry.register(spec, replace=True)


def test_a_method_over_its_budget_becomes_error_rows(monkeypatch, seglab_registry):
    _install(monkeypatch, seglab_registry)
    truth = np.zeros((32, 32), bool)
    truth[8:20, 6:24] = True
    image = np.where(truth, 180, 30).astype(np.uint8)
    rows = compare([image, image], [truth, truth], "otsu,toy_slow", method_timeout=1.0, measure_memory=False)
    by = {(r["image"], r["method"]): r for r in rows}
    assert by[("image0", "otsu")]["f1"] == 1.0 and by[("image1", "otsu")]["f1"] == 1.0
    assert "over the method time budget (1 s" in by[("image0", "toy_slow")]["error"]
    assert "stopped after" in by[("image0", "toy_slow")]["error"]
    assert "on earlier images" in by[("image1", "toy_slow")]["error"]


def test_the_budget_does_not_change_scores():
    rng = np.random.default_rng(0)
    truth = rng.random((40, 40)) > 0.6
    image = (truth * 120 + rng.integers(0, 90, truth.shape)).astype(np.uint8)
    plain = compare([image], [truth], "otsu,li,local", measure_memory=False)
    budgeted = compare([image], [truth], "otsu,li,local", measure_memory=False, method_timeout=60.0)
    assert [(r["method"], r["f1"]) for r in plain] == [(r["method"], r["f1"]) for r in budgeted]
