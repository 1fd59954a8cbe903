"""optlib.unit_tests: the prototype shapes, the ways a case is changed (scale, noise, a moving
optimum, compositions), and the runner's batched verdicts."""

import numpy as np
import pytest

import optlib as ol
from optlib import unit_tests as U

SHAPES = list(U.SHAPES)


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_has_its_derivative_away_from_the_kinks(name):
    shape = U.SHAPES[name]
    theta = np.linspace(-4.0, 4.0, 57) + 0.0137          # no grid point on a kink
    h = 1e-6
    central = (shape.value(theta + h) - shape.value(theta - h)) / (2 * h)
    # central differences of smooth pieces: error h^2 |L'''| / 6 plus rounding 1e-16 / h
    np.testing.assert_allclose(shape.grad(theta), central, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_starts_unsolved_and_stays_above_its_minimum(name):
    shape = U.SHAPES[name]
    assert shape.value(np.float64(shape.start)) > shape.target
    if shape.minimum is not None:
        theta = np.linspace(-20.0, 20.0, 40001)
        assert shape.value(theta).min() >= shape.minimum - 1e-12
        assert shape.minimum < shape.target


def test_a_shape_that_starts_solved_is_refused():
    with pytest.raises(ValueError, match="starts solved"):
        U.Shape("flat", lambda th: 0 * th, lambda th: 0 * th, start=0.0, target=1.0)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="shape must be one of"):
        U.shape("cliffs")
    with pytest.raises(ValueError, match="kind must be one of"):
        U.noisy(U.from_shape("line"), "pink")


@pytest.mark.parametrize("c", [1e-2, 1.0, 1e2])
def test_scaling_multiplies_loss_and_gradient_and_keeps_who_passes(c):
    base, case = U.from_shape("quadratic"), U.scaled(U.from_shape("quadratic"), c)
    theta = np.linspace(-0.03, 0.03, 13)[:, None]
    np.testing.assert_allclose(case.loss(theta, 0), c * base.loss(theta, 0), rtol=1e-15)
    np.testing.assert_allclose(case.grad(theta, 0), c * base.grad(theta, 0), rtol=1e-15)
    assert np.array_equal(case.solved(theta, 0), base.solved(theta, 0))
    assert case.target == pytest.approx(c * base.target)


@pytest.mark.parametrize("kind", ["additive", "multiplicative", "sparse"])
def test_noise_keeps_the_mean_gradient(kind):
    case = U.noisy(U.from_shape("quadratic"), kind)
    draws = case.noise_draws(20000)                     # (20000, seeds, 1)
    theta = np.full((5, 1), 2.0)
    noisy = np.array([case.gradient(theta, t, draws[t]) for t in range(len(draws))])
    spread = noisy.std() / np.sqrt(noisy.size)
    # 5 standard errors of 100,000 draws: a bias of 1 % would fail
    assert abs(noisy.mean() - 2.0) < 5 * spread


def test_outliers_keep_the_median_gradient():
    case = U.noisy(U.from_shape("quadratic"), "outliers")
    draws = case.noise_draws(20001).reshape(-1, 1)
    noisy = case.gradient(np.full(draws.shape, 2.0), 0, draws)
    # the median of n Cauchy draws has standard error pi sigma / (2 sqrt n) = 0.0008
    assert abs(np.median(noisy) - 2.0) < 5 * np.pi * 0.1 / (2 * np.sqrt(noisy.size))
    assert np.abs(noisy - 2.0).max() > 100 * 0.1        # heavy tails: some huge outliers


def test_noise_depends_only_on_the_case_and_seed():
    case = U.noisy(U.from_shape("laplace"), "sparse")
    np.testing.assert_array_equal(case.noise_draws(50), case.noise_draws(50))
    assert not np.array_equal(case.noise_draws(50), case.noise_draws(50, seed=1))
    other = U.noisy(U.from_shape("gaussian"), "sparse")
    assert not np.array_equal(case.noise_draws(50), other.noise_draws(50))


def test_a_moving_case_moves_its_minimizer():
    case = U.moving(U.from_shape("quadratic"), 0.01)
    for t in (0, 100, 250):
        assert case.loss(np.array([0.01 * t]), t) == 0.0
        assert case.grad(np.array([0.01 * t + 1.0]), t)[0] == pytest.approx(1.0)


def test_concatenation_is_continuous_and_ends_in_the_second_shape():
    case = U.concatenate("line", "quadratic", at=3.0, enter=-1.0)
    shape = case.shape
    left, right = shape.value(np.float64(3.0 - 1e-9)), shape.value(np.float64(3.0 + 1e-9))
    assert abs(left - right) < 1e-8
    assert shape.value(np.float64(4.0)) == pytest.approx(shape.minimum)   # bowl at 3 + 1
    assert shape.minimum + U.SHAPES["quadratic"].target == pytest.approx(shape.target)


def test_a_rotated_case_is_the_same_problem_turned():
    valley = U.separable(["quadratic", "quadratic"], [1.0, 100.0])
    turned = U.rotated(valley)
    Q = U.rotation(2)
    theta = np.random.default_rng(0).normal(size=(7, 2))
    np.testing.assert_allclose(turned.loss(theta @ Q, 0), valley.loss(theta, 0), rtol=1e-12)
    np.testing.assert_allclose(turned.start, Q.T @ valley.start, atol=1e-12)
    assert np.array_equal(turned.solved(theta @ Q, 0), valley.solved(theta, 0))
    with pytest.raises(ValueError, match="orthogonal"):
        U.rotated(valley, np.eye(2) * 2)


def test_the_suite_has_every_family():
    cases = U.suite()
    families = {case.family for case in cases}
    assert families == {"shape", "scale", "noise", "moving", "composition"}
    assert len({case.name for case in cases}) == len(cases)       # names seed the noise
    assert sum(case.family == "shape" for case in cases) == len(U.SHAPES)


def test_cases_run_together_as_they_run_alone():
    cases = [U.from_shape("gaussian"), U.noisy(U.from_shape("absolute value"), "outliers"),
             U.scaled(U.from_shape("ridge"), 10.0), U.rotated(U.separable(["quadratic",
                                                                          "laplace"]))]
    make, grid = U.METHODS["Adam"].make, [0.01, 0.1]
    together = U.simulate(make, grid, cases, budget=120)
    for k, case in enumerate(cases):
        alone = U.simulate(make, grid, [case], budget=120)
        np.testing.assert_array_equal(together.final[:, k], alone.final[:, 0])
        np.testing.assert_array_equal(together.hit[:, k], alone.hit[:, 0])
        np.testing.assert_array_equal(together.solved[:, k], alone.solved[:, 0])


def test_the_runner_sees_what_the_case_gives():
    case = U.scaled(U.noisy(U.from_shape("quadratic"), "multiplicative"), 0.1)
    run = U.simulate(lambda lr: ol.sgd(lr), [0.5], [case], budget=20, record=True)
    path = run.path[0][:, 0]                                # (21, seeds, 1)
    draws = case.noise_draws(20)
    x = path[0]
    for t in range(20):
        x = x - 0.5 * case.gradient(x[None], t, draws[t])[0]
        np.testing.assert_array_equal(x, path[t + 1])


def test_a_verdict_averages_the_last_tenth_of_the_budget():
    quadratic = U.from_shape("quadratic")
    run = U.simulate(lambda lr: ol.sgd(lr), [1.0, 1e-3, 2.5], [quadratic], budget=300)
    # lr 1 lands on the minimum in one step; (1 - 1e-3)^300 3 = 2.2 is far from it;
    # lr 2.5 diverges: |1 - 2.5| > 1
    assert run.solved[:, 0].tolist() == [True, False, False]
    assert run.hit[0, 0] == 1 and np.isinf(run.hit[1, 0])
    assert not run.diverged[0, 0]


def test_a_kink_defeats_a_constant_step_on_average():
    # |theta| with a constant step eta ends in a 2-cycle (a, a - eta): mean |theta| = eta/2
    run = U.simulate(lambda lr: ol.sgd(lr), [0.015, 0.03], [U.from_shape("absolute value")])
    assert run.solved[:, 0].tolist() == [True, False]         # targets: 0.0075 and 0.015


def test_the_runner_refuses_what_it_cannot_batch():
    with pytest.raises(ValueError, match="elementwise"):
        U.simulate(lambda lr: ol.chain(ol.clip_by_global_norm(1.0), ol.sgd(lr)), [0.1],
                   [U.from_shape("line")])
    with pytest.raises(ValueError, match="plain shapes"):
        U.run({"SGD": U.METHODS["SGD"]}, [U.scaled(U.from_shape("line"), 10.0)])
    with pytest.raises(ValueError, match="grid"):
        U.Method(lambda lr: ol.sgd(lr), ())


def test_tuning_picks_the_setting_that_passes_most_reference_cases():
    cases = [U.from_shape(name) for name in ("quadratic", "line", "gaussian")]
    cases.append(U.scaled(U.from_shape("quadratic"), 100.0))
    report = U.run({"SGD": U.Method(lambda lr: ol.sgd(lr), (1e-3, 0.1, 1.0))}, cases)
    run = report.runs["SGD"]
    reference = run.solved[:, :3].sum(axis=1)
    best = np.flatnonzero(reference == reference.max())
    assert report.settings["SGD"] in run.grid[best]
    assert report.settings["SGD"] == 1.0          # solves all three, in the fewest steps
    assert not report.passed["SGD"][3]            # lr 1 at curvature 100 diverges
    assert "SGD" in report.summary() and "scale 100" in report.summary()


def test_adamax_joins_the_table_when_optlib_has_it():
    assert ("AdaMax" in U.methods()) == hasattr(ol.optimizers, "adamax")
