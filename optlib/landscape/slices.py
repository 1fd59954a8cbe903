"""Loss-surface slices along random directions, with filter normalization (Li et al. 2018)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..functions import Objective
from ._checks import _flat, _offsets


def filter_normalize(direction, theta, blocks=None, ignore_1d=True):
    """Rescale ``direction`` filter by filter to the norms of ``theta``'s filters.

    Both are flat parameter vectors. ``blocks`` says how the vector is cut up:
      None             the whole vector is one filter: d <- d |theta| / |d|;
      a list of shapes consecutive parameter tensors (row-major, in order, their
                       sizes summing to len(theta)); a tensor of shape
                       (out, ...) has ``out`` filters, its rows along axis 0
                       (a dense layer's neurons, a convolution's output
                       channels); a 1-D tensor (bias, BatchNorm scale) is
                       set to zero when ``ignore_1d`` (Li et al.'s choice),
                       else normalized as one filter;
      a list of slices each slice is one filter; coordinates outside every
                       slice get direction 0.
    Each filter then satisfies |d_i| = |theta_i| (Li et al. 2018, Sec. 4), so a
    slice along d sees the same relative perturbation in every filter, whatever
    the filters' scales.
    """
    theta = _flat(theta, "theta")
    d = _flat(direction, "direction")
    if d.shape != theta.shape:
        raise ValueError(f"direction must have the shape of theta {theta.shape}, got {d.shape}")
    out = np.zeros_like(theta)
    for index, filters in _filters(theta.size, blocks, ignore_1d):
        dv, tv = d[index].reshape(filters), theta[index].reshape(filters)
        dn = np.linalg.norm(dv, axis=-1, keepdims=True)
        tn = np.linalg.norm(tv, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[index] = np.where(dn > 0, dv * tn / dn, 0.0).reshape(-1)
    return out


def _filters(size, blocks, ignore_1d):
    """(index into the flat vector, (n_filters, filter_size)) for every block normalized."""
    if blocks is None:
        return [(slice(0, size), (1, size))]
    blocks = list(blocks)
    slices = [isinstance(b, slice) for b in blocks]
    if any(slices) and not all(slices):
        raise ValueError("blocks must be all shapes or all slices, not a mixture")
    if all(slices):
        out = []
        for b in blocks:
            n = len(range(*b.indices(size)))
            if n == 0:
                raise ValueError(f"block {b} selects no parameters of a vector of size {size}")
            out.append((b, (1, n)))
        return out
    out, start = [], 0
    for shape in blocks:
        shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
        if not all(int(n) == n and n >= 1 for n in shape):
            raise ValueError(f"blocks must be shapes of positive integers or slices, got {shape}")
        n = int(np.prod(shape))
        if len(shape) > 1 or not ignore_1d:
            rows = shape[0] if len(shape) > 1 else 1
            out.append((slice(start, start + n), (rows, n // rows)))
        start += n
    if start != size:
        raise ValueError(f"the block shapes hold {start} parameters but theta has {size}")
    return out


def random_direction(theta, blocks=None, seed=0, normalize=True, ignore_1d=True):
    """A random Gaussian direction for theta, filter-normalized by default (Li et al. 2018).

    ``seed`` is an int or a numpy Generator. With ``normalize=False`` the raw
    N(0, I) direction is returned. See ``filter_normalize`` for ``blocks``.
    """
    theta = _flat(theta, "theta")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    d = rng.standard_normal(theta.size)
    return filter_normalize(d, theta, blocks, ignore_1d) if normalize else d


class Slice1D(NamedTuple):
    """loss(theta + alpha d) at each of ``alphas``, and the direction d."""

    alphas: np.ndarray
    values: np.ndarray
    direction: np.ndarray


class Slice2D(NamedTuple):
    """loss(theta + alpha d1 + beta d2): ``values[i, j]`` at (alphas[j], betas[i])."""

    alphas: np.ndarray
    betas: np.ndarray
    values: np.ndarray
    directions: tuple


def loss_slice_1d(loss, theta, alphas, direction=None, blocks=None, seed=0):
    """The loss along one line through theta: alpha -> loss(theta + alpha d).

    ``loss`` is an Objective (evaluated on all points in one vectorized call) or
    any callable taking one flat parameter vector and returning a number.
    ``direction`` defaults to ``random_direction(theta, blocks, seed)``;
    ``alphas`` is a 1-D array of offsets (alpha = 0 is theta itself).
    """
    theta = _flat(theta, "theta")
    alphas = _offsets(alphas, "alphas")
    d = random_direction(theta, blocks, seed) if direction is None else _flat(direction,
                                                                             "direction")
    if d.shape != theta.shape:
        raise ValueError(f"direction must have the shape of theta {theta.shape}, got {d.shape}")
    points = theta + alphas[:, None] * d
    return Slice1D(alphas, _evaluate(loss, points), d)


def loss_slice_2d(loss, theta, alphas, betas, directions=None, blocks=None, seed=0):
    """The loss on a plane through theta: (alpha, beta) -> loss(theta + alpha d1 + beta d2).

    ``directions`` defaults to two independent random directions, filter-
    normalized with ``blocks`` (in high dimension they are nearly orthogonal,
    as Li et al. note). ``values`` has shape (len(betas), len(alphas)), ready
    for ``plt.contour(alphas, betas, values)``. Each plane point is one loss
    evaluation, so a 2-D slice costs len(alphas) x len(betas) of them.
    """
    theta = _flat(theta, "theta")
    alphas, betas = _offsets(alphas, "alphas"), _offsets(betas, "betas")
    if directions is None:
        rng = np.random.default_rng(seed)
        directions = (random_direction(theta, blocks, rng), random_direction(theta, blocks, rng))
    if len(directions) != 2:
        raise ValueError(f"directions must be a pair (d1, d2), got {len(directions)} items")
    d1, d2 = (_flat(d, "directions") for d in directions)
    if d1.shape != theta.shape or d2.shape != theta.shape:
        raise ValueError(f"each direction must have the shape of theta {theta.shape}")
    coefficients = np.stack(np.meshgrid(alphas, betas), axis=-1)  # (len(betas), len(alphas), 2)
    points = theta + coefficients[..., :1] * d1 + coefficients[..., 1:] * d2
    values = _evaluate(loss, points.reshape(-1, theta.size)).reshape(coefficients.shape[:2])
    return Slice2D(alphas, betas, values, (d1, d2))


def _evaluate(loss, points):
    if isinstance(loss, Objective):
        return np.asarray(loss.value(points), dtype=float)
    if not callable(loss):
        raise TypeError(f"loss must be an Objective or a callable, got {type(loss).__name__}")
    return np.array([float(loss(p)) for p in points])
