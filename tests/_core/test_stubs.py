"""The ``.pyi`` stubs are the single list of lazily loaded public names: what type checkers see is what runs.

A package that loads names lazily has an ``__init__.pyi`` and an ``__init__.py`` that calls
``lazy_loader.attach_stub``; no package hand-builds a ``__getattr__`` loader.
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import seglab

SRC = pathlib.Path(seglab.__file__).parent
STUBS = sorted(SRC.rglob("__init__.pyi"))


def _package(stub: pathlib.Path) -> str:
    return ".".join(("seglab", *stub.parent.relative_to(SRC).parts))


def _stub_all(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("stub has no literal __all__")


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _stub_imported(tree: ast.Module) -> set[str]:
    aliases = [alias for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names]
    # attach_stub loads ``alias.name`` and ignores ``as``: a renaming import would expose a name that does not exist.
    assert all(alias.asname in (None, alias.name) for alias in aliases), "no `import x as y` renames in a stub"
    return {alias.name for alias in aliases}


def test_root_and_lazy_packages_have_stubs():
    # The root and the packages whose names were loaded by hand-written loaders before.
    names = {_package(stub) for stub in STUBS}
    assert {"seglab", "seglab.interactive", "seglab.tiling", "seglab.viz", "seglab.learn", "seglab.deep", "seglab.web",
            "seglab.napari"} <= names


@pytest.mark.parametrize("stub", STUBS, ids=_package)
def test_stub_matches_runtime(stub):
    tree = ast.parse(stub.read_text())
    declared = _stub_all(tree)
    assert len(declared) == len(set(declared)), "duplicate names in the stub's __all__"
    # Every public name is imported in the stub (so the loader can find it), except module-level constants
    # declared with an annotation (``__version__: str``), which __init__.py defines itself.
    annotated = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    assert set(declared) == _stub_imported(tree) | annotated
    # Each name exists where the stub says, read from the source (no optional dependency needs importing).
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            source = stub.parent / (node.module.replace(".", "/") + ".py")
            if not source.exists():
                source = source.with_suffix("") / "__init__.py"
            defined = _top_level_names(ast.parse(source.read_text()))
            missing = [a.name for a in node.names if a.name not in defined]
            assert missing == [], f"{stub.name}: {missing} not defined in {source.name}"
    module = importlib.import_module(_package(stub))
    assert sorted(module.__all__) == sorted(declared)
    assert sorted(dir(module)) == sorted(declared)
    for name in declared:
        try:
            value = getattr(module, name)
        except ImportError:  # an optional extra (napari, torch, ...) that this environment lacks
            continue
        assert value is not None, name


@pytest.mark.parametrize("stub", STUBS, ids=_package)
def test_init_uses_attach_stub(stub):
    source = stub.with_suffix(".py").read_text()
    assert "attach_stub(__name__, __file__)" in source


def test_no_hand_written_loader():
    # One mechanism: a package that wants lazy names writes an __init__.pyi and calls attach_stub.
    for init in SRC.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in defined, f"{init}: list the names in __init__.pyi and use lazy_loader.attach_stub"


def test_stubs_ship_with_the_package():
    # pyproject's package-data must carry every stub (the loader reads them at run time).
    import tomllib

    pyproject = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())
    assert "*.pyi" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["seglab"]


def test_py_typed_ships():
    assert (SRC / "py.typed").is_file()
