"""compare's per-method time budget: a method over it becomes error rows, the others are scored as usual."""

from __future__ import annotations

import numpy as np

from seglab.compare import compare


def test_a_method_over_its_budget_becomes_error_rows(over_budget):
    over_budget(1.0)


def test_the_budget_does_not_change_scores():
    rng = np.random.default_rng(0)
    truth = rng.random((40, 40)) > 0.6
    image = (truth * 120 + rng.integers(0, 90, truth.shape)).astype(np.uint8)
    plain = compare([image], [truth], "otsu,li,local", measure_memory=False)
    budgeted = compare([image], [truth], "otsu,li,local", measure_memory=False, method_timeout=60.0)
    assert [(r["method"], r["f1"]) for r in plain] == [(r["method"], r["f1"]) for r in budgeted]
