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
    histogram  intensity histogram; --threshold T (repeatable) or a --method's threshold(s) as lines
    overlay    --labels FILE, or a --method's result, over the image
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

    array = read(image)
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
        if methods:
            info = run(methods[0]).info
            for key in ("threshold", "thresholds"):
                if key in info:
                    marks += list(np.atleast_1d(info[key]).astype(float))
        plots.histogram_plot(array, marks, path=out)
    elif kind == "overlay":
        if labels_path is not None:
            labels = np.asarray(read(labels_path))
            if labels.ndim == 3:
                labels = labels[..., 0]
            if np.unique(labels).size <= 2:
                picture = ov.mask_overlay(array, labels != 0)
            else:
                picture = ov.label_overlay(array, labels, kind="overlay")
        elif methods:
            picture = ov.overlay_for(run(methods[0]))
        else:
            raise ParameterError("overlay needs --labels FILE or --method NAME")
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
    from seglab.io._write import apply_umask_mode

    apply_umask_mode(out)  # the plot writers' temporary files are created 0600; outputs follow the umask
    click.echo(out)
