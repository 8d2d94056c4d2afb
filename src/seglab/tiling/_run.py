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
without reading any label array, unions the objects that cross tile borders
(``connected_components`` over those only) and writes one lookup table per
tile; (3) each tile writes its final labels 1..N through its table. The
output's ``complete`` attribute is set last.
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
from ._stitch import pairs_from_records, stitch_records

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
        self.staged = None  # path of an uncompressed copy (see _stage_input), read instead of the source

    def read(self, slices) -> np.ndarray:
        if self.staged is not None:
            return _read_scratch(Path(self.staged), slices)
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


def _save_scratch(path: Path, array: np.ndarray) -> None:
    """Save an array whole-or-not-at-all without fsync: scratch read back once, guarded by a later marker.

    One contiguous file per tile costs a memcpy into the page cache (lz4 zarr chunks took 40 ms per
    2048 x 2048 uint32 tile, a memory-mapped whole-image file paid a page fault per 4 KiB; measured).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array))
    os.replace(tmp, path)


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


# -- scratch arrays (uncompressed files read back with halos) --------------------------------------
def _scratch_create(path: Path, shape, dtype) -> None:
    """An uncompressed scratch array file; regions are read back with halos at memcpy cost."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = path.with_suffix(".json")
    _atomic_write(meta, lambda h: h.write(json.dumps({"shape": list(shape), "dtype": np.dtype(dtype).str}).encode()))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.truncate(int(np.prod(shape)) * np.dtype(dtype).itemsize)  # sparse: pages appear when written
    os.replace(tmp, path)


def _scratch(path: Path, mode: str = "r"):
    meta = json.loads(path.with_suffix(".json").read_text())
    # mapped per task and dropped afterwards, so no worker keeps pages of the whole file resident
    return np.memmap(path, dtype=np.dtype(meta["dtype"]), mode=mode, shape=tuple(meta["shape"]))


def _read_scratch(path: Path, slices) -> np.ndarray:
    """A copy of one region of a scratch file (the mapping is dropped at once)."""
    return np.array(_scratch(path)[slices])


def _write_scratch(path: Path, slices, block: np.ndarray) -> None:
    """Write one region of a scratch file.

    No msync: the caller writes its completion marker afterwards, and a killed process leaves its written
    pages in the page cache; only a machine crash could lose them, and then the markers may be gone too.
    """
    _scratch(path, "r+")[slices] = block


# -- tasks (run on workers) ----------------------------------------------------------------------
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
    _atomic_write(job.out_path / WORK / "hist" / f"{key}.npy", lambda h: np.save(h, counts))
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


def _faces(labels: np.ndarray, origin) -> list:
    """The outermost layer of a tile's core on each side, as ``(origin, array)`` (what neighbours look up)."""
    out = []
    for axis, n in enumerate(labels.shape):
        for at in sorted({0, n - 1}):
            index = tuple(slice(at, at + 1) if a == axis else slice(None) for a in range(labels.ndim))
            face_origin = tuple(o + (at if a == axis else 0) for a, o in enumerate(origin))
            out.append((face_origin, np.ascontiguousarray(labels[index])))
    return out


def _core_ids(local: np.ndarray, inner: np.ndarray, ring_pads, *, consecutive: bool) -> np.ndarray:
    """The label ids present in a tile's core (`inner` = `local` without its one-pixel stitching ring).

    With `consecutive` (connected components of exactly this block: ids 1..n all present), the ids
    missing from the core are those found only in the ring, and an object reaching from the ring into
    the core must cross the core's outermost layer: only those two thin layers are read. Otherwise
    one ``bincount`` over the core (25 ms per 2048 x 2048 tile, measured).
    """
    if not consecutive:
        ids = np.flatnonzero(np.bincount(inner.ravel()))  # np.unique hashes every pixel: slower
        return ids[ids > 0].astype(np.uint32)
    ids = np.arange(1, (int(local.max()) if local.size else 0) + 1, dtype=np.uint32)
    if not any(lo or hi for lo, hi in ring_pads):
        return ids

    def layer_ids(array):
        return np.unique(np.concatenate([face.ravel() for _, face in _faces(array, (0,) * array.ndim)]))

    ring_only = np.setdiff1d(layer_ids(local), layer_ids(inner))
    return np.setdiff1d(ids, ring_only, assume_unique=True)


def _write_task(job: Job, index) -> bool:
    """Write pass: process one tile and write it (final output, or provisional labels + stitching record)."""
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
        coords, record_ids = stitch_records(local, ring_pads, tuple(s.start for s in ring_slices), offset)
        # local ids (uint32) are stored; the provisional id is `offset + local`
        _save_scratch(job.out_path / WORK / "provisional" / f"{key}.npy", inner.astype(np.uint32, copy=False))
        faces = _faces(inner, tuple(s.start for s in core))
        arrays = {f"face{k}": face for k, (_, face) in enumerate(faces)}
        arrays.update({f"face{k}_origin": np.asarray(origin) for k, (origin, _) in enumerate(faces)})
        _atomic_write(job.out_path / WORK / "records" / f"{key}.npz",
                      lambda h: np.savez(h, coords=coords, ids=record_ids, core_ids=core_ids,
                                         offset=np.int64(offset), reached=np.array(reached), **arrays))
    _mark(job.out_path, "write", key)
    return reached


def _load_faces(path: Path, offset_ids: bool = True) -> list:
    with np.load(path) as data:
        offset = int(data["offset"])
        faces, k = [], 0
        while f"face{k}" in data:
            face = data[f"face{k}"].astype(np.int64)
            if offset_ids:
                face = np.where(face > 0, face + offset, 0)
            faces.append((tuple(int(v) for v in data[f"face{k}_origin"]), face))
            k += 1
    return faces


def _pairs_and_ids(out: Path, grid, progress):
    """Stitching edges of every tile, from the small per-tile records (no label array is read)."""
    pairs = []
    blocks = grid.blocks()
    faces: dict = {}
    reach = sum(int(np.prod(grid.numblocks[a + 1:])) for a in range(len(grid.numblocks)))

    def faces_of(index):
        if index not in faces:
            faces[index] = _load_faces(out / WORK / "records" / f"{grid.key(index)}.npz")
        return faces[index]

    if progress:
        progress("pairs", 0, len(blocks))
    for done, index in enumerate(blocks, 1):
        with np.load(out / WORK / "records" / f"{grid.key(index)}.npz") as data:
            coords, record_ids = data["coords"], data["ids"]
        if coords.shape[0]:
            neighbours = [face for other in neighbours_of(index, grid.numblocks) for face in faces_of(other)]
            pairs.append(pairs_from_records(coords, record_ids, lookup(coords, neighbours)))
        # raster order: faces of tiles that no later tile neighbours are dropped (the client stays small)
        for old in [k for k in faces if grid.linear(k) < grid.linear(index) - reach]:
            del faces[old]
        if progress:
            progress("pairs", done, len(blocks))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def _write_luts(out: Path, grid, ring, pairs) -> None:
    """Final labels 1..N as one lookup table per tile (local id -> label), numbered in provisional-id order.

    Only objects on tile borders take part in the union (``connected_components`` over the pairs);
    every other object is its own label. The client holds the border objects and one tile's table.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = np.unique(pairs) if pairs.size else np.zeros(0, np.int64)
    if nodes.size:
        a, b = np.searchsorted(nodes, pairs[:, 0]), np.searchsorted(nodes, pairs[:, 1])
        graph = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(nodes.size, nodes.size))
        _, component = connected_components(graph, directed=False)
        # the root of a component is its smallest provisional id (nodes are sorted)
        first = np.full(component.max() + 1, nodes.size, np.int64)
        np.minimum.at(first, component, np.arange(nodes.size))
        root_of = first[component]  # index (into nodes) of each node's root
    else:
        root_of = np.zeros(0, np.int64)
    final_of_node = np.zeros(nodes.size, np.int64)
    stride = grid.stride(ring)
    next_label = 0
    for index in grid.blocks():
        key = grid.key(index)
        with np.load(out / WORK / "records" / f"{key}.npz") as data:
            local = data["core_ids"].astype(np.int64)
        offset = grid.linear(index) * stride
        prov = local + offset
        at = np.searchsorted(nodes, prov)
        is_node = at < nodes.size
        is_node[is_node] = nodes[at[is_node]] == prov[is_node]
        is_root = ~is_node
        is_root[is_node] = root_of[at[is_node]] == at[is_node]
        labels = np.zeros(local.size, np.int64)
        labels[is_root] = next_label + np.arange(1, int(is_root.sum()) + 1)
        next_label += int(is_root.sum())
        final_of_node[at[is_node & is_root]] = labels[is_node & is_root]
        merged = is_node & ~is_root
        labels[merged] = final_of_node[root_of[at[merged]]]
        if next_label >= 2**31 - 1:
            raise TilingError(f"{next_label} labels do not fit int32")
        lut = np.zeros(int(local.max()) + 1 if local.size else 1, np.int32)
        lut[local] = labels
        _atomic_write(out / WORK / "lut" / f"{key}.npy", lambda h: np.save(h, lut))


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


def _call(function, *args):
    return function(*args)


# distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also switches off glibc's adaptive
# mmap threshold: every tile-sized array is then a fresh mmap that page-faults in (tile tasks ran 35 %
# slower, measured). Tiles are bounded, so keep them in the heap and trim only large free tops.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**26}


# -- execution -------------------------------------------------------------------------------------
def make_client(*, workers: int | None = None, scheduler: str | None = None, processes: bool = True):
    """A dask.distributed client: connect to `scheduler`, or start a LocalCluster (one worker per core).

    Returns ``(client, cluster_or_None)``; close both when done (the cluster only if it was started here).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    import dask

    n = workers or os.cpu_count() or 1
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None)
    return Client(cluster), cluster


def _execute(client, function, job, items, stage, progress, reduce=None):
    """Run ``function(job, item)`` for every item; report progress; return results in item order.

    With `reduce`, each result is passed to ``reduce(result)`` as it arrives and not kept.
    """
    total = len(items)
    results = [None] * total
    if reduce is not None:
        class _Fold(list):
            def __setitem__(self, position, value):
                reduce(value)

        results = _Fold(results)
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
    workers = sorted(client.scheduler_info().get("workers", {}))
    if len(workers) > 1 and total > len(workers):
        # contiguous runs of tiles per worker (a preference, not a pin): neighbours share halo chunks, which
        # a worker then decodes once (see _io.ChunkCache); interleaved tiles would decode them on both workers
        futures = []
        for w, address in enumerate(workers):
            part = items[w * total // len(workers):(w + 1) * total // len(workers)]
            futures += client.map(function, [job_future] * len(part), part, pure=False, workers=[address],
                                   allow_other_workers=True)
    else:
        futures = client.map(function, [job_future] * total, items, pure=False)
    positions = {future.key: position for position, future in enumerate(futures)}
    try:
        # results gathered by the event loop: one `future.result()` round trip per tile cost the client ~5 ms each
        for done, (future, result) in enumerate(as_completed(futures, with_results=True), 1):
            results[positions[future.key]] = result
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
    source_name = src.describe()
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
        reached = _execute(client, _write_task, job, todo, "write", progress)
        if plan.label_start is not None:
            reached = any(r for r in reached if r) or _any_reached(out, blocks)
            if reached and not plan.exact_stitch:
                warnings.warn(
                    "an object reached the halo of a tile: the labelling steps are not plain connected "
                    "components, so objects larger than the declared halo may be labelled differently than "
                    "in memory; raise the declared halo (split_touching: max_object_size) or the chunk size",
                    StitchWarning, stacklevel=2)
            mapping_done = out / WORK / "done" / "mapping"
            if not mapping_done.exists():
                _write_luts(out, grid, plan.ring_per_axis(), _pairs_and_ids(out, grid, progress))
                _atomic_write(mapping_done, lambda h: h.write(b"ok"))
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
            "seglab": __version__, "input": source_name, "chunk": list(grid.chunks), "halo": plan.halo,
            "depth": plan.depth, "merge": plan_summary(plan)["merge"], "per_plane": plan.per_plane,
            "inexact": plan.inexact, "threshold": state.get("threshold"),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "complete": True,
    })
    return zarr.open_array(str(out), mode="r")


def _run_thunk(_job, thunk):
    return thunk()


def _global_pass(plan, src, grid, out, extra, client, progress, run_file):
    """Histogram pass of a ``tiling="global"`` method; return the plan with its threshold (saved for resume).

    For uint8/uint16 pre-processed images the pre-steps run once per tile: each task stores its
    pre-processed core (uncompressed scratch file) next to the histogram, and the write pass starts
    from there instead of recomputing them. Other dtypes take the two-pass min/max + histogram route.
    """
    state = json.loads(run_file.read_text())
    if "threshold" in state:
        return plan.with_threshold(state["threshold"]), bool(state.get("staged"))
    job = Job(plan, src, grid, out, extra, staged=plan.n_pre > 0)
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

        _execute(client, _stats_task, job, todo, "stats", progress, reduce=add)
        from ._plan import threshold_from_counts

        threshold = threshold_from_counts(plan, total, pre_dtype)
    state["threshold"] = threshold
    state["staged"] = job.staged
    _atomic_write(run_file, lambda h: h.write(json.dumps(state, indent=1).encode()))
    return plan.with_threshold(threshold), job.staged


def _storage_to_stage(src: Source, grid, plan):
    """The input's storage chunks when they are compressed and larger than a tile with its halo on some axis.

    Such a chunk (a stack's whole plane, a whole-plane zarr chunk) would be decoded once for every tile
    it overlaps, more often than the per-worker cache can hold it (64 x 4096^2 planes, tiles (16, 1024, 1024):
    each plane decoded 16 times); the input is then copied once into an uncompressed scratch file instead.
    """
    if src.path is None:
        return None
    from ._io import ChunkCache, SliceStack, cached_raw

    raw = cached_raw(src.path)
    if isinstance(raw, ChunkCache):
        storage = raw.chunks
    elif isinstance(raw, SliceStack):
        storage = (1,) + tuple(raw.shape[1:])
    else:
        return None
    reach = [c + 2 * d for c, d in zip(grid.chunks, plan.depth_per_axis())]
    spatial = storage[:len(reach)]
    if all(s <= r for s, r in zip(spatial, reach)):
        return None
    return tuple(int(c) for c in storage)


def _stage_task(job, item):
    """Copy one storage chunk of the input into the uncompressed scratch file."""
    src, out = job
    slices, key = item
    _write_scratch(Path(out) / WORK / "input.raw", slices, src.read(slices))
    _mark(Path(out), "stage", key)


def _stage_input(src: Source, storage, out: Path, client, progress) -> Source:
    """Copy the input into ``_seglab/input.raw`` one storage chunk per task (resumable); return it as a Source."""
    import copy
    import itertools

    path = out / WORK / "input.raw"
    _scratch_create(path, src.shape, src.dtype)
    done = _done(out, "stage")
    items = []
    ranges = [range(0, n, c) for n, c in zip(src.shape, storage)]
    for starts in itertools.product(*ranges):
        key = ".".join(str(a // c) for a, c in zip(starts, storage))
        if key not in done:
            slices = tuple(slice(a, min(a + c, n)) for a, c, n in zip(starts, storage, src.shape))
            items.append((slices, key))
    _execute(client, _stage_task, (src, str(out)), items, "stage", progress)
    staged = copy.copy(src)
    staged.staged = str(path)
    return staged


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
