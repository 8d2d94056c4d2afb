"""Read images from disk: PNG, JPEG, BMP (Pillow), TIFF (tifffile + imagecodecs), .npy and zarr.

Every reader checks the pixel budget from the file's header *before* decoding
(see :mod:`seglab.io._budget`) and turns every failure into one
:class:`~seglab._core.errors.ImageReadError` that names the file and the reason.
Values are never rescaled.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import (
    ConversionWarning,
    ImageReadError,
    MissingDependencyError,
    ParameterError,
    SeglabError,
    close_matches_hint,
)
from ._budget import check_bytes, check_pixels, get_byte_budget, get_pixel_budget
from ._formats import (
    FORMAT_TITLES,
    READ_EXTENSIONS,
    as_path,
    is_zarr_dir,
    sniff,
    stat_input,
    supported_list,
)

__all__ = ["read", "declared_pixels"]

# Pillow's own bomb limit is a global; we lift it while opening (our budget has
# already been checked by then) and put it back. The lock keeps two seglab
# reads from restoring each other's value.
_PIL_LOCK = threading.Lock()

# ITU-R BT.709 luma weights, as skimage.color.rgb2gray.
_GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])

_PALETTE_CHOICES = ("rgb", "index")


def read(path: str | os.PathLike[str], *, max_pixels: int | None = None, as_gray: bool = False, key: Any = None,
         palette: str = "rgb", mmap_mode: str | None = None, lazy: bool = False, max_bytes: int | None = None) -> Any:
    """Read an image file into a NumPy array, refusing decompression bombs.

    Parameters
    ----------
    path : str or os.PathLike
        A PNG, JPEG, BMP, TIFF (``.tif``/``.tiff``), ``.npy`` file, or a zarr
        store (a folder, usually named ``*.zarr``). The format is taken from
        the file's magic number, so a JPEG named ``.png`` still reads; the
        extension only matters for zarr stores and error messages.
    max_pixels : int or float, optional
        Pixel budget for this call: the largest number of pixels (planes x
        rows x cols, colour channels not counted) the file may declare.
        Default: :func:`seglab.io.get_pixel_budget` (``2**30`` unless set by
        :func:`seglab.io.set_pixel_budget` or ``SEGLAB_MAX_PIXELS``).
        ``math.inf`` disables the check.
    max_bytes : int or float, optional
        Budget of decoded bytes for this call (pixels x channels x bytes
        per sample; default :func:`seglab.io.get_byte_budget`, 4 GiB). A
        file is also refused when its decoded size exceeds the memory
        available. ``math.inf`` disables the budget (not the memory check).
    as_gray : bool
        Convert colour to one channel with the ITU-R BT.709 weights of
        ``skimage.color.rgb2gray`` (alpha ignored). Unlike ``rgb2gray`` the
        values are **not** rescaled: integer images are rounded back to
        their dtype (uint8 stays 0..255), float images stay float.
    key : int, slice or sequence of int, or str, optional
        TIFF: the pages to read (tifffile's ``key``; default: the first
        series, every page). zarr: the array's path inside a group (default:
        the group's only array).
    palette : {'rgb', 'index'}
        Palette ("P" mode) PNG/BMP files: ``'rgb'`` returns the colours,
        (M, N, 3) uint8 — or (M, N, 4) RGBA when the palette has
        transparency — with a :class:`ConversionWarning`; ``'index'`` returns
        the (M, N) uint8 palette indices (class maps such as PASCAL VOC
        labels) without a warning.
    mmap_mode : {None, 'r', 'r+', 'c'}
        ``.npy`` only: memory-map instead of reading (``numpy.load``). A
        memory map allocates nothing, so the pixel budget is not applied.
    lazy : bool
        zarr only: return the ``zarr.Array`` itself (not read, budget not
        applied) instead of a NumPy array.

    Returns
    -------
    image : ndarray
        ``(M, N)`` gray, ``(M, N, C)`` colour (C = 3 or 4, channels last) or
        ``(P, M, N[, C])`` for multi-page TIFF stacks, in the file's dtype:
        bool for 1-bit images, uint8, uint16 (16-bit PNG and TIFF), int32,
        float32, ... Gray+alpha ("LA") files lose the alpha channel with a
        :class:`ConversionWarning`; RGBA files keep it (:func:`seglab.check_image`
        drops it when segmenting).

    Raises
    ------
    ImageReadError
        Missing, empty, truncated, corrupt or unsupported files, and folders
        that are not zarr stores (use :func:`seglab.io.read_collection`).
    DecompressionBombError
        The header declares more pixels than the pixel budget, or more decoded
        bytes than the byte budget or the available memory.
    ParameterError
        An option that does not apply to the file's format, or a bad value.
    MissingDependencyError
        A zarr store without the ``zarr`` package installed.

    Warns
    -----
    ConversionWarning
        Palette converted to RGB(A), alpha of a gray+alpha image dropped,
        CMYK (and other exotic modes) converted to RGB.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> from pathlib import Path; from tempfile import mkdtemp
    >>> target = Path(mkdtemp()) / "cells.png"
    >>> _ = seglab.write(target, np.array([[0, 1000], [40000, 65535]], np.uint16))
    >>> seglab.read(target)
    array([[    0,  1000],
           [40000, 65535]], dtype=uint16)
    """
    path = as_path(path)
    budget = _Budget(get_pixel_budget(max_pixels), get_byte_budget(max_bytes))
    if palette not in _PALETTE_CHOICES:
        raise ParameterError(f"`palette` got {palette!r}; expected 'rgb' or 'index'")
    if mmap_mode not in (None, "r", "r+", "c"):
        raise ParameterError(f"`mmap_mode` got {mmap_mode!r}; expected None, 'r', 'r+' or 'c'")
    fmt = _detect_format(path)
    _check_options(path, fmt, key=key, mmap_mode=mmap_mode, lazy=lazy)
    if fmt == "zarr":
        image, has_channels = _read_zarr(path, budget, key=key, lazy=lazy)
        if lazy:
            return image
    elif fmt == "npy":
        image, has_channels = _read_npy(path, budget, mmap_mode=mmap_mode)
    elif fmt == "tiff":
        image, has_channels = _read_tiff(path, budget, key=key)
    else:
        image, has_channels = _read_pil(path, fmt, budget, palette=palette)
    if as_gray and has_channels:
        image = _to_gray(image)
    return image


class _Budget:
    """Pixel and decoded-byte budgets of one read, checked together from the header."""

    __slots__ = ("pixels", "bytes")

    def __init__(self, pixels, nbytes):
        self.pixels, self.bytes = pixels, nbytes

    def check(self, path, shape, pixels: int, *, dtype, nbytes: int, decoded_shape=None) -> None:
        check_pixels(str(path), shape, pixels, self.pixels)
        check_bytes(str(path), decoded_shape or shape, np.dtype(dtype), int(nbytes), self.bytes)


# -- format detection -----------------------------------------------------------------------------
def _detect_format(path: Path) -> str:
    """Return the format of `path` from its content (zarr: from the folder), or raise ImageReadError."""
    import stat

    suffix = path.suffix.lower()
    # stat, never open, first: a named pipe would block the open forever; loops and devices get a message.
    info = stat_input(path)
    if stat.S_ISDIR(info.st_mode):
        if is_zarr_dir(path):
            return "zarr"
        raise ImageReadError(
            f"{path}: is a folder, not an image file (nor a zarr store); to read the images in it use "
            f"seglab.read_collection({str(path)!r})"
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied (the file is not readable)") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open the file ({exc.strerror or exc})") from None
    if not head:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    fmt = sniff(head)
    if fmt is not None:
        return fmt
    expected = READ_EXTENSIONS.get(suffix)
    if expected is None or expected == "zarr":
        raise ImageReadError(
            f"{path}: unsupported file type {suffix or '(no extension)'!r} and unrecognised content; "
            f"supported: {supported_list(READ_EXTENSIONS)}"
        )
    raise ImageReadError(
        f"{path}: not a {FORMAT_TITLES[expected]} file (it starts with {head[:8]!r}, not the "
        f"{FORMAT_TITLES[expected]} signature); is it mis-named or damaged?"
    )


def _check_options(path: Path, fmt: str, *, key, mmap_mode, lazy) -> None:
    title = FORMAT_TITLES[fmt]
    if key is not None and fmt not in ("tiff", "zarr"):
        raise ParameterError(f"`key` selects TIFF pages or a zarr array; {path} is a {title} file")
    if mmap_mode is not None and fmt != "npy":
        raise ParameterError(f"`mmap_mode` applies to .npy files; {path} is a {title} file")
    if lazy and fmt != "zarr":
        raise ParameterError(
            f"`lazy=True` applies to zarr stores; {path} is a {title} file (for .npy use mmap_mode='r')"
        )


def _spatial_pixels(shape, has_channels: bool) -> int:
    spatial = shape[:-1] if has_channels else shape
    return int(math.prod(int(s) for s in spatial))


def _has_channels_auto(shape) -> bool:
    """check_image's rule (:func:`seglab._core.validation.has_channel_axis`)."""
    from seglab._core.validation import has_channel_axis

    return has_channel_axis(tuple(shape))


# -- Pillow formats -------------------------------------------------------------------------------
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP"}


def _read_pil(path: Path, fmt: str, budget, *, palette: str):
    from PIL import UnidentifiedImageError

    title = FORMAT_TITLES[fmt]
    errors = (OSError, SyntaxError, ValueError, EOFError, zlib.error, IndexError, UnidentifiedImageError)
    image = _pil_open(path, fmt)
    with image:
        width, height = image.size
        bands, sample = _pil_decoded_sample(image)
        wide = fmt == "png" and _png_is_16bit_colour(path)
        if wide:
            sample = 2
        budget.check(path, (height, width), width * height, dtype=np.uint8 if sample == 1 else f"u{sample}",
                     nbytes=width * height * bands * sample,
                     decoded_shape=(height, width, bands) if bands > 1 else None)
        if wide:
            # Pillow reduces 16-bit colour PNGs to 8 bits; OpenCV keeps them.
            return _read_png16_colour(path)
        try:
            image.load()
        except errors as exc:
            raise ImageReadError(f"{path}: truncated or corrupt {title} ({_reason(exc)})") from None
        return _pil_to_array(image, path, fmt, palette)


def _pil_decoded_sample(image) -> tuple[int, int]:
    """(channels, bytes per sample) of the array a Pillow image decodes to (palette: RGB(A) colours)."""
    mode = image.mode
    if mode in ("P", "PA"):
        return 4, 1
    sample = 4 if mode in ("I", "F") or mode.startswith("I;32") else 2 if mode.startswith("I;16") else 1
    return len(image.getbands()), sample


def _pil_open(path: Path, fmt: str):
    """Open (header only) with Pillow's own bomb check lifted: seglab's budget is checked next."""
    from PIL import Image, UnidentifiedImageError

    errors = (OSError, SyntaxError, ValueError, EOFError, zlib.error, IndexError, UnidentifiedImageError)
    with _PIL_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path, formats=[_PIL_FORMATS[fmt]])
        except errors as exc:
            raise ImageReadError(f"{path}: corrupt {FORMAT_TITLES[fmt]} header ({_reason(exc)})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def declared_pixels(path: str | os.PathLike[str]) -> int:
    """Pixels (planes x rows x cols) a file declares in its header, without decoding it.

    Raises the same :class:`ImageReadError` as :func:`read` for missing or
    damaged files.
    """
    path = as_path(path)
    fmt = _detect_format(path)
    if fmt in _PIL_FORMATS:
        with _pil_open(path, fmt) as image:
            return image.size[0] * image.size[1]
    if fmt == "tiff":
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                return _spatial_pixels(series.shape, False) // _samples(series.shape, series.axes)
        except Exception as exc:  # header problems of any kind
            raise ImageReadError(f"{path}: corrupt TIFF ({_reason(exc)})") from None
    if fmt == "npy":
        shape = _npy_header(path)[0]
        return _spatial_pixels(shape, _has_channels_auto(shape))
    shape = tuple(import_zarr().open(store=str(path), mode="r").shape)
    return _spatial_pixels(shape, _has_channels_auto(shape))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _png_is_16bit_colour(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(26)
    # IHDR is the first chunk: bit depth at byte 24, colour type at byte 25 (2 RGB, 4 gray+alpha, 6 RGBA).
    return len(head) == 26 and head[24] == 16 and head[25] in (2, 4, 6)


def _read_png16_colour(path: Path):
    import cv2

    buffer = np.fromfile(path, dtype=np.uint8)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ImageReadError(f"{path}: truncated or corrupt PNG (OpenCV could not decode the 16-bit data)")
    with open(path, "rb") as fh:
        colour_type = fh.read(26)[25]
    if colour_type == 4:  # gray + alpha, expanded by OpenCV
        gray = decoded[..., 0] if decoded.ndim == 3 else decoded
        _warn_alpha_dropped(path)
        return np.ascontiguousarray(gray), False
    if decoded.shape[-1] == 4:
        return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA), True
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), True


def _warn_alpha_dropped(path: Path) -> None:
    warnings.warn(
        f"{path}: gray+alpha image; the alpha channel was dropped (gray values kept as stored)",
        ConversionWarning,
        stacklevel=5,
    )


def _pil_to_array(image, path: Path, fmt: str, palette: str):
    """Return (array, has_channels) for an opened, loaded Pillow image, without rescaling."""
    mode = image.mode
    if mode in ("1", "L", "RGB", "RGBA", "F", "I"):
        array = np.array(image)
        if mode == "I" and fmt == "png":
            array = array.astype(np.uint16)  # a 16-bit gray PNG decoded as 32-bit by an older Pillow
        return array, array.ndim == 3
    if mode.startswith("I;16"):
        array = np.array(image)
        return array.astype(array.dtype.newbyteorder("="), copy=False), False
    if mode == "LA":
        _warn_alpha_dropped(path)
        return np.array(image.getchannel("L")), False
    if mode in ("P", "PA"):
        if palette == "index":
            return np.array(image.getchannel(0) if mode == "PA" else image), False
        has_alpha = mode == "PA" or "transparency" in image.info
        target = "RGBA" if has_alpha else "RGB"
        warnings.warn(
            f"{path}: palette image converted to {target} colours; pass palette='index' to get the palette "
            "indices instead (class maps)",
            ConversionWarning,
            stacklevel=4,
        )
        return np.array(image.convert(target)), True
    # CMYK JPEGs and rarer modes: colours are what a viewer shows.
    warnings.warn(
        f"{path}: {mode} image converted to RGB", ConversionWarning, stacklevel=4,
    )
    return np.array(image.convert("RGB")), True


def _to_gray(image: np.ndarray) -> np.ndarray:
    """Luma of the RGB channels (last axis), in the input's value range and dtype."""
    rgb = image[..., :3]
    if rgb.dtype == bool:
        rgb = rgb.astype(np.uint8)
    weights = _GRAY_WEIGHTS.astype(rgb.dtype if rgb.dtype.kind == "f" else np.float64)
    gray = rgb @ weights
    if image.dtype.kind in "ui":
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(gray), info.min, info.max).astype(image.dtype)
    if image.dtype == bool:
        return gray.astype(np.uint8)
    return gray.astype(image.dtype, copy=False)


# -- TIFF -----------------------------------------------------------------------------------------
def _read_tiff(path: Path, budget, *, key):
    import tifffile

    # tifffile parses headers lazily (pages, series, tags) and a damaged file can raise from any of them,
    # with any exception type (ValueError for a bad ImageJ/shaped description, KeyError, struct.error...):
    # everything up to the decode is header parsing, and every failure there means "corrupt TIFF".
    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # noqa: BLE001 - see above
        raise ImageReadError(f"{path}: corrupt TIFF ({_reason(exc)})") from None
    with tif:
        try:
            header = _tiff_header(path, tif, key)
        except SeglabError:
            raise
        except Exception as exc:  # noqa: BLE001 - see above
            raise ImageReadError(f"{path}: corrupt TIFF ({_reason(exc)})") from None
        if header is None:
            raise ImageReadError(f"{path}: truncated or corrupt TIFF (no readable image directory)")
        shape, axes, dtype = header
        has_channels = "S" in axes
        budget.check(path, shape, _spatial_pixels(shape, False) // _samples(shape, axes), dtype=dtype,
                     nbytes=math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize)
        try:
            array = tif.asarray(key=key) if key is not None else tif.asarray()
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - codec and strip errors come in many types
            raise ImageReadError(f"{path}: truncated or corrupt TIFF ({_reason(exc)})") from None
        samples = _SampleLayout.of(tif.pages.first)
    if array.size == 0:
        raise ImageReadError(f"{path}: the TIFF holds no pixels (shape {array.shape})")
    if has_channels and array.ndim == len(axes) and axes.index("S") != len(axes) - 1:
        array = np.moveaxis(array, axes.index("S"), -1)  # planar RGB -> channels last
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    if has_channels and array.ndim == len(axes):
        array, has_channels = samples.interpret(array, path)
    return array, has_channels


class _SampleLayout:
    """What a TIFF page's samples mean (photometric, extra samples, inks), for the channel conversions.

    tifffile returns the samples as stored: a CMYK file as 4 channels (which seglab took for RGBA and
    dropped K as "alpha"), a gray + alpha file as (M, N, 2) (which the channel rule reads as a volume
    of M planes of N x 2 pixels). These are converted as Pillow does for PNG/JPEG: CMYK to RGB, the
    extra sample of a gray image dropped, each with a :class:`ConversionWarning`.
    """

    _GRAY, _SEPARATED = (0, 1), 5

    def __init__(self, photometric: int, extras: tuple[int, ...], inkset: int):
        self.photometric, self.extras, self.inkset = photometric, extras, inkset

    @classmethod
    def of(cls, page) -> _SampleLayout:
        try:
            inkset = page.tags.get("InkSet")
            return cls(int(page.photometric), tuple(int(e) for e in (page.extrasamples or ())),
                       int(inkset.value) if inkset is not None else 1)
        except Exception:  # noqa: BLE001 - odd tags: leave the samples as they are
            return cls(-1, (), 1)

    def interpret(self, array: np.ndarray, path: Path) -> tuple[np.ndarray, bool]:
        n = array.shape[-1]
        colour = n - len(self.extras)
        if self.photometric in self._GRAY and n == 2 and colour == 1:
            what = "alpha" if self.extras[0] in (1, 2) else "unspecified"
            warnings.warn(f"{path}: gray TIFF with an extra ({what}) sample; the extra sample was dropped (gray "
                          "values kept as stored)", ConversionWarning, stacklevel=4)
            return np.ascontiguousarray(array[..., 0]), False
        if self.photometric == self._SEPARATED:
            if colour != 4 or self.inkset == 2:
                raise ImageReadError(
                    f"{path}: separated (ink) TIFF with {colour} inks that are not CMYK; seglab reads CMYK "
                    "separations only. Export it as RGB or one gray channel per file"
                )
            warnings.warn(f"{path}: CMYK TIFF converted to RGB" + (" (alpha kept)" if n > 4 else ""),
                          ConversionWarning, stacklevel=4)
            return _cmyk_to_rgb(array), True
        return array, True


def _cmyk_to_rgb(array: np.ndarray) -> np.ndarray:
    """RGB = (top - CMY) x (top - K) / top, in the input's dtype (top: 1 for floats); extra samples kept."""
    top = float(np.iinfo(array.dtype).max) if array.dtype.kind in "ui" else 1.0
    ink = array[..., :4].astype(np.float64)
    rgb = (top - ink[..., :3]) * (top - ink[..., 3:4]) / top
    if array.dtype.kind in "ui":
        rgb = np.clip(np.rint(rgb), 0, top)
    out = rgb.astype(array.dtype)
    return np.concatenate([out, array[..., 4:]], axis=-1) if array.shape[-1] > 4 else out


def _tiff_header(path: Path, tif, key):
    """(shape, axes, dtype) the TIFF declares for `key`, or None when it has no readable image."""
    n_pages = len(tif.pages)
    if n_pages == 0 or not tif.series:
        return None
    if key is None:
        series = tif.series[0]
        shape, axes, dtype = tuple(series.shape), series.axes, series.dtype
    else:
        first = tif.pages.first
        count = _count_pages(path, key, n_pages)
        shape = ((count,) if not isinstance(key, (int, np.integer)) else ()) + tuple(first.shape)
        axes = ("I" if not isinstance(key, (int, np.integer)) else "") + first.axes
        dtype = first.dtype
    if dtype is None:
        raise ImageReadError(f"{path}: unsupported TIFF sample format (no NumPy dtype for it)")
    return shape, axes, dtype


def _samples(shape, axes: str) -> int:
    if "S" in axes and len(axes) == len(shape):
        return max(1, int(shape[axes.index("S")]))
    return 1


def _count_pages(path: Path, key, n_pages: int) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not -n_pages <= int(key) < n_pages:
            raise ParameterError(f"`key` got {int(key)}; {path} has {n_pages} page(s) (0 to {n_pages - 1})")
        return 1
    if isinstance(key, slice):
        return len(range(*key.indices(n_pages)))
    try:
        indices = [int(k) for k in key]
    except TypeError:
        raise ParameterError(
            f"`key` got {key!r}; expected a page index, a slice or a sequence of page indices"
        ) from None
    bad = [k for k in indices if not -n_pages <= k < n_pages]
    if bad:
        raise ParameterError(f"`key` has page {bad[0]}; {path} has {n_pages} page(s) (0 to {n_pages - 1})")
    return len(indices)


# -- .npy -----------------------------------------------------------------------------------------
def _npy_header(path: Path):
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(fh)
            else:
                shape, _, dtype = fmt.read_array_header_2_0(fh)
    except Exception as exc:  # noqa: BLE001 - the header is parsed by ast/tokenize: any error means corrupt
        raise ImageReadError(f"{path}: corrupt .npy header ({_reason(exc)})") from None
    return tuple(shape), dtype


def _read_npy(path: Path, budget, *, mmap_mode):
    shape, dtype = _npy_header(path)
    if dtype.hasobject:
        raise ImageReadError(
            f"{path}: the .npy file holds Python objects (dtype {dtype}); seglab does not unpickle files, "
            "which could run code; save a numeric array instead"
        )
    has_channels = _has_channels_auto(shape)
    if mmap_mode is None:
        budget.check(path, shape, _spatial_pixels(shape, has_channels), dtype=dtype,
                     nbytes=math.prod(int(s) for s in shape) * dtype.itemsize)
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (ValueError, OSError, EOFError) as exc:
        raise ImageReadError(f"{path}: truncated or corrupt .npy file ({_reason(exc)})") from None
    return array, has_channels


# -- zarr -----------------------------------------------------------------------------------------
def import_zarr():
    try:
        import zarr
    except ImportError:
        raise MissingDependencyError(
            'zarr stores need the zarr package: pip install "seglab[scale]" (or pip install zarr)'
        ) from None
    return zarr


def _read_zarr(path: Path, budget, *, key, lazy: bool):
    zarr = import_zarr()
    try:
        node = zarr.open(store=str(path), mode="r")
    except Exception as exc:  # zarr raises many types for a damaged store; all mean "cannot open"
        raise ImageReadError(f"{path}: not a readable zarr store ({_reason(exc)})") from exc
    if isinstance(node, zarr.Group):
        names = sorted(node.array_keys())
        if key is None:
            if len(names) != 1:
                raise ImageReadError(
                    f"{path}: the zarr group holds {len(names)} arrays ({', '.join(names) or 'none'}); "
                    "choose one with key=..."
                )
            key = names[0]
        try:
            node = node[key]
        except KeyError:
            raise ImageReadError(
                f"{path}: no array {key!r} in the zarr group." + close_matches_hint(str(key), names)
                + f" Available: {', '.join(names) or 'none'}"
            ) from None
        if not isinstance(node, zarr.Array):
            raise ImageReadError(f"{path}: {key!r} is a zarr group, not an array; give the array's path as key")
    elif key is not None:
        raise ParameterError(f"`key` got {key!r}, but {path} is a single zarr array, not a group")
    shape = tuple(node.shape)
    has_channels = _has_channels_auto(shape)
    if lazy:
        return node, has_channels
    budget.check(path, shape, _spatial_pixels(shape, has_channels), dtype=node.dtype,
                 nbytes=math.prod(shape) * np.dtype(node.dtype).itemsize)
    try:
        array = node[...]
    except Exception as exc:  # codec errors of damaged chunks come in many types
        raise ImageReadError(f"{path}: corrupt zarr chunk data ({_reason(exc)})") from exc
    return np.asarray(array), has_channels
