"""Run many methods (or pipelines) over images with ground truth, score and rank them."""

from __future__ import annotations

import math
import numbers
import os
import statistics
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seglab._core.errors import ParameterError, SeglabError
from seglab._core.pipeline import Pipeline, as_pipeline, parse_step, pipeline_label, split_methods
from seglab._core.registry import list_methods, list_steps
from seglab.workflows import Event

from ._score import (
    LOWER_IS_BETTER,
    METRIC_KINDS,
    PRIMARY_METRIC,
    infer_metric_kind,
    metric_kind_for,
    prediction_for,
    prepare_truth,
    score,
)

__all__ = ["compare", "Candidate", "resolve_candidates", "rank", "run_pipeline_measured", "auto_gray", "load_input",
           "pipeline_label"]

# Columns every row has, in this order, before the metric columns.
BASE_COLUMNS = ("image", "method", "metric_kind", "auto_pre", "seconds", "peak_mb", "error", "warnings", "notes",
                "pipeline")


@dataclass
class Candidate:
    """One thing to compare: a labelled pipeline, or a method skipped with the reason."""

    label: str
    pipeline: Pipeline | None
    skipped: str = ""


def _skip_reason(pipeline: Pipeline) -> str:
    spec = pipeline.method.spec
    if spec.inputs:
        return f"needs user input ({', '.join(spec.inputs)}); run it with `seglab segment` instead"
    if spec.model and not pipeline.method.params.get("model"):
        return (f"needs a trained model: give --methods '{spec.name}:model=MODEL_DIR' (or a pipeline file); "
                "`seglab train` makes one")
    if spec.output == "edges":
        return "outputs an edge map, which is not a segmentation (score it with boundary metrics)"
    if 2 not in spec.dims:
        return "3-D only"
    return ""


def resolve_candidates(methods: str | Sequence[Any] | None = "all", pipelines: Sequence[Any] = ()) -> list[Candidate]:
    """Turn what to run (method names, ``'all'``, ``'name:key=value'``, pipelines, dicts, files) into candidates.

    Every item goes through :func:`seglab._core.pipeline.as_pipeline`, the one parser of what to run.
    Unknown method names raise :class:`~seglab.UnknownMethodError` (with close matches) before anything runs.
    """
    if methods is None:
        methods = []
    if isinstance(methods, str):
        methods = split_methods(methods)
    items: list[Any] = []
    for item in methods:
        if isinstance(item, str) and item.strip().lower() == "all":
            items.extend(list_methods())
        else:
            items.append(item)
    items.extend(pipelines)
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in items:
        label, pipeline = as_pipeline(item)
        if isinstance(item, str) and ":" not in item and label == pipeline.method.name and label in seen:
            continue  # the same method named twice ('all' and its name)
        while label in seen:
            label += "'"
        seen.add(label)
        reason = _skip_reason(pipeline)
        out.append(Candidate(label, None if reason else pipeline, reason))
    if not out:
        raise ParameterError("nothing to compare: give --methods NAMES (or 'all') or --pipeline FILE")
    return out


def auto_gray(pipeline: Pipeline, image: np.ndarray) -> tuple[Pipeline, str]:
    """Prepend the 'grayscale' pre-step when a colour image meets a gray-only first step."""
    from seglab._core.validation import check_image

    _, info = check_image(image)
    first = pipeline.pre[0].spec if pipeline.pre else pipeline.method.spec
    if not info.is_color or first.channels != "gray":
        return pipeline, ""
    if "grayscale" not in list_steps("pre"):
        return pipeline, ""
    return Pipeline(pipeline.method, [parse_step("grayscale", "pre"), *pipeline.pre], list(pipeline.post)), "grayscale"


class _Probes:
    """tracemalloc and warning capture shared by the measured runs of one process, threads included.

    Both are process-wide: when each run started and stopped them itself, two runs on the threads of one dask
    worker raced. ``tracemalloc.stop()`` while another thread allocates outside the GIL is a use-after-free in
    CPython 3.11 (it crashed the interpreter in compare on a threaded worker), the second thread's peak read 0
    once the first had stopped tracing, and interleaved ``warnings.catch_warnings`` left the process recording
    into a finished run's list. Here the first run to enter starts tracing and installs one warning hook, the
    last to leave restores the hook, and each thread's warnings go to its own run. Tracing stops only when no
    run and no :meth:`holding` job (a whole compare job: its scoring labels images outside the GIL too) is left
    in the process. A peak is only reported for a run that had the process to itself: tracemalloc cannot tell
    threads apart. (CPython's fix for the stop race, gh-128679, is not in 3.11.)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._active: dict[int, dict[str, Any]] = {}
        self._tracing_here = False
        self._holds = 0
        self._catcher: Any = None
        self._show_before: Any = None

    def reset_after_fork(self) -> None:
        """A forked child has one thread: forget the parent's other runs (and a lock one of them held)."""
        self.__init__()  # type: ignore[misc]

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep tracing on (if it is) for the duration: another thread's run ending must not stop it."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                self._stop_if_idle()

    def _stop_if_idle(self) -> None:
        if self._tracing_here and not self._holds and not any(run["memory"] for run in self._active.values()):
            tracemalloc.stop()
            self._tracing_here = False

    def enter(self, measure_memory: bool) -> dict[str, Any]:
        run: dict[str, Any] = {"warnings": [], "memory": measure_memory, "shared": False}
        with self._lock:
            if not self._active:
                self._catcher = warnings.catch_warnings()
                self._catcher.__enter__()
                warnings.simplefilter("always")
                self._show_before = warnings.showwarning
                warnings.showwarning = self._show
            if measure_memory:
                if not tracemalloc.is_tracing():
                    tracemalloc.start()
                    self._tracing_here = True
                for other in self._active.values():
                    other["shared"] = True
                run["shared"] = any(other["memory"] for other in self._active.values())
                if not run["shared"]:
                    tracemalloc.reset_peak()
            self._active[id(run)] = run
        self._local.run = run
        return run

    def leave(self, run: dict[str, Any]) -> float:
        """End `run`; its peak in MiB (NaN when memory was not measured or another run overlapped it)."""
        self._local.run = None
        with self._lock:
            peak = float("nan")
            if run["memory"] and not run["shared"]:
                peak = tracemalloc.get_traced_memory()[1] / 2**20
            del self._active[id(run)]
            self._stop_if_idle()
            if not self._active:
                warnings.showwarning = self._show_before
                self._catcher.__exit__(None, None, None)
                self._catcher = None
        return peak

    def _show(self, message, category, filename, lineno, file=None, line=None):
        run = getattr(self._local, "run", None)
        if run is None:  # a thread that is not in a measured run: as before
            self._show_before(message, category, filename, lineno, file, line)
        else:
            run["warnings"].append(warnings.WarningMessage(message, category, filename, lineno, file, line))


_PROBES = _Probes()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_PROBES.reset_after_fork)


def run_pipeline_measured(pipeline: Pipeline, image: np.ndarray, *, measure_memory: bool = True):
    """Run `pipeline` on `image`; return (result, seconds, peak MiB, warning messages).

    Memory is the tracemalloc peak of the run: NumPy arrays and Python objects (OpenCV's returned
    arrays too); scratch memory that C libraries allocate outside Python's allocator is not counted. When
    runs overlap on the threads of one process (a dask worker with several threads), tracemalloc cannot tell
    them apart and the peak is NaN.
    """
    caught: list[str] = []
    run = _PROBES.enter(measure_memory)
    start = time.perf_counter()
    try:
        result = pipeline.run(image)
    finally:
        seconds = time.perf_counter() - start
        peak = _PROBES.leave(run)
    for record in run["warnings"]:
        text = f"{record.category.__name__}: {record.message}"
        if text not in caught:
            caught.append(text)
    return result, seconds, peak, caught


class MethodTimeoutError(SeglabError, TimeoutError):
    """A method ran past its time budget in :func:`compare` (``method_timeout``)."""


_WARM: set[str] = set()
# Held while this process imports for a budgeted run and while it forks (see _call_in_child): a child forked
# while another thread held a module's import lock would wait for that lock forever.
_FORK_LOCK = threading.Lock()


def _run_with_budget(pipeline: Pipeline, image: np.ndarray, measure_memory: bool, left: float, budget: float):
    """:func:`run_pipeline_measured` in a forked child that is killed after `left` seconds."""
    if left <= 0:
        raise MethodTimeoutError(f"over the method time budget ({budget:g} s, --method-timeout) on earlier images")
    with _FORK_LOCK:
        if not _WARM:
            # The field's libraries, imported here once so forked children inherit them: the budget then measures
            # the method, not an import (a method's own lazy imports still count on its first run).
            import importlib

            for name in ("cv2", "scipy.ndimage", "skimage.filters", "skimage.segmentation", "skimage.morphology"):
                try:
                    importlib.import_module(name)
                except ImportError:
                    pass
            _WARM.add("libraries")
        for step in (*pipeline.pre, pipeline.method, *pipeline.post):
            step.spec.load()
    start = time.perf_counter()
    try:
        status, payload = _call_in_child(run_pipeline_measured, (pipeline, image),
                                         {"measure_memory": measure_memory}, left)
    except TimeoutError:
        raise MethodTimeoutError(f"over the method time budget ({budget:g} s, --method-timeout): stopped after "
                                 f"{time.perf_counter() - start:.1f} s on this image") from None
    except EOFError:
        raise MethodTimeoutError("the method's process ended without a result (out of memory?)") from None
    if status == "error":
        raise payload
    return payload


def _call_in_child(function, args, kwargs, timeout: float):
    """``function(*args, **kwargs)`` in a child process; ``("ok", value)`` or ``("error", exception)``.

    Raises ``TimeoutError`` (the child is killed) after `timeout` seconds and ``EOFError`` when the child dies
    without an answer. On POSIX the child is a plain ``os.fork`` (it inherits the imported libraries and the
    registry in use), not a ``multiprocessing.Process``: dask.distributed's worker processes are daemonic, and
    multiprocessing refuses children there, while compare's budget must hold on a dask worker too.
    """
    import pickle

    if not hasattr(os, "fork"):  # pragma: no cover - Windows: a spawned child (registered toys are not there)
        import multiprocessing as mp

        context = mp.get_context("spawn")
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(child, function, args, kwargs), daemon=True)
        process.start()
        try:
            if not parent.poll(timeout):
                raise TimeoutError
            return pickle.loads(parent.recv_bytes())
        finally:
            process.kill()
            process.join()
    # The pipe, the fork and the parent's close of the write end under one lock: a child that another thread
    # forks in between would inherit this write end and keep it open, and the parent would wait for an
    # end-of-file until that other child exits (a 5 s budget "ran out" on a method that took 0.1 s).
    with _FORK_LOCK:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code (no finalisers, no atexit, no pytest)
            code = 1
            try:
                os.close(read_fd)
                _child_main(write_fd, function, args, kwargs)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
    import select

    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        try:
            os.kill(pid, 9)  # SIGKILL; the child has usually exited already
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    if not chunks:
        raise EOFError("the child ended without a result")
    return pickle.loads(b"".join(chunks))


def _child_main(sink, function, args, kwargs) -> None:
    import pickle

    try:
        data = pickle.dumps(("ok", function(*args, **kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - re-raised in the parent, where compare records it
        try:
            data = pickle.dumps(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    if not isinstance(sink, int):  # a multiprocessing Connection (the spawned child)
        sink.send_bytes(data)
        return
    view = memoryview(data)
    while view:
        view = view[os.write(sink, view):]
    os.close(sink)


def load_input(item: Any, name: str) -> NDArray[Any]:
    if isinstance(item, (str, Path)) and Path(item).suffix.lower() == ".mat":
        # BSDS ground truth: the first annotator's region labels (seglab.metrics scores all of them
        # when given the list; the CLI compare uses one truth per image).
        from seglab.io import read_truths

        return read_truths(item)[0]
    if isinstance(item, (str, Path)):
        from seglab.io import read

        return np.asarray(read(item))
    return np.asarray(item)


def compare(
    images: Sequence[Any],
    truths: Sequence[Any],
    methods: str | Sequence[Any] | None = "all",
    *,
    pipelines: Sequence[Any] = (),
    metric_kind: str = "auto",
    names: Sequence[str] | None = None,
    progress: Callable[[Event], None] | None = None,
    on_prediction: Callable[..., None] | None = None,
    measure_memory: bool = True,
    method_timeout: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    _candidates: Sequence[Candidate] | None = None,
) -> list[dict[str, Any]]:
    """Run every method (or pipeline) on every image and score it against the truth.

    Parameters
    ----------
    images : sequence of (M, N[, 3]) array_like or path
        Images (arrays, or files read with :func:`seglab.read`).
    truths : sequence of (M, N) array_like or path
        Ground truth, one per image, in the same order (masks, region labels or instance labels).
    methods : 'all', str or sequence
        Registry names (``"otsu,li"``, ``["otsu", "li"]``, ``"all"``), run with their defaults.
        Methods needing user input (seeds, contours, models) and edge detectors are skipped: each
        appears once in the result with ``error`` = ``"skipped: <reason>"`` and no scores.
    pipelines : sequence of Pipeline, dict or path
        Extra pipelines (YAML/JSON files are read with :func:`seglab.io.read_pipeline`).
    metric_kind : {'auto', 'binary', 'region', 'instance'}
        How to score (see :mod:`seglab.compare._score`); ``'auto'`` decides per truth.
    names : sequence of str, optional
        Image names for the rows (default: file stems, or ``image0``, ``image1``, ...).
    progress : callable, optional
        Receives a :class:`seglab.workflows.Event` (stage ``'compare'``, ``done``, ``total``, ``message``
        naming the image and method) after each image x method.
    on_prediction : callable, optional
        ``on_prediction(index=, name=, label=, image=, truth=, prediction=, kind=)`` after each scored
        run (the report uses it to draw overlays without keeping every prediction in memory).
    measure_memory : bool
        Record the tracemalloc peak per run (slows pure-Python code a little).
    method_timeout : float, optional
        Seconds each method may take over all images. Each run then happens in a child process that is
        stopped when the method's time is spent: that run and the method's later images become error rows
        (``"over the method time budget ..."``) and the comparison goes on. A method's images then run
        one after another (each gets what is left of its budget), on dask too, so the rows do not depend
        on where they ran.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``"tcp://host:8786"``): every image x method
        run happens on its workers (which need seglab and the methods; images are sent from here).
    workers : int, optional
        Start a ``LocalCluster`` of this many single-threaded worker processes for the runs (the cluster
        :func:`seglab.tiling.make_client` starts, as ``seglab tile`` and ``seglab tune`` do) and close
        it at the end. Rows, scores and their order are those of a run in this process; only
        ``seconds`` and ``peak_mb`` (measured on the worker) differ.

    Returns
    -------
    list of dict
        One row per image x method: ``image``, ``method``, ``metric_kind``, ``auto_pre`` (``'grayscale'``
        when a colour image got the pre-step automatically), ``seconds``, ``peak_mb``, ``error``
        (empty when it ran), ``warnings``, ``pipeline`` and every metric. A pair whose shapes differ, or
        a method that fails, gives rows with ``error`` set; the run goes on.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> image = np.zeros((16, 16), np.uint8); image[4:12, 4:12] = 200
    >>> rows = seglab.compare.compare([image], [image > 0], ["otsu"])
    >>> rows[0]["method"], rows[0]["f1"]
    ('otsu', 1.0)
    """
    if metric_kind not in METRIC_KINDS:
        raise ParameterError(f"metric_kind got {metric_kind!r}; expected one of {', '.join(METRIC_KINDS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers got {workers!r}; expected an integer >= 1 (or None: no dask)")
    if workers is not None and not scheduler:
        from seglab._core.limits import check_process_count

        check_process_count(workers, name="workers")  # a local cluster starts them all before any work
    if method_timeout is not None and not (isinstance(method_timeout, numbers.Real) and 0 < method_timeout < math.inf):
        # NaN or inf would stop every run as over its budget; None is the way to say "no limit"
        raise ParameterError(f"method_timeout got {method_timeout!r}; expected a number of seconds > 0, finite "
                             "(or None: no limit)")
    images, truths = list(images), list(truths)
    if len(images) != len(truths):
        raise ParameterError(f"got {len(images)} images but {len(truths)} truths; give one truth per image")
    if names is None:
        names = [Path(i).stem if isinstance(i, (str, Path)) else f"image{k}" for k, i in enumerate(images)]
    candidates = list(_candidates) if _candidates is not None else resolve_candidates(methods, pipelines)
    runnable = [c for c in candidates if c.pipeline is not None]
    skipped = [_row(name="", label=c.label, kind="", error=f"skipped: {c.skipped}") for c in candidates if c.skipped]
    run = _Run(runnable, len(images), metric_kind, measure_memory, method_timeout, progress, on_prediction)
    prepared = _prepared(images, truths, names)
    if scheduler or workers:
        _run_on_dask(run, prepared, scheduler, workers)
    else:
        for image in prepared:
            run.add_image(image)
            for j in range(len(runnable)):
                if image.error is None:
                    job = run.job(image, j)
                    run.finish(image, j, _job(*job, ready=image.ready))
            run.flush()
    return skipped + run.rows


@dataclass
class _Image:
    """One image of the comparison, loaded and checked (or the error that stopped it)."""

    index: int
    name: str
    image: Any = None
    truth: Any = None
    truth_kind: str = ""
    error: str | None = None
    ready: dict | None = None  # metric kind -> truth prepared for it, filled by local runs


def _prepared(images, truths, names):
    """Yield each image with its truth, loaded and checked, one at a time (only the ones in use are held)."""
    from seglab._core.validation import check_image

    for index, (image_item, truth_item, name) in enumerate(zip(images, truths, names)):
        try:
            image = load_input(image_item, "image")
            truth = load_input(truth_item, "truth")
            _, info = check_image(image)
            if tuple(truth.shape) != tuple(info.spatial_shape):
                raise ParameterError(
                    f"truth has shape {tuple(truth.shape)}; expected {tuple(info.spatial_shape)}, the image's "
                    "spatial shape"
                )
            yield _Image(index, name, image, truth, infer_metric_kind(truth), ready={})
        except (SeglabError, ValueError, TypeError, OSError) as exc:
            yield _Image(index, name, error=f"{type(exc).__name__}: {exc}")


def _job(pipeline, image, truth, truth_kind, metric_kind, measure_memory, left, budget, want_prediction,
         ready=None):
    """Run one pipeline on one image and score it: the work behind one row, in this process or on a worker.

    Returns ``(row values, prediction or None, metric kind, truth as scored or None)``; a failure is the
    row's ``error``, never an exception.
    """
    with _PROBES.holding():
        return _job_held(pipeline, image, truth, truth_kind, metric_kind, measure_memory, left, budget,
                         want_prediction, ready)


def _job_held(pipeline, image, truth, truth_kind, metric_kind, measure_memory, left, budget, want_prediction,
              ready):
    values: dict[str, Any] = {}
    prediction = truth_ready = kind = None
    try:
        if budget is None:
            result, seconds, peak, caught = run_pipeline_measured(pipeline, image, measure_memory=measure_memory)
        else:
            result, seconds, peak, caught = _run_with_budget(pipeline, image, measure_memory, left, budget)
        values.update(seconds=seconds, peak_mb=peak, warnings=" | ".join(caught))
        # The one scoring rule (seglab.metrics._rule): the kind follows truth kind x output kind.
        kind = metric_kind_for(truth_kind, result.output, metric_kind)
        values["metric_kind"] = kind
        ready = {} if ready is None else ready
        if kind not in ready:
            ready[kind] = prepare_truth(truth, kind, truth_kind_=truth_kind)
        truth_ready = ready[kind]
        prediction = prediction_for(result.data, result.output, kind)
        values.update(score(truth_ready, prediction, kind))
        from seglab.metrics.diagnostics import diagnose

        values["notes"] = " | ".join(diagnose(truth_ready, prediction, kind))
    except Exception as exc:  # noqa: BLE001 - one failing method must not stop the comparison
        values["error"] = f"{type(exc).__name__}: {exc}"
        values["timed_out"] = isinstance(exc, MethodTimeoutError)
    if not want_prediction or "error" in values:
        prediction = truth_ready = None
    return values, prediction, kind, truth_ready


class _Run:
    """Rows of one comparison in their fixed order (image, then method), whatever order the jobs finish in.

    Holds the per-method time budget (``method_timeout``): a method's images run one after another, each
    given what is left of the budget, so the rows are the same on any executor.
    """

    def __init__(self, runnable, n_images, metric_kind, measure_memory, method_timeout, progress, on_prediction):
        self.runnable = runnable
        self.metric_kind = metric_kind
        self.measure_memory = measure_memory
        self.budget = method_timeout
        self.spent = [0.0] * len(runnable)  # seconds of the budget each method used
        self.progress = progress
        self.on_prediction = on_prediction
        self.total = n_images * len(runnable)
        self.done = 0
        self.rows: list[dict[str, Any]] = []
        self._open: dict[int, tuple[_Image, list]] = {}  # image index -> (image, results per method)
        self._next = 0  # the next image whose rows are appended

    def add_image(self, image: _Image) -> None:
        self._open[image.index] = (image, [None] * len(self.runnable))
        if image.error is not None:
            for j in range(len(self.runnable)):
                self.finish(image, j, ({"error": image.error}, None, "", None))

    def job(self, image: _Image, j: int) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any]:
        """The arguments of :func:`_job` for method `j` on `image` (call when the method's earlier images are done)."""
        pipeline = self.runnable[j].pipeline
        left = None if self.budget is None else self.budget - self.spent[j]
        return (auto_gray(pipeline, image.image)[0], image.image, image.truth, image.truth_kind, self.metric_kind,
                self.measure_memory, left, self.budget, self.on_prediction is not None)

    def finish(self, image: _Image, j: int, outcome) -> None:
        values = outcome[0]
        if self.budget is not None and image.error is None:
            # a stopped run spends the whole budget; a method that failed for another reason keeps what it had
            self.spent[j] = math.inf if values.get("timed_out") else self.spent[j] + values.get("seconds", 0.0)
        self._open[image.index][1][j] = outcome
        self.done += 1
        if self.progress:
            label = f"{image.name}: {self.runnable[j].label}"
            self.progress(Event("compare", self.done, self.total, item=label, message=label))

    def flush(self) -> None:
        """Append the rows of every leading image whose methods are all done (and hand out their predictions)."""
        while self._next in self._open and all(o is not None for o in self._open[self._next][1]):
            image, outcomes = self._open.pop(self._next)
            self._next += 1
            for c, (values, prediction, kind, truth_ready) in zip(self.runnable, outcomes):
                pipeline, auto_pre = (None, "") if image.error else auto_gray(c.pipeline, image.image)
                row = _row(name=image.name, label=c.label, kind="", auto_pre=auto_pre, pipeline=pipeline)
                row.update({k: v for k, v in values.items() if k != "timed_out"})
                self.rows.append(row)
                if self.on_prediction is not None and prediction is not None:
                    self.on_prediction(index=image.index, name=image.name, label=c.label, image=image.image,
                                       truth=truth_ready, prediction=prediction, kind=kind)


def _run_on_dask(run: _Run, prepared, scheduler: str | None, workers: int | None) -> None:
    """Run the comparison's jobs on dask.distributed (see :func:`compare`'s `scheduler` and `workers`)."""
    from collections import deque

    from seglab.tiling import make_client  # the one way seglab gets a cluster (tile and tune use it too)

    client, cluster = make_client(workers=None if scheduler else workers, scheduler=scheduler)
    try:
        from distributed import as_completed

        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        # Jobs in flight, and images held (here and on the cluster): enough to keep every worker busy, few
        # enough that memory does not grow with the number of images.
        cap = 2 * n_workers
        queue: deque[tuple[_Image, int]] = deque()  # jobs not yet submitted, in row order
        on_cluster: dict[int, tuple[Any, Any]] = {}  # image index -> (image future, truth future)
        busy: set[int] = set()  # methods with a job in flight (chained under a time budget)
        left_per_image: dict[int, int] = {}
        futures = as_completed()
        jobs: dict[Any, tuple[_Image, int]] = {}  # future key -> (image, method)
        in_flight = 0
        exhausted = False

        def submit_ready() -> None:
            nonlocal in_flight, exhausted
            while in_flight < cap:
                job = next(((image, j) for image, j in queue
                            if run.budget is None or (j not in busy and not _earlier_in(queue, image, j))), None)
                if job is None:
                    if exhausted or len(left_per_image) >= cap:
                        return
                    image = next(prepared, None)
                    if image is None:
                        exhausted = True
                        return
                    run.add_image(image)
                    if image.error is None:
                        left_per_image[image.index] = len(run.runnable)
                        queue.extend((image, j) for j in range(len(run.runnable)))
                    run.flush()
                    continue
                image, j = job
                queue.remove(job)
                if image.index not in on_cluster:
                    on_cluster[image.index] = (client.scatter(image.image, hash=False),
                                               client.scatter(image.truth, hash=False))
                image_f, truth_f = on_cluster[image.index]
                args = list(run.job(image, j))
                args[1], args[2] = image_f, truth_f
                future = client.submit(_job, *args, pure=False)
                jobs[future.key] = (image, j)
                futures.add(future)
                busy.add(j)
                in_flight += 1

        submit_ready()
        while in_flight:
            future = next(futures)
            image, j = jobs.pop(future.key)
            in_flight -= 1
            busy.discard(j)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: that row's error, the run goes on
                outcome = ({"error": f"{type(exc).__name__}: {exc}"}, None, "", None)
            run.finish(image, j, outcome)
            left_per_image[image.index] -= 1
            if not left_per_image[image.index]:
                del left_per_image[image.index]
                on_cluster.pop(image.index, None)  # dropping the futures frees the cluster's copies
            run.flush()
            submit_ready()
        run.flush()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _earlier_in(queue, image: _Image, j: int) -> bool:
    """Whether method `j` still has an image before `image` waiting in `queue`."""
    return any(other.index < image.index and k == j for other, k in queue)


def _row(*, name, label, kind, error="", auto_pre="", pipeline: Pipeline | None = None) -> dict[str, Any]:
    import json

    return {
        "image": name, "method": label, "metric_kind": kind, "auto_pre": auto_pre,
        "seconds": float("nan"), "peak_mb": float("nan"), "error": error, "warnings": "", "notes": "",
        "pipeline": json.dumps(pipeline.to_dict(), sort_keys=True) if pipeline is not None else "",
    }


def metric_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metric keys present in `rows`, in first-seen order."""
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key not in BASE_COLUMNS and key not in keys:
                keys.append(key)
    return keys


def rank(rows: Sequence[Mapping[str, Any]], *, by: str | None = None) -> list[dict[str, Any]]:
    """Aggregate rows per method and metric kind: mean and std of every metric, ranked best first.

    Like is compared with like: each metric kind (``binary``, ``instance``, ``region``; see
    :mod:`seglab.metrics._rule`) is its own table with its own ranks, so a label output scored by
    region metrics against a binary truth is never ranked among masks scored by F1.

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`compare`.
    by : str, optional
        Metric to rank by (default per kind: f1 for binary, covering for region, ap50 for
        instances). ``vi``-like metrics rank lower-is-better. A kind without that metric is
        ranked by its own primary metric. Methods with no scored row come last.

    Returns
    -------
    list of dict
        ``{"rank", "method", "metric_kind", "n", "n_errors", "skipped", "by", "notes",
        "metrics": {key: {"mean", "std"}}}``; binary first, then instance, then region, each
        ranked from 1. ``notes`` holds the diagnostics (:mod:`seglab.metrics.diagnostics`), one per
        kind of problem.
    """
    scored = [r for r in rows if not r.get("error")]
    kinds_seen = {r["metric_kind"] for r in scored if r.get("metric_kind")}
    # Masks against a binary truth first, then objects, then partitions (label outputs).
    order_of_kinds = [k for k in ("binary", "instance", "region") if k in kinds_seen]
    method_kind: dict[str, str] = {}
    for row in scored:
        method_kind.setdefault(row["method"], row.get("metric_kind", ""))
    keys = [*metric_columns(rows), "seconds", "peak_mb"]
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kind = row.get("metric_kind") or method_kind.get(row["method"], "")
        entry = table.setdefault((row["method"], kind), {
            "method": row["method"], "metric_kind": kind, "n": 0, "n_errors": 0, "skipped": "", "values": {},
            "notes": []})
        if str(row.get("error", "")).startswith("skipped:"):
            entry["skipped"] = row["error"][len("skipped: "):]
            continue
        if row.get("error"):
            entry["n_errors"] += 1
            continue
        entry["n"] += 1
        for note in str(row.get("notes") or "").split(" | "):
            # One note per kind of problem (the text after the numbers), not one per image.
            what = note.split(": ", 1)[-1]
            if note and what not in entry.setdefault("_seen", {}):
                entry["_seen"][what] = len(entry["notes"])
                entry["notes"].append(note)
        for key in keys:
            value = row.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                entry["values"].setdefault(key, []).append(float(value))
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in table.values():
        values = entry.pop("values")
        entry.pop("_seen", None)
        entry["metrics"] = {
            key: {"mean": statistics.fmean(v), "std": statistics.pstdev(v) if len(v) > 1 else 0.0}
            for key, v in values.items()
        }
        groups.setdefault(entry["metric_kind"], []).append(entry)
    out = []
    for kind in [*order_of_kinds, *sorted(k for k in groups if k not in order_of_kinds)]:
        entries = groups.get(kind, [])
        key = by
        if key is None or not any(key in e["metrics"] for e in entries):
            key = PRIMARY_METRIC.get(kind, by or "f1")
        sign = 1.0 if key in LOWER_IS_BETTER else -1.0

        def order(entry, key=key, sign=sign):
            m = entry["metrics"].get(key)
            return (m is None, sign * m["mean"] if m else 0.0, entry["method"])

        entries.sort(key=order)
        position = 0
        for entry in entries:
            entry["by"] = key
            if key in entry["metrics"]:
                position += 1
                entry["rank"] = position
            else:
                entry["rank"] = None
        out.extend(entries)
    return out


# Old private name, kept while callers move to load_input.
_load = load_input
