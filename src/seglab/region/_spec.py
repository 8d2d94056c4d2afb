"""Catalogue entries of the region family (watershed, region growing, connected components).

Imports only the registry: the functions behind the entries are imported on first call.
"""

from seglab._core.registry import MethodSpec, Param


def _sobel_halo(params):
    # Sobel needs one pixel; flooding is global (a basin can span the whole image), so tiling is "none".
    return 1


SPECS = [
    MethodSpec(
        name="watershed",
        family="region",
        target="seglab.region._watershed:watershed",
        output="labels",
        summary="Marker-controlled watershed on the Sobel gradient (markers given or from intensity bands).",
        params=(
            Param("low", "float", None, nullable=True,
                  help="Marker 1 where image < low (needs `high`); None: use `markers` or the gradient's minima."),
            Param("high", "float", None, nullable=True,
                  help="Marker 2 where image > high (needs `low`)."),
            Param("compactness", "float", 0.0, min=0.0, tune=(0.0, 1.0),
                  help="Compact watershed weight; 0 is the classic watershed."),
            Param("watershed_line", "bool", False, help="Keep one-pixel lines (label 0) between regions."),
            Param("backend", "str", "skimage", choices=("skimage", "opencv"), tune=(),
                  help="'skimage' (exact reference) or 'opencv' (cv2.watershed: faster, 2-D, differs on ties)."),
        ),
        dims=(2, 3),
        channels="gray",
        optional_inputs=("markers",),
        halo=_sobel_halo,
        tiling="none",
        references=(
            "Beucher & Meyer (1993), The morphological approach to segmentation: the watershed transformation",
            "Neubert & Protzel (2014), Compact watershed, doi:10.1109/ICPR.2014.181",
            "skimage.segmentation.watershed",
        ),
    ),
    MethodSpec(
        name="watershed_distance",
        family="region",
        target="seglab.region._watershed:watershed_distance",
        output="labels",
        summary="OpenCV tutorial recipe: Otsu, opening, distance transform, sure fg/bg markers, cv2.watershed.",
        params=(
            Param("invert", "bool", False,
                  help="Objects darker than the background (THRESH_BINARY_INV, as in the OpenCV tutorial)."),
            Param("opening_iterations", "int", 2, min=0, max=50, help="3x3 openings removing noise from the mask."),
            Param("dilate_iterations", "int", 3, min=0, max=50, help="3x3 dilations giving the sure background."),
            Param("dist_mask_size", "int", 5, choices=(0, 3, 5),
                  help="cv2.distanceTransform mask size (L2); 0 is the exact (precise) transform."),
            Param("fg_fraction", "float", 0.25, min=0.0, max=1.0, tune=(0.1, 0.9),
                  help="Sure foreground where distance > fg_fraction * max distance (OpenCV's tutorial: 0.7)."),
            Param("fill_holes", "bool", True,
                  help="Fill holes of the opened mask before the distance transform (tutorial: no)."),
        ),
        dims=(2,),
        channels="gray",
        tiling="none",
        references=(
            "OpenCV tutorial 'Image Segmentation with Watershed Algorithm' (py_watershed)",
            "Meyer (1992), Color image segmentation, ICIP; cv2.watershed",
        ),
    ),
    MethodSpec(
        name="region_growing",
        family="region",
        target="seglab.region._grow:region_growing",
        output="labels",
        summary="Flood fill from seeds: connected pixels within `tolerance` of the seed values.",
        params=(
            Param("tolerance", "float", None, nullable=True, min=0.0, tune=(0.0, 64.0),
                  help="Accept |value - seed value| <= tolerance; None: only the seed value itself."),
            Param("connectivity", "int", None, nullable=True, min=1, max=3, tune=(1, 2),
                  # Tuned over 1..2: 3 is accepted by volumes only, so on 2-D images a tuner's 3 would fail.
                  help="Neighbourhood (1: faces; ndim: full); None: full connectivity as skimage.flood."),
        ),
        dims=(2, 3),
        channels="gray",
        inputs=("seeds",),
        tiling="none",
        references=("Adams & Bischof (1994), Seeded region growing, doi:10.1109/34.295913",
                    "skimage.segmentation.flood"),
    ),
    MethodSpec(
        name="connected_components",
        family="region",
        target="seglab.region._grow:connected_components",
        output="labels",
        summary="Label connected pixels that differ from `background` (skimage.measure.label).",
        params=(
            Param("connectivity", "int", None, nullable=True, min=1, max=3, tune=(1, 2),
                  # Tuned over 1..2: 3 is accepted by volumes only, so on 2-D images a tuner's 3 would fail.
                  help="1: faces only; ndim (None): full connectivity, as skimage.measure.label."),
            Param("background", "float", 0.0, help="Pixel value treated as background."),
        ),
        dims=(2, 3),
        channels="gray",
        tiling="local",  # halo 0: the tiler's label stitching merges objects across tile faces exactly
        labels_by="components",
        references=("Wu, Otoo & Suzuki (2009), Optimizing two-pass connected-component labeling, "
                    "doi:10.1007/s10044-008-0109-y", "skimage.measure.label"),
    ),
]
