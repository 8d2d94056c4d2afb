"""The Laplacian of Gaussian in strips (seglab.edges.log) equals the previous whole-image call bit for bit.

The previous call was ``scipy.ndimage.gaussian_laplace(img_as_float(image), sigma).astype(np.float32)``
(three float64 images of temporaries). The strip path filters strips across the longest axis with a halo of
``int(4 * sigma + 0.5)`` real neighbours; every value must be the same float32 bits: image borders (the
'reflect' extension), strip seams (features on the rows where one strip ends), odd and tiny sizes, 3-D volumes
striped along each axis, integer and float dtypes, and sigmas from radius 0 to halos wider than a strip.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import ParameterError
from seglab.edges import _gradient, log

ndi = pytest.importorskip("scipy.ndimage")
skimage_data = pytest.importorskip("skimage.data")


def _previous(image, sigma):
    """The code before the strips, verbatim."""
    return ndi.gaussian_laplace(_gradient._as_float(image), float(sigma)).astype(np.float32)


def _images():
    rng = np.random.default_rng(21)
    seams = np.zeros((700, 33), np.uint8)  # tall and narrow: several strips at every sigma below
    for row in range(0, 700, 29):
        seams[row, 4:20] = 230  # single bright rows at many offsets from the strip seams
    seams[:, 25] = 120
    seams[-1, :] = 255  # features on the last and first rows (the reflected border)
    seams[0, ::3] = 77
    return {
        "camera": skimage_data.camera(),
        "coins_odd": skimage_data.coins()[:301, :383],
        "blobs": seglab.data.blobs((256, 256), n_blobs=12, seed=3)[0],
        "seams": seams,
        "wide": rng.integers(0, 256, (41, 900)).astype(np.uint8),  # strips across the columns
        "noise_f32": rng.random((530, 67)).astype(np.float32),
        "noise_f64": rng.normal(size=(377, 203)),
        "noise_f16": rng.random((211, 40)).astype(np.float16),
        "u16": (rng.random((451, 45)) * 60000).astype(np.uint16),
        "i16": rng.integers(-3000, 3000, (389, 97)).astype(np.int16),
        "bool": rng.random((300, 31)) > 0.7,
        "tiny": rng.integers(0, 256, (3, 5)).astype(np.uint8),
        "two_rows": rng.integers(0, 256, (2, 400)).astype(np.uint8),
        "two_columns": rng.integers(0, 256, (500, 2)).astype(np.uint8),
    }


IMAGES = _images()


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("sigma", [0.01, 0.5, 2.0, 3.3, 8.0])
def test_log_equals_the_whole_image_call(name, sigma):
    image = IMAGES[name]
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    got = log(image, sigma=sigma)
    expected = _previous(image, sigma)
    assert got.dtype == np.float32 and got.shape == image.shape
    np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))


def test_the_cases_above_cross_strip_seams():
    # The equality above means something only if these images are really cut into several strips.
    for name in ("camera", "seams", "wide", "noise_f32", "u16", "two_rows", "two_columns"):
        shape = IMAGES[name].shape
        axis = int(np.argmax(shape))
        for sigma in (0.5, 2.0):
            step = _gradient._log_step(shape, axis, int(4 * sigma + 0.5))
            assert step is not None and step < shape[axis], (name, sigma)


@pytest.mark.parametrize("shape", [(6, 90, 70), (40, 9, 11), (5, 12, 300), (2, 3, 200)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("sigma", [0.7, 2.0])
def test_volumes_striped_along_their_longest_axis(shape, dtype, sigma):
    rng = np.random.default_rng(sum(shape))
    volume = (rng.random(shape) * 255).astype(dtype)
    got = log(volume, sigma=sigma)
    np.testing.assert_array_equal(got.view(np.uint32), _previous(volume, sigma).view(np.uint32))


@pytest.mark.parametrize("sigma", [40.0, 100.0])
def test_corners_that_keep_the_whole_image_call(sigma):
    # A halo wider than the image (one strip would be the whole image) takes scipy's call itself.
    image = IMAGES["coins_odd"]
    np.testing.assert_array_equal(log(image, sigma=sigma).view(np.uint32),
                                  _previous(image, sigma).view(np.uint32))


def test_registry_route_and_bad_sigma():
    image = IMAGES["blobs"]
    np.testing.assert_array_equal(seglab.segment(image, "log", params={"sigma": 2.0}).data, _previous(image, 2.0))
    with pytest.raises(ParameterError, match="`sigma` of 'log' got 0; expected a number in"):
        log(image, sigma=0)
