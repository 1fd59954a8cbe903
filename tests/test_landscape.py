"""Landscape analysis: Taylor models, step sizes from curvature, critical points and their
classification, escaping saddles, and filter-normalized loss slices."""

import numpy as np
import pytest

import optlib as ol
from optlib import functions as F
from optlib.landscape import (
    classify,
    critical_points,
    filter_normalize,
    hessian_spectrum,
    loss_slice_1d,
    loss_slice_2d,
    optimal_step,
    perturbed_gd,
    predicted_decrease,
    random_direction,
    taylor,
)


def test_second_order_taylor_model_of_a_quadratic_is_exact_on_a_grid():
    f = F.ill_conditioned(10.0, angle=0.5)
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1, 1, 5)), axis=-1)
    model = taylor(f, [0.3, -0.7], order=2)
    np.testing.assert_allclose(model(grid), f.value(grid), rtol=1e-12, atol=1e-12)
    assert model(grid).shape == (5, 7)


def test_taylor_errors_shrink_with_the_order():
    """Halving the offset divides the error of the order-k model by about 2^(k+1)."""
    f, x0 = F.rosenbrock(), np.array([-0.5, 0.8])
    direction = np.array([0.6, -0.8])
    for order, factor in [(0, 2), (1, 4), (2, 8)]:
        model = taylor(f, x0, order)
        err = [abs(model(x0 + h * direction) - f.value(x0 + h * direction))
               for h in (1e-2, 5e-3)]
        assert err[0] / err[1] == pytest.approx(factor, rel=0.05), order
    with pytest.raises(ValueError, match="order"):
        taylor(f, x0, order=3)


def test_predicted_decrease_is_exact_for_a_quadratic_and_peaks_at_the_optimal_step():
    f = F.ill_conditioned(50.0, angle=0.3)
    x = np.array([1.0, 2.0])
    g = f.grad(x)
    etas = np.linspace(0.0, 0.1, 11)
    actual = f.value(x) - f.value(x - etas[:, None] * g)
    np.testing.assert_allclose(predicted_decrease(f, x, etas), actual, rtol=1e-12, atol=1e-12)
    best = optimal_step(f, x)
    along = f.value(x - np.array([0.99, 1.0, 1.01])[:, None] * best * g)
    assert along[1] < along[0] and along[1] < along[2]
    assert predicted_decrease(f, x, 2 * best) == pytest.approx(0.0, abs=1e-10)


def test_optimal_step_is_infinite_without_positive_curvature_along_the_gradient():
    f = F.saddle()
    assert optimal_step(f, [0.0, 1.0]) == np.inf  # gradient along the negative-curvature axis
    assert optimal_step(f, [1.0, 0.0]) == pytest.approx(0.5)  # 1 / lambda with lambda = 2
    assert optimal_step(f, np.array([[0.0, 1.0], [1.0, 0.0]])).shape == (2,)


def test_hessian_spectrum_gives_eigenvalues_and_eigenvectors():
    f = F.ill_conditioned(1e3, dim=4, angle=0.7)
    x = np.ones(4)
    np.testing.assert_allclose(hessian_spectrum(f, x), np.geomspace(1, 1e3, 4), rtol=1e-12)
    values, vectors = hessian_spectrum(f, x, vectors=True)
    np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, f.hess(x), atol=1e-9)


def test_classify_the_textbook_critical_points():
    assert classify(F.saddle(), [0.0, 0.0])[0] == "saddle"
    label, eigenvalues = classify(F.monkey_saddle(), [0.0, 0.0])
    assert label == "degenerate" and np.all(eigenvalues == 0)
    assert classify(F.quadratic(-np.eye(2)), [0.0, 0.0])[0] == "maximum"
    camel = F.six_hump_camel()
    assert all(classify(camel, m)[0] == "minimum" for m in camel.minima)
    with pytest.raises(ValueError, match="not a critical point"):
        classify(camel, [0.5, 0.5])


def quartic_with_negative_curvature(sign):
    """-x^2 + sign y^4: Hessian eigenvalues (-2, 0) at the origin, a saddle for sign +1 and a
    maximum for sign -1."""
    def value(p):
        return -p[..., 0] ** 2 + sign * p[..., 1] ** 4

    def grad(p):
        return np.stack([-2 * p[..., 0], 4 * sign * p[..., 1] ** 3], axis=-1)

    def hess(p):
        zero = np.zeros_like(p[..., 0])
        return np.stack([np.stack([zero - 2, zero], -1),
                         np.stack([zero, 12 * sign * p[..., 1] ** 2], -1)], -2)

    return ol.functions.Objective(f"-x^2 {'+' if sign > 0 else '-'} y^4", 2, value, grad, hess,
                                  domain=((-1, 1), (-1, 1)))


@pytest.mark.parametrize("sign, truth", [(1.0, "saddle"), (-1.0, "maximum")])
def test_negative_curvature_beside_a_zero_eigenvalue_is_degenerate(sign, truth):
    # lambda = (-2, 0) and no positive eigenvalue: the second-derivative test cannot tell the
    # saddle of -x^2 + y^4 from the maximum of -x^2 - y^4, so both are 'degenerate' (and
    # neither is a minimum; both are strict saddles in Lee et al.'s sense, lambda_min < 0).
    f = quartic_with_negative_curvature(sign)
    label, eigenvalues = classify(f, [0.0, 0.0])
    assert label == "degenerate"
    np.testing.assert_array_equal(eigenvalues, [-2.0, 0.0])
    angles = np.linspace(0, 2 * np.pi, 361)
    circle = 0.1 * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    above = np.any(f.value(circle) > f.value(np.zeros(2)))
    assert ("saddle" if above else "maximum") == truth


def test_saddle_needs_eigenvalues_of_both_signs_beyond_tol():
    for eigenvalues, label in [([-2.0, 3.0], "saddle"), ([-2.0, 1e-9], "degenerate"),
                               ([-2.0, -1e-9], "degenerate"), ([-2.0, -3.0], "maximum"),
                               ([1e-9, 3.0], "degenerate"), ([-2.0, 0.0, 3.0], "saddle")]:
        f = F.quadratic(np.diag(eigenvalues))
        assert classify(f, np.zeros(len(eigenvalues)), tol=1e-6)[0] == label, eigenvalues


def six_hump_camel_critical_points():
    """All real solutions of grad f = 0, independently: u = 8v - 16v^3 from df/dv = 0, put
    into df/du = 8u - 8.4u^3 + 2u^5 + v = 0, is a polynomial of degree 15 in v."""
    P = np.polynomial.Polynomial
    u = P([0, 8, 0, -16])
    roots = (8 * u - 8.4 * u**3 + 2 * u**5 + P([0, 1])).roots()
    v = roots[np.abs(roots.imag) < 1e-9].real
    return np.stack([u(v), v], axis=-1)


def second_derivative_test(H):
    det, trace = np.linalg.det(H), np.trace(H)
    return "saddle" if det < 0 else "minimum" if trace > 0 else "maximum"


def test_critical_points_finds_every_stationary_point_of_the_six_hump_camel():
    f = F.six_hump_camel()
    truth = six_hump_camel_critical_points()
    found = critical_points(f, starts=400, seed=0)
    assert len(found) == len(truth) == 15
    for p in truth:
        assert np.min(np.linalg.norm(found - p, axis=1)) < 1e-8
    labels = [classify(f, p)[0] for p in found]
    assert labels == [second_derivative_test(f.hess(p)) for p in found]
    assert (labels.count("minimum"), labels.count("saddle"), labels.count("maximum")) == (6, 7, 2)
    for m in f.minima:
        assert np.min(np.linalg.norm(found - m, axis=1)) < 1e-8


def test_critical_points_of_the_saddles():
    (origin,) = critical_points(F.saddle(), starts=50)
    assert classify(F.saddle(), origin)[0] == "saddle"
    (origin,) = critical_points(F.monkey_saddle(), starts=50)
    assert np.linalg.norm(origin) < 1e-8
    assert classify(F.monkey_saddle(), origin)[0] == "degenerate"


def test_critical_points_accepts_explicit_starts_and_refuses_bad_ones():
    found = critical_points(F.himmelblau(), starts=np.array([[3.1, 2.1], [3.0, 1.9]]))
    np.testing.assert_allclose(found, [[3.0, 2.0]], atol=1e-10)
    with pytest.raises(ValueError, match="starts"):
        critical_points(F.himmelblau(), starts=0)


def test_perturbed_gd_escapes_the_strict_saddle_where_plain_gd_stays():
    f = F.saddle()
    plain = ol.minimize(f, [0.0, 0.0], "gd", lr=0.1, steps=60)
    np.testing.assert_array_equal(plain.x, [0.0, 0.0])
    perturbed = perturbed_gd(f, [0.0, 0.0], lr=0.1, steps=60, radius=1e-2, seed=0)
    assert perturbed.fun < -1.0 and abs(perturbed.x[1]) > 1.0
    assert abs(perturbed.x[0]) < 1e-3  # the stable direction contracts
    assert perturbed.history.x.shape == (61, 2) and perturbed.history.lr.shape == (60,)


def test_perturbed_gd_leaves_a_saddle_and_stops_at_minima():
    f = F.six_hump_camel()
    res = perturbed_gd(f, np.zeros((4, 2)), lr=0.02, steps=3000, f_thres=1e-4, seed=1)
    assert list(res.status) == ["converged"] * 4
    for x in res.x:
        assert classify(f, x, grad_tol=1e-2)[0] == "minimum"
    assert np.all(res.fun < -1.0)
    assert len({tuple(np.round(x, 3)) for x in res.history.x[30]}) == 4, "independent noise"


def test_filter_normalization_matches_each_filters_norm():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (3,), (2, 3), (2,)]
    theta = rng.normal(size=sum(int(np.prod(s)) for s in shapes))
    d = filter_normalize(rng.normal(size=theta.size), theta, blocks=shapes)
    W1, b1, W2, b2 = np.split(d, [12, 15, 21])
    T1, _, T2, _ = np.split(theta, [12, 15, 21])
    np.testing.assert_allclose(np.linalg.norm(W1.reshape(3, 4), axis=1),
                               np.linalg.norm(T1.reshape(3, 4), axis=1))
    np.testing.assert_allclose(np.linalg.norm(W2.reshape(2, 3), axis=1),
                               np.linalg.norm(T2.reshape(2, 3), axis=1))
    assert not b1.any() and not b2.any(), "1-D blocks are ignored, as in Li et al."
    kept = filter_normalize(rng.normal(size=theta.size), theta, blocks=shapes, ignore_1d=False)
    assert np.linalg.norm(kept[12:15]) == pytest.approx(np.linalg.norm(theta[12:15]))


def test_filter_normalization_with_slices_and_with_no_blocks():
    theta = np.arange(1.0, 7.0)
    d = filter_normalize(np.ones(6), theta, blocks=[slice(0, 2), slice(3, 6)])
    assert np.linalg.norm(d[:2]) == pytest.approx(np.linalg.norm(theta[:2]))
    assert d[2] == 0.0
    whole = filter_normalize(np.ones(6), theta)
    assert np.linalg.norm(whole) == pytest.approx(np.linalg.norm(theta))
    with pytest.raises(ValueError, match="hold 5 parameters"):
        filter_normalize(np.ones(6), theta, blocks=[(5,)])
    with pytest.raises(ValueError, match="mixture"):
        filter_normalize(np.ones(6), theta, blocks=[(3,), slice(3, 6)])


def test_a_1d_slice_of_a_quadratic_is_its_parabola():
    f = F.ill_conditioned(20.0, dim=3, angle=0.2)
    theta = np.array([0.5, -1.0, 2.0])
    alphas = np.linspace(-1, 1, 9)
    s = loss_slice_1d(f, theta, alphas, seed=3)
    d = s.direction
    slope, curvature = f.grad(theta) @ d, d @ f.hvp(theta, d)
    parabola = f.value(theta) + alphas * slope + 0.5 * alphas**2 * curvature
    np.testing.assert_allclose(s.values, parabola, rtol=1e-12)
    by_callable = loss_slice_1d(lambda p: float(f.value(p)), theta, alphas, direction=d)
    np.testing.assert_allclose(by_callable.values, s.values)
    np.testing.assert_array_equal(loss_slice_1d(f, theta, alphas, seed=3).direction, d)


def test_a_2d_slice_has_the_loss_at_theta_in_the_middle():
    f = F.rosenbrock(dim=6)
    theta = np.linspace(-1, 1, 6)
    s = loss_slice_2d(f, theta, np.linspace(-1, 1, 5), np.linspace(-2, 2, 7), seed=0)
    assert s.values.shape == (7, 5)
    assert s.values[3, 2] == pytest.approx(f.value(theta))
    d1, d2 = s.directions
    assert s.values[0, 4] == pytest.approx(f.value(theta + 1.0 * d1 - 2.0 * d2))
    assert not np.allclose(d1, d2)


def scale_invariant_loss(shapes):
    """A loss that sees each row (filter) of each weight matrix only through its direction,
    like a layer followed by normalization: rescaling a filter changes nothing."""
    targets = [np.random.default_rng(i).normal(size=s) for i, s in enumerate(shapes)]

    def loss(theta):
        total, start = 0.0, 0
        for shape, target in zip(shapes, targets, strict=True):
            W = theta[start:start + int(np.prod(shape))].reshape(shape)
            start += W.size
            unit = W / np.linalg.norm(W, axis=1, keepdims=True)
            total += np.sum((unit - target) ** 2)
        return total

    return loss


def test_filter_normalized_slices_ignore_the_scale_of_each_filter():
    """Li et al.'s reason for filter normalization: theta and a filter-wise rescaled theta
    compute the same function, and their filter-normalized slices agree; slices along
    directions normalized as one whole vector do not."""
    shapes = [(4, 3), (2, 4)]
    loss = scale_invariant_loss(shapes)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=20)
    scales = np.concatenate([np.repeat([0.1, 1.0, 10.0, 3.0], 3), np.repeat([5.0, 0.2], 4)])
    rescaled = theta * scales
    assert loss(rescaled) == pytest.approx(loss(theta))
    alphas = np.linspace(-1, 1, 7)
    filtered = [loss_slice_1d(loss, t, alphas, blocks=shapes, seed=1).values
                for t in (theta, rescaled)]
    np.testing.assert_allclose(filtered[0], filtered[1], rtol=1e-10)
    whole = [loss_slice_1d(loss, t, alphas, seed=1).values for t in (theta, rescaled)]
    assert not np.allclose(whole[0], whole[1], rtol=1e-3)


def test_random_directions_are_reproducible_and_can_be_raw():
    theta = np.ones(10)
    np.testing.assert_array_equal(random_direction(theta, seed=4), random_direction(theta, seed=4))
    raw = random_direction(theta, seed=4, normalize=False)
    assert np.linalg.norm(raw) != pytest.approx(np.linalg.norm(theta))


def test_landscape_refuses_bad_input():
    with pytest.raises(TypeError, match="Objective"):
        taylor(lambda x: x, [0.0, 0.0])
    with pytest.raises(ValueError, match="flat parameter vector"):
        loss_slice_1d(F.rosenbrock(), np.zeros((2, 2)), [0.0])
    with pytest.raises(ValueError, match="alphas"):
        loss_slice_1d(F.rosenbrock(), np.zeros(2), [])
    with pytest.raises(ValueError, match="lr"):
        perturbed_gd(F.saddle(), [0.0, 0.0], lr=-1.0)
