"""The checks of the chapter "Gradients and Taylor expansion"."""

from __future__ import annotations

import numpy as np

from .. import functions, landscape
from .grading import Case, _named, _spd, exercise


def _optimal_step(g, H):
    """optlib's eta* = g'g / g'Hg (inf when g'Hg <= 0), gradient g and Hessian H given."""
    return landscape.optimal_step(functions.quadratic(H, -g), np.zeros_like(g))


def _forward_difference(loss, theta, h):
    return np.array([(loss(theta + h * e) - loss(theta)) / h for e in np.eye(len(theta))])


@exercise(
    "central_difference", "central_difference(loss, theta, h) -> grad",
    hint="perturb one coordinate at a time: component i is "
         "(loss(theta + h e_i) - loss(theta - h e_i)) / (2h), with e_i the i-th unit vector.",
    mistakes=[
        (lambda case: _forward_difference(**case.args),
         "that is the forward difference (loss(theta + h e_i) - loss(theta)) / h; the central "
         "difference uses both sides, (loss(theta + h e_i) - loss(theta - h e_i)) / (2h), and "
         "is far more accurate."),
        (lambda case: 2 * case.expected,
         "your gradient is twice too large: divide the difference by 2h, the distance "
         "between theta + h e_i and theta - h e_i."),
    ],
    rtol=1e-6, atol=1e-6,
)
def _central_difference_cases(rng):
    h = 1e-5
    rosenbrock, himmelblau = functions.rosenbrock(), functions.himmelblau()
    A = _spd(rng, 3)
    quadratic = functions.quadratic(A, rng.normal(size=3), name="a 3-D quadratic")
    line = functions.quadratic([[3.0]], [1.0], name="L(theta) = 3 theta^2 / 2 - theta")
    rastrigin = functions.rastrigin(dim=5)
    for label, f, theta in [
        ("Rosenbrock at (-1.2, 1)", rosenbrock, np.array([-1.2, 1.0])),
        ("a 3-D quadratic", quadratic, rng.normal(size=3)),
        ("Himmelblau at a minimum, where the gradient is zero", himmelblau, himmelblau.minima[0]),
        ("one dimension", line, np.array([0.4])),
        ("Rastrigin in 5-D", rastrigin, rng.uniform(-2, 2, 5)),
    ]:
        yield Case(label, dict(loss=_named(f), theta=theta, h=h), f.grad(theta))


def _logistic_gradient(theta, X, y):
    return functions.LogisticRegression(X, y).grad(theta)


@exercise(
    "logistic_gradient", "logistic_gradient(theta, X, y) -> grad",
    hint="with sigmoid(u) = 1 / (1 + exp(-u)), the gradient of the mean logistic loss is "
         "X'(sigmoid(X theta) - y) / n.",
    mistakes=[
        (lambda case: -case.expected,
         "your gradient points the wrong way: it is X'(sigmoid(X theta) - y) / n, "
         "predictions minus labels."),
        (lambda case: len(case.args["y"]) * case.expected,
         "your gradient is n times too large: the loss is a mean over the samples."),
    ],
)
def _logistic_gradient_cases(rng):
    def data(n, d):
        return rng.normal(size=(n, d)), rng.integers(0, 2, n).astype(float)

    X, y = data(20, 3)
    theta = 0.5 * rng.normal(size=3)
    yield Case("20 samples, 3 features", dict(theta=theta, X=X, y=y),
               _logistic_gradient(theta, X, y))
    X, y = data(10, 2)
    yield Case("theta = 0, where every predicted probability is 1/2",
               dict(theta=np.zeros(2), X=X, y=y), _logistic_gradient(np.zeros(2), X, y))
    X, y = data(1, 3)
    theta = rng.normal(size=3)
    yield Case("one sample", dict(theta=theta, X=X, y=y), _logistic_gradient(theta, X, y))
    X, y = data(15, 1)
    yield Case("one feature", dict(theta=np.array([0.7]), X=X, y=y),
               _logistic_gradient(np.array([0.7]), X, y))
    X, y = data(12, 2)
    theta = np.array([12.0, -9.0])
    yield Case("confident predictions, |x_i'theta| up to about 30", dict(theta=theta, X=X, y=y),
               _logistic_gradient(theta, X, y))


@exercise(
    "optimal_step", "optimal_step(g, H) -> eta",
    hint="minimize the quadratic model L(theta) - eta g'g + eta^2/2 g'Hg over eta: "
         "eta* = g'g / g'Hg when g'Hg > 0; when g'Hg <= 0 the model has no minimum along -g, "
         "so return math.inf.",
    mistakes=[
        (lambda case: 1 / case.expected,
         "your step is upside down: eta* = g'g / g'Hg."),
    ],
)
def _optimal_step_cases(rng):
    eigenvector = np.array([np.cos(0.3), np.sin(0.3)])
    H_rotated = functions.ill_conditioned(10, angle=0.3).hess(np.zeros(2))
    for label, g, H in [
        ("2-D, a diagonal H", np.array([1.0, 2.0]), np.diag([1.0, 4.0])),
        ("3-D, a positive-definite H", rng.normal(size=3), _spd(rng, 3)),
        ("g along an eigenvector of H, where eta* = 1/lambda", 3 * eigenvector, H_rotated),
        ("H indefinite but g'Hg > 0", np.array([1.0, 0.5]), np.diag([2.0, -1.0])),
        ("negative curvature along g (g'Hg < 0): no minimum, eta* = inf",
         np.array([0.5, 1.0]), np.diag([1.0, -2.0])),
        ("zero curvature along g (g'Hg = 0): eta* = inf", np.array([1.0, 1.0]),
         np.diag([1.0, -1.0])),
    ]:
        yield Case(label, dict(g=g, H=H), _optimal_step(g, H))


