"""``run_tiled``: a pipeline over a large input, written chunk by chunk to zarr, resumable.

Output layout (``OUT.zarr`` is a zarr 3 array; zarr ignores ``_seglab/``)::

    OUT.zarr/zarr.json, c/...      the result, one zarr chunk per tile, compressed
    OUT.zarr/_seglab/run.json      what was run (pipeline, input, chunk, halo) - checked on resume;
                                   also the global threshold once known
    OUT.zarr/_seglab/done/<pass>/<tile>   completion markers
    OUT.zarr/_seglab/hist/<tile>.npy      per-tile histograms (global methods)
    OUT.zarr/_seglab/input.raw     the input, uncompressed, when its storage chunks are larger than the
                                   tiles (planes of a stack, whole-plane zarr chunks): each is decoded once
    OUT.zarr/_seglab/pre.raw       pre-processed image, uncompressed (global methods with pre-steps)
    OUT.zarr/_seglab/provisional/<tile>.npy  local label ids of the tile's core, uint32 (labels outputs)
    OUT.zarr/_seglab/records/<tile>.npz   stitching records and core faces (labels outputs)
    OUT.zarr/_seglab/lut/<tile>.npy       local id -> final label (labels outputs)

Every tile is written, then its marker is created (temp file + ``os.replace``),
so a run killed mid-chunk leaves a chunk without a marker, which ``resume=True``
recomputes; finished tiles are skipped. Ctrl-C keeps finished tiles.

A global method (Otsu, ...) first runs the pre-steps once per tile: the task
accumulates the histogram of the pre-processed core and stores that core in
``pre.raw``; the write pass reads it back (with the halo of the later steps) and
applies the threshold, so the pre-steps never run twice.

Labels take passes so that resume works at every stage: (1) each tile writes
its local labels and a small record (ring pixels its objects reach, the labels
on its core's faces); (2) the client turns the records into label pairs
without reading any label array (as the records come back with the write
tasks, while the pass runs), unions the objects that cross tile borders
(``connected_components`` over those only) and writes one lookup table per
tile; (3) each tile writes its final labels 1..N through its table. The
output's ``complete`` attribute is set last.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab._core.errors import ImageWriteError, SeglabError
from seglab.workflows import Cancelled

from ._backends import _execute, _run_thunk, make_client
from ._dask import global_threshold, spatial_ndim_of
from ._grid import Grid
from ._plan import StitchWarning, TilingError, check_chunks, make_plan, plan_summary, process_block
from ._stitch import (
    PairCollector,
    _any_reached,
    _core_ids,
    _faces,
    _offset_face,
    _write_luts,
    load_record,
    stitch_records,
)
from ._store import (
    WORK,
    Source,
    _atomic_write,
    _done,
    _mark,
    _read_scratch,
    _save_scratch,
    _scratch_create,
    _stage_input,
    _storage_to_stage,
    _work_write,
    _write_scratch,
    _zarr,
)

if TYPE_CHECKING:
    import zarr

    from seglab._core.pipeline import Pipeline

__all__ = ["run_tiled", "make_client", "check_tileable", "remove_scratch"]




# -- tasks (run on workers) ----------------------------------------------------------------------
#: Pixels of tiles per task on a cluster (four 2048 x 2048 tiles): each task costs the scheduler, which
#: shares the cores with the workers, a few ms of CPU; progress is still reported tile by tile.
BATCH_PIXELS = 2**24


class Job:
    """Everything the tile tasks need (picklable)."""

    def __init__(self, plan, source, grid, out, extra, staged=False):
        self.plan, self.source, self.grid, self.out, self.extra = plan, source, grid, str(out), extra
        # the write pass reads the stored pre-processed image (global method with pre-steps, integer data)
        self.staged = bool(staged)

    @property
    def out_path(self) -> Path:
        return Path(self.out)

    @property
    def pre_path(self) -> Path:
        return self.out_path / WORK / "pre.raw"


def _stats_task(job: Job, index):
    """Histogram pass of a global method: pre-steps once, histogram of the core, pre-processed core stored."""
    from ._plan import histogram_counts, pre_block

    plan, grid = job.plan, job.grid
    slices, pads = grid.padded(index, plan.per_axis(plan.pre_halo))
    core = pre_block(plan, job.source.read(slices + job.extra), pads)
    counts = histogram_counts(core)
    key = grid.key(index)
    if job.staged:
        _write_scratch(job.pre_path, grid.core(index), core)
    _work_write(job.out_path / WORK / "hist" / f"{key}.npy", lambda h: np.save(h, counts))
    _mark(job.out_path, "stats", key)
    return counts


def _read_input(job: Job, index):
    """(padded block, pads, first step to run) for the write pass of one tile."""
    plan, grid = job.plan, job.grid
    if job.staged:
        slices, pads = grid.padded(index, plan.per_axis(plan.depth - plan.pre_halo))
        return _read_scratch(job.pre_path, slices), pads, plan.n_pre
    slices, pads = grid.padded(index, plan.depth_per_axis())
    return job.source.read(slices + job.extra), pads, 0


def _write_task(job: Job, index) -> bool | tuple[Any, dict[str, Any]]:
    """Write pass: process one tile and write it (final output, or provisional labels + stitching record).

    Returns whether an object reached the halo, or for labels ``(index, record)`` (see :class:`PairCollector`).
    """
    plan, grid = job.plan, job.grid
    block, pads, start = _read_input(job, index)
    result, reached = process_block(plan, block, pads, with_reach=True, start=start)
    del block
    key = grid.key(index)
    core = grid.core(index)
    if plan.label_start is None:
        _zarr(job.out)[core] = result.astype(plan.dtype, copy=False)
    else:
        ring = plan.ring_per_axis()
        ring_slices, ring_pads = grid.padded(index, ring)
        offset = grid.linear(index) * grid.stride(ring)
        local = result if result.dtype.kind in "iu" and result.dtype.itemsize <= 4 else result.astype(np.int64)
        inner = local[tuple(slice(lo, local.shape[i] - hi) for i, (lo, hi) in enumerate(ring_pads))]
        core_ids = _core_ids(local, inner, ring_pads, consecutive=plan.exact_stitch and plan.depth == 1)
        coords, record_ids = stitch_records(local, ring_pads, tuple(s.start for s in ring_slices), offset,
                                            core_ids=core_ids)
        # local ids are stored in the smallest unsigned type that holds them (a tile rarely has 65535
        # objects: half the scratch bytes of uint32); the provisional id is `offset + local`
        top = int(core_ids[-1]) if core_ids.size else 0
        small = np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32
        _save_scratch(job.out_path / WORK / "provisional" / f"{key}.npy", inner.astype(small, copy=False))
        faces = _faces(inner, tuple(s.start for s in core))
        arrays = {f"face{k}": face for k, (_, face) in enumerate(faces)}
        arrays.update({f"face{k}_origin": np.asarray(origin) for k, (origin, _) in enumerate(faces)})
        _work_write(job.out_path / WORK / "records" / f"{key}.npz",
                      lambda h: np.savez(h, coords=coords, ids=record_ids, core_ids=core_ids,
                                         offset=np.int64(offset), reached=np.array(reached), **arrays))
        _mark(job.out_path, "write", key)
        # the record also travels back to the client (tens of kB), which stitches while the pass runs
        return index, {"coords": coords, "ids": record_ids, "core_ids": core_ids, "reached": reached,
                       "faces": [(origin, _offset_face(face, offset)) for origin, face in faces]}
    _mark(job.out_path, "write", key)
    return reached


def _final_task(job: Job, index):
    """Final pass: final labels of one tile, through its lookup table (local id -> label)."""
    grid = job.grid
    key = grid.key(index)
    lut = np.load(job.out_path / WORK / "lut" / f"{key}.npy")
    core = grid.core(index)
    block = np.load(job.out_path / WORK / "provisional" / f"{key}.npy")
    out = _zarr(job.out)
    out[core] = lut[block].astype(out.dtype, copy=False)
    _mark(job.out_path, "final", key)


def _nothing(index) -> None:
    """`fetch` of a pass whose results the client does not use (claimed passes: no results gathered)."""


def run_tiled(source: Any, pipeline: Pipeline, out: str | os.PathLike[str], *, chunk: int | tuple[int, ...] = 2048,
              client: Any = None, resume: bool = False, progress: Callable[..., object] | None = None,
              allow_inexact: bool = False, workers: int | None = None, cancel: Any = None,
              keep_scratch: bool = False) -> zarr.Array:
    """Run `pipeline` over a large image tile by tile and write the result to a zarr array.

    Parameters
    ----------
    source : str, Path or array-like
        TIFF, zarr / OME-Zarr, ``.npy``, folder of slices (see :func:`open_array`), or an array
        (NumPy, zarr, dask).
    pipeline : seglab.Pipeline
        Pre-steps, method and post-steps (``Pipeline.build`` / ``Pipeline.from_dict``).
    out : str or Path
        Output zarr path (created; must not exist unless `resume`).
    chunk : int or tuple
        Tile size per spatial axis (also the zarr chunk).
    client : distributed.Client, 'threads', 'sync' or None
        Where tiles run. None starts a LocalCluster (processes, one single-threaded worker per core,
        or `workers`) for this call and closes it afterwards.
    resume : bool
        Continue an interrupted run into `out`: tiles with a completion marker are skipped.
        The pipeline, input and chunking must match the interrupted run.
    progress : callable, optional
        Receives a :class:`seglab.workflows.Event` after every tile (stages: ``stage`` (staged
        inputs), ``stats`` (global methods), ``write``, ``pairs``, ``final``).
    cancel : seglab.workflows.CancelToken, optional
        Checked after every tile; when set, the run stops with :class:`~seglab.workflows.Cancelled`,
        finished tiles stay marked and ``resume=True`` continues.
    keep_scratch : bool
        Keep the work files (``OUT.zarr/_seglab/``: histograms, label records, staged input) after a
        complete run. By default they are removed once the output is complete (the small
        ``run.json`` record stays, with the provenance in the array's attributes).
    allow_inexact : bool
        Run ``tiling="none"`` methods tile by tile (results differ from in-memory).
    workers : int, optional
        Workers of the LocalCluster started when `client` is None.

    Returns
    -------
    zarr.Array
        The output (read-only), with attributes ``pipeline``, ``provenance`` and ``complete``.

    Raises
    ------
    TilingError
        The pipeline cannot be tiled (see :func:`make_plan`).
    ImageWriteError
        `out` exists and `resume` is False, or it belongs to a different run.
    """
    progress = _reporter(progress, cancel)
    import zarr

    out = Path(out)
    src = Source(source)
    _check_like_segment(src.shape, src.dtype)
    source_name = src.describe()
    nsp = spatial_ndim_of(src.shape)
    shape = src.shape[:nsp]
    extra = (slice(None),) * (len(src.shape) - nsp)
    grid = Grid(shape, check_chunks(chunk, shape))
    plan = make_plan(pipeline, spatial_ndim=nsp, allow_inexact=allow_inexact)
    _check_first_step(plan, src.shape, src.dtype, nsp)
    _check_global_dtype(plan, src.dtype)
    identity = {"pipeline": plan.pipeline, "input": src.describe(), "shape": list(shape),
                "chunk": list(grid.chunks), "dtype": str(src.dtype)}
    run_file = out / WORK / "run.json"
    fresh = not out.exists()
    if out.exists():
        if not resume:
            raise ImageWriteError(f"output {str(out)!r} exists; pass resume=True (CLI: --resume) to continue "
                                  "an interrupted run, or choose a new path")
        if not run_file.exists():
            raise ImageWriteError(f"output {str(out)!r} exists but was not written by a tiled run; cannot resume")
        previous = json.loads(run_file.read_text())
        if {k: previous.get(k) for k in identity} != identity:
            changed = [k for k in identity if previous.get(k) != identity[k]]
            raise ImageWriteError(f"cannot resume into {str(out)!r}: {', '.join(changed)} differ from the "
                                  "interrupted run")
    else:
        try:
            (out / WORK).mkdir(parents=True)
        except OSError as exc:
            raise ImageWriteError(f"cannot create the output {str(out)!r}: {exc.strerror or exc}") from None
        _atomic_write(run_file, lambda h: h.write(json.dumps(identity, indent=1).encode()))
    out_dtype = np.dtype(np.int32) if plan.output == "labels" else plan.dtype
    if plan.dtype is None:
        raise TilingError(f"output kind {plan.output!r} cannot be tiled")
    if not (out / "zarr.json").exists():
        zarr.create_array(store=str(out), shape=shape, chunks=grid.chunks, dtype=out_dtype,
                          fill_value=0, overwrite=False)
    own = None
    if client is None:
        client, own = make_client(workers=workers)
    try:
        blocks = grid.blocks()
        staged = False
        storage = _storage_to_stage(src, grid, plan)
        if storage is not None:
            src = _stage_input(src, storage, out, client, progress)
        if plan.global_stat is not None:
            plan, staged = _global_pass(plan, src, grid, out, extra, client, progress, run_file)
        job = Job(plan, src, grid, out, extra, staged=staged)
        todo = [b for b in blocks if grid.key(b) not in _done(out, "write")]
        weights = [grid.size(b) for b in todo]
        claims = out / WORK  # on a cluster, each pass's tasks (one per worker thread) claim tiles through files here
        if plan.label_start is None:
            _execute(client, _write_task, job, todo, "write", progress, weights=weights, batch_weight=BATCH_PIXELS,
                     claims=claims, fetch=_nothing)
        else:
            mapping_done = out / WORK / "done" / "mapping"
            pairs = None if mapping_done.exists() else PairCollector(grid)
            if pairs is not None:
                written = set(todo)
                for b in blocks:  # tiles written by an earlier (interrupted) call: their records
                    if b not in written:
                        pairs.add(b, load_record(out / WORK / "records" / f"{grid.key(b)}.npz"))
            # the records reach the client as the tiles finish: from the task results (one task per few
            # tiles), or from the record files the claiming tasks write (one long task per worker thread)
            _execute(client, _write_task, job, todo, "write", progress, weights=weights, batch_weight=BATCH_PIXELS,
                     reduce=(lambda result: pairs.add(*result)) if pairs is not None else (lambda result: None),
                     claims=claims, fetch=lambda b: (b, load_record(out / WORK / "records" / f"{grid.key(b)}.npz")))
            reached = pairs.reached if pairs is not None else _any_reached(out, blocks, grid)
            if reached and not plan.exact_stitch:
                warnings.warn(
                    "an object reached the halo of a tile: the labelling steps are not plain connected "
                    "components, so objects larger than the declared halo may be labelled differently than "
                    "in memory; raise the declared halo (split_touching: max_object_size) or the chunk size",
                    StitchWarning, stacklevel=2)
            if pairs is not None:
                if progress:
                    progress("pairs", 0, len(blocks))
                _write_luts(out, grid, plan.ring_per_axis(), pairs.result(), pairs.core_ids)
                _atomic_write(mapping_done, lambda h: h.write(b"ok"))
                if progress:
                    progress("pairs", len(blocks), len(blocks))
            todo = [b for b in blocks if grid.key(b) not in _done(out, "final")]
            _execute(client, _final_task, job, todo, "final", progress, weights=[grid.size(b) for b in todo],
                     batch_weight=BATCH_PIXELS, claims=claims, fetch=_nothing)
    except SeglabError as exc:
        # The input or the pipeline is at fault (a corrupt strip, a refused value): a fresh run leaves nothing
        # behind. A cancelled run, an interrupted one or a crash keeps its finished tiles for `resume`.
        if fresh and not isinstance(exc, Cancelled):
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        if own is not None:
            client.close()
            own.close()
    from seglab import __version__

    # the work files go while the attributes are written: the workers are idle now, so the unlink of a large
    # scratch file (~12 ms for the 140 MP slice's pre.raw) runs on a free core (the passes' markers make
    # a resume after a crash in between find every pass done, with or without the scratch)
    cleaner, failed = None, []
    if not keep_scratch:
        import threading

        def clean() -> None:
            try:
                remove_scratch(out)
            except BaseException as exc:  # raised in this call, as when it ran here
                failed.append(exc)

        cleaner = threading.Thread(target=clean, name="seglab-scratch")
        cleaner.start()
    try:
        array = zarr.open_array(str(out), mode="r+")
        state = json.loads(run_file.read_text())
        array.attrs.update({
            "pipeline": plan.pipeline,
            "output": plan.output,
            "provenance": {
                "seglab": __version__, "input": source_name, "chunk": list(grid.chunks), "halo": plan.halo,
                "depth": plan.depth, "merge": plan_summary(plan)["merge"], "per_plane": plan.per_plane,
                "inexact": plan.inexact, "threshold": state.get("threshold"),
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            },
            "complete": True,
        })
    finally:
        if cleaner is not None:
            cleaner.join()
    if failed:
        raise failed[0]
    return zarr.open_array(str(out), mode="r")


#: Work files that only an unfinished run needs; ``run.json`` and the ``done`` markers stay (tiny), so a
#: ``resume`` into a complete output finds every pass finished instead of starting again. ``claims-*``: the
#: claim folders of passes that were stopped (a finished pass removes its own).
SCRATCH = ("hist", "provisional", "records", "lut", "input.raw", "input.json", "pre.raw", "pre.json", "claims-*")


def remove_scratch(out: str | os.PathLike[str]) -> int:
    """Delete the work files of a complete tiled run in `out`; return the bytes freed."""
    import shutil

    freed = 0
    for path in (p for name in SCRATCH for p in sorted((Path(out) / WORK).glob(name))):
        if path.is_dir():
            freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            freed += path.stat().st_size
            path.unlink()
    return freed


def check_tileable(source: Any, pipeline: Pipeline, *, allow_inexact: bool = False) -> None:
    """Raise :class:`TilingError` (or the reader's error) now if `pipeline` cannot run tiled over `source`.

    Reads only the input's header; front ends call it before starting a cluster.
    """
    from seglab._core.quiet import ignoring

    src = Source(source)
    _check_like_segment(src.shape, src.dtype)
    shape = src.shape
    with ignoring(Warning):  # the run itself warns (inexact tiling) once; front ends call this on threads
        plan = make_plan(pipeline, spatial_ndim=spatial_ndim_of(shape), allow_inexact=allow_inexact)
    _check_first_step(plan, shape, src.dtype, spatial_ndim_of(shape))


def _check_global_dtype(plan, dtype) -> None:
    """A global statistic sums one histogram bin per level over tiles: refuse wide integers before any output."""
    dtype = np.dtype(dtype)
    if plan.global_stat is not None and dtype.kind in "iu" and dtype not in (np.uint8, np.uint16) \
            and not any(step.kind == "pre" for step in plan.steps):
        raise TilingError(
            f"{plan.global_stat.method!r} needs a histogram of the whole image, and {dtype} images have too many "
            "levels for one bin each; convert the input to uint16 or float32 first (or add a pre-step that does)"
        )


def _check_like_segment(shape, dtype) -> None:
    """Refuse what ``seglab segment`` refuses (dims, dtype), from the shape alone: a zero-stride stand-in."""
    from seglab._core.validation import check_image

    check_image(np.broadcast_to(np.zeros(1, dtype), tuple(shape)))


def _check_first_step(plan, shape, dtype, spatial_ndim: int) -> None:
    """Refuse what the first step refuses in memory (a colour image for a gray-only method, unsupported dims).

    A global method's histogram pass never calls the method, so without this a colour input met it only as a
    broadcast error in the write pass. Checked on a zero-stride stand-in of the input (no pixel is read).
    """
    if not plan.steps or (plan.steps[0].channels == "color" and len(shape) == spatial_ndim):
        return  # a colour step stacks a gray image (a copy) and only warns: the tiles do that
    from seglab._core.executor import check_step_input

    check_step_input(plan.steps[0], np.broadcast_to(np.zeros(1, dtype), tuple(shape)), spatial_ndim)


def _reporter(progress, cancel):
    """The passes report ``(stage, done, total)``; the caller gets one :class:`Event` type and cancellation."""
    if progress is None and cancel is None:
        return None
    from seglab.workflows import Event

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(Event(stage, done, total))
        if cancel is not None and done:
            cancel.check(f"tiled run ({stage})")

    return report


def _global_pass(plan, src, grid, out, extra, client, progress, run_file):
    """Histogram pass of a ``tiling="global"`` method; return the plan with its threshold (saved for resume).

    For uint8/uint16 pre-processed images the pre-steps run once per tile: each task stores its
    pre-processed core (uncompressed scratch file) next to the histogram, and the write pass starts
    from there instead of recomputing them. Other dtypes take the two-pass min/max + histogram route.
    """
    state = json.loads(run_file.read_text())
    if "threshold" in state:
        return plan.with_threshold(state["threshold"]), bool(state.get("staged"))
    # The histogram pass reads every core once; it keeps that core (pre-processed, or the input itself when
    # it is read from a compressed file) in an uncompressed scratch file, so the write pass reads memory
    # instead of running the pre-steps or decoding the input (and its halo chunks) a second time.
    job = Job(plan, src, grid, out, extra, staged=plan.n_pre > 0 or (src.path is not None and src.staged is None))
    pre_dtype, tail = src.dtype, src.shape[len(grid.shape):]
    if plan.n_pre:
        if "pre" in state:
            pre_dtype, tail = np.dtype(state["pre"]["dtype"]), tuple(state["pre"]["tail"])
        else:
            from ._plan import pre_block

            probe = grid.blocks()[-1]  # the corner tile: often the smallest
            slices, pads = grid.padded(probe, plan.per_axis(plan.pre_halo))
            core = pre_block(plan, src.read(slices + extra), pads)
            pre_dtype, tail = core.dtype, core.shape[len(grid.shape):]
            state["pre"] = {"dtype": pre_dtype.str, "tail": list(tail)}
            _atomic_write(run_file, lambda h: h.write(json.dumps(state, indent=1).encode()))
    if pre_dtype not in (np.uint8, np.uint16):
        def compute(tasks):
            return _execute(client, _run_thunk, None, tasks, "stats", progress)

        threshold = global_threshold(plan, grid, lambda s: src.read(s + extra), src.dtype, compute)
        job.staged = False  # the write pass recomputes the pre-steps
    else:
        if job.staged:
            _scratch_create(job.pre_path, tuple(grid.shape) + tuple(tail), pre_dtype)
        done = _done(out, "stats")
        total = np.zeros(256 if pre_dtype == np.uint8 else 65536, np.int64)
        for b in grid.blocks():
            if grid.key(b) in done:
                total += np.load(out / WORK / "hist" / f"{grid.key(b)}.npy")
        todo = [b for b in grid.blocks() if grid.key(b) not in done]

        def add(counts):
            np.add(total, counts, out=total)

        # claimed passes: the client reads each tile's histogram from the file its task wrote, as tiles finish
        _execute(client, _stats_task, job, todo, "stats", progress, reduce=add, weights=[grid.size(b) for b in todo],
                 batch_weight=BATCH_PIXELS, claims=out / WORK,
                 fetch=lambda b: np.load(out / WORK / "hist" / f"{grid.key(b)}.npy"))
        from ._plan import threshold_from_counts

        threshold = threshold_from_counts(plan, total, pre_dtype)
    state["threshold"] = threshold
    state["staged"] = job.staged
    _atomic_write(run_file, lambda h: h.write(json.dumps(state, indent=1).encode()))
    return plan.with_threshold(threshold), job.staged


