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
    "SeglabError",
    "InvalidImageError",
    "ImageTypeError",
    "ShapeMismatchError",
    "ParameterError",
    "UnknownMethodError",
    "UnknownParameterError",
    "MissingInputError",
    "ImageReadError",
    "ImageWriteError",
    "DecompressionBombError",
    "MissingDependencyError",
    "SeglabWarning",
    "ConstantImageWarning",
    "ConversionWarning",
    "close_matches_hint",
]


class SeglabError(Exception):
    """Base class of every error seglab raises on purpose."""


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
