"""Cross-validated parameter search with Optuna (TPE), resumable from an SQLite file.

For each method (or pipeline) and each of ``folds`` splits of the images, a study searches
the parameters on the training images (the objective is the mean metric over them), then
the best parameters — and, for comparison, the defaults — are scored on the held-out
images. A last study over all images gives the pipeline written to ``best.yaml``.

Parallelism and determinism: trials are asked from the sampler in batches of ``batch`` and scored image by
image on an executor (this process, ``n_jobs`` worker processes, or dask.distributed workers: see
:mod:`seglab.tune._exec`). After each image every trial of the batch reports its running mean and the
``MedianPruner`` may stop it; the batch is told to the study in trial order. The sampler and the pruner
therefore see exactly the same history whatever the number of workers and whichever finished first: for a
given seed and batch, serial, pooled and dask runs give the same trials and the same result (unless a timeout
stops a trial, which depends on the machine).

Time: ``timeout`` bounds the whole run (each study gets an equal share of the time left when it starts; the
best pipeline so far is kept), ``trial_timeout`` one trial (stopped, recorded as failed).

Resuming: with ``storage_dir``, studies live in ``storage_dir/study.journal`` (Optuna's append-only
journal file: one small write per event, where SQLite paid a synchronous commit of ~20 ms for each report,
tell and query) under names derived from the images, pipeline, metric, seed and fold; running again
continues each study up to ``n_trials`` finished trials (complete, pruned or failed). A folder holding only
a ``study.db`` from an earlier version is resumed from that SQLite file.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import MissingDependencyError, ParameterError, short_repr
from seglab._core.pipeline import Pipeline, as_pipeline, parse_step, split_methods
from seglab.compare import LOWER_IS_BETTER, auto_gray, metric_kind_of, score
from seglab.metrics import prediction_for, prepare_truth
from seglab.workflows import Event

from ._exec import Payload, make_executor
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
    states: dict[str, int] = field(default_factory=dict)
    failure: str = ""
    """Why no trial on all images scored (the first failed trial's error), else empty."""

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
    stopped: str = ""
    seconds: float = float("nan")

    @property
    def best(self) -> MethodTuning:
        """The method with the best mean held-out score (best score on all images without folds)."""
        sign = 1 if self.maximize else -1

        def value(m: MethodTuning):
            # A run stopped by its timeout may lack some held-out scores: then every method is ranked by its
            # score on all images (the study that ran first), so that like is compared with like.
            v = m.heldout[0] if self.folds > 1 and not self.stopped else m.best_value
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
    # the one parser of what to run (names, 'name:key=value', dicts, pipelines, files)
    return as_pipeline(item, pre=pre, post=post)


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
    n_jobs: int = 1,
    pre: Sequence[Any] = (),
    post: Sequence[Any] = (),
    tune_steps: bool = True,
    names: Sequence[str] | None = None,
    progress: Callable[[Event], None] | None = None,
    timeout: float | None = None,
    trial_timeout: float | None = None,
    prune: bool = True,
    batch: int = 4,
    scheduler: str | None = None,
    workers: int | None = None,
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
        Folder for ``study.journal``; reruns resume each study up to `n_trials`. None keeps studies in memory.
    n_jobs : int
        Worker processes scoring trials in parallel (1: in this process). Results do not depend on it.
    pre, post : sequence
        Steps around each named method (``["invert", ("median", {"size": 3})]``).
    tune_steps : bool
        Search the parameters of pre- and post-steps too (e.g. the median size).
    names : sequence of str, optional
        Image names for the report.
    progress : callable, optional
        Receives a :class:`seglab.workflows.Event` (stage ``'tune'``) after each trial; its message names the
        study, the best
        score so far and, with a `timeout`, the seconds left.
    timeout : float, optional
        Seconds for the whole run. The studies on all images (which give the best pipelines) run first,
        then the folds'; each study asks for new trials during an equal share of the time still left when
        it starts. Trials still running at the deadline are stopped (recorded as failed). The best pipeline
        found so far is returned (and written by :func:`write_tune_outputs`); held-out scores that could
        not be computed in time are NaN.
    trial_timeout : float, optional
        Seconds one trial may take over all its images; a trial over it is stopped and recorded as failed.
    prune : bool
        Stop trials whose running mean after an image is worse than the median of the completed trials at
        the same image (``optuna.pruners.MedianPruner``, after 5 completed trials).
    batch : int
        Trials asked from the sampler at once and scored in parallel. The sampler sees completed batches
        only, so the trials (and the result) depend on `seed` and `batch`, never on `n_jobs`, `workers`
        or timing, unless a timeout stops a trial.
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler; trials' images are scored on its workers.
    workers : int, optional
        Start a ``dask.distributed`` LocalCluster of this many single-threaded worker processes.

    Returns
    -------
    TuneResult
        Per method: folds (best params, train, held-out and default held-out scores), the pipeline
        tuned on all images (``.best``), its history and parameter importances; ``stopped`` says
        whether the `timeout` ended the run early.

    Raises
    ------
    ParameterError
        Unknown metric, fewer images than folds, mismatched counts or shapes, a bad budget.
    """
    started = time.monotonic()
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
    from seglab._core.limits import check_process_count

    if n_jobs > 1 and not (scheduler or workers):
        # the pool starts all its processes up front: --jobs 100000 would fork until memory runs out
        check_process_count(n_jobs, name="n_jobs")
    if batch < 1:
        raise ParameterError(f"batch got {batch}; expected at least 1")
    for name, value in (("timeout", timeout), ("trial_timeout", trial_timeout)):
        # inf is refused, not read as "no limit": None says that, and deadlines are computed from the value
        if value is not None and not (isinstance(value, numbers.Real) and 0 < value < math.inf):
            raise ParameterError(f"{name} got {value!r}; expected a number of seconds > 0, finite "
                                 "(or None: no limit)")
    if workers is not None and workers < 1:
        raise ParameterError(f"workers got {workers}; expected at least 1")
    if workers is not None and not scheduler:
        check_process_count(workers, name="workers")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        # Optuna's sampler and NumPy's RNG take seeds in [0, 2**32): say so before anything starts
        raise ParameterError(f"seed got {short_repr(seed)}; expected an integer from 0 to {2**32 - 1}")
    from seglab._core.validation import check_image

    for index, (image, truth) in enumerate(zip(images, truths)):
        _, info = check_image(image)
        if tuple(truth.shape) != info.spatial_shape:
            raise ParameterError(
                f"truths[{index}] has shape {truth.shape}; expected {info.spatial_shape}, the shape of images[{index}]"
            )
    names = list(names) if names is not None else [f"image{k}" for k in range(len(images))]
    splits = kfold_indices(len(images), folds, seed)
    if isinstance(methods, str):
        methods = split_methods(methods)
    pre = [parse_step(p, "pre") for p in (pre or [])]
    post = [parse_step(p, "post") for p in (post or [])]
    bases = [_as_base(m, pre, post) for m in methods]
    if not bases:
        raise ParameterError("no method to tune; give --methods NAMES or a pipeline file")
    fingerprint = _fingerprint(images, truths, names)
    # The executor first: a scheduler that cannot be reached fails before study.journal is created
    deadline = started + timeout if timeout is not None else None
    payload = Payload(images, [prepare_truth(t, kind) for t in truths], kind, key)
    executor = make_executor(payload, n_jobs=n_jobs, scheduler=scheduler, workers=workers,
                             trial_timeout=trial_timeout)
    try:
        if storage_dir is not None:
            folder = Path(storage_dir).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            if (folder / "study.db").exists() and not (folder / "study.journal").exists():
                storage = optuna.storages.RDBStorage(  # a run of an earlier version: resume it where it is
                    f"sqlite:///{folder / 'study.db'}", engine_kwargs={"connect_args": {"timeout": 60}})
            else:
                from optuna.storages.journal import JournalStorage

                storage = JournalStorage(_journal_backend(folder / "study.journal"))
        else:
            storage = optuna.storages.InMemoryStorage()
    except BaseException:
        executor.close()
        raise
    total = len(bases) * (len(splits) + 1) * n_trials
    state = {"done": 0, "studies_left": len(bases) * (len(splits) + 1), "stopped": False}
    out: list[MethodTuning] = []

    def evaluate(pipeline: Pipeline, indices: Sequence[int]) -> float:
        """Mean score of `pipeline` over `indices` through the executor (NaN if it fails or time is up)."""
        if deadline is not None and time.monotonic() >= deadline:
            return float("nan")
        outcomes = executor.run([(pipeline.to_dict(), i) for i in indices], [trial_timeout] * len(indices), deadline)
        values = []
        for status, value, _seconds in outcomes:
            if status != "ok":
                return float("nan")
            values.append(value)
        return float(np.mean(values)) if values else float("nan")

    try:
        plans: list[dict[str, Any]] = []
        for label, base in bases:
            space = space_of_pipeline(base, tune_steps=tune_steps)
            config = json.dumps({"pipeline": base.to_dict(), "metric": key, "seed": seed, "folds": folds,
                                 "tune_steps": tune_steps, "data": fingerprint}, sort_keys=True)
            digest = hashlib.sha1(config.encode()).hexdigest()[:10]
            # counts: trial states over this method's studies (complete, pruned, fail)
            plans.append({"label": label, "base": base, "space": space, "digest": digest, "counts": {}})

        def run_study(plan, train_idx, suffix):
            label, base, space = plan["label"], plan["base"], plan["space"]
            name = f"seglab:{label}:{key}:{suffix}:{plan['digest']}"
            study = optuna.create_study(
                storage=storage, study_name=name, load_if_exists=True,
                direction="maximize" if maximize else "minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if prune else optuna.pruners.NopPruner(),
            )
            now = time.monotonic()
            # An equal share of the time left; the share only decides when to stop asking for new batches, a
            # batch under way runs to the global deadline (the next studies' shares shrink accordingly).
            # A fold study keeps a fifth of its share for scoring its best and the defaults on the held-out images.
            factor = 0.8 if suffix != "all" else 1.0
            study_deadline = (now + factor * (deadline - now) / max(state["studies_left"], 1)
                              if deadline is not None else None)
            state["studies_left"] -= 1
            finished = [t for t in study.trials if t.state.is_finished()]
            if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) and space:
                # Start from the defaults, so the search can only match or beat them on train.
                study.enqueue_trial({d.key: _default_of(base, d) for d in space}, skip_if_exists=True)
            remaining = n_trials - len(finished) if space else (0 if finished else 1)
            skipped = 0 if space or finished else n_trials - 1
            while remaining > 0:
                if study_deadline is not None and time.monotonic() >= study_deadline:
                    state["stopped"] = True
                    break
                size = min(batch, remaining)
                trials = [study.ask() for _ in range(size)]
                pipelines = [pipeline_from_params(base, {d.key: d.suggest(t) for d in space}) for t in trials]
                _run_batch(optuna, study, trials, pipelines, train_idx, executor, trial_timeout, deadline)
                remaining -= size
                state["done"] += size
                if progress:
                    progress(Event("tune", state["done"], total, item=label,
                                   message=_describe(study, label, suffix, key, deadline, optuna)))
            for trial in study.trials:
                plan["counts"][trial.state.name.lower()] = plan["counts"].get(trial.state.name.lower(), 0) + 1
            state["done"] += skipped + max(remaining, 0)
            if progress:
                progress(Event("tune", state["done"], total, item=label,
                                   message=_describe(study, label, suffix, key, deadline, optuna)))
            return study, name

        def best_of(plan, study):
            complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
            if not complete:
                return plan["base"], {}, float("nan")
            trial = study.best_trial
            return pipeline_from_params(plan["base"], trial.params), dict(trial.params), float(trial.value)

        all_idx = list(range(len(images)))
        # The studies on all images first: they give the pipeline written to best.yaml, so a run stopped by its
        # timeout has one for every method. (Each study is independent: the order does not change results.)
        for plan in plans:
            study, name = run_study(plan, all_idx, "all")
            plan["best"], _, plan["best_value"] = best_of(plan, study)
            plan["importance"], plan["note"] = _importance(optuna, study)
            # Pruned trials carry a partial running mean and failed ones none: only complete trials have a score.
            plan["history"] = [(t.number, t.value if t.state == optuna.trial.TrialState.COMPLETE else None)
                               for t in study.trials if t.state.is_finished()]
            plan["study_name"] = name
            plan["default_all"] = evaluate(plan["base"], all_idx)
            plan["failure"] = _failure(optuna, study)
        for plan in plans:
            fold_results = []
            for number, (train_idx, test_idx) in enumerate(splits):
                study, name = run_study(plan, train_idx, f"fold{number + 1}of{len(splits)}")
                tuned, params, train_value = best_of(plan, study)
                fold_results.append(FoldResult(
                    fold=number + 1, train=[names[i] for i in train_idx], test=[names[i] for i in test_idx],
                    best_params=params, train_score=train_value,
                    heldout_score=evaluate(tuned, test_idx),
                    default_score=evaluate(plan["base"], test_idx),
                    n_trials=len(study.trials), study_name=name,
                ))
            out.append(MethodTuning(
                label=plan["label"], base=plan["base"], space=plan["space"], folds=fold_results, best=plan["best"],
                best_value=plan["best_value"], default_all=plan["default_all"],
                study_name=plan["study_name"], history=plan["history"], importance=plan["importance"],
                importance_note=plan["note"], states=plan["counts"], failure=plan["failure"],
            ))
    finally:
        executor.close()
    return TuneResult(metric=metric, key=key, kind=kind, maximize=maximize, methods=out, names=names,
                      n_trials=n_trials, folds=max(folds, 1), seed=seed,
                      stopped="timeout" if state["stopped"] else "", seconds=time.monotonic() - started)


def _failure(optuna, study) -> str:
    """The first failed trial's reason when no trial of `study` completed (e.g. an output the metric cannot
    score: a label partition without background against f1), so that a row of NaN says why."""
    if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        return ""
    reasons = [t.user_attrs.get("stopped") for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    return next((str(r) for r in reasons if r), "")


def _run_batch(optuna, study, trials, pipelines, indices, executor, trial_timeout, deadline) -> None:
    """Score a batch of asked trials image by image, report running means, prune, and tell the study.

    Trials are told in trial-number order after the whole batch, and pruning decisions are taken in that order
    after each image: the pruner sees only trials completed in earlier batches, so the outcome does not depend
    on which worker finished first.
    """
    alive = list(range(len(trials)))
    scores: list[list[float]] = [[] for _ in trials]
    spent = [0.0] * len(trials)
    verdict: list[tuple[Any, Any] | None] = [None] * len(trials)  # (state, value) once decided
    dicts = [p.to_dict() for p in pipelines]
    for step, index in enumerate(indices):
        if not alive:
            break
        limits = [None if trial_timeout is None else max(trial_timeout - spent[k], 0.0) for k in alive]
        outcomes = executor.run([(dicts[k], index) for k in alive], limits, deadline)
        still = []
        for k, (status, value, seconds) in zip(alive, outcomes):
            spent[k] += seconds
            if status != "ok":
                trials[k].set_user_attr("stopped", status if status != "error" else str(value)[:300])
                verdict[k] = (optuna.trial.TrialState.FAIL, None)
                continue
            scores[k].append(value)
            trials[k].report(float(np.mean(scores[k])), step)
            if step < len(indices) - 1 and trials[k].should_prune():
                verdict[k] = (optuna.trial.TrialState.PRUNED, None)
                continue
            still.append(k)
        alive = still
    for k in alive:
        verdict[k] = (optuna.trial.TrialState.COMPLETE, float(np.mean(scores[k])) if scores[k] else float("nan"))
    for trial, decided in zip(trials, verdict):
        state, value = decided if decided is not None else (optuna.trial.TrialState.FAIL, None)
        if state == optuna.trial.TrialState.COMPLETE and value is not None and not np.isfinite(value):
            state, value = optuna.trial.TrialState.FAIL, None
        study.tell(trial, value, state=state)


def _describe(study, label, suffix, key, deadline, optuna) -> str:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    text = f"{label} {suffix}"
    if complete:
        text += f" · best {key} {study.best_value:.3f}"
    if deadline is not None:
        text += f" · {max(deadline - time.monotonic(), 0.0):.0f} s left"
    return text


def _journal_backend(path: Path):
    """Optuna's journal file, appended without an fsync per event.

    Optuna's ``JournalFileBackend`` fsyncs every append (each report, ask and tell): on a busy disk that cost
    a third of a small tuning run. The lock (process safety) and the line format are Optuna's; an event lost
    in an operating-system crash only means a rerun repeats that trial.
    """
    import json

    from optuna.storages.journal import JournalFileBackend

    try:
        from optuna.storages.journal._file import get_lock_file
    except ImportError:  # another Optuna layout: its own backend, fsync included
        return JournalFileBackend(str(path))

    class _Backend(JournalFileBackend):
        def append_logs(self, logs):
            text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            with get_lock_file(self._lock), open(self._file_path, "ab") as handle:
                handle.write(text.encode("utf-8"))

    return _Backend(str(path))


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
