"""optlib.nn.normalization and optlib.nn.sweep: the normalization layers against torch and
finite differences, the scale-invariance identities along real runs, the landscape probes,
and the batched learning-rate sweep against one run per learning rate."""

import numpy as np
import pytest
import torch
from finite_differences import central_difference

import optlib as ol
from optlib.minimize import minibatches
from optlib.nn import normalization as norm
from optlib.nn.sweep import lr_sweep

RNG = np.random.default_rng(7)



def max_error(a, b):
    return np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))


@pytest.fixture(scope="module")
def digits():
    X, y = ol.data.digits()
    keep = X.std(axis=0) > 0
    X = (X[:, keep] - X[:, keep].mean(axis=0)) / X[:, keep].std(axis=0)
    return X[:256], y[:256]


# ---------------------------------------------------------------- group normalization


def test_group_norm_with_one_group_is_layer_norm():
    x = RNG.normal(0, 2, (5, 6))
    group, layer = norm.GroupNorm(6, groups=1), ol.nn.LayerNorm(6)
    for target in (group, layer):
        target.params["gamma"][...] = np.arange(1.0, 7.0)
        target.params["beta"][...] = 0.5
    np.testing.assert_allclose(group.forward(x), layer.forward(x), rtol=0, atol=1e-14)
    dy = RNG.normal(size=x.shape)
    np.testing.assert_allclose(group.backward(dy), layer.backward(dy), rtol=0, atol=1e-13)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_matches_torch_and_finite_differences(groups):
    layer = norm.GroupNorm(6, groups=groups)
    layer.params["gamma"][...] = RNG.normal(1, 0.5, 6)
    layer.params["beta"][...] = RNG.normal(0, 0.5, 6)
    module = torch.nn.GroupNorm(groups, 6).double()
    module.weight.data = torch.tensor(layer.params["gamma"].copy())
    module.bias.data = torch.tensor(layer.params["beta"].copy())
    x = RNG.normal(1, 2, (4, 6))
    weights = RNG.normal(size=(4, 6))
    y = layer.forward(x)
    dx = layer.backward(weights)
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.tensor(weights)).sum().backward()
    assert max_error(y, ty.detach().numpy()) < 1e-12
    assert max_error(dx, tx.grad.numpy()) < 1e-10
    assert max_error(layer.grads["gamma"], module.weight.grad.numpy()) < 1e-10
    assert max_error(layer.grads["beta"], module.bias.grad.numpy()) < 1e-10

    def loss():
        return np.sum(layer.forward(x) * weights)

    assert max_error(dx, central_difference(loss, x, h=1e-5)) < 1e-8


def test_group_norm_rejects_groups_that_do_not_divide_the_features():
    with pytest.raises(ValueError, match="groups"):
        norm.GroupNorm(6, groups=4)


# ---------------------------------------------------------------- weight normalization


def test_weight_norm_starts_from_the_linear_layers_weights():
    wn, linear = norm.WeightNormLinear(5, 3, seed=4), ol.nn.Linear(5, 3, seed=4)
    np.testing.assert_array_equal(wn.weight(), linear.params["W"])
    x = RNG.normal(size=(7, 5))
    np.testing.assert_allclose(wn.forward(x), linear.forward(x), rtol=0, atol=1e-14)


def test_weight_norm_matches_torch_weight_norm():
    layer = norm.WeightNormLinear(5, 3, seed=1)
    layer.params["g"][...] = RNG.uniform(0.5, 2, 3)
    layer.params["b"][...] = RNG.normal(size=3)
    module = torch.nn.Linear(5, 3).double()
    module.bias.data = torch.tensor(layer.params["b"].copy())
    module.weight.data = torch.tensor(layer.params["v"].T.copy())
    module = torch.nn.utils.parametrizations.weight_norm(module, dim=0)
    module.parametrizations.weight.original0.data = torch.tensor(layer.params["g"][:, None])
    x = RNG.normal(size=(6, 5))
    weights = RNG.normal(size=(6, 3))
    y = layer.forward(x)
    dx = layer.backward(weights)
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.tensor(weights)).sum().backward()
    original = module.parametrizations.weight
    assert max_error(y, ty.detach().numpy()) < 1e-12
    assert max_error(dx, tx.grad.numpy()) < 1e-10
    assert max_error(layer.grads["g"], original.original0.grad.numpy()[:, 0]) < 1e-10
    assert max_error(layer.grads["v"], original.original1.grad.numpy().T) < 1e-10
    assert max_error(layer.grads["b"], module.bias.grad.numpy()) < 1e-10


def test_weight_norm_gradients_match_finite_differences_and_dv_is_orthogonal_to_v():
    layer = norm.WeightNormLinear(4, 3, seed=2)
    layer.params["g"][...] = [0.7, 1.3, 2.0]
    x = RNG.normal(size=(5, 4))
    weights = RNG.normal(size=(5, 3))

    def loss():
        return np.sum(layer.forward(x) * weights)

    for name in ("v", "g", "b"):
        loss()
        layer.backward(weights)
        numerical = central_difference(loss, layer.params[name], h=1e-5)
        assert max_error(layer.grads[name].copy(), numerical) < 1e-8, name
    loss()
    layer.backward(weights)
    inner = np.sum(layer.grads["v"] * layer.params["v"], axis=0)
    assert np.all(np.abs(inner) < 1e-14 * np.linalg.norm(layer.params["v"], axis=0)
                  * np.linalg.norm(layer.grads["v"], axis=0) * 10)


def test_weight_norm_checks_its_sizes():
    with pytest.raises(ValueError, match="fan_out"):
        norm.WeightNormLinear(3, 0)


# ---------------------------------------------------------------- scale invariance


def test_the_scale_invariant_layers_are_the_linear_layers_before_batchnorm():
    model = ol.nn.MLP([8, 5, 4, 3], norm="batch", seed=0)
    found = norm.scale_invariant_layers(model)
    assert [i for i, _ in found] == [0, 3]
    np.testing.assert_allclose(norm.unit_norms(model), np.concatenate(
        [np.linalg.norm(model.layers[i].params["W"], axis=0) for i in (0, 3)]))
    mask = norm.invariant_mask(model)
    assert mask.sum() == 8 * 5 + 5 * 4
    assert np.all(mask[model.param_slices["0.W"]]) and not np.any(mask[model.param_slices["6.W"]])
    for other in (None, "layer"):
        with pytest.raises(ValueError, match="BatchNorm"):
            norm.unit_norms(ol.nn.MLP([8, 5, 3], norm=other))


def test_scaling_a_unit_leaves_the_loss_and_divides_its_gradient(digits):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 6, 6, 10], norm="batch", seed=1)
    for layer in model.layers:
        if isinstance(layer, ol.nn.BatchNorm):
            layer.eps = 0.0
    objective = ol.nn.NetworkLoss(model, X, y)
    theta = model.params.copy()
    scaled = theta.copy()
    column = model.param_slices["0.W"]
    W = scaled[column].reshape(X.shape[1], 6)
    W[:, 2] *= 3.0
    scaled[column] = W.reshape(-1)
    assert abs(objective.value(scaled) - objective.value(theta)) < 1e-13
    g, g_scaled = objective.grad(theta), objective.grad(scaled)
    unit = g[column].reshape(X.shape[1], 6)[:, 2]
    unit_scaled = g_scaled[column].reshape(X.shape[1], 6)[:, 2]
    np.testing.assert_allclose(unit_scaled, unit / 3.0, rtol=0, atol=1e-12 * np.abs(unit).max())


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_the_norm_recursion_holds_exactly_along_a_run(digits, weight_decay):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 16, 16, 10], norm="batch", seed=0)
    trace = norm.trace_unit_norms(model, X, y, lr=0.3, steps=40, batch_size=32,
                                  weight_decay=weight_decay, seed=1)
    assert trace.norms_sq.shape == (41, 32) and trace.grads_sq.shape == (40, 32)
    # w_j . g_j = eps / (v_j + eps) psi_j dL/dpsi_j: the invariance broken by eps alone
    eps_term = trace.eps / (trace.batch_var + trace.eps) * trace.scale_inner
    np.testing.assert_allclose(trace.inner, eps_term, rtol=0, atol=1e-15)
    shrink = 1 - trace.lr * weight_decay
    predicted = (shrink**2 * trace.norms_sq[:-1] + trace.lr**2 * trace.grads_sq
                 - 2 * trace.lr * shrink * trace.inner)
    np.testing.assert_allclose(trace.norms_sq[1:], predicted, rtol=1e-13)
    np.testing.assert_allclose(trace.unit_grads_sq, trace.norms_sq[:-1] * trace.grads_sq)
    np.testing.assert_allclose(trace.effective_lr, 0.3 / trace.norms_sq)
    assert np.all(np.abs(trace.cosines) < 1e-3)


def test_with_eps_zero_the_gradient_is_orthogonal_and_only_eta_over_norm_squared_matters(
        digits):
    X, y = digits
    runs = []
    for scale in (1.0, 4.0):
        model = ol.nn.MLP([X.shape[1], 12, 12, 10], norm="batch", seed=3)
        for layer in model.layers:
            if isinstance(layer, ol.nn.BatchNorm):
                layer.eps = 0.0
        for _, layer in norm.scale_invariant_layers(model):
            layer.params["W"][...] *= scale
        lr = 0.2 * np.where(norm.invariant_mask(model), scale**2, 1.0)
        runs.append(norm.trace_unit_norms(model, X, y, lr=lr, steps=25, batch_size=64, seed=0))
    plain, scaled = runs
    assert np.all(np.abs(plain.cosines) < 1e-12)
    np.testing.assert_allclose(scaled.loss, plain.loss, rtol=1e-10)
    np.testing.assert_allclose(scaled.norms_sq, 16 * plain.norms_sq, rtol=1e-10)


def test_the_predicted_norms_follow_a_run_with_eps_zero(digits):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 10, 10, 10], norm="batch", seed=2)
    for layer in model.layers:
        if isinstance(layer, ol.nn.BatchNorm):
            layer.eps = 0.0
    trace = norm.trace_unit_norms(model, X, y, lr=0.5, steps=30, batch_size=32,
                                  weight_decay=0.02, seed=4)
    predicted = norm.predicted_norms_sq(0.5, 0.02, trace.norms_sq[0], trace.unit_grads_sq)
    np.testing.assert_allclose(predicted, trace.norms_sq, rtol=1e-12)
    assert norm.predicted_norms_sq(0.5, 0.0, 2.0, np.zeros((0, 3))).shape == (1,)


def test_trace_unit_norms_checks_its_input(digits):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 4, 10], norm="batch")
    with pytest.raises(ValueError, match="steps"):
        norm.trace_unit_norms(model, X, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        norm.trace_unit_norms(model, X, y, 0.1, steps=3, batch_size=1)
    with pytest.raises(ValueError, match="BatchNorm"):
        norm.trace_unit_norms(ol.nn.MLP([X.shape[1], 4, 10]), X, y, 0.1, steps=3)


# ---------------------------------------------------------------- the landscape probes


def test_probing_does_not_change_the_run_and_measures_what_it_says(digits):
    X, y = digits
    sizes, lr = [X.shape[1], 10, 10, 10], 0.2
    step_sizes = np.array([0.1, 0.4])
    probed = norm.probe_landscape(ol.nn.MLP(sizes, norm="batch", seed=0), X, y, lr, steps=12,
                                  step_sizes=step_sizes, batch_size=32, every=5, seed=2)
    plain = norm.trace_unit_norms(ol.nn.MLP(sizes, norm="batch", seed=0), X, y, lr, steps=12,
                                  batch_size=32, seed=2)
    np.testing.assert_array_equal(probed.train_loss, plain.loss)
    np.testing.assert_array_equal(probed.steps, [0, 5, 10])
    np.testing.assert_allclose(probed.loss, plain.loss[[0, 5, 10]], rtol=1e-13)
    # at step 0: probe by hand
    model = ol.nn.MLP(sizes, norm="batch", seed=0)
    objective = ol.nn.NetworkLoss(model, X, y)
    batch = next(minibatches(X.shape[0], 32, 2, drop_last=True))
    theta = model.params.copy()
    g = objective.grad(theta, batch=batch)
    ahead = [theta - s * g for s in step_sizes]
    np.testing.assert_allclose(probed.losses[0], [objective.value(a, batch=batch) for a in ahead])
    changes = [np.linalg.norm(objective.grad(a, batch=batch) - g) for a in ahead]
    np.testing.assert_allclose(probed.grad_changes[0], changes)
    values = np.r_[probed.loss[0], probed.losses[0]]
    assert probed.loss_variation[0] == pytest.approx(values.max() - values.min())
    assert probed.grad_variation[0] == pytest.approx(max(changes))
    ratios = np.array(changes) / (step_sizes * np.linalg.norm(g))
    assert probed.effective_smoothness[0] == pytest.approx(ratios.max())


def test_probe_landscape_checks_its_input(digits):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 4, 10])
    with pytest.raises(ValueError, match="step_sizes"):
        norm.probe_landscape(model, X, y, 0.1, steps=2, step_sizes=[0.0, 1.0])
    with pytest.raises(ValueError, match="every"):
        norm.probe_landscape(model, X, y, 0.1, steps=2, step_sizes=[1.0], every=0)


def test_layer_gradient_norms_are_the_gradients_of_one_backward_pass(digits):
    X, y = digits
    model = ol.nn.MLP([X.shape[1], 8, 8, 10], norm="batch", seed=0)
    norms = norm.layer_gradient_norms(model, X, y)
    objective = ol.nn.NetworkLoss(model, X, y)
    g = objective.grad(model.params)
    expected = [np.linalg.norm(g[model.param_slices[f"{i}.W"]])
                for i, _ in model.linear_layers()]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


# ---------------------------------------------------------------- the learning-rate sweep


@pytest.mark.parametrize("kind", [None, "batch", "layer"])
def test_a_sweep_equals_one_training_run_per_learning_rate(digits, kind):
    X, y = digits
    sizes, lrs = [X.shape[1], 12, 12, 10], [0.01, 0.3, 3.0]
    sweep = lr_sweep(sizes, lrs, X, y, norm=kind, epochs=3, batch_size=48, seed=5)
    assert sweep.train_loss.shape == sweep.train_accuracy.shape == (3, 4)
    for k, lr in enumerate(lrs):
        history = ol.nn.train(ol.nn.MLP(sizes, norm=kind, seed=5), X, y, ol.sgd(lr), epochs=3,
                              batch_size=48, seed=5)
        assert sweep.status[k] == history.status
        # three epochs of the same operations on stacked arrays: rounding, amplified by
        # training, stays far below 1e-9
        np.testing.assert_allclose(sweep.train_loss[k], history.train_loss, rtol=1e-9)
        np.testing.assert_allclose(sweep.train_accuracy[k], history.train_accuracy)


def test_a_sweep_with_drop_last_and_tanh_equals_training_runs(digits):
    X, y = digits
    sizes, lrs = [X.shape[1], 8, 10], [0.05, 0.5]
    sweep = lr_sweep(sizes, lrs, X, y, norm="batch", activation="tanh", epochs=2,
                     batch_size=100, drop_last=True)
    for k, lr in enumerate(lrs):
        history = ol.nn.train(ol.nn.MLP(sizes, "tanh", norm="batch"), X, y, ol.sgd(lr),
                              epochs=2, batch_size=100, drop_last=True)
        np.testing.assert_allclose(sweep.train_loss[k], history.train_loss, rtol=1e-9)


def test_a_diverging_run_stops_alone(digits):
    X, y = digits
    sweep = lr_sweep([X.shape[1], 8, 10], [0.1, 1e250], X, y, epochs=2, batch_size=64)
    assert sweep.status == ["finished", "diverged"]
    assert np.all(np.isfinite(sweep.train_loss[0]))
    assert np.isnan(sweep.train_loss[1, -1])
    assert sweep.final_loss()[1] == np.inf
    assert sweep.final_loss()[0] == sweep.train_loss[0, -1]


def test_lr_sweep_checks_its_input(digits):
    X, y = digits
    for bad in ([], [[0.1]], [-1.0], [np.nan]):
        with pytest.raises(ValueError, match="lrs"):
            lr_sweep([X.shape[1], 4, 10], bad, X, y)
    with pytest.raises(ValueError, match="batch_size"):
        lr_sweep([X.shape[1], 4, 10], [0.1], X, y, batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        lr_sweep([X.shape[1], 4, 10], [0.1], X, y, epochs=-1)


# ---------------------------------------------------------------- the explorer


def small_explorer(**kwargs):
    settings = dict(depths=(1, 3), lrs=(0.03, 0.3, 3.0), epochs=3, samples=96, width=8,
                    batch_size=32, lr=0.3, depth=1)
    settings.update(kwargs)
    return ol.widgets.NormalizationExplorer(**settings)


def line_data(line):
    return np.column_stack(line.get_data()).astype(float)


def test_the_explorer_draws_the_sweeps_it_trained():
    explorer = small_explorer(precompute=True)
    assert set(explorer.sweeps) == {1, 3}
    X, y = ol.data.digits()
    for name, kind in ol.widgets.NORMALIZATIONS.items():
        sweep = lr_sweep([64, 8, 10], (0.03, 0.3, 3.0), X[:96], y[:96], norm=kind, epochs=3,
                         batch_size=32)
        np.testing.assert_allclose(line_data(explorer.curves[name])[:, 1],
                                   np.minimum(sweep.train_loss[1], 10.0), rtol=1e-12)
        np.testing.assert_allclose(line_data(explorer.finals[name])[:, 0], [0.03, 0.3, 3.0])
        assert explorer.final_loss(1, 0.3, name) == pytest.approx(sweep.final_loss()[1])


def test_each_control_moves_the_figure():
    explorer = small_explorer(precompute=False)
    assert set(explorer.sweeps) == {1}, "a depth is trained when first shown"
    explorer.controls["lr"].value = 3.0
    for name, sweep in explorer.sweeps[1].items():
        np.testing.assert_allclose(line_data(explorer.curves[name])[:, 1],
                                   np.minimum(np.nan_to_num(sweep.train_loss[2], nan=10.0), 10))
    assert float(explorer.chosen.get_xdata()[0]) == 3.0
    explorer.controls["depth"].value = 3
    assert set(explorer.sweeps) == {1, 3}
    finals = line_data(explorer.finals["batch"])[:, 1]
    np.testing.assert_allclose(finals, np.minimum(explorer.sweeps[3]["batch"].final_loss(), 10))
    assert explorer.curves["batch"].get_linewidth() > explorer.curves["none"].get_linewidth()
    explorer.controls["norm"].value = "none"
    assert explorer.curves["none"].get_linewidth() > explorer.curves["batch"].get_linewidth()
    assert "none" in explorer.title.get_text() and "D = 3" in explorer.title.get_text()


def test_a_moved_explorer_draws_what_a_fresh_one_draws():
    moved = small_explorer(precompute=True)
    moved.controls["depth"].value = 3
    moved.controls["lr"].value = 0.03
    moved.controls["norm"].value = "layer"
    fresh = small_explorer(precompute=True, depth=3, lr=0.03, norm="layer")
    for name in ol.widgets.NORMALIZATIONS:
        np.testing.assert_array_equal(line_data(moved.curves[name]),
                                      line_data(fresh.curves[name]))
    assert moved.title.get_text() == fresh.title.get_text()
    np.testing.assert_array_equal(np.asarray(moved.fig.canvas.buffer_rgba()),
                                  np.asarray(fresh.fig.canvas.buffer_rgba()))


def test_the_explorer_checks_its_settings():
    with pytest.raises(ValueError, match="depth"):
        small_explorer(depth=2)
    with pytest.raises(ValueError, match="lr"):
        small_explorer(lr=0.5)
    with pytest.raises(ValueError, match="norm"):
        small_explorer(norm="group")
