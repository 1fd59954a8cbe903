"""Second-order and quasi-Newton methods: line searches, conjugate gradient, Newton,
BFGS, L-BFGS and Hessian-free optimization.

    res = minimize(f, x0, "gd_backtracking") # steepest descent, Armijo step sizes
    res = minimize(f, x0, "newton")          # Hessian, modified when not positive definite
    res = minimize(f, x0, "bfgs")            # dense inverse-Hessian approximation
    res = minimize(f, x0, "lbfgs", m=10)     # the last m curvature pairs only
    res = minimize(f, x0, "hessian_free")    # truncated CG on Hessian-vector products

Every method takes one start ``x0`` of shape ``(dim,)``, counts every
evaluation it makes (those inside line searches too) in ``nfev`` (values),
``ngev`` (gradients) and ``nhev`` (Hessians, or Hessian-vector products for
Hessian-free), and records ``history.lr`` as the accepted step length alpha_t of
each iteration x_{t+1} = x_t + alpha_t p_t. Besides 'converged', 'max_steps' and
'diverged', a run can end 'stalled': the line search found no point that
decreases f enough, which in floating point happens when f cannot be
decreased any further at the precision of its values.

``record_x=False`` keeps only ``f``, ``grad_norm`` and ``lr`` in the history
(``history.x`` is then empty, of shape ``(0, dim)``): for problems so large
that one copy of x per iteration does not fit in memory.

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed.,
Springer 2006 (N&W); J. Martens, "Deep learning via Hessian-free optimization",
ICML 2010.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from .minimize import DIVERGENCE_FACTOR, History, Result, register_method

__all__ = [
    "LineSearchResult",
    "backtracking",
    "strong_wolfe",
    "CGResult",
    "conjugate_gradient",
    "modified_hessian",
    "newton",
    "bfgs",
    "lbfgs",
    "hessian_free",
]


# ---------------------------------------------------------------------------
# Line searches: phi(alpha) = f(x + alpha d), phi'(alpha) = grad f(x + alpha d)' d
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Linear conjugate gradient on an operator v -> B v
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The driver shared by the methods
# ---------------------------------------------------------------------------


class _Counted:
    """The objective with a count of every evaluation."""

    def __init__(self, f):
        self.f = f
        self.nfev = self.ngev = self.nhev = 0

    def value(self, x):
        self.nfev += 1
        return self.f.value(x)

    def grad(self, x):
        self.ngev += 1
        return self.f.grad(x)

    def hess(self, x):
        self.nhev += 1
        return self.f.hess(x)

    def hvp(self, x, v):
        self.nhev += 1
        return self.f.hvp(x, v)


@dataclass
class _Step:
    """One iteration's outcome: the new point, its value and gradient, the step length."""

    x: np.ndarray
    fx: float
    g: np.ndarray
    alpha: float


class _Trace:
    def __init__(self, x, fx, g, record_x):
        self.record_x = record_x
        self.x = [x.copy()] if record_x else []
        self.f, self.grad_norm, self.lr = [fx], [_norm(g)], []
        self.dim = x.shape[-1]

    def __call__(self, step):
        if self.record_x:
            self.x.append(step.x.copy())
        self.f.append(step.fx)
        self.grad_norm.append(_norm(step.g))
        self.lr.append(step.alpha)

    def history(self):
        x = np.stack(self.x) if self.x else np.zeros((0, self.dim))
        return History(x, np.array(self.f), np.array(self.grad_norm), np.array(self.lr))


def _norm(g):
    return float(np.sqrt(g @ g))


def _single_start(x0, method, batch_size):
    if batch_size is not None:
        raise ValueError(f"{method!r} uses full gradients; batch_size is not supported")
    x0 = np.asarray(x0, dtype=float)  # never modified: every step makes a new array
    if x0.ndim != 1:
        raise ValueError(
            f"{method!r} takes one start x0 of shape (dim,); got shape {x0.shape} "
            "(run batched starts one at a time)"
        )
    return x0


def _drive(name, f, x0, iterate, *, steps, tol, callback, progress, record_x):
    """The loop: ``iterate(x, fx, g) -> _Step`` (None when no acceptable step exists)."""
    x = x0
    fx, g = float(f.value(x)), f.grad(x)
    bound = DIVERGENCE_FACTOR * (1 + abs(fx))
    trace = _Trace(x, fx, g, record_x)
    nit, status = 0, "max_steps"
    if _is_bad(fx, g, bound):
        status = "diverged"
    elif _norm(g) < tol:
        status = "converged"
    else:
        for t in tqdm(range(steps), disable=not progress, desc=name):
            with np.errstate(all="ignore"):
                step = iterate(x, fx, g)
            if step is None:
                status = "stalled"
                break
            if _is_bad(step.fx, step.g, bound):
                status = "diverged"
                break
            x, fx, g = step.x, step.fx, step.g
            nit += 1
            trace(step)
            if callback is not None:
                callback(t, x, fx)
            if _norm(g) < tol:
                status = "converged"
                break
    return Result(x=x, fun=fx, nit=nit, nfev=f.nfev, ngev=f.ngev, nhev=f.nhev, status=status,
                  history=trace.history(), method=name)


def _is_bad(fx, g, bound):
    return not (np.isfinite(fx) and abs(fx) <= bound and np.all(np.isfinite(g)))


def _solve(name, f, x0, make_iterate, *, steps, tol, callback=None, progress=False,
           record_x=True, batch_size=None, seed=None):
    del seed  # the methods are deterministic
    x0 = _single_start(x0, name, batch_size)
    counted = _Counted(f)
    return _drive(name, counted, x0, make_iterate(counted), steps=steps, tol=tol,
                  callback=callback, progress=progress, record_x=record_x)


def _line_search(name, c1, c2):
    if name == "armijo":
        return lambda f, x, d, fx, g, alpha0: backtracking(f, x, d, fx, g, alpha0, c1)
    if name == "wolfe":
        return lambda f, x, d, fx, g, alpha0: strong_wolfe(f, x, d, fx, g, alpha0, c1, c2)
    raise ValueError(f"line_search must be 'armijo' or 'wolfe', got {name!r}")


def _finish(f, search):
    """A _Step from a line search result, evaluating the gradient if the search did not."""
    if not search.success:
        return None
    g = f.grad(search.x) if search.g is None else search.g
    return _Step(search.x, search.fx, g, search.alpha)


# ---------------------------------------------------------------------------
# Gradient descent with a line search
# ---------------------------------------------------------------------------


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
def newton(f, x0, *, steps, tol, line_search="armijo", c1=1e-4, c2=0.9, delta=1e-8, **run):
    """Newton's method with a line search: x_{t+1} = x_t + alpha_t p_t, B_t p_t = -g_t.

    B_t is the Hessian H_t when it is positive definite; otherwise the
    eigenvalue modification of ``modified_hessian`` (|lambda_i|, floored at
    ``delta`` relative to the largest), so p_t is always a descent direction
    (N&W Sec. 3.4). The step length alpha_t comes from backtracking from 1
    (``line_search='armijo'``, the default, needs values only) or from the
    strong-Wolfe search (``'wolfe'``). Near a minimizer with positive definite
    Hessian alpha_t = 1 is accepted and convergence is quadratic (N&W Thm. 3.5).
    """
    search = _line_search(line_search, c1, c2)

    def make_iterate(f):
        def iterate(x, fx, g):
            B = modified_hessian(f.hess(x), delta)
            p = -np.linalg.solve(B, g)
            return _finish(f, search(f, x, p, fx, g, 1.0))

        return iterate

    return _solve("newton", f, x0, make_iterate, steps=steps, tol=tol, **run)


# ---------------------------------------------------------------------------
# Quasi-Newton: BFGS and L-BFGS
# ---------------------------------------------------------------------------


def _first_step_length(g):
    """alpha_0 for the first iteration along -g: a step of unit length, 1 / ||g||."""
    return 1.0 / max(_norm(g), 1e-300)


@register_method("bfgs")
def bfgs(f, x0, *, steps, tol, c1=1e-4, c2=0.9, **run):
    """BFGS with the inverse-Hessian update and a strong-Wolfe line search (N&W Alg. 6.1).

    p_t = -M_t g_t, x_{t+1} = x_t + alpha_t p_t, s = x_{t+1} - x_t,
    y = g_{t+1} - g_t, rho = 1 / y's, and

        M_{t+1} = (I - rho s y') M_t (I - rho y s') + rho s s'.

    M_0 = I for the first step (tried with a step of unit length), then
    rescaled to (s'y / y'y) I before the first update (N&W eq. 6.20). The Wolfe
    conditions keep y's > 0, so every M_t stays positive definite; an update
    with y's <= 0 (possible only through rounding) is skipped.
    """

    def make_iterate(f):
        M = None

        def iterate(x, fx, g):
            nonlocal M
            p = -g if M is None else -(M @ g)
            alpha0 = _first_step_length(g) if M is None else 1.0
            step = _finish(f, strong_wolfe(f, x, p, fx, g, alpha0, c1, c2))
            if step is None:
                return None
            s, y = step.x - x, step.g - g
            sy = float(s @ y)
            if sy > 0:
                M = (sy / float(y @ y)) * np.eye(x.size) if M is None else M
                M = _bfgs_update(M, s, y, 1.0 / sy)
            return step

        return iterate

    return _solve("bfgs", f, x0, make_iterate, steps=steps, tol=tol, **run)


def _bfgs_update(M, s, y, rho):
    """(I - rho s y') M (I - rho y s') + rho s s', expanded to rank-two terms."""
    My = M @ y
    return (M - rho * (np.outer(My, s) + np.outer(s, My))
            + (rho**2 * float(y @ My) + rho) * np.outer(s, s))


@register_method("lbfgs")
def lbfgs(f, x0, *, steps, tol, m=10, c1=1e-4, c2=0.9, **run):
    """Limited-memory BFGS: the two-loop recursion over the last ``m`` pairs (N&W Alg. 7.4, 7.5).

    The direction p_t = -M_t g_t applies the BFGS inverse-Hessian update m
    times to M_t^0 = gamma_t I, gamma_t = s'y / y'y of the newest pair
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


def _two_loop(g, pairs):
    """M g for the L-BFGS inverse-Hessian approximation M built from ``pairs`` (s, y, rho)."""
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


# ---------------------------------------------------------------------------
# Hessian-free optimization
# ---------------------------------------------------------------------------


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

