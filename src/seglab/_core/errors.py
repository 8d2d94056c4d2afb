"""Exception and warning classes shared by every part of seglab.

Every error derives from :class:`SeglabError` *and* from the built-in class a
caller would expect (``ValueError`` for a bad value, ``TypeError`` for a wrong
type, ...), so both ``except ValueError`` and ``except SeglabError`` work.
The CLI turns any ``SeglabError`` into one line on stderr and exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConstantImageWarning",
    "ConversionWarning",
    "DecompressionBombError",
    "ImageReadError",
    "ImageTypeError",
    "ImageWriteError",
    "InvalidImageError",
    "MissingDependencyError",
    "MissingInputError",
    "ParameterError",
    "ResourceLimitError",
    "SchedulerError",
    "SeglabError",
    "SeglabWarning",
    "ShapeMismatchError",
    "UnknownMethodError",
    "UnknownParameterError",
    "close_matches_hint",
    "one_line",
    "short_repr",
]

# Longest message an error keeps. A user's value can be huge (a 312 MB string from an expanded YAML
# alias, a 10**30-digit integer); echoing it back helps nobody, so the middle of a longer message is cut.
MAX_MESSAGE_CHARS = 1000
_HEAD_CHARS = 700
_TAIL_CHARS = 250


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Return `text` on one line (newlines and tabs become spaces) and at most about `limit` characters.

    The head and the tail are kept (the tail usually says how to fix the problem); the middle
    is replaced by ``... [N characters omitted] ...``.
    """
    text = " ".join(str(text).split()) if ("\n" in text or "\r" in text or "\t" in text) else str(text)
    if len(text) <= limit:
        return text
    head = max(1, int(limit * _HEAD_CHARS / MAX_MESSAGE_CHARS))
    tail = max(1, int(limit * _TAIL_CHARS / MAX_MESSAGE_CHARS))
    return f"{text[:head]} ... [{len(text) - head - tail:,} characters omitted] ... {text[-tail:]}"


_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F]}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def printable(text: str) -> str:
    """`text` safe to print on one line of any terminal: control characters escaped (``\\n``), and file-name
    bytes that are not UTF-8 (lone surrogates from ``os.fsdecode``) shown as ``\\xff``."""
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.translate(_CONTROL)


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to at most `limit` characters (``'aaaa...' (312,000,000 characters)``).

    Used wherever a message quotes a user's value: the value may be enormous.
    Very large containers and strings are not fully converted to text first.
    """
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value):,} items"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text):,} characters)"
    return text


class SeglabError(Exception):
    """Base class of every error seglab raises on purpose.

    The message is kept to one line of at most :data:`MAX_MESSAGE_CHARS`
    characters (see :func:`one_line`), whoever raises it: a value quoted in
    a message can be enormous.
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (one_line(args[0]),)
        super().__init__(*args)


class InvalidImageError(SeglabError, ValueError):
    """The image's values or shape cannot be segmented (empty, NaN, too many dims...)."""


class ImageTypeError(SeglabError, TypeError):
    """The image has a dtype seglab cannot interpret (complex, object, bool as intensity)."""


class ShapeMismatchError(SeglabError, ValueError):
    """Two arrays that must share a shape (image and ground truth, ...) do not."""


class ParameterError(SeglabError, ValueError):
    """A parameter value is out of range, of the wrong kind or inconsistent."""


class UnknownMethodError(SeglabError, ValueError):
    """A method or step name is not in the registry."""


class UnknownParameterError(SeglabError, TypeError):
    """A keyword is not a parameter of the method or step it was given to."""


class MissingInputError(SeglabError, ValueError):
    """A method needs user input (seeds, contour, rectangle) that was not given."""


class ImageReadError(SeglabError, OSError):
    """A file could not be read as an image (missing, corrupt, truncated, unsupported)."""


class ImageWriteError(SeglabError, OSError):
    """An output could not be written (unwritable folder, unsupported format)."""


class DecompressionBombError(SeglabError, ValueError):
    """A file declares more pixels than the configured pixel budget allows."""


class MissingDependencyError(SeglabError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


class SchedulerError(SeglabError, OSError):
    """A dask scheduler address is malformed or nothing answers there."""


class ResourceLimitError(SeglabError, MemoryError):
    """A parameter or an input would need more memory (or work) than seglab allows or the machine has.

    Raised before the work starts, with a message naming the parameter or
    the input that drives the cost.
    """


class SeglabWarning(UserWarning):
    """Base class of every warning seglab emits."""


class ConstantImageWarning(SeglabWarning):
    """The image has a single value, so there is nothing to separate."""


class ConversionWarning(SeglabWarning):
    """Input was converted in a way the user should know about (alpha dropped, ...)."""


def close_matches_hint(name: str, available: Iterable[str]) -> str:
    """Return a sentence naming close matches of `name` among `available`, or ''."""
    matches = difflib.get_close_matches(str(name), list(available), n=3, cutoff=0.6)
    if not matches:
        return ""
    quoted = ", ".join(repr(m) for m in matches)
    return f" Did you mean {quoted}?"
