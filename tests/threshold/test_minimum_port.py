"""threshold 'minimum' from a histogram: the port with a vectorised maxima search equals scikit-image's."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.threshold._histogram import _minimum

filters = pytest.importorskip("skimage.filters")


def _histograms():
    gen = np.random.default_rng(0)
    for trial in range(600):
        n = int(gen.integers(3, 400))
        kind = trial % 5
        x = np.arange(n)
        if kind == 0:
            counts = gen.integers(0, 50, n)
        elif kind == 1:  # two bumps and noise: the case the method is for
            counts = (1000 * np.exp(-((x - n * 0.3) / (n * 0.1 + 1)) ** 2)
                      + 800 * np.exp(-((x - n * 0.7) / (n * 0.08 + 1)) ** 2)).astype(np.int64) + gen.integers(0, 30, n)
        elif kind == 2:  # plateaus: equal neighbours must change nothing
            counts = np.repeat(gen.integers(0, 5, n // 4 + 1), 4)[:n]
        elif kind == 3:
            counts = gen.integers(0, 3, n) * 10
        else:
            counts = (gen.random(n) < 0.3) * gen.integers(1, 100000, n)
        counts = counts.astype(np.int64)
        counts[0] += 1
        counts[-1] += 1
        yield counts, np.arange(n) + int(gen.integers(0, 100))


def test_minimum_port_equals_skimage_or_fails_alike():
    equal = failed = 0
    for counts, centers in _histograms():
        try:
            expected = filters.threshold_minimum(hist=(counts, centers))
        except RuntimeError:
            with pytest.raises(RuntimeError, match="Unable to find two maxima|Maximum iteration"):
                _minimum(counts, centers)
            failed += 1
            continue
        assert _minimum(counts, centers) == expected
        equal += 1
    assert equal > 400 and failed > 0  # both outcomes are exercised


def test_minimum_port_stops_at_the_iteration_limit_as_skimage():
    counts = np.array([5, 1, 5, 1, 5, 1, 5, 1, 5], np.int64)
    with pytest.raises(RuntimeError) as expected:
        filters.threshold_minimum(hist=(counts, np.arange(9)), max_num_iter=1)
    with pytest.raises(RuntimeError, match="Unable to find two maxima|Maximum iteration") as got:
        _minimum(counts, np.arange(9), max_num_iter=1)
    assert ("two maxima" in str(expected.value)) == ("two maxima" in str(got.value))
