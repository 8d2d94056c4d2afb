"""The pixel budget: refuse decompression bombs before decoding a single pixel.

A few hundred bytes of PNG (or TIFF, or ``.npy`` header) can declare a
100000 x 100000 image; decoding it would allocate gigabytes. Every reader in
:mod:`seglab.io` reads the header first, counts the *pixels* the file declares
(planes x rows x cols; colour channels are not counted, as in Pillow) and
raises :class:`~seglab._core.errors.DecompressionBombError` when the count is
over the budget.

The budget comes from, in order of precedence:

1. the ``max_pixels`` argument of :func:`seglab.io.read`;
2. :func:`set_pixel_budget` (for the whole process);
3. the environment variable ``SEGLAB_MAX_PIXELS`` (an integer such as
   ``4000000000`` or ``4e9``);
4. :data:`DEFAULT_MAX_PIXELS` = 2**30 (about 1.07 billion pixels: 1 GiB as
   uint8 gray, 4 GiB as float32). A 140-megapixel KESM slice fits easily; a
   whole stack of them should be read lazily (zarr, ``mmap_mode``) or tiled.

``math.inf`` disables the check.

Pixels are not the whole cost: the same pixel count decodes to 12 times more
bytes as float32 RGB than as uint8 gray. The readers therefore also count the
*decoded bytes* (pixels x channels x bytes per sample) against a byte budget
(:func:`set_byte_budget`, ``SEGLAB_MAX_BYTES``, default :data:`DEFAULT_MAX_BYTES`
= 4 GiB, a budget-sized uint8 RGB image or float32 gray image) and against the
memory the process can still allocate.
"""

from __future__ import annotations

import math
import os

from .._core.errors import DecompressionBombError, ParameterError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "BYTES_ENV_VAR",
    "ENV_VAR",
    "check_pixels",
    "get_byte_budget",
    "get_pixel_budget",
    "set_byte_budget",
    "set_pixel_budget",
]

DEFAULT_MAX_PIXELS = 2**30
DEFAULT_MAX_BYTES = 2**32
ENV_VAR = "SEGLAB_MAX_PIXELS"
BYTES_ENV_VAR = "SEGLAB_MAX_BYTES"

_budget: float | None = None  # set by set_pixel_budget; None = environment or default
_byte_budget: float | None = None  # set by set_byte_budget


def _validate(value, *, name: str, unit: str = "pixels") -> float:
    """Return `value` as a positive number of pixels/bytes (int or math.inf), or raise ParameterError."""
    from .._core.errors import short_repr

    if isinstance(value, bool):
        raise ParameterError(f"{name} got {value!r}; expected a positive number of {unit} (or math.inf)")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text) if any(c in text for c in ".eE") or text.lower() == "inf" else int(text)
        except ValueError:
            raise ParameterError(
                f"{name} got {short_repr(text)}; expected a positive number of {unit} such as 4000000000 or 4e9"
            ) from None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(
            f"{name} got {short_repr(value)}; expected a positive number of {unit} (or math.inf)"
        ) from None
    if math.isnan(number) or number <= 0:
        raise ParameterError(f"{name} got {short_repr(value)}; expected a positive number of {unit} (or math.inf)")
    return math.inf if math.isinf(number) else int(number)


def set_pixel_budget(max_pixels: float | None) -> None:
    """Set the process-wide pixel budget of every reader.

    Parameters
    ----------
    max_pixels : int, float or None
        Largest number of pixels (planes x rows x cols) a file may declare.
        ``math.inf`` disables the check; ``None`` restores the default
        (``SEGLAB_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`).

    Raises
    ------
    ParameterError
        Zero, negative or non-numeric values.

    Examples
    --------
    >>> import seglab.io
    >>> seglab.io.set_pixel_budget(4e9)
    >>> seglab.io.get_pixel_budget()
    4000000000
    >>> seglab.io.set_pixel_budget(None)
    """
    global _budget
    _budget = None if max_pixels is None else _validate(max_pixels, name="`max_pixels`")


def get_pixel_budget(max_pixels: float | None = None) -> float:
    """Return the budget in force: `max_pixels` if given, else the configured one."""
    if max_pixels is not None:
        return _validate(max_pixels, name="`max_pixels`")
    if _budget is not None:
        return _budget
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        return _validate(env, name=f"environment variable {ENV_VAR}")
    return DEFAULT_MAX_PIXELS


def set_byte_budget(max_bytes: float | None) -> None:
    """Set the process-wide budget of decoded bytes (pixels x channels x bytes per sample) of every reader.

    ``math.inf`` disables the check; ``None`` restores the default
    (``SEGLAB_MAX_BYTES`` if set, else :data:`DEFAULT_MAX_BYTES`). Reads are
    also refused when the decoded bytes exceed the memory available.

    Examples
    --------
    >>> import seglab.io
    >>> seglab.io.set_byte_budget(8e9)
    >>> seglab.io.get_byte_budget()
    8000000000
    >>> seglab.io.set_byte_budget(None)
    """
    global _byte_budget
    _byte_budget = None if max_bytes is None else _validate(max_bytes, name="`max_bytes`", unit="bytes")


def get_byte_budget(max_bytes: float | None = None) -> float:
    """Return the decoded-bytes budget in force: `max_bytes` if given, else the configured one."""
    if max_bytes is not None:
        return _validate(max_bytes, name="`max_bytes`", unit="bytes")
    if _byte_budget is not None:
        return _byte_budget
    env = os.environ.get(BYTES_ENV_VAR)
    if env is not None and env.strip():
        return _validate(env, name=f"environment variable {BYTES_ENV_VAR}", unit="bytes")
    return DEFAULT_MAX_BYTES


def _amount(nbytes) -> str:
    """'12.0 GiB (12,884,901,888 bytes)': the readable size and the exact count (which may differ by 1)."""
    from .._core.limits import format_bytes

    nbytes = int(nbytes)
    return format_bytes(nbytes) if nbytes < 1024 else f"{format_bytes(nbytes)} ({nbytes:,} bytes)"


def check_bytes(filename: str, shape, dtype, nbytes: int, budget) -> None:
    """Raise DecompressionBombError if decoding `filename` needs more than `budget` bytes or the free memory."""
    from .._core.limits import available_memory, format_bytes

    dims = "" if shape is None else " x ".join(str(int(s)) for s in shape) + " "
    what = f"{filename}: decodes to {dims}{dtype} = {_amount(nbytes)}"
    if nbytes > budget:
        raise DecompressionBombError(
            f"{what}, more than the decoded-size budget of {_amount(budget)}; if you trust the file, "
            f"raise the budget: read(..., max_bytes={nbytes}), seglab.io.set_byte_budget({nbytes}) or the "
            f"environment variable {BYTES_ENV_VAR}={nbytes} (or read it lazily / tiled)"
        )
    available = available_memory()
    if nbytes > available:
        raise DecompressionBombError(
            f"{what}, more than the {format_bytes(available)} of memory available; read it lazily "
            "(zarr, mmap_mode='r') or tiled (seglab tile)"
        )


def check_pixels(filename: str, shape, pixels: int, budget) -> None:
    """Raise DecompressionBombError if `pixels` (declared by `filename` as `shape`, or None) exceed `budget`."""
    if pixels > budget:
        dims = "" if shape is None else " x ".join(str(int(s)) for s in shape) + " = "
        raise DecompressionBombError(
            f"{filename}: declares {dims}{pixels:,} pixels, more than the pixel budget of {int(budget):,}; "
            f"if you trust the file, raise the budget: read(..., max_pixels={pixels}), "
            f"seglab.io.set_pixel_budget({pixels}) or the environment variable {ENV_VAR}={pixels} "
            "(or read it lazily / tiled)"
        )
