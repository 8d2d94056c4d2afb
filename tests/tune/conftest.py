import importlib.util
import sys
from pathlib import Path

import pytest


def _load_toys():
    name = "seglab_compare_toys_helper"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "compare" / "_toys.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def toys(monkeypatch):
    """The toy registry entries of _toys.py, installed for one test."""
    from seglab.testing import isolated_registry

    module = _load_toys()
    module.install(monkeypatch)
    with isolated_registry() as registry:
        module.register_into(registry)
        yield module
