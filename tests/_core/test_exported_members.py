"""Lock the public surface: a change to it must be a deliberate change to this list."""

import seglab

EXPECTED = {
    "DecompressionBombError", "ConstantImageWarning", "ConversionWarning", "ImageReadError", "ImageTypeError",
    "ImageWriteError", "InvalidImageError", "MethodSpec", "MissingDependencyError", "MissingInputError", "Param", "ParameterError", "PluginWarning", "Registry",
    "Pipeline", "SegmentationResult", "SeglabError", "SeglabWarning", "ShapeMismatchError", "Step",
    "UnknownMethodError", "UnknownParameterError", "__version__", "all_specs", "apply_step", "check_image",
    "check_labels", "check_mask", "cluster", "compare", "data", "edges", "evaluate", "get_method", "get_step",
    "instance", "interactive", "io", "list_methods", "list_steps", "metrics", "postprocess", "preprocess",
    "read", "read_collection", "region", "register", "use_registry", "segment", "superpixel", "threshold", "tiling", "tune", "viz", "workflows", "write",
}


def test_exported_members():
    assert set(seglab.__all__) == EXPECTED


def test_every_export_resolves():
    for name in seglab.__all__:
        assert getattr(seglab, name) is not None, name
