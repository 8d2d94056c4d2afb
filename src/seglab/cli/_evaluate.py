"""``seglab evaluate TRUTH PRED``: metrics of a prediction against ground truth (truth first)."""

from __future__ import annotations

import json

import click


@click.command(name="evaluate")
@click.argument("truth", type=click.Path())
@click.argument("pred", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--instances", is_flag=True, help="Instance metrics (matching at IoU thresholds, AP, PQ).")
@click.option("--overlay", "overlay_path", default=None, type=click.Path(),
              help="Write a confusion-colour overlay PNG (needs --image), with a colour key.")
@click.option("--image", "image_path", default=None, type=click.Path(), help="The image under the overlay.")
def command(truth, pred, as_json, instances, overlay_path, image_path):
    """Score PRED against TRUTH (ground truth first).

    \b
    Files: PNG, TIFF, .npy, zarr stores (tiled outputs; masks too large for memory are
    scored chunk by chunk), or a BSDS .mat truth (several human segmentations, all
    scored, with boundary precision/recall/F).

    \b
    Which metrics (the rule seglab compare and tune use too):
      mask vs binary truth     tp, tn, fp, fn, accuracy, precision, recall,
                               specificity, f1, iou, mcc
      labels vs binary truth   region metrics (covering, ari, vi, ...)
      anything vs instance     instance metrics (ap50, pq, matched f1; a mask's
      truth (0 = background)   connected components are its objects) + fg_f1, fg_iou
      anything vs a partition  region metrics
    --instances forces instance metrics.
    """
    from seglab._core.errors import ParameterError
    from seglab._core.provenance import jsonable

    if overlay_path and not image_path:
        raise ParameterError("--overlay needs --image IMAGE (the picture under the confusion colours)")
    kind = "instance" if instances else "auto"
    notes: list[str] = []
    if _is_zarr(truth) or _is_zarr(pred):
        truth_array, pred_array, scores = _evaluate_zarr(truth, pred, kind)
    else:
        from seglab.io import read

        truth_array, pred_array, scores = None, read(pred), None
        if str(truth).lower().endswith(".mat"):
            # BSDS style: several human segmentations of one image, scored together.
            from seglab.io import read_truths

            truth_array = read_truths(truth)
            if overlay_path:
                raise ParameterError("--overlay needs a binary truth mask, not a .mat file of several segmentations")
        else:
            truth_array = read(truth)
    if scores is None:
        from seglab.metrics import output_kind_of, prediction_for, prepare_truth, score_output, truth_kind
        from seglab.metrics.diagnostics import diagnose

        metric_kind, scores = score_output(truth_array, pred_array, kind=kind)
        ready = prepare_truth(truth_array, metric_kind, truth_kind_=truth_kind(truth_array))
        notes = diagnose(ready, prediction_for(pred_array, output_kind_of(pred_array), metric_kind), metric_kind)
    if overlay_path:
        _write_overlay(overlay_path, image_path, truth_array, pred_array)
        click.echo(f"seglab: wrote overlay {overlay_path}", err=True)
    for note in notes:
        click.echo(f"seglab: note: {note}", err=True)
    scores = jsonable(scores)
    if as_json:
        click.echo(json.dumps(scores))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{pred} vs {truth}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in scores.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _write_overlay(overlay_path, image_path, truth_array, pred_array) -> None:
    import numpy as np

    from seglab._core.validation import check_mask, check_same_shape
    from seglab.io import read
    from seglab.viz.confusion import confusion_overlay, with_confusion_key

    if truth_array is None or pred_array is None:
        from seglab._core.errors import ParameterError

        raise ParameterError("--overlay is drawn for arrays that fit in memory; this zarr pair is scored by chunks")
    image = read(image_path)
    truth_array, pred_array = np.asarray(truth_array), np.asarray(pred_array)
    check_same_shape(truth_array, image if image.ndim == truth_array.ndim else image[..., 0],
                     reference_name="truth", other_name="image")
    picture = confusion_overlay(image, check_mask(truth_array != 0, name="truth"),
                                check_mask(pred_array != 0, name="pred"))
    from seglab.viz.overlay import save_png

    save_png(with_confusion_key(picture), overlay_path)


def _is_zarr(path: str) -> bool:
    return str(path).rstrip("/").endswith(".zarr")


def _evaluate_zarr(truth: str, pred: str, kind: str):
    """Score zarr (or mixed) inputs with the same keys as files: in memory when they fit the pixel budget.

    Returns ``(truth_array, pred_array, scores)``; the arrays are None and scores set when the masks
    were too large for memory and were counted chunk by chunk (binary masks only).
    """
    from seglab._core.errors import DecompressionBombError, ParameterError
    from seglab.io import read

    try:
        return read(truth), read(pred), None
    except DecompressionBombError:
        pass
    if kind != "auto":
        raise ParameterError("zarr arrays larger than the pixel budget are scored as binary masks only; "
                             "drop --instances or raise the budget (SEGLAB_MAX_PIXELS)")
    import numpy as np

    from seglab.metrics.binary import scores_from_counts
    from seglab.tiling import confusion_from_zarr

    # Opened lazily (a zarr.Array, read chunk by chunk): memory stays bounded, so the budget that
    # protects whole-array reads does not apply.
    arrays = [_lazy(truth), _lazy(pred)]
    for name, array in zip(("truth", "pred"), arrays):
        # Chunked counting treats non-zero as foreground: refuse label images rather than score them wrongly.
        corner = np.asarray(array[tuple(slice(0, 512) for _ in array.shape)])
        values = np.unique(corner)
        if values.size > 2 or (values.size == 2 and values[0] != 0):
            raise ParameterError(f"{name} holds labels ({values.size}+ values), but zarr arrays larger than the pixel "
                                 "budget are scored as binary masks only; raise the budget (SEGLAB_MAX_PIXELS) to "
                                 "score labels in memory")
    counts = confusion_from_zarr(*arrays)
    return None, None, scores_from_counts(counts["tp"], counts["tn"], counts["fp"], counts["fn"])


def _lazy(path: str):
    from seglab.io import read

    return read(path, lazy=True) if _is_zarr(path) else read(path)
