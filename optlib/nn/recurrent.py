"""A recurrent network with one unit, whose loss has a cliff (Pascanu, Mikolov and Bengio
2013): the same layer applied D times,

    z^(l) = W sigmoid(z^(l-1)) + b,   l = 1, ..., D,      L(W, b) = (z^(D) - y)^2,

from a fixed z^(0). Where W sigmoid'(.) > 1 somewhere the map z -> W sigmoid(z) + b
can have two stable fixed points with an unstable one between them; z^(D) then
goes to one or the other depending on which side of the unstable point z^(0)
lies. The parameters at which z^(0) is itself the fixed point,
b = z^(0) - W sigmoid(z^(0)), separate the two outcomes: there the loss jumps
within a band whose width shrinks exponentially in D, and its gradient, a sum of
products of D slopes W sigmoid'(z^(l)), is as large as the jump over the width.
"""

from __future__ import annotations

import numpy as np

from ..functions import Objective


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def rnn_states(theta, steps=50, z0=0.5):
    """z^(0), ..., z^(steps) for theta = (W, b): shape (steps + 1,) + theta.shape[:-1]."""
    theta = np.asarray(theta, dtype=float)
    W, b = theta[..., 0], theta[..., 1]
    z = np.full(W.shape, float(z0))
    states = [z]
    for _ in range(int(steps)):
        z = W * _sigmoid(z) + b
        states.append(z)
    return np.array(states)


def cliff_bias(W, z0=0.5):
    """b = z0 - W sigmoid(z0): the parameters at which z0 is a fixed point. Where that fixed
    point is unstable, W sigmoid(z0) (1 - sigmoid(z0)) > 1 (W > 4.26 for z0 = 0.5), this
    line is the cliff."""
    return z0 - np.asarray(W, dtype=float) * _sigmoid(z0)


def one_unit_rnn(steps=50, z0=0.5, target=0.7):
    """L(theta) = (z^(D) - y)^2 of the one-unit recurrent network, theta = (W, b).

    The gradient is backpropagation through the D layers:
    dL/dz^(D) = 2 (z^(D) - y), dL/dz^(l-1) = dL/dz^(l) W s (1 - s) with
    s = sigmoid(z^(l-1)), dL/dW = sum_l dL/dz^(l) s, dL/db = sum_l dL/dz^(l).
    The Hessian is a central difference of the gradient (step 1e-6). Vectorized
    over leading axes of theta.
    """
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")

    def value(theta):
        return (rnn_states(theta, steps, z0)[-1] - target) ** 2

    def grad(theta):
        W = theta[..., 0]
        states = rnn_states(theta, steps, z0)
        dz = 2 * (states[-1] - target)
        dW, db = np.zeros_like(dz), np.zeros_like(dz)
        for z_before in states[-2::-1]:
            s = _sigmoid(z_before)
            dW += dz * s
            db += dz
            dz = dz * W * s * (1 - s)
        return np.stack([dW, db], axis=-1)

    def hess(theta, h=1e-6):
        columns = [(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in np.eye(2)]
        H = np.stack(columns, axis=-1)
        return 0.5 * (H + np.swapaxes(H, -1, -2))

    return Objective(f"one-unit RNN ({steps} steps)", 2, value, grad, hess,
                     domain=((2.0, 8.0), (-5.0, 0.0)))
