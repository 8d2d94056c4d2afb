"""Provenance: library versions and JSON-safe copies of result info."""

from __future__ import annotations

import math
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import numpy as np

LIBRARIES = ("seglab", "numpy", "scipy", "scikit-image", "opencv-contrib-python-headless", "scikit-learn",
             "dask", "zarr", "tifffile", "optuna", "pyamg")


def versions(names: Iterable[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of `names` (default: seglab and the libraries it calls), read from metadata."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def jsonable(value: Any) -> Any:
    """Return `value` with NumPy scalars/arrays and tuples turned into JSON types (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist()) if value.size <= 10_000 else f"<array {value.shape} {value.dtype}>"
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
