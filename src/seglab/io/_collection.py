"""Lazy collections of image files (a folder, a glob pattern or a list), like ``skimage.io.ImageCollection``."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._core.errors import DecompressionBombError, ImageReadError, ParameterError, ShapeMismatchError
from ._budget import check_pixels, get_pixel_budget
from ._formats import READ_EXTENSIONS, supported_list
from ._read import declared_pixels, read

__all__ = ["ImageCollection", "read_collection", "iter_images", "natural_key"]

_SORTS = ("natural", "name", None)
_DIGITS = re.compile(r"(\d+)")
_GLOB_CHARS = set("*?[")


def natural_key(path: str | os.PathLike[str]) -> tuple:
    """Sort key that orders ``t2`` before ``t10`` (case-insensitive, digits compared as numbers)."""
    name = os.fspath(path)
    parts = _DIGITS.split(name.lower())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts if p != ""), name


class ImageCollection(Sequence):
    """A sized, indexable, lazily read sequence of image files.

    Items are read with :func:`seglab.io.read` when accessed, never cached, so a
    collection of thousands of slices costs no memory until used.

    Attributes
    ----------
    files : tuple of Path
        The files, in order.
    source : str
        What the collection was built from (folder, pattern or "list").
    """

    def __init__(self, files: Sequence[str | os.PathLike[str]], *, source: str = "list", **read_options: Any) -> None:
        self.files = tuple(Path(os.fspath(f)) for f in files)
        self.source = source
        self._read_options = read_options

    @property
    def stems(self) -> tuple[str, ...]:
        """File names without their extension (``t01`` for ``t01.tif``)."""
        return tuple(f.stem for f in self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ImageCollection(self.files[index], source=self.source, **self._read_options)
        try:
            path = self.files[index]
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for a collection of {len(self.files)} image(s)"
            ) from None
        except TypeError:
            raise TypeError(f"collection indices must be integers or slices; got {type(index).__name__}") from None
        return read(path, **self._read_options)

    def __iter__(self) -> Iterator[np.ndarray]:
        for path in self.files:
            yield read(path, **self._read_options)

    def __repr__(self) -> str:
        return f"ImageCollection({len(self.files)} files from {self.source!r})"

    def iter_images(self) -> Iterator[tuple[Path, np.ndarray | Exception]]:
        """Yield ``(path, array)``, or ``(path, error)`` for a file that cannot be read, and go on.

        Only read failures (:class:`ImageReadError`, :class:`DecompressionBombError`)
        are yielded; anything else (a bug, ``KeyboardInterrupt``) propagates.
        """
        for path in self.files:
            try:
                yield path, read(path, **self._read_options)
            except (ImageReadError, DecompressionBombError) as exc:
                yield path, exc

    def as_stack(self) -> np.ndarray:
        """Read every file and stack them into one ``(P, M, N[, C])`` array.

        The pixel budget applies to the whole stack and is checked before
        anything is read (from the sizes the files declare).

        Raises
        ------
        ShapeMismatchError
            Files of different shapes or dtypes (the first offending file is named).
        DecompressionBombError
            The stack would exceed the pixel budget.
        """
        budget = get_pixel_budget(self._read_options.get("max_pixels"))
        total = sum(declared_pixels(f) for f in self.files)
        check_pixels(f"the stack of {len(self.files)} files from {self.source}", None, total, budget)
        first = None
        planes = []
        for path in self.files:
            image = read(path, **{**self._read_options, "max_pixels": budget})
            if first is None:
                first = (path, image.shape, image.dtype)
            elif (image.shape, image.dtype) != first[1:]:
                raise ShapeMismatchError(
                    f"{path}: shape {image.shape}, dtype {image.dtype} differs from {first[0].name} "
                    f"(shape {first[1]}, dtype {first[2]}); a stack needs slices of one shape and dtype"
                )
            planes.append(image)
        return np.stack(planes)


def _list_folder(folder: Path) -> list[Path]:
    return [
        p for p in folder.iterdir()
        if not p.name.startswith(".") and p.suffix.lower() in READ_EXTENSIONS and p.suffix.lower() != ".zarr"
        and p.is_file()
    ]


def _sorted(files: list[Path], sort) -> list[Path]:
    if sort == "natural":
        return sorted(files, key=natural_key)
    if sort == "name":
        return sorted(files, key=os.fspath)
    return list(files)


def read_collection(pattern_or_folder: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                    sort: str | None = "natural", **read_options: Any) -> ImageCollection:
    """Collect image files lazily from a folder, a glob pattern or a list of paths.

    Parameters
    ----------
    pattern_or_folder : str, os.PathLike or sequence of them
        A folder (every supported image file in it, not recursive, hidden
        files skipped), a glob pattern (``"data/*.tif"``; ``**`` recurses) or
        a list of paths.
    sort : {'natural', 'name', None}
        ``'natural'`` orders ``t2`` before ``t10``; ``'name'`` is plain string
        order; ``None`` keeps a list's order (for a folder or pattern, the
        file system's order, which is arbitrary).
    **read_options
        Passed to :func:`seglab.io.read` for every item (``as_gray``,
        ``max_pixels``, ``palette``, ``key``).

    Returns
    -------
    ImageCollection
        ``len()``, indexing (reads that file), slicing (a sub-collection),
        iteration (arrays), ``.files``, ``.stems``, ``.iter_images()`` (goes on
        past unreadable files) and ``.as_stack()``.

    Raises
    ------
    ImageReadError
        The folder does not exist, or nothing matches (the pattern is named).
    ParameterError
        An unknown `sort` or read option.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> from pathlib import Path; from tempfile import mkdtemp
    >>> folder = Path(mkdtemp())
    >>> for t in (10, 2, 1):
    ...     _ = seglab.write(folder / f"t{t}.png", np.full((4, 4), t, np.uint8))
    >>> images = seglab.read_collection(folder)
    >>> images.stems, int(images[-1][0, 0])
    (('t1', 't2', 't10'), 10)
    """
    if sort not in _SORTS:
        raise ParameterError(f"`sort` got {sort!r}; expected 'natural', 'name' or None")
    unknown = set(read_options) - {"as_gray", "max_pixels", "palette", "key", "mmap_mode"}
    if unknown:
        raise ParameterError(
            f"read_collection got unknown option(s) {', '.join(sorted(unknown))}; "
            "expected as_gray, max_pixels, palette, key or mmap_mode"
        )
    if isinstance(pattern_or_folder, (str, os.PathLike)):
        text = os.fspath(pattern_or_folder)
        folder = Path(text)
        if folder.is_dir():
            files = _list_folder(folder)
            if not files:
                raise ImageReadError(
                    f"{folder}: no image files in this folder (looked for {supported_list(READ_EXTENSIONS)})"
                )
            source = str(folder)
        elif _GLOB_CHARS & set(text):
            files = [Path(p) for p in glob.glob(text, recursive=True) if os.path.isfile(p)]
            if not files:
                raise ImageReadError(f"no files match the pattern {text!r}")
            source = text
        elif folder.exists():
            files, source = [folder], text
        else:
            raise ImageReadError(f"{text}: no such folder or file, and not a glob pattern")
    else:
        try:
            files = [Path(os.fspath(p)) for p in pattern_or_folder]
        except TypeError:
            raise TypeError(
                "`pattern_or_folder` must be a folder, a glob pattern or a list of paths; "
                f"got {type(pattern_or_folder).__name__}"
            ) from None
        if not files:
            raise ImageReadError("the list of image paths is empty")
        source = "list"
    return ImageCollection(_sorted(files, sort), source=source, **read_options)


def iter_images(pattern_or_folder: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                sort: str | None = "natural", **read_options: Any) -> Iterator[tuple[Path, NDArray[Any] | Exception]]:
    """Yield ``(path, array or error)`` for each file, going on past unreadable ones.

    Shorthand for ``read_collection(...).iter_images()``; see
    :meth:`ImageCollection.iter_images`.
    """
    return read_collection(pattern_or_folder, sort=sort, **read_options).iter_images()
