"""split_touching == the scikit-image watershed example; measure == regionprops_table column by column."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data, feature, filters, measure as skmeasure, segmentation

import seglab
from seglab._core.errors import ConstantImageWarning, ImageWriteError, ParameterError
from seglab.instance import measure, split_touching, split_touching_mask, write_csv


def _example(mask, min_distance=7):
    """The scikit-image gallery example, as a user writes it (the oracle)."""
    distance = ndi.distance_transform_edt(mask)
    coords = feature.peak_local_max(distance, min_distance=min_distance, exclude_border=False,
                                    labels=mask.astype(np.int32))
    peaks = np.zeros(mask.shape, bool)
    peaks[tuple(coords.T)] = True
    markers, _ = ndi.label(peaks)
    return segmentation.watershed(-distance, markers, mask=mask)


def _touching_disks():
    rows, cols = np.mgrid[:80, :80]
    return (((rows - 28) ** 2 + (cols - 28) ** 2) < 16**2) | (((rows - 44) ** 2 + (cols - 52) ** 2) < 20**2)


def test_split_mask_equals_skimage_example():
    mask = _touching_disks()
    labels, info = split_touching_mask(mask)
    np.testing.assert_array_equal(labels, _example(mask))
    assert info["n_objects"] == 2
    assert ndi.label(mask)[1] == 1  # touching: one component before splitting


def test_split_touching_on_coins_equals_otsu_then_example():
    coins = data.coins()
    labels, info = split_touching(coins, min_distance=10)
    mask = coins > filters.threshold_otsu(coins)
    np.testing.assert_array_equal(labels, _example(mask, 10))
    assert info["threshold"] == pytest.approx(filters.threshold_otsu(coins))


def test_split_invert_and_post_step(blobs_image):
    image, _ = blobs_image
    inverted = 255 - image
    labels, _ = split_touching(inverted, invert=True)
    expected = _example(inverted <= filters.threshold_otsu(inverted))
    np.testing.assert_array_equal(labels, expected)
    mask = image > filters.threshold_otsu(image)
    result = seglab.apply_step(mask, "split_touching", "post")
    np.testing.assert_array_equal(result, _example(mask))


def test_split_constant_and_errors():
    with pytest.warns(ConstantImageWarning, match="constant"):
        labels, info = split_touching(np.full((10, 10), 7, np.uint8))
    assert labels.max() == 0 and info["constant"] is True
    with pytest.raises(ParameterError, match="`min_distance` got 0"):
        split_touching_mask(_touching_disks(), min_distance=0)


@pytest.fixture(scope="module")
def coin_objects():
    coins = data.coins()
    labels, _ = split_touching(coins, min_distance=10)
    return labels, coins


def test_measure_equals_regionprops_table(coin_objects):
    labels, coins = coin_objects
    ours = measure(labels, coins)
    ref = skmeasure.regionprops_table(labels, coins, properties=(
        "label", "area", "centroid", "bbox", "perimeter", "eccentricity", "equivalent_diameter_area",
        "intensity_mean", "intensity_min", "intensity_max"))
    pairs = {"label": "label", "area": "area", "centroid_row": "centroid-0", "centroid_col": "centroid-1",
             "bbox_min_row": "bbox-0", "bbox_min_col": "bbox-1", "bbox_max_row": "bbox-2", "bbox_max_col": "bbox-3",
             "perimeter": "perimeter", "eccentricity": "eccentricity",
             "equivalent_diameter": "equivalent_diameter_area", "mean_intensity": "intensity_mean",
             "min_intensity": "intensity_min", "max_intensity": "intensity_max"}
    assert list(ours) == list(pairs)
    assert len(ours["label"]) == labels.max() > 20
    np.testing.assert_array_equal(ours["label"], ref["label"])
    np.testing.assert_array_equal(ours["perimeter"], ref["perimeter"])
    for ours_name, ref_name in pairs.items():
        np.testing.assert_allclose(ours[ours_name], ref[ref_name], rtol=0, atol=1e-9, err_msg=ours_name)


def test_measure_gaps_in_labels_and_subsets():
    labels = np.zeros((20, 20), np.int32)
    labels[2:5, 2:9] = 3
    labels[10:18, 12:14] = 9
    table = measure(labels, properties=("area", "bbox"))
    assert list(table) == ["label", "area", "bbox_min_row", "bbox_min_col", "bbox_max_row", "bbox_max_col"]
    assert table["label"].tolist() == [3, 9] and table["area"].tolist() == [21, 16]
    assert table["bbox_max_row"].tolist() == [5, 18]
    assert "mean_intensity" not in measure(labels)  # default properties skip intensity without an image
    with pytest.raises(ParameterError, match="unknown property 'aera'.*Did you mean 'area'"):
        measure(labels, properties=("aera",))
    with pytest.raises(ParameterError, match="'intensity' needs `image`"):
        measure(labels, properties=("intensity",))


def test_write_csv_atomic(tmp_path, coin_objects):
    labels, coins = coin_objects
    table = measure(labels, coins)
    path = write_csv(table, tmp_path / "objects.csv")
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(table["label"])
    assert float(rows[0]["perimeter"]) == table["perimeter"][0]
    assert [p.name for p in tmp_path.iterdir()] == ["objects.csv"]  # no temporary left behind
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_csv(table, tmp_path / "missing" / "objects.csv")
    with pytest.raises(ParameterError, match="different lengths"):
        write_csv({"a": [1, 2], "b": [1]}, tmp_path / "bad.csv")
