"""Catalogue entries of the superpixel family (SLIC, Felzenszwalb, quickshift, RAG merging).

Superpixel outputs use labels 1..n (no background). Imports only the registry.
"""

from seglab._core.registry import MethodSpec, Param

SPECS = [
    MethodSpec(
        name="slic",
        family="superpixel",
        target="seglab.superpixel._superpixel:slic",
        output="labels",
        summary="SLIC superpixels: k-means in (colour, position) space (skimage.segmentation.slic).",
        params=(
            Param("n_segments", "int", 100, min=1, max=10**7, tune=(20, 2000), log=True,
                  help="Approximate number of superpixels."),
            Param("compactness", "float", 10.0, min=0.0, tune=(0.01, 100.0), log=True,
                  help="Colour vs space weight: higher gives squarer superpixels."),
            Param("max_num_iter", "int", 10, min=1, max=1000, tune=(), help="k-means iterations."),
            Param("sigma", "float", 0.0, min=0.0, tune=(0.0, 3.0), help="Gaussian pre-smoothing (pixels)."),
            Param("convert2lab", "bool", None, nullable=True, tune=(),
                  help="Cluster in CIELAB; None: yes for RGB input (skimage default)."),
            Param("enforce_connectivity", "bool", True, help="Make every superpixel one connected piece."),
            Param("min_size_factor", "float", 0.5, min=0.0, tune=(), help="Smallest segment, fraction of the mean."),
            Param("max_size_factor", "float", 3.0, min=0.0, tune=(), help="Largest segment, factor of the mean."),
            Param("slic_zero", "bool", False, help="SLIC-zero: adaptive compactness."),
            Param("start_label", "int", 1, choices=(0, 1), tune=(),
                  help="First label; 1 keeps 0 free for background (seglab convention)."),
        ),
        dims=(2, 3),
        channels="any",
        tiling="none",
        references=("Achanta et al. (2012), SLIC superpixels, doi:10.1109/TPAMI.2012.120",
                    "skimage.segmentation.slic"),
    ),
    MethodSpec(
        name="felzenszwalb",
        family="superpixel",
        target="seglab.superpixel._superpixel:felzenszwalb",
        output="labels",
        summary="Felzenszwalb-Huttenlocher graph segmentation (skimage), labels 1..n.",
        params=(
            Param("scale", "float", 1.0, min=0.0, tune=(1.0, 1000.0), log=True,
                  help="Higher means larger segments."),
            Param("sigma", "float", 0.8, min=0.0, tune=(0.0, 2.0), help="Gaussian pre-smoothing (pixels)."),
            Param("min_size", "int", 20, min=0, tune=(5, 500), log=True, help="Smallest segment (pixels)."),
        ),
        dims=(2,),
        channels="any",
        tiling="none",
        references=("Felzenszwalb & Huttenlocher (2004), Efficient graph-based image segmentation, "
                    "doi:10.1023/B:VISI.0000022288.19776.77", "skimage.segmentation.felzenszwalb"),
    ),
    MethodSpec(
        name="quickshift",
        family="superpixel",
        target="seglab.superpixel._superpixel:quickshift",
        output="labels",
        summary="Quickshift mode seeking in (colour, position) space (skimage), labels 1..n.",
        params=(
            Param("ratio", "float", 1.0, min=0.0, max=1.0, help="Colour vs space weight, in [0, 1]."),
            Param("kernel_size", "float", 5.0, min=0.0, max=1000.0, tune=(1.0, 7.0),
                  # Tuned up to 7: the cost grows with kernel_size**2 (10 is 4x the default's, minutes/megapixel).
                  help="Gaussian kernel width of the density."),
            Param("max_dist", "float", 10.0, min=0.0, tune=(2.0, 40.0), help="Cut-off distance of the tree."),
            Param("sigma", "float", 0.0, min=0.0, tune=(0.0, 3.0), help="Gaussian pre-smoothing (pixels)."),
            Param("convert2lab", "bool", True, tune=(), help="Work in CIELAB."),
            Param("rng", "int", 42, min=0, max=2**32 - 1, tune=(), help="Seed breaking density ties."),
        ),
        dims=(2,),
        channels="color",
        tiling="none",
        references=("Vedaldi & Soatto (2008), Quick shift and kernel methods for mode seeking, "
                    "doi:10.1007/978-3-540-88693-8_52", "skimage.segmentation.quickshift"),
    ),
    MethodSpec(
        name="rag_merge",
        family="superpixel",
        kind="post",
        target="seglab.superpixel._rag:rag_merge",
        output="labels",
        accepts=("labels",),
        inputs=("image",),
        summary="Merge regions of similar mean colour on a region adjacency graph (threshold cut or hierarchical).",
        params=(
            Param("mode", "str", "threshold", choices=("threshold", "hierarchical"),
                  help="'threshold': skimage.graph.cut_threshold; 'hierarchical': merge_hierarchical."),
            Param("thresh", "float", 29.0, min=0.0, tune=(1.0, 100.0),
                  help="Colour distance below which neighbours merge (tutorials: 29 threshold, 35 hierarchical)."),
            Param("connectivity", "int", 2, min=1, max=2, tune=(), help="Pixel adjacency defining region neighbours."),
        ),
        dims=(2, 3),
        channels="any",
        tiling="none",
        references=("Tremeau & Colantoni (2000), Regions adjacency graph applied to color image segmentation, "
                    "doi:10.1109/83.841950", "skimage.graph.rag_mean_color"),
    ),
]
