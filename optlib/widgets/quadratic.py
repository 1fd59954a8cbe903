"""The quadratic explorer: gradient descent and heavy-ball momentum, one eigen-direction
at a time."""

from __future__ import annotations

import numpy as np

from .. import functions, optimizers, plotting
from ..minimize import minimize
from .base import Explorer, _FunctionPanel, _slider


class QuadraticExplorer(Explorer):
    """Heavy-ball momentum on f = 1/2 theta' A theta with eigenvalues 1 and kappa.

    Left: the path over the contours. Right: |e_i(t)|, the error in each
    eigen-direction u_i (e_i = u_i'(theta_t - theta*)), beside the closed-form
    rates rho_i^t of ``plotting.heavy_ball_rate`` (dashed).

    Controls: ``kappa`` (condition number), ``lr`` (the step size as
    eta * lambda_max, stable below 2 (1 + beta)) and ``momentum`` (beta).
    """

    def __init__(self, kappa=10.0, lr=1.5, momentum=0.0, steps=200, angle=np.pi / 6):
        self.steps, self.angle = int(steps), float(angle)
        controls = {
            "kappa": _slider("κ", kappa, 1.0, 1000.0, log=True),
            "lr": _slider("η·λmax", lr, 0.02, 3.98, step=0.02, readout=".2f"),
            "momentum": _slider("β", momentum, 0.0, 0.99, step=0.01, readout=".2f"),
        }
        super().__init__(controls)
        path_ax, error_ax = self.axes
        self.panel = _FunctionPanel(self, path_ax)
        self.path = self._move(path_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                            markersize=3, linewidth=1.2)[0])
        self.errors, self.envelopes = [], []
        for k, which in enumerate(("min", "max")):
            color = plotting.PALETTE[k]
            self.errors.append(self._move(error_ax.plot([], [], color=color,
                                                        label=rf"$\lambda_{{{which}}}$")[0]))
            self.envelopes.append(self._move(error_ax.plot([], [], "--", color=color,
                                                           linewidth=1)[0]))
        error_ax.set(yscale="log", xlim=(0, self.steps), ylim=(1e-10, 1e3), xlabel="step $t$",
                     ylabel=r"$|e_i(t)|$, error along $u_i$")
        error_ax.legend(loc="lower left")
        self.title = self._move(error_ax.set_title(" "))
        self._kappa = None
        self._start()

    def _refresh(self):
        kappa, momentum = self.controls["kappa"].value, self.controls["momentum"].value
        changed = kappa != self._kappa
        if changed:
            self.f = functions.ill_conditioned(kappa, angle=self.angle)
            self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.f.hess(self.f.x_star))
            self.x0 = self.f.x_star + self.eigenvectors @ np.array([1.0, 0.7])
            self.panel.show(self.f)
            self.panel.start.set_data(*self.x0[:, None])
            self._kappa = kappa
        lr = self.controls["lr"].value / self.eigenvalues.max()
        self.result = minimize(self.f, self.x0, optimizers.sgd(lr, momentum=momentum),
                               steps=self.steps, tol=1e-12)
        path = self.result.history.x[: self.result.nit + 1]
        self.path.set_data(*path.T)
        errors = np.abs((path - self.f.x_star) @ self.eigenvectors)
        t = np.arange(len(path))
        rates = plotting.heavy_ball_rate(self.eigenvalues, lr, momentum)
        full_t = np.arange(self.steps + 1)
        for k in range(2):
            self.errors[k].set_data(t, errors[:, k])
            with np.errstate(over="ignore"):
                self.envelopes[k].set_data(full_t, errors[0, k] * rates[k] ** full_t)
        self.title.set_text(rf"rate $\rho$ = {rates.max():.3f}, {_outcome(self.result)}")
        return changed


def _outcome(result):
    """How the run ended, in words: converged in t steps, diverged at step t, or not yet
    converged after its last step."""
    if result.status == "converged":
        return f"converged in {result.nit} steps"
    if result.status == "diverged":
        return f"diverged at step {result.nit + 1}"
    return f"not yet converged after {result.nit} steps"
