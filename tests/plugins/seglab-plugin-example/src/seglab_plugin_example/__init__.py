"""A third-party method family for seglab, as a plugin author would write it (used by seglab's tests)."""

from ._box import box_mean_threshold

__all__ = ["box_mean_threshold"]
