"""Text helpers: pipelines from YAML/JSON (safe, bounded loaders), atomic JSON/text writes, file hashes.

``yaml.safe_load`` stops code (no Python tags), not cost: a 1 KB file of nested
anchors and aliases (the "billion laughs") expands to billions of nodes, a
5000-deep ``[[[[...]]]]`` recurses past Python's limit, and a multi-gigabyte
file is read whole. :func:`parse_yaml` and :func:`parse_json` refuse all three
before building anything big: documents over :data:`MAX_CONFIG_BYTES`, nesting
deeper than :data:`MAX_DEPTH`, more than :data:`MAX_ALIASES` alias uses, and
alias expansion beyond :data:`MAX_NODES` nodes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.errors import ImageReadError, ParameterError, SeglabError
from ._formats import as_path, stat_input
from ._write import atomic_write

if TYPE_CHECKING:
    from seglab._core.pipeline import Pipeline

__all__ = [
    "MAX_ALIASES",
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "check_json_text",
    "check_text_file",
    "parse_json",
    "parse_yaml",
    "read_config",
    "read_json",
    "read_pipeline",
    "sha256_file",
    "write_json",
    "write_text_atomic",
]

MAX_CONFIG_BYTES = 1 << 20  # 1 MiB: a pipeline or a seeds file is a few KB
MAX_DEPTH = 64
MAX_ALIASES = 256
MAX_NODES = 100_000


def _read_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    info = stat_input(path, allow_dir=False)
    if info.st_size > limit:
        raise ParameterError(
            f"{path}: {info.st_size:,} bytes, larger than the {limit:,}-byte limit for configuration files; "
            "is it the right file?"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied (the file is not readable)") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:  # the file grew since stat, or st_size lied (procfs)
        raise ParameterError(f"{path}: larger than the {limit:,}-byte limit for configuration files")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageReadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (strings skipped), without recursion."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRINGS.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_text_file(path: str | os.PathLike[str], *, limit: int = MAX_CONFIG_BYTES) -> None:
    """Refuse a configuration file that must not be read: FIFO, device, symlink loop, over `limit` bytes.

    A missing file passes (the caller reports it in its own words).
    """
    path = as_path(path)
    if not os.path.lexists(path):
        return
    info = stat_input(path, allow_dir=False)
    if info.st_size > limit:
        raise ParameterError(
            f"{path}: {info.st_size:,} bytes, larger than the {limit:,}-byte limit for configuration files; "
            "is it the right file?"
        )


def check_json_text(text: str, *, source: str = "<string>") -> None:
    """Refuse JSON text over :data:`MAX_CONFIG_BYTES` characters or nested over :data:`MAX_DEPTH` levels."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ParameterError(
            f"{source}: {len(text):,} characters, over the {MAX_CONFIG_BYTES:,} limit for JSON documents"
        )
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        raise ParameterError(f"{source}: JSON nested {depth} levels deep; at most {MAX_DEPTH} are allowed")


def parse_json(text: str, *, source: str = "<string>") -> Any:
    """Parse JSON text with size and nesting limits; errors are one-line :class:`ParameterError`.

    Raises
    ------
    ParameterError
        Invalid JSON (with line and column), a document over
        :data:`MAX_CONFIG_BYTES` or nested deeper than :data:`MAX_DEPTH`.

    Examples
    --------
    >>> parse_json('{"method": "otsu"}')
    {'method': 'otsu'}
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    check_json_text(text, source=source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        raise ParameterError(f"{source}: invalid JSON ({type(exc).__name__}: {exc})") from None


def _bounded_loader():
    """A yaml.SafeLoader subclass that counts depth, aliases and expanded nodes while composing."""
    import yaml
    from yaml.nodes import MappingNode, SequenceNode

    class BoundedSafeLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0
            self._aliases = 0
            self._sizes: dict[int, int] = {}

        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark
                    raise _LimitError(f"more than {MAX_ALIASES} aliases (*name)", mark)
            self._depth += 1
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", mark)
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            key = id(node)
            if key not in self._sizes:
                if isinstance(node, SequenceNode):
                    size = 1 + sum(self._sizes.get(id(child), 1) for child in node.value)
                elif isinstance(node, MappingNode):
                    size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
                else:
                    size = 1
                if size > MAX_NODES:
                    raise _LimitError(
                        f"aliases expand to more than {MAX_NODES:,} values (a 'billion laughs' document?)",
                        node.start_mark,
                    )
                self._sizes[key] = size
            return node

    return BoundedSafeLoader


class _LimitError(Exception):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def parse_yaml(text: str, *, source: str = "<string>") -> Any:
    """Parse YAML text safely (plain data only) with size, depth, alias and expansion limits.

    Raises
    ------
    ParameterError
        Invalid YAML (with line and column), Python tags, or a document over
        the limits (:data:`MAX_CONFIG_BYTES`, :data:`MAX_DEPTH`,
        :data:`MAX_ALIASES`, :data:`MAX_NODES`).

    Examples
    --------
    >>> parse_yaml("{method: otsu, post: [fill_holes]}")
    {'method': 'otsu', 'post': ['fill_holes']}
    """
    import yaml

    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    if len(text) > MAX_CONFIG_BYTES:
        raise ParameterError(
            f"{source}: {len(text):,} characters, over the {MAX_CONFIG_BYTES:,} limit for YAML documents"
        )
    loader = _bounded_loader()(text)
    try:
        return loader.get_single_data()
    except (yaml.YAMLError, _LimitError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "could not determine a constructor" in str(exc) or "unacceptable" in str(problem):
            problem = f"{problem}; seglab reads plain YAML data only (no Python tags)"
        raise ParameterError(f"{source}{where}: invalid YAML ({problem})") from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise ParameterError(f"{source}: invalid YAML ({type(exc).__name__}: {exc})") from None
    finally:
        loader.dispose()


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file (any extension) with the limits of :func:`parse_json` and the checks of :func:`read_config`.

    Raises
    ------
    ImageReadError
        Missing, special (FIFO, device) or unreadable file, not UTF-8.
    ParameterError
        Invalid or oversized JSON.
    """
    path = as_path(path)
    return parse_json(_read_text(path), source=str(path))


def read_config(path: str | os.PathLike[str]) -> Any:
    """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) file into plain Python objects.

    YAML goes through a bounded ``yaml.SafeLoader`` (:func:`parse_yaml`), which
    builds only plain data (never arbitrary Python objects) and refuses alias
    bombs, deep nesting and oversized documents; JSON through :func:`parse_json`.

    Raises
    ------
    ImageReadError
        Missing or unreadable file.
    ParameterError
        Invalid YAML/JSON (the message gives the line and column), or another
        extension.
    """
    path = as_path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ParameterError(f"{path}: expected a .yaml, .yml or .json file; got {suffix or 'no extension'!r}")
    text = _read_text(path)
    if suffix == ".json":
        return parse_json(text, source=str(path))
    return parse_yaml(text, source=str(path))


def read_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read a pipeline file (YAML or JSON) and return a checked :class:`seglab.Pipeline`.

    The file holds ``{pre: [...], method: {name: ..., params: {...}}, post: [...]}``,
    as :meth:`Pipeline.to_dict` writes it.

    Raises
    ------
    ImageReadError
        Missing or unreadable file.
    ParameterError, UnknownMethodError, UnknownParameterError
        Invalid YAML/JSON (with line number), or content that is not a valid
        pipeline; the message starts with the file name.

    Examples
    --------
    >>> import seglab.io
    >>> from pathlib import Path; from tempfile import mkdtemp
    >>> spec = Path(mkdtemp()) / "otsu.yaml"
    >>> _ = seglab.io.write_text_atomic(spec, "method: otsu\\n")
    >>> seglab.io.read_pipeline(spec).method.name
    'otsu'
    """
    from .._core.pipeline import Pipeline

    path = as_path(path)
    data = read_config(path)
    if data is None:
        raise ParameterError(f"{path}: the file is empty; expected a pipeline with at least `method`")
    try:
        return Pipeline.from_dict(data)
    except SeglabError as exc:
        if str(exc).startswith(str(path)):
            raise
        try:
            raise type(exc)(f"{path}: {exc}") from None
        except TypeError:  # an error class with a different constructor: keep it as it is
            raise exc from None


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (temporary file, fsync, rename); return the path.

    Raises
    ------
    ImageWriteError
        Missing or unwritable folder (nothing is left behind).
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    data = text.encode(encoding)
    return atomic_write(as_path(path), lambda fh: fh.write(data))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write `obj` as JSON, atomically; NumPy scalars/arrays and Paths are converted.

    Non-finite floats are written as ``NaN``/``Infinity`` (Python's ``json``
    reads them back; strict JSON parsers do not).

    Raises
    ------
    TypeError
        An object JSON cannot represent (nothing is written).
    ImageWriteError
        Missing or unwritable folder.
    """
    text = json.dumps(obj, indent=indent, default=_json_default) + "\n"
    return write_text_atomic(path, text)


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks (for provenance records).

    A zarr store (a folder that :func:`seglab.read` reads as one image) is hashed as a whole: the
    relative path and the bytes of each of its files, in sorted order, so the same store gives the
    same hash wherever it lies.

    Raises
    ------
    ImageReadError
        Missing file, a folder that is not a zarr store, or an unreadable file.
    """
    from ._formats import is_zarr_dir

    path = as_path(path)
    digest = hashlib.sha256()
    if stat.S_ISDIR(stat_input(path).st_mode):
        if not is_zarr_dir(path):
            raise ImageReadError(f"{path}: is a folder; sha256_file hashes one file (or a zarr store)")
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            name = file.relative_to(path).as_posix().encode("utf-8", "surrogateescape")
            digest.update(len(name).to_bytes(8, "little") + name)
            _hash_into(digest, file, chunk_size)
        return digest.hexdigest()
    _hash_into(digest, path, chunk_size)
    return digest.hexdigest()


def _hash_into(digest, path: Path, chunk_size: int) -> None:
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(chunk_size), b""):
                digest.update(block)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
