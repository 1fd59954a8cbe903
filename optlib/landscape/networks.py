"""A network's loss for a whole stack of parameter vectors at once, with exact
Hessian- and Gauss-Newton-vector products; the rescalings that leave a ReLU network's
function unchanged; the filters of filter normalization.

    loss = BatchedNetworkLoss(model, X, y, loss="mse")
    loss.value(thetas)            # thetas (..., d): one forward pass for all of them
    loss.hvp(theta, v)            # H v, exact (Pearlmutter's R-operator)
    loss.gnvp(theta, v)           # G v, the Gauss-Newton part J' H_out J v

References: B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6(1), 1994; N. N. Schraudolph, "Fast curvature matrix-vector products for
second-order gradient descent", Neural Computation 14(7), 2002; L. Dinh, R. Pascanu,
S. Bengio and Y. Bengio, "Sharp minima can generalize for deep nets", ICML 2017.
"""

from __future__ import annotations

import numpy as np

from ..functions import FiniteSum, Objective
from ..nn.layers import Linear, ReLU, Sigmoid, Tanh
from ..nn.networks import Sequential
from ._checks import _flat

__all__ = ["BatchedNetworkLoss", "rescale_layer", "rescale_neurons", "neuron_filters"]

#: Floats of activations one chunk of a stack may hold (about 32 MB per array).
_CHUNK_FLOATS = 4_000_000


class _Activation:
    """phi, and phi' and phi'' from the activation a = phi(z) (and z)."""

    def __init__(self, forward, first, second):
        self.forward, self.first, self.second = forward, first, second


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


_ACTIVATIONS = {
    ReLU: _Activation(lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float),
                      lambda z, a: np.zeros_like(z)),
    Tanh: _Activation(np.tanh, lambda z, a: 1 - a**2, lambda z, a: -2 * a * (1 - a**2)),
    Sigmoid: _Activation(_sigmoid, lambda z, a: a * (1 - a),
                         lambda z, a: a * (1 - a) * (1 - 2 * a)),
}


class BatchedNetworkLoss(FiniteSum):
    """The mean loss of a network over a data set, for a stack of parameter vectors at once.

        L(theta) = 1/n sum_i loss(f(x_i; theta), y_i)

    The same function as ``optlib.nn.NetworkLoss(model, X, y, loss)``, but
    ``theta`` of shape (..., d) runs through the network in one pass (one
    matrix product per layer for the whole stack), so a 2-D slice, a batch of
    trajectories or a dense Hessian is one call. ``model`` is a Sequential of
    Linear layers and the activations ReLU, Tanh and Sigmoid (no
    normalization layers); its own parameters are never touched. ``loss`` is
    'mse' (mean over all n x C entries, as torch's MSELoss) or
    'cross_entropy' (integer labels). ``l2`` adds the weight decay
    (l2 / 2) |theta|^2 to the loss (and l2 v to both curvature products), which
    gives the flat directions of a network's symmetries a curvature l2.

    ``hvp(theta, v)`` is exact: Pearlmutter's R-operator, a forward pass of
    the directional derivative R{.} = d/dr (.)(theta + r v) at r = 0 followed
    by its backward pass. ``gnvp(theta, v)`` is the Gauss-Newton product
    G v = J' H_out J v, with J the Jacobian of the n x C outputs and H_out
    the Hessian of the loss in the outputs; H = G + sum_i,c (dloss/df_ic)
    Hessian(f_ic), so G is H without the term weighted by the residuals.
    Mini-batches work as for any FiniteSum: ``value(theta, batch=idx)``.
    """

    def __init__(self, model, X, y, loss="cross_entropy", l2=0.0):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be an optlib.nn.Sequential, got {type(model).__name__}")
        if loss not in ("mse", "cross_entropy"):
            raise ValueError(f"loss must be 'mse' or 'cross_entropy', got {loss!r}")
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
            raise ValueError(f"X must be (samples, features) and y have one entry per sample, "
                             f"got {X.shape} and {y.shape}")
        if not (np.isfinite(l2) and l2 >= 0):
            raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
        layers = _layers(model)
        if layers[0][1].shape[0] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, the network takes "
                             f"{layers[0][1].shape[0]}")
        for name, value in (("model", model), ("X", X), ("y", y), ("loss_name", loss),
                            ("layers", layers), ("l2", float(l2))):
            object.__setattr__(self, name, value)
        Objective.__init__(self, f"batched_network_{loss}", model.params.size,
                           self._full_value, self._full_grad, self._full_hess, self._full_hvp)

    # ------------------------------------------------------------ the FiniteSum rules

    def loss(self, theta, X, y):
        return self._stacked(theta, X, y, "value")

    def loss_grad(self, theta, X, y):
        return self._stacked(theta, X, y, "grad")

    def loss_hvp(self, theta, v, X, y):
        return self._stacked(theta, X, y, "hvp", v)

    def loss_hess(self, theta, X, y):
        """The dense Hessian: the products with the d unit vectors, in one stacked pass."""
        theta = self._point(theta, "theta")
        eye = np.eye(self.dim)
        stack = np.broadcast_to(theta[..., None, :], theta.shape[:-1] + eye.shape)
        hess = self.loss_hvp(stack, np.broadcast_to(eye, stack.shape), X, y)
        return 0.5 * (hess + np.swapaxes(hess, -1, -2))

    def gnvp(self, theta, v, batch=None):
        """The Gauss-Newton product G v = J' H_out J v (H_out: Hessian of the loss in the
        outputs; positive semi-definite for both losses)."""
        X, y = self._rows(batch)
        return self._stacked(self._point(theta, "theta"), X, y, "gnvp", self._point(v, "v"))

    def jvp(self, theta, v, X=None):
        """J v: how the outputs move along v, d/dr f(x_i; theta + r v) at r = 0, shape
        (..., n, C) (the forward R-pass)."""
        X = self.X if X is None else np.asarray(X, dtype=float)
        theta, v = np.broadcast_arrays(self._point(theta, "theta"), self._point(v, "v"))
        flat, flat_v = theta.reshape(-1, self.dim), v.reshape(-1, self.dim)
        out = []
        for start, chunk in _chunks(flat, X.shape[0], self._width, offsets=True):
            a, zs = self._forward(chunk, X)
            tangents = self._weights(flat_v[start:start + len(chunk)])
            out.append(self._tangent(a, zs, self._weights(chunk), tangents)[0][-1])
        out = np.concatenate(out)
        return out.reshape(theta.shape[:-1] + out.shape[1:])

    def outputs(self, theta, X=None):
        """The network's outputs f(x_i; theta), shape (..., n, C); X defaults to the data."""
        X = self.X if X is None else np.asarray(X, dtype=float)
        theta = self._point(theta, "theta")
        flat = theta.reshape(-1, self.dim)
        out = np.concatenate([self._forward(chunk, X)[0][-1]
                              for chunk in _chunks(flat, X.shape[0], self._width)])
        return out.reshape(theta.shape[:-1] + out.shape[1:])

    # ------------------------------------------------------------ the passes

    @property
    def _width(self):
        return max(max(W.shape) for _, W, _, _ in self.layers)

    def _stacked(self, theta, X, y, what, v=None):
        """Evaluate ``what`` for every vector of the stack, in chunks that fit in memory."""
        theta = np.asarray(theta, dtype=float)
        if v is not None:
            theta, v = np.broadcast_arrays(theta, np.asarray(v, dtype=float))
        shape = theta.shape[:-1]
        flat = theta.reshape(-1, self.dim)
        flat_v = None if v is None else v.reshape(-1, self.dim)
        results = []
        for start, chunk in _chunks(flat, X.shape[0], self._width, offsets=True):
            chunk_v = None if flat_v is None else flat_v[start:start + len(chunk)]
            results.append(self._pass(chunk, X, y, what, chunk_v))
        out = np.concatenate(results)
        if what == "value":
            return out.reshape(shape) + 0.5 * self.l2 * np.sum(theta * theta, axis=-1)
        decay = theta if what == "grad" else v
        return out.reshape(shape + (self.dim,)) + self.l2 * decay

    def _weights(self, theta):
        """(W, b, activation) per Linear layer, W of shape (B, fan_in, fan_out)."""
        out = []
        for W_slice, W, b_slice, activation in self.layers:
            weights = theta[:, W_slice].reshape((-1,) + W.shape)
            bias = None if b_slice is None else theta[:, b_slice][:, None, :]
            out.append((weights, bias, activation))
        return out

    def _forward(self, theta, X):
        """Activations a_0 = X, ..., a_D (the outputs) and pre-activations z_1, ..., z_D."""
        a, zs = [X], []
        for weights, bias, activation in self._weights(theta):
            z = a[-1] @ weights
            z = z if bias is None else z + bias
            zs.append(z)
            a.append(z if activation is None else activation.forward(z))
        return a, zs

    def _pass(self, theta, X, y, what, v):
        a, zs = self._forward(theta, X)
        value, delta, out_hvp = self._loss(a[-1], y)
        if what == "value":
            return value
        layers = self._weights(theta)
        if what == "grad":
            return self._backward(a, zs, layers, delta)
        tangents = self._weights(v)
        Ra, Rz = self._tangent(a, zs, layers, tangents)
        if what == "gnvp":
            return self._backward(a, zs, layers, out_hvp(Ra[-1]))
        return self._r_backward(a, zs, Ra, Rz, layers, tangents, delta, out_hvp(Ra[-1]))

    def _loss(self, out, y):
        """The loss per stack entry, its gradient in the outputs, and u -> H_out u."""
        n = out.shape[-2]
        if self.loss_name == "mse":
            residual = out - np.asarray(y, dtype=float).reshape(out.shape[-2:])
            scale = 2.0 / residual[0].size
            return (np.mean(residual**2, axis=(-2, -1)), scale * residual,
                    lambda u: scale * u)
        labels = _labels(y, out.shape[-2:])
        shifted = out - out.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        p = np.exp(log_p)
        rows = np.arange(n)
        value = -log_p[:, rows, labels].mean(axis=-1)
        delta = p.copy()
        delta[:, rows, labels] -= 1.0
        return (value, delta / n,
                lambda u: (p * u - p * np.sum(p * u, axis=-1, keepdims=True)) / n)

    def _backward(self, a, zs, layers, delta):
        """dL/dtheta from delta = dL/d(outputs): the gradient, or J' u for delta = u."""
        grads = [None] * len(layers)
        for k in reversed(range(len(layers))):
            weights, bias, _ = layers[k]
            grads[k] = (_outer(a[k], delta), None if bias is None else delta.sum(axis=-2))
            if k > 0:
                delta = delta @ np.swapaxes(weights, -1, -2)
                activation = layers[k - 1][2]
                if activation is not None:
                    delta = delta * activation.first(zs[k - 1], a[k])
        return self._flatten(grads, len(delta))

    def _tangent(self, a, zs, layers, tangents):
        """The forward R-pass: R{a_k} and R{z_k} along the direction (V, v_b) per layer."""
        Ra, Rz = [np.zeros_like(a[0])], []
        for k, ((weights, _, activation), (V, Vb, _)) in enumerate(
                zip(layers, tangents, strict=True)):
            r = a[k] @ V + (0 if k == 0 else Ra[k] @ weights)
            r = r if Vb is None else r + Vb
            Rz.append(r)
            Ra.append(r if activation is None else activation.first(zs[k], a[k + 1]) * r)
        return Ra, Rz

    def _r_backward(self, a, zs, Ra, Rz, layers, tangents, delta, R_delta):
        """The backward R-pass: R{dL/dtheta} = H v, layer by layer from the outputs."""
        grads = [None] * len(layers)
        for k in reversed(range(len(layers))):
            weights, bias, _ = layers[k]
            V = tangents[k][0]
            RW = _outer(a[k], R_delta) + (0 if k == 0 else _outer(Ra[k], delta))
            grads[k] = (RW, None if bias is None else R_delta.sum(axis=-2))
            if k > 0:
                back = delta @ np.swapaxes(weights, -1, -2)
                R_back = (R_delta @ np.swapaxes(weights, -1, -2)
                          + delta @ np.swapaxes(V, -1, -2))
                activation = layers[k - 1][2]
                if activation is None:
                    delta, R_delta = back, R_back
                else:
                    first = activation.first(zs[k - 1], a[k])
                    second = activation.second(zs[k - 1], a[k])
                    delta, R_delta = back * first, R_back * first + back * second * Rz[k - 1]
        return self._flatten(grads, len(delta))

    def _flatten(self, grads, count):
        out = np.zeros((count, self.dim))
        for (W_slice, _, b_slice, _), (dW, db) in zip(self.layers, grads, strict=True):
            out[:, W_slice] = dW.reshape(count, -1)
            if b_slice is not None:
                out[:, b_slice] = db.reshape(count, -1)
        return out


def _outer(a, delta):
    """sum_i a_i' delta_i over the samples: (B or none, n, p) x (B, n, q) -> (B, p, q)."""
    return np.swapaxes(a, -1, -2) @ delta if a.ndim == 3 else np.einsum("np,bnq->bpq", a, delta)


def _labels(y, shape):
    n, classes = shape
    labels = np.asarray(y)
    if labels.shape != (n,) or not np.all((labels == np.round(labels)) & (labels >= 0)
                                          & (labels < classes)):
        raise ValueError(f"y must hold {n} integer labels in [0, {classes})")
    return labels.astype(int)


def _chunks(flat, samples, width, offsets=False):
    """Consecutive pieces of the stack whose activations fit in _CHUNK_FLOATS floats."""
    size = max(1, _CHUNK_FLOATS // max(1, samples * width))
    for start in range(0, max(len(flat), 1), size):
        chunk = flat[start:start + size]
        yield (start, chunk) if offsets else chunk


def _layers(model):
    """(W slice, W, b slice or None, activation after it or None) per Linear layer."""
    layers, pending = [], None
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            if pending is not None:
                layers.append((*pending, None))
            b_slice = model.param_slices.get(f"{index}.b")
            pending = (model.param_slices[f"{index}.W"], layer.params["W"], b_slice)
        elif type(layer) in _ACTIVATIONS and pending is not None:
            layers.append((*pending, _ACTIVATIONS[type(layer)]))
            pending = None
        else:
            raise TypeError(f"layer {index} ({type(layer).__name__}) is not supported: a "
                            "BatchedNetworkLoss takes Linear layers, each followed by at most "
                            "one ReLU, Tanh or Sigmoid")
    if pending is None:
        raise TypeError("the network must end with a Linear layer")
    layers.append((*pending, None))
    return layers


# ---------------------------------------------------------------- rescalings and filters


def _linear(model, layer):
    linear = model.linear_layers()
    if not isinstance(layer, (int, np.integer)) or not 0 <= layer < len(linear) - 1:
        raise ValueError(f"layer must be the index of a Linear layer followed by another, "
                         f"0 to {len(linear) - 2}, got {layer!r}")
    (i, first), (j, second) = linear[layer], linear[layer + 1]
    return (model.param_slices[f"{i}.W"], model.param_slices.get(f"{i}.b"),
            model.param_slices[f"{j}.W"], first, second)


def rescale_neurons(model, theta, layer, scales):
    """Scale unit j of Linear layer ``layer`` by c_j and its outgoing weights by 1/c_j.

        W_l[:, j] <- c_j W_l[:, j],  b_l[j] <- c_j b_l[j],  W_{l+1}[j, :] <- W_{l+1}[j, :] / c_j

    With a ReLU (or no activation) between the two layers the network computes the
    same function for every c_j > 0, because relu(c z) = c relu(z): a continuum of
    parameter vectors with one loss (Dinh et al. 2017). ``layer`` counts the Linear
    layers from 0; ``scales`` is a number or one positive number per unit.
    """
    theta = _flat(theta, "theta")
    W_in, b_in, W_out, first, second = _linear(model, layer)
    units = first.params["W"].shape[1]
    scales = np.broadcast_to(np.asarray(scales, dtype=float), (units,))
    if not np.all(np.isfinite(scales) & (scales > 0)):
        raise ValueError("scales must be finite and positive: a negative scale would flip a "
                         "ReLU unit off")
    out = theta.copy()
    out[W_in] = (theta[W_in].reshape(first.params["W"].shape) * scales).reshape(-1)
    if b_in is not None:
        out[b_in] = theta[b_in] * scales
    out[W_out] = (theta[W_out].reshape(second.params["W"].shape) / scales[:, None]).reshape(-1)
    return out


def rescale_layer(model, theta, layer, c):
    """Scale Linear layer ``layer`` (weights and bias) by c and the next layer's weights
    by 1/c: ``rescale_neurons`` with the same c for every unit."""
    if np.ndim(c) != 0:
        raise ValueError(f"c must be one number, got shape {np.shape(c)}")
    return rescale_neurons(model, theta, layer, c)


def neuron_filters(model):
    """The filters of Li et al.'s filter normalization for an optlib.nn network.

    A filter is the weights into one unit: column j of a Linear layer's W, which
    optlib stores as (fan_in, fan_out), row-major. Returns one stepped slice of
    the flat parameter vector per unit, for ``filter_normalize(d, theta,
    blocks=neuron_filters(model))``; biases lie in no filter, so their direction
    is 0, as Li et al. do.
    """
    filters = []
    for index, layer in model.linear_layers():
        where = model.param_slices[f"{index}.W"]
        fan_in, fan_out = layer.params["W"].shape
        filters += [slice(where.start + j, where.start + fan_in * fan_out, fan_out)
                    for j in range(fan_out)]
    return filters
