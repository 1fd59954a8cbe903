"""The checks of the chapter "Momentum and Nesterov acceleration"."""

from __future__ import annotations

import numpy as np

from ..optimizers import SGDState, sgd
from .grading import Case, exercise


def _heavy_ball_step(x, g, b, lr, momentum):
    step, state = sgd(lr, momentum=momentum).update(g, SGDState(1, b), x)
    return x + step, state.velocity


def _sutskever_step(x, g, b, lr, momentum):
    """The form v = mu v - eta g, x + v, read with b in place of v."""
    velocity = momentum * b - lr * g
    return x + velocity, velocity


def _step_with_old_velocity(x, g, b, lr, momentum):
    return x - lr * b, momentum * b + g


@exercise(
    "heavy_ball_step", "heavy_ball_step(x, g, b, lr, momentum) -> (x_next, b_next)",
    hint="update the velocity first, b_next = momentum b + g, then step along it, "
         "x_next = x - lr b_next.",
    mistakes=[
        (lambda case: _sutskever_step(**case.args),
         "you used the form v = mu v - eta g, x + v; this exercise keeps b = mu b + g and "
         "steps x - eta b (torch.optim's form; with a constant eta, v = -eta b)."),
        (lambda case: _step_with_old_velocity(**case.args),
         "you stepped along the old velocity: update b first, then step x - lr b_next."),
    ],
)
def _heavy_ball_cases(rng):
    for label, x, g, b, lr, momentum in [
        ("the first step, b = 0: a plain gradient step", rng.normal(size=2), rng.normal(size=2),
         np.zeros(2), 0.1, 0.9),
        ("a later step", rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), 0.05, 0.9),
        ("a zero gradient: the velocity still moves x", rng.normal(size=2), np.zeros(2),
         rng.normal(size=2), 0.1, 0.5),
        ("momentum = 0: gradient descent", rng.normal(size=2), rng.normal(size=2),
         rng.normal(size=2), 0.2, 0.0),
        ("a batch of 3 points, shape (3, 2)", rng.normal(size=(3, 2)), rng.normal(size=(3, 2)),
         rng.normal(size=(3, 2)), 0.01, 0.99),
    ]:
        yield Case(label, dict(x=x, g=g, b=b, lr=lr, momentum=momentum),
                   _heavy_ball_step(x, g, b, lr, momentum))

