"""Landscapes of networks: the stacked network loss and its exact curvature products,
Lanczos and power iteration, rescalings, PCA of a path, barriers and Bezier curves, the
ReLU teacher-student loss, Newton's search for critical points, and escape times."""

import numpy as np
import pytest

import optlib as ol
from optlib import functions as F
from optlib.landscape import (
    BatchedNetworkLoss,
    barrier,
    bezier,
    critical_points,
    escape_time,
    extreme_eigenvalues,
    filter_normalize,
    fit_bezier,
    lanczos,
    loss_slice_1d,
    neuron_filters,
    pca_directions,
    power_iteration,
    project,
    relu_kernel,
    relu_teacher_student,
    rescale_layer,
    rescale_neurons,
    sharpness,
)


def small_problem(activation="tanh", loss="mse", seed=0, sizes=(3, 5, 4, 2)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(25, sizes[0]))
    y = rng.normal(size=(25, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], 25)
    model = ol.nn.MLP(list(sizes), activation=activation, seed=seed)
    return model, X, y


# ---------------------------------------------------------------- the stacked network loss


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_the_stacked_loss_is_the_network_loss(activation, loss):
    model, X, y = small_problem(activation, loss)
    reference = ol.nn.NetworkLoss(model, X, y, loss=loss)
    stacked = BatchedNetworkLoss(model, X, y, loss=loss)
    thetas = model.params + 0.3 * np.random.default_rng(1).normal(size=(2, 3, model.params.size))
    np.testing.assert_allclose(stacked.value(thetas), reference.value(thetas), rtol=1e-13)
    np.testing.assert_allclose(stacked.grad(thetas), reference.grad(thetas), rtol=1e-10,
                               atol=1e-13)
    batch = np.arange(5, 17)
    np.testing.assert_allclose(stacked.grad(thetas[0], batch=batch),
                               reference.grad(thetas[0], batch=batch), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(model.params, ol.nn.MLP(list((3, 5, 4, 2)),
                                                          activation=activation).params)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_the_hessian_vector_product_is_exact(activation, loss):
    """Pearlmutter's product equals the Richardson-extrapolated central difference of the
    gradient (error O(h^4) ~ 1e-13) and the columns of H form a symmetric matrix."""
    model, X, y = small_problem(activation, loss, seed=2)
    f = BatchedNetworkLoss(model, X, y, loss=loss)
    theta = model.params + 0.2 * np.random.default_rng(3).normal(size=f.dim)
    eye = np.eye(f.dim)

    def difference(h):
        return (f.grad(theta + h * eye) - f.grad(theta - h * eye)) / (2 * h)

    columns = f.loss_hvp(np.broadcast_to(theta, eye.shape), eye, f.X, f.y)
    richardson = (4 * difference(1e-4) - difference(2e-4)) / 3
    scale = np.abs(columns).max()
    assert np.abs(columns - richardson).max() < 1e-8 * scale
    assert np.abs(columns - columns.T).max() < 1e-14 * scale * f.dim


def test_gauss_newton_is_j_transpose_h_out_j_and_positive_semidefinite():
    model, X, y = small_problem("tanh", "cross_entropy", seed=4)
    f = BatchedNetworkLoss(model, X, y, loss="cross_entropy")
    theta = model.params.copy()
    eye = np.eye(f.dim)
    G = f.gnvp(np.broadcast_to(theta, eye.shape), eye)
    J = np.moveaxis(f.jvp(np.broadcast_to(theta, eye.shape), eye), 0, -1)   # (n, C, d)
    p = np.exp(f.outputs(theta))
    p /= p.sum(-1, keepdims=True)
    H_out = (np.einsum("nc,cd->ncd", p, np.eye(p.shape[1]))
             - np.einsum("nc,nd->ncd", p, p)) / len(X)
    np.testing.assert_allclose(G, np.einsum("nci,ncd,ndj->ij", J, H_out, J), atol=1e-14)
    assert np.linalg.eigvalsh(0.5 * (G + G.T))[0] > -1e-14
    eps = 1e-6
    v = np.random.default_rng(5).normal(size=f.dim)
    difference = (f.outputs(theta + eps * v) - f.outputs(theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(f.jvp(theta, v), difference, atol=1e-8)


def test_weight_decay_adds_to_value_gradient_and_curvature():
    model, X, y = small_problem()
    plain, decayed = (BatchedNetworkLoss(model, X, y, "mse", l2=l2) for l2 in (0.0, 0.1))
    theta, v = model.params, np.ones(model.params.size)
    assert decayed.value(theta) == pytest.approx(plain.value(theta) + 0.05 * theta @ theta)
    np.testing.assert_allclose(decayed.grad(theta), plain.grad(theta) + 0.1 * theta)
    np.testing.assert_allclose(decayed.hvp(theta, v), plain.hvp(theta, v) + 0.1 * v)
    np.testing.assert_allclose(decayed.gnvp(theta, v), plain.gnvp(theta, v) + 0.1 * v)


def test_linear_layers_without_activation_make_a_deep_linear_network():
    rng = np.random.default_rng(0)
    net = ol.nn.Sequential(ol.nn.Linear(3, 4, bias=False, seed=1),
                           ol.nn.Linear(4, 2, bias=False, seed=2))
    X = rng.normal(size=(10, 3))
    f = BatchedNetworkLoss(net, X, np.zeros((10, 2)), loss="mse")
    W1, W2 = net.layers[0].params["W"], net.layers[1].params["W"]
    np.testing.assert_allclose(f.outputs(net.params), X @ W1 @ W2)


def test_the_stacked_loss_refuses_what_it_cannot_evaluate():
    model, X, y = small_problem()
    with pytest.raises(ValueError, match="loss"):
        BatchedNetworkLoss(model, X, y, loss="hinge")
    with pytest.raises(ValueError, match="features"):
        BatchedNetworkLoss(model, X[:, :2], y, loss="mse")
    with pytest.raises(TypeError, match="BatchNorm"):
        BatchedNetworkLoss(ol.nn.MLP([3, 4, 2], norm="batch"), X, y, loss="mse")
    with pytest.raises(ValueError, match="l2"):
        BatchedNetworkLoss(model, X, y, loss="mse", l2=-1.0)


# ---------------------------------------------------------------- Lanczos and power iteration


def matrix_with(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return (Q * eigenvalues) @ Q.T


def test_lanczos_finds_both_ends_of_a_known_spectrum_to_1e_8():
    eigenvalues = np.concatenate([[-3.0, -1.5], np.linspace(-0.2, 0.4, 196), [2.0, 7.0]])
    H = matrix_with(eigenvalues)
    result = lanczos(lambda v: H @ v, np.random.default_rng(1).normal(size=200), steps=60)
    assert result.products == 60
    np.testing.assert_allclose(result.values[[0, 1, -2, -1]], [-3.0, -1.5, 2.0, 7.0],
                               rtol=0, atol=1e-8)
    top = result.vectors[:, -1]
    np.testing.assert_allclose(np.abs(top @ np.linalg.eigh(H)[1][:, -1]), 1.0, atol=1e-8)
    assert extreme_eigenvalues(lambda v: H @ v, 200, steps=60) == pytest.approx(
        (-3.0, 7.0), abs=1e-8)


def test_lanczos_stops_at_an_invariant_subspace_with_exact_values():
    H = np.diag([1.0, 2.0, 5.0, 9.0])
    result = lanczos(lambda v: H @ v, np.array([1.0, 0.0, 1.0, 0.0]), steps=4)
    assert result.products == 2
    np.testing.assert_allclose(result.values, [1.0, 5.0], atol=1e-14)


def test_lanczos_refuses_bad_input():
    with pytest.raises(ValueError, match="v0"):
        lanczos(lambda v: v, np.zeros(3))
    with pytest.raises(ValueError, match="matvec"):
        lanczos(lambda v: v[:2], np.ones(3))
    with pytest.raises(ValueError, match="steps"):
        lanczos(lambda v: v, np.ones(3), steps=0)


def test_power_iteration_needs_a_shift_when_the_largest_magnitude_is_negative():
    H = matrix_with([-5.0, 1.0, 3.0], seed=2)
    v0 = np.ones(3)
    plain, _ = power_iteration(lambda v: H @ v, v0, steps=200)
    assert plain == pytest.approx(-5.0, abs=1e-10)
    shifted, vector = power_iteration(lambda v: H @ v, v0, steps=300, shift=plain)
    assert shifted == pytest.approx(3.0, abs=1e-10)
    np.testing.assert_allclose(H @ vector, 3.0 * vector, atol=1e-9)


def test_sharpness_is_lambda_max_of_the_dense_hessian():
    model, X, y = small_problem("tanh", "mse", seed=6)
    f = BatchedNetworkLoss(model, X, y, loss="mse")
    theta = model.params
    dense = np.linalg.eigvalsh(f.hess(theta))[-1]
    assert sharpness(f, theta, steps=f.dim) == pytest.approx(dense, rel=1e-10)
    assert sharpness(F.ill_conditioned(50.0, dim=5), np.zeros(5), steps=5) == pytest.approx(50.0)
    assert sharpness(f, np.stack([theta, theta]), steps=f.dim).shape == (2,)


# ---------------------------------------------------------------- rescalings and filters


def relu_network():
    model, X, y = small_problem("relu", "mse", seed=7, sizes=(3, 6, 5, 2))
    f = BatchedNetworkLoss(model, X, y, loss="mse")
    return model, f, model.params + 0.1 * np.random.default_rng(8).normal(size=f.dim)


def test_rescaling_a_relu_layer_keeps_the_function_and_changes_the_hessian():
    model, f, theta = relu_network()
    for layer in (0, 1):
        rescaled = rescale_layer(model, theta, layer, 7.0)
        np.testing.assert_allclose(f.outputs(rescaled), f.outputs(theta), atol=1e-13)
    scales = np.exp(np.random.default_rng(9).normal(size=6))
    rescaled = rescale_neurons(model, theta, 0, scales)
    np.testing.assert_allclose(f.outputs(rescaled), f.outputs(theta), atol=1e-13)
    s = rescaled / theta        # the factor of every parameter (no parameter is 0 here)
    H, H_rescaled = f.hess(theta), f.hess(rescaled)
    np.testing.assert_allclose(H_rescaled, H / np.outer(s, s), atol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        rescale_neurons(model, theta, 0, -1.0)
    with pytest.raises(ValueError, match="layer"):
        rescale_layer(model, theta, 2, 2.0)


def test_neuron_filters_are_the_columns_of_each_weight_matrix():
    model, f, theta = relu_network()
    filters = neuron_filters(model)
    assert len(filters) == 6 + 5 + 2
    first = model.layers[0].params["W"]
    np.testing.assert_array_equal(theta[filters[1]].reshape(-1),
                                  theta[model.param_slices["0.W"]].reshape(first.shape)[:, 1])
    d = filter_normalize(np.ones(f.dim), theta, blocks=filters)
    assert not d[model.param_slices["0.b"]].any(), "biases get no direction"


def test_filter_normalized_slices_are_blind_to_a_layer_rescaling():
    model, f, theta = relu_network()
    rescaled = rescale_layer(model, theta, 0, 10.0)
    alphas = np.linspace(-1, 1, 9)
    filters = neuron_filters(model)
    normalized = [loss_slice_1d(f, t, alphas, blocks=filters, seed=3).values
                  for t in (theta, rescaled)]
    np.testing.assert_allclose(normalized[0], normalized[1], rtol=1e-12)
    whole = [loss_slice_1d(f, t, alphas, seed=3).values for t in (theta, rescaled)]
    assert not np.allclose(whole[0], whole[1], rtol=1e-2)


# ---------------------------------------------------------------- paths


def test_pca_of_a_path_in_a_plane_finds_the_plane():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(20, 2)))
    t = np.linspace(0, 1, 30)
    path = np.ones(20) + np.column_stack([3 * t, np.sin(4 * t)]) @ basis.T
    directions, explained = pca_directions(path)
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(directions @ basis)[1], [1.0, 1.0], atol=1e-12)
    assert explained.sum() == pytest.approx(1.0)
    coords = project(path, path[-1], directions)
    np.testing.assert_allclose(path[-1] + coords @ directions, path, atol=1e-12)
    with pytest.raises(ValueError, match="k"):
        pca_directions(path, k=40)


def test_barrier_is_the_rise_above_the_chord():
    alphas = np.linspace(0, 1, 5)
    assert barrier([1.0, 2.0, 3.0, 2.0, 1.0], alphas) == pytest.approx(2.0)
    assert barrier([1.0, 1.5, 2.0, 2.5, 3.0], alphas) == 0.0
    assert barrier([1.0, 0.5, 0.2, 0.5, 3.0], alphas) == 0.0
    with pytest.raises(ValueError, match="one length"):
        barrier([1.0, 2.0], alphas)


def test_a_trained_bezier_curve_follows_a_curved_valley():
    """Minima all round the unit circle, and a bump just above the centre: the segment
    from (-1, 0) to (1, 0) crosses the centre, the trained curve bends down along the
    valley."""

    def bump(x):
        return 2 * np.exp(-4 * (x[..., 0] ** 2 + (x[..., 1] - 0.3) ** 2))

    def value(x):
        return (np.sum(x**2, axis=-1) - 1) ** 2 + bump(x)

    def grad(x):
        ring = 4 * (np.sum(x**2, axis=-1, keepdims=True) - 1) * x
        return ring - 8 * (x - np.array([0.0, 0.3])) * bump(x)[..., None]

    f = F.Objective("a ring valley and a bump", 2, value, grad, lambda x: None)
    assert F.check_grad(f, np.array([0.3, -0.1])) < 1e-6
    a, b = np.array([-1.0, 0.0]), np.array([1.0, 0.0])
    t = np.linspace(0, 1, 41)
    assert np.allclose(bezier(a, 0.5 * (a + b), b, t)[:, 1], 0.0)
    control = fit_bezier(f, a, b, lr=0.05, steps=800, samples=8, seed=1)
    straight = barrier(f.value(bezier(a, 0.5 * (a + b), b, t)), t)
    bent = barrier(f.value(bezier(a, control, b, t)), t)
    assert control[1] < -1.0 and bent < 0.1 * straight


# ---------------------------------------------------------------- the ReLU teacher and student


def test_the_relu_kernel_in_closed_form_and_by_sampling():
    a = np.array([[3.0, 4.0]])
    assert relu_kernel(a, a)[0, 0] == pytest.approx(12.5)                 # |a|^2 / 2
    assert relu_kernel(a, -a)[0, 0] == pytest.approx(0.0, abs=1e-15)
    assert relu_kernel(np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]]))[0, 0] == \
        pytest.approx(1 / np.pi)                                          # |a||b| / 2 pi
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    x = rng.standard_normal((200_000, 4))
    products = np.maximum(x @ A.T, 0)[:, :, None] * np.maximum(x @ B.T, 0)[:, None, :]
    standard_error = products.std(axis=0) / np.sqrt(len(x))
    assert np.all(np.abs(relu_kernel(A, B) - products.mean(axis=0)) < 5 * standard_error)


def test_the_teacher_student_loss_vanishes_at_the_teacher_and_has_its_gradient():
    f = relu_teacher_student(3, 4)
    assert f.value(f.x_star) == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(f.grad(f.x_star), 0.0, atol=1e-14)
    w = np.random.default_rng(1).normal(size=(5, 12))
    assert np.all(f.value(w) > 0)
    assert ol.functions.check_grad(f, w[0]) < 1e-6
    permuted = f.x_star.reshape(4, 3)[[2, 0, 3, 1]].reshape(-1)
    assert f.value(permuted) == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(f.hess(w[0]), f.hess(w[0]).T)


# ---------------------------------------------------------------- critical points, escapes


def test_newtons_search_finds_the_critical_points_of_the_six_hump_camel():
    f = F.six_hump_camel()
    found = critical_points(f, starts=300, seed=0, method="newton", radius=0.5, max_iter=60)
    assert len(found) == 15
    with pytest.raises(ValueError, match="method"):
        critical_points(f, starts=3, method="bisection")


def test_escape_time_matches_gradient_descent_on_a_quadratic_saddle():
    f = F.quadratic(np.diag([1.0, -0.5]))
    for lr, r0 in [(0.1, 1e-6), (0.5, 1e-3), (1.0, 1e-9)]:
        run = ol.minimize(f, [0.0, r0], "gd", lr=lr, steps=2000, tol=0)
        steps = int(np.argmax(np.abs(run.history.x[:, 1]) >= 1.0))
        assert steps == int(np.ceil(escape_time(-0.5, r0, 1.0, lr=lr)))
    flow = escape_time(-0.5, 1e-6, 1.0)
    assert flow == pytest.approx(np.log(1e6) / 0.5)
    for lr in (1e-3, 0.1, 1.0):
        ratio = lr * escape_time(-0.5, 1e-6, 1.0, lr=lr) / flow
        assert 1.0 <= ratio <= 1.0 + lr * 0.5 / 2
    with pytest.raises(ValueError, match="negative"):
        escape_time(0.5, 1e-6, 1.0)


def test_escape_time_broadcasts_its_arguments_and_refuses_a_bad_step():
    lrs, r0s = np.array([0.1, 0.5, 1.0]), np.array([1e-6, 1e-3, 1e-9])
    together = escape_time(-0.5, r0s, 1.0, lr=lrs)
    one_by_one = [escape_time(-0.5, r0, 1.0, lr=lr) for lr, r0 in zip(lrs, r0s, strict=True)]
    np.testing.assert_allclose(together, one_by_one, rtol=1e-15)
    assert escape_time(-0.5, 1e-6, 1.0, lr=lrs[:, None]).shape == (3, 1)
    for bad in (0.0, -0.1, np.inf, [0.1, np.nan]):
        with pytest.raises(ValueError, match="lr"):
            escape_time(-0.5, 1e-6, 1.0, lr=bad)
