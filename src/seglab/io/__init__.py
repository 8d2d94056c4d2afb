"""Reading and writing images safely.

* :func:`read` — PNG, JPEG, BMP, TIFF (stacks, 8/16/32-bit, float, LZW...),
  ``.npy`` and zarr; decompression bombs refused from the header, before
  decoding (:func:`set_pixel_budget`, and :func:`set_byte_budget` for the
  decoded bytes); FIFOs and devices refused before opening; every failure is one
  :class:`~seglab.ImageReadError` naming the file and the reason.
* :func:`write` — atomic writes (temporary file, fsync, rename); formats
  refuse data they cannot hold instead of rescaling it.
* :func:`read_collection` — lazy, indexable collections of files (folder,
  glob pattern, list), natural order, batch iteration past bad files.
* :func:`read_truths` — every annotator's segmentation from a BSDS500 .mat file.
* :func:`parse_yaml`, :func:`parse_json`, :func:`read_json` — bounded loaders
  (no alias bombs, deep nesting or oversized documents).
* :func:`read_pipeline`, :func:`write_json`, :func:`write_text_atomic`,
  :func:`sha256_file` — configuration and provenance helpers.

Heavy libraries (Pillow, tifffile, zarr, OpenCV, PyYAML) are imported only
when a function needs them.
"""

from __future__ import annotations

from ._bsds import read_truths
from ._budget import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    get_byte_budget,
    get_pixel_budget,
    set_byte_budget,
    set_pixel_budget,
)
from ._collection import ImageCollection, iter_images, natural_key, read_collection
from ._formats import stat_input
from ._read import declared_pixels, read
from ._text import (
    check_json_text,
    check_text_file,
    parse_json,
    parse_yaml,
    read_config,
    read_json,
    read_pipeline,
    sha256_file,
    write_json,
    write_text_atomic,
)
from ._write import apply_umask_mode, atomic_write, fsync_dir, write

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "ImageCollection",
    "apply_umask_mode",
    "atomic_write",
    "fsync_dir",
    "check_json_text",
    "check_text_file",
    "declared_pixels",
    "get_byte_budget",
    "get_pixel_budget",
    "iter_images",
    "natural_key",
    "read",
    "read_collection",
    "parse_json",
    "parse_yaml",
    "read_config",
    "read_json",
    "read_truths",
    "read_pipeline",
    "set_byte_budget",
    "set_pixel_budget",
    "sha256_file",
    "stat_input",
    "write",
    "write_json",
    "write_text_atomic",
]
