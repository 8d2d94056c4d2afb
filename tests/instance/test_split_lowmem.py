"""The low-memory split (integer squared distances, peak_local_max unrolled per label, one padded copy per
flood) gives exactly the labels of the float64 path, which is the scikit-image gallery recipe run on each
component (tests/instance/test_instance.py checks that one against the recipe).

Cases: coins and blobs masks (large components whose boxes cover a third of the image), the inverted blobs
mask (one component touching every border), noise specks (the small-component shortcut), a 3-D volume, a
3-row image; min_distance 1..10, exclude_border, compactness and watershed lines; strips down to one row.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import seglab
from seglab.instance import _split, split_touching_mask

skimage_data = pytest.importorskip("skimage.data")
filters = pytest.importorskip("skimage.filters")


def _masks():
    rng = np.random.default_rng(11)
    coins = skimage_data.coins()
    blobs = seglab.data.blobs((256, 256), n_blobs=12, seed=3)[0]
    return {
        "coins": coins > filters.threshold_otsu(coins),
        "blobs": blobs > filters.threshold_otsu(blobs),
        "blobs_inverted": blobs <= filters.threshold_otsu(blobs),
        "noise": ndi.gaussian_filter(rng.random((121, 97)), 2) > 0.5,
        "specks": rng.random((67, 81)) > 0.6,
        "volume": ndi.gaussian_filter(rng.random((16, 30, 24)), 2) > 0.5,
        "three_rows": ndi.gaussian_filter(rng.random((3, 77)), 1) > 0.5,
    }


MASKS = _masks()


@pytest.mark.parametrize("name", list(MASKS))
@pytest.mark.parametrize("min_distance,exclude_border", [(1, False), (3, True), (7, False), (10, True)])
@pytest.mark.parametrize("compactness,watershed_line", [(0.0, False), (0.5, True)], ids=["plain", "compact-line"])
def test_low_memory_split_equals_float_path(name, min_distance, exclude_border, compactness, watershed_line,
                                            monkeypatch):
    mask = MASKS[name]
    expected, expected_info = _split._split_float(mask, min_distance, exclude_border, compactness, watershed_line)
    for strip_pixels in (1, _split._STRIP_PIXELS):
        monkeypatch.setattr(_split, "_STRIP_PIXELS", strip_pixels)
        labels = split_touching_mask(mask, min_distance=min_distance, exclude_border=exclude_border,
                                     compactness=compactness, watershed_line=watershed_line)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, expected, err_msg=f"{name} strips of {strip_pixels} px")
    info = seglab.segment(mask.astype(np.uint8) * 255, "otsu", post=[{"name": "split_touching", "params": {
        "min_distance": min_distance, "exclude_border": exclude_border, "compactness": compactness,
        "watershed_line": watershed_line}}]).info["post"]["split_touching"]
    assert info["n_objects"] == expected_info["n_objects"]


@pytest.mark.parametrize("name", list(MASKS))
def test_squared_distance_is_scipy_edt_squared(name):
    mask = MASKS[name]
    squared = _split._squared_distance(mask)
    assert squared.dtype == np.int32
    np.testing.assert_array_equal(np.sqrt(squared.astype(np.float64)), ndi.distance_transform_edt(mask))


def test_mask_without_background_takes_the_float_path():
    # scipy's feature transform is undefined without background: the float64 path answers (one object)
    mask = np.ones((20, 24), bool)
    labels = split_touching_mask(mask, min_distance=3)
    np.testing.assert_array_equal(labels, _split._split_float(mask, 3, False, 0.0, False)[0])
    assert labels.max() >= 1 and labels.min() >= 1
