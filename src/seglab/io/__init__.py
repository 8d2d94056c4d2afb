"""Reading and writing images safely.

* :func:`read` — PNG, JPEG, BMP, TIFF (stacks, 8/16/32-bit, float, LZW...),
  ``.npy`` and zarr; decompression bombs refused from the header, before
  decoding (:func:`set_pixel_budget`); every failure is one
  :class:`~seglab.ImageReadError` naming the file and the reason.
* :func:`write` — atomic writes (temporary file, fsync, rename); formats
  refuse data they cannot hold instead of rescaling it.
* :func:`read_collection` — lazy, indexable collections of files (folder,
  glob pattern, list), natural order, batch iteration past bad files.
* :func:`read_truths` — every annotator's segmentation from a BSDS500 .mat file.
* :func:`read_pipeline`, :func:`write_json`, :func:`write_text_atomic`,
  :func:`sha256_file` — configuration and provenance helpers.

Heavy libraries (Pillow, tifffile, zarr, OpenCV, PyYAML) are imported only
when a function needs them.
"""

from __future__ import annotations

from ._bsds import read_truths
from ._budget import DEFAULT_MAX_PIXELS, get_pixel_budget, set_pixel_budget
from ._collection import ImageCollection, iter_images, natural_key, read_collection
from ._read import declared_pixels, read
from ._text import (
    check_json_text,
    check_text_file,
    read_config,
    read_pipeline,
    sha256_file,
    write_json,
    write_text_atomic,
)
from ._write import apply_umask_mode, atomic_write, fsync_dir, write, write_error

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageCollection",
    "apply_umask_mode",
    "atomic_write",
    "check_json_text",
    "check_text_file",
    "fsync_dir",
    "write_error",
    "declared_pixels",
    "get_pixel_budget",
    "iter_images",
    "natural_key",
    "read",
    "read_collection",
    "read_config",
    "read_truths",
    "read_pipeline",
    "set_pixel_budget",
    "sha256_file",
    "write",
    "write_json",
    "write_text_atomic",
]
