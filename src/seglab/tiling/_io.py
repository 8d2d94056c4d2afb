"""Opening large inputs without loading them whole.

``open_array(path)`` returns a dask array over:

* TIFF (also BigTIFF, tiled or striped): ``tifffile.imread(path, aszarr=True)``
  read through zarr, so only the tiles/strips a chunk touches are decoded;
  pyramids give level 0;
* zarr arrays and groups, OME-Zarr multiscales (level 0: ``datasets[0]``);
* a folder of 2-D slices (sorted by name) as a (P, M, N) stack, one delayed
  read per file;
* ``.npy`` through ``np.load(mmap_mode="r")``;
* anything else imageio reads (small images: read whole).

Workers re-open the path themselves (:func:`open_raw`, cached per process),
so nothing unpicklable (file handles) travels in the task graph.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab._core.errors import ImageReadError

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["open_array", "open_raw", "SLICE_SUFFIXES"]

SLICE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


class SliceStack:
    """A folder of 2-D images seen as a (P, M, N[, C]) array; indexing reads only the planes it needs."""

    def __init__(self, files):
        self.files = [str(f) for f in files]
        first = _read_plane(self.files[0])
        self.shape = (len(self.files),) + first.shape
        self.dtype = first.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        index = index + (slice(None),) * (self.ndim - len(index))
        planes = range(len(self.files))[index[0]]
        if isinstance(planes, int):
            return _read_plane(self.files[planes])[index[1:]]
        return np.stack([_read_plane(self.files[p])[index[1:]] for p in planes]) if len(planes) else \
            np.zeros((0,) + self.shape[1:], self.dtype)[(slice(None),) + index[1:]]


def _read_plane(path: str) -> np.ndarray:
    if path.lower().endswith((".tif", ".tiff")):
        import tifffile

        return tifffile.imread(path)
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))


def _zarr_level0(node, path):
    import zarr

    if isinstance(node, zarr.Array):
        return node
    attrs = dict(node.attrs)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:
        return node[multiscales[0]["datasets"][0]["path"]]
    if "0" in node:
        return _zarr_level0(node["0"], path)
    arrays = list(node.array_keys())
    if not arrays:
        raise ImageReadError(f"zarr group {str(path)!r} holds no array")
    return node[arrays[0]]


def open_raw(path):
    """Return an array-like (``shape``, ``dtype``, ``__getitem__``) over `path`, reading lazily.

    The pixel budget of :func:`seglab.io.read` applies to the declared size (raise it with
    ``SEGLAB_MAX_PIXELS`` or :func:`seglab.io.set_pixel_budget` for larger inputs).
    """
    raw = _open_raw(path)
    _check_budget(path, tuple(int(n) for n in raw.shape))
    return raw


def _check_budget(path, shape: tuple[int, ...]) -> None:
    from seglab._core.validation import has_channel_axis
    from seglab.io import get_pixel_budget

    spatial = shape[:-1] if has_channel_axis(tuple(shape)) else shape
    pixels = int(np.prod(spatial, dtype=np.float64))
    budget = get_pixel_budget()
    if pixels > budget:
        from seglab._core.errors import DecompressionBombError

        raise DecompressionBombError(
            f"{str(path)!r} declares {' x '.join(map(str, shape))} = {pixels:,} pixels, more than the pixel "
            f"budget of {int(budget):,}; if you trust the input, raise the budget with the environment variable "
            f"SEGLAB_MAX_PIXELS={pixels} or seglab.io.set_pixel_budget({pixels})"
        )


def _open_raw(path):
    from seglab.io import stat_input

    path = Path(path)
    stat_input(path)  # before any open: FIFOs and devices block, symlink loops get their own message
    suffix = path.suffix.lower()
    try:
        if path.is_dir() and ((path / "zarr.json").exists() or (path / ".zarray").exists()
                              or (path / ".zgroup").exists() or suffix == ".zarr"):
            import zarr

            return _zarr_level0(zarr.open(str(path), mode="r"), path)
        if path.is_dir():
            from seglab.io import natural_key

            # the same order as `seglab segment` and read_collection: s2 before s10
            files = sorted((p for p in path.iterdir()
                            if p.suffix.lower() in SLICE_SUFFIXES and not p.name.startswith(".") and p.is_file()),
                           key=natural_key)
            if not files:
                raise ImageReadError(f"folder {str(path)!r} holds no image slices ({', '.join(SLICE_SUFFIXES)})")
            return SliceStack(files)
        if suffix == ".npy":
            return np.load(path, mmap_mode="r")
        if suffix in (".tif", ".tiff"):
            import tifffile
            import zarr

            store = tifffile.imread(str(path), aszarr=True)
            return _zarr_level0(zarr.open(store, mode="r"), path)
        import imageio.v3 as iio

        return np.asarray(iio.imread(path))
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        raise ImageReadError(f"cannot read {str(path)!r}: {exc}") from exc


# decoded storage chunks kept per process: a tile's halo reaches into its neighbours' chunks, and
# without a cache every chunk on a tile border is decoded two to four times (2.25x the decoding at
# chunk 2048 with 512-px TIFF tiles and a 1-px halo; 9x for a zarr input chunked like the tiles)
CACHE_BYTES = 64 * 2**20


class _LRU:
    """Decoded chunks by key, least recently used dropped beyond `budget` bytes."""

    def __init__(self, budget: int = CACHE_BYTES):
        from collections import OrderedDict

        self.budget, self.used = budget, 0
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key):
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key, value: np.ndarray) -> None:
        if value.nbytes > self.budget:
            return
        self.items[key] = value
        self.used += value.nbytes
        while self.used > self.budget:
            _, old = self.items.popitem(last=False)
            self.used -= old.nbytes


class ChunkCache:
    """Regions of a chunked, compressed array (zarr), decoding each stored chunk once while it stays cached."""

    def __init__(self, raw, chunks, budget: int = CACHE_BYTES):
        self.raw, self.chunks = raw, tuple(int(c) for c in chunks)
        self.shape, self.dtype, self.ndim = tuple(raw.shape), np.dtype(raw.dtype), len(raw.shape)
        self._cache = _LRU(budget)

    def __getitem__(self, slices):
        import itertools

        if not isinstance(slices, tuple):
            slices = (slices,)
        slices = slices + (slice(None),) * (self.ndim - len(slices))
        bounds = []
        for s, n in zip(slices, self.shape):
            lo, hi, step = s.indices(n)
            if step != 1:
                return np.asarray(self.raw[slices])
            bounds.append((lo, max(lo, hi)))
        out = np.empty([hi - lo for lo, hi in bounds], self.dtype)
        ranges = [range(lo // c, -(-hi // c)) for (lo, hi), c in zip(bounds, self.chunks)]
        for key in itertools.product(*ranges):
            chunk = self._cache.get(key)
            starts = [k * c for k, c in zip(key, self.chunks)]
            if chunk is None:
                chunk = np.asarray(self.raw[tuple(slice(a, min(a + c, n))
                                                  for a, c, n in zip(starts, self.chunks, self.shape))])
                self._cache.put(key, chunk)
            src, dst = [], []
            for (lo, hi), a, extent in zip(bounds, starts, chunk.shape):
                first, last = max(lo, a), min(hi, a + extent)
                src.append(slice(first - a, last - a))
                dst.append(slice(first - lo, last - lo))
            out[tuple(dst)] = chunk[tuple(src)]
        return out


class TiffRegions:
    """Regions of a single-page 2-D grey TIFF (tiled or striped), decoding only the segments they touch.

    tifffile's zarr store goes through zarr's async machinery for every chunk; decoding the
    segments directly is about twice as fast. Decoded segments stay in a per-process cache, so the
    halo a tile shares with its neighbours is decoded once where the same process reads both.
    """

    def __init__(self, path: str):
        import tifffile

        self.path = path
        self._cache = _LRU()
        self._file = tifffile.TiffFile(path)
        self._file.filehandle.set_lock(True)  # one handle per process, shared by its threads
        page = self._file.pages.first
        self.page = page
        self.shape = tuple(int(n) for n in page.shape)
        self.dtype = np.dtype(page.dtype)
        self.ndim = 2
        self.seg = tuple(int(n) for n in page.chunks[:2]) if page.is_tiled else (int(page.rowsperstrip), self.shape[1])
        self.grid = (-(-self.shape[0] // self.seg[0]), -(-self.shape[1] // self.seg[1]))

    @staticmethod
    def supports(path: str) -> bool:
        import tifffile

        try:
            with tifffile.TiffFile(path) as tf:
                if len(tf.pages) != 1 or len(tf.series) != 1 or len(tf.series[0].levels) != 1:
                    return False
                page = tf.pages.first
                return (page.ndim == 2 and page.samplesperpixel == 1 and page.imagedepth == 1
                        and len(page.dataoffsets) > 0 and all(c > 0 for c in page.databytecounts))
        except Exception:  # noqa: BLE001 - anything unusual: use the generic reader
            return False

    def __getitem__(self, slices):
        rows, cols = (s.indices(n)[:2] for s, n in zip(slices, self.shape))
        out = np.empty((rows[1] - rows[0], cols[1] - cols[0]), self.dtype)
        (sh, sw), (_, gw) = self.seg, self.grid
        indices = [ty * gw + tx for ty in range(rows[0] // sh, -(-rows[1] // sh))
                   for tx in range(cols[0] // sw, -(-cols[1] // sw))]
        page = self.page
        tiles = {}
        missing = []
        for i in indices:
            cached = self._cache.get(i)
            if cached is None:
                missing.append(i)
            else:
                tiles[i] = cached
        offsets = [page.dataoffsets[i] for i in missing]
        counts = [page.databytecounts[i] for i in missing]
        for segment, position in self._file.filehandle.read_segments(offsets, counts, missing, sort=True):
            data, where, _ = page.decode(segment, position)
            tile = data.reshape(data.shape[-3], data.shape[-2])
            tiles[position] = tile
            self._cache.put(position, tile)
        for i, tile in tiles.items():
            r0, c0 = (i // gw) * sh, (i % gw) * sw
            r_lo, r_hi = max(r0, rows[0]), min(r0 + tile.shape[0], rows[1], self.shape[0])
            c_lo, c_hi = max(c0, cols[0]), min(c0 + tile.shape[1], cols[1], self.shape[1])
            out[r_lo - rows[0]:r_hi - rows[0], c_lo - cols[0]:c_hi - cols[0]] = \
                tile[r_lo - r0:r_hi - r0, c_lo - c0:c_hi - c0]
        return out


@functools.lru_cache(maxsize=8)
def _cached_raw(path: str, mtime: float):
    if path.lower().endswith((".tif", ".tiff")) and TiffRegions.supports(path):
        return TiffRegions(path)
    raw = open_raw(path)
    compressors = getattr(raw, "compressors", None)
    if getattr(raw, "chunks", None) and compressors:
        return ChunkCache(raw, raw.chunks)
    return raw


def cached_raw(path: str | os.PathLike[str]) -> Any:
    """:func:`open_raw`, cached per process (workers open each input once)."""
    path = os.fspath(path)
    return _cached_raw(path, os.path.getmtime(path))


def open_array(path: str | os.PathLike[str], *, chunks: Any = "auto") -> da.Array:
    """Open an image file, zarr store or folder of slices as a dask array without reading it.

    Parameters
    ----------
    path : str or Path
        TIFF, zarr / OME-Zarr, ``.npy``, a folder of 2-D slices, or another image file.
    chunks : 'auto', int or tuple
        Dask chunks; ``'auto'`` follows the storage's own chunks where it has them.

    Returns
    -------
    dask.array.Array

    Raises
    ------
    ImageReadError
        The path is missing or unreadable.
    """
    import dask
    import dask.array as da

    raw = open_raw(path)
    if isinstance(raw, SliceStack):
        planes = [da.from_delayed(dask.delayed(_read_plane)(f), shape=raw.shape[1:], dtype=raw.dtype)
                  for f in raw.files]
        stack = da.stack(planes)
        return stack if chunks == "auto" else stack.rechunk(chunks)
    if chunks == "auto" and hasattr(raw, "chunks") and getattr(raw, "chunks", None):
        chunks = raw.chunks
    return da.from_array(raw, chunks=chunks, lock=False, asarray=True)
