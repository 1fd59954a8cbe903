"""Hessian-free optimization: truncated conjugate gradient on Hessian-vector products
(Martens 2010)."""

from __future__ import annotations

import numpy as np

from ..minimize import register_method
from .cg import _axpy, conjugate_gradient
from .driver import _finish, _norm, _solve, _Step
from .line_search import backtracking


@register_method("hessian_free")
def hessian_free(f, x0, *, steps, tol, damping=1.0, cg_maxiter=250, warm_start=0.95, c1=1e-4,
                 **run):
    """Hessian-free optimization (Martens 2010): truncated CG on the damped Hessian.

    Each iteration approximately minimizes the damped quadratic model

        q_lambda(p) = g'p + 1/2 p'(H + lambda I) p

    by ``conjugate_gradient`` on the operator v -> H v + lambda v, using
    Hessian-vector products ``f.hvp`` only (H is never formed). CG starts from
    ``warm_start`` times the previous step (Martens' initialization) and stops
    at the relative residual min(1/2, sqrt(||g||)), the inexact-Newton forcing
    sequence that keeps convergence superlinear (N&W Thm. 7.2), after
    ``cg_maxiter`` products, or at negative curvature; its iterate p is used
    when it is a descent direction, else -g / lambda.

    The damping lambda (initially ``damping``) follows Martens'
    Levenberg-Marquardt rule on the reduction ratio of the undamped model,
    rho = (f(x + p) - f(x)) / (g'p + 1/2 p'Hp): lambda *= 3/2 if rho < 1/4 and
    lambda *= 2/3 if rho > 3/4. The step is x + p when it satisfies the Armijo
    condition, else the backtracking search shortens it (Martens Sec. 4.6).
    Martens uses the Gauss-Newton matrix, which needs a model's structure;
    with the Hessian, CG's negative-curvature test keeps p a descent direction.
    """
    if not damping > 0:
        raise ValueError(f"damping must be > 0, got {damping!r}")
    if not 0 <= warm_start < 1:
        raise ValueError(f"warm_start must be in [0, 1), got {warm_start!r}")
    if int(cg_maxiter) != cg_maxiter or cg_maxiter < 1:
        raise ValueError(f"cg_maxiter must be a positive integer, got {cg_maxiter!r}")

    def make_iterate(f):
        state = {"damping": float(damping), "previous": None}

        def iterate(x, fx, g):
            lam = state["damping"]
            p = _damped_newton_direction(f, x, g, lam, state.pop("previous"), warm_start,
                                         int(cg_maxiter))
            slope = float(g @ p)
            predicted = slope + 0.5 * float(p @ f.hvp(x, p))
            x_new = x + p
            f_new = float(f.value(x_new))
            ratio = (f_new - fx) / predicted if predicted < 0 and np.isfinite(f_new) else -np.inf
            state["damping"] = lam * (1.5 if ratio < 0.25 else 2 / 3 if ratio > 0.75 else 1.0)
            state["previous"] = p
            if f_new <= fx + c1 * slope:
                return _Step(x_new, f_new, f.grad(x_new), 1.0)
            del x_new
            return _finish(f, backtracking(f, x, p, fx, g, 0.5, c1))

        return iterate

    return _solve("hessian_free", f, x0, make_iterate, steps=steps, tol=tol, **run)


def _damped_newton_direction(f, x, g, lam, previous, warm_start, maxiter):
    """Truncated CG on (H + lam I) p = -g; a descent direction in every case.

    CG solves for q = -p, (H + lam I) q = g, so that -g is never stored; the
    start is warm_start times the previous step when that goes downhill.
    """

    def damped(v):
        Bv = f.hvp(x, v)
        _axpy(lam, v, Bv)
        return Bv

    start = previous
    if start is not None:
        start *= -warm_start
        if not float(g @ start) > 0:
            start = None
    rtol = min(0.5, np.sqrt(_norm(g)))
    p = conjugate_gradient(damped, g, x0=start, rtol=rtol, maxiter=maxiter,
                           overwrite_x0=True).x
    del start, previous
    p *= -1
    if float(g @ p) < 0:
        return p
    return -g / lam

