"""``seglab evaluate TRUTH PRED``: metrics of a prediction against ground truth (truth first)."""

from __future__ import annotations

import json

import click


@click.command(name="evaluate")
@click.argument("truth", type=click.Path())
@click.argument("pred", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--instances", is_flag=True, help="Instance metrics (matching at IoU thresholds, AP, PQ).")
@click.option("--overlay", "overlay_path", default=None, type=click.Path(), help="Write a confusion-colour overlay PNG (needs --image).")
@click.option("--image", "image_path", default=None, type=click.Path(), help="The image under the overlay.")
def command(truth, pred, as_json, instances, overlay_path, image_path):
    """Score PRED against TRUTH (files; two .zarr arrays are scored chunk by chunk; a BSDS .mat truth holds
    several human segmentations, all scored).

    Binary masks give tp, tn, fp, fn, accuracy, precision, recall,
    specificity, f1, iou, mcc; label images give region metrics; --instances
    gives instance metrics.
    """
    from seglab._core.errors import ParameterError
    from seglab._core.provenance import jsonable

    if overlay_path and not image_path:
        raise ParameterError("--overlay needs --image IMAGE (the picture under the confusion colours)")
    if _is_zarr(truth) or _is_zarr(pred):
        scores = _evaluate_zarr(truth, pred)
    else:
        from seglab.io import read
        from seglab.metrics import evaluate

        pred_array = read(pred)
        if str(truth).lower().endswith(".mat"):
            # BSDS style: several human segmentations of one image, scored together.
            from seglab.io import read_truths

            truth_array = read_truths(truth)
            if overlay_path:
                raise ParameterError("--overlay needs a binary truth mask, not a .mat file of several segmentations")
        else:
            truth_array = read(truth)
        scores = evaluate(truth_array, pred_array, instances=instances)
        if overlay_path:
            from seglab._core.validation import check_mask, check_same_shape
            from seglab.io import write
            from seglab.viz.confusion import confusion_overlay

            image = read(image_path)
            check_same_shape(truth_array, image if image.ndim == truth_array.ndim else image[..., 0],
                             reference_name="truth", other_name="image")
            write(overlay_path, confusion_overlay(image, check_mask(truth_array, name="truth"),
                                                  check_mask(pred_array, name="pred")))
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


def _is_zarr(path: str) -> bool:
    return str(path).rstrip("/").endswith(".zarr")


def _evaluate_zarr(truth: str, pred: str) -> dict:
    from seglab.metrics.binary import scores_from_counts
    from seglab.tiling import confusion_from_zarr

    counts = confusion_from_zarr(truth, pred)
    return scores_from_counts(*counts)
