"""Basins of attraction of Newton's iteration: where each start of a grid ends up, computed
for every start at once.

    x_{t+1} = x_t - (B(x_t) + nu I)^{-1} grad f(x_t),   B = H (plain) or |H| (saddle-free),

with no line search: the iteration itself, whose fixed points are the critical
points of f. Near a non-degenerate critical point x* with Hessian eigenvalues
lambda_i the iteration is linear to first order, with matrix
I - (m(H*) + nu I)^{-1} H*: it multiplies the error along the i-th eigenvector by

    1 - lambda_i / (m(lambda_i) + nu),   m(lambda) = lambda (plain) or |lambda| (saddle-free).

Plain, that is nu / (lambda_i + nu): x* attracts exactly when |nu / (lambda_i + nu)| < 1
for every i, always at a minimum, and along a negative lambda_i only while
nu < |lambda_i| / 2. Saddle-free, the factor is 1 + |lambda_i| / (|lambda_i| + nu) > 1
along negative curvature: only minima attract (``attracts``).
"""

from __future__ import annotations

import numpy as np


def _modified_inverse(H, damping, absolute):
    """(m(H) + nu I)^{-1} for a batch of symmetric matrices, m = identity or |.|.

    For 2 x 2 matrices in closed form: a function of a symmetric 2 x 2 matrix with
    eigenvalues l1 != l2 is a I + b H with b = (phi(l1) - phi(l2)) / (l1 - l2) and
    a = phi(l1) - b l1 (Sylvester's formula), which avoids a batched eigh."""
    if H.shape[-1] != 2:
        eigenvalues, Q = np.linalg.eigh(H)
        modified = (np.abs(eigenvalues) if absolute else eigenvalues) + damping
        return (Q / modified[..., None, :]) @ np.swapaxes(Q, -1, -2)
    a, b, c = H[..., 0, 0], H[..., 0, 1], H[..., 1, 1]
    mean, radius = 0.5 * (a + c), np.hypot(0.5 * (a - c), b)
    low, high = mean - radius, mean + radius
    phi_low, phi_high = (1 / ((np.abs(v) if absolute else v) + damping) for v in (low, high))
    distinct = radius > 1e-12 * np.maximum(np.abs(mean), 1e-300)
    slope = np.where(distinct, (phi_high - phi_low) / np.where(distinct, 2 * radius, 1), 0.0)
    shift = phi_high - slope * high
    out = slope[..., None, None] * H
    out[..., 0, 0] += shift
    out[..., 1, 1] += shift
    return out


def newton_iterates(f, starts, steps=50, damping=0.0, absolute=False):
    """The last point of ``steps`` damped Newton steps from every start, all at once.

    ``starts`` has shape (n, dim); ``damping`` is nu >= 0; ``absolute=True``
    uses |H| (the saddle-free Newton of Dauphin et al. 2014, damped by nu).
    Returns (points, grad_norms), shapes (n, dim) and (n,); a start whose
    iteration leaves the finite numbers ends at NaN.
    """
    x = f._point(starts, "starts")
    if x.ndim != 2:
        raise ValueError(f"starts must have shape (n, {f.dim}), got {x.shape}")
    if not (np.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping must be a finite number >= 0, got {damping!r}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    with np.errstate(all="ignore"):
        for _ in range(int(steps)):
            inverse = _modified_inverse(f.hess(x), damping, absolute)
            x = x - np.einsum("nij,nj->ni", inverse, f.grad(x))
            x = np.where(np.isfinite(x).all(axis=-1, keepdims=True), x, np.nan)
        grad_norms = np.linalg.norm(f.grad(x), axis=-1)
    return x, grad_norms


def basins(f, starts, critical_points, steps=50, damping=0.0, absolute=False, tol=1e-6):
    """Which critical point each start reaches: an index into ``critical_points``, or -1.

    Runs ``newton_iterates`` and labels a start k when its last point lies
    within ``tol`` (1 + ||x*||) of critical_points[k] and its gradient norm is
    below ``tol``; -1 when it has not converged to any of them (or diverged).
    """
    points = np.asarray(critical_points, dtype=float).reshape(-1, f.dim)
    x, grad_norms = newton_iterates(f, starts, steps, damping, absolute)
    with np.errstate(invalid="ignore"):
        distance = np.linalg.norm(x[:, None, :] - points[None], axis=-1)
        near = distance <= tol * (1 + np.linalg.norm(points, axis=-1))
        labels = np.where(near.any(axis=1) & (grad_norms < tol), np.argmax(near, axis=1), -1)
    return labels


def contraction_factors(eigenvalues, damping, absolute=False):
    """1 - lambda_i / (m(lambda_i) + nu): the factor by which one step of the damped
    iteration multiplies the error along each eigenvector at a critical point
    (m = identity, or |.| with ``absolute``). Shape of ``eigenvalues``."""
    lam = np.asarray(eigenvalues, dtype=float)
    return 1 - lam / ((np.abs(lam) if absolute else lam) + damping)


def attracts(eigenvalues, damping, absolute=False):
    """True where a critical point with these Hessian eigenvalues (last axis) is a point of
    attraction of the damped iteration: every contraction factor below 1 in magnitude."""
    factors = contraction_factors(eigenvalues, damping, absolute)
    return np.all(np.abs(factors) < 1, axis=-1)
