"""Registry entries of the threshold family (imports only the registry)."""

from __future__ import annotations

from seglab._core.registry import MethodSpec, Param

_MOD = "seglab.threshold"
_STAT = "seglab.threshold._common:statistic_from_histogram"
_APPLY = "seglab.threshold._common:apply_statistic"
_INVERT = Param("invert", "bool", False, help="foreground is the dark side (image <= t) instead of image > t")
_DIMS = (2, 3)


def _global(name, summary, references, params=(), output="mask", histogram=None):
    return MethodSpec(
        name=name, family="threshold", target=f"{_MOD}._global:{name}", output=output, summary=summary,
        params=(*params, _INVERT), dims=_DIMS, channels="gray", tiling="global", stat_target=_STAT, apply_target=_APPLY,
        histogram=histogram, references=references,
    )


def _never(params) -> bool:
    return False  # `manual` only compares: it counts no histogram


def _otsu_derives_a_level(params) -> bool:
    # hysteresis derives a missing `low` or `high` from Otsu's threshold, which counts a histogram
    return params.get("low") is None or params.get("high") is None


def _window_halo(params) -> int:
    return int(params["window_size"]) // 2 + 1


def _local_halo(params) -> int:
    # Mirrors seglab.threshold._local.local_halo without importing the implementation.
    block_size = int(params["block_size"])
    if params.get("method", "gaussian") == "gaussian":
        return max(int(4.0 * (block_size - 1) / 6.0 + 0.5), block_size // 2) + 1
    return block_size // 2 + 1


SPECS = [
    _global("manual", "Fixed threshold: image > threshold", ("skimage: image > t",),
            (Param("threshold", "float", 128.0, help="intensity in the image's units (default: middle of uint8)"),),
            histogram=_never),
    _global("otsu", "Otsu: maximal between-class variance", ("doi:10.1109/TSMC.1979.4310076",
                                                            "skimage.filters.threshold_otsu")),
    _global("multi_otsu", "Multi-level Otsu: labels 0 (darkest class) .. classes-1",
            ("Liao et al. 2001, J. Inf. Sci. Eng. 17(5)", "skimage.filters.threshold_multiotsu"),
            # Tuned up to 4: the exact search (scikit-image's) tries every threshold combination, ~nbins**(classes-1)
            # / (classes-1)!: 5 classes of an 8-bit image take ~20 s where 3 take ~1 ms (benchmarks/SWEEP.md).
            (Param("classes", "int", 3, min=2, max=5, tune=(2, 4), help="number of intensity classes"),),
            output="labels"),
    _global("li", "Li: iterative minimum cross-entropy", ("doi:10.1016/S0167-8655(98)00057-9",
                                                         "skimage.filters.threshold_li")),
    _global("yen", "Yen: maximum correlation criterion", ("doi:10.1109/83.366472", "skimage.filters.threshold_yen")),
    _global("triangle", "Triangle method (Zack et al.)", ("doi:10.1177/25.7.70454",
                                                          "skimage.filters.threshold_triangle")),
    _global("isodata", "ISODATA / Ridler-Calvard", ("doi:10.1109/TSMC.1978.4310039",
                                                    "skimage.filters.threshold_isodata")),
    _global("mean", "Mean intensity", ("doi:10.1006/cgip.1993.1040", "skimage.filters.threshold_mean")),
    _global("minimum", "Valley between the two histogram peaks", ("doi:10.1006/cgip.1993.1040",
                                                                 "skimage.filters.threshold_minimum")),
    MethodSpec(
        name="local", family="threshold", target=f"{_MOD}._local:local", output="mask",
        summary="Local threshold: neighbourhood Gaussian/mean/median minus offset",
        params=(
            Param("block_size", "int", 35, min=3, max=10001, odd=True, tune=(3, 151), help="odd neighbourhood size"),
            Param("method", "str", "gaussian", choices=("gaussian", "mean", "median"), help="local statistic"),
            Param("offset", "float", 0.0, tune=(-40.0, 40.0),
                  help="subtracted from the local statistic (tuner range assumes 8-bit intensities)"),
            Param("mode", "str", "reflect", choices=("reflect", "constant", "nearest", "mirror", "wrap"),
                  help="border handling", tune=()),
            _INVERT,
        ),
        dims=_DIMS, channels="gray", halo=_local_halo, tiling="local",
        references=("skimage.filters.threshold_local",),
    ),
    MethodSpec(
        name="niblack", family="threshold", target=f"{_MOD}._local:niblack", output="mask",
        summary="Niblack: local mean - k * local std",
        params=(
            Param("window_size", "int", 15, min=3, max=10001, odd=True, tune=(3, 101), help="odd window size"),
            Param("k", "float", 0.2, min=-5.0, max=5.0, tune=(-0.5, 0.5), help="weight of the local std"),
            _INVERT,
        ),
        dims=_DIMS, channels="gray", halo=_window_halo, tiling="local",
        references=("Niblack 1986, An Introduction to Digital Image Processing", "skimage.filters.threshold_niblack"),
    ),
    MethodSpec(
        name="sauvola", family="threshold", target=f"{_MOD}._local:sauvola", output="mask",
        summary="Sauvola: local mean * (1 + k * (std / r - 1))",
        params=(
            Param("window_size", "int", 15, min=3, max=10001, odd=True, tune=(3, 101), help="odd window size"),
            Param("k", "float", 0.2, min=0.0, max=5.0, tune=(0.05, 0.5), help="weight of the normalised std"),
            Param("r", "float", None, nullable=True, min=0.0, tune=(),
                  help="dynamic range of the std (None: half the dtype range)"),
            _INVERT,
        ),
        dims=_DIMS, channels="gray", halo=_window_halo, tiling="local",
        references=("doi:10.1016/S0031-3203(99)00055-2", "skimage.filters.threshold_sauvola"),
    ),
    MethodSpec(
        name="hysteresis", family="threshold", target=f"{_MOD}._local:hysteresis", output="mask",
        summary="Hysteresis: regions above `low` holding a pixel above `high`",
        params=(
            Param("low", "float", None, nullable=True, tune=(),
                  help="loose level (absolute intensity; None: derived from Otsu)"),
            Param("high", "float", None, nullable=True, tune=(),
                  help="strict level (absolute intensity; None: derived from Otsu)"),
            _INVERT,
        ),
        dims=_DIMS, channels="gray", tiling="none", histogram=_otsu_derives_a_level,
        references=("doi:10.1109/TPAMI.1986.4767851", "skimage.filters.apply_hysteresis_threshold"),
    ),
]
