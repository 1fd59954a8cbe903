"""AdaMax and decoupled weight decay: their rules, the identities the book uses, bad input."""

import numpy as np
import pytest

import optlib as ol


def run(tx, gradients, x0):
    """The iterates of tx fed the given gradients (one per step) from x0."""
    x = np.asarray(x0, dtype=float)
    state, path = tx.init(x), [x]
    for g in gradients:
        step, state = tx.update(g, state, x)
        x = x + step
        path.append(x)
    return np.array(path), state


def test_adamax_follows_its_update_equations():
    rng = np.random.default_rng(0)
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-3
    gradients = rng.normal(size=(30, 4)) * rng.uniform(0.1, 10, 4)
    path, _ = run(ol.adamax(lr, b1, b2, eps), gradients, np.zeros(4))
    m = u = np.zeros(4)
    x = np.zeros(4)
    for t, g in enumerate(gradients, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        x = x - lr / (1 - b1**t) * m / u
        np.testing.assert_allclose(path[t], x, rtol=1e-13, atol=1e-16)


def test_adamax_first_step_is_lr_times_the_sign():
    g = np.array([3.0, -1e-3, 250.0])
    step, _ = ol.adamax(0.1, eps=0.0).update(g, ol.adamax(0.1).init(np.zeros(3)), np.zeros(3))
    np.testing.assert_allclose(step, -0.1 * np.sign(g), rtol=1e-15)


def test_adamax_norm_is_the_limit_of_the_lp_moment():
    """(s^(p)_t)^(1/p), s^(p)_t = b2^p s^(p)_{t-1} + (1 - b2^p)|g_t|^p, lies between
    (1 - b2^p)^(1/p) u_t and t^(1/p) u_t, and tends to AdaMax's u_t (eps = 0)."""
    rng = np.random.default_rng(1)
    b2, steps = 0.99, 20
    gradients = rng.uniform(0.5, 2.0, (steps, 3)) * rng.choice([-1, 1], (steps, 3))
    _, state = run(ol.adamax(0.01, b2=b2, eps=0.0), gradients, np.zeros(3))
    u = state.inf_norm
    for p in (2, 8, 32, 128):
        s = np.zeros(3)
        for g in gradients:
            s = b2**p * s + (1 - b2**p) * np.abs(g) ** p
        root = s ** (1 / p)
        assert np.all(root >= (1 - b2**p) ** (1 / p) * u * (1 - 1e-12))
        assert np.all(root <= steps ** (1 / p) * u * (1 + 1e-12))
    np.testing.assert_allclose(root, u, rtol=steps ** (1 / 128) - 1)


def test_decoupled_weight_decay_around_adam_is_adamw():
    rng = np.random.default_rng(2)
    gradients = rng.normal(size=(50, 3, 2))
    x0 = rng.normal(size=(3, 2))
    kwargs = dict(lr=0.05, b1=0.8, b2=0.99, eps=1e-6, amsgrad=True)
    ours, _ = run(ol.decoupled_weight_decay(ol.adam(**kwargs), 0.1), gradients, x0)
    theirs, _ = run(ol.adamw(weight_decay=0.1, **kwargs), gradients, x0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_decoupled_decay_equals_l2_for_plain_sgd_only():
    """theta - eta (g + omega theta) = (1 - eta omega) theta - eta g: the same step without
    momentum; with momentum the L2 term enters the buffer and the two differ."""
    rng = np.random.default_rng(3)
    gradients = rng.normal(size=(40, 5))
    x0 = rng.normal(size=5)
    for momentum, same in ((0.0, True), (0.9, False)):
        l2, _ = run(ol.sgd(0.1, momentum=momentum, weight_decay=0.3), gradients, x0)
        decoupled, _ = run(ol.decoupled_weight_decay(ol.sgd(0.1, momentum=momentum), 0.3),
                           gradients, x0)
        assert np.allclose(l2, decoupled, rtol=1e-13, atol=1e-14) == same


def test_decoupled_weight_decay_follows_a_schedule_and_array_decays():
    schedule = ol.schedules.exponential(0.1, 0.5)
    tx = ol.decoupled_weight_decay(ol.sgd(schedule), np.array([[0.0], [1.0]]))
    x = np.ones((2, 3))
    state = tx.init(x)
    for t in range(3):
        step, state = tx.update(np.zeros_like(x), state, x)
        np.testing.assert_allclose(step[0], 0.0)
        np.testing.assert_allclose(step[1], -0.1 * 0.5**t * x[1], rtol=1e-15)
        x = x + step
    assert tx.lr is schedule and tx.elementwise


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ol.adamax(lr=-1.0), ValueError, "lr must lie in"),
        (lambda: ol.adamax(b1=1.0), ValueError, "b1 must lie in"),
        (lambda: ol.adamax(b2=-0.5), ValueError, "b2 must lie in"),
        (lambda: ol.adamax(eps=float("nan")), ValueError, "eps must be finite"),
        (lambda: ol.adamax(weight_decay=-0.1), ValueError, "weight_decay must lie in"),
        (lambda: ol.adamax(b1="0.9"), TypeError, "b1 must be a number"),
        (lambda: ol.decoupled_weight_decay("adam", 0.1), TypeError, "tx must be a Transform"),
        (lambda: ol.decoupled_weight_decay(ol.clip_by_value(1.0), 0.1), ValueError,
         "learning rate"),
        (lambda: ol.decoupled_weight_decay(ol.adam(), -1.0), ValueError,
         "weight_decay must lie in"),
    ],
)
def test_bad_hyperparameters_raise_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_adamax_names_a_gradient_of_the_wrong_shape():
    tx = ol.adamax()
    with pytest.raises(ValueError, match=r"g must have the shape of the parameters \(3,\)"):
        tx.update(np.ones(2), tx.init(np.zeros(3)), np.zeros(3))
