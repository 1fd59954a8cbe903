"""The driver loop: run an optimizer on an objective and record what happened.

    res = minimize(f, x0, adam(0.1), steps=500)
    res = minimize(f, x0, "gd", lr=0.01)
    res = minimize(f, x0, "lbfgs")            # second-order methods, see second_order.py

A start of shape ``(B, dim)`` runs B trajectories at once; each stops on its
own (converged or diverged) while the others go on, and the Result holds one
entry per trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .functions import FiniteSum, Objective, inner
from .optimizers import Transform, sgd
from .static import progress_bar, static_mode

__all__ = ["minimize", "Result", "History", "register_method", "METHODS", "DIVERGENCE_FACTOR"]

#: A run is 'diverged' once |f| > DIVERGENCE_FACTOR * (1 + |f(x0)|), or a value is not finite.
DIVERGENCE_FACTOR = 1e10

#: Named methods: name -> solver(f, x0, *, steps, tol, callback, progress, **options) -> Result.
METHODS: dict[str, Callable[..., Result]] = {}


@dataclass
class History:
    """What a run visited: ``x`` (T+1, ..., dim), ``f`` and ``grad_norm`` (T+1, ...),
    and ``lr`` (T, ...), the learning rate used for each of the T steps.

    Entries of a trajectory that stopped early repeat its last point.
    """

    x: np.ndarray
    f: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray


@dataclass
class Result:
    """The outcome of ``minimize``.

    ``x`` and ``fun`` are the last finite point and its value; ``nit`` the
    number of steps taken; ``nfev``, ``ngev``, ``nhev`` the number of
    evaluations of f, its gradient and its Hessian (or Hessian-vector
    products); ``status`` is 'converged' (gradient norm below tol),
    'max_steps' or 'diverged'. For a batch of starts, each is an array.
    """

    x: np.ndarray
    fun: float | np.ndarray
    nit: int | np.ndarray
    nfev: int | np.ndarray
    ngev: int | np.ndarray
    nhev: int | np.ndarray
    status: str | np.ndarray
    history: History
    method: str

    def __repr__(self):
        return (
            f"Result(method={self.method!r}, status={self.status!r}, fun={self.fun!r}, "
            f"nit={self.nit!r}, nfev={self.nfev!r}, ngev={self.ngev!r}, nhev={self.nhev!r})"
        )


def register_method(name):
    """Register a solver under ``name`` so that ``minimize(f, x0, name)`` runs it."""

    def decorate(solver):
        METHODS[name] = solver
        return solver

    return decorate


def minimize(f, x0, method, steps=1000, tol=1e-6, batch_size=None, seed=0, drop_last=False,
             callback=None, progress=False, **options):
    """Minimize ``f`` from ``x0`` with a first-order transform or a named method.

    Parameters
    ----------
    f : Objective
    x0 : array of shape (dim,), or (B, dim) for B trajectories at once.
    method : a Transform (``ol.adam(0.1)``) or a name in ``METHODS``
        ('gd' takes ``lr=``; 'newton', 'bfgs', 'lbfgs', 'hessian_free').
    steps : the maximum number of steps.
    tol : stop a trajectory as 'converged' once ||grad f|| < tol.
    batch_size : for a finite sum, use mini-batch gradients over shuffled
        epochs; the gradient is then noisy, so runs are not tested for
        convergence and ``history.grad_norm`` records the mini-batch norm.
    seed : seeds the shuffling.
    drop_last : with ``batch_size``, skip each epoch's last batch when it is
        short (n_samples not a multiple of batch_size), so that every step
        averages exactly ``batch_size`` samples, as torch's
        ``DataLoader(drop_last=True)``; an epoch is then
        floor(n_samples / batch_size) steps.
    callback : called as ``callback(t, x, fx)`` after every step.
    progress : show a progress bar (in Jupyter or a terminal; never in the
        static book, where it would stay at 0 %, see ``optlib.static``).
    """
    if not isinstance(f, Objective):
        raise TypeError(f"f must be an optlib Objective, got {type(f).__name__}")
    x0 = f._point(x0, "x0")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    run = dict(steps=int(steps), tol=float(tol), callback=callback,
               progress=bool(progress) and not static_mode())
    if drop_last and batch_size is None:
        raise ValueError("drop_last needs batch_size: without mini-batches there is no last batch")
    if batch_size is not None:
        options.update(batch_size=batch_size, seed=seed)
    if drop_last:
        options.update(drop_last=True)
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; expected one of {sorted(METHODS)}")
        return METHODS[method](f, x0, **run, **options)
    if not isinstance(method, Transform):
        raise TypeError(f"method must be a Transform or a method name, got {type(method).__name__}")
    return run_transform(f, x0, method, **run, **options)


@register_method("gd")
def gradient_descent(f, x0, *, lr, **run):
    """Plain gradient descent, x_{t+1} = x_t - eta grad f(x_t)."""
    return run_transform(f, x0, sgd(lr), name="gd", **run)


def run_transform(f, x0, tx, *, steps, tol, callback=None, progress=False, batch_size=None,
                  seed=0, drop_last=False, name=None):
    """The first-order loop: x_{t+1} = x_t + step, with step from the transform ``tx``."""
    gradient = _gradient_oracle(f, batch_size, seed, drop_last)
    x = np.array(x0, dtype=float)
    state = tx.init(x)
    with np.errstate(all="ignore"):
        fx, g = f.value(x), gradient(x)
        g_norm = _norm(g)
    bound = DIVERGENCE_FACTOR * (1 + np.abs(fx))
    active = np.ones(fx.shape, dtype=bool)
    status = np.full(fx.shape, "max_steps", dtype=object)
    evaluations = np.ones(fx.shape, dtype=int)
    nit = np.zeros(fx.shape, dtype=int)
    _stop(status, active, _is_bad(x, fx, g_norm, bound), "diverged")
    if batch_size is None:
        _stop(status, active, g_norm < tol, "converged")
    record = _Recorder(steps, tx.lr, x, fx, g_norm)
    for t in progress_bar(range(steps), progress, desc=name or "minimize"):
        if not active.any():
            break
        step, state = tx.update(g, state, x)
        with np.errstate(all="ignore"):
            x_new = x + step
            f_new, g_new = f.value(x_new), gradient(x_new)
            g_new_norm = _norm(g_new)
        evaluations += active
        bad = _is_bad(x_new, f_new, g_new_norm, bound)
        moves = active & ~bad
        if not moves.all():
            x_new = np.where(moves[..., None], x_new, x)
            f_new = np.where(moves, f_new, fx)
            g_new = np.where(moves[..., None], g_new, g)
            g_new_norm = np.where(moves, g_new_norm, g_norm)
        x, fx, g, g_norm = x_new, f_new, g_new, g_new_norm
        nit += moves
        _stop(status, active, bad, "diverged")
        if batch_size is None:
            _stop(status, active, g_norm < tol, "converged")
        if moves.any():
            record(x, fx, g_norm)
        if callback is not None:
            callback(t, x, fx)
    return Result(
        x=x, fun=_item(fx), nit=_item(nit), nfev=_item(evaluations), ngev=_item(evaluations),
        nhev=_item(np.zeros_like(nit)), status=_item(status), history=record.history(),
        method=name or "transform",
    )


def _gradient_oracle(f, batch_size, seed, drop_last):
    """The full gradient, or mini-batch gradients over shuffled epochs when batch_size is set."""
    if batch_size is None:
        return f.grad
    if not isinstance(f, FiniteSum):
        raise TypeError("batch_size needs a finite-sum objective such as LogisticRegression")
    if int(batch_size) != batch_size or not 1 <= batch_size <= f.n_samples:
        raise ValueError(f"batch_size must be an integer in [1, {f.n_samples}], got {batch_size!r}")
    batches = minibatches(f.n_samples, int(batch_size), seed, drop_last)
    return lambda x: f.grad(x, batch=next(batches))


def minibatches(n_samples, batch_size, seed=0, drop_last=False):
    """Index arrays of ``batch_size`` samples: each epoch a fresh shuffle, cut into batches.

    The last batch of an epoch is smaller when ``batch_size`` does not divide
    ``n_samples``; with ``drop_last`` it is skipped, and each epoch is
    floor(n_samples / batch_size) full batches. Runs forever; take what you need.
    """
    rng = np.random.default_rng(seed)
    end = n_samples - n_samples % batch_size if drop_last else n_samples
    while True:
        order = rng.permutation(n_samples)
        yield from (order[i:i + batch_size] for i in range(0, end, batch_size))


def _is_bad(x, fx, g_norm, bound):
    """Not finite anywhere (x, f or the gradient), or |f| past the divergence bound."""
    x_finite = np.isfinite(inner(x, x))
    return ~(np.isfinite(fx) & np.isfinite(g_norm) & x_finite) | (np.abs(fx) > bound)


def _stop(status, active, mask, reason):
    newly = active & mask
    status[newly] = reason
    active &= ~newly


def _norm(g):
    return np.sqrt(inner(g, g))


def _item(a):
    """A 0-d array as a plain Python value; a batch stays an array."""
    return a.item() if np.ndim(a) == 0 else a


class _Recorder:
    """Fills preallocated history arrays, one row per step taken."""

    def __init__(self, steps, lr, x, fx, g_norm):
        self.x = np.empty((steps + 1,) + x.shape)
        self.f = np.empty((steps + 1,) + fx.shape)
        self.grad_norm = np.empty((steps + 1,) + fx.shape)
        self.lr, self.rows = lr, 0
        self(x, fx, g_norm)

    def __call__(self, x, fx, g_norm):
        self.x[self.rows], self.f[self.rows], self.grad_norm[self.rows] = x, fx, g_norm
        self.rows += 1

    def history(self):
        rows = self.rows
        return History(self.x[:rows], self.f[:rows], self.grad_norm[:rows],
                       _lr_history(self.lr, rows - 1))


def _lr_history(lr, steps):
    """The learning rate of each step: a schedule evaluated at t = 0..steps-1, or a constant."""
    if lr is None:
        return np.full(steps, np.nan)
    if callable(lr):
        return np.array([lr(t) for t in range(steps)], dtype=float)
    lr = np.asarray(lr, dtype=float)
    return np.broadcast_to(lr, (steps,) + lr.shape)
