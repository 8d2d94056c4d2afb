"""U-Net on real data: nuclei (instance, 3 folds by image), NIH3T3 (F1), KESM (top half -> bottom half), ISBI 2012.

Each case trains one model (``seglab.deep.train_unet``, capped by ``--minutes``) and scores it on images it
never saw. Run a case per process so that its peak memory is its own::

    python -m benchmarks.quality.learned_unet --case kesm --out /tmp/unet_bench
    python -m benchmarks.quality.learned_unet --case nuclei1 ...   # nuclei2, nuclei3, nih3t3, isbi
    python -m benchmarks.quality.learned_unet --report /tmp/unet_bench   # prints the RESULTS.md section

Data: ``../shared/data`` (read its SOURCE.md files); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ._scoring import binary_summary, isbi_scores

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"

#: The classical benchmark's folds (benchmarks/quality/RESULTS.md, "Nuclei"): the same held-out images.
NUCLEI_FOLDS = {
    1: ["N2DH-GOWT1/t31", "N2DH-GOWT1/t52", "N2DL-HeLa/t13", "N2DL-HeLa/t52"],
    2: ["N2DH-GOWT1/t39", "N2DH-GOWT1/t72", "N2DL-HeLa/t79"],
    3: ["N2DH-GOWT1/t01", "N2DH-GOWT1/t21", "N2DL-HeLa/t75"],
}


def _nuclei_pairs():
    pairs = {}
    for subset in ("N2DH-GOWT1", "N2DL-HeLa"):
        for image in sorted((DATA / "nuclei" / subset / "img").glob("t*.tif")):
            truth = DATA / "nuclei" / subset / "gt" / f"man_seg{image.stem[1:]}.tif"
            pairs[f"{subset}/{image.stem}"] = (image, truth)
    return pairs


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


NORM = "batch"
LEARNING_RATE = 2e-3
TUNE_POST = False
TUNE_ON = "validation"
#: "plain": threshold / seed / min size (the grid of the first runs); "neck": also split_neck (and seeds to 0.9)
POST_GRID = "plain"
#: Training recipe of this run (set from the command line in main()). ``epochs`` is the length of the cosine
#: schedule; ``chunk`` (minutes) trains at most that long per process and resumes from the checkpoint next time.
RECIPE: dict = {"epochs": 200, "patience": 15, "schedule": "constant", "chunk": None, "options": {}}


class MoreToDo(Exception):
    """This process trained one chunk; run the same command again to resume."""


def _checkpoint_state(folder: Path) -> dict | None:
    path = folder / "checkpoint" / "config.json"
    return json.loads(path.read_text())["state"] if path.is_file() else None


def _train(images, truths, folder: Path, task: str, minutes: float, log) -> tuple[Path, float]:
    """Train (or resume) one model; return its folder and its training wall time (seconds, all chunks)."""
    from seglab.deep import train_unet

    epochs, patience = int(RECIPE["epochs"]), int(RECIPE["patience"])
    state = _checkpoint_state(folder)
    finished = state is not None and (state["epoch"] >= epochs or state["bad_epochs"] >= patience)
    if not finished:
        limit = (RECIPE["chunk"] if RECIPE["chunk"] is not None else minutes) * 60.0
        train_unet(images, truths, out=folder, task=task, epochs=epochs, seed=0, patience=patience, norm=NORM,
                   learning_rate=LEARNING_RATE, schedule=RECIPE["schedule"], time_limit=limit,
                   resume=state is not None, **RECIPE["options"],
                   progress=lambda event: log(f"epoch {event.done}: {event.message}"))
        state = _checkpoint_state(folder)
        done = state["epoch"] >= epochs or state["bad_epochs"] >= patience
        if RECIPE["chunk"] is not None and not done:
            raise MoreToDo(f"{folder.name}: {state['epoch']} of {epochs} epochs, "
                           f"{state['train_seconds'] / 60:.1f} min so far")
    return folder, float(state["train_seconds"])


def _tune_post(folder: Path, images: list, truths: list, log) -> dict:
    """Choose the watershed's threshold / seed_threshold / min_size (and, with ``--tune-on validation``,
    test-time flips; with ``--post-grid neck``, ``split_neck``) on images of the fold's training side only:
    the model's own validation images, or (``--tune-on training``) all the fold's training images, the
    validation image included."""
    import seglab
    from seglab.deep import predict_probabilities
    from seglab.deep._data import labels_from_probabilities
    from seglab.metrics.instance import instance_scores

    config = json.loads((folder / "config.json").read_text())
    if TUNE_ON == "validation":
        index = config["training"]["split"]["validation_index"]
        grid = {"tta": (False, True), "threshold": (0.3, 0.4, 0.5, 0.6),
                "seed_threshold": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), "min_size": (0, 25, 50, 100, 200, 300, 500),
                "split_neck": (0.0,)}
    elif POST_GRID == "neck":
        index = list(range(len(images)))
        grid = {"tta": (False,), "threshold": (0.5, 0.6), "seed_threshold": (0.5, 0.7, 0.9),
                "min_size": (0, 50, 100, 150, 200, 300), "split_neck": (0.0, 0.7, 0.8, 0.9)}
    else:
        index = list(range(len(images)))
        grid = {"tta": (False,), "threshold": (0.3, 0.4, 0.5), "seed_threshold": (0.3, 0.5, 0.7),
                "min_size": (0, 50, 100, 150, 200, 300), "split_neck": (0.0,)}
    val = [(seglab.read(images[i]), seglab.read(truths[i])) for i in index]
    best = {"ap50": -1.0}

    def without_small(labels, min_size):
        # the same objects as labels_from_probabilities(..., min_size=min_size), labelled in another order
        sizes = np.bincount(labels.ravel())
        return np.where((sizes < min_size)[labels], 0, labels)

    for tta in grid["tta"]:
        probas = [predict_probabilities(image, str(folder), tta=tta)[0] for image, _ in val]
        for threshold in grid["threshold"]:
            for seed_threshold in grid["seed_threshold"]:
                for split_neck in grid["split_neck"]:
                    labels = [labels_from_probabilities(p[1], 1.0 - p[0], threshold=threshold,
                                                        seed_threshold=seed_threshold, min_size=0,
                                                        split_neck=split_neck) for p in probas]
                    for min_size in grid["min_size"]:
                        ap = float(np.mean([instance_scores(truth, without_small(lab, min_size))["ap50"]
                                            for lab, (_, truth) in zip(labels, val)]))
                        if ap > best["ap50"]:
                            best = {"ap50": ap, "tta": tta, "threshold": threshold,
                                    "seed_threshold": seed_threshold, "min_size": min_size,
                                    "split_neck": split_neck}
        log(f"post-processing tuned on {TUNE_ON} images {index} (tta up to {tta}): {best}")
    return {**best, "tuned_on": TUNE_ON, "grid": POST_GRID, "images": [str(images[i]) for i in index]}


_WARM: set = set()


def _timed_predict(method: str, image, model: Path, **params):
    """Segment and time it; the first call per model is repeated so that loading torch and the model is
    not counted as inference."""
    import seglab

    if (method, str(model)) not in _WARM:
        seglab.segment(image[:256, :256], method, model=str(model), **params)
        _WARM.add((method, str(model)))
    start = time.perf_counter()
    result = seglab.segment(image, method, model=str(model), **params)
    return result, time.perf_counter() - start


def case_nuclei(fold: int, out: Path, minutes: float, log) -> dict:
    import seglab
    from seglab.metrics.instance import instance_scores

    pairs = _nuclei_pairs()
    test = NUCLEI_FOLDS[fold]
    train = [k for k in pairs if k not in test]
    images, truths = [pairs[k][0] for k in train], [pairs[k][1] for k in train]
    folder, seconds = _train(images, truths, out / f"model_nuclei{fold}", "instance", minutes, log)
    post = _tune_post(folder, images, truths, log) if TUNE_POST else None
    rows, tuned_rows, pixels, predict_seconds = [], [], 0, 0.0
    for key in test:
        image, truth = seglab.read(pairs[key][0]), seglab.read(pairs[key][1])
        result, dt = _timed_predict("unet_instance", image, folder)
        pixels += image.size
        predict_seconds += dt
        scores = instance_scores(truth, result.labels)
        rows.append({"image": key, **{k: scores[k] for k in ("ap50", "ap75", "map", "pq", "f1", "n_true", "n_pred")}})
        log(f"{key}: AP50 {scores['ap50']:.3f} AP75 {scores['ap75']:.3f} mAP {scores['map']:.3f} PQ {scores['pq']:.3f}")
        if post is not None:
            params = {k: post[k] for k in ("threshold", "seed_threshold", "min_size", "tta", "split_neck")}
            scores = instance_scores(truth, seglab.segment(image, "unet_instance", model=str(folder), **params).labels)
            tuned_rows.append({"image": key, **{k: scores[k] for k in ("ap50", "ap75", "map", "pq", "f1", "n_true",
                                                                        "n_pred")}})
            log(f"{key} tuned post: AP50 {scores['ap50']:.3f} AP75 {scores['ap75']:.3f} mAP {scores['map']:.3f} "
                f"PQ {scores['pq']:.3f}")
    config = json.loads((folder / "config.json").read_text())
    keys = ("ap50", "ap75", "map", "pq", "f1")
    result = {"case": f"nuclei{fold}", "train": train, "test": test, "rows": rows,
              "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys},
              "train_seconds": seconds, "epochs": config["validation"]["epochs_run"],
              "best_epoch": config["validation"]["best_epoch"], "validation": config["validation"]["best"],
              "history": config["validation"]["history"], "recipe": dict(RECIPE),
              "megapixels_per_second": pixels / predict_seconds / 1e6, "peak_mib": _peak_mib()}
    if post is not None:
        result.update(post=post, tuned_rows=tuned_rows,
                      tuned_mean={k: float(np.mean([r[k] for r in tuned_rows])) for k in keys})
    return result


def case_kesm(out: Path, minutes: float, log) -> dict:
    import seglab

    image = seglab.read(DATA / "kesm" / "grayscale.png")
    truth = seglab.read(DATA / "kesm" / "groundtruth.png") > 0
    half = image.shape[0] // 2
    folder, seconds = _train([image[:half]], [truth[:half]], out / "model_kesm", "semantic", minutes, log)
    # The bottom half is scored as the article's pipeline was: on the bottom half image alone.
    result, dt = _timed_predict("unet", image[half:], folder)
    scores = binary_summary(truth[half:], result.mask)
    log(f"KESM bottom half F1 {scores['f1']:.3f}")
    config = json.loads((folder / "config.json").read_text())
    return {"case": "kesm", "scores": scores, "train_seconds": seconds,
            "epochs": config["validation"]["epochs_run"], "best_epoch": config["validation"]["best_epoch"],
            "megapixels_per_second": image[half:].size / dt / 1e6, "peak_mib": _peak_mib()}


def case_nih3t3(out: Path, minutes: float, log) -> dict:
    import seglab
    from seglab.io import natural_key

    folder_in = DATA / "nuclei" / "NIH3T3"
    images = sorted((folder_in / "img").glob("dna-*.png"), key=lambda p: natural_key(p.name))
    truths = [folder_in / "gt" / f"{p.stem[4:]}.png" for p in images]
    train, test = list(range(12)), list(range(12, len(images)))
    folder, seconds = _train([images[i] for i in train], [truths[i] for i in train], out / "model_nih3t3",
                             "semantic", minutes, log)
    rows, pixels, dt_total = [], 0, 0.0
    for i in test:
        image, truth = seglab.read(images[i]), seglab.read(truths[i]) > 0
        result, dt = _timed_predict("unet", image, folder)
        pixels += image.size
        dt_total += dt
        rows.append({"image": images[i].name, **binary_summary(truth, result.mask)})
    config = json.loads((folder / "config.json").read_text())
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("f1", "iou", "precision", "recall")}
    log(f"NIH3T3 held-out F1 {mean['f1']:.3f}")
    return {"case": "nih3t3", "train": [images[i].name for i in train], "test": [images[i].name for i in test],
            "rows": rows, "mean": mean, "train_seconds": seconds, "epochs": config["validation"]["epochs_run"],
            "best_epoch": config["validation"]["best_epoch"], "megapixels_per_second": pixels / dt_total / 1e6,
            "peak_mib": _peak_mib()}


def case_isbi(out: Path, minutes: float, log) -> dict:
    import seglab

    base = DATA / "isbi2012" / "train"
    images = [base / "image" / f"{k}.png" for k in range(30)]
    labels = [base / "label" / f"{k}.png" for k in range(30)]
    train, test = list(range(20)), list(range(20, 30))
    folder, seconds = _train([images[i] for i in train], [labels[i] for i in train], out / "model_isbi", "semantic",
                             minutes, log)
    rows, dt_total, pixels = [], 0.0, 0
    for i in test:
        image, label = seglab.read(images[i]), seglab.read(labels[i])
        result, dt = _timed_predict("unet", image, folder)
        dt_total += dt
        pixels += image.size
        rows.append({"slice": i, **isbi_scores(label, result.mask)})
    # Best classical method: a small sweep on the 20 training slices, chosen by membrane F1, scored on the 10.
    candidates = [("otsu", {}), ("li", {}), ("sauvola", {"window_size": 25}), ("local", {"block_size": 25}),
                  ("local", {"block_size": 51}), ("local", {"block_size": 101})]
    best, best_f1 = None, -1.0
    from seglab.metrics.binary import binary_scores

    for name, params in candidates:
        try:
            f1s = []
            for i in train[:6]:
                image, label = seglab.read(images[i]), seglab.read(labels[i])
                mask = seglab.segment(image, name, **params).mask
                f1s.append(binary_scores(label == 0, ~mask)["f1"])
        except Exception as error:  # a candidate that does not exist in this registry is skipped, and said
            log(f"classical {name} {params}: skipped ({error})")
            continue
        if np.mean(f1s) > best_f1:
            best, best_f1 = (name, params), float(np.mean(f1s))
    classical = []
    for i in test:
        image, label = seglab.read(images[i]), seglab.read(labels[i])
        classical.append(isbi_scores(label, seglab.segment(image, best[0], **best[1]).mask))
    config = json.loads((folder / "config.json").read_text())
    keys = ("membrane_f1", "adapted_rand_error", "vi")
    return {"case": "isbi", "rows": rows, "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys},
            "classical": {"method": best[0], "params": best[1], "train_f1": best_f1,
                          "mean": {k: float(np.mean([r[k] for r in classical])) for k in keys}},
            "train_seconds": seconds, "epochs": config["validation"]["epochs_run"],
            "best_epoch": config["validation"]["best_epoch"], "megapixels_per_second": pixels / dt_total / 1e6,
            "peak_mib": _peak_mib()}


def case_monai(out: Path, log) -> dict:
    """Our sliding window against MONAI's ``sliding_window_inference``: same network, window and overlap.

    seglab runs the network frozen (TorchScript freeze + optimize_for_inference) by default; the eager module
    is timed too, so the window logic and the graph optimisation can be told apart.
    """
    import torch
    from monai.inferers import sliding_window_inference

    import seglab
    from seglab.deep._data import normalize, percentile_range
    from seglab.deep._predict import _predictor, load_unet, sliding_window

    folder = out / "model_nuclei1"
    image = seglab.read(_nuclei_pairs()["N2DH-GOWT1/t52"][0])
    rng = percentile_range(image)
    loaded = load_unet(folder)
    net = loaded.network
    x = normalize(image, rng)
    times: dict[str, list[float]] = {"frozen": [], "eager": [], "monai": [], "segment": []}
    seglab.segment(image[:256, :256], "unet_instance", model=str(folder))  # warm: torch, model, frozen graph
    for _ in range(3):
        start = time.perf_counter()
        frozen = sliding_window(x, _predictor(loaded, 256), window=256, overlap=0.5, n_out=3)
        times["frozen"].append(time.perf_counter() - start)
        start = time.perf_counter()
        eager = sliding_window(x, _predictor(loaded, 256, frozen=False), window=256, overlap=0.5, n_out=3)
        times["eager"].append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.inference_mode():
            reference = sliding_window_inference(torch.from_numpy(x)[None, None], (256, 256), 1,
                                                 lambda z: torch.softmax(net(z), 1), overlap=0.5, mode="gaussian",
                                                 sigma_scale=0.125)[0].numpy()
        times["monai"].append(time.perf_counter() - start)
        start = time.perf_counter()
        seglab.segment(image, "unet_instance", model=str(folder))
        times["segment"].append(time.perf_counter() - start)
    med = {k: float(np.median(v)) for k, v in times.items()}
    result = {"case": "monai", "image": "N2DH-GOWT1/t52 (1024x1024)", "window": 256, "overlap": 0.5,
              "max_abs_diff_frozen": float(np.abs(reference - frozen).max()),
              "max_abs_diff_eager": float(np.abs(reference - eager).max()),
              "seconds": med, "ratio_frozen": med["monai"] / med["frozen"], "ratio_eager": med["monai"] / med["eager"],
              "segment_megapixels_per_second": image.size / med["segment"] / 1e6,
              "threads": torch.get_num_threads(), "peak_mib": _peak_mib()}
    log(json.dumps(result))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", choices=("nuclei1", "nuclei2", "nuclei3", "kesm", "nih3t3", "isbi", "monai"))
    parser.add_argument("--out", default="/tmp/unet_bench")
    parser.add_argument("--minutes", type=float, default=12.0, help="training time cap per model")
    parser.add_argument("--norm", default="batch", choices=("batch", "instance"), help="U-Net normalisation layer")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--epochs", type=int, default=200, help="epochs (the cosine schedule's length)")
    parser.add_argument("--patience", type=int, default=15, help="early-stopping patience (epochs)")
    parser.add_argument("--schedule", default="constant", choices=("constant", "cosine"))
    parser.add_argument("--chunk", type=float, default=None,
                        help="minutes of training per process; rerun the same command to resume (exit code 3)")
    parser.add_argument("--option", action="append", default=[],
                        help="extra train_unet option as key=JSON value, e.g. batch_size=16")
    parser.add_argument("--tune-post", action="store_true",
                        help="nuclei: also choose the watershed settings and flips on the validation images")
    parser.add_argument("--tune-on", default="validation", choices=("validation", "training"),
                        help="images the post-processing is chosen on (never the held-out ones)")
    parser.add_argument("--post-grid", default="plain", choices=("plain", "neck"),
                        help="--tune-on training: the first runs' grid, or one that also tries split_neck")
    parser.add_argument("--result-suffix", default="", help="appended to the result file's name")
    parser.add_argument("--report", default=None, help="print the RESULTS.md section from the JSON files here")
    args = parser.parse_args(argv)
    if args.report:
        print(report(Path(args.report)))
        return 0
    if not DATA.exists():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    global NORM, LEARNING_RATE, TUNE_POST, TUNE_ON, POST_GRID
    NORM, LEARNING_RATE, TUNE_POST, TUNE_ON = args.norm, args.lr, args.tune_post, args.tune_on
    POST_GRID = args.post_grid
    RECIPE.update(epochs=args.epochs, patience=args.patience, schedule=args.schedule, chunk=args.chunk,
                  options={k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)})

    def log(text):
        print(f"[{time.strftime('%H:%M:%S')}] {args.case}: {text}", flush=True)

    try:
        result = _run_case(args, out, log)
    except MoreToDo as more:
        log(f"chunk done, run again to resume: {more}")
        return 3
    (out / f"{args.case}{args.result_suffix}.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


def _run_case(args, out: Path, log) -> dict:
    if args.case.startswith("nuclei"):
        result = case_nuclei(int(args.case[-1]), out, args.minutes, log)
    elif args.case == "kesm":
        result = case_kesm(out, args.minutes, log)
    elif args.case == "nih3t3":
        result = case_nih3t3(out, args.minutes, log)
    elif args.case == "isbi":
        result = case_isbi(out, args.minutes, log)
    else:
        result = case_monai(out, log)
    return result


def report(folder: Path) -> str:  # pragma: no cover - formatting of measured numbers
    """The "Learned: U-Net" section of RESULTS.md from the JSON files a run left in `folder`."""

    def load(name):
        path = folder / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    f = lambda v: f"{v:.3f}"  # noqa: E731
    lines = ["## Learned: U-Net", ""]
    cost = []
    folds = [x for x in (load(f"nuclei{k}") for k in (1, 2, 3)) if x]
    if folds:
        lines += ["### Nuclei, `--task instance` (N2DH-GOWT1 + N2DL-HeLa, full resolution; the classical "
                  "benchmark's folds, scored on the held-out images only)", "",
                  "| fold | held-out images | AP@0.5 | AP@0.75 | mAP | PQ | epochs (best) |",
                  "|---|---|---|---|---|---|---|"]
        for x in folds:
            m = x["mean"]
            lines.append(f"| {x['case'][-1]} | {', '.join(x['test'])} | {f(m['ap50'])} | {f(m['ap75'])} | "
                         f"{f(m['map'])} | {f(m['pq'])} | {x['epochs']} ({x['best_epoch']}) |")
            cost.append((f"nuclei fold {x['case'][-1]} (instance)", x))
        mean = {k: float(np.mean([x["mean"][k] for x in folds])) for k in ("ap50", "ap75", "map", "pq")}
        lines.append(f"| mean of {len(folds)} | | {f(mean['ap50'])} | {f(mean['ap75'])} | {f(mean['map'])} | "
                     f"{f(mean['pq'])} | |")
        lines.append("| classical, tuned (table above) | | 0.370 | | 0.250 | | |")
        lines.append("")
    nih = load("nih3t3")
    if nih:
        m = nih["mean"]
        lines += ["### NIH3T3 (binary truth), semantic", "",
                  f"Trained on the first 12 images (natural order), scored on the other 6: F1 {f(m['f1'])}, IoU "
                  f"{f(m['iou'])}, precision {f(m['precision'])}, recall {f(m['recall'])} "
                  f"({nih['epochs']} epochs, best {nih['best_epoch']}).", ""]
        cost.append(("NIH3T3 (semantic)", nih))
    kesm = load("kesm")
    if kesm:
        m = kesm["scores"]
        lines += ["### KESM: trained on the top half, scored on the bottom half", "",
                  "| pipeline | scored on | f1 | iou | mcc | precision | recall |", "|---|---|---|---|---|---|---|",
                  "| article: invert > median(3) > otsu | bottom half | 0.879 | 0.784 | 0.875 | 0.881 | 0.877 |",
                  f"| U-Net (semantic, top half) | bottom half (held out) | {f(m['f1'])} | {f(m['iou'])} | "
                  f"{f(m['mcc'])} | {f(m['precision'])} | {f(m['recall'])} |", ""]
        cost.append(("KESM top half (semantic)", kesm))
    isbi = load("isbi")
    if isbi:
        m, c = isbi["mean"], isbi["classical"]
        lines += ["### ISBI 2012 membranes: trained on slices 0-19, scored on slices 20-29", "",
                  "Membrane = truth 0. Regions for adapted Rand error and VI (split + merge, bits) are the connected "
                  "components of the non-membrane pixels, in the truth and in the prediction.", "",
                  "| method | membrane F1 | adapted Rand error | VI |", "|---|---|---|---|",
                  f"| U-Net (semantic) | {f(m['membrane_f1'])} | {f(m['adapted_rand_error'])} | {f(m['vi'])} |",
                  f"| best classical of a small sweep (`{c['method']}` {c['params']}, chosen on 6 training slices) | "
                  f"{f(c['mean']['membrane_f1'])} | {f(c['mean']['adapted_rand_error'])} | {f(c['mean']['vi'])} |",
                  ""]
        cost.append(("ISBI 2012 (semantic)", isbi))
    if cost:
        lines += ["### Cost on this machine (2 CPU cores shared with about 7 other sessions at load 7-14)", "",
                  "| model | training wall time (min) | epochs | inference MP/s | peak RSS (MiB, train + predict) |",
                  "|---|---|---|---|---|"]
        for name, x in cost:
            lines.append(f"| {name} | {x['train_seconds'] / 60:.1f} | {x['epochs']} | "
                         f"{x['megapixels_per_second']:.2f} | {x['peak_mib']:.0f} |")
        lines.append("")
    monai = load("monai")
    if monai:
        t = monai["seconds"]
        lines += ["### Sliding window against MONAI's `sliding_window_inference`", "",
                  f"Same weights (nuclei fold 1 model), window {monai['window']}, overlap {monai['overlap']}, Gaussian "
                  f"weights, one window per batch, {monai['image']}, median of 3 runs, {monai['threads']} torch "
                  "threads, 2 shared cores:", "",
                  "| run | seconds | MONAI / this | max abs difference from MONAI |", "|---|---|---|---|",
                  f"| MONAI `sliding_window_inference`, eager network | {t['monai']:.2f} | 1.00 | 0 |",
                  f"| seglab window grid, eager network | {t['eager']:.2f} | {monai['ratio_eager']:.2f} | "
                  f"{monai['max_abs_diff_eager']:.1e} |",
                  f"| seglab window grid, frozen network (default) | {t['frozen']:.2f} | {monai['ratio_frozen']:.2f} | "
                  f"{monai['max_abs_diff_frozen']:.1e} |", "",
                  f"Whole `seglab.segment(image, 'unet_instance', model=...)` on that image (normalisation, windows, "
                  f"watershed), warm: {t['segment']:.2f} s = {monai['segment_megapixels_per_second']:.3f} MP/s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
