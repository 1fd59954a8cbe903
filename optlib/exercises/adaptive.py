"""The checks of the chapter "Adaptive learning rates"."""

from __future__ import annotations

import numpy as np

from ..optimizers import AdamState, adam
from .grading import Case, exercise


def _adam_step(x, g, m, v, t, lr, b1, b2, eps):
    state = AdamState(t - 1, m, v, np.zeros_like(v))
    step, state = adam(lr, b1, b2, eps).update(g, state, x)
    return x + step, state.m, state.v


def _adam_without_bias_correction(x, g, m, v, t, lr, b1, b2, eps):
    m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
    return x - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside(x, g, m, v, t, lr, b1, b2, eps):
    m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
    return x - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v


@exercise(
    "adam_step", "adam_step(x, g, m, v, t, lr, b1, b2, eps) -> (x_next, m_next, v_next)",
    hint="m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2; correct the bias, "
         "m_hat = m / (1 - b1^t) and v_hat = v / (1 - b2^t) (t = 1 at the first step); then "
         "x_next = x - lr m_hat / (sqrt(v_hat) + eps).",
    mistakes=[
        (lambda case: _adam_without_bias_correction(**case.args),
         "the bias correction is missing: divide m by 1 - b1^t and v by 1 - b2^t. At the "
         "first step it turns m_hat into g and the step into about -lr sign(g)."),
        (lambda case: _adam_eps_inside(**case.args),
         "eps goes outside the square root, sqrt(v_hat) + eps, as in Kingma and Ba's paper "
         "and torch.optim."),
    ],
)
def _adam_cases(rng):
    hyper = dict(lr=0.1, b1=0.9, b2=0.999, eps=1e-8)

    def case(label, x, g, m, v, t, **changes):
        args = dict(x=x, g=g, m=m, v=v, t=t, **{**hyper, **changes})
        return Case(label, args, _adam_step(**args))

    zeros = np.zeros(2)
    yield case("the first step, t = 1 and m = v = 0: about -lr sign(g)", rng.normal(size=2),
               rng.normal(size=2), zeros, zeros, 1)
    yield case("a zero gradient at the first step: no move", rng.normal(size=2), zeros, zeros,
               zeros, 1)
    yield case("a later step, t = 10", rng.normal(size=3), rng.normal(size=3),
               0.1 * rng.normal(size=3), 0.01 * rng.uniform(size=3), 10)
    yield case("a tiny gradient (1e-10), where eps matters", rng.normal(size=2),
               np.array([1e-10, -1e-10]), zeros, zeros, 1)
    yield case("t = 1000, the bias correction has faded", rng.normal(size=2),
               rng.normal(size=2), 0.1 * rng.normal(size=2), 0.01 * rng.uniform(size=2), 1000,
               lr=0.001)
    yield case("a batch of 3 points, shape (3, 2)", rng.normal(size=(3, 2)),
               rng.normal(size=(3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), 1, b1=0.8, b2=0.99)


