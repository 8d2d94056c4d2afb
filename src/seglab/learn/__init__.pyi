# Public names of ``seglab.learn``: read by type checkers, and by ``lazy_loader.attach_stub`` in
# ``__init__.py``, which imports each module below on first access to one of its names. A new public name
# is one import line here plus its entry in ``__all__`` (see ``seglab/__init__.pyi``).
from ._artifact import ModelError, hash_arrays, hash_files, load_model, read_model_config, save_model
from ._features import DEFAULT_SIGMAS, clear_feature_cache, feature_names, pixel_features
from ._forest import PixelClassifier, fit_pixel_classifier, labels_from_truth, pixel_classifier
from ._train import pair_training_files, train_pixel_classifier

__all__ = [
    "DEFAULT_SIGMAS",
    "ModelError",
    "PixelClassifier",
    "clear_feature_cache",
    "feature_names",
    "fit_pixel_classifier",
    "hash_arrays",
    "hash_files",
    "labels_from_truth",
    "load_model",
    "pair_training_files",
    "pixel_classifier",
    "pixel_features",
    "read_model_config",
    "save_model",
    "train_pixel_classifier",
]
