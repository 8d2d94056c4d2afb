"""Canny in row strips (seglab.edges.canny, scale='skimage') equals skimage.feature.canny bit for bit.

The strip path keeps only boolean masks per strip, so it must give exactly scikit-image's edges on every
image: borders (the eroded outer ring, the constant-mode bleed-over near the image edges), strip seams
(edges lying on the rows where one strip ends and the next begins), odd and tiny sizes, integer and float
dtypes, quantile thresholds, and strips smaller than the smoothing radius.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab._core.errors import ParameterError
from seglab.edges import _canny, canny

feature = pytest.importorskip("skimage.feature")
skimage_data = pytest.importorskip("skimage.data")


def _images():
    rng = np.random.default_rng(13)
    steps = np.zeros((97, 61), np.uint8)
    steps[:, 30:] = 200  # a vertical edge crossing every strip seam
    steps[0, :] = 255  # strong rows on the image border (eroded away) and next to it
    steps[-2:, :] = 90
    for row in range(5, 97, 11):
        steps[row, 5:25] = 160  # horizontal edges at many seam offsets
    return {
        "camera": skimage_data.camera(),
        "coins_odd": skimage_data.coins()[:301, :383],
        "blobs": seglab.data.blobs((256, 256), n_blobs=12, seed=3)[0],
        "steps": steps,
        "noise_f32": rng.random((130, 67)).astype(np.float32),
        "noise_f64": rng.normal(size=(77, 203)),
        "u16": (rng.random((151, 45)) * 60000).astype(np.uint16),
        "i16": rng.integers(-3000, 3000, (89, 97)).astype(np.int16),
        "tiny": rng.integers(0, 256, (3, 5)).astype(np.uint8),
        "two_rows": rng.integers(0, 256, (2, 40)).astype(np.uint8),
        "constant": np.full((40, 33), 7, np.uint8),
    }


IMAGES = _images()
PARAMS = [
    {},
    {"sigma": 0.0},
    {"sigma": 0.5, "low_threshold": 0.05, "high_threshold": 0.1},
    {"sigma": 2.5},
    {"sigma": 2.0, "use_quantiles": True, "low_threshold": 0.8, "high_threshold": 0.9},
    {"sigma": 1.0, "use_quantiles": True, "low_threshold": 0.0, "high_threshold": 1.0},
]


def _reference(image, params):
    kwargs = dict(params)
    if image.dtype.kind in "ui" and not kwargs.get("use_quantiles"):
        # seglab and scikit-image take absolute thresholds on the dtype's range; scale the float ones
        top = np.iinfo(image.dtype).max
        for name in ("low_threshold", "high_threshold"):
            if name in kwargs:
                kwargs[name] = kwargs[name] * top
    return kwargs


@pytest.mark.parametrize("name", list(IMAGES))
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults")
def test_strips_equal_skimage_canny(name, params, monkeypatch):
    image = IMAGES[name]
    kwargs = _reference(image, params)
    expected = feature.canny(image, **kwargs)
    # small strips (many seams, strips thinner than the halo) and the default size must both agree
    for strip_pixels in (1, _canny._STRIP_PIXELS):
        monkeypatch.setattr(_canny, "_STRIP_PIXELS", strip_pixels)
        ours = canny(image, **kwargs)
        assert ours.dtype == np.bool_ and ours.shape == image.shape
        np.testing.assert_array_equal(ours, expected, err_msg=f"{name} {params} strips of {strip_pixels} px")


def test_strips_find_the_edges_of_a_square():
    # a user-level value: the square's outline is found, nothing inside or outside it
    image = np.zeros((64, 80), np.uint8)
    image[20:44, 25:60] = 200
    edges = canny(image, sigma=1.0)
    rows, cols = np.nonzero(edges)
    assert edges.sum() > 100
    assert rows.min() >= 18 and rows.max() <= 45 and cols.min() >= 23 and cols.max() <= 61
    assert not edges[25:39, 30:55].any()


def test_high_default_below_low_is_a_parameter_error():
    image = skimage_data.camera()[:64, :64]
    # 60 on uint8 is 0.235 of the range, above the default high threshold (0.2)
    with pytest.raises(ParameterError, match="high threshold .* below the low threshold"):
        canny(image, low_threshold=60)
