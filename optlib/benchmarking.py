"""Benchmarking optimizers fairly: the same tuning budget for every method, several seeds,
steps to a target, medians with bootstrap intervals, and performance profiles.

    costs = steps_to_target(curves, target)             # inf where a run never gets there
    median, low, high = bootstrap_ci(costs_of_one_method)
    fractions = performance_profile(costs, ratios)      # Dolan and More (2002)

``digits_benchmark`` runs the chapter's small benchmark: every method at every
learning rate of its grid, from several seeds, training the digits network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["steps_to_target", "bootstrap_ci", "performance_ratios", "performance_profile",
           "Benchmark", "digits_benchmark", "best_setting"]


def steps_to_target(curves, target, every=1):
    """The first index at which each curve is at or below ``target``, times ``every`` (the
    steps between two points of a curve); inf where it never is. ``curves`` has the
    points on its last axis."""
    curves = np.asarray(curves, dtype=float)
    reached = curves <= target
    first = np.argmax(reached, axis=-1).astype(float)
    return np.where(reached.any(axis=-1), first * every, np.inf)


def bootstrap_ci(samples, statistic=np.median, level=0.95, resamples=2000, seed=0):
    """(statistic, low, high): the statistic of ``samples`` (along axis 0) and its percentile
    bootstrap interval (Efron 1979): the statistic of ``resamples`` draws of as many samples
    with replacement, cut at (1 - level)/2 and (1 + level)/2."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim == 0 or samples.shape[0] < 2:
        raise ValueError("samples must hold at least two values along axis 0")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, samples.shape[0], (resamples, samples.shape[0]))
    values = statistic(samples[draws], axis=1)
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return statistic(samples, axis=0), low, high


def performance_ratios(costs):
    """R[p, o] = C[p, o] / min_o' C[p, o']: each method's cost on each problem over the best
    method's (Dolan and More 2002). A failure (cost inf) has ratio inf, and so has every
    method on a problem no method solved."""
    costs = np.asarray(costs, dtype=float)
    if costs.ndim != 2:
        raise ValueError(f"costs must be (problems, methods), got shape {costs.shape}")
    if np.any(costs < 0) or np.any(np.isnan(costs)):
        raise ValueError("costs must be >= 0 (inf for a failure), without NaN")
    best = costs.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(np.isfinite(costs), costs / best, np.inf)
    return np.where(best == 0, np.where(costs == 0, 1.0, np.inf), ratios)


def performance_profile(costs, taus):
    """Pi_o(tau): the fraction of problems on which method o is within a factor tau of the
    best, for every tau in ``taus``: shape (len(taus), methods)."""
    ratios = performance_ratios(costs)
    taus = np.asarray(taus, dtype=float)
    return (ratios[None, :, :] <= taus[:, None, None]).mean(axis=1)


@dataclass
class Benchmark:
    """The curves of a benchmark: ``loss[name]`` has shape (grid, seeds, epochs + 1), the
    training loss after each epoch of every run; ``grid[name]`` the learning rates;
    ``steps_per_epoch`` converts epochs to steps."""

    loss: dict
    grid: dict
    seeds: tuple
    steps_per_epoch: int

    def steps(self, target):
        """{name: steps to reach ``target``, shape (grid, seeds)} (inf if never)."""
        return {name: steps_to_target(curves, target, self.steps_per_epoch)
                for name, curves in self.loss.items()}


def best_setting(costs):
    """The index of the grid value with the smallest median cost over seeds (costs of shape
    (grid, seeds)); ties go to the smaller mean, then the first."""
    costs = np.asarray(costs, dtype=float)
    median = np.median(costs, axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.where(np.isfinite(costs).all(axis=1), costs.mean(axis=1), np.inf)
    order = np.lexsort((np.arange(len(median)), mean, median))
    return int(order[0])


def digits_benchmark(methods, seeds=(0, 1, 2), epochs=8, batch_size=64, hidden=32,
                     progress=False):
    """Train the digits network (64 inputs, ``hidden`` ReLU units, 10 classes) with every
    method at every learning rate of its grid from every seed: a Benchmark.

    ``methods`` maps a name to (make(lr) -> Transform, grid). A seed fixes the initial
    weights and the order of the mini-batches, the same for every method.
    """
    from . import data, nn

    X, y = data.digits()
    loss, grid = {}, {}
    for name, (make, lrs) in methods.items():
        grid[name] = np.asarray(lrs, dtype=float)
        runs = np.full((len(lrs), len(seeds), epochs + 1), np.inf)
        for i, lr in enumerate(grid[name]):
            for j, seed in enumerate(seeds):
                model = nn.MLP([X.shape[1], hidden, 10], seed=seed)
                history = nn.train(model, X, y, make(lr), epochs=epochs,
                                   batch_size=batch_size, seed=seed, progress=progress)
                runs[i, j, :history.train_loss.size] = history.train_loss
        loss[name] = runs
    steps_per_epoch = -(-X.shape[0] // batch_size)
    return Benchmark(loss, grid, tuple(seeds), steps_per_epoch)
