"""watershed (scikit-image backend) on thin volumes: strips of about a fifth of the planes, same labels.

A volume of fewer than 64 planes took strips of at least 8 planes (half of a 16-plane volume), so scikit-image's
Sobel temporaries of half the volume lived beside the padded elevation: 2.92 float64 images on 16 x 128 x 128.
Strips of n // 5 planes (at least one) keep the labels equal to
``skimage.segmentation.watershed(skimage.filters.sobel(volume), markers)`` for every plane count (every seam
between strips is crossed) and the temporaries within two float64 images.
"""

from __future__ import annotations

import numpy as np
import pytest

import seglab
from seglab.region import watershed

filters = pytest.importorskip("skimage.filters")
segmentation = pytest.importorskip("skimage.segmentation")


def _volume(planes, side, dtype, seed=0):
    stack = np.stack([seglab.data.blobs((side, side + 3), n_blobs=4, seed=seed + p)[0] for p in range(planes)])
    return (stack / 3).astype(dtype) if np.dtype(dtype).kind == "f" else stack.astype(dtype)


@pytest.mark.parametrize("planes", [2, 3, 9, 16, 17, 23, 40])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_thin_volume_equals_skimage(planes, dtype):
    volume = _volume(planes, 29, dtype)
    expected = segmentation.watershed(filters.sobel(volume))
    np.testing.assert_array_equal(watershed(volume), expected)
    low, high = (float(v) for v in np.percentile(volume, [30, 80]))
    markers = np.zeros(volume.shape, np.int32)
    markers[volume < low], markers[volume > high] = 1, 2
    np.testing.assert_array_equal(watershed(volume, low=low, high=high, watershed_line=True),
                                  segmentation.watershed(filters.sobel(volume), markers, watershed_line=True))


def test_thin_volume_temporaries_within_two_float64_images(segment_temporaries):
    volume = _volume(16, 125, np.uint8)  # 16 x 125 x 128: the padded arrays alone are ~1.2 images here
    assert segment_temporaries(volume, "watershed") <= 2.0
