"""Trust-region methods (Nocedal and Wright, chapter 4): the Cauchy point, the dogleg,
Steihaug's truncated conjugate gradients and the exact solution of the subproblem, and
the method of algorithm 4.1 that grows or shrinks the radius.

Each solver approximately minimizes the quadratic model of f at x within a ball,

    minimize  q(p) = g'p + 1/2 p'Bp   over   ||p|| <= radius,

with B the Hessian (a matrix, or for Steihaug's CG any operator v -> Bv), and
returns a ``SubproblemStep``: the step p, the decrease q(0) - q(p) the model
predicts, how the solver stopped, and the number of products B v it made.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.optimize

from ..minimize import register_method
from .driver import _norm, _solve, _Step


class SubproblemStep(NamedTuple):
    """``step`` p; ``predicted`` q(0) - q(p) = -(g'p + 1/2 p'Bp); ``status`` 'interior'
    (p lies inside the ball), 'boundary' (||p|| = radius) or 'negative_curvature'
    (a direction with d'Bd <= 0 was followed to the boundary); ``nit`` products B v."""

    step: np.ndarray
    predicted: float
    status: str
    nit: int


def _check_radius(radius):
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
    return float(radius)


def _matrix(B, g):
    B = np.asarray(B, dtype=float)
    if B.shape != (g.size, g.size):
        raise ValueError(f"B must be a ({g.size}, {g.size}) matrix, got shape {B.shape}")
    return B


def _dense(g, B, p, status, nit=0):
    """A SubproblemStep for a dense B, its predicted decrease computed from B."""
    return SubproblemStep(p, -float(g @ p + 0.5 * p @ B @ p), status, nit)


def cauchy_point(g, B, radius):
    """The Cauchy point: the minimizer of the model along -g within the ball (N&W eq. 4.11-4.12).

        p_C = -tau (radius / ||g||) g,   tau = 1 if g'Bg <= 0,
                                         else min(||g||^3 / (radius g'Bg), 1).

    Any step that decreases the model at least a fixed fraction of what p_C
    does makes a trust-region method converge (N&W Thm. 4.5).
    """
    g = np.asarray(g, dtype=float)
    B, radius = _matrix(B, g), _check_radius(radius)
    g_norm = _norm(g)
    if g_norm == 0:
        return _dense(g, B, np.zeros_like(g), "interior")
    curvature = float(g @ B @ g)
    tau = 1.0 if curvature <= 0 else min(g_norm**3 / (radius * curvature), 1.0)
    status = "interior" if tau < 1 else "boundary" if curvature > 0 else "negative_curvature"
    return _dense(g, B, -tau * radius / g_norm * g, status)


def _to_boundary(z, d, radius):
    """The tau >= 0 with ||z + tau d|| = radius, for ||z|| <= radius (the larger root)."""
    a, b, c = float(d @ d), 2 * float(z @ d), float(z @ z) - radius**2
    return (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)


def dogleg(g, B, radius):
    """The dogleg step for a positive definite B (N&W eq. 4.15-4.16).

    The path runs from 0 to the model's minimizer along -g,
    p_U = -(g'g / g'Bg) g, then straight to the Newton step p_N = -B^{-1} g;
    the step is where it leaves the ball (p_N itself when ||p_N|| <= radius).
    Along the path ||p|| increases and q decreases (N&W Lemma 4.2). When B is
    not positive definite the dogleg is undefined: the Cauchy point is
    returned instead.
    """
    g = np.asarray(g, dtype=float)
    B, radius = _matrix(B, g), _check_radius(radius)
    try:
        factor = scipy.linalg.cho_factor(B)
    except np.linalg.LinAlgError:
        return cauchy_point(g, B, radius)
    newton_step = -scipy.linalg.cho_solve(factor, g)
    if _norm(newton_step) <= radius:
        return _dense(g, B, newton_step, "interior")
    steepest = -(float(g @ g) / float(g @ B @ g)) * g
    if _norm(steepest) >= radius:
        return _dense(g, B, radius / _norm(g) * -g, "boundary")
    leg = newton_step - steepest
    return _dense(g, B, steepest + _to_boundary(steepest, leg, radius) * leg, "boundary")


def steihaug_cg(g, hvp, radius, rtol=None, maxiter=None):
    """Steihaug's truncated conjugate gradients on the model (N&W Alg. 7.2).

    CG on Bp = -g from p = 0, using products ``hvp(v) = B v`` only, stopped

    - when the residual g + Bp falls below ``rtol`` ||g|| (default
      min(1/2, sqrt(||g||)), the forcing term of N&W eq. 7.3): 'interior';
    - when an iterate would leave the ball: p is taken to the boundary along
      the current direction, 'boundary';
    - when a direction d has d'Bd <= 0: p follows d to the boundary,
      'negative_curvature' (from p = 0 that direction is -g, the Cauchy point);
    - after ``maxiter`` products (default 2 len(g)): 'interior'.

    Every iterate has a smaller model value and a larger norm than the one
    before (N&W Thm. 7.3). The predicted decrease is computed from the
    residual, with no extra product: q(p) = 1/2 p'(g + r), r = g + Bp.
    """
    g = np.asarray(g, dtype=float)
    radius = _check_radius(radius)
    g_norm = _norm(g)
    rtol = min(0.5, np.sqrt(g_norm)) if rtol is None else float(rtol)
    maxiter = 2 * g.size if maxiter is None else int(maxiter)
    p, r = np.zeros_like(g), g.copy()
    d = -r
    nit = 0

    def finish(p, r, status):
        return SubproblemStep(p, -0.5 * float(p @ (g + r)), status, nit)

    if g_norm == 0:
        return finish(p, r, "interior")
    while nit < maxiter:
        Bd = hvp(d)
        nit += 1
        curvature, rr = float(d @ Bd), float(r @ r)
        if curvature <= 0:
            tau = _to_boundary(p, d, radius)
            return finish(p + tau * d, r + tau * Bd, "negative_curvature")
        alpha = rr / curvature
        if _norm(p + alpha * d) >= radius:
            tau = _to_boundary(p, d, radius)
            return finish(p + tau * d, r + tau * Bd, "boundary")
        p, r = p + alpha * d, r + alpha * Bd
        if _norm(r) <= rtol * g_norm:
            break
        d = -r + (float(r @ r) / rr) * d
    return finish(p, r, "interior")


def trust_region_exact(g, B, radius):
    """The exact minimizer of the model in the ball and its multiplier nu (N&W Thm. 4.1).

    p solves the subproblem if and only if, for some nu >= 0,

        (B + nu I) p = -g,   nu (radius - ||p||) = 0,   B + nu I positive semidefinite.

    So p is the Newton step when B is positive definite and ||B^{-1}g|| <= radius
    (nu = 0); otherwise it is the Levenberg-Marquardt step -(B + nu I)^{-1} g with
    the nu > max(0, -lambda_1) that puts it on the boundary, found by a root
    search on ||p(nu)|| = radius over the eigen-decomposition of B. In the
    "hard case" (g orthogonal to the eigenvectors of lambda_1 and
    ||p(-lambda_1)|| < radius) nu = -lambda_1 and p adds a multiple of such an
    eigenvector. Returns (SubproblemStep, nu). For dense B of moderate size.
    """
    g = np.asarray(g, dtype=float)
    B, radius = _matrix(B, g), _check_radius(radius)
    eigenvalues, Q = np.linalg.eigh(0.5 * (B + B.T))
    coefficients = Q.T @ g
    lowest = float(eigenvalues[0])
    scale = max(1.0, float(np.abs(eigenvalues).max()))

    def step(nu):
        return -Q @ (coefficients / (eigenvalues + nu))

    if lowest > 0:
        p = step(0.0)
        if _norm(p) <= radius:
            return _dense(g, B, p, "interior"), 0.0
    floor = max(0.0, -lowest)
    lo, hi = floor + 1e-15 * scale, floor + _norm(g) / radius
    if _norm(step(lo)) <= radius:   # the hard case: no nu > -lambda_1 reaches the boundary
        rest = eigenvalues > lowest + 1e-12 * scale
        p = -Q[:, rest] @ (coefficients[rest] / (eigenvalues[rest] + floor))
        u = Q[:, 0]
        return _dense(g, B, p + _to_boundary(p, u, radius) * u, "boundary"), floor
    nu = scipy.optimize.brentq(lambda nu: _norm(step(nu)) - radius, lo, hi, xtol=1e-15 * hi,
                               rtol=4 * np.finfo(float).eps)
    return _dense(g, B, step(nu), "boundary"), float(nu)


SUBPROBLEMS = ("cauchy", "dogleg", "steihaug", "exact")


def _subproblem_solver(name):
    if name not in SUBPROBLEMS:
        raise ValueError(f"subproblem must be one of {SUBPROBLEMS}, got {name!r}")
    if name == "steihaug":
        return lambda f, x, g, radius: steihaug_cg(g, lambda v: f.hvp(x, v), radius)
    solve = {"cauchy": cauchy_point, "dogleg": dogleg,
             "exact": lambda g, B, radius: trust_region_exact(g, B, radius)[0]}[name]
    return lambda f, x, g, radius: solve(g, f.hess(x), radius)


def next_radius(radius, ratio, step_norm, max_radius):
    """The radius update of N&W Alg. 4.1 from ratio = ared / pred:

        radius / 4                      if ratio < 1/4,
        min(2 radius, max_radius)       if ratio > 3/4 and the step reached the boundary,
        radius                          otherwise.
    """
    if ratio < 0.25:
        return 0.25 * radius
    if ratio > 0.75 and step_norm >= (1 - 1e-12) * radius:
        return min(2 * radius, max_radius)
    return radius


@register_method("trust_region")
def trust_region(f, x0, *, steps, tol, subproblem="steihaug", radius=1.0, max_radius=1e3,
                 accept=1e-4, **run):
    """A trust-region method (N&W Alg. 4.1).

    Each iteration t solves the subproblem at x_t within ``radius`` r_t
    (``subproblem``: 'steihaug' with Hessian-vector products, 'dogleg',
    'cauchy' or 'exact' with the Hessian), compares the actual decrease with
    the predicted one,

        ratio = ared / pred = (f(x_t) - f(x_t + p)) / (q(0) - q(p)),

    moves to x_t + p when ratio > ``accept`` (else stays at x_t), and updates
    the radius with ``next_radius`` (capped at ``max_radius``). A rejected step
    is an iteration too, as in N&W and SciPy: the history repeats the point,
    and ``history.lr`` holds the radius r_t each iteration used. The run stalls
    when the radius falls below the precision of x.
    """
    solve = _subproblem_solver(subproblem)
    radius, max_radius = _check_radius(radius), _check_radius(max_radius)
    if radius > max_radius:
        raise ValueError(f"radius must be <= max_radius, got {radius} > {max_radius}")
    if not 0 <= accept < 0.25:
        raise ValueError(f"accept must be in [0, 1/4), got {accept!r}")

    def make_iterate(f):
        state = {"radius": radius}

        def iterate(x, fx, g):
            r = state["radius"]
            if r <= 4 * np.finfo(float).eps * (1 + _norm(x)):
                return None
            trial = solve(f, x, g, r)
            x_new = x + trial.step
            f_new = float(f.value(x_new))
            ared = fx - f_new if np.isfinite(f_new) else -np.inf
            ratio = ared / trial.predicted if trial.predicted > 0 else -np.inf
            state["radius"] = next_radius(r, ratio, _norm(trial.step), max_radius)
            if ratio > accept:
                return _Step(x_new, f_new, f.grad(x_new), r)
            return _Step(x, fx, g, r)

        return iterate

    return _solve("trust_region", f, x0, make_iterate, steps=steps, tol=tol, **run)
