"""A (learning rate x momentum) grid as one batched ``minimize``, against one run at a time.

    python benchmarks/sweep.py

100 x 100 pairs (lr, momentum) of SGD with heavy-ball momentum, 1,000 steps
each, on a 2-D quadratic with condition number 10. The batched run passes
x0 of shape (10000, 2) and hyperparameters of shape (10000, 1): every step
is a handful of NumPy operations on all 10,000 trajectories. The loop runs
``minimize`` once per pair; timing all 10,000 would take minutes, so a
seeded random sample of pairs is timed and the total extrapolated (the
table says so). The sampled runs must agree with the batched one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import optlib as ol
from optlib import functions as F


def grid(size):
    """Every (lr, momentum) pair of a size x size grid, as two (size^2, 1) columns."""
    lrs, momenta = np.meshgrid(np.geomspace(1e-3, 0.5, size), np.linspace(0.0, 0.99, size))
    return lrs.reshape(-1, 1), momenta.reshape(-1, 1)


def best_of(repeats, run):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="grid points per axis")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=40, help="single runs to time")
    args = parser.parse_args()
    f = F.ill_conditioned(10.0, angle=0.4)
    lr, momentum = grid(args.size)
    x0 = np.tile([1.0, 1.0], (lr.size, 1))

    def batched():
        return ol.minimize(f, x0, ol.sgd(lr, momentum=momentum), steps=args.steps)

    batched_seconds, result = best_of(3, batched)
    sample = np.random.default_rng(0).choice(lr.size, args.sample, replace=False)

    def single_runs():
        return [ol.minimize(f, x0[i], ol.sgd(lr[i, 0], momentum=momentum[i, 0]),
                            steps=args.steps) for i in sample]

    sample_seconds, singles = best_of(1, single_runs)
    for i, one in zip(sample, singles, strict=True):
        assert one.status == result.status[i] and one.nit == result.nit[i], i
        np.testing.assert_allclose(one.x, result.x[i], rtol=1e-12, atol=1e-300)
    loop_seconds = sample_seconds / args.sample * lr.size
    statuses = {s: int(np.sum(result.status == s)) for s in ("converged", "max_steps", "diverged")}
    print(f"{lr.size} runs of SGD with momentum, up to {args.steps} steps, on {f.name}: "
          f"{statuses}")
    print(f"{'':44s}{'seconds':>10s}{'speed-up':>10s}")
    print(f"{'Python loop of single runs (extrapolated)':44s}{loop_seconds:10.1f}{1.0:10.0f}")
    print(f"{f'  timed: {args.sample} sampled runs':44s}{sample_seconds:10.2f}")
    print(f"{'one batched minimize (best of 3)':44s}{batched_seconds:10.3f}"
          f"{loop_seconds / batched_seconds:10.0f}")


if __name__ == "__main__":
    main()
