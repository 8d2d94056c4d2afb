"""grabcut on float / 16-bit colour images: the conversion to uint8 by row blocks equals the code before.

The code before scaled the whole colour image at once (``np.round(image * 255)`` or the min..max rescale in
float64): 2.88 float64 images of temporaries for a float32 RGB 512 x 512 image, 0.63 now. ``_before_to_uint8``
is that code, kept literally.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import seglab
from seglab._core.errors import ConversionWarning
from seglab.interactive import _grabcut

pytest.importorskip("cv2")


def _before_to_uint8(array):
    """The previous ``_to_uint8`` (its warning left out), kept literally."""
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype.kind == "f" and array.min() >= 0 and array.max() <= 1:
        return np.ascontiguousarray(np.round(array * 255).astype(np.uint8))
    lo, hi = float(array.min()), float(array.max())
    span = hi - lo if hi > lo else 1.0
    return np.ascontiguousarray(np.round((array.astype(np.float64) - lo) * (255.0 / span)).astype(np.uint8))


def _rgb(shape, seed=2):
    image, _ = seglab.data.blobs(shape, n_blobs=8, seed=seed)
    return np.stack([image, image[::-1], image[:, ::-1]], axis=-1)


_RNG = np.random.default_rng(5)
IMAGES = {
    "float64 [0, 1] 203x157": _rgb((203, 157)) / 255,
    "float32 [0, 1] 131x97": (_rgb((131, 97)) / 255).astype(np.float32),
    "float16 [0, 1] 61x67": (_rgb((61, 67)) / 255).astype(np.float16),
    "float32 exact halves": (np.arange(2 * 3 * 3 * 509).reshape(509, 6, 3) % 511 / 510).astype(np.float32),
    "uint16 97x131 (rescaled)": _rgb((97, 131)).astype(np.uint16) * 257,
    "float32 -100..665 (rescaled)": _rgb((150, 149)).astype(np.float32) * 3 - 100,
    "float64 tall 4099x3 (several blocks)": _RNG.random((4099, 3, 3)),
    "one row": _rgb((1, 300)) / 255.0,
    "constant 7.5": np.full((20, 30, 3), 7.5),
}


@pytest.mark.parametrize("name", list(IMAGES))
def test_conversion_equals_the_code_before(name):
    image = IMAGES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConversionWarning)  # the rescaled cases warn, as before
        got = _grabcut._to_uint8(image)
    want = _before_to_uint8(image)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mask_equals_grabcut_on_the_old_conversion(dtype):
    rows, cols = np.mgrid[:120, :131]
    disk = (rows - 60) ** 2 + (cols - 65) ** 2 < 30 ** 2
    noise = np.random.default_rng(1).normal(0, 0.05, (120, 131, 3))
    image = (np.where(disk[..., None], [0.9, 0.3, 0.2], [0.1, 0.4, 0.7]) + noise).clip(0, 1).astype(dtype)
    rect = (20, 25, 80, 80)
    got = seglab.segment(image, "grabcut", rect=rect).data
    want = seglab.segment(_before_to_uint8(image), "grabcut", rect=rect).data
    np.testing.assert_array_equal(got, want)
    assert 0 < got.sum() < got.size


def test_float_colour_temporaries_within_two_float64_images(segment_temporaries):
    image = (_rgb((256, 256)) / 255).astype(np.float32)
    assert segment_temporaries(image, "grabcut", rect=(32, 32, 192, 192)) <= 2.0
