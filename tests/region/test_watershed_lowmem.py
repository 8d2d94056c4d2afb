"""The low-memory watershed path (strip-wise Sobel into the padded elevation, minima found in place) gives
exactly ``skimage.segmentation.watershed(skimage.filters.sobel(image), markers, ...)``.

Cases: regional-minima markers (the default), intensity bands and user markers; compact watershed and
watershed lines; strips down to one row (so every strip seam is crossed); odd sizes, a 2-row image, a flat
image, a 3-D volume; uint8, uint16, float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.region import _watershed, watershed

filters = pytest.importorskip("skimage.filters")
segmentation = pytest.importorskip("skimage.segmentation")
skimage_data = pytest.importorskip("skimage.data")


def _images():
    rng = np.random.default_rng(7)
    return {
        "coins": skimage_data.coins(),
        "blobs": seglab.data.blobs((256, 256), n_blobs=12, seed=3)[0],
        "odd_u8": rng.integers(0, 256, (37, 91)).astype(np.uint8),
        "f32": rng.random((65, 67)).astype(np.float32),
        "f64": rng.normal(size=(70, 33)),
        "u16": (rng.random((51, 103)) * 60000).astype(np.uint16),
        "volume": rng.integers(0, 256, (9, 20, 17)).astype(np.uint8),
        "two_rows": rng.integers(0, 256, (2, 31)).astype(np.uint8),
    }


IMAGES = _images()


def _user_markers(shape, seed):
    rng = np.random.default_rng(seed)
    markers = np.zeros(shape, np.int32)
    markers.flat[rng.choice(int(np.prod(shape)), 6, replace=False)] = [3, 1, 4, 1, 5, 9]  # repeated labels too
    return markers


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("source", ["minima", "bands", "user"])
@pytest.mark.parametrize("options", [{}, {"compactness": 0.01}, {"watershed_line": True}],
                         ids=["plain", "compact", "line"])
def test_equals_skimage_watershed_of_sobel(name, source, options, monkeypatch):
    image = IMAGES[name]
    kwargs = dict(options)
    if source == "minima":
        reference_markers = None
    elif source == "bands":
        low, high = (float(v) for v in np.percentile(image, [25, 75]))
        kwargs.update(low=low, high=high)
        reference_markers = _watershed.band_markers(image, low, high)
    else:
        kwargs["markers"] = _user_markers(image.shape, 1)
        reference_markers = kwargs["markers"]
    expected = segmentation.watershed(filters.sobel(image), reference_markers, **options)
    for strip_pixels in (1, _watershed._STRIP_PIXELS):
        monkeypatch.setattr(_watershed, "_STRIP_PIXELS", strip_pixels)
        labels = watershed(image, **kwargs)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, expected, err_msg=f"{name} {source} {options} {strip_pixels}")
    if source == "user":
        np.testing.assert_array_equal(kwargs["markers"], _user_markers(image.shape, 1))  # input untouched


def test_flat_image_has_no_minimum_and_no_basin():
    # scikit-image's local_minima pads with the image minimum, so a flat elevation is no regional minimum:
    # no marker, every label 0 (as skimage.segmentation.watershed gives)
    image = np.full((20, 30), 5, np.uint8)
    labels = watershed(image)
    np.testing.assert_array_equal(labels, segmentation.watershed(filters.sobel(image)))
    assert not labels.any()


def test_coins_bands_give_the_two_basins_of_the_recipe():
    # the scikit-image coins recipe: markers 1 below 30, 2 above 150; most coin pixels land in basin 2
    coins = skimage_data.coins()
    result = seglab.segment(coins, "watershed", params={"low": 30, "high": 150})
    assert result.info["markers_from"] == "bands" and result.info["n_labels"] == 2
    assert 0.2 < float(np.mean(result.data == 2)) < 0.5
