"""Test helpers for seglab and for plugin authors.

``seglab.testing.isolated_registry`` is a context manager, and the pytest fixture
``seglab_registry`` (import it into a ``conftest.py``: ``from seglab.testing import
seglab_registry``) gives each test its own copy of the catalogue, so a test can
register stand-in methods without leaking them into other tests (npe2's plugin
manager fixture is the model).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from seglab._core.registry import MethodSpec, Registry, current_registry, use_registry

__all__ = ["isolated_registry", "seglab_registry"]


@contextmanager
def isolated_registry(*specs: MethodSpec, empty: bool = False) -> Iterator[Registry]:
    """Use a private copy of the current registry (or an empty one) with `specs` added, inside the block."""
    registry = Registry() if empty else current_registry().copy()
    if specs:
        registry.register(*specs, origin="test")
    with use_registry(registry):
        yield registry


def _fixture():
    import pytest

    @pytest.fixture
    def seglab_registry() -> Iterable[Registry]:
        """A private copy of the catalogue for one test; ``seglab_registry.register(spec)`` adds to it."""
        with isolated_registry() as registry:
            yield registry

    return seglab_registry


try:  # the fixture exists only where pytest is installed; the context manager works everywhere
    seglab_registry = _fixture()
except ImportError:  # pragma: no cover
    pass
