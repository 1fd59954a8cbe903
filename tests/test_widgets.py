"""optlib.widgets: every control of every explorer moves the figure the way it should, the
book build gets snapshots instead of dead controls, and kernel-free figures are whole."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine, PlaceHolderLayoutEngine  # noqa: E402

import optlib as ol  # noqa: E402
from optlib import plotting, widgets  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def data(artist):
    return np.column_stack(artist.get_data()).astype(float)


def changes(artist, control, value):
    """Set ``control`` and return the artist's data before and after."""
    before = data(artist)
    control.value = value
    return before, data(artist)


def differs(before, after):
    return before.shape != after.shape or not np.allclose(before, after, equal_nan=True)


# ---------------------------------------------------------------- the optimizer race


@pytest.fixture
def race():
    return widgets.OptimizerRace(steps=60)


def test_race_runs_every_racer_from_the_start(race):
    assert set(race.controls) == {"function", "x", "y", "racers", "lr_gd", "lr_momentum",
                                  "lr_rmsprop", "lr_adam"}
    for name, line in race.paths.items():
        np.testing.assert_allclose(data(line)[0], [-1.2, 1.0])
        losses = data(race.losses[name])
        f = ol.functions.rosenbrock()
        np.testing.assert_allclose(losses[:, 1], f.value(data(line)) - f.f_star)


@pytest.mark.parametrize("racer", ["GD", "Momentum", "RMSprop", "Adam"])
def test_race_learning_rate_moves_only_its_racer(race, racer):
    others = {name: data(line) for name, line in race.paths.items() if name != racer}
    control = race.controls[f"lr_{racer.lower()}"]
    before, after = changes(race.paths[racer], control, control.value / 2)
    assert differs(before, after)
    for name, path in others.items():
        np.testing.assert_array_equal(data(race.paths[name]), path)
    tx = widgets.RACERS[racer][0](control.value)
    expected = ol.minimize(ol.functions.rosenbrock(), [-1.2, 1.0], tx, steps=60)
    np.testing.assert_allclose(after, expected.history.x, rtol=1e-12)


def test_race_start_sliders_move_every_path(race):
    race.controls["x"].value = 0.5
    race.controls["y"].value = 2.0
    np.testing.assert_allclose(data(race.panel.start), [[0.5, 2.0]])
    for line in race.paths.values():
        np.testing.assert_allclose(data(line)[0], [0.5, 2.0])


def test_race_drops_deselected_racers(race):
    race.controls["racers"].value = ("GD", "Adam")
    assert len(data(race.paths["Momentum"])) == 0 and len(data(race.losses["RMSprop"])) == 0
    assert len(data(race.paths["GD"])) == 61 and len(data(race.paths["Adam"])) > 1


def test_race_function_dropdown_changes_contours_start_and_paths(race):
    old_contours = race.panel.contours
    race.controls["function"].value = "himmelblau"
    f = ol.functions.himmelblau()
    assert race.panel.contours is not old_contours and race.panel.f.name == "himmelblau"
    assert race.axes[0].get_xlim() == pytest.approx(f.domain[0])
    assert (race.controls["x"].min, race.controls["x"].max) == f.domain[0]
    start = widgets.FUNCTIONS["himmelblau"][1]
    for line in race.paths.values():
        np.testing.assert_allclose(data(line)[0], start)
    np.testing.assert_allclose(data(race.panel.minima), f.minima)


def test_race_names_a_diverged_racer_and_never_plots_infinity(race):
    race.controls["lr_gd"].value = 1.0
    assert race.status.get_text() == "diverged: GD"
    assert np.isfinite(data(race.paths["GD"])).all()
    assert np.isfinite(data(race.losses["GD"])).all()
    race.controls["lr_gd"].value = 1e-3
    assert race.status.get_text() == ""


def test_race_rejects_unknown_functions():
    with pytest.raises(ValueError, match="function"):
        widgets.OptimizerRace(function="nonexistent")
    with pytest.raises(ValueError, match="f\\*"):
        widgets.OptimizerRace(function="saddle", functions_offered=("saddle",))


def test_race_legend_names_the_running_racers_only(race):
    def legend_names():
        return [text.get_text() for text in race.axes[1].get_legend().get_texts()]

    assert legend_names() == ["GD", "Momentum", "RMSprop", "Adam"]
    race.controls["racers"].value = ("Momentum", "Adam")
    assert legend_names() == ["Momentum", "Adam"]


# ---------------------------------------------------------------- the adaptive race


@pytest.fixture
def adaptive():
    return widgets.AdaptiveRace(steps=40)


def test_adaptive_race_runs_the_default_racers_with_their_hyperparameters(adaptive):
    assert {"momentum", "b1", "b2", "eps", "t"} <= set(adaptive.controls)
    assert adaptive.controls["racers"].value == widgets.DEFAULT_RACERS
    valley = ol.functions.ill_conditioned(100.0)
    c = {name: control.value for name, control in adaptive.controls.items()}
    expected = {
        "GD": ol.sgd(c["lr_gd"]),
        "Momentum": ol.sgd(c["lr_momentum"], momentum=c["momentum"]),
        "Adagrad": ol.adagrad(c["lr_adagrad"], eps=c["eps"]),
        "RMSProp": ol.rmsprop(c["lr_rmsprop"], rho=c["b2"], eps=c["eps"]),
        "Adam": ol.adam(c["lr_adam"], c["b1"], c["b2"], c["eps"]),
    }
    for name, tx in expected.items():
        run = ol.minimize(valley, [-1.2, 0.7], tx, steps=40)
        np.testing.assert_allclose(data(adaptive.paths[name]), run.history.x, rtol=1e-12)
    for name in set(widgets.ADAPTIVE_RACERS) - set(expected):
        assert len(data(adaptive.paths[name])) == 0


@pytest.mark.parametrize("control, value, moved", [
    ("b2", 0.9, {"RMSProp", "Adam"}),
    ("b1", 0.5, {"Adam"}),
    ("momentum", 0.5, {"Momentum"}),
    ("lr_adagrad", 0.1, {"Adagrad"}),
])
def test_adaptive_race_hyperparameters_move_only_the_racers_that_use_them(adaptive, control,
                                                                         value, moved):
    before = {name: data(line) for name, line in adaptive.paths.items()}
    adaptive.controls[control].value = value
    for name, line in adaptive.paths.items():
        assert differs(before[name], data(line)) == (name in moved), name


def test_adaptive_race_draws_the_first_t_steps_without_rerunning(adaptive):
    result = adaptive.result
    full = data(adaptive.paths["Adam"])
    adaptive.controls["t"].value = 10
    assert adaptive.result is result
    np.testing.assert_array_equal(data(adaptive.paths["Adam"]), full[:11])
    assert len(data(adaptive.losses["GD"])) == 11
    adaptive.controls["lr_gd"].value = 0.001
    assert adaptive.result is not result and len(data(adaptive.paths["GD"])) == 11


def test_adaptive_race_offers_the_rotated_valley_and_every_racer(adaptive):
    adaptive.controls["function"].value = "rotated_valley"
    start = widgets.FUNCTIONS["rotated_valley"][1]
    np.testing.assert_allclose(np.hypot(*start), np.hypot(-1.2, 0.7))
    adaptive.controls["racers"].value = tuple(widgets.ADAPTIVE_RACERS)
    for name, line in adaptive.paths.items():
        np.testing.assert_allclose(data(line)[0], start)
        assert len(data(line)) == 41, name
    texts = [text.get_text() for text in adaptive.axes[1].get_legend().get_texts()]
    assert texts == list(widgets.ADAPTIVE_RACERS)
    looks = {(line.get_color(), str(line.get_linestyle())) for line in adaptive.losses.values()}
    assert len(looks) == len(widgets.ADAPTIVE_RACERS), "every racer has a look of its own"


def test_adaptive_race_rejects_unknown_racers():
    with pytest.raises(ValueError, match="racers must be among"):
        widgets.AdaptiveRace(racers=("Adam", "Lion"))


def test_adaptive_race_scrubs_over_the_steps_shown(adaptive):
    figure = adaptive.scrub("t", [0, 20, 40], alt="The race after t steps.")
    assert len(set(figure.frames)) == 3 and "steps shown t" in figure.html()
    assert adaptive.controls["t"].value == 40


# ---------------------------------------------------------------- the quadratic explorer


@pytest.fixture
def quadratic():
    return widgets.QuadraticExplorer(steps=80)


def test_quadratic_errors_decay_at_the_closed_form_rate(quadratic):
    quadratic.controls["lr"].value = 1.5
    lr = 1.5 / quadratic.controls["kappa"].value
    t, error_min = quadratic.errors[0].get_data()
    rate = abs(1 - lr * 1.0)  # mu = 0: e_t = (1 - eta lambda)^t e_0 exactly
    np.testing.assert_allclose(error_min, error_min[0] * rate**t, rtol=1e-8)
    np.testing.assert_allclose(quadratic.envelopes[0].get_ydata()[: len(t)], error_min,
                               rtol=1e-8)


def test_quadratic_kappa_changes_the_problem(quadratic):
    old = quadratic.panel.contours
    before, after = changes(quadratic.path, quadratic.controls["kappa"], 50.0)
    assert differs(before, after)
    assert quadratic.eigenvalues.max() == pytest.approx(50.0)
    assert quadratic.panel.contours is not old


def test_quadratic_lr_and_momentum_change_path_and_rate(quadratic):
    for name, value in [("lr", 0.7), ("momentum", 0.6)]:
        title = quadratic.title.get_text()
        before, after = changes(quadratic.path, quadratic.controls[name], value)
        assert differs(before, after) and quadratic.title.get_text() != title
    lr = 0.7 / quadratic.eigenvalues.max()
    expected = plotting.heavy_ball_rate(quadratic.eigenvalues, lr, 0.6).max()
    assert f"{expected:.3f}" in quadratic.title.get_text()
    path = ol.minimize(quadratic.f, quadratic.x0, ol.sgd(lr, momentum=0.6), steps=80, tol=1e-12)
    np.testing.assert_allclose(data(quadratic.path), path.history.x)


def test_quadratic_momentum_errors_follow_the_rate(quadratic):
    quadratic.controls["momentum"].value = 0.81  # complex roots for both: rate sqrt(mu) = 0.9
    quadratic.controls["lr"].value = 0.5
    t, error = quadratic.errors[0].get_data()
    fitted = np.exp(np.polyfit(t[20:], np.log(error[20:]), 1)[0])
    assert fitted == pytest.approx(0.9, abs=0.02)


# ---------------------------------------------------------------- the momentum explorer


@pytest.fixture
def momentum():
    return widgets.MomentumExplorer(steps=80)


def test_momentum_path_is_optlibs_run_and_errors_are_its_eigen_components(momentum):
    for nesterov in (False, True):
        momentum.controls["nesterov"].value = nesterov
        lr = momentum.controls["lr"].value / momentum.eigenvalues.max()
        tx = ol.sgd(lr, momentum=momentum.controls["momentum"].value, nesterov=nesterov)
        run = ol.minimize(momentum.f, momentum.x0, tx, steps=80, tol=0)
        np.testing.assert_allclose(data(momentum.path), run.history.x, rtol=1e-12, atol=1e-15)
        components = np.abs((run.history.x - momentum.f.x_star) @ momentum.eigenvectors)
        np.testing.assert_allclose(momentum.errors[0].get_ydata(), components[:, 0],
                                   rtol=1e-9, atol=1e-15)


def test_momentum_title_rate_and_map_follow_the_closed_form(momentum):
    momentum.controls["momentum"].value = 0.5
    momentum.controls["lr"].value = 1.2
    lr = 1.2 / momentum.eigenvalues.max()
    rate = ol.rates.heavy_ball_rate(momentum.eigenvalues, lr, 0.5).max()
    assert f"{rate:.4f}" in momentum.title.get_text()
    np.testing.assert_allclose(data(momentum.marker), [[1.2, 0.5]])
    before = np.asarray(momentum.image.get_array()).copy()
    momentum.controls["nesterov"].value = True
    assert not np.array_equal(before, np.asarray(momentum.image.get_array()))
    rate = ol.rates.nesterov_rate(momentum.eigenvalues, lr, 0.5).max()
    assert f"Nesterov: rate ρ = {rate:.4f}" in momentum.title.get_text()
    eta, beta = momentum.critical[0].get_data()
    kappa = momentum.controls["kappa"].value
    np.testing.assert_allclose(beta, (1 - np.sqrt(eta / kappa)) / (1 + np.sqrt(eta / kappa)))


def test_momentum_kappa_changes_problem_contours_and_map(momentum):
    contours, image = momentum.contours, np.asarray(momentum.image.get_array()).copy()
    before, after = changes(momentum.path, momentum.controls["kappa"], 10.0)
    assert differs(before, after) and momentum.contours is not contours
    assert momentum.eigenvalues.max() == pytest.approx(10.0)
    assert not np.array_equal(image, np.asarray(momentum.image.get_array()))


def test_momentum_divergence_is_named_and_cut(momentum):
    momentum.controls["momentum"].value = 0.1
    momentum.controls["lr"].value = 2.5            # eta lambda_max > 2 (1 + beta)
    assert "(diverged)" in momentum.title.get_text()
    assert np.all(np.isfinite(data(momentum.path)))


def test_momentum_blitted_frame_equals_a_fresh_explorer():
    moved = widgets.MomentumExplorer(steps=60)
    for name, value in [("kappa", 30.0), ("lr", 0.7), ("nesterov", True), ("momentum", 0.6)]:
        moved.controls[name].value = value
    fresh = widgets.MomentumExplorer(kappa=30.0, lr=0.7, momentum=0.6, nesterov=True, steps=60)
    np.testing.assert_array_equal(canvas_pixels(moved), canvas_pixels(fresh))


def test_rate_map_scrub_has_a_frame_per_kappa():
    figure = widgets.rate_map_scrub([4, 100], steps=20, alt="the rate map")
    assert len(set(figure.frames)) == 2 and figure.nbytes < 2_000_000
    assert "condition number κ" in figure.html() and 'aria-label="the rate map"' in figure.html()


def test_eigen_error_figure_marks_the_measured_rates():
    figure = widgets.eigen_error_figure(0.81, steps=60)
    error_ax, rate_ax = figure.axes
    np.testing.assert_allclose(error_ax.lines[0].get_ydata(),
                               np.abs(ol.rates.error_sequence(0.01, 1.0, 0.81, 60)),
                               rtol=1e-9, atol=1e-14)
    markers = [line for line in rate_ax.lines if np.size(line.get_xdata()) == 1]
    measured = [line.get_ydata()[0] for line in markers]
    np.testing.assert_allclose(measured, ol.rates.heavy_ball_rate([0.01, 0.1, 1.0], 1.0, 0.81),
                               rtol=1e-6)
    scrubbed = widgets.eigen_error_scrub([0.0, 0.81], steps=30)
    assert len(scrubbed.frames) == 2 and "momentum β" in scrubbed.html()


# ---------------------------------------------------------------- the Taylor explorer


@pytest.fixture
def taylor():
    return widgets.TaylorExplorer(function="himmelblau", point=(0.0, 0.0))


def test_taylor_point_moves_marker_line_and_model(taylor):
    f = ol.functions.himmelblau()
    for name, value in [("x", 1.0), ("y", -2.0)]:
        before, after = changes(taylor.lines["first"], taylor.controls[name], value)
        assert differs(before, after)
    np.testing.assert_allclose(data(taylor.panel.start), [[1.0, -2.0]])
    np.testing.assert_allclose(data(taylor.segment).mean(axis=0), [1.0, -2.0])
    assert taylor.center.get_ydata()[0] == pytest.approx(f.value([1.0, -2.0]))


def test_taylor_angle_turns_the_line(taylor):
    before, after = changes(taylor.segment, taylor.controls["angle"], 90.0)
    assert differs(before, after)
    direction = after[1] - after[0]
    np.testing.assert_allclose(direction / np.linalg.norm(direction), [0.0, 1.0], atol=1e-12)


def test_taylor_radius_sets_the_range_and_small_radii_agree(taylor):
    before, after = changes(taylor.lines["second"], taylor.controls["radius"], 0.05)
    assert differs(before, after)
    assert taylor.axes[1].get_xlim() == pytest.approx((-0.05, 0.05))
    t, second = taylor.lines["second"].get_data()
    assert t[0] == pytest.approx(-0.05) and t[-1] == pytest.approx(0.05)
    truth = taylor.lines["f"].get_ydata()
    first = taylor.lines["first"].get_ydata()
    assert np.abs(second - truth).max() < 0.05 * np.abs(first - truth).max()


def test_taylor_function_dropdown_follows_the_new_domain(taylor):
    before, after = changes(taylor.lines["f"], taylor.controls["function"], "rosenbrock")
    assert differs(before, after)
    assert taylor.panel.f.name == "rosenbrock"
    assert (taylor.controls["y"].min, taylor.controls["y"].max) == (-1.0, 3.0)


# ---------------------------------------------------------------- the Hessian explorer


@pytest.fixture
def hessian():
    return widgets.HessianExplorer(function="himmelblau")


def kinds_listed(explorer):
    return [label.split()[0] for label, value in explorer.controls["point"].options
            if value != widgets.FREE]


def test_hessian_finds_himmelblaus_nine_critical_points(hessian):
    kinds = kinds_listed(hessian)
    assert sorted(kinds) == sorted(["minimum"] * 4 + ["saddle"] * 4 + ["maximum"])
    assert sum(len(kind.get_offsets()) for kind in hessian.critical.values()) == 9


def test_hessian_point_dropdown_jumps_and_classifies(hessian):
    options = dict((label.split()[0], value) for label, value in hessian.controls["point"].options)
    hessian.controls["point"].value = options["saddle"]
    assert (hessian.controls["x"].value, hessian.controls["y"].value) == options["saddle"]
    assert hessian.label == "saddle" and hessian.title.get_text().startswith("saddle")
    colors = {to_hex(c) for c in hessian.arrows.get_facecolors()}
    assert colors == {to_hex(plotting.POSITIVE), to_hex(plotting.NEGATIVE)}
    hessian.controls["point"].value = options["maximum"]
    assert hessian.label == "maximum"
    assert {to_hex(c) for c in hessian.arrows.get_facecolors()} == {to_hex(plotting.NEGATIVE)}


def test_hessian_sliders_move_the_arrows_along_the_eigenvectors(hessian):
    f = ol.functions.himmelblau()
    for name, value in [("x", 1.0), ("y", -1.5)]:
        before = hessian.arrows.get_offsets().copy()
        hessian.controls[name].value = value
        assert differs(before, hessian.arrows.get_offsets())
    np.testing.assert_allclose(hessian.arrows.get_offsets(), [[1.0, -1.5]] * 4)
    _, vectors = np.linalg.eigh(f.hess([1.0, -1.5]))
    arrows = np.column_stack([hessian.arrows.U, hessian.arrows.V])
    for arrow, v in zip(arrows[:2], vectors.T, strict=True):
        assert abs(arrow @ v) == pytest.approx(np.linalg.norm(arrow))
    assert hessian.controls["point"].value == widgets.FREE


def test_hessian_function_dropdown_relists_critical_points(hessian):
    hessian.controls["function"].value = "six_hump_camel"
    kinds = kinds_listed(hessian)
    assert kinds.count("minimum") == 6 and kinds[0] == "minimum"
    assert hessian.panel.f.name == "six_hump_camel"
    hessian.controls["function"].value = "monkey_saddle"
    assert kinds_listed(hessian) == ["degenerate"]


# ---------------------------------------------------------------- the schedule explorer


@pytest.fixture
def schedule():
    return widgets.ScheduleExplorer(steps=60)


def test_schedule_dropdown_draws_the_schedule_and_changes_the_path(schedule):
    assert np.allclose(schedule.lr_curve.get_ydata(), 1.0)
    before, after = changes(schedule.path, schedule.controls["schedule"], "cosine")
    assert differs(before, after)
    t, ratio = schedule.lr_curve.get_data()
    np.testing.assert_allclose(ratio, 0.5 * (1 + np.cos(np.pi * t / 60)))


def test_schedule_lr_and_batch_size_change_the_path(schedule):
    for name, value in [("lr", 0.05), ("batch_size", 50)]:
        before, after = changes(schedule.path, schedule.controls[name], value)
        assert differs(before, after)


def test_schedule_full_batch_is_plain_gradient_descent(schedule):
    schedule.controls["batch_size"].value = 200
    expected = ol.minimize(schedule.f, schedule.x0, ol.sgd(0.5), steps=60)
    np.testing.assert_allclose(data(schedule.path), expected.history.x, rtol=1e-10)
    np.testing.assert_allclose(schedule.loss.get_ydata(), expected.history.f - schedule.f_star)


# ---------------------------------------------------------------- readouts and titles


def log_sliders(explorer):
    return {name: control for name, control in explorer.controls.items()
            if hasattr(control, "base")}


@pytest.mark.parametrize("make", [
    lambda: widgets.ScheduleExplorer(steps=20),
    lambda: widgets.ScheduleExplorer(lr=0.03, steps=20),
    lambda: widgets.QuadraticExplorer(kappa=20.0, steps=20),
    lambda: widgets.OptimizerRace(steps=20),
    lambda: widgets.TaylorExplorer(),
], ids=["schedule", "schedule-lr-0.03", "quadratic", "race", "taylor"])
def test_a_log_slider_lands_on_its_default(make):
    """The browser snaps a log slider to its grid of positions: the default must be one,
    or the readout shows 0.501 where the chapter says 0.5."""
    sliders = log_sliders(make())
    assert sliders
    for name, slider in sliders.items():
        position = (np.log10(slider.value) - slider.min) / slider.step
        assert abs(position - round(position)) < 1e-9, name
        shown = slider.base ** (slider.min + round(position) * slider.step)
        assert format(shown, slider.readout_format) == format(slider.value,
                                                               slider.readout_format), name
        assert slider.base ** slider.min <= slider.value <= slider.base ** slider.max, name


def test_the_schedule_explorer_reads_its_default_step_size_as_in_the_chapter():
    slider = widgets.ScheduleExplorer(steps=20).controls["lr"]
    position = round((np.log10(0.5) - slider.min) / slider.step)
    assert format(10 ** (slider.min + position * slider.step), slider.readout_format) == "0.5"


@pytest.mark.parametrize("lr, words", [
    (1.5, "converged in"),
    (0.02, "not yet converged after 200 steps"),
    (3.9, "diverged at step"),
])
def test_the_quadratic_title_says_how_the_run_ended_in_words(lr, words):
    explorer = widgets.QuadraticExplorer(lr=lr, steps=200)
    title = explorer.title.get_text()
    assert words in title and "max_steps" not in title and "(" not in title.split(",")[-1]
    assert explorer.result.status in ("converged", "max_steps", "diverged")


# ---------------------------------------------------------------- drawing and display


def canvas_pixels(explorer):
    return np.asarray(explorer.fig.canvas.buffer_rgba()).copy()


def test_blitted_frame_equals_a_fresh_explorer_in_that_state():
    moved = widgets.QuadraticExplorer(steps=60)
    moved.controls["lr"].value = 0.4
    moved.controls["momentum"].value = 0.5
    fresh = widgets.QuadraticExplorer(steps=60, lr=0.4, momentum=0.5)
    np.testing.assert_array_equal(canvas_pixels(moved), canvas_pixels(fresh))


def test_the_widget_image_follows_the_controls(quadratic):
    first = bytes(quadratic.widget.children[1].value)
    assert first.startswith(PNG_SIGNATURE)
    quadratic.controls["momentum"].value = 0.3
    assert bytes(quadratic.widget.children[1].value) != first


@pytest.fixture
def displayed(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects: shown.extend(objects))
    return shown


def test_show_gives_live_controls_in_jupyter(monkeypatch, displayed, quadratic):
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    quadratic.show()
    assert displayed[0] is quadratic.widget and len(displayed) == 2
    assert "run this cell again" in displayed[1].data    # the note for a reopened notebook


def test_show_gives_a_snapshot_and_a_note_in_the_book_build(monkeypatch, displayed, quadratic):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    quadratic.show()
    note, image = displayed
    assert widgets.STATIC_NOTE in note.data and 'class="optlib-static-note"' in note.data
    assert image.data.startswith(PNG_SIGNATURE)
    assert not any(isinstance(obj, type(quadratic.widget)) for obj in displayed)


# ---------------------------------------------------------------- kernel-free figures


def render_value(value, *more):
    fig = Figure(figsize=(2, 1.5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, value + sum(more)])
    ax.set_ylim(0, 10)
    ax.set_title(f"{value} {more}")
    return fig


def frames_in(html):
    return re.findall(r'"([A-Za-z0-9+/=]{200,})"', html)


def test_scrub_html_holds_every_frame_and_nothing_external():
    values = [1, 2, 3, 4, 5]
    figure = widgets.scrub(render_value, values, label="height")
    html = figure._repr_html_()
    assert len(figure.frames) == 5 and len(set(figure.frames)) == 5
    for frame in figure.frames:
        assert base64.b64encode(frame).decode() in html
    assert html.startswith('<div class="optlib-scrub"')
    assert re.search(r'<input type="range" min="0" max="4"', html)
    assert re.search(r'<img src="data:image/png;base64,', html)
    assert html.count('<button type="button" class="optlib-scrub-play"') == 1
    assert not re.search(r"https?:", html, re.IGNORECASE)
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)
    assert "<link" not in html and "@import" not in html


class Elements(HTMLParser):
    """Every start tag of an HTML fragment as (tag, attributes), and the text inside each."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.texts = [], {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.tags:
            self.texts[len(self.tags) - 1] = self.texts.get(len(self.tags) - 1, "") + data

    def _matches(self, tag, attrs):
        return [i for i, (t, a) in enumerate(self.tags)
                if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def find(self, tag, **attrs):
        return [self.tags[i][1] for i in self._matches(tag, attrs)]

    def text_of(self, tag, **attrs):
        return [self.texts.get(i, "") for i in self._matches(tag, attrs)]


def test_scrub_is_a_named_figure_with_labelled_keyboard_controls():
    alt = 'Paths for "small" & <large> steps.'
    figure = widgets.scrub(render_value, [0.5, 1.0, 2.0], label="step size η", alt=alt)
    html = Elements(figure.html())
    (root,) = html.find("div", role="figure")
    assert root["aria-label"] == alt and root["class"] == "optlib-scrub"
    (image,) = html.find("img")
    assert image["alt"] == "Frame for step size η = 0.5"
    (button,) = html.find("button")
    assert (button["type"], button["aria-label"], button["aria-pressed"]) == ("button", "Play",
                                                                           "false")
    (slider,) = html.find("input", type="range")
    assert slider["aria-valuetext"] == "0.5" and "data-lm-suppress-shortcuts" in slider
    assert "aria-label" not in slider and "tabindex" not in slider
    assert html.text_of("label", **{"for": slider["id"]}) == ["step size η"]
    assert html.find("span", **{"class": "optlib-scrub-value", "aria-hidden": "true"})
    (status,) = html.find("div", role="status")
    assert html.text_of("div", role="status") == [""]
    ids = [attrs["id"] for _, attrs in html.tags if "id" in attrs]
    assert len(ids) == len(set(ids)) == 2


def test_scrub2_labels_each_slider_and_names_both_values_in_the_frame():
    figure = widgets.scrub2(render_value, [1, 2], [0.0, 4.0], labels=("a", "b"), alt="Grid.")
    html = Elements(figure.html())
    sliders = html.find("input", type="range")
    assert [html.text_of("label", **{"for": s["id"]}) for s in sliders] == [["a"], ["b"]]
    assert html.find("img")[0]["alt"] == "Frame for a = 1, b = 0"
    assert figure.frame_alt([1, 1]) == "Frame for a = 2, b = 4"
    assert widgets.scrub(render_value, [1]).alt == "A figure with a slider: value"


def test_scrub_frames_are_pngs_of_the_rendered_values():
    figure = widgets.scrub(render_value, [0.5, 7.0])
    first = plt.imread(io.BytesIO(figure.frames[0]))
    last = plt.imread(io.BytesIO(figure.frames[1]))
    assert figure.frames[0].startswith(PNG_SIGNATURE)
    assert first.shape == last.shape and not np.array_equal(first, last)
    assert widgets.kernel_free.frame_png(render_value(7.0), 80, 64) == figure.frames[1]


def test_scrub_texts_cannot_break_out_of_the_page():
    figure = widgets.scrub(render_value, [1, 2], label="<b>x</b>", fmt="</script>{}")
    html = figure.html()
    assert html.count("</script>") == 1 and "&lt;b&gt;x&lt;/b&gt;" in html


def test_each_display_of_a_scrub_has_its_own_id():
    figure = widgets.scrub(render_value, [1, 2])
    ids = [re.search(r'id="([^"]+)"', figure.html()).group(1) for _ in range(3)]
    assert len(set(ids)) == 3
    html = figure.html()
    root = re.search(r'id="([^"]+)"', html).group(1)
    assert f'document.getElementById("{root}")' in html


def test_scrub2_orders_frames_as_the_sliders_index_them():
    values1, values2 = [1, 2, 3], [0.0, 4.0]
    figure = widgets.scrub2(render_value, values1, values2, labels=("a", "b"))
    assert len(figure.frames) == 6
    assert figure.frames[1 * 2 + 1] == widgets.kernel_free.frame_png(render_value(2, 4.0), 80, 64)
    html = figure.html()
    assert len(re.findall(r'<input type="range"', html)) == 2
    assert 'max="2"' in html and 'max="1"' in html
    assert "k = k * data.texts[i].length + j" in html


class CountingLayout(ConstrainedLayoutEngine):
    """Constrained layout that counts how often it lays a figure out."""

    runs = 0

    def execute(self, fig):
        self.runs += 1
        return super().execute(fig)


def counting_draws(fig):
    """``fig`` with a count of its draws in ``fig.draws``."""
    fig.draws, draw = 0, fig.draw

    def counted(renderer):
        fig.draws += 1
        return draw(renderer)

    fig.draw = counted
    return fig


def test_a_figure_drawn_again_keeps_its_first_frames_layout():
    """One layout for a figure that every frame redraws (its axes stay put while the title
    changes), its engine back afterwards; a new figure per frame is laid out each time.
    Only a frame that lays its figure out draws it twice (savefig's first draw is where
    the engine runs); the others draw it once."""
    engine = CountingLayout()
    fig = counting_draws(Figure(figsize=(3, 2), layout=engine))
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1])

    def redraw(value):
        line.set_ydata([0, value])
        ax.set_title("slope " + "9" * value)
        return fig

    figure = widgets.scrub(redraw, [1, 2, 3])
    assert engine.runs == 1 and fig.get_layout_engine() is engine
    assert len(set(figure.frames)) == 3
    assert fig.draws == 2 + 1 + 1
    engines = []

    def new_figure(value):
        engines.append(CountingLayout())
        fig = Figure(figsize=(3, 2), layout=engines[-1])
        fig.subplots().plot([0, 1], [0, value])
        return fig

    widgets.scrub(new_figure, [1, 2])
    assert [engine.runs for engine in engines] == [1, 1]
    settled = counting_draws(Figure(figsize=(3, 2), layout="constrained"))
    settled.subplots().plot([0, 1])
    settled.draw_without_rendering()   # laid out, then its layout stopped, as an explorer's
    settled.set_layout_engine("none")
    settled.draws = 0
    widgets.scrub(lambda value: settled, [1, 2])
    assert settled.draws == 2
    assert isinstance(settled.get_layout_engine(), PlaceHolderLayoutEngine)


def test_scrub_closes_pyplot_figures_and_checks_its_input():
    def render_pyplot(value):
        fig, ax = plt.subplots()
        ax.plot([0, value])
        return fig

    plt.close("all")
    widgets.scrub(render_pyplot, [1, 2, 3])
    assert plt.get_fignums() == []
    with pytest.raises(TypeError, match="Figure"):
        widgets.scrub(lambda value: None, [1])
    with pytest.raises(ValueError, match="at least one"):
        widgets.scrub(render_value, [])
    with pytest.raises(ValueError, match="two names"):
        widgets.scrub2(render_value, [1], [2], labels="ab")


def test_a_heavy_scrub_warns(monkeypatch):
    monkeypatch.setattr(widgets.kernel_free, "MAX_BYTES", 1000)
    with pytest.warns(UserWarning, match="MB"):
        widgets.scrub(render_value, [1, 2])


def test_a_realistic_scrub_stays_under_two_megabytes():
    explorer = widgets.QuadraticExplorer(steps=100)
    figure = explorer.scrub2("lr", np.linspace(0.2, 3.8, 6), "momentum",
                             np.linspace(0.0, 0.9, 6))
    assert len(figure.frames) == 36
    assert figure.nbytes < 2_000_000
    assert explorer.controls["lr"].value == 1.5 and explorer.controls["momentum"].value == 0.0
    fresh = widgets.QuadraticExplorer(steps=100)
    np.testing.assert_array_equal(canvas_pixels(explorer), canvas_pixels(fresh))


def test_explorer_scrub_renders_each_control_value():
    explorer = widgets.TaylorExplorer(function="himmelblau")
    figure = explorer.scrub("angle", [0.0, 45.0, 90.0])
    assert len(set(figure.frames)) == 3
    assert "angle" in figure.html()
    with pytest.raises(ValueError, match="control"):
        explorer.scrub("nonexistent", [1])


# ---------------------------------------------------------------- unit tests and learned optimizers


def test_the_unit_test_explorer_gives_the_runners_verdict():
    report = ol.unit_tests.run({name: ol.unit_tests.METHODS[name] for name in ("SGD", "Adam")})
    names = [case.name for case in report.cases]
    explorer = widgets.UnitTestExplorer(optimizer="SGD", shape="gaussian",
                                        settings=report.settings)
    for optimizer in ("SGD", "Adam"):
        explorer.controls["optimizer"].value = optimizer
        assert explorer.controls["lr"].value == pytest.approx(report.settings[optimizer])
        for shape, noise, scale, name in (("gaussian", "none", 0, "gaussian"),
                                          ("ridge", "none", 0, "ridge"),
                                          ("gaussian", "none", -2, "gaussian, scale 0.01"),
                                          ("quadratic", "sparse", 0, "quadratic, sparse")):
            explorer.controls["shape"].value = shape
            explorer.controls["noise"].value = noise
            explorer.controls["scale"].value = scale
            expected = bool(report.passed[optimizer][names.index(name)])
            title = explorer.verdict.get_text()
            assert title.startswith(f"{optimizer} {'passes' if expected else 'fails'}"), \
                (optimizer, name, title)


def test_the_unit_test_explorer_moves_its_path_and_refuses_bad_input():
    explorer = widgets.UnitTestExplorer(optimizer="Adam", shape="quadratic")
    before, after = changes(explorer.path, explorer.controls["lr"], 0.3)
    assert differs(before, after)
    np.testing.assert_allclose(data(explorer.path)[0, 0], ol.unit_tests.SHAPES["quadratic"].start)
    with pytest.raises(ValueError, match="optimizer"):
        widgets.UnitTestExplorer(optimizer="Lion")
    with pytest.raises(ValueError, match="noise"):
        widgets.UnitTestExplorer(noise="pink")
    with pytest.raises(ValueError, match="scale"):
        widgets.UnitTestExplorer(scale=5)


def test_the_learned_optimizer_scrub_has_a_frame_per_snapshot():
    training = ol.learned.load()
    W, y = ol.learned.quadratic_tasks(8, seed=[2026])
    figure = widgets.learned_optimizer_scrub(training, W, y, ol.adam(0.3), steps=20,
                                             iterations=[0, 200])
    assert figure.html().count("data:image/png;base64,") >= 2
    assert figure.nbytes < 1.5e6
    with pytest.raises(ValueError, match="snapshot"):
        widgets.learned_optimizer_scrub(training, W, y, ol.adam(0.3), iterations=[7])
