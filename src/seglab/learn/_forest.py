"""A random-forest pixel classifier (the ilastik / Trainable Weka Segmentation idea), saved without pickle.

Training: :func:`pixel_features` of each image, the feature vectors of the
labelled pixels (scribbles: 0 = unlabelled, 1..K = classes; or full masks),
and a :class:`sklearn.ensemble.RandomForestClassifier`. When more pixels are
labelled than ``max_samples`` (full masks), a seeded subset with the same
number of pixels from each class is drawn. The samples are handed to
scikit-learn as float32 in feature-major (Fortran) order, which its tree
builder reads fastest; the trees are the ones row-major samples give.

Saving: every tree's node arrays (children, split feature, threshold, impurity,
sample counts, class fractions) are concatenated into plain arrays and written
with :func:`seglab.learn.save_model` (safetensors + JSON). Loading rebuilds the
trees from those arrays: scikit-learn's own ``Tree`` objects are filled
through their documented state (the same fields pickle would carry, but read
from safetensors, so nothing in the file is executed), which predicts with
scikit-learn's compiled code; a pure-NumPy traversal of the same arrays is the
fallback when scikit-learn is absent or its tree layout changes. Both give the
forest's ``predict_proba`` bit for bit: trees are summed in the forest's order
and divided by their number, as scikit-learn does with one job; pixels are
split into blocks across threads (never trees), so the result does not depend
on the thread count.

Uncertainty is ilastik's: one minus the margin between the two most probable
classes (0 = sure, 1 = a tie), the place where a new scribble helps most.

References
----------
Breiman L (2001) Random Forests. Machine Learning 45:5-32, doi:10.1023/A:1010933404324.
Arganda-Carreras I et al. (2017) Trainable Weka Segmentation. Bioinformatics 33:2424,
doi:10.1093/bioinformatics/btx180.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import InvalidImageError, MissingInputError, ParameterError, ShapeMismatchError
from seglab._core.registry import validated

from ._artifact import ModelError, hash_arrays, load_model, read_config, save_model
from ._features import DEFAULT_SIGMAS, FEATURE_GROUPS, _check_settings, feature_halo, feature_names, pixel_features

__all__ = ["PixelClassifier", "fit_pixel_classifier", "pixel_classifier", "labels_from_truth", "uncertainty",
           "KIND"]

KIND = "pixel_classifier"
#: Node fields of every tree, stored as one concatenated array each.
TREE_FIELDS = ("children_left", "children_right", "feature", "threshold", "impurity", "n_node_samples",
               "weighted_n_node_samples", "missing_go_to_left")
# scikit-learn's Tree state names these fields differently.
_STATE_NAMES = {"children_left": "left_child", "children_right": "right_child"}
# Rows per block: a block's features (8192 x 49 float32 = 1.6 MB) stay in cache while every tree
# visits them, which is what makes block-wise prediction faster than tree-by-tree over the whole image.
_BLOCK_ROWS = 1 << 13
PREDICT_THREADS = min(2, os.cpu_count() or 1)
#: Below this many training samples the forest is fitted on one thread (same trees, less overhead).
_PARALLEL_FIT_SAMPLES = 5000
_GATHER_ROWS = 1 << 14
_BINCOUNT_VALUES = 1 << 16


def uncertainty(proba: np.ndarray) -> np.ndarray:
    """One minus the margin between the two largest class probabilities (last axis).

    Examples
    --------
    >>> import numpy as np
    >>> uncertainty(np.array([[0.9, 0.1], [0.5, 0.5]]))
    array([0.2, 1. ], dtype=float32)
    """
    if proba.shape[-1] < 2:
        return np.zeros(proba.shape[:-1], np.float32)
    if proba.shape[-1] == 2:  # the common case, without a partition per pixel
        return (1.0 - np.abs(proba[..., 1] - proba[..., 0])).astype(np.float32)
    top = np.partition(proba, proba.shape[-1] - 2, axis=-1)[..., -2:]
    return (1.0 - (top[..., 1] - top[..., 0])).astype(np.float32)


def labels_from_truth(truth: ArrayLike) -> np.ndarray:
    """Turn a ground-truth mask or label image into training classes: 1 = background, 2 = objects.

    Every nonzero value is an object (instance labels included), as seglab's
    metrics read a truth; no pixel is left unlabelled.
    """
    return (np.asarray(truth) != 0).astype(np.int32) + 1


# -- the forest as arrays --------------------------------------------------------------------------
def forest_to_arrays(forest) -> dict[str, np.ndarray]:
    """Concatenate the node arrays of a fitted ``RandomForestClassifier``'s trees."""
    trees = [estimator.tree_ for estimator in forest.estimators_]
    counts = np.array([t.node_count for t in trees], np.int64)
    arrays: dict[str, np.ndarray] = {
        "tree_offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "tree_max_depth": np.array([t.max_depth for t in trees], np.int64),
    }
    for name in TREE_FIELDS:
        arrays[name] = np.concatenate([np.asarray(getattr(t, name)) for t in trees])
    # value has shape (nodes, n_outputs=1, classes): class fractions at each node.
    arrays["value"] = np.concatenate([t.value[:, 0, :] for t in trees]).astype(np.float64)
    return arrays


def _check_forest_arrays(arrays: dict[str, np.ndarray], n_features: int, n_classes: int) -> None:
    needed = ("tree_offsets", "tree_max_depth", "value") + TREE_FIELDS
    missing = [n for n in needed if n not in arrays]
    if missing:
        raise ModelError(f"the model's weights lack {', '.join(missing)}; not a pixel-classifier forest")
    offsets = arrays["tree_offsets"]
    total = int(offsets[-1]) if offsets.size else 0
    if offsets.ndim != 1 or offsets.size < 2 or offsets[0] != 0 or np.any(np.diff(offsets) <= 0):
        raise ModelError("the model's tree_offsets are not increasing from 0; the weights are damaged")
    if any(arrays[n].shape != (total,) for n in TREE_FIELDS) or arrays["value"].shape != (total, n_classes):
        raise ModelError("the model's node arrays do not have one entry per node; the weights are damaged")
    left, right, feature = arrays["children_left"], arrays["children_right"], arrays["feature"]
    for start, stop in zip(offsets[:-1], offsets[1:]):
        n = stop - start
        lo, ro, fo = left[start:stop], right[start:stop], feature[start:stop]
        leaf = lo == -1
        # Children point forward inside their own tree, so every traversal ends at a leaf.
        inner = ~leaf
        if np.any(ro[leaf] != -1) or np.any((lo[inner] <= np.arange(n)[inner]) | (lo[inner] >= n)) \
                or np.any((ro[inner] <= np.arange(n)[inner]) | (ro[inner] >= n)) \
                or np.any((fo[inner] < 0) | (fo[inner] >= n_features)):
            raise ModelError("the model's trees have out-of-range children or features; the weights are damaged")


class _Trees:
    """Per-tree predictors built from the concatenated arrays (scikit-learn's Tree, or NumPy).

    `fitted` (scikit-learn ``Tree`` objects of a forest just fitted in this process, in the arrays'
    order) is used as it is instead of rebuilding the same trees from the arrays.
    """

    def __init__(self, arrays: dict[str, np.ndarray], n_features: int, n_classes: int, *, engine: str = "auto",
                 fitted: list | None = None):
        if engine not in ("auto", "sklearn", "numpy"):
            raise ParameterError(f"`engine` got {engine!r}; expected 'auto', 'sklearn' or 'numpy'")
        self.offsets = arrays["tree_offsets"]
        values = arrays["value"]
        # scikit-learn's DecisionTreeClassifier.predict_proba normalises each leaf's row; same operations here.
        normalizer = values.sum(axis=1)[:, np.newaxis]
        normalizer[normalizer == 0.0] = 1.0
        self.proba = values / normalizer
        # One C-contiguous (nodes, K) view per tree: a leaf index from the tree's own `apply` reads it
        # directly (no offset added to every pixel's leaf).
        self.tree_proba = [self.proba[start:stop] for start, stop in zip(self.offsets[:-1], self.offsets[1:])]
        self.arrays = arrays
        self.n_classes = n_classes
        if engine in ("auto", "sklearn"):
            self.sklearn = list(fitted) if fitted is not None else self._sklearn_trees(arrays, n_features, n_classes)
        else:
            self.sklearn = None
        if engine == "sklearn" and self.sklearn is None:
            raise ModelError("scikit-learn could not rebuild the trees; use engine='numpy'")
        self.engine = "sklearn" if self.sklearn is not None else "numpy"

    @staticmethod
    def _sklearn_trees(arrays, n_features, n_classes):
        try:
            from sklearn.tree._tree import NODE_DTYPE, Tree
        except ImportError:
            return None
        names = NODE_DTYPE.names
        trees = []
        try:
            for index, (start, stop) in enumerate(zip(arrays["tree_offsets"][:-1], arrays["tree_offsets"][1:])):
                nodes = np.zeros(stop - start, dtype=NODE_DTYPE)
                for field in TREE_FIELDS:
                    name = _STATE_NAMES.get(field, field)
                    if name not in names:
                        return None
                    nodes[name] = arrays[field][start:stop]
                if set(names) - {_STATE_NAMES.get(f, f) for f in TREE_FIELDS}:
                    return None  # a newer layout with fields we do not store: use the NumPy path
                tree = Tree(n_features, np.array([n_classes], dtype=np.intp), 1)
                tree.__setstate__({"max_depth": int(arrays["tree_max_depth"][index]), "node_count": int(stop - start),
                                   "nodes": nodes,
                                   "values": np.ascontiguousarray(arrays["value"][start:stop, np.newaxis, :])})
                trees.append(tree)
        except (ValueError, TypeError, KeyError):
            return None
        return trees

    def _leaves_numpy(self, index: int, X: np.ndarray) -> np.ndarray:
        start, stop = self.offsets[index], self.offsets[index + 1]
        left = self.arrays["children_left"][start:stop]
        right = self.arrays["children_right"][start:stop]
        feature = self.arrays["feature"][start:stop]
        threshold = self.arrays["threshold"][start:stop]
        node = np.zeros(X.shape[0], np.int64)
        active = np.arange(X.shape[0])
        while active.size:
            current = node[active]
            inner = left[current] != -1
            active, current = active[inner], current[inner]
            if not active.size:
                break
            # float32 features against float64 thresholds, as scikit-learn's compiled code compares them.
            go_left = X[active, feature[current]].astype(np.float64) <= threshold[current]
            node[active] = np.where(go_left, left[current], right[current])
        return node

    def leaves(self, index: int, X: np.ndarray) -> np.ndarray:
        """Leaf of every row of `X` in tree `index`, numbered inside that tree."""
        if self.sklearn is not None:
            return self.sklearn[index].apply(X)
        return self._leaves_numpy(index, X)

    def predict_proba_block(self, X: np.ndarray, out: np.ndarray | None = None,
                            buffer: np.ndarray | None = None) -> np.ndarray:
        """The forest's probabilities for the rows of one block (float32, C-contiguous), into `out`.

        All trees visit the block while it is in cache. The sum runs in the forest's tree order from
        the first tree's values (``0 + p == p`` exactly, so this is scikit-learn's zero-initialised
        sum, bit for bit), then one division by the number of trees, as scikit-learn does.
        """
        if out is None:
            out = np.empty((X.shape[0], self.n_classes), np.float64)
        if buffer is None:
            buffer = np.empty_like(out)
        # np.take along axis 0 with out= is several times faster than fancy indexing of rows, and
        # mode="clip" (as scikit-learn's Tree.predict uses) twice as fast as the default bounds check;
        # the leaf numbers of a tree's own traversal are always in range, so nothing is ever clipped.
        np.take(self.tree_proba[0], self.leaves(0, X), axis=0, out=out, mode="clip")
        for index in range(1, len(self.tree_proba)):
            np.take(self.tree_proba[index], self.leaves(index, X), axis=0, out=buffer, mode="clip")
            out += buffer
        out /= len(self.tree_proba)
        return out

    def predict_proba(self, X: np.ndarray, threads: int = PREDICT_THREADS) -> np.ndarray:
        """The forest's probabilities, ``(rows, K)`` float64, bit for bit scikit-learn's sum in tree order.

        Rows are cut into blocks of :data:`_BLOCK_ROWS`; `threads` workers (the calling thread is
        one of them) take the next block from a shared counter until none is left and write their
        blocks' disjoint rows of the result, so no lock guards the accumulation and the result does
        not depend on the thread count or on which thread took which block.
        """
        # scikit-learn's trees read float32; a float64 or strided X would be copied by every tree.
        X = np.ascontiguousarray(X, dtype=np.float32)
        rows = X.shape[0]
        out = np.empty((rows, self.n_classes), np.float64)
        n_blocks = -(-rows // _BLOCK_ROWS)
        blocks = itertools.count()
        taking = threading.Lock()  # guards only the block counter, never the results

        def work() -> None:
            buffer = np.empty((min(_BLOCK_ROWS, rows), self.n_classes), np.float64)
            while True:
                with taking:
                    block = next(blocks)
                if block >= n_blocks:
                    break
                start = block * _BLOCK_ROWS
                stop = min(start + _BLOCK_ROWS, rows)
                self.predict_proba_block(X[start:stop], out[start:stop], buffer[: stop - start])

        workers = max(1, min(int(threads), n_blocks))
        if workers == 1:
            work()
            return out
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers - 1) as pool:
            helpers = [pool.submit(work) for _ in range(workers - 1)]
            work()
            for helper in helpers:
                helper.result()
        return out


# -- the classifier ---------------------------------------------------------------------------------
class PixelClassifier:
    """A trained pixel classifier: feature settings, classes and the forest's arrays.

    Build one with :func:`fit_pixel_classifier` or :meth:`load`; use
    :meth:`predict_proba`, :meth:`predict`, :meth:`segment` and :meth:`save`.

    Attributes
    ----------
    classes : tuple of int
        The class values, as painted in the training labels (0 is never a class).
    sigmas, features : tuple
        Feature settings (see :func:`seglab.learn.pixel_features`).
    channels : int
        1 (gray) or 3 (colour) input channels.
    spatial_ndim : int
        2 for images, 3 for volumes (a 2-D model also segments a volume plane by plane).
    info : dict
        Training facts saved in the config (data hashes, counts, scores, seconds).
    forest_ : sklearn.ensemble.RandomForestClassifier or None
        The fitted scikit-learn forest (only on a freshly fitted classifier).
    """

    def __init__(self, arrays: dict[str, np.ndarray], *, classes: Sequence[int], sigmas: Sequence[float],
                 features: Sequence[str], channels: int, spatial_ndim: int, info: dict[str, Any] | None = None,
                 engine: str = "auto", _fitted: Any = None) -> None:
        self.classes = tuple(int(c) for c in classes)
        self.sigmas, self.features = _check_settings(sigmas, features)
        self.channels = int(channels)
        self.spatial_ndim = int(spatial_ndim)
        self.n_features = len(feature_names(self.sigmas, self.features, channels=self.channels,
                                            ndim=self.spatial_ndim))
        if len(self.classes) < 2:
            raise ModelError(f"a pixel classifier needs at least two classes; the model has {self.classes}")
        if _fitted is None:
            _check_forest_arrays(arrays, self.n_features, len(self.classes))
        # `_fitted`: the scikit-learn forest these arrays were just made from (fit_pixel_classifier); its
        # trees predict as they are, bit for bit what trees rebuilt from the arrays predict.
        self.arrays = arrays
        self.info = dict(info or {})
        self.forest_ = _fitted
        fitted = None if _fitted is None else [estimator.tree_ for estimator in _fitted.estimators_]
        self._trees = _Trees(arrays, self.n_features, len(self.classes), engine=engine, fitted=fitted)

    # -- properties -----------------------------------------------------------------------------
    @property
    def n_trees(self) -> int:
        return int(self.arrays["tree_offsets"].size - 1)

    @property
    def halo(self) -> int:
        """Pixels of context a tile needs for an exact prediction."""
        return feature_halo(self.sigmas, self.features)

    @property
    def engine(self) -> str:
        """``'sklearn'`` (compiled traversal of rebuilt trees) or ``'numpy'``."""
        return self._trees.engine

    def __repr__(self) -> str:
        return (f"PixelClassifier(classes={self.classes}, trees={self.n_trees}, features={self.n_features}, "
                f"sigmas={self.sigmas}, channels={self.channels}, ndim={self.spatial_ndim})")

    # -- prediction -----------------------------------------------------------------------------
    def features_of(self, image: ArrayLike, *, channel_axis: int | str | None = "auto") -> np.ndarray:
        """The feature stack this model reads, ``(*spatial, F)`` float32 (cached)."""
        return pixel_features(image, sigmas=self.sigmas, features=self.features, channel_axis=channel_axis)

    def _check_image(self, image, channel_axis):
        from seglab._core.validation import check_image

        array, info = check_image(image, channel_axis=channel_axis)
        if info.channels != self.channels:
            word = {1: "gray (single-channel)", 3: "colour (RGB)"}
            raise InvalidImageError(
                f"the model was trained on {word.get(self.channels, self.channels)} images; got a "
                f"{word.get(info.channels, info.channels)} image of shape {array.shape}"
                + (" (add the pre-step 'grayscale')" if self.channels == 1 else ""))
        if info.spatial_ndim != self.spatial_ndim and not (self.spatial_ndim == 2 and info.spatial_ndim == 3):
            raise InvalidImageError(f"the model was trained on {self.spatial_ndim}-D images; got a "
                                    f"{info.spatial_ndim}-D image of shape {array.shape}")
        return array, info

    def predict_proba(self, image: ArrayLike, *, channel_axis: int | str | None = "auto") -> np.ndarray:
        """Per-class probabilities, ``(*spatial, K)`` float64, classes in the order of :attr:`classes`.

        A 2-D model given a volume predicts it plane by plane.
        """
        array, info = self._check_image(image, channel_axis)
        if info.spatial_ndim == 3 and self.spatial_ndim == 2:
            return np.stack([self.predict_proba(plane, channel_axis=-1 if self.channels > 1 else None)
                             for plane in array])
        features = pixel_features(array, sigmas=self.sigmas, features=self.features,
                                  channel_axis=-1 if self.channels > 1 else None)
        flat = features.reshape(-1, features.shape[-1])
        return self._trees.predict_proba(flat).reshape(features.shape[:-1] + (len(self.classes),))

    def predict(self, image: ArrayLike, *, channel_axis: int | str | None = "auto") -> np.ndarray:
        """The most probable class value at each pixel (int32; ties go to the first class)."""
        return self._class_map(self.predict_proba(image, channel_axis=channel_axis))

    def _class_map(self, proba: np.ndarray) -> np.ndarray:
        classes = np.asarray(self.classes, np.int32)
        if len(classes) == 2:  # argmax of two columns, ties to the first, without the generic reduction
            return np.where(proba[..., 1] > proba[..., 0], classes[1], classes[0])
        return classes[np.argmax(proba, axis=-1)]

    def segment(self, image: ArrayLike, *, threshold: float = 0.5, foreground: Sequence[int] | None = None,
                channel_axis: int | str | None = "auto") -> tuple[np.ndarray, dict[str, Any]]:
        """The foreground mask, and the probability, class map and uncertainty behind it.

        The mask is ``P(foreground) > threshold``, where ``P(foreground)`` sums
        the probabilities of the `foreground` classes (default: every class
        but the first, which is the background: label 1 in scribbles, 0 in a
        truth mask). With two classes and ``threshold=0.5`` this is the
        forest's vote.
        """
        fg = self._foreground(foreground)
        proba = self.predict_proba(image, channel_axis=channel_axis)
        fg_index = [self.classes.index(c) for c in fg]
        # one class: its column as it is (a sum of one number is that number)
        probability = proba[..., fg_index[0]] if len(fg_index) == 1 else proba[..., fg_index].sum(axis=-1)
        mask = probability > threshold
        info = {
            "classes": list(self.classes),
            "foreground": list(fg),
            "threshold": float(threshold),
            "probability": probability.astype(np.float32),
            "uncertainty": uncertainty(proba),
            "class_map": self._class_map(proba),
        }
        return mask, info

    def _foreground(self, foreground) -> tuple[int, ...]:
        if foreground is None:
            return self.classes[1:]
        fg = tuple(int(c) for c in (foreground if isinstance(foreground, Sequence) else [foreground]))
        unknown = [c for c in fg if c not in self.classes]
        if unknown or not fg:
            raise ParameterError(f"parameter `foreground` got {fg!r}; expected one or more of the model's classes "
                                 f"{', '.join(map(str, self.classes))}")
        return fg

    # -- saving ---------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The JSON config saved beside the weights."""
        return {
            "task": "semantic",
            "classes": list(self.classes),
            "background_class": self.classes[0],
            "channels": self.channels,
            "spatial_ndim": self.spatial_ndim,
            "features": {"sigmas": list(self.sigmas), "groups": list(self.features), "count": self.n_features,
                         "names": feature_names(self.sigmas, self.features, channels=self.channels,
                                                ndim=self.spatial_ndim),
                         "input_scaling": "integers / dtype maximum; floats as they are"},
            "halo": self.halo,
            "forest": {"n_trees": self.n_trees, "nodes": int(self.arrays["tree_offsets"][-1]),
                       "library": "scikit-learn RandomForestClassifier"},
            "training": self.info,
        }

    def save(self, folder: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write the model folder (:func:`seglab.learn.save_model`); `extra` adds keys to ``training``.

        `folder` may be new, empty, or an earlier pixel-classifier model (retraining replaces it). Any other
        existing folder is refused before anything is written: a folder of images or another model would
        otherwise get a ``config.json`` of ours over its own.

        Raises
        ------
        ModelError
            `folder` holds files and is not a pixel-classifier model folder.
        """
        check_replaceable(Path(os.fspath(folder)))
        config = self.config()
        if extra:
            config["training"] = {**config["training"], **extra}
        return save_model(folder, kind=KIND, arrays=self.arrays, config=config)

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, engine: str = "auto") -> PixelClassifier:
        """Read a model folder written by :meth:`save` (no code in it is executed).

        Raises
        ------
        ModelError
            Not a pixel-classifier model folder, or damaged / tampered / unsafe files.
        """
        arrays, config = load_model(folder, kind=KIND)
        try:
            features = config["features"]
            return cls(arrays, classes=config["classes"], sigmas=features["sigmas"], features=features["groups"],
                       channels=config["channels"], spatial_ndim=config["spatial_ndim"],
                       info=config.get("training") or {}, engine=engine)
        except (KeyError, TypeError, ParameterError) as exc:
            raise ModelError(f"{folder}: the pixel-classifier config is incomplete or invalid ({exc})") from None


def check_replaceable(folder: Path) -> bool:
    """Refuse to write a model into an existing folder that holds something other than a pixel classifier.

    Returns True when `folder` holds a pixel-classifier model that a save would replace.
    """
    if not folder.is_dir() or not any(folder.iterdir()):
        return False  # new or empty (a file in the way is save_model's error)
    try:
        read_config(folder, kind=KIND)
    except ModelError as exc:
        raise ModelError(f"{folder}: exists and is not a pixel-classifier model folder, so the model was not "
                         f"written there (nothing in it was changed; pick a new or empty folder): {exc}") from None
    return True


# -- training ---------------------------------------------------------------------------------------
def _as_list(items) -> list:
    if isinstance(items, np.ndarray) or not isinstance(items, (list, tuple)):
        return [items]
    return list(items)


def _sample(labels_flat: np.ndarray, classes: tuple[int, ...], max_samples: int | None,
            rng: np.random.Generator) -> np.ndarray:
    """Indices of the labelled pixels to train on: all, or a balanced seeded subset."""
    labelled = np.flatnonzero(labels_flat)
    if max_samples is None or labelled.size <= max_samples:
        return labelled
    per_class = max(1, max_samples // len(classes))
    chosen = []
    for value in classes:
        where = labelled[labels_flat[labelled] == value]
        take = min(per_class, where.size)
        chosen.append(np.sort(rng.choice(where, size=take, replace=False)))
    return np.concatenate(chosen)


def _value_counts(labels: np.ndarray) -> dict[int, int]:
    """Pixels per label value (non-negative integers): a bincount for small values, else np.unique.

    A bincount is one pass (2.4 ms for a 1024 x 1024 label image; np.unique took 14 ms).
    """
    flat = labels.reshape(-1)
    if flat.size and int(flat.max()) < _BINCOUNT_VALUES:
        bins = np.bincount(flat)
        values = np.flatnonzero(bins)
        return dict(zip(values.tolist(), bins[values].tolist()))
    values, counts = np.unique(flat, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def _gather_samples(stacks: list[np.ndarray], takes: list[np.ndarray]) -> np.ndarray:
    """The training rows ``stack[take]`` of every image, as one float32 Fortran-ordered matrix.

    scikit-learn's tree builder reads one feature of many samples at a time (to sort them at
    every split); feature-major storage makes those reads contiguous, which builds the very same
    trees (same values, same order) measurably faster than from row-major samples.
    """
    width = stacks[0].shape[1]
    X = np.empty((sum(take.size for take in takes), width), np.float32, order="F")
    row = 0
    for stack, take in zip(stacks, takes):
        # Gather whole rows (one pass over the stack), then transpose a few thousand rows at a time
        # so the copy into the feature-major matrix stays in cache.
        for start in range(0, take.size, _GATHER_ROWS):
            part = np.take(stack, take[start:start + _GATHER_ROWS], axis=0)
            X[row + start:row + start + part.shape[0]] = part
        row += take.size
    return X


# Most trees a forest may have (scikit-learn sets no limit; a typo of 10**12 would fit for ever).
MAX_TREES = 10_000


def check_forest_settings(n_estimators: int, seed: int) -> None:
    """Refuse a forest size or seed that cannot work, before any image is read or feature computed."""
    if n_estimators > MAX_TREES:
        # 10**12 trees fitted for ever; the forest's answer stops changing long before a few thousand
        raise ParameterError(f"n_estimators got {n_estimators}; at most {MAX_TREES:,} trees (50 is the default)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        # -1 was an unexpected ValueError from NumPy's generator, 2**70 one from scikit-learn
        raise ParameterError(f"seed got {seed!r}; expected an integer from 0 to {2**32 - 1}")


def fit_pixel_classifier(images: ArrayLike | Sequence[ArrayLike], labels: ArrayLike | Sequence[ArrayLike], *,
                         sigmas: Sequence[float] = DEFAULT_SIGMAS, features: Sequence[str] = FEATURE_GROUPS,
                         n_estimators: int = 50, max_depth: int | None = 16, min_samples_leaf: int = 1,
                         max_samples: int | None = 100_000, seed: int = 0, n_jobs: int = PREDICT_THREADS,
                         channel_axis: int | str | None = "auto",
                         progress: Callable[[str, dict], None] | None = None) -> PixelClassifier:
    """Train a pixel classifier from scribbles or full label images.

    Parameters
    ----------
    images : array_like or sequence of array_like
        One image or several (same channels and dimensionality).
    labels : array_like or sequence of array_like
        One label image per image, same spatial shape: 0 = unlabelled,
        1..K (any positive integers) = classes. Scribbles label a few pixels;
        a truth mask becomes labels with :func:`labels_from_truth`.
    sigmas, features
        Feature settings (see :func:`seglab.learn.pixel_features`).
    n_estimators, max_depth, min_samples_leaf
        The random forest's settings (scikit-learn's names).
    max_samples : int or None
        Train on at most this many labelled pixels: beyond it, a seeded subset
        with equally many pixels per class (None: all labelled pixels).
    seed : int
        Seeds the subset and the forest: same data and seed, same model.
    n_jobs : int
        Threads for fitting the trees (with fewer than 5,000 samples one
        thread fits them faster; the forest is the same for any `n_jobs`).
    progress : callable, optional
        ``progress(stage, info)`` with stages ``'features'``, ``'fit'``, ``'done'``.

    Returns
    -------
    PixelClassifier
        With ``forest_`` (the scikit-learn forest) and ``info`` (hashes, counts, seconds).

    Raises
    ------
    ParameterError
        Fewer than two classes labelled, mismatched lists, negative labels.
    ShapeMismatchError
        A label image whose shape differs from its image's.
    MissingDependencyError
        scikit-learn is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((32, 32), np.uint8); image[8:24, 8:24] = 200
    >>> scribbles = np.zeros((32, 32), np.int32); scribbles[1, :] = 1; scribbles[16, 12:20] = 2
    >>> model = fit_pixel_classifier(image, scribbles, sigmas=(1.0, 3.5), n_estimators=10)
    >>> labels = model.predict(image)
    >>> int(labels[16, 16]), int(labels[2, 2])
    (2, 1)
    """
    try:
        from sklearn.ensemble import RandomForestClassifier
    except ImportError:
        from seglab._core.errors import MissingDependencyError

        raise MissingDependencyError('the pixel classifier needs scikit-learn: pip install "seglab[learn]"') from None
    from seglab._core.validation import check_image

    report = progress or (lambda stage, info: None)
    images, labels = _as_list(images), _as_list(labels)
    if len(images) != len(labels):
        raise ParameterError(f"got {len(images)} images and {len(labels)} label images; expected one label image "
                             "per image")
    if not images:
        raise MissingInputError("no training images given")
    if n_estimators < 1 or (max_depth is not None and max_depth < 1) or min_samples_leaf < 1:
        raise ParameterError(f"n_estimators, max_depth and min_samples_leaf must be >= 1; got {n_estimators}, "
                             f"{max_depth}, {min_samples_leaf}")
    check_forest_settings(n_estimators, seed)
    sigmas, features = _check_settings(sigmas, features)
    start = time.perf_counter()
    checked = []
    for index, (image, label) in enumerate(zip(images, labels)):
        array, info = check_image(image, channel_axis=channel_axis)
        label = np.asarray(label)
        if label.shape != info.spatial_shape:
            raise ShapeMismatchError(f"labels[{index}] has shape {label.shape}; expected {info.spatial_shape}, the "
                                     f"shape of images[{index}]")
        if label.dtype.kind not in "biu" or (label.dtype.kind == "i" and label.size and label.min() < 0):
            raise ParameterError(f"labels[{index}] must hold integers >= 0 (0 = unlabelled, 1..K = classes); got "
                                 f"dtype {label.dtype}")
        checked.append((array, info, label.astype(np.int64, copy=False)))
    channels = {c[1].channels for c in checked}
    ndims = {c[1].spatial_ndim for c in checked}
    if len(channels) > 1 or len(ndims) > 1:
        raise ParameterError("the training images mix gray and colour or 2-D and 3-D images; give one kind")
    pixels_per_value = [_value_counts(c[2]) for c in checked]
    classes = tuple(sorted({v for found in pixels_per_value for v in found if v != 0}))
    if len(classes) < 2:
        raise ParameterError(f"the labels mark {len(classes)} class(es) {classes}; paint at least two classes "
                             "(e.g. 1 = background, 2 = object); 0 means unlabelled (for a truth mask, pass "
                             "labels_from_truth(mask))")
    rng = np.random.default_rng(seed)
    stacks, takes, targets = [], [], []
    counts = {c: sum(found.get(c, 0) for found in pixels_per_value) for c in classes}
    budget = None if max_samples is None else max(len(classes), int(max_samples) // len(checked))
    for index, (array, info, label) in enumerate(checked):
        report("features", {"image": index, "of": len(checked)})
        stack = pixel_features(array, sigmas=sigmas, features=features,
                               channel_axis=-1 if info.channels > 1 else None)
        flat_labels = label.reshape(-1)
        take = _sample(flat_labels, classes, budget, rng)
        stacks.append(stack.reshape(-1, stack.shape[-1]))
        takes.append(take)
        targets.append(flat_labels[take])
    X = _gather_samples(stacks, takes)
    y = np.concatenate(targets)
    feature_seconds = time.perf_counter() - start
    report("fit", {"samples": int(X.shape[0]), "features": int(X.shape[1])})
    # The data hash (provenance for the config) is computed beside the fit: hashlib releases the GIL,
    # and a fit on few samples leaves the second core idle.
    digest: dict[str, str] = {}
    hashing = threading.Thread(target=lambda: digest.update(
        sha256=hash_arrays([a for c in checked for a in (c[0], c[2])])), daemon=True)
    hashing.start()
    fit_start = time.perf_counter()
    # The forest is the same for any n_jobs (every tree's seed is drawn before the trees are built);
    # below _PARALLEL_FIT_SAMPLES a tree takes less time to build than joblib needs to hand it to a thread.
    forest = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                    min_samples_leaf=min_samples_leaf, max_features="sqrt",
                                    n_jobs=n_jobs if X.shape[0] >= _PARALLEL_FIT_SAMPLES else 1,
                                    random_state=seed)
    forest.fit(X, np.searchsorted(np.asarray(classes), y))
    forest.n_jobs = n_jobs  # what the caller asked for, e.g. for forest_.predict_proba
    fit_seconds = time.perf_counter() - fit_start
    hashing.join()
    info = {
        "images": len(checked),
        "labelled_pixels": {str(c): n for c, n in counts.items()},
        "training_samples": int(X.shape[0]),
        "sampling": "all labelled pixels" if X.shape[0] == sum(counts.values())
        else f"balanced seeded subset, at most {budget} pixels per image",
        "data_sha256": digest["sha256"],
        "seed": int(seed),
        "n_estimators": int(n_estimators),
        "max_depth": max_depth,
        "min_samples_leaf": int(min_samples_leaf),
        "max_samples": max_samples,
        "seconds": {"features": round(feature_seconds, 3), "fit": round(fit_seconds, 3)},
    }
    model = PixelClassifier(forest_to_arrays(forest), classes=classes, sigmas=sigmas, features=features,
                            channels=checked[0][1].channels, spatial_ndim=checked[0][1].spatial_ndim, info=info,
                            _fitted=forest)
    report("done", {"seconds": round(time.perf_counter() - start, 3)})
    return model


# -- the registered method ---------------------------------------------------------------------------
_MODELS: OrderedDict[tuple, PixelClassifier] = OrderedDict()
_MODELS_LOCK = threading.Lock()


def _cached_model(model) -> PixelClassifier:
    if isinstance(model, PixelClassifier):
        return model
    folder = Path(os.fspath(model))
    try:
        stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (folder / "config.json",
                                                                           folder / "weights.safetensors"))
    except OSError:
        stamp = None
    key = (str(folder.resolve()), stamp)
    with _MODELS_LOCK:
        found = _MODELS.get(key) if stamp is not None else None
        if found is not None:
            _MODELS.move_to_end(key)
            return found
    loaded = PixelClassifier.load(folder)
    if stamp is not None:
        with _MODELS_LOCK:
            _MODELS[key] = loaded
            while len(_MODELS) > 4:
                _MODELS.popitem(last=False)
    return loaded


@validated
def pixel_classifier(image: ArrayLike, *, model: str | os.PathLike | PixelClassifier | None = None,
                     threshold: float = 0.5,
                     foreground: tuple[int, ...] | None = None) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Segment an image with a trained pixel classifier (random forest on multiscale features).

    Parameters
    ----------
    image : (M, N[, 3]) or (P, M, N[, 3]) array_like
        Image of the kind the model was trained on (gray or colour; a 2-D
        model segments a volume plane by plane).
    model : str or PixelClassifier
        A model folder written by ``seglab train --model pixel_classifier`` or
        :meth:`PixelClassifier.save` (or an in-memory classifier).
    threshold : float
        The mask is ``P(foreground) > threshold``.
    foreground : tuple of int, optional
        Class values that form the mask (default: every class but the first,
        i.e. all but the background).

    Returns
    -------
    mask : ndarray of bool
        The foreground.
        ``seglab.segment(image, "pixel_classifier").info`` holds the values it chose: ``classes``,
        ``foreground``, ``threshold``, ``model``, and the arrays ``probability`` (foreground
        probability, float32), ``uncertainty`` (1 - margin of the two most probable classes) and
        ``class_map`` (the most probable class value, int32), which become ``result.extras``.

    Raises
    ------
    MissingInputError
        No `model` given.
    ModelError
        The model folder is missing, unsafe, damaged or another kind of model.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((32, 32), np.uint8); image[8:24, 8:24] = 200
    >>> scribbles = np.zeros((32, 32), np.int32); scribbles[1, :] = 1; scribbles[16, 12:20] = 2
    >>> model = fit_pixel_classifier(image, scribbles, sigmas=(1.0, 3.5), n_estimators=10)
    >>> mask = pixel_classifier(image, model=model)
    >>> bool(mask[16, 16]), bool(mask[2, 2])
    (True, False)
    """
    if model is None or (isinstance(model, str) and not model.strip()):
        raise MissingInputError(
            "method 'pixel_classifier' needs a trained model: pass model=FOLDER in Python or --param model=FOLDER "
            "on the command line (train one with `seglab train IMAGES --truth TRUTHS --model pixel_classifier "
            "--out FOLDER` or `seglab train IMAGE --scribbles SCRIBBLES.png --model pixel_classifier --out FOLDER`)")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ParameterError(f"parameter `threshold` got {threshold!r}; expected a number in [0.0, 1.0]")
    classifier = _cached_model(model)
    mask, info = classifier.segment(image, threshold=threshold, foreground=foreground)
    info["model"] = str(model) if not isinstance(model, PixelClassifier) else "<in memory>"
    return mask, info
