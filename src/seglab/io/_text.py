"""Text helpers: pipelines from YAML/JSON (safe loaders only), atomic JSON/text writes, file hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .._core.errors import ImageReadError, ParameterError, SeglabError
from ._formats import as_path, missing_file_message
from ._write import atomic_write

__all__ = ["read_pipeline", "read_config", "write_json", "write_text_atomic", "sha256_file"]


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ImageReadError(missing_file_message(path))
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ImageReadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def read_config(path):
    """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) file into plain Python objects.

    YAML goes through ``yaml.safe_load``, which builds only plain data (never
    arbitrary Python objects).

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
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(
                f"{path}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParameterError(f"{path}{where}: invalid YAML ({problem})") from None


def read_pipeline(path):
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
        try:
            raise type(exc)(f"{path}: {exc}") from None
        except TypeError:  # an error class with a different constructor: keep it as it is
            raise exc from None


def write_text_atomic(path, text: str, *, encoding: str = "utf-8") -> Path:
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


def write_json(path, obj, *, indent: int = 2) -> Path:
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


def sha256_file(path, *, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks (for provenance records).

    Raises
    ------
    ImageReadError
        Missing file, folder or unreadable file.
    """
    path = as_path(path)
    if not path.exists():
        raise ImageReadError(missing_file_message(path))
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder; sha256_file hashes one file")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(chunk_size), b""):
                digest.update(block)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return digest.hexdigest()
