"""Oracle tests: seglab watershed == scikit-image / the OpenCV tutorial recipe on the same input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data, filters, segmentation

import seglab
from seglab._core.errors import ParameterError, ShapeMismatchError
from seglab.region import watershed, watershed_distance


@pytest.fixture(scope="module")
def coins():
    return data.coins()


def _sk_band(image, low, high, **kwargs):
    markers = np.zeros(image.shape, np.int32)
    markers[image < low] = 1
    markers[image > high] = 2
    return segmentation.watershed(filters.sobel(image), markers, **kwargs)


@pytest.mark.parametrize("compactness, line", [(0.0, False), (0.0, True), (0.01, False)])
def test_band_watershed_equals_skimage(coins, compactness, line):
    result = seglab.segment(coins, "watershed", low=30, high=150, compactness=compactness, watershed_line=line)
    labels, info = result.data, result.info
    expected = _sk_band(coins, 30, 150, compactness=compactness, watershed_line=line)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, expected)
    assert info["markers_from"] == "bands"


def test_coins_recipe_counts_the_24_coins(coins):
    labels = watershed(coins, low=30, high=150)
    filled = ndi.binary_fill_holes(labels == 2)
    objects, count = ndi.label(filled)
    areas = np.bincount(objects.ravel())[1:]
    # 24 coins; the recipe also leaves one 2-pixel speck, so 24 or 25 components, 24 of coin size.
    assert 24 <= count <= 25
    assert int((areas >= 100).sum()) == 24


def test_user_markers_and_minima_equal_skimage(rng):
    image = (rng.random((40, 50)) * 255).astype(np.uint8)
    markers = np.zeros(image.shape, np.int32)
    markers[5, 5], markers[30, 40], markers[20, 10] = 1, 2, 7
    result = seglab.segment(image, "watershed", markers=markers)
    labels, info = result.data, result.info
    np.testing.assert_array_equal(labels, segmentation.watershed(filters.sobel(image), markers))
    assert info["n_labels"] == 3
    result = seglab.segment(image, "watershed")
    minima, info = result.data, result.info
    np.testing.assert_array_equal(minima, segmentation.watershed(filters.sobel(image)))
    assert info["markers_from"] == "minima"


def test_3d_volume_equals_skimage(rng):
    volume = ndi.gaussian_filter(rng.random((12, 20, 20)), 2)
    labels = watershed(volume, low=0.48, high=0.52)
    np.testing.assert_array_equal(labels, _sk_band(volume, 0.48, 0.52))


def test_through_segment_with_markers(blobs_image):
    image, truth = blobs_image
    markers = np.zeros(image.shape, np.int32)
    markers[0, 0] = 1
    markers[30, 40] = 2
    result = seglab.segment(image, "watershed", markers=markers)
    np.testing.assert_array_equal(result.labels, segmentation.watershed(filters.sobel(image), markers))


def test_opencv_backend_agrees_mostly_with_skimage(coins):
    fast = watershed(coins, low=30, high=150, backend="opencv")
    reference = watershed(coins, low=30, high=150)
    assert set(np.unique(fast).tolist()) == {1, 2}
    assert (fast == reference).mean() > 0.97
    lined = watershed(coins, low=30, high=150, backend="opencv", watershed_line=True)
    assert 0 < int((lined == 0).sum()) < coins.size // 10


def test_watershed_errors(coins):
    with pytest.raises(ParameterError, match="give both `low` and `high`"):
        watershed(coins, low=30)
    with pytest.raises(ParameterError, match="must be smaller than `high`"):
        watershed(coins, low=150, high=30)
    with pytest.raises(ParameterError, match="either user markers or intensity bands"):
        watershed(coins, low=30, high=150, markers=np.ones(coins.shape, np.int32))
    with pytest.raises(ShapeMismatchError, match="`markers` has shape"):
        watershed(coins, markers=np.ones((3, 3), np.int32))
    with pytest.raises(ParameterError, match="no compact watershed"):
        watershed(coins, low=30, high=150, compactness=1.0, backend="opencv")
    with pytest.raises(ParameterError, match="needs markers"):
        watershed(coins, backend="opencv")
    with pytest.raises(seglab.InvalidImageError, match="single-channel"):
        watershed(np.zeros((8, 8, 3), np.uint8))


def _tutorial(gray, invert, fg_fraction, opening_iterations=2, dilate_iterations=3):
    """The OpenCV tutorial, written out as a user would (the oracle)."""
    flag = (cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY) + cv2.THRESH_OTSU
    _, thresh = cv2.threshold(gray, 0, 255, flag)
    kernel = np.ones((3, 3), np.uint8)
    opening = cv2.morphologyEx(thresh, cv2.MORPH_OPEN, kernel, iterations=opening_iterations)
    sure_bg = cv2.dilate(opening, kernel, iterations=dilate_iterations)
    dist = cv2.distanceTransform(opening, cv2.DIST_L2, 5)
    _, sure_fg = cv2.threshold(dist, fg_fraction * dist.max(), 255, 0)
    sure_fg = np.uint8(sure_fg)
    unknown = cv2.subtract(sure_bg, sure_fg)
    _, markers = cv2.connectedComponents(sure_fg)
    markers = markers + 1
    markers[unknown == 255] = 0
    return cv2.watershed(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), markers)


@pytest.mark.parametrize("invert, fg_fraction", [(False, 0.7), (False, 0.25), (True, 0.7)])
def test_watershed_distance_equals_tutorial(coins, invert, fg_fraction):
    result = seglab.segment(coins, "watershed_distance", invert=invert, fg_fraction=fg_fraction, fill_holes=False)
    labels, info = result.data, result.info
    flooded = _tutorial(coins, invert, fg_fraction)
    np.testing.assert_array_equal(labels, np.where(flooded > 1, flooded - 1, 0))
    assert info["n_objects"] == int(flooded.max()) - 1


def test_watershed_distance_coin_counts(coins):
    # Honest figures on the 24 coins: the tutorial's defaults merge coins (global max distance),
    # fg_fraction=0.25 gives 28 objects of which 24 are coin-sized (> 300 px).
    result = seglab.segment(coins, "watershed_distance", fill_holes=False, fg_fraction=0.7)
    _, info = result.data, result.info
    assert info["n_objects"] == 2
    result = seglab.segment(coins, "watershed_distance", fg_fraction=0.25, fill_holes=False)
    labels, info = result.data, result.info
    areas = np.bincount(labels.ravel())[1:]
    assert info["n_objects"] == 28
    assert int((areas > 300).sum()) == 24


def test_watershed_distance_rescales_non_uint8(coins):
    result = seglab.segment(coins.astype(np.float64) / 255.0, "watershed_distance")
    labels, info = result.data, result.info
    reference = watershed_distance(coins)
    assert info["rescaled"] is True
    # 0..1 floats spanning the coins' range map back to the same uint8 values up to rounding
    assert (labels > 0).sum() == pytest.approx((reference > 0).sum(), rel=0.05)


def test_watershed_distance_errors(coins):
    with pytest.raises(ParameterError, match="parameter `dist_mask_size` of 'watershed_distance' got 4; expected one of 0, 3, 5"):
        watershed_distance(coins, dist_mask_size=4)
    with pytest.raises(ParameterError, match=r"parameter `fg_fraction` of 'watershed_distance' got 1.5; expected a number in \[0.0, 1.0\]"):
        watershed_distance(coins, fg_fraction=1.5)
    with pytest.raises(seglab.ParameterError, match="parameter `fg_fraction`"):
        seglab.segment(coins, "watershed_distance", fg_fraction=2)
