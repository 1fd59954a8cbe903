"""optlib.benchmarking: steps to a target, bootstrap intervals, performance ratios and
profiles (Dolan and More 2002), and the small digits benchmark."""

import numpy as np
import pytest

import optlib as ol
from optlib import benchmarking as B


def test_steps_to_target_is_the_first_crossing_times_the_spacing():
    curves = np.array([[3.0, 2.0, 1.0, 0.5], [3.0, 2.5, 2.2, 2.1]])
    np.testing.assert_array_equal(B.steps_to_target(curves, 1.0, every=10), [20.0, np.inf])
    assert B.steps_to_target([0.5, 3.0], 1.0) == 0.0


def test_the_bootstrap_interval_holds_the_median_and_covers_at_its_level():
    rng = np.random.default_rng(0)
    median, low, high = B.bootstrap_ci(rng.normal(size=25))
    assert low <= median <= high
    # coverage of the true median 0 over 200 samples of 41: about 95 %; the binomial
    # standard error at 200 trials is 1.5 %, so 88 % is more than four below
    covered = 0
    for seed in range(200):
        _, low, high = B.bootstrap_ci(np.random.default_rng(seed).normal(size=41),
                                      resamples=400, seed=seed)
        covered += low <= 0 <= high
    assert covered / 200 > 0.88
    with pytest.raises(ValueError, match="samples"):
        B.bootstrap_ci([1.0])
    with pytest.raises(ValueError, match="level"):
        B.bootstrap_ci([1.0, 2.0], level=1.5)


def test_ratios_and_profiles_follow_dolan_and_more():
    costs = np.array([[10, 20], [30, 15], [8, 8], [np.inf, 4], [np.inf, np.inf]])
    R = B.performance_ratios(costs)
    np.testing.assert_array_equal(R, [[1, 2], [2, 1], [1, 1], [np.inf, 1],
                                      [np.inf, np.inf]])
    profile = B.performance_profile(costs, [1.0, 2.0, 1e9])
    np.testing.assert_allclose(profile, [[2 / 5, 3 / 5], [3 / 5, 4 / 5], [3 / 5, 4 / 5]])
    with pytest.raises(ValueError, match="costs"):
        B.performance_ratios([1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        B.performance_ratios([[np.nan, 1.0]])


def test_best_setting_takes_the_smallest_median_then_the_smallest_mean():
    costs = np.array([[5, 5, 100], [5, 5, 6], [np.inf, 1, 1]])
    assert B.best_setting(costs) == 2               # median 1
    assert B.best_setting(costs[:2]) == 1           # equal medians, smaller mean


def test_the_digits_benchmark_records_every_setting_and_seed():
    methods = {"SGD": (lambda lr: ol.sgd(lr), [0.01, 0.3]),
               "Adam": (lambda lr: ol.adam(lr), [1e-3])}
    bench = B.digits_benchmark(methods, seeds=(0, 1), epochs=2)
    assert bench.loss["SGD"].shape == (2, 2, 3) and bench.loss["Adam"].shape == (1, 2, 3)
    assert bench.steps_per_epoch == 29                       # ceil(1797 / 64)
    np.testing.assert_allclose(bench.loss["SGD"][0, :, 0], bench.loss["Adam"][0, :, 0])
    assert np.all(bench.loss["SGD"][1, :, -1] < bench.loss["SGD"][1, :, 0])
    steps = bench.steps(bench.loss["SGD"][1, 0, 1])
    assert steps["SGD"][1, 0] == 29
