"""Planning a tiled run: which halo each tile needs and how its output is cut back.

A :class:`TilePlan` is a picklable description of a :class:`~seglab.Pipeline`
prepared for tiles: the functions behind every step (imported once, in the
client), their resolved parameters and declared halos, and the merge rule the
output kind implies:

* ``mask``, ``edges``, ``proba`` and images are *cropped*: each tile is read
  with ``depth = sum of the declared halos`` of pre-steps, method and
  post-steps, processed, and its core kept. Tiles at the image edge are **not**
  padded (dask's ``boundary="none"``), so a tile sees the image border exactly
  where the in-memory run sees it, and edge behaviour is identical.
* ``labels`` are *stitched* (see :mod:`seglab.tiling._stitch`).

Methods whose spec says ``tiling="global"`` (histogram thresholds) are run in
two passes: a histogram of the pre-processed image is accumulated over all
tiles, the spec's ``stat_target`` turns it into the threshold, and each tile
applies the comparison. ``tiling="none"`` is refused unless the caller asks for
``allow_inexact=True`` (each tile is then segmented independently, with the
declared halo, and results differ from an in-memory run).

The tiler knows no method by name: everything it needs is a fact on the spec.
``labels_by="components"`` (connected-component labelling) makes face stitching
exact. ``labels_by="objects"`` (``split_touching``) labels every connected
component from its own pixels only, so a tile whose halo (``max_object_size``)
holds an object whole labels it as the in-memory run does; each tile splits
only the components that meet its core and ring (:func:`_objects_in_core`), in
their bounding box, and the face stitching joins the identical copies. A
composite method (``expands_to``, e.g. ``split_touching`` = ``otsu`` then the
``split_touching`` post-step) is run as its parts.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab._core.errors import ParameterError, SeglabError, SeglabWarning
from seglab._core.executor import BoundStep, bind_pipeline, run_step
from seglab._core.quiet import ignoring

if TYPE_CHECKING:
    from seglab._core.pipeline import Pipeline

__all__ = ["TilePlan", "make_plan", "TilingError", "InexactTilingWarning", "StitchWarning"]


class TilingError(SeglabError, ValueError):
    """A pipeline cannot be tiled as asked (method not tileable, bad chunk size, ...)."""


class InexactTilingWarning(SeglabWarning):
    """A method that cannot be tiled exactly was run tile by tile (``allow_inexact=True``)."""


class StitchWarning(SeglabWarning):
    """An object reached a tile's halo: a non-local step may label it differently than in memory."""


@dataclass(frozen=True)
class GlobalStat:
    """How a ``tiling="global"`` method turns a histogram into its threshold."""

    method: str
    stat_function: Callable
    apply_function: Callable
    params: dict


@dataclass
class TilePlan:
    """Everything a worker needs to process one tile (picklable)."""

    steps: list[BoundStep]
    output: str
    spatial_ndim: int
    per_plane: bool
    label_start: int | None  # index in `steps` of the first step whose output is labels
    halo_before: int  # halo of steps before label_start (all steps when no labels)
    halo_after: int  # halo of label_start and after
    global_stat: GlobalStat | None = None
    threshold: Any = None
    inexact: bool = False
    exact_stitch: bool = True
    pipeline: dict = field(default_factory=dict)

    @property
    def halo(self) -> int:
        """Total declared halo (pixels of context per side)."""
        return self.halo_before + self.halo_after

    @property
    def depth(self) -> int:
        """Pixels read around each tile: the halo, plus one ring for label stitching."""
        return self.halo + (1 if self.label_start is not None else 0)

    @property
    def ring(self) -> int:
        """Pixels of local labels kept around each tile's core for stitching (0 or 1)."""
        return 1 if self.label_start is not None else 0

    @property
    def n_pre(self) -> int:
        """Number of pre-steps (they come first in `steps`)."""
        return sum(1 for s in self.steps if s.kind == "pre")

    @property
    def pre_halo(self) -> int:
        """Halo of the pre-steps alone."""
        return sum(s.halo for s in self.steps if s.kind == "pre")

    def per_axis(self, d: int) -> tuple[int, ...]:
        """`d` pixels on every spatial axis (none across planes when processing plane by plane)."""
        if self.per_plane:
            return (0,) + (d,) * (self.spatial_ndim - 1)
        return (d,) * self.spatial_ndim

    def depth_per_axis(self) -> tuple[int, ...]:
        return self.per_axis(self.depth)

    def ring_per_axis(self) -> tuple[int, ...]:
        r = self.ring
        if self.per_plane:
            return (0,) + (r,) * (self.spatial_ndim - 1)
        return (r,) * self.spatial_ndim

    @property
    def dtype(self):
        if self.output == "labels" and self.label_start is None:
            return np.dtype(np.int32)  # per-pixel classes (multi_otsu), cropped
        return {"mask": np.dtype(bool), "contour": np.dtype(bool), "labels": np.dtype(np.int64),
                "edges": np.dtype(np.float32), "proba": np.dtype(np.float32)}.get(self.output)

    def with_threshold(self, value: Any) -> TilePlan:
        """The plan with its global threshold (a float, a list for multi_otsu, None for a constant image)."""
        from dataclasses import replace

        return replace(self, threshold=value)


def _load(target: str) -> Callable:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def make_plan(pipeline: Pipeline, *, spatial_ndim: int = 2, allow_inexact: bool = False) -> TilePlan:
    """Prepare `pipeline` for tiles.

    Parameters
    ----------
    pipeline : seglab.Pipeline
        The pipeline (pre-steps, method, post-steps).
    spatial_ndim : {2, 3}
        Spatial dimensionality of the input. A 3-D input with a step that
        supports only 2-D images is processed plane by plane.
    allow_inexact : bool
        Run methods declared ``tiling="none"`` tile by tile (independently,
        with their declared halo) instead of refusing them. Results then differ
        from an in-memory run, and an :class:`InexactTilingWarning` says so.

    Raises
    ------
    TilingError
        The method cannot be tiled exactly and `allow_inexact` is False, or a
        step needs user input (seeds, markers) that tiles cannot share.
    """

    method_spec = pipeline.method.spec
    if method_spec.inputs:
        raise TilingError(
            f"method {method_spec.name!r} needs user input ({', '.join(method_spec.inputs)}), which tiled runs "
            "do not support; pick a method without required inputs"
        )
    inexact = False
    if method_spec.tiling == "none":
        if not allow_inexact:
            raise TilingError(
                f"method {method_spec.name!r} cannot be tiled exactly (its spec says tiling='none': the result "
                "at a pixel can depend on the whole image). Pass allow_inexact=True (CLI: --allow-inexact) to "
                "segment each tile independently with its declared halo; the result will differ from an "
                "in-memory run near tile borders"
            )
        inexact = True
    steps = bind_pipeline(pipeline, expand=True)
    per_plane = spatial_ndim == 3 and any(3 not in step.dims for step in steps)
    for step in steps:
        # Connected-component labelling is non-local, but the tiler's stitching makes it exact.
        stitched = step.kind == "post" and step.labels_by == "components"
        if step.tiling == "none" and step.kind != "method" and not stitched:
            if not allow_inexact:
                raise TilingError(
                    f"{step.kind}-step {step.name!r} cannot be tiled exactly (tiling='none'); pass "
                    "allow_inexact=True (CLI: --allow-inexact) to run it tile by tile"
                )
            inexact = True
        reason = _spec_of(step).tile_check(step.params)
        if reason:
            raise TilingError(f"{step.kind} {step.name!r} cannot be tiled exactly with these parameters: {reason}")
    # Labels are stitched from the first step that makes instance labels. A global method's labels
    # (multi_otsu classes) are per-pixel values, exact in every tile: they are cropped, not stitched.
    method_step = next(step for step in steps if step.kind == "method")
    global_spec = _spec_of(method_step)
    is_global = global_spec.tiling == "global"
    label_start = next((i for i, s in enumerate(steps)
                        if s.output == "labels" and not (s.kind == "method" and is_global)), None)
    if label_start is None:
        before, after = sum(s.halo for s in steps), 0
    else:
        before = sum(s.halo for s in steps[:label_start])
        after = sum(s.halo for s in steps[label_start:])
    # Face stitching is exact by construction only when the labels come from one connected-component step.
    exact_stitch = (label_start is not None and len(steps) - label_start == 1
                    and steps[label_start].labels_by == "components")
    global_stat = None
    if is_global:
        global_stat = GlobalStat(global_spec.name, _load(global_spec.stat_target),
                                 _load(global_spec.apply_target), dict(method_step.params))
    if inexact:
        warnings.warn(
            f"pipeline with {method_spec.name!r} is run tile by tile (allow_inexact=True): each tile is "
            "segmented independently with the declared halo, so results differ from an in-memory run",
            InexactTilingWarning, stacklevel=3,
        )
    return TilePlan(steps=steps, output=pipeline.output, spatial_ndim=spatial_ndim, per_plane=per_plane,
                    label_start=label_start, halo_before=before, halo_after=after, global_stat=global_stat,
                    inexact=inexact, exact_stitch=exact_stitch, pipeline=pipeline.to_dict())


def _spec_of(step: BoundStep):
    from seglab._core.registry import get_method, get_step

    return get_method(step.name) if step.kind == "method" else get_step(step.name, step.kind)


def check_chunks(chunk, shape) -> tuple[int, ...]:
    """Normalise `chunk` (int or tuple) to one size per spatial axis."""
    nsp = len(shape)
    if isinstance(chunk, (int, np.integer)):
        sizes = (int(chunk),) * nsp
    else:
        sizes = tuple(int(c) for c in chunk)
        if len(sizes) != nsp:
            raise ParameterError(f"`chunk` has {len(sizes)} sizes {sizes}; expected {nsp}, one per axis of {shape}")
    if any(s < 1 for s in sizes):
        raise ParameterError(f"`chunk` must be positive; got {chunk!r}")
    return tuple(min(s, n) for s, n in zip(sizes, shape))


# -- running the steps on one padded block --------------------------------------------------------
def _crop(array: np.ndarray, pads, keep) -> np.ndarray:
    """Remove padding: `pads` is (lo, hi) present per spatial axis, `keep` the margin to keep per axis."""
    index: list[slice] = []
    for (lo, hi), k in zip(pads, keep):
        start = lo - min(lo, k)
        stop = array.shape[len(index)] - (hi - min(hi, k))
        index.append(slice(start, stop))
    return array[tuple(index)]


def _apply_threshold(image: np.ndarray, plan: TilePlan) -> np.ndarray:
    # the family's own rule (its spec's apply_target), e.g. multi-Otsu classes and the constant policy
    stat = plan.global_stat
    if stat is None:  # only plans with a global statistic get here
        raise TypeError("the plan has no global statistic to apply")
    return stat.apply_function(image, plan.threshold, **stat.params)


def run_steps(plan: TilePlan, block: np.ndarray, pads, stop: int | None = None,
              start: int = 0) -> tuple[np.ndarray, tuple]:
    """Run the plan's steps on a padded block; return (result, padding still present per axis).

    Steps before the labelling step run on the whole padded block; their output
    is exact on the core plus ``halo_after + 1`` pixels, so it is cropped to that
    before the labelling steps run, and the labels are returned on the core plus
    the stitching ring. With ``stop`` only the first ``stop`` steps run (the
    global-statistics pass stops before the method); with ``start`` the block is
    the output of the first ``start`` steps (the stored pre-processed image).
    """
    if plan.per_plane:
        planes = [run_steps_2d(plan, block[i], pads[1:], stop, start) for i in range(block.shape[0])]
        results = [p[0] for p in planes]
        if plan.label_start is not None and (stop is None or stop > plan.label_start):
            results = _offset_planes(results)
        return np.stack(results), ((0, 0),) + planes[0][1]
    return run_steps_2d(plan, block, pads, stop, start)


def _offset_planes(planes):
    out, offset = [], 0
    for labels in planes:
        labels = labels.astype(np.int64)
        top = int(labels.max()) if labels.size else 0
        out.append(np.where(labels > 0, labels + offset, 0))
        offset += top
    return out


def run_steps_2d(plan: TilePlan, block: np.ndarray, pads, stop=None, start=0):
    steps = plan.steps if stop is None else plan.steps[:stop]
    data = block
    image = block
    pads = tuple(pads)
    for index in range(start, len(steps)):
        step = steps[index]
        if index == plan.label_start:
            keep = (plan.halo_after + 1,) * len(pads)
            data = _crop(data, pads, keep)
            image = _crop(image, pads, keep)
            pads = tuple((min(lo, k), min(hi, k)) for (lo, hi), k in zip(pads, keep))
        if index == plan.label_start and step.labels_by == "objects":
            data = _objects_in_core(data, pads, (plan.ring,) * len(pads))
            # the components' bounding box plus one pixel holds everything their split depends on
            box = _box(data)
            labels = np.zeros(data.shape, np.int32)
            labels[box] = run_step(step, data[box])[0]
            data = labels
            continue
        if step.kind == "method" and plan.global_stat is not None:
            data = _apply_threshold(data, plan)
        else:
            data = run_step(step, data, image=image)[0]
        if step.kind == "pre":
            image = data
    return data, pads


def _objects_in_core(mask: np.ndarray, pads, ring) -> np.ndarray:
    """The mask's connected components that meet the kept region (core plus ring); the rest removed.

    A per-object step labels every component from its own pixels only, so components that do not meet
    the kept region cannot change it: skipping them is exact and saves most of the halo's work.
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask).astype(bool, copy=False)
    components, n = ndi.label(mask)  # connectivity 1, as split_touching labels its components
    if n == 0:
        return mask
    region = tuple(slice(lo - min(lo, r), mask.shape[i] - (hi - min(hi, r)))
                   for i, ((lo, hi), r) in enumerate(zip(pads, ring)))
    keep = np.zeros(n + 1, bool)
    keep[np.unique(components[region])] = True
    keep[0] = False
    return keep[components]


def _box(mask: np.ndarray) -> tuple:
    """Bounding box of `mask`'s pixels, one pixel wider on each side (clipped); the whole array if empty."""
    index = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hit.size == 0:
            return tuple(slice(0, n) for n in mask.shape)
        index.append(slice(max(int(hit[0]) - 1, 0), min(int(hit[-1]) + 2, mask.shape[axis])))
    return tuple(index)


def process_block(plan: TilePlan, block: np.ndarray, pads, *, with_reach: bool = False, start: int = 0):
    """Run the plan on one padded block and cut it back to the core (plus the stitching ring for labels).

    With ``with_reach=True`` return ``(result, reached)`` where `reached` says
    that an object of the core reached the edge of the labelled region (see
    :class:`StitchWarning`); always False for exact (connected-component) stitching.
    With ``start`` the block is the output of the first ``start`` steps.
    """
    from seglab._core.errors import ConstantImageWarning

    with ignoring(ConstantImageWarning):
        # A tile may be constant where the whole image is not: per-tile constant-image warnings are noise.
        # (`ignoring`, not catch_warnings: tiles run on several threads of a dask worker.)
        data, pads_left = run_steps(plan, block, pads, start=start)
    reached = False
    if with_reach and plan.label_start is not None and not plan.exact_stitch:
        from ._stitch import reaches_edge

        # a side read with less than the full depth ends at the image edge: objects touching it are whole
        full = tuple((lo >= d, hi >= d) for (lo, hi), d in zip(pads, plan.depth_per_axis()))
        reached = reaches_edge(data, pads_left, plan.ring_per_axis(), full)
    out = _crop(data, pads_left, plan.ring_per_axis())
    return (out, reached) if with_reach else out


def pre_block(plan: TilePlan, block: np.ndarray, pads) -> np.ndarray:
    """The pre-steps' output on the core of one padded block (exact: the block carries their halo)."""
    data, pads_left = run_steps(plan, block, pads, stop=plan.n_pre)
    return _crop(data, pads_left, (0,) * len(pads_left))


def block_histogram(plan: TilePlan, block: np.ndarray, pads, *, value_range=None, bins: int = 256):
    """Histogram of the pre-processed core of one block (exact for integer images: one bin per value)."""
    n_pre = sum(1 for s in plan.steps if s.kind == "pre")
    data, pads_left = run_steps(plan, block, pads, stop=n_pre)
    core = _crop(data, pads_left, (0,) * len(pads_left))
    return histogram_counts(core, value_range=value_range, bins=bins)


def histogram_counts(core: np.ndarray, *, value_range=None, bins: int = 256):
    """Per-value counts for uint8/uint16 (length 256 / 65536); fixed-range histogram for other dtypes."""
    if core.dtype in (np.uint8, np.uint16):
        from seglab.threshold import full_histogram

        return full_histogram(core)  # cv2.calcHist in exact chunks: ~8x np.bincount (no int64 copy)
    if core.dtype.kind in "iu":
        raise TilingError(f"global statistics on {core.dtype} images are not supported; convert to uint16 or float")
    counts, _ = np.histogram(core, bins=bins, range=value_range)
    return counts.astype(np.int64)


def block_min_max(plan: TilePlan, block: np.ndarray, pads):
    n_pre = sum(1 for s in plan.steps if s.kind == "pre")
    data, pads_left = run_steps(plan, block, pads, stop=n_pre)
    core = _crop(data, pads_left, (0,) * len(pads_left))
    low, high = float(core.min()), float(core.max())
    if not (np.isfinite(low) and np.isfinite(high)):  # NaN propagates into min/max, inf shows as itself
        from seglab._core.errors import InvalidImageError

        word = "the pre-processed image" if n_pre else "`image`"
        raise InvalidImageError(
            f"{word} contains NaN or infinite values ({int(np.isnan(core).sum())} NaN and "
            f"{int(np.isinf(core).sum())} infinite in one tile); replace them first, e.g. "
            "np.nan_to_num(image, nan=0.0) or a masked fill")
    return low, high


def threshold_from_counts(plan: TilePlan, counts: np.ndarray, dtype, value_range=None):
    """Turn accumulated counts into the method's statistic via its spec's ``stat_target``."""
    trimmed, centers = histogram_centers(np.asarray(counts), dtype, value_range)
    stat = plan.global_stat
    if stat is None:  # only plans with a global statistic count histograms
        raise TypeError("the plan has no global statistic to compute")
    return stat.stat_function(stat.method, trimmed, centers, **stat.params)


def histogram_centers(counts: np.ndarray, dtype, value_range=None):
    """Trim accumulated counts and return ``(counts, centers)`` as the in-memory histogram has them.

    For integer images the tiler counts one bin per value; the in-memory methods
    (``skimage.exposure.histogram`` for integer input) see bins over ``[min, max]``.
    """
    dtype = np.dtype(dtype)
    if dtype in (np.uint8, np.uint16):
        nonzero = np.flatnonzero(counts)
        if nonzero.size == 0:
            return counts[:1], np.arange(1)
        lo, hi = int(nonzero[0]), int(nonzero[-1])
        return counts[lo:hi + 1], np.arange(lo, hi + 1)
    lo, hi = value_range
    edges = np.linspace(lo, hi, counts.size + 1)
    return counts, (edges[:-1] + edges[1:]) / 2


def plan_summary(plan: TilePlan) -> Mapping[str, Any]:
    return {"halo": plan.halo, "depth": plan.depth, "output": plan.output, "merge": merge_rule(plan),
            "per_plane": plan.per_plane, "global": plan.global_stat is not None, "inexact": plan.inexact}


def merge_rule(plan: TilePlan) -> str:
    return "stitch" if plan.label_start is not None else "crop"
