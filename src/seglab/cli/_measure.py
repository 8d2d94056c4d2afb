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
@click.argument("labels", type=click.Path())
@click.option("--image", "image_path", type=click.Path(), default=None,
              help="Intensity image for the mean/min/max intensity columns.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV file to write (written atomically).")
@click.option("--properties", default=None,
              help="Comma-separated column groups (area,centroid,bbox,perimeter,eccentricity,"
                   "equivalent_diameter,intensity); default: all.")
@click.option("--pixel-size", type=float, default=None,
              help="Pixel side in --unit (e.g. 0.65): adds area_um2, perimeter_um, ... columns. "
                   "Default: read from the TIFF/OME-TIFF resolution of LABELS or --image when present.")
@click.option("--unit", default="um", show_default=True, help="Unit of --pixel-size (um, nm, mm).")
def command(labels, image_path, out_path, properties, pixel_size, unit):
    """Measure the objects of LABELS and write a CSV table (one row per object).

    
    LABELS is a label image (0 = background), e.g. a seglab .labels.tif, or a zarr
    store from seglab tile. A binary mask (0/255) is split into its connected
    components (4-connected), with a note. A gray image is refused: segment it first.
    Physical columns (area_um2, perimeter_um, ...) come from --pixel-size, or from the
    file's TIFF/OME resolution when it states one.
    """
    from seglab.instance import PROPERTIES, labels_for_measure, measure, pixel_size_from_file, write_csv

    label_array, note = labels_for_measure(_load(labels, "labels"))
    if note:
        click.echo(f"seglab: note: {labels}: {note}", err=True)
    image = _load(image_path, "image") if image_path else None
    groups = PROPERTIES if properties is None else tuple(p.strip() for p in properties.split(",") if p.strip())
    if pixel_size is None:
        found = pixel_size_from_file(labels) or (pixel_size_from_file(image_path) if image_path else None)
        if found is not None:
            pixel_size, unit = found
            click.echo(f"seglab: note: pixel size {pixel_size:.6g} {unit} from the file's resolution "
                       "(--pixel-size overrides it)", err=True)
    table = measure(label_array, image, properties=groups, pixel_size=pixel_size, unit=unit)
    written = write_csv(table, out_path)
    from seglab.io import apply_umask_mode

    apply_umask_mode(written)  # write_csv's temporary file is created 0600; outputs follow the umask
    count = len(table["label"])
    click.echo(f"{count} objects -> {written}")
