"""optlib.plotting: what each figure draws is what it claims to, and the rate map of
momentum agrees with the closed form."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import optlib as ol  # noqa: E402
from optlib import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def iteration_matrix_rate(eigenvalues, lr, momentum):
    """max_i of the spectral radius of [[1 + mu - eta lambda_i, -mu], [1, 0]], by eigvals."""
    return max(
        np.abs(np.linalg.eigvals([[1 + momentum - lr * lam, -momentum], [1.0, 0.0]])).max()
        for lam in eigenvalues
    )


# ---------------------------------------------------------------- style and contours


def test_style_sets_an_opaque_card_and_the_palette():
    matplotlib.rcdefaults()
    plotting.style()
    assert matplotlib.rcParams["savefig.transparent"] is False
    assert to_hex(matplotlib.rcParams["figure.facecolor"]) == "#ffffff"
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(plotting.PALETTE)


def test_every_drawing_function_applies_the_style():
    matplotlib.rcdefaults()
    plotting.contour(ol.functions.himmelblau())
    assert to_hex(matplotlib.rcParams["axes.edgecolor"]) == plotting.INK


def test_log_levels_are_geometric_above_f_star():
    f = ol.functions.six_hump_camel()
    _, _, Z = plotting.contour_grid(f, 80)
    levels = plotting.log_levels(Z, 12, floor=f.f_star)
    gaps = levels - f.f_star
    assert len(levels) == 12 and np.all(gaps > 0)
    np.testing.assert_allclose(gaps[1:] / gaps[:-1], gaps[1] / gaps[0], rtol=1e-9)
    assert levels[-1] == pytest.approx(np.nanmax(Z))


def test_contour_covers_the_domain_with_log_levels():
    f = ol.functions.rosenbrock()
    lines = plotting.contour(f, levels=15)
    ax = lines.axes
    assert ax.get_xlim() == pytest.approx(f.domain[0])
    assert ax.get_ylim() == pytest.approx(f.domain[1])
    gaps = np.asarray(lines.levels) - f.f_star
    assert len(gaps) == 15
    np.testing.assert_allclose(gaps[1:] / gaps[:-1], gaps[1] / gaps[0], rtol=1e-9)


def test_contour_grid_evaluates_f_on_the_grid():
    f = ol.functions.beale()
    X, Y, Z = plotting.contour_grid(f, 7, domain=((0, 3), (-1, 1)))
    assert X.shape == Z.shape == (7, 7)
    assert (X.min(), X.max(), Y.min(), Y.max()) == (0, 3, -1, 1)
    np.testing.assert_allclose(Z[2, 5], f.value([X[2, 5], Y[2, 5]]))


def test_contour_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="2-D"):
        plotting.contour(ol.functions.rosenbrock(dim=3))
    with pytest.raises(ValueError, match="domain"):
        plotting.contour_grid(ol.functions.himmelblau(), domain=((1, 0), (0, 1)))
    with pytest.raises(ValueError, match="rise above"):
        plotting.log_levels(np.ones((3, 3)))


# ---------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def runs():
    f = ol.functions.rosenbrock()
    return f, {
        "GD": ol.minimize(f, [-1.2, 1.0], ol.sgd(1e-3), steps=50),
        "Adam": ol.minimize(f, [[-1.2, 1.0], [1.5, 2.0]], ol.adam(0.05), steps=40),
    }


def test_trajectory_xy_separates_batched_paths_with_nan(runs):
    _, results = runs
    xy = plotting.trajectory_xy(results["Adam"])
    path = results["Adam"].history.x
    assert xy.shape == (2 * path.shape[0] + 1, 2)
    np.testing.assert_array_equal(xy[: path.shape[0]], path[:, 0])
    assert np.all(np.isnan(xy[path.shape[0]]))
    np.testing.assert_array_equal(xy[path.shape[0] + 1:], path[:, 1])


def test_trajectory_xy_never_returns_infinities():
    points = np.array([[0.0, 0.0], [1.0, 2.0], [np.inf, 1.0]])
    xy = plotting.trajectory_xy(points)
    assert not np.isinf(xy).any() and np.isnan(xy[2]).all()
    with pytest.raises(ValueError, match="shape"):
        plotting.trajectory_xy(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="Result"):
        plotting.loss_xy("not a run")


def test_trajectories_draw_each_run_in_the_colour_its_loss_curve_has(runs):
    f, results = runs
    fig, (left, right) = plt.subplots(1, 2)
    paths = plotting.trajectories(f, results, ax=left)
    losses = plotting.loss_curves(results, ax=right, f_star=f)
    np.testing.assert_array_equal(paths["GD"].get_xydata(), results["GD"].history.x)
    for name in results:
        assert paths[name].get_color() == losses[name].get_color()
    assert paths["GD"].get_color() != paths["Adam"].get_color()


def test_loss_curves_plot_the_gap_to_f_star_on_a_log_axis(runs):
    f, results = runs
    lines = plotting.loss_curves({"GD": results["GD"]}, f_star=f.f_star)
    t, gap = lines["GD"].get_data()
    np.testing.assert_array_equal(t, np.arange(results["GD"].history.f.shape[0]))
    np.testing.assert_allclose(gap, results["GD"].history.f - f.f_star)
    assert lines["GD"].axes.get_yscale() == "log"
    shifted = plotting.loss_xy(results["GD"], f_star=1.0)
    np.testing.assert_allclose(shifted[:, 1], results["GD"].history.f - 1.0)


# ---------------------------------------------------------------- curvature and Taylor


def test_eigen_arrows_point_along_eigenvectors_with_length_by_eigenvalue():
    f = ol.functions.quadratic(np.diag([1.0, 4.0]))
    origins, vectors, eigenvalues, _ = plotting.eigen_arrow_data(f, [0.3, -0.2], scale=2.0)
    np.testing.assert_allclose(eigenvalues, [1.0, 4.0])
    np.testing.assert_allclose(origins, [[0.3, -0.2]] * 4)
    np.testing.assert_allclose(np.abs(vectors), [[0.5, 0], [0, 2.0], [0.5, 0], [0, 2.0]],
                               atol=1e-12)
    np.testing.assert_allclose(vectors[:2], -vectors[2:])


def test_eigen_arrows_colour_negative_curvature_apart():
    quiver = plotting.eigen_arrows(ol.functions.saddle(), [0.0, 0.0])  # x^2 - y^2
    colors = [to_hex(c) for c in quiver.get_facecolors()]
    along_y = np.abs(quiver.V) > np.abs(quiver.U)
    assert quiver.N == 4 and along_y.sum() == 2
    for is_y, color in zip(along_y, colors, strict=True):
        assert color == to_hex(plotting.NEGATIVE if is_y else plotting.POSITIVE)


def test_second_order_taylor_model_of_a_quadratic_is_exact():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = ol.functions.quadratic(A, b=np.array([1.0, -1.0]))
    data = plotting.taylor_slice(f, [0.4, 0.7], [1.0, 2.0], radius=2.0)
    np.testing.assert_allclose(data["second"], data["f"], rtol=1e-12, atol=1e-12)
    assert not np.allclose(data["first"], data["f"])


def test_taylor_model_errors_shrink_as_the_order_says():
    f = ol.functions.rosenbrock()
    x0, u = np.array([-0.5, 0.8]), np.array([0.6, -0.8])

    def worst(radius, key):
        data = plotting.taylor_slice(f, x0, u, radius, n=3)
        return np.abs(data[key] - data["f"]).max()

    # first order errs by O(t^2), second by O(t^3): halving t divides them by 4 and 8
    assert worst(1e-3, "first") / worst(5e-4, "first") == pytest.approx(4, rel=0.01)
    assert worst(1e-2, "second") / worst(5e-3, "second") == pytest.approx(8, rel=0.05)


def test_taylor_plot_defaults_to_the_steepest_descent_direction():
    f = ol.functions.himmelblau()
    lines = plotting.taylor_plot(f, [0.0, 0.0], radius=0.1)
    t, along = lines["f"].get_data()
    u = -f.grad([0.0, 0.0]) / np.linalg.norm(f.grad([0.0, 0.0]))
    np.testing.assert_allclose(along, f.value(np.array([0.0, 0.0]) + t[:, None] * u))
    assert along[-1] < along[0]
    with pytest.raises(ValueError, match="direction"):
        plotting.taylor_slice(f, [0.0, 0.0], [0.0, 0.0], 1.0)


# ---------------------------------------------------------------- the rate of momentum


def test_heavy_ball_rate_is_the_spectral_radius_of_the_iteration_matrix():
    rng = np.random.default_rng(0)
    eigenvalues = np.array([0.5, 3.0, 20.0])
    for lr, momentum in zip(rng.uniform(0, 0.25, 50), rng.uniform(0, 0.99, 50), strict=True):
        rates = plotting.heavy_ball_rate(eigenvalues, lr, momentum)
        assert rates.max() == pytest.approx(
            iteration_matrix_rate(eigenvalues, lr, momentum), rel=1e-9)


@pytest.mark.parametrize("eigenvalues", [10.0, [0.2, 1.0, 3.0]])
def test_measured_rates_are_the_closed_form_everywhere(eigenvalues):
    """rho(M^T)^(1/T) from the run: the T-step map is exact up to the run's rounding, so the
    rate is too; near a double root an eigenvalue moves by the square root of the rounding
    (~1e-5 of rho^T after T = 200 steps of a few flops), and the T-th root divides that by T."""
    lam = [1.0, 10.0] if np.ndim(eigenvalues) == 0 else eigenvalues
    lrs = np.linspace(0, 4.2 / max(lam), 31)[1:]
    momenta = np.linspace(0, 0.98, 25)
    measured = plotting.momentum_rates(eigenvalues, lrs, momenta, steps=200)
    assert measured.shape == (25, 30)
    exact = np.array([[iteration_matrix_rate(lam, lr, m) for lr in lrs] for m in momenta])
    converging = exact < 1
    np.testing.assert_allclose(measured[converging], exact[converging], rtol=1e-6, atol=1e-300)
    assert np.all(measured[~converging] >= 1 - 1e-6)


def test_watching_the_decay_overestimates_the_rate_within_the_bound():
    """||M^T||^(1/T) lies in [rho, rates.power_norm_bound], and its excess is largest along
    critical damping, where the error decays like t rho^t."""
    lam = np.array([0.01, 1.0])
    lrs, momenta = np.linspace(0.05, 3.9, 40), np.linspace(0, 0.98, 50)
    norm = plotting.momentum_rates(lam, lrs, momenta, steps=500, per_direction=True, norm=True)
    rho = ol.rates.heavy_ball_rate(lam, lrs[None, :], momenta[:, None])
    bound = ol.rates.power_norm_bound(lam, lrs[None, :, None], momenta[:, None, None], 500)
    assert np.all(norm >= rho * (1 - 1e-9)) and np.all(norm <= bound * (1 + 1e-9))
    excess = np.where(rho < 1, norm - rho, 0)[..., 0]
    i, j = np.unravel_index(np.argmax(excess), excess.shape)
    critical = ol.rates.critical_momentum(lam[0], lrs[j])
    assert abs(momenta[i] - critical) < 2 * (momenta[1] - momenta[0])


def test_rate_map_finds_the_optimal_heavy_ball_parameters():
    # Polyak: eta* = 4 / (sqrt(L) + sqrt(m))^2, beta* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2
    kappa = 16.0
    lrs, momenta = np.linspace(0.05, 0.4, 36), np.linspace(0, 0.8, 41)
    image = plotting.rate_map(kappa, lrs, momenta)
    measured = np.asarray(image.get_array())
    np.testing.assert_allclose(measured, plotting.momentum_rates(kappa, lrs, momenta))
    i, j = np.unravel_index(np.argmin(measured), measured.shape)
    assert lrs[j] == pytest.approx(4 / (1 + 4) ** 2, abs=0.011)
    assert momenta[i] == pytest.approx(0.36, abs=0.021)
    assert measured[i, j] == pytest.approx(0.6, abs=0.01)


def test_rate_map_guides_are_the_closed_forms():
    kappa = 25.0
    image = plotting.rate_map([1 / kappa, 1.0], np.linspace(0, 4, 61)[1:],
                              np.linspace(0, 0.99, 50), steps=50)
    ax = image.axes
    lines = {line.get_label(): line for line in ax.lines}
    eta, beta = lines["critical damping of $\\lambda_{\\min}$"].get_data()
    np.testing.assert_allclose(beta, (1 - np.sqrt(eta / kappa)) ** 2)
    eta, beta = lines["critical damping of $\\lambda_{\\max}$"].get_data()
    np.testing.assert_allclose(beta, (1 - np.sqrt(eta)) ** 2)
    assert np.all(eta < 4)
    eta, beta = lines["stability limit $\\eta\\lambda_{\\max} = 2(1+\\beta)$"].get_data()
    np.testing.assert_allclose(eta, 2 * (1 + beta))
    star = lines["optimum $(\\eta^\\star, \\beta^\\star)$"].get_data()
    assert star[0][0] == pytest.approx(4 / (1 + 0.2) ** 2)
    assert star[1][0] == pytest.approx((4 / 6) ** 2)
    texts = {text.get_text() for text in ax.texts}
    assert {"slow direction\nover-damped", "diverges"} <= texts


def test_rate_norm_spreads_rates_near_one_and_greys_divergence():
    norm = plotting.rate_norm()
    np.testing.assert_allclose(norm([0.0, 0.9, 0.99, 0.999]), np.array([0, 1, 2, 3]) / 6,
                               atol=1e-12)
    assert norm(1.0) > 1 and norm(5.0) > 1


def test_rate_map_rejects_bad_grids():
    with pytest.raises(ValueError, match="lrs"):
        plotting.momentum_rates(10, [0.0, 0.1], [0.5])
    with pytest.raises(ValueError, match="momenta"):
        plotting.momentum_rates(10, [0.1], [0.5, 1.0])
    with pytest.raises(ValueError, match="kappa"):
        plotting.momentum_rates(0.5, [0.1], [0.5])
    with pytest.raises(ValueError, match="eigenvalues"):
        plotting.momentum_rates([1.0, -2.0], [0.1], [0.5])


def test_importing_optlib_loads_no_plotting_library():
    import subprocess
    import sys

    code = ("import sys, optlib; "
            "print(any(m.split('.')[0] in ('matplotlib', 'ipywidgets') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
