"""Extreme eigenvalues of a Hessian from Hessian-vector products alone: Lanczos iteration,
power iteration (with the shift that makes it find lambda_max), and the sharpness.

    lam_min, lam_max = extreme_eigenvalues(lambda v: f.hvp(theta, v), f.dim)
    sharpness(f, theta)                 # lambda_max of the Hessian at theta

References: C. Lanczos, "An iteration method for the solution of the eigenvalue problem
of linear differential and integral operators", J. Res. Nat. Bur. Standards 45(4), 1950;
G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., Johns Hopkins 2013,
chapter 10; B. N. Parlett, *The Symmetric Eigenvalue Problem*, SIAM 1998.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import _flat, _objective, _positive_int

__all__ = ["Lanczos", "lanczos", "power_iteration", "extreme_eigenvalues", "sharpness"]


class Lanczos(NamedTuple):
    """What ``lanczos`` found: Ritz values (ascending) and vectors (columns), the
    tridiagonal matrix's ``alphas`` and ``betas``, and ``products`` (matvecs used)."""

    values: np.ndarray
    vectors: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray
    products: int


def lanczos(matvec, v0, steps=30, tol=1e-12):
    """Lanczos iteration on a symmetric operator known only through ``matvec(v) = H v``.

    From q_1 = v0 / |v0| it builds an orthonormal basis Q_m of the Krylov space
    span{v0, H v0, ..., H^(m-1) v0} and the tridiagonal T_m = Q_m' H Q_m:

        w = H q_j - beta_(j-1) q_(j-1),  alpha_j = q_j' w,
        w <- w - alpha_j q_j,  beta_j = |w|,  q_(j+1) = w / beta_j,

    with every new q re-orthogonalized against all earlier ones (twice), which
    rounding errors otherwise undo. The eigenvalues of T_m (Ritz values)
    approach the extreme eigenvalues of H first, the error shrinking faster
    than any power of the Krylov dimension's reach; the Ritz vectors are
    Q_m times the eigenvectors of T_m. It stops early when beta_j < tol |H q_j|:
    the Krylov space is then invariant and its Ritz values are exact. ``steps``
    is the number of products with H (at most len(v0)).
    """
    v0 = _flat(v0, "v0")
    steps = min(_positive_int("steps", steps), v0.size)
    norm = np.linalg.norm(v0)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("v0 must be a finite, non-zero vector")
    basis = [v0 / norm]
    alphas, betas = [], []
    for _ in range(steps):
        q = basis[-1]
        w = np.asarray(matvec(q), dtype=float)
        if w.shape != q.shape:
            raise ValueError(f"matvec must return shape {q.shape}, got {w.shape}")
        scale = np.linalg.norm(w)
        alphas.append(float(q @ w))
        Q = np.array(basis)
        for _ in range(2):                      # full re-orthogonalization, twice
            w = w - Q.T @ (Q @ w)
        beta = np.linalg.norm(w)
        if len(alphas) == steps or beta <= tol * max(scale, 1e-300):
            break
        betas.append(float(beta))
        basis.append(w / beta)
    T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    values, small = np.linalg.eigh(T)
    return Lanczos(values, np.array(basis).T @ small, np.array(alphas), np.array(betas),
                   len(alphas))


def power_iteration(matvec, v0, steps=100, shift=0.0):
    """The dominant eigenvalue of H - shift I by power iteration, plus the shift.

        v <- (H - shift I) v / |(H - shift I) v|,   mu = v'(H - shift I) v,

    returns (mu + shift, v). Plain power iteration (shift = 0) finds the
    eigenvalue of largest magnitude, which away from a minimum can be a
    negative one: for eigenvalues -5, 1 and 3 it returns -5, not lambda_max = 3.
    With shift <= lambda_min every eigenvalue of H - shift I is >= 0 and the
    largest is lambda_max - shift, so it returns lambda_max. The error in the
    eigenvalue shrinks like (|second largest| / |largest|)^(2t) of H - shift I.
    """
    v = _flat(v0, "v0")
    steps = _positive_int("steps", steps)
    if not np.isfinite(shift):
        raise ValueError(f"shift must be a finite number, got {shift!r}")
    v = v / np.linalg.norm(v)
    mu = 0.0
    for _ in range(steps):
        w = np.asarray(matvec(v), dtype=float) - shift * v
        mu = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0:
            break
        v = w / norm
    return mu + shift, v


def extreme_eigenvalues(matvec, dim, steps=30, seed=0):
    """(lambda_min, lambda_max) of a symmetric H from ``steps`` products with it (Lanczos
    from a random start drawn with ``seed``)."""
    dim = _positive_int("dim", dim)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = lanczos(matvec, rng.standard_normal(dim), steps).values
    return float(values[0]), float(values[-1])


def sharpness(f, theta, steps=20, seed=0, batch=None):
    """The sharpness lambda_max of the Hessian of the objective f at theta, by Lanczos on
    ``f.hvp`` (``batch``: the Hessian of a mini-batch's loss, for finite sums that take
    one). ``theta`` of shape (k, d) gives k values."""
    _objective(f)
    theta = f._point(theta, "theta")
    if theta.ndim == 2:
        return np.array([sharpness(f, t, steps, seed, batch) for t in theta])
    if theta.ndim != 1:
        raise ValueError(f"theta must have shape (d,) or (k, d), got {theta.shape}")

    def product(v):
        return f.hvp(theta, v) if batch is None else f.loss_hvp(theta, v, *f._rows(batch))

    return extreme_eigenvalues(product, f.dim, steps, seed)[1]
