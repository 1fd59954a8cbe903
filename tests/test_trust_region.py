"""Trust regions, Levenberg-Marquardt damping, plain Newton, Newton's basins of attraction and
the L-BFGS two-loop recursion: each checked against its defining property or an independent
computation."""

import numpy as np
import pytest
import scipy.optimize

import optlib as ol
from optlib import functions as F
from optlib.second_order import (
    attracts,
    basins,
    cauchy_point,
    contraction_factors,
    damped_newton_step,
    dogleg,
    lbfgs_direction,
    newton_iterates,
    next_radius,
    steihaug_cg,
    trust_region_exact,
)
from optlib.second_order.basins import _modified_inverse


def model(g, B, p):
    return g @ p + 0.5 * p @ B @ p


def random_problem(rng, dim=3, lowest=0.5):
    Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    B = Q @ np.diag(np.linspace(lowest, 10.0, dim)) @ Q.T
    return rng.normal(size=dim), 0.5 * (B + B.T)


# ---------------------------------------------------------------- the subproblem solvers


@pytest.mark.parametrize("lowest", [0.5, -2.0])
def test_cauchy_point_minimizes_the_model_along_minus_g_in_the_ball(lowest):
    rng = np.random.default_rng(0)
    g, B = random_problem(rng, lowest=lowest)
    for radius in (0.01, 0.1, 1.0, 10.0):
        p = cauchy_point(g, B, radius)
        taus = np.linspace(0, radius / np.linalg.norm(g), 20001)
        best = min(model(g, B, -t * g) for t in taus)
        assert model(g, B, p.step) <= best + 1e-12 * abs(best)
        assert np.linalg.norm(p.step) <= radius * (1 + 1e-12)
        assert p.predicted == pytest.approx(-model(g, B, p.step), rel=1e-12)


def test_dogleg_is_newton_inside_and_on_the_boundary_outside():
    rng = np.random.default_rng(1)
    g, B = random_problem(rng)
    newton_step = -np.linalg.solve(B, g)
    inside = dogleg(g, B, 2 * np.linalg.norm(newton_step))
    np.testing.assert_allclose(inside.step, newton_step, rtol=1e-12)
    assert inside.status == "interior"
    for radius in np.linalg.norm(newton_step) * np.array([0.01, 0.3, 0.9]):
        p = dogleg(g, B, radius)
        assert p.status == "boundary"
        assert np.linalg.norm(p.step) == pytest.approx(radius, rel=1e-12)
        assert p.predicted >= cauchy_point(g, B, radius).predicted * (1 - 1e-12)


def test_dogleg_falls_back_to_the_cauchy_point_without_positive_definiteness():
    g, B = np.array([1.0, 1.0]), np.diag([2.0, -1.0])
    np.testing.assert_array_equal(dogleg(g, B, 0.5).step, cauchy_point(g, B, 0.5).step)


def test_steihaug_is_cg_inside_and_decreases_at_least_as_much_as_cauchy():
    rng = np.random.default_rng(2)
    g, B = random_problem(rng, dim=6)
    newton_step = -np.linalg.solve(B, g)
    inside = steihaug_cg(g, lambda v: B @ v, 10 * np.linalg.norm(newton_step), rtol=1e-12)
    assert inside.status == "interior" and inside.nit <= 6 + 1
    np.testing.assert_allclose(inside.step, newton_step, rtol=1e-9)
    for radius in np.linalg.norm(newton_step) * np.array([0.05, 0.5]):
        p = steihaug_cg(g, lambda v: B @ v, radius)
        assert p.status == "boundary"
        assert np.linalg.norm(p.step) == pytest.approx(radius, rel=1e-12)
        assert p.predicted == pytest.approx(-model(g, B, p.step), rel=1e-12)
        assert p.predicted >= cauchy_point(g, B, radius).predicted * (1 - 1e-12)


def test_steihaug_follows_negative_curvature_to_the_boundary():
    B = np.diag([1.0, -1.0, 2.0])
    g = np.array([1.0, 0.5, 1.0])
    p = steihaug_cg(g, lambda v: B @ v, 3.0)
    assert p.status == "negative_curvature"
    assert np.linalg.norm(p.step) == pytest.approx(3.0, rel=1e-12)
    assert p.predicted == pytest.approx(-model(g, B, p.step), rel=1e-12)


@pytest.mark.parametrize("lowest", [0.5, 1e-3, -3.0])
def test_the_exact_solution_satisfies_the_optimality_conditions(lowest):
    """N&W Thm. 4.1: (B + nu I) p = -g, nu (r - ||p||) = 0, B + nu I psd, and nothing in the
    ball does better (checked against 20,000 random points of the ball)."""
    rng = np.random.default_rng(3)
    g, B = random_problem(rng, lowest=lowest)
    for radius in (0.05, 0.5, 5.0):
        p, nu = trust_region_exact(g, B, radius)
        np.testing.assert_allclose((B + nu * np.eye(3)) @ p.step, -g, atol=1e-9)
        assert nu >= 0 and abs(nu * (radius - np.linalg.norm(p.step))) < 1e-9 * (1 + nu)
        assert np.linalg.eigvalsh(B + nu * np.eye(3))[0] >= -1e-9
        points = rng.normal(size=(20000, 3))
        points *= radius * rng.uniform(0, 1, (20000, 1)) ** (1 / 3) / np.linalg.norm(
            points, axis=1, keepdims=True)
        others = points @ g + 0.5 * np.einsum("ni,ij,nj->n", points, B, points)
        assert model(g, B, p.step) <= others.min() + 1e-12


def test_the_exact_solution_in_the_hard_case():
    """g has no component along the eigenvector of lambda_min = -1: nu = 1 and the step adds
    a multiple of that eigenvector to reach the boundary."""
    B, g = np.diag([-1.0, 2.0]), np.array([0.0, 3.0])
    p, nu = trust_region_exact(g, B, 2.0)
    assert nu == pytest.approx(1.0)
    assert np.linalg.norm(p.step) == pytest.approx(2.0)
    np.testing.assert_allclose(p.step[1], -1.0)
    np.testing.assert_allclose(abs(p.step[0]), np.sqrt(3.0))


def test_levenberg_marquardt_steps_solve_the_trust_region_of_their_own_length():
    rng = np.random.default_rng(4)
    g, B = random_problem(rng, lowest=-2.0)
    for nu in (2.5, 5.0, 40.0):
        step = damped_newton_step(B, g, nu)
        exact, found = trust_region_exact(g, B, np.linalg.norm(step))
        assert found == pytest.approx(nu, rel=1e-9)
        np.testing.assert_allclose(exact.step, step, rtol=1e-9)


def test_subproblem_solvers_refuse_bad_input():
    g, B = np.ones(2), np.eye(2)
    for solver in (cauchy_point, dogleg, trust_region_exact):
        with pytest.raises(ValueError, match="radius"):
            solver(g, B, 0.0)
        with pytest.raises(ValueError, match="B must be"):
            solver(g, np.eye(3), 1.0)
    with pytest.raises(ValueError, match="damping"):
        damped_newton_step(B, g, -1.0)


# ---------------------------------------------------------------- the method


def test_the_radius_update_of_algorithm_4_1():
    assert next_radius(1.0, 0.1, 1.0, 10.0) == 0.25
    assert next_radius(1.0, 0.9, 1.0, 10.0) == 2.0
    assert next_radius(8.0, 0.9, 8.0, 10.0) == 10.0
    assert next_radius(1.0, 0.9, 0.5, 10.0) == 1.0      # an interior step keeps r
    assert next_radius(1.0, 0.5, 1.0, 10.0) == 1.0


@pytest.mark.parametrize("subproblem", ["steihaug", "dogleg", "exact"])
def test_trust_region_converges_and_keeps_its_bookkeeping(subproblem):
    f = F.rosenbrock()
    res = ol.minimize(f, [-1.2, 1.0], "trust_region", subproblem=subproblem)
    assert res.status == "converged" and res.fun < 1e-10
    h = res.history
    assert h.x.shape == (res.nit + 1, 2) and h.lr.shape == (res.nit,)
    moved = np.any(h.x[1:] != h.x[:-1], axis=1)
    assert np.all(np.diff(h.f)[moved] < 0) and np.all(np.diff(h.f)[~moved] == 0)
    assert (~moved).any(), "from (-1.2, 1) some trial steps are rejected"
    radii = h.lr
    assert np.all(radii[1:][~moved[:-1]] == 0.25 * radii[:-1][~moved[:-1]])


def test_steihaug_trust_region_takes_scipys_trust_ncg_iterations():
    """Same algorithm (N&W Alg. 4.1 with Steihaug's CG), same iterates: the same number of
    iterations and function evaluations as SciPy's trust-ncg."""
    for f, x0 in [(F.rosenbrock(), [-1.2, 1.0]), (F.beale(), [1.0, 1.0])]:
        ours = ol.minimize(f, x0, "trust_region")
        theirs = scipy.optimize.minimize(f.value, np.asarray(x0, float), method="trust-ncg",
                                         jac=f.grad, hessp=f.hvp)
        assert (ours.nit, ours.nfev) == (theirs.nit, theirs.nfev)
        np.testing.assert_allclose(ours.x, theirs.x, atol=1e-7)


def test_trust_region_escapes_a_saddle_that_newton_converges_to():
    f = F.himmelblau()
    saddle = np.array([3.385154, 0.073852])
    start = saddle + 1e-3
    plain = ol.minimize(f, start, "newton", modify=False, line_search=None)
    tr = ol.minimize(f, start, "trust_region")
    for res, smallest in ((plain, "negative"), (tr, "positive")):
        assert res.status == "converged"
        lam = np.linalg.eigvalsh(f.hess(res.x))[0]
        assert (lam < 0) == (smallest == "negative")


def test_trust_region_refuses_bad_options():
    f = F.rosenbrock()
    with pytest.raises(ValueError, match="subproblem"):
        ol.minimize(f, [0.0, 0.0], "trust_region", subproblem="lanczos")
    with pytest.raises(ValueError, match="radius"):
        ol.minimize(f, [0.0, 0.0], "trust_region", radius=20.0, max_radius=10.0)
    with pytest.raises(ValueError, match="accept"):
        ol.minimize(f, [0.0, 0.0], "trust_region", accept=0.5)


def test_levenberg_marquardt_converges_from_an_indefinite_start():
    f = F.six_hump_camel()
    res = ol.minimize(f, [1e-3, 1e-3], "levenberg_marquardt")    # next to a saddle
    assert res.status == "converged"
    assert np.all(np.linalg.eigvalsh(f.hess(res.x)) > 0)
    moved = np.any(res.history.x[1:] != res.history.x[:-1], axis=1)
    assert np.all(np.diff(res.history.f)[moved] < 0)
    with pytest.raises(ValueError, match="damping"):
        ol.minimize(f, [0.0, 0.0], "levenberg_marquardt", damping=0.0)


def test_plain_newton_lands_on_a_quadratics_critical_point_in_one_step():
    f = F.quadratic(np.diag([2.0, -3.0]), np.array([1.0, 1.0]))
    res = ol.minimize(f, [5.0, -4.0], "newton", modify=False, line_search=None)
    np.testing.assert_allclose(res.x, [0.5, -1 / 3], atol=1e-15)
    assert res.nit == 1
    stalled = ol.minimize(f, [1.0, -4.0], "newton", modify=False)
    assert stalled.status == "stalled"     # -H^{-1} g is not a descent direction here


# ---------------------------------------------------------------- basins of attraction


def test_the_closed_form_2x2_inverse_equals_the_eigen_decomposition():
    rng = np.random.default_rng(5)
    H = rng.normal(size=(500, 2, 2))
    H = H + np.swapaxes(H, 1, 2)
    H[0] = 3 * np.eye(2)                       # equal eigenvalues
    for absolute in (False, True):
        for damping in (0.0, 0.7):
            lam, Q = np.linalg.eigh(H)
            m = (np.abs(lam) if absolute else lam) + damping
            expected = (Q / m[:, None, :]) @ np.swapaxes(Q, 1, 2)
            got = _modified_inverse(H, damping, absolute)
            scale = np.abs(expected).max(axis=(1, 2), keepdims=True)
            assert np.all(np.abs(got - expected) <= 1e-9 * scale)


def test_contraction_factors_and_attraction():
    np.testing.assert_allclose(contraction_factors([2.0, -4.0], 1.0), [1 / 3, -1 / 3])
    np.testing.assert_allclose(contraction_factors([2.0, -4.0], 1.0, absolute=True),
                               [1 / 3, 1 + 4 / 5])
    assert attracts([-4.0, 2.0], 1.9) and not attracts([-4.0, 2.0], 2.1)
    assert not attracts([-4.0, 2.0], 0.0, absolute=True)
    assert attracts([1.0, 2.0], 100.0, absolute=True)


def test_basins_on_himmelblau_are_where_the_local_analysis_says():
    """A critical point has a basin on the grid exactly when it attracts the iteration
    (the dampings stay clear of the thresholds |lambda|/2)."""
    f = F.himmelblau()
    critical = ol.landscape.critical_points(f, 400)
    eigenvalues = np.linalg.eigvalsh(f.hess(critical))
    grid = np.stack(np.meshgrid(np.linspace(-5, 5, 60), np.linspace(-5, 5, 60)), -1)
    starts = grid.reshape(-1, 2)
    for damping in (0.0, 4.0, 11.0, 30.0):
        for absolute in (False, True):
            labels = basins(f, starts, critical, steps=100, damping=damping,
                            absolute=absolute)
            found = np.isin(np.arange(len(critical)), labels)
            np.testing.assert_array_equal(found, attracts(eigenvalues, damping, absolute))


def test_newton_iterates_refuse_bad_input_and_mark_divergence():
    f = F.himmelblau()
    with pytest.raises(ValueError, match="starts"):
        newton_iterates(f, np.zeros(2))
    with pytest.raises(ValueError, match="damping"):
        newton_iterates(f, np.zeros((1, 2)), damping=-1.0)
    x, norms = newton_iterates(F.saddle(), np.array([[1.0, 1.0]]), steps=3, damping=2.0)
    assert np.all(np.isnan(x)) and np.isnan(norms[0])   # H + 2I is singular along y


# ---------------------------------------------------------------- the L-BFGS two loops


def test_the_two_loop_recursion_equals_dense_bfgs_updates():
    rng = np.random.default_rng(6)
    dim = 5
    A = random_problem(rng, dim=dim)[1]
    pairs = [(s, A @ s) for s in rng.normal(size=(4, dim))]
    s, y = pairs[-1]
    C = (s @ y) / (y @ y) * np.eye(dim)
    for s, y in pairs:
        rho = 1 / (s @ y)
        left = np.eye(dim) - rho * np.outer(s, y)
        C = left @ C @ left.T + rho * np.outer(s, s)
    g = rng.normal(size=dim)
    np.testing.assert_allclose(lbfgs_direction(g, pairs), C @ g, rtol=1e-12)
    np.testing.assert_array_equal(lbfgs_direction(g, []), g)
    with pytest.raises(ValueError, match="s'y > 0"):
        lbfgs_direction(g, [(s, -s)])
