"""The network (MONAI's BasicUNet, 2-D), the torch settings that make it deterministic, and weights as arrays.

Only :mod:`seglab.deep` imports this module, so ``import seglab`` never imports torch.

Reference: Ronneberger, Fischer & Brox (2015), "U-Net: Convolutional networks for biomedical image
segmentation", doi:10.1007/978-3-319-24574-4_28; MONAI ``monai.networks.nets.BasicUNet``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from seglab._core.errors import MissingDependencyError, ParameterError

__all__ = ["torch_modules", "build_network", "state_to_arrays", "arrays_to_state", "resolve_device",
           "set_determinism", "DEFAULT_FEATURES", "STRIDE_MULTIPLE"]

#: Channels of BasicUNet's five levels and its last up-sampling block: half of the U-Net paper's widths at each
#: level, so about 4x fewer multiply-adds than (16, 32, 64, 128, 256, 16); 0.49 M parameters. On 2 shared CPU cores
#: it trains the RESULTS.md models in 7-11 minutes (benchmarks/quality/learned_unet.py); a wider network is an
#: option (``features=``) for a GPU or a longer budget.
DEFAULT_FEATURES = (8, 16, 32, 64, 128, 8)
#: BasicUNet halves the image four times: window sizes must be multiples of 16.
STRIDE_MULTIPLE = 16


def torch_modules():
    """Import torch and MONAI, or raise :class:`MissingDependencyError` with the install command."""
    import sys

    if "torch" not in sys.modules:
        # OpenMP threads that spin while waiting make torch 5-10x slower on a CPU shared with other work
        # (measured: one BasicUNet training step 20 s -> 2.5 s on 2 cores at load 14). Passive waiting costs
        # little on an idle machine. setdefault: a user's own OMP_WAIT_POLICY wins; it only takes effect if
        # torch is not imported yet.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import monai  # noqa: F401
        import torch
    except ImportError as error:  # pragma: no cover - the test environment has both
        raise MissingDependencyError(
            f"the U-Net needs torch and MONAI ({error.name} is missing); install them with "
            '`pip install "seglab[deep]"` (on a machine without a GPU, first `pip install torch '
            '--index-url https://download.pytorch.org/whl/cpu` to get the CPU build)'
        ) from None
    return torch


def resolve_device(device: str) -> str:
    """``'auto'`` -> ``'cuda'`` when a CUDA device is available, else ``'cpu'``; check the others."""
    torch = torch_modules()
    if device not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"`device` got {device!r}; expected 'auto', 'cpu' or 'cuda'")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("`device` is 'cuda' but torch sees no CUDA device; use device='cpu' or 'auto'")
    return device


def set_determinism(seed: int, device: str, threads: int | None) -> int:
    """Seed torch, ask for deterministic kernels and fix the thread count; return the thread count.

    Same seed, same machine and same thread count give the same weights: CPU reductions are split over
    threads, so a different count may round differently (PyTorch "Reproducibility" notes).
    """
    torch = torch_modules()
    if device == "cuda":
        # cuBLAS needs a fixed workspace for deterministic GEMMs (PyTorch reproducibility docs)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True)
    return int(torch.get_num_threads())


def build_network(config: dict[str, Any]):
    """Return the BasicUNet that `config` describes (``features``, ``in_channels``, ``out_channels``)."""
    torch_modules()
    from monai.networks.nets import BasicUNet

    return BasicUNet(spatial_dims=2, in_channels=int(config.get("in_channels", 1)),
                     out_channels=int(config["out_channels"]), features=tuple(config["features"]),
                     act=("LeakyReLU", {"negative_slope": 0.1, "inplace": True}), norm=_norm(config),
                     dropout=0.0)


def _norm(config: dict[str, Any]):
    """The normalisation layer a config names (models written before the key existed used BatchNorm)."""
    name = config.get("norm", "batch")
    if name == "batch":
        return ("batch", {})
    if name == "instance":
        return ("instance", {"affine": True})
    from seglab.learn import ModelError

    raise ModelError(f"config.json names norm {name!r}; this seglab builds 'batch' or 'instance'")


def state_to_arrays(module) -> dict[str, np.ndarray]:
    """The module's state dict as NumPy arrays (buffers included), for safetensors."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def arrays_to_state(module, arrays: dict[str, np.ndarray]) -> None:
    """Load `arrays` into `module`, refusing missing, unexpected or mis-shaped tensors with one clear error."""
    torch = torch_modules()
    from seglab.learn import ModelError

    expected = module.state_dict()
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"the weights do not fit the network in config.json: missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}; the model folder is damaged or mixes two models"
        )
    arrays = dict(arrays)
    for key, value in expected.items():
        if value.dim() == 0 and arrays[key].shape == (1,):
            # the model format stores scalars (BatchNorm's num_batches_tracked) as one-element arrays
            arrays[key] = arrays[key].reshape(())
        if tuple(arrays[key].shape) != tuple(value.shape):
            raise ModelError(f"weight {key!r} has shape {tuple(arrays[key].shape)}; the network in config.json "
                             f"needs {tuple(value.shape)}")
    module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in arrays.items()})
