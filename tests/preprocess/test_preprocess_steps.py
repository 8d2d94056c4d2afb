"""Pre-steps equal the scikit-image / SciPy call they document (OpenCV fast paths included)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import color, data, exposure, filters, util

import seglab
from seglab import preprocess
from seglab._core.errors import InvalidImageError, ParameterError

CAMERA = data.camera()[::2, ::2]
GEN = np.random.default_rng(3)
U16 = GEN.integers(0, 65536, (60, 70), dtype=np.uint16)
F32 = GEN.random((60, 70), dtype=np.float32)


def test_grayscale_keeps_dtype_and_equals_rgb2gray():
    rgb = data.astronaut()[::4, ::4]
    gray = preprocess.grayscale(rgb)
    assert gray.dtype == np.uint8
    np.testing.assert_array_equal(gray, np.rint(color.rgb2gray(rgb) * 255).astype(np.uint8))
    floats = rgb / 255.0
    np.testing.assert_allclose(preprocess.grayscale(floats), color.rgb2gray(floats), rtol=0, atol=0)
    assert preprocess.grayscale(CAMERA) is CAMERA


@pytest.mark.parametrize("image", [CAMERA, U16, F32, CAMERA.astype(np.int16) - 100], ids=["u8", "u16", "f32", "i16"])
def test_invert_equals_skimage(image):
    np.testing.assert_array_equal(preprocess.invert(image), util.invert(image))


def test_invert_uint8_is_255_minus_x():
    np.testing.assert_array_equal(preprocess.invert(CAMERA), 255 - CAMERA)


@pytest.mark.parametrize("size", [1, 3, 5, 7, 9])
def test_median_uint8_cv2_path_equals_scipy_nearest(size):
    np.testing.assert_array_equal(preprocess.median(CAMERA, size=size),
                                  ndi.median_filter(CAMERA, size=size, mode="nearest"))


@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("image", [U16, F32, F32.astype(np.float64), np.stack([CAMERA[:20, :30]] * 4)],
                         ids=["u16", "f32", "f64", "volume"])
def test_median_other_dtypes_equal_scipy(image, size):
    np.testing.assert_array_equal(preprocess.median(image, size=size),
                                  ndi.median_filter(image, size=size, mode="nearest"))


def test_median_rejects_even_size():
    with pytest.raises(ParameterError, match=r"parameter `size` of 'median' must be odd; got 4"):
        preprocess.median(CAMERA, size=4)
    with pytest.raises(ParameterError, match=r"parameter `size` of 'median' must be odd; got '?4'?"):
        seglab.segment(CAMERA, "otsu", pre=["median:size=4"])


@pytest.mark.parametrize("image", [CAMERA, F32], ids=["u8", "f32"])
def test_gaussian_equals_skimage_preserve_range(image):
    out = preprocess.gaussian(image, sigma=2.0)
    expected = filters.gaussian(image, sigma=2.0, preserve_range=True)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    assert abs(float(out.mean()) - float(image.mean())) < 0.01 * float(image.max())
    with pytest.raises(ParameterError, match=r"parameter `sigma` of 'gaussian' got 0; expected a number in \[0.001, 1000.0\]"):
        preprocess.gaussian(image, sigma=0)


def test_rescale_intensity_percentiles():
    low, high = np.percentile(CAMERA, (2, 98))
    out = preprocess.rescale_intensity(CAMERA, low_percentile=2, high_percentile=98)
    np.testing.assert_array_equal(out, exposure.rescale_intensity(CAMERA, in_range=(low, high)))
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    constant = np.full((5, 5), 3, np.uint8)
    np.testing.assert_array_equal(preprocess.rescale_intensity(constant), constant)
    with pytest.raises(ParameterError, match=r"`low_percentile` \(50(\.0)?\) must be below `high_percentile` \(50(\.0)?\)"):
        preprocess.rescale_intensity(CAMERA, low_percentile=50, high_percentile=50)


def test_equalize_adapthist_equals_skimage():
    out = preprocess.equalize_adapthist(CAMERA, clip_limit=0.02, kernel_size=32)
    np.testing.assert_array_equal(out, exposure.equalize_adapthist(CAMERA, kernel_size=32, clip_limit=0.02))
    assert 0 <= out.min() and out.max() <= 1
    with pytest.raises(ParameterError, match=r"parameter `clip_limit` of 'equalize_adapthist' got 2; expected a number in \[0.0001, 1.0\]"):
        preprocess.equalize_adapthist(CAMERA, clip_limit=2)


def test_colour_refused_by_gray_steps():
    with pytest.raises(InvalidImageError, match=r"pre-step 'median' works on single-channel images"):
        preprocess.median(data.astronaut())


def test_pipeline_invert_median_otsu():
    result = seglab.segment(CAMERA, "otsu", pre=["invert", "median:size=3"])
    seen = ndi.median_filter(255 - CAMERA, size=3, mode="nearest")
    np.testing.assert_array_equal(result.image, seen)
    np.testing.assert_array_equal(result.mask, seen > filters.threshold_otsu(seen))


def test_pipeline_grayscale_on_colour():
    rgb = data.astronaut()[::4, ::4]
    result = seglab.segment(rgb, "otsu", pre=["grayscale"])
    gray = np.rint(color.rgb2gray(rgb) * 255).astype(np.uint8)
    np.testing.assert_array_equal(result.mask, gray > filters.threshold_otsu(gray))


def test_docstring_examples_run():
    from seglab.preprocess import _steps

    failed, attempted = doctest.testmod(_steps, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0
