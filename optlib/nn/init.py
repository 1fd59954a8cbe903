"""Initializers: functions (shape, rng) -> weight matrix of shape (fan_in, fan_out).

What each preserves, in the book's notation: a layer computes z = a W + b
with W of shape (N_{l-1}, N_l) = (fan_in, fan_out); write Var(W_ij) =
sigma_w^2 / fan_in. With zero biases and weights independent of the input,

    forward:   E[z_j^2]   = sigma_w^2 * mean_i E[a_i^2]
    backward:  E[(dL/da_i)^2] = sigma_w^2 * (fan_out / fan_in) * mean_j E[(dL/dz_j)^2]

so the mean square of the pre-activations is kept from layer to layer when
sigma_w^2 E[phi(z)^2] = E[z^2] (sigma_w^2 = 2 for ReLU, 1 for a linear
layer), and that of the gradients when, in addition, fan_in = fan_out.
Each docstring below says which of the two an initializer keeps, and when.
"""

from __future__ import annotations

import math

import numpy as np

#: sqrt(2), the gain that makes up for ReLU zeroing half of its input.
RELU_GAIN = math.sqrt(2.0)


def zeros():
    """W = 0: keeps nothing. Every unit of a layer computes the same function and gets
    the same gradient, at this step and every later one (the symmetry of the units is
    never broken)."""
    return lambda shape, rng: np.zeros(shape)


def normal(std=0.01):
    """W_ij ~ N(0, std^2): sigma_w^2 = fan_in std^2, fixed in advance of the width.

    Keeps the forward mean square only at the one width fan_in = 1 / std^2
    (linear layers) or 2 / std^2 (ReLU); elsewhere every ReLU layer multiplies
    it by fan_in std^2 / 2: std = 0.01 at width 100 shrinks it 200-fold a layer.
    """
    if not std > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    return lambda shape, rng: rng.normal(0.0, std, shape)


def xavier_uniform(gain=1.0):
    """W_ij ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio 2010).

    Variance gain^2 * 2 / (fan_in + fan_out), the same as ``xavier_normal``:
    see there for what it keeps.
    """
    def init(shape, rng):
        a = gain * math.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-a, a, shape)
    return init


def xavier_normal(gain=1.0):
    """W_ij ~ N(0, gain^2 * 2 / (fan_in + fan_out)) (Glorot and Bengio 2010).

    For a linear layer (or tanh near zero) with gain 1: sigma_w^2 =
    2 fan_in / (fan_in + fan_out), which keeps the forward mean square when
    fan_in = fan_out and otherwise multiplies the forward one by
    2 fan_in / (fan_in + fan_out) and the backward one by 2 fan_out / (fan_in + fan_out):
    the compromise between the two conditions. With ReLU it halves the forward
    mean square at every layer of equal widths.
    """
    return lambda shape, rng: rng.normal(0.0, gain * math.sqrt(2.0 / (shape[0] + shape[1])),
                                         shape)


def kaiming_uniform(gain=RELU_GAIN):
    """W_ij ~ U(-a, a), a = gain sqrt(3 / fan_in): variance gain^2 / fan_in, the same as
    ``kaiming_normal`` (He et al. 2015): see there for what it keeps."""
    def init(shape, rng):
        a = gain * math.sqrt(3.0 / shape[0])
        return rng.uniform(-a, a, shape)
    return init


def kaiming_normal(gain=RELU_GAIN):
    """W_ij ~ N(0, gain^2 / fan_in): sigma_w^2 = gain^2 (He et al. 2015, "fan-in mode").

    A ReLU zeroes half of a symmetric pre-activation, halving its second
    moment; the gain sqrt 2 restores it, so E[z_l^2] = E[z_{l-1}^2] at every
    ReLU layer, whatever the widths. The gradients' mean square changes by
    fan_out / fan_in a layer: kept too when the widths are equal. gain 1 keeps the
    forward mean square of a linear layer (LeCun's initialization).
    """
    return lambda shape, rng: rng.normal(0.0, gain / math.sqrt(shape[0]), shape)


def orthogonal(gain=1.0):
    """W = gain Q with Q drawn uniformly (Haar) among the (semi-)orthogonal matrices
    (Saxe, McClelland and Ganguli 2014).

    Q is the orthogonal factor of the QR decomposition of a Gaussian matrix,
    its columns' signs fixed by the signs of R's diagonal (without that fix Q
    is not uniformly distributed). Every singular value of W is ``gain``: for
    fan_in <= fan_out the rows are orthonormal (W W' = gain^2 I) and
    ||a W|| = gain ||a|| for every input, exactly, not just on average; for
    fan_in > fan_out the columns are (W' W = gain^2 I). A product of
    orthogonal layers is orthogonal: a deep linear network keeps every norm
    (dynamical isometry). The entries have variance gain^2 / max(fan_in, fan_out).
    """
    if not gain > 0:
        raise ValueError(f"gain must be positive, got {gain!r}")

    def init(shape, rng):
        rows, columns = shape
        gaussian = rng.standard_normal((max(rows, columns), min(rows, columns)))
        q, r = np.linalg.qr(gaussian)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        return gain * (q if rows >= columns else q.T)
    return init


def torch_default():
    """W_ij ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch.nn.Linear's default weights
    (``kaiming_uniform_`` with a = sqrt 5, so gain sqrt(1/3)).

    Variance 1 / (3 fan_in): sigma_w^2 = 1/3, a sixth of what ReLU needs. It
    keeps nothing: every ReLU layer divides the forward mean square by 6
    (torch's default bias, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) too, then sets its floor).
    """
    def init(shape, rng):
        a = 1.0 / math.sqrt(shape[0])
        return rng.uniform(-a, a, shape)
    return init


#: Initializers by name, with their default arguments.
INITIALIZERS = {
    "zeros": zeros, "normal": normal, "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal, "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal, "orthogonal": orthogonal, "torch_default": torch_default,
}


def _initializer(init):
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(f"init must be a callable or one of {sorted(INITIALIZERS)}, got {init!r}")
    return INITIALIZERS[init]()
