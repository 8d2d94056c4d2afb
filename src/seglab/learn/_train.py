"""The training workflow behind ``seglab train --model pixel_classifier`` (front ends only parse and call this).

Images are paired with their truths (or scribbles) by file stem exactly as
``seglab compare`` pairs them (:func:`seglab.compare.pair_files`). With truths
and ``val_fraction > 0`` part of the data is held out and scored (pixel F1 of
the foreground mask): whole images when there are several (the last ones in
pairing order), else the bottom rows of the one image. The saved model is the
one trained without the held-out part, so the recorded score describes
exactly the model in the folder. Scribbles have no truth to score against.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import ParameterError, SeglabError
from seglab._core.validation import has_channel_axis
from seglab.workflows import Event

from ._features import DEFAULT_SIGMAS, FEATURE_GROUPS, _check_settings
from ._forest import PixelClassifier, check_forest_settings, check_replaceable, fit_pixel_classifier, labels_from_truth

__all__ = ["train_pixel_classifier", "pair_training_files"]

Progress = Callable[[Event], None]


def _reporter(progress: Progress | None) -> Callable[[str, str], None]:
    """``report(stage, text)`` for this module, sent to the caller as one :class:`seglab.workflows.Event`."""
    if progress is None:
        return lambda stage, text: None

    def report(stage: str, text: str) -> None:
        progress(Event("train", item=stage, message=text, kind="note" if stage == "note" else "progress"))

    return report


def pair_training_files(images: Sequence[str | os.PathLike[str]], others: Sequence[str | os.PathLike[str]], *,
                        what: str = "truth", pair_regex: str | None = None,
                        progress: Progress | None = None) -> list[tuple[Path, Path]]:
    """Expand files/folders/globs and pair images with truth or scribble files as ``seglab compare`` does.

    Unpaired files are reported through `progress` (an :class:`~seglab.workflows.Event` of kind ``'note'``)
    and left out.

    Raises
    ------
    ParameterError
        Nothing pairs, or two files of one side share a key.
    """
    from seglab.compare import expand_paths, pair_files

    image_paths, other_paths = expand_paths(images), expand_paths(others)
    pairs, lonely_images, lonely_others = pair_files(image_paths, other_paths, pair_regex=pair_regex)
    report = _reporter(progress)
    for path in lonely_images:
        report("note", f"no {what} for image {path}; skipped")
    for path in lonely_others:
        report("note", f"{what} file {path} has no image; ignored")
    if not pairs:
        raise ParameterError(f"no image could be paired with a {what} file ({len(image_paths)} images, "
                             f"{len(other_paths)} {what} files); pairing is by file stem as in `seglab compare` "
                             "(t01.tif <-> man_seg01.tif works)")
    return [(image, other) for _, image, other in pairs]


def _read_labels(path: Path, shape: tuple[int, ...], *, what: str) -> np.ndarray:
    import seglab
    from seglab._core.errors import ShapeMismatchError

    data = np.asarray(seglab.read(path))
    if data.ndim == len(shape) + 1 and data.shape[:-1] == tuple(shape):
        # A painted RGB(A) scribble or truth file: any non-black pixel counts, one class per colour is not
        # guessed; use a single-channel label image (0 = unlabelled, 1..K) for several classes.
        raise ShapeMismatchError(f"{path}: the {what} is a colour image {data.shape}; save it as a single-channel "
                                 "label image (0 = unlabelled, 1, 2, ... = classes)")
    if data.shape != tuple(shape):
        raise ShapeMismatchError(f"{path}: the {what} has shape {data.shape}; expected {tuple(shape)}, the shape "
                                 "of its image")
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
            raise ParameterError(f"{path}: the {what} holds non-integer values; expected integer labels")
        data = data.astype(np.int64)
    return data


def _f1(truth: np.ndarray, mask: np.ndarray) -> float:
    from seglab.metrics.binary import binary_scores

    return float(binary_scores(truth, mask)["f1"])


def _split(arrays: list[tuple[np.ndarray, np.ndarray]], val_fraction: float):
    """Return (train pairs, validation pairs, how): whole images when several, else bottom rows."""
    if val_fraction <= 0:
        return arrays, [], "none"
    if len(arrays) > 1:
        n_val = max(1, int(round(len(arrays) * val_fraction)))
        if n_val >= len(arrays):
            n_val = len(arrays) - 1
        return arrays[:-n_val], arrays[-n_val:], f"last {n_val} of {len(arrays)} images held out"
    image, labels = arrays[0]
    rows = image.shape[0]
    cut = rows - max(1, int(math.ceil(rows * val_fraction)))
    if cut < 1:
        raise ParameterError(f"--val-fraction {val_fraction} leaves no rows to train on")
    return [(image[:cut], labels[:cut])], [(image[cut:], labels[cut:])], \
        f"bottom {rows - cut} of {rows} rows held out"


def train_pixel_classifier(images: Sequence, *, out: str | os.PathLike, truths: Sequence | None = None,
                           scribbles: Sequence | None = None, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                           features: Sequence[str] = FEATURE_GROUPS, n_estimators: int = 50,
                           max_depth: int | None = 16, max_samples: int | None = 100_000, seed: int = 0,
                           val_fraction: float = 0.2, pair_regex: str | None = None,
                           progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    """Train a pixel classifier from image files and truth or scribble files; write the model folder.

    Parameters
    ----------
    images : sequence of path
        Image files, folders or glob patterns.
    out : path
        Model folder to write (see :func:`seglab.learn.save_model`).
    truths : sequence of path, optional
        Ground-truth masks or label images (every nonzero pixel is an object).
    scribbles : sequence of path, optional
        Label images: 0 = unlabelled, 1 = background, 2..K = classes. Give
        exactly one of `truths` and `scribbles`.
    sigmas, features, n_estimators, max_depth, max_samples, seed
        See :func:`seglab.learn.fit_pixel_classifier`.
    val_fraction : float
        Share of the truth data held out and scored (0: none); ignored for scribbles.
    pair_regex : str, optional
        Pairing key, as ``seglab compare --pair-regex``.
    progress : callable, optional
        Receives :class:`seglab.workflows.Event` records (stage ``'train'``; ``item`` is the step: ``note``,
        ``read``, ``features``, ``fit``, ``validate``, ``saved``; ``message`` says what happened).

    Returns
    -------
    folder : Path
        The model folder.
    summary : dict
        Pairs used, validation score (``val_f1`` or None), seconds.

    Raises
    ------
    ParameterError
        Both or neither of `truths` / `scribbles`, bad pairing, fewer than two classes, a bad `val_fraction`.
    ImageReadError, ShapeMismatchError
        Unreadable files, or labels whose shape differs from their image's.
    """
    import time

    import seglab
    from seglab.learn._artifact import hash_files

    if (truths is None) == (scribbles is None):
        raise ParameterError("give either --truth (ground-truth masks) or --scribbles (painted labels), not both "
                             "or neither")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ParameterError(f"--val-fraction got {val_fraction!r}; expected a number in [0, 1)")
    # the settings fit_pixel_classifier checks, checked before the images are read
    check_forest_settings(n_estimators, seed)
    _check_settings(sigmas, features)
    # refused before minutes of reading and fitting, not after; an earlier pixel classifier there is replaced
    replacing = check_replaceable(Path(os.fspath(out)))
    report = _reporter(progress)
    what = "truth" if truths is not None else "scribbles"
    others = truths if truths is not None else scribbles
    assert others is not None  # exactly one of them was given (checked above)
    pairs = pair_training_files(images, others, what=what, pair_regex=pair_regex, progress=progress)
    start = time.perf_counter()
    arrays = []
    for image_path, label_path in pairs:
        report("read", f"{image_path.name} + {label_path.name}")
        image = seglab.read(image_path)
        spatial = image.shape[:-1] if has_channel_axis(image.shape) else image.shape
        labels = _read_labels(label_path, spatial, what=what)
        if truths is not None:
            from seglab.metrics import truth_kind

            # the rule seglab evaluate/compare apply: a gray image given as the truth (or swapped with its
            # image) is refused, not trained on as "every nonzero pixel is an object"
            try:
                truth_kind(labels, name="truth")
            except SeglabError as exc:
                raise type(exc)(f"{label_path}: {exc}") from None
        arrays.append((image, labels_from_truth(labels) if truths is not None else labels))
    if scribbles is not None:
        train, val, how = arrays, [], "none (scribbles have no truth)"
    else:
        train, val, how = _split(arrays, float(val_fraction))

    def relay(stage: str, info: dict) -> None:
        if stage == "features":
            report("features", f"features of image {info['image'] + 1}/{info['of']}")
        elif stage == "fit":
            report("fit", f"random forest: {n_estimators} trees on {info['samples']} pixels x "
                          f"{info['features']} features")

    model: PixelClassifier = fit_pixel_classifier([a[0] for a in train], [a[1] for a in train], sigmas=sigmas,
                                                  features=features, n_estimators=n_estimators, max_depth=max_depth,
                                                  max_samples=max_samples, seed=seed, progress=relay)
    val_f1 = None
    if val:
        report("validate", how)
        truth_all = np.concatenate([(v[1] == 2).ravel() for v in val])
        pred_all = np.concatenate([model.segment(v[0])[0].ravel() for v in val])
        val_f1 = _f1(truth_all, pred_all)
        report("validate", f"validation F1 {val_f1:.4f} ({how})")
    extra = {
        "source": what,
        "files": {"images": hash_files([p[0] for p in pairs]), what: hash_files([p[1] for p in pairs])},
        "validation": {"split": how, "f1": val_f1, "metric": "pixel F1 of the foreground mask"},
        "seconds_total": round(time.perf_counter() - start, 3),
    }
    folder = model.save(out, extra=extra)
    report("saved", f"model written to {folder}" + (" (the earlier model there was replaced)" if replacing else ""))
    return folder, {"pairs": [(str(i), str(t)) for i, t in pairs], "val_f1": val_f1, "validation": how,
                    "seconds": extra["seconds_total"], "classes": list(model.classes)}
