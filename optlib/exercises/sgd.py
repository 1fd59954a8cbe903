"""The checks of the chapter "Stochastic and mini-batch gradient descent"."""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import schedules
from ..minimize import minibatches as _optlib_minibatches
from .grading import Case, _Description, _Seed, exercise


def _epoch(learner, n_samples, batch_size, rng):
    """The batches of one call, as integer arrays (at most n_samples + 1 of them are read)."""
    batches = itertools.islice(iter(learner(n_samples, batch_size, rng)), n_samples + 1)
    return [np.asarray(batch) for batch in batches]


def _epoch_problem(batches, n_samples, sizes):
    """Why ``batches`` is not one shuffled epoch of ``n_samples`` in batches of ``sizes``."""
    if [batch.size for batch in batches] != sizes:
        return f"the batch sizes should be {sizes}, not {[batch.size for batch in batches]}"
    if not all(np.issubdtype(batch.dtype, np.integer) for batch in batches):
        return "a batch must hold integer sample indices"
    indices = np.concatenate([batch.ravel() for batch in batches])
    if not np.array_equal(np.sort(indices), np.arange(n_samples)):
        return f"together the batches must hold every index 0, ..., {n_samples - 1} once"
    if n_samples >= 10 and np.array_equal(indices, np.arange(n_samples)):
        return "the indices come in order 0, 1, 2, ...: shuffle them first (rng.permutation)"
    return None


def _epoch_sizes(n_samples, batch_size):
    batches = _optlib_minibatches(n_samples, batch_size)
    return [len(batch) for batch in itertools.islice(batches, math.ceil(n_samples / batch_size))]


def _epoch_case(label, n_samples, batch_size, seed):
    sizes = _epoch_sizes(n_samples, batch_size)
    return Case(
        label, dict(n_samples=n_samples, batch_size=batch_size, rng=_Seed(seed)),
        _Description(f"batches of sizes {sizes} holding each of 0, ..., {n_samples - 1} once, "
                     "shuffled"),
        call=lambda learner, args: _epoch(learner, n_samples, batch_size, args["rng"].rng()),
        judge=lambda expected, batches: _epoch_problem(batches, n_samples, sizes),
    )


def _two_epochs(learner, args, same_generator):
    first = args["rng"].rng()
    second = first if same_generator else args["rng"].rng()
    return (_epoch(learner, args["n_samples"], args["batch_size"], first),
            _epoch(learner, args["n_samples"], args["batch_size"], second))


def _judge_two_epochs(n_samples, sizes, same_generator):
    def judge(expected, epochs):
        for batches in epochs:
            problem = _epoch_problem(batches, n_samples, sizes)
            if problem is not None:
                return problem
        identical = np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))
        if same_generator and identical:
            return ("two epochs drawn from the same rng come in the same order: draw a new "
                    "permutation from rng at every call")
        if not same_generator and not identical:
            return ("two generators with the same seed gave different orders: shuffle with the "
                    "rng you are given, not with np.random's global state")
        return None

    return judge


@exercise(
    "minibatches", "minibatches(n_samples, batch_size, rng) -> batches",
    hint="shuffle the indices once, order = rng.permutation(n_samples), then cut them into "
         "consecutive slices order[i:i + batch_size]; the last batch may be smaller.",
)
def _minibatches_cases(rng):
    yield _epoch_case("10 samples in batches of 3 (the last batch is smaller)", 10, 3, 1)
    yield _epoch_case("12 samples in batches of 4", 12, 4, 2)
    yield _epoch_case("batch_size = n_samples: one batch", 7, 7, 3)
    yield _epoch_case("batch_size = 1", 5, 1, 4)
    for label, seed, same in [
        ("two epochs from one rng come in different orders", 5, True),
        ("the same seed gives the same batches", 6, False),
    ]:
        sizes = _epoch_sizes(20, 5)
        yield Case(
            label, dict(n_samples=20, batch_size=5, rng=_Seed(seed)),
            _Description(f"two epochs of batches of sizes {sizes}, "
                         + ("in different orders" if same else "in the same order")),
            call=lambda learner, args, same=same: _two_epochs(learner, args, same),
            judge=_judge_two_epochs(20, sizes, same),
        )


def _linear_decay(t, lr0, lr_tau, tau):
    return schedules.linear_decay(lr0, lr_tau, tau)(t)


def _interpolate(t, lr0, lr_tau, tau, alpha):
    """(1 - alpha) lr0 + alpha lr_tau, with no clipping of alpha."""
    return (1 - alpha) * lr0 + alpha * lr_tau


@exercise(
    "linear_decay", "linear_decay(t, lr0, lr_tau, tau) -> lr",
    hint="eta_t = (1 - t/tau) eta_0 + (t/tau) eta_tau for t <= tau, and eta_tau after.",
    mistakes=[
        (lambda case: _interpolate(**case.args, alpha=case.args["t"] / case.args["tau"]),
         "after step tau the rate stays at lr_tau: use alpha = min(t / tau, 1)."),
        (lambda case: _interpolate(**case.args, alpha=1 - case.args["t"] / case.args["tau"]),
         "the weights are swapped: at t = 0 the rate is lr0, at t = tau it is lr_tau."),
    ],
)
def _linear_decay_cases(rng):
    for label, t, lr0, lr_tau, tau in [
        ("t = 0: the initial rate", 0, 0.1, 0.001, 100),
        ("a quarter of the way, t = tau / 4", 25, 0.1, 0.001, 100),
        ("t = 3 of tau = 7", 3, 0.5, 0.05, 7),
        ("t = tau: the final rate", 100, 0.1, 0.001, 100),
        ("t = 2 tau: after tau the rate stays at lr_tau", 200, 0.1, 0.001, 100),
    ]:
        yield Case(label, dict(t=t, lr0=lr0, lr_tau=lr_tau, tau=tau),
                   _linear_decay(t, lr0, lr_tau, tau))


