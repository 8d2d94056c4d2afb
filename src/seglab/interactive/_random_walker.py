"""Random walker segmentation from seeds (Grady 2006), with an algebraic-multigrid fast path.

The graph, its weights ``w_ij = exp(-beta * |g_ij|**2 / (10 * std(image)))`` (plus
``1e-10``) and the linear system ``A x = b`` are exactly those of
:func:`skimage.segmentation.random_walker`. For scikit-image's own solver modes
(``'cg'``, ``'cg_j'``, ``'cg_mg'``, ``'bf'``) seglab calls scikit-image, so the
result is identical. ``mode='amg'`` builds the same system here and solves it
with a smoothed-aggregation AMG preconditioned conjugate gradient (pyamg's
building blocks; the hierarchy is assembled in CSR, see ``_sa_hierarchy``)
converged to a *stated* relative residual ``||b - A x|| / ||b|| <= tol``
(default ``1e-5``), so it agrees with the exact (``'bf'``) solution where
scikit-image's iterative modes, which stop at ``1e-3``, do not (large `beta`).

References
----------
.. [1] Leo Grady, "Random walks for image segmentation", IEEE Trans. Pattern
   Anal. Mach. Intell. 28(11):1768-1783, 2006. :DOI:`10.1109/TPAMI.2006.233`
.. [2] N. Bell, L. N. Olson, J. Schroder, "PyAMG: Algebraic multigrid solvers
   in Python", JOSS 7(72):4142, 2022. :DOI:`10.21105/joss.04142`
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seglab._core.errors import (
    MissingDependencyError,
    ParameterError,
    SeglabWarning,
)
from seglab._core.registry import validated
from seglab._core.validation import check_image, check_labels, check_same_shape

__all__ = ["random_walker", "MODES", "AMG_TOL"]

MODES = ("amg", "bf", "cg", "cg_j", "cg_mg")
SKIMAGE_TOL = 1e-3
AMG_TOL = 1e-5
_EPS = 1e-10


@validated
def random_walker(image: ArrayLike, *, seeds: ArrayLike, beta: float = 130.0, mode: str = "bf",
                  tol: float | None = None, amg_maxiter: int = 500) -> tuple[NDArray[np.integer[Any]], dict[str, Any]]:
    """Segment an image from seed labels with the random walker algorithm.

    Parameters
    ----------
    image : (M, N[, P][, 3]) ndarray
        Gray or RGB image (channels last). Intensities are scaled as
        :func:`skimage.util.img_as_float` does (uint8 -> [0, 1]).
    seeds : (M, N[, P]) ndarray of int
        Seed labels: 0 = unlabelled, 1, 2, ... = classes (at least one).
    beta : float
        Edge penalty: larger values make diffusion across edges harder.
    mode : {'bf', 'amg', 'cg', 'cg_j', 'cg_mg'}
        Linear solver. ``'bf'`` (default): scikit-image's exact sparse LU
        solution. ``'amg'``: smoothed-aggregation AMG-preconditioned CG on the
        same system, converged to relative residual `tol` (needs pyamg:
        ``pip install "seglab[fast]"``). ``'cg'``, ``'cg_j'``, ``'cg_mg'`` call
        :func:`skimage.segmentation.random_walker` with that mode; they stop at
        relative residual ``1e-3`` and at large `beta` (3000) disagree with the
        exact solution on a few per cent of pixels, which is why they are not
        the default (scikit-image's default is ``'cg_j'``).
    tol : float, optional
        Relative residual the solver stops at. ``None``: ``1e-5`` for
        ``'amg'`` (agrees with ``'bf'`` on >= 99.9 % of pixels of camera at
        beta=3000), scikit-image's ``1e-3`` for its CG modes (ignored by ``'bf'``).
    amg_maxiter : int
        Most AMG-CG iterations per class; not reaching `tol` within them raises
        a :class:`~seglab.SeglabWarning` (never a silent early stop).

    Returns
    -------
    labels : (M, N[, P]) ndarray of int32
        Every pixel's class. Classes keep the seed values the user gave
        (scikit-image renumbers them 1..n; for seeds 1..n both are identical).
        ``seglab.segment(image, "random_walker").info`` holds the values it chose: ``mode``, ``tol``
        and, for ``'amg'``, ``iterations`` and the final ``residual`` per class.

    Raises
    ------
    ParameterError
        No seed, seeds of another shape, bad `mode` or `tol`.
    MissingDependencyError
        ``mode='amg'`` without pyamg.

    Notes
    -----
    With two classes the AMG path solves one system and sets the second
    probability to ``1 - p1`` (the probabilities of the exact solution sum to 1).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20)); image[:, 10:] = 1
    >>> seeds = np.zeros((20, 20), np.int32); seeds[10, 2] = 1; seeds[10, 17] = 2
    >>> labels = random_walker(image, seeds=seeds, beta=130, mode="bf")
    >>> int((labels[:, :10] == 1).all()), int((labels[:, 10:] == 2).all())
    (1, 1)
    """
    array, image_info = check_image(image)
    labels_in = check_labels(seeds, name="seeds")
    check_same_shape(np.empty(image_info.spatial_shape, dtype=bool), labels_in,
                     reference_name="image (without channels)", other_name="seeds")
    if mode not in MODES:
        from seglab._core.errors import close_matches_hint

        raise ParameterError(f"`mode` got {mode!r}; expected one of {', '.join(map(repr, MODES))}."
                             + close_matches_hint(str(mode), MODES))
    if not np.isfinite(beta) or beta <= 0:
        raise ParameterError(f"`beta` got {beta!r}; expected a positive number (130 is scikit-image's default)")
    if tol is None:
        tol = AMG_TOL if mode == "amg" else SKIMAGE_TOL
    if not (0 < tol < 1):
        raise ParameterError(f"`tol` got {tol!r}; expected a relative residual in (0, 1), e.g. 1e-5")
    values = np.unique(labels_in)
    classes = values[values > 0]
    if classes.size == 0:
        raise ParameterError("`seeds` has no seed: label at least one pixel with a class 1, 2, ... (0 = unlabelled)")
    channel_axis = -1 if image_info.is_color else None
    info = {"mode": mode, "tol": float(tol) if mode != "bf" else None, "classes": classes.tolist()}
    if not (labels_in == 0).any():
        # Nothing to segment: every pixel is a seed (scikit-image returns them with a warning).
        return labels_in.astype(np.int32), info
    if mode != "amg":
        from skimage.segmentation import random_walker as sk_random_walker

        out = sk_random_walker(array, labels_in, beta=beta, mode=mode, tol=tol, channel_axis=channel_axis)
        # scikit-image numbers classes 1..n in order of seed value; map back to the seed values.
        return classes.astype(np.int32)[np.asarray(out) - 1] if classes[-1] != classes.size else \
            np.asarray(out, dtype=np.int32), info

    try:
        import pyamg
    except ImportError:
        raise MissingDependencyError(
            "random_walker mode='amg' needs pyamg: pip install \"seglab[fast]\" (or pass mode='bf' for the "
            "exact direct solver, or mode='cg_j')"
        ) from None
    from skimage.util import img_as_float

    data = img_as_float(array)
    if not image_info.is_color:
        data = data[..., np.newaxis]
    A, rhs, unlabelled = _linear_system(data, labels_in, classes, beta, multichannel=image_info.is_color)
    # Symmetric diagonal scaling D^-1/2 A D^-1/2 and a strength threshold keep aggregates from crossing the
    # near-zero edges that a large beta creates (high-contrast coefficients stall plain smoothed aggregation).
    # The scaled system's near-null space is sqrt(diag A) (A's is the constant): handing it to the aggregation
    # halves the iterations (16 -> 8 on camera 1024x1024, beta=3000).
    diagonal = A.diagonal()
    scale = 1.0 / np.sqrt(diagonal)
    A_scaled = A.copy()
    A_scaled.data *= np.repeat(scale, np.diff(A.indptr)) * scale[A.indices]
    ml = _sa_hierarchy(pyamg, A_scaled, np.sqrt(diagonal)[:, np.newaxis])
    n_solve = classes.size - 1 if classes.size == 2 else classes.size
    probs = np.empty((classes.size, A.shape[0]))
    iterations, residuals_out = [], []
    for k in range(n_solve):
        b = rhs[:, k]
        norm_b = float(np.linalg.norm(b))
        if norm_b == 0.0:
            probs[k] = 0.0
            iterations.append(0)
            residuals_out.append(0.0)
            continue
        # Stop on the residual of the *original* system: ||b - A x|| / ||b|| <= tol.
        state = {"it": 0, "done": False}

        class _Converged(Exception):
            pass

        def check(xk):
            state["it"] += 1
            if state["it"] % 2 == 0:
                x_try = scale * xk
                if np.linalg.norm(b - A @ x_try) <= tol * norm_b:
                    state["x"] = x_try
                    raise _Converged

        try:
            y = ml.solve(scale * b, tol=1e-300, maxiter=amg_maxiter, accel="cg", callback=check)
            x = scale * y
        except _Converged:
            x = state["x"]
        residual = float(np.linalg.norm(b - A @ x)) / norm_b
        iterations.append(state["it"])
        residuals_out.append(residual)
        if residual > tol:
            warnings.warn(
                f"random_walker mode='amg': class {classes[k]} reached relative residual {residual:.2e} after "
                f"{amg_maxiter} iterations, above tol={tol:g}; raise `amg_maxiter` or lower `beta`",
                SeglabWarning, stacklevel=2,
            )
        probs[k] = x
    if classes.size == 2:
        probs[1] = 1.0 - probs[0]
    out = labels_in.astype(np.int32).ravel()
    out[unlabelled] = classes.astype(np.int32)[np.argmax(probs, axis=0)]
    info.update(iterations=iterations, residual=residuals_out)
    return out.reshape(labels_in.shape), info


def _sa_hierarchy(pyamg, A, B, *, theta=0.1, max_coarse=500, omega=4.0 / 3.0):
    """Smoothed-aggregation hierarchy of the SPD matrix `A` (CSR) with near-null space `B`, kept in CSR.

    The steps are pyamg's ``smoothed_aggregation_solver`` with ``strength=('symmetric', {'theta': theta})``,
    standard aggregation, no candidate improvement and Jacobi prolongation smoothing with the local
    (Gershgorin) weighting, assembled here because pyamg's own assembly keeps the coarse levels in BSR with
    1x1 blocks, where SciPy's duplicate summation is a Python loop (about 2 s of the 3 s setup at 1024x1024)
    and its spectral-radius estimate costs as much again. The coarsest level is solved by sparse LU (a dense
    pseudo-inverse there stalls on a loaded machine's BLAS threads).
    """
    from pyamg.aggregation import fit_candidates, standard_aggregation
    from pyamg.relaxation.smoothing import change_smoothers
    from pyamg.strength import symmetric_strength_of_connection
    from scipy import sparse

    levels = []
    while True:
        level = pyamg.multilevel.MultilevelSolver.Level()
        level.A, level.B = A, B
        levels.append(level)
        if A.shape[0] <= max_coarse:
            break
        aggregates, _ = standard_aggregation(symmetric_strength_of_connection(A, theta))
        T, B = fit_candidates(aggregates, B)
        T = T.tocsr()
        gershgorin = abs(A) @ np.ones(A.shape[0])
        P = (T - sparse.diags(omega / gershgorin) @ (A @ T)).tocsr()
        level.P, level.R = P, P.T.tocsr()
        A = (level.R @ (A @ P)).tocsr()
        A.sort_indices()
    ml = pyamg.multilevel.MultilevelSolver(levels, coarse_solver="splu")
    smoother = ("gauss_seidel", {"sweep": "symmetric"})
    change_smoothers(ml, smoother, smoother)
    return ml


def _axis_weights(data, beta, multichannel):
    """Edge weights exactly as scikit-image computes them (``_compute_weights_3d``), one array per axis.

    ``weights[ax][i]`` is the weight of the edge between pixel ``i`` and its next neighbour along ``ax``.
    """
    squared = []
    for ax in range(data.ndim - 1):
        total = None
        for channel in range(data.shape[-1]):
            g = np.diff(data[..., channel], axis=ax) ** 2
            total = g if total is None else total + g
        squared.append(total)
    scale = -beta / (10 * data.std())
    if multichannel:
        scale /= np.sqrt(data.shape[-1])
    return [np.exp(scale * g) + _EPS for g in squared]


def _linear_system(data, labels, classes, beta, *, multichannel):
    """Return (A, rhs, unlabelled_indices): the random walker system on the unlabelled pixels.

    scikit-image's system (``_build_linear_system``, equal to rounding) and, bit for bit, the one the edge-list
    assembly this replaced gave (degree and seed terms summed in the same order). Built row by row on the
    grid (each unlabelled pixel's 2 * ndim neighbour slots, columns already sorted) instead of through a COO
    edge list: 0.2 s instead of 0.8 s at 1024x1024.
    """
    from scipy import sparse

    shape = labels.shape
    flat = labels.ravel()
    weights = _axis_weights(data, beta, multichannel)
    unlabelled = np.flatnonzero(flat == 0)
    m = unlabelled.size
    # int32 indices, as SciPy builds them below 2**31 entries: pyamg's kernels would copy int64 ones every call.
    itype = np.int32 if 5 * flat.size < 2**31 else np.int64
    index = np.full(flat.size, -1, dtype=itype)
    index[unlabelled] = np.arange(m, dtype=itype)
    axes = [ax for ax in range(len(shape)) if shape[ax] > 1]
    strides = [int(np.prod(shape[ax + 1:])) for ax in range(len(shape))]
    # Each unlabelled pixel's weight to its + / - neighbour along ax (0 off the grid) and whether it has one.
    plus, minus, has = {}, {}, {}
    for ax in axes:
        for sign, where, pad_ax in ((1, plus, (0, 1)), (-1, minus, (1, 0))):
            pad = [(0, 0)] * len(shape)
            pad[ax] = pad_ax
            where[ax] = np.pad(weights[ax], pad).ravel()[unlabelled]
            has[ax, sign] = np.pad(np.ones(weights[ax].shape, bool), pad).ravel()[unlabelled]
    # scikit-image sums the degree with bincount over edges (last axis first), heads then tails.
    degree = sum(plus[ax] for ax in reversed(axes)) + sum(minus[ax] for ax in reversed(axes))
    slots = [(ax, -1) for ax in axes] + [None] + [(ax, 1) for ax in reversed(axes)]  # in column order
    vals = np.empty((m, len(slots)))
    cols = np.empty((m, len(slots)), dtype=itype)
    valid = np.empty((m, len(slots)), dtype=bool)
    to_seed = {}
    for s, slot in enumerate(slots):
        if slot is None:
            vals[:, s], cols[:, s], valid[:, s] = degree, np.arange(m, dtype=itype), True
            continue
        ax, sign = slot
        w = plus[ax] if sign > 0 else minus[ax]
        on_grid = has[slot]
        neighbour = np.clip(unlabelled + sign * strides[ax], 0, flat.size - 1)
        column = index[neighbour]
        vals[:, s], cols[:, s], valid[:, s] = -w, column, on_grid & (column >= 0)
        to_seed[slot] = (np.flatnonzero(on_grid & (column < 0)), neighbour, w)
    indptr = np.zeros(m + 1, dtype=itype)
    np.cumsum(valid.sum(axis=1, dtype=itype), out=indptr[1:])
    A = sparse.csr_matrix((vals[valid], cols[valid], indptr), shape=(m, m))
    A.has_sorted_indices = True
    # Edges from an unlabelled pixel to a seed move to the right-hand side: b_u,k += w for seed class k,
    # added in scikit-image's order (edges to + neighbours, then to - neighbours, last axis first).
    class_of = np.searchsorted(classes, flat)
    rhs = np.zeros((m, classes.size))
    for slot in [(ax, 1) for ax in reversed(axes)] + [(ax, -1) for ax in reversed(axes)]:
        rows, neighbour, w = to_seed[slot]
        if rows.size:
            rhs += np.bincount(rows * classes.size + class_of[neighbour[rows]], w[rows],
                               minlength=m * classes.size).reshape(m, classes.size)
    return A, rhs, unlabelled
