"""``run_tiled``: a pipeline over a large input, written chunk by chunk to zarr, resumable.

Output layout (``OUT.zarr`` is a zarr 3 array; zarr ignores ``_seglab/``)::

    OUT.zarr/zarr.json, c/...      the result, one zarr chunk per tile, compressed
    OUT.zarr/_seglab/run.json      what was run (pipeline, input, chunk, halo) - checked on resume
    OUT.zarr/_seglab/done/<pass>/<tile>   completion markers
    OUT.zarr/_seglab/hist/<tile>.npy      per-tile histograms (global methods)
    OUT.zarr/_seglab/provisional/  labels with provisional ids (labels outputs)
    OUT.zarr/_seglab/records/<tile>.npz   stitching records (labels outputs)

Every tile is written, then its marker is created (temp file + ``os.replace``),
so a run killed mid-chunk leaves a chunk without a marker, which ``resume=True``
recomputes; finished tiles are skipped. Ctrl-C keeps finished tiles.

Labels take passes so that resume works at every stage: (1) each tile writes
provisional labels (ids offset per tile) and its stitching records; (2) each
tile turns its records into label pairs; (3) the client unions the pairs
(``connected_components``) and saves the mapping; (4) each tile writes its
final labels 1..N. The output's ``complete`` attribute is set last.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from seglab._core.errors import ImageWriteError, ParameterError

from ._dask import global_threshold, lookup, neighbours_of, spatial_ndim_of
from ._grid import Grid
from ._plan import StitchWarning, TilingError, check_chunks, make_plan, plan_summary, process_block
from ._stitch import apply_mapping, pairs_from_records, provisional, relabel_mapping, stitch_records

__all__ = ["run_tiled", "make_client"]

WORK = "_seglab"


# -- sources -------------------------------------------------------------------------------------
class Source:
    """A picklable handle on the input: a path (re-opened in each worker) or an array."""

    def __init__(self, source):
        if isinstance(source, (str, os.PathLike)):
            from ._io import open_raw

            self.path = os.fspath(source)
            self.array = None
            raw = open_raw(self.path)
        else:
            self.path = None
            self.array = source
            raw = source
        self.shape = tuple(int(n) for n in raw.shape)
        self.dtype = np.dtype(raw.dtype)

    def read(self, slices) -> np.ndarray:
        if self.path is not None:
            from ._io import cached_raw

            raw = cached_raw(self.path)
        else:
            raw = self.array
        block = raw[slices]
        if hasattr(block, "compute"):
            block = block.compute(scheduler="sync")
        return np.asarray(block)

    def describe(self) -> str:
        return self.path if self.path is not None else f"<{type(self.array).__name__} {self.shape}>"


# -- atomic files and markers ----------------------------------------------------------------------
def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _mark(out: Path, stage: str, key: str) -> None:
    _atomic_write(out / WORK / "done" / stage / key, lambda h: h.write(b"ok"))


def _done(out: Path, stage: str) -> set[str]:
    folder = out / WORK / "done" / stage
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.exists() else set()


_ARRAYS: dict[str, object] = {}


def _zarr(path: str):
    import zarr

    array = _ARRAYS.get(path)
    if array is None:
        array = _ARRAYS[path] = zarr.open_array(path, mode="r+")
    return array


# -- tasks (run on workers) ----------------------------------------------------------------------
class Job:
    """Everything the tile tasks need (picklable)."""

    def __init__(self, plan, source, grid, out, extra):
        self.plan, self.source, self.grid, self.out, self.extra = plan, source, grid, str(out), extra

    @property
    def out_path(self) -> Path:
        return Path(self.out)


def _write_task(job: Job, index) -> bool:
    """Pass 1: process one tile and write it (final output, or provisional labels + records)."""
    plan, grid = job.plan, job.grid
    slices, pads = grid.padded(index, plan.depth_per_axis())
    result, reached = process_block(plan, job.source.read(slices + job.extra), pads, with_reach=True)
    key = grid.key(index)
    core = grid.core(index)
    if plan.label_start is None:
        _zarr(job.out)[core] = result.astype(plan.dtype, copy=False)
    else:
        ring = plan.ring_per_axis()
        ring_slices, ring_pads = grid.padded(index, ring)
        offset = grid.linear(index) * grid.stride(ring)
        labels, ids = provisional(result, ring_pads, offset)
        coords, record_ids = stitch_records(result, ring_pads, tuple(s.start for s in ring_slices), offset)
        _zarr(str(job.out_path / WORK / "provisional"))[core] = labels
        _atomic_write(job.out_path / WORK / "records" / f"{key}.npz",
                      lambda h: np.savez(h, coords=coords, ids=record_ids, core_ids=ids,
                                         reached=np.array(reached)))
    _mark(job.out_path, "write", key)
    return reached


def _pairs_task(job: Job, index):
    """Pass 2: label pairs between this tile's objects and its neighbours' (from the provisional array)."""
    grid = job.grid
    key = grid.key(index)
    with np.load(job.out_path / WORK / "records" / f"{key}.npz") as data:
        coords, ids = data["coords"], data["ids"]
    if coords.shape[0]:
        prov = _zarr(str(job.out_path / WORK / "provisional"))
        neighbours = []
        for other in neighbours_of(index, grid.numblocks):
            core = grid.core(other)
            neighbours.append((tuple(s.start for s in core), np.asarray(prov[core])))
        pairs = pairs_from_records(coords, ids, lookup(coords, neighbours))
    else:
        pairs = np.zeros((0, 2), np.int64)
    _atomic_write(job.out_path / WORK / "pairs" / f"{key}.npy", lambda h: np.save(h, pairs))
    _mark(job.out_path, "pairs", key)


def _final_task(job: Job, index):
    """Pass 4: final labels of one tile from the saved mapping."""
    grid = job.grid
    mapping = _mapping_cache(str(job.out_path / WORK / "mapping.npz"))
    core = grid.core(index)
    block = np.asarray(_zarr(str(job.out_path / WORK / "provisional"))[core])
    out = _zarr(job.out)
    out[core] = apply_mapping(block, mapping[0], mapping[1], out.dtype)
    _mark(job.out_path, "final", grid.key(index))


_MAPPING: dict[str, tuple] = {}


def _mapping_cache(path: str):
    if path not in _MAPPING:
        with np.load(path) as data:
            _MAPPING.clear()
            _MAPPING[path] = (data["ids"], data["final"])
    return _MAPPING[path]


def _call(function, *args):
    return function(*args)


# -- execution -------------------------------------------------------------------------------------
def make_client(*, workers: int | None = None, scheduler: str | None = None, processes: bool = True):
    """A dask.distributed client: connect to `scheduler`, or start a LocalCluster (one worker per core).

    Returns ``(client, cluster_or_None)``; close both when done (the cluster only if it was started here).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None)
    return Client(cluster), cluster


def _execute(client, function, job, items, stage, progress):
    """Run ``function(job, item)`` for every item; report progress; return results in item order."""
    total = len(items)
    results = [None] * total
    if progress:
        progress(stage, 0, total)
    if not items:
        return results
    if client in ("sync", None):
        for position, item in enumerate(items):
            results[position] = function(job, item)
            if progress:
                progress(stage, position + 1, total)
        return results
    if client == "threads":
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            futures = {pool.submit(function, job, item): position for position, item in enumerate(items)}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    results[futures[future]] = future.result()
                    if progress:
                        progress(stage, done, total)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results
    from distributed import as_completed

    # hash=False: a unique key per pass (re-scattering an equal job can race with the release of the old one)
    job_future = client.scatter(job, broadcast=True, hash=False)
    futures = client.map(function, [job_future] * total, items, pure=False)
    positions = {future.key: position for position, future in enumerate(futures)}
    try:
        for done, future in enumerate(as_completed(futures), 1):
            results[positions[future.key]] = future.result()
            if progress:
                progress(stage, done, total)
    except BaseException:
        client.cancel(futures)
        raise
    return results


def run_tiled(source, pipeline, out, *, chunk=2048, client=None, resume: bool = False, progress=None,
              allow_inexact: bool = False, workers: int | None = None):
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
        ``progress(stage, done, total)`` after every tile (stages: ``stats`` (global methods),
        ``write``, ``pairs``, ``final``).
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
    import zarr

    out = Path(out)
    src = Source(source)
    nsp = spatial_ndim_of(src.shape)
    shape = src.shape[:nsp]
    extra = (slice(None),) * (len(src.shape) - nsp)
    grid = Grid(shape, check_chunks(chunk, shape))
    plan = make_plan(pipeline, spatial_ndim=nsp, allow_inexact=allow_inexact)
    identity = {"pipeline": plan.pipeline, "input": src.describe(), "shape": list(shape),
                "chunk": list(grid.chunks), "dtype": str(src.dtype)}
    run_file = out / WORK / "run.json"
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
        (out / WORK).mkdir(parents=True)
        _atomic_write(run_file, lambda h: h.write(json.dumps(identity, indent=1).encode()))
    out_dtype = np.dtype(np.int32) if plan.output == "labels" else plan.dtype
    if plan.dtype is None:
        raise TilingError(f"output kind {plan.output!r} cannot be tiled")
    if not (out / "zarr.json").exists():
        zarr.create_array(store=str(out), shape=shape, chunks=grid.chunks, dtype=out_dtype,
                          fill_value=0, overwrite=False)
    if plan.label_start is not None and not (out / WORK / "provisional" / "zarr.json").exists():
        zarr.create_array(store=str(out / WORK / "provisional"), shape=shape, chunks=grid.chunks,
                          dtype=np.int64, fill_value=0, overwrite=False)
    own = None
    if client is None:
        client, own = make_client(workers=workers)
    try:
        job = Job(plan, src, grid, out, extra)
        blocks = grid.blocks()
        if plan.global_stat is not None:
            state = json.loads(run_file.read_text())
            if "threshold" in state:
                threshold = state["threshold"]
            else:
                def compute(tasks):
                    return _execute(client, _run_thunk, None, tasks, "stats", progress)

                threshold = global_threshold(plan, grid, lambda s: src.read(s + extra), src.dtype, compute)
                state["threshold"] = threshold
                _atomic_write(run_file, lambda h: h.write(json.dumps(state, indent=1).encode()))
            plan = plan.with_threshold(threshold)
            job = Job(plan, src, grid, out, extra)
        todo = [b for b in blocks if grid.key(b) not in _done(out, "write")]
        reached = _execute(client, _write_task, job, todo, "write", progress)
        if plan.label_start is not None:
            reached = any(reached) or _any_reached(out, blocks)
            if reached and not plan.exact_stitch:
                warnings.warn(
                    "an object reached the halo of a tile: the labelling steps are not plain connected "
                    "components, so objects larger than the declared halo may be labelled differently than "
                    "in memory; use a larger halo or chunk", StitchWarning, stacklevel=2)
            todo = [b for b in blocks if grid.key(b) not in _done(out, "pairs")]
            _execute(client, _pairs_task, job, todo, "pairs", progress)
            mapping_file = out / WORK / "mapping.npz"
            if not mapping_file.exists():
                ids, pairs = [], []
                for b in blocks:
                    with np.load(out / WORK / "records" / f"{grid.key(b)}.npz") as data:
                        ids.append(data["core_ids"])
                    pairs.append(np.load(out / WORK / "pairs" / f"{grid.key(b)}.npy"))
                ids, final = relabel_mapping(np.concatenate(ids), np.concatenate(pairs))
                if final.size >= 2**31 - 1:
                    raise TilingError(f"{final.size} labels do not fit int32")
                _atomic_write(mapping_file, lambda h: np.savez(h, ids=ids, final=final))
            todo = [b for b in blocks if grid.key(b) not in _done(out, "final")]
            _execute(client, _final_task, job, todo, "final", progress)
    finally:
        if own is not None:
            client.close()
            own.close()
    from seglab import __version__

    array = zarr.open_array(str(out), mode="r+")
    state = json.loads(run_file.read_text())
    array.attrs.update({
        "pipeline": plan.pipeline,
        "output": plan.output,
        "provenance": {
            "seglab": __version__, "input": src.describe(), "chunk": list(grid.chunks), "halo": plan.halo,
            "depth": plan.depth, "merge": plan_summary(plan)["merge"], "per_plane": plan.per_plane,
            "inexact": plan.inexact, "threshold": state.get("threshold"),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "complete": True,
    })
    return zarr.open_array(str(out), mode="r")


def _run_thunk(_job, thunk):
    return thunk()


def _any_reached(out: Path, blocks) -> bool:
    for path in (out / WORK / "records").glob("*.npz"):
        with np.load(path) as data:
            if bool(data["reached"]):
                return True
    return False


def remove_work_files(out) -> None:
    """Delete ``OUT/_seglab`` (markers, provisional labels) after a complete run; resume is then impossible."""
    shutil.rmtree(Path(out) / WORK, ignore_errors=True)


def _check_param(name, value, expected):
    raise ParameterError(f"`{name}` got {value!r}; expected {expected}")
