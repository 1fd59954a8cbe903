"""Line searches along a direction d: Armijo backtracking and the strong Wolfe conditions
(Nocedal and Wright, algorithms 3.1, 3.5 and 3.6).

    phi(alpha) = f(x + alpha d),   phi'(alpha) = grad f(x + alpha d)' d
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LineSearchResult(NamedTuple):
    """The accepted step ``alpha``, the point ``x + alpha d`` with its value ``fx`` and
    gradient ``g`` (None when the search did not need it), the evaluations the search
    made, and whether it succeeded."""

    alpha: float
    x: np.ndarray
    fx: float
    g: np.ndarray | None
    nfev: int
    ngev: int
    success: bool


def _slope_at_start(f, x, d, fx, g, alpha0):
    if not (np.isfinite(alpha0) and alpha0 > 0):
        raise ValueError(f"alpha0 must be a finite number > 0, got {alpha0!r}")
    fx = float(f.value(x)) if fx is None else float(fx)
    g = f.grad(x) if g is None else g
    slope = float(g @ d)
    if not slope < 0:
        raise ValueError(f"d must be a descent direction (grad f(x)'d < 0), got slope {slope}")
    return fx, slope


def backtracking(f, x, d, fx=None, g=None, alpha0=1.0, c1=1e-4, shrink=0.5, max_iter=60):
    """Backtracking line search for the Armijo (sufficient decrease) condition.

        f(x + alpha d) <= f(x) + c1 alpha grad f(x)'d

    Starts at ``alpha0`` and multiplies alpha by ``shrink`` until the
    condition holds (N&W Alg. 3.1); it fails once alpha d no longer changes x.
    Only values are evaluated; ``g`` of the result is None. ``fx`` and ``g``,
    the value and gradient at x, are evaluated when not given; ``nfev`` counts
    the trial points only.
    """
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must be in (0, 1), got {shrink!r}")
    fx, slope = _slope_at_start(f, x, d, fx, g, alpha0)
    alpha, nfev = float(alpha0), 0
    while nfev < max_iter:
        with np.errstate(all="ignore"):
            x_new = x + alpha * d
        if np.array_equal(x_new, x):
            break  # the step is below the precision of x
        with np.errstate(all="ignore"):
            f_new = float(f.value(x_new))
        nfev += 1
        if f_new <= fx + c1 * alpha * slope:
            return LineSearchResult(alpha, x_new, f_new, None, nfev, 0, True)
        alpha *= shrink
    return LineSearchResult(0.0, x, fx, None, nfev, 0, False)


def strong_wolfe(f, x, d, fx=None, g=None, alpha0=1.0, c1=1e-4, c2=0.9, max_iter=30):
    """Line search for the strong Wolfe conditions (N&W Alg. 3.5 and 3.6).

        f(x + alpha d) <= f(x) + c1 alpha grad f(x)'d         (sufficient decrease)
        |grad f(x + alpha d)'d| <= c2 |grad f(x)'d|            (curvature)

    A bracketing phase grows alpha from ``alpha0`` until an interval is known to
    contain acceptable steps; ``zoom`` then shrinks it. New trial steps are the
    minimizers of the cubic that matches phi and phi' at the two ends
    (N&W eq. 3.59), safeguarded to stay well inside the interval (zoom) or to
    grow alpha between 2x and 10^4 x (bracketing: on a badly scaled quadratic
    the cubic finds the line minimum in one extrapolation). Every trial
    evaluates f and its gradient; ``nfev`` and ``ngev`` count the trials.
    """
    fx, slope = _slope_at_start(f, x, d, fx, g, alpha0)
    search = _WolfeSearch(f, x, d, fx, slope, c1, c2, max_iter)
    return search.run(float(alpha0))


class _WolfeSearch:
    def __init__(self, f, x, d, fx, slope, c1, c2, max_iter):
        self.f, self.x, self.d = f, x, d
        self.f0, self.slope0 = fx, slope
        self.c1, self.c2, self.max_iter = c1, c2, max_iter
        self.nfev = 0

    def phi(self, alpha):
        """A trial point: (alpha, phi(alpha), phi'(alpha), x, g)."""
        with np.errstate(all="ignore"):
            x = self.x + alpha * self.d
            fx, g = float(self.f.value(x)), self.f.grad(x)
            slope = float(g @ self.d)
        self.nfev += 1
        if not (np.isfinite(fx) and np.isfinite(slope)):
            fx, slope = np.inf, np.inf
        return _Trial(alpha, fx, slope, x, g)

    def sufficient_decrease(self, t):
        return t.fx <= self.f0 + self.c1 * t.alpha * self.slope0

    def curvature(self, t):
        return abs(t.slope) <= -self.c2 * self.slope0

    def run(self, alpha):
        previous = _Trial(0.0, self.f0, self.slope0, self.x, None)
        while self.nfev < self.max_iter:
            t = self.phi(alpha)
            if not self.sufficient_decrease(t) or (previous.alpha > 0 and t.fx >= previous.fx):
                return self.zoom(previous, t)
            if self.curvature(t):
                return self.accept(t)
            if t.slope >= 0:
                return self.zoom(t, previous)
            alpha = _cubic_minimizer(previous, t, lo=2 * t.alpha, hi=1e4 * t.alpha)
            previous = t
        return self.fail()

    def zoom(self, lo, hi):
        """Shrink [lo, hi] (lo: the best point so far that has sufficient decrease)."""
        while self.nfev < self.max_iter:
            width = hi.alpha - lo.alpha
            inner = sorted((lo.alpha + 0.1 * width, hi.alpha - 0.1 * width))
            t = self.phi(_cubic_minimizer(lo, hi, *inner))
            if not self.sufficient_decrease(t) or t.fx >= lo.fx:
                hi = t
            else:
                if self.curvature(t):
                    return self.accept(t)
                if t.slope * (hi.alpha - lo.alpha) >= 0:
                    hi = lo
                lo = t
            if abs(hi.alpha - lo.alpha) <= 1e-16 * max(1.0, abs(lo.alpha)):
                break
        return self.fail()

    def accept(self, t):
        return LineSearchResult(t.alpha, t.x, t.fx, t.g, self.nfev, self.nfev, True)

    def fail(self):
        return LineSearchResult(0.0, self.x, self.f0, None, self.nfev, self.nfev, False)


class _Trial(NamedTuple):
    alpha: float
    fx: float
    slope: float
    x: np.ndarray
    g: np.ndarray | None


def _cubic_minimizer(a, b, lo, hi):
    """The minimizer of the cubic interpolating phi and phi' at trials a and b (N&W 3.59),
    clipped to [lo, hi]; the midpoint of [lo, hi] when the cubic has no minimizer."""
    with np.errstate(all="ignore"):
        d1 = a.slope + b.slope - 3 * (a.fx - b.fx) / (a.alpha - b.alpha)
        d2 = np.sign(b.alpha - a.alpha) * np.sqrt(d1**2 - a.slope * b.slope)
        trial = b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2)
    if not np.isfinite(trial):
        return 0.5 * (lo + hi)
    return float(np.clip(trial, lo, hi))


