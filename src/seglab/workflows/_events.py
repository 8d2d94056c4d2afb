"""One progress event type and one cancellation flag for every workflow.

A workflow takes ``progress: Callable[[Event], None] | None`` and
``cancel: CancelToken | None``. It calls ``progress(Event(...))`` as it goes and
checks ``cancel`` between units of work (a file, a trial, a tile), raising
:class:`Cancelled` when it is set. The CLI draws a Rich bar from the events, the
web server streams them to the page and napari forwards them to its worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seglab._core.errors import SeglabError

__all__ = ["Event", "CancelToken", "Cancelled", "ProgressCallback", "emit"]


class Cancelled(SeglabError, RuntimeError):
    """The workflow was cancelled through its :class:`CancelToken`; what was finished is kept."""


@dataclass(frozen=True)
class Event:
    """Where a workflow stands.

    Attributes
    ----------
    stage : str
        What is running (``"segment"``, ``"train"``, ``"tile"``, ...).
    done, total : int
        Units finished and units in all (``total`` 0 when unknown).
    item : str
        The unit just started or finished (a file name, a trial number).
    message : str
        One line for a person: a result, or a note (``kind="note"``), or an error (``kind="error"``).
    kind : {'progress', 'note', 'error', 'result'}
        What the event reports.
    data : dict
        Machine-readable values (scores, paths) for front ends.
    """

    stage: str
    done: int = 0
    total: int = 0
    item: str = ""
    message: str = ""
    kind: str = "progress"
    data: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[Event], None]


class CancelToken:
    """A flag a front end sets to stop a running workflow at the next unit boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the workflow to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self, stage: str = "") -> None:
        """Raise :class:`Cancelled` if cancellation was asked."""
        if self._event.is_set():
            raise Cancelled(f"{stage or 'the workflow'} was cancelled; finished outputs are kept")


def emit(progress: ProgressCallback | None, event: Event) -> None:
    """Send `event` to `progress` when there is one."""
    if progress is not None:
        progress(event)
