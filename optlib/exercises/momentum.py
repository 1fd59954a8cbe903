"""The checks of the chapter "Momentum and Nesterov acceleration"."""

from __future__ import annotations

import math

import numpy as np

from .. import functions, rates
from ..minimize import minimize
from ..optimizers import SGDState, sgd
from .grading import Case, _named, _spd, exercise

# ---------------------------------------------------------------- heavy ball, torch's form


def _heavy_ball_step(theta, g, m, lr, momentum):
    step, state = sgd(lr, momentum=momentum).update(g, SGDState(1, m), theta)
    return theta + step, state.momentum_buffer


def _sutskever_step(theta, g, m, lr, momentum):
    """The form v = beta v - eta g, theta + v, read with m in place of v."""
    velocity = momentum * m - lr * g
    return theta + velocity, velocity


def _step_with_old_buffer(theta, g, m, lr, momentum):
    return theta - lr * m, momentum * m + g


@exercise(
    "heavy_ball_step", "heavy_ball_step(theta, g, m, lr, momentum) -> (theta_next, m_next)",
    hint="update the momentum buffer first, m_next = momentum m + g, then step along it, "
         "theta_next = theta - lr m_next.",
    mistakes=[
        (lambda case: _sutskever_step(**case.args),
         "you used the form v = beta v - eta g, theta + v; this exercise keeps the buffer "
         "m = beta m + g and steps theta - eta m (torch.optim's form; with a constant eta, "
         "v = -eta m)."),
        (lambda case: _step_with_old_buffer(**case.args),
         "you stepped along the old buffer: update m first, then step theta - lr m_next."),
    ],
)
def _heavy_ball_cases(rng):
    for label, theta, g, m, lr, momentum in [
        ("the first step, m = 0: a plain gradient step", rng.normal(size=2),
         rng.normal(size=2), np.zeros(2), 0.1, 0.9),
        ("a later step", rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), 0.05, 0.9),
        ("a zero gradient: the buffer still moves theta", rng.normal(size=2), np.zeros(2),
         rng.normal(size=2), 0.1, 0.5),
        ("momentum = 0: gradient descent", rng.normal(size=2), rng.normal(size=2),
         rng.normal(size=2), 0.2, 0.0),
        ("a batch of 3 points, shape (3, 2)", rng.normal(size=(3, 2)), rng.normal(size=(3, 2)),
         rng.normal(size=(3, 2)), 0.01, 0.99),
    ]:
        yield Case(label, dict(theta=theta, g=g, m=m, lr=lr, momentum=momentum),
                   _heavy_ball_step(theta, g, m, lr, momentum))


# ---------------------------------------------------------------- the optimal tuning


def _momentum_tuning(H):
    lr, momentum, rate = rates.heavy_ball_tuning(np.linalg.eigvalsh(H))
    return float(lr), float(momentum), float(rate)


def _unsquared_momentum(case):
    lr, momentum, rate = case.expected
    return lr, rate, rate


def _gradient_descent_tuning(case):
    eigenvalues = np.linalg.eigvalsh(case.args["H"])
    kappa = eigenvalues[-1] / eigenvalues[0]
    return 2 / (eigenvalues[0] + eigenvalues[-1]), 0.0, (kappa - 1) / (kappa + 1)


@exercise(
    "momentum_tuning", "momentum_tuning(H) -> (lr, momentum, rate)",
    hint="from the extreme eigenvalues of H: lr = 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2, "
         "momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2 and rate = sqrt(momentum).",
    mistakes=[
        (_unsquared_momentum,
         "(sqrt(kappa) - 1) / (sqrt(kappa) + 1) is the rate; the momentum is its square, "
         "the product of the two roots, which are both critical."),
        (_gradient_descent_tuning,
         "that is the best gradient descent (momentum 0); with momentum the best step is "
         "4 / (sqrt(lambda_max) + sqrt(lambda_min))^2."),
    ],
)
def _momentum_tuning_cases(rng):
    for label, H in [
        ("H = diag(1, 100)", np.diag([1.0, 100.0])),
        ("H = diag(1, 4, 9): only the extreme eigenvalues matter", np.diag([1.0, 4.0, 9.0])),
        ("H = 2 I, kappa = 1: no momentum, one step lands on the minimum", 2 * np.eye(2)),
        ("one dimension", np.array([[5.0]])),
        ("a random positive-definite 4 x 4 H", _spd(rng, 4, 0.1, 10.0)),
    ]:
        yield Case(label, dict(H=H), _momentum_tuning(H))


# ---------------------------------------------------------------- Nesterov, look-ahead form


def _nesterov_lookahead(f, theta0, lr, momentum, steps):
    """Sutskever's iterates theta_t, from optlib's run in torch's form: its iterates are the
    look-ahead points phi_t, and theta_{t+1} = phi_t - lr grad f(phi_t), theta_0 = phi_0."""
    run = minimize(f, theta0, sgd(lr, momentum=momentum, nesterov=True), steps=steps, tol=0.0)
    phi = run.history.x
    return np.concatenate([phi[:1], phi[:-1] - lr * f.grad(phi[:-1])])


def _heavy_ball_run(case):
    f = case.problem
    args = case.args
    tx = sgd(args["lr"], momentum=args["momentum"])
    return minimize(f, args["theta0"], tx, steps=args["steps"], tol=0.0).history.x


def _lookahead_points(case):
    f = case.problem
    args = case.args
    tx = sgd(args["lr"], momentum=args["momentum"], nesterov=True)
    return minimize(f, args["theta0"], tx, steps=args["steps"], tol=0.0).history.x


@exercise(
    "nesterov_lookahead", "nesterov_lookahead(grad, theta0, lr, momentum, steps) -> thetas",
    hint="keep the last step delta (0 at the start); each step takes the gradient at the "
         "look-ahead point theta + momentum delta, sets delta = momentum delta - lr g and "
         "theta = theta + delta; return theta_0, ..., theta_steps, shape (steps + 1, dim).",
    mistakes=[
        (_heavy_ball_run,
         "you took the gradient at theta itself: that is heavy ball. Nesterov takes it at "
         "the look-ahead point theta + momentum delta."),
        (_lookahead_points,
         "you returned the look-ahead points theta_t + momentum delta_{t-1} (torch's "
         "iterates); return the iterates theta_t themselves."),
    ],
)
def _nesterov_lookahead_cases(rng):
    valley = functions.ill_conditioned(10.0, angle=0.3)
    rosenbrock = functions.rosenbrock()
    parabola = functions.quadratic([[3.0]], name="f(theta) = 3 theta^2 / 2")
    wide = functions.ill_conditioned(100.0, dim=5, angle=0.7)
    for label, f, theta0, lr, momentum, steps in [
        ("a valley with kappa = 10, 25 steps", valley, np.array([1.0, -0.5]), 0.09, 0.5, 25),
        ("Rosenbrock from (-1.2, 1), 40 steps", rosenbrock, np.array([-1.2, 1.0]), 5e-4, 0.9,
         40),
        ("steps = 0: only the start", valley, np.array([0.3, 0.2]), 0.1, 0.9, 0),
        ("one dimension, momentum 0.8", parabola, np.array([2.0]), 0.2, 0.8, 15),
        ("5-D, kappa = 100, momentum 0: gradient descent", wide, rng.normal(size=5), 0.01, 0.0,
         10),
    ]:
        args = dict(grad=_named(f, "grad"), theta0=theta0, lr=lr, momentum=momentum,
                    steps=steps)
        yield Case(label, args, _nesterov_lookahead(f, theta0, lr, momentum, steps), problem=f)


# ---------------------------------------------------------------- iteration counts


def _steps_at_rate(rate, delta):
    """The smallest whole t >= 0 with rate^t <= delta (rate in [0, 1))."""
    if delta >= 1:
        return 0
    if rate == 0:
        return 1
    t = math.ceil(math.log(delta) / math.log(rate))
    while rate**t > delta:
        t += 1
    while t > 0 and rate ** (t - 1) <= delta:
        t -= 1
    return t


def _momentum_iterations(kappa, delta):
    root = math.sqrt(kappa)
    return (_steps_at_rate((kappa - 1) / (kappa + 1), delta),
            _steps_at_rate((root - 1) / (root + 1), delta))


def _squared_rate(case):
    kappa, delta = case.args["kappa"], case.args["delta"]
    root = math.sqrt(kappa)
    return case.expected[0], _steps_at_rate(((root - 1) / (root + 1)) ** 2, delta)


def _unrounded(case):
    kappa, delta = case.args["kappa"], case.args["delta"]
    root = math.sqrt(kappa)
    if delta >= 1 or kappa == 1:
        return case.expected
    return (math.log(delta) / math.log((kappa - 1) / (kappa + 1)),
            math.log(delta) / math.log((root - 1) / (root + 1)))


@exercise(
    "momentum_iterations", "momentum_iterations(kappa, delta) -> (t_gd, t_momentum)",
    hint="each count is the smallest whole t with rate^t <= delta: rate = (kappa - 1) / "
         "(kappa + 1) for the best gradient descent, rate = (sqrt(kappa) - 1) / (sqrt(kappa) + 1) "
         "for the best heavy ball.",
    mistakes=[
        (_squared_rate,
         "((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2 is the best momentum beta*; the rate is "
         "its square root."),
        (_unrounded, "a number of steps is a whole number: round up (math.ceil)."),
    ],
    rtol=0.0, atol=0.0,
)
def _momentum_iterations_cases(rng):
    for label, kappa, delta in [
        ("kappa = 100, delta = 1e-6", 100.0, 1e-6),
        ("kappa = 10, delta = 1e-3", 10.0, 1e-3),
        ("kappa = 10^4, delta = 1e-8", 1e4, 1e-8),
        ("kappa = 2, delta = 0.5", 2.0, 0.5),
        ("kappa = 1: the rate is 0, so one step reaches the minimum", 1.0, 1e-6),
        ("delta = 1: no step is needed", 50.0, 1.0),
    ]:
        yield Case(label, dict(kappa=kappa, delta=delta), _momentum_iterations(kappa, delta))
