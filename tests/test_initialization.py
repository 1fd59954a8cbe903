"""optlib.nn's initialization tools: initializers, signal propagation, residual blocks,
the one-unit recurrent network, and the explorer of the chapter on initialization."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import optlib as ol  # noqa: E402
from optlib import nn, widgets  # noqa: E402
from optlib.nn import signal  # noqa: E402
from optlib.widgets import initialization as init_widgets  # noqa: E402

torch = pytest.importorskip("torch")

# ---------------------------------------------------------------- initializers


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (1, 4)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_orthogonal_has_every_singular_value_equal_to_the_gain(shape, gain):
    W = nn.orthogonal(gain)(shape, np.random.default_rng(0))
    assert W.shape == shape
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-12)
    x = np.random.default_rng(1).standard_normal((4, shape[0]))
    if shape[0] <= shape[1]:       # orthonormal rows: the layer keeps every norm
        np.testing.assert_allclose(np.linalg.norm(x @ W, axis=1),
                                   gain * np.linalg.norm(x, axis=1), rtol=1e-12)


def test_orthogonal_is_uniformly_distributed():
    """Without the sign fix W[0, 0] < 0 always (Householder QR); Haar has it positive half
    of the time: 4 binomial standard errors of 2000 draws, 0.045."""
    rng = np.random.default_rng(2)
    first = np.array([nn.orthogonal()((3, 3), rng)[0, 0] for _ in range(2000)])
    assert abs(np.mean(first > 0) - 0.5) < 0.045
    # and the entries have variance 1 / n (here 1/3): 4 standard errors of 2000
    assert abs(np.mean(first**2) - 1 / 3) < 4 * np.std(first**2) / math.sqrt(2000)


def test_torch_default_matches_torch_nn_linear():
    W = nn.torch_default()((1000, 400), np.random.default_rng(0))
    bound = 1 / math.sqrt(1000)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(1000, 400).weight.detach().numpy()
    for w in (W, theirs):
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
        # the variance of U(-a, a) is a^2 / 3; 4 relative standard errors sqrt(0.8 / n)
        assert abs(w.var() / (bound**2 / 3) - 1) < 4 * math.sqrt(0.8 / w.size)


def test_initializer_names_and_errors():
    assert {"orthogonal", "torch_default"} <= set(nn.INITIALIZERS)
    assert nn.Linear(4, 3, init="orthogonal").params["W"].shape == (4, 3)
    with pytest.raises(ValueError, match="gain"):
        nn.orthogonal(0.0)


# ---------------------------------------------------------------- mean-field maps


def test_variance_map_closed_forms_and_small_q_expansion():
    assert signal.variance_map(0.7, "relu", 2.0) == pytest.approx(0.7)
    assert signal.variance_map(0.7, "linear", 1.5, 0.1) == pytest.approx(1.5 * 0.7 + 0.1)
    q = 1e-3    # tanh: Q - 2 Q^2 + 17/3 Q^3 - (62/315) 105 Q^4 + ...: the last is 2e-8 of Q
    expected = q - 2 * q**2 + 17 / 3 * q**3
    assert signal.variance_map(q, "tanh", 1.0) == pytest.approx(expected, rel=3e-8)
    assert signal.variance_map(q, "tanh", 1.0) != pytest.approx(expected, rel=1e-8)
    with pytest.raises(ValueError, match="activation"):
        signal.variance_map(1.0, "gelu")
    with pytest.raises(ValueError, match="sigma_w2"):
        signal.variance_map(1.0, "tanh", -1.0)


def test_variances_start_at_the_input_and_fixed_point_is_fixed():
    q = signal.variances(5, "relu", 3.0, 0.5, q_input=2.0)
    assert q[0] == pytest.approx(3.0 * 2.0 + 0.5)
    np.testing.assert_allclose(q[1:], 1.5 * q[:-1] + 0.5)
    star = signal.variance_fixed_point("tanh", 2.0, 0.1)
    assert signal.variance_map(star, "tanh", 2.0, 0.1) == pytest.approx(star, rel=1e-12)


def test_correlation_map_against_monte_carlo_and_closed_forms():
    rng = np.random.default_rng(3)
    q, c = 0.8, 0.4
    u = rng.multivariate_normal([0, 0], q * np.array([[1, c], [c, 1]]), size=400_000)
    for activation, phi in (("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))):
        samples = 1.5 * phi(u[:, 0]) * phi(u[:, 1]) + 0.05
        predicted = signal.correlation_map(c, q, activation, 1.5, 0.05) * signal.variance_map(
            q, activation, 1.5, 0.05)
        # 4 standard errors of 400,000 samples
        assert abs(samples.mean() - predicted) < 4 * samples.std() / math.sqrt(u.shape[0])
    # a linear network keeps correlations up to the biases
    assert signal.correlation_map(0.3, 2.0, "linear", 1.0, 0.0) == pytest.approx(0.3)
    assert signal.correlation_map(1.0, 0.5, "tanh", 2.0, 0.1) == pytest.approx(1.0)


def test_slope_at_one_is_the_derivative_of_the_correlation_map():
    q = signal.variance_fixed_point("tanh", 2.5, 0.05)
    h = 1e-5
    numeric = (signal.correlation_map(1.0, q, "tanh", 2.5, 0.05)
               - signal.correlation_map(1.0 - h, q, "tanh", 2.5, 0.05)) / h
    assert numeric == pytest.approx(signal.slope_at_one("tanh", 2.5, 0.05), rel=1e-3)
    assert signal.slope_at_one("relu", 2.0) == pytest.approx(1.0, rel=1e-12)


def test_gradient_variances_multiply_backwards():
    q = signal.variances(4, "tanh", 1.2)
    g = signal.gradient_variances(q, "tanh", 1.2)
    assert g[-1] == 1.0
    factors = 1.2 * signal.gaussian_mean(lambda z: 1 / np.cosh(z) ** 4, q)
    np.testing.assert_allclose(g[:-1] / g[1:], factors[:-1])
    np.testing.assert_allclose(signal.gradient_variances(np.ones(3), "relu", 3.0),
                               [2.25, 1.5, 1.0])


# ---------------------------------------------------------------- exact finite-width laws


def test_relu_log_ratio_moments_approach_hanin_rolnick():
    for width in (100, 1000):
        mean, var = signal.relu_log_ratio_moments(width, 10)
        assert mean == pytest.approx(-5 * 10 / (2 * width), rel=30 / width)
        assert var == pytest.approx(5 * 10 / width, rel=30 / width)


def test_relu_log_ratio_moments_against_simulated_networks():
    width, depth, networks = 16, 6, 4000
    rng = np.random.default_rng(4)
    x = rng.standard_normal((networks, 1, width))
    z = list(signal.propagate(x, signal.gaussian_layers(rng, depth, width, 2.0,
                                                        leading=(networks,)), "relu"))[-1]
    logs = np.log(np.sum(np.maximum(z, 0) ** 2, axis=(-2, -1)) / np.sum(x**2, axis=(-2, -1)))
    mean, var = signal.relu_log_ratio_moments(width, depth)
    assert abs(logs.mean() - mean) < 4 * math.sqrt(var / networks)
    assert abs(logs.var() - var) < 4 * var * math.sqrt(2 / networks) * 1.5  # log chi^2 tails


def test_gaussian_product_moments_against_simulation_and_limits():
    assert signal.gaussian_product_moments(1, 10) == (1.0, pytest.approx(2.1))
    width, depth, samples = 6, 3, 20_000
    rng = np.random.default_rng(5)
    P = np.broadcast_to(np.eye(width), (samples, width, width))
    for _ in range(depth):
        P = P @ (rng.standard_normal((samples, width, width)) / math.sqrt(width))
    squares = np.linalg.svd(P, compute_uv=False) ** 2
    m2 = np.mean(squares**2, axis=-1)
    exact = signal.gaussian_product_moments(depth, width)[1]
    assert abs(m2.mean() - exact) < 4 * m2.std() / math.sqrt(samples)
    assert signal.gaussian_product_moments(7, 10**7)[1] == pytest.approx(8, rel=1e-5)


# ---------------------------------------------------------------- random networks


def test_propagate_and_backpropagate_agree_with_an_optlib_network():
    rng = np.random.default_rng(6)
    model = nn.MLP([8, 8, 8, 8], activation="tanh", seed=0)
    for _, layer in model.linear_layers():
        layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
    weights = [layer.params["W"] for _, layer in model.linear_layers()]
    biases = [layer.params["b"] for _, layer in model.linear_layers()]
    x = rng.normal(size=(5, 8))
    zs = list(signal.propagate(x, weights, "tanh", biases))
    stats = nn.layer_statistics(model, x, seed=1)
    for mine, theirs in zip(zs, stats.pre_activations, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    grads = signal.backpropagate(zs, weights, "tanh", stats.gradients[-1])
    for mine, theirs in zip(grads, stats.gradients, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
    assert np.allclose(stats.pre_activation_rms, [np.sqrt(np.mean(z**2)) for z in zs])
    with pytest.raises(ValueError, match="one weight matrix per layer"):
        signal.backpropagate(zs, weights[:2], "tanh", grads[-1])
    with pytest.raises(ValueError, match="samples"):
        next(signal.propagate(np.ones(8), weights, "tanh"))


def test_layer_statistics_checks_its_input():
    model = nn.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="dout"):
        nn.layer_statistics(model, np.ones((5, 3)), dout=np.ones((5, 3)))
    with pytest.raises(TypeError, match="Sequential"):
        nn.layer_statistics(nn.Linear(3, 2), np.ones((5, 3)))


def test_gaussian_layers_share_draws_across_sigma_w():
    layers = list(signal.gaussian_layers(0, 2, 4, np.array([1.0, 4.0]), leading=(3,)))
    assert layers[0].shape == (2, 3, 4, 4)
    np.testing.assert_allclose(layers[1][1], 2 * layers[1][0])
    assert np.var(np.concatenate([w[0].ravel() for w in signal.gaussian_layers(
        1, 50, 40, 2.0)])) == pytest.approx(2 / 40, rel=0.03)   # 80,000 draws: 0.5 % se


# ---------------------------------------------------------------- residual blocks


def test_residual_backward_matches_torch_autograd():
    block = nn.Residual(5, hidden=7, last_init="kaiming_normal", seed=0)
    block.params["b1"][...] = np.random.default_rng(1).normal(size=7)
    x = np.random.default_rng(2).normal(size=(4, 5))
    dy = np.random.default_rng(3).normal(size=(4, 5))
    out = block.forward(x)
    dx = block.backward(dy)
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in block.params.items()}
    tx = torch.tensor(x, requires_grad=True)
    ty = tx + torch.relu(tx @ tensors["W1"] + tensors["b1"]) @ tensors["W2"]
    (ty * torch.tensor(dy)).sum().backward()
    np.testing.assert_allclose(out, ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    for name, tensor in tensors.items():
        np.testing.assert_allclose(block.grads[name], tensor.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)


def test_residual_schemes_start_where_they_say():
    x = np.random.default_rng(7).normal(size=(16, 32))
    for scheme in ("zero", "fixup"):
        np.testing.assert_array_equal(nn.residual_stack(32, 6, scheme).forward(x), x)
    standard = nn.residual_stack(32, 40, "standard", seed=1).forward(x)
    scaled = nn.residual_stack(32, 40, "scaled", seed=1).forward(x)
    growth = np.mean(np.sum(standard**2, 1) / np.sum(x**2, 1))
    assert 2**40 / 1e3 < growth < 2**40 * 1e3      # 2^D, up to a log-normal spread
    assert np.mean(np.sum(scaled**2, 1) / np.sum(x**2, 1)) < 5
    fixup = nn.residual_mlp(10, 32, 8, 3, "fixup")
    assert not fixup.layers[-1].params["W"].any()
    inner = np.concatenate([block.params["W1"].ravel() for block in fixup.layers[1:-1]])
    assert inner.var() == pytest.approx(2 / (32 * 8), rel=0.1)   # 8192 draws: 1.6 % se
    with pytest.raises(ValueError, match="scheme"):
        nn.residual_stack(8, 2, "lecun")
    with pytest.raises(ValueError, match="blocks"):
        nn.residual_stack(8, 0)


def test_residual_network_trains_end_to_end():
    X, y = ol.data.two_moons(n=128, seed=0)
    model = nn.residual_mlp(2, 16, 4, 2, "fixup", seed=0)
    history = nn.train(model, X, y, ol.sgd(0.3), epochs=20, batch_size=32)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]


# ---------------------------------------------------------------- the one-unit recurrent network


def test_one_unit_rnn_gradient_and_cliff():
    f = nn.one_unit_rnn(steps=30, target=2.0)
    for theta in ([4.0, -2.0], [6.0, -3.0], [2.0, -1.0]):
        assert ol.functions.check_grad(f, np.array(theta)) < 1e-6
    states = nn.rnn_states(np.array([5.0, nn.cliff_bias(5.0)]), steps=30)
    np.testing.assert_allclose(states, 0.5, atol=1e-12)    # z0 is the fixed point
    below = f.grad(np.array([5.0, nn.cliff_bias(5.0) - 0.3]))
    near = f.grad(np.array([5.0, nn.cliff_bias(5.0) - 1e-6]))
    # on the cliff the slope W sigmoid'(z0) = 1.175 is multiplied 30 times: 1.175^30 = 126
    assert np.linalg.norm(near) > 100 * np.linalg.norm(below)
    batch = np.array([[4.0, -2.0], [6.0, -3.0]])
    np.testing.assert_allclose(f.value(batch), [f.value(b) for b in batch])
    with pytest.raises(ValueError, match="steps"):
        nn.one_unit_rnn(steps=0)


# ---------------------------------------------------------------- the explorer and figures


@pytest.fixture
def explorer():
    return widgets.InitializationExplorer(depth=10, width=32)


def test_explorer_follows_its_network_and_the_mean_field(explorer):
    weights, biases, inputs, sigma_w2, _ = explorer.network()
    assert weights.shape == (10, 32, 32) and biases is None and sigma_w2 == 2.0
    zs = list(signal.propagate(inputs, weights, "relu"))
    np.testing.assert_allclose(explorer.measured["z_rms"], [np.sqrt(np.mean(z**2)) for z in zs])
    np.testing.assert_allclose(explorer.measured["z_theory"], math.sqrt(2.0))
    explorer.controls["scale"].value = 0.5
    np.testing.assert_allclose(explorer.measured["z_theory"],
                               math.sqrt(0.5) * 0.5 ** np.arange(10))
    np.testing.assert_allclose(explorer.measured["grad_theory"], 0.5 ** np.arange(9, -1, -1))


def test_explorer_controls_change_the_network(explorer):
    explorer.controls["depth"].value = 25
    assert len(explorer.measured["z_rms"]) == 25
    assert np.isnan(explorer.images[0].get_array().filled(np.nan)[25:]).all()
    explorer.controls["width"].value = 64
    assert explorer.network()[0].shape == (25, 64, 64)
    explorer.controls["init"].value = "torch default"
    _, biases, _, sigma_w2, sigma_b2 = explorer.network()
    assert biases is not None and sigma_w2 == pytest.approx(1 / 3)
    assert sigma_b2 == pytest.approx(1 / (3 * 64))
    explorer.controls["init"].value = "orthogonal"
    explorer.controls["activation"].value = "linear"
    weights, _, inputs, _, _ = explorer.network()
    np.testing.assert_allclose(explorer.measured["z_rms"], np.sqrt(np.mean(inputs**2)))
    rows = explorer.images[0].get_array().filled(np.nan)[:25]
    np.testing.assert_allclose(np.nansum(np.where(rows > 1e-6, rows, 0), axis=1), 1.0)


def test_explorer_rejects_unknown_settings():
    with pytest.raises(ValueError, match="width"):
        widgets.InitializationExplorer(width=100)
    with pytest.raises(ValueError, match="init"):
        widgets.InitializationExplorer(init="lecun")
    with pytest.raises(ValueError, match="activation"):
        widgets.InitializationExplorer(activation="gelu")


def test_blitted_explorer_frame_equals_a_fresh_one(explorer):
    explorer.controls["scale"].value = 1.7
    explorer.controls["depth"].value = 14
    fresh = widgets.InitializationExplorer(depth=14, width=32, scale=1.7)
    assert explorer.snapshot() == fresh.snapshot()


def test_histograms_count_every_value_and_clip_the_range():
    rows = init_widgets._histograms([np.array([-10.0, 0.0, 0.01, 10.0])])
    assert rows.shape == (init_widgets.MAX_DEPTH, init_widgets.BINS)
    assert rows[0, 0] == 0.25 and rows[0, -1] == 0.25
    assert rows[0].max() == 0.5 and np.isnan(rows[1:]).all()


def test_singular_value_figure_and_scrub():
    gaussian = init_widgets.product_singular_values(3, 16, 4, "gaussian")
    orthogonal = init_widgets.product_singular_values(20, 16, 2, "orthogonal")
    assert gaussian.shape == (4, 16) and np.all(np.diff(gaussian, axis=1) <= 0)
    np.testing.assert_allclose(orthogonal, 1.0, rtol=1e-12)
    figure = widgets.singular_value_scrub([1, 4], width=16, seeds=2, alt="spectra")
    assert len(figure.frames) == 2 and figure.sliders[0][0] == "depth D"
    assert figure.nbytes < 2_000_000
