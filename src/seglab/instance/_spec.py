"""Catalogue entries of the instance family: splitting touching objects (distance-transform watershed).

Imports only the registry.
"""

from seglab._core.registry import MethodSpec, Param

_SPLIT_PARAMS = (
    Param("min_distance", "int", 7, min=1, max=1000, tune=(2, 30),
          help="Smallest distance between two object centres (peak_local_max)."),
    Param("exclude_border", "bool", False, tune=(), help="Ignore distance peaks within min_distance of the border."),
    Param("compactness", "float", 0.0, min=0.0, tune=(0.0, 1.0), help="Compact watershed weight; 0 = classic."),
    Param("watershed_line", "bool", False, help="Separate touching objects by a one-pixel background line."),
    Param("max_object_size", "int", 256, min=1, max=1_000_000, tune=(), halo_only=True,
          help="Tiled runs: largest object extent (pixels) a tile's halo holds; not used in memory."),
)


def _split_tile_check(params):
    if params.get("exclude_border"):
        return ("exclude_border=True drops peaks near the image border, and a tile does not know how far the "
                "border is; run it in memory or set exclude_border=False")
    return None


def _split_halo(params):
    # Each object is split from its own pixels only, so a tile that holds an object whole labels it exactly:
    # the halo is the largest object extent the user accepts (objects reaching it raise a StitchWarning).
    return int(params.get("max_object_size", 256))


SPECS = [
    MethodSpec(
        name="split_touching",
        family="instance",
        target="seglab.instance._split:split_touching",
        output="labels",
        summary="Otsu mask, distance transform, peaks as markers, watershed: one label per touching object.",
        params=(Param("invert", "bool", False, help="Objects are darker than the background."),) + _SPLIT_PARAMS,
        dims=(2, 3),
        channels="gray",
        halo=_split_halo,
        tile_check=_split_tile_check,
        # = the global Otsu threshold, then the split_touching post-step (per object, halo max_object_size)
        tiling="global",
        expands_to=("method:otsu", "post:split_touching"),
        labels_by="objects",
        references=("Beucher & Lantuejoul (1979), Use of watersheds in contour detection",
                    "scikit-image example 'Watershed segmentation' (distance transform + peak_local_max)"),
    ),
    MethodSpec(
        name="split_touching",
        family="instance",
        kind="post",
        target="seglab.instance._split:split_touching_mask",
        output="labels",
        accepts=("mask",),
        summary="Split a mask's touching objects: distance transform, peaks, watershed.",
        params=_SPLIT_PARAMS,
        dims=(2, 3),
        channels="any",
        halo=_split_halo,
        tile_check=_split_tile_check,
        tiling="local",  # exact with halo >= max_object_size (objects are split independently)
        labels_by="objects",
        references=("Beucher & Lantuejoul (1979), Use of watersheds in contour detection",),
    ),
]
