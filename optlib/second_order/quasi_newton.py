"""Quasi-Newton methods: BFGS and L-BFGS (Nocedal and Wright, chapters 6 and 7)."""

from __future__ import annotations

import numpy as np

from ..minimize import register_method
from .driver import _finish, _norm, _solve
from .line_search import strong_wolfe


def _first_step_length(g):
    """alpha_0 for the first iteration along -g: a step of unit length, 1 / ||g||."""
    return 1.0 / max(_norm(g), 1e-300)


@register_method("bfgs")
def bfgs(f, x0, *, steps, tol, c1=1e-4, c2=0.9, **run):
    """BFGS with the inverse-Hessian update and a strong-Wolfe line search (N&W Alg. 6.1).

    p_t = -Y_t g_t, x_{t+1} = x_t + alpha_t p_t, s = x_{t+1} - x_t,
    y = g_{t+1} - g_t, rho = 1 / y's (Y_t is the book's inverse-Hessian
    approximation, N&W's H_k; s and y its curvature pair), and

        Y_{t+1} = (I - rho s y') Y_t (I - rho y s') + rho s s'.

    Y_0 = I for the first step (tried with a step of unit length), then
    rescaled to (s'y / y'y) I before the first update (N&W eq. 6.20). The Wolfe
    conditions keep y's > 0, so every Y_t stays positive definite; an update
    with y's <= 0 (possible only through rounding) is skipped.
    """

    def make_iterate(f):
        Y = None

        def iterate(x, fx, g):
            nonlocal Y
            p = -g if Y is None else -(Y @ g)
            alpha0 = _first_step_length(g) if Y is None else 1.0
            step = _finish(f, strong_wolfe(f, x, p, fx, g, alpha0, c1, c2))
            if step is None:
                return None
            s, y = step.x - x, step.g - g
            sy = float(s @ y)
            if sy > 0:
                Y = (sy / float(y @ y)) * np.eye(x.size) if Y is None else Y
                Y = _bfgs_update(Y, s, y, 1.0 / sy)
            return step

        return iterate

    return _solve("bfgs", f, x0, make_iterate, steps=steps, tol=tol, **run)


def _bfgs_update(Y, s, y, rho):
    """(I - rho s y') Y (I - rho y s') + rho s s', expanded to rank-two terms."""
    Yy = Y @ y
    return (Y - rho * (np.outer(Yy, s) + np.outer(s, Yy))
            + (rho**2 * float(y @ Yy) + rho) * np.outer(s, s))


@register_method("lbfgs")
def lbfgs(f, x0, *, steps, tol, m=10, c1=1e-4, c2=0.9, **run):
    """Limited-memory BFGS: the two-loop recursion over the last ``m`` pairs (N&W Alg. 7.4, 7.5).

    The direction p_t = -Y_t g_t applies the BFGS inverse-Hessian update m
    times to Y_t^0 = gamma_t I, gamma_t = s'y / y'y of the newest pair
    (N&W eq. 7.20), without forming any matrix: O(m dim) time and memory per
    iteration. The first step goes along -g with a step of unit length; the
    step length comes from the strong-Wolfe search, first trying alpha = 1.
    """
    if int(m) != m or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")

    def make_iterate(f):
        pairs = []

        def iterate(x, fx, g):
            p = -_two_loop(g, pairs)
            alpha0 = _first_step_length(g) if not pairs else 1.0
            step = _finish(f, strong_wolfe(f, x, p, fx, g, alpha0, c1, c2))
            if step is None:
                return None
            s, y = step.x - x, step.g - g
            sy = float(s @ y)
            if sy > 0:
                pairs.append((s, y, 1.0 / sy))
                del pairs[:-int(m)]
            return step

        return iterate

    return _solve("lbfgs", f, x0, make_iterate, steps=steps, tol=tol, **run)


def lbfgs_direction(g, pairs):
    """C g for the L-BFGS inverse-Hessian approximation C built from ``pairs`` by the
    two-loop recursion (N&W Alg. 7.4).

    ``pairs`` lists the curvature pairs (s, y) = (x_{i+1} - x_i, g_{i+1} - g_i),
    oldest first, each with s'y > 0. C is what the BFGS update makes of
    gamma I, gamma = s'y / y'y of the newest pair (N&W eq. 7.20), applying the
    pairs in order; no pair gives C = I. The direction of L-BFGS is -C g.
    """
    g = np.asarray(g, dtype=float)
    with_rho = []
    for s, y in pairs:
        s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
        if s.shape != g.shape or y.shape != g.shape:
            raise ValueError(f"each pair must hold two vectors of shape {g.shape}")
        sy = float(s @ y)
        if not sy > 0:
            raise ValueError(f"every pair needs s'y > 0, got {sy}")
        with_rho.append((s, y, 1.0 / sy))
    return _two_loop(g, with_rho)


def _two_loop(g, pairs):
    """C g for the L-BFGS inverse-Hessian approximation C built from ``pairs`` (s, y, rho)."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
        b = rho * float(y @ q)
        q += (a - b) * s
    return q


