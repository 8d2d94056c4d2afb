"""Catalogue entries of the edges family.

Imports only the registry: the functions behind the entries are imported on first call.
"""

import math

from seglab._core.registry import MethodSpec, Param


def _one(params):
    return 1


def _laplace_halo(params):
    return int(params["ksize"]) // 2


def _log_halo(params):
    # scipy.ndimage.gaussian_laplace truncates the Gaussian at 4 sigma.
    return int(math.ceil(4.0 * float(params["sigma"]))) + 1


def _canny_halo(params):
    # Smoothing (4 sigma) + Sobel (1) + non-maximum suppression (1); hysteresis links edges across
    # the whole image, so tiling is "none".
    return int(math.ceil(4.0 * float(params["sigma"]))) + 2


def _gradient_spec(name, smoothing, reference, doi):
    return MethodSpec(
        name=name,
        family="edges",
        target=f"seglab.edges._gradient:{name}",
        output="edges",
        summary=f"{name.capitalize()} gradient magnitude (== skimage.filters.{name}); orientation in extras.",
        params=(),
        dims=(2, 3),
        channels="gray",
        halo=_one,
        tiling="local",
        references=(f"{reference}, {doi}", f"skimage.filters.{name} (smoothing {smoothing}, reflect border)"),
    )


SPECS = [
    _gradient_spec("sobel", "[1, 2, 1]/4", "Kittler (1983), On the accuracy of the Sobel edge detector",
                   "doi:10.1016/0262-8856(83)90006-9"),
    _gradient_spec("scharr", "[3, 10, 3]/16", "Scharr (2000), Optimal operators in digital image processing",
                   "doi:10.11588/heidok.00000962"),
    _gradient_spec("prewitt", "[1, 1, 1]/3", "Prewitt (1970), Object enhancement and extraction",
                   "Picture Processing and Psychopictorics 75-149"),
    MethodSpec(
        name="laplace",
        family="edges",
        target="seglab.edges._gradient:laplace",
        output="edges",
        summary="Discrete Laplacian (== skimage.filters.laplace); signed, edges at zero-crossings.",
        params=(Param("ksize", "int", 3, min=3, max=31, odd=True, tune=(3, 7), help="Kernel size (odd)."),),
        dims=(2, 3),
        channels="gray",
        halo=_laplace_halo,
        tiling="local",
        references=("Marr & Hildreth (1980), Theory of edge detection, doi:10.1098/rspb.1980.0020",
                    "skimage.filters.laplace"),
    ),
    MethodSpec(
        name="log",
        family="edges",
        target="seglab.edges._gradient:log",
        output="edges",
        summary="Laplacian of Gaussian (== scipy.ndimage.gaussian_laplace on img_as_float); signed.",
        params=(Param("sigma", "float", 2.0, min=0.01, max=100.0, log=True, tune=(0.5, 8.0),
                      help="Gaussian standard deviation in pixels."),),
        dims=(2, 3),
        channels="gray",
        halo=_log_halo,
        tiling="local",
        references=("Marr & Hildreth (1980), Theory of edge detection, doi:10.1098/rspb.1980.0020",
                    "scipy.ndimage.gaussian_laplace"),
    ),
    MethodSpec(
        name="canny",
        family="edges",
        target="seglab.edges._canny:canny",
        output="mask",
        summary="Canny edge pixels (bool); scale='skimage' == skimage.feature.canny, 'opencv' == cv2.Canny.",
        params=(
            Param("sigma", "float", 1.0, min=0.0, max=50.0, tune=(0.5, 4.0),
                  help="Gaussian sigma (opencv scale: GaussianBlur before cv2.Canny; 0 = none)."),
            Param("low_threshold", "float", None, nullable=True, min=0.0,
                  help="Low hysteresis threshold (skimage: image float range; opencv: 0-255 Sobel scale)."),
            Param("high_threshold", "float", None, nullable=True, min=0.0,
                  help="High hysteresis threshold (same scale as low_threshold)."),
            Param("scale", "str", "skimage", choices=("skimage", "opencv"), tune=(),
                  help="Threshold semantics: 'skimage' (skimage.feature.canny) or 'opencv' (cv2.Canny, uint8)."),
            Param("use_quantiles", "bool", False, tune=(),
                  help="skimage only: thresholds are quantiles of the gradient magnitude."),
            Param("l2gradient", "bool", False, tune=(),
                  help="opencv only: cv2.Canny L2gradient (exact magnitude instead of |gx|+|gy|)."),
        ),
        dims=(2,),
        channels="gray",
        halo=_canny_halo,
        tiling="none",  # hysteresis follows edges across the whole image
        references=("Canny (1986), A computational approach to edge detection, doi:10.1109/TPAMI.1986.4767851",
                    "skimage.feature.canny", "cv2.Canny"),
    ),
    MethodSpec(
        name="edge_fill",
        family="edges",
        target="seglab.edges._canny:edge_fill",
        output="labels",
        summary="Canny, close gaps, fill enclosed regions, drop small objects, label (skimage coins recipe).",
        params=(
            Param("sigma", "float", 1.0, min=0.0, max=50.0, tune=(0.5, 4.0), help="Canny Gaussian sigma."),
            Param("low_threshold", "float", None, nullable=True, min=0.0,
                  help="Canny low threshold (skimage semantics); None: 10% of the dtype maximum."),
            Param("high_threshold", "float", None, nullable=True, min=0.0,
                  help="Canny high threshold (skimage semantics); None: 20% of the dtype maximum."),
            Param("closing_radius", "int", 0, min=0, max=20, tune=(0, 3),
                  help="Disk radius closing gaps in the edge map before filling; 0 = tutorial (none)."),
            Param("min_size", "int", 21, min=0, tune=(0, 500),
                  help="Filled objects with fewer pixels are removed (the tutorial's 21)."),
        ),
        dims=(2,),
        channels="gray",
        tiling="none",  # hole filling depends on the whole outline
        references=("Canny (1986), doi:10.1109/TPAMI.1986.4767851",
                    "scikit-image gallery: Comparing edge-based and region-based segmentation"),
    ),
]
