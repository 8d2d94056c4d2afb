"""The chunk grid: core and padded regions of each tile, clipped to the image."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """Regular tiles of `chunks` over a spatial `shape` (the last ones may be smaller)."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]

    @property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(math.ceil(n / c) for n, c in zip(self.shape, self.chunks))

    def blocks(self):
        return list(itertools.product(*(range(n) for n in self.numblocks)))

    def linear(self, index) -> int:
        return int(np.ravel_multi_index(index, self.numblocks))

    def key(self, index) -> str:
        return ".".join(map(str, index))

    def core(self, index) -> tuple[slice, ...]:
        return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, self.chunks, self.shape))

    def size(self, index) -> int:
        """Pixels in the core of tile `index` (edge tiles are smaller: the work of a tile)."""
        return math.prod(s.stop - s.start for s in self.core(index))

    def padded(self, index, depth) -> tuple[tuple[slice, ...], tuple[tuple[int, int], ...]]:
        """Region read for a tile with `depth` per axis, clipped to the image, and the padding present."""
        slices, pads = [], []
        for s, d, n in zip(self.core(index), depth, self.shape):
            lo, hi = max(s.start - d, 0), min(s.stop + d, n)
            slices.append(slice(lo, hi))
            pads.append((s.start - lo, hi - s.stop))
        return tuple(slices), tuple(pads)

    def stride(self, ring) -> int:
        """An upper bound of local labels in a tile with its ring (provisional id spacing)."""
        return math.prod(c + 2 * r for c, r in zip(self.chunks, ring)) + 1
