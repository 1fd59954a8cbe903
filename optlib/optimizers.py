"""First-order transforms: each optimizer is a pair of pure functions.

    state = tx.init(x)
    step, state = tx.update(g, state, x)      # then x_next = x + step

The rules are written once against the array namespace of their input
(array-api-compat), so the same transform steps NumPy arrays and torch
tensors (on CPU or CUDA) and returns the kind it was given. Every rule is
elementwise: a leading batch axis runs many trajectories at once, and a
hyperparameter may be an array broadcastable against ``x`` (a whole grid of
learning rates in one run). ``lr`` may also be a schedule, a callable
``t -> lr`` evaluated at the step count t = 0, 1, 2, ...

Conventions follow torch.optim, so that with the same hyperparameters the
trajectories agree to rounding: epsilon is added outside the square root,
``weight_decay`` adds ``weight_decay * x`` to the gradient (L2), except in
AdamW (and ``decoupled_weight_decay``) where the decay is decoupled and
multiplied by lr.

The docstrings write the rules in the book's notation: the decay rates of
the first and second moments are beta_1 and beta_2 (the arguments ``b1``,
``b2``; ``rho`` for RMSProp and Adadelta, whose one decay rate is beta_2),
the second moment is s_t (torch.optim and Kingma and Ba write v_t), and eps
is the constant that keeps a denominator away from zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

__all__ = [
    "Transform",
    "sgd",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "nadam",
    "adamax",
    "decoupled_weight_decay",
    "chain",
    "clip_by_global_norm",
    "clip_by_value",
]


class Transform(NamedTuple):
    """An optimizer: ``init(x) -> state`` and ``update(g, state, x) -> (step, state)``.

    ``lr`` is the learning rate the transform was built with (a number, an
    array, a schedule, or None), so drivers can record it. ``elementwise``
    declares that the rule acts on every entry on its own, so that it may run
    on any slice of the parameters (optlib.inplace steps a large array block
    by block); every transform here but ``clip_by_global_norm`` is.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]
    lr: Any = None
    elementwise: bool = False


# ---------------------------------------------------------------- hyperparameters


def _check(name, value, low=0.0, high=math.inf, high_open=False):
    """Validate a hyperparameter (number or array) against [low, high] or [low, high)."""
    if callable(value):
        raise TypeError(f"{name} must be a number or an array, not a callable")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    upper = f"{high})" if high_open else f"{high}]"
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    above = array >= high if high_open else array > high
    if np.any(array < low) or np.any(above):
        raise ValueError(f"{name} must lie in [{low}, {upper}, got {value!r}")
    return value


def _check_lr(lr):
    if callable(lr):
        _check("lr (the schedule's value at t=0)", lr(0))
        return lr
    return _check("lr", lr)


_NAMESPACES = {}


def _array_namespace(a):
    """array-api-compat's namespace for arrays of the type of ``a``, looked up once per type
    (the lookup costs more than a whole SGD step on a small array)."""
    kind = type(a)
    if kind not in _NAMESPACES:
        _NAMESPACES[kind] = array_api_compat.array_namespace(a)
    return _NAMESPACES[kind]


def _value(h, t, x):
    """A hyperparameter at step t, as a number or an array in the namespace of ``x``."""
    if callable(h):
        h = h(t)
    if isinstance(h, (int, float)):
        return h
    xp = _array_namespace(x)
    return xp.asarray(h, dtype=x.dtype, device=array_api_compat.device(x))


def _namespace(g, state_like):
    """The array namespace of g, after checking that g has the shape of the parameters."""
    if tuple(g.shape) != tuple(state_like.shape):
        raise ValueError(
            f"gradient g must have the shape of the parameters {tuple(state_like.shape)}, "
            f"got {tuple(g.shape)}"
        )
    return _array_namespace(g)


def _zeros(x):
    xp = _array_namespace(x)
    return xp.zeros_like(x)


def _with_l2(g, x, weight_decay):
    """g + weight_decay * x: the gradient of the L2 penalty weight_decay/2 ||x||^2 added."""
    if isinstance(weight_decay, (int, float)) and weight_decay == 0:
        return g
    return g + weight_decay * x


# ---------------------------------------------------------------- SGD


class SGDState(NamedTuple):
    count: int
    momentum_buffer: Any


def _check_momentum(momentum):
    if callable(momentum):
        _check("momentum (the schedule's value at t=0)", momentum(0), 0.0, 1.0, high_open=True)
        return momentum
    return _check("momentum", momentum, 0.0, 1.0, high_open=True)


def sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
    """Stochastic gradient descent with heavy-ball or Nesterov momentum, torch.optim's form.

        m_t = beta_t m_{t-1} + (1 - dampening) g_t   (m_0 = g_0: the first step is undamped)
        step = -eta_t m_t                            (heavy ball, Polyak 1964)
        step = -eta_t (g_t + beta_{t+1} m_t)         (Nesterov)

    With beta = 0 this is plain gradient descent, step = -eta g_t. ``momentum``
    (beta) is a number in [0, 1), an array, or a schedule t -> beta_t like
    ``lr``. With a constant lr, heavy ball is Polyak's v_{t+1} = beta v_t - g_t,
    theta_{t+1} = theta_t + eta v_{t+1} (with v_{t+1} = -m_t), and Nesterov's
    rule is Sutskever et al.'s (2013) look-ahead form rewritten in the
    look-ahead point theta_t + eta beta_t v_t, at which the gradient is then
    taken. That is why the Nesterov step uses the next coefficient
    beta_{t+1}: for any momentum schedule the iterates are exactly those
    look-ahead points. (torch.optim's momentum is a constant of its parameter
    group; with a constant beta the two agree to rounding.)
    ``dampening`` scales the gradient's share of the buffer, except at the
    first step, as in torch.optim; Nesterov needs dampening = 0.
    """
    _check_lr(lr)
    _check_momentum(momentum)
    _check("weight_decay", weight_decay)
    _check("dampening", dampening, 0.0, 1.0)
    damped = not (isinstance(dampening, (int, float)) and dampening == 0)
    if nesterov and damped:
        raise ValueError(f"Nesterov momentum needs dampening = 0, got {dampening!r}")

    def init(x):
        return SGDState(0, _zeros(x))

    def update(g, state, x):
        _namespace(g, x)
        t = state.count
        eta, beta = _value(lr, t, x), _value(momentum, t, x)
        g = _with_l2(g, x, _value(weight_decay, t, x))
        if damped and t > 0:
            g_share = (1 - _value(dampening, t, x)) * g
        else:
            g_share = g
        m = beta * state.momentum_buffer + g_share
        direction = g + _value(momentum, t + 1, x) * m if nesterov else m
        return -eta * direction, SGDState(t + 1, m)

    return Transform(init, update, lr, elementwise=True)


# ---------------------------------------------------------------- Adagrad


class AdagradState(NamedTuple):
    count: int
    sum_of_squares: Any


def adagrad(lr=1e-2, eps=1e-10, initial_accumulator=0.0, weight_decay=0.0):
    """Adagrad (Duchi, Hazan and Singer 2011).

        s_t = s_{t-1} + g_t^2                        (s_0 = initial_accumulator)
        step = -eta g_t / (sqrt(s_t) + eps)

    s_t is the diagonal of the sum of outer products g_1 g_1' + ... + g_t g_t'.
    """
    _check_lr(lr)
    _check("eps", eps)
    _check("initial_accumulator", initial_accumulator)
    _check("weight_decay", weight_decay)

    def init(x):
        return AdagradState(0, _zeros(x) + initial_accumulator)

    def update(g, state, x):
        xp = _namespace(g, x)
        g = _with_l2(g, x, _value(weight_decay, state.count, x))
        s = state.sum_of_squares + g * g
        step = -_value(lr, state.count, x) * g / (xp.sqrt(s) + _value(eps, state.count, x))
        return step, AdagradState(state.count + 1, s)

    return Transform(init, update, lr, elementwise=True)


# ---------------------------------------------------------------- RMSProp


class RMSPropState(NamedTuple):
    count: int
    mean_square: Any
    mean: Any
    velocity: Any


def rmsprop(lr=1e-2, rho=0.9, eps=1e-8, centered=False, momentum=0.0, weight_decay=0.0):
    """RMSProp (Tieleman and Hinton 2012), torch.optim's form; ``rho`` is the
    decay rate beta_2 (torch's ``alpha``).

        s_t = beta_2 s_{t-1} + (1 - beta_2) g_t^2
        d_t = sqrt(s_t) + eps                        (centered: sqrt(s_t - m_t^2) + eps,
                                                      m_t = beta_2 m_{t-1} + (1 - beta_2) g_t)
        step = -eta g_t / d_t                        (momentum: b_t = beta b_{t-1} + g_t / d_t,
                                                      step = -eta b_t)

    Goodfellow, Bengio and Courville (2016, Algorithm 8.5) put eps inside the
    square root, sqrt(s_t + eps); the two agree when eps is small against s_t.
    """
    _check_lr(lr)
    _check("rho", rho, 0.0, 1.0, high_open=True)
    _check("eps", eps)
    _check("momentum", momentum, 0.0, 1.0, high_open=True)
    _check("weight_decay", weight_decay)

    def init(x):
        zeros = _zeros(x)
        return RMSPropState(0, zeros, zeros, zeros)

    def update(g, state, x):
        xp = _namespace(g, x)
        t = state.count
        r, mu = _value(rho, t, x), _value(momentum, t, x)
        g = _with_l2(g, x, _value(weight_decay, t, x))
        v = r * state.mean_square + (1 - r) * g * g
        m = state.mean + (1 - r) * (g - state.mean) if centered else state.mean
        d = xp.sqrt(v - m * m if centered else v) + _value(eps, t, x)
        b = mu * state.velocity + g / d
        step = -_value(lr, t, x) * b
        return step, RMSPropState(t + 1, v, m, b)

    return Transform(init, update, lr, elementwise=True)


# ---------------------------------------------------------------- Adadelta


class AdadeltaState(NamedTuple):
    count: int
    mean_square_grad: Any
    mean_square_step: Any


def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    """Adadelta (Zeiler 2012), with torch.optim's lr multiplier; ``rho`` is the
    decay rate beta_2.

        s_t = beta_2 s_{t-1} + (1 - beta_2) g_t^2
        delta_t = sqrt(sD_{t-1} + eps) / sqrt(s_t + eps) * g_t
        sD_t = beta_2 sD_{t-1} + (1 - beta_2) delta_t^2
        step = -eta delta_t                          (Zeiler's rule is eta = 1)

    sD_t (s^Delta_t in the book, ``mean_square_step`` here) averages the
    squared steps. The first step is about sqrt(eps / (1 - beta_2)) per
    coordinate, whatever the scale of theta.
    """
    _check_lr(lr)
    _check("rho", rho, 0.0, 1.0, high_open=True)
    _check("eps", eps)
    _check("weight_decay", weight_decay)

    def init(x):
        zeros = _zeros(x)
        return AdadeltaState(0, zeros, zeros)

    def update(g, state, x):
        xp = _namespace(g, x)
        t = state.count
        r, e = _value(rho, t, x), _value(eps, t, x)
        g = _with_l2(g, x, _value(weight_decay, t, x))
        v = r * state.mean_square_grad + (1 - r) * g * g
        delta = xp.sqrt(state.mean_square_step + e) / xp.sqrt(v + e) * g
        u = r * state.mean_square_step + (1 - r) * delta * delta
        return -_value(lr, t, x) * delta, AdadeltaState(t + 1, v, u)

    return Transform(init, update, lr, elementwise=True)


# ---------------------------------------------------------------- Adam family


class AdamState(NamedTuple):
    count: int
    m: Any
    v: Any
    v_max: Any


def _adam_step(g, state, x, lr, b1, b2, eps, amsgrad):
    """One Adam step on gradient g, returned with the new state.

        m_t = beta_1 m_{t-1} + (1 - beta_1) g_t,   s_t = beta_2 s_{t-1} + (1 - beta_2) g_t^2
        step = -eta (m_t / (1 - beta_1^t)) / (sqrt(s_t / (1 - beta_2^t)) + eps)

    With AMSGrad, s_t in the denominator is replaced by max_{i <= t} s_i.
    The state keeps torch.optim's names: ``v`` is s_t, ``v_max`` its running maximum.
    """
    xp = _array_namespace(g)
    t = state.count + 1
    beta1, beta2 = _value(b1, state.count, x), _value(b2, state.count, x)
    m = state.m + (1 - beta1) * (g - state.m)
    v = beta2 * state.v + (1 - beta2) * g * g
    v_max = xp.maximum(state.v_max, v) if amsgrad else state.v_max
    second_moment = v_max if amsgrad else v
    denominator = xp.sqrt(second_moment) / (1 - beta2**t) ** 0.5 + _value(eps, state.count, x)
    step = -(_value(lr, state.count, x) / (1 - beta1**t)) * m / denominator
    return step, AdamState(t, m, v, v_max)


def _check_adam(lr, b1, b2, eps):
    _check_lr(lr)
    _check("b1", b1, 0.0, 1.0, high_open=True)
    _check("b2", b2, 0.0, 1.0, high_open=True)
    _check("eps", eps)


def _adam_init(x):
    zeros = _zeros(x)
    return AdamState(0, zeros, zeros, zeros)


def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False, weight_decay=0.0):
    """Adam (Kingma and Ba 2015); AMSGrad (Reddi, Kale and Kumar 2018) with ``amsgrad=True``.

        m_t = beta_1 m_{t-1} + (1 - beta_1) g_t
        s_t = beta_2 s_{t-1} + (1 - beta_2) g_t^2
        step = -eta m_hat_t / (sqrt(s_hat_t) + eps),
        m_hat_t = m_t / (1 - beta_1^t),  s_hat_t = s_t / (1 - beta_2^t)

    AMSGrad keeps max(s_max_{t-1}, s_t) of the raw second moment and uses it
    in place of s_t, as torch.optim does. (Kingma and Ba, and torch, write
    v_t for s_t.)
    """
    _check_adam(lr, b1, b2, eps)
    _check("weight_decay", weight_decay)

    def update(g, state, x):
        _namespace(g, x)
        g = _with_l2(g, x, _value(weight_decay, state.count, x))
        return _adam_step(g, state, x, lr, b1, b2, eps, amsgrad)

    return Transform(_adam_init, update, lr, elementwise=True)


def adamw(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False):
    """AdamW (Loshchilov and Hutter 2019): Adam with decoupled weight decay.

        x' = (1 - eta omega) x,   then the Adam step from x'
        step = -eta omega x + adam_step

    omega is ``weight_decay``; the decay is multiplied by the learning rate,
    as in torch.optim.AdamW. The same as
    ``decoupled_weight_decay(adam(lr, b1, b2, eps, amsgrad), weight_decay)``.
    """
    _check_adam(lr, b1, b2, eps)
    _check("weight_decay", weight_decay)

    def update(g, state, x):
        _namespace(g, x)
        decay = -_value(lr, state.count, x) * _value(weight_decay, state.count, x) * x
        step, state = _adam_step(g, state, x, lr, b1, b2, eps, amsgrad)
        return decay + step, state

    return Transform(_adam_init, update, lr, elementwise=True)


class NAdamState(NamedTuple):
    count: int
    mu_product: Any
    m: Any
    v: Any


def nadam(lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.0):
    """NAdam (Dozat 2016), as defined by torch.optim.NAdam.

        mu_t = beta_1 (1 - 0.5 * 0.96^(t psi)),  psi = momentum_decay
        m_t = beta_1 m_{t-1} + (1 - beta_1) g_t,  s_t = beta_2 s_{t-1} + (1 - beta_2) g_t^2
        d_t = sqrt(s_t / (1 - beta_2^t)) + eps
        step = -eta (1 - mu_t) / (1 - prod_{i<=t} mu_i) g_t / d_t
               -eta mu_{t+1} / (1 - prod_{i<=t+1} mu_i) m_t / d_t

    mu_t rises from about beta_1 / 2 towards beta_1 (psi = 0 keeps it at
    beta_1 / 2). With psi so large that 0.96^(t psi) is lost in rounding
    (psi = 1e4), every mu_t is beta_1 and the step is Adam's with m_hat_t replaced by the
    Nesterov-style look-ahead (1 - beta_1) g_t / (1 - beta_1^t)
    + beta_1 m_t / (1 - beta_1^(t+1)).
    """
    _check_adam(lr, b1, b2, eps)
    _check("momentum_decay", momentum_decay)
    _check("weight_decay", weight_decay)

    def init(x):
        zeros = _zeros(x)
        return NAdamState(0, 1.0, zeros, zeros)

    def update(g, state, x):
        xp = _namespace(g, x)
        t = state.count + 1
        eta, psi = _value(lr, state.count, x), _value(momentum_decay, state.count, x)
        beta1, beta2 = _value(b1, state.count, x), _value(b2, state.count, x)
        g = _with_l2(g, x, _value(weight_decay, state.count, x))
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = state.mu_product * mu
        m = state.m + (1 - beta1) * (g - state.m)
        v = beta2 * state.v + (1 - beta2) * g * g
        d = xp.sqrt(v / (1 - beta2**t)) + _value(eps, state.count, x)
        step = (-eta * (1 - mu) / (1 - mu_product)) * g / d
        step = step + (-eta * mu_next / (1 - mu_product * mu_next)) * m / d
        return step, NAdamState(t, mu_product, m, v)

    return Transform(init, update, lr, elementwise=True)


class AdamaxState(NamedTuple):
    count: int
    m: Any
    inf_norm: Any


def adamax(lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
    """AdaMax (Kingma and Ba 2015, section 7.1), as torch.optim.Adamax.

        m_t = beta_1 m_{t-1} + (1 - beta_1) g_t
        u_t = max(beta_2 u_{t-1}, |g_t| + eps)          (u_0 = 0)
        step = -eta / (1 - beta_1^t) * m_t / u_t

    u_t (s^infinity_t in the book, ``inf_norm`` here) is the limit
    p -> infinity of Adam's second moment in the L^p norm, (s^(p)_t)^(1/p).
    Kingma and Ba's rule is u_t = max(beta_2 u_{t-1}, |g_t|), without eps;
    torch puts eps inside the maximum, which keeps u_t >= eps, and so does
    optlib.
    """
    _check_adam(lr, b1, b2, eps)
    _check("weight_decay", weight_decay)

    def init(x):
        zeros = _zeros(x)
        return AdamaxState(0, zeros, zeros)

    def update(g, state, x):
        xp = _namespace(g, x)
        t, count = state.count + 1, state.count
        beta1, beta2 = _value(b1, count, x), _value(b2, count, x)
        g = _with_l2(g, x, _value(weight_decay, count, x))
        m = state.m + (1 - beta1) * (g - state.m)
        shrunk = beta2 * state.inf_norm
        u = xp.maximum(shrunk, xp.abs(g) + _value(eps, count, x))
        step = -(_value(lr, count, x) / (1 - beta1**t)) * m / u
        return step, AdamaxState(t, m, u)

    return Transform(init, update, lr, elementwise=True)


# ---------------------------------------------------------------- combinators


class DecoupledState(NamedTuple):
    count: int
    inner: Any


def decoupled_weight_decay(tx, weight_decay):
    """Decoupled weight decay (Loshchilov and Hutter 2019) around any transform.

        step = -eta_t omega x + step of tx

    omega is ``weight_decay`` and eta_t the learning rate of ``tx`` at step t,
    as in torch.optim.AdamW: ``decoupled_weight_decay(adam(...), omega)`` is
    AdamW, ``decoupled_weight_decay(sgd(lr, momentum), omega)`` is SGDW. Unlike
    the L2 penalty (``weight_decay=`` of the other transforms, which adds
    omega x to the gradient), the decay bypasses the momentum buffer and the
    second-moment scaling.
    """
    if not isinstance(tx, Transform):
        raise TypeError(f"tx must be a Transform, got {type(tx).__name__}")
    if tx.lr is None:
        raise ValueError("tx must have a learning rate (tx.lr) to scale the decay by")
    _check("weight_decay", weight_decay)

    def init(x):
        return DecoupledState(0, tx.init(x))

    def update(g, state, x):
        _namespace(g, x)
        eta = _value(tx.lr, state.count, x)
        decay = -eta * _value(weight_decay, state.count, x) * x
        step, inner = tx.update(g, state.inner, x)
        return decay + step, DecoupledState(state.count + 1, inner)

    return Transform(init, update, tx.lr, tx.elementwise)


def chain(*transforms):
    """Apply transforms in sequence: each one's step is the next one's gradient.

    ``chain(clip_by_global_norm(1.0), sgd(0.1))`` clips the gradient, then
    takes an SGD step with it.
    """
    if not transforms or not all(isinstance(tx, Transform) for tx in transforms):
        raise TypeError("chain expects one or more Transform objects")
    lr = next((tx.lr for tx in reversed(transforms) if tx.lr is not None), None)

    def init(x):
        return tuple(tx.init(x) for tx in transforms)

    def update(g, state, x):
        new_state = []
        for tx, s in zip(transforms, state, strict=True):
            g, s = tx.update(g, s, x)
            new_state.append(s)
        return g, tuple(new_state)

    return Transform(init, update, lr, all(tx.elementwise for tx in transforms))


class CountState(NamedTuple):
    count: int


def clip_by_global_norm(max_norm):
    """Rescale g to norm at most c: g <- g * min(1, c / ||g||) (Pascanu et al. 2013).

    The norm is taken over the last axis, so each trajectory of a batch is
    clipped on its own. Use it first in a ``chain``.
    """
    _check("max_norm", max_norm)
    if np.any(np.asarray(max_norm) <= 0):
        raise ValueError(f"max_norm must be positive, got {max_norm!r}")

    def update(g, state, x):
        xp = _namespace(g, x)
        norm = xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True))
        c = _value(max_norm, state.count, x)
        return g * (c / xp.maximum(norm, c)), CountState(state.count + 1)

    return Transform(lambda x: CountState(0), update)


def clip_by_value(max_value):
    """Clip every component of g to [-c, c]."""
    _check("max_value", max_value)

    def update(g, state, x):
        xp = _namespace(g, x)
        c = _value(max_value, state.count, x)
        return xp.clip(g, -c, c), CountState(state.count + 1)

    return Transform(lambda x: CountState(0), update, elementwise=True)
