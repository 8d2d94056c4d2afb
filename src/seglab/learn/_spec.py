"""Registry entries of the learn family (imports only the registry; the halo reads the model's config lazily)."""

from seglab._core.registry import MethodSpec, Param

# ilastik's largest default scale; the structure tensor needs a gradient at sigma/2 smoothed at sigma.
_DEFAULT_HALO = int(4 * 10.0 + 0.5) + int(4 * 5.0 + 0.5) + 1


def _pixel_classifier_halo(params) -> int:
    """What the model's largest feature scale needs, so tiled prediction equals in-memory prediction."""
    model = params.get("model")
    if not model or not isinstance(model, str):
        return _DEFAULT_HALO
    from seglab.learn._artifact import read_config
    from seglab.learn._features import feature_halo

    config = read_config(model, kind="pixel_classifier")
    features = config.get("features") or {}
    return feature_halo(features.get("sigmas", (10.0,)), features.get("groups", ("texture",)))


SPECS = [
    MethodSpec(
        name="pixel_classifier",
        family="learn",
        target="seglab.learn._forest:pixel_classifier",
        model="pixel_classifier",
        output="mask",
        summary="Trained random-forest pixel classifier on ilastik's multiscale features; foreground mask "
                "(probability, uncertainty and class map in extras). Train with `seglab train`.",
        params=(
            Param("model", "str", None, "Model folder from `seglab train --model pixel_classifier`.",
                  nullable=True, tune=()),
            Param("threshold", "float", 0.5, "Mask = P(foreground classes) > threshold.", min=0.0, max=1.0,
                  tune=(0.2, 0.8)),
            Param("foreground", "ints", None, "Class values that form the mask (default: all but the first).",
                  nullable=True, min=1, tune=()),
        ),
        dims=(2, 3),
        channels="any",
        halo=_pixel_classifier_halo,
        tiling="local",
        references=("doi:10.1038/s41592-019-0582-9", "doi:10.1023/A:1010933404324",
                    "sklearn.ensemble.RandomForestClassifier", "skimage.future.fit_segmenter"),
    ),
]
