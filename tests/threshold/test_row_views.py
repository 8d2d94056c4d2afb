"""The 2-D views that let OpenCV split a pass over its own threads: every pixel once, in order, counts exact."""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.threshold import full_histogram, row_views

pytest.importorskip("cv2")


@pytest.mark.parametrize("size", [1, 7, 4095, 4096, 4097, 3 * 4096 + 5, 10 * 4096])
@pytest.mark.parametrize("max_pixels", [None, 4096, 2 * 4096 + 1])
def test_row_views_cover_the_array_in_order(size, max_pixels):
    flat = np.arange(size, dtype=np.int64)
    views = row_views(flat, max_pixels=max_pixels)
    assert all(view.ndim == 2 for view in views)
    assert all(np.shares_memory(view, flat) for view in views)  # views, not copies: a LUT writes through them
    np.testing.assert_array_equal(np.concatenate([view.reshape(-1) for view in views]), flat)
    if max_pixels:
        assert all(view.size <= max(max_pixels, 4096) for view in views)


@pytest.mark.parametrize("shape", [(1, 10007), (10007, 1), (3, 77, 131), (2048, 2049), (5, 4096)])
def test_uint8_histogram_of_odd_shapes_equals_bincount(shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.uint8)
    np.testing.assert_array_equal(full_histogram(image), np.bincount(image.ravel(), minlength=256))
    np.testing.assert_array_equal(full_histogram(image.T), np.bincount(image.T.ravel(), minlength=256))


def test_a_bin_above_2_to_24_pixels_stays_exact():
    """cv2.calcHist returns float32: one call counts at most 2**24 pixels, the int64 sum does the rest."""
    image = np.zeros((1 << 24) + 4096 * 9 + 11, np.uint8)
    image[::10000] = 200
    image = image.reshape(1, -1)
    counts = full_histogram(image)
    assert counts[0] == image.size - image[0, ::10000].size > (1 << 24)
    np.testing.assert_array_equal(counts, np.bincount(image.ravel(), minlength=256))


@pytest.mark.parametrize("shape", [(2, 9001), (9001, 2), (2, 3, 4099)])
def test_kmeans_labels_through_the_views_equal_a_gather(shape):
    image = np.random.default_rng(3).integers(0, 256, shape).astype(np.uint8)
    result = seglab.segment(image, "kmeans", n_clusters=4)
    assert result.info["path"] == "histogram-dp"
    centers = np.array(result.info["centers"])[:, 0]
    # Every pixel's label is its value's nearest centre (the DP's partition is contiguous in the values).
    expected = np.argmin(np.abs(image[..., None] - centers), axis=-1) + 1
    np.testing.assert_array_equal(result.data, expected)
