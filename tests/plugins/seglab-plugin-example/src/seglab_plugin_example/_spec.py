"""The plugin's registry entries: imported by seglab through the ``seglab.methods`` entry point.

Like a built-in ``_spec.py``, it imports only seglab's public MethodSpec and Param.
"""

from seglab import MethodSpec, Param


def _halo(params):
    # the box reaches size // 2 pixels; one more keeps integer sums exact where a tile starts
    return int(params["size"]) // 2 + 1


SPECS = [
    MethodSpec(
        name="box_mean",
        family="example_plugin",
        target="seglab_plugin_example._box:box_mean_threshold",
        output="mask",
        summary="Pixels brighter than the mean of their size x size box plus an offset (test plugin).",
        params=(
            Param("size", "int", 15, min=3, max=255, odd=True, tune=(3, 61), help="odd box size"),
            Param("offset", "float", 0.0, min=-255.0, max=255.0, tune=(-20.0, 20.0),
                  help="added to the local mean"),
        ),
        dims=(2, 3),
        channels="gray",
        halo=_halo,
        tiling="local",
        references=("test plugin",),
    ),
]
