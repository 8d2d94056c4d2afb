"""threshold_from_histogram: the statistic the tiler reduces; exact for integer images, including per-tile sums."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import exposure, filters

from seglab._core.errors import ParameterError
from seglab.threshold import threshold_from_histogram
from seglab.threshold._histogram import HISTOGRAM_METHODS, apply_threshold, full_histogram, integer_histogram


INTEGER = ("camera_u8", "coins_u8", "camera_u16", "volume_u8")
GLOBAL = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")


def _seeded_integer_images():
    gen = np.random.default_rng(99)
    out = []
    for k in range(6):
        dtype = np.uint8 if k % 2 == 0 else np.uint16
        top = 255 if dtype == np.uint8 else 60000
        a = gen.normal(0.3 * top, 0.05 * top, 4000)
        b = gen.normal(0.7 * top, 0.08 * top, 3000 + 500 * k)
        out.append(np.clip(np.concatenate([a, b]), 0, top).astype(dtype)[: 70 * 100].reshape(70, 100))
    return out


@pytest.mark.parametrize("name", INTEGER)
def test_integer_histogram_equals_skimage(name, images):
    image = images[name]
    counts, centers = integer_histogram(image)
    expected_counts, expected_centers = exposure.histogram(image)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(centers, expected_centers)


@pytest.mark.parametrize("method", GLOBAL)
def test_full_range_histogram_gives_skimage_threshold(method, images):
    for image in [images[n] for n in INTEGER] + _seeded_integer_images():
        if method == "minimum" and image.dtype == np.uint16:
            continue  # skimage needs minutes on 65536 bins (see test_global)
        counts = full_histogram(image)
        value = threshold_from_histogram(method, counts, np.arange(counts.size))
        assert value == float(getattr(filters, f"threshold_{method}")(image)), (method, image.dtype)


@pytest.mark.parametrize("method", GLOBAL + ("multi_otsu",))
def test_histograms_summed_over_tiles_give_the_in_memory_threshold(method, images):
    image = images["camera_u16" if method != "minimum" else "camera_u8"]
    nbins = np.iinfo(image.dtype).max + 1
    counts = sum(np.bincount(tile.ravel(), minlength=nbins)
                 for rows in np.array_split(image, 3) for tile in np.array_split(rows, 4, axis=1))
    value = threshold_from_histogram(method, counts, np.arange(nbins), classes=3)
    if method == "multi_otsu":
        # seglab's in-memory multi-Otsu (256 merged bins for wide uint16, see test_global)
        import seglab

        assert value == seglab.segment(image, "multi_otsu", classes=3).info["thresholds"]
    else:
        assert value == float(getattr(filters, f"threshold_{method}")(image))


def test_manual_and_single_bin():
    assert threshold_from_histogram("manual", [1, 2], [0, 1], threshold=7) == 7.0
    assert threshold_from_histogram("otsu", [0, 5, 0], [0, 1, 2]) == 1.0
    assert threshold_from_histogram("multi_otsu", [0, 5, 0], [0, 1, 2]) == [1.0]


def test_bad_histograms_and_methods_are_refused():
    with pytest.raises(ParameterError, match=r"`method` got 'otsux'.*Did you mean 'otsu'"):
        threshold_from_histogram("otsux", [1, 2], [0, 1])
    with pytest.raises(ParameterError, match=r"same length; got shapes \(2,\) and \(3,\)"):
        threshold_from_histogram("otsu", [1, 2], [0, 1, 2])
    with pytest.raises(ParameterError, match=r"holds no pixels"):
        threshold_from_histogram("otsu", [0, 0], [0, 1])
    assert set(HISTOGRAM_METHODS) == {"manual", "multi_otsu", *GLOBAL}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_apply_threshold_fast_path_equals_comparison(dtype):
    gen = np.random.default_rng(5)
    top = np.iinfo(dtype).max
    image = gen.integers(0, top + 1, (37, 53), dtype=dtype)
    strided = image[:, ::2]
    for t in (-0.5, 0, 0.99, 17.5, np.float64(120.000001), top - 1, top - 0.5, top, top + 3):
        for array in (image, strided):
            np.testing.assert_array_equal(apply_threshold(array, t), array > t)
            np.testing.assert_array_equal(apply_threshold(array, t, invert=True), array <= t)
