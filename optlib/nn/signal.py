"""Signal propagation at initialization: the mean-field maps, random networks, and the
statistics of a network's layers.

The book's notation: z^(l) = a^(l-1) W^(l) + b^(l) (optlib's row convention),
a^(l) = phi(z^(l)), Var(W_ij) = sigma_w^2 / N_{l-1}, Var(b_j) = sigma_b^2.

**Mean field** (infinitely wide layers, Poole et al. 2016). The mean square
of a pre-activation, Q_l = E[(z_j^(l))^2], follows the variance map

    Q_{l+1} = sigma_w^2 E[phi(sqrt(Q_l) g)^2] + sigma_b^2,      g ~ N(0, 1),

and the correlation C_l of the pre-activations of two inputs the correlation map

    C_{l+1} = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / Q_{l+1},
    (u_1, u_2) ~ N(0, Q_l [[1, C_l], [C_l, 1]]).

C = 1 is a fixed point; at the fixed point Q* of the variance map its slope is
C'(1) = sigma_w^2 E[phi'(sqrt(Q*) g)^2], which also multiplies the gradients'
mean square at every layer on the way back: below 1 the ordered phase, above
1 the chaotic one, at 1 the edge of chaos. Expectations are Gauss-Hermite
quadratures (closed forms for ReLU, whose kink spoils quadrature).

**Random networks** of finite width: ``gaussian_layers`` draws the weights
layer by layer (for many networks at once along leading axes), ``propagate``
yields the pre-activations, ``backpropagate`` the gradients.
``relu_log_ratio_moments`` and ``gaussian_product_moments`` are exact
finite-width results to compare them with. ``layer_statistics`` measures an
optlib network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .layers import Linear
from .networks import Sequential

# ---------------------------------------------------------------- activations


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_slope(z):
    return (z > 0).astype(float)


def _tanh_slope(z):
    return 1.0 / np.cosh(z) ** 2


def _identity(z):
    return z


def _one(z):
    return np.ones_like(z)


#: phi and phi' by name.
ACTIVATIONS = {
    "relu": (_relu, _relu_slope),
    "tanh": (np.tanh, _tanh_slope),
    "linear": (_identity, _one),
}


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


# ---------------------------------------------------------------- Gaussian expectations

#: Probabilists' Gauss-Hermite rule with 64 nodes: E[f(g)] = sum_k w_k f(x_k), exact for
#: polynomials of degree below 128 (an even count puts no node on ReLU's kink).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def gaussian_mean(f, q):
    """E[f(sqrt(q) g)] for g ~ N(0, 1), elementwise over an array ``q`` of variances."""
    q = np.asarray(q, dtype=float)
    return f(np.sqrt(q)[..., None] * _NODES) @ _WEIGHTS


def _pair_mean(f, q, c):
    """E[f(u_1) f(u_2)] for (u_1, u_2) ~ N(0, q [[1, c], [c, 1]]), by the product rule."""
    q, c = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(c, dtype=float))
    root, g1, g2 = np.sqrt(q)[..., None, None], _NODES[:, None], _NODES[None, :]
    u1 = root * g1
    u2 = root * (c[..., None, None] * g1 + np.sqrt(np.clip(1 - c**2, 0, None))[..., None, None]
                 * g2)
    return np.einsum("...ij,i,j->...", f(u1) * f(u2), _WEIGHTS, _WEIGHTS)


def _check_variances(sigma_w2, sigma_b2):
    if np.any(np.asarray(sigma_w2) <= 0):
        raise ValueError(f"sigma_w2 must be positive, got {sigma_w2!r}")
    if np.any(np.asarray(sigma_b2) < 0):
        raise ValueError(f"sigma_b2 must be non-negative, got {sigma_b2!r}")


# ---------------------------------------------------------------- the mean-field maps


def variance_map(q, activation="relu", sigma_w2=2.0, sigma_b2=0.0):
    """One layer of the variance map: Q_{l+1} = sigma_w^2 E[phi(sqrt(Q_l) g)^2] + sigma_b^2.

    For ReLU, E[relu(sqrt(q) g)^2] = q / 2 (half of a symmetric second moment).
    """
    _check_variances(sigma_w2, sigma_b2)
    if activation == "relu":
        return sigma_w2 * np.asarray(q, dtype=float) / 2 + sigma_b2
    phi, _ = _activation(activation)
    return sigma_w2 * gaussian_mean(lambda z: phi(z) ** 2, q) + sigma_b2


def variances(depth, activation="relu", sigma_w2=2.0, sigma_b2=0.0, q_input=1.0):
    """Q_1, ..., Q_D, shape (depth, ...): Q_1 = sigma_w^2 q_input + sigma_b^2 (the input
    x, of mean square q_input = ||x||^2 / N_0, enters the first layer without an
    activation), then the variance map. Arguments broadcast."""
    q = sigma_w2 * np.asarray(q_input, dtype=float) + sigma_b2
    out = [q]
    for _ in range(int(depth) - 1):
        q = variance_map(q, activation, sigma_w2, sigma_b2)
        out.append(q)
    return np.array(out)


def gradient_variances(q, activation="relu", sigma_w2=2.0):
    """G_l = E[(dL/dz_j^(l))^2] / E[(dL/dz_j^(D))^2] for l = 1, ..., D, given the forward
    mean squares q = (Q_1, ..., Q_D) of a network of equal widths:

        G_D = 1,   G_l = sigma_w^2 E[phi'(sqrt(Q_l) g)^2] G_{l+1}

    (each layer on the way back multiplies by the weights' sigma_w^2 and by the mean
    square slope of its activation; the backward weights are treated as independent of
    the forward ones, exact for the mean as the width grows)."""
    _, slope = _activation(activation)
    q = np.asarray(q, dtype=float)
    if activation == "relu":
        factors = np.broadcast_to(sigma_w2 / 2.0, q.shape)
    else:
        factors = sigma_w2 * gaussian_mean(lambda z: slope(z) ** 2, q)
    out = np.ones_like(factors)
    for layer in range(q.shape[0] - 2, -1, -1):
        out[layer] = out[layer + 1] * factors[layer]
    return out


def variance_fixed_point(activation="tanh", sigma_w2=1.0, sigma_b2=0.0, q_input=1.0,
                         tol=1e-14, max_layers=100_000):
    """Q*, the limit of the variance map from Q = q_input (elementwise over arrays of
    sigma_w2 and sigma_b2), iterated until no entry moves by more than tol * Q."""
    q = np.broadcast_to(np.asarray(q_input, dtype=float),
                        np.broadcast_shapes(np.shape(sigma_w2), np.shape(sigma_b2))).copy()
    for _ in range(max_layers):
        new = variance_map(q, activation, sigma_w2, sigma_b2)
        if np.all(np.abs(new - q) <= tol * np.maximum(new, 1e-300)):
            return new
        q = new
    return q


def correlation_map(c, q, activation="relu", sigma_w2=2.0, sigma_b2=0.0):
    """One layer of the correlation map for two inputs whose pre-activations both have
    mean square q and correlation c: returns C_{l+1} (and uses Q_{l+1} = variance_map(q)).

    For ReLU the pair expectation has a closed form (the arc-cosine kernel of Cho and
    Saul 2009): E[relu(u_1) relu(u_2)] = q (sqrt(1 - c^2) + (pi - arccos c) c) / (2 pi).
    """
    _check_variances(sigma_w2, sigma_b2)
    c = np.clip(np.asarray(c, dtype=float), -1.0, 1.0)
    if activation == "relu":
        pair = np.asarray(q) * (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)
    else:
        phi, _ = _activation(activation)
        pair = _pair_mean(phi, q, c)
    return (sigma_w2 * pair + sigma_b2) / variance_map(q, activation, sigma_w2, sigma_b2)


def correlations(depth, c_input, activation="relu", sigma_w2=2.0, sigma_b2=0.0, q_input=1.0):
    """C_1, ..., C_D for two inputs of mean square q_input and correlation c_input:
    C_1 = (sigma_w^2 q_input c_input + sigma_b^2) / Q_1, then the correlation map."""
    q = sigma_w2 * np.asarray(q_input, dtype=float) + sigma_b2
    c = (sigma_w2 * np.asarray(q_input) * np.asarray(c_input) + sigma_b2) / q
    out = [c]
    for _ in range(int(depth) - 1):
        q, c = variance_map(q, activation, sigma_w2, sigma_b2), correlation_map(
            c, q, activation, sigma_w2, sigma_b2)
        out.append(c)
    return np.array(out)


def slope_at_one(activation="tanh", sigma_w2=1.0, sigma_b2=0.0, q=None):
    """C'(1) = sigma_w^2 E[phi'(sqrt(q) g)^2], the slope of the correlation map at C = 1
    (Poole et al.'s chi_1), at the fixed point q = Q* unless q is given. It is also the
    factor by which each layer multiplies the gradients' mean square on the way back
    (equal widths). Ordered phase below 1, chaotic above."""
    _, slope = _activation(activation)
    if q is None:
        q = variance_fixed_point(activation, sigma_w2, sigma_b2)
    return sigma_w2 * gaussian_mean(lambda z: slope(z) ** 2, q)


# ---------------------------------------------------------------- exact finite-width results


def relu_log_ratio_moments(width, depth):
    """Mean and variance of log(||a^(D)||^2 / ||x||^2) for a ReLU network of ``depth``
    layers, every width (the input's too) equal to ``width`` = N, Gaussian weights of
    variance 2 / N (Kaiming) and zero biases.

    Given a^(l-1), z^(l) ~ N(0, (2/N) ||a^(l-1)||^2 I), so each layer multiplies
    ||a||^2 by (2/N) chi^2_K with K ~ Binomial(N, 1/2) units active, independently of
    the other layers: the log ratio is a sum of ``depth`` independent terms with
    E[log chi^2_K] = psi(K/2) + log 2 and Var = psi'(K/2) (psi the digamma function).
    (K = 0, probability 2^-N, is left out.) For large N the mean is about -5D/(2N) and
    the variance 5D/N (Hanin and Rolnick 2018).
    """
    n = int(width)
    active = np.arange(1, n + 1)
    p = stats.binom.pmf(active, n, 0.5)
    p = p / p.sum()
    mean_k = np.log(4.0 / n) + special.digamma(active / 2)
    mean = np.sum(p * mean_k)
    second = np.sum(p * (special.polygamma(1, active / 2) + mean_k**2))
    return depth * mean, depth * (second - mean**2)


def gaussian_product_moments(depth, width):
    """E[m_1] and E[m_2] of the squared singular values s_i^2 of P = W_1 ... W_D, with
    m_k = (1/N) sum_i s_i^(2k) and W_l independent N x N Gaussian of variance 1/N.

    E[m_1] = 1 at every depth; E[m_2] follows, exactly at finite N (Wick's theorem on
    one layer at a time), M_l = (1 + 1/N) M_{l-1} + S_{l-1}, S_l = S_{l-1} + 2 M_{l-1} / N^2
    from M_0 = S_0 = 1, where S_l = E[m_1^2]. As N grows, E[m_2] -> D + 1: the squared
    singular values keep mean 1 and spread with variance D.
    """
    n = float(width)
    second, mean_square = 1.0, 1.0
    for _ in range(int(depth)):
        second, mean_square = (1 + 1 / n) * second + mean_square, mean_square + 2 * second / n**2
    return 1.0, second


# ---------------------------------------------------------------- random networks


def gaussian_layers(rng, depth, width, sigma_w2=2.0, leading=(), fan_in=None):
    """Yield ``depth`` Gaussian weight matrices of variance sigma_w2 / fan_in (fan_in =
    width unless given), shape sigma_w2's shape + ``leading`` + (fan_in, width).

    ``leading`` holds independent networks (one per index); an array sigma_w2 scales
    one draw of standard normals, so networks that differ only in sigma_w share their
    weights up to scale. Drawn one layer at a time, so deep batches fit in memory.
    """
    rng = np.random.default_rng(rng)
    fan_in = int(width) if fan_in is None else int(fan_in)
    scale = np.sqrt(np.asarray(sigma_w2, dtype=float) / fan_in)
    scale = scale.reshape(scale.shape + (1,) * (len(tuple(leading)) + 2))
    for _ in range(int(depth)):
        yield scale * rng.standard_normal((*leading, fan_in, int(width)))


def propagate(x, weights, activation="relu", biases=None):
    """Yield the pre-activations z^(1), z^(2), ... of a network, one per weight matrix:
    z^(1) = x W^(1) + b^(1), z^(l) = phi(z^(l-1)) W^(l) + b^(l).

    ``x`` is (..., n, N_0): n samples (n = 1 for one input per network); the weights
    (an iterable, possibly a generator, of (..., N_{l-1}, N_l) arrays) and the biases
    broadcast against it along the leading axes.
    """
    phi, _ = _activation(activation)
    a = np.asarray(x, dtype=float)
    if a.ndim < 2:
        raise ValueError(f"x must have shape (..., samples, features), got {a.shape}")
    biases = iter(biases) if biases is not None else None
    for W in weights:
        z = a @ W
        if biases is not None:
            z = z + next(biases)
        yield z
        a = phi(z)


def backpropagate(pre_activations, weights, activation, dout):
    """The gradients dL/dz^(l) of every layer, input side first, from dout = dL/dz^(D):

        dL/dz^(l) = phi'(z^(l)) * (dL/dz^(l+1) W^(l+1)').
    """
    _, slope = _activation(activation)
    weights = list(weights)
    if len(weights) != len(pre_activations):
        raise ValueError(f"need one weight matrix per layer, got {len(weights)} for "
                         f"{len(pre_activations)} layers")
    grads = [np.asarray(dout, dtype=float)]
    for z, W in zip(pre_activations[-2::-1], weights[:0:-1], strict=True):
        grads.append(slope(z) * (grads[-1] @ np.swapaxes(W, -1, -2)))
    return grads[::-1]


# ---------------------------------------------------------------- an optlib network's layers


@dataclass
class LayerStatistics:
    """The pre-activations (outputs of the Linear layers) of a network on a batch, and the
    gradients of a loss with respect to them, input side first; ``names`` are the Linear
    layers' indices in the network."""

    names: list
    pre_activations: list
    gradients: list

    @property
    def pre_activation_rms(self):
        """sqrt(mean z^2) of each layer: sqrt(Q_l) measured."""
        return np.array([np.sqrt(np.mean(z**2)) for z in self.pre_activations])

    @property
    def gradient_rms(self):
        """sqrt(mean (dL/dz)^2) of each layer."""
        return np.array([np.sqrt(np.mean(g**2)) for g in self.gradients])


def layer_statistics(model, X, dout=None, seed=0):
    """Run ``model`` forward on X and backward from ``dout`` (the gradient of the loss with
    respect to the output; by default standard normal entries drawn with ``seed``, the
    gradient of a random linear loss), recording every Linear layer's output and the
    gradient with respect to it. The parameters' gradients in ``model.grads`` are
    overwritten, as by any backward pass."""
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an optlib.nn.Sequential, got {type(model).__name__}")
    X = np.asarray(X, dtype=float)
    outputs = model.layer_outputs(X)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(outputs[-1].shape)
    dout = np.asarray(dout, dtype=float)
    if dout.shape != outputs[-1].shape:
        raise ValueError(f"dout must have the output's shape {outputs[-1].shape}, "
                         f"got {dout.shape}")
    names, pre_activations, gradients = [], [], []
    for i, (layer, out) in enumerate(zip(model.layers, outputs, strict=True)):
        if isinstance(layer, Linear):
            names.append(i)
            pre_activations.append(out)
    by_layer = {}
    for i in range(len(model.layers) - 1, -1, -1):
        if i in names:
            by_layer[i] = dout
        dout = model.layers[i].backward(dout)
    gradients = [by_layer[i] for i in names]
    return LayerStatistics(names, pre_activations, gradients)
