"""The adaptive race: SGD, momentum and the adaptive methods on one function, with their
learning rates, the shared decay rates beta, beta_1, beta_2 and eps, and a slider that
replays the first t steps."""

from __future__ import annotations

import ipywidgets

from .. import optimizers
from .base import _slider
from .race import OptimizerRace, _lr_key

#: name -> (factory (lr, hyperparameters) -> Transform, default learning rate). The
#: hyperparameters are a dict with the values of the shared sliders: "momentum" (beta of
#: SGD with momentum), "b1", "b2" (beta_1 and beta_2; RMSProp's and Adadelta's one decay
#: rate is beta_2) and "eps".
ADAPTIVE_RACERS = {
    "GD": (lambda lr, h: optimizers.sgd(lr), 0.015),
    "Momentum": (lambda lr, h: optimizers.sgd(lr, momentum=h["momentum"]), 0.005),
    "Adagrad": (lambda lr, h: optimizers.adagrad(lr, eps=h["eps"]), 0.5),
    "RMSProp": (lambda lr, h: optimizers.rmsprop(lr, rho=h["b2"], eps=h["eps"]), 0.05),
    "Adadelta": (lambda lr, h: optimizers.adadelta(lr, rho=h["b2"], eps=h["eps"]), 1.0),
    "Adam": (lambda lr, h: optimizers.adam(lr, h["b1"], h["b2"], h["eps"]), 0.2),
    "AMSGrad": (lambda lr, h: optimizers.adam(lr, h["b1"], h["b2"], h["eps"], amsgrad=True),
                0.2),
    "AdaMax": (lambda lr, h: optimizers.adamax(lr, h["b1"], h["b2"], h["eps"]), 0.5),
    "NAdam": (lambda lr, h: optimizers.nadam(lr, h["b1"], h["b2"], h["eps"]), 0.2),
}

#: The racers that run when the explorer opens; the others are a click away.
DEFAULT_RACERS = ("GD", "Momentum", "Adagrad", "RMSProp", "Adam")

#: The decay rates beta_2 offered: memories 1 / (1 - beta_2) of 10 to 10,000 steps.
BETA2_CHOICES = (0.9, 0.99, 0.999, 0.9999)


class AdaptiveRace(OptimizerRace):
    """SGD, momentum and adaptive methods from one start: paths over the contours (left) and
    f(theta_t) - f* (right).

    Controls: ``function`` (among them the ``valley``, a quadratic with curvatures 1 and
    100 along the axes, and the ``rotated_valley``, the same turned by 45 degrees),
    ``x`` and ``y`` (the start), ``racers``, one ``lr_<name>`` per racer, the shared
    ``momentum`` (beta), ``b1``, ``b2`` and ``eps``, and ``t``, the number of steps
    drawn. All racers run in one batched ``minimize`` call; moving ``t`` only redraws.
    """

    def __init__(self, function="valley", racers=DEFAULT_RACERS, steps=150,
                 functions_offered=("valley", "rotated_valley", "rosenbrock", "beale")):
        unknown = set(racers) - set(ADAPTIVE_RACERS)
        if unknown:
            raise ValueError(f"racers must be among {list(ADAPTIVE_RACERS)}, "
                             f"got {sorted(unknown)}")
        self._cache = (None, None)
        super().__init__(function, ADAPTIVE_RACERS, steps, functions_offered)
        self.controls["racers"].value = tuple(name for name in ADAPTIVE_RACERS
                                              if name in racers)

    def _more_controls(self):
        common = dict(style={"description_width": "initial"}, continuous_update=True)
        return {
            "momentum": _slider("β (momentum)", 0.9, 0.0, 0.99, step=0.01, readout=".2f"),
            "b1": _slider("β₁", 0.9, 0.0, 0.99, step=0.01, readout=".2f"),
            "b2": ipywidgets.SelectionSlider(description="β₂", options=BETA2_CHOICES,
                                             value=0.999, **common),
            "eps": _slider("ε", 1e-8, 1e-12, 1e-1, log=True, readout=".0e"),
            "t": ipywidgets.IntSlider(description="steps shown t", value=self.steps, min=0,
                                      max=self.steps, **common),
        }

    def _transform(self, name, c):
        hyperparameters = {key: c[key] for key in ("momentum", "b1", "b2", "eps")}
        return self.racers[name][0](c[_lr_key(name)], hyperparameters)

    def _race(self, f, c, running):
        """The race of ``OptimizerRace``, rerun only when something but t changed."""
        key = tuple(sorted((name, value) for name, value in c.items() if name != "t"))
        if self._cache[0] != key:
            self._cache = (key, super()._race(f, c, running))
        return self._cache[1]

    def _shown(self, c):
        return c["t"]
