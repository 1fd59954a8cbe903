"""Initializers: functions (fan_in, fan_out, rng) -> weight matrix."""

from __future__ import annotations

import math

import numpy as np

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


