"""Images for the threshold tests: real (camera, coins, text) and seeded derived uint16/float versions."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data


def _images():
    gen = np.random.default_rng(2024)
    camera = data.camera()
    coins = data.coins()
    return {
        "camera_u8": camera,
        "coins_u8": coins,
        "camera_u16": camera.astype(np.uint16) * 257 + gen.integers(0, 257, camera.shape).astype(np.uint16),
        "coins_f32": (coins / 255.0 + gen.normal(0, 0.01, coins.shape)).astype(np.float32),
        "camera_f64": camera / 255.0 + gen.normal(0, 0.01, camera.shape),
        "volume_u8": np.stack([coins[:120, :160]] * 3),
    }


IMAGES = _images()


@pytest.fixture(scope="session")
def images():
    """Name -> image (read-only by convention)."""
    return IMAGES


@pytest.fixture(params=sorted(IMAGES), scope="module")
def image(request):
    return IMAGES[request.param]
