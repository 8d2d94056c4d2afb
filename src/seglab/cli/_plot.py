"""``seglab plot``: draw one picture of an image or of a method's result."""

from __future__ import annotations

import click

from ._common import parse_params

KINDS = ("histogram", "overlay", "sobel", "panel", "contour")


@click.command(name="plot")
@click.argument("kind")
@click.argument("image", type=click.Path())
@click.option("--labels", "labels_path", default=None, type=click.Path(), help="Label image or mask to overlay.")
@click.option("--method", "-m", "methods", multiple=True, help="Method to run first (repeatable for `panel`).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Parameter of the method.")
@click.option("--pre", multiple=True, metavar="NAME[:K=V,...]", help="Pre-step before the method (repeatable).")
@click.option("--threshold", "thresholds", multiple=True, type=float, help="Threshold to mark (histogram).")
@click.option("--contour", default=None, help="Initial contour ROW,COL,RADIUS or a points JSON file.")
@click.option("--rect", default=None, help="Rectangle ROW,COL,HEIGHT,WIDTH (grabcut).")
@click.option("--seeds-json", default=None, type=click.Path(), help="Seeds JSON (random_walker).")
@click.option("--out", "-o", "out", required=True, type=click.Path(), help="PNG file to write.")
def command(kind, image, labels_path, methods, params, pre, thresholds, contour, rect, seeds_json, out):
    """Draw KIND (histogram, overlay, sobel, panel, contour) for IMAGE and write it to --out as PNG.

    \b
    histogram  intensity histogram (after --pre steps, where the threshold is computed);
               --threshold T (repeatable) or a --method's threshold(s) as lines
    overlay    --labels FILE, or a --method's result, over the original image (16-bit and
               float shown with a 0.5-99.5 percentile stretch); IMAGE and --labels may be
               zarr stores (tiled results); above 4096 px a side drawn at reduced size
    sobel      Sobel magnitude and orientation (or a --method's edges and orientation)
    panel      the image beside each --method's overlay
    contour    a contour --method (default active_contour) from --contour, initial and final
    """
    from seglab._core.errors import ParameterError, close_matches_hint

    if kind not in KINDS:
        raise ParameterError(f"unknown plot kind {kind!r}; expected one of {', '.join(KINDS)}."
                             + close_matches_hint(kind, KINDS))
    import numpy as np

    from seglab.io import read
    from seglab.viz import overlay as ov
    from seglab.viz import plots
    from seglab.viz.display import MAX_DISPLAY_SIDE, display_stride

    step = 1
    if kind == "overlay" and labels_path is not None and str(image).rstrip("/").endswith(".zarr"):
        # A tiled result: read every k-th pixel of the store (bounded memory, a PNG a browser opens).
        array, step = _reduced(image)
    else:
        array = read(image)
    # The one image rule segment uses: complex, boolean, NaN/inf, empty or 1-pixel-wide images get one clear
    # error here rather than a NumPy/Matplotlib exception (or a picture of nothing) further down.
    from seglab._core.validation import check_image

    _, info = check_image(array, name="image")
    if kind in ("overlay", "sobel") and info.spatial_ndim != 2:
        raise ParameterError(f"plot {kind} draws 2-D images; IMAGE has shape {array.shape} (a stack of "
                             f"{array.shape[0]} planes); write one plane to a file and plot that")
    given = parse_params(params)
    if len(methods) > 1 and given:
        raise ParameterError("--param applies to a single --method; give one method or no --param")

    def run(name):
        from seglab._core.pipeline import segment

        inputs = {}
        if contour is not None:
            inputs["contour"] = contour
        if rect is not None:
            from seglab.interactive.inputs import parse_rect

            inputs["rect"] = parse_rect(rect)
        if seeds_json is not None:
            from seglab.interactive.inputs import seeds_from_json

            inputs["seeds"] = seeds_from_json(seeds_json, array.shape[:2])
        return segment(array, name, pre=list(pre), **given, **inputs)

    if kind == "histogram":
        marks = list(thresholds)
        # The histogram of the image the threshold is computed on: after the pre-steps.
        shown = array
        if methods:
            result = run(methods[0])
            info = result.info
            for key in ("threshold", "thresholds"):
                if key in info:
                    marks += list(np.atleast_1d(info[key]).astype(float))
            shown = result.image if pre and result.image is not None else array
        elif pre:
            from seglab._core.pipeline import Pipeline

            shown = Pipeline.build("otsu", pre=list(pre)).run_pre(array)
        plots.histogram_plot(shown, marks, path=out,
                             title=f"after pre-steps {', '.join(pre)}" if pre else "")
    elif kind == "overlay":
        if labels_path is not None:
            if step > 1 and str(labels_path).rstrip("/").endswith(".zarr"):
                labels = _reduced(labels_path, step)[0]
            else:
                labels = np.asarray(read(labels_path))
                labels = labels[::step, ::step] if step > 1 else labels
            if labels.ndim == 3 and labels.shape[-1] in (3, 4) and labels.shape[:2] == array.shape[:2]:
                labels = labels[..., 0]  # a mask or label picture saved as RGB(A)
            from seglab._core.errors import ShapeMismatchError
            from seglab._core.validation import check_labels

            # negative, fractional or NaN "labels" would be drawn as objects (nan != 0): refuse them
            labels = check_labels(labels, name="labels")
            if labels.shape != array.shape[:2]:
                raise ShapeMismatchError(f"`labels` has shape {labels.shape}; expected {array.shape[:2]}, the "
                                         "(rows, cols) of IMAGE")
            if step == 1 and max(labels.shape[:2]) > MAX_DISPLAY_SIDE:
                step = display_stride(labels.shape)
                array, labels = array[::step, ::step], labels[::step, ::step]
            if np.unique(labels).size <= 2:
                picture = ov.mask_overlay(array, labels != 0)
            else:
                picture = ov.label_overlay(array, labels, kind="overlay")
        elif methods:
            # On the original image, reduced above 4096 px a side.
            picture = ov.overlay_for(run(methods[0]), image=array, max_side=MAX_DISPLAY_SIDE)
            step = display_stride(array.shape)
        else:
            raise ParameterError("overlay needs --labels FILE or --method NAME")
        if step > 1:
            click.echo(f"seglab: note: drawn at 1/{step} size (the image is over {MAX_DISPLAY_SIDE} px a side)",
                       err=True)
        from seglab.viz.display import display_note

        click.echo(f"seglab: note: the image is {display_note(array)}", err=True)
        ov.save_png(picture, out)
    elif kind == "sobel":
        if methods:
            result = run(methods[0])
            magnitude = result.data
            orientation = result.extras.get("orientation")
            if orientation is None:
                raise ParameterError(f"method {methods[0]!r} gives no orientation; use sobel/scharr/prewitt or no "
                                     "--method")
        else:
            from skimage.color import rgb2gray
            from skimage.filters import sobel_h, sobel_v

            gray = rgb2gray(array) if array.ndim == 3 else array.astype(float)
            gh, gv = sobel_h(gray), sobel_v(gray)
            magnitude, orientation = np.hypot(gh, gv), np.arctan2(gh, gv)
        plots.sobel_panels(magnitude, orientation, path=out)
    elif kind == "panel":
        if not methods:
            raise ParameterError("panel needs at least one --method NAME")
        pictures = {"image": array}
        for name in methods:
            pictures[name] = ov.overlay_for(run(name))
        plots.panel(pictures, path=out)
    else:  # contour
        if contour is None:
            raise ParameterError("contour needs --contour ROW,COL,RADIUS (or a points JSON file)")
        from seglab.interactive.inputs import as_contour

        result = run(methods[0] if methods else "active_contour")
        final = result.extras.get("contour")
        if final is None:
            from skimage.measure import find_contours

            found = find_contours(result.data.astype(float), 0.5)
            final = max(found, key=len) if found else None
        plots.contour_plot(result.image, final, init=as_contour(contour), path=out)
    from seglab.io import apply_umask_mode

    apply_umask_mode(out)  # the plot writers' temporary files are created 0600; outputs follow the umask
    click.echo(out)


def _reduced(path, step=None):
    """Every k-th pixel of a zarr store (k chosen to keep 4096 px a side), read lazily; (array, k)."""
    import numpy as np

    from seglab.io import read
    from seglab.viz.display import display_stride

    lazy = read(path, lazy=True)
    if step is None:
        step = display_stride(lazy.shape)
    return np.asarray(lazy[::step, ::step]), step
