"""``seglab measure``: one CSV row per object of a label image (area, centroid, bbox, perimeter, intensity)."""

from __future__ import annotations

import click


def _load(path: str, name: str):
    import numpy as np

    from seglab.io import read

    data = read(path)
    if isinstance(data, tuple):  # (array, metadata) readers
        data = data[0]
    return np.asarray(data)


@click.command(name="measure")
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option("--image", "image_path", type=click.Path(dir_okay=False), default=None,
              help="Intensity image for the mean/min/max intensity columns.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV file to write (written atomically).")
@click.option("--properties", default=None,
              help="Comma-separated column groups (area,centroid,bbox,perimeter,eccentricity,"
                   "equivalent_diameter,intensity); default: all.")
def command(labels, image_path, out_path, properties):
    """Measure the objects of the label image LABELS and write a CSV table."""
    from seglab.instance import PROPERTIES, measure, write_csv

    label_array = _load(labels, "labels")
    image = _load(image_path, "image") if image_path else None
    groups = PROPERTIES if properties is None else tuple(p.strip() for p in properties.split(",") if p.strip())
    table = measure(label_array, image, properties=groups)
    written = write_csv(table, out_path)
    from seglab.io import apply_umask_mode

    apply_umask_mode(written)  # write_csv's temporary file is created 0600; outputs follow the umask
    count = len(table["label"])
    click.echo(f"{count} objects -> {written}")
