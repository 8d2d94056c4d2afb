"""U-Net prediction: sliding windows with Gaussian blending, then threshold (semantic) or seeded watershed.

Tiling is exact by construction. Windows sit on a grid anchored at the image origin (starts at multiples of
the stride, the last one flush with the image end), like MONAI's ``dense_patch_slices``. The registry
declares ``halo = window rounded up to a multiple of the stride``. When the tiler's chunk is a multiple of
the stride too, a block (core +- halo, clipped to the image) starts at a multiple of the stride, so its own
grid is the global grid; every window that covers a core pixel starts less than one window before the
core and ends less than one window after it, so it lies inside the block and is one of the block's
windows; the block's extra last window (flush with a block end inside the image) lies wholly in the halo.
Each window is run alone (batch of one, so the arithmetic does not depend on its neighbours) and windows
are accumulated in raster order: a core pixel gets the same sum of the same terms in the same order, so
tile and whole image agree bit for bit. Post-processing is per pixel (threshold), per object
(``min_size``, halo ``min_size``) or per connected foreground component (the watershed, halo
``max_object_size``).

Normalisation: by default each image is mapped by its own 1st / 99.8th percentiles (a whole-image
statistic); a tile would compute its own. Give ``intensity_range=(lo, hi)`` (for instance
``seglab.deep.percentile_range(image)``) for tiled runs that equal the in-memory result.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from seglab._core.errors import ParameterError
from seglab._core.quiet import ignoring
from seglab._core.registry import validated
from seglab._core.validation import check_image

from ._data import PERCENTILES, labels_from_probabilities, normalize, percentile_range, window_starts

__all__ = ["unet", "unet_instance", "predict_probabilities", "load_unet", "sliding_window", "window_stride"]

_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def window_stride(window: int, overlap: float) -> int:
    """Stride between windows: ``window - round(window * overlap)`` (at least 1)."""
    return max(1, int(window) - int(round(int(window) * float(overlap))))


def _check_window(window: int, overlap: float) -> None:
    from ._net import STRIDE_MULTIPLE

    if int(window) % STRIDE_MULTIPLE or window < STRIDE_MULTIPLE:
        raise ParameterError(f"`window` got {window}; expected a positive multiple of {STRIDE_MULTIPLE} "
                             "(the U-Net halves the image four times)")
    if not 0.0 <= float(overlap) < 1.0:
        raise ParameterError(f"`overlap` got {overlap}; expected a number in [0, 1)")


class LoadedUNet:
    """A network with its config, ready to predict (kept in a small cache per model folder)."""

    def __init__(self, network, config: dict, device: str):
        self.network = network
        self.config = config
        self.device = device
        self._frozen: dict[int, Any] = {}

    def runner(self, window: int):
        """The network frozen for `window` x `window` inputs (TorchScript ``freeze`` +
        ``optimize_for_inference``: BatchNorm folded into the convolutions, weights pre-packed), about a
        third faster on a CPU than the eager module; the eager module when freezing is not possible.

        Every window of a run is the same size and goes through the same frozen graph, in memory and in
        every tile alike, so tiling stays exact; against the eager module (and so against MONAI) the
        probabilities differ by float rounding (about 1e-6).
        """
        if window not in self._frozen:
            import torch

            example = torch.zeros((1, 1, window, window), device=torch.device(self.device))
            try:
                with ignoring(Warning):
                    # tracing warns about BasicUNet's shape checks, fixed here because every window has one size
                    # (`ignoring`, not catch_warnings: tiles run on several threads of a dask worker)
                    with torch.inference_mode(False), torch.no_grad():
                        traced = torch.jit.trace(self.network, example, check_trace=False)
                        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
                        frozen(example)
            except Exception:  # pragma: no cover - a torch build without TorchScript: run the eager module
                frozen = self.network
            self._frozen[window] = frozen
        return self._frozen[window]


def load_unet(model: str | os.PathLike[str] | None, *, device: str = "auto") -> LoadedUNet:
    """Load a U-Net model folder (safetensors weights + config.json; no code is executed).

    Raises
    ------
    seglab.learn.ModelError
        The folder is not a U-Net model, or its files are damaged or do not match.
    """
    from seglab.learn import ModelError, load_model

    from ._net import arrays_to_state, build_network, resolve_device, torch_modules

    if model is None:
        raise ParameterError("the U-Net needs `model`: the folder written by `seglab train --model unet` "
                             "(Python: seglab.deep.train_unet)")
    torch = torch_modules()
    folder = Path(model)
    device = resolve_device(device)
    # a retrained or replaced model (new files, new mtimes) is loaded again, never served from the cache
    files = [folder / "weights.safetensors", folder / "config.json"]
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
    key = (str(folder.resolve()), stamp, device)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    arrays, config = load_model(folder, kind="unet")
    if config.get("architecture") != "monai.networks.nets.BasicUNet":
        raise ModelError(f"model {str(folder)!r} has architecture {config.get('architecture')!r}; this seglab "
                         "reads 'monai.networks.nets.BasicUNet'")
    network = build_network(config)
    arrays_to_state(network, arrays)
    network.eval().to(torch.device(device))
    loaded = LoadedUNet(network, config, device)
    with _CACHE_LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > 2:
            _CACHE.popitem(last=False)
    return loaded


def gaussian_weights(window: int, device: str = "cpu") -> np.ndarray:
    """MONAI's Gaussian importance map (sigma = window / 8, minimum raised above 0) as float32."""
    from monai.data.utils import compute_importance_map

    return compute_importance_map((window, window), mode="gaussian", sigma_scale=0.125,
                                  device="cpu").numpy().astype(np.float32)


def sliding_window(image: np.ndarray, predictor, *, window: int, overlap: float, n_out: int) -> np.ndarray:
    """Blend ``predictor(patch) -> (n_out, window, window)`` over windows on the global grid.

    `image` is a 2-D float32 array. Images smaller than `window` along an axis are padded with zeros at the
    end (as MONAI does, but one-sided so the grid stays anchored at the origin) and cropped back.
    """
    h, w = image.shape
    ph, pw = max(0, window - h), max(0, window - w)
    padded = np.pad(image, ((0, ph), (0, pw))) if ph or pw else image
    stride = window_stride(window, overlap)
    weights = gaussian_weights(window)
    H, W = padded.shape
    total = np.zeros((n_out, H, W), np.float32)
    norm = np.zeros((H, W), np.float32)
    for y in window_starts(H, window, stride):
        for x in window_starts(W, window, stride):
            out = predictor(padded[y:y + window, x:x + window])
            total[:, y:y + window, x:x + window] += out * weights
            norm[y:y + window, x:x + window] += weights
    total /= norm
    return total[:, :h, :w]


def _predictor(loaded: LoadedUNet, window: int, *, frozen: bool = True, tta: bool = False):
    torch = __import__("torch")
    device = torch.device(loaded.device)
    network = loaded.runner(window) if frozen else loaded.network

    def once(patch: np.ndarray) -> np.ndarray:
        with torch.no_grad(), ignoring(Warning):  # a frozen graph's first calls may warn about its profiling runs
            x = torch.from_numpy(np.ascontiguousarray(patch, dtype=np.float32))[None, None].to(device)
            return torch.softmax(network(x), dim=1)[0].float().cpu().numpy()

    if not tta:
        return once

    def flipped(patch: np.ndarray) -> np.ndarray:
        # test-time augmentation inside each window: the window and its three flips, flipped back and
        # averaged in a fixed order, so a window's output still depends on that window alone (tiling stays exact)
        total = once(patch)
        for axes in ((0,), (1,), (0, 1)):
            total += np.flip(once(np.flip(patch, axes)), tuple(a + 1 for a in axes))
        return total / np.float32(4.0)

    return flipped


def predict_probabilities(image: ArrayLike, model: str | os.PathLike[str] | None, *, window: int = 256,
                          overlap: float = 0.5,
                          intensity_range: tuple[float, float] | None = None,
                          device: str = "auto", tta: bool = False) -> tuple[np.ndarray, dict]:
    """Return per-class probabilities ``(K, M, N)`` of a U-Net model over `image`, and its config.

    Parameters
    ----------
    image : (M, N) array_like
        Single-channel 2-D image.
    model : str or Path
        Model folder.
    window : int
        Sliding-window size (a multiple of 16; the network is fully convolutional).
    overlap : float
        Fraction of a window shared with its neighbour, in [0, 1).
    intensity_range : (float, float), optional
        Intensities mapped to 0 and 1. None: the image's own (1, 99.8) percentiles, as at training.
    device : {'auto', 'cpu', 'cuda'}
    tta : bool
        Test-time augmentation: each window is also run flipped up-down, left-right and both, and the four
        outputs are averaged (4x the inference time).
    """
    _check_window(window, overlap)
    array, info = check_image(image, channel_axis=None)
    if array.ndim != 2:
        raise ParameterError(f"the U-Net works on 2-D single-channel images; got shape {array.shape}")
    loaded = load_unet(model, device=device)
    norm = loaded.config.get("normalization", {})
    percentiles = tuple(norm.get("percentiles", PERCENTILES))
    if intensity_range is None:
        intensity_range = percentile_range(array, percentiles)
    elif len(intensity_range) != 2:
        raise ParameterError(f"`intensity_range` got {intensity_range!r}; expected two numbers (low, high)")
    x = normalize(array, intensity_range)
    proba = sliding_window(x, _predictor(loaded, int(window), tta=bool(tta)), window=int(window),
                           overlap=float(overlap), n_out=int(loaded.config["out_channels"]))
    return proba, {"config": loaded.config, "intensity_range": tuple(float(v) for v in intensity_range)}


@validated
def unet(image: ArrayLike, *, model: str | None = None, threshold: float = 0.5, min_size: int = 0, window: int = 256,
         overlap: float = 0.5, intensity_range: tuple[float, float] | None = None,
         device: str = "auto", tta: bool = False) -> tuple[np.ndarray, dict]:
    """Segment `image` with a trained U-Net: foreground mask where the foreground probability > `threshold`.

    Parameters
    ----------
    image : (M, N) array_like
        Single-channel 2-D image.
    model : str or Path
        Model folder written by :func:`seglab.deep.train_unet` (``seglab train --model unet``).
    threshold : float
        Foreground probability above which a pixel is foreground (1 - P(background); for an instance model
        P(interior) + P(boundary)).
    min_size : int
        Remove foreground components smaller than this (pixels); 0 keeps all.
    window, overlap : int, float
        Sliding windows (Gaussian-blended, MONAI's importance map).
    intensity_range : (float, float), optional
        Intensities mapped to [0, 1]; None uses the image's (1, 99.8) percentiles. Set it for tiled runs.
    device : {'auto', 'cpu', 'cuda'}
    tta : bool
        Average each window with its flipped copies (test-time augmentation, 4x the inference time).

    Returns
    -------
    mask : (M, N) bool ndarray
        ``seglab.segment(image, "unet").info`` holds the values it chose: ``probability`` (float32
        foreground probability, an array -> ``result.extras``), ``task``, ``classes`` (a K-class
        model's argmax class map, K > 2 only), ``intensity_range``.

    References
    ----------
    Ronneberger et al. (2015), doi:10.1007/978-3-319-24574-4_28; MONAI ``sliding_window_inference``.
    """
    proba, meta = predict_probabilities(image, model, window=window, overlap=overlap,
                                        intensity_range=intensity_range, device=device, tta=tta)
    config = meta["config"]
    foreground = (1.0 - proba[0]).astype(np.float32)
    mask = foreground > threshold
    if min_size > 0:
        mask = _remove_small(mask, int(min_size))
    info: dict[str, Any] = {"probability": foreground, "task": config.get("task"),
                            "intensity_range": meta["intensity_range"]}
    if config.get("task") == "semantic" and proba.shape[0] > 2:
        info["classes"] = np.argmax(proba, axis=0).astype(np.int32)
    return mask, info


def _remove_small(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Drop 4-connected components with fewer than `min_size` pixels (as remove_small_objects does)."""
    from scipy import ndimage as ndi

    labels, _ = ndi.label(mask)
    small = np.bincount(labels.ravel()) < min_size
    small[0] = False
    return mask & ~small[labels]


@validated
def unet_instance(image: ArrayLike, *, model: str | None = None, threshold: float = 0.5, seed_threshold: float = 0.5,
                  min_size: int = 0, window: int = 256, overlap: float = 0.5,
                  intensity_range: tuple[float, float] | None = None, device: str = "auto",
                  tta: bool = False, max_object_size: int = 256, split_neck: float = 0.0) -> tuple[np.ndarray, dict]:
    """Label the objects of `image` with a trained U-Net (one label per object, touching objects apart).

    An instance model predicts interior / boundary / background; interiors above `seed_threshold` seed a
    watershed over the foreground (P(interior) + P(boundary) > `threshold`). A semantic binary model's
    foreground components are labelled as they are.

    Parameters
    ----------
    image : (M, N) array_like
        Single-channel 2-D image.
    model : str or Path
        Model folder written by :func:`seglab.deep.train_unet`.
    threshold : float
        Foreground probability threshold.
    seed_threshold : float
        Interior probability above which pixels seed an object.
    min_size : int
        Remove objects smaller than this (pixels).
    window, overlap, intensity_range, device, tta
        As in :func:`unet`.
    split_neck : float
        0 (default): one seed per connected seed region. In (0, 1]: a seed region is also cut where it
        narrows to less than `split_neck` times the half-width of the parts it joins (h-maxima of the log
        distance transform; see :func:`seglab.deep._data.labels_from_probabilities`), which parts touching
        objects whose interiors the network joined. A ratio, so it does not depend on the objects' size.
    max_object_size : int
        Tiled runs only: the largest object extent a tile's halo holds (objects are labelled from their own
        pixels, so a tile that holds one whole labels it as in memory).

    Returns
    -------
    labels : (M, N) int32 ndarray
        ``seglab.segment(image, "unet_instance").info`` holds the values it chose: ``probability``
        (foreground), ``interior`` (instance models), ``n_objects``, ``intensity_range``.

    References
    ----------
    Caicedo et al. (2019), doi:10.1002/cyto.a.23863 (3-class U-Net for nuclei); Schmidt et al. (2018),
    doi:10.1007/978-3-030-00934-2_30.
    """
    proba, meta = predict_probabilities(image, model, window=window, overlap=overlap,
                                        intensity_range=intensity_range, device=device, tta=tta)
    config = meta["config"]
    foreground = (1.0 - proba[0]).astype(np.float32)
    info: dict[str, Any] = {"probability": foreground, "task": config.get("task"),
                            "intensity_range": meta["intensity_range"]}
    if config.get("task") == "instance":
        interior = proba[1].astype(np.float32)
        info["interior"] = interior
        labels = labels_from_probabilities(interior, foreground, threshold=threshold,
                                           seed_threshold=seed_threshold, min_size=int(min_size),
                                           split_neck=float(split_neck))
    else:
        # a semantic model has no boundary class: its foreground components are the objects
        labels = labels_from_probabilities(foreground, foreground, threshold=threshold, seed_threshold=threshold,
                                           min_size=int(min_size), split_neck=float(split_neck))
    info["n_objects"] = int(labels.max())
    return labels, info
