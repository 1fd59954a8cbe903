"""optlib.sgd's momentum: the velocity form, a momentum schedule, Nesterov's look-ahead form,
dampening and the moving average, each against an independent loop or torch.optim."""

import numpy as np
import pytest

import optlib as ol

torch = pytest.importorskip("torch")


def grad(x):
    """A separable non-quadratic gradient, as in the torch parity tests."""
    return np.array([1.5, 0.3, 2.0]) * x + x**3 / 10 - np.array([5.0, -7.0, 6.0])


X0 = np.array([-1.0, 1.2, -0.8])


def optlib_path(tx, steps=60):
    x, state, path = X0.copy(), tx.init(X0), [X0.copy()]
    for _ in range(steps):
        step, state = tx.update(grad(x), state, x)
        x = x + step
        path.append(x)
    return np.array(path)


def test_heavy_ball_is_polyaks_velocity_form():
    lr, beta = 0.05, 0.9
    theta, v, path = X0.copy(), np.zeros(3), [X0.copy()]
    for _ in range(60):
        v = beta * v - grad(theta)
        theta = theta + lr * v
        path.append(theta)
    np.testing.assert_allclose(optlib_path(ol.sgd(lr, momentum=beta)), path, rtol=1e-12)


def test_a_constant_gradient_makes_steps_tend_to_the_effective_step():
    lr, beta, g = 0.1, 0.9, np.array([1.0, -2.0])
    tx = ol.sgd(lr, momentum=beta)
    state, x, steps = tx.init(np.zeros(2)), np.zeros(2), []
    for _ in range(200):
        step, state = tx.update(g, state, x)
        steps.append(step)
    t = np.arange(1, 201)[:, None]
    np.testing.assert_allclose(steps, -lr * (1 - beta**t) / (1 - beta) * g, rtol=1e-12)
    np.testing.assert_allclose(steps[-1], -lr / (1 - beta) * g, rtol=1e-9)


def test_a_momentum_schedule_is_torch_with_the_groups_momentum_changed_each_step():
    schedule = ol.schedules.linear_decay(0.5, 0.95, 40)
    p = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.03, momentum=float(schedule(0)), foreach=False)
    expected = [X0.copy()]
    for t in range(60):
        opt.param_groups[0]["momentum"] = float(schedule(t))
        p.grad = torch.as_tensor(grad(p.detach().numpy()))
        opt.step()
        expected.append(p.detach().numpy().copy())
    got = optlib_path(ol.sgd(0.03, momentum=schedule))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.9, ol.schedules.nesterov_momentum(),
                                      ol.schedules.linear_decay(0.2, 0.9, 30)],
                         ids=["constant", "nesterov 1983", "linear"])
def test_nesterov_iterates_are_the_look_ahead_points_of_sutskevers_form(momentum):
    lr = 0.04
    beta = momentum if callable(momentum) else (lambda t: momentum)
    theta, delta, look_ahead = X0.copy(), np.zeros(3), []
    for t in range(60):
        point = theta + beta(t) * delta                  # the look-ahead point theta~_t
        look_ahead.append(point)
        delta = beta(t) * delta - lr * grad(point)
        theta = theta + delta
    look_ahead.append(theta + beta(60) * delta)
    got = optlib_path(ol.sgd(lr, momentum=momentum, nesterov=True))
    np.testing.assert_allclose(got, look_ahead, rtol=1e-12, atol=1e-14)


def test_dampening_scales_every_gradient_but_the_first():
    lr, beta, tau = 0.05, 0.9, 0.9
    theta, m, path = X0.copy(), np.zeros(3), [X0.copy()]
    for t in range(60):
        g = grad(theta)
        m = g if t == 0 else beta * m + (1 - tau) * g
        theta = theta - lr * m
        path.append(theta)
    np.testing.assert_allclose(optlib_path(ol.sgd(lr, momentum=beta, dampening=tau)), path,
                               rtol=1e-12)


def test_nesterov_momentum_schedule():
    s = ol.schedules.nesterov_momentum()
    assert s(0) == 0.0 and s(1) == 0.0 and s(2) == pytest.approx(0.25)
    np.testing.assert_allclose(s(np.arange(1, 6)), (np.arange(1, 6) - 1) / (np.arange(1, 6) + 2))
    assert isinstance(s(3), float) and s(10**6) < 1
