"""Registry entries of the pre-steps (imports only the registry)."""

from __future__ import annotations

from seglab._core.registry import MethodSpec, Param

_T = "seglab.preprocess._steps"


def _pre(name, summary, params=(), *, channels="gray", halo=None, tiling="local", references=()):
    extra = {"halo": halo} if halo is not None else {}
    return MethodSpec(name=name, family="preprocess", target=f"{_T}:{name}", output="image", summary=summary,
                      params=params, kind="pre", dims=(2, 3), channels=channels, tiling=tiling,
                      references=references, **extra)


def _gaussian_halo(params) -> int:
    return int(4.0 * float(params["sigma"]) + 0.5) + 1


SPECS = [
    _pre("grayscale", "RGB to gray (skimage rgb2gray weights), dtype kept; gray passes through",
         channels="any", references=("skimage.color.rgb2gray",)),
    _pre("invert", "Invert intensities (skimage.util.invert: 255 - x for uint8, 1 - x for floats)",
         channels="any", references=("skimage.util.invert",)),
    _pre("median", "Median filter (border: nearest)",
         (Param("size", "int", 3, min=1, max=1001, odd=True, tune=(1, 15), help="odd window size"),),
         halo=lambda p: int(p["size"]) // 2, references=("scipy.ndimage.median_filter",)),
    _pre("gaussian", "Gaussian smoothing (values kept in the image's range, float output)",
         (Param("sigma", "float", 1.0, min=1e-3, max=1000.0, tune=(0.3, 8.0), log=True,
                help="standard deviation (pixels)"),),
         halo=_gaussian_halo, references=("skimage.filters.gaussian",)),
    _pre("rescale_intensity", "Stretch the [low, high] percentiles to the full dtype range",
         (Param("low_percentile", "float", 0.0, min=0.0, max=100.0, tune=(0.0, 5.0), help="lower percentile"),
          Param("high_percentile", "float", 100.0, min=0.0, max=100.0, tune=(95.0, 100.0),
                help="upper percentile")),
         tiling="none", references=("skimage.exposure.rescale_intensity",)),
    _pre("equalize_adapthist", "CLAHE (float output in [0, 1])",
         (Param("clip_limit", "float", 0.01, min=1e-4, max=1.0, log=True, help="contrast clip limit"),
          Param("kernel_size", "int", None, nullable=True, min=2, max=8192, tune=(), extent=True,
                help="contextual region size (None: 1/8 of each axis)")),
         tiling="none", references=("Zuiderveld 1994, Graphics Gems IV", "skimage.exposure.equalize_adapthist")),
]
