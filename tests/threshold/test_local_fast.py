"""The constant-time local median (cv2.medianBlur on rank codes) equals scikit-image's threshold_local(median).

Covered: every border mode, the ends of the tune range (block_size 3 and 151), 8-bit images, images with at most 256
distinct values in other dtypes (uint16, int16, float32, float64), the constant pad value of mode='constant', and the
fallback to scikit-image for images with more than 256 values.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, filters

import seglab
from seglab import threshold
from seglab._core.registry import get_method
from seglab.threshold._local import _median_threshold

CAMERA = data.camera()[::8, ::8]  # 64 x 64, 8-bit


def _reference(image, block_size, mode, offset=0.0, invert=False):
    threshold_image = filters.threshold_local(image, block_size, "median", offset=offset, mode=mode)
    return image <= threshold_image if invert else image > threshold_image


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
def test_median_fast_path_equals_skimage_in_every_mode(mode):
    for block_size, offset, invert in ((3, 0.0, False), (15, 7.5, True), (41, -12.0, False)):
        params = dict(block_size=block_size, method="median", offset=offset, mode=mode, invert=invert)
        mask = threshold.local(CAMERA, **params)
        info = seglab.segment(CAMERA, "local", params=params).info
        np.testing.assert_array_equal(mask, _reference(CAMERA, block_size, mode, offset, invert))
        expected = filters.threshold_local(CAMERA, block_size, "median", offset=offset, mode=mode)
        assert info["threshold_mean"] == float(expected.mean())


@pytest.mark.slow
def test_median_at_the_top_of_the_tune_range():
    high = get_method("local").param("block_size").tune[1]
    image = data.coins()[100:180, 100:180]
    mask = threshold.local(image, block_size=high, method="median")
    np.testing.assert_array_equal(mask, _reference(image, high, "reflect"))


def test_median_at_the_top_of_the_tune_range_on_sampled_pixels():
    # The window median by its definition (numpy, scipy's 'reflect' = numpy's 'symmetric' pad) on sampled pixels;
    # the whole-image comparison with scikit-image at this size is the slow test above.
    high = get_method("local").param("block_size").tune[1]
    image = data.coins()[100:180, 100:180]
    fast = _median_threshold(image, high, "reflect")
    padded = np.pad(image, high // 2, mode="symmetric")
    rng = np.random.default_rng(0)
    for row, col in rng.integers(0, 80, (40, 2)):
        assert fast[row, col] == np.median(padded[row: row + high, col: col + high])


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32", "float64"])
def test_median_fast_path_on_few_level_images_of_other_dtypes(dtype):
    rng = np.random.default_rng(3)
    levels = rng.choice(np.arange(-300, 3000), size=200, replace=False)
    if dtype == "uint16":
        levels = np.abs(levels)
    image = levels[rng.integers(0, levels.size, (70, 90))].astype(dtype)
    if dtype.startswith("float"):
        image = image * np.asarray(0.013, dtype)
    for mode in ("reflect", "constant"):
        fast = _median_threshold(image, 21, mode)
        assert fast is not None
        reference = filters.threshold_local(image, 21, "median", mode=mode)
        assert fast.dtype == reference.dtype
        np.testing.assert_array_equal(fast, reference)


def test_many_level_images_fall_back_to_skimage_and_stay_equal():
    image = np.random.default_rng(4).normal(size=(40, 50)).astype(np.float32)
    assert _median_threshold(image, 9, "reflect") is None
    mask = threshold.local(image, block_size=9, method="median", offset=0.05)
    np.testing.assert_array_equal(mask, _reference(image, 9, "reflect", 0.05))


def test_window_wider_than_the_image_falls_back_and_stays_equal():
    image = CAMERA[:20, :30]
    assert _median_threshold(image, 51, "mirror") is None
    mask = threshold.local(image, block_size=51, method="median", mode="mirror")
    np.testing.assert_array_equal(mask, _reference(image, 51, "mirror"))


@pytest.mark.parametrize("name", ["niblack", "sauvola"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
def test_strip_wise_niblack_sauvola_equal_skimage(name, dtype, monkeypatch):
    # Small strips (many blocks, carried column sums) and the ends of the tune range of window_size and k.
    import seglab.threshold._local as local_module

    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (70, 83)).astype(dtype)
    if dtype.startswith("float"):
        image = (image / 255).astype(dtype)
    reference = getattr(filters, f"threshold_{name}")
    spec = get_method(name)
    windows = spec.param("window_size").tune
    ks = spec.param("k").tune
    for strip in (500, 1 << 17):
        monkeypatch.setattr(local_module, "_STRIP_PIXELS", strip)
        for window, k, invert in ((windows[0], ks[0], False), (15, 0.2, True), (windows[1], ks[1], False)):
            mask = getattr(threshold, name)(image, window_size=window, k=k, invert=invert)
            info = seglab.segment(image, name, window_size=window, k=k, invert=invert).info
            expected = reference(image, window_size=window, k=k)
            np.testing.assert_array_equal(mask, image <= expected if invert else image > expected)
            assert info["threshold_min"] == float(expected.min()) and info["threshold_max"] == float(expected.max())
            assert info["threshold_mean"] == pytest.approx(float(expected.astype(np.float64).mean()), rel=1e-6)


def test_threaded_histogram_of_a_multi_chunk_image_is_exact():
    # Above two 4 Mi-pixel chunks the histogram is counted on cv2's threads; the sum of exact chunk counts is exact.
    from seglab.threshold._histogram import full_histogram

    image = np.random.default_rng(5).integers(0, 256, (3000, 3001), dtype=np.uint8)
    np.testing.assert_array_equal(full_histogram(image), np.bincount(image.ravel(), minlength=256))
    wide = np.random.default_rng(6).integers(0, 65536, (3000, 3001), dtype=np.uint16)
    np.testing.assert_array_equal(full_histogram(wide), np.bincount(wide.ravel(), minlength=65536))


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "wrap"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_strip_wise_gaussian_equals_skimage(mode, dtype):
    """Row strips with their halo give scikit-image's gaussian threshold_local mask bit for bit."""
    rng = np.random.default_rng(11)
    image = (rng.random((300, 211)) * (255 if dtype in (np.uint8, np.float32, np.float64) else 4000)).astype(dtype)
    for block_size, offset, invert in ((3, 0.0, False), (35, 7.5, True), (151, -3.0, False)):
        threshold_image = filters.threshold_local(image, block_size, "gaussian", offset=offset, mode=mode)
        expected = image <= threshold_image if invert else image > threshold_image
        result = seglab.segment(image, "local", block_size=block_size, method="gaussian", offset=offset, mode=mode,
                                invert=invert)
        np.testing.assert_array_equal(result.mask, expected)
        assert result.info["threshold_max"] == float(threshold_image.max())
        # float32 thresholds: scikit-image's mean accumulates in float32, ours in float64.
        rel = 1e-6 if dtype == np.float32 else 1e-12
        assert result.info["threshold_mean"] == pytest.approx(float(threshold_image.mean()), rel=rel)


def test_strip_wise_gaussian_on_a_volume_and_its_memory():
    import tracemalloc

    rng = np.random.default_rng(12)
    volume = rng.integers(0, 256, (40, 33, 29)).astype(np.uint8)
    expected = volume > filters.threshold_local(volume, 9, "gaussian")
    np.testing.assert_array_equal(threshold.local(volume, block_size=9), expected)
    image = rng.integers(0, 256, (1024, 1024)).astype(np.uint8)
    threshold.local(image)
    tracemalloc.start()
    threshold.local(image)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Temporaries (peak less the bool mask returned): one float64 copy smoothed in place plus a strip's
    # comparison, within the policy of two float64 images; scikit-image: 2.9.
    assert (peak - image.size) / (image.size * 8) < 1.25
