"""Tiling fixtures: stand-in registry entries next to the real ones, and seeded images that tiles cut."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _tiling_fakes  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def fake_specs():
    """Add the stand-in entries (names start with ``tt_``) to the registry for this session."""
    from seglab import register

    undo = register(*_tiling_fakes.SPECS)
    yield
    undo()


def make_blobs(shape=(300, 410), seed=3, n=40, dtype=np.uint8):
    """Seeded bright disks of many sizes (some larger than a 64-pixel tile) on a noisy background."""
    gen = np.random.default_rng(seed)
    grid = np.indices(shape[-2:])
    truth = np.zeros(shape[-2:], bool)
    for _ in range(n):
        r, c = gen.uniform(0, shape[-2]), gen.uniform(0, shape[-1])
        radius = gen.choice([3, 6, 12, 40])
        truth |= (grid[0] - r) ** 2 + (grid[1] - c) ** 2 <= radius**2
    image = np.where(truth, 160, 70) + gen.normal(0, 25, truth.shape)
    top = 255 if dtype == np.uint8 else 4000
    image = np.clip(image * (top / 255), 0, top).astype(dtype)
    if len(shape) == 3:
        image = np.stack([np.roll(image, 17 * k, axis=1) for k in range(shape[0])])
    return image


@pytest.fixture(scope="session")
def blobs():
    return make_blobs()
