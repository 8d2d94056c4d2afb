"""Cross-validated parameter search with Optuna (TPE), resumable from an SQLite file.

For each method (or pipeline) and each of ``folds`` splits of the images, a study searches
the parameters on the training images (the objective is the mean metric over them), then
the best parameters — and, for comparison, the defaults — are scored on the held-out
images. A last study over all images gives the pipeline written to ``best.yaml``.

Parallelism: ``n_jobs`` trials run at once in threads (``study.optimize(n_jobs=...)``). The
array work (NumPy, SciPy, scikit-image, OpenCV) releases the GIL, so two threads keep two
cores busy; pure-Python parts of a method serialise. With ``n_jobs > 1`` the order in which
trials finish varies, so TPE's suggestions after the random start-up trials may differ
between runs with the same seed; ``n_jobs=1`` is exactly reproducible.

Resuming: with ``storage_dir``, studies live in ``storage_dir/study.db`` (SQLite) under names
derived from the images, pipeline, metric, seed and fold; running again continues each
study up to ``n_trials`` finished trials (complete or failed).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import MissingDependencyError, ParameterError, SeglabWarning
from seglab._core.pipeline import Pipeline, parse_step
from seglab.compare import LOWER_IS_BETTER, auto_gray, metric_kind_of, pipeline_label, score
from seglab.metrics import prediction_for, prepare_truth

from ._space import Dimension, pipeline_from_params, space_of_pipeline

__all__ = ["tune", "TuneResult", "MethodTuning", "FoldResult", "kfold_indices", "evaluate_pipeline"]


@dataclass
class FoldResult:
    """One cross-validation fold: tuned on `train`, scored on `test`."""

    fold: int
    train: list[str]
    test: list[str]
    best_params: dict[str, Any]
    train_score: float
    heldout_score: float
    default_score: float
    n_trials: int
    study_name: str


@dataclass
class MethodTuning:
    """Everything learnt about one method (or pipeline)."""

    label: str
    base: Pipeline
    space: list[Dimension]
    folds: list[FoldResult]
    best: Pipeline
    best_value: float
    default_all: float
    study_name: str
    history: list[tuple[int, float | None]] = field(default_factory=list)
    importance: dict[str, float] | None = None
    importance_note: str = ""

    def _mean(self, attr):
        values = [getattr(f, attr) for f in self.folds if np.isfinite(getattr(f, attr))]
        return (statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0) if values else (
            float("nan"), float("nan"))

    @property
    def heldout(self):
        """(mean, std) of the held-out score over folds (NaN without cross-validation)."""
        return self._mean("heldout_score")

    @property
    def default_heldout(self):
        return self._mean("default_score")

    @property
    def train(self):
        return self._mean("train_score")


@dataclass
class TuneResult:
    """What :func:`tune` returns: per-method results, the metric and the winner."""

    metric: str
    key: str
    kind: str
    maximize: bool
    methods: list[MethodTuning]
    names: list[str]
    n_trials: int
    folds: int
    seed: int

    @property
    def best(self) -> MethodTuning:
        """The method with the best mean held-out score (best score on all images without folds)."""
        sign = 1 if self.maximize else -1

        def value(m: MethodTuning):
            v = m.heldout[0] if self.folds > 1 else m.best_value
            return -np.inf if not np.isfinite(v) else sign * v

        return max(self.methods, key=value)


def kfold_indices(n: int, folds: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """Deterministic shuffled k-fold split of ``range(n)`` into (train, test) index lists."""
    if folds < 2:
        return []
    if folds > n:
        raise ParameterError(f"folds got {folds}; expected at most {n}, the number of images (or 1: no folds)")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, folds)
    return [(sorted(int(i) for j, p in enumerate(parts) if j != k for i in p), sorted(int(i) for i in parts[k]))
            for k in range(folds)]


class _Data:
    """Images, truths prepared for the metric, and a cache of pre-step outputs."""

    def __init__(self, images, truths, kind):
        self.images = images
        self.truths = [prepare_truth(t, kind) for t in truths]
        self.kind = kind
        self._cache: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def pre_output(self, index: int, pipeline: Pipeline) -> tuple[np.ndarray, Pipeline]:
        """Image `index` after the pre-steps (cached per pre-step parameters) and the rest of the pipeline."""
        pipeline, _ = auto_gray(pipeline, self.images[index])
        rest = Pipeline(pipeline.method, [], list(pipeline.post))
        if not pipeline.pre:
            return self.images[index], rest
        key = (index, json.dumps([s.to_dict() for s in pipeline.pre], sort_keys=True))
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = pipeline.run_pre(self.images[index])
            with self._lock:
                if len(self._cache) > 16 * len(self.images):
                    self._cache.clear()
                self._cache[key] = hit
        return hit, rest


def evaluate_pipeline(pipeline: Pipeline, data: _Data, indices: Sequence[int], key: str) -> float:
    """Mean of metric `key` of `pipeline` over images `indices`."""
    values = []
    for index in indices:
        image, rest = data.pre_output(index, pipeline)
        result = rest.run(image)
        prediction = prediction_for(result.data, result.output, data.kind)
        values.append(score(data.truths[index], prediction, data.kind)[key])
    return float(np.mean(values)) if values else float("nan")


def _fingerprint(images, truths, names) -> str:
    digest = hashlib.sha1()
    for name, image, truth in zip(names, images, truths):
        digest.update(str(name).encode())
        for array in (image, truth):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.shape}{array.dtype}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:12]


def _as_base(item, pre, post) -> tuple[str, Pipeline]:
    if isinstance(item, Pipeline):
        return pipeline_label(item), item
    if isinstance(item, Mapping):
        pipeline = Pipeline.from_dict(item)
        return pipeline_label(pipeline), pipeline
    if isinstance(item, Path) or (isinstance(item, str) and item.endswith((".yaml", ".yml", ".json"))):
        from seglab.io import read_pipeline

        return Path(item).stem, read_pipeline(item)
    pipeline = Pipeline.build(str(item).strip(), pre=pre, post=post)
    return pipeline_label(pipeline), pipeline


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError('tuning needs optuna: pip install "seglab[tune]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tune(
    images: Sequence[Any],
    truths: Sequence[Any],
    methods: str | Sequence[Any],
    *,
    metric: str = "f1",
    n_trials: int = 30,
    folds: int = 3,
    seed: int = 0,
    storage_dir: str | Path | None = None,
    n_jobs: int = 2,
    pre: Sequence[Any] = (),
    post: Sequence[Any] = (),
    tune_steps: bool = True,
    names: Sequence[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> TuneResult:
    """Search each method's parameters against ground truth, with k-fold cross-validation over images.

    Parameters
    ----------
    images, truths : sequence of array_like
        Images and their ground truth (masks, region labels or instance labels, as `metric` needs).
    methods : str or sequence
        Registry names (``"otsu,local"``), :class:`~seglab.Pipeline` objects, pipeline dicts or
        YAML/JSON files. Names get the `pre`/`post` steps around them.
    metric : str
        ``f1``, ``mcc``, ``iou``, ``precision``, ``recall`` (masks); ``ari``, ``vi``, ``covering``
        (regions); ``ap`` (= ``ap50``), ``ap75``, ``map``, ``pq`` (instances). ``vi`` is minimised,
        the rest maximised.
    n_trials : int
        Trials per study (one study per fold, plus one on all images for the final pipeline).
    folds : int
        k of k-fold cross-validation over images; 1 tunes on all images with no held-out score.
    seed : int
        Seed of the fold split and of ``optuna.samplers.TPESampler``.
    storage_dir : path, optional
        Folder for ``study.db``; reruns resume each study up to `n_trials`. None keeps studies in memory.
    n_jobs : int
        Trials run in parallel threads (see the module docstring).
    pre, post : sequence
        Steps around each named method (``["invert", ("median", {"size": 3})]``).
    tune_steps : bool
        Search the parameters of pre- and post-steps too (e.g. the median size).
    names : sequence of str, optional
        Image names for the report.
    progress : callable, optional
        ``progress(done, total, description)`` after each trial.

    Returns
    -------
    TuneResult
        Per method: folds (best params, train, held-out and default held-out scores), the pipeline
        tuned on all images (``.best``), its history and parameter importances.

    Raises
    ------
    ParameterError
        Unknown metric, fewer images than folds, mismatched counts or shapes.
    """
    optuna = _optuna()
    kind, key = metric_kind_of(metric)
    maximize = key not in LOWER_IS_BETTER
    images = [np.asarray(i) for i in images]
    truths = [np.asarray(t) for t in truths]
    if len(images) != len(truths) or not images:
        raise ParameterError(f"got {len(images)} images and {len(truths)} truths; give one truth per image")
    if n_trials < 1:
        raise ParameterError(f"n_trials got {n_trials}; expected at least 1")
    if n_jobs < 1:
        raise ParameterError(f"n_jobs got {n_jobs}; expected at least 1")
    from seglab._core.validation import check_image

    for index, (image, truth) in enumerate(zip(images, truths)):
        _, info = check_image(image)
        if tuple(truth.shape) != info.spatial_shape:
            raise ParameterError(
                f"truths[{index}] has shape {truth.shape}; expected {info.spatial_shape}, the shape of images[{index}]"
            )
    names = list(names) if names is not None else [f"image{k}" for k in range(len(images))]
    splits = kfold_indices(len(images), folds, seed)
    data = _Data(images, truths, kind)
    if isinstance(methods, str):
        methods = [m for m in methods.split(",") if m.strip()]
    pre = [parse_step(p, "pre") for p in (pre or [])]
    post = [parse_step(p, "post") for p in (post or [])]
    bases = [_as_base(m, pre, post) for m in methods]
    if not bases:
        raise ParameterError("no method to tune; give --methods NAMES or a pipeline file")
    fingerprint = _fingerprint(images, truths, names)
    if storage_dir is not None:
        Path(storage_dir).mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{Path(storage_dir).resolve() / 'study.db'}",
            engine_kwargs={"connect_args": {"timeout": 60}},
        )
    else:
        storage = optuna.storages.InMemoryStorage()
    total = len(bases) * (len(splits) + 1) * n_trials
    counter = {"done": 0}
    lock = threading.Lock()
    out: list[MethodTuning] = []
    with warnings.catch_warnings():
        # Trials run in threads; a method's advisory warning (constant image, conversion) must not fail a trial.
        warnings.simplefilter("ignore", SeglabWarning)
        for label, base in bases:
            space = space_of_pipeline(base, tune_steps=tune_steps)
            config = json.dumps({"pipeline": base.to_dict(), "metric": key, "seed": seed, "folds": folds,
                                 "tune_steps": tune_steps, "data": fingerprint}, sort_keys=True)
            digest = hashlib.sha1(config.encode()).hexdigest()[:10]

            def run_study(train_idx, suffix):
                name = f"seglab:{label}:{key}:{suffix}:{digest}"
                study = optuna.create_study(
                    storage=storage, study_name=name, load_if_exists=True,
                    direction="maximize" if maximize else "minimize",
                    sampler=optuna.samplers.TPESampler(seed=seed),
                )
                finished = [t for t in study.trials if t.state.is_finished()]
                if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) and space:
                    # Start from the defaults, so the search can only match or beat them on train.
                    study.enqueue_trial({d.key: _default_of(base, d) for d in space}, skip_if_exists=True)
                remaining = n_trials - len(finished)

                def objective(trial):
                    values = {d.key: d.suggest(trial) for d in space}
                    return evaluate_pipeline(pipeline_from_params(base, values), data, train_idx, key)

                def callback(study_, trial_):
                    with lock:
                        counter["done"] += 1
                        done = counter["done"]
                    if progress:
                        progress(done, total, f"{label} {suffix}")

                if remaining > 0 and space:
                    if any(t.state == optuna.trial.TrialState.WAITING for t in study.trials):
                        # The enqueued defaults run alone: two threads popping one enqueued trial from an
                        # RDB storage race ("Cannot tell a COMPLETE trial").
                        study.optimize(objective, n_trials=1, n_jobs=1, catch=(Exception,), callbacks=[callback])
                        remaining -= 1
                    if remaining > 0:
                        study.optimize(objective, n_trials=remaining, n_jobs=n_jobs, catch=(Exception,),
                                       callbacks=[callback])
                elif remaining > 0 and not study.trials:
                    # Nothing to search: one trial records the default score.
                    study.optimize(objective, n_trials=1, n_jobs=1, catch=(Exception,), callbacks=[callback])
                    with lock:
                        counter["done"] += remaining - 1
                return study, name

            def best_of(study):
                complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
                if not complete:
                    return base, {}, float("nan")
                trial = study.best_trial
                return pipeline_from_params(base, trial.params), dict(trial.params), float(trial.value)

            fold_results = []
            for number, (train_idx, test_idx) in enumerate(splits):
                study, name = run_study(train_idx, f"fold{number + 1}of{len(splits)}")
                tuned, params, train_value = best_of(study)
                fold_results.append(FoldResult(
                    fold=number + 1, train=[names[i] for i in train_idx], test=[names[i] for i in test_idx],
                    best_params=params, train_score=train_value,
                    heldout_score=_safe_eval(tuned, data, test_idx, key),
                    default_score=_safe_eval(base, data, test_idx, key),
                    n_trials=len(study.trials), study_name=name,
                ))
            all_idx = list(range(len(images)))
            study, name = run_study(all_idx, "all")
            best, _, best_value = best_of(study)
            importance, note = _importance(optuna, study)
            history = [(t.number, t.value) for t in study.trials if t.state.is_finished()]
            out.append(MethodTuning(
                label=label, base=base, space=space, folds=fold_results, best=best, best_value=best_value,
                default_all=_safe_eval(base, data, all_idx, key), study_name=name, history=history,
                importance=importance, importance_note=note,
            ))
    return TuneResult(metric=metric, key=key, kind=kind, maximize=maximize, methods=out, names=names,
                      n_trials=n_trials, folds=max(folds, 1), seed=seed)


def _default_of(base: Pipeline, dim: Dimension):
    if dim.slot == "method":
        value = base.method.params.get(dim.param.name)
    else:
        steps = base.pre if dim.slot.startswith("pre") else base.post
        value = steps[int(dim.slot[4 if dim.slot.startswith("post") else 3:])].params.get(dim.param.name)
    if dim.choices is not None:
        return value if value in dim.choices else dim.choices[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and dim.low <= value <= dim.high:
        return value
    return dim.low


def _safe_eval(pipeline, data, indices, key) -> float:
    try:
        return evaluate_pipeline(pipeline, data, indices, key)
    except Exception:  # noqa: BLE001 - a pipeline failing on held-out images scores NaN, reported as such
        return float("nan")


def _importance(optuna, study) -> tuple[dict[str, float] | None, str]:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 4:
        return None, f"not enough trials for parameter importance ({len(complete)} complete; need 4)"
    if not complete[0].params:
        return None, "no searched parameters"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        return None, f"parameter importance unavailable: {exc}"
    return {k: float(v) for k, v in importance.items()}, ""
