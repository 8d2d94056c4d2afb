# Public names of ``seglab.viz``: read by type checkers, and by ``lazy_loader.attach_stub`` in ``__init__.py``, which
# imports each module below on first access to one of its names (see ``seglab/__init__.pyi``).
from .confusion import confusion_legend, confusion_overlay
from .elbow import elbow_plot
from .overlay import (
    contour_overlay,
    edges_image,
    label_overlay,
    mask_overlay,
    overlay_for,
    save_figure,
    save_png,
    to_uint8,
)
from .plots import contour_plot, histogram_plot, panel, sobel_panels
from .report import figure_data_uri, html_page

__all__ = [
    "confusion_legend",
    "confusion_overlay",
    "contour_overlay",
    "contour_plot",
    "edges_image",
    "elbow_plot",
    "figure_data_uri",
    "html_page",
    "histogram_plot",
    "label_overlay",
    "mask_overlay",
    "overlay_for",
    "panel",
    "save_figure",
    "save_png",
    "sobel_panels",
    "to_uint8",
]
