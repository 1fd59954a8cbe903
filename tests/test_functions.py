"""Objectives: analytic derivatives agree with finite differences; minimizers are stationary."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optlib as ol
from optlib import functions as F

OBJECTIVES = {
    "quadratic": lambda: F.quadratic([[3.0, 1.0], [1.0, 2.0]], [1.0, -1.0]),
    "ill_conditioned": lambda: F.ill_conditioned(100.0, dim=3, angle=0.4),
    "rosenbrock": F.rosenbrock,
    "rosenbrock_5d": lambda: F.rosenbrock(dim=5),
    "beale": F.beale,
    "himmelblau": F.himmelblau,
    "saddle": F.saddle,
    "monkey_saddle": F.monkey_saddle,
    "six_hump_camel": F.six_hump_camel,
    "rastrigin": lambda: F.rastrigin(3),
    "least_squares": lambda: F.LeastSquares(*_regression_data()),
    "logistic": lambda: F.LogisticRegression(*_classification_data(), l2=0.1),
    "nesterov_worst_case": lambda: F.nesterov_worst_case(5, smoothness=2.0),
}


def _regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=40)


def _classification_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    return X, (X @ [1.0, -1.0, 2.0] + rng.normal(size=60) > 0).astype(float)


def points_in_domain(f, unit):
    box = np.array(f.domain)
    return box[:, 0] + np.asarray(unit)[: f.dim] * (box[:, 1] - box[:, 0])


unit_points = st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5)


@pytest.mark.parametrize("name", OBJECTIVES)
@settings(max_examples=25, deadline=None)
@given(unit=unit_points, direction=unit_points)
def test_derivatives_agree_with_finite_differences(name, unit, direction):
    f = OBJECTIVES[name]()
    x = points_in_domain(f, unit)
    assert F.check_grad(f, x) < 1e-5
    h = 1e-5
    eye = np.eye(f.dim)
    grad_differences = np.stack([(f.grad(x + h * e) - f.grad(x - h * e)) / (2 * h) for e in eye], 1)
    H = f.hess(x)
    scale = max(1.0, np.abs(H).max())
    np.testing.assert_allclose(H, grad_differences, atol=1e-5 * scale)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * scale)
    v = np.asarray(direction)[: f.dim] - 0.5
    np.testing.assert_allclose(f.hvp(x, v), H @ v, atol=1e-10 * scale)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_methods_are_vectorized_over_leading_axes(name):
    f = OBJECTIVES[name]()
    rng = np.random.default_rng(2)
    box = np.array(f.domain)
    X = box[:, 0] + rng.uniform(size=(4, 3, f.dim)) * (box[:, 1] - box[:, 0])
    assert f.value(X).shape == (4, 3)
    assert f.grad(X).shape == (4, 3, f.dim)
    assert f.hess(X).shape == (4, 3, f.dim, f.dim)
    np.testing.assert_allclose(f.value(X)[2, 1], f.value(X[2, 1]))
    np.testing.assert_allclose(f.grad(X)[3, 0], f.grad(X[3, 0]))


WITH_MINIMA = [n for n in OBJECTIVES if n not in ("saddle", "monkey_saddle", "logistic")]


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_known_minimizers_are_stationary_with_the_stated_value(name):
    f = OBJECTIVES[name]()
    assert f.minima.shape[1] == f.dim
    assert np.abs(f.grad(f.minima)).max() < 1e-8
    assert np.all(np.linalg.eigvalsh(f.hess(f.minima)) > 0)
    assert f.value(f.x_star) == pytest.approx(f.f_star, abs=1e-12)
    assert np.all(f.value(f.minima) >= f.f_star - 1e-12)


def test_himmelblau_has_four_global_minima_and_camel_two():
    h, c = F.himmelblau(), F.six_hump_camel()
    assert len(h.minima) == 4 and np.allclose(h.value(h.minima), 0.0, atol=1e-20)
    assert np.sum(np.isclose(c.value(c.minima), c.f_star)) == 2
    assert c.f_star == pytest.approx(-1.0316284535, abs=1e-9)


def test_minibatch_gradients_average_to_the_full_gradient():
    f = OBJECTIVES["logistic"]()
    w = np.array([0.3, -0.2, 0.1])
    halves = [np.arange(0, 30), np.arange(30, 60)]
    mean_of_halves = np.mean([f.grad(w, batch=idx) for idx in halves], axis=0)
    np.testing.assert_allclose(mean_of_halves, f.grad(w), atol=1e-14)
    assert not np.allclose(f.grad(w, batch=halves[0]), f.grad(w))


def test_least_squares_minimizer_solves_the_normal_equations():
    X, y = _regression_data()
    f = F.LeastSquares(X, y)
    np.testing.assert_allclose(X.T @ X @ f.x_star, X.T @ y, rtol=1e-10)


def test_check_grad_detects_a_wrong_gradient():
    f = F.rosenbrock()
    broken = F.Objective("broken", 2, f.value, lambda x: 1.01 * f.grad(x), f.hess)
    assert F.check_grad(broken, [0.5, 0.5]) > 1e-3
    assert F.check_grad(f, [0.5, 0.5]) < 1e-7


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.rosenbrock().value(np.zeros(3)), r"x must have shape \(\.\.\., 2\)"),
        (lambda: F.quadratic(np.ones((2, 3))), "A must be a square matrix"),
        (lambda: F.quadratic([[1.0, 2.0], [0.0, 1.0]]), "A must be symmetric"),
        (lambda: F.ill_conditioned(0.5), "kappa must be"),
        (lambda: F.LogisticRegression(np.ones((3, 2)), [0, 1, 2]), "labels 0 and 1"),
        (lambda: F.LeastSquares(np.ones((3, 2)), np.ones(4)), r"y must have shape \(3,\)"),
        (lambda: F.rosenbrock(dim=1), "dim must be an integer >= 2"),
        (lambda: F.nesterov_worst_case(0), "dim must be a positive integer"),
        (lambda: F.nesterov_worst_case(3, smoothness=-1.0), "smoothness must be"),
    ],
)
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_quadratics_know_their_smoothness_and_strong_convexity():
    f = F.quadratic([[3.0, 1.0], [1.0, 2.0]])
    eigenvalues = np.linalg.eigvalsh([[3.0, 1.0], [1.0, 2.0]])
    assert f.smoothness == pytest.approx(eigenvalues[1])
    assert f.strong_convexity == pytest.approx(eigenvalues[0])
    assert F.ill_conditioned(50.0, dim=4).smoothness == pytest.approx(50.0)
    assert F.saddle().strong_convexity is None
    assert F.quadratic([[1.0, 0.0], [0.0, -3.0]]).smoothness == 3.0
    assert F.quadratic(np.diag([0.0, 2.0])).strong_convexity == 0.0


def test_lessard_recht_packard_is_smooth_and_strongly_convex_with_kappa_25():
    f = F.lessard_recht_packard()
    assert (f.smoothness, f.strong_convexity, f.f_star) == (25.0, 1.0, 0.0)
    # value and gradient are continuous where the pieces meet, at 1 and 2
    for knot in (1.0, 2.0):
        below, above = np.array([[knot - 1e-12]]), np.array([[knot]])
        assert f.value(below) == pytest.approx(f.value(above), abs=1e-9)
        assert f.grad(below)[0, 0] == pytest.approx(f.grad(above)[0, 0], abs=1e-9)
    # the gradient is the derivative of the value, away from the knots
    x = np.array([[-2.5], [0.4], [1.5], [3.3]])
    h = 1e-6
    np.testing.assert_allclose(f.grad(x), (f.value(x + h) - f.value(x - h))[:, None] / (2 * h),
                               rtol=1e-7)
    np.testing.assert_array_equal(f.hess(x)[:, 0, 0], [25.0, 25.0, 1.0, 25.0])
    # 1 <= (f'(x) - f'(y)) / (x - y) <= 25 for every pair: strongly convex and smooth
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-3, 5, (2, 2000, 1))
    slopes = (f.grad(a) - f.grad(b)) / (a - b)
    assert slopes.min() >= 1 - 1e-12 and slopes.max() <= 25 + 1e-12
    assert slopes.min() < 1.01 and slopes.max() > 24.99


def test_nesterovs_worst_case_has_the_stated_minimizer_and_constants():
    f = F.nesterov_worst_case(9, smoothness=4.0)
    eigenvalues = np.linalg.eigvalsh(f.hess(np.zeros(9)))
    assert eigenvalues.max() < f.smoothness == 4.0
    assert eigenvalues.min() == pytest.approx(f.strong_convexity, rel=1e-12)
    assert np.abs(f.grad(f.x_star)).max() < 1e-14
    assert f.value(f.x_star) == pytest.approx(f.f_star, abs=1e-14)
    assert f.f_star == pytest.approx(4.0 / 8 * (1 / 10 - 1))
    np.testing.assert_allclose(f.x_star, 1 - np.arange(1, 10) / 10)


def test_from_zero_gradient_steps_fill_one_coordinate_per_step():
    """The fact under the lower bound: after t steps, coordinates beyond t are still 0."""
    f = F.nesterov_worst_case(12)
    run = ol.minimize(f, np.zeros(12), ol.sgd(0.9, momentum=0.5, nesterov=True), steps=8, tol=0)
    for t, x in enumerate(run.history.x):
        assert np.all(x[t:] == 0) and (t == 0 or x[t - 1] != 0)


def test_objectives_are_reachable_from_the_package():
    assert ol.functions.rosenbrock().name == "rosenbrock"
