"""The schedule explorer: mini-batch SGD under a learning-rate schedule."""

from __future__ import annotations

import numpy as np

from .. import functions, optimizers, plotting, schedules
from ..minimize import minimize
from .base import Explorer, _dropdown, _slider

#: Learning-rate schedules for a run of T steps: name -> (eta_0, T) -> schedule.
SCHEDULES = {
    "constant": lambda lr, T: schedules.constant(lr),
    "linear decay": lambda lr, T: schedules.linear_decay(lr, lr / 100, T),
    "exponential": lambda lr, T: schedules.exponential(lr, 0.01 ** (1 / T)),
    "step": lambda lr, T: schedules.step(lr, max(1, T // 4), 0.3),
    "cosine": lambda lr, T: schedules.cosine(lr, T),
    "warmup + cosine": lambda lr, T: schedules.warmup(schedules.cosine(lr, T), max(1, T // 10)),
}


def logistic_problem(n_samples=200, seed=0):
    """A 2-D logistic regression with labels drawn from sigma(x'w), w = (1.5, -1), x ~ N(0, I):
    not separable, so the minimizer is finite; its f* is found by Newton's method."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 2))
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-X @ np.array([1.5, -1.0])))).astype(float)
    f = functions.LogisticRegression(X, y)
    w = np.zeros(2)
    for _ in range(30):
        w = w - np.linalg.solve(f.hess(w), f.grad(w))
    return f, w, float(f.value(w))


class ScheduleExplorer(Explorer):
    """Mini-batch SGD with a learning-rate schedule on a 2-D logistic regression.

    Left: contours of the full loss and the noisy path. Middle: the schedule
    eta_t / eta_0. Right: f(theta_t) - f* on the full loss.

    Controls: ``schedule``, ``lr`` (eta_0), ``batch_size``.
    """

    def __init__(self, schedule="constant", lr=0.5, batch_size=10, steps=200, seed=0,
                 start=(-3.0, 3.0)):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
        self.steps, self.seed = int(steps), seed
        self.f, self.w_star, self.f_star = logistic_problem(seed=seed)
        self.x0 = np.asarray(start, dtype=float)
        sizes = [b for b in (1, 2, 5, 10, 20, 50, 100, 200) if b <= self.f.n_samples]
        if batch_size not in sizes:
            raise ValueError(f"batch_size must be one of {sizes}, got {batch_size!r}")
        controls = {
            "schedule": _dropdown("schedule", list(SCHEDULES), schedule),
            "lr": _slider("η₀", lr, 1e-3, 10.0, log=True),
            "batch_size": _dropdown("batch size", sizes, batch_size),
        }
        super().__init__(controls, ncols=3, figsize=(11.0, 3.4))
        path_ax, lr_ax, loss_ax = self.axes
        plotting.contour(self.f, path_ax, resolution=100)
        path_ax.plot(*self.x0, "o", color=plotting.INK)
        self.path = self._move(path_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                            markersize=2, linewidth=0.8)[0])
        self.lr_curve = self._move(lr_ax.plot([], [], color=plotting.PALETTE[1])[0])
        lr_ax.set(xlim=(0, self.steps), ylim=(0, 1.05), xlabel="step $t$",
                  ylabel=r"$\eta_t / \eta_0$")
        self.loss = self._move(loss_ax.plot([], [], color=plotting.PALETTE[0])[0])
        loss_ax.set(yscale="log", xlim=(0, self.steps), ylim=(1e-6, 1e1), xlabel="step $t$",
                    ylabel=r"$f(\theta_t) - f^\star$")
        self._start()

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        schedule = SCHEDULES[c["schedule"]](c["lr"], self.steps)
        self.result = minimize(self.f, self.x0, optimizers.sgd(schedule), steps=self.steps,
                               batch_size=c["batch_size"], seed=self.seed)
        t = np.arange(self.result.nit + 1)
        self.path.set_data(*self.result.history.x[t].T)
        self.loss.set_data(t, self.result.history.f[t] - self.f_star)
        steps = np.arange(self.steps)
        self.lr_curve.set_data(steps, schedule(steps) / c["lr"])
        return False


