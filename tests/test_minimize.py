"""The driver: convergence, batching, divergence, mini-batches, and clear errors."""

import numpy as np
import pytest

import optlib as ol
from optlib import functions as F
from optlib.minimize import minibatches


def test_gd_converges_on_a_quadratic_with_the_theoretical_rate():
    f = F.ill_conditioned(10.0)
    eta = 1 / 10.0
    res = ol.minimize(f, [1.0, 1.0], "gd", lr=eta, steps=2000, tol=1e-10)
    assert res.status == "converged"
    # the slow direction (lambda_min = 1) decays as (1 - eta)^t
    ratios = res.history.x[1:50, 0] / res.history.x[:49, 0]
    np.testing.assert_allclose(ratios, 1 - eta, rtol=1e-12)
    assert res.history.x.shape == (res.nit + 1, 2)
    assert res.history.lr.shape == (res.nit,)


def test_batched_grid_equals_one_run_at_a_time():
    """A batch of runs is the runs one at a time: the same statuses and step counts, and
    the same iterates up to rounding.

    The batch takes its gradients A x with one matrix product (BLAS gemm), a single run with
    a matrix-vector product (gemv), and a BLAS kernel may round the two differently (with or
    without FMA, in another order). Each step rounds four operations per coordinate (the
    two-term product A x, the momentum update, the scaling by lr, the step); each run rounds
    each within u = eps/2 of the exact result, so the runs part by at most eps per operation.
    For these step sizes the iteration is stable (lr lambda_max < 2, mu < 1): errors made
    along the way add up rather than grow, and after t steps the iterates differ by at most
    4 eps (t + 1) ||x_t||. Measured: up to 1.7 u (t + 1) ||x_t|| under OpenBLAS's Haswell
    kernels, 0 under SkylakeX and Prescott. A wrong batch (another run's step size, a
    mixed-up momentum buffer) is off by far more, from the first steps on.
    """
    f = F.ill_conditioned(20.0, angle=0.3)
    lrs, momenta = np.meshgrid([0.01, 0.04, 0.08], [0.0, 0.5, 0.9])
    lr, mu = lrs.reshape(-1, 1), momenta.reshape(-1, 1)
    x0 = np.tile([1.0, -0.5], (lr.size, 1))
    tol = 1e-8
    grid = ol.minimize(f, x0, ol.sgd(lr, momentum=mu), steps=150, tol=tol)
    for i in range(lr.size):
        one = ol.minimize(f, x0[i], ol.sgd(lr[i, 0], momentum=mu[i, 0]), steps=150, tol=tol)
        assert one.status == grid.status[i] and one.nit == grid.nit[i]
        t = np.arange(one.nit + 1)
        gap = np.linalg.norm(grid.history.x[: one.nit + 1, i] - one.history.x, axis=1)
        bound = 4 * np.finfo(float).eps * (t + 1) * np.linalg.norm(one.history.x, axis=1)
        assert np.all(gap <= bound), (i, np.max(gap / bound))
        if one.status == "converged":
            # The step counts can be equal under every kernel only if the gradient norm
            # crosses tol with room to spare: rounding moves it by ~1e-14 relative.
            before, after = one.history.grad_norm[-2:]
            assert after < (1 - 1e-6) * tol < (1 + 1e-6) * tol < before
    assert len(set(grid.status)) > 1 or len(set(grid.nit)) > 1, "the grid must differ across runs"


def test_a_diverging_run_stops_with_a_finite_history():
    f = F.ill_conditioned(10.0)
    res = ol.minimize(f, [1.0, 1.0], "gd", lr=0.5, steps=10_000)
    assert res.status == "diverged"
    assert np.all(np.isfinite(res.history.x)) and np.all(np.isfinite(res.history.f))
    assert res.nit < 10_000 and np.isfinite(res.fun)


def test_nan_gradients_give_diverged_not_a_nan_history():
    f = F.rosenbrock()
    nan_after = F.Objective(
        "nan_far_out", 2, f.value,
        lambda x: np.where(np.abs(x) > 1.5, np.nan, f.grad(x)), f.hess,
    )
    res = ol.minimize(nan_after, [1.4, 1.4], ol.sgd(0.01), steps=500)
    assert res.status == "diverged"
    assert np.all(np.isfinite(res.history.grad_norm))


def test_each_trajectory_of_a_batch_has_its_own_status():
    f = F.ill_conditioned(10.0)
    res = ol.minimize(f, np.ones((3, 2)), ol.sgd(np.array([[0.01], [0.1], [0.5]])), steps=300,
                      tol=1e-6)
    assert list(res.status) == ["max_steps", "converged", "diverged"]


def test_minibatch_sgd_reaches_a_noise_floor_near_the_minimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    f = F.LeastSquares(X, X @ [1.0, -1.0] + 0.5 * rng.normal(size=500))
    res = ol.minimize(f, [0.0, 0.0], ol.sgd(0.05), steps=2000, batch_size=10, seed=3)
    assert res.status == "max_steps"
    assert res.fun - f.f_star < 0.01 * (f.value([0.0, 0.0]) - f.f_star)
    again = ol.minimize(f, [0.0, 0.0], ol.sgd(0.05), steps=2000, batch_size=10, seed=3)
    np.testing.assert_array_equal(res.history.x, again.history.x)
    other_seed = ol.minimize(f, [0.0, 0.0], ol.sgd(0.05), steps=2000, batch_size=10, seed=4)
    assert not np.array_equal(res.history.x, other_seed.history.x)


def test_minibatches_cover_every_sample_once_per_epoch():
    batches = minibatches(10, 3, seed=0)
    epoch = np.concatenate([next(batches) for _ in range(4)])
    assert sorted(epoch) == list(range(10))


def test_drop_last_skips_the_short_batch_of_every_epoch():
    kept, dropped = minibatches(10, 4, seed=0), minibatches(10, 4, seed=0, drop_last=True)
    for _ in range(3):
        epoch = [next(kept) for _ in range(3)]
        assert [len(batch) for batch in epoch] == [4, 4, 2]
        full = [next(dropped) for _ in range(2)]
        for mine, theirs in zip(full, epoch[:2], strict=True):
            np.testing.assert_array_equal(mine, theirs)  # the same shuffle, the short batch gone


def test_minimize_with_drop_last_steps_on_full_batches_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2))
    f = F.LeastSquares(X, X @ [1.0, -1.0])
    seen = []
    grad = f.grad
    f.grad = lambda x, batch=None: seen.append(len(batch)) or grad(x, batch=batch)
    res = ol.minimize(f, [0.0, 0.0], ol.sgd(0.1), steps=6, batch_size=4, drop_last=True)
    assert res.nit == 6 and seen == [4] * 7  # the gradient at x0 and after each step
    x, batches = np.zeros(2), minibatches(10, 4, seed=0, drop_last=True)
    for _ in range(6):
        x = x - 0.1 * grad(x, batch=next(batches))
    np.testing.assert_allclose(res.x, x, rtol=1e-12)
    with pytest.raises(ValueError, match="drop_last needs batch_size"):
        ol.minimize(f, [0.0, 0.0], ol.sgd(0.1), steps=2, drop_last=True)


def test_schedule_values_are_recorded_in_the_history():
    f = F.ill_conditioned(4.0)
    res = ol.minimize(f, [1.0, 1.0], ol.sgd(ol.schedules.linear_decay(0.1, 0.001, 50)), steps=80,
                      tol=0)
    assert res.history.lr[0] == pytest.approx(0.1)
    assert res.history.lr[25] == pytest.approx(0.0505)
    assert np.all(res.history.lr[50:] == pytest.approx(0.001))


def test_callback_sees_every_step():
    seen = []
    ol.minimize(F.rosenbrock(), [0.0, 0.0], ol.adam(0.01), steps=7, callback=lambda t, x, fx:
                seen.append(t))
    assert seen == list(range(7))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ol.minimize(F.rosenbrock(), [0.0, 0.0, 0.0], ol.sgd(0.1)), ValueError,
         r"x0 must have shape \(\.\.\., 2\)"),
        (lambda: ol.minimize(F.rosenbrock(), [0.0, 0.0], "newtonn"), ValueError, "unknown method"),
        (lambda: ol.minimize(F.rosenbrock(), [0.0, 0.0], 0.1), TypeError, "method must be"),
        (lambda: ol.minimize(F.rosenbrock(), [0.0, 0.0], ol.sgd(0.1), steps=-1), ValueError,
         "steps"),
        (lambda: ol.minimize(F.rosenbrock(), [0.0, 0.0], ol.sgd(0.1), batch_size=4), TypeError,
         "finite-sum"),
        (lambda: ol.minimize("rosenbrock", [0.0, 0.0], ol.sgd(0.1)), TypeError, "Objective"),
        (lambda: ol.sgd(-0.1), ValueError, "lr must lie in"),
        (lambda: ol.sgd(float("nan")), ValueError, "lr must be finite"),
        (lambda: ol.sgd(0.1, momentum=1.0), ValueError, "momentum must lie in"),
        (lambda: ol.adam(b1=-0.1), ValueError, "b1 must lie in"),
        (lambda: ol.adam(b2=1.5), ValueError, "b2 must lie in"),
        (lambda: ol.adam(eps=-1e-8), ValueError, "eps must lie in"),
        (lambda: ol.rmsprop(rho=1.0), ValueError, "rho must lie in"),
        (lambda: ol.adadelta(eps=float("inf")), ValueError, "eps must be finite"),
        (lambda: ol.sgd("fast"), TypeError, "lr must be a number"),
        (lambda: ol.sgd(0.1, momentum="heavy"), TypeError, "momentum must be a number"),
        (lambda: ol.sgd(0.1, momentum=lambda t: 1.5), ValueError,
         r"momentum \(the schedule's value at t=0\) must lie in"),
        (lambda: ol.sgd(0.1, dampening=1.5), ValueError, "dampening must lie in"),
        (lambda: ol.sgd(0.1, momentum=0.9, nesterov=True, dampening=0.1), ValueError,
         "Nesterov momentum needs dampening = 0"),
        (lambda: ol.chain(ol.sgd(0.1), "adam"), TypeError, "chain expects"),
        (lambda: ol.clip_by_global_norm(0.0), ValueError, "max_norm must be positive"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_gradient_of_the_wrong_shape_is_named():
    tx = ol.adam(0.1)
    with pytest.raises(ValueError, match=r"g must have the shape of the parameters \(3,\)"):
        tx.update(np.ones(2), tx.init(np.zeros(3)), np.zeros(3))
    f = F.rosenbrock()
    wrong = F.Objective("wrong", 2, f.value, lambda x: f.grad(x)[..., :1], f.hess)
    with pytest.raises(ValueError, match="gradient g"):
        ol.minimize(wrong, [0.0, 0.0], ol.sgd(0.1), steps=3)


def test_progress_bar_is_shown_when_asked(capsys):
    ol.minimize(F.rosenbrock(), [0.0, 0.0], ol.sgd(1e-3), steps=20, progress=True)
    assert "20/20" in capsys.readouterr().err


def test_no_progress_bar_in_the_static_book(capsys, monkeypatch):
    """The book build (OPTLIB_STATIC=1) would store a bar at 0 %: it shows none."""
    monkeypatch.setenv("OPTLIB_STATIC", "1")
    ol.minimize(F.rosenbrock(), [0.0, 0.0], ol.sgd(1e-3), steps=20, progress=True)
    ol.minimize(F.rosenbrock(), [0.0, 0.0], "bfgs", steps=20, progress=True)
    assert capsys.readouterr().err == ""
