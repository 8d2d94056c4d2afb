"""Learned segmentation without deep learning: a pixel classifier, and the model folder every learned model uses.

* :func:`save_model` / :func:`load_model` — the one model-folder format
  (``weights.safetensors`` + ``config.json``), loaded without executing code;
  every problem is one :class:`ModelError`.
* :func:`hash_arrays` / :func:`hash_files` — training-data hashes for a model's config.
* :func:`pixel_features` — ilastik's multiscale features (cached per image).
* :func:`fit_pixel_classifier` -> :class:`PixelClassifier` — a random forest
  trained from scribbles or masks; ``.predict``, ``.save``, ``PixelClassifier.load``.
  The registered method ``pixel_classifier`` runs a saved model.
* :func:`train_pixel_classifier` — the ``seglab train`` workflow (files in, model folder out).

Names are imported on first use, so ``import seglab.learn`` (which the
registry does to read ``seglab.learn._spec``) imports neither scikit-learn nor
OpenCV.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "ModelError": "seglab.learn._artifact:ModelError",
    "save_model": "seglab.learn._artifact:save_model",
    "load_model": "seglab.learn._artifact:load_model",
    "read_model_config": "seglab.learn._artifact:read_config",
    "hash_arrays": "seglab.learn._artifact:hash_arrays",
    "hash_files": "seglab.learn._artifact:hash_files",
    "pixel_features": "seglab.learn._features:pixel_features",
    "feature_names": "seglab.learn._features:feature_names",
    "clear_feature_cache": "seglab.learn._features:clear_feature_cache",
    "PixelClassifier": "seglab.learn._forest:PixelClassifier",
    "fit_pixel_classifier": "seglab.learn._forest:fit_pixel_classifier",
    "labels_from_truth": "seglab.learn._forest:labels_from_truth",
    "pixel_classifier": "seglab.learn._forest:pixel_classifier",
    "train_pixel_classifier": "seglab.learn._train:train_pixel_classifier",
    "pair_training_files": "seglab.learn._train:pair_training_files",
    "DEFAULT_SIGMAS": "seglab.learn._features:DEFAULT_SIGMAS",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'seglab.learn' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
