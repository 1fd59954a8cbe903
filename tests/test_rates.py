"""optlib.rates: every closed form against an independent computation (eigenvalues of the
iteration matrix, optlib runs, a Lyapunov equation)."""

import numpy as np
import pytest

import optlib as ol
from optlib import rates


def matrix_rate(eigenvalue, lr, momentum, nesterov=False):
    """The spectral radius of the 2 x 2 iteration matrix, by numpy's eigenvalue solver."""
    M = rates.iteration_matrix(eigenvalue, lr, momentum, nesterov)
    return np.abs(np.linalg.eigvals(M)).max(axis=-1)


@pytest.mark.parametrize("nesterov", [False, True])
def test_rates_are_the_spectral_radius_of_the_iteration_matrix(nesterov):
    rng = np.random.default_rng(0)
    eigenvalues = np.array([0.5, 3.0, 20.0])
    rate = rates.nesterov_rate if nesterov else rates.heavy_ball_rate
    for lr, momentum in zip(rng.uniform(0, 0.25, 60), rng.uniform(0, 0.99, 60), strict=True):
        expected = [matrix_rate(lam, lr, momentum, nesterov) for lam in eigenvalues]
        np.testing.assert_allclose(rate(eigenvalues, lr, momentum), expected, rtol=1e-7)


def test_the_iteration_matrix_maps_one_state_of_a_run_to_the_next():
    f = ol.functions.quadratic(np.diag([0.3, 2.0]))
    for nesterov in (False, True):
        run = ol.minimize(f, [1.0, -1.0], ol.sgd(0.2, momentum=0.7, nesterov=nesterov), steps=12,
                          tol=0)
        x = run.history.x
        for i, lam in enumerate((0.3, 2.0)):
            M = rates.iteration_matrix(lam, 0.2, 0.7, nesterov)
            states = np.stack([x[1:, i], x[:-1, i]], axis=1)      # (x_t, x_{t-1}), t >= 1
            np.testing.assert_allclose(states[1:], states[:-1] @ M.T, atol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_a_direction_converges_exactly_below_the_stability_limit(nesterov):
    rng = np.random.default_rng(1)
    momenta = rng.uniform(0, 0.99, 400)
    limit = rates.stability_limit(momenta, nesterov)
    rate = rates.nesterov_rate if nesterov else rates.heavy_ball_rate
    for scale, converges in ((1 - 1e-6, True), (1 + 1e-6, False)):
        products = scale * limit
        got = np.array([rate([1.0], p, b)[0] for p, b in zip(products, momenta, strict=True)])
        assert np.all((got < 1) == converges)
    small = np.array([rate([1.0], 1e-6, b)[0] for b in momenta])
    assert np.all(small < 1)


def test_critical_momentum_is_a_double_root_between_real_and_complex_roots():
    for nesterov, products in ((False, [0.01, 0.3, 0.9, 1.5, 3.0]), (True, [0.01, 0.3, 0.9])):
        for product in products:
            beta = rates.critical_momentum(1.0, product, nesterov)
            a, b = rates.recurrence_coefficients(1.0, product, beta, nesterov)
            assert a * a - 4 * b == pytest.approx(0.0, abs=1e-12)
            double_root = a / 2
            assert np.sign(double_root) == (1 if product < 1 else -1)
            for shift, complex_roots in ((1e-3, True), (-1e-3, False)):
                a, b = rates.recurrence_coefficients(1.0, product, beta + shift, nesterov)
                assert (a * a - 4 * b < 0) == complex_roots
    with pytest.raises(ValueError, match="critical damping"):
        rates.critical_momentum(1.0, 4.0)
    with pytest.raises(ValueError, match="critical damping"):
        rates.critical_momentum(1.0, 1.0, nesterov=True)


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_polyaks_tuning_is_optimal_and_critical_at_both_ends(kappa):
    lr, momentum, rate = rates.heavy_ball_tuning([1.0, kappa])
    root = np.sqrt(kappa)
    assert rate == pytest.approx((root - 1) / (root + 1)) and momentum == pytest.approx(rate**2)
    spectrum = np.geomspace(1.0, kappa, 200)
    np.testing.assert_allclose(rates.heavy_ball_rate(spectrum, lr, momentum), rate, rtol=1e-6)
    for end in (1.0, kappa):
        assert rates.critical_momentum(end, lr) == pytest.approx(momentum, rel=1e-9)
    # no (lr, momentum) nearby does better on [1, kappa]
    lrs = lr * np.linspace(0.9, 1.1, 41)
    momenta = np.clip(momentum + np.linspace(-0.05, 0.05, 41), 0, 0.999)
    worst = rates.heavy_ball_rate([1.0, kappa], lrs[:, None], momenta[None, :]).max(axis=-1)
    assert worst.min() >= rate * (1 - 1e-9)


def test_nesterovs_tuning_has_rate_one_minus_one_over_root_kappa():
    for kappa in (10.0, 100.0, 1000.0):
        lr, momentum, rate = rates.nesterov_tuning([1.0, kappa])
        assert lr == 1 / kappa and rate == pytest.approx(1 - 1 / np.sqrt(kappa))
        spectrum = np.geomspace(1.0, kappa, 300)
        got = rates.nesterov_rate(spectrum, lr, momentum)
        assert got.max() == pytest.approx(rate, rel=1e-7) and got[0] == got.max()
        assert rates.critical_momentum(1.0, lr, nesterov=True) == pytest.approx(momentum)


CASES = [(0.05, 0.3), (0.01, 0.81), (1.5, 0.2), (0.5, 0.95), (1.0, 0.0), (3.0, 0.9)]


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("product, momentum", CASES)
def test_the_error_sequence_is_what_an_optlib_run_does(nesterov, product, momentum):
    """Closed form and run agree to rounding: ~100 steps of a few flops at 1e-16 on errors
    below 1 (both converge, or the check stops at a few steps of a divergence)."""
    steps = 100 if product < rates.stability_limit(momentum, nesterov) else 5
    f = ol.functions.quadratic([[1.0]])
    run = ol.minimize(f, [1.0], ol.sgd(product, momentum=momentum, nesterov=nesterov),
                      steps=steps, tol=0)
    phi = run.history.x[:, 0]
    # Nesterov: optlib's iterates are look-ahead points; theta_{t+1} = phi_t - eta grad(phi_t)
    theta = np.concatenate([phi[:1], phi[:-1] - product * phi[:-1]]) if nesterov else phi
    closed = rates.error_sequence(1.0, product, momentum, steps, nesterov)
    np.testing.assert_allclose(theta, closed, rtol=1e-12, atol=1e-13)


def test_a_double_roots_error_decays_like_t_rho_to_the_t():
    lr, momentum, rate = rates.heavy_ball_tuning([1.0, 100.0])
    t = np.arange(200)
    for eigenvalue, root in ((1.0, rate), (100.0, -rate)):
        closed = rates.error_sequence(eigenvalue, lr, momentum, 199)
        np.testing.assert_allclose(closed, root**t * (1 + (1 - root) * t), rtol=1e-9)


def test_stationary_variance_solves_the_lyapunov_equation():
    rng = np.random.default_rng(3)
    for _ in range(20):
        lam, beta = rng.uniform(0.1, 5), rng.uniform(0, 0.98)
        lr = rng.uniform(0.01, 0.99) * 2 * (1 + beta) / lam
        sigma2 = rng.uniform(0.1, 3)
        # state (theta_t, theta_{t-1}); noise enters theta as -eta xi_t
        A = np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])
        Q = np.array([[lr**2 * sigma2, 0.0], [0.0, 0.0]])
        P = np.linalg.solve(np.eye(4) - np.kron(A, A), Q.ravel()).reshape(2, 2)
        assert rates.stationary_variance(lam, lr, beta, sigma2) == pytest.approx(P[0, 0],
                                                                                  rel=1e-9)
    assert rates.stationary_variance(2.0, 0.3, 0.0, 1.0) == pytest.approx(0.3 / (2 * (2 - 0.6)))
    with pytest.raises(ValueError, match="finite only"):
        rates.stationary_variance(1.0, 2.5, 0.1, 1.0)


def test_power_norm_bound_sandwiches_the_norm_of_the_matrix_power():
    rng = np.random.default_rng(4)
    for _ in range(200):
        product, beta, T = rng.uniform(0.001, 3.9), rng.uniform(0, 0.99), int(rng.integers(2, 60))
        M = rates.iteration_matrix(1.0, product, beta)
        norm = np.linalg.norm(np.linalg.matrix_power(M, T), 2)
        rho = rates.heavy_ball_rate([1.0], product, beta)[0]
        assert rho**T <= norm * (1 + 1e-9) + 1e-300
        assert norm <= rates.power_norm_bound(1.0, product, beta, T) ** T * (1 + 1e-9)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="eigenvalues"):
        rates.heavy_ball_tuning([0.0, 1.0])
    with pytest.raises(ValueError, match="steps"):
        rates.error_sequence(1.0, 0.1, 0.5, -1)
    with pytest.raises(ValueError, match="momentum"):
        rates.stability_limit(1.0)
    with pytest.raises(ValueError, match="lr must be finite"):
        rates.heavy_ball_rate([1.0], np.nan, 0.5)
