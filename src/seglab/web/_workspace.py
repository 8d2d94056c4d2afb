"""The workspace: which files the server may show, and how it reads them (whole or by region).

Safety rule: a name from a request is a relative POSIX path inside the workspace. Absolute paths,
``..`` parts, backslashes and anything whose resolved path (symlinks followed) lands outside the
workspace are reported as "not found" (404), so a request can neither read nor probe files
outside the folder the user chose.

Small images are read whole with :func:`seglab.read` (the pixel budget applies, values are never
rescaled) and kept in a small cache. Large TIFF and zarr inputs are opened lazily with tifffile's
zarr view (or zarr itself): a deep-zoom tile or a preview region decodes only the storage chunks
it touches, and the coarse pyramid levels come from one overview built on first use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from seglab._core.errors import ImageReadError

__all__ = ["IMAGE_SUFFIXES", "ImageSource", "NotInWorkspace", "Workspace", "make_sample_workspace"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy", ".zarr")
# Above this many pixels an input is read by region (lazily) instead of whole for display and preview.
LAZY_PIXELS = 32_000_000
TILE = 256
OVERVIEW_FACTOR = 8
_CACHE_BYTES = 1_500_000_000


class NotInWorkspace(LookupError):
    """A requested name is not a file inside the workspace (the server answers 404)."""


@dataclass
class ImageSource:
    """One workspace image: its shape and a way to read any region at full resolution.

    Attributes
    ----------
    shape : (rows, cols)
    channels : int
        0 for gray, 3 for RGB (RGBA is shown as RGB).
    dtype : numpy dtype
    array : ndarray or zarr-like
        The pixels; a NumPy array for small images (what :func:`seglab.read` returned), a lazy
        array for large TIFF/zarr inputs.
    """

    path: Path
    name: str
    shape: tuple[int, int]
    channels: int
    dtype: np.dtype
    array: Any
    lazy: bool
    nbytes: int
    _overview: np.ndarray | None = None
    _range: tuple[float, float] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def region(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """Return the full-resolution pixels of a region (clipped to the image) as a NumPy array."""
        r0, c0 = max(0, int(row)), max(0, int(col))
        r1, c1 = min(self.shape[0], int(row) + int(height)), min(self.shape[1], int(col) + int(width))
        if r1 <= r0 or c1 <= c0:
            return np.zeros((0, 0) + ((self.channels,) if self.channels else ()), self.dtype)
        out = np.asarray(self.array[r0:r1, c0:c1])
        if self.channels and out.shape[-1] == 4:
            out = out[..., :3]
        return out

    def overview(self) -> np.ndarray:
        """The image shrunk by :data:`OVERVIEW_FACTOR` (block means), built once, band by band."""
        with self._lock:
            if self._overview is None:
                import cv2

                f = OVERVIEW_FACTOR
                bands = []
                band = 2048
                for r in range(0, self.shape[0], band):
                    block = self.region(r, 0, band, self.shape[1])
                    h, w = block.shape[:2]
                    size = (max(1, w // f), max(1, h // f))
                    bands.append(cv2.resize(block, size, interpolation=cv2.INTER_AREA))
                self._overview = np.concatenate(bands, axis=0)
            return self._overview

    def display_range(self) -> tuple[float, float]:
        """Gray-level range mapped to 0..255 on screen (uint8 and bool: identity)."""
        if self._range is None:
            if self.dtype == np.uint8 or self.dtype == bool:
                self._range = (0.0, 255.0)
            else:
                sample = self.overview() if self.lazy else np.asarray(self.array)
                lo, hi = float(np.nanmin(sample)), float(np.nanmax(sample))
                self._range = (lo, hi if hi > lo else lo + 1.0)
        return self._range

    def to_display(self, pixels: np.ndarray) -> np.ndarray:
        """A picture of `pixels` (uint8, gray or RGB); data values are not changed anywhere else."""
        if pixels.dtype == np.uint8:
            return pixels
        if pixels.dtype == bool:
            return pixels.astype(np.uint8) * 255
        lo, hi = self.display_range()
        scaled = (pixels.astype(np.float32) - lo) * (255.0 / (hi - lo))
        return np.clip(scaled, 0, 255).astype(np.uint8)

    @property
    def max_level(self) -> int:
        """Deep-zoom level of full resolution (level 0 is 1x1 pixel, as OpenSeadragon counts)."""
        return int(np.ceil(np.log2(max(self.shape[0], self.shape[1], 1))))

    def tile(self, level: int, x: int, y: int, tile_size: int = TILE) -> np.ndarray:
        """Display pixels of one deep-zoom tile (uint8), read lazily from the nearest source level."""
        import cv2

        scale = 2 ** (self.max_level - int(level))
        span = tile_size * scale
        r0, c0 = int(y) * span, int(x) * span
        if r0 >= self.shape[0] or c0 >= self.shape[1] or level < 0 or level > self.max_level:
            raise NotInWorkspace(f"tile level={level} x={x} y={y} is outside the image")
        out_h = int(np.ceil(min(span, self.shape[0] - r0) / scale))
        out_w = int(np.ceil(min(span, self.shape[1] - c0) / scale))
        if self.lazy and scale >= OVERVIEW_FACTOR:
            f = OVERVIEW_FACTOR
            source = self.overview()[r0 // f: (r0 + span) // f + 1, c0 // f: (c0 + span) // f + 1]
        else:
            source = self.region(r0, c0, span, span)
        source = self.to_display(source)
        if source.shape[0] != out_h or source.shape[1] != out_w:
            source = cv2.resize(source, (max(out_w, 1), max(out_h, 1)), interpolation=cv2.INTER_AREA)
        return source


class Workspace:
    """A folder whose images the server lists, shows and segments; nothing outside it is reachable."""

    def __init__(self, root, *, read_only: bool = False):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ImageReadError(f"workspace {str(root)!r} is not a folder")
        self.read_only = read_only
        self._sources: OrderedDict[str, tuple[float, ImageSource]] = OrderedDict()
        self._lock = threading.Lock()

    # -- names -> paths -------------------------------------------------------------------------
    def resolve(self, name: str) -> Path:
        """Return the path of `name` inside the workspace, or raise :class:`NotInWorkspace`."""
        if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
            raise NotInWorkspace(name)
        pure = PurePosixPath(name)
        if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or name.startswith("~"):
            raise NotInWorkspace(name)
        path = self.root.joinpath(*pure.parts)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotInWorkspace(name) from None
        if real != self.root and self.root not in real.parents:
            raise NotInWorkspace(name)
        return real

    def images(self) -> list[dict]:
        """Every image in the workspace (two folders deep), natural order, hidden files skipped."""
        from seglab.io import natural_key

        found: list[Path] = []

        def walk(folder: Path, depth: int) -> None:
            try:
                entries = sorted(folder.iterdir(), key=lambda p: natural_key(p.name))
            except OSError:
                return
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                suffix = entry.suffix.lower()
                if entry.is_dir() and suffix != ".zarr":
                    if depth < 2:
                        walk(entry, depth + 1)
                elif suffix in IMAGE_SUFFIXES:
                    found.append(entry)

        walk(self.root, 0)
        out = []
        for path in found:
            try:
                self.resolve(path.relative_to(self.root).as_posix())
            except (NotInWorkspace, ValueError):
                continue  # a symlink pointing out of the workspace is not listed either
            name = path.relative_to(self.root).as_posix()
            out.append({"name": name, "truth": ".truth." in path.name or "truth" in path.parent.name,
                        "bytes": path.stat().st_size if path.is_file() else None})
        return out

    # -- reading --------------------------------------------------------------------------------
    def source(self, name: str) -> ImageSource:
        """Open (or return the cached) :class:`ImageSource` of `name`."""
        path = self.resolve(name)
        stamp = path.stat().st_mtime
        with self._lock:
            cached = self._sources.get(name)
            if cached is not None and cached[0] == stamp:
                self._sources.move_to_end(name)
                return cached[1]
        source = _open_source(path, name)
        with self._lock:
            self._sources[name] = (stamp, source)
            total = sum(s.nbytes for _, s in self._sources.values())
            while total > _CACHE_BYTES and len(self._sources) > 1:
                _, (_, dropped) = self._sources.popitem(last=False)
                total -= dropped.nbytes
        return source

    def read_whole(self, name: str) -> np.ndarray:
        """The image as :func:`seglab.read` returns it (what ``seglab segment`` segments)."""
        source = self.source(name)
        if not source.lazy:
            return source.array
        from seglab.io import read

        return read(source.path)


def _open_source(path: Path, name: str) -> ImageSource:
    from seglab.io import declared_pixels, read

    suffix = path.suffix.lower()
    big = suffix in (".tif", ".tiff", ".zarr") and declared_pixels(path) > LAZY_PIXELS
    if big:
        array = _lazy_array(path)
        shape = tuple(array.shape)
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] not in (3, 4)):
            raise ImageReadError(f"{name}: the browser shows 2-D gray or RGB images; this one has shape {shape}")
        channels = 3 if len(shape) == 3 else 0
        return ImageSource(path, name, (int(shape[0]), int(shape[1])), channels, np.dtype(array.dtype), array,
                           True, 0)
    image = read(path)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        channels = 3
    elif image.ndim == 2:
        channels = 0
    else:
        raise ImageReadError(f"{name}: the browser shows 2-D gray or RGB images; this one has shape {image.shape}")
    return ImageSource(path, name, (int(image.shape[0]), int(image.shape[1])), channels, image.dtype, image,
                       False, int(image.nbytes))


def _lazy_array(path: Path):
    """A zarr view of a TIFF (tiles/strips decoded on access) or a zarr array (level 0 of a pyramid)."""
    import zarr

    try:
        if path.suffix.lower() == ".zarr" or path.is_dir():
            node = zarr.open(str(path), mode="r")
        else:
            import tifffile

            node = zarr.open(tifffile.imread(str(path), aszarr=True), mode="r")
        while not hasattr(node, "dtype"):
            keys = sorted(node.array_keys()) if hasattr(node, "array_keys") else []
            if "0" in keys:
                node = node["0"]
            elif keys:
                node = node[keys[0]]
            else:
                raise ImageReadError(f"{path.name}: the zarr group holds no array")
        return node
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is one clear message
        raise ImageReadError(f"cannot read {path.name!r}: {exc}") from None


def make_sample_workspace(folder) -> Path:
    """Write the bundled samples (and their exact truths) into `folder`; return it.

    Synthetic images come from :mod:`seglab.data` (seeded, with exact ground truth), the others
    from scikit-image's offline images. Nothing is downloaded.
    """
    from seglab import data
    from seglab.io import write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image, truth = data.blobs((512, 512), n_blobs=14, seed=0)
    write(folder / "blobs.png", image)
    write(folder / "blobs.truth.png", truth.astype(np.uint8) * 255)
    image, labels = data.nuclei((512, 512), n_nuclei=40, seed=0)
    write(folder / "nuclei.png", image)
    write(folder / "nuclei.truth.tif", labels.astype(np.uint16))
    image, truth = data.vessels((512, 512), seed=0)
    write(folder / "vessels.png", image)
    write(folder / "vessels.truth.png", truth.astype(np.uint8) * 255)
    for sample in ("camera", "coins", "astronaut"):
        try:
            write(folder / f"{sample}.png", data.skimage_sample(sample))
        except Exception:  # noqa: BLE001, S112 - a scikit-image build without its offline images: skip that sample
            continue
    return folder
