"""``seglab train``: train a pixel classifier or a U-Net on your own images and write a model folder."""

from __future__ import annotations

import click


@click.command(name="train")
@click.argument("images", nargs=-1, required=True)
@click.option("--truth", "truths", multiple=True, metavar="PATH",
              help="Ground-truth masks or label images (files, folders, globs; repeatable), paired by file stem "
                   "as `seglab compare` pairs them.")
@click.option("--scribbles", "scribbles", multiple=True, metavar="PATH",
              help="Painted label images (0 = unlabelled, 1 = background, 2.. = classes); pixel_classifier only.")
@click.option("--model", "model", required=True, type=click.Choice(["pixel_classifier", "unet"]),
              help="What to train.")
@click.option("--out", "-o", "out", required=True, type=click.Path(), help="Model folder to write.")
@click.option("--task", default="semantic", show_default=True, type=click.Choice(["semantic", "instance"]),
              help="unet: a mask/classes, or instances (touching objects separated).")
@click.option("--epochs", default=50, show_default=True, type=click.IntRange(min=1), help="unet: most epochs.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
              help="unet: where to train.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: same data and seed, same model.")
@click.option("--resume", is_flag=True, help="unet: continue an interrupted training in --out.")
@click.option("--val-fraction", default=0.2, show_default=True, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="Share of the data held out to score the model (pixel_classifier: 0 = none; unet: more than "
                   "0, since it keeps the epoch with the best held-out score).")
@click.option("--trees", default=50, show_default=True, type=click.IntRange(min=1),
              help="pixel_classifier: random-forest trees.")
@click.option("--sigmas", default=None, metavar="S,S,...",
              help="pixel_classifier: feature scales (default ilastik's 0.3,0.7,1,1.6,3.5,5,10).")
@click.option("--pair-regex", default=None, help="Regular expression whose first group pairs images with truths.")
@click.option("--touch-width", default=None, type=click.IntRange(min=0), metavar="PIXELS",
              help="unet --task instance: object pixels this close to another object learn 'boundary' too, so "
                   "touching objects are parted by a wider band (default 0: the two-pixel inner boundary).")
@click.option("--option", "unet_options", multiple=True, metavar="KEY=VALUE",
              help="unet: a training option (repeatable): patch, batch_size, steps_per_epoch, learning_rate, "
                   "schedule, warmup, features, patience, window, threads, norm, time_limit, ... Values are "
                   "JSON (32, 1e-3, null, [16,32,32,64,128,16]) or plain text.")
def command(images, truths, scribbles, model, out, task, epochs, device, seed, resume, val_fraction, trees, sigmas,
            pair_regex, touch_width, unet_options):
    """Train a model on IMAGES and write it to --out (weights.safetensors + config.json).

    \b
    seglab train IMAGES... --truth TRUTHS --model pixel_classifier --out MODEL_DIR
    seglab train IMAGE --scribbles SCRIBBLES.png --model pixel_classifier --out MODEL_DIR
    seglab train IMAGES... --truth TRUTHS --model unet --task instance --epochs 50 --out MODEL_DIR

    Use the model with `seglab segment IMG --method pixel_classifier --param model=MODEL_DIR --out D`
    (or --method unet).
    """
    from seglab._core.errors import ParameterError

    if not str(out).strip():
        # Path("") is the current folder: a model's files would be written straight into it
        raise ParameterError("--out got an empty path; give the model folder to write, e.g. --out my-model")

    def echo(event) -> None:  # seglab.workflows.Event
        prefix = "note: " if event.kind == "note" else ""
        click.echo(f"seglab train: {prefix}{event.message}", err=True)

    if model == "pixel_classifier":
        from seglab.learn import DEFAULT_SIGMAS, train_pixel_classifier

        if resume:
            raise ParameterError("--resume applies to --model unet; a pixel classifier trains in seconds, "
                                 "train it again")
        if task != "semantic":
            raise ParameterError("--task instance applies to --model unet; the pixel classifier is semantic "
                                 "(add the post-step 'label' to get objects)")
        if touch_width is not None or unet_options:
            raise ParameterError("--touch-width and --option apply to --model unet; the pixel classifier takes "
                                 "--trees and --sigmas")
        scales = DEFAULT_SIGMAS
        if sigmas:
            try:
                scales = tuple(float(s) for s in sigmas.replace(";", ",").split(",") if s.strip())
            except ValueError:
                raise ParameterError(f"--sigmas got {sigmas!r}; expected numbers separated by commas") from None
        folder, summary = train_pixel_classifier(
            list(images), out=out, truths=list(truths) or None, scribbles=list(scribbles) or None, sigmas=scales,
            n_estimators=trees, seed=seed, val_fraction=val_fraction, pair_regex=pair_regex, progress=echo)
        score = "n/a" if summary["val_f1"] is None else f"{summary['val_f1']:.4f}"
        click.echo(f"model: {folder}")
        click.echo(f"classes: {', '.join(map(str, summary['classes']))}; validation F1: {score} "
                   f"({summary['validation']}); {summary['seconds']:.1f} s")
        return
    # -- unet --------------------------------------------------------------------------------------
    if scribbles:
        raise ParameterError("--scribbles applies to --model pixel_classifier; a U-Net trains from --truth")
    if not truths:
        raise ParameterError("--model unet needs --truth (one ground truth per image)")
    import importlib.util

    if importlib.util.find_spec("seglab.deep") is None:
        raise ParameterError("--model unet needs seglab.deep, which this installation does not have")
    from seglab.deep import train_unet
    from seglab.learn import pair_training_files

    if val_fraction == 0:
        raise ParameterError("--val-fraction 0: a U-Net keeps the weights of the epoch that scores best on held-out "
                             "data, so it needs some (e.g. 0.2; with one image, a band of its rows is held out)")
    options = _unet_options(unet_options)
    if touch_width is not None:
        if task != "instance":
            raise ParameterError("--touch-width applies to --task instance (the boundary class); a semantic U-Net "
                                 "has no boundary to widen")
        options["touch_width"] = touch_width
    if "validation_fraction" in options:
        raise ParameterError("set the validation share with --val-fraction, not --option validation_fraction")
    pairs = pair_training_files(list(images), list(truths), what="truth", pair_regex=pair_regex, progress=echo)

    def epoch_progress(event) -> None:  # seglab.workflows.Event
        click.echo(f"seglab train: epoch {event.done}/{event.total} {event.message}", err=True)

    folder = train_unet([p[0] for p in pairs], [p[1] for p in pairs], out=out, task=task, epochs=epochs,
                        device=device, seed=seed, resume=resume, progress=epoch_progress,
                        validation_fraction=val_fraction, **options)
    import json
    from pathlib import Path

    config = json.loads((Path(folder) / "config.json").read_text())
    validation = config.get("validation") or {}
    click.echo(f"model: {folder}")
    best = {k: v for k, v in validation.items() if k in ("metric", "best", "best_epoch", "epochs_run")}
    if best:
        click.echo("validation: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in best.items()))


def _unet_options(items: tuple[str, ...]) -> dict:
    """``--option KEY=VALUE`` texts -> train_unet options; each value is read as JSON when it parses, else text."""
    import json

    from seglab._core.errors import ParameterError, close_matches_hint
    from seglab._core.pipeline import parse_key_values
    from seglab.deep import TRAIN_OPTIONS as OPTIONS

    options: dict = {}
    for key, text in parse_key_values(items, where="--option").items():
        if key not in OPTIONS:
            raise ParameterError(f"--option: unknown U-Net training option `{key}`; options are "
                                 f"{', '.join(OPTIONS)}." + close_matches_hint(key, OPTIONS))
        try:
            options[key] = json.loads(text)
        except ValueError:
            options[key] = text
    return options
