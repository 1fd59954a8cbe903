"""Losses of a network's output, with their gradients, and accuracy."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits, labels):
    """L = -1/n sum_i log softmax(z_i)[y_i];  dL/dz_i = (softmax(z_i) - onehot(y_i)) / n."""
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    n, k = logits.shape
    if labels.shape != (n,) or not np.all((labels == np.round(labels)) & (labels >= 0)
                                          & (labels < k)):
        raise ValueError(f"labels must be {n} integers in [0, {k}), got shape {labels.shape}")
    labels = labels.astype(int)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), labels].mean()
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


def mse(prediction, target):
    """L = mean((p - t)^2) over all entries, as torch's MSELoss;  dL/dp = 2 (p - t) / size."""
    prediction = np.asarray(prediction, dtype=float)
    target = np.asarray(target, dtype=float).reshape(prediction.shape)
    residual = prediction - target
    return np.mean(residual**2), 2.0 * residual / residual.size


LOSSES = {"cross_entropy": softmax_cross_entropy, "mse": mse}


def _loss_function(loss):
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be a callable or one of {sorted(LOSSES)}, got {loss!r}")
    return LOSSES[loss]


def accuracy(logits, labels):
    """The fraction of samples whose largest logit is the label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


