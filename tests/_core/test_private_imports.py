"""No package reaches into another package's private names.

Each package's public face is its ``__init__`` (``__all__`` or ``__init__.pyi``) and its public modules; what starts
with ``_`` is free to change. So, for every import statement in ``src/seglab`` (module level or inside a function),
when the imported module belongs to a different top-level package of seglab than the importing file:

* an imported name must not start with ``_`` (``from seglab.compare._report import _CSS``), and
* the module path must not pass through a private module (``from seglab.io._read import read``: use ``seglab.io``),
  except under ``seglab._core``, the shared core, whose modules every package may import (but not their
  underscore-prefixed names).

Imports inside one package (``tune/_tune.py`` importing ``tune/_space.py``) are that package's own business.
Strings naming a target (``"seglab.threshold._global:otsu"`` in a ``MethodSpec``) are the registry's data, not
imports, and are not checked here.
"""

from __future__ import annotations

import ast
import pathlib

import seglab

SRC = pathlib.Path(seglab.__file__).parent
CORE = "_core"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module: str) -> str:
    """The top-level seglab package a dotted module belongs to ('' for seglab itself and its root modules)."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    if len(parts) == 2 and (SRC / f"{parts[1]}.py").exists():
        return ""  # a root module such as seglab.demo
    return parts[1]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(path: pathlib.Path):
    """Yield (line, absolute module, imported names) for every import of a seglab module in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own_module = _module_name(path)
    is_package = path.stem == "__init__"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "seglab":
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] == "seglab":
                yield node.lineno, module, [alias.name for alias in node.names]


def _violations(path: pathlib.Path) -> list[str]:
    own = _package_of(_module_name(path))
    found = []
    for line, module, names in _imports(path):
        target = _package_of(module)
        if target == own:
            continue
        where = f"{path.relative_to(SRC.parent)}:{line}"
        private_modules = [part for part in module.split(".")[1:] if _private(part) and part != CORE]
        if private_modules:
            found.append(f"{where}: imports {module} (a private module of seglab.{target}; use its public face)")
        for name in names:
            # `from seglab.X import _module` reaches a private module too; `from seglab._core import errors` is fine
            if _private(name):
                found.append(f"{where}: imports private name {name} from {module}")
    return found


def test_private_rules_catch_the_known_cases(tmp_path):
    # The checker itself: the patterns the issue names are caught, the allowed ones are not.
    fake = SRC / "tune" / "_probe_for_test.py"
    assert not fake.exists()
    samples = {
        "from seglab.compare._report import _CSS": 2,  # private module and private name
        "from seglab.compare import write_report": 0,
        "from seglab._core.pipeline import _call": 1,
        "from seglab._core.pipeline import Pipeline": 0,
        "from seglab.io._read import read": 1,
        "import seglab.io._read": 1,
        "from seglab.threshold import _histogram": 1,
        "from ._space import Dimension": 0,  # own package
        "from .._core.errors import ParameterError": 0,
        "from ..compare._compare import load_results": 1,
    }
    try:
        for source, expected in samples.items():
            fake.write_text(source + "\n")
            assert len(_violations(fake)) == expected, (source, _violations(fake))
    finally:
        fake.unlink(missing_ok=True)


def test_no_package_imports_another_packages_private_names():
    paths = sorted([*SRC.rglob("*.py"), *SRC.rglob("*.pyi")])
    found = [v for path in paths for v in _violations(path)]
    assert found == [], "\n".join(found)
