"""Catalogue entries of the deep family: a U-Net trained on the user's images (``seglab train --model unet``).

Imports only the registry (torch and MONAI load when a method is called).

Two entries read the same model folder, because the registry states one output kind per method:
``unet`` gives the foreground mask (semantic models; an instance model's interior + boundary), and
``unet_instance`` gives one label per object (an instance model's seeded watershed; a semantic model's
connected components).

Tiling (exact, see ``seglab.deep._predict``): windows lie on a grid anchored at the image origin with step
``stride = window - round(window * overlap)``. The declared halo covers a window (plus ``min_size`` or
``max_object_size`` for the post-processing) and is chosen so that the tiler's read depth (the halo, plus
the one-pixel stitching ring for labels) is a multiple of the stride. Requirement: the tiler's chunk must be
a multiple of the stride too (window 256, overlap 0.5: stride 128, and chunk 2048 = 16 x 128), and no
pre-step may add a halo; otherwise a block's grid is shifted and the tiled probabilities differ slightly
from the in-memory ones. Per-image percentile normalisation is a whole-image statistic: set
``intensity_range`` for tiled runs.
"""

from seglab._core.registry import MethodSpec, Param


def _stride(params) -> int:
    window = int(params.get("window", 256))
    return max(1, window - int(round(window * float(params.get("overlap", 0.5)))))


def _round_up(value: int, step: int) -> int:
    return -(-int(value) // step) * step


def _mask_halo(params) -> int:
    # a window, plus min_size for the small-object removal (a cut component then still has >= min_size
    # pixels in the block), rounded up to the stride so the block's origin stays on the global grid
    extra = int(params.get("min_size", 0) or 0)
    return _round_up(int(params.get("window", 256)) + extra, _stride(params))


def _labels_halo(params) -> int:
    # the tiler reads halo + 1 (its stitching ring) around a labels tile: make that sum a stride multiple
    need = int(params.get("window", 256)) + int(params.get("max_object_size", 256)) + 1
    return _round_up(need, _stride(params)) - 1


_COMMON = (
    Param("model", "str", None, nullable=True, tune=(),
          help="Model folder written by `seglab train --model unet` (weights.safetensors + config.json)."),
    Param("threshold", "float", 0.5, min=0.0, max=1.0, tune=(0.2, 0.8),
          help="Foreground probability above which a pixel is foreground."),
)
_WINDOW = (
    Param("window", "int", 256, min=16, max=4096, tune=(),
          help="Sliding-window side in pixels (a multiple of 16)."),
    Param("overlap", "float", 0.5, min=0.0, max=0.95, tune=(),
          help="Fraction of a window shared with its neighbour (Gaussian-weighted blending)."),
    Param("intensity_range", "floats", None, nullable=True, length=2, tune=(),
          help="Intensities mapped to 0 and 1; none: the image's 1st/99.8th percentiles (set it for tiling)."),
    Param("device", "str", "auto", choices=("auto", "cpu", "cuda"), tune=(), help="Where the network runs."),
    Param("tta", "bool", False, tune=(),
          help="Test-time augmentation: average each window with its flipped copies (4x the inference time)."),
)
def _tile_check(params):
    # per-image percentiles are a whole-image statistic: each tile would normalise differently
    if params.get("intensity_range") is None:
        return ("the default normalisation uses the whole image's 1st/99.8th percentiles, which a tile cannot "
                "see; give intensity_range=LO,HI (the image's own percentiles, or the training config's)")
    return None


_REFERENCES = ("Ronneberger, Fischer & Brox (2015), U-Net, doi:10.1007/978-3-319-24574-4_28",
               "MONAI BasicUNet and sliding_window_inference (Gaussian importance map)")

SPECS = [
    MethodSpec(
        name="unet",
        family="deep",
        target="seglab.deep._predict:unet",
        model="unet",
        output="mask",
        summary="Trained U-Net (MONAI BasicUNet): foreground probability, threshold -> mask.",
        params=_COMMON + (
            Param("min_size", "int", 0, min=0, tune=(0, 200), halo_only=True,
                  help="Remove foreground components smaller than this many pixels."),
        ) + _WINDOW,
        dims=(2,),
        channels="gray",
        halo=_mask_halo,
        tile_check=_tile_check,
        tiling="local",
        references=_REFERENCES,
    ),
    MethodSpec(
        name="unet_instance",
        family="deep",
        target="seglab.deep._predict:unet_instance",
        model="unet",
        output="labels",
        summary="Trained U-Net: interior/boundary/background, seeded watershed -> one label per object.",
        params=_COMMON + (
            Param("seed_threshold", "float", 0.5, min=0.0, max=1.0, tune=(0.3, 0.9),
                  help="Interior probability above which pixels seed an object."),
            Param("min_size", "int", 0, min=0, tune=(0, 200), halo_only=True,
                  help="Remove objects smaller than this many pixels."),
        ) + _WINDOW + (
            Param("max_object_size", "int", 256, min=1, tune=(), halo_only=True,
                  help="Tiled runs: largest object extent (pixels) a tile's halo holds; not used in memory."),
            Param("split_neck", "float", 0.0, min=0.0, max=1.0, tune=(0.0, 0.9),
                  help="0: one seed per seed region. >0: also cut a seed region where it narrows below this "
                       "fraction of its parts' half-width (parts touching objects the network joined)."),
        ),
        dims=(2,),
        channels="gray",
        halo=_labels_halo,
        tile_check=_tile_check,
        tiling="local",
        references=_REFERENCES + ("Caicedo et al. (2019), 3-class U-Net for nuclei, doi:10.1002/cyto.a.23863",),
    ),
]
