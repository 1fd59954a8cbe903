"""Networks: Sequential (parameters in one flat vector) and the MLP builder."""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, Layer, LayerNorm, Linear, ReLU, Sigmoid, Tanh


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


