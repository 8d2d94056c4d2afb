"""Stand-in registry entries for the tiling tests (used alongside whatever methods are registered).

Each is a plain NumPy/SciPy function with a declared halo, so the engine is tested even before the method
families land, and in worker processes (pickled by value).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from seglab._core.registry import MethodSpec, Param


def median(image, *, size=3):
    return ndi.median_filter(image, size=size, mode="reflect")


def invert(image):
    return (np.iinfo(image.dtype).max - image) if image.dtype.kind == "u" else -image


def as_float(image):
    return image.astype(np.float32)


def local_mean_threshold(image, *, size=15, offset=0.0):
    # integer box sums: exact wherever a line starts (a float running mean is not, by a few ULPs)
    total = ndi.correlate(image.astype(np.int64), np.ones((size,) * image.ndim, np.int64), mode="nearest")
    return image.astype(np.int64) * size**image.ndim > total + offset * size**image.ndim


def mean_threshold(image, *, invert=False):
    t = image.mean()
    return (image <= t) if invert else (image > t)


def stat_mean(method, counts, centers, **params):
    return float((counts * centers).sum() / counts.sum())


def apply_mean(image, statistic, *, invert=False):
    return (image <= statistic) if invert else (image > statistic)


def label(mask):
    labels, _ = ndi.label(mask)
    return labels.astype(np.int32)


def opening(mask, *, radius=1):
    structure = np.ones((2 * radius + 1,) * mask.ndim, bool)
    return ndi.binary_opening(mask, structure=structure, border_value=1) & mask | \
        ndi.binary_opening(mask, structure=structure)


def edges(image, *, sigma=1.0):
    return ndi.gaussian_gradient_magnitude(image.astype(np.float32), sigma=sigma, mode="reflect")


SPECS = [
    MethodSpec("tt_median", "test", f"{__name__}:median", "image", "median", kind="pre", dims=(2, 3),
               params=(Param("size", "int", 3, min=1),), halo=lambda p: p["size"] // 2),
    MethodSpec("tt_float", "test", f"{__name__}:as_float", "image", "to float32", kind="pre", dims=(2, 3)),
    MethodSpec("tt_invert", "test", f"{__name__}:invert", "image", "invert", kind="pre", dims=(2, 3)),
    MethodSpec("tt_local", "test", f"{__name__}:local_mean_threshold", "mask", "local mean",
               params=(Param("size", "int", 15, min=1), Param("offset", "float", 0.0)),
               halo=lambda p: p["size"] // 2 + 1),
    MethodSpec("tt_mean", "test", f"{__name__}:mean_threshold", "mask", "global mean", dims=(2, 3),
               params=(Param("invert", "bool", False),), tiling="global",
               stat_target=f"{__name__}:stat_mean", apply_target=f"{__name__}:apply_mean"),
    MethodSpec("tt_edges", "test", f"{__name__}:edges", "edges", "gradient", dims=(2,),
               params=(Param("sigma", "float", 1.0),), halo=lambda p: int(4 * p["sigma"] + 0.5) + 1),
    MethodSpec("tt_label", "test", f"{__name__}:label", "labels", "CC", kind="post", accepts=("mask",),
               dims=(2, 3)),
    MethodSpec("tt_nonlocal", "test", f"{__name__}:mean_threshold", "mask", "not tileable", tiling="none"),
]
