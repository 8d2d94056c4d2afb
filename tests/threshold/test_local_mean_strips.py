"""``local(method='mean')`` in strips equals the previous call, scikit-image's ``threshold_local``, bit for bit.

The previous code was ``image > threshold_local(image, block_size, 'mean', offset=offset, mode=mode)`` (three
float64 images of temporaries). The strip path runs the axis-0 ``uniform_filter1d`` in place on one float copy and
the later axes strip by strip: the mask must be the same on every border mode, odd sizes, images of 2-3 rows,
windows wider than the image, 3-D volumes, integer and float dtypes, offsets and ``invert``; the summary's min
and max are the same numbers and its mean the same to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab import threshold

filters = pytest.importorskip("skimage.filters")
skimage_data = pytest.importorskip("skimage.data")

MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def _images():
    rng = np.random.default_rng(31)
    camera = skimage_data.camera()
    return {
        "camera": camera,
        "text_odd": skimage_data.text()[:171, :313],
        "blobs": seglab.data.blobs((256, 256), n_blobs=12, seed=3)[0],
        "u16": (rng.random((197, 45)) * 60000).astype(np.uint16),
        "i16": rng.integers(-3000, 3000, (151, 97)).astype(np.int16),
        "f32": (camera[::3, ::2] / 255 + rng.normal(0, 0.02, camera[::3, ::2].shape)).astype(np.float32),
        "f64": rng.normal(size=(133, 203)),
        "f16": rng.random((90, 40)).astype(np.float16),
        "two_rows": rng.integers(0, 256, (2, 300)).astype(np.uint8),
        "three_rows": rng.integers(0, 256, (3, 41)).astype(np.uint8),
        "volume": np.stack([camera[:90, :120], camera[90:180, :120], camera[:90, 120:240]]),
        "tall_volume": rng.integers(0, 256, (70, 13, 9)).astype(np.uint8),
    }


IMAGES = _images()


def _previous(image, block_size, offset, mode, invert):
    thresh = filters.threshold_local(image, block_size, "mean", offset=offset, mode=mode)
    mask = image <= thresh if invert else image > thresh
    return mask, thresh


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("mode", MODES)
def test_mean_mask_equals_threshold_local(name, mode):
    image = IMAGES[name]
    for block_size, offset, invert in ((3, 0.0, False), (35, 0.02, True), (151, -5.0, False)):
        params = {"block_size": block_size, "method": "mean", "offset": offset, "mode": mode, "invert": invert}
        expected, thresh = _previous(image, block_size, offset, mode, invert)
        np.testing.assert_array_equal(threshold.local(image, **params), expected)


@pytest.mark.parametrize("name", ["camera", "f32", "f64", "volume"])
def test_mean_summary(name):
    image = IMAGES[name]
    _, thresh = _previous(image, 35, 0.5, "reflect", False)
    info = seglab.segment(image, "local", params={"method": "mean", "offset": 0.5}).info
    assert info["threshold_min"] == float(thresh.min()) and info["threshold_max"] == float(thresh.max())
    # summed in float64 strip by strip (NumPy's float32 mean of the whole image rounds differently)
    assert info["threshold_mean"] == pytest.approx(float(thresh.astype(np.float64).mean()), rel=1e-9)


def test_gaussian_default_unchanged():
    # The shared strip routine still gives scikit-image's Gaussian threshold (the default method).
    for name in ("camera", "f32", "volume", "two_rows"):
        image = IMAGES[name]
        expected = image > filters.threshold_local(image, 35, "gaussian")
        np.testing.assert_array_equal(threshold.local(image), expected)
