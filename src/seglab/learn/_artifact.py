"""The model folder: one safe, self-describing format for every learned model.

A model is a folder holding two files:

* ``weights.safetensors`` — every array of the model (forest nodes, network
  weights) in the `safetensors <https://huggingface.co/docs/safetensors>`_
  format: a JSON header and raw little-endian buffers. Reading it runs no
  code, unlike pickle, joblib or ``torch.load`` without ``weights_only``.
* ``config.json`` — what the arrays mean: the registry key (``kind``), the
  caller's configuration (architecture, channels, classes, task,
  normalisation, patch size, training-data hashes, validation scores), the
  format version, seglab's and the libraries' versions, the creation time and
  the SHA-256 of the weights file.

:func:`save_model` writes a new folder atomically (both files go to a hidden
temporary folder beside it, are fsync-ed, and the folder is renamed into
place); into an existing folder each file is replaced atomically, weights
first, so other files there (training checkpoints) are kept.
:func:`load_model` checks the format, the kind and the weights' hash before it
decodes anything, and refuses pickle/joblib/zip files with one clear
:class:`ModelError`.

This is the format segmentation_models.pytorch uses (a config beside the
weights), with the hash check that makes tampering or a mixed-up copy visible.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import ImageWriteError, SeglabError
from seglab.io import atomic_write, fsync_dir

__all__ = ["ModelError", "save_model", "load_model", "read_config", "hash_arrays", "hash_files",
           "FORMAT", "FORMAT_VERSION", "WEIGHTS_FILE", "CONFIG_FILE"]

FORMAT = "seglab-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
#: Keys save_model writes itself; a caller's config may not use them.
RESERVED = ("format", "format_version", "kind", "seglab_version", "libraries", "created", "weights")
#: A config larger than this is not a seglab config (its arrays belong in the weights file).
MAX_CONFIG_BYTES = 16 * 1024 * 1024
_LIBRARIES = ("numpy", "scipy", "scikit-image", "opencv-contrib-python-headless", "scikit-learn", "safetensors",
              "torch", "monai")
# File signatures of formats that execute code when loaded (or wrap something that does).
_PICKLE_PROTOCOL_BYTE = 0x80
_ZIP_MAGIC = b"PK\x03\x04"
_UNSAFE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".npz", ".sav")


class ModelError(SeglabError, ValueError):
    """A model folder is missing, unsafe, tampered with, or not the kind of model asked for."""


# -- hashes ---------------------------------------------------------------------------------------
def hash_arrays(arrays: Iterable[np.ndarray] | Mapping[str, np.ndarray]) -> str:
    """Return the hex SHA-256 of arrays' dtypes, shapes and values, in order.

    Two arrays with the same bytes but different dtype or shape hash
    differently; a mapping is hashed in its key order, names included.

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.learn import hash_arrays
    >>> hash_arrays([np.zeros(3, np.uint8)]) == hash_arrays([np.zeros(3, np.uint8)])
    True
    >>> hash_arrays([np.zeros(3, np.uint8)]) == hash_arrays([np.zeros(3, np.int16)])
    False
    """
    digest = hashlib.sha256()
    items = arrays.items() if isinstance(arrays, Mapping) else ((None, a) for a in arrays)
    for name, array in items:
        array = np.ascontiguousarray(array)
        if name is not None:
            digest.update(f"name={name};".encode())
        digest.update(f"dtype={array.dtype.str};shape={array.shape};".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()


def hash_files(paths: Iterable[str | os.PathLike]) -> list[dict[str, str]]:
    """Return ``[{"file": name, "sha256": hex}, ...]`` for training-data provenance.

    Only the file name is recorded, not its folder, so a model trained on
    ``/home/me/data/a.png`` does not carry the user's folder layout.

    Raises
    ------
    ImageReadError
        A missing or unreadable file.
    """
    from seglab.io import sha256_file

    return [{"file": Path(p).name, "sha256": sha256_file(p)} for p in paths]


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- saving ---------------------------------------------------------------------------------------
def _seglab_version() -> str:
    try:
        return metadata.version("seglab")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        import seglab

        return seglab.__version__


def _check_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping) or not arrays:
        raise ModelError(f"`arrays` must be a non-empty dict of name -> ndarray; got {type(arrays).__name__}")
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ModelError(f"array names must be non-empty strings; got {name!r}")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf" or array.dtype.byteorder == ">":
            raise ModelError(f"array {name!r} has dtype {array.dtype}; safetensors stores bool, integer and "
                             "float arrays (little-endian)")
        checked[name] = np.ascontiguousarray(array)
    return checked


def _config_text(kind: str, config: Mapping[str, Any], weights_sha: str, arrays: Mapping[str, np.ndarray]) -> str:
    from seglab._core.provenance import jsonable, versions

    if not isinstance(kind, str) or not kind.strip():
        raise ModelError(f"`kind` must be a registry key such as 'pixel_classifier'; got {kind!r}")
    if not isinstance(config, Mapping):
        raise ModelError(f"`config` must be a dict; got {type(config).__name__}")
    clash = sorted(set(config) & set(RESERVED))
    if clash:
        raise ModelError(f"`config` uses the reserved key(s) {', '.join(map(repr, clash))}; save_model writes "
                         "those itself (rename them)")
    record: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "seglab_version": _seglab_version(),
        "libraries": versions(_LIBRARIES),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": weights_sha,
            "arrays": {n: {"dtype": str(a.dtype), "shape": list(a.shape)} for n, a in arrays.items()},
        },
    }
    record.update(jsonable(dict(config)))
    # allow_nan=False: the file stays strict JSON (jsonable already turned NaN scores into null).
    return json.dumps(record, indent=2, allow_nan=False) + "\n"


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_failed(folder: Path, exc: OSError) -> ImageWriteError:
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        reason = f"the folder {folder.parent} does not exist"
    elif isinstance(exc, PermissionError):
        reason = f"permission denied in {folder.parent}"
    return ImageWriteError(f"{folder}: could not write the model ({reason}); nothing was written")


def save_model(folder: str | os.PathLike, *, kind: str, arrays: Mapping[str, np.ndarray],
               config: Mapping[str, Any]) -> Path:
    """Write a model folder: ``weights.safetensors`` and ``config.json``, atomically.

    Parameters
    ----------
    folder : str or os.PathLike
        The model folder. Its parent must exist. A new folder appears whole or
        not at all; an existing folder has its two files replaced (each
        atomically, weights first) and keeps any other file.
    kind : str
        Registry key of the method that reads the model (``"pixel_classifier"``,
        ``"unet"``); :func:`load_model` checks it.
    arrays : dict of str -> ndarray
        Every array of the model (bool, integer or float).
    config : dict
        JSON-ready description: architecture, channels, classes, task,
        normalisation, patch size, training-data hashes, validation scores...
        NumPy scalars and small arrays are converted; NaN becomes ``null``.

    Returns
    -------
    Path
        The model folder.

    Raises
    ------
    ModelError
        Empty or non-array `arrays`, a bad `kind`, a `config` key that
        save_model reserves, or `folder` is an existing file.
    ImageWriteError
        The parent folder is missing or not writable (nothing is left behind).

    Examples
    --------
    >>> import numpy as np
    >>> from pathlib import Path; from tempfile import mkdtemp
    >>> from seglab.learn import save_model, load_model
    >>> folder = save_model(Path(mkdtemp()) / "m", kind="demo", arrays={"w": np.arange(3.0)},
    ...                     config={"classes": 2})
    >>> arrays, config = load_model(folder, kind="demo")
    >>> arrays["w"].tolist(), config["classes"], config["kind"]
    ([0.0, 1.0, 2.0], 2, 'demo')
    """
    from safetensors.numpy import save

    folder = Path(os.fspath(folder))
    arrays = _check_arrays(arrays)
    weights = save(arrays)
    text = _config_text(kind, config, _sha256_bytes(weights), arrays).encode("utf-8")
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder}: exists and is a file; a model is a folder (pick another --out)")
    if folder.is_dir():
        # Weights first: a reader between the two renames sees new weights with the old config's hash and
        # gets a clear "weights do not match" error, never a silently mixed model.
        try:
            # seglab's one atomic writer: temporary file, fsync, rename, folder fsync
            atomic_write(folder / WEIGHTS_FILE, lambda fh: fh.write(weights))
            atomic_write(folder / CONFIG_FILE, lambda fh: fh.write(text))
        except OSError as exc:
            raise _write_failed(folder, exc) from exc
        return folder
    temp = folder.parent / f".{folder.name}.{secrets.token_hex(6)}.tmpdir"
    try:
        temp.mkdir()
        _write_synced(temp / WEIGHTS_FILE, weights)
        _write_synced(temp / CONFIG_FILE, text)
        fsync_dir(temp)
        os.rename(temp, folder)
        temp = None
        fsync_dir(folder.parent)
    except SeglabError:
        raise
    except OSError as exc:
        if isinstance(exc, (FileExistsError, IsADirectoryError)) or folder.exists():
            raise ModelError(f"{folder}: appeared while the model was being written; nothing was replaced") from None
        raise _write_failed(folder, exc) from exc
    finally:
        if temp is not None and temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return folder


# -- loading --------------------------------------------------------------------------------------
def _describe_unsafe(data: bytes) -> str | None:
    """Name the format of `data` when it is one that runs code on load (or hides one)."""
    if data[:1] and data[0] == _PICKLE_PROTOCOL_BYTE:
        return "a Python pickle (as written by pickle or joblib)"
    if data.startswith(_ZIP_MAGIC):
        return "a zip archive (as written by torch.save, numpy.savez or joblib)"
    if data.startswith(b"\x93NUMPY"):
        return "a NumPy .npy file"
    return None


def _not_safetensors(path: Path, data: bytes) -> str | None:
    """Return why `data` is not a well-formed safetensors file, or None."""
    if len(data) < 10:
        return f"{path}: is {len(data)} bytes long, too short to be a safetensors file"
    header_size = int.from_bytes(data[:8], "little")
    if header_size <= 1 or 8 + header_size > len(data) or data[8:9] != b"{":
        return f"{path}: is not a safetensors file (its first bytes are not a safetensors header)"
    return None


def read_config(folder: str | os.PathLike, *, kind: str | None = None) -> dict[str, Any]:
    """Return the checked ``config.json`` of a model folder (the weights are not read).

    Raises
    ------
    ModelError
        Not a model folder, an unreadable or foreign config, an unknown format
        version, or a different `kind`.
    """
    folder = Path(os.fspath(folder))
    if not folder.exists():
        raise ModelError(f"model folder {str(folder)!r} does not exist; train one with `seglab train ... --out "
                         f"{folder}` or give the folder that holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    if not folder.is_dir():
        raise ModelError(f"{folder}: is a file; a model is a folder holding {CONFIG_FILE} and {WEIGHTS_FILE}"
                         + _unsafe_hint([folder]))
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: has no {CONFIG_FILE}, so it is not a seglab model folder"
                         + _unsafe_hint(folder.iterdir()))
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: is larger than {MAX_CONFIG_BYTES // 2**20} MiB; not a seglab model config")
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: is not valid JSON ({exc}); the model folder is damaged") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{path}: is not a seglab model config (no \"format\": \"{FORMAT}\")")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelError(f"{path}: has no integer format_version; the model folder is damaged")
    if version != FORMAT_VERSION:
        newer = " (written by a newer seglab; upgrade seglab)" if version > FORMAT_VERSION else ""
        raise ModelError(f"{path}: model format version {version} is not supported; this seglab reads version "
                         f"{FORMAT_VERSION}{newer}")
    if kind is not None and config.get("kind") != kind:
        raise ModelError(f"{folder}: is a {config.get('kind')!r} model; expected a {kind!r} model (use it with "
                         f"method {config.get('kind')!r}, or train a {kind!r} model)")
    weights = config.get("weights")
    if not isinstance(weights, dict) or not isinstance(weights.get("sha256"), str) \
            or not isinstance(weights.get("arrays"), dict):
        raise ModelError(f"{path}: has no weights record (sha256 and arrays); the model folder is damaged")
    return config


def _unsafe_hint(paths: Iterable[Path]) -> str:
    unsafe = sorted(p.name for p in paths if p.suffix.lower() in _UNSAFE_SUFFIXES)
    if not unsafe:
        return ""
    return (f" (found {', '.join(unsafe)}: seglab never loads pickle, joblib or torch files, because loading "
            "them can run arbitrary code)")


def load_model(folder: str | os.PathLike, *, kind: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model folder without executing anything from it.

    Checks, in order: the folder and its ``config.json`` (format, version,
    `kind`), that ``weights.safetensors`` exists, is not a pickle/joblib/zip
    file, is a safetensors file, has the SHA-256 the config records, and holds
    exactly the arrays (names, dtypes, shapes) the config lists.

    Parameters
    ----------
    folder : str or os.PathLike
        A folder written by :func:`save_model`.
    kind : str, optional
        Registry key the model must have (``"pixel_classifier"``, ``"unet"``).

    Returns
    -------
    arrays : dict of str -> ndarray
        The weights.
    config : dict
        The whole config (the caller's keys plus ``kind``, ``format_version``,
        ``seglab_version``, ``libraries``, ``created`` and ``weights``).

    Raises
    ------
    ModelError
        Any of the checks above fails; the message names the file and what to do.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    folder = Path(os.fspath(folder))
    config = read_config(folder, kind=kind)
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: has no {WEIGHTS_FILE} (renamed or deleted?); the model cannot be used"
                         + _unsafe_hint(folder.iterdir()))
    data = path.read_bytes()
    unsafe = _describe_unsafe(data)
    if unsafe is not None:
        raise ModelError(f"{path}: is {unsafe}, not safetensors; seglab refuses it because loading it could run "
                         "arbitrary code. Re-train the model with seglab, or convert it to safetensors yourself")
    problem = _not_safetensors(path, data)
    if problem is not None:
        raise ModelError(problem)
    expected = config["weights"]["sha256"]
    if _sha256_bytes(data) != expected:
        raise ModelError(f"{path}: its SHA-256 does not match the one recorded in {CONFIG_FILE}; the weights were "
                         "changed or mixed up with another model's. Re-train or restore the original folder")
    try:
        arrays = load(data)
    except SafetensorError as exc:
        raise ModelError(f"{path}: cannot be decoded as safetensors ({exc})") from None
    listed = config["weights"]["arrays"]
    found = {n: {"dtype": str(a.dtype), "shape": list(a.shape)} for n, a in arrays.items()}
    if found != listed:
        raise ModelError(f"{path}: holds arrays {sorted(found)} that do not match the {len(listed)} listed in "
                         f"{CONFIG_FILE}; the model folder is damaged")
    return arrays, config

# The name seglab.learn exports (listed in seglab/learn/__init__.pyi).
read_model_config = read_config
