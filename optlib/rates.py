"""Closed forms for momentum on quadratics: rates, tunings, error sequences, noise.

On a quadratic with Hessian eigenvalues lambda_i, gradient descent with
heavy-ball or Nesterov momentum acts on each eigen-direction on its own. The
error e_t = u_i'(theta_t - theta*) along one of them obeys a two-term
recurrence

    e_{t+1} = a e_t - b e_{t-1},      e_1 = (1 - eta lambda) e_0,

    heavy ball:  a = 1 + beta - eta lambda,       b = beta
    Nesterov:    a = (1 - eta lambda)(1 + beta),  b = (1 - eta lambda) beta

(Nesterov's e_t is the error of theta_t, Sutskever's iterate, whose look-ahead
point is where the gradient is taken). Its iteration matrix R = [[a, -b], [1, 0]]
maps (e_t, e_{t-1}) to (e_{t+1}, e_t); the roots z_1, z_2 of
z^2 - a z + b = 0 are R's eigenvalues, and the rate is the larger |z|.

Every function broadcasts over ``eigenvalue``, ``lr`` and ``momentum``.

    import optlib as ol
    lr, momentum, rate = ol.rates.heavy_ball_tuning([1.0, 100.0])   # Polyak's optimum
    ol.rates.heavy_ball_rate([1.0, 100.0], lr, momentum)             # = rate, both directions
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "recurrence_coefficients",
    "iteration_matrix",
    "roots",
    "spectral_radius",
    "power_norm_bound",
    "heavy_ball_rate",
    "nesterov_rate",
    "critical_momentum",
    "stability_limit",
    "heavy_ball_tuning",
    "nesterov_tuning",
    "error_sequence",
    "stationary_variance",
]


def _array(name, value):
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def recurrence_coefficients(eigenvalue, lr, momentum, nesterov=False):
    """(a, b) of e_{t+1} = a e_t - b e_{t-1} in the direction of ``eigenvalue``, broadcast."""
    lam, eta = _array("eigenvalue", eigenvalue), _array("lr", lr)
    beta = _array("momentum", momentum)
    if nesterov:
        shrink = 1 - eta * lam
        return shrink * (1 + beta), shrink * beta
    a = 1 + beta - eta * lam
    return a, np.broadcast_to(beta, a.shape)


def iteration_matrix(eigenvalue, lr, momentum, nesterov=False):
    """R = [[a, -b], [1, 0]], shape broadcast(eigenvalue, lr, momentum) + (2, 2)."""
    a, b = np.broadcast_arrays(*recurrence_coefficients(eigenvalue, lr, momentum, nesterov))
    R = np.zeros(a.shape + (2, 2))
    R[..., 0, 0], R[..., 0, 1], R[..., 1, 0] = a, -b, 1.0
    return R


def roots(a, b):
    """The roots z_1, z_2 of z^2 - a z + b = 0 (complex), |z_1| >= |z_2|."""
    a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
    root = np.sqrt(a * a - 4 * b)
    # the root without cancellation first, the other from z_1 z_2 = b
    big = np.where(a.real >= 0, a + root, a - root) / 2
    small = np.where(big == 0, 0, b / np.where(big == 0, 1, big))
    return big, small


def spectral_radius(a, b):
    """max |z| over the roots of z^2 - a z + b (real a, b): sqrt(b) when they are complex,
    (|a| + sqrt(a^2 - 4b)) / 2 when they are real."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    discriminant = a * a - 4 * b
    real = (np.abs(a) + np.sqrt(np.maximum(discriminant, 0))) / 2
    return np.where(discriminant >= 0, real, np.sqrt(np.maximum(b, 0)))


def power_norm_bound(eigenvalue, lr, momentum, steps, nesterov=False):
    """An upper bound on ||R^T||^(1/T) (spectral norm, T = ``steps`` >= 2).

    By Cayley-Hamilton R^T = U_{T-1} R - b U_{T-2} I with U_k = sum_{j<=k}
    z_1^j z_2^(k-j), so |U_k| <= (k + 1) rho^k and

        rho^T <= ||R^T|| <= rho^(T-2) (T rho ||R|| + (T - 1) b).

    The factor over rho^T is at most about T: a rate measured as ||R^T||^(1/T)
    exceeds rho by at most about log(T)/T, the price of a double root's t rho^t.
    """
    if int(steps) != steps or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    a, b = recurrence_coefficients(eigenvalue, lr, momentum, nesterov)
    rho = spectral_radius(a, b)
    frobenius = a * a + b * b + 1
    norm = np.sqrt((frobenius + np.sqrt(np.maximum(frobenius**2 - 4 * b * b, 0))) / 2)
    T = int(steps)
    with np.errstate(divide="ignore"):
        log_bound = (T - 2) * np.log(rho) + np.log(T * rho * norm + (T - 1) * np.abs(b))
    return np.exp(log_bound / T)


def _per_direction(eigenvalues, lr, momentum, nesterov):
    lam = np.asarray(eigenvalues, dtype=float)
    lr = np.asarray(lr, dtype=float)[..., None]
    momentum = np.asarray(momentum, dtype=float)[..., None]
    return spectral_radius(*recurrence_coefficients(lam, lr, momentum, nesterov))


def heavy_ball_rate(eigenvalues, lr, momentum):
    """The rate of heavy-ball momentum on a quadratic in each eigen-direction (Polyak 1964).

    The roots of z^2 - (1 + beta - eta lambda) z + beta = 0 have product beta:
    complex, both of modulus sqrt(beta); real, the larger modulus is
    (|a| + sqrt(a^2 - 4 beta)) / 2 with a = 1 + beta - eta lambda.

    ``eigenvalues`` has shape (d,); ``lr`` and ``momentum`` broadcast together.
    Returns the rate in each eigen-direction, shape broadcast(lr, momentum) + (d,).
    """
    return _per_direction(eigenvalues, lr, momentum, nesterov=False)


def nesterov_rate(eigenvalues, lr, momentum):
    """The rate of Nesterov's method on a quadratic in each eigen-direction.

    The roots of z^2 - (1 - eta lambda)(1 + beta) z + (1 - eta lambda) beta = 0.
    Shapes as in ``heavy_ball_rate``.
    """
    return _per_direction(eigenvalues, lr, momentum, nesterov=True)


def critical_momentum(eigenvalue, lr, nesterov=False):
    """The momentum at which the roots coincide in the direction of ``eigenvalue``.

        heavy ball:  beta = (1 - sqrt(eta lambda))^2              (0 <= eta lambda < 4)
        Nesterov:    beta = (1 - sqrt(eta lambda)) / (1 + sqrt(eta lambda))  (0 <= eta lambda < 1)

    Below it the direction is over-damped (real roots), above it under-damped
    (complex roots, ripples). Heavy ball's double root is +sqrt(beta) for
    eta lambda < 1 and -sqrt(beta) (the error flips sign every step) for
    1 < eta lambda < 4; from eta lambda = 4 on no beta < 1 is critical.
    Nesterov's roots are real for every beta once eta lambda >= 1.
    """
    product = _array("eigenvalue", eigenvalue) * _array("lr", lr)
    top = 1 if nesterov else 4
    if np.any(product < 0) or np.any(product >= top):
        raise ValueError(f"critical damping needs 0 <= lr * eigenvalue < {top}")
    root = np.sqrt(product)
    return (1 - root) / (1 + root) if nesterov else (1 - root) ** 2


def stability_limit(momentum, nesterov=False):
    """The largest eta lambda at which the direction still converges (rho < 1), for beta in [0, 1).

        heavy ball:  eta lambda < 2 (1 + beta)
        Nesterov:    eta lambda < 2 (1 + beta) / (1 + 2 beta)

    (The Jury conditions |b| < 1 and |a| < 1 + b on z^2 - a z + b.)
    """
    beta = _array("momentum", momentum)
    if np.any(beta < 0) or np.any(beta >= 1):
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    return 2 * (1 + beta) / (1 + 2 * beta) if nesterov else 2 * (1 + beta)


def _extremes(eigenvalues):
    lam = np.atleast_1d(_array("eigenvalues", eigenvalues))
    if lam.ndim != 1 or not np.all(lam > 0):
        raise ValueError(f"eigenvalues must be a 1-D array of positive numbers, "
                         f"got {eigenvalues!r}")
    return lam.min(), lam.max()


def heavy_ball_tuning(eigenvalues):
    """Polyak's optimal heavy ball for a spectrum in [lambda_min, lambda_max]:

        eta* = 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2,
        beta* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,
        rho* = sqrt(beta*) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1).

    Returns (eta*, beta*, rho*).
    """
    low, high = _extremes(eigenvalues)
    root_kappa = np.sqrt(high / low)
    rate = (root_kappa - 1) / (root_kappa + 1)
    return 4 / (np.sqrt(high) + np.sqrt(low)) ** 2, rate**2, rate


def nesterov_tuning(eigenvalues):
    """Nesterov's constant-momentum tuning for a spectrum in [lambda_min, lambda_max]:

        eta = 1 / lambda_max,   beta = (sqrt(kappa) - 1) / (sqrt(kappa) + 1),

    whose rate on a quadratic is 1 - 1/sqrt(kappa) (a double root in the
    direction of lambda_min). Returns (eta, beta, 1 - 1/sqrt(kappa)).
    """
    low, high = _extremes(eigenvalues)
    root_kappa = np.sqrt(high / low)
    return 1 / high, (root_kappa - 1) / (root_kappa + 1), 1 - 1 / root_kappa


def error_sequence(eigenvalue, lr, momentum, steps, nesterov=False):
    """e_t / e_0 for t = 0, ..., steps in the direction of ``eigenvalue``, in closed form.

        e_t / e_0 = U_t - b U_{t-1},   U_t = sum_{k=0}^{t} z_1^k z_2^(t-k)   (U_{-1} = 0),

    which is (z_1^(t+1) - z_2^(t+1)) / (z_1 - z_2) for distinct roots and
    (t + 1) z^t at a double root z, where e_t / e_0 = z^t (1 + (1 - z) t).
    The sum is taken as z_1^t times partial sums of (z_2/z_1)^k, |z_2/z_1| <= 1,
    accurate to about (t + 1) |z_1|^t times the unit roundoff even at a double
    root. Scalar ``eigenvalue``, ``lr``, ``momentum``; returns shape (steps + 1,).
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    a, b = recurrence_coefficients(eigenvalue, lr, momentum, nesterov)
    if np.ndim(a) or np.ndim(b):
        raise ValueError("error_sequence takes a scalar eigenvalue, lr and momentum")
    z1, z2 = roots(a, b)
    t = np.arange(int(steps) + 1)
    if z1 == 0:
        U = (t == 0).astype(complex)
    else:
        U = z1**t * np.cumsum((z2 / z1) ** t)
    previous = np.concatenate([[0.0], U[:-1]])
    return (U - b * previous).real


def stationary_variance(eigenvalue, lr, momentum, noise):
    """The stationary variance of heavy ball on the noisy quadratic lambda theta^2 / 2.

    With gradients g_t = lambda theta_t + xi_t, xi_t independent with mean 0
    and variance sigma^2 (``noise``), theta_t is an AR(2) process whose
    variance tends to

        eta sigma^2 (1 + beta) / [lambda (1 - beta) (2 (1 + beta) - eta lambda)]

    for 0 <= beta < 1 and 0 < eta lambda < 2 (1 + beta); beta = 0 gives plain
    SGD's eta sigma^2 / [lambda (2 - eta lambda)].
    """
    lam, eta = _array("eigenvalue", eigenvalue), _array("lr", lr)
    beta, sigma2 = _array("momentum", momentum), _array("noise", noise)
    if np.any(beta < 0) or np.any(beta >= 1) or np.any(eta * lam <= 0) or np.any(
            eta * lam >= 2 * (1 + beta)):
        raise ValueError("the variance is finite only for 0 <= momentum < 1 and "
                         "0 < lr * eigenvalue < 2 (1 + momentum)")
    return eta * sigma2 * (1 + beta) / (lam * (1 - beta) * (2 * (1 + beta) - eta * lam))
