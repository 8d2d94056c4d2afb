"""hysteresis without scikit-image's per-label float sums equals skimage.filters.apply_hysteresis_threshold."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.filters import apply_hysteresis_threshold

from seglab.threshold import hysteresis


def _images():
    rng = np.random.default_rng(5)
    return {
        "camera": data.camera(),
        "coins, odd crop": data.coins()[3:200, 5:301],
        "noise float": rng.normal(0, 1, (67, 45)),
        "noise 3-D uint16": (rng.random((9, 31, 27)) * 4000).astype(np.uint16),
        "two rows": rng.integers(0, 255, (2, 80)).astype(np.uint8),
    }


@pytest.mark.parametrize("name", list(_images()))
@pytest.mark.parametrize("fractions", [(0.3, 0.7), (0.5, 0.5), (0.1, 0.95), (0.0, 1.0)])
def test_equals_scikit_image(name, fractions):
    image = _images()[name]
    lo, hi = float(image.min()), float(image.max())
    low, high = (lo + f * (hi - lo) for f in fractions)
    expected = apply_hysteresis_threshold(image, low, high)
    np.testing.assert_array_equal(hysteresis(image, low=low, high=high), expected)
    # invert (dark objects: pixels <= high, kept where their component holds one <= low), as it was written
    np.testing.assert_array_equal(hysteresis(image, low=low, high=high, invert=True), _inverted(image, low, high))


def _inverted(image, low, high):
    from scipy import ndimage as ndi

    labels, count = ndi.label(image <= high)
    keep = np.zeros(count + 1, bool)
    keep[np.unique(labels[image <= low])] = True
    keep[0] = False
    return keep[labels]


def test_default_thresholds_unchanged_on_coins():
    image = data.coins()
    mask = hysteresis(image)
    import seglab

    info = seglab.segment(image, "hysteresis").info
    np.testing.assert_array_equal(mask, apply_hysteresis_threshold(image, info["low"], info["high"]))
