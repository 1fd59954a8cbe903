"""Momentum on a quadratic: the live explorer, and the two kernel-free figures of the
chapter "Momentum and Nesterov acceleration" (the rate map over (eta, beta) with a slider
over kappa, the error along each eigen-direction with a slider over beta)."""

from __future__ import annotations

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import functions, optimizers, plotting, rates
from ..minimize import minimize
from .base import Explorer, _slider
from .kernel_free import scrub

#: A run whose error grows past this factor of its start has diverged; the path stops there.
BLOW_UP = 1e6

#: The rate-map panel's grid: eta lambda_max in (0, 4], beta in [0, 0.99].
LR_GRID = np.linspace(0, 4, 121)[1:]
MOMENTUM_GRID = np.linspace(0, 0.99, 100)


def _rate_grid(eigenvalues, nesterov):
    """The closed-form rate over (MOMENTUM_GRID x LR_GRID), eta in units of 1/lambda_max."""
    lam = np.asarray(eigenvalues, dtype=float) / np.max(eigenvalues)
    rate = rates.nesterov_rate if nesterov else rates.heavy_ball_rate
    return rate(lam, LR_GRID[None, :], MOMENTUM_GRID[:, None]).max(axis=-1)


def _critical_curve(eigenvalue, nesterov):
    """(eta lambda_max, beta) along critical damping of a direction (eigenvalue / lambda_max)."""
    top = 1 if nesterov else 4
    eta = LR_GRID[LR_GRID * eigenvalue < top]
    return eta, rates.critical_momentum(eigenvalue, eta, nesterov)


class MomentumExplorer(Explorer):
    """Heavy ball or Nesterov on f = 1/2 theta' A theta with eigenvalues 1 and kappa.

    Left: the path over the contours (for Nesterov, the look-ahead points that
    optlib's transform iterates). Middle: |e_i(t)|, the error along each
    eigen-direction u_i, beside rho_i^t |e_i(0)| (dashed), the closed-form
    rate of ``rates``; at a double root the error decays like t rho^t and
    stays above its line. Right: the closed-form rate map over (eta lambda_max,
    beta) for this kappa, with the critical-damping curves of both directions,
    the stability limit and a cross at the current (eta, beta).

    Controls: ``kappa``, ``lr`` (eta lambda_max), ``momentum`` (beta) and
    ``nesterov``.
    """

    def __init__(self, kappa=100.0, lr=1.0, momentum=0.81, nesterov=False, steps=150,
                 angle=np.pi / 6):
        self.steps, self.angle = int(steps), float(angle)
        controls = {
            "kappa": _slider("κ", kappa, 1.0, 1000.0, log=True),
            "lr": _slider("η·λmax", lr, 0.02, 3.98, step=0.02, readout=".2f"),
            "momentum": _slider("β", momentum, 0.0, 0.99, step=0.01, readout=".2f"),
            "nesterov": ipywidgets.Checkbox(value=bool(nesterov), description="Nesterov"),
        }
        super().__init__(controls, ncols=3, figsize=(11.0, 3.6))
        path_ax, error_ax, map_ax = self.axes
        self.contours = None
        self.path = self._move(path_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                            markersize=3, linewidth=1.2)[0])
        path_ax.plot([0], [0], "*", color=plotting.INK, markersize=9, zorder=3)
        path_ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), xlabel=r"$\theta_1$",
                    ylabel=r"$\theta_2$", aspect="equal")
        self._error_panel(error_ax)
        self._map_panel(map_ax)
        self._problem = None
        self._start()

    def _error_panel(self, ax):
        self.errors, self.envelopes = [], []
        for k, which in enumerate(("min", "max")):
            color, style = plotting.PALETTE[k], plotting.LINESTYLES[k]
            self.errors.append(self._move(ax.plot([], [], color=color, linestyle=style,
                                                  label=rf"$\lambda_{{\{which}}}$")[0]))
            self.envelopes.append(self._move(ax.plot([], [], ":", color=color, linewidth=1)[0]))
        ax.set(yscale="log", xlim=(0, self.steps), ylim=(1e-12, 1e2), xlabel="step $t$",
               ylabel=r"$|e_{t,i}|$, error along $u_i$")
        ax.legend(loc="lower left")
        # a plain text, not the Axes title, whose redraw lays out the whole Axes again
        self.title = self._move(ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center",
                                        va="bottom"))

    def _map_panel(self, ax):
        self.colors = plt.get_cmap("viridis").with_extremes(over="#d9d9d9")
        self.norm = plotting.rate_norm()
        extent = (0, LR_GRID[-1] + LR_GRID[0] / 2, 0, MOMENTUM_GRID[-1])
        # RGBA pixels made once per kappa: colour-mapping on every redraw would cost more
        self.image = self._move(ax.imshow(np.zeros((MOMENTUM_GRID.size, LR_GRID.size, 4)),
                                          origin="lower", aspect="auto", extent=extent,
                                          interpolation="nearest"))
        self.critical = [self._move(ax.plot([], [], style, color=plotting.INK,
                                            linewidth=1.2)[0]) for style in ("--", ":")]
        self.limit = self._move(ax.plot([], [], "-", color=plotting.INK, linewidth=1.2)[0])
        self.marker = self._move(ax.plot([], [], "X", color="white", markeredgecolor="black",
                                         markersize=10)[0])
        ax.set(xlim=extent[:2], ylim=extent[2:], xlabel=r"$\eta\lambda_{\max}$",
               ylabel=r"momentum $\beta$", title=r"rate $\rho$ (darker is faster)")

    def update(self):
        """Redraw in two layers: the rate map and contours change only with kappa and the
        method, and are drawn into the cached background then; the run's artists are drawn
        over it on every change."""
        kappa = self.controls["kappa"].value
        nesterov = bool(self.controls["nesterov"].value)
        canvas = self.fig.canvas
        if self._background is None:
            for artist in self._moving:
                artist.set_animated(True)
            canvas.draw()
            self.fig.set_layout_engine("none")
            self._static = canvas.copy_from_bbox(self.fig.bbox)
            self._problem = None
        if (kappa, nesterov) != self._problem:
            if kappa != (self._problem and self._problem[0]):
                self._new_problem(kappa)
            self._draw_map(nesterov)
            self._problem = (kappa, nesterov)
            canvas.restore_region(self._static)
            for artist in self._layer:
                self.fig.draw_artist(artist)
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        self._draw_run(nesterov)
        for artist in self._run_artists:
            self.fig.draw_artist(artist)
        self._image.value = self._png()

    def _refresh(self):
        """Set every artist for the current controls (for snapshots and scrubs)."""
        kappa = self.controls["kappa"].value
        nesterov = bool(self.controls["nesterov"].value)
        if kappa != (self._problem and self._problem[0]):
            self._new_problem(kappa)
        self._draw_map(nesterov)
        self._problem = (kappa, nesterov)
        self._draw_run(nesterov)
        return True

    @property
    def _layer(self):
        """The artists that change with kappa and the method only."""
        return [self.image, *self.critical, self.limit, self.contours]

    @property
    def _run_artists(self):
        layer = {id(artist) for artist in self._layer}
        return [artist for artist in self._moving if id(artist) not in layer]

    def _new_problem(self, kappa):
        """A new quadratic: its eigen-decomposition, start and contours (a moving artist)."""
        self.f = functions.ill_conditioned(kappa, angle=self.angle)
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.f.hess(self.f.x_star))
        self.x0 = self.f.x_star + self.eigenvectors @ np.array([1.0, 0.7])
        if self.contours is not None:
            self._moving.remove(self.contours)
            self.contours.remove()
        self.contours = self._move(plotting.contour(self.f, self.axes[0], levels=14,
                                                    resolution=60, minima=False))

    def _draw_map(self, nesterov):
        self.image.set_data(self.colors(self.norm(_rate_grid(self.eigenvalues, nesterov))))
        relative = self.eigenvalues / self.eigenvalues.max()
        for line, eigenvalue in zip(self.critical, relative, strict=True):
            line.set_data(*_critical_curve(eigenvalue, nesterov))
        self.limit.set_data(rates.stability_limit(MOMENTUM_GRID, nesterov), MOMENTUM_GRID)

    def _draw_run(self, nesterov):
        product, momentum = self.controls["lr"].value, self.controls["momentum"].value
        lr = product / self.eigenvalues.max()
        path = run_path(self.f, self.x0, optimizers.sgd(lr, momentum=momentum,
                                                        nesterov=nesterov), self.steps)
        self.path_points = path
        self.path.set_data(*path.T)
        errors = np.abs((path - self.f.x_star) @ self.eigenvectors)
        rate = rates.nesterov_rate if nesterov else rates.heavy_ball_rate
        per_direction = rate(self.eigenvalues, lr, momentum)
        t, full_t = np.arange(len(path)), np.arange(self.steps + 1)
        for k in range(2):
            self.errors[k].set_data(t, errors[:, k])
            with np.errstate(over="ignore"):
                self.envelopes[k].set_data(full_t, errors[0, k] * per_direction[k] ** full_t)
        self.marker.set_data([product], [momentum])
        name = "Nesterov" if nesterov else "heavy ball"
        status = " (diverged)" if len(path) <= self.steps else ""
        self.title.set_text(f"{name}: rate ρ = {per_direction.max():.4f}{status}")


def run_path(f, x0, tx, steps):
    """theta_0, ..., theta_steps of the transform ``tx`` on ``f`` from ``x0`` (a lean loop,
    without ``minimize``'s bookkeeping), cut where the error first exceeds BLOW_UP times
    its start."""
    x = np.array(x0, dtype=float)
    state, path = tx.init(x), np.empty((steps + 1, x.size))
    path[0] = x
    limit = BLOW_UP * max(np.linalg.norm(x - f.x_star), 1.0)
    with np.errstate(all="ignore"):
        for t in range(steps):
            step, state = tx.update(f.grad(x), state, x)
            x = x + step
            if not np.linalg.norm(x - f.x_star) < limit:
                return path[: t + 1]
            path[t + 1] = x
    return path


# ---------------------------------------------------------------- kernel-free figures


def rate_map_scrub(kappas, steps=200, **scrub_kw):
    """The measured rate map of heavy ball (``plotting.rate_map`` with its closed-form
    guides) for each condition number in ``kappas``, behind a slider over kappa.

    The eigenvalues are kappa^-1 and 1, so eta on the x-axis is eta lambda_max.
    The layout is fixed (no layout engine), which halves the time a frame takes.
    """

    def render(kappa):
        fig = Figure(figsize=(7.0, 4.6))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.09, 0.26, 0.72, 0.66))
        image = plotting.rate_map([1 / kappa, 1.0], LR_GRID, MOMENTUM_GRID, ax=ax,
                                  steps=steps, colorbar=False)
        bar = fig.colorbar(image, cax=fig.add_axes((0.84, 0.26, 0.025, 0.66)),
                           label=r"rate $\rho$ (grey: diverges)", extend="max")
        bar.set_ticks([0, 0.9, 0.99, 0.999, 0.9999, 0.99999])
        bar.set_ticklabels(["0", "0.9", "0.99", "0.999", "0.9999", "0.99999"])
        ax.set_xlabel(r"step size $\eta$ (in units of $1/\lambda_{\max}$)")
        ax.set_title(rf"$\kappa = {kappa:g}$")
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8,
                   bbox_to_anchor=(0.5, 0.0))
        return fig

    scrub_kw.setdefault("label", "condition number κ")
    scrub_kw.setdefault("colors", 256)
    return scrub(render, kappas, **scrub_kw)


def eigen_errors(eigenvalues, lr, momentum, steps, nesterov=False):
    """The error along each eigen-direction from an optlib run: e_{t,i} for t = 0..steps.

    The quadratic is 1/2 sum_i lambda_i theta_i^2 (its eigen-directions are the
    coordinates) and the run starts at theta_0 = (1, ..., 1) with zero velocity.
    Returns shape (steps + 1, d).
    """
    f = functions.quadratic(np.diag(np.asarray(eigenvalues, dtype=float)))
    tx = optimizers.sgd(lr, momentum=momentum, nesterov=nesterov)
    return minimize(f, np.ones(f.dim), tx, steps=steps, tol=0.0).history.x


class EigenErrorFigure:
    """Left: |e_{t,i}| from a heavy-ball run (``eigen_errors``) in each eigen-direction,
    with the closed-form rho_i^t (thin, dotted). Right: rho_i against beta (closed form),
    the current beta (vertical line) and the rates measured from the run (markers).

    One figure, laid out once; ``draw(momentum)`` moves its lines to a new beta and
    returns it (so that a scrub over beta does not lay out every frame again).
    """

    def __init__(self, eigenvalues=(0.01, 0.1, 1.0), lr=1.0, steps=150):
        self.eigenvalues = np.asarray(eigenvalues, dtype=float)
        self.lr, self.steps = float(lr), int(steps)
        self.fig = Figure(figsize=(9.5, 3.8))
        FigureCanvasAgg(self.fig)
        error_ax, rate_ax = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
        betas = np.linspace(0, 0.99, 400)
        self.errors, self.envelopes, self.markers = [], [], []
        for k, value in enumerate(self.eigenvalues):
            color, style, marker = (plotting.PALETTE[k], plotting.LINESTYLES[k],
                                    plotting.MARKERS[k])
            label = rf"$\eta\lambda = {self.lr * value:g}$"
            self.errors.append(error_ax.plot([], [], color=color, linestyle=style,
                                             label=label)[0])
            self.envelopes.append(error_ax.plot([], [], ":", color=color, linewidth=0.9)[0])
            rate_ax.plot(betas, rates.heavy_ball_rate([value], self.lr, betas[:, None])[:, 0],
                         color=color, linestyle=style, label=label)
            self.markers.append(rate_ax.plot([], [], marker, color=color, markersize=7,
                                             markeredgecolor=plotting.INK)[0])
        error_ax.set(yscale="log", ylim=(1e-12, 3.0), xlim=(0, self.steps), xlabel="step $t$",
                     ylabel=r"$|e_{t,i}|$ (dotted: $\rho_i^t$)")
        error_ax.legend(loc="lower left")
        self.line = rate_ax.axvline(0.0, color=plotting.INK, linewidth=0.8)
        rate_ax.plot(betas, np.sqrt(betas), color="0.6", linewidth=0.8, zorder=0)
        rate_ax.text(0.1, 0.42, r"$\sqrt{\beta}$", color="0.4", fontsize=9)
        rate_ax.set(xlabel=r"momentum $\beta$", ylabel=r"rate $\rho_i$ (markers: measured)",
                    xlim=(0, 1), ylim=(0, 1.02))
        self.title = rate_ax.set_title(" ")

    def draw(self, momentum):
        errors = eigen_errors(self.eigenvalues, self.lr, momentum, self.steps)
        measured = plotting.momentum_rates(self.eigenvalues, [self.lr], [momentum],
                                           per_direction=True)[0, 0]
        t = np.arange(self.steps + 1)
        closed = rates.heavy_ball_rate(self.eigenvalues, self.lr, momentum)
        for k in range(self.eigenvalues.size):
            self.errors[k].set_data(t, np.abs(errors[:, k]))
            self.envelopes[k].set_data(t, closed[k] ** t)
            self.markers[k].set_data([momentum], [measured[k]])
        self.line.set_xdata([momentum, momentum])
        self.title.set_text(rf"$\beta = {momentum:g}$")
        return self.fig


def eigen_error_figure(momentum, eigenvalues=(0.01, 0.1, 1.0), lr=1.0, steps=150):
    """``EigenErrorFigure(eigenvalues, lr, steps).draw(momentum)``: a new figure."""
    return EigenErrorFigure(eigenvalues, lr, steps).draw(momentum)


def eigen_error_scrub(momenta, eigenvalues=(0.01, 0.1, 1.0), lr=1.0, steps=150, **scrub_kw):
    """``EigenErrorFigure`` at each momentum in ``momenta``, behind a slider over beta."""
    scrub_kw.setdefault("label", "momentum β")
    return scrub(EigenErrorFigure(eigenvalues, lr, steps).draw, momenta, **scrub_kw)
