"""Training hooks: which registered methods learn from painted labels, and how to train them.

A learned method is an ordinary registered method with a ``model`` parameter (a model folder). Its
training function lives beside it in its family (``seglab.learn``); the widgets find it here and
never train anything themselves. When the method is not registered yet (an older seglab, or the
learn extra missing), :func:`available` says so and the widgets show :data:`UNAVAILABLE`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UNAVAILABLE", "available", "trainer", "train", "train_and_save"]

UNAVAILABLE = ("the pixel classifier is not available in this seglab (method 'pixel_classifier' is not registered, "
               'or scikit-learn is missing: pip install "seglab[learn]")')

# model kind (a spec's ``model`` field: the artefact a learned method loads) -> the function that trains
# one in memory from (image, labels). Kinds trained only from files (the U-Net: ``seglab train``) are absent.
_TRAINERS = {
    "pixel_classifier": "seglab.learn:fit_pixel_classifier",
}


def trainer(method: str) -> Callable[..., Any] | None:
    """The function that trains `method` from ``(image, labels)``, or None when it has none (or it is missing)."""
    import seglab

    if method not in seglab.list_methods():
        return None
    spec = seglab.get_method(method)
    kind = getattr(spec, "model", None) or (method if method in _TRAINERS else None)
    target = _TRAINERS.get(kind) if isinstance(kind, str) else None
    if target is None:
        return None
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        return None


def available(method: str = "pixel_classifier") -> bool:
    """True when `method` is registered and its trainer imports."""
    return trainer(method) is not None


def train(image: np.ndarray, labels: np.ndarray, folder: Path, *, method: str = "pixel_classifier",
          truth: bool = False, progress: Callable[[str, Any], None] | None = None) -> Path:
    """Train `method` on `image` and `labels`, save the model folder, return its path.

    Parameters
    ----------
    image : ndarray
        The image (gray or colour, 2-D or 3-D).
    labels : ndarray of int
        Scribbles: 0 = unlabelled, 1..K = classes. With ``truth=True`` a full ground truth
        (0 = background, nonzero = objects), turned into classes by ``seglab.learn.labels_from_truth``.
    folder : Path
        Where the model is written (``weights.safetensors`` + ``config.json``).
    """
    from seglab._core.errors import MissingDependencyError

    fit = trainer(method)
    if fit is None:
        raise MissingDependencyError(UNAVAILABLE)
    labels = np.asarray(labels)
    if truth:
        labels = (labels != 0).astype(np.int32) + 1  # as seglab.learn.labels_from_truth: 1 = background
    kwargs = {"progress": progress} if progress is not None else {}
    model = fit(np.asarray(image), labels, **kwargs)
    return train_and_save(model, folder)


def train_and_save(model, folder: Path) -> Path:
    """Save a trained model to `folder` (atomically, seglab's model format) and return the folder."""
    saved = model.save(Path(folder))
    return Path(saved) if saved is not None else Path(folder)
