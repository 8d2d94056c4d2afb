"""watershed_distance on non-uint8 images: the rescale to uint8 block by block equals the code before.

The code before rescaled with ``np.round((image.astype(float64) - lo) * scale).astype(uint8)`` on the whole image
(three float64 images at once: 2.50 float64 images of temporaries on 512 x 512). ``_before_to_uint8`` is that code,
kept literally; the cases check the uint8 image is identical for several dtypes, odd sizes and images spanning
several blocks (seams), that watershed_distance's labels and info equal those of the code before, and that the
temporaries stay within two float64 images.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.region import _watershed, watershed_distance

pytest.importorskip("cv2")


def _before_to_uint8(image):
    """The previous ``_to_uint8``, kept literally."""
    if image.dtype == np.uint8:
        return image, False
    data = image.astype(np.float64)
    lo, hi = float(data.min()), float(data.max())
    if hi == lo:
        return np.zeros(image.shape, np.uint8), True
    return np.round((data - lo) * (255.0 / (hi - lo))).astype(np.uint8), True


def _blobs(shape, seed=3):
    image, _ = seglab.data.blobs(shape, n_blobs=14, seed=seed)
    return image


_NOISE = np.random.default_rng(8)
IMAGES = {
    "uint16 97x131": _blobs((97, 131)).astype(np.uint16) * 257,
    "int16 negative 131x97": (_blobs((131, 97)).astype(np.int16) - 128) * 200,
    "float32 noisy 203x211": (_blobs((203, 211)) + _NOISE.normal(0, 3, (203, 211))).astype(np.float32),
    "float64 /255 509x512 (16 blocks, a short last one)": _blobs((509, 512)) / 255.0,
    "float64 tiny range": 1.0 + _blobs((150, 149)) * 1e-12,
    "float16 61x67": (_blobs((61, 67)) / 8).astype(np.float16),
    "int32 wide range 120x139": _blobs((120, 139)).astype(np.int32) * 8_000_000 - 2**30,
    "int64 near 2**62 95x101": _blobs((95, 101)).astype(np.int64) * 2**54 + 2**61,
    "uint64 99x97": _blobs((99, 97)).astype(np.uint64) * 2**56,
    "tall 4099x5 (two blocks)": (_blobs((4099, 5)).astype(np.float32) * 3.7),
    "one row 1x300": _blobs((1, 300)).astype(np.float64),
    "one column 300x1": _blobs((300, 1)).astype(np.uint16),
    "constant float": np.full((40, 50), 3.25),
}


@pytest.mark.parametrize("name", list(IMAGES))
def test_rescale_equals_the_code_before(name):
    image = IMAGES[name]
    got, got_flag = _watershed._to_uint8(image)
    want, want_flag = _before_to_uint8(image)
    assert got.dtype == np.uint8 and got_flag == want_flag is True
    np.testing.assert_array_equal(got, want)


def test_uint8_is_passed_through():
    image = _blobs((30, 40))
    got, rescaled = _watershed._to_uint8(image)
    assert got is image and rescaled is False


@pytest.mark.parametrize("name", ["uint16 97x131", "int16 negative 131x97", "float32 noisy 203x211",
                                  "float64 /255 509x512 (16 blocks, a short last one)", "int64 near 2**62 95x101"])
@pytest.mark.parametrize("params", [{}, {"invert": True, "fg_fraction": 0.7},
                                    {"dist_mask_size": 0, "fill_holes": False, "fg_fraction": 0.1}])
def test_labels_and_info_equal_the_code_before(name, params):
    image = IMAGES[name]
    got, info = watershed_distance.__wrapped__(image, **params)
    # The code before: the same recipe on the old rescale's uint8 image (the rest of the recipe is unchanged).
    want, want_info = watershed_distance.__wrapped__(_before_to_uint8(image)[0], **params)
    np.testing.assert_array_equal(got, want)
    assert info == {**want_info, "rescaled": True}
    assert info["n_objects"] > 0



@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_temporaries_within_two_float64_images(dtype, segment_temporaries):
    # benchmarks/memory.py's measure: 2.50 float64 images before (uint16/float), 1.13 after.
    image = (_blobs((384, 384)) * 3).astype(dtype)
    assert segment_temporaries(image, "watershed_distance") <= 2.0
    assert segment_temporaries(image, "watershed_distance", dist_mask_size=0, fg_fraction=0.9) <= 2.0
