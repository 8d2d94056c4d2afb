"""Range sweep: every registered method and step timed at its defaults and at the corners of its tune range.

``python -m benchmarks sweep [--size 512] [--only NAME,...] [--timeout 120] [--out benchmarks/SWEEP.md]``

The tuner and the browser's sliders use a parameter's whole declared range, so a method is only as fast as its
slowest corner. For each entry of ``seglab.all_specs()`` the sweep reads the search space the tuner uses
(``seglab.tune.search_space``: ``Param.tune``, else ``(min, max)``; choices and booleans) and times:

* ``default`` — every parameter at its default;
* ``P=low`` / ``P=high`` — one numeric parameter at an end of its range, the others at their defaults;
* ``P=value`` — one choice (or bool) parameter at each of its values, the others at their defaults;
* ``all-high`` — every numeric parameter at its high end, and ``all-high, P=value`` for each choice value
  (so ``local``'s ``method=median`` is measured at ``block_size=151``).

Beside each corner, the peer call a user would otherwise write at the same setting (scikit-image, OpenCV,
scikit-learn, SciPy) where one exists. Each call runs in a worker process (one warm-up, then the median of up to
five runs) with a time limit; a call over the limit is killed and reported as ``> limit``. Methods that need user
inputs get synthetic ones (seeds: a square and a corner; contour: a circle; rect: the middle 3/4).

Input: seeded ``size x size`` uint8 blobs (``seglab.data.blobs``; RGB methods get three shifted copies); post-steps
get the Otsu mask (or its labels) of that image. Results: ``benchmarks/SWEEP.md`` and ``benchmarks/sweep.json``.
Goals (issue 13): no corner above 10x the method's default time, none slower than the peer.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._harness import synthetic_inputs

HERE = Path(__file__).resolve().parent
MAX_CORNER_RATIO = 10.0
# Below these, a miss is noise or fixed overhead a user cannot perceive: a corner under ABS_FLOOR_S seconds meets the
# corner goal whatever its ratio, and seglab is "slower than the peer" only when it loses by PEER_SLACK_S and 10 %.
ABS_FLOOR_S = 0.05
PEER_SLACK_S = 0.002


# -- inputs ----------------------------------------------------------------------------------------
def _image(size: int):
    import seglab

    image, _ = seglab.data.blobs((size, size), n_blobs=30, seed=5)
    return image


def _color(image):
    return np.stack([image, image[::-1], image[:, ::-1]], axis=-1)


def _post_input(spec, image):
    import seglab

    mask = seglab.segment(image, "otsu").mask
    if "mask" in spec.accepts:
        return mask
    from scipy import ndimage as ndi

    return ndi.label(mask)[0].astype(np.int32)


# -- corners ---------------------------------------------------------------------------------------
def corners(spec) -> list[tuple[str, dict[str, Any]]]:
    """(label, params) of the corners of `spec`'s tune range (see the module docstring)."""
    from seglab.tune import search_space

    dims = search_space(spec)
    out: list[tuple[str, dict[str, Any]]] = [("default", {})]
    numeric = [d for d in dims if d.choices is None]
    choice = [d for d in dims if d.choices is not None]
    default = spec.defaults()

    def end(d, which):
        value = d.low if which == "low" else d.high
        if d.param.type == "int":
            value = int(value)
            if d.param.odd and value % 2 == 0:
                value = value + 1 if which == "low" else value - 1
        return value

    for d in numeric:
        for which in ("low", "high"):
            value = end(d, which)
            if value != default.get(d.param.name):
                out.append((f"{d.param.name}={value}", {d.param.name: value}))
    for d in choice:
        for value in d.choices:
            if value != default.get(d.param.name):
                out.append((f"{d.param.name}={value}", {d.param.name: value}))
    if numeric:
        high = {d.param.name: end(d, "high") for d in numeric}
        if len(numeric) > 1:
            out.append(("all-high", high))
        for d in choice:
            for value in d.choices:
                if value != default.get(d.param.name) or len(numeric) == 1:
                    label = "all-high" if len(numeric) > 1 else ", ".join(f"{k}={v}" for k, v in high.items())
                    out.append((f"{label}, {d.param.name}={value}", {**high, d.param.name: value}))
    seen, unique = set(), []
    for label, params in out:
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            unique.append((label, params))
    return unique


# -- peers: the call a user would write at the same setting ----------------------------------------
def _peer(spec, params: dict[str, Any]):
    """A zero-argument-ready peer ``f(data, inputs) -> output`` and its name, or None."""
    p = {**spec.defaults(), **params}
    name = spec.name
    if spec.kind == "method" and spec.family == "threshold":
        import skimage.filters as sf

        if name == "local":
            return "skimage threshold_local", lambda im, inp: im > sf.threshold_local(
                im, p["block_size"], p["method"], offset=p["offset"], mode=p["mode"])
        if name == "niblack":
            return "skimage threshold_niblack", lambda im, inp: im > sf.threshold_niblack(im, p["window_size"], p["k"])
        if name == "sauvola":
            return "skimage threshold_sauvola", lambda im, inp: im > sf.threshold_sauvola(
                im, p["window_size"], p["k"], p["r"])
        if name == "multi_otsu":
            return "skimage threshold_multiotsu", lambda im, inp: np.digitize(
                im, sf.threshold_multiotsu(im, p["classes"]), right=True)
        if name == "manual":
            return "numpy image > t", lambda im, inp: im > p["threshold"]
        if name == "otsu":
            import cv2

            return "cv2 THRESH_OTSU", lambda im, inp: cv2.threshold(im, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
        if name == "hysteresis":
            return None
        function = getattr(sf, f"threshold_{name}")
        return f"skimage threshold_{name}", lambda im, inp: im > function(im)
    if name == "kmeans" and spec.kind == "method":
        def kmeans(im, inp):
            from sklearn.cluster import KMeans

            features = im.reshape(-1, 1 if im.ndim == 2 else im.shape[-1]).astype(np.float64)
            if p["position_weight"]:
                rows, cols = np.indices(im.shape[:2])
                features = np.column_stack([features, p["position_weight"] * rows.ravel(),
                                            p["position_weight"] * cols.ravel()])
            return KMeans(p["n_clusters"], n_init=p["n_init"], random_state=0).fit_predict(features)

        return "sklearn KMeans", kmeans
    if spec.family == "edges":
        import skimage.filters as sf

        if name in ("sobel", "scharr", "prewitt"):
            return f"skimage {name}", lambda im, inp: getattr(sf, name)(im)
        if name == "laplace":
            return "skimage laplace", lambda im, inp: sf.laplace(im, ksize=p["ksize"])
        if name == "log":
            from scipy import ndimage as ndi

            return "scipy gaussian_laplace", lambda im, inp: ndi.gaussian_laplace(im.astype(np.float64), p["sigma"])
        if name == "canny":
            from skimage.feature import canny

            return "skimage canny", lambda im, inp: canny(im, p["sigma"])
        return None
    if spec.family == "interactive":
        import skimage.segmentation as ss

        if name == "random_walker":
            return "skimage random_walker bf", lambda im, inp: ss.random_walker(im, inp["seeds"], beta=p["beta"],
                                                                                 mode="bf")
        if name == "active_contour":
            from skimage.filters import gaussian

            return "skimage active_contour", lambda im, inp: ss.active_contour(
                gaussian(im, p["sigma"], preserve_range=False), inp["contour"],
                boundary_condition=p["boundary_condition"], max_num_iter=p["max_num_iter"])
        if name == "morphological_chan_vese":
            return "skimage morphological_chan_vese", lambda im, inp: ss.morphological_chan_vese(
                im, p["num_iter"], init_level_set=p["init_level_set"], smoothing=p["smoothing"])
        if name == "morphological_geodesic_active_contour":
            return "skimage MGAC", lambda im, inp: ss.morphological_geodesic_active_contour(
                ss.inverse_gaussian_gradient(im.astype(float), alpha=p["alpha"], sigma=p["sigma"]), p["num_iter"],
                init_level_set=p["init_level_set"], smoothing=p["smoothing"], balloon=p["balloon"])
        if name == "grabcut":
            import cv2

            def grabcut(im, inp):
                # seeded as seglab seeds it: the GMM start (and so the work) depends on OpenCV's RNG state
                cv2.setRNGSeed(int(p["rng"]))
                mask = np.zeros(im.shape[:2], np.uint8)
                r0, c0, h, w = inp["rect"]
                cv2.grabCut(im, mask, (c0, r0, w, h), np.zeros((1, 65)), np.zeros((1, 65)), p["iter_count"],
                            cv2.GC_INIT_WITH_RECT)
                return mask

            return "cv2.grabCut (seeded)", grabcut
        return None
    if spec.family == "superpixel" and spec.kind == "method":
        import skimage.segmentation as ss

        if name == "felzenszwalb":
            return "skimage felzenszwalb", lambda im, inp: ss.felzenszwalb(
                im, p["scale"], p["sigma"], p["min_size"], channel_axis=-1 if im.ndim == 3 else None)
        if name == "quickshift":
            return "skimage quickshift", lambda im, inp: ss.quickshift(
                im, ratio=p["ratio"], kernel_size=p["kernel_size"], max_dist=p["max_dist"], sigma=p["sigma"],
                convert2lab=p["convert2lab"], rng=p["rng"])
        if name == "slic":
            return "skimage slic", lambda im, inp: ss.slic(
                im, p["n_segments"], p["compactness"], sigma=p["sigma"], enforce_connectivity=p["enforce_connectivity"],
                slic_zero=p["slic_zero"], start_label=1, channel_axis=-1 if im.ndim == 3 else None)
        return None
    if name == "connected_components":
        from skimage.measure import label

        return "skimage label", lambda im, inp: label(im, background=0, connectivity=p["connectivity"])
    if spec.kind == "pre":
        if name == "gaussian":
            from skimage.filters import gaussian

            return "skimage gaussian", lambda im, inp: gaussian(im, p["sigma"], preserve_range=True)
        if name == "median":
            import cv2

            if p["size"] <= 5 or True:
                return "cv2.medianBlur", lambda im, inp: cv2.medianBlur(im, p["size"]) if p["size"] > 1 else im.copy()
        if name == "equalize_adapthist":
            from skimage.exposure import equalize_adapthist

            return "skimage equalize_adapthist", lambda im, inp: equalize_adapthist(im, clip_limit=p["clip_limit"])
        if name == "rescale_intensity":
            from skimage.exposure import rescale_intensity

            return "skimage rescale_intensity", lambda im, inp: rescale_intensity(
                im, in_range=tuple(np.percentile(im, (p["low_percentile"], p["high_percentile"]))))
        return None
    if spec.kind == "post":
        import cv2

        if name in ("opening", "closing"):
            op = cv2.MORPH_OPEN if name == "opening" else cv2.MORPH_CLOSE
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * p["radius"] + 1,) * 2)
            return f"cv2.morphologyEx {name}", lambda im, inp: cv2.morphologyEx(im.view(np.uint8), op, kernel)
        if name == "fill_holes":
            from scipy import ndimage as ndi

            return "scipy binary_fill_holes", lambda im, inp: ndi.binary_fill_holes(im)
        if name == "label":
            return "cv2.connectedComponents", lambda im, inp: cv2.connectedComponents(im.view(np.uint8), 4)[1]
        if name == "remove_small_objects":
            from skimage.morphology import remove_small_objects

            def rso(im, inp):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return remove_small_objects(im, p["min_size"])

            return "skimage remove_small_objects", rso
    return None


# -- one measured call (runs in the worker) --------------------------------------------------------
_STATE: dict[str, Any] = {}


def _data_for(spec, size):
    key = (spec.kind, spec.name, size)
    if key not in _STATE:
        image = _image(size)
        if spec.kind == "post":
            data = _post_input(spec, image)
        elif spec.channels == "color":
            data = _color(image)
        else:
            data = image
        extra = {"image": image} if "image" in spec.inputs and spec.kind == "post" else {}
        _STATE.clear()
        _STATE[key] = (data, {**synthetic_inputs(spec, image.shape), **extra})
    return _STATE[key]


# -- learned methods: a model trained once per sweep, on blobs like the timed image ---------------------
#: Where the learned methods' models live during a sweep (set by `sweep` before its worker is forked).
_MODEL_DIR: Path | None = None


def _model_for(name: str) -> str:
    """The folder of a small model for learned method `name`, trained on the first call (in the worker).

    Inference time depends on the architecture and the forest's size, not on how well the model learned, so the
    models use the defaults a user gets (50 trees; the default U-Net) with a short training run.
    """
    import seglab

    assert _MODEL_DIR is not None, "sweep() sets the model folder"
    folder = _MODEL_DIR / name
    if (folder / "config.json").is_file():
        return str(folder)
    image, truth = seglab.data.blobs((256, 256), n_blobs=30, seed=7)
    if name == "pixel_classifier":
        from seglab.learn import fit_pixel_classifier, labels_from_truth

        fit_pixel_classifier(image, labels_from_truth(truth), seed=0).save(folder)
        return str(folder)
    from seglab.deep import train_unet

    image_path, truth_path = _MODEL_DIR / "train.png", _MODEL_DIR / "train_truth.png"
    seglab.write(image_path, image)
    seglab.write(truth_path, truth.astype(np.uint16))
    train_unet([image_path], [truth_path], out=folder, task="instance" if name == "unet_instance" else "semantic",
               epochs=2, steps_per_epoch=4, patch=64, batch_size=4, seed=0)
    return str(folder)


def _needs_model(spec) -> bool:
    return any(p.name == "model" for p in spec.params) and spec.defaults().get("model") is None


def _callable(kind, name, params, who, size):
    from seglab._core.registry import get_method, get_step

    spec = get_method(name) if kind == "method" else get_step(name, kind)
    data, inputs = _data_for(spec, size)
    if _needs_model(spec):
        if who != "seglab":
            return None  # no peer in the sweep: RESULTS.md has the head-to-head runs (MONAI, scikit-image)
        params = {**params, "model": _model_for(name)}
    if who == "seglab":
        if kind == "method":
            from seglab import Pipeline

            # Pipeline.run, as segment() does: a Param named `method` (local's) cannot go through segment's kwargs.
            pipeline = Pipeline.build(name, params)
            return lambda: pipeline.run(data, **inputs)
        function = spec.load()
        resolved = spec.resolve_params(params)
        return lambda: function(data, **resolved, **{k: v for k, v in inputs.items() if k in spec.inputs})
    peer = _peer(spec, params)
    if peer is None:
        return None
    _, function = peer
    return lambda: function(data, inputs)


def _measure(task) -> dict[str, Any]:
    kind, name, params, who, size = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call = _callable(kind, name, params, who, size)
        if call is None:
            return {"seconds": None}
        start = time.perf_counter()
        call()
        first = time.perf_counter() - start
        if first > 3.0:  # one more run: the first paid the imports
            start = time.perf_counter()
            call()
            return {"seconds": min(first, time.perf_counter() - start)}
        seconds = []
        budget = time.perf_counter() + 1.0
        while len(seconds) < 5 and (len(seconds) < 2 or time.perf_counter() < budget):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
        return {"seconds": statistics.median(seconds)}


def _worker(connection):
    while True:
        task = connection.recv()
        if task is None:
            return
        try:
            connection.send(_measure(task))
        except Exception as exc:  # noqa: BLE001 - reported in the table, the sweep goes on
            connection.send({"error": f"{type(exc).__name__}: {exc}"[:200]})


class Runner:
    """One worker process; a task over `timeout` seconds kills it and a fresh one takes the next task."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._context = mp.get_context("fork")
        self._process = None

    def _start(self):
        self._parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_worker, args=(child,), daemon=True)
        self._process.start()

    def __call__(self, task) -> dict[str, Any]:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._parent.send(task)
        if self._parent.poll(self.timeout):
            return self._parent.recv()
        self._process.kill()
        self._process.join()
        self._process = None
        return {"timeout": self.timeout}

    def close(self):
        if self._process is not None and self._process.is_alive():
            self._parent.send(None)
            self._process.join(5)


# -- the sweep -------------------------------------------------------------------------------------
def sweep(size: int = 512, only: set[str] | None = None, timeout: float = 120.0, progress=None) -> list[dict]:
    import tempfile

    from seglab._core.registry import all_specs

    global _MODEL_DIR
    models = tempfile.TemporaryDirectory(prefix="seglab-sweep-models-")
    _MODEL_DIR = Path(models.name)
    runner = Runner(timeout)
    rows = []
    stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S')} (load {_load():.1f})"
    try:
        for spec in all_specs():
            if only and spec.name not in only:
                continue
            for label, params in corners(spec):
                if progress:
                    progress(f"{spec.kind} {spec.name} [{label}]")
                ours = runner((spec.kind, spec.name, params, "seglab", size))
                peer_name = _peer(spec, params)
                theirs = runner((spec.kind, spec.name, params, "peer", size)) if peer_name else {}
                rows.append({"kind": spec.kind, "family": spec.family, "method": spec.name, "corner": label,
                             "params": params, "seglab": ours, "peer_name": peer_name[0] if peer_name else "",
                             "peer": theirs, "run": stamp})
    finally:
        runner.close()
        models.cleanup()
    return rows


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _seconds(entry):
    if not entry:
        return None
    if "timeout" in entry:
        return float("inf")
    return entry.get("seconds")


def _slower(row) -> bool:
    ours, peer = _seconds(row["seglab"]), _seconds(row["peer"])
    return bool(ours and peer and ours > 1.1 * peer and ours - peer > PEER_SLACK_S)


def summarise(rows: list[dict]) -> list[dict]:
    """Worst corner per method: the ratio to the default time and to the peer at that corner."""
    out = []
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["method"]), []).append(row)
    for (kind, method), group in groups.items():
        default = next((_seconds(r["seglab"]) for r in group if r["corner"] == "default"), None)
        worst, worst_ratio = None, -1.0
        peer_worst = None
        for row in group:
            ours = _seconds(row["seglab"])
            if ours is None:
                continue
            ratio = ours / default if default else float("nan")
            if ratio > worst_ratio:
                worst, worst_ratio = row, ratio
            peer = _seconds(row["peer"])
            if peer:
                peer_ratio = ours / peer
                if peer_worst is None or peer_ratio > peer_worst[1]:
                    peer_worst = (row, peer_ratio)
        errors = [f"{r['corner']}: {r['seglab']['error']}" for r in group if "error" in r["seglab"]]
        out.append({"kind": kind, "method": method, "default_s": default, "worst": worst,
                    "worst_ratio": worst_ratio, "peer_worst": peer_worst, "errors": errors})
    return out


def _fmt(value):
    if value is None:
        return ""
    if value == float("inf"):
        return "timeout"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _entry_text(entry, timeout):
    if not entry:
        return ""
    if "timeout" in entry:
        return f"> {timeout:.0f}"
    if "error" in entry:
        return "error"
    return _fmt(entry.get("seconds"))


def render(rows, meta) -> str:
    timeout = meta["timeout"]
    summary = summarise(rows)
    lines = [
        "# Range sweep: every method at its defaults and at the corners of its tune range",
        "",
        f"Written {meta['date']}: Python {meta['python']}, {meta['cpus']} CPUs, input {meta['size']}x{meta['size']} "
        f"uint8 blobs (RGB methods: three shifted copies; post-steps: the Otsu mask or its labels). Corners: each "
        "tuned numeric parameter at its low and high end, each choice value, all numeric parameters high (with each "
        f"choice value); the others at their defaults. One warm-up, then the median of up to 5 runs; a call over "
        f"{timeout:.0f} s is killed. `x default` = corner time / the method's default time; "
        "`x peer` = seglab / the "
        f"peer's time at the same corner. Goals: x default <= {MAX_CORNER_RATIO:.0f} (a corner under "
        f"{ABS_FLOOR_S * 1000:.0f} ms meets it whatever the ratio), x peer <= 1 (a loss under "
        f"{PEER_SLACK_S * 1000:.0f} ms or 10 % is counted as a tie: it is call overhead, validation and timer noise).",
        "",
        *_runs_text(rows, meta),
        "## Worst corner per method",
        "",
        "| kind | method | default s | worst corner | s | x default | peer | worst x peer (corner) | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        worst = s["worst"]
        peer_worst = s["peer_worst"]
        peer_text = f"{peer_worst[1]:.3g} ({peer_worst[0]['corner']})" if peer_worst else ""
        peer_name = next((r["peer_name"] for r in rows if r["method"] == s["method"] and r["kind"] == s["kind"]
                          and r["peer_name"]), "")
        misses = []
        worst_s = _seconds(worst["seglab"]) if worst else None
        if s["worst_ratio"] > MAX_CORNER_RATIO and (worst_s is None or worst_s > ABS_FLOOR_S):
            misses.append("corner > 10x")
        if peer_worst and _slower(peer_worst[0]):
            misses.append("slower than peer")
        if s["errors"]:
            misses.append(f"{len(s['errors'])} error(s)")
        lines.append(
            f"| {s['kind']} | {s['method']} | {_fmt(s['default_s'])} | {worst['corner'] if worst else ''} "
            f"| {_entry_text(worst['seglab'], timeout) if worst else ''} | {_fmt(s['worst_ratio'])} | {peer_name} "
            f"| {peer_text} | {'**' + ', '.join(misses) + '**' if misses else 'met'} |")
    lines += ["", "## Every corner", "",
              "| kind | method | corner | seglab s | x default | peer s | x peer |", "|---|---|---|---|---|---|---|"]
    defaults = {(s["kind"], s["method"]): s["default_s"] for s in summary}
    for row in rows:
        ours, peer = _seconds(row["seglab"]), _seconds(row["peer"])
        default = defaults.get((row["kind"], row["method"]))
        x_default = ours / default if ours is not None and default else None
        x_peer = ours / peer if ours is not None and peer else None
        error = f" ({row['seglab']['error']})" if "error" in row["seglab"] else ""
        lines.append(f"| {row['kind']} | {row['method']} | {row['corner']} | {_entry_text(row['seglab'], timeout)}"
                     f"{error} | {_fmt(x_default)} | {_entry_text(row['peer'], timeout)} | {_fmt(x_peer)} |")
    return "\n".join(lines) + "\n"


def _runs_text(rows, meta) -> list[str]:
    """One line per sweep run whose rows the file holds (rows merged with --merge come from several)."""
    methods: dict[str, list[str]] = {}
    for row in rows:
        run = row.get("run") or f"{meta.get('first_run', 'an earlier run')} (load not recorded)"
        names = methods.setdefault(run, [])
        if row["method"] not in names:
            names.append(row["method"])
    if len(methods) <= 1:
        return [f"Rows from one run: {next(iter(methods), meta['date'])}.", ""]
    lines = ["Rows from several runs (`--merge`; each method's rows come from one run; `uptime` load at its start):"]
    for run, names in methods.items():
        lines.append(f"- {run}: {', '.join(names)}")
    return [*lines, ""]


#: SWEEP.md keeps everything from this line on when the sweep rewrites the tables above it.
NOTES_MARKER = "<!-- notes below: written by hand, kept when `python -m benchmarks sweep` rewrites the tables -->"


def _with_notes(text: str, out: Path) -> str:
    if out.exists():
        previous = out.read_text()
        if NOTES_MARKER in previous:
            return text + "\n" + previous[previous.index(NOTES_MARKER):]
    return text


def main(argv=None) -> int:
    import os
    import platform

    parser = argparse.ArgumentParser(prog="python -m benchmarks sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--only", default="", help="comma-separated method/step names")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per call before it is killed")
    parser.add_argument("--out", default=str(HERE / "SWEEP.md"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of methods not run now from the existing sweep.json")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    rows = sweep(args.size, only, args.timeout, progress=lambda text: print(text, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.with_name("sweep.json") if out.name == "SWEEP.md" else out.with_suffix(".json")
    if args.merge and json_path.exists():
        previous = json.loads(json_path.read_text())
        names = {(r["kind"], r["method"]) for r in rows}
        order = {(r["kind"], r["method"]): i for i, r in enumerate(previous["rows"])}
        rows = sorted([r for r in previous["rows"] if (r["kind"], r["method"]) not in names] + rows,
                      key=lambda r: order.get((r["kind"], r["method"]), 1e9))
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "size": args.size,
            "timeout": args.timeout, "date": time.strftime("%Y-%m-%d %H:%M")}
    if args.merge and json_path.exists():
        meta["first_run"] = previous["meta"].get("first_run", previous["meta"]["date"])
    json_path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    out.write_text(_with_notes(render(rows, meta), out))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
