# Public names of ``seglab.web``: read by type checkers, and by ``lazy_loader.attach_stub`` in
# ``__init__.py``, which imports each module below on first access to one of its names. A new public name
# is one import line here plus its entry in ``__all__`` (see ``seglab/__init__.pyi``).
from ._app import create_app
from ._server import serve

__all__ = [
    "create_app",
    "serve",
]
