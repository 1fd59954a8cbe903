"""optlib.nn: backward passes, initializers, training; optlib.inplace: blockwise stepping."""

import numpy as np
import pytest
from finite_differences import central_difference

import optlib as ol
from optlib import data, nn
from optlib.functions import check_grad
from optlib.inplace import Optimizer, is_elementwise, leaves
from optlib.optimizers import Transform

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(42)



def max_error(a, b):
    """Relative where large, absolute where small, as functions.check_grad."""
    return np.max(np.abs(a - b) / np.maximum(1.0, np.maximum(np.abs(a), np.abs(b))))


def make_layer(kind):
    return {
        "linear": lambda: nn.Linear(4, 3, seed=1),
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "batchnorm": lambda: nn.BatchNorm(4),
        "batchnorm_eval": lambda: nn.BatchNorm(4),
        "layernorm": lambda: nn.LayerNorm(4),
    }[kind]()


def torch_twin(kind, layer):
    """The torch module computing what ``layer`` computes, with the same parameters."""
    if kind == "linear":
        module = torch.nn.Linear(4, 3)
        module.weight.data = torch.tensor(layer.params["W"].T.copy())
        module.bias.data = torch.tensor(layer.params["b"].copy())
        return module
    if kind.startswith("batchnorm"):
        module = torch.nn.BatchNorm1d(4)
    elif kind == "layernorm":
        module = torch.nn.LayerNorm(4)
    else:
        return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[kind]()
    module.weight.data = torch.tensor(layer.params["gamma"].copy())
    module.bias.data = torch.tensor(layer.params["beta"].copy())
    if kind == "batchnorm_eval":
        module.running_mean.data = torch.tensor(layer.running_mean.copy())
        module.running_var.data = torch.tensor(layer.running_var.copy())
        module.eval()
    return module.double()


LAYERS = ["linear", "relu", "tanh", "sigmoid", "batchnorm", "batchnorm_eval", "layernorm"]


def prepared(kind):
    layer = make_layer(kind)
    for name in layer.params:   # move scale and shift away from 1 and 0
        layer.params[name][...] += RNG.normal(0, 0.5, layer.params[name].shape)
    if kind == "batchnorm_eval":
        layer.running_mean[...] = RNG.normal(0, 1, 4)
        layer.running_var[...] = RNG.uniform(0.5, 2, 4)
        layer.training = False
    return layer


@pytest.mark.parametrize("kind", LAYERS)
def test_backward_matches_finite_differences(kind):
    layer = prepared(kind)
    x = RNG.normal(0, 1.5, (6, 4))
    weights = RNG.normal(size=layer.forward(x).shape)
    if kind == "batchnorm":   # training-mode forwards move the running statistics: pin them
        layer.momentum = 0.0

    def loss():
        return np.sum(layer.forward(x) * weights)

    loss()
    dx = layer.backward(weights)
    assert max_error(dx, central_difference(loss, x)) < 1e-8
    for name, p in layer.params.items():
        loss()
        layer.backward(weights)
        assert max_error(layer.grads[name].copy(), central_difference(loss, p)) < 1e-8, name


@pytest.mark.parametrize("kind", LAYERS)
def test_forward_and_backward_match_torch_autograd(kind):
    layer = prepared(kind)
    module = torch_twin(kind, layer)
    x = RNG.normal(0, 1.5, (8, 4))
    y = layer.forward(x)
    weights = RNG.normal(size=y.shape)
    dx = layer.backward(weights)
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.tensor(weights)).sum().backward()
    assert np.max(np.abs(y - ty.detach().numpy())) < 1e-10
    assert max_error(dx, tx.grad.numpy()) < 1e-8
    torch_grads = {"W": lambda m: m.weight.grad.numpy().T, "b": lambda m: m.bias.grad.numpy(),
                   "gamma": lambda m: m.weight.grad.numpy(), "beta": lambda m: m.bias.grad.numpy()}
    for name in layer.params:
        assert max_error(layer.grads[name], torch_grads[name](module)) < 1e-8, name


def test_batchnorm_equals_torch_batchnorm1d_in_training_and_eval():
    layer = nn.BatchNorm(5, momentum=0.2)
    module = torch.nn.BatchNorm1d(5, momentum=0.2).double()
    for step in range(4):   # training: batch statistics, running statistics updated
        x = RNG.normal(step, 2.0, (7, 5))
        weights = RNG.normal(size=(7, 5))
        y, dx = layer.forward(x), None
        dx = layer.backward(weights)
        tx = torch.tensor(x, requires_grad=True)
        ty = module(tx)
        (ty * torch.tensor(weights)).sum().backward()
        assert np.max(np.abs(y - ty.detach().numpy())) < 1e-10
        assert np.max(np.abs(dx - tx.grad.numpy())) < 1e-10
    np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.running_var, module.running_var.numpy(), rtol=0, atol=1e-12)
    assert not np.allclose(layer.running_var, 1.0), "the running statistics must have moved"
    layer.training = False
    module.eval()
    x = RNG.normal(1.0, 2.0, (3, 5))
    weights = RNG.normal(size=(3, 5))
    y = layer.forward(x)
    dx = layer.backward(weights)
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.tensor(weights)).sum().backward()
    assert np.max(np.abs(y - ty.detach().numpy())) < 1e-10
    assert np.max(np.abs(dx - tx.grad.numpy())) < 1e-10


def test_losses_match_torch():
    logits = RNG.normal(0, 3, (9, 4))
    labels = RNG.integers(0, 4, 9)
    value, grad = nn.softmax_cross_entropy(logits, labels)
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    assert abs(value - expected.item()) < 1e-12
    assert np.max(np.abs(grad - t.grad.numpy())) < 1e-12
    prediction, target = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))
    value, grad = nn.mse(prediction, target)
    t = torch.tensor(prediction, requires_grad=True)
    expected = torch.nn.functional.mse_loss(t, torch.tensor(target))
    expected.backward()
    assert abs(value - expected.item()) < 1e-12
    assert np.max(np.abs(grad - t.grad.numpy())) < 1e-12
    with pytest.raises(ValueError, match="labels"):
        nn.softmax_cross_entropy(logits, labels + 4)


def test_flat_parameters_are_views_into_the_layers():
    model = nn.MLP([3, 4, 2], norm="batch", seed=0)
    first = model.layers[0]
    assert model.params.size == 3 * 4 + 4 + 4 + 4 + 4 * 2 + 2
    model.params[model.param_slices["0.W"]] = 7.0
    assert np.all(first.params["W"] == 7.0)
    x = RNG.normal(size=(5, 3))
    _, dout = nn.mse(model.forward(x), np.zeros((5, 2)))
    model.backward(dout)
    np.testing.assert_array_equal(model.grads[model.param_slices["0.W"]],
                                  first.grads["W"].reshape(-1))
    assert np.any(model.grads != 0)


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_whole_network_gradient_through_network_loss(norm):
    X, y = data.blobs(n=12, centers=3, dim=3, seed=1)
    model = nn.MLP([3, 5, 4, 3], activation="tanh", norm=norm, seed=2)
    f = nn.NetworkLoss(model, X, y)
    theta = model.params + RNG.normal(0, 0.3, model.params.size)
    before = model.params.copy()
    assert check_grad(f, theta) < 1e-7
    np.testing.assert_array_equal(model.params, before)   # evaluation leaves the model as it was
    batch = np.arange(4)
    assert f.value(theta, batch=batch) != f.value(theta)
    values = f.value(np.stack([theta, before]))
    assert values.shape == (2,) and values[0] == f.value(theta)


def test_minimize_trains_a_network_through_network_loss():
    X, y = data.two_moons(n=200, noise=0.1, seed=0)
    model = nn.MLP([2, 16, 2], seed=0)
    f = nn.NetworkLoss(model, X, y)
    res = ol.minimize(f, model.params, ol.adam(0.02), steps=300, batch_size=32)
    assert res.fun < 0.5 * f.value(model.params)


# ---------------------------------------------------------------- initialization


@pytest.mark.parametrize("name, variance, bound", [
    ("kaiming_normal", lambda i, o: 2 / i, None),
    ("kaiming_uniform", lambda i, o: 2 / i, lambda i, o: np.sqrt(6 / i)),
    ("xavier_normal", lambda i, o: 2 / (i + o), None),
    ("xavier_uniform", lambda i, o: 2 / (i + o), lambda i, o: np.sqrt(6 / (i + o))),
    ("normal", lambda i, o: 0.01**2, None),
])
def test_initializer_statistics_match_theory(name, variance, bound):
    fan_in, fan_out = 400, 600
    W = nn.INITIALIZERS[name]()((fan_in, fan_out), np.random.default_rng(0))
    assert W.shape == (fan_in, fan_out)
    assert abs(W.mean()) < 0.01 * np.sqrt(variance(fan_in, fan_out))
    assert abs(W.var() / variance(fan_in, fan_out) - 1) < 0.02
    if bound is not None:
        b = bound(fan_in, fan_out)
        assert np.abs(W).max() <= b and np.abs(W).max() > 0.99 * b


def test_zero_init_and_unknown_names():
    assert not np.any(nn.zeros()((3, 4), np.random.default_rng(0)))
    with pytest.raises(ValueError, match="init"):
        nn.Linear(3, 4, init="lecun")
    with pytest.raises(ValueError, match="activation"):
        nn.MLP([2, 3], activation="gelu")


def pre_activation_variances(init):
    """Variance of every Linear layer's output in a 30-layer ReLU MLP, width 512."""
    model = nn.MLP([512] * 31, activation="relu", init=init, seed=0)
    outputs = model.layer_outputs(np.random.default_rng(1).standard_normal((1000, 512)))
    return np.array([out.var() for out, layer in zip(outputs, model.layers, strict=True)
                     if isinstance(layer, nn.Linear)])


def test_kaiming_keeps_the_signal_while_small_normal_init_collapses_it():
    kaiming = pre_activation_variances("kaiming_normal")
    assert kaiming.size == 30
    assert kaiming.max() / kaiming.min() < 2.0
    small = pre_activation_variances(nn.normal(0.01))
    assert small[-1] / small[0] < 1e-20
    assert np.all(np.diff(np.log(small)) < 0), "each layer shrinks the signal"


# ---------------------------------------------------------------- training


def digits_split():
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = data.standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def test_mlp_with_adam_reaches_95_percent_on_the_digits():
    X_train, X_test, y_train, y_test = digits_split()
    model = nn.MLP([64, 128, 128, 10], seed=0)
    hist = nn.train(model, X_train, y_train, ol.adam(1e-3), epochs=20, batch_size=64, seed=0,
                    X_test=X_test, y_test=y_test)
    assert hist.status == "finished"
    assert hist.test_accuracy[-1] >= 0.95
    assert hist.test_accuracy[0] < 0.3 and hist.train_loss[-1] < 0.1 * hist.train_loss[0]
    assert hist.train_loss.shape == hist.test_accuracy.shape == (21,)
    assert hist.grad_norms.shape == (20, 3) and np.all(hist.grad_norms > 0)
    assert hist.layer_names == ["0.W", "2.W", "4.W"]


def test_training_is_deterministic_and_seeded():
    X, y = data.spirals(n=120, seed=0)
    runs = []
    for seed in (0, 0, 1):
        model = nn.MLP([2, 16, 3], norm="batch", seed=0)
        runs.append(nn.train(model, X, y, ol.sgd(0.1, momentum=0.9), epochs=3, batch_size=16,
                             seed=seed).train_loss)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_drop_last_trains_on_full_batches_only():
    X, y, _ = data.linear_regression(n=10, dim=3, noise=0.1, seed=0)
    sizes = {}

    def mse_recording_sizes(prediction, target):
        if len(prediction) < len(X):  # a training batch, not an evaluation on all of X
            sizes.setdefault(drop_last, []).append(len(prediction))
        return nn.mse(prediction, target)

    for drop_last in (False, True):
        model = nn.MLP([3, 1], seed=0)
        hist = nn.train(model, X, y[:, None], ol.sgd(0.05), epochs=2, batch_size=4,
                        loss=mse_recording_sizes, drop_last=drop_last)
        assert hist.status == "finished" and hist.grad_norms.shape == (2, 1)
    assert sizes == {False: [4, 4, 2] * 2, True: [4, 4] * 2}


def test_training_with_mse_and_divergence():
    X, y, _ = data.linear_regression(n=64, dim=3, noise=0.1, seed=0)
    model = nn.MLP([3, 1], seed=0)
    hist = nn.train(model, X, y[:, None], ol.sgd(0.05), epochs=30, batch_size=8, loss="mse")
    assert hist.train_loss[-1] < 0.02 and np.all(np.isnan(hist.train_accuracy))
    model = nn.MLP([3, 1], seed=0)
    hist = nn.train(model, X, y[:, None], ol.sgd(50.0), epochs=30, batch_size=8, loss="mse")
    assert hist.status == "diverged" and hist.train_loss.size < 31
    with pytest.raises(ValueError, match="batch_size"):
        nn.train(model, X, y, ol.sgd(0.1), batch_size=0)


def test_training_with_global_norm_clipping_clips_the_whole_gradient():
    X, y = data.two_moons(n=64, seed=0)
    clipped, plain = nn.MLP([2, 8, 2], seed=0), nn.MLP([2, 8, 2], seed=0)
    start = clipped.params.copy()
    nn.train(clipped, X, y, ol.chain(ol.clip_by_global_norm(1e-3), ol.sgd(1.0)), epochs=1,
             batch_size=64)
    nn.train(plain, X, y, ol.sgd(1.0), epochs=1, batch_size=64)
    assert np.linalg.norm(clipped.params - start) == pytest.approx(1e-3, rel=1e-9)
    assert np.linalg.norm(plain.params - start) > 1e-2


# ---------------------------------------------------------------- in-place stepping

TRANSFORMS = {
    "adam": lambda: ol.adam(0.01),
    "sgd_nesterov": lambda: ol.sgd(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop_centered": lambda: ol.rmsprop(0.01, centered=True, momentum=0.5),
    "nadam": lambda: ol.nadam(0.01),
    "adagrad": lambda: ol.adagrad(0.1),
    "chain": lambda: ol.chain(ol.clip_by_value(0.5), ol.adamw(0.01)),
}


def functional_run(tx, x, grads):
    state = tx.init(x)
    for g in grads:
        step, state = tx.update(g, state, x)
        x = x + step
    return x, state


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("block_size", [None, 7, 1000])
def test_in_place_stepping_equals_the_functional_rule(name, block_size):
    x0 = RNG.normal(size=(5, 9))   # 45 entries: blocks of 7 leave a ragged last block
    grads = [RNG.normal(size=x0.shape) for _ in range(20)]
    expected, expected_state = functional_run(TRANSFORMS[name](), x0.copy(), grads)
    x = x0.copy()
    opt = Optimizer(x, TRANSFORMS[name](), block_size=block_size)
    for g in grads:
        assert opt.step(g) is x
    np.testing.assert_array_equal(x, expected)
    for (path, got), (_, want) in zip(leaves(opt.state), leaves(expected_state), strict=True):
        np.testing.assert_array_equal(got, want, err_msg=path)


def test_in_place_state_buffers_are_distinct():
    x = np.zeros(10)
    opt = Optimizer(x, ol.adam(0.1), block_size=4)
    arrays = [v for _, v in leaves(opt.state) if isinstance(v, np.ndarray)]
    assert len({id(a) for a in arrays}) == len({a.ctypes.data for a in arrays}) == 3
    opt.step(np.ones(10))
    assert np.all(opt.state.m != opt.state.v) and np.all(opt.state.v_max == 0)


def test_global_norm_clipping_is_never_cut_into_blocks():
    tx = ol.chain(ol.clip_by_global_norm(1.0), ol.sgd(1.0))
    assert not is_elementwise(tx)
    x = np.zeros(100_000)
    Optimizer(x, tx).step(np.ones(100_000))
    assert np.linalg.norm(x) == pytest.approx(1.0)


@pytest.mark.skipif("elementwise" not in Transform._fields,
                    reason="transforms do not declare Transform.elementwise yet")
def test_declared_elementwise_transforms_are_blocked_by_default():
    assert is_elementwise(ol.adam()) and is_elementwise(ol.chain(ol.clip_by_value(1), ol.sgd(1)))
    assert Optimizer(np.zeros(10), ol.adam()).block_size is not None
    with pytest.raises(ValueError, match="elementwise"):
        Optimizer(np.zeros(10), ol.clip_by_global_norm(1.0), block_size=4)


def test_in_place_errors():
    with pytest.raises(TypeError, match="floating-point"):
        Optimizer(np.zeros(3, dtype=int), ol.sgd(0.1))
    with pytest.raises(ValueError, match="contiguous"):
        Optimizer(np.zeros((4, 4))[:, 0], ol.sgd(0.1))
    with pytest.raises(ValueError, match="shape"):
        Optimizer(np.zeros(3), ol.sgd(0.1)).step(np.zeros(4))
    with pytest.raises(ValueError, match="block_size"):
        Optimizer(np.zeros(3), ol.sgd(0.1), block_size=0)
    with pytest.raises(TypeError, match="Transform"):
        Optimizer(np.zeros(3), "adam")
