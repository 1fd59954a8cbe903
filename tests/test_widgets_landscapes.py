"""The landscape explorer and the edge-of-stability figure: every control moves what it
should, the planes are the loss where they say, and the kernel-free figure has a frame
per step size."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import optlib as ol  # noqa: E402
from optlib.landscape import BatchedNetworkLoss, neuron_filters  # noqa: E402
from optlib.widgets.landscapes import (  # noqa: E402
    EdgeOfStabilityFigure,
    LandscapeExplorer,
    edge_of_stability_scrub,
    slice_plane,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    X, y = ol.data.two_moons(n=60, seed=0)
    model = ol.nn.MLP([2, 8, 2], activation="relu", seed=0)
    f = BatchedNetworkLoss(model, X, y)
    run = ol.minimize(f, model.params, ol.sgd(0.5), steps=200, tol=0)
    return model, f, run.history.x[::10]


@pytest.fixture
def explorer(trained):
    model, f, path = trained
    return LandscapeExplorer(f, path, stride=10, filters=neuron_filters(model), resolution=11)


def test_the_pca_plane_holds_the_loss_and_the_path(trained):
    model, f, path = trained
    plane = slice_plane(f, path, "pca", 9)
    centre = path[-1]
    j, i = 2, 7
    point = centre + plane["alphas"][i] * plane["directions"][0] \
        + plane["betas"][j] * plane["directions"][1]
    assert plane["values"][j, i] == pytest.approx(f.value(point), rel=1e-12)
    assert plane["values"].shape == (9, 9)
    coords = plane["coords"]
    assert coords[:, 0].min() > plane["alphas"][0] and coords[:, 0].max() < plane["alphas"][-1]
    np.testing.assert_allclose(coords[-1], 0.0, atol=1e-12)
    assert 0 < plane["explained"].sum() <= 1


def test_random_planes_span_minus_one_to_one_and_unknown_kinds_are_refused(trained):
    model, f, path = trained
    for kind in ("filter", "random"):
        plane = slice_plane(f, path, kind, 5, filters=neuron_filters(model))
        assert plane["alphas"][[0, -1]].tolist() == [-1.0, 1.0]
        assert plane["explained"] is None
    with pytest.raises(ValueError, match="kind"):
        slice_plane(f, path, "hessian", 5)


def test_the_checkpoint_moves_the_path_and_nothing_else(explorer):
    plane = explorer.plane("pca", 11)
    explorer.controls["checkpoint"].value = 50
    shown = np.column_stack(explorer.shadow.get_data())
    np.testing.assert_allclose(shown, plane["coords"][:6])
    assert explorer.point.get_data()[0][0] == pytest.approx(plane["coords"][5, 0])
    assert explorer.marker.get_data()[1][0] == pytest.approx(explorer.train_loss[5])
    assert "t = 50" in explorer.title.get_text()
    assert len(explorer._planes) == 1, "moving the checkpoint computes no new plane"


def test_the_directions_and_resolution_change_the_plane(explorer):
    before = explorer.contours
    explorer.controls["directions"].value = "filter"
    assert explorer.contours is not before
    assert explorer.shadow.get_data()[0].size == len(explorer.path)
    explorer.controls["resolution"].value = 21
    assert set(explorer._planes) == {("pca", 11), ("filter", 11), ("filter", 21)}
    assert explorer.last_slice_seconds >= 0


def test_the_loss_at_the_shadow_differs_from_the_loss_off_the_plane(explorer):
    """Where the plane does not hold the path, the loss at the shadow is not L(theta_t)."""
    random_plane = explorer.plane("random", 11)
    assert not np.allclose(random_plane["shadow_loss"][:-1], explorer.train_loss[:-1],
                           rtol=0.05)
    assert random_plane["shadow_loss"][-1] == pytest.approx(explorer.train_loss[-1])


def test_the_explorer_scrubs_over_checkpoints_and_snapshots(explorer):
    figure = explorer.scrub("checkpoint", [0, 100, 200], alt="a test", dpi=40)
    assert len(figure.frames) == 3 and figure.sliders[0][0] == "training step t"
    assert explorer.snapshot(dpi=40).startswith(PNG_SIGNATURE)


def eos_runs():
    steps = np.arange(0, 100, 10)
    return {eta: (steps, 2 / eta * (1 - np.exp(-steps / 30)), np.exp(-np.arange(100) / 50))
            for eta in (0.5, 1.0)}


def test_the_edge_of_stability_figure_draws_the_chosen_run():
    figure = EdgeOfStabilityFigure(eos_runs(), band=0.1)
    figure.draw(1.0)
    assert figure.limit.get_ydata()[0] == pytest.approx(2.0)
    np.testing.assert_allclose(figure.sharpness.get_data()[1], eos_runs()[1.0][1])
    low, high = figure.band.get_extents().y0, figure.band.get_extents().y1
    assert high > low
    figure.draw(0.5)
    assert figure.limit.get_ydata()[0] == pytest.approx(4.0)


def test_the_edge_of_stability_scrub_has_a_frame_per_step_size():
    figure = edge_of_stability_scrub(eos_runs(), alt="a test", dpi=40)
    assert len(figure.frames) == 2 and figure.sliders[0][0] == "step size η"


def test_a_plane_shown_before_is_restored_as_it_was_drawn(explorer):
    explorer.controls["checkpoint"].value = 100
    first = explorer._image.value
    explorer.controls["directions"].value = "filter"
    assert explorer._image.value != first
    explorer.controls["directions"].value = "pca"
    assert explorer._image.value == first, "the restored plane is the drawn one"
    explorer.precompute()
    assert len(explorer._backgrounds) == 12 and len(explorer._planes) == 12
    assert explorer._shown == ("pca", 11) and explorer._image.value == first
