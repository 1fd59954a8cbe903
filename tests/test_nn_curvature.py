"""Curvature products of a network's loss: Pearlmutter's R-operator against finite differences
and torch's double backward, the Gauss-Newton product against J' H_out J formed explicitly
and against torch's forward-mode and reverse-mode products."""

import numpy as np
import pytest

import optlib as ol
from optlib.nn import (
    gauss_newton_vector_product,
    hessian_vector_product,
    jacobian_vector_product,
    with_curvature,
)

torch = pytest.importorskip("torch")

ACTIVATIONS = ["relu", "tanh", "sigmoid"]
LOSSES = ["cross_entropy", "mse"]


def problem(activation, loss, sizes=(4, 6, 5, 3), n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], n) if loss == "cross_entropy" else rng.normal(
        size=(n, sizes[-1]))
    model = ol.nn.MLP(list(sizes), activation=activation, seed=seed)
    objective = ol.nn.NetworkLoss(model, X, y, loss=loss)
    theta = model.params + 0.1 * rng.normal(size=model.params.size)
    return objective, theta, rng.normal(size=theta.size)


def torch_loss(objective, theta):
    """The same network and loss in torch, as a function of the flat parameter vector."""
    model, a = objective.model, torch.tensor(objective.X)
    functions = {"ReLU": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}
    for index, layer in enumerate(model.layers):
        if isinstance(layer, ol.nn.Linear):
            W = theta[model.param_slices[f"{index}.W"]].reshape(layer.params["W"].shape)
            a = a @ W + theta[model.param_slices[f"{index}.b"]]
        else:
            a = functions[type(layer).__name__](a)
    if objective.name.endswith("cross_entropy"):
        return a, torch.nn.functional.cross_entropy(a, torch.tensor(objective.y))
    return a, torch.nn.functional.mse_loss(a, torch.tensor(objective.y))


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_r_operator_equals_torchs_double_backward(activation, loss):
    objective, theta, v = problem(activation, loss)
    T = torch.tensor(theta, requires_grad=True)
    (grad,) = torch.autograd.grad(torch_loss(objective, T)[1], T, create_graph=True)
    (expected,) = torch.autograd.grad(grad @ torch.tensor(v), T)
    got = hessian_vector_product(objective, theta, v)
    # two passes of ~100 operations on numbers of order 1, in float64: 1e-13
    np.testing.assert_allclose(got, expected.numpy(), rtol=0,
                               atol=1e-13 * np.abs(got).max())


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_r_operator_agrees_with_central_differences_of_gradients(activation, loss):
    """Central differences err by h^2/6 |third derivative| + eps |grad| / h: at h = 1e-4,
    about 1e-8 relative here."""
    objective, theta, v = problem(activation, loss)
    h = 1e-4
    fd = (objective.grad(theta + h * v) - objective.grad(theta - h * v)) / (2 * h)
    got = hessian_vector_product(objective, theta, v)
    assert np.linalg.norm(got - fd) <= 1e-6 * np.linalg.norm(got)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gauss_newton_is_j_transpose_h_out_j(activation, loss):
    objective, theta, v = problem(activation, loss)
    dim = theta.size
    J = np.stack([jacobian_vector_product(objective, theta, e).ravel() for e in np.eye(dim)],
                 axis=1)
    T = torch.tensor(theta, requires_grad=True)
    out, _ = torch_loss(objective, T)
    # J from torch: one reverse pass per output entry
    J_torch = np.stack([torch.autograd.grad(out.reshape(-1)[k], T, retain_graph=True)[0]
                        .numpy() for k in range(out.numel())])
    np.testing.assert_allclose(J, J_torch, atol=1e-13 * np.abs(J).max())
    flat_out = out.detach().reshape(-1)

    def loss_of_output(o):
        shaped = o.reshape(out.shape)
        if loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(shaped, torch.tensor(objective.y))
        return torch.nn.functional.mse_loss(shaped, torch.tensor(objective.y))

    H_out = torch.autograd.functional.hessian(loss_of_output, flat_out).numpy()
    G = J.T @ H_out @ J
    got = gauss_newton_vector_product(objective, theta, v)
    np.testing.assert_allclose(got, G @ v, atol=1e-12 * np.abs(G @ v).max())


def test_gauss_newton_is_positive_semidefinite_where_the_hessian_is_not():
    objective, theta, _ = problem("tanh", "cross_entropy", sizes=(3, 5, 3), seed=2)
    H = with_curvature(objective, "hessian").hess(theta)
    G = with_curvature(objective, "gauss_newton").hess(theta)
    assert np.linalg.eigvalsh(H)[0] < -1e-3
    assert np.linalg.eigvalsh(G)[0] >= -1e-12 * np.linalg.eigvalsh(G)[-1]


def test_for_a_linear_model_gauss_newton_is_the_hessian():
    """With no hidden layer the output is linear in theta: the second term vanishes."""
    objective, theta, v = problem("tanh", "cross_entropy", sizes=(4, 3))
    np.testing.assert_allclose(gauss_newton_vector_product(objective, theta, v),
                               hessian_vector_product(objective, theta, v), rtol=1e-12,
                               atol=1e-15)


def test_products_take_leading_axes_and_feed_hessian_free():
    objective, theta, v = problem("tanh", "cross_entropy")
    batch = np.stack([theta, theta + 0.1])
    vs = np.stack([v, -v])
    got = hessian_vector_product(objective, batch, vs)
    np.testing.assert_allclose(got[0], hessian_vector_product(objective, theta, v))
    np.testing.assert_allclose(got[1], -hessian_vector_product(objective, theta + 0.1, v))
    f = with_curvature(objective, "gauss_newton")
    res = ol.minimize(f, theta, "hessian_free", steps=10, tol=0.0)
    assert res.fun < 0.8 * objective.value(theta)
    assert np.all(np.diff(res.history.f) < 0)
    assert res.nhev > 0


def test_unsupported_networks_and_losses_are_refused():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    normalized = ol.nn.NetworkLoss(ol.nn.MLP([3, 4, 2], norm="layer"), X, y)
    with pytest.raises(TypeError, match="LayerNorm"):
        hessian_vector_product(normalized, normalized.model.params,
                               np.ones(normalized.dim))
    custom = ol.nn.NetworkLoss(ol.nn.MLP([3, 4, 2]), X, y,
                               loss=lambda out, t: (0.0, np.zeros_like(out)))
    with pytest.raises(ValueError, match="cross_entropy"):
        gauss_newton_vector_product(custom, custom.model.params, np.ones(custom.dim))
    with pytest.raises(ValueError, match="curvature"):
        with_curvature(custom, "fisher")
    with pytest.raises(TypeError, match="NetworkLoss"):
        hessian_vector_product(ol.functions.rosenbrock(), np.zeros(2), np.ones(2))
