"""Silence a category of warnings around code that may run on several threads at once.

``warnings.catch_warnings`` saves the process's filter list on entry and puts that saved list back on exit. Two
threads that enter and leave in an interleaved order (A in, B in, A out, B out) leave the process with B's saved
list, which holds A's "ignore": from then on every warning of the process is ignored. seglab runs the same code
on dask worker threads (tuning trials, tiles), so those paths use :func:`ignoring` instead: it adds one "ignore"
filter per category while at least one thread is inside and removes exactly that entry when the last one leaves.

Warnings raised by other threads while a block is active are ignored too (the filter list is per process); that
is the price of any filter, and these blocks only hide advisory warnings.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ignoring"]

_LOCK = threading.Lock()
# category -> threads inside
_ACTIVE: dict[type[Warning], int] = {}
# category -> the one filter entry this module ever inserts for it. One object per category: a
# ``catch_warnings`` entered on another thread while ours was active may put a copy of the list holding it back
# later; the next last-one-out then removes that stray entry too (found by identity, never a user's equal filter).
_ENTRIES: dict[type[Warning], tuple] = {}


def _filters() -> list:
    # typeshed declares the list a Sequence; it is the module's mutable list, which is what we edit
    return warnings.filters  # type: ignore[return-value]


def _filters_changed() -> None:
    # the warnings module caches "already decided" lookups per filter version; editing `warnings.filters` in
    # place must bump that version as `warnings.filterwarnings` does
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()


@contextmanager
def ignoring(category: type[Warning] = Warning) -> Iterator[None]:
    """Ignore warnings of `category` (and its subclasses) inside the block, safely across threads.

    Parameters
    ----------
    category : type
        The warning class to ignore; ``Warning`` ignores every warning.

    Examples
    --------
    >>> import warnings
    >>> with ignoring(UserWarning):
    ...     warnings.warn("not shown")
    """
    with _LOCK:
        entry = _ENTRIES.setdefault(category, ("ignore", None, category, None, 0))
        inside = _ACTIVE.get(category, 0)
        if inside == 0 or not any(item is entry for item in _filters()):
            _filters().insert(0, entry)
            _filters_changed()
        _ACTIVE[category] = inside + 1
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[category] -= 1
            if _ACTIVE[category] == 0:
                del _ACTIVE[category]
                kept = [item for item in _filters() if item is not entry]
                if len(kept) != len(_filters()):
                    _filters()[:] = kept
                    _filters_changed()
