"""Loss landscapes of networks: the live explorer of a 2-D slice with the training path on
it, and the kernel-free figure of the edge of stability (the chapter "Loss landscapes of
neural networks")."""

from __future__ import annotations

import time

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import plotting
from ..landscape import pca_directions, project, random_direction
from .base import Explorer, _dropdown
from .kernel_free import scrub

#: The planes the explorer offers, and the label each has in its dropdown.
DIRECTIONS = {
    "pca": "PCA of the path",
    "filter": "filter-normalized",
    "random": "random",
}
RESOLUTIONS = (11, 21, 31, 41)


def slice_plane(loss, path, kind, resolution, filters=None, seed=1, margin=0.25):
    """The plane of a slice through the path's last point: its directions, the grid of
    offsets, the loss on it, and the path's coordinates in it.

    ``kind`` is 'pca' (the two leading PCA directions of the path, orthonormal;
    the grid covers the path's shadow with a ``margin``), 'filter' (two random
    directions, filter-normalized with ``filters``) or 'random' (two random
    directions, each scaled to |theta| as one whole vector); the last two span
    offsets in [-1, 1], as Li et al. (2018) plot them. Returns a dict with
    ``directions`` (2, d), ``alphas``, ``betas``, ``values`` (len(betas),
    len(alphas)), ``coords`` (path's least-squares coordinates, (T, 2)),
    ``explained`` (PCA only: the fraction of the path's variance in the plane)
    and ``seconds`` (CPU time of the loss evaluations).
    """
    path = np.asarray(path, dtype=float)
    centre = path[-1]
    explained = None
    if kind == "pca":
        directions, explained = pca_directions(path)
    elif kind in ("filter", "random"):
        rng = np.random.default_rng(seed)
        blocks = filters if kind == "filter" else None
        directions = np.array([random_direction(centre, blocks, rng) for _ in range(2)])
    else:
        raise ValueError(f"kind must be one of {sorted(DIRECTIONS)}, got {kind!r}")
    coords = project(path, centre, directions)
    if kind == "pca":
        low, high = coords.min(axis=0), coords.max(axis=0)
        pad = margin * (high - low)
        low, high = low - pad, high + pad
    else:
        low, high = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    alphas = np.linspace(low[0], high[0], int(resolution))
    betas = np.linspace(low[1], high[1], int(resolution))
    grid = np.stack(np.meshgrid(alphas, betas), axis=-1)
    start = time.process_time()
    values = loss.value(centre + grid @ directions)
    seconds = time.process_time() - start
    return dict(directions=directions, alphas=alphas, betas=betas, values=values,
                coords=coords, explained=explained, seconds=seconds)


class LandscapeExplorer(Explorer):
    """The loss on a 2-D slice through a trained network, with its training path.

    Left: log10 of the loss on the plane through the last checkpoint spanned by
    two directions (``directions``: the path's two PCA directions, two
    filter-normalized random ones, or two plain random ones), the path's shadow
    on that plane up to the chosen checkpoint, and the checkpoint (a dot).
    Right: the training loss at every checkpoint (solid) and the loss at its
    shadow on the plane (dashed), which agree only where the plane holds the
    path. ``loss`` evaluates a stack of parameter vectors (a
    ``landscape.BatchedNetworkLoss``); ``path`` holds checkpoints taken every
    ``stride`` steps, the last one the trained network. Each plane is computed
    once per (directions, resolution) and kept: ``last_slice_seconds`` says how
    long the latest new one took; moving the checkpoint only redraws the path.
    The first time a plane is shown the whole figure is drawn; the drawing is
    kept too, so that coming back to that plane only restores it.

    Controls: ``directions``, ``resolution`` (points per side), ``checkpoint``
    (a training step).
    """

    def __init__(self, loss, path, stride=1, filters=None, directions="pca", resolution=21,
                 checkpoint=None, seed=1):
        self.loss, self.path = loss, np.asarray(path, dtype=float)
        if self.path.ndim != 2 or len(self.path) < 3:
            raise ValueError(f"path must hold three or more checkpoints, got {self.path.shape}")
        self.stride, self.filters, self.seed = int(stride), filters, seed
        self.steps = self.stride * np.arange(len(self.path))
        self.train_loss = np.asarray(loss.value(self.path))
        self._planes, self.last_slice_seconds = {}, None
        self._backgrounds = {}
        last = int(self.steps[-1])
        controls = {
            "directions": _dropdown("directions", [(v, k) for k, v in DIRECTIONS.items()],
                                    directions),
            "resolution": _dropdown("resolution", list(RESOLUTIONS), resolution),
            "checkpoint": ipywidgets.IntSlider(
                value=last if checkpoint is None else checkpoint, min=0, max=last,
                step=self.stride, description="training step t", continuous_update=True,
                style={"description_width": "initial"}),
        }
        super().__init__(controls, figsize=(9.5, 3.9))
        plane_ax, loss_ax = self.axes
        self.contours, self.colorbar = None, None
        self.shadow = self._move(plane_ax.plot([], [], "-", color="white", linewidth=1.6)[0])
        self.point = self._move(plane_ax.plot([], [], "o", color=plotting.PALETTE[1],
                                              markeredgecolor="white", markersize=8)[0])
        plane_ax.plot([0], [0], "*", color="white", markeredgecolor=plotting.INK,
                      markersize=12, zorder=5)
        plane_ax.set(xlabel=r"$\alpha_1$", ylabel=r"$\alpha_2$")
        loss_ax.plot(self.steps, self.train_loss, "-", color=plotting.PALETTE[0],
                     label=r"$L(\theta_t)$")
        self.on_plane = loss_ax.plot([], [], "--", color=plotting.PALETTE[2],
                                     label="at its shadow on the plane")[0]
        self.marker = self._move(loss_ax.plot([], [], "o", color=plotting.PALETTE[1],
                                              markersize=7)[0])
        loss_ax.set(yscale="log", xlabel="training step $t$", ylabel="training loss")
        loss_ax.legend(loc="upper right")
        self.title = self._move(plane_ax.text(0.0, 1.03, "", transform=plane_ax.transAxes,
                                              fontsize=9))
        self._shown = None
        self._start()

    def plane(self, kind, resolution):
        """The plane for (kind, resolution), computed once (see ``slice_plane``)."""
        key = (kind, int(resolution))
        if key not in self._planes:
            plane = slice_plane(self.loss, self.path, kind, resolution, self.filters, self.seed)
            plane["shadow_loss"] = np.asarray(self.loss.value(
                self.path[-1] + plane["coords"] @ plane["directions"]))
            self._planes[key] = plane
            self.last_slice_seconds = plane["seconds"]
        return self._planes[key]

    def precompute(self):
        """Compute and draw every plane the controls offer (for a session without waits),
        then show the controls' plane again."""
        shown = {name: self.controls[name].value for name in ("directions", "resolution")}
        for kind in DIRECTIONS:
            for resolution in RESOLUTIONS:
                self._show_plane(kind, resolution)
        self._show_plane(shown["directions"], shown["resolution"])

    def _show_plane(self, kind, resolution):
        with self._hold():
            self.controls["directions"].value = kind
            self.controls["resolution"].value = resolution
        self.update()

    def update(self):
        super().update()
        self._backgrounds[self._shown] = self._background

    def _index(self):
        value = self.controls["checkpoint"].value
        return int(np.clip(round(value / self.stride), 0, len(self.path) - 1))

    def _refresh(self):
        kind = self.controls["directions"].value
        plane = self.plane(kind, self.controls["resolution"].value)
        changed = (kind, plane["alphas"].size) != self._shown
        if changed:
            self._draw_plane(plane)
            self._shown = (kind, plane["alphas"].size)
            if self._shown in self._backgrounds:      # drawn before: restore it
                self._background, changed = self._backgrounds[self._shown], False
        k = self._index()
        coords = plane["coords"]
        self.shadow.set_data(*coords[: k + 1].T)
        self.point.set_data([coords[k, 0]], [coords[k, 1]])
        self.marker.set_data([self.steps[k]], [self.train_loss[k]])
        distance = np.linalg.norm(self.path[k] - self.path[-1]
                                  - coords[k] @ plane["directions"])
        self.title.set_text(f"t = {self.steps[k]}: L = {self.train_loss[k]:.3g}, "
                            f"on the plane {plane['shadow_loss'][k]:.3g}, "
                            f"off it by {distance:.2g}")
        return changed

    def _draw_plane(self, plane):
        plane_ax, _ = self.axes
        if self.contours is not None:
            self.contours.remove()
        logs = np.log10(plane["values"])
        levels = MaxNLocator(14).tick_values(logs.min(), logs.max())
        self.contours = plane_ax.contourf(plane["alphas"], plane["betas"], logs, levels=levels,
                                          cmap="viridis", zorder=0)
        if self.colorbar is None:
            self.colorbar = self.fig.colorbar(self.contours, ax=plane_ax,
                                              label=r"$\log_{10} L$")
        else:
            self.colorbar.update_normal(self.contours)
        plane_ax.set(xlim=(plane["alphas"][0], plane["alphas"][-1]),
                     ylim=(plane["betas"][0], plane["betas"][-1]))
        self.on_plane.set_data(self.steps, plane["shadow_loss"])


# ---------------------------------------------------------------- the edge of stability


class EdgeOfStabilityFigure:
    """Full-batch gradient descent at several step sizes: the sharpness lambda_max against
    2/eta (left, a band of +-``band`` around it shaded) and the training loss (right).

    ``runs`` maps each eta to ``(steps, sharpness, losses)``: the steps at which
    the sharpness was measured, its values there, and the loss at every step.
    ``draw(eta)`` shows that run in colour and the others in grey, and returns
    the figure (laid out once).
    """

    def __init__(self, runs, band=0.2):
        self.runs = dict(runs)
        self.fig = Figure(figsize=(9.5, 3.6))
        FigureCanvasAgg(self.fig)
        self.sharp_ax, self.loss_ax = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.88, wspace=0.28)
        top = max(2 / eta for eta in self.runs) * (1 + 2 * band)
        for steps, sharpness, losses in self.runs.values():
            self.sharp_ax.plot(steps, sharpness, color="0.8", linewidth=0.8)
            self.loss_ax.plot(np.arange(len(losses)), losses, color="0.8", linewidth=0.8)
        self.sharpness = self.sharp_ax.plot([], [], "-", color=plotting.PALETTE[0],
                                            label=r"sharpness $\lambda_{\max}$")[0]
        self.limit = self.sharp_ax.axhline(np.nan, color=plotting.PALETTE[1], linestyle="--",
                                           label=r"$2/\eta$")
        self.band = None
        self.loss = self.loss_ax.plot([], [], "-", color=plotting.PALETTE[0])[0]
        self.band_width = band
        longest = max(len(losses) for _, _, losses in self.runs.values())
        self.sharp_ax.set(xlim=(0, longest), ylim=(0, top), xlabel="step $t$",
                          ylabel=r"$\lambda_{\max}(H(\theta_t))$")
        self.sharp_ax.plot([], [], "s", color=plotting.PALETTE[1], alpha=0.3,
                           label=rf"$2/\eta$ ± {band:.0%}")
        self.sharp_ax.legend(loc="lower right", fontsize=8)
        low = min(np.min(losses) for _, _, losses in self.runs.values())
        high = max(np.max(losses) for _, _, losses in self.runs.values())
        self.loss_ax.set(xlim=(0, longest), ylim=(0.8 * low, 1.25 * high), yscale="log",
                         xlabel="step $t$", ylabel=r"training loss $L(\theta_t)$")
        self.title = self.sharp_ax.set_title(" ")

    def draw(self, eta):
        steps, sharpness, losses = self.runs[eta]
        self.sharpness.set_data(steps, sharpness)
        edge = 2 / eta
        self.limit.set_ydata([edge, edge])
        if self.band is not None:
            self.band.remove()
        self.band = self.sharp_ax.axhspan((1 - self.band_width) * edge,
                                          (1 + self.band_width) * edge,
                                          color=plotting.PALETTE[1], alpha=0.15, zorder=0)
        self.loss.set_data(np.arange(len(losses)), losses)
        self.title.set_text(rf"$\eta = {eta:.3g}$, $2/\eta = {edge:.3g}$")
        return self.fig


def edge_of_stability_scrub(runs, band=0.2, **scrub_kw):
    """``EdgeOfStabilityFigure(runs, band)`` for each eta of ``runs``, behind a slider."""
    figure = EdgeOfStabilityFigure(runs, band)
    scrub_kw.setdefault("label", "step size η")
    return scrub(figure.draw, list(figure.runs), **scrub_kw)
