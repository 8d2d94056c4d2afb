"""Registry entries of the post-steps (imports only the registry)."""

from __future__ import annotations

from seglab._core.registry import MethodSpec, Param

_T = "seglab.postprocess._steps"
_RADIUS = Param("radius", "int", 1, min=1, max=1000, tune=(1, 10), help="disk footprint radius (pixels)")

SPECS = [
    MethodSpec(name="opening", family="postprocess", target=f"{_T}:opening", output="image", kind="post",
               summary="Morphological opening with a disk (removes small specks)", params=(_RADIUS,),
               accepts=("mask",), dims=(2, 3), channels="any", halo=lambda p: 2 * int(p["radius"]) + 1,
               references=("skimage.morphology.opening",)),
    MethodSpec(name="closing", family="postprocess", target=f"{_T}:closing", output="image", kind="post",
               summary="Morphological closing with a disk (fills small gaps)", params=(_RADIUS,),
               accepts=("mask",), dims=(2, 3), channels="any", halo=lambda p: 2 * int(p["radius"]) + 1,
               references=("skimage.morphology.closing",)),
    # Tiled exactly by ownership: a hole that meets a tile's core and is smaller than the halo lies, with the
    # foreground around it, inside the tile, so the tile fills it as the whole image does; a background region
    # that reaches the tile's edge is not a hole there. Holes larger than `max_hole_size` are left unfilled in
    # tiled runs (say so in the help).
    MethodSpec(name="fill_holes", family="postprocess", target=f"{_T}:fill_holes", output="image", kind="post",
               summary="Fill holes not connected to the border", accepts=("mask",), dims=(2, 3), channels="any",
               params=(Param("max_hole_size", "int", 256, min=1, max=100_000, tune=(), halo_only=True,
                             help="Tiled runs: largest hole extent (pixels) a tile's halo holds; larger holes "
                                  "stay unfilled when tiled. Not used in memory."),),
               halo=lambda p: int(p["max_hole_size"]) + 1,
               references=("scipy.ndimage.binary_fill_holes",)),
    MethodSpec(name="remove_small_objects", family="postprocess", target=f"{_T}:remove_small_objects",
               output="image", kind="post", summary="Remove objects smaller than min_size pixels",
               params=(Param("min_size", "int", 64, min=1, log=True, tune=(1, 5000), halo_only=True,
                             help="smallest size kept"),
                       Param("connectivity", "int", 1, min=1, max=3, tune=(), help="1 = face neighbours")),
               accepts=("mask", "labels"), dims=(2, 3), channels="any",
               # Exact with a halo of min_size: a component that meets a tile's core and is cut by the tile's
               # edge crosses the halo, so it has at least min_size pixels in the tile and is kept, as in memory.
               halo=lambda p: int(p["min_size"]),
               references=("skimage.morphology.remove_small_objects",)),
    MethodSpec(name="label", family="postprocess", target=f"{_T}:label", output="labels", kind="post",
               summary="Connected components of a mask (int32 labels, raster order)",
               params=(Param("connectivity", "int", None, nullable=True, min=1, max=3, tune=(),
                             help="1 = face neighbours; None = full (8 in 2-D)"),),
               accepts=("mask",), dims=(2, 3), channels="any", tiling="local", labels_by="components",
               references=("skimage.measure.label",)),
]
