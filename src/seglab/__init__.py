"""seglab: a workbench for image segmentation.

Every classical method behind one call, learned segmentation, honest metrics,
comparison and tuning, and tiled processing of images larger than memory.

The public API is loaded lazily: ``import seglab`` imports NumPy-free code
only, and each name below imports its module on first use.

>>> import seglab
>>> "otsu" in seglab.list_methods()
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> "module:attribute" (imported on first access)
_LAZY = {
    # core
    "segment": "seglab._core.pipeline:segment",
    "apply_step": "seglab._core.pipeline:apply_step",
    "Pipeline": "seglab._core.pipeline:Pipeline",
    "Step": "seglab._core.pipeline:Step",
    "SegmentationResult": "seglab._core.pipeline:SegmentationResult",
    "list_methods": "seglab._core.registry:list_methods",
    "list_steps": "seglab._core.registry:list_steps",
    "get_method": "seglab._core.registry:get_method",
    "get_step": "seglab._core.registry:get_step",
    "all_specs": "seglab._core.registry:all_specs",
    "check_image": "seglab._core.validation:check_image",
    "check_mask": "seglab._core.validation:check_mask",
    "check_labels": "seglab._core.validation:check_labels",
    # errors
    "SeglabError": "seglab._core.errors:SeglabError",
    "InvalidImageError": "seglab._core.errors:InvalidImageError",
    "ImageTypeError": "seglab._core.errors:ImageTypeError",
    "ShapeMismatchError": "seglab._core.errors:ShapeMismatchError",
    "ParameterError": "seglab._core.errors:ParameterError",
    "UnknownMethodError": "seglab._core.errors:UnknownMethodError",
    "UnknownParameterError": "seglab._core.errors:UnknownParameterError",
    "MissingInputError": "seglab._core.errors:MissingInputError",
    "ImageReadError": "seglab._core.errors:ImageReadError",
    "ImageWriteError": "seglab._core.errors:ImageWriteError",
    "DecompressionBombError": "seglab._core.errors:DecompressionBombError",
    "MissingDependencyError": "seglab._core.errors:MissingDependencyError",
    "SeglabWarning": "seglab._core.errors:SeglabWarning",
    "ConstantImageWarning": "seglab._core.errors:ConstantImageWarning",
    "ConversionWarning": "seglab._core.errors:ConversionWarning",
    # io
    "read": "seglab.io:read",
    "write": "seglab.io:write",
    "read_collection": "seglab.io:read_collection",
    # metrics
    "evaluate": "seglab.metrics:evaluate",
}

_SUBPACKAGES = (
    "io", "metrics", "threshold", "preprocess", "postprocess", "cluster", "edges", "region",
    "superpixel", "interactive", "instance", "viz", "compare", "tune", "tiling", "data",
)

__all__ = sorted([*_LAZY, *_SUBPACKAGES, "__version__"])


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is not None:
        module_name, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"seglab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'seglab' has no attribute {name!r}")


def __dir__():
    return __all__
