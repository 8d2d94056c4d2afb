"""Sample data bundled with seglab: seeded synthetic images with exact ground truth.

Nothing here downloads anything. The generators are deterministic given
``seed``, so tests, benchmarks and the demo see the same pixels everywhere.
scikit-image's offline images (``camera``, ``coins``, ``astronaut``, ``text``)
are reachable through :func:`skimage_sample`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["blobs", "nuclei", "vessels", "skimage_sample", "SKIMAGE_OFFLINE"]

SKIMAGE_OFFLINE = ("camera", "coins", "text", "astronaut", "horse", "cell", "page")


def _noise_and_blur(truth_image: np.ndarray, rng: np.random.Generator, *, noise: float, blur: float) -> np.ndarray:
    from scipy import ndimage as ndi

    image = ndi.gaussian_filter(truth_image.astype(np.float32), blur) if blur > 0 else truth_image.astype(np.float32)
    image += rng.normal(0.0, noise, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def blobs(shape: tuple[int, int] = (256, 256), *, n_blobs: int = 12, seed: int = 0,
          noise: float = 14.0) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Bright disks of random radius on a dark, noisy background.

    Parameters
    ----------
    shape : tuple of int
        (rows, cols).
    n_blobs : int
        Number of disks (they may overlap).
    seed : int
        Seed of the random generator.
    noise : float
        Standard deviation of the additive Gaussian noise (grey levels).

    Returns
    -------
    image : (M, N) uint8 ndarray
    truth : (M, N) bool ndarray
        Exact foreground (the disks before blur and noise).

    Examples
    --------
    >>> image, truth = blobs((64, 64), n_blobs=3, seed=1)
    >>> image.shape, truth.dtype
    ((64, 64), dtype('bool'))
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    truth = np.zeros(shape, bool)
    scale = min(shape)
    for _ in range(n_blobs):
        radius = rng.uniform(0.04, 0.11) * scale
        r, c = rng.uniform(radius, shape[0] - radius), rng.uniform(radius, shape[1] - radius)
        truth |= (rows - r) ** 2 + (cols - c) ** 2 <= radius**2
    base = np.where(truth, 175, 70)
    return _noise_and_blur(base, rng, noise=noise, blur=1.0), truth


def nuclei(shape: tuple[int, int] = (256, 256), *, n_nuclei: int = 18, seed: int = 0, noise: float = 10.0,
           touching: bool = True) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """Elliptical "nuclei" with instance ground truth, some of them touching.

    Returns
    -------
    image : (M, N) uint8 ndarray
    labels : (M, N) int32 ndarray
        Instance labels 1..n (0 = background); where ellipses overlap the
        later one wins, so every label is a connected object.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.int32)
    scale = min(shape)
    centres: list[tuple[float, float, float]] = []
    label = 0
    attempts = 0
    while label < n_nuclei and attempts < 50 * n_nuclei:
        attempts += 1
        a = rng.uniform(0.035, 0.06) * scale
        b = a * rng.uniform(0.65, 1.0)
        if touching and centres and rng.random() < 0.4:
            pr, pc, pa = centres[rng.integers(len(centres))]
            angle = rng.uniform(0, 2 * np.pi)
            r, c = pr + (pa + a) * 0.9 * np.sin(angle), pc + (pa + a) * 0.9 * np.cos(angle)
        else:
            r, c = rng.uniform(a, shape[0] - a), rng.uniform(a, shape[1] - a)
        if not (a <= r < shape[0] - a and a <= c < shape[1] - a):
            continue
        if any(np.hypot(r - pr, c - pc) < 0.8 * (a + pa) for pr, pc, pa in centres):
            continue
        theta = rng.uniform(0, np.pi)
        dr, dc = rows - r, cols - c
        u = dr * np.cos(theta) + dc * np.sin(theta)
        v = -dr * np.sin(theta) + dc * np.cos(theta)
        inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        label += 1
        labels[inside & (labels == 0)] = label
        centres.append((r, c, a))
    # Keep labels consecutive even if an ellipse was fully covered.
    present = np.unique(labels[labels > 0])
    lut = np.zeros(label + 1, np.int32)
    lut[present] = np.arange(1, present.size + 1, dtype=np.int32)
    labels = lut[labels]
    brightness = np.concatenate([[40.0], rng.uniform(150, 210, present.size)])
    return _noise_and_blur(brightness[labels], rng, noise=noise, blur=1.2), labels


def vessels(shape: tuple[int, int] = (256, 256), *, n_vessels: int = 7, seed: int = 0,
            noise: float = 12.0) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Dark, thin, curving "vessels" on a bright textured background (KESM-like).

    Returns
    -------
    image : (M, N) uint8 ndarray
        Vessels are dark, as in KESM images (invert before a bright-foreground method).
    truth : (M, N) bool ndarray
        Exact vessel mask.
    """
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, bool)
    rows, cols = shape
    for _ in range(n_vessels):
        r, c = rng.uniform(0, rows), rng.uniform(0, cols)
        angle = rng.uniform(0, 2 * np.pi)
        width = rng.uniform(1.0, 3.0)
        for _step in range(int(1.5 * max(shape))):
            angle += rng.normal(0, 0.08)
            r += np.sin(angle)
            c += np.cos(angle)
            if not (0 <= r < rows and 0 <= c < cols):
                break
            r0, r1 = int(max(r - width, 0)), int(min(r + width + 1, rows))
            c0, c1 = int(max(c - width, 0)), int(min(c + width + 1, cols))
            rr, cc = np.ogrid[r0:r1, c0:c1]
            truth[r0:r1, c0:c1] |= (rr - r) ** 2 + (cc - c) ** 2 <= width**2
    texture = ndi.gaussian_filter(rng.normal(0, 1, shape), 6)
    texture = 15 * texture / (np.abs(texture).max() + 1e-9)
    base = np.where(truth, 120.0, 205.0) + texture
    return _noise_and_blur(base, rng, noise=noise, blur=0.7), truth


def skimage_sample(name: str) -> np.ndarray:
    """Return one of scikit-image's offline sample images (:data:`SKIMAGE_OFFLINE`)."""
    from seglab._core.errors import ParameterError, close_matches_hint

    if name not in SKIMAGE_OFFLINE:
        raise ParameterError(
            f"unknown sample {name!r}; offline samples: {', '.join(SKIMAGE_OFFLINE)}."
            + close_matches_hint(name, SKIMAGE_OFFLINE)
        )
    import skimage.data

    return getattr(skimage.data, name)()
