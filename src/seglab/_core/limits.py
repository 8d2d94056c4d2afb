"""Resource limits decided before a step runs: a small input must never cost gigabytes or hang.

:func:`check_step_cost` runs before every pipeline step (``seglab._core.pipeline``
calls it just before the step's function). It refuses, with a message that
names the parameter and the largest value that would run:

* integer parameters beyond int64 (they would reach OpenCV or NumPy as
  "Python int too large to convert to C long");
* a window larger than the image can use: the step's declared *halo* (the
  pixels of context it reads on each side, :attr:`MethodSpec.halo`) grown past
  ``2 * (largest image side) + 64`` by a parameter raised above its default.
  A window that wide sees the whole (mirrored) image already; wider only costs
  memory and time (a closing radius of 1e9 asks for a 2e9 x 2e9 footprint);
* a memory estimate (padded float64 working copies plus the footprint) above
  the memory this process can still get (:func:`available_memory`:
  ``psutil``'s available memory, and the address-space limit when one is set);
* global-histogram methods (``tiling="global"``) on wide integer images
  (uint32/int64 values spread over billions of levels): one histogram bin per
  level would need gigabytes for a 64 x 64 image.

:func:`check_step_item` checks the shape of a step given as a mapping or a pair
(``{"name": ..., "params": {...}}``), so a list where a mapping belongs is a
:class:`ParameterError`, not a raw ``TypeError``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ParameterError, ResourceLimitError, short_repr
from .validation import has_channel_axis

__all__ = [
    "INT64_MAX",
    "available_memory",
    "check_int64",
    "check_process_count",
    "check_step_cost",
    "check_step_item",
    "format_bytes",
    "window_limit",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Float64 working copies of the (padded) image a typical step makes; benchmarks/MEMORY.md measures
# most methods at or under two.
_WORKING_COPIES = 2
# Histogram methods: one int64 count and one center per level, plus temporaries.
_HISTOGRAM_BYTES_PER_BIN = 24
# Above this many integer levels *and* more levels than 4 per pixel, a per-level histogram is refused.
_HISTOGRAM_MIN_LEVELS = 1 << 20


def format_bytes(n: float) -> str:
    """'1.5 GiB' for messages."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def available_memory() -> int:
    """Bytes this process can still allocate: available RAM, capped by RLIMIT_AS when set."""
    import psutil

    available = int(psutil.virtual_memory().available)
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            used = int(psutil.Process(os.getpid()).memory_info().vms)
            available = min(available, max(0, soft - used))
    except (ImportError, OSError, ValueError):  # no `resource` module (Windows) or no limit to read
        pass
    return available


# A local worker process costs about this much memory before it does any work: an interpreter with NumPy,
# SciPy and the method's library imported (170 MiB measured for tune's pool workers).
_PROCESS_BYTES = 160 << 20
# More worker processes than this many per core only add memory and start-up time, never speed.
_PROCESSES_PER_CORE = 4


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def check_process_count(n: Any, *, name: str) -> int:
    """Refuse a number of local worker processes this machine cannot hold; return it as an int.

    `n` processes are started before any work is done, so ``--jobs 100000`` would fork until the
    machine runs out of memory. Allowed: 1 to 4 per usable core, and no more than the available
    memory holds at about 160 MiB each.

    Raises
    ------
    ParameterError
        Not an integer >= 1, or more than 4 per core.
    ResourceLimitError
        More processes than the available memory holds.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"`{name}` must be an integer >= 1 (a number of worker processes); got {short_repr(n)}")
    n = int(n)
    cores = usable_cores()
    limit = _PROCESSES_PER_CORE * cores
    if n > limit:
        raise ParameterError(
            f"`{name}` got {short_repr(n)} worker processes; this machine has {cores} core(s), and more than "
            f"{_PROCESSES_PER_CORE} processes per core only add memory and start-up time. Use {name} <= {limit}"
        )
    need, available = n * _PROCESS_BYTES, available_memory()
    if need > available:
        fits = max(1, available // _PROCESS_BYTES)
        raise ResourceLimitError(
            f"`{name}` = {n} worker processes need about {format_bytes(need)} of memory ({format_bytes(_PROCESS_BYTES)}"
            f" each); {format_bytes(available)} is available. Use {name} <= {fits}"
        )
    return n


def _label(spec, name: str) -> str:
    word = {"method": "method", "pre": "pre-step", "post": "post-step"}.get(spec.kind, "step")
    return f"parameter `{name}` of {word} {spec.name!r}"


def check_int64(name: str, value: Any, *, owner: str = "") -> None:
    """Raise ParameterError if `value` (or an item of a tuple) is an int outside int64."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    for item in items:
        is_int = isinstance(item, (int, np.integer)) and not isinstance(item, bool)
        if is_int and not INT64_MIN <= int(item) <= INT64_MAX:
            where = f" of {owner!r}" if owner else ""
            raise ParameterError(
                f"parameter `{name}`{where} got {short_repr(int(item))}; integers must fit in 64 bits "
                f"(at most {INT64_MAX:,}); use a value in the parameter's range"
            )


def check_step_item(item: Any, kind: str) -> None:
    """Refuse a step given as a mapping or pair whose parameters are not a mapping (before it is parsed)."""
    if isinstance(item, Mapping):
        params = item.get("params")
        name = item.get("name")
    elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) == 2:
        name, params = item[0], item[1]
    else:
        return
    if not isinstance(name, str) and name is not None:
        raise ParameterError(f"the name of a {kind}-step must be a string; got {short_repr(name)}")
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(
            f"the params of {kind}-step {short_repr(name)} must be a mapping of name: value "
            f"(YAML `params: {{size: 3}}`); got a {type(params).__name__}: {short_repr(params)}"
        )


def _spatial_shape(spec, data: np.ndarray) -> tuple[int, ...]:
    shape = tuple(int(s) for s in np.shape(data))
    if has_channel_axis(shape) and (len(shape) == 4 or spec.channels != "gray"):
        return shape[:-1]
    return shape


def window_limit(shape: Sequence[int]) -> int:
    """Largest halo (pixels each side) a step may read around an image of spatial `shape`."""
    return 2 * max(int(s) for s in shape) + 64


def _halo(spec, params: Mapping[str, Any]) -> int | None:
    try:
        value = spec.halo(params)
        return int(value) if value is not None and math.isfinite(float(value)) else None
    except Exception:  # noqa: BLE001 - a halo that cannot be computed is the tiler's problem, not a limit
        return None


def _culprit(spec, params: Mapping[str, Any], halo: int) -> str | None:
    """The parameter whose reset to its default shrinks the halo the most."""
    defaults = spec.defaults()
    best, best_halo = None, halo
    for p in spec.params:
        if p.type not in ("int", "float") or params.get(p.name) == defaults.get(p.name):
            continue
        trial = _halo(spec, {**params, p.name: p.default})
        if trial is not None and trial < best_halo:
            best, best_halo = p.name, trial
    return best


def _largest_allowed(spec, params: Mapping[str, Any], name: str, limit: int):
    """Largest value of parameter `name` whose halo stays within `limit` (bisection; halo grows with it)."""
    param = spec.param(name)
    low = param.default if isinstance(param.default, (int, float)) and not isinstance(param.default, bool) else 0
    high = params[name]
    halo_at_low = _halo(spec, {**params, name: low})
    if halo_at_low is None or halo_at_low > limit:
        return None
    for _ in range(200):
        if param.type == "int" and high - low <= 1:
            break
        if param.type == "float" and high - low <= max(1e-3, abs(low) * 1e-4):
            break
        mid = (low + high) // 2 if param.type == "int" else (low + high) / 2
        halo = _halo(spec, {**params, name: mid})
        if halo is not None and halo <= limit:
            low = mid
        else:
            high = mid
    if param.type == "int" and param.odd and low % 2 == 0:
        low -= 1
    return low if param.type == "int" else round(low, 3)


#: Memory estimates below this are not checked against the machine (see check_step_cost).
_ALWAYS_AFFORDABLE = 64 * 2**20


def check_step_cost(spec, data, params: Mapping[str, Any]) -> None:
    """Refuse a step whose parameters or input would cost more than the image can justify or the machine has.

    Parameters
    ----------
    spec : MethodSpec
        The step about to run.
    data : ndarray
        Its input (image, or mask/labels for post-steps).
    params : mapping
        Its resolved parameters.

    Raises
    ------
    ParameterError
        An integer beyond int64, or a window wider than the image can use
        (the message names the parameter and the largest value that runs).
    ResourceLimitError
        The memory estimate exceeds :func:`available_memory`.
    """
    for name, value in params.items():
        check_int64(name, value, owner=spec.name)
    if not isinstance(data, np.ndarray) or data.size == 0:
        return
    shape = _spatial_shape(spec, data)
    if not shape:
        return
    _check_extent_params(spec, params, shape)
    # Sizes that only widen the tiler's halo (Param.halo_only) cost nothing here: judge the window without them.
    params = {**params, **{p.name: p.default for p in spec.params if p.halo_only and p.name in params}}
    halo = _halo(spec, params)
    default_halo = _halo(spec, spec.defaults()) or 0
    limit = max(default_halo, window_limit(shape))
    culprit = None
    if halo is not None and halo > limit:
        culprit = _culprit(spec, params, halo)
        if culprit is not None:
            largest = _largest_allowed(spec, params, culprit, limit)
            hint = f"; use {culprit} <= {largest}" if largest is not None else ""
            raise ParameterError(
                f"{_label(spec, culprit)} got {short_repr(params[culprit])}: its window reaches {halo:,} pixels "
                f"around each pixel, more than the image ({' x '.join(map(str, shape))}) can use "
                f"(at most {limit:,}){hint}"
            )
    channels = int(np.prod(np.shape(data)[len(shape):])) if len(np.shape(data)) > len(shape) else 1
    h = max(0, halo or 0)
    padded = math.prod(s + 2 * h for s in shape) * channels
    estimate = 8 * _WORKING_COPIES * padded + (2 * h + 1) ** len(shape)
    # Asking the OS for free memory costs about 0.3 ms (psutil reads /proc/meminfo): as much as Otsu on a
    # 512 x 512 image. Below a floor that any machine running seglab has, the answer cannot change anything.
    available = available_memory() if estimate > _ALWAYS_AFFORDABLE else None
    if available is not None and estimate > available:
        culprit = _culprit(spec, params, h) if h > default_halo else None
        what = (f"{_label(spec, culprit)} = {short_repr(params[culprit])} (a window of {h:,} pixels each side)"
                if culprit else f"{spec.kind} {spec.name!r} on an image of shape {tuple(np.shape(data))}")
        raise ResourceLimitError(
            f"{what} needs about {format_bytes(estimate)} of memory; {format_bytes(available)} is available. "
            + (f"Use a smaller `{culprit}`" if culprit else "Process the image in tiles (seglab tile) or crop it")
        )
    if data.dtype.kind in "iu" and data.dtype.itemsize >= 4 and _builds_histogram(spec, params):
        _check_histogram(spec, data, available if available is not None else available_memory())


def _check_extent_params(spec, params: Mapping[str, Any], shape: tuple[int, ...]) -> None:
    # Lengths in pixels outside a declared halo (Param.extent) are bounded by the image's largest side.
    largest = max(shape)
    for name in (p.name for p in spec.params if p.extent):
        value = params.get(name)
        items = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) and v > largest for v in items):
            raise ParameterError(
                f"{_label(spec, name)} got {short_repr(value)}; it is a length in pixels and the image "
                f"({' x '.join(map(str, shape))}) is at most {largest} long; use {name} <= {largest}"
            )


def _builds_histogram(spec, params: Mapping[str, Any]) -> bool:
    """The spec's ``histogram`` fact; by default the global-statistic steps count one."""
    if spec.histogram is not None:
        return bool(spec.histogram(params))
    return spec.tiling == "global"


def _check_histogram(spec, data: np.ndarray, available: int) -> None:
    low, high = int(data.min()), int(data.max())
    levels = high - low + 1
    nbytes = levels * _HISTOGRAM_BYTES_PER_BIN
    if (levels > _HISTOGRAM_MIN_LEVELS and levels > 4 * data.size) or nbytes > available:
        raise ResourceLimitError(
            f"{spec.kind} {spec.name!r} builds one histogram bin per integer level, and the image's values "
            f"({data.dtype}, {low:,} to {high:,}) span {levels:,} levels (about {format_bytes(nbytes)}, "
            f"for {data.size:,} pixels); convert the image to float32 (256 bins, "
            f"image.astype(np.float32)) or rescale it to uint16 first"
        )
