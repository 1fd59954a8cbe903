"""The checks of the chapter "Gradient descent and its convergence"."""

from __future__ import annotations

import math

import numpy as np

from .. import functions, second_order
from ..minimize import minimize
from ..optimizers import sgd
from .grading import Case, _named, _spd, exercise


def _backtracking(f, theta, direction, lr0, c1, shrink):
    """optlib's Armijo backtracking: the first eta in lr0, lr0 shrink, ... that decreases enough."""
    search = second_order.backtracking(f, theta, direction, alpha0=lr0, c1=c1, shrink=shrink)
    if not search.success:
        raise RuntimeError("the backtracking search of a case found no step")
    return search.alpha


def _best_fixed_step(H):
    """eta* = 2 / (lambda_min + lambda_max) and its rate rho* = (kappa - 1) / (kappa + 1)."""
    eigenvalues = np.linalg.eigvalsh(H)
    low, high = eigenvalues[0], eigenvalues[-1]
    kappa = high / low
    return 2 / (low + high), (kappa - 1) / (kappa + 1)


def _iterations_needed(kappa, delta):
    """The smallest whole t >= 0 with ((kappa - 1) / (kappa + 1))^t <= delta."""
    rate = (kappa - 1) / (kappa + 1)
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


def _gd_step(theta, g, lr):
    tx = sgd(lr)
    step, _ = tx.update(g, tx.init(theta), theta)
    return theta + step


@exercise(
    "gd_step", "gd_step(theta, g, lr) -> theta_next",
    hint="one step of gradient descent moves against the gradient: theta_next = theta - lr g.",
    mistakes=[
        (lambda case: 2 * case.args["theta"] - case.expected,
         "you stepped along the gradient, uphill: the step is theta - lr g."),
    ],
)
def _gd_step_cases(rng):
    for label, theta, g, lr in [
        ("2-D", rng.normal(size=2), rng.normal(size=2), 0.1),
        ("a zero gradient: theta stays", rng.normal(size=3), np.zeros(3), 0.5),
        ("lr = 0: theta stays", rng.normal(size=2), rng.normal(size=2), 0.0),
        ("10-D", rng.normal(size=10), rng.normal(size=10), 0.01),
        ("a batch of 4 points, shape (4, 2)", rng.normal(size=(4, 2)), rng.normal(size=(4, 2)),
         0.3),
    ]:
        yield Case(label, dict(theta=theta, g=g, lr=lr), _gd_step(theta, g, lr))


def _trajectory(f, theta0, lr, steps):
    return minimize(f, theta0, "gd", lr=lr, steps=steps, tol=0.0).history.x


def _ascent(grad, theta0, lr, steps):
    """The trajectory with the sign flipped, theta_{t+1} = theta_t + lr grad(theta_t)."""
    thetas = [np.asarray(theta0, dtype=float)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            thetas.append(thetas[-1] + lr * grad(thetas[-1]))
    return np.array(thetas)


def _rows_alias_the_last(thetas, first_row_kept):
    """The trajectory of a loop that appends one array object and changes it in place:
    every row (or every row after theta_0, when it was appended as a copy) is the last."""
    aliased = np.repeat(thetas[-1:], len(thetas), axis=0)
    if first_row_kept:
        aliased[0] = thetas[0]
    return aliased


_ALIASED_ROWS = ("the rows of your trajectory all equal the last point: the loop appended "
                 "the same array each step and then changed it in place (theta -= ...). Make "
                 "a new array each step, theta = theta - lr * grad(theta), or append a copy, "
                 "theta.copy().")


@exercise(
    "gradient_descent", "gradient_descent(grad, theta0, lr, steps) -> thetas",
    hint="theta_{t+1} = theta_t - lr grad(theta_t) for t = 0, ..., steps - 1; return every "
         "iterate, np.array([theta_0, theta_1, ..., theta_steps]), of shape (steps + 1, dim).",
    mistakes=[
        (lambda case: case.expected[-1],
         "you returned the last point only: return the whole trajectory theta_0, ..., "
         "theta_steps, an array of shape (steps + 1, dim)."),
        (lambda case: case.expected[1:],
         "the trajectory starts with theta_0 itself: thetas[0] must be theta0, so thetas has "
         "steps + 1 rows."),
        (lambda case: _ascent(**case.args),
         "you stepped along the gradient, uphill: each step is "
         "theta_{t+1} = theta_t - lr grad(theta_t)."),
        (lambda case: _rows_alias_the_last(case.expected, first_row_kept=True),
         _ALIASED_ROWS),
        (lambda case: _rows_alias_the_last(case.expected, first_row_kept=False),
         _ALIASED_ROWS),
    ],
)
def _gradient_descent_cases(rng):
    himmelblau = functions.himmelblau()
    for label, f, theta0, lr, steps in [
        ("a 2-D quadratic with kappa = 10, 20 steps",
         functions.ill_conditioned(10, angle=0.4), np.array([2.0, 1.0]), 0.15, 20),
        ("Rosenbrock from (-1.2, 1), 50 steps", functions.rosenbrock(), np.array([-1.2, 1.0]),
         1e-3, 50),
        ("steps = 0: only the start", functions.rosenbrock(), np.array([0.5, 0.5]), 1e-3, 0),
        ("starting at a minimum of Himmelblau, where the gradient is zero", himmelblau,
         himmelblau.minima[0], 0.01, 5),
        ("one dimension", functions.quadratic([[2.0]], name="L(theta) = theta^2"), np.array([3.0]),
         0.4, 10),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), theta0=theta0, lr=lr, steps=steps),
                   _trajectory(f, theta0, lr, steps))


@exercise(
    "backtracking", "backtracking(loss, grad, theta, direction, lr0, c1, shrink) -> eta",
    hint="start at eta = lr0; while loss(theta + eta direction) > loss(theta) + c1 eta "
         "grad(theta)'direction (the Armijo condition fails), multiply eta by shrink; return "
         "that eta.",
    mistakes=[
        (lambda case: _backtracking(case.problem, case.args["theta"], case.args["direction"],
                                    case.args["lr0"], 0.0, case.args["shrink"]),
         "you accepted the first step that merely decreases the loss: the Armijo condition "
         "asks for a sufficient decrease, loss(theta + eta direction) <= loss(theta) + c1 eta "
         "grad(theta)'direction."),
        (lambda case: case.expected / case.args["shrink"],
         "you returned the last step that failed: return the first eta that satisfies the "
         "condition."),
        (lambda case: case.expected * case.args["shrink"],
         "you shrank once too often: return the first eta that satisfies the condition."),
    ],
)
def _backtracking_cases(rng):
    rosenbrock, himmelblau = functions.rosenbrock(), functions.himmelblau()
    valley = functions.ill_conditioned(50, angle=0.2)
    bowl = functions.quadratic(np.eye(2), name="L(theta) = |theta|^2 / 2")
    near = np.array([0.8, 0.6])
    newton = -np.linalg.solve(rosenbrock.hess(near), rosenbrock.grad(near))
    rosenbrock5 = functions.rosenbrock(dim=5)
    theta5 = rng.uniform(-1, 1, 5)
    for label, f, theta, direction, lr0, c1, shrink in [
        ("Rosenbrock at (-1.2, 1), steepest descent", rosenbrock, np.array([-1.2, 1.0]),
         -rosenbrock.grad(np.array([-1.2, 1.0])), 1.0, 1e-4, 0.5),
        ("a narrow valley (kappa = 50): the first trial is far too long", valley,
         np.array([1.0, 1.0]), -valley.grad(np.array([1.0, 1.0])), 1.0, 1e-4, 0.5),
        ("the first trial is accepted", bowl, np.array([1.0, -2.0]), np.array([-0.5, 1.0]),
         1.0, 1e-4, 0.5),
        ("a long trial that lowers the loss, but not enough for c1 = 0.5", bowl,
         np.array([1.0, -2.0]), np.array([-1.0, 2.0]), 1.9, 0.5, 0.5),
        ("a Newton direction on Rosenbrock", rosenbrock, near, newton, 1.0, 1e-4, 0.5),
        ("c1 = 0.5 and shrink = 0.3 on Himmelblau", himmelblau, np.zeros(2),
         -himmelblau.grad(np.zeros(2)), 1.0, 0.5, 0.3),
        ("Rosenbrock in 5-D, shrink = 0.8", rosenbrock5, theta5, -rosenbrock5.grad(theta5), 1.0,
         1e-4, 0.8),
    ]:
        args = dict(loss=_named(f), grad=_named(f, "grad"), theta=theta, direction=direction,
                    lr0=lr0, c1=c1, shrink=shrink)
        yield Case(label, args, _backtracking(f, theta, direction, lr0, c1, shrink), problem=f)


def _condition_number(H):
    eigenvalues = np.linalg.eigvalsh(H)
    return eigenvalues[-1] / eigenvalues[0]


@exercise(
    "best_fixed_step", "best_fixed_step(H) -> (eta, rho)",
    hint="from the eigenvalues of H: eta = 2 / (lambda_min + lambda_max) makes the slowest and "
         "the fastest direction shrink equally, |1 - eta lambda| = (kappa - 1) / (kappa + 1) "
         "with kappa = lambda_max / lambda_min.",
    mistakes=[
        (lambda case: (1 / np.linalg.eigvalsh(case.args["H"])[-1], case.expected[1]),
         "1 / lambda_max is a safe step, not the best one: eta = 2 / (lambda_min + lambda_max)."),
        (lambda case: (case.expected[0], 1 - 1 / _condition_number(case.args["H"])),
         "1 - 1/kappa is the rate of the step 1/lambda_max; with the best step the error "
         "shrinks by (kappa - 1) / (kappa + 1) each step."),
    ],
)
def _best_fixed_step_cases(rng):
    for label, H in [
        ("H = diag(1, 10)", np.diag([1.0, 10.0])),
        ("5-D, kappa = 100", functions.ill_conditioned(100, dim=5, angle=0.7).hess(np.zeros(5))),
        ("H = 3 I, kappa = 1: one step lands on the minimum", 3 * np.eye(2)),
        ("one dimension", np.array([[4.0]])),
        ("a random positive-definite 4 x 4 H", _spd(rng, 4)),
    ]:
        yield Case(label, dict(H=H), _best_fixed_step(H))


def _iterations_unrounded(kappa, delta):
    """log(delta) / log(rate), the count before rounding up (0 where the rate is 0)."""
    rate = (kappa - 1) / (kappa + 1)
    return math.log(delta) / math.log(rate) if rate > 0 else 0.0


@exercise(
    "iterations_needed", "iterations_needed(kappa, delta) -> t",
    hint="with the best fixed step the error shrinks by rho = (kappa - 1) / (kappa + 1) each "
         "step; return the smallest whole t with rho^t <= delta.",
    mistakes=[
        (lambda case: _iterations_unrounded(**case.args),
         "a number of steps is a whole number: round up (math.ceil)."),
        (lambda case: case.args["kappa"] * math.log(1 / case.args["delta"]),
         "kappa log(1/delta) is how the count grows; the exact count is the smallest t with "
         "((kappa - 1) / (kappa + 1))^t <= delta."),
    ],
    rtol=0.0, atol=0.0,
)
def _iterations_needed_cases(rng):
    for label, kappa, delta in [
        ("kappa = 10, delta = 1e-6", 10.0, 1e-6),
        ("kappa = 100, delta = 1e-3", 100.0, 1e-3),
        ("kappa = 1000, delta = 1e-8", 1000.0, 1e-8),
        ("kappa = 2, delta = 0.5", 2.0, 0.5),
        ("kappa = 1: the rate is 0, so one step reaches the minimum", 1.0, 1e-6),
        ("delta = 1: no step is needed", 50.0, 1.0),
    ]:
        yield Case(label, dict(kappa=kappa, delta=delta), _iterations_needed(kappa, delta))


