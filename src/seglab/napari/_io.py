"""The plugin's reader (zarr stores ``seglab tile`` writes) and writer (Labels layers), over :mod:`seglab.io`.

No napari import: npe2 calls these with plain paths, arrays and dicts, and they return napari's
layer-data tuples ``(data, kwargs, layer_type)`` or the paths written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import ImageWriteError

__all__ = ["get_reader", "read_seglab_zarr", "write_labels", "is_seglab_zarr"]

_LABEL_OUTPUTS = ("mask", "labels", "contour")


def _zarr_attrs(path: Path) -> dict[str, Any] | None:
    """The attributes of the zarr array at `path` (v3 ``zarr.json`` or v2 ``.zattrs``), read as plain JSON."""
    v3 = path / "zarr.json"
    try:
        if v3.is_file():
            meta = json.loads(v3.read_text(encoding="utf-8"))
            if meta.get("node_type") != "array":
                return None
            return dict(meta.get("attributes") or {})
        if (path / ".zarray").is_file():
            v2 = path / ".zattrs"
            return dict(json.loads(v2.read_text(encoding="utf-8"))) if v2.is_file() else {}
    except (OSError, ValueError):
        return None
    return None


def is_seglab_zarr(path) -> bool:
    """True when `path` is a zarr array written by seglab's tiler (it records ``pipeline`` and ``output``)."""
    path = Path(path)
    if not path.is_dir():
        return False
    attrs = _zarr_attrs(path)
    return attrs is not None and "pipeline" in attrs and "output" in attrs


def get_reader(path):
    """npe2 reader hook: return :func:`read_seglab_zarr` for a seglab zarr output, else None.

    Returning None for any other path (a plain zarr, a TIFF) lets napari's other readers open it.
    """
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return read_seglab_zarr if is_seglab_zarr(path) else None


def read_seglab_zarr(path) -> list[tuple[Any, dict[str, Any], str]]:
    """Open a seglab zarr output lazily as one layer, its pipeline and provenance in ``metadata["seglab"]``.

    Masks, labels and filled contours become a Labels layer, edges and probabilities an Image layer.
    The data stay on disk: the layer reads the chunks the canvas shows.
    """
    import zarr

    if isinstance(path, (list, tuple)):
        path = path[0]
    path = Path(path)
    attrs = _zarr_attrs(path) or {}
    array = zarr.open_array(str(path), mode="r")
    output = attrs.get("output", "labels")
    metadata = {"seglab": {"pipeline": attrs.get("pipeline"), "output": output,
                           "provenance": attrs.get("provenance", {}), "complete": attrs.get("complete", False),
                           "path": str(path)}}
    name = path.name[: -len(".zarr")] if path.name.endswith(".zarr") else path.name
    layer_type = "labels" if output in _LABEL_OUTPUTS else "image"
    return [(array, {"name": name, "metadata": metadata}, layer_type)]


def write_labels(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """npe2 writer hook for one Labels layer: write it atomically with :func:`seglab.write`.

    The labels are stored in the smallest unsigned type that holds them (uint16, else uint32), as
    ``seglab segment`` stores its label images; ``bool``/0-1 masks too. When the layer carries
    seglab metadata (a result of the segment widget or the reader), its pipeline and info are
    written beside it as ``<stem>.json``.

    Returns
    -------
    list of str
        The files written.

    Raises
    ------
    ImageWriteError
        Negative labels (they have no unsigned form), or a format that cannot hold the labels.
    """
    from seglab.io import write, write_json

    array = np.asarray(data)
    if array.dtype.kind not in "biu":
        raise ImageWriteError(f"{path}: a labels layer must hold integers; got dtype {array.dtype}")
    if array.size and array.dtype.kind == "i" and int(array.min()) < 0:
        raise ImageWriteError(
            f"{path}: the labels hold negative values (min {int(array.min())}); seglab writes labels as unsigned "
            "integers (0 = background); relabel them first"
        )
    top = int(array.max()) if array.size else 0
    array = array.astype(np.uint16 if top < 2**16 else np.uint32)
    out = write(Path(path), array)
    written = [str(out)]
    record = (attributes or {}).get("metadata", {}).get("seglab")
    if record:
        side = out.with_name(out.name[: -len(out.suffix)] + ".json")
        write_json(side, {"layer": attributes.get("name"), "seglab": record})
        written.append(str(side))
    return written
