"""The checks of the chapter "Adaptive learning rates"."""

from __future__ import annotations

import numpy as np

from .. import data, functions
from ..minimize import minimize
from ..optimizers import AdamState, adagrad, adam
from .grading import Case, _named, exercise


def _adam_step(theta, g, m, s, t, lr, b1, b2, eps):
    state = AdamState(t - 1, m, s, np.zeros_like(s))
    step, state = adam(lr, b1, b2, eps).update(g, state, theta)
    return theta + step, state.m, state.v


def _adam_without_bias_correction(theta, g, m, s, t, lr, b1, b2, eps):
    m, s = b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g**2
    return theta - lr * m / (np.sqrt(s) + eps), m, s


def _adam_eps_inside(theta, g, m, s, t, lr, b1, b2, eps):
    m, s = b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g**2
    return theta - lr * (m / (1 - b1**t)) / np.sqrt(s / (1 - b2**t) + eps), m, s


@exercise(
    "adam_step",
    "adam_step(theta, g, m, s, t, lr, b1, b2, eps) -> (theta_next, m_next, s_next)",
    hint="m = b1 m + (1 - b1) g and s = b2 s + (1 - b2) g^2; correct the bias, "
         "m_hat = m / (1 - b1^t) and s_hat = s / (1 - b2^t) (t = 1 at the first step); then "
         "theta_next = theta - lr m_hat / (sqrt(s_hat) + eps).",
    mistakes=[
        (lambda case: _adam_without_bias_correction(**case.args),
         "the bias correction is missing: divide m by 1 - b1^t and s by 1 - b2^t. At the "
         "first step it turns m_hat into g and the step into about -lr sign(g)."),
        (lambda case: _adam_eps_inside(**case.args),
         "eps goes outside the square root, sqrt(s_hat) + eps, as in Kingma and Ba's paper "
         "and torch.optim."),
    ],
)
def _adam_cases(rng):
    hyper = dict(lr=0.1, b1=0.9, b2=0.999, eps=1e-8)

    def case(label, theta, g, m, s, t, **changes):
        args = dict(theta=theta, g=g, m=m, s=s, t=t, **{**hyper, **changes})
        return Case(label, args, _adam_step(**args))

    zeros = np.zeros(2)
    yield case("the first step, t = 1 and m = s = 0: about -lr sign(g)", rng.normal(size=2),
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


def _adagrad_path(f, theta0, lr, steps, eps):
    return minimize(f, theta0, adagrad(lr, eps=eps), steps=steps, tol=0.0).history.x


def _adagrad_without_square(f, theta0, lr, steps, eps):
    """The usual slip: the root of the sum of |g| instead of the sum of g^2."""
    theta, total, path = np.array(theta0, dtype=float), 0.0, [np.array(theta0, dtype=float)]
    for _ in range(steps):
        g = f.grad(theta)
        total = total + np.abs(g)
        theta = theta - lr * g / (np.sqrt(total) + eps)
        path.append(theta)
    return np.array(path)


def _adam_path(f, theta0, lr, steps, eps):
    return minimize(f, theta0, adam(lr, eps=eps), steps=steps, tol=0.0).history.x


def _run_args(case):
    """A case's arguments without the gradient: theta0, lr, steps, eps."""
    return {key: value for key, value in case.args.items() if key != "grad"}


def _sparse_logistic(n, dim, seed):
    X, y = data.sparse_features(n=n, dim=dim, rarest=0.02, seed=seed)
    f = functions.LogisticRegression(X, y)
    return functions.Objective(f"a sparse logistic regression ({n} samples, {dim} features)",
                               dim, f.value, f.grad, f.hess)


@exercise(
    "adagrad", "adagrad(grad, theta0, lr, steps, eps) -> thetas",
    hint="keep s, the running sum of squared gradients, one entry per coordinate (s = 0 at "
         "the start); at each step s = s + g^2 and theta = theta - lr g / (sqrt(s) + eps). "
         "Return every iterate, an array of shape (steps + 1, dim) whose first row is theta0.",
    mistakes=[
        (lambda case: _adagrad_without_square(case.problem, **_run_args(case)),
         "accumulate the squares g^2, not |g|: s_t = g_1^2 + ... + g_t^2."),
        (lambda case: _adam_path(case.problem, **_run_args(case)),
         "Adagrad sums the squared gradients; it keeps no moving average and no momentum."),
        (lambda case: case.expected[-1],
         "you returned the last point only: return every iterate, shape (steps + 1, dim)."),
    ],
)
def _adagrad_cases(rng):
    scaled = functions.ill_conditioned(100.0)
    flat = functions.quadratic(np.diag([1.0, 0.0]), name="L = theta_1^2 / 2 (flat along theta_2)")
    for label, f, theta0, lr, steps, eps in [
        ("a sparse logistic regression: rare features get few gradients",
         _sparse_logistic(200, 8, 0), np.zeros(8), 0.5, 30, 1e-10),
        ("a badly scaled quadratic (curvatures 1 and 100)", scaled, np.array([1.0, 1.0]),
         0.3, 25, 1e-10),
        ("a coordinate whose gradient is always zero stays put", flat, np.array([1.0, 2.0]),
         0.5, 10, 1e-10),
        ("steps = 0: only the start", scaled, np.array([0.5, -0.5]), 0.1, 0, 1e-10),
        ("eps = 1, as large as the root of the sum of squares",
         _sparse_logistic(100, 5, 1), rng.normal(size=5), 1.0, 15, 1.0),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), theta0=theta0, lr=lr, steps=steps,
                               eps=eps),
                   _adagrad_path(f, theta0, lr, steps, eps), problem=f)
