"""Schedules: callables t -> eta_t (or t -> beta_t), with t = 0, 1, 2, ... the step count.

Pass one as ``lr`` to any transform: ``ol.sgd(ol.schedules.cosine(0.1, 1000))``,
or a momentum schedule as ``momentum``:
``ol.sgd(0.1, momentum=ol.schedules.nesterov_momentum(), nesterov=True)``.
Each schedule works on an integer t or an array of them, so a whole curve is
one call: ``schedule(np.arange(1000))``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["constant", "linear_decay", "inverse_time", "exponential", "step", "cosine", "warmup",
           "nesterov_momentum"]


def _positive(name, value):
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _count(name, value):
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _steps(t):
    return np.asarray(t, dtype=float)


def _scalar_if_scalar(t, value):
    return float(value) if np.ndim(t) == 0 else value


def constant(lr):
    """eta_t = eta."""
    lr = _positive("lr", lr)
    return lambda t: _scalar_if_scalar(t, np.full(np.shape(t), lr))


def linear_decay(lr0, lr_tau, tau):
    """The linear decay of Goodfellow, Bengio and Courville (2016, sec. 8.3.1).

        eta_t = (1 - t/tau) eta_0 + (t/tau) eta_tau   for t <= tau,
        eta_t = eta_tau                               after.

    They suggest eta_tau of about eta_0 / 100.
    """
    lr0, lr_tau, tau = _positive("lr0", lr0), _positive("lr_tau", lr_tau), _count("tau", tau)

    def schedule(t):
        alpha = np.minimum(_steps(t) / tau, 1.0)
        return _scalar_if_scalar(t, (1 - alpha) * lr0 + alpha * lr_tau)

    return schedule


def inverse_time(lr0, t0):
    """eta_t = eta_0 / (1 + t / t0): the 1/t decay that meets the Robbins-Monro conditions.

    sum_t eta_t diverges while sum_t eta_t^2 converges (Robbins and Monro 1951);
    the step halves at t = t0.
    """
    lr0, t0 = _positive("lr0", lr0), _positive("t0", t0)
    if t0 == 0:
        raise ValueError("t0 must be positive")
    return lambda t: _scalar_if_scalar(t, lr0 / (1 + _steps(t) / t0))


def exponential(lr0, gamma):
    """eta_t = eta_0 gamma^t, with the shrink factor 0 < gamma <= 1."""
    lr0 = _positive("lr0", lr0)
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must lie in (0, 1], got {gamma!r}")
    return lambda t: _scalar_if_scalar(t, lr0 * gamma ** _steps(t))


def step(lr0, every, factor=0.1):
    """eta_t = eta_0 gamma^floor(t / T_s): multiply by gamma = ``factor`` every T_s = ``every``
    steps."""
    lr0, every = _positive("lr0", lr0), _count("every", every)
    if not 0 < factor <= 1:
        raise ValueError(f"factor must lie in (0, 1], got {factor!r}")
    return lambda t: _scalar_if_scalar(t, lr0 * factor ** np.floor(_steps(t) / every))


def cosine(lr0, total, lr_min=0.0):
    """Cosine annealing (Loshchilov and Hutter 2017), without restarts, over T = ``total`` steps.

        eta_t = eta_T + (eta_0 - eta_T) (1 + cos(pi min(t, T) / T)) / 2,   eta_T = ``lr_min``
    """
    lr0, lr_min, total = _positive("lr0", lr0), _positive("lr_min", lr_min), _count("total", total)

    def schedule(t):
        progress = np.minimum(_steps(t), total) / total
        return _scalar_if_scalar(t, lr_min + (lr0 - lr_min) * 0.5 * (1 + np.cos(np.pi * progress)))

    return schedule


def warmup(schedule, steps):
    """Linear warm-up over T_w = ``steps`` steps of any schedule (or a constant lr):

        eta_t = min(1, (t + 1) / T_w) schedule(t).

    Goyal et al. (2017) warmed up to train with large mini-batches, whose large
    learning rates (the linear scaling rule) made the first full-size steps
    diverge. For Adam, Liu et al. (2020, "On the Variance of the Adaptive
    Learning Rate and Beyond") trace its benefit to the second-moment
    estimate, which rests on few gradients early in training.
    """
    if not callable(schedule):
        schedule = constant(schedule)
    steps = _count("steps", steps)

    def warmed(t):
        factor = np.minimum((_steps(t) + 1) / steps, 1.0)
        return _scalar_if_scalar(t, factor * np.asarray(schedule(t)))

    return warmed


def nesterov_momentum():
    """Nesterov's (1983) momentum schedule for smooth convex losses.

        beta_t = (t - 1) / (t + 2)   for t >= 1,   beta_0 = 0.

    With ``ol.sgd(1 / smoothness, momentum=nesterov_momentum(), nesterov=True)``
    the transform's iterates are the look-ahead points phi_t, and the gradient
    steps from them, theta_{t+1} = phi_t - grad f(phi_t) / smoothness, satisfy
    f(theta_t) - f* <= 2 smoothness ||theta_0 - theta*||^2 / (t + 1)^2 on a
    smooth convex f (Nesterov 1983; the constant 2 is Su, Boyd and Candes's,
    2016). beta_0 multiplies an empty buffer, so its value does not matter; 0
    keeps every coefficient in [0, 1).
    """

    def schedule(t):
        steps = _steps(t)
        return _scalar_if_scalar(t, np.where(steps >= 1, (steps - 1) / (steps + 2), 0.0))

    return schedule
