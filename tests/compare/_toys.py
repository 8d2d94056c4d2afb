"""Toy registry entries for compare/tune tests: small, exact, and independent of the real families.

``install(monkeypatch)`` makes their module importable for one test and ``register_into(registry)`` adds
them to a test's own registry (``seglab.testing.isolated_registry``); real entries win on a name clash, so a
real 'grayscale' pre-step is used when the preprocess family is present.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import ndimage as ndi

from seglab._core.registry import MethodSpec, Param

MODULE = "seglab_test_toys"


def fixed_threshold(image, *, threshold=128.0):
    """Foreground where image > threshold (default deliberately high)."""
    return np.asarray(image) > threshold


def half_threshold(image, *, fraction=0.5):
    """Foreground above `fraction` of the way from min to max (a good default on two-level images)."""
    image = np.asarray(image, float)
    return image > image.min() + fraction * (image.max() - image.min())


def components(image, *, threshold=128.0):
    """Connected components of image > threshold (instance labels)."""
    labels, _ = ndi.label(np.asarray(image) > threshold)
    return labels.astype(np.int32)


def always_fails(image, *, value=1):
    raise ValueError("toy_fail always fails")


def needs_seeds(image, *, seeds=None):
    return seeds > 0


def to_gray(image):
    image = np.asarray(image, float)
    return image.mean(axis=-1) if image.ndim == 3 else image


def median(image, *, size=1):
    return ndi.median_filter(np.asarray(image), size=size) if size > 1 else np.asarray(image)


def remove_small(mask, *, min_size=0):
    labels, n = ndi.label(mask)
    if n == 0 or min_size <= 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_size
    keep[0] = False
    return keep[labels]


T = f"{MODULE}:"
SPECS = [
    MethodSpec("toy_fixed", "toy", T + "fixed_threshold", "mask", "image > threshold",
               params=(Param("threshold", "float", 128.0, min=0.0, max=255.0),)),
    MethodSpec("toy_half", "toy", T + "half_threshold", "mask", "image above mid-range",
               params=(Param("fraction", "float", 0.5, min=0.0, max=1.0, tune=(0.05, 0.95)),)),
    MethodSpec("toy_cc", "toy", T + "components", "labels", "components of image > threshold",
               params=(Param("threshold", "float", 128.0, min=0.0, max=255.0),)),
    MethodSpec("toy_fail", "toy", T + "always_fails", "mask", "fails",
               params=(Param("value", "int", 1, min=0, max=3),)),
    MethodSpec("toy_seeded", "toy", T + "needs_seeds", "mask", "needs seeds", inputs=("seeds",)),
    MethodSpec("grayscale", "toy", T + "to_gray", "image", "mean of channels", kind="pre", channels="any"),
    MethodSpec("toy_median", "toy", T + "median", "image", "median filter", kind="pre",
               params=(Param("size", "int", 1, min=1, max=9, odd=True),)),
    MethodSpec("toy_small", "toy", T + "remove_small", "image", "remove small objects", kind="post",
               accepts=("mask",), params=(Param("min_size", "int", 0, min=0, max=500, tune=(0, 200)),)),
]
TOY_METHODS = ("toy_fixed", "toy_half", "toy_cc", "toy_fail", "toy_seeded")


def install(monkeypatch) -> None:
    """Register the toy entries for the duration of one test."""
    import types

    module = types.ModuleType(MODULE)
    for name in ("fixed_threshold", "half_threshold", "components", "always_fails", "needs_seeds", "to_gray",
                 "median", "remove_small"):
        setattr(module, name, globals()[name])
    monkeypatch.setitem(sys.modules, MODULE, module)


def register_into(registry) -> None:
    """Add the toy entries that do not clash with a real one to `registry` (a test's isolated copy)."""
    registry.register(*[s for s in SPECS if (s.kind, s.name) not in registry], origin="test")


def two_level_images(n=4, seed=0, shape=(48, 64), fg=100, bg=40, noise=6.0):
    """Dim bright squares (fg ~ 100) on a dark background: a fixed threshold of 128 finds nothing."""
    rng = np.random.default_rng(seed)
    images, truths = [], []
    for _ in range(n):
        truth = np.zeros(shape, bool)
        for _k in range(3):
            r, c = rng.integers(4, shape[0] - 16), rng.integers(4, shape[1] - 16)
            truth[r:r + 10, c:c + 12] = True
        image = np.where(truth, fg, bg) + rng.normal(0, noise, shape)
        images.append(np.clip(image, 0, 255).astype(np.uint8))
        truths.append(truth)
    return images, truths
