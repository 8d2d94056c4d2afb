"""File formats seglab reads and writes: extensions, magic numbers, helpers shared by readers and writers."""

from __future__ import annotations

import difflib
import errno
import os
import stat
from pathlib import Path

# extension -> format name
READ_EXTENSIONS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".bmp": "bmp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".npy": "npy",
    ".zarr": "zarr",
}
WRITE_EXTENSIONS = dict(READ_EXTENSIONS)

FORMAT_TITLES = {"png": "PNG", "jpeg": "JPEG", "bmp": "BMP", "tiff": "TIFF", "npy": ".npy", "zarr": "zarr"}

# (magic prefix, format); BMP's two-byte magic is the weakest, so it comes last.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x93NUMPY", "npy"),
    (b"BM", "bmp"),
)


def sniff(head: bytes) -> str | None:
    """Return the format whose magic number starts `head`, or None."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def supported_list(table: dict[str, str]) -> str:
    """'.bmp, .jpeg, .jpg, ...' for messages."""
    return ", ".join(sorted(table))


def is_zarr_dir(path: Path) -> bool:
    """True for a folder that holds zarr metadata (v2 or v3) or is named *.zarr."""
    if path.suffix.lower() == ".zarr":
        return True
    return any((path / name).is_file() for name in ("zarr.json", ".zarray", ".zgroup"))


def missing_file_message(path: Path) -> str:
    """'x.png: file not found' with the folder's state and close matches among its files."""
    parent = path.parent
    if not parent.exists():
        return f"{path}: file not found (the folder {parent} does not exist)"
    try:
        siblings = [p.name for p in parent.iterdir()]
    except OSError:
        siblings = []
    hint = ""
    matches = difflib.get_close_matches(path.name, siblings, n=3, cutoff=0.6)
    if matches:
        hint = " Did you mean " + ", ".join(repr(m) for m in matches) + "?"
    return f"{path}: file not found.{hint}"


def as_path(path, *, name: str = "path") -> Path:
    """Return `path` as a Path or raise an ImageTypeError (a TypeError) naming the argument.

    A NUL character (no file system allows one) is an :class:`~seglab.ParameterError` here rather than the
    ``ValueError: embedded null byte`` of the first system call.
    """
    from .._core.errors import ImageTypeError, ParameterError, short_repr

    try:
        text = os.fspath(path)
    except TypeError:
        raise ImageTypeError(f"`{name}` must be a str or os.PathLike; got {type(path).__name__}") from None
    if isinstance(text, bytes):
        raise ImageTypeError(f"`{name}` must be a str or os.PathLike; got bytes (decode it: os.fsdecode(path))")
    if "\0" in text:
        raise ParameterError(f"`{name}` {short_repr(text)} contains a NUL character, which no file name can hold")
    return Path(text)


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def stat_input(path: Path, *, allow_dir: bool = True) -> os.stat_result:
    """``os.stat`` an input path and refuse, with one line, what must not be opened.

    Called before any ``open``: opening a named pipe blocks until a writer
    appears (forever), and a device can stream without end. Symlink loops,
    broken links, over-long names and missing files each get their own
    message (an :class:`ImageReadError`).
    """
    from .._core.errors import ImageReadError

    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageReadError(
                f"{path}: symbolic link loop (the link resolves to itself); point it at a real file"
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise ImageReadError(f"{path}: the file name is too long for the file system") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.islink(path):
                try:
                    target = os.readlink(path)
                except OSError:
                    target = "?"
                raise ImageReadError(
                    f"{path}: broken symbolic link (it points to {target!r}, which does not exist)"
                ) from None
            raise ImageReadError(missing_file_message(path)) from None
        if exc.errno == errno.EACCES:
            raise ImageReadError(f"{path}: permission denied (a folder on the path cannot be searched)") from None
        raise ImageReadError(f"{path}: cannot access the path ({exc.strerror or exc})") from None
    mode = info.st_mode
    for test, what in _SPECIAL_KINDS:
        if test(mode):
            raise ImageReadError(f"{path}: is {what}, not a regular file; seglab reads regular files only")
    if stat.S_ISDIR(mode) and not allow_dir:
        raise ImageReadError(f"{path}: is a folder, not a file")
    return info
