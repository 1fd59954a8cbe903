"""The second-order explorer and the kernel-free figures of the chapter on second-order
methods: what they draw is optlib's runs and computations, and every control moves it."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import optlib as ol  # noqa: E402
from optlib import widgets  # noqa: E402
from optlib.second_order import attracts, basins, cauchy_point, dogleg  # noqa: E402
from optlib.widgets.second_order import (  # noqa: E402
    METHODS,
    TOL,
    BasinFigure,
    TrustRegionFigure,
)


def data(artist):
    return np.column_stack(artist.get_data()).astype(float)


@pytest.fixture
def explorer():
    return widgets.SecondOrderExplorer(steps=40)


def test_every_path_is_optlibs_run(explorer):
    f = ol.functions.rosenbrock()
    start = [explorer.controls["x"].value, explorer.controls["y"].value]
    for name, (method, options) in METHODS.items():
        run = ol.minimize(f, start, method, steps=40, tol=TOL, **options)
        np.testing.assert_array_equal(data(explorer.paths[name]), run.history.x)
        np.testing.assert_array_equal(data(explorer.norms[name])[:, 1], run.history.grad_norm)


def test_the_start_sliders_move_every_path(explorer):
    before = {name: data(path) for name, path in explorer.paths.items()}
    explorer.controls["y"].value = 2.0
    for name, path in explorer.paths.items():
        np.testing.assert_array_equal(data(path)[0], [explorer.controls["x"].value, 2.0])
        assert not np.array_equal(before[name], data(path)), name


def test_deselected_methods_are_not_drawn(explorer):
    explorer.controls["methods"].value = ("BFGS",)
    assert set(explorer.results) == {"BFGS"}
    assert data(explorer.paths["Newton (plain)"]).size == 0
    assert data(explorer.paths["BFGS"]).size > 0


def test_plain_newton_reaches_himmelblaus_maximum_and_the_others_a_minimum(explorer):
    explorer.controls["function"].value = "himmelblau"
    np.testing.assert_allclose([explorer.controls["x"].value, explorer.controls["y"].value],
                               widgets.FUNCTIONS["himmelblau"][1])
    kinds = {name: kind for name, (_, kind) in explorer.finals.items()}
    assert kinds.pop("Newton (plain)") == "maximum"
    assert set(kinds.values()) == {"minimum"}
    saddles, maxima = (data(explorer.critical[kind]) for kind in ("saddle", "maximum"))
    assert len(saddles) == 4 and len(maxima) == 1
    np.testing.assert_allclose(explorer.finals["Newton (plain)"][0], maxima[0], atol=1e-6)


def test_the_blitted_frame_equals_a_fresh_explorer():
    moved = widgets.SecondOrderExplorer(function="six_hump_camel", steps=30)
    moved.controls["x"].value = 0.5
    moved.controls["methods"].value = ("Newton (plain)", "trust region")
    fresh = widgets.SecondOrderExplorer(function="six_hump_camel", steps=30,
                                        start=(0.5, moved.controls["y"].value))
    fresh.controls["methods"].value = ("Newton (plain)", "trust region")
    np.testing.assert_array_equal(np.asarray(moved.fig.canvas.buffer_rgba()),
                                  np.asarray(fresh.fig.canvas.buffer_rgba()))


def test_the_basin_figure_colours_what_basins_computes():
    figure = BasinFigure(resolution=40, steps=80)
    assert figure.kinds == ["minimum"] * 4 + ["saddle"] * 4 + ["maximum"]
    figure.draw(4.0)
    plain, free = (image.get_array() for image in figure.images)
    expected = basins(figure.f, figure.starts, figure.critical, 80, 4.0).reshape(40, 40)
    np.testing.assert_array_equal(plain, expected)
    assert set(np.unique(free)) <= {-1, 0, 1, 2, 3}
    np.testing.assert_array_equal(np.isin(np.arange(9), plain),
                                  attracts(figure.eigenvalues, 4.0))


def test_the_trust_region_figure_draws_the_solvers_steps():
    figure = TrustRegionFigure()
    for radius in (0.05, 0.3, 2.0):
        figure.draw(radius)
        np.testing.assert_array_equal(data(figure.markers["dogleg"])[0],
                                      dogleg(figure.g, figure.H, radius).step)
        np.testing.assert_array_equal(data(figure.markers["Cauchy point"])[0],
                                      cauchy_point(figure.g, figure.H, radius).step)
        exact = figure.steps["exact"].step
        np.testing.assert_allclose(
            exact, -np.linalg.solve(figure.H + figure.nu * np.eye(2), figure.g), rtol=1e-9)
    assert figure.nu == 0.0    # r = 2 holds the Newton step: no damping


def test_the_scrubs_have_a_frame_per_value_and_stay_small():
    basin = widgets.basin_scrub([0.0, 12.0], resolution=40, steps=40, alt="basins")
    assert len(set(basin.frames)) == 2 and "damping ν" in basin.html()
    region = widgets.trust_region_scrub([0.1, 1.0], alt="trust region")
    assert len(region.frames) == 2 and "trust-region radius r" in region.html()
    assert basin.nbytes < 2_000_000 and region.nbytes < 2_000_000
