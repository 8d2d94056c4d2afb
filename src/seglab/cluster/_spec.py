"""Catalogue entries of the cluster family (k-means).

Imports only the registry: the functions behind the entries are imported on first call.
"""

from seglab._core.registry import MethodSpec, Param

SPECS = [
    MethodSpec(
        name="kmeans",
        family="cluster",
        target="seglab.cluster._kmeans:kmeans",
        output="labels",
        summary="K-means on pixel values (exact histogram optimum for 8-bit gray); labels 1..k dark to bright.",
        params=(
            Param("n_clusters", "int", 3, min=2, max=20, special=("auto",), tune=(2, 8),
                  help="Number of clusters k, or 'auto' (knee of the inertia curve over k_min..k_max)."),
            Param("k_min", "int", 2, min=2, max=20, tune=(),
                  help="Smallest k tried by n_clusters='auto'."),
            Param("k_max", "int", 8, min=2, max=20, tune=(),
                  help="Largest k tried by n_clusters='auto'."),
            # Not tuned: any weight > 0 leaves the exact histogram/distinct-colour paths for scikit-learn's KMeans
            # on every pixel, 1000x the default's time (seconds instead of milliseconds on 512 x 512).
            Param("position_weight", "float", 0.0, min=0.0, tune=(),
                  help="Weight of (row, col) coordinates appended to the features; 0 clusters values only."),
            Param("rng", "int", 0, min=0, max=2**32 - 1, tune=(), help="Random seed of the k-means++ starts."),
            Param("n_init", "int", 10, min=1, max=100, tune=(),
                  help="Seeded starts; the lowest inertia wins (unused by the exact gray path)."),
        ),
        dims=(2, 3),
        channels="any",
        tiling="none",  # the centres depend on every pixel of the image
        references=(
            "Lloyd (1982), Least squares quantization in PCM, doi:10.1109/TIT.1982.1056489",
            "Wang & Song (2011), Ckmeans.1d.dp: optimal k-means in one dimension, doi:10.32614/RJ-2011-015",
            "Arthur & Vassilvitskii (2007), k-means++, doi:10.1145/1283383.1283494",
            "Satopaa et al. (2011), Kneedle, doi:10.1109/ICDCSW.2011.20",
            "sklearn.cluster.KMeans",
        ),
    ),
]
