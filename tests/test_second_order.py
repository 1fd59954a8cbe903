"""Second-order methods: evaluation counts against SciPy, convergence rates, CG, line
searches, Hessian-free at a million dimensions, and honest bookkeeping."""

import tracemalloc

import numpy as np
import pytest
import scipy.optimize

import optlib as ol
import optlib.second_order  # noqa: F401  (registers the methods with minimize)
from optlib import functions as F
from optlib.second_order import (
    backtracking,
    conjugate_gradient,
    modified_hessian,
    strong_wolfe,
)

SCIPY_COUNTERPART = {"newton": "trust-ncg", "bfgs": "BFGS", "lbfgs": "L-BFGS-B"}
PROBLEMS = {
    "rosenbrock": (F.rosenbrock, [-1.2, 1.0]),
    "beale": (F.beale, [1.0, 1.0]),
    "ill_conditioned": (lambda: F.ill_conditioned(1e4), [1.0, 1.0]),
}


def scipy_run(f, x0, method):
    """SciPy with analytic derivatives and its default tolerances."""
    hess = f.hess if method == "trust-ncg" else None
    return scipy.optimize.minimize(f.value, np.asarray(x0, float), method=method, jac=f.grad,
                                   hess=hess)


# Where SciPy needs fewer evaluations than these methods, the gap is measured, not hidden:
#  - BFGS on ill_conditioned(1e4): SciPy starts from M_0 = I, which is exactly A^{-1} on the
#    eigenvector of lambda_min = 1, so one update makes it exact (3 evaluations). The
#    s'y/y'y scaling (N&W eq. 6.20) gives up that luck for scale invariance (6 evaluations;
#    see test_bfgs_is_scale_invariant_where_scipy_is_not).
#  - BFGS (45 vs 39) and L-BFGS (45 vs 44) on Rosenbrock from (-1.2, 1): one unlucky start;
#    over random starts the averages are within a few percent of SciPy's
#    (test_quasi_newton_is_on_par_with_scipy_on_rosenbrock_over_random_starts).
KNOWN_GAPS = {("bfgs", "ill_conditioned"), ("bfgs", "rosenbrock"), ("lbfgs", "rosenbrock")}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("method", sorted(SCIPY_COUNTERPART))
def test_reaches_1e_10_with_no_more_evaluations_than_scipy(method, problem, request):
    make, x0 = PROBLEMS[problem]
    f = make()
    ours = ol.minimize(f, x0, method)
    reference = scipy_run(f, x0, SCIPY_COUNTERPART[method])
    assert ours.status == "converged" and ours.fun < 1e-10
    if (method, problem) in KNOWN_GAPS:
        request.node.add_marker(pytest.mark.xfail(
            strict=True, reason=f"measured gap: {ours.nfev} evaluations vs SciPy's "
                                f"{reference.nfev}, explained above KNOWN_GAPS"))
    assert ours.nfev <= reference.nfev, (ours.nfev, reference.nfev)


def test_bfgs_is_scale_invariant_where_scipy_is_not():
    """Scaling the quadratic by c changes nothing for BFGS with the s'y/y'y initial scaling;
    SciPy's M_0 = I is lucky at c = 1 only.

    The scales are powers of two, so that multiplying A by c is exact and every later
    operation (products, sums, square roots of c^2, the line search's comparisons) gives
    exactly c times, or exactly the same as, its unscaled result: the runs are then the same
    bit for bit under any BLAS kernel, and that is asserted. With c = 1e-4 or 1e2 the product
    c A is rounded, the runs agree only up to rounding, and an evaluation count at the
    stopping threshold moves by one under some kernels."""
    A = F.ill_conditioned(1e4, angle=0.3).hess(np.zeros(2))
    runs, theirs = [], []
    for c in [2.0**-14, 2.0**-7, 1.0, 2.0**7]:
        f = F.quadratic(c * A)
        res = ol.minimize(f, [1.0, 1.0], "bfgs", tol=1e-6 * np.sqrt(c))
        assert res.status == "converged" and res.fun < 1e-10 * c
        runs.append(res)
        theirs.append(scipy_run(f, [1.0, 1.0], "BFGS").nfev)
    for res in runs[1:]:
        assert res.nfev == runs[0].nfev and res.nit == runs[0].nit
        np.testing.assert_array_equal(res.history.x, runs[0].history.x)
    assert max(theirs) >= runs[0].nfev > min(theirs), (runs[0].nfev, theirs)


def test_quasi_newton_is_on_par_with_scipy_on_rosenbrock_over_random_starts():
    """Measured over 100 starts: BFGS 34.4 evaluations on average against SciPy's 35.5,
    L-BFGS 34.5 against L-BFGS-B's 33.9; the claim checked is 'within 5%'."""
    f = F.rosenbrock()
    starts = np.random.default_rng(1).uniform([-2, -1], [2, 3], size=(100, 2))
    for ours, theirs in [("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B")]:
        runs = [ol.minimize(f, x0, ours) for x0 in starts]
        assert all(r.fun < 1e-10 for r in runs)
        total_ours = sum(r.nfev for r in runs)
        total_scipy = sum(scipy_run(f, x0, theirs).nfev for x0 in starts)
        assert total_ours <= 1.05 * total_scipy, (ours, total_ours, total_scipy)


def exp_sum():
    """f(x) = sum_k exp(z_k) - z_k, z = A (x - c): strongly convex near x* = c, not quadratic."""
    rng = np.random.default_rng(0)
    A, c = rng.normal(size=(5, 5)) + 3 * np.eye(5), rng.normal(size=5)

    def value(x):
        z = (x - c) @ A.T
        return np.sum(np.exp(z) - z, axis=-1)

    def grad(x):
        z = (x - c) @ A.T
        return (np.exp(z) - 1) @ A

    def hess(x):
        z = (x - c) @ A.T
        return np.einsum("...k,ki,kj->...ij", np.exp(z), A, A)

    return F.Objective("exp_sum", 5, value, grad, hess, x_star=c, f_star=0.0), c


def errors(res, x_star):
    return np.linalg.norm(res.history.x - x_star, axis=-1)


def test_newton_converges_quadratically():
    f, c = exp_sum()
    res = ol.minimize(f, c + np.linspace(-0.1, 0.1, 5), "newton", tol=1e-13)
    e = errors(res, c)
    close = (e[:-1] < 0.1) & (e[1:] > 1e-13)  # above round-off
    assert close.sum() >= 3
    ratios = e[1:][close] / e[:-1][close] ** 2
    assert np.all(ratios < 5), ratios
    assert np.all(res.history.lr == 1.0), "near the minimizer the pure Newton step is taken"


def test_bfgs_converges_superlinearly():
    f, c = exp_sum()
    res = ol.minimize(f, c + np.linspace(-0.3, 0.3, 5), "bfgs", tol=1e-13)
    e = errors(res, c)
    final = (e[:-1] < 1e-4) & (e[1:] > 1e-12)  # close, and above round-off
    ratios = e[1:][final] / e[:-1][final]
    assert final.sum() >= 3
    assert np.all(ratios < 0.2) and np.exp(np.mean(np.log(ratios))) < 0.1, ratios
    early = e[1:6] / e[:5]
    assert early.max() > 0.5, "far away the rate is no better than linear"


def test_cg_solves_an_spd_system_in_at_most_n_iterations():
    rng = np.random.default_rng(0)
    n = 30
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1, 10, n)) @ Q.T
    b = rng.normal(size=n)
    res = conjugate_gradient(lambda v: A @ v, b, rtol=1e-10, maxiter=n)
    assert res.status == "converged" and res.nit <= n
    np.testing.assert_allclose(A @ res.x, b, atol=1e-8)


def test_cg_needs_one_iteration_per_distinct_eigenvalue():
    rng = np.random.default_rng(1)
    n, distinct = 40, np.array([1.0, 3.0, 10.0, 30.0])
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.repeat(distinct, n // 4)) @ Q.T
    res = conjugate_gradient(lambda v: A @ v, rng.normal(size=n), rtol=1e-10)
    assert res.status == "converged" and res.nit == len(distinct)


def test_cg_detects_negative_curvature():
    A = np.diag([1.0, 2.0, -1.0])
    res = conjugate_gradient(lambda v: A @ v, np.ones(3))
    assert res.status == "negative_curvature"
    assert res.direction @ A @ res.direction <= 0


def test_cg_from_a_warm_start_counts_the_residual_product():
    A = np.diag([1.0, 4.0])
    exact = np.array([1.0, 0.25])
    res = conjugate_gradient(lambda v: A @ v, np.ones(2), x0=exact)
    assert res.status == "converged" and res.nit == 1
    np.testing.assert_allclose(res.x, exact)


def test_backtracking_satisfies_armijo_and_takes_the_newton_step_on_a_quadratic():
    f = F.ill_conditioned(100.0, angle=0.4)
    x = np.array([1.0, -2.0])
    g = f.grad(x)
    newton_step = -np.linalg.solve(f.hess(x), g)
    res = backtracking(f, x, newton_step)
    assert res.success and res.alpha == 1.0 and res.nfev == 1
    steepest = backtracking(f, x, -g)
    assert steepest.success and steepest.alpha < 1.0
    assert steepest.fx <= f.value(x) + 1e-4 * steepest.alpha * (g @ -g)


@pytest.mark.parametrize("seed", range(5))
def test_strong_wolfe_conditions_hold(seed):
    f = F.rosenbrock()
    rng = np.random.default_rng(seed)
    x = rng.uniform([-2, -1], [2, 3])
    g = f.grad(x)
    d = -g * rng.uniform(1e-4, 1e-1)
    res = strong_wolfe(f, x, d, alpha0=1.0)
    assert res.success
    assert res.fx <= f.value(x) + 1e-4 * res.alpha * (g @ d)
    assert abs(f.grad(res.x) @ d) <= 0.9 * abs(g @ d)
    np.testing.assert_allclose(res.g, f.grad(res.x))


def test_line_searches_refuse_an_ascent_direction():
    f = F.rosenbrock()
    x = np.array([0.0, 0.0])
    for search in (backtracking, strong_wolfe):
        with pytest.raises(ValueError, match="descent direction"):
            search(f, x, f.grad(x))


def test_modified_hessian_flips_negative_curvature_and_keeps_positive_definite_h():
    H = np.array([[2.0, 0.0], [0.0, -3.0]])
    np.testing.assert_allclose(modified_hessian(H), np.diag([2.0, 3.0]))
    spd = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(modified_hessian(spd), spd)
    assert np.all(np.linalg.eigvalsh(modified_hessian(np.zeros((2, 2)))) > 0)


def test_newton_leaves_a_saddle_for_a_minimum():
    """Started next to a saddle of the six-hump camel, the modified Newton step goes downhill;
    a pure Newton step would converge to the saddle."""
    f = F.six_hump_camel()
    saddle = np.zeros(2)  # grad = 0, eigenvalues of opposite signs
    assert np.prod(np.linalg.eigvalsh(f.hess(saddle))) < 0
    x0 = saddle + np.array([1e-3, 1e-3])
    res = ol.minimize(f, x0, "newton")
    assert res.status == "converged"
    assert np.all(np.linalg.eigvalsh(f.hess(res.x)) > 0)
    assert np.all(np.diff(res.history.f) < 0)


class Counting:
    """An objective that counts its own evaluations, to check the Result's bookkeeping."""

    def __init__(self, f):
        self.counts = dict(value=0, grad=0, hess=0, hvp=0)

        def counted(name, fn):
            def call(*args):
                self.counts[name] += 1
                return fn(*args)
            return call

        self.objective = F.Objective(
            f.name, f.dim, counted("value", f.value), counted("grad", f.grad),
            counted("hess", f.hess), counted("hvp", f.hvp),
        )


@pytest.mark.parametrize("method", ["newton", "bfgs", "lbfgs", "hessian_free"])
def test_every_evaluation_is_counted_and_the_history_is_consistent(method):
    counting = Counting(F.rosenbrock())
    x0 = np.array([-1.2, 1.0])
    res = ol.minimize(counting.objective, x0, method)
    c = counting.counts
    assert res.status == "converged"
    assert (res.nfev, res.ngev) == (c["value"], c["grad"])
    assert res.nhev == c["hess"] + c["hvp"] > 0 or method in ("bfgs", "lbfgs")
    h = res.history
    assert h.x.shape == (res.nit + 1, 2) and h.lr.shape == (res.nit,)
    np.testing.assert_array_equal(h.x[0], x0)
    np.testing.assert_allclose(h.f, F.rosenbrock().value(h.x))
    assert np.all(np.diff(h.f) < 0), "line searches only accept decreasing steps"
    assert np.all(h.lr > 0)


def test_hessian_free_agrees_with_newton_on_logistic_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X @ rng.normal(size=5) + 0.5 * rng.normal(size=200) > 0).astype(float)
    f = F.LogisticRegression(X, y, l2=1e-2)
    newton = ol.minimize(f, np.zeros(5), "newton", tol=1e-10)
    hf = ol.minimize(f, np.zeros(5), "hessian_free", tol=1e-10)
    assert hf.status == newton.status == "converged"
    np.testing.assert_allclose(hf.x, newton.x, atol=1e-8)


def test_hessian_free_on_a_million_dimensions_without_the_hessian():
    """A separable quadratic 1/2 sum_i a_i (x_i - c_i)^2 with a_i from 1 to 100: HF must
    reach ||grad|| < 1e-6 using products a * v only, in little memory."""
    n = 1_000_000
    a, c = np.geomspace(1.0, 100.0, n), np.linspace(-1.0, 1.0, n)

    def never(x):
        raise AssertionError("Hessian-free formed the Hessian")

    f = F.Objective("separable", n, lambda x: 0.5 * np.sum(a * (x - c) ** 2, axis=-1),
                    lambda x: a * (x - c), never, lambda x, v: a * v)
    x0 = np.zeros(n)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        res = ol.minimize(f, x0, "hessian_free", tol=1e-6, damping=1e-2, record_x=False)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert res.status == "converged" and res.fun < 1e-12
    np.testing.assert_allclose(res.x, c, atol=1e-6)
    assert res.nhev > 0 and res.history.x.shape == (0, n)
    assert peak <= 10 * x0.nbytes, f"peak {peak / x0.nbytes:.1f} parameter vectors"


def test_bad_input_is_refused_clearly():
    f = F.rosenbrock()
    with pytest.raises(ValueError, match="one start"):
        ol.minimize(f, np.zeros((3, 2)), "bfgs")
    with pytest.raises(ValueError, match="line_search"):
        ol.minimize(f, [0.0, 0.0], "newton", line_search="exact")
    with pytest.raises(ValueError, match="m must be"):
        ol.minimize(f, [0.0, 0.0], "lbfgs", m=0)
    with pytest.raises(ValueError, match="damping"):
        ol.minimize(f, [0.0, 0.0], "hessian_free", damping=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        ol.minimize(F.LeastSquares(np.eye(3), np.ones(3)), np.zeros(3), "lbfgs", batch_size=2)
    with pytest.raises(TypeError):
        ol.minimize(f, [0.0, 0.0], "bfgs", lr=0.1)


def test_newton_with_the_wolfe_search_and_a_callback():
    seen = []
    res = ol.minimize(F.beale(), [1.0, 1.0], "newton", line_search="wolfe",
                      callback=lambda t, x, fx: seen.append((t, fx)))
    assert res.status == "converged" and res.fun < 1e-10
    assert [t for t, _ in seen] == list(range(res.nit))
    np.testing.assert_allclose([fx for _, fx in seen], res.history.f[1:])


def test_a_run_below_an_unbounded_function_is_diverged_with_a_finite_history():
    res = ol.minimize(F.saddle(), [0.5, 1e-3], "newton", steps=200)
    assert res.status == "diverged"
    assert np.all(np.isfinite(res.history.f)) and res.fun < -1e3


@pytest.mark.parametrize("method", ["newton", "bfgs", "lbfgs", "hessian_free"])
def test_a_gradient_that_points_the_wrong_way_stalls_the_line_search(method):
    f = F.rosenbrock()
    wrong = F.Objective("wrong_gradient", 2, f.value, lambda x: -f.grad(x), f.hess, f.hvp)
    res = ol.minimize(wrong, [-1.2, 1.0], method, steps=50)
    assert res.status == "stalled" and res.nit == 0
    np.testing.assert_array_equal(res.x, [-1.2, 1.0])


def test_gd_backtracking_satisfies_armijo_and_warm_starts_save_evaluations():
    f = F.rosenbrock()
    plain = ol.minimize(f, [-1.2, 1.0], "gd_backtracking", steps=300, tol=0)
    warm = ol.minimize(f, [-1.2, 1.0], "gd_backtracking", warm_start=True, steps=300, tol=0)
    for res in (plain, warm):
        h = res.history
        g_norm_sq = h.grad_norm[:-1] ** 2
        assert np.all(h.f[1:] <= h.f[:-1] - 1e-4 * h.lr * g_norm_sq + 1e-12 * np.abs(h.f[:-1]))
        assert res.fun < f.value([-1.2, 1.0]) and res.nit == 300
    assert warm.nfev < plain.nfev / 2
    quadratic = F.ill_conditioned(10.0)
    res = ol.minimize(quadratic, [1.0, 1.0], "gd_backtracking", steps=500, tol=1e-8)
    assert res.status == "converged"
    assert np.all(res.history.lr >= 0.5 * 2 * (1 - 1e-4) / 10.0)  # N&W: eta >= 2 shrink (1-c1)/beta
