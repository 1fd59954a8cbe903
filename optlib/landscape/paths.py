"""Paths through parameter space: the plane a training path moves in (PCA, Li et al. 2018,
sec. 7), the barrier along a path between two minima, and Bezier curves trained to join
them (Garipov et al. 2018).

    directions, explained = pca_directions(history_x)      # the path's own plane
    coordinates = project(history_x, theta_final, directions)
    barrier(losses, alphas)                                 # the bump above the chord
    control = fit_bezier(loss, theta_a, theta_b, lr=0.5, steps=2000, batch_size=32)

References: H. Li, Z. Xu, G. Taylor, C. Studer and T. Goldstein, "Visualizing the loss
landscape of neural nets", NeurIPS 2018; T. Garipov, P. Izmailov, D. Podoprikhin,
D. Vetrov and A. G. Wilson, "Loss surfaces, mode connectivity, and fast ensembling of
DNNs", NeurIPS 2018; F. Draxler, K. Veschgini, M. Salmhofer and F. Hamprecht,
"Essentially no barriers in neural network energy landscape", ICML 2018; J. Frankle,
G. K. Dziugaite, D. Roy and M. Carbin, "Linear mode connectivity and the lottery ticket
hypothesis", ICML 2020.
"""

from __future__ import annotations

import numpy as np

from ..functions import FiniteSum
from ..minimize import minibatches
from ._checks import _check_positive, _flat, _objective, _offsets, _positive_int

__all__ = ["pca_directions", "project", "barrier", "bezier", "fit_bezier"]


def pca_directions(path, k=2, origin=None):
    """The k leading principal directions of the points of a path, and the fraction of
    the path's variance each explains.

    Li et al. (2018, sec. 7) stack the differences theta_t - theta_T from the
    final point (``origin``, by default the last row) and take the principal
    components of that matrix (centred, as PCA is): the plane of the first two
    is the plane the path moves in most. Returns ``(directions, explained)``:
    orthonormal rows of shape (k, d), and shape (k,) fractions summing to at
    most 1. ``path`` has shape (T + 1, d).
    """
    path = np.asarray(path, dtype=float)
    if path.ndim != 2 or len(path) < 2:
        raise ValueError(f"path must have shape (points >= 2, d), got {path.shape}")
    k = _positive_int("k", k)
    if k > min(path.shape):
        raise ValueError(f"k must be at most {min(path.shape)} for a path of shape {path.shape}")
    origin = path[-1] if origin is None else _flat(origin, "origin")
    differences = path - origin
    centred = differences - differences.mean(axis=0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    total = variance.sum()
    explained = variance[:k] / total if total > 0 else np.zeros(k)
    return rows[:k], explained


def project(points, origin, directions):
    """The coordinates (alpha, beta, ...) of each point in the plane origin + span of
    ``directions``: the least-squares solution of D' c = point - origin (the dot
    products with the directions when they are orthonormal). Shape (..., k)."""
    points = np.asarray(points, dtype=float)
    origin = _flat(origin, "origin")
    directions = np.atleast_2d(np.asarray(directions, dtype=float))
    if directions.shape[-1] != origin.size or points.shape[-1] != origin.size:
        raise ValueError(f"points and directions must have {origin.size} coordinates")
    coefficients, *_ = np.linalg.lstsq(directions.T, (points - origin).reshape(-1, origin.size).T,
                                       rcond=None)
    return coefficients.T.reshape(points.shape[:-1] + (len(directions),))


def barrier(values, alphas):
    """The loss barrier along a path: max_alpha L(alpha) - ((1 - a) L(0) + a L(1)), the
    largest rise above the chord between the end points, a = alpha's position from the
    first to the last of ``alphas`` (Frankle et al. 2020). 0 for a path that never rises
    above the chord."""
    values, alphas = np.asarray(values, dtype=float), _offsets(alphas, "alphas")
    if values.shape != alphas.shape or len(alphas) < 2:
        raise ValueError(f"values and alphas must be two 1-D arrays of one length >= 2, got "
                         f"{values.shape} and {alphas.shape}")
    position = (alphas - alphas[0]) / (alphas[-1] - alphas[0])
    chord = (1 - position) * values[0] + position * values[-1]
    return float(max(0.0, np.max(values - chord)))


def bezier(theta_a, control, theta_b, t):
    """The quadratic Bezier curve from theta_a to theta_b bent towards ``control``:

        phi(t) = (1 - t)^2 theta_a + 2 t (1 - t) control + t^2 theta_b,  t in [0, 1],

    for t of any shape, giving points of shape t.shape + (d,)."""
    theta_a, control, theta_b = (_flat(v, name) for v, name in
                                 ((theta_a, "theta_a"), (control, "control"),
                                  (theta_b, "theta_b")))
    t = np.asarray(t, dtype=float)[..., None]
    return (1 - t) ** 2 * theta_a + 2 * t * (1 - t) * control + t**2 * theta_b


def fit_bezier(f, theta_a, theta_b, lr, steps, batch_size=None, samples=4, seed=0):
    """Train the control point of a Bezier curve so that the whole curve has a low loss
    (Garipov et al. 2018): stochastic gradient descent on E_t L(phi(t)), t ~ U(0, 1),

        control <- control - lr 1/S sum_s 2 t_s (1 - t_s) grad L(phi(t_s)),

    with S = ``samples`` values of t per step and, for a finite sum, mini-batches
    of ``batch_size`` (the same batch at every t). The control point starts at
    the midpoint of the segment. ``f`` must evaluate a stack of points at once
    (``BatchedNetworkLoss`` does). Returns the control point.
    """
    _objective(f)
    theta_a, theta_b = _flat(theta_a, "theta_a"), _flat(theta_b, "theta_b")
    _check_positive(lr=lr)
    steps, samples = _positive_int("steps", steps), _positive_int("samples", samples)
    if batch_size is not None and not isinstance(f, FiniteSum):
        raise TypeError("batch_size needs a finite-sum objective")
    rng = np.random.default_rng(seed)
    batches = minibatches(f.n_samples, int(batch_size), seed) if batch_size else None
    control = 0.5 * (theta_a + theta_b)
    for _ in range(steps):
        t = rng.uniform(size=samples)
        points = bezier(theta_a, control, theta_b, t)
        grads = f.grad(points) if batches is None else f.grad(points, batch=next(batches))
        control = control - lr * np.mean((2 * t * (1 - t))[:, None] * grads, axis=0)
    return control
