"""Layers with forward and backward passes: Linear, the activations, and the
normalization layers BatchNorm and LayerNorm."""

from __future__ import annotations

import numpy as np

from .init import _initializer


class Layer:
    """A layer: ``forward(x) -> y``, ``backward(dy) -> dx``.

    ``params`` and ``grads`` map names to arrays of the same shapes;
    ``backward`` overwrites ``grads`` with dLoss/dparam for the batch of the
    last ``forward``. ``training`` selects batch statistics (True) or running
    statistics (False) where a layer has both.
    """

    training = True

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def _add_param(self, name, value):
        self.params[name] = np.asarray(value, dtype=float)
        self.grads[name] = np.zeros_like(self.params[name])

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        shapes = ", ".join(f"{k}{v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


def initial_weights(fan_in, fan_out, init, seed):
    """A ``(fan_in, fan_out)`` weight matrix drawn by the initializer ``init`` with ``seed``."""
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    return _initializer(init)((int(fan_in), int(fan_out)), rng)


class Linear(Layer):
    """y = x W + b.   Backward: dW = x' dy, db = sum_n dy, dx = dy W'."""

    def __init__(self, fan_in, fan_out, init="kaiming_normal", bias=True, seed=0):
        super().__init__()
        self._add_param("W", initial_weights(fan_in, fan_out, init, seed))
        if bias:
            self._add_param("b", np.zeros(int(fan_out)))

    def forward(self, x):
        self._x = x
        y = x @ self.params["W"]
        return y + self.params["b"] if "b" in self.params else y

    def backward(self, dy):
        np.matmul(self._x.T, dy, out=self.grads["W"])
        if "b" in self.params:
            np.sum(dy, axis=0, out=self.grads["b"])
        return dy @ self.params["W"].T


class ReLU(Layer):
    """y = max(x, 0).   Backward: dx = dy [x > 0]."""

    def forward(self, x):
        self._active = x > 0
        return np.where(self._active, x, 0.0)

    def backward(self, dy):
        return np.where(self._active, dy, 0.0)


class Tanh(Layer):
    """y = tanh(x).   Backward: dx = dy (1 - y^2)."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy):
        return dy * (1 - self._y**2)


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x).   Backward: dx = dy y (1 - y)."""

    def forward(self, x):
        self._y = 0.5 * (1 + np.tanh(0.5 * x))
        return self._y

    def backward(self, dy):
        return dy * self._y * (1 - self._y)


def _normalized_backward(dy, x_hat, inv_std, gamma, axis):
    """dx for x_hat = (x - mean) * inv_std along ``axis`` and y = gamma x_hat + beta.

        dx = inv_std (g - mean(g) - x_hat mean(g x_hat)),   g = gamma dy,

    the means taken along ``axis``: the mean and the variance depend on every
    entry they average, which gives the two correction terms.
    """
    g = dy * gamma
    return inv_std * (g - g.mean(axis=axis, keepdims=True)
                      - x_hat * (g * x_hat).mean(axis=axis, keepdims=True))


class _Normalization(Layer):
    """y = gamma x_hat + beta with x_hat = (x - mean) / sqrt(var + eps): what BatchNorm and
    LayerNorm share; they differ in the axis the statistics are taken over."""

    def __init__(self, features, eps):
        super().__init__()
        self.eps = eps
        self._add_param("gamma", np.ones(features))
        self._add_param("beta", np.zeros(features))

    def _normalize(self, x, mean, var):
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        return self.params["gamma"] * self._x_hat + self.params["beta"]

    def _affine_backward(self, dy):
        """Accumulate dgamma = sum dy x_hat and dbeta = sum dy over the batch."""
        np.sum(dy * self._x_hat, axis=0, out=self.grads["gamma"])
        np.sum(dy, axis=0, out=self.grads["beta"])


class BatchNorm(_Normalization):
    """Batch normalization over the batch axis (Ioffe and Szegedy 2015), as torch.nn.BatchNorm1d.

    Training: x_hat = (x - mu_B) / sqrt(var_B + eps) with the batch mean and
    (biased) variance, y = gamma x_hat + beta, and running statistics
    r <- (1 - momentum) r + momentum s, where the running variance takes the
    unbiased batch variance (n / (n - 1) var_B). Evaluation (``training =
    False``): the running mean and variance in place of the batch's.
    """

    def __init__(self, features, momentum=0.1, eps=1e-5):
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
        super().__init__(features, eps)
        self.momentum = momentum
        self.running_mean = np.zeros(features)
        self.running_var = np.ones(features)

    def forward(self, x):
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm needs a batch of at least 2 samples in training mode")
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        return self._normalize(x, mean, var)

    def backward(self, dy):
        self._affine_backward(dy)
        if not self.training:   # fixed statistics: an affine map of x
            return dy * self.params["gamma"] * self._inv_std
        return _normalized_backward(dy, self._x_hat, self._inv_std, self.params["gamma"], axis=0)


class LayerNorm(_Normalization):
    """Layer normalization over the feature axis (Ba, Kiros and Hinton 2016).

    x_hat = (x - mean(x)) / sqrt(var(x) + eps) per sample, y = gamma x_hat + beta;
    the same in training and evaluation, as torch.nn.LayerNorm.
    """

    def __init__(self, features, eps=1e-5):
        super().__init__(features, eps)

    def forward(self, x):
        mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
        return self._normalize(x, mean, var)

    def backward(self, dy):
        self._affine_backward(dy)
        return _normalized_backward(dy, self._x_hat, self._inv_std, self.params["gamma"], axis=-1)


