"""U-Net fixtures: seeded synthetic disks and tiny models trained once per session (seconds on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the U-Net tests need torch (pip install 'seglab[deep]')")
pytest.importorskip("monai", reason="the U-Net tests need MONAI (pip install 'seglab[deep]')")

#: A network small enough to train in seconds, yet a real BasicUNet (five levels).
TINY = {"features": (8, 16, 32, 64, 128, 8), "patch": 64, "batch_size": 4, "window": 96, "threads": 1,
        "learning_rate": 0.01}


def disks(seed: int, size: int = 96, n: int = 6, touching: int = 1):
    """Bright disks on a noisy background: ``(uint8 image, int32 instance labels)``.

    Disks do not overlap; `touching` pairs are placed side by side so that they touch (the instance task
    must split them), the other `n` disks stand alone.
    """
    gen = np.random.default_rng(seed)
    rows, cols = np.indices((size, size))
    labels = np.zeros((size, size), np.int32)
    placed: list[tuple[float, float, float]] = []

    def free(r, c, radius, gap=3.0):
        return all((r - r2) ** 2 + (c - c2) ** 2 > (radius + q + gap) ** 2 for r2, c2, q in placed)

    def put(r, c, radius):
        placed.append((r, c, radius))
        labels[((rows - r) ** 2 + (cols - c) ** 2 <= radius**2) & (labels == 0)] = len(placed)

    for want, pair in ((touching, True), (n, False)):
        done = 0
        for _ in range(500):
            if done == want:
                break
            radius = float(gen.integers(6, 9))
            r, c = gen.uniform(radius + 2, size - radius - 2), gen.uniform(radius + 2, size - 3 * radius - 2)
            if pair:
                if free(r, c, radius) and free(r, c + 2 * radius, radius):
                    put(r, c, radius)
                    put(r, c + 2 * radius, radius)
                    done += 1
            elif free(r, c, radius):
                put(r, c, radius)
                done += 1
    image = np.where(labels > 0, 170.0, 50.0) + gen.normal(0, 18, labels.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="session")
def semantic_model(tmp_path_factory):
    """A binary semantic U-Net trained on four disk images (the masks as truth)."""
    from seglab.deep import train_unet

    pairs = [disks(seed) for seed in range(4)]
    folder = tmp_path_factory.mktemp("unet") / "semantic"
    train_unet([p[0] for p in pairs], [p[1] > 0 for p in pairs], out=folder, task="semantic", epochs=6,
               steps_per_epoch=8, seed=0, **TINY)
    return folder


@pytest.fixture(scope="session")
def instance_model(tmp_path_factory):
    """A 3-class (interior / boundary / background) U-Net trained on disks, some of them touching."""
    from seglab.deep import train_unet

    pairs = [disks(seed, touching=3, n=3) for seed in range(10, 14)]
    folder = tmp_path_factory.mktemp("unet") / "instance"
    train_unet([p[0] for p in pairs], [p[1] for p in pairs], out=folder, task="instance", epochs=12,
               steps_per_epoch=10, seed=0, **TINY)
    return folder


@pytest.fixture(scope="session")
def make_disks():
    """The :func:`disks` generator, for tests that need more images."""
    return disks
