"""Normalization beyond BatchNorm and LayerNorm, and the measurements that explain it.

Layers: ``GroupNorm`` (Wu and He 2018) and ``WeightNormLinear`` (Salimans and
Kingma 2016). Measurements:

- scale invariance: ``scale_invariant_layers`` finds the Linear layers whose
  outputs go straight into a BatchNorm, whose columns w_j (the weights into
  unit j) can be scaled freely; ``unit_norms`` gives their norms, and
  ``trace_unit_norms`` follows ||w_j||^2 and the gradient g_j along a run of
  gradient descent with weight decay;
- smoothness along the gradient (Santurkar et al. 2018): ``probe_landscape``
  trains with SGD and, every few steps, measures how much the loss and its
  gradient change along the gradient direction;
- gradients at initialization: ``layer_gradient_norms``.

optlib's ``Linear`` computes y = x W with W of shape (fan_in, fan_out), so the
weights into unit j, a row w_j of the weight matrix in the book's notation
z = W a, are the column ``W[:, j]`` here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..minimize import minibatches
from ..optimizers import sgd
from .layers import (
    BatchNorm,
    Layer,
    Linear,
    _Normalization,
    _normalized_backward,
    initial_weights,
)
from .losses import _loss_function
from .objective import NetworkLoss

__all__ = [
    "GroupNorm", "WeightNormLinear", "scale_invariant_layers", "unit_norms", "invariant_mask",
    "NormTrace", "trace_unit_norms", "predicted_norms_sq", "LandscapeTrace", "probe_landscape",
    "layer_gradient_norms",
]


# ---------------------------------------------------------------- layers


class GroupNorm(_Normalization):
    """Group normalization (Wu and He 2018) of (samples, features), as torch.nn.GroupNorm.

    The features are cut into ``groups`` contiguous groups of N / G; each
    sample is normalized within each group, x_hat = (x - mean) / sqrt(var + eps)
    over the group's features, then y = gamma x_hat + beta per feature.
    ``groups = 1`` is LayerNorm; with ``groups = features`` every feature
    would be its own group and x_hat = 0. The same in training and evaluation.
    """

    def __init__(self, features, groups, eps=1e-5):
        if int(groups) != groups or groups < 1 or features % groups:
            raise ValueError(f"groups must be a positive integer dividing features = {features}, "
                             f"got {groups!r}")
        super().__init__(features, eps)
        self.groups = int(groups)

    def _grouped(self, a):
        return a.reshape(*a.shape[:-1], self.groups, -1)

    def forward(self, x):
        grouped = self._grouped(x)
        mean = grouped.mean(axis=-1, keepdims=True)
        self._group_inv_std = 1.0 / np.sqrt(grouped.var(axis=-1, keepdims=True) + self.eps)
        self._x_hat = ((grouped - mean) * self._group_inv_std).reshape(x.shape)
        return self.params["gamma"] * self._x_hat + self.params["beta"]

    def backward(self, dy):
        self._affine_backward(dy)
        dx = _normalized_backward(self._grouped(dy), self._grouped(self._x_hat),
                                  self._group_inv_std, self._grouped(self.params["gamma"]),
                                  axis=-1)
        return dx.reshape(dy.shape)


class WeightNormLinear(Layer):
    """A linear layer with weight normalization (Salimans and Kingma 2016).

        y = x W + b,   w_j = g_j v_j / ||v_j||   (column j of W: the weights into unit j)

    The direction v_j and the length g_j are the parameters. Backward, from
    dW = x' dy:

        dg_j = w_hat_j . dW_j,   dv_j = (g_j / ||v_j||) (dW_j - w_hat_j dg_j),
        w_hat_j = v_j / ||v_j||,

    so dv_j is orthogonal to v_j. At the start g_j = ||v_j||, so W equals the
    weights a ``Linear`` with the same ``init`` and ``seed`` starts from (as
    torch's ``weight_norm``, whose ``weight_g`` and ``weight_v`` are g and v).
    """

    def __init__(self, fan_in, fan_out, init="kaiming_normal", bias=True, seed=0):
        super().__init__()
        v = initial_weights(fan_in, fan_out, init, seed)
        self._add_param("v", v)
        self._add_param("g", np.linalg.norm(v, axis=0))
        if bias:
            self._add_param("b", np.zeros(int(fan_out)))

    def weight(self):
        """W, whose column j is g_j v_j / ||v_j||."""
        return self.params["v"] * (self.params["g"] / np.linalg.norm(self.params["v"], axis=0))

    def forward(self, x):
        self._x = x
        self._W = self.weight()
        y = x @ self._W
        return y + self.params["b"] if "b" in self.params else y

    def backward(self, dy):
        dW = self._x.T @ dy
        v = self.params["v"]
        norms = np.linalg.norm(v, axis=0)
        v_hat = v / norms
        np.sum(dW * v_hat, axis=0, out=self.grads["g"])
        self.grads["v"][...] = self.params["g"] / norms * (dW - v_hat * self.grads["g"])
        if "b" in self.params:
            np.sum(dy, axis=0, out=self.grads["b"])
        return dy @ self._W.T


# ---------------------------------------------------------------- scale invariance


def scale_invariant_layers(model):
    """``[(index, layer), ...]``: the Linear layers of ``model`` (a Sequential) whose output
    goes straight into a BatchNorm. Scaling a column w_j of such a layer's W by any c > 0
    leaves the network's training-mode output unchanged (up to BatchNorm's eps), whatever
    the bias."""
    layers = model.layers
    return [(i, layer) for i, layer in enumerate(layers[:-1])
            if isinstance(layer, Linear) and isinstance(layers[i + 1], BatchNorm)]


def unit_norms(model):
    """||w_j|| for every unit of every scale-invariant layer, input side first, one array."""
    return np.concatenate([np.linalg.norm(layer.params["W"], axis=0)
                           for _, layer in _invariant_or_fail(model)])


def invariant_mask(model):
    """A boolean array over ``model.params``: True on the weights of the scale-invariant
    layers. ``lr * np.where(invariant_mask(model), a, 1)`` gives those weights their own
    learning rate in any optlib transform."""
    mask = np.zeros(model.params.size, dtype=bool)
    for i, _ in _invariant_or_fail(model):
        mask[model.param_slices[f"{i}.W"]] = True
    return mask


def _invariant_or_fail(model):
    found = scale_invariant_layers(model)
    if not found:
        raise ValueError("model has no Linear layer followed by a BatchNorm")
    return found


def _columns(layers, key):
    """The column-wise values ``key(W, dW)`` of every layer, concatenated."""
    return np.concatenate([key(layer.params["W"], layer.grads["W"]) for _, layer in layers])


def _batches(n_samples, batch_size, seed):
    """Index arrays: all samples every step (batch_size None), else shuffled full batches."""
    if batch_size is None:
        return itertools.repeat(np.arange(n_samples))
    if int(batch_size) != batch_size or not 2 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be None or an integer in [2, {n_samples}], "
                         f"got {batch_size!r}")
    return minibatches(n_samples, int(batch_size), seed, drop_last=True)


def _check_data(X, y):
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X must be (samples, features) with one target per sample in y, "
                         f"got {X.shape} and {y.shape}")
    return X, y


def _check_steps(steps):
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


@dataclass
class NormTrace:
    """What ``trace_unit_norms`` recorded, for every scale-invariant unit j (columns).

    ``norms_sq``: ||w_j||^2 before each step and after the last, shape
    (steps + 1, units). Per step, shape (steps, units): ``grads_sq``,
    ||g_j||^2 for the loss gradient g_j of w_j (no weight decay in it);
    ``inner``, w_j . g_j; ``batch_var``, the batch variance v_j of unit j's
    pre-activation, which its BatchNorm divides by sqrt(v_j + eps); and
    ``scale_inner``, psi_j dL/dpsi_j for the BatchNorm's scale psi_j. They
    are tied by

        w_j . g_j = eps / (v_j + eps) * psi_j dL/dpsi_j,

    zero for eps = 0. ``loss``: the mini-batch loss at each step, (steps,);
    ``eps``: the BatchNorm layers' eps.
    """

    norms_sq: np.ndarray
    grads_sq: np.ndarray
    inner: np.ndarray
    batch_var: np.ndarray
    scale_inner: np.ndarray
    loss: np.ndarray
    lr: float
    weight_decay: float
    eps: float

    @property
    def effective_lr(self):
        """eta / ||w_j||^2 before each step: the step that unit j's direction takes."""
        return self.lr / self.norms_sq

    @property
    def cosines(self):
        """w_j . g_j / (||w_j|| ||g_j||) at each step: zero for a scale-invariant loss."""
        return self.inner / np.sqrt(self.norms_sq[:-1] * self.grads_sq)

    @property
    def unit_grads_sq(self):
        """||g~_j||^2 = ||w_j||^2 ||g_j||^2: the squared gradient the same unit would have with
        its weights scaled to ||w_j|| = 1 (the gradient scales as 1 / ||w_j||)."""
        return self.norms_sq[:-1] * self.grads_sq


def trace_unit_norms(model, X, y, lr, steps, batch_size=None, weight_decay=0.0, seed=0,
                     loss="cross_entropy"):
    """Train ``model`` with SGD and follow the weights into every scale-invariant unit.

    Each step takes a mini-batch (every sample when ``batch_size`` is None:
    gradient descent; otherwise shuffled full batches from ``seed``) and steps
    every parameter, theta <- theta - lr (g + weight_decay theta) (``ol.sgd``
    with L2 weight decay, in place on ``model.params``). Because g_j is
    orthogonal to w_j, the norms then obey

        ||w_j||^2 <- (1 - lr weight_decay)^2 ||w_j||^2 + lr^2 ||g_j||^2,

    which the recorded ``NormTrace`` lets one check step by step.
    """
    from ..inplace import Optimizer

    X, y = _check_data(X, y)
    steps = _check_steps(steps)
    layers = _invariant_or_fail(model)
    loss_function = _loss_function(loss)
    optimizer = Optimizer(model.params, sgd(lr, weight_decay=weight_decay))
    batches = _batches(X.shape[0], batch_size, seed)
    norms_sq, records, losses = [_columns(layers, _weights_sq)], [], []
    model.train()
    for _ in range(steps):
        batch = next(batches)
        value, dout = loss_function(model.forward(X[batch]), y[batch])
        model.backward(dout)
        records.append(_unit_record(model, layers))
        losses.append(value)
        optimizer.step(model.grads)
        norms_sq.append(_columns(layers, _weights_sq))
    grads_sq, inner, batch_var, scale_inner = (np.array(column) for column in zip(*records,
                                                                                   strict=True))
    eps = model.layers[layers[0][0] + 1].eps
    return NormTrace(np.array(norms_sq), grads_sq, inner, batch_var, scale_inner,
                     np.array(losses), lr, weight_decay, eps)


def _weights_sq(W, dW):
    return np.sum(W**2, axis=0)


def _unit_record(model, layers):
    """||g_j||^2, w_j . g_j, v_j and psi_j dL/dpsi_j of every unit, after a backward pass."""
    grads_sq = _columns(layers, lambda W, dW: np.sum(dW**2, axis=0))
    inner = _columns(layers, lambda W, dW: np.sum(W * dW, axis=0))
    norms = [model.layers[i + 1] for i, _ in layers]
    batch_var = np.concatenate([1.0 / norm._inv_std**2 - norm.eps for norm in norms])
    scale_inner = np.concatenate([norm.params["gamma"] * norm.grads["gamma"] for norm in norms])
    return grads_sq, inner, batch_var, scale_inner


def predicted_norms_sq(lr, weight_decay, norm0_sq, unit_grads_sq):
    """||w_t||^2 for t = 0..T of a scale-invariant unit under SGD with L2 weight decay:

        ||w_{t+1}||^2 = (1 - lr weight_decay)^2 ||w_t||^2 + lr^2 ||g~_t||^2 / ||w_t||^2,

    from ||w_0||^2 = ``norm0_sq`` and ``unit_grads_sq`` = ||g~_t||^2 (t < T), the squared
    gradients at unit norm (the gradient at w_t is g~_t / ||w_t||). Works elementwise over
    trailing axes (one column per unit). The unit's effective step is lr / ||w_t||^2.
    """
    unit_grads_sq = np.asarray(unit_grads_sq, dtype=float)
    norms_sq = [np.asarray(norm0_sq, dtype=float)]
    shrink = (1 - lr * weight_decay) ** 2
    for g_sq in unit_grads_sq:
        norms_sq.append(shrink * norms_sq[-1] + lr**2 * g_sq / norms_sq[-1])
    return np.array(norms_sq)


# ---------------------------------------------------------------- smoothness along the gradient


@dataclass
class LandscapeTrace:
    """What ``probe_landscape`` measured at the probed steps t (one row each).

    ``steps`` (M,): the steps probed; ``loss`` and ``grad_norm`` (M,): L_B and
    ||g_t|| on that step's batch; for each step size s of ``step_sizes`` (S,),
    ``losses`` (M, S): L_B(theta_t - s g_t), and ``grad_changes`` (M, S):
    ||grad L_B(theta_t - s g_t) - g_t||. ``train_loss`` (T,): the batch loss of
    every step of the run.
    """

    steps: np.ndarray
    step_sizes: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    losses: np.ndarray
    grad_changes: np.ndarray
    train_loss: np.ndarray

    @property
    def loss_variation(self):
        """max - min of the loss over theta_t and the probed points (the "loss landscape")."""
        values = np.column_stack([self.loss, self.losses])
        return values.max(axis=1) - values.min(axis=1)

    @property
    def grad_variation(self):
        """The largest change of the gradient over the probed points ("gradient predictiveness":
        the smaller, the better the gradient at theta_t predicts the gradients ahead)."""
        return self.grad_changes.max(axis=1)

    @property
    def effective_smoothness(self):
        """max over s of ||grad L(theta_t - s g_t) - g_t|| / ||s g_t||: the "effective
        beta-smoothness", a Lipschitz constant of the gradient along the step."""
        distances = self.step_sizes[None, :] * self.grad_norm[:, None]
        return np.max(self.grad_changes / distances, axis=1)


def probe_landscape(model, X, y, lr, steps, step_sizes, batch_size=None, every=1, seed=0,
                    loss="cross_entropy"):
    """Train ``model`` with SGD at ``lr`` and probe the loss along the gradient every ``every``
    steps (the measurements of Santurkar et al. 2018).

    At a probed step t, with the step's mini-batch B and g_t = grad L_B(theta_t),
    evaluate L_B and its gradient at theta_t - s g_t for every s in
    ``step_sizes``: how much the loss varies along the step, how much the
    gradient changes, and the ratio of the change to the distance moved (see
    ``LandscapeTrace``). Probing evaluates the network in training mode on the
    same batch and leaves the parameters and BatchNorm's running statistics as
    they were; the run is the one ``trace_unit_norms`` would take with the same
    arguments.
    """
    from ..inplace import Optimizer

    X, y = _check_data(X, y)
    steps = _check_steps(steps)
    step_sizes = np.asarray(step_sizes, dtype=float)
    if step_sizes.ndim != 1 or step_sizes.size == 0 or np.any(step_sizes <= 0):
        raise ValueError(f"step_sizes must be a non-empty 1-D array of positive numbers, "
                         f"got {step_sizes!r}")
    if int(every) != every or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    objective = NetworkLoss(model, X, y, loss=loss)
    loss_function = _loss_function(loss)
    optimizer = Optimizer(model.params, sgd(lr))
    batches = _batches(X.shape[0], batch_size, seed)
    probes, train_loss = [], []
    model.train()
    for t in range(steps):
        batch = next(batches)
        if t % int(every) == 0:
            probes.append((t, *_probe(objective, model.params.copy(), batch, step_sizes)))
        value, dout = loss_function(model.forward(X[batch]), y[batch])
        model.backward(dout)
        train_loss.append(value)
        optimizer.step(model.grads)
    t, value, grad_norm, losses, changes = (np.array(column) for column in zip(*probes,
                                                                                 strict=True))
    return LandscapeTrace(t, step_sizes, value, grad_norm, losses, changes, np.array(train_loss))


def _probe(objective, theta, batch, step_sizes):
    """L_B(theta), ||g||, and L_B and ||grad change|| at theta - s g for each step size s."""
    grad = objective.grad(theta, batch=batch)
    ahead = theta - step_sizes[:, None] * grad
    losses = objective.value(ahead, batch=batch)
    changes = np.linalg.norm(objective.grad(ahead, batch=batch) - grad, axis=1)
    return objective.value(theta, batch=batch), np.linalg.norm(grad), losses, changes


# ---------------------------------------------------------------- gradients at initialization


def layer_gradient_norms(model, X, y, loss="cross_entropy"):
    """||dL/dW|| for every Linear layer, input side first, for one forward and backward pass on
    (X, y) in the mode the model is in (training mode: batch statistics)."""
    X, y = _check_data(X, y)
    _, dout = _loss_function(loss)(model.forward(X), y)
    model.backward(dout)
    return np.array([np.linalg.norm(layer.grads["W"]) for _, layer in model.linear_layers()])
