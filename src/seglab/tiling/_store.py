"""Where tiles come from and where their results go: the input source, scratch files, markers, staging.

* :class:`Source` reads regions of the input (a path opened lazily per process, or an array);
* scratch arrays (uncompressed ``.raw`` files beside the output, memory-mapped) hold the
  pre-processed image and staged inputs; ``.npy`` scratch holds per-tile label ids;
* markers (``_seglab/done/<pass>/<tile>``) make every pass resumable: a tile's file is
  written atomically, then marked;
* staging copies an input whose storage chunks are larger than a tile into scratch once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._backends import _execute

# open zarr outputs, one per path and process (workers write many tiles of the same array)
_ARRAYS: dict[str, object] = {}

WORK = "_seglab"


# -- atomic files and markers ----------------------------------------------------------------------
def _region(slices) -> str:
    return "[" + ", ".join(f"{s.start or 0}:{s.stop}" if isinstance(s, slice) else str(s) for s in slices) + "]"


def _atomic_write(path: Path, write) -> None:
    # the one atomic writer (temp file, fsync, rename), with the marker's folder created on demand
    from seglab.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)


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


def _work_write(path: Path, write) -> None:
    """Write one work file (marker, histogram, record, table) whole-or-not-at-all, without fsync.

    ``os.replace`` of a finished temp file is what makes a killed run resumable: the file is there whole or
    not at all, and the page cache outlives the process. An fsync would add durability against a machine
    crash only, which the zarr chunks the markers vouch for never had (zarr does not fsync); it cost two
    fsyncs per file, six files per tile (~35 % of a labels run on this machine's disk, measured).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mark(out: Path, stage: str, key: str) -> None:
    _work_write(out / WORK / "done" / stage / key, lambda h: h.write(b"ok"))


def _done(out: Path, stage: str) -> set[str]:
    folder = out / WORK / "done" / stage
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.exists() else set()


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


def _scratch(path: Path, mode: Literal["r", "r+"] = "r") -> np.memmap:
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


# -- sources -------------------------------------------------------------------------------------
class Source:
    """A picklable handle on the input: a path (re-opened in each worker) or an array."""

    def __init__(self, source):
        if isinstance(source, (str, os.PathLike)):
            from ._io import open_raw

            self.path = os.fspath(source)
            self.array: Any = None
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
        try:
            block = raw[slices]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="sync")
            return np.asarray(block)
        except Exception as exc:  # noqa: BLE001 - a corrupt strip or chunk is the input's fault: one line
            from seglab._core.errors import ImageReadError, SeglabError

            if isinstance(exc, SeglabError):
                raise
            raise ImageReadError(f"{self.describe()}: cannot read the region {_region(slices)}: "
                                 f"{type(exc).__name__}: {str(exc)[:200]}") from None

    def describe(self) -> str:
        return self.path if self.path is not None else f"<{type(self.array).__name__} {self.shape}>"


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


