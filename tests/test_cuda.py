"""Every transform on CUDA tensors against the CPU result: eager, through the optimizer, compiled.

Skipped without a CUDA GPU. On a machine with one:

    .venv/bin/python -m pytest tests/test_cuda.py

Each case applies the same 20 gradients (drawn once, independent of x, so
that rounding errors add up instead of growing through the loss) to the same
start, on the GPU in float32 or float64 and on the CPU in float64 from the
same numbers. The results agree up to rounding, never bitwise: the GPU's
kernels, and Triton's fused kernel above all, round in other places
(a fused multiply-add rounds once where two operations round twice).

The tolerance, derived: a step of these rules is at most 16 operations on
each entry (NAdam and centred RMSprop with momentum and weight decay are the
longest), each rounding by at most 2 units u of the last place (Triton's
single-precision division rounds within 2 ulp, the rest within 1), and a
global norm adds log2(1000) = 10 roundings of its pairwise sum. Each rounding
moves the step by at most u times twice the largest step (what is rounded
enters the step in proportion, or in a difference no larger than that), so
one step is off by at most K u max|step|, K = 2 (2 * 16 + 10) = 84. A
rounding in the state (a moment, an accumulator) enters every later step,
at most T = 20 of them; adding each step to x rounds by u |x|. After T steps:
|x_gpu - x_cpu| <= T u (K T max|step| + max|x|), about 2e-3 of the largest
step in float32 and 4e-12 of it in float64, while every run moves x by more
than a hundred times that.
"""

import math

import numpy as np
import pytest

import optlib as ol

torch = pytest.importorskip("torch")
olt = pytest.importorskip("optlib.torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

DEVICE = torch.device("cuda")
STEPS, SIZE = 20, 1000
ROUNDINGS = 2 * (2 * 16 + math.ceil(math.log2(SIZE)))   # K above

CASES = {
    "sgd": lambda: ol.sgd(0.05),
    "sgd_momentum_wd": lambda: ol.sgd(0.05, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda: ol.sgd(0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: ol.adagrad(0.1, initial_accumulator=0.1, weight_decay=0.01),
    "rmsprop": lambda: ol.rmsprop(0.01, rho=0.9),
    "rmsprop_centered": lambda: ol.rmsprop(0.01, rho=0.95, centered=True, momentum=0.5,
                                           weight_decay=0.01),
    "adadelta": lambda: ol.adadelta(1.0, rho=0.9, weight_decay=0.01),
    "adam": lambda: ol.adam(0.01),
    "adam_amsgrad_wd": lambda: ol.adam(0.01, b1=0.8, b2=0.99, amsgrad=True, weight_decay=0.01),
    "adamw": lambda: ol.adamw(0.01, weight_decay=0.1),
    "nadam": lambda: ol.nadam(0.01, weight_decay=0.01),
    "clip_by_value_adam": lambda: ol.chain(ol.clip_by_value(0.5), ol.adam(0.01)),
    "clip_by_global_norm_sgd": lambda: ol.chain(ol.clip_by_global_norm(20.0),
                                                ol.sgd(0.05, momentum=0.9)),
}

UNIT_ROUNDOFF = {torch.float32: 2.0**-24, torch.float64: 2.0**-53}


def problem(dtype):
    """A start and STEPS gradients, exactly representable in ``dtype``, as float64 CPU tensors."""
    rng = np.random.default_rng(0)
    x0 = torch.as_tensor(rng.uniform(-3, 3, SIZE)).to(dtype).to(torch.float64)
    grads = [torch.as_tensor(rng.standard_normal(SIZE)).to(dtype).to(torch.float64)
             for _ in range(STEPS)]
    return x0, grads


def functional(tx, x, grads):
    """x after the gradients, by tx.update; and the largest step taken."""
    state = tx.init(x)
    largest = 0.0
    for g in grads:
        step, state = tx.update(g, state, x)
        x = x + step
        largest = max(largest, step.abs().max().item())
    return x, largest


def through_optimizer(tx, x, grads, compile):
    p = torch.nn.Parameter(x.clone())
    opt = olt.Optimizer([p], tx, compile=compile)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    arrays = [v for v in opt.state[p].values() if torch.is_tensor(v) and v.dim() > 0]
    assert arrays and all(v.device.type == x.device.type for v in arrays)
    return p.detach()


@pytest.mark.parametrize("mode", ["functional", "optimizer", "compiled"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_cuda_follows_the_cpu_up_to_rounding(name, dtype, mode):
    x0, grads = problem(dtype)
    expected, largest_step = functional(CASES[name](), x0, grads)
    x, gpu_grads = x0.to(DEVICE, dtype), [g.to(DEVICE, dtype) for g in grads]
    if mode == "functional":
        got = functional(CASES[name](), x, gpu_grads)[0]
    else:
        got = through_optimizer(CASES[name](), x, gpu_grads, compile=mode == "compiled")
    assert got.device.type == DEVICE.type and got.dtype == dtype
    u = UNIT_ROUNDOFF[dtype]
    tolerance = STEPS * u * (ROUNDINGS * STEPS * largest_step + expected.abs().max().item())
    error = (got.cpu().to(torch.float64) - expected).abs().max().item()
    assert error <= tolerance, f"{error:.2e} > {tolerance:.2e}"
    assert (expected - x0).abs().max().item() > 100 * tolerance, "the run must move"
