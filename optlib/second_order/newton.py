"""Gradient descent with Armijo steps, Newton's method (plain, or with a modified Hessian),
and Newton's method with Levenberg-Marquardt damping."""

from __future__ import annotations

import numpy as np

from ..minimize import register_method
from .driver import _finish, _line_search, _solve, _Step
from .line_search import backtracking


@register_method("gd_backtracking")
def gd_backtracking(f, x0, *, steps, tol, lr0=1.0, warm_start=False, c1=1e-4, shrink=0.5, **run):
    """Gradient descent whose step size comes from Armijo backtracking along -g_t.

        x_{t+1} = x_t - eta_t g_t,  eta_t the first of a, shrink a, shrink^2 a, ...
        with f(x_t - eta g_t) <= f(x_t) - c1 eta ||g_t||^2      (N&W Alg. 3.1)

    Each search starts from a = lr0, or, with ``warm_start``, from
    a = min(lr0, 2 eta_{t-1}), which spends far fewer evaluations once the
    step size has settled. ``history.lr`` holds the accepted eta_t.
    """

    def make_iterate(f):
        previous = None

        def iterate(x, fx, g):
            nonlocal previous
            trial = min(lr0, 2 * previous) if warm_start and previous is not None else lr0
            step = _finish(f, backtracking(f, x, -g, fx, g, trial, c1, shrink))
            previous = None if step is None else step.alpha
            return step

        return iterate

    return _solve("gd_backtracking", f, x0, make_iterate, steps=steps, tol=tol, **run)


# ---------------------------------------------------------------------------
# Newton's method
# ---------------------------------------------------------------------------


def modified_hessian(H, delta=1e-8):
    """A positive definite matrix close to the symmetric matrix ``H``.

    An eigenvalue modification in the spirit of N&W Sec. 3.4: with
    H = Q diag(lambda) Q', return Q diag(max(|lambda_i|, delta_rel)) Q', where
    delta_rel = delta max(1, max |lambda|). N&W's version raises negative
    eigenvalues to a small delta, which makes the step huge along them; here
    negative curvature is flipped instead, so the Newton step -B^{-1} g moves
    away from a saddle along its negative-curvature directions with the step
    length that curvature calls for (the |H| of Dauphin et al. 2014's
    saddle-free Newton). Where H is positive definite and not nearly singular,
    B = H and the step is the pure Newton step.
    """
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {H.shape}")
    eigenvalues, Q = np.linalg.eigh(0.5 * (H + H.T))
    floor = delta * max(1.0, float(np.max(np.abs(eigenvalues))))
    return (Q * np.maximum(np.abs(eigenvalues), floor)) @ Q.T


@register_method("newton")
def newton(f, x0, *, steps, tol, line_search="armijo", modify=True, c1=1e-4, c2=0.9, delta=1e-8,
           **run):
    """Newton's method with a line search: x_{t+1} = x_t + alpha_t p_t, B_t p_t = -g_t.

    B_t is the Hessian H_t when it is positive definite; otherwise the
    eigenvalue modification of ``modified_hessian`` (|lambda_i|, floored at
    ``delta`` relative to the largest), so p_t is always a descent direction
    (N&W Sec. 3.4). The step length alpha_t comes from backtracking from 1
    (``line_search='armijo'``, the default, needs values only) or from the
    strong-Wolfe search (``'wolfe'``). Near a minimizer with positive definite
    Hessian alpha_t = 1 is accepted and convergence is quadratic (N&W Thm. 3.5).

    ``modify=False, line_search=None`` is the plain Newton iteration
    x_{t+1} = x_t - H_t^{-1} g_t, which converges to whatever critical point
    is near, saddles and maxima included. Without the modification a line
    search stalls where -H_t^{-1} g_t is not a descent direction.
    """
    search = None if line_search is None else _line_search(line_search, c1, c2)

    def make_iterate(f):
        def iterate(x, fx, g):
            H = f.hess(x)
            p = -np.linalg.solve(modified_hessian(H, delta) if modify else H, g)
            if search is None:
                return _full_step(f, x, p)
            if not float(g @ p) < 0:
                return None
            return _finish(f, search(f, x, p, fx, g, 1.0))

        return iterate

    return _solve("newton", f, x0, make_iterate, steps=steps, tol=tol, **run)


def _full_step(f, x, p):
    x_new = x + p
    return _Step(x_new, float(f.value(x_new)), f.grad(x_new), 1.0)


# ---------------------------------------------------------------------------
# Levenberg-Marquardt damping
# ---------------------------------------------------------------------------


def damped_newton_step(H, g, damping):
    """The Levenberg-Marquardt step -(H + nu I)^{-1} g for ``damping`` nu >= 0.

    nu = 0 is the Newton step; as nu grows the step turns towards -g / nu, a
    short gradient step. For nu > -lambda_min(H) it is the exact solution of
    the trust-region subproblem whose radius is its own length (N&W Thm. 4.1).
    """
    H, g = np.asarray(H, dtype=float), np.asarray(g, dtype=float)
    if not (np.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping must be a finite number >= 0, got {damping!r}")
    return -np.linalg.solve(H + damping * np.eye(g.size), g)


@register_method("levenberg_marquardt")
def levenberg_marquardt(f, x0, *, steps, tol, damping=1.0, **run):
    """Newton's method with Levenberg-Marquardt damping adapted by the model's accuracy.

    Each iteration tries p = -(H_t + nu_t I)^{-1} g_t and compares the actual
    decrease with the one the quadratic model predicts,
    ratio = (f(x_t) - f(x_t + p)) / -(g_t'p + 1/2 p'H_t p). The damping follows
    Martens' rule (2010, sec. 4.1): nu *= 2/3 if ratio > 3/4, nu *= 3/2 if
    ratio < 1/4; x_t + p is taken when it decreases f, else x stays and the
    next iteration tries again with the larger nu (the history repeats the
    point). Where H_t + nu_t I is not positive definite, nu_t is raised to
    twice the magnitude of H_t's most negative eigenvalue for that iteration.
    ``history.lr`` holds the nu_t of each iteration.
    """
    if not (np.isfinite(damping) and damping > 0):
        raise ValueError(f"damping must be a finite number > 0, got {damping!r}")

    def make_iterate(f):
        state = {"damping": float(damping)}

        def iterate(x, fx, g):
            H = f.hess(x)
            lowest = float(np.linalg.eigvalsh(H)[0])
            nu = max(state["damping"], -2 * lowest)
            p = damped_newton_step(H, g, nu)
            predicted = -float(g @ p + 0.5 * p @ H @ p)
            x_new = x + p
            f_new = float(f.value(x_new))
            ratio = (fx - f_new) / predicted if predicted > 0 and np.isfinite(f_new) else -np.inf
            state["damping"] = nu * (2 / 3 if ratio > 0.75 else 1.5 if ratio < 0.25 else 1.0)
            if ratio > 0:
                return _Step(x_new, f_new, f.grad(x_new), nu)
            return _Step(x, fx, g, nu)

        return iterate

    return _solve("levenberg_marquardt", f, x0, make_iterate, steps=steps, tol=tol, **run)
