"""A learning-rate sweep in one batched run: k copies of one MLP, each trained by SGD at its
own learning rate.

    sweep = lr_sweep([64, 32, 32, 10], [0.01, 0.1, 1.0], X, y, norm="batch", epochs=10)
    sweep.train_loss        # (3, 11): one row per learning rate, as train() records it

Every copy starts from the weights ``MLP(sizes, activation, norm, init, seed)``
starts from and sees the same mini-batches, so row k is the run
``train(MLP(...), X, y, ol.sgd(lrs[k]), epochs, batch_size, seed)`` would
record (the tests check it to rounding). The copies are stacked on a leading
axis: every layer's arrays have shape (k, ...), and one matrix product steps
all of them, so a sweep costs little more than one run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..minimize import minibatches
from .layers import BatchNorm, LayerNorm, Linear, _normalized_backward
from .networks import MLP


@dataclass
class SweepHistory:
    """One row per learning rate: ``train_loss`` and ``train_accuracy`` of shape
    (k, epochs + 1), measured as ``train`` measures them (evaluation mode, the whole
    training set; column 0 before training), NaN from the epoch in which a run
    diverged on; ``status`` is 'finished' or 'diverged' for each."""

    lrs: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    status: list

    def final_loss(self):
        """The last training loss of each run, infinite for a run that diverged."""
        return np.where(np.array(self.status) == "diverged", np.inf, self.train_loss[:, -1])


class _StackedLinear:
    """x W + b for k weight matrices at once: W (k, fan_in, fan_out), b (k, 1, fan_out)."""

    def __init__(self, layer, k):
        self.params = {"W": np.repeat(layer.params["W"][None], k, axis=0),
                       "b": np.repeat(layer.params["b"][None, None], k, axis=0)}

    def forward(self, x, training):
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy):
        x = np.broadcast_to(self._x, dy.shape[:1] + self._x.shape[-2:])
        self.grads = {"W": np.swapaxes(x, -1, -2) @ dy, "b": dy.sum(axis=-2, keepdims=True)}
        return dy @ np.swapaxes(self.params["W"], -1, -2)


class _StackedNorm:
    """BatchNorm (statistics over the batch axis, -2) or LayerNorm (over features, -1) for k
    networks at once; scale and shift of shape (k, 1, features)."""

    def __init__(self, layer, k):
        self.params = {name: np.repeat(layer.params[name][None, None], k, axis=0)
                       for name in ("gamma", "beta")}
        self.eps = layer.eps
        self.batch = isinstance(layer, BatchNorm)
        if self.batch:
            self.momentum = layer.momentum
            self.running_mean = np.repeat(layer.running_mean[None, None], k, axis=0)
            self.running_var = np.repeat(layer.running_var[None, None], k, axis=0)

    def forward(self, x, training):
        self._axis = -2 if self.batch else -1
        if self.batch and not training:
            mean, var = self.running_mean, self.running_var
        else:
            mean = x.mean(axis=self._axis, keepdims=True)
            var = x.var(axis=self._axis, keepdims=True)
        if self.batch and training:
            n, m = x.shape[-2], self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        return self.params["gamma"] * self._x_hat + self.params["beta"]

    def backward(self, dy):
        self.grads = {"gamma": np.sum(dy * self._x_hat, axis=-2, keepdims=True),
                      "beta": dy.sum(axis=-2, keepdims=True)}
        return _normalized_backward(dy, self._x_hat, self._inv_std, self.params["gamma"],
                                    self._axis)


class _Activation:
    """An activation layer of the MLP: elementwise, so it works on stacked arrays as it is."""

    params: dict = {}

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training):
        return self.layer.forward(x)

    def backward(self, dy):
        self.grads = {}
        return self.layer.backward(dy)


def _stack(model, k):
    layers = []
    for layer in model.layers:
        if isinstance(layer, Linear):
            layers.append(_StackedLinear(layer, k))
        elif isinstance(layer, (BatchNorm, LayerNorm)):
            layers.append(_StackedNorm(layer, k))
        else:
            layers.append(_Activation(layer))
    return layers


def _forward(layers, x, training):
    for layer in layers:
        x = layer.forward(x, training)
    return x


def _cross_entropy(logits, labels):
    """The mean softmax cross-entropy of each network, (k,), and its gradient, (k, n, classes)."""
    n = labels.shape[0]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = -log_p[:, np.arange(n), labels].mean(axis=-1)
    grad = np.exp(log_p)
    grad[:, np.arange(n), labels] -= 1.0
    return loss, grad / n


def _evaluate(layers, X, y):
    logits = _forward(layers, X, training=False)
    loss, _ = _cross_entropy(logits, y)
    return loss, np.mean(np.argmax(logits, axis=-1) == y, axis=-1)


def lr_sweep(sizes, lrs, X, y, norm=None, activation="relu", init=None, seed=0, epochs=10,
             batch_size=32, drop_last=False):
    """Train ``MLP(sizes, activation, norm, init, seed)`` by SGD (theta <- theta - lr g) once
    for every learning rate in ``lrs``, all in one batched run, on a classification
    problem (X, labels y) with the cross-entropy loss.

    The same as ``[train(MLP(...), X, y, ol.sgd(lr), epochs, batch_size, seed, drop_last=...)
    for lr in lrs]``, recorded in one ``SweepHistory``. A run whose mini-batch loss stops
    being finite is marked 'diverged' and stops stepping; the others go on.
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs) & (lrs >= 0)):
        raise ValueError(f"lrs must be a non-empty 1-D array of non-negative numbers, got {lrs!r}")
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (samples, features) with one label per sample in y, "
                         f"got {X.shape} and {y.shape}")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if int(batch_size) != batch_size or not 1 <= batch_size <= X.shape[0]:
        raise ValueError(f"batch_size must be an integer in [1, {X.shape[0]}], got {batch_size!r}")
    y = y.astype(int)
    layers = _stack(MLP(sizes, activation, norm, init, seed), lrs.size)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run(layers, lrs, X, y, int(epochs), int(batch_size), seed, drop_last)


def _run(layers, lrs, X, y, epochs, batch_size, seed, drop_last):
    k = lrs.size
    steps_per_epoch = (X.shape[0] // batch_size if drop_last
                       else math.ceil(X.shape[0] / batch_size))
    batches = minibatches(X.shape[0], batch_size, seed, drop_last)
    active = np.ones(k, dtype=bool)
    loss, accuracy = _evaluate(layers, X, y)
    losses, accuracies = [loss], [accuracy]
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            batch = next(batches)
            loss, dout = _cross_entropy(_forward(layers, X[batch], training=True), y[batch])
            active &= np.isfinite(loss)
            for layer in reversed(layers):
                dout = layer.backward(dout)
            step = np.where(active, lrs, 0.0)[:, None, None]
            for layer in layers:
                for name, grad in layer.grads.items():
                    layer.params[name] -= step * np.where(active[:, None, None], grad, 0.0)
        loss, accuracy = _evaluate(layers, X, y)
        losses.append(np.where(active, loss, np.nan))
        accuracies.append(np.where(active, accuracy, np.nan))
    status = ["finished" if ok else "diverged" for ok in active]
    return SweepHistory(lrs, np.array(losses).T, np.array(accuracies).T, status)
