"""Region growing == skimage.segmentation.flood; connected components == skimage.measure.label."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, measure, segmentation

import seglab
from seglab._core.errors import MissingInputError, ParameterError
from seglab.region import connected_components, region_growing


@pytest.mark.parametrize("tolerance", [None, 0, 5, 20.5])
@pytest.mark.parametrize("connectivity", [None, 1])
def test_single_seed_equals_flood(tolerance, connectivity):
    image = data.camera()[::4, ::4]
    point = (60, 40)
    result = seglab.segment(image, "region_growing", seeds=[point], tolerance=tolerance, connectivity=connectivity)
    labels, info = result.data, result.info
    expected = segmentation.flood(image, point, tolerance=tolerance, connectivity=connectivity)
    np.testing.assert_array_equal(labels, expected.astype(np.int32))
    assert info["n_regions"] == 1


def test_several_points_first_seed_wins():
    image = data.camera()[::4, ::4]
    points = [(60, 40), (10, 10), (100, 100)]
    labels = region_growing(image, seeds=points, tolerance=15)
    expected = np.zeros(image.shape, np.int32)
    for index, point in enumerate(points):
        grown = segmentation.flood(image, point, tolerance=15)
        expected[grown & (expected == 0)] = index + 1
    np.testing.assert_array_equal(labels, expected)


def test_label_image_seeds_float_image(rng):
    image = rng.random((30, 30))
    seeds = np.zeros(image.shape, np.int32)
    seeds[3, 3] = 4
    labels = region_growing(image, seeds=seeds, tolerance=0.3)
    expected = segmentation.flood(image, (3, 3), tolerance=0.3)
    np.testing.assert_array_equal(labels == 4, expected)
    assert set(np.unique(labels).tolist()) <= {0, 4}


def test_region_growing_errors():
    image = np.zeros((5, 5), np.uint8)
    with pytest.raises(ParameterError, match="outside the image"):
        region_growing(image, seeds=[(9, 9)])
    with pytest.raises(ParameterError, match="expected a label image of shape"):
        region_growing(image, seeds=np.zeros((3, 3, 3)))
    with pytest.raises(MissingInputError, match="needs `seeds`"):
        region_growing(image)
    with pytest.raises(MissingInputError, match="needs `seeds`"):
        seglab.segment(image, "region_growing")
    with pytest.raises(ParameterError, match="`connectivity` got 3"):
        region_growing(image, seeds=[(0, 0)], connectivity=3)


@pytest.mark.parametrize("connectivity", [1, 2, None])
def test_connected_components_equal_skimage_label(rng, connectivity):
    image = (rng.random((60, 70)) > 0.6).astype(np.uint8) * rng.integers(1, 9, (60, 70)).astype(np.uint8)
    result = seglab.segment(image, "connected_components", connectivity=connectivity)
    labels, info = result.data, result.info
    expected = measure.label(image != 0, connectivity=connectivity)
    np.testing.assert_array_equal(labels, expected)
    assert info["n_objects"] == expected.max()
    assert labels.dtype == np.int32


def test_connected_components_background_and_3d(rng):
    volume = rng.integers(0, 3, (8, 10, 12)).astype(np.uint8)
    result = seglab.segment(volume, "connected_components", background=2, connectivity=1)
    labels, info = result.data, result.info
    np.testing.assert_array_equal(labels, measure.label(volume != 2, connectivity=1))
    result = seglab.segment(volume, "connected_components", background=2, connectivity=1, channel_axis=None)
    assert result.labels.max() == info["n_objects"]
