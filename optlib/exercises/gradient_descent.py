"""The checks of the chapter "Gradient descent and its convergence"."""

from __future__ import annotations

import math

import numpy as np

from .. import functions, second_order
from ..minimize import minimize
from ..optimizers import sgd
from .grading import Case, _named, _spd, exercise


def _backtracking(f, x, d, lr0, c, shrink):
    """optlib's Armijo backtracking: the first eta in lr0, lr0 shrink, ... that decreases enough."""
    search = second_order.backtracking(f, x, d, alpha0=lr0, c1=c, shrink=shrink)
    if not search.success:
        raise RuntimeError("the backtracking search of a case found no step")
    return search.alpha


def _best_fixed_step(H):
    """eta = 2 / (lambda_min + lambda_max) and its rate (kappa - 1) / (kappa + 1)."""
    eigenvalues = np.linalg.eigvalsh(H)
    low, high = eigenvalues[0], eigenvalues[-1]
    kappa = high / low
    return 2 / (low + high), (kappa - 1) / (kappa + 1)


def _iterations_needed(kappa, eps):
    """The smallest whole t >= 0 with ((kappa - 1) / (kappa + 1))^t <= eps."""
    rate = (kappa - 1) / (kappa + 1)
    if eps >= 1:
        return 0
    if rate == 0:
        return 1
    t = math.ceil(math.log(eps) / math.log(rate))
    while rate**t > eps:
        t += 1
    while t > 0 and rate ** (t - 1) <= eps:
        t -= 1
    return t






def _gd_step(x, g, lr):
    tx = sgd(lr)
    step, _ = tx.update(g, tx.init(x), x)
    return x + step


@exercise(
    "gd_step", "gd_step(x, g, lr) -> x_next",
    hint="one step of gradient descent moves against the gradient: x_next = x - lr g.",
    mistakes=[
        (lambda case: 2 * case.args["x"] - case.expected,
         "you stepped along the gradient, uphill: the step is x - lr g."),
    ],
)
def _gd_step_cases(rng):
    for label, x, g, lr in [
        ("2-D", rng.normal(size=2), rng.normal(size=2), 0.1),
        ("a zero gradient: x stays", rng.normal(size=3), np.zeros(3), 0.5),
        ("lr = 0: x stays", rng.normal(size=2), rng.normal(size=2), 0.0),
        ("10-D", rng.normal(size=10), rng.normal(size=10), 0.01),
        ("a batch of 4 points, shape (4, 2)", rng.normal(size=(4, 2)), rng.normal(size=(4, 2)),
         0.3),
    ]:
        yield Case(label, dict(x=x, g=g, lr=lr), _gd_step(x, g, lr))


def _trajectory(f, x0, lr, steps):
    return minimize(f, x0, "gd", lr=lr, steps=steps, tol=0.0).history.x


def _ascent(grad, x0, lr, steps):
    """The trajectory with the sign flipped, x_{t+1} = x_t + lr grad(x_t)."""
    xs = [np.asarray(x0, dtype=float)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            xs.append(xs[-1] + lr * grad(xs[-1]))
    return np.array(xs)


def _rows_alias_the_last(xs, first_row_kept):
    """The trajectory of a loop that appends one array object and changes it in place:
    every row (or every row after x_0, when x_0 was appended as a copy) is the last point."""
    aliased = np.repeat(xs[-1:], len(xs), axis=0)
    if first_row_kept:
        aliased[0] = xs[0]
    return aliased


_ALIASED_ROWS = ("the rows of your trajectory all equal the last point: the loop appended the "
                 "same array each step and then changed it in place (x -= ...). Make a new "
                 "array each step, x = x - lr * grad(x), or append a copy, x.copy().")


@exercise(
    "gradient_descent", "gradient_descent(grad, x0, lr, steps) -> xs",
    hint="x_{t+1} = x_t - lr grad(x_t) for t = 0, ..., steps - 1; return every iterate, "
         "np.array([x_0, x_1, ..., x_steps]), of shape (steps + 1, dim).",
    mistakes=[
        (lambda case: case.expected[-1],
         "you returned the last point only: return the whole trajectory x_0, ..., x_steps, "
         "an array of shape (steps + 1, dim)."),
        (lambda case: case.expected[1:],
         "the trajectory starts with x_0 itself: xs[0] must be x0, so xs has steps + 1 rows."),
        (lambda case: _ascent(**case.args),
         "you stepped along the gradient, uphill: each step is x_{t+1} = x_t - lr grad(x_t)."),
        (lambda case: _rows_alias_the_last(case.expected, first_row_kept=True),
         _ALIASED_ROWS),
        (lambda case: _rows_alias_the_last(case.expected, first_row_kept=False),
         _ALIASED_ROWS),
    ],
)
def _gradient_descent_cases(rng):
    himmelblau = functions.himmelblau()
    for label, f, x0, lr, steps in [
        ("a 2-D quadratic with kappa = 10, 20 steps",
         functions.ill_conditioned(10, angle=0.4), np.array([2.0, 1.0]), 0.15, 20),
        ("Rosenbrock from (-1.2, 1), 50 steps", functions.rosenbrock(), np.array([-1.2, 1.0]),
         1e-3, 50),
        ("steps = 0: only the start", functions.rosenbrock(), np.array([0.5, 0.5]), 1e-3, 0),
        ("starting at a minimum of Himmelblau, where the gradient is zero", himmelblau,
         himmelblau.minima[0], 0.01, 5),
        ("one dimension", functions.quadratic([[2.0]], name="f(x) = x^2"), np.array([3.0]),
         0.4, 10),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), x0=x0, lr=lr, steps=steps),
                   _trajectory(f, x0, lr, steps))


@exercise(
    "backtracking", "backtracking(f, grad, x, d, lr0, c, shrink) -> eta",
    hint="start at eta = lr0; while f(x + eta d) > f(x) + c eta grad(x)'d (the Armijo "
         "condition fails), multiply eta by shrink; return that eta.",
    mistakes=[
        (lambda case: _backtracking(case.problem, case.args["x"], case.args["d"],
                                    case.args["lr0"], 0.0, case.args["shrink"]),
         "you accepted the first step that merely decreases f: the Armijo condition asks for "
         "a sufficient decrease, f(x + eta d) <= f(x) + c eta grad(x)'d."),
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
    bowl = functions.quadratic(np.eye(2), name="f(x) = |x|^2 / 2")
    near = np.array([0.8, 0.6])
    newton = -np.linalg.solve(rosenbrock.hess(near), rosenbrock.grad(near))
    rosenbrock5 = functions.rosenbrock(dim=5)
    x5 = rng.uniform(-1, 1, 5)
    for label, f, x, d, lr0, c, shrink in [
        ("Rosenbrock at (-1.2, 1), steepest descent", rosenbrock, np.array([-1.2, 1.0]),
         -rosenbrock.grad(np.array([-1.2, 1.0])), 1.0, 1e-4, 0.5),
        ("a narrow valley (kappa = 50): the first trial is far too long", valley,
         np.array([1.0, 1.0]), -valley.grad(np.array([1.0, 1.0])), 1.0, 1e-4, 0.5),
        ("the first trial is accepted", bowl, np.array([1.0, -2.0]), np.array([-0.5, 1.0]),
         1.0, 1e-4, 0.5),
        ("a long trial that lowers f, but not enough for c = 0.5", bowl, np.array([1.0, -2.0]),
         np.array([-1.0, 2.0]), 1.9, 0.5, 0.5),
        ("a Newton direction on Rosenbrock", rosenbrock, near, newton, 1.0, 1e-4, 0.5),
        ("c = 0.5 and shrink = 0.3 on Himmelblau", himmelblau, np.zeros(2),
         -himmelblau.grad(np.zeros(2)), 1.0, 0.5, 0.3),
        ("Rosenbrock in 5-D, shrink = 0.8", rosenbrock5, x5, -rosenbrock5.grad(x5), 1.0, 1e-4,
         0.8),
    ]:
        args = dict(f=_named(f), grad=_named(f, "grad"), x=x, d=d, lr0=lr0, c=c, shrink=shrink)
        yield Case(label, args, _backtracking(f, x, d, lr0, c, shrink), problem=f)


def _condition_number(H):
    eigenvalues = np.linalg.eigvalsh(H)
    return eigenvalues[-1] / eigenvalues[0]


@exercise(
    "best_fixed_step", "best_fixed_step(H) -> (eta, rate)",
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


def _iterations_unrounded(kappa, eps):
    """log(eps) / log(rate), the count before rounding up (0 where the rate is 0)."""
    rate = (kappa - 1) / (kappa + 1)
    return math.log(eps) / math.log(rate) if rate > 0 else 0.0


@exercise(
    "iterations_needed", "iterations_needed(kappa, eps) -> t",
    hint="with the best fixed step the error shrinks by rate = (kappa - 1) / (kappa + 1) each "
         "step; return the smallest whole t with rate^t <= eps.",
    mistakes=[
        (lambda case: _iterations_unrounded(**case.args),
         "a number of steps is a whole number: round up (math.ceil)."),
        (lambda case: case.args["kappa"] * math.log(1 / case.args["eps"]),
         "kappa log(1/eps) is how the count grows; the exact count is the smallest t with "
         "((kappa - 1) / (kappa + 1))^t <= eps."),
    ],
    rtol=0.0, atol=0.0,
)
def _iterations_needed_cases(rng):
    for label, kappa, eps in [
        ("kappa = 10, eps = 1e-6", 10.0, 1e-6),
        ("kappa = 100, eps = 1e-3", 100.0, 1e-3),
        ("kappa = 1000, eps = 1e-8", 1000.0, 1e-8),
        ("kappa = 2, eps = 0.5", 2.0, 0.5),
        ("kappa = 1: the rate is 0, so one step reaches the minimum", 1.0, 1e-6),
        ("eps = 1: no step is needed", 50.0, 1.0),
    ]:
        yield Case(label, dict(kappa=kappa, eps=eps), _iterations_needed(kappa, eps))


