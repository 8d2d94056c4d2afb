"""Global thresholds equal ``image > skimage.filters.threshold_<method>(image)`` on every dtype."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, filters

import seglab
from seglab import threshold
from seglab._core.errors import InvalidImageError, ParameterError


GLOBAL = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")


@pytest.mark.parametrize("method", GLOBAL)
def test_mask_equals_skimage(method, image):
    if method == "minimum" and image.dtype == np.uint16:
        pytest.skip("skimage's threshold_minimum smooths a 65536-bin histogram for minutes and finds no two peaks")
    expected_t = getattr(filters, f"threshold_{method}")(image)
    mask = getattr(threshold, method)(image)
    assert mask.dtype == bool and mask.shape == image.shape
    np.testing.assert_array_equal(mask, image > expected_t)
    assert seglab.segment(image, method).info["threshold"] == pytest.approx(float(expected_t), rel=0, abs=0)


@pytest.mark.parametrize("method", GLOBAL)
def test_invert_is_the_dark_side(method, images):
    image = images["camera_u16" if method != "minimum" else "camera_f64"]
    expected_t = getattr(filters, f"threshold_{method}")(image)
    mask = getattr(threshold, method)(image, invert=True)
    np.testing.assert_array_equal(mask, image <= expected_t)


@pytest.mark.parametrize("method", GLOBAL)
def test_segment_gives_the_same_mask(method, images):
    image = images["coins_u8"]
    result = seglab.segment(image, method)
    np.testing.assert_array_equal(result.mask, image > getattr(filters, f"threshold_{method}")(image))
    assert result.info["threshold"] == float(getattr(filters, f"threshold_{method}")(image))


@pytest.mark.parametrize("value", [-3.0, 0.0, 0.5, 99.99, 100.0, 100.5, 254.0, 254.5, 255.0, 1e6])
def test_manual_integer_comparison_matches_numpy(value, images):
    image = images["camera_u8"]
    np.testing.assert_array_equal(threshold.manual(image, threshold=value), image > value)
    np.testing.assert_array_equal(threshold.manual(image, threshold=value, invert=True), image <= value)
    wide = images["camera_u16"]
    np.testing.assert_array_equal(threshold.manual(wide, threshold=value * 257), wide > value * 257)


def test_manual_float_image_uses_the_given_value(images):
    image = images["coins_f32"]
    np.testing.assert_array_equal(threshold.manual(image, threshold=0.1), image > 0.1)
    assert seglab.segment(image, "manual", threshold=0.1).info["threshold"] == 0.1
    result = seglab.segment(image, "manual", threshold="0.45")
    np.testing.assert_array_equal(result.mask, image > 0.45)


def test_manual_default_is_the_middle_of_uint8(images):
    image = images["coins_u8"]
    np.testing.assert_array_equal(threshold.manual(image), image > 128)


def test_multi_otsu_labels_and_thresholds(image):
    if image.dtype == np.uint16:
        pytest.skip("skimage's one-bin-per-value multi-Otsu needs > 10 min here; see test_multi_otsu_wide_uint16")
    expected = filters.threshold_multiotsu(image, classes=3)
    labels = threshold.multi_otsu(image, classes=3)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, np.digitize(image, expected, right=True))
    assert seglab.segment(image, "multi_otsu", classes=3).info["thresholds"] == [float(t) for t in expected]
    assert set(np.unique(labels)) == {0, 1, 2}


@pytest.mark.parametrize("classes", [2, 4])
def test_multi_otsu_classes_and_invert(classes, images):
    image = images["camera_u8"]
    expected = filters.threshold_multiotsu(image, classes=classes)
    labels = threshold.multi_otsu(image, classes=classes, invert=True)
    np.testing.assert_array_equal(labels, classes - 1 - np.digitize(image, expected, right=True))


def test_multi_otsu_two_classes_is_otsu(images):
    image = images["coins_u8"]
    labels = threshold.multi_otsu(image, classes=2)
    np.testing.assert_array_equal(labels > 0, threshold.otsu(image))
    result = seglab.segment(image, "multi_otsu", classes=2)
    assert result.output == "labels"
    np.testing.assert_array_equal(result.labels > 0, image > filters.threshold_otsu(image))


def test_multi_otsu_rejects_bad_classes(images):
    with pytest.raises(ParameterError, match=r"`classes`.* got 6; expected an integer in \[2, 5\]"):
        threshold.multi_otsu(images["coins_u8"], classes=6)
    with pytest.raises(ParameterError, match=r"parameter `classes` of 'multi_otsu' got 1"):
        seglab.segment(images["coins_u8"], "multi_otsu", classes=1)


def test_multi_otsu_too_few_values_says_lower_classes():
    image = np.zeros((10, 10), np.uint8)
    image[5:] = 200
    with pytest.raises(InvalidImageError, match=r"cannot split this image into 4 classes.*lower `classes`"):
        threshold.multi_otsu(image, classes=4)


def test_minimum_without_two_peaks_is_a_clear_error():
    image = np.tile(np.arange(256, dtype=np.float64), (4, 1))
    with pytest.raises(InvalidImageError, match=r"threshold 'minimum' cannot be computed.*try 'otsu'"):
        threshold.minimum(image)


def test_colour_image_is_refused_with_the_fix():
    with pytest.raises(InvalidImageError, match=r"works on single-channel images.*grayscale"):
        threshold.otsu(data.astronaut())


def test_otsu_threshold_agrees_with_opencv_on_uint8(images):
    import cv2

    image = images["camera_u8"]
    level, cv_mask = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = threshold.otsu(image)
    assert seglab.segment(image, "otsu").info["threshold"] == level
    np.testing.assert_array_equal(mask, cv_mask > 0)


def test_multi_otsu_wide_uint16_uses_256_bins_and_agrees_with_uint8(images):
    wide, narrow = images["camera_u16"], images["camera_u8"]
    result = seglab.segment(wide, "multi_otsu", classes=3)
    labels, info = result.labels, result.info
    np.testing.assert_array_equal(labels, threshold.multi_otsu(wide, classes=3))
    np.testing.assert_array_equal(labels, np.digitize(wide, info["thresholds"], right=True))
    expected = filters.threshold_multiotsu(narrow, classes=3)
    assert np.abs(np.array(info["thresholds"]) / 257 - expected).max() < 2
    reference = np.digitize(narrow, expected, right=True)
    assert (labels == reference).mean() > 0.98


def test_minimum_wide_uint16_uses_256_bins_and_agrees_with_uint8(images):
    result = seglab.segment(images["camera_u16"], "minimum")
    mask, info = result.mask, result.info
    expected = float(filters.threshold_minimum(images["camera_u8"]))
    assert abs(info["threshold"] / 257 - expected) < 3
    assert (mask == (images["camera_u8"] > expected)).mean() > 0.98
