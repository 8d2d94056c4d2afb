"""Niblack and Sauvola in strips equal scikit-image's ``threshold_niblack``/``threshold_sauvola`` bit for bit.

2-D images already ran in row strips; volumes called scikit-image (9.5 float64 images of temporaries on a
24x192x192 volume). Both now run through one n-D strip routine (strips across the longest axis in 3-D, the
integral image's running sum carried from strip to strip). Checked: odd sizes, 2-3 row images, windows wider
than an axis, volumes whose longest axis is each of the three, integer and float dtypes, k, r and invert, and
the summary (min and max the same numbers, the mean to rounding).
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab import threshold

filters = pytest.importorskip("skimage.filters")
skimage_data = pytest.importorskip("skimage.data")


def _images():
    rng = np.random.default_rng(71)
    camera = skimage_data.camera()
    return {
        "camera": camera,
        "page_odd": skimage_data.page()[:171, :183],
        "f32": (camera[:200, :150] / 255).astype(np.float32),
        "f64": rng.normal(size=(77, 103)),
        "f16": rng.random((61, 40)).astype(np.float16),
        "u16": rng.integers(0, 60000, (59, 45)).astype(np.uint16),
        "i16": rng.integers(-3000, 3000, (41, 67)).astype(np.int16),
        "two_rows": rng.integers(0, 256, (2, 300)).astype(np.uint8),
        "three_rows_f32": rng.random((3, 70)).astype(np.float32),
        "volume": np.stack([camera[:90, :120], camera[90:180, :120], camera[:90, 120:240]]),  # longest: axis 2
        "volume_planes": rng.integers(0, 256, (70, 13, 9)).astype(np.uint8),  # longest: axis 0
        "volume_rows_f32": rng.random((5, 60, 7)).astype(np.float32),  # longest: axis 1
        "volume_u16": rng.integers(0, 60000, (9, 8, 30)).astype(np.uint16),
        "volume_f64": rng.random((24, 40, 33)),
    }


IMAGES = _images()


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("method", ["niblack", "sauvola"])
def test_equals_scikit_image(name, method):
    image = IMAGES[name]
    reference = getattr(filters, f"threshold_{method}")
    ours = getattr(threshold, method)
    for window_size, k, invert in ((3, 0.2, False), (15, 0.05, True), (41, 0.5, False)):
        expected = reference(image, window_size=window_size, k=k)
        got = ours(image, window_size=window_size, k=k, invert=invert)
        np.testing.assert_array_equal(got, image <= expected if invert else image > expected)


@pytest.mark.parametrize("name", ["camera", "volume", "volume_rows_f32", "volume_f64"])
def test_sauvola_r_and_summary(name):
    image = IMAGES[name]
    expected = filters.threshold_sauvola(image, window_size=25, k=0.3, r=0.4 * float(image.max()))
    result = seglab.segment(image, "sauvola", params={"window_size": 25, "k": 0.3, "r": 0.4 * float(image.max())})
    np.testing.assert_array_equal(result.mask, image > expected)
    assert result.info["threshold_min"] == float(expected.min())
    assert result.info["threshold_max"] == float(expected.max())
    assert result.info["threshold_mean"] == pytest.approx(float(expected.astype(np.float64).mean()), rel=1e-9)
