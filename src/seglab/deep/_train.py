"""Training a 2-D U-Net on a user's own images: patches, augmentation, validation, early stopping, checkpoints.

The recipe is the one of the U-Net paper and of the nucleus-segmentation benchmarks it inspired (Caicedo et
al. 2019): random patches, flips and 90-degree rotations, an intensity jitter, a Dice + cross-entropy loss
(MONAI ``DiceCELoss``), Adam. Everything random comes from ``numpy.random.default_rng([seed, epoch])`` and
``torch.manual_seed(seed)``, so the same seed on the same machine gives the same weights, and a run resumed
from its checkpoint continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import InvalidImageError, ParameterError, SeglabError, close_matches_hint
from seglab.workflows import Event

from ._data import (
    PERCENTILES,
    augment,
    instance_target,
    labels_from_probabilities,
    normalize,
    percentile_range,
    sample_patch,
    semantic_target,
)

__all__ = ["train_unet", "OPTIONS"]

#: Training options (``**options`` of :func:`train_unet`) and their defaults.
OPTIONS: dict[str, Any] = {
    "patch": 128,  # training patch side (multiple of 16)
    "batch_size": 8,
    "steps_per_epoch": 25,  # optimiser steps per epoch
    "learning_rate": 2e-3,  # peak rate (after the warm-up); see "schedule"
    # "cosine": linear warm-up over `warmup` of the steps, then a cosine decay to 1 % of the peak at the last
    # epoch (`epochs`), so the last epochs train at a small rate and BatchNorm's running statistics settle;
    # "constant": the peak rate throughout (the recipe before; its validation AP jumped between epochs)
    "schedule": "cosine",
    "warmup": 0.05,  # fraction of all steps (cosine schedule only)
    "features": None,  # BasicUNet channels; None = seglab.deep._net.DEFAULT_FEATURES
    "patience": 20,  # epochs without a better validation score before stopping early
    "validation_fraction": 0.2,  # of the images (several), or of the rows (one image)
    "window": 256,  # sliding window of the validation predictions
    "threads": None,  # torch threads; None = torch's default (recorded in the config)
    "max_classes": 16,  # a semantic truth with more distinct values is refused (instance labels?)
    "norm": "batch",  # "batch" or "instance" (per-window statistics, no running averages)
    "time_limit": None,  # seconds: stop after the first epoch that ends past it (the run is then not repeatable)
    # instance task: object pixels within this many pixels of another object are boundary too (0: only the
    # two-pixel inner boundary), so touching objects are parted by a wider band (seglab.deep._data.instance_target)
    "touch_width": 0,
}
CHECKPOINT = "checkpoint"
# Pixels one optimiser step may hold (batch_size x patch^2): 64 patches of 256^2, or 256 of 128^2.
_MAX_BATCH_PIXELS = 1 << 22


def _options(given: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in given if k not in OPTIONS]
    if unknown:
        raise ParameterError(f"train_unet got unknown option `{unknown[0]}`; options are "
                             f"{', '.join(OPTIONS)}." + close_matches_hint(unknown[0], OPTIONS))
    options = {**OPTIONS, **given}
    from ._net import DEFAULT_FEATURES, STRIDE_MULTIPLE

    if options["features"] is None:
        options["features"] = DEFAULT_FEATURES
    features = options["features"]
    if isinstance(features, (str, bytes)) or not hasattr(features, "__len__"):
        raise ParameterError(f"option `features` got {features!r}; expected 6 channel counts "
                             "(BasicUNet: five levels and the last up-sampling block)")
    options["features"] = tuple(_integer("features", f, 1) for f in features)
    if len(options["features"]) != 6:
        raise ParameterError(f"option `features` got {options['features']}; expected 6 channel counts "
                             "(BasicUNet: five levels and the last up-sampling block)")
    for name in ("patch", "window"):
        value = _integer(name, options[name], STRIDE_MULTIPLE)
        if value % STRIDE_MULTIPLE:
            raise ParameterError(f"option `{name}` got {options[name]}; expected a multiple of {STRIDE_MULTIPLE}")
        options[name] = value
    options["touch_width"] = _integer("touch_width", options["touch_width"], 0)
    for name in ("batch_size", "steps_per_epoch", "patience", "max_classes"):
        options[name] = _integer(name, options[name], 1)
    # Sizes are allocated before the first step: patch=100000 asked for 37 GiB, batch_size=10**9 never returned.
    for name, most in (("patch", 2048), ("window", 4096), ("batch_size", 1024), ("steps_per_epoch", 100_000)):
        if options[name] > most:
            raise ParameterError(f"option `{name}` got {options[name]}; expected at most {most:,} "
                                 f"(default {OPTIONS[name]})")
    if options["batch_size"] * options["patch"] ** 2 > _MAX_BATCH_PIXELS:
        raise ParameterError(f"options `batch_size` x `patch`^2 = {options['batch_size']} x {options['patch']}^2 "
                             f"pixels per step; at most {_MAX_BATCH_PIXELS:,} (the default is 8 x 128^2 = 131,072)")
    if options["threads"] is not None:
        options["threads"] = _integer("threads", options["threads"], 1)
    options["validation_fraction"] = _number("validation_fraction", options["validation_fraction"])
    if not 0.0 < options["validation_fraction"] < 1.0:
        raise ParameterError(f"option `validation_fraction` got {options['validation_fraction']}; "
                             "expected a number in (0, 1)")
    if options["norm"] not in ("batch", "instance"):
        raise ParameterError(f"option `norm` got {options['norm']!r}; expected 'batch' or 'instance'")
    if options["time_limit"] is not None:
        options["time_limit"] = _number("time_limit", options["time_limit"])
        if options["time_limit"] <= 0:
            raise ParameterError(f"option `time_limit` got {options['time_limit']}; expected seconds > 0 or None")
    if options["schedule"] not in ("cosine", "constant"):
        raise ParameterError(f"option `schedule` got {options['schedule']!r}; expected 'cosine' or 'constant'")
    options["warmup"] = _number("warmup", options["warmup"])
    if not 0.0 <= options["warmup"] < 1.0:
        raise ParameterError(f"option `warmup` got {options['warmup']}; expected a fraction in [0, 1)")
    options["learning_rate"] = _number("learning_rate", options["learning_rate"])
    if options["learning_rate"] <= 0:
        raise ParameterError(f"option `learning_rate` got {options['learning_rate']}; expected > 0")
    return options


def _integer(name: str, value: Any, minimum: int) -> int:
    """A whole number >= `minimum` (an integral float such as 64.0 from JSON is accepted; 1.5, True, "8" are not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or float(value) != int(value):
        raise ParameterError(f"option `{name}` got {value!r}; expected a whole number >= {minimum}")
    if int(value) < minimum:
        raise ParameterError(f"option `{name}` got {value!r}; expected a whole number >= {minimum}")
    return int(value)


def _number(name: str, value: Any) -> float:
    """A finite real number (not a bool, not text)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise ParameterError(f"option `{name}` got {value!r}; expected a number")
    return float(value)


def _read_pairs(images: Sequence, truths: Sequence):
    from seglab._core.validation import check_image, check_same_shape
    from seglab.io import read

    if isinstance(images, (str, Path)) or isinstance(truths, (str, Path)):
        raise ParameterError("`images` and `truths` must be lists of paths (or arrays), one truth per image")
    if len(images) == 0 or len(images) != len(truths):
        raise ParameterError(f"got {len(images)} images and {len(truths)} truths; give one truth per image "
                             "(at least one pair)")
    pairs = []
    for image, truth in zip(images, truths):
        name = Path(image).name if isinstance(image, (str, Path)) else "array"
        array = read(image) if isinstance(image, (str, Path)) else np.asarray(image)
        label = read(truth) if isinstance(truth, (str, Path)) else np.asarray(truth)
        array, info = check_image(array, name=f"image {name}", channel_axis="auto")
        if array.ndim != 2:
            raise InvalidImageError(f"image {name} has shape {array.shape}; the U-Net trains on 2-D "
                                    "single-channel images (convert colour images to gray first)")
        label = np.asarray(label)
        if label.ndim == 3 and label.shape[-1] in (3, 4) and label.shape[:2] == array.shape:
            label = label[..., 0]
        check_same_shape(array, label, reference_name=f"image {name}", other_name="its truth")
        pairs.append((name, array, label))
    return pairs


def _provenance(images, truths) -> list[dict]:
    from seglab.learn import hash_arrays, hash_files

    out = []
    for image, truth in zip(images, truths):
        for role, item in (("image", image), ("truth", truth)):
            if isinstance(item, (str, Path)):
                record = hash_files([item])[0]
            else:
                record = {"file": "(array)", "sha256": hash_arrays([np.asarray(item)])}
            out.append({"role": role, **record})
    return out


def _score(task: str, n_classes: int, proba: np.ndarray, truth_target: np.ndarray, truth_labels) -> float:
    """Validation score: foreground F1 (binary), mean Dice over classes (K > 2), AP@0.5 (instance)."""
    if task == "instance":
        from seglab.metrics.instance import instance_scores

        pred = labels_from_probabilities(proba[1], 1.0 - proba[0], threshold=0.5, seed_threshold=0.5, min_size=0)
        return float(instance_scores(truth_labels, pred)["ap50"])
    pred = np.argmax(proba, axis=0)
    scores = []
    for c in range(1, n_classes):
        t, p = truth_target == c, pred == c
        denom = t.sum() + p.sum()
        scores.append(1.0 if denom == 0 else 2.0 * np.logical_and(t, p).sum() / denom)
    return float(np.mean(scores))


def learning_rate_at(step: int, total: int, *, peak: float, schedule: str, warmup: float) -> float:
    """The learning rate of optimiser step `step` (0-based) of `total`: warm-up then cosine, or constant.

    A pure function of the step, so a run resumed from its checkpoint follows the same schedule.
    """
    if schedule == "constant":
        return float(peak)
    n_warm = int(round(float(warmup) * total))
    if step < n_warm:
        return float(peak) * (step + 1) / n_warm
    progress = (step - n_warm) / max(1, total - n_warm - 1)
    floor = 0.01 * float(peak)
    return floor + 0.5 * (float(peak) - floor) * (1.0 + np.cos(np.pi * min(1.0, progress)))


def _state_arrays(network, optimizer) -> tuple[dict[str, np.ndarray], dict]:
    from ._net import state_to_arrays

    arrays = {f"model.{k}": v for k, v in state_to_arrays(network).items()}
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            arrays[f"optim.{index}.{name}"] = value.detach().cpu().numpy().copy()
    return arrays, {"param_groups": opt["param_groups"]}


def _load_state(network, optimizer, arrays: dict[str, np.ndarray], optim_config: dict) -> None:
    import torch

    from ._net import arrays_to_state

    arrays_to_state(network, {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")})
    state: dict[int, dict] = {}
    for key, value in arrays.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            value = np.array(value)
            if name == "step":
                value = value.reshape(())  # Adam's step count is a scalar, stored as a one-element array
            state.setdefault(int(index), {})[name] = torch.from_numpy(value)
    optimizer.load_state_dict({"state": state, "param_groups": optim_config["param_groups"]})


def train_unet(images: Sequence, truths: Sequence, *, out: str | os.PathLike[str], task: str = "semantic", epochs: int,
               device: str = "auto", seed: int = 0, resume: bool = False,
               progress: Callable[[Event], None] | None = None, **options: Any) -> Path:
    """Train a 2-D U-Net (MONAI BasicUNet) on image / truth pairs and write a model folder.

    Parameters
    ----------
    images : list of path or (M, N) ndarray
        Training images (single channel).
    truths : list of path or ndarray
        One truth per image, same shape: a mask or class image (``task='semantic'``: each distinct value is
        a class, the smallest is background) or instance labels (``task='instance'``; a binary truth is
        split into connected components).
    out : path
        Model folder to write: ``weights.safetensors`` + ``config.json`` (the best epoch's weights) and
        ``checkpoint/`` (the last epoch, for `resume`).
    task : {'semantic', 'instance'}
        ``'instance'`` learns interior / boundary / background and separates touching objects.
    epochs : int
        Maximum number of epochs (``steps_per_epoch`` optimiser steps each); early stopping may end sooner.
    device : {'auto', 'cpu', 'cuda'}
    seed : int
        Same seed, same machine (and thread count): same weights.
    resume : bool
        Continue from ``out/checkpoint`` (same data and options) up to `epochs`. The cosine schedule spans
        `epochs`, so with it a run resumes only with the `epochs` it started with (and then continues exactly
        as the uninterrupted run); with ``schedule='constant'`` a finished run can be extended.
    progress : callable, optional
        Receives a :class:`seglab.workflows.Event` after each epoch (stage ``'train'``, ``done`` = epoch,
        ``total`` = epochs, ``message`` = ``"loss 0.2134, validation F1 0.9120 (best)"``, ``data`` = the score).
    **options
        See :data:`OPTIONS`: ``patch``, ``batch_size``, ``steps_per_epoch``, ``learning_rate`` (the peak),
        ``schedule`` (``'cosine'``: linear warm-up over the first ``warmup`` fraction of the steps, then a
        cosine decay to 1 % of the peak at the last epoch; ``'constant'``), ``warmup``, ``features``,
        ``patience``, ``validation_fraction``, ``window``, ``threads``, ``max_classes``, ``norm``,
        ``time_limit``, ``touch_width`` (instance task: object pixels this close to another object are
        boundary too). The kept weights are those of the epoch with the best validation score.

    Returns
    -------
    Path
        The model folder (use it as ``seglab.segment(image, "unet", model=folder)``, or ``"unet_instance"``).

    Raises
    ------
    ParameterError
        Bad task, epochs, option or pairing; `out` holds a model and `resume` is False; nothing to resume.
    seglab.learn.ModelError
        The checkpoint does not belong to this training run.

    References
    ----------
    Ronneberger et al. (2015), doi:10.1007/978-3-319-24574-4_28; Caicedo et al. (2019),
    doi:10.1002/cyto.a.23863.
    """
    if task not in ("semantic", "instance"):
        raise ParameterError(f"`task` got {task!r}; expected 'semantic' or 'instance'")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ParameterError(f"`epochs` got {epochs!r}; expected an integer >= 1")
    options = _options(options)
    out = Path(out)
    checkpoint_dir = out / CHECKPOINT
    if not resume and out.exists() and any(out.iterdir()):
        raise ParameterError(f"model folder {str(out)!r} exists and is not empty; pass resume=True (CLI: "
                             "--resume) to continue its training, or choose a new --out")
    if resume and not (checkpoint_dir / "config.json").is_file():
        raise ParameterError(f"nothing to resume: {str(out)!r} has no checkpoint; train without resume first")

    from seglab.learn import ModelError, load_model, save_model

    from ._net import build_network, resolve_device, set_determinism, torch_modules

    torch = torch_modules()
    from monai.losses import DiceCELoss

    device = resolve_device(device)
    threads = set_determinism(seed, device, options["threads"])
    pairs = _read_pairs(images, truths)
    # -- targets and normalisation -------------------------------------------------------------
    items = []
    if task == "semantic":
        values = sorted({int(v) for _, _, t in pairs for v in np.unique(t)})
        if len(values) > options["max_classes"]:
            raise ParameterError(
                f"the truths hold {len(values)} distinct values (more than max_classes={options['max_classes']}); "
                "they look like instance labels: use task='instance' (CLI: --task instance)")
        if len(values) == 1:
            values = [0, values[0]] if values[0] != 0 else [0, 1]
        n_classes = len(values)
    else:
        values, n_classes = None, 3
        from seglab.metrics import truth_kind

        for (name, _, truth), given in zip(pairs, truths):
            # the rule seglab evaluate/compare apply: a gray image given as the truth (a semantic truth of that
            # kind has too many classes, above) is refused, not trained on as instance labels
            try:
                truth_kind(truth, name="truth")
            except SeglabError as exc:
                source = given if isinstance(given, (str, Path)) else f"the truth of image {name}"
                raise type(exc)(f"{source}: {exc}") from None
    ranges = []
    for name, array, truth in pairs:
        lo_hi = percentile_range(array, PERCENTILES)
        ranges.append(lo_hi)
        target = (semantic_target(truth, values)[0] if task == "semantic"
                  else instance_target(truth, options["touch_width"]))
        items.append((name, normalize(array, lo_hi), target, truth))
    # -- validation split: by image when there are several, else by rows -----------------------
    split_rng = np.random.default_rng([seed, 10**6])
    if len(items) > 1:
        n_val = max(1, int(round(len(items) * options["validation_fraction"])))
        val_index = sorted(split_rng.permutation(len(items))[:n_val].tolist())
        train = [(x, t, (0, x.shape[0])) for i, (_, x, t, _) in enumerate(items) if i not in val_index]
        val = [(x, t, g) for i, (_, x, t, g) in enumerate(items) if i in val_index]
        split = {"by": "image", "validation": [items[i][0] for i in val_index], "validation_index": val_index}
    else:
        _, x, t, g = items[0]
        cut = int(round(x.shape[0] * (1.0 - options["validation_fraction"])))
        if cut < 1 or cut >= x.shape[0]:
            raise ParameterError(f"the image has {x.shape[0]} rows, too few to hold out a validation band; "
                                 "give more rows or several images")
        train = [(x, t, (0, cut))]
        val = [(x[cut:], t[cut:], g[cut:])]
        split = {"by": "rows", "validation_rows": [cut, int(x.shape[0])]}
    if task == "instance":
        from scipy import ndimage as ndi

        val = [(x, t, g if np.unique(g).size > 2 else ndi.label(g > 0)[0]) for x, t, g in val]
    weights_area = np.array([r1 - r0 for _, _, (r0, r1) in train], float) * \
        np.array([x.shape[1] for x, _, _ in train], float)
    weights_area /= weights_area.sum()
    config: dict[str, Any] = {
        "architecture": "monai.networks.nets.BasicUNet",
        "spatial_dims": 2,
        "features": list(options["features"]),
        "norm": options["norm"],
        "in_channels": 1,
        "out_channels": n_classes,
        "task": task,
        "classes": ({"values": values, "names": ["background"] + [f"class {v}" for v in values[1:]]}
                    if values is not None else {"names": ["background", "interior", "boundary"]}),
        "normalization": {"method": "percentile", "percentiles": list(PERCENTILES), "per_image": True,
                          "training_ranges": [list(r) for r in ranges]},
        "patch": options["patch"],
        "stride_multiple": 16,
        "method": "unet_instance" if task == "instance" else "unet",
        "training": {"data": _provenance(images, truths), "seed": int(seed), "device": device, "threads": threads,
                     "split": split, "options": {k: (list(v) if isinstance(v, tuple) else v)
                                                 for k, v in options.items()}},
    }
    # an option at the value it had before it existed is left out, so older checkpoints stay resumable
    identity = {"data": config["training"]["data"], "seed": int(seed), "task": task,
                "options": {k: v for k, v in config["training"]["options"].items()
                            if not (k == "touch_width" and v == 0)}}
    if options["schedule"] == "cosine":
        identity["epochs"] = int(epochs)  # the schedule spans them: a resumed run must keep them to continue exactly
    # -- network, optimiser, resume ----------------------------------------------------------------
    network = build_network(config).to(torch.device(device))
    optimizer = torch.optim.Adam(network.parameters(), lr=float(options["learning_rate"]))
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": [],
             "train_seconds": 0.0}
    if resume:
        arrays, saved = load_model(checkpoint_dir, kind="unet_checkpoint")
        if saved.get("identity") != identity:
            raise ModelError(f"{checkpoint_dir}: the checkpoint was written by a training run with other data, "
                             "seed, task or options (or, with the cosine schedule, other epochs); resume with the "
                             "same arguments, or train into a new folder")
        _load_state(network, optimizer, arrays, saved["optimizer"])
        state = saved["state"]
    out.mkdir(parents=True, exist_ok=True)
    # -- epochs --------------------------------------------------------------------------------------
    patch, batch = options["patch"], options["batch_size"]
    from ._predict import sliding_window

    started = time.perf_counter()
    for epoch in range(int(state["epoch"]), int(epochs)):
        if state["bad_epochs"] >= options["patience"]:
            break
        if options["time_limit"] is not None and time.perf_counter() - started > float(options["time_limit"]):
            break
        start = time.perf_counter()
        rng = np.random.default_rng([int(seed), epoch])
        network.train()
        losses = []
        for step in range(options["steps_per_epoch"]):
            rate = learning_rate_at(epoch * options["steps_per_epoch"] + step, int(epochs) * options["steps_per_epoch"],
                                    peak=float(options["learning_rate"]), schedule=options["schedule"],
                                    warmup=float(options["warmup"]))
            for group in optimizer.param_groups:
                group["lr"] = rate
            xs, ys = [], []
            for _ in range(batch):
                x, t, rows = train[int(rng.choice(len(train), p=weights_area))]
                px, pt = augment(rng, *sample_patch(rng, x, t, patch, rows))
                xs.append(px)
                ys.append(pt)
            xb = torch.from_numpy(np.stack(xs)[:, None]).to(device)
            yb = torch.from_numpy(np.stack(ys)[:, None]).to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        network.eval()

        def predict(window_image, _net=network):
            with torch.inference_mode():
                xt = torch.from_numpy(np.ascontiguousarray(window_image))[None, None].to(device)
                return torch.softmax(_net(xt), dim=1)[0].float().cpu().numpy()

        scores = [_score(task, n_classes, sliding_window(x, predict, window=options["window"], overlap=0.5,
                                                         n_out=n_classes), t, g) for x, t, g in val]
        score = float(np.mean(scores))
        state["train_seconds"] = float(state["train_seconds"]) + time.perf_counter() - start
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "validation": score})
        # ties go to the later epoch: same validation score, more training (lower loss)
        improved = score >= state["best_score"]
        state["epoch"] = epoch + 1
        if improved:
            state.update(best_score=score, best_epoch=epoch + 1, bad_epochs=0)
            from ._net import state_to_arrays

            model_config = dict(config)
            model_config["validation"] = {
                "metric": "ap50" if task == "instance" else ("f1" if n_classes == 2 else "mean_dice"),
                "best": score, "best_epoch": epoch + 1, "epochs_run": epoch + 1,
                "history": list(state["history"]), "train_seconds": state["train_seconds"]}
            save_model(out, kind="unet", arrays=state_to_arrays(network), config=model_config)
        else:
            state["bad_epochs"] = int(state["bad_epochs"]) + 1
        arrays, optim_config = _state_arrays(network, optimizer)
        save_model(checkpoint_dir, kind="unet_checkpoint", arrays=arrays,
                   config={"identity": identity, "optimizer": optim_config, "state": state})
        if progress is not None:
            metric = "AP@0.5" if task == "instance" else ("F1" if n_classes == 2 else "mean Dice")
            note = " (best)" if improved else f" (no gain for {state['bad_epochs']})"
            progress(Event("train", epoch + 1, int(epochs), item=f"epoch {epoch + 1}",
                           message=f"loss {np.mean(losses):.4f}, validation {metric} {score:.4f}{note}",
                           data={"validation": float(score), "metric": metric}))
    _finish(out, state, stopped_early=int(state["epoch"]) < int(epochs))
    return out


def _finish(out: Path, state: dict, *, stopped_early: bool) -> None:
    """Record the final run length in the model's config (the weights stay the best epoch's)."""
    from seglab.learn import load_model, save_model

    arrays, config = load_model(out, kind="unet")
    reserved = ("format", "format_version", "kind", "seglab_version", "libraries", "created", "weights")
    mine = {k: v for k, v in config.items() if k not in reserved}
    mine["validation"] = {**mine["validation"], "epochs_run": int(state["epoch"]),
                          "history": list(state["history"]), "train_seconds": float(state["train_seconds"]),
                          "stopped_early": bool(stopped_early)}
    save_model(out, kind="unet", arrays=arrays, config=mine)

# The name seglab.deep exports (listed in seglab/deep/__init__.pyi).
TRAIN_OPTIONS = OPTIONS
