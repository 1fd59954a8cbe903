"""Residual blocks, and deep residual networks under the initialization schemes that keep
them trainable."""

from __future__ import annotations

import math

import numpy as np

from .init import _initializer, kaiming_normal, zeros
from .layers import Layer, Linear
from .networks import Sequential


class Residual(Layer):
    """A residual block with a two-layer ReLU branch (He et al. 2016):

        y = x + relu(x W1 + b1) W2,        W1: (width, hidden), W2: (hidden, width).

    Backward, with u = x W1 + b1 and h = relu(u): dW2 = h' dy,
    du = (dy W2') [u > 0], dW1 = x' du, db1 = sum_n du, dx = dy + du W1'.
    ``init`` draws W1 and ``last_init`` W2 (initializer names or functions
    (shape, rng) -> array); b1 starts at zero. The branch has no bias after
    W2, so a zero W2 makes the block exactly the identity. ``hidden`` holds h
    of the last forward pass.
    """

    def __init__(self, width, hidden=None, init="kaiming_normal", last_init="zeros", seed=0):
        super().__init__()
        hidden = width if hidden is None else hidden
        for name, value in (("width", width), ("hidden", hidden)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        rng = np.random.default_rng(seed)
        self._add_param("W1", _initializer(init)((int(width), int(hidden)), rng))
        self._add_param("b1", np.zeros(int(hidden)))
        self._add_param("W2", _initializer(last_init)((int(hidden), int(width)), rng))

    def forward(self, x):
        self._x = x
        self._u = x @ self.params["W1"] + self.params["b1"]
        self.hidden = np.maximum(self._u, 0.0)
        return x + self.hidden @ self.params["W2"]

    def branch(self, x):
        """The branch alone, relu(x W1 + b1) W2 (no state is kept)."""
        return np.maximum(x @ self.params["W1"] + self.params["b1"], 0.0) @ self.params["W2"]

    def backward(self, dy):
        np.matmul(self.hidden.T, dy, out=self.grads["W2"])
        du = np.where(self._u > 0, dy @ self.params["W2"].T, 0.0)
        np.matmul(self._x.T, du, out=self.grads["W1"])
        np.sum(du, axis=0, out=self.grads["b1"])
        return dy + du @ self.params["W1"].T


#: How a deep residual network's blocks start, for D blocks of width N (W1, W2):
#: 'standard': W1 ~ N(0, 2/N), W2 ~ N(0, 1/N): each branch keeps the mean square, so the
#:     block doubles it: 2^D in all;
#: 'scaled': W2 ~ N(0, 1/(N D)), the branch scaled by 1/sqrt(D): (1 + 1/D)^D < e in all;
#: 'zero': W2 = 0: every block is the identity at the start;
#: 'fixup': W2 = 0 and W1 ~ N(0, 2/(N D)) (Fixup's rescaling D^(-1/(2m-2)) for m = 2
#:     layers a branch), and the output layer zero (Zhang, Dauphin and Ma 2019; Fixup's
#:     scalar multipliers and biases are left out).
RESIDUAL_SCHEMES = ("standard", "scaled", "zero", "fixup")


def _block_initializers(scheme, blocks):
    if scheme not in RESIDUAL_SCHEMES:
        raise ValueError(f"scheme must be one of {RESIDUAL_SCHEMES}, got {scheme!r}")
    inner = kaiming_normal(math.sqrt(2.0 / blocks)) if scheme == "fixup" else kaiming_normal()
    last = {"standard": kaiming_normal(1.0), "scaled": kaiming_normal(1.0 / math.sqrt(blocks)),
            "zero": zeros(), "fixup": zeros()}[scheme]
    return inner, last


def residual_stack(width, blocks, scheme="fixup", seed=0):
    """``blocks`` Residual blocks of ``width`` in a Sequential, initialized by ``scheme``
    (one of RESIDUAL_SCHEMES): a map from R^width to R^width."""
    if int(blocks) != blocks or blocks < 1:
        raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
    inner, last = _block_initializers(scheme, int(blocks))
    rng = np.random.default_rng(seed)
    return Sequential(*[Residual(width, init=inner, last_init=last, seed=rng)
                        for _ in range(int(blocks))])


def residual_mlp(inputs, width, blocks, outputs, scheme="fixup", seed=0):
    """Linear(inputs, width), ``blocks`` Residual blocks, Linear(width, outputs).

    The first layer is Kaiming with gain 1 (no ReLU before it); the output layer
    is Kaiming with gain 1, or zero under 'fixup'. See RESIDUAL_SCHEMES.
    """
    inner, last = _block_initializers(scheme, int(blocks))
    rng = np.random.default_rng(seed)
    head = zeros() if scheme == "fixup" else kaiming_normal(1.0)
    return Sequential(
        Linear(inputs, width, init=kaiming_normal(1.0), seed=rng),
        *[Residual(width, init=inner, last_init=last, seed=rng) for _ in range(int(blocks))],
        Linear(width, outputs, init=head, seed=rng),
    )
