"""``tiled_segment``: the tiler over an in-memory dask array (lazy in, lazy out)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ._grid import Grid
from ._plan import (
    StitchWarning,
    block_histogram,
    block_min_max,
    check_chunks,
    make_plan,
    process_block,
    threshold_from_counts,
)
from ._stitch import apply_mapping, pairs_from_records, provisional, relabel_mapping, stitch_records

if TYPE_CHECKING:
    import dask.array as da

    from seglab._core.pipeline import Pipeline

__all__ = ["tiled_segment", "spatial_ndim_of"]


def spatial_ndim_of(shape) -> int:
    """Spatial dims of an array shape: a trailing axis of 3/4 on 3-D (and 4-D) arrays holds channels."""
    from seglab._core.validation import has_channel_axis

    if has_channel_axis(tuple(shape)):
        return len(shape) - 1
    return len(shape)


def _extra(shape, nsp):
    return (slice(None),) * (len(shape) - nsp)


def global_threshold(plan, grid, read, dtype, compute):
    """First pass of a ``tiling="global"`` method: histogram of all tiles -> threshold.

    `read(slices)` returns a block; `compute(list_of_callables)` evaluates them (sequentially,
    with dask, or on a cluster) and returns their results in order.
    """
    depth = (plan.halo_before,) * plan.spatial_ndim if not plan.per_plane else \
        (0,) + (plan.halo_before,) * (plan.spatial_ndim - 1)
    blocks = grid.blocks()
    value_range = None
    integer = np.dtype(dtype) in (np.uint8, np.uint16) and not any(s.kind == "pre" for s in plan.steps)
    if not integer:
        # pre-steps may change the dtype: check one block's output type first
        probe_slices, probe_pads = grid.padded(blocks[0], depth)
        n_pre = sum(1 for s in plan.steps if s.kind == "pre")
        from ._plan import run_steps

        probe, _ = run_steps(plan, read(probe_slices), probe_pads, stop=n_pre)
        dtype = probe.dtype
        integer = dtype in (np.uint8, np.uint16)
    if not integer:
        import warnings

        from ._plan import InexactTilingWarning

        warnings.warn(
            f"{plan.global_stat.method!r} on {np.dtype(dtype)} data: the tiled threshold comes from a 256-bin "
            "histogram over the global min..max, which equals the in-memory threshold only for methods that "
            "use that histogram themselves (otsu, yen, isodata, minimum, multi_otsu); exact equality is "
            "guaranteed for uint8/uint16 data", InexactTilingWarning, stacklevel=3)
        ranges = compute([_task(block_min_max, plan, read, grid.padded(b, depth)) for b in blocks])
        value_range = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    counts = compute([_task(block_histogram, plan, read, grid.padded(b, depth), value_range=value_range)
                      for b in blocks])
    total = np.sum(counts, axis=0)
    return threshold_from_counts(plan, total, dtype, value_range)


def _task(function, plan, read, region, **kwargs):
    slices, pads = region

    def run():
        return function(plan, read(slices), pads, **kwargs)

    return run


def tiled_segment(image: Any, pipeline: Pipeline, *, chunk: int | tuple[int, ...] | None = None,
                  allow_inexact: bool = False) -> da.Array:
    """Run `pipeline` over a dask array tile by tile; return a lazy dask array.

    Parameters
    ----------
    image : dask.array.Array or ndarray
        The input, (M, N[, C]) or (P, M, N[, C]).
    pipeline : seglab.Pipeline
        Pre-steps, method and post-steps.
    chunk : int or tuple, optional
        Tile size per spatial axis; default: the array's first chunk (2048 for NumPy input).
    allow_inexact : bool
        Run ``tiling="none"`` methods tile by tile (see :func:`seglab.tiling.make_plan`).

    Returns
    -------
    dask.array.Array
        The output with the same spatial shape; masks/edges/proba are cropped
        tiles, labels are stitched (the graph computes a global relabelling,
        so computing the labels holds all provisional tiles in memory; use
        :func:`run_tiled` for images larger than memory).

    Notes
    -----
    A global method computes its histogram pass when this function is called
    (the threshold is needed to build the graph).
    """
    import dask
    import dask.array as da

    if not isinstance(image, da.Array):
        image = da.from_array(np.asarray(image), chunks=chunk or 2048)
    nsp = spatial_ndim_of(image.shape)
    shape = tuple(image.shape[:nsp])
    if chunk is None:
        chunk = tuple(c[0] for c in image.chunks[:nsp])
    grid = Grid(shape, check_chunks(chunk, shape))
    plan = make_plan(pipeline, spatial_ndim=nsp, allow_inexact=allow_inexact)
    extra = _extra(image.shape, nsp)

    def read(slices):
        return np.asarray(image[slices + extra].compute(scheduler="sync"))

    if plan.global_stat is not None:
        t = global_threshold(plan, grid, read, image.dtype,
                             lambda tasks: list(dask.compute(*[dask.delayed(t)() for t in tasks])))
        plan = plan.with_threshold(t)
    depth = plan.depth_per_axis()
    blocks = grid.blocks()
    delayed_blocks = {}
    for index in blocks:
        slices, pads = grid.padded(index, depth)
        delayed_blocks[index] = dask.delayed(process_block)(plan, image[slices + extra], pads, with_reach=True)
    if plan.label_start is None:
        out = np.empty(grid.numblocks, object)
        for index in blocks:
            core_shape = tuple(s.stop - s.start for s in grid.core(index))
            out[index] = da.from_delayed(delayed_blocks[index][0], shape=core_shape, dtype=plan.dtype)
        return da.block(out.tolist())
    ring = plan.ring_per_axis()
    stride = grid.stride(ring)
    provisional_blocks, records = {}, {}
    for index in blocks:
        slices, pads = grid.padded(index, ring)
        offset = grid.linear(index) * stride
        origin = tuple(s.start for s in slices)
        provisional_blocks[index] = dask.delayed(_provisional)(delayed_blocks[index], pads, offset)
        records[index] = dask.delayed(_records)(delayed_blocks[index], pads, origin, offset)
    pair_lists = []
    for index in blocks:
        neighbours = [(tuple(s.start for s in grid.core(n)), provisional_blocks[n][0])
                      for n in neighbours_of(index, grid.numblocks)]
        pair_lists.append(dask.delayed(_pairs)(records[index], neighbours))
    mapping = dask.delayed(_mapping)([provisional_blocks[i][1] for i in blocks], pair_lists,
                                     [delayed_blocks[i][1] for i in blocks], plan.exact_stitch)
    out = np.empty(grid.numblocks, object)
    for index in blocks:
        core_shape = tuple(s.stop - s.start for s in grid.core(index))
        out[index] = da.from_delayed(dask.delayed(_relabel)(provisional_blocks[index][0], mapping),
                                     shape=core_shape, dtype=np.int32)
    return da.block(out.tolist())


def _provisional(result, ring_pads, offset):
    local, _ = result
    return provisional(local, ring_pads, offset)


def _records(result, ring_pads, origin, offset):
    local, _ = result
    return stitch_records(local, ring_pads, origin, offset)


def neighbours_of(index, numblocks):
    """Indices of the (up to 3**ndim - 1) blocks around `index`."""
    import itertools

    out = []
    for delta in itertools.product((-1, 0, 1), repeat=len(index)):
        if any(delta):
            other = tuple(i + d for i, d in zip(index, delta))
            if all(0 <= o < n for o, n in zip(other, numblocks)):
                out.append(other)
    return out


def lookup(coords, neighbours):
    """Values at global `coords` from blocks given as ``(origin, array)``; 0 where no block holds them."""
    values = np.zeros(coords.shape[0], np.int64)
    if not coords.shape[0]:
        return values
    low, high = coords.min(axis=0), coords.max(axis=0)
    for origin, block in neighbours:
        # most blocks (a neighbour's far faces) miss the coordinates' bounding box: skip them whole
        if any(o > h or o + n <= lo for o, n, lo, h in zip(origin, block.shape, low, high)):
            continue
        inside = np.ones(coords.shape[0], bool)
        for axis, (o, n) in enumerate(zip(origin, block.shape)):
            inside &= (coords[:, axis] >= o) & (coords[:, axis] < o + n)
        if inside.any():
            values[inside] = block[tuple((coords[inside] - np.asarray(origin)).T)]
    return values


def _pairs(record, neighbours):
    coords, ids = record
    if coords.shape[0] == 0:
        return np.zeros((0, 2), np.int64)
    return pairs_from_records(coords, ids, lookup(coords, neighbours))


def _mapping(id_lists, pair_lists, reached, exact):
    if any(reached) and not exact:
        warnings.warn(
            "an object reached the halo of a tile: the labelling steps are not plain connected components, "
            "so objects larger than the declared halo may be labelled differently than in memory; "
            "raise the declared halo (split_touching: max_object_size) or the chunk size",
            StitchWarning, stacklevel=2,
        )
    ids = np.concatenate(id_lists) if id_lists else np.zeros(0, np.int64)
    pairs = np.concatenate(pair_lists) if pair_lists else np.zeros((0, 2), np.int64)
    return relabel_mapping(ids, pairs)


def _relabel(block, mapping):
    ids, final = mapping
    dtype = np.int32 if final.size < 2**31 - 1 else np.int64
    return apply_mapping(block, ids, final, dtype)
