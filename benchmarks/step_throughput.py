"""How fast one optimizer step runs, against torch.optim and against the memory-bandwidth floor.

    python benchmarks/step_throughput.py                   # 20M float32 parameters, CPU
    python benchmarks/step_throughput.py --device cuda     # 100M+ parameters on a GPU
    python benchmarks/step_throughput.py --threads 1       # every row on one core

A step reads and writes every parameter, gradient and state entry, and does
little arithmetic per entry, so its floor is the bytes it must move divided by
the memory bandwidth (measured here, in the same run, by copying a large
buffer): 28 bytes per float32 parameter for Adam (read x, g, m, v; write x, m,
v) and 20 for SGD with momentum (read x, g, b; write x, b).

Rows: torch.optim's for-loop, foreach and fused implementations on a stack of
square layers; optlib.torch.Optimizer with the rule run eagerly on the flat
buffer and compiled (torch.compile); optlib.inplace.Optimizer on a flat NumPy
array, block by block (one thread), on the whole array at once, and with
``compile=True``, where torch's compiled kernel steps the array in place
through ``torch.from_numpy`` (no copy). Every row is the median over rounds
that interleave the rows, so a slow moment of the machine hits all of them
alike; ratios are to torch's fused step. On a GPU (``--device cuda``) the
table has the torch.optim and optlib.torch rows.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import warnings

import numpy as np
import torch

import optlib as ol
import optlib.torch as olt
from optlib.inplace import BLOCK_SIZE
from optlib.inplace import Optimizer as InPlaceOptimizer

BYTES_PER_PARAM = {"adam": 7 * 4, "sgd_momentum": 5 * 4}


def optlib_transform(name):
    return ol.adam(1e-3) if name == "adam" else ol.sgd(1e-3, momentum=0.9)


def torch_optimizer(name, params, **implementation):
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, **implementation)
    return torch.optim.SGD(params, lr=1e-3, momentum=0.9, **implementation)


def layer_count(n_params, width):
    """How many square layers (a width x width weight and a bias) hold about n_params."""
    return max(1, round(n_params / (width * width + width)))


def layer_params(n_params, width, device, seed=0):
    """Square layers holding about n_params, each parameter with a gradient."""
    generator = torch.Generator(device=device).manual_seed(seed)
    params = []
    for _ in range(layer_count(n_params, width)):
        for shape in ((width, width), (width,)):
            p = torch.nn.Parameter(torch.randn(shape, device=device, generator=generator))
            p.grad = torch.randn(shape, device=device, generator=generator)
            params.append(p)
    return params


def candidates(name, n_params, width, device):
    """``{row label: step function}`` for one optimizer."""
    rows = {}
    for label, implementation in [("torch.optim for-loop", dict(foreach=False)),
                                  ("torch.optim foreach", dict(foreach=True)),
                                  ("torch.optim fused", dict(fused=True))]:
        rows[label] = torch_optimizer(name, layer_params(n_params, width, device),
                                      **implementation).step
    for label, compile in [("optlib.torch eager (flat)", False),
                           ("optlib.torch compiled (flat)", True)]:
        opt = olt.Optimizer(layer_params(n_params, width, device), optlib_transform(name),
                            compile=compile)
        opt.step()   # the compiled row compiles here, outside the timing
        rows[label] = opt.step
    if device.type == "cpu":
        total = layer_count(n_params, width) * (width * width + width)
        rng = np.random.default_rng(0)
        for label, options in [(f"optlib NumPy, blocks of {BLOCK_SIZE}",
                                 dict(block_size=BLOCK_SIZE)),
                                ("optlib NumPy, whole array", dict(block_size=None)),
                                ("optlib NumPy, compiled kernel", dict(compile=True))]:
            x = rng.standard_normal(total, dtype=np.float32)
            g = rng.standard_normal(total, dtype=np.float32)
            opt = InPlaceOptimizer(x, optlib_transform(name), **options)
            opt.step(g)   # the compiled row compiles here, outside the timing
            rows[label] = numpy_step(opt, g)
    return rows


def numpy_step(optimizer, g):
    return lambda: optimizer.step(g)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def per_step_seconds(step, steps, device):
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def bandwidth(n_params, device, rounds=5):
    """Bytes per second of ``a += b`` on large arrays, the best of torch and NumPy.

    a += b reads a and b and writes a back in place, as an optimizer step
    does with its parameters and state (a copy to a fresh array would also
    read each destination line before writing it, and undercount).
    """
    a = torch.randn(n_params, device=device)
    b = torch.randn(n_params, device=device)
    best = min(per_step_seconds(lambda: a.add_(b), 3, device) for _ in range(rounds))
    rates = [3 * a.numel() * 4 / best]
    if device.type == "cpu":
        a_np, b_np = a.numpy(), b.numpy()
        best = min(per_step_seconds(lambda: np.add(a_np, b_np, out=a_np), 3, device)
                   for _ in range(rounds))
        rates.append(3 * a_np.size * 4 / best)
    return max(rates)


def measure(name, n_params, width, device, rounds, steps):
    rows = candidates(name, n_params, width, device)
    times = {label: [] for label in rows}
    for _ in range(rounds):
        for label, step in rows.items():
            times[label].append(per_step_seconds(step, steps, device))
    del rows
    gc.collect()
    return {label: float(np.median(t)) for label, t in times.items()}


def table(name, times, n_params, rate):
    floor = BYTES_PER_PARAM[name] * n_params / rate
    fused = times["torch.optim fused"]
    lines = [f"\n{name}: {n_params / 1e6:.1f}M float32 parameters, "
             f"{BYTES_PER_PARAM[name]} bytes per parameter per step",
             f"{'':34s}{'ms/step':>10s}{'x fused':>10s}{'GB/s':>8s}",
             f"{'floor (bytes / bandwidth)':34s}{floor * 1e3:10.1f}{floor / fused:10.2f}"
             f"{rate / 1e9:8.1f}"]
    for label, seconds in times.items():
        lines.append(f"{label:34s}{seconds * 1e3:10.1f}{seconds / fused:10.2f}"
                     f"{BYTES_PER_PARAM[name] * n_params / seconds / 1e9:8.1f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--params", type=float, default=None,
                        help="parameters (default 20M on CPU, 100M on CUDA)")
    parser.add_argument("--width", type=int, default=None, help="layer width (1000 / 2000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps timed per round and row")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's threads (default: torch's choice); on a machine busy "
                             "with other work, 1 keeps every row on one core, like NumPy's")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n_params = int(args.params or (20e6 if device.type == "cpu" else 100e6))
    width = args.width or (1000 if device.type == "cpu" else 2000)
    n_params = layer_count(n_params, width) * (width * width + width)
    warnings.filterwarnings("ignore", module="torch")
    rate = bandwidth(n_params, device)
    print(f"device {device}, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"NumPy {np.__version__} (one thread); bandwidth {rate / 1e9:.1f} GB/s")
    for name in BYTES_PER_PARAM:
        print(table(name, measure(name, n_params, width, device, args.rounds, args.steps),
                    n_params, rate), flush=True)
    # torch's multithreaded operations slow down by orders of magnitude when another
    # process holds a core: read the table only when the load stayed below the cores.
    print(f"\nload average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
