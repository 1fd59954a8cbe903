"""Curvature-vector products of a network's loss, with no matrix ever formed: the exact
Hessian-vector product by Pearlmutter's R-operator, and the Gauss-Newton product.

For a network out = F(x; theta) and a loss l(out, y), write J = d out / d theta
(the Jacobian) and H_out the Hessian of l in the output. Then

    H v = J' H_out J v + sum_k (dl/dout_k) (d^2 out_k / d theta^2) v    (the Hessian),
    G v = J' H_out J v                                                  (Gauss-Newton),

and G is positive semi-definite wherever l is convex in the output (Schraudolph
2002), whatever the network. Both products cost about two gradients:

- the **R-forward pass** carries R{a} = d/dalpha a(theta + alpha v) at alpha = 0
  along with every activation a: R{z} = R{a_in} W + a_in V + c for a linear
  layer (V, c the parts of v for W, b), R{phi(z)} = phi'(z) R{z};
  at the output R{out} = J v;
- the **R-backward pass** differentiates backpropagation itself (Pearlmutter
  1994): R{dl/dout} = H_out R{out}, and through a linear layer and an
  activation, with d = dl/d(layer output),

      R{dW} = R{a_in}' d + a_in' R{d},      R{db} = sum R{d},
      R{d_in} = R{d} W' + d V',             R{d_z} = phi'(z) R{d} + phi''(z) R{z} d.

  The R of the gradient is H v. Dropping the terms in V and phi'' (the
  curvature of the network itself) backpropagates H_out J v through the
  linearized network: that is G v.

Supported: ``Sequential`` networks of ``Linear``, ``ReLU``, ``Tanh`` and
``Sigmoid`` layers (so every ``MLP`` without normalization), with the
'cross_entropy' or 'mse' loss of ``NetworkLoss``.
"""

from __future__ import annotations

import numpy as np

from ..functions import Objective
from .layers import Linear, ReLU, Sigmoid, Tanh
from .losses import mse, softmax_cross_entropy
from .objective import NetworkLoss

CURVATURES = ("hessian", "gauss_newton")


def _derivatives(layer, z):
    """(phi(z), phi'(z), phi''(z)) for an activation layer, at its input z."""
    if isinstance(layer, ReLU):
        active = (z > 0).astype(float)
        return z * active, active, np.zeros_like(z)
    if isinstance(layer, Tanh):
        y = np.tanh(z)
        return y, 1 - y**2, -2 * y * (1 - y**2)
    if isinstance(layer, Sigmoid):
        y = 0.5 * (1 + np.tanh(0.5 * z))
        return y, y * (1 - y), y * (1 - y) * (1 - 2 * y)
    raise TypeError(f"curvature products support Linear, ReLU, Tanh and Sigmoid layers, "
                    f"not {type(layer).__name__}")


def _weights(model, vector, index):
    """The (W, b) of layer ``index`` inside a flat parameter vector (b None without bias)."""
    layer, slices = model.layers[index], model.param_slices
    W = vector[slices[f"{index}.W"]].reshape(layer.params["W"].shape)
    b = vector[slices[f"{index}.b"]] if "b" in layer.params else None
    return W, b


def _r_forward(model, theta, v, X):
    """The output, its R (= J v) and the tape the R-backward pass needs."""
    a, Ra, tape = X, np.zeros_like(X), []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            (W, b), (V, c) = _weights(model, theta, index), _weights(model, v, index)
            tape.append((index, a, Ra, W, V))
            a, Ra = a @ W, Ra @ W + a @ V
            if b is not None:
                a, Ra = a + b, Ra + c
        else:
            y, first, second = _derivatives(layer, a)
            tape.append((index, first, second, Ra))
            a, Ra = y, first * Ra
    return a, Ra, tape


def _output_hessian_product(loss_function, out, y, u):
    """H_out u, the Hessian of the mean loss in the output times u (same shape as out)."""
    if loss_function is softmax_cross_entropy:
        shifted = out - out.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        return (p * u - p * np.sum(p * u, axis=1, keepdims=True)) / out.shape[0]
    if loss_function is mse:
        return 2.0 * u / u.size
    raise ValueError("curvature products need the loss 'cross_entropy' or 'mse'")


def _r_backward(model, tape, d, Rd, exact):
    """The R of the gradient (H v with ``exact``, else G v), as one flat vector."""
    product = np.zeros(model.params.size)
    slices = model.param_slices
    for entry in reversed(tape):
        index = entry[0]
        if isinstance(model.layers[index], Linear):
            _, a, Ra, W, V = entry
            RdW = a.T @ Rd + (Ra.T @ d if exact else 0.0)
            product[slices[f"{index}.W"]] = RdW.reshape(-1)
            if f"{index}.b" in slices:
                product[slices[f"{index}.b"]] = Rd.sum(axis=0)
            if index > 0:
                Rd = Rd @ W.T + (d @ V.T if exact else 0.0)
                d = d @ W.T
        else:
            _, first, second, Rz = entry
            Rd = first * Rd + (second * Rz * d if exact else 0.0)
            d = first * d
    return product


def _check(loss, theta, v):
    if not isinstance(loss, NetworkLoss):
        raise TypeError(f"loss must be an optlib.nn.NetworkLoss, got {type(loss).__name__}")
    theta, v = loss._point(theta, "theta"), loss._point(v, "v")
    if theta.shape != v.shape:
        raise ValueError(f"theta and v must have the same shape, got {theta.shape} and {v.shape}")
    return theta, v


def _product(loss, theta, v, exact):
    theta, v = _check(loss, theta, v)
    out = np.empty(theta.shape)
    for index in np.ndindex(theta.shape[:-1]):
        output, Rout, tape = _r_forward(loss.model, theta[index], v[index], loss.X)
        _, dout = loss.loss_function(output, loss.y)
        Rdout = _output_hessian_product(loss.loss_function, output, loss.y, Rout)
        out[index] = _r_backward(loss.model, tape, dout, Rdout, exact)
    return out


def hessian_vector_product(loss, theta, v):
    """H v, exact, by the R-operator (Pearlmutter 1994): one R-forward and one R-backward
    pass over the whole data set of ``loss`` (a NetworkLoss). ``theta`` and ``v`` have
    shape (..., dim)."""
    return _product(loss, theta, v, exact=True)


def gauss_newton_vector_product(loss, theta, v):
    """G v = J' H_out J v, the Gauss-Newton matrix times v (Schraudolph 2002): the R-forward
    pass gives J v, the backward pass carries H_out J v through the linearized network."""
    return _product(loss, theta, v, exact=False)


def jacobian_vector_product(loss, theta, v):
    """J v, the change of the network's output (n, outputs) along v: the R-forward pass."""
    theta, v = _check(loss, theta, v)
    if theta.ndim != 1:
        raise ValueError(f"theta must be one vector of shape ({loss.dim},), got {theta.shape}")
    return _r_forward(loss.model, theta, v, loss.X)[1]


def with_curvature(loss, curvature="gauss_newton"):
    """The objective of ``loss`` whose ``hvp`` is the exact Hessian product
    (``curvature='hessian'``) or the Gauss-Newton product ('gauss_newton'): what
    ``minimize(..., 'hessian_free')`` multiplies by. ``hess`` assembles the matrix
    column by column from dim products (for small networks)."""
    if curvature not in CURVATURES:
        raise ValueError(f"curvature must be one of {CURVATURES}, got {curvature!r}")
    exact = curvature == "hessian"

    def hvp(theta, v):
        return _product(loss, theta, v, exact)

    def hess(theta):
        columns = [hvp(theta, np.broadcast_to(e, theta.shape)) for e in np.eye(loss.dim)]
        matrix = np.stack(columns, axis=-1)
        return 0.5 * (matrix + np.swapaxes(matrix, -1, -2))

    return Objective(f"{loss.name}_{curvature}", loss.dim, loss.value, loss.grad, hess, hvp)
