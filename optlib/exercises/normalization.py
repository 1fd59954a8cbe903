"""The checks of the chapter "Batch normalization and its relatives"."""

from __future__ import annotations

import numpy as np

from ..nn.layers import BatchNorm
from ..nn.normalization import predicted_norms_sq
from .grading import Case, exercise

# ---------------------------------------------------------------- BatchNorm, forward and backward


def _batchnorm(x, psi, chi, dy, eps):
    """optlib's BatchNorm in training mode: (y, dx, dpsi, dchi)."""
    layer = BatchNorm(x.shape[1], eps=eps)
    layer.params["gamma"][...] = psi
    layer.params["beta"][...] = chi
    y = layer.forward(x)
    dx = layer.backward(dy)
    return y, dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy()


def _torch_batchnorm(x, psi, chi, dy, eps):
    """torch.nn.BatchNorm1d in float64, training mode: (y, dx, dpsi, dchi)."""
    import torch

    module = torch.nn.BatchNorm1d(x.shape[1], eps=eps).double()
    module.weight.data = torch.tensor(psi)
    module.bias.data = torch.tensor(chi)
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    ty.backward(torch.tensor(dy))
    return (ty.detach().numpy(), tx.grad.numpy(), module.weight.grad.numpy(),
            module.bias.grad.numpy())


def _unbiased_variance(case):
    x, psi, chi, dy, eps = case.args.values()
    mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    g = dy * psi
    dx = inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
    return psi * x_hat + chi, dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def _no_statistics_in_backward(case):
    x, psi, chi, dy, eps = case.args.values()
    y, _, dpsi, dchi = case.expected
    return y, dy * psi / np.sqrt(x.var(axis=0) + eps), dpsi, dchi


def _mean_term_only(case):
    x, psi, chi, dy, eps = case.args.values()
    y, _, dpsi, dchi = case.expected
    g = dy * psi
    return y, (g - g.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps), dpsi, dchi


@exercise(
    "batchnorm_forward_backward",
    "batchnorm_forward_backward(x, psi, chi, dy, eps) -> (y, dx, dpsi, dchi)",
    hint="forward: mu and the biased variance (divide by B) of each column, x_hat = "
         "(x - mu) / sqrt(var + eps), y = psi x_hat + chi; backward: dchi = sum of dy over the "
         "batch, dpsi = sum of dy x_hat, and with g = psi dy, dx = (g - mean(g) - x_hat "
         "mean(g x_hat)) / sqrt(var + eps), the means over the batch.",
    mistakes=[
        (_unbiased_variance,
         "you normalized with the unbiased variance (divide by B - 1). BatchNorm normalizes "
         "with the biased one, dividing by B; torch keeps the unbiased one only for its "
         "running average."),
        (_no_statistics_in_backward,
         "that dx treats the batch mean and variance as constants (evaluation mode). In "
         "training they depend on every x_i: subtract mean(g) and x_hat mean(g x_hat)."),
        (_mean_term_only,
         "the mean's term is there, but the variance depends on x too: subtract x_hat "
         "mean(g x_hat) as well."),
    ],
    rtol=1e-7, atol=1e-10,
)
def _batchnorm_cases(rng):
    def case(label, x, psi, chi, dy, eps=1e-5, reference=_batchnorm):
        args = dict(x=x, psi=psi, chi=chi, dy=dy, eps=eps)
        return Case(label, args, reference(**args))

    yield case("a batch of B = 5 samples, 3 units", rng.normal(1, 2, (5, 3)),
               rng.normal(1, 0.5, 3), rng.normal(0, 0.5, 3), rng.normal(size=(5, 3)))
    yield case("against torch.nn.BatchNorm1d in float64 (B = 8, 4 units)",
               rng.normal(-1, 3, (8, 4)), rng.normal(1, 0.5, 4), rng.normal(0, 0.5, 4),
               rng.normal(size=(8, 4)), reference=_torch_batchnorm)
    yield case("B = 2: each unit normalizes to about -1 and +1", rng.normal(size=(2, 3)),
               np.ones(3), np.zeros(3), rng.normal(size=(2, 3)))
    constant = rng.normal(size=(6, 2))
    constant[:, 1] = 0.7
    yield case("a constant unit: variance 0, eps keeps x_hat at 0", constant,
               np.array([1.5, 2.0]), np.array([0.1, -0.3]), rng.normal(size=(6, 2)))
    yield case("eps = 1, as large as the variance", rng.normal(size=(5, 2)),
               np.array([0.5, 2.0]), np.zeros(2), rng.normal(size=(5, 2)), eps=1.0)
    yield case("dy the same for every sample: dx = 0", rng.normal(size=(4, 3)),
               rng.normal(1, 0.5, 3), np.zeros(3), np.tile(rng.normal(size=3), (4, 1)))


# ---------------------------------------------------------------- the effective learning rate


def _effective_lr(lr, weight_decay, norm0_sq, unit_grads_sq):
    return lr / predicted_norms_sq(lr, weight_decay, norm0_sq, unit_grads_sq)


def _gradients_not_scaled(case):
    lr, weight_decay, norm0_sq, unit_grads_sq = case.args.values()
    norms_sq = [norm0_sq]
    for g_sq in unit_grads_sq:
        norms_sq.append((1 - lr * weight_decay) ** 2 * norms_sq[-1] + lr**2 * g_sq)
    return lr / np.array(norms_sq)


def _decay_not_squared(case):
    lr, weight_decay, norm0_sq, unit_grads_sq = case.args.values()
    norms_sq = [norm0_sq]
    for g_sq in unit_grads_sq:
        norms_sq.append((1 - lr * weight_decay) * norms_sq[-1] + lr**2 * g_sq / norms_sq[-1])
    return lr / np.array(norms_sq)


def _norms_not_rates(case):
    lr, weight_decay, norm0_sq, unit_grads_sq = case.args.values()
    return predicted_norms_sq(lr, weight_decay, norm0_sq, unit_grads_sq)


@exercise(
    "effective_lr", "effective_lr(lr, weight_decay, norm0_sq, unit_grads_sq) -> rates",
    hint="follow n_t = ||w_t||^2 from n_0 = norm0_sq: n_{t+1} = (1 - lr weight_decay)^2 n_t + "
         "lr^2 unit_grads_sq[t] / n_t, and return lr / n_t for t = 0, ..., T (T + 1 numbers).",
    mistakes=[
        (_gradients_not_scaled,
         "unit_grads_sq are the squared gradients at unit norm; the gradient at w_t is "
         "g~_t / ||w_t||, so the growth lr^2 ||g_t||^2 is lr^2 unit_grads_sq[t] / n_t."),
        (_decay_not_squared,
         "weight decay multiplies w by (1 - lr weight_decay), so it multiplies ||w||^2 by "
         "the square of that."),
        (_norms_not_rates, "those are the squared norms ||w_t||^2; the effective learning rate "
                           "is lr / ||w_t||^2."),
    ],
    rtol=1e-10, atol=0.0,
)
def _effective_lr_cases(rng):
    def case(label, lr, weight_decay, norm0_sq, unit_grads_sq):
        args = dict(lr=lr, weight_decay=weight_decay, norm0_sq=norm0_sq,
                    unit_grads_sq=np.asarray(unit_grads_sq, dtype=float))
        return Case(label, args, _effective_lr(**args))

    yield case("no weight decay, a constant gradient: the rate only falls", 0.5, 0.0, 1.0,
               np.full(20, 2.0))
    yield case("weight decay 0.01 over 200 steps: toward the equilibrium", 0.1, 0.01, 4.0,
               np.full(200, 0.5))
    yield case("a small start, ||w_0||^2 = 0.01: one large first step", 1.0, 0.0, 0.01,
               rng.uniform(0.5, 1.5, 10))
    yield case("T = 0: only the start", 0.3, 0.1, 2.0, np.zeros(0))
    yield case("a zero gradient: weight decay alone shrinks w", 0.2, 0.05, 1.0, np.zeros(8))
