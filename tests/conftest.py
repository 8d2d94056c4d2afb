"""Shared fixtures: real data from ../shared/data (skipped with a message when absent) and seeded images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from seglab.testing import seglab_registry  # noqa: F401 - the isolated-registry fixture for every test

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEGLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    """Return a function ``path(*parts)`` into ../shared/data that skips the test when the file is absent."""

    def locate(*parts: str) -> Path:
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"shared data not found: {path} (set SEGLAB_SHARED_DATA or place ../shared/data)")
        return path

    return locate


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def blobs_image():
    """A seeded 128x160 uint8 image of bright disks on a noisy dark background, with its exact truth mask."""
    gen = np.random.default_rng(7)
    rows, cols = np.mgrid[:128, :160]
    truth = np.zeros((128, 160), bool)
    for r, c, rad in [(30, 40, 14), (80, 50, 18), (60, 115, 22), (105, 130, 10)]:
        truth |= (rows - r) ** 2 + (cols - c) ** 2 <= rad**2
    image = np.where(truth, 170, 60).astype(np.float64) + gen.normal(0, 12, truth.shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth


@pytest.fixture(scope="session")
def segment_temporaries():
    """Return ``measure(image, method, **params)``: seglab.segment's peak temporaries in float64 images.

    The memory policy's measure (as benchmarks/memory.py): traced peak less the returned labels/mask, divided by
    8 bytes per pixel of the result (colour images count their pixels once). A warm-up call runs first, so that
    first-call imports and caches are not counted.
    """
    import gc
    import tracemalloc

    import seglab

    def measure(image, method: str, **params) -> float:
        seglab.segment(image, method, **params)
        gc.collect()
        tracemalloc.start()
        try:
            result = seglab.segment(image, method, **params)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return (peak - result.data.nbytes) / (result.data.size * 8)

    return measure
