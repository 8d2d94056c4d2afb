import importlib.util
import sys
from pathlib import Path

import pytest


def _load_toys():
    name = "seglab_compare_toys_helper"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_toys.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def toys(monkeypatch):
    """The toy registry entries of _toys.py, installed for one test."""
    from seglab.testing import isolated_registry

    module = _load_toys()
    module.install(monkeypatch)
    with isolated_registry() as registry:
        module.register_into(registry)
        yield module


def _sleep_a_minute(image, *, threshold=100.0):
    import time

    import numpy as np

    time.sleep(60.0)
    return np.asarray(image) > threshold


@pytest.fixture
def over_budget(monkeypatch, seglab_registry):
    """Register 'toy_slow' (sleeps a minute) and return ``run(budget, **compare_kwargs) -> seconds``.

    ``run`` compares otsu and toy_slow on two images under a per-method budget of `budget` seconds and
    checks the rows: otsu scored on both images, toy_slow stopped on the first and skipped on the second.
    """
    import time
    import types

    import numpy as np

    from seglab._core.registry import MethodSpec, Param
    from seglab.compare import compare

    module = types.ModuleType("seglab_test_budget")
    module.slow = _sleep_a_minute
    monkeypatch.setitem(sys.modules, module.__name__, module)
    seglab_registry.register(MethodSpec("toy_slow", "toy", f"{module.__name__}:slow", "mask", "sleeps a minute",
                                        params=(Param("threshold", "float", 100.0, min=0.0, max=255.0),)),
                             replace=True)

    def run(budget, **compare_kwargs):
        truth = np.zeros((32, 32), bool)
        truth[8:20, 6:24] = True
        image = np.where(truth, 180, 30).astype(np.uint8)
        start = time.monotonic()
        rows = compare([image, image], [truth, truth], "otsu,toy_slow", method_timeout=budget,
                       measure_memory=False, **compare_kwargs)
        elapsed = time.monotonic() - start
        by = {(r["image"], r["method"]): r for r in rows}
        assert by[("image0", "otsu")]["f1"] == 1.0 and by[("image1", "otsu")]["f1"] == 1.0
        assert f"over the method time budget ({budget:g} s" in by[("image0", "toy_slow")]["error"]
        assert "stopped after" in by[("image0", "toy_slow")]["error"]
        assert "on earlier images" in by[("image1", "toy_slow")]["error"]
        return elapsed

    return run
