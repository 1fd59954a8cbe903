"""Local models and curvature at a point: Taylor models, the step a quadratic model
recommends, the Hessian's spectrum and the second-derivative test."""

from __future__ import annotations

import numpy as np

from ._checks import _objective


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
