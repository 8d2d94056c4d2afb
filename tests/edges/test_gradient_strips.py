"""Sobel, Scharr and Prewitt on non-uint8 images and volumes, in strips, equal the previous whole-image call.

The previous code formed the float64 copy, both (or all three) float64 derivatives and their squares at once
(4.5 float64 images of temporaries); the strip path runs the same calls on strips with one real neighbour row
each side. Magnitude and orientation must be the same float32 bits on every image: strip seams, borders, odd and
tiny sizes, 3-D volumes striped along each axis, every non-uint8 dtype, large values.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.edges import _gradient, prewitt, scharr, sobel

skimage_data = pytest.importorskip("skimage.data")
filters = pytest.importorskip("skimage.filters")

FILTERS = {"sobel": sobel, "scharr": scharr, "prewitt": prewitt}


def _previous(array, name):
    """The code before the strips, verbatim."""
    grads = _gradient._derivatives(_gradient._as_float(array), _gradient._SMOOTH[name])
    magnitude = np.sqrt(sum(g * g for g in grads) / len(grads)).astype(np.float32)
    info = {}
    if len(grads) == 2:
        info["orientation"] = np.arctan2(grads[0] + 0.0, grads[1] + 0.0).astype(np.float32)
    return magnitude, info


def _images():
    rng = np.random.default_rng(41)
    camera = skimage_data.camera()
    seams = np.zeros((400, 37), np.float32)
    seams[::7, 3:30] = 1.0  # single rows at every offset from the strip seams
    seams[:, 20] = 0.5
    seams[0, :] = 2.0
    seams[-1, ::2] = -1.0
    return {
        "camera_f64": camera / 255.0,
        "coins_odd_u16": skimage_data.coins()[:301, :383].astype(np.uint16) * 257,
        "seams_f32": seams,
        "noise_f16": rng.random((211, 40)).astype(np.float16),
        "i16": rng.integers(-3000, 3000, (389, 97)).astype(np.int16),
        "i8": rng.integers(-128, 127, (130, 61)).astype(np.int8),
        "u32": rng.integers(0, 2**31, (90, 70)).astype(np.uint32),
        "two_rows": rng.random((2, 300)),
        "three_rows_u16": rng.integers(0, 65535, (3, 41)).astype(np.uint16),
        "two_columns": rng.random((500, 2)).astype(np.float32),
        "large_f64": rng.normal(size=(120, 50)) * 1e30,  # squares near 1e60
    }


IMAGES = _images()
VOLUMES = {shape: np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
           for shape in [(40, 30, 20), (5, 64, 9), (4, 6, 120), (3, 5, 6)]}


def _assert_same(got, expected):
    (magnitude, info), (ref_magnitude, ref_info) = got, expected
    assert magnitude.dtype == np.float32 and sorted(info) == sorted(ref_info)
    np.testing.assert_array_equal(magnitude.view(np.uint32), ref_magnitude.view(np.uint32))
    for key in ref_info:
        np.testing.assert_array_equal(info[key].view(np.uint32), ref_info[key].view(np.uint32))


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("image_name", sorted(IMAGES))
def test_images_equal_the_whole_image_call(name, image_name):
    image = IMAGES[image_name]
    _assert_same(_gradient._gradient(image, name), _previous(image, name))


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("shape", sorted(VOLUMES))
def test_volumes_equal_the_whole_image_call(name, shape):
    volume = VOLUMES[shape]
    _assert_same(_gradient._gradient(volume, name), _previous(volume, name))
    _assert_same(_gradient._gradient(volume.astype(np.float64), name), _previous(volume.astype(np.float64), name))


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_public_functions_and_registry_route(name):
    image = IMAGES["camera_f64"]
    expected, info = _previous(image, name)
    np.testing.assert_array_equal(FILTERS[name](image), expected)
    result = seglab.segment(image, name)
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_array_equal(result.extras["orientation"], info["orientation"])
    # and still scikit-image's magnitude to float32 rounding
    np.testing.assert_allclose(expected, getattr(filters, name)(image), rtol=1e-6, atol=1e-7)


def test_the_images_above_are_cut_into_several_strips():
    for image in (IMAGES["camera_f64"], IMAGES["seams_f32"], IMAGES["two_columns"], VOLUMES[(4, 6, 120)]):
        axis = 0 if image.ndim == 2 else int(np.argmax(image.shape))
        others = image.size // image.shape[axis]
        step = max(min(_gradient._BLOCK_PIXELS // others, image.shape[axis] // 8 + 1), 1)
        assert step < image.shape[axis]
