"""Write images atomically: PNG, JPEG, BMP (Pillow; 16-bit colour PNG via OpenCV), TIFF, .npy, zarr.

Atomic means a reader never sees half a file, and a failed write leaves
nothing behind: the data go to a hidden temporary file in the destination
folder (``.<name>.<random>.tmp``), which is flushed, ``fsync``-ed and then
renamed over the destination with :func:`os.replace` (one atomic step on
POSIX and Windows). A zarr store is a folder: it is written to a temporary
folder and renamed into place; replacing an existing store takes two renames,
so there is a short window in which the old store has been moved aside.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import ArrayLike

from .._core.errors import ImageTypeError, ImageWriteError, SeglabError
from ._formats import FORMAT_TITLES, WRITE_EXTENSIONS, as_path, supported_list

__all__ = ["write", "atomic_write", "umask_mode", "apply_umask_mode"]

JPEG_QUALITY = 95
PNG_MAX = 65535


def write(path: str | os.PathLike[str], array: ArrayLike, *, overwrite: bool = True) -> Path:
    """Write an array to an image file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; the extension picks the format: ``.png``, ``.jpg``/
        ``.jpeg``, ``.bmp``, ``.tif``/``.tiff``, ``.npy`` or ``.zarr`` (a
        folder). The parent folder must exist.
    array : array_like
        ``(M, N)``, ``(M, N, C)`` with C = 1, 3 or 4 (channels last), or for
        TIFF, .npy and zarr any shape, e.g. a ``(P, M, N)`` stack.
    overwrite : bool
        Replace an existing file (atomically). ``False`` raises
        :class:`ImageWriteError` when the destination exists.

    Returns
    -------
    Path
        The path written.

    Notes
    -----
    What each format stores (values are never rescaled):

    * PNG: uint8 and uint16, gray, RGB or RGBA. ``bool`` masks become
      uint8 0/255 (``seglab.check_mask`` reads them back as masks). Other
      integer arrays (int32 labels, ...) are stored as uint16 when every value
      is in [0, 65535] and refused otherwise. Floats are refused.
    * JPEG (quality 95, lossy): uint8 gray or RGB only.
    * BMP: uint8 (or bool as 0/255) gray or RGB.
    * TIFF: any numeric dtype and shape (bool, uint32 labels, float32, stacks
      as multi-page files), zlib-compressed, read back exactly.
    * .npy and zarr: any numeric dtype and shape, exactly.

    Raises
    ------
    ImageWriteError
        Missing or unwritable folder, an existing destination with
        ``overwrite=False``, an unsupported extension, or data the format
        cannot hold (with the format to use instead). Nothing is left
        behind: neither a partial destination nor a temporary file.
    ImageTypeError
        Object, string or complex arrays.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> from pathlib import Path; from tempfile import mkdtemp
    >>> labels = np.array([[0, 1], [2, 70000]], np.uint32)
    >>> out = seglab.write(Path(mkdtemp()) / "labels.tif", labels)
    >>> seglab.read(out).tolist()
    [[0, 1], [2, 70000]]
    """
    path = as_path(path)
    array = _as_array(array)
    fmt = WRITE_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ImageWriteError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            f"use one of {supported_list(WRITE_EXTENSIONS)}"
        )
    try:
        _check_destination(path, fmt, overwrite)
    except OSError as exc:  # a name too long, a loop in the folder path...
        raise _write_error(path, exc) from None
    if fmt == "zarr":
        _write_zarr(path, array, overwrite=overwrite)
        return path
    if fmt == "npy":
        encode = _npy_encoder(array)
    elif fmt == "tiff":
        encode = _tiff_encoder(array)
    else:
        encode = _pil_encoder(path, fmt, array)
    atomic_write(path, encode, overwrite=overwrite)
    return path


def _as_array(array) -> np.ndarray:
    try:
        array = np.asarray(array)
    except (TypeError, ValueError) as exc:  # a ragged nested list
        raise ImageTypeError(f"`array` could not be read as an array: {exc}") from None
    if array.dtype == object or array.dtype.kind in "USVc":
        raise ImageTypeError(
            f"`array` has dtype {array.dtype}; expected a numeric or boolean array "
            "(complex: save np.abs(array) or the real and imaginary parts)"
        )
    return array


def _check_destination(path: Path, fmt: str, overwrite: bool) -> None:
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise ImageWriteError(f"{path}: cannot write, the folder {parent} {what}; create it first")
    if path.is_dir() and fmt != "zarr":
        raise ImageWriteError(f"{path}: cannot write, a folder of that name exists")
    if path.exists() and not overwrite:
        raise ImageWriteError(f"{path}: already exists; pass overwrite=True to replace it")


# -- encoders -------------------------------------------------------------------------------------
def _npy_encoder(array: np.ndarray) -> Callable[[BinaryIO], None]:
    def encode(fh: BinaryIO) -> None:
        np.save(fh, array, allow_pickle=False)

    return encode


def _tiff_encoder(array: np.ndarray) -> Callable[[BinaryIO], None]:
    import tifffile

    if array.size == 0:
        raise ImageWriteError(f"cannot write an empty array (shape {array.shape}) as TIFF")
    from seglab._core.validation import has_channel_axis

    rgb = has_channel_axis(array.shape)
    if rgb and array.dtype == bool:
        rgb = False  # a (P, M, 3) boolean stack, not a colour image
    photometric = "rgb" if rgb else "minisblack"
    extrasamples = ("unassalpha",) if rgb and array.shape[-1] == 4 else None

    def encode(fh: BinaryIO) -> None:
        tifffile.imwrite(fh, array, photometric=photometric, compression="zlib", extrasamples=extrasamples)

    return encode


def _pil_encoder(path: Path, fmt: str, array: np.ndarray) -> Callable[[BinaryIO], None]:
    title = FORMAT_TITLES[fmt]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    channels = 1 if array.ndim == 2 else array.shape[-1]
    allowed = {"png": (1, 3, 4), "jpeg": (1, 3), "bmp": (1, 3)}[fmt]
    if array.ndim not in (2, 3) or channels not in allowed or array.size == 0:
        shapes = {"png": "(M, N), (M, N, 3) or (M, N, 4)", "jpeg": "(M, N) or (M, N, 3)",
                  "bmp": "(M, N) or (M, N, 3)"}[fmt]
        raise ImageWriteError(
            f"{path}: a {title} file holds one {shapes} image; got shape {array.shape}. "
            "Write stacks and other shapes as .tif, .npy or .zarr"
        )
    if fmt == "jpeg":
        if array.dtype != np.uint8:
            raise ImageWriteError(
                f"{path}: JPEG stores uint8 only (and loses detail); got {array.dtype}. Save "
                f"{'masks as .png' if array.dtype == bool else 'this as .png (integers) or .tif (any dtype)'}, "
                "or convert to uint8 yourself"
            )
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":
        raise ImageWriteError(
            f"{path}: {title} stores integers, not {array.dtype}; seglab never rescales values silently. "
            "Save as .tif or .npy to keep the values, or convert explicitly, e.g. "
            "(image * 255).round().astype(np.uint8) for values in [0, 1]"
        )
    elif fmt == "bmp" and array.dtype != np.uint8:
        raise ImageWriteError(f"{path}: BMP stores uint8 only; got {array.dtype}. Save as .png or .tif")
    elif array.dtype not in (np.uint8, np.uint16):
        low, high = int(array.min()), int(array.max())
        if low < 0:
            raise ImageWriteError(
                f"{path}: PNG cannot store negative values (min {low}); save as .tif or .npy"
            )
        if high > PNG_MAX:
            raise ImageWriteError(
                f"{path}: values up to {high} do not fit in a PNG (16 bits, at most {PNG_MAX}); "
                "save labels as .tif (any integer dtype) or .npy"
            )
        array = array.astype(np.uint16)
    if fmt == "png" and array.dtype == np.uint16 and array.ndim == 3:
        return _png16_colour_encoder(path, array)
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(array))
    options = {"quality": JPEG_QUALITY} if fmt == "jpeg" else {}
    pil_format = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP"}[fmt]

    def encode(fh: BinaryIO) -> None:
        image.save(fh, format=pil_format, **options)

    return encode


def _png16_colour_encoder(path: Path, array: np.ndarray) -> Callable[[BinaryIO], None]:
    # Pillow cannot write 16-bit colour PNGs; OpenCV can (it wants BGR order).
    import cv2

    code = cv2.COLOR_RGBA2BGRA if array.shape[-1] == 4 else cv2.COLOR_RGB2BGR
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(array), code))
    if not ok:
        raise ImageWriteError(f"{path}: OpenCV could not encode the 16-bit colour PNG")

    def encode(fh: BinaryIO) -> None:
        fh.write(buffer.tobytes())

    return encode


def umask_mode(base: int = 0o666) -> int:
    """The permission bits a new file gets from ``open()`` under the current umask (0o644 under umask 022).

    Read from ``/proc/self/status`` where it exists (no change to the process); elsewhere the umask is
    set and restored, which is safe in a single-threaded CLI.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return base & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return base & ~mask


def apply_umask_mode(path: str | os.PathLike[str]) -> None:
    """Give `path` the mode a plain ``open()`` would have (``tempfile.mkstemp`` creates files 0600)."""
    try:
        os.chmod(path, umask_mode())
    except OSError:
        pass


# -- atomic files ---------------------------------------------------------------------------------
# Most file systems allow 255 bytes per name; the temporary name adds a dot, 13 characters and a suffix.
_NAME_MAX = 255


def _temp_name(path: Path, suffix: str = ".tmp") -> Path:
    """A hidden name next to `path` that stays under 255 bytes even when `path`'s own name nearly fills it."""
    token = secrets.token_hex(6)
    room = _NAME_MAX - len(f"..{token}{suffix}".encode())
    name = path.name
    if len(os.fsencode(name)) > room:
        encoded = os.fsencode(name)[:room]
        name = os.fsdecode(encoded.decode("utf-8", "ignore").encode("utf-8")) if encoded else "x"
    return path.parent / f".{name}.{token}{suffix}"


def _write_error(path: Path, exc: BaseException) -> ImageWriteError:
    if isinstance(exc, PermissionError):
        reason = f"permission denied in the folder {path.parent}"
    elif isinstance(exc, FileNotFoundError):
        reason = f"the folder {path.parent} does not exist"
    elif isinstance(exc, NotADirectoryError):
        reason = f"{path.parent} is not a folder"
    elif isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    elif isinstance(exc, OSError) and exc.errno == errno.EROFS:
        reason = "the file system is read-only"
    elif isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return ImageWriteError(f"{path}: could not write ({reason}); nothing was written")


def atomic_write(path: str | os.PathLike[str], write_fn: Callable[[BinaryIO], object], *,
                 overwrite: bool = True) -> Path:
    """Call ``write_fn(fh)`` on a temporary file next to `path`, then move it into place atomically.

    On any failure the temporary file is removed, the destination is left as it
    was, and an :class:`ImageWriteError` naming `path` and the reason is raised
    (errors that already are ``SeglabError`` pass through unchanged).
    """
    path = as_path(path)
    temp = None
    try:
        for _ in range(100):
            temp = _temp_name(path)
            try:
                # "x": exclusive create; permissions follow the umask, as for any new file.
                fh = open(temp, "xb")
                break
            except FileExistsError:
                continue
        else:
            temp = None
            raise ImageWriteError(f"{path}: could not create a temporary file in {path.parent}")
        with fh:
            write_fn(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _commit(temp, path, overwrite)
        temp = None
        fsync_dir(path.parent)
        return path
    except SeglabError:
        raise
    except Exception as exc:
        raise _write_error(path, exc) from exc
    finally:
        if temp is not None:
            _unlink_quietly(temp)


def _commit(temp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, path)
        return
    try:
        # A hard link fails if `path` exists: an atomic "create, never clobber".
        os.link(temp, path)
    except FileExistsError:
        raise ImageWriteError(f"{path}: already exists; pass overwrite=True to replace it") from None
    except OSError:
        if path.exists():
            raise ImageWriteError(f"{path}: already exists; pass overwrite=True to replace it") from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename into `folder` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- zarr -----------------------------------------------------------------------------------------
def _write_zarr(path: Path, array: np.ndarray, *, overwrite: bool) -> None:
    from ._read import import_zarr

    zarr = import_zarr()
    if path.exists():
        if not path.is_dir() or not any((path / n).is_file() for n in ("zarr.json", ".zarray", ".zgroup")):
            raise ImageWriteError(
                f"{path}: exists and is not a zarr store; refusing to replace it (remove it or pick another name)"
            )
    temp = _temp_name(path, ".tmpdir")
    old = None
    try:
        store = zarr.open_array(str(temp), mode="w", shape=array.shape, dtype=array.dtype)
        store[...] = array
        if path.exists():
            old = _temp_name(path, ".old")
            os.rename(path, old)
        try:
            os.rename(temp, path)
        except OSError:
            if old is not None:
                os.rename(old, path)
                old = None
            raise
        temp = None
        fsync_dir(path.parent)
    except SeglabError:
        raise
    except Exception as exc:
        raise _write_error(path, exc) from exc
    finally:
        for leftover in (temp, old):
            if leftover is not None and os.path.lexists(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
