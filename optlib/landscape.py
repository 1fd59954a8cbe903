"""The shape of a loss landscape: Taylor models, curvature, critical points, saddles, slices.

    model = taylor(f, x0, order=2)            # f(x0) + g'd + 1/2 d'Hd as a callable
    predicted_decrease(f, x, eta)             # what one gradient step should gain
    optimal_step(f, x)                        # the eta that gains the most, g'g / g'Hg
    hessian_spectrum(f, x)                    # eigenvalues of H, ascending
    classify(f, x)                            # ('saddle', eigenvalues)
    critical_points(f, starts=256)            # all stationary points found from many starts
    perturbed_gd(f, x0, lr=0.1)               # gradient descent that escapes strict saddles
    random_direction(theta, blocks=shapes)    # filter-normalized direction (Li et al. 2018)
    loss_slice_1d(loss, theta, alphas)        # loss(theta + alpha d)
    loss_slice_2d(loss, theta, alphas, betas) # loss(theta + alpha d1 + beta d2)

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed.,
Springer 2006; C. Jin, R. Ge, P. Netrapalli, S. M. Kakade and M. I. Jordan,
"How to escape saddle points efficiently", ICML 2017; H. Li, Z. Xu, G. Taylor,
C. Studer and T. Goldstein, "Visualizing the loss landscape of neural nets",
NeurIPS 2018.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .functions import Objective
from .minimize import DIVERGENCE_FACTOR, History, Result

__all__ = [
    "taylor",
    "predicted_decrease",
    "optimal_step",
    "hessian_spectrum",
    "classify",
    "critical_points",
    "perturbed_gd",
    "filter_normalize",
    "random_direction",
    "Slice1D",
    "Slice2D",
    "loss_slice_1d",
    "loss_slice_2d",
]


# ---------------------------------------------------------------------------
# Local models and curvature
# ---------------------------------------------------------------------------


def taylor(f, x0, order=2):
    """The Taylor model of ``f`` around ``x0`` as a callable ``model(x)``.

    With d = x - x0:  order 0: f(x0);  order 1: f(x0) + g'd;
    order 2: f(x0) + g'd + 1/2 d'Hd,  g and H the gradient and Hessian at x0.
    ``model`` is vectorized like the objective: x of shape (..., dim) gives
    shape (...), so a contour grid is one call.
    """
    _objective(f)
    x0 = f._point(x0, "x0")
    if x0.ndim != 1:
        raise ValueError(f"x0 must have shape ({f.dim},), got {x0.shape}")
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    f0 = float(f.value(x0))
    g = f.grad(x0) if order >= 1 else np.zeros(f.dim)
    H = f.hess(x0) if order == 2 else np.zeros((f.dim, f.dim))

    def model(x):
        d = f._point(x) - x0
        return f0 + d @ g + 0.5 * np.einsum("...i,ij,...j->...", d, H, d)

    return model


def predicted_decrease(f, x, eta):
    """The decrease of the second-order model after one gradient step of size ``eta``.

        f(x) - f(x - eta g) ~ eta g'g - eta^2 / 2 g'Hg

    ``eta`` may be an array (broadcast against the points' shape ``x.shape[:-1]``):
    the decrease is a downward parabola in eta when g'Hg > 0, largest at
    ``optimal_step``, and negative (an increase) beyond twice that.
    """
    gg, gHg = _gradient_curvature(f, x)
    eta = np.asarray(eta, dtype=float)
    return eta * gg - 0.5 * eta**2 * gHg


def optimal_step(f, x):
    """The step size that maximizes ``predicted_decrease``: eta* = g'g / g'Hg.

    When g'Hg < 0, or g'Hg = 0 with g != 0, the quadratic model decreases
    without bound along -g and the result is ``inf``. At a critical point,
    g = 0, the model is constant along -g and no step is better than another;
    returning ``inf`` there too is a convention. Vectorized over points x of
    shape (..., dim).
    """
    gg, gHg = _gradient_curvature(f, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(gHg > 0, gg / gHg, np.inf)
    return eta.item() if eta.ndim == 0 else eta


def _gradient_curvature(f, x):
    """g'g and g'Hg at x (Hessian-vector products only)."""
    _objective(f)
    x = f._point(x)
    g = f.grad(x)
    return np.sum(g * g, axis=-1), np.sum(g * f.hvp(x, g), axis=-1)


def hessian_spectrum(f, x, vectors=False):
    """The eigenvalues of the Hessian at x, ascending, shape (..., dim).

    With ``vectors=True`` also the orthonormal eigenvectors, as the columns of
    an array of shape (..., dim, dim), so that H = V diag(lambda) V'.
    """
    _objective(f)
    H = f.hess(f._point(x))
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    return np.linalg.eigh(H) if vectors else np.linalg.eigvalsh(H)


def classify(f, x, tol=1e-6, grad_tol=1e-6):
    """Classify the critical point x by the second-derivative test.

    Returns ``(label, eigenvalues)``, the eigenvalues of the Hessian in
    ascending order; an eigenvalue with |lambda| <= tol counts as zero. The
    label is
      'minimum'    all eigenvalues > tol (H positive definite): a strict minimum,
      'maximum'    all < -tol: a strict maximum,
      'saddle'     some > tol and some < -tol: a saddle point, whatever the others,
      'degenerate' otherwise: some |lambda| <= tol and no eigenvalues of both
                   signs, so the test cannot decide. With lambda_min < -tol such
                   a point is no minimum, yet it may be a maximum (-x^2 - y^4) or
                   a saddle (-x^2 + y^4); with lambda_min >= -tol it may be any
                   of the three (the monkey saddle's origin, x^4 + y^4, ...).
    Every critical point with lambda_min < -tol, whatever its label, is a
    strict saddle in the sense of Lee et al. (2016), maxima included: a
    direction of negative curvature leads down from it.
    Raises ValueError when ||grad f(x)|| > grad_tol, since x is then not a
    critical point (pass ``grad_tol=None`` to skip this check).
    """
    _objective(f)
    x = f._point(x)
    if x.ndim != 1:
        raise ValueError(f"x must be one point of shape ({f.dim},), got {x.shape}")
    if grad_tol is not None:
        gnorm = float(np.linalg.norm(f.grad(x)))
        if gnorm > grad_tol:
            raise ValueError(
                f"x is not a critical point: ||grad f(x)|| = {gnorm:.3g} > grad_tol = {grad_tol}"
            )
    eigenvalues = hessian_spectrum(f, x)
    positive, negative = np.any(eigenvalues > tol), np.any(eigenvalues < -tol)
    if positive and negative:
        label = "saddle"
    elif np.all(eigenvalues > tol):
        label = "minimum"
    elif np.all(eigenvalues < -tol):
        label = "maximum"
    else:
        label = "degenerate"
    return label, eigenvalues


# ---------------------------------------------------------------------------
# Critical points from many starts
# ---------------------------------------------------------------------------


def critical_points(f, starts=256, seed=0, grad_tol=1e-8, merge_tol=1e-6, max_iter=100):
    """Stationary points of ``f`` (minima, maxima and saddles alike), deduplicated.

    From every start, solve grad f(x) = 0 by Levenberg-Marquardt on the
    residual r(x) = grad f(x), whose Jacobian is the Hessian H:

        (H'H + mu I) p = -H' grad f(x),   x <- x + p if ||grad f|| decreases,

    with mu shrinking after a success and growing after a failure. Unlike a
    minimizer it converges to saddles and maxima too (near a non-degenerate
    critical point it is Newton's method on grad f = 0, quadratically
    convergent; at a degenerate one, linearly).

    ``starts`` is an array of shape (n, dim), or a number n of points drawn
    uniformly from ``f.domain`` with ``seed``. Returns the points with
    ||grad f|| < ``grad_tol``, merged when closer than ``merge_tol`` (1 + |x|),
    as an array of shape (k, dim) sorted by f value.
    """
    _objective(f)
    x = _starting_points(f, starts, seed)
    g = f.grad(x)
    mu = np.full(len(x), 1e-3)
    for _ in range(int(max_iter)):
        x, g, mu = _levenberg_marquardt_step(f, x, g, mu)
    found = x[np.isfinite(g).all(-1) & (np.linalg.norm(g, axis=-1) < grad_tol)]
    return _merge(f, found, merge_tol)


def _starting_points(f, starts, seed):
    if np.ndim(starts) == 0:
        if int(starts) != starts or starts < 1:
            raise ValueError(f"starts must be a positive integer or an array, got {starts!r}")
        if f.domain is None:
            raise ValueError(f"{f.name} has no domain to draw starts from; pass an array")
        lo, hi = np.array(f.domain, dtype=float).T
        return np.random.default_rng(seed).uniform(lo, hi, size=(int(starts), f.dim))
    x = f._point(starts, "starts")
    if x.ndim != 2:
        raise ValueError(f"starts must have shape (n, {f.dim}), got {x.shape}")
    return x.copy()


def _levenberg_marquardt_step(f, x, g, mu):
    H = f.hess(x)
    HtH = np.swapaxes(H, -1, -2) @ H
    scale = np.maximum(np.trace(HtH, axis1=-2, axis2=-1) / f.dim, 1e-300)
    damped = HtH + (mu * scale)[:, None, None] * np.eye(f.dim)
    with np.errstate(all="ignore"):
        p = -np.linalg.solve(damped, (np.swapaxes(H, -1, -2) @ g[..., None]))[..., 0]
        x_new = x + p
        g_new = f.grad(x_new)
        better = np.linalg.norm(g_new, axis=-1) < np.linalg.norm(g, axis=-1)
    x = np.where(better[:, None], x_new, x)
    g = np.where(better[:, None], g_new, g)
    mu = np.where(better, np.maximum(mu / 3, 1e-12), np.minimum(mu * 4, 1e12))
    return x, g, mu


def _merge(f, points, tol):
    """One representative per cluster of points closer than tol (1 + |x|), sorted by f."""
    points = points[np.argsort(f.value(points), kind="stable")] if len(points) else points
    kept = []
    for p in points:
        if all(np.linalg.norm(p - q) > tol * (1 + np.linalg.norm(q)) for q in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, f.dim)


# ---------------------------------------------------------------------------
# Escaping saddles
# ---------------------------------------------------------------------------


def perturbed_gd(f, x0, lr, steps=1000, radius=1e-2, g_thres=1e-3, t_thres=20, f_thres=None,
                 seed=0, callback=None):
    """Perturbed gradient descent (Jin et al. 2017, Algorithm 2).

    Gradient descent x_{t+1} = x_t - lr grad f(x_t), except that whenever
    ||grad f(x_t)|| <= ``g_thres`` and no perturbation happened in the last
    ``t_thres`` steps, x_t is first moved by xi drawn uniformly from the ball of
    radius ``radius``. At a strict saddle plain GD stays put (its gradient is
    zero) while the perturbation puts the iterate on the unstable manifold's
    side, from which GD moves away exponentially fast.

    With ``f_thres`` set, a run stops as 'converged' when ``t_thres`` steps
    after a perturbation f has not decreased by ``f_thres`` below f(x~), x~ the
    point just before the perturbation: x~ is then (with high probability) an
    approximate second-order stationary point, and it is returned. ``x0`` of shape (B, dim) runs B
    trajectories with independent noise. Returns a Result (method
    'perturbed_gd') like ``minimize``; ``history.lr`` holds ``lr`` per step.
    """
    _objective(f)
    x = f._point(x0, "x0").copy()
    _check_positive(lr=lr, radius=radius, t_thres=t_thres)
    rng = np.random.default_rng(seed)
    batch = x.shape[:-1]
    fx, g = f.value(x), f.grad(x)
    bound = DIVERGENCE_FACTOR * (1 + np.abs(fx))
    t_noise = np.full(batch, -np.inf)
    x_noise, f_noise, g_noise = x.copy(), fx.copy(), g.copy()
    status = np.full(batch, "max_steps", dtype=object)
    active = np.ones(batch, dtype=bool)
    nit = np.zeros(batch, dtype=int)
    nfev, ngev = np.ones(batch, dtype=int), np.ones(batch, dtype=int)
    xs, fs, norms = [x.copy()], [fx], [np.linalg.norm(g, axis=-1)]
    for t in range(int(steps)):
        if not active.any():
            break
        perturb = active & (np.linalg.norm(g, axis=-1) <= g_thres) & (t - t_noise > t_thres)
        if perturb.any():
            x_noise = np.where(perturb[..., None], x, x_noise)
            f_noise = np.where(perturb, fx, f_noise)
            g_noise = np.where(perturb[..., None], g, g_noise)
            t_noise = np.where(perturb, t, t_noise)
            x = np.where(perturb[..., None], x + _uniform_ball(rng, x.shape, radius), x)
            g = np.where(perturb[..., None], f.grad(x), g)
            ngev += perturb
        with np.errstate(all="ignore"):
            x_new = x - lr * g
            f_new, g_new = f.value(x_new), f.grad(x_new)
        nfev += active
        ngev += active
        bad = ~np.isfinite(f_new) | (np.abs(f_new) > bound) | ~np.isfinite(g_new).all(-1)
        _stop(status, active, bad, "diverged")
        moves = active.copy()
        x = np.where(moves[..., None], x_new, x)
        fx, g = np.where(moves, f_new, fx), np.where(moves[..., None], g_new, g)
        nit += moves
        if f_thres is not None:
            stuck = (t + 1 - t_noise == t_thres) & (fx - f_noise > -f_thres)
            back = active & stuck
            x = np.where(back[..., None], x_noise, x)
            fx, g = np.where(back, f_noise, fx), np.where(back[..., None], g_noise, g)
            _stop(status, active, stuck, "converged")
        xs.append(x.copy())
        fs.append(fx)
        norms.append(np.linalg.norm(g, axis=-1))
        if callback is not None:
            callback(t, x, fx)
    history = History(np.stack(xs), np.stack(fs), np.stack(norms),
                      np.full((len(xs) - 1,) + batch, float(lr)))
    return Result(x=x, fun=_item(fx), nit=_item(nit), nfev=_item(nfev),
                  ngev=_item(ngev), nhev=_item(np.zeros(batch, dtype=int)),
                  status=_item(status), history=history, method="perturbed_gd")


def _uniform_ball(rng, shape, radius):
    """Points uniform in the ball of ``radius`` in R^dim, one per leading index."""
    direction = rng.standard_normal(shape)
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    r = radius * rng.uniform(size=shape[:-1] + (1,)) ** (1 / shape[-1])
    return r * direction


def _stop(status, active, mask, reason):
    newly = active & mask
    status[newly] = reason
    active &= ~newly


def _item(a):
    return a.item() if np.ndim(a) == 0 else a


# ---------------------------------------------------------------------------
# Loss-surface slices with filter normalization (Li et al. 2018)
# ---------------------------------------------------------------------------


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


def _flat(v, name):
    v = np.asarray(v, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"{name} must be a flat parameter vector of shape (n,), got {v.shape}")
    return v


def _offsets(a, name):
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of offsets, got shape {a.shape}")
    return a


def _objective(f):
    if not isinstance(f, Objective):
        raise TypeError(f"f must be an optlib Objective, got {type(f).__name__}")


def _check_positive(**values):
    for name, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
