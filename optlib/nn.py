"""Small neural networks in NumPy, with backpropagation written out.

    model = MLP([64, 128, 10], activation="relu", seed=0)
    hist = train(model, X, y, ol.adam(1e-3), epochs=20, batch_size=64, X_test=Xt, y_test=yt)

Every layer has ``forward(x)`` and ``backward(dy) -> dx``; ``backward`` writes
the gradient of each parameter into ``layer.grads``. A ``Sequential`` keeps
all its parameters in one flat vector ``model.params`` and their gradients in
``model.grads``: the layers' arrays are views into these two vectors, so any
optlib transform steps the network in place (``optlib.inplace.Optimizer``),
and ``NetworkLoss`` turns a network and a data set into an optlib objective
for ``minimize`` and the landscape tools.

Shapes: a batch of inputs is ``(n, features)``; ``Linear`` computes
y = x W + b with W of shape ``(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .functions import FiniteSum, Objective
from .inplace import Optimizer
from .minimize import minibatches

__all__ = [
    "RELU_GAIN", "zeros", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "INITIALIZERS", "Layer", "Linear", "ReLU", "Tanh", "Sigmoid", "BatchNorm",
    "LayerNorm",
    "Sequential", "MLP", "softmax_cross_entropy", "mse", "LOSSES", "accuracy", "NetworkLoss",
    "TrainHistory", "train",
]


# ---------------------------------------------------------------- initializers
# An initializer is a callable (shape, rng) -> array for a weight of shape (fan_in, fan_out).

#: sqrt(2), the gain that makes up for ReLU zeroing half of its input.
RELU_GAIN = math.sqrt(2.0)


def zeros():
    """W = 0: every unit computes the same function, and gets the same gradient."""
    return lambda shape, rng: np.zeros(shape)


def normal(std=0.01):
    """W_ij ~ N(0, std^2): the small random init whose signal fades with depth."""
    if not std > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    return lambda shape, rng: rng.normal(0.0, std, shape)


def xavier_uniform(gain=1.0):
    """W_ij ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio 2010).

    Variance gain^2 * 2 / (fan_in + fan_out). For a linear (or tanh near 0)
    layer the signal keeps its variance forward when Var W_ij = 1 / fan_in,
    and the gradient backward when Var W_ij = 1 / fan_out; the harmonic mean
    of the two is a compromise that preserves neither unless fan_in = fan_out.
    """
    def init(shape, rng):
        a = gain * math.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-a, a, shape)
    return init


def xavier_normal(gain=1.0):
    """W_ij ~ N(0, gain^2 * 2 / (fan_in + fan_out)) (Glorot and Bengio 2010)."""
    return lambda shape, rng: rng.normal(0.0, gain * math.sqrt(2.0 / (shape[0] + shape[1])),
                                         shape)


def kaiming_uniform(gain=RELU_GAIN):
    """W_ij ~ U(-a, a), a = gain sqrt(3 / fan_in): variance 2 / fan_in for ReLU (He et al. 2015)."""
    def init(shape, rng):
        a = gain * math.sqrt(3.0 / shape[0])
        return rng.uniform(-a, a, shape)
    return init


def kaiming_normal(gain=RELU_GAIN):
    """W_ij ~ N(0, gain^2 / fan_in); for ReLU (gain sqrt 2) the variance is 2 / fan_in.

    A ReLU zeroes half of a symmetric pre-activation, halving its second
    moment; the factor 2 restores it, so Var(z_l) = Var(z_{l-1}) layer after
    layer (He et al. 2015).
    """
    return lambda shape, rng: rng.normal(0.0, gain / math.sqrt(shape[0]), shape)


#: Initializers by name, with their default arguments.
INITIALIZERS = {
    "zeros": zeros, "normal": normal, "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal, "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
}


def _initializer(init):
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(f"init must be a callable or one of {sorted(INITIALIZERS)}, got {init!r}")
    return INITIALIZERS[init]()


# ---------------------------------------------------------------- layers


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


class Linear(Layer):
    """y = x W + b.   Backward: dW = x' dy, db = sum_n dy, dx = dy W'."""

    def __init__(self, fan_in, fan_out, init="kaiming_normal", bias=True, seed=0):
        super().__init__()
        for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        rng = np.random.default_rng(seed)
        self._add_param("W", _initializer(init)((int(fan_in), int(fan_out)), rng))
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


# ---------------------------------------------------------------- networks


class Sequential(Layer):
    """Layers applied in turn, their parameters in one flat vector.

    ``params`` (and ``grads``) is a 1-D array; each layer's arrays are views
    into it, so ``model.params[...] = theta`` sets the whole network and an
    in-place step on ``model.params`` moves every layer. ``param_slices``
    names the pieces: ``{"0.W": slice(0, 8192), "0.b": ...}`` with the layer's
    index in front.
    """

    def __init__(self, *layers):
        super().__init__()
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError("Sequential expects one or more Layer objects")
        self.layers = list(layers)
        named = [(f"{i}.{name}", layer, name) for i, layer in enumerate(self.layers)
                 for name in layer.params]
        sizes = [layer.params[name].size for _, layer, name in named]
        self.params, self.grads = np.zeros(sum(sizes)), np.zeros(sum(sizes))
        self.param_slices = {}
        offset = 0
        for (full_name, layer, name), size in zip(named, sizes, strict=True):
            where = slice(offset, offset + size)
            shape = layer.params[name].shape
            self.params[where] = layer.params[name].reshape(-1)
            layer.params[name] = self.params[where].reshape(shape)
            layer.grads[name] = self.grads[where].reshape(shape)
            self.param_slices[full_name] = where
            offset += size

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def train(self, mode=True):
        """Batch statistics in BatchNorm (mode True) or running statistics (False)."""
        for layer in [self, *self.layers]:
            layer.training = mode
        return self

    def eval(self):
        return self.train(False)

    def layer_outputs(self, x):
        """The output of every layer for input x, in order (the network's activations)."""
        outputs = []
        for layer in self.layers:
            x = layer.forward(x)
            outputs.append(x)
        return outputs

    def buffers(self):
        """Arrays that are state but not parameters: BatchNorm's running statistics."""
        return [getattr(layer, name) for layer in self.layers
                for name in ("running_mean", "running_var") if hasattr(layer, name)]

    def linear_layers(self):
        """``[(index, layer), ...]`` for the Linear layers, input side first."""
        return [(i, layer) for i, layer in enumerate(self.layers) if isinstance(layer, Linear)]

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)  # {self.params.size} parameters"


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
_NORMS = {"batch": BatchNorm, "layer": LayerNorm}
_DEFAULT_INIT = {"relu": "kaiming_normal", "tanh": "xavier_normal", "sigmoid": "xavier_normal"}


def MLP(sizes, activation="relu", norm=None, init=None, seed=0):
    """A multilayer perceptron: Linear, [norm], activation, ..., Linear.

    ``sizes`` = [inputs, hidden..., outputs]; ``activation`` 'relu', 'tanh' or
    'sigmoid'; ``norm`` None, 'batch' or 'layer' (before each activation);
    ``init`` a name from ``INITIALIZERS`` or an initializer, by default the
    one that suits the activation (Kaiming for ReLU, Xavier for tanh and
    sigmoid). Biases start at zero. ``seed`` fixes the initial weights.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"sizes must be two or more positive integers, got {sizes!r}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    if norm is not None and norm not in _NORMS:
        raise ValueError(f"norm must be None or one of {sorted(_NORMS)}, got {norm!r}")
    init = _DEFAULT_INIT[activation] if init is None else init
    rng = np.random.default_rng(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(Linear(fan_in, fan_out, init=init, seed=rng))
        if i < len(sizes) - 2:
            if norm is not None:
                layers.append(_NORMS[norm](fan_out))
            layers.append(_ACTIVATIONS[activation]())
    return Sequential(*layers)


# ---------------------------------------------------------------- losses
# A loss maps (prediction, target) to (mean loss over the batch, d loss / d prediction).


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


# ---------------------------------------------------------------- the network as an objective


class NetworkLoss(FiniteSum):
    """A network's mean loss over a data set, as a function of its flat parameter vector.

        f(theta) = 1/n sum_i loss(model(x_i; theta), y_i)

    ``value(theta, batch=idx)`` and ``grad(theta, batch=idx)`` work like any
    optlib finite sum, so ``minimize(NetworkLoss(model, X, y), model.params,
    ol.sgd(0.1), batch_size=32)`` trains the network and the landscape tools
    can slice and probe its loss. ``theta`` may carry leading axes (one network
    evaluation per vector). Evaluating sets the model's parameters for a moment
    and puts them (and BatchNorm's running statistics) back afterwards; the
    network is evaluated in the mode it is in (``model.train()`` or
    ``model.eval()``). ``hvp`` and ``hess`` are central differences of the
    gradient with step ``h``.
    """

    def __init__(self, model, X, y, loss="cross_entropy", h=1e-5):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be an optlib.nn.Sequential, got {type(model).__name__}")
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
            raise ValueError(f"X must be (samples, features) and y have one entry per sample, "
                             f"got {X.shape} and {y.shape}")
        for name, value in (("model", model), ("X", X), ("y", y), ("h", h),
                            ("loss_function", _loss_function(loss))):
            object.__setattr__(self, name, value)
        name = loss if isinstance(loss, str) else "loss"
        Objective.__init__(self, f"network_{name}", model.params.size, self._full_value,
                           self._full_grad, self._full_hess, self._full_hvp)

    def _evaluate(self, theta, X, y, with_grad):
        """Loss (and gradient) at every vector of ``theta``, shape (..., dim)."""
        model = self.model
        saved_params = model.params.copy()
        saved_buffers = [b.copy() for b in model.buffers()]
        values = np.empty(theta.shape[:-1])
        grads = np.empty(theta.shape) if with_grad else None
        try:
            for index in np.ndindex(theta.shape[:-1]):
                model.params[...] = theta[index]
                value, dout = self.loss_function(model.forward(X), y)
                values[index] = value
                if with_grad:
                    model.backward(dout)
                    grads[index] = model.grads
        finally:
            model.params[...] = saved_params
            for buffer, saved in zip(model.buffers(), saved_buffers, strict=True):
                buffer[...] = saved
        return values, grads

    def loss(self, theta, X, y):
        return self._evaluate(theta, X, y, with_grad=False)[0]

    def loss_grad(self, theta, X, y):
        return self._evaluate(theta, X, y, with_grad=True)[1]

    def loss_hvp(self, theta, v, X, y):
        """(grad(theta + h v) - grad(theta - h v)) / 2h."""
        return (self.loss_grad(theta + self.h * v, X, y)
                - self.loss_grad(theta - self.h * v, X, y)) / (2 * self.h)

    def loss_hess(self, theta, X, y):
        eye = np.eye(self.dim)
        columns = [self.loss_hvp(theta, np.broadcast_to(e, theta.shape), X, y) for e in eye]
        hess = np.stack(columns, axis=-1)
        return 0.5 * (hess + np.swapaxes(hess, -1, -2))


# ---------------------------------------------------------------- training


@dataclass
class TrainHistory:
    """What ``train`` recorded, one entry per epoch (entry 0 is before training).

    ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` have
    ``epochs + 1`` entries (NaN where there is no test set, or no accuracy for
    a regression loss); ``grad_norms`` has shape ``(epochs, linear layers)``:
    the mean over the epoch's mini-batches of ||dL/dW|| for each Linear layer,
    input side first (``layer_names`` says which). ``status`` is 'finished'
    or 'diverged' (the loss stopped being finite; the arrays end there).
    ``seconds`` is the training time.
    """

    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    grad_norms: np.ndarray
    layer_names: list
    status: str
    seconds: float


def _evaluate(model, X, y, loss_function, classification):
    """(loss, accuracy) in evaluation mode; accuracy is NaN for a regression."""
    if X is None:
        return np.nan, np.nan
    was_training = model.training
    model.eval()
    out = model.forward(X)
    model.train(was_training)
    return loss_function(out, y)[0], accuracy(out, y) if classification else np.nan


def train(model, X, y, tx, epochs=10, batch_size=32, seed=0, progress=False, X_test=None,
          y_test=None, loss="cross_entropy"):
    """Train ``model`` on (X, y) with the optlib transform ``tx``, in mini-batches.

    Each epoch shuffles the samples (seeded by ``seed``) and takes one step
    per batch of ``batch_size``: forward, loss, backward, then
    theta <- theta + step(grad) applied in place to ``model.params``.
    ``loss`` is 'cross_entropy' (y holds class labels), 'mse', or a callable
    (prediction, target) -> (loss, d loss / d prediction). Returns a
    ``TrainHistory``.

    BLAS runs on one thread meanwhile: at these matrix sizes more threads
    spend longer waiting for each other than they save.
    """
    from threadpoolctl import threadpool_limits

    # A diverging run overflows on its way to a non-finite loss, which is detected and reported.
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        return _train(model, X, y, tx, epochs, batch_size, seed, progress, X_test, y_test, loss)


def _train(model, X, y, tx, epochs, batch_size, seed, progress, X_test, y_test, loss):
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (samples, features) with one label per sample in y, "
                         f"got {X.shape} and {y.shape}")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if int(batch_size) != batch_size or not 1 <= batch_size <= X.shape[0]:
        raise ValueError(f"batch_size must be an integer in [1, {X.shape[0]}], got {batch_size!r}")
    loss_function = _loss_function(loss)
    classification = loss == "cross_entropy"
    optimizer = Optimizer(model.params, tx)
    linear = model.linear_layers()
    batches = minibatches(X.shape[0], int(batch_size), seed)
    steps_per_epoch = math.ceil(X.shape[0] / batch_size)

    records = [(*_evaluate(model, X, y, loss_function, classification),
                *_evaluate(model, X_test, y_test, loss_function, classification))]
    grad_norms, status, start = [], "finished", time.perf_counter()
    model.train()
    for _ in tqdm(range(int(epochs)), disable=not progress, desc="train"):
        norms = np.zeros(len(linear))
        for _ in range(steps_per_epoch):
            batch = next(batches)
            value, dout = loss_function(model.forward(X[batch]), y[batch])
            if not np.isfinite(value):
                status = "diverged"
                break
            model.backward(dout)
            norms += [np.linalg.norm(layer.grads["W"]) for _, layer in linear]
            optimizer.step(model.grads)
        if status == "diverged":
            break
        grad_norms.append(norms / steps_per_epoch)
        records.append((*_evaluate(model, X, y, loss_function, classification),
                        *_evaluate(model, X_test, y_test, loss_function, classification)))
    seconds = time.perf_counter() - start
    columns = np.array(records, dtype=float).T
    return TrainHistory(
        train_loss=columns[0], train_accuracy=columns[1], test_loss=columns[2],
        test_accuracy=columns[3], grad_norms=np.array(grad_norms).reshape(-1, len(linear)),
        layer_names=[f"{i}.W" for i, _ in linear], status=status, seconds=seconds,
    )
