"""Linear conjugate gradient on an operator v -> B v, with negative-curvature detection
(Nocedal and Wright, algorithm 5.2; Steihaug's truncation)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CGResult(NamedTuple):
    """``x`` the approximate solution of B x = b; ``nit`` the number of products B v;
    ``residual_norm`` ||b - B x||; ``status`` 'converged' | 'max_iter' |
    'negative_curvature'; ``direction`` the search direction d with d'Bd <= 0 when
    negative curvature was found (else None)."""

    x: np.ndarray
    nit: int
    residual_norm: float
    status: str
    direction: np.ndarray | None


def conjugate_gradient(operator, b, x0=None, rtol=1e-10, atol=0.0, maxiter=None,
                       overwrite_x0=False):
    """Solve B x = b by linear conjugate gradient, using only products ``operator(v) = B v``.

    N&W Alg. 5.2, from x0 (zeros by default), r = b - B x, d = r:

        alpha = r'r / d'Bd,  x += alpha d,  r -= alpha Bd,
        beta = r_new'r_new / r'r,  d = r_new + beta d

    It stops once ||r|| <= max(rtol ||b||, atol) ('converged'), after
    ``maxiter`` products (default: 2 len(b)) ('max_iter'), or when a direction
    has d'Bd <= 0 ('negative_curvature': B is not positive definite; x is the
    iterate before that direction). For symmetric positive definite B of size
    n it converges in at most n iterations in exact arithmetic (N&W Thm. 5.1).
    With ``overwrite_x0=True`` a float64 ``x0`` is updated in place into the
    solution, saving one vector of memory.
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"b must be a vector of shape (n,), got shape {b.shape}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got {rtol} and {atol}")
    maxiter = 2 * b.size if maxiter is None else int(maxiter)
    threshold = max(rtol * float(np.linalg.norm(b)), atol)
    if x0 is None:
        x, r, nit = np.zeros_like(b), b.copy(), 0
    else:
        x = np.asarray(x0, dtype=float) if overwrite_x0 else np.array(x0, dtype=float)
        if x.shape != b.shape:
            raise ValueError(f"x0 must have the shape of b {b.shape}, got {x.shape}")
        r, nit = operator(x), 1
        np.subtract(b, r, out=r)
    d = r.copy()
    rr = float(r @ r)
    while np.sqrt(rr) > threshold:
        if nit >= maxiter:
            return CGResult(x, nit, float(np.sqrt(rr)), "max_iter", None)
        Bd = operator(d)
        nit += 1
        curvature = float(d @ Bd)
        if curvature <= 0:
            return CGResult(x, nit, float(np.sqrt(rr)), "negative_curvature", d)
        alpha = rr / curvature
        _axpy(alpha, d, x)
        _axpy(-alpha, Bd, r)
        del Bd
        rr_new = float(r @ r)
        d *= rr_new / rr
        d += r
        rr = rr_new
    return CGResult(x, nit, float(np.sqrt(rr)), "converged", None)


def _axpy(a, x, y, chunk=1 << 16):
    """y += a x in place, a chunk at a time, so no temporary of the full size is made."""
    for i in range(0, y.size, chunk):
        y[i:i + chunk] += a * x[i:i + chunk]


