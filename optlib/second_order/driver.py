"""The loop the second-order methods share: counted evaluations, a trace of the
iterates, divergence and stalling, and the Result they return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..minimize import DIVERGENCE_FACTOR, History, Result
from ..static import progress_bar
from .line_search import backtracking, strong_wolfe


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
        for t in progress_bar(range(steps), progress, desc=name):
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


