"""Per-pixel features at several scales: ilastik's pixel-classification feature set.

For every scale ``sigma`` (ilastik's default choice set is 0.3, 0.7, 1.0, 1.6,
3.5, 5.0 and 10.0) and every channel:

* ``intensity``: Gaussian smoothing ``G_sigma * I``;
* ``edges``: Laplacian of Gaussian, Gaussian gradient magnitude, and the
  difference of Gaussians ``G_sigma * I - G_{0.66 sigma} * I``;
* ``texture``: eigenvalues of the structure tensor (gradients at
  ``sigma / 2``, products smoothed at ``sigma``) and of the Hessian of
  Gaussian, largest first.

As in ilastik, the smallest scale (``sigma < 0.7``) gets only the smoothing:
derivatives at 0.3 pixels are dominated by aliasing. Every derivative comes
from separable 1-D Gaussian-derivative passes (:func:`scipy.ndimage.gaussian_filter1d`,
truncated at 4 sigma, ``mode='reflect'``); the passes shared by several
derivatives run once. SciPy's filters are used rather than OpenCV's because
their results do not depend on memory alignment, so a tile's features equal
the whole image's bit for bit away from the border (the tiled prediction is
exact with the halo :func:`feature_halo` gives).

Intensities are scaled by their dtype before filtering (integers by the
dtype's maximum, so uint8 255 and uint16 65535 are both 1.0; floats as they
are), so a model trained on 8-bit images reads the same features from the same
picture stored as 16-bit.

Features of the last few images are cached (keyed by the image's bytes,
shape, dtype and the feature settings), which is what makes retraining after
each new scribble interactive: only the forest is refitted.

References
----------
Sommer C, Straehle C, Koethe U, Hamprecht FA (2011) ilastik: Interactive Learning and Segmentation
Toolkit. ISBI, doi:10.1109/ISBI.2011.5872394. Berg S et al. (2019) ilastik: interactive machine learning
for (bio)image analysis. Nat Methods 16:1226, doi:10.1038/s41592-019-0582-9.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError

__all__ = ["pixel_features", "feature_names", "feature_halo", "clear_feature_cache", "DEFAULT_SIGMAS",
           "FEATURE_GROUPS"]

DEFAULT_SIGMAS = (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
FEATURE_GROUPS = ("intensity", "edges", "texture")
#: Scales below this get only the smoothing, as in ilastik.
MIN_DERIVATIVE_SIGMA = 0.7
DOG_RATIO = 0.66
TRUNCATE = 4.0
# Largest feature scale: a Gaussian of sigma 256 spans 2,049 pixels; larger ones only cost memory and time.
MAX_SIGMA = 256.0
#: Threads computing feature scales in parallel (the machines this targets have 2 cores).
FEATURE_THREADS = min(2, os.cpu_count() or 1)
_CACHE_ITEMS = 4
_INTERLEAVE = 1 << 16
_CACHE_BYTES = 1 << 30


def _radius(sigma: float) -> int:
    # The kernel radius scipy.ndimage uses: int(truncate * sigma + 0.5).
    return int(TRUNCATE * float(sigma) + 0.5)


def feature_halo(sigmas: Sequence[float] = DEFAULT_SIGMAS, features: Sequence[str] = FEATURE_GROUPS) -> int:
    """Pixels of context a tile needs so its features equal the whole image's.

    The widest support is the structure tensor's: a gradient at ``sigma / 2``
    followed by smoothing at ``sigma``; the other features need one kernel radius.

    Examples
    --------
    >>> feature_halo((1.0, 10.0))
    61
    >>> feature_halo((1.0, 10.0), ("intensity",))
    41
    """
    sigmas, features = _check_settings(sigmas, features)
    halo = 0
    for sigma in sigmas:
        need = _radius(sigma)
        if sigma >= MIN_DERIVATIVE_SIGMA and "texture" in features:
            need = _radius(sigma / 2) + _radius(sigma)
        halo = max(halo, need)
    return halo + 1  # one pixel to spare: the filters' support is exactly `halo - 1`


def _check_settings(sigmas, features) -> tuple[tuple[float, ...], tuple[str, ...]]:
    try:
        sigmas = tuple(float(s) for s in np.atleast_1d(np.asarray(sigmas, dtype=np.float64)).ravel())
    except (TypeError, ValueError):
        raise ParameterError(f"`sigmas` must be numbers; got {sigmas!r}") from None
    if not sigmas or any(not math.isfinite(s) or s <= 0 for s in sigmas):
        raise ParameterError(f"`sigmas` must be one or more positive numbers; got {sigmas!r}")
    if max(sigmas) > MAX_SIGMA:
        # the Gaussian's kernel is 8 sigma wide: sigma 1e9 asked for 60 GiB before anything was computed
        raise ParameterError(f"`sigmas` got {max(sigmas):g}; the feature scales must be at most {MAX_SIGMA:g} pixels "
                             "(a Gaussian that wide already averages over 2,000 pixels)")
    if len(set(sigmas)) != len(sigmas):
        raise ParameterError(f"`sigmas` has repeated values: {sigmas!r}")
    if isinstance(features, str):
        features = (features,)
    features = tuple(features)
    unknown = [f for f in features if f not in FEATURE_GROUPS]
    if unknown or not features:
        raise ParameterError(f"`features` got {features!r}; expected one or more of {', '.join(FEATURE_GROUPS)}")
    return tuple(sorted(sigmas)), tuple(f for f in FEATURE_GROUPS if f in features)


def _names_for_sigma(sigma: float, features: tuple[str, ...], ndim: int) -> list[str]:
    names = []
    if "intensity" in features:
        names.append("gaussian")
    if sigma < MIN_DERIVATIVE_SIGMA:
        return names
    if "edges" in features:
        names += ["laplacian_of_gaussian", "gradient_magnitude", "difference_of_gaussians"]
    if "texture" in features:
        names += [f"structure_tensor_ev{i}" for i in range(ndim)]
        names += [f"hessian_ev{i}" for i in range(ndim)]
    return names


def feature_names(sigmas: Sequence[float] = DEFAULT_SIGMAS, features: Sequence[str] = FEATURE_GROUPS, *,
                  channels: int = 1, ndim: int = 2) -> list[str]:
    """Names of the columns :func:`pixel_features` returns, in order.

    Examples
    --------
    >>> feature_names((0.3, 1.0), ("intensity", "edges"))  # doctest: +NORMALIZE_WHITESPACE
    ['gaussian(0.3)', 'gaussian(1.0)', 'laplacian_of_gaussian(1.0)', 'gradient_magnitude(1.0)',
     'difference_of_gaussians(1.0)']
    """
    sigmas, features = _check_settings(sigmas, features)
    names = []
    for channel in range(channels):
        prefix = f"c{channel}:" if channels > 1 else ""
        for sigma in sigmas:
            names += [f"{prefix}{n}({sigma})" for n in _names_for_sigma(sigma, features, ndim)]
    return names


def as_feature_input(image: np.ndarray) -> np.ndarray:
    """Return `image` as float32 scaled by its dtype (integers by the dtype's maximum)."""
    if image.dtype == bool:
        return image.astype(np.float32)
    if image.dtype.kind in "ui":
        # float64 division then one rounding to float32: uint8 v and uint16 257 v give the same value.
        return (image.astype(np.float64) / float(np.iinfo(image.dtype).max)).astype(np.float32)
    return image.astype(np.float32, copy=False)


class _Derivatives:
    """Gaussian derivatives of one channel at one sigma, sharing 1-D passes between them."""

    def __init__(self, image: np.ndarray, sigma: float):
        self.image = image
        self.sigma = sigma
        self.memo: dict[tuple[int, ...], np.ndarray] = {}

    def __call__(self, orders: tuple[int, ...]) -> np.ndarray:
        from scipy.ndimage import gaussian_filter1d

        if orders in self.memo:
            return self.memo[orders]
        # Axis by axis; every prefix of `orders` is kept, so d/dr and d2/dr2 share the column pass.
        prefix: tuple[int, ...] = ()
        data = self.image
        for axis, order in enumerate(orders):
            prefix = prefix + (order,)
            cached = self.memo.get(prefix)
            if cached is None:
                cached = gaussian_filter1d(data, self.sigma, axis=axis, order=order, mode="reflect",
                                           truncate=TRUNCATE, output=np.float32)
                self.memo[prefix] = cached
            data = cached
        return data


def _unit(ndim: int, axis: int, order: int) -> tuple[int, ...]:
    return tuple(order if a == axis else 0 for a in range(ndim))


def _sym_eigenvalues(entries: dict[tuple[int, int], np.ndarray], ndim: int) -> list[np.ndarray]:
    """Eigenvalues, largest first, of a field of symmetric matrices given by their upper entries."""
    if ndim == 2:
        # Closed form in float32: features need no more precision, and each pixel is computed alone,
        # so a tile gets exactly the whole image's values.
        a, b, c = entries[(0, 0)], entries[(0, 1)], entries[(1, 1)]
        half_trace = (a + c) * np.float32(0.5)
        half_diff = (a - c) * np.float32(0.5)
        root = np.sqrt(half_diff * half_diff + b * b)
        return [half_trace + root, half_trace - root]
    matrix = np.empty(entries[(0, 0)].shape + (ndim, ndim), np.float64)
    for (i, j), value in entries.items():
        matrix[..., i, j] = value
        matrix[..., j, i] = value
    values = np.linalg.eigvalsh(matrix)[..., ::-1]
    return [values[..., i].astype(np.float32) for i in range(ndim)]


def _channel_features(image: np.ndarray, sigmas: tuple[float, ...], features: tuple[str, ...]) -> list[np.ndarray]:
    from scipy.ndimage import gaussian_filter1d

    ndim = image.ndim
    out: list[np.ndarray] = []
    for sigma in sigmas:
        d = _Derivatives(image, sigma)
        zero = (0,) * ndim
        if "intensity" in features:
            out.append(d(zero))
        if sigma < MIN_DERIVATIVE_SIGMA:
            continue
        if "edges" in features:
            second = [d(_unit(ndim, a, 2)) for a in range(ndim)]
            out.append(np.asarray(np.sum(second, axis=0, dtype=np.float32) if ndim > 2 else second[0] + second[1]))
            grads = [d(_unit(ndim, a, 1)) for a in range(ndim)]
            out.append(np.sqrt(np.sum([g * g for g in grads], axis=0, dtype=np.float32)))
            narrow = _Derivatives(image, DOG_RATIO * sigma)(zero)
            out.append(d(zero) - narrow)
        if "texture" in features:
            inner = _Derivatives(image, sigma / 2)
            grads = [inner(_unit(ndim, a, 1)) for a in range(ndim)]
            tensor = {}
            for i in range(ndim):
                for j in range(i, ndim):
                    product = grads[i] * grads[j]
                    for axis in range(ndim):
                        product = gaussian_filter1d(product, sigma, axis=axis, mode="reflect", truncate=TRUNCATE,
                                                    output=np.float32)
                    tensor[(i, j)] = product
            out += _sym_eigenvalues(tensor, ndim)
            hessian = {}
            for i in range(ndim):
                for j in range(i, ndim):
                    orders = tuple((2 if i == j else 1) if a in (i, j) else 0 for a in range(ndim))
                    hessian[(i, j)] = d(orders)
            out += _sym_eigenvalues(hessian, ndim)
    return out


def _compute(image: np.ndarray, spatial_ndim: int, sigmas, features) -> np.ndarray:
    data = as_feature_input(image)
    channels = [data] if data.ndim == spatial_ndim else [data[..., c] for c in range(data.shape[-1])]
    tasks = [(np.ascontiguousarray(channel), sigma) for channel in channels for sigma in sigmas]
    # SciPy's 1-D filters release the GIL, so scales run in parallel threads; each task is computed
    # exactly as it would be alone, so the result does not depend on the number of threads.
    workers = min(FEATURE_THREADS, len(tasks))
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda task: _channel_features(task[0], (task[1],), features), tasks))
    else:
        parts = [_channel_features(channel, (sigma,), features) for channel, sigma in tasks]
    columns = [array.reshape(-1) for part in parts for array in part]
    result = np.empty((columns[0].size, len(columns)), np.float32)
    # Interleave in blocks of pixels: writing one whole column at a time strides through the result
    # and costs about three times as much.
    for start in range(0, columns[0].size, _INTERLEAVE):
        stop = min(start + _INTERLEAVE, columns[0].size)
        result[start:stop] = np.stack([column[start:stop] for column in columns], axis=-1)
    return result.reshape(data.shape[:spatial_ndim] + (len(columns),))


class _FeatureCache:
    """A small LRU of computed features, bounded by item count and bytes (thread-safe)."""

    def __init__(self, items: int = _CACHE_ITEMS, max_bytes: int = _CACHE_BYTES):
        self.items = items
        self.max_bytes = max_bytes
        self.data: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return value

    def put(self, key, value: np.ndarray) -> None:
        if value.nbytes > self.max_bytes:
            return
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.items or sum(v.nbytes for v in self.data.values()) > self.max_bytes:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.hits = self.misses = 0


_CACHE = _FeatureCache()


def clear_feature_cache() -> None:
    """Forget every cached feature stack."""
    _CACHE.clear()


def _key(image: np.ndarray, spatial_ndim: int, sigmas, features) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(image).data.cast("B"))
    return (image.shape, image.dtype.str, spatial_ndim, sigmas, features, digest.hexdigest())


def pixel_features(image: ArrayLike, *, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                   features: Sequence[str] = FEATURE_GROUPS, channel_axis: int | str | None = "auto",
                   cache: bool = True) -> np.ndarray:
    """Compute ilastik's per-pixel features at several scales.

    Parameters
    ----------
    image : (M, N[, C]) or (P, M, N[, C]) array_like
        Gray or colour image, or a volume (features are then 3-D).
    sigmas : sequence of float
        Scales in pixels (ilastik's default choice set).
    features : sequence of {'intensity', 'edges', 'texture'}
        Feature groups (see the module docstring).
    channel_axis : {'auto', None, -1}
        See :func:`seglab.check_image`.
    cache : bool
        Reuse (and store) the result for an identical image and settings.

    Returns
    -------
    (M, N[, P], F) ndarray of float32
        One column per feature, named by :func:`feature_names`. A cached
        result is read-only (copy it before changing it).

    Raises
    ------
    ParameterError
        Bad `sigmas` or `features`.
    InvalidImageError, ImageTypeError
        An image that cannot be processed.

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.learn import pixel_features
    >>> pixel_features(np.zeros((16, 16), np.uint8), sigmas=(1.0, 3.5)).shape
    (16, 16, 16)
    """
    from seglab._core.validation import check_image

    sigmas, features = _check_settings(sigmas, features)
    array, info = check_image(image, channel_axis=channel_axis)
    if not cache:
        return _compute(array, info.spatial_ndim, sigmas, features)
    key = _key(array, info.spatial_ndim, sigmas, features)
    found = _CACHE.get(key)
    if found is not None:
        return found
    result = _compute(array, info.spatial_ndim, sigmas, features)
    result.setflags(write=False)
    _CACHE.put(key, result)
    return result
