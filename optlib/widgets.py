"""Figures a reader can move: live explorers for Jupyter, kernel-free figures for the HTML.

**Live explorers** are small classes (``OptimizerRace``, ``QuadraticExplorer``,
``TaylorExplorer``, ``HessianExplorer``, ``ScheduleExplorer``). Each has its
controls in ``ex.controls`` (name -> ipywidget), an ``update()`` that
recomputes through batched optlib calls and moves the existing artists
(``set_data``), and ``ex.widget`` to display. The figure is drawn by Agg and
shown as an ``ipywidgets.Image``, so explorers work in plain Jupyter with no
``%matplotlib widget``; only the moving artists are redrawn over a cached
background (blitting), which keeps an update within a few tens of milliseconds.

    ex = ol.widgets.QuadraticExplorer(kappa=20)
    ex.show()          # live controls in Jupyter; a static snapshot in the built book

**The book build** sets the environment variable ``OPTLIB_STATIC=1``. Then
``show()`` (and displaying an explorer) gives the figure's initial state with
the note "This explorer runs live in Jupyter; below is its initial state."
instead of controls that no Python would answer.

**Kernel-free figures**: ``scrub(render, values, label)`` renders one frame
per value and returns HTML with a slider and play/pause buttons that swaps
base64 PNG frames with a few lines of inline JavaScript: no kernel, no
network, the same in Jupyter and in the built HTML. ``scrub2`` does the same
over a grid of two parameters with two sliders. ``ex.scrub(control, values)``
makes one from a live explorer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import itertools
import json
import os
import warnings

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import functions, optimizers, plotting, schedules
from .minimize import minimize
from .optimizers import Transform

__all__ = [
    "STATIC_ENV",
    "STATIC_NOTE",
    "static_mode",
    "Explorer",
    "OptimizerRace",
    "QuadraticExplorer",
    "TaylorExplorer",
    "HessianExplorer",
    "ScheduleExplorer",
    "Scrub",
    "scrub",
    "scrub2",
]

#: Set by the book build (``OPTLIB_STATIC=1 jupyter-book build .``): explorers show a snapshot.
STATIC_ENV = "OPTLIB_STATIC"
STATIC_NOTE = "This explorer runs live in Jupyter; below is its initial state."


def static_mode():
    """True when ``OPTLIB_STATIC`` is set to anything but '' or '0' (the book build)."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


#: The 2-D test functions the explorers offer, each with a start point worth watching.
FUNCTIONS = {
    "rosenbrock": (functions.rosenbrock, (-1.2, 1.0)),
    "beale": (functions.beale, (1.0, 1.4)),
    "himmelblau": (functions.himmelblau, (-0.3, -0.8)),
    "six_hump_camel": (functions.six_hump_camel, (-1.2, 0.9)),
    "rastrigin": (functions.rastrigin, (2.3, 2.1)),
    "saddle": (functions.saddle, (-1.5, 0.05)),
    "monkey_saddle": (functions.monkey_saddle, (0.8, 0.6)),
}


# ---------------------------------------------------------------- the live explorer


class Explorer:
    """A live figure: ``controls`` (name -> ipywidget), ``update()``, and ``widget``.

    A subclass makes its artists, marks the ones that move with ``_moving``,
    and implements ``_refresh()``: read the controls, recompute, set the moving
    artists' data, and return True when something else (contours, limits,
    legend) changed so the cached background must be redrawn.
    """

    def __init__(self, controls, ncols=2, figsize=(9.0, 3.6), dpi=80):
        plotting.style()
        self.controls = controls
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(1, ncols, squeeze=False)[0]
        self._moving = []
        self._background = None
        self._holding = False
        self._image = ipywidgets.Image(format="png")
        boxes = ipywidgets.HBox(list(controls.values()),
                                layout=ipywidgets.Layout(flex_flow="row wrap"))
        self.widget = ipywidgets.VBox([boxes, self._image])

    def _start(self):
        """Call at the end of a subclass's __init__: draw once, then follow the controls."""
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def _move(self, *artists):
        """Mark artists (lines, texts, whole Axes) as redrawn on every update."""
        for artist in artists:
            artist.set_animated(True)
            self._moving.append(artist)
        return artists[0] if len(artists) == 1 else artists

    @contextlib.contextmanager
    def _hold(self):
        """Change several controls at once with one update at the end."""
        holding, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = holding

    def _on_change(self, change):
        if not self._holding:
            self.update()

    def _new_function(self, change):
        """Follow the function dropdown: new domain, contours and start point."""
        _follow_function(self, change["new"])

    def update(self):
        """Recompute from the controls and redraw the moving artists over the background."""
        background_changed = self._refresh()
        canvas = self.fig.canvas
        if background_changed or self._background is None:
            canvas.draw()
            self.fig.set_layout_engine("none")
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._moving:
            self.fig.draw_artist(artist)
        self._image.value = self._png()

    def _png(self):
        """The canvas as it now stands, a PNG of 128 palette colours: encoding it takes half
        the time of full colour, and it is a third of the bytes to send to the browser."""
        canvas = self.fig.canvas
        rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        palette = rgba.convert("RGB").quantize(128, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        palette.save(out, format="png", compress_level=1)
        return out.getvalue()

    def snapshot(self, dpi=100, colors=256):
        """The whole figure (moving artists included) as PNG bytes with a palette of
        ``colors`` colours (0 for full colour)."""
        png = _frame(self.fig, dpi, colors)
        self._background = None  # savefig drew with a renderer of its own
        return png

    def show(self):
        """Display the live controls, or during the book build (``OPTLIB_STATIC=1``) a
        snapshot of the initial state with a one-line note."""
        from IPython.display import HTML, display
        from IPython.display import Image as PNG

        if static_mode():
            display(HTML(f'<p class="optlib-static-note"><em>{STATIC_NOTE}</em></p>'))
            display(PNG(data=self.snapshot(), format="png"))
        else:
            display(self.widget)

    def _ipython_display_(self):
        self.show()

    def scrub(self, control, values, fmt=None, **scrub_kw):
        """A kernel-free figure of this explorer: one frame per value of one control."""
        return self._frames(scrub, [control], [values], fmt=fmt, **scrub_kw)

    def scrub2(self, control1, values1, control2, values2, **scrub_kw):
        """A kernel-free figure over a grid of values of two controls."""
        return self._frames(scrub2, [control1, control2], [values1, values2], **scrub_kw)

    def _frames(self, make, names, grids, **scrub_kw):
        for name in names:
            if name not in self.controls:
                raise ValueError(f"control must be one of {sorted(self.controls)}, got {name!r}")
        saved = [self.controls[name].value for name in names]

        def render(*values):
            with self._hold():
                for name, value in zip(names, values, strict=True):
                    self.controls[name].value = value
            self._refresh()
            return self.fig

        labels = [self.controls[name].description or name for name in names]
        try:
            return make(render, *grids, labels[0] if len(labels) == 1 else labels, **scrub_kw)
        finally:
            with self._hold():
                for name, value in zip(names, saved, strict=True):
                    self.controls[name].value = value
            self._background = None
            self.update()


def _slider(description, value, low, high, step=None, log=False, readout=".3g"):
    common = dict(description=description, continuous_update=True, readout_format=readout,
                  style={"description_width": "initial"})
    if log:
        return ipywidgets.FloatLogSlider(value=value, base=10, min=np.log10(low),
                                         max=np.log10(high), step=0.05, **common)
    return ipywidgets.FloatSlider(value=value, min=low, max=high,
                                  step=step or (high - low) / 200, **common)


def _dropdown(description, options, value):
    return ipywidgets.Dropdown(description=description, options=options, value=value)


def _point_sliders(f, point):
    """Sliders for the two coordinates of a point, each over its side of ``f.domain``."""
    return tuple(_slider(name, value, low, high, readout=".2f")
                 for name, value, (low, high) in zip("xy", point, f.domain, strict=True))


def _move_slider(slider, low, high, value):
    """Give a slider a new range and value, in an order the slider always accepts."""
    slider.min, slider.max = min(low, slider.min), max(high, slider.max)
    slider.value = value
    slider.min, slider.max = low, high
    slider.step = (high - low) / 200


def _decade_above(values):
    """The smallest power of ten above the finite values."""
    return 10.0 ** np.ceil(np.log10(np.nanmax(values)))


class _FunctionPanel:
    """The left panel most explorers share: contours of f, its minima, and a start marker.

    ``show(f)`` replaces the contours when the function changes and says whether it did.
    """

    def __init__(self, explorer, ax):
        self.ax, self.f = ax, None
        self.contours = None
        self.minima = ax.plot([], [], "*", color=plotting.INK, markersize=9, zorder=3)[0]
        self.start = explorer._move(ax.plot([], [], "o", color=plotting.INK, zorder=5)[0])

    def show(self, f):
        if f is self.f:
            return False
        if self.contours is not None:
            self.contours.remove()
        self.contours = plotting.contour(f, self.ax, resolution=100, minima=False)
        self.minima.set_data(*(np.asarray(f.minima).T if f.minima is not None else ([], [])))
        self.f = f
        return True


class _Functions:
    """The objectives behind a function dropdown, each built once."""

    def __init__(self, names):
        unknown = set(names) - set(FUNCTIONS)
        if unknown:
            raise ValueError(f"functions must be among {sorted(FUNCTIONS)}, got {sorted(unknown)}")
        self.names = list(names)
        self._built = {}

    def __call__(self, name):
        if name not in self.names:
            raise ValueError(f"function must be one of {self.names}, got {name!r}")
        if name not in self._built:
            self._built[name] = FUNCTIONS[name][0]()
        return self._built[name]

    def dropdown(self, value):
        return _dropdown("function", self.names, value)


def _follow_function(explorer, name):
    """On a new function, move the x/y sliders to its domain and start point (one update)."""
    f = explorer._functions(name)
    (x_lo, x_hi), (y_lo, y_hi) = f.domain
    start = FUNCTIONS[name][1]
    with explorer._hold():
        _move_slider(explorer.controls["x"], x_lo, x_hi, start[0])
        _move_slider(explorer.controls["y"], y_lo, y_hi, start[1])
    return f


# ---------------------------------------------------------------- the optimizer race


def _side_by_side(transforms):
    """One Transform that steps row k of a (k, dim) batch with ``transforms[k]``,
    so different optimizers race in one batched ``minimize`` call."""

    def init(x):
        return tuple(tx.init(x[k]) for k, tx in enumerate(transforms))

    def update(g, state, x):
        moves = [tx.update(g[k], s, x[k])
                 for k, (tx, s) in enumerate(zip(transforms, state, strict=True))]
        return np.stack([step for step, _ in moves]), tuple(s for _, s in moves)

    return Transform(init, update, None)


#: The default racers: name -> (learning rate -> Transform, default learning rate).
RACERS = {
    "GD": (lambda lr: optimizers.sgd(lr), 2e-3),
    "Momentum": (lambda lr: optimizers.sgd(lr, momentum=0.9), 1e-3),
    "RMSprop": (lambda lr: optimizers.rmsprop(lr), 2e-2),
    "Adam": (lambda lr: optimizers.adam(lr), 0.1),
}


class OptimizerRace(Explorer):
    """Several optimizers from one start on one function: paths over the contours (left)
    and f(theta_t) - f* (right).

    Controls: ``function``, ``x`` and ``y`` (the start), ``racers`` (which
    optimizers run), and ``lr_<name>`` for each racer (``lr_gd``, ``lr_adam``...).
    All racers run in one batched ``minimize`` call.
    """

    def __init__(self, function="rosenbrock", racers=None, steps=200,
                 functions_offered=("rosenbrock", "beale", "himmelblau", "six_hump_camel",
                                    "rastrigin")):
        self.racers = dict(RACERS if racers is None else racers)
        if not self.racers:
            raise ValueError("racers must name at least one optimizer")
        self.steps = int(steps)
        self._functions = _Functions(functions_offered)
        unknown_minimum = [name for name in functions_offered
                           if self._functions(name).f_star is None]
        if unknown_minimum:
            raise ValueError(f"the race plots f - f*, so its functions need a known f*; "
                             f"{unknown_minimum} have none")
        f = self._functions(function)
        controls = {"function": self._functions.dropdown(function)}
        controls["x"], controls["y"] = _point_sliders(f, FUNCTIONS[function][1])
        controls["racers"] = ipywidgets.SelectMultiple(
            options=list(self.racers), value=tuple(self.racers), description="racers",
            rows=len(self.racers))
        for name, (_, lr) in self.racers.items():
            controls[_lr_key(name)] = _slider(f"lr {name}", lr, 1e-5, 1.0, log=True)
        super().__init__(controls)
        paths_ax, loss_ax = self.axes
        self.panel = _FunctionPanel(self, paths_ax)
        self.paths, self.losses = {}, {}
        for k, name in enumerate(self.racers):
            color = plotting.PALETTE[k % len(plotting.PALETTE)]
            self.paths[name] = self._move(paths_ax.plot([], [], ".-", color=color, markersize=3,
                                                        linewidth=1.2)[0])
            self.losses[name] = self._move(loss_ax.plot([], [], color=color, label=name)[0])
        loss_ax.set(yscale="log", xlim=(0, self.steps), xlabel="step $t$",
                    ylabel=r"$f(\theta_t) - f^\star$")
        loss_ax.legend(loc="lower left")
        self.status = self._move(loss_ax.text(0.98, 0.98, "", ha="right", va="top",
                                              transform=loss_ax.transAxes))
        self.result = None
        controls["function"].observe(self._new_function, names="value")
        self._start()

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        f = self._functions(c["function"])
        changed = self.panel.show(f)
        self.panel.start.set_data([c["x"]], [c["y"]])
        running = [name for name in self.racers if name in c["racers"]]
        for name in self.racers:
            self.paths[name].set_data([], [])
            self.losses[name].set_data([], [])
        if running:
            racers = [self.racers[name][0](c[_lr_key(name)]) for name in running]
            x0 = np.tile([c["x"], c["y"]], (len(running), 1))
            self.result = minimize(f, x0, _side_by_side(racers), steps=self.steps)
            history = self.result.history
            for k, name in enumerate(running):
                t = np.arange(int(self.result.nit[k]) + 1)
                self.paths[name].set_data(*history.x[t, k].T)
                self.losses[name].set_data(t, history.f[t, k] - f.f_star)
        if changed:
            self._scale_losses(f)
        statuses = np.atleast_1d(self.result.status) if running else []
        diverged = [name for name, status in zip(running, statuses, strict=True)
                    if status == "diverged"]
        self.status.set_text("diverged: " + ", ".join(diverged) if diverged else "")
        return changed

    def _scale_losses(self, f):
        """One y-range per function, from 1e-12 to above the highest contour level, so runs
        compare on the same axis and moving a slider never rescales it."""
        self.axes[1].set_ylim(1e-12, _decade_above(self.panel.contours.levels - f.f_star))


def _lr_key(name):
    return "lr_" + name.lower().replace(" ", "_")


# ---------------------------------------------------------------- the quadratic explorer


class QuadraticExplorer(Explorer):
    """Heavy-ball momentum on f = 1/2 theta' A theta with eigenvalues 1 and kappa.

    Left: the path over the contours. Right: |e_i(t)|, the error in each
    eigen-direction v_i (e_i = v_i'(theta_t - theta*)), beside the closed-form
    rates rho_i^t of ``plotting.heavy_ball_rate`` (dashed).

    Controls: ``kappa`` (condition number), ``lr`` (the step size as
    eta * lambda_max, stable below 2 (1 + mu)) and ``momentum`` (mu).
    """

    def __init__(self, kappa=10.0, lr=1.5, momentum=0.0, steps=200, angle=np.pi / 6):
        self.steps, self.angle = int(steps), float(angle)
        controls = {
            "kappa": _slider("κ", kappa, 1.0, 1000.0, log=True),
            "lr": _slider("η·λmax", lr, 0.02, 3.98, step=0.02, readout=".2f"),
            "momentum": _slider("μ", momentum, 0.0, 0.99, step=0.01, readout=".2f"),
        }
        super().__init__(controls)
        path_ax, error_ax = self.axes
        self.panel = _FunctionPanel(self, path_ax)
        self.path = self._move(path_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                            markersize=3, linewidth=1.2)[0])
        self.errors, self.envelopes = [], []
        for k, which in enumerate(("min", "max")):
            color = plotting.PALETTE[k]
            self.errors.append(self._move(error_ax.plot([], [], color=color,
                                                        label=rf"$\lambda_{{{which}}}$")[0]))
            self.envelopes.append(self._move(error_ax.plot([], [], "--", color=color,
                                                           linewidth=1)[0]))
        error_ax.set(yscale="log", xlim=(0, self.steps), ylim=(1e-10, 1e3), xlabel="step $t$",
                     ylabel=r"$|e_i(t)|$, error along $v_i$")
        error_ax.legend(loc="lower left")
        self.title = self._move(error_ax.set_title(" "))
        self._kappa = None
        self._start()

    def _refresh(self):
        kappa, momentum = self.controls["kappa"].value, self.controls["momentum"].value
        changed = kappa != self._kappa
        if changed:
            self.f = functions.ill_conditioned(kappa, angle=self.angle)
            self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.f.hess(self.f.x_star))
            self.x0 = self.f.x_star + self.eigenvectors @ np.array([1.0, 0.7])
            self.panel.show(self.f)
            self.panel.start.set_data(*self.x0[:, None])
            self._kappa = kappa
        lr = self.controls["lr"].value / self.eigenvalues.max()
        self.result = minimize(self.f, self.x0, optimizers.sgd(lr, momentum=momentum),
                               steps=self.steps, tol=1e-12)
        path = self.result.history.x[: self.result.nit + 1]
        self.path.set_data(*path.T)
        errors = np.abs((path - self.f.x_star) @ self.eigenvectors)
        t = np.arange(len(path))
        rates = plotting.heavy_ball_rate(self.eigenvalues, lr, momentum)
        full_t = np.arange(self.steps + 1)
        for k in range(2):
            self.errors[k].set_data(t, errors[:, k])
            with np.errstate(over="ignore"):
                self.envelopes[k].set_data(full_t, errors[0, k] * rates[k] ** full_t)
        self.title.set_text(rf"rate $\rho$ = {rates.max():.3f}  ({self.result.status})")
        return changed


# ---------------------------------------------------------------- the Taylor explorer


class TaylorExplorer(Explorer):
    """First- and second-order Taylor models of f around a chosen point theta_0.

    Left: contours with theta_0 and the line theta_0 + t u. Right: f along that
    line beside f(theta_0) + t g'u and f(theta_0) + t g'u + t^2/2 u'Hu
    (``plotting.taylor_slice``).

    Controls: ``function``, ``x`` and ``y`` (theta_0), ``angle`` (of u, in
    degrees) and ``radius`` (how far along the line to look).
    """

    def __init__(self, function="rosenbrock", point=None, angle=0.0, radius=None,
                 functions_offered=("rosenbrock", "himmelblau", "six_hump_camel", "beale",
                                    "rastrigin", "saddle", "monkey_saddle")):
        self._functions = _Functions(functions_offered)
        f = self._functions(function)
        point = FUNCTIONS[function][1] if point is None else point
        side = float(np.min(np.diff(f.domain, axis=1)))
        controls = {"function": self._functions.dropdown(function)}
        controls["x"], controls["y"] = _point_sliders(f, point)
        controls["angle"] = _slider("angle (°)", angle, -180.0, 180.0, step=1.0, readout=".0f")
        controls["radius"] = _slider("radius", 0.25 * side if radius is None else radius,
                                     0.01, 2.0 * side, log=True)
        super().__init__(controls)
        left, right = self.axes
        self.panel = _FunctionPanel(self, left)
        self.segment = self._move(left.plot([], [], "-", color=plotting.PALETTE[1])[0])
        self.lines = {
            "f": right.plot([], [], color=plotting.INK, label="$f$")[0],
            "first": right.plot([], [], "--", color=plotting.PALETTE[0], label="first order")[0],
            "second": right.plot([], [], "--", color=plotting.PALETTE[1],
                                 label="second order")[0],
        }
        self.center = right.plot([0], [0], "o", color=plotting.INK)[0]
        right.set(xlabel="$t$ along $u$", ylabel=r"$f(\theta_0 + t u)$")
        right.legend(loc="upper center")
        self._move(right)
        controls["function"].observe(self._new_function, names="value")
        self._start()

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        f = self._functions(c["function"])
        changed = self.panel.show(f)
        x0 = np.array([c["x"], c["y"]])
        u = np.array([np.cos(np.radians(c["angle"])), np.sin(np.radians(c["angle"]))])
        self.panel.start.set_data(*x0[:, None])
        self.segment.set_data(*np.stack([x0 - c["radius"] * u, x0 + c["radius"] * u]).T)
        self.slice = plotting.taylor_slice(f, x0, u, c["radius"])
        for key, line in self.lines.items():
            line.set_data(self.slice["t"], self.slice[key])
        self.center.set_data([0], [f.value(x0)])
        right = self.axes[1]
        right.set_xlim(-c["radius"], c["radius"])
        right.set_ylim(*plotting._padded_range(self.slice["f"]))
        return changed


# ---------------------------------------------------------------- the Hessian explorer


def _critical_points(f, starts_per_side=15, iterations=50):
    """The critical points Newton's iteration on grad f = 0, theta <- theta - H^+ g, reaches
    from a grid of starts over the domain, deduplicated, in order of f."""
    (x_lo, x_hi), (y_lo, y_hi) = f.domain
    grid = np.stack(np.meshgrid(np.linspace(x_lo, x_hi, starts_per_side),
                                np.linspace(y_lo, y_hi, starts_per_side)), -1).reshape(-1, 2)
    x = grid
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            x = x - np.einsum("...ij,...j->...i", np.linalg.pinv(f.hess(x)), f.grad(x))
        found = np.all(np.isfinite(x), -1) & (np.linalg.norm(f.grad(x), axis=-1) < 1e-8)
    inside = (x[:, 0] >= x_lo) & (x[:, 0] <= x_hi) & (x[:, 1] >= y_lo) & (x[:, 1] <= y_hi)
    points = x[found & inside]
    _, first = np.unique(np.round(points, 6), axis=0, return_index=True)
    points = points[first]
    return points[np.argsort(f.value(points), kind="stable")]


def _classify(eigenvalues, gradient_norm, tol=1e-6):
    """Name a point by the signs of its Hessian's eigenvalues.

    At a critical point (||g|| <= tol): 'minimum' (all lambda > tol),
    'maximum' (all < -tol), 'saddle' (both signs), else 'degenerate'
    (some |lambda| <= tol: second order cannot tell). Elsewhere the same signs
    describe the local shape: 'curving up', 'curving down', 'saddle-shaped', 'flat'.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    up, down = np.all(lam > tol), np.all(lam < -tol)
    mixed = np.any(lam > tol) and np.any(lam < -tol)
    if gradient_norm <= tol:
        return "minimum" if up else "maximum" if down else "saddle" if mixed else "degenerate"
    return "curving up" if up else "curving down" if down else \
        "saddle-shaped" if mixed else "flat"


FREE = "free"
_KIND_COLORS = {"minimum": plotting.PALETTE[0], "maximum": plotting.PALETTE[1],
                "saddle": plotting.PALETTE[2], "degenerate": plotting.PALETTE[3]}


class HessianExplorer(Explorer):
    """The Hessian at a chosen point: its eigen-directions (arrows scaled by |lambda|,
    blue for positive curvature, vermilion for negative) and what it makes the point.

    The critical points Newton's iteration finds are marked (blue minimum,
    vermilion maximum, green saddle, purple degenerate) and listed in the
    ``point`` dropdown. Controls: ``function``, ``x``, ``y``, ``point``.
    """

    def __init__(self, function="six_hump_camel", point=None,
                 functions_offered=("six_hump_camel", "himmelblau", "rosenbrock", "saddle",
                                    "monkey_saddle")):
        self._functions = _Functions(functions_offered)
        f = self._functions(function)
        controls = {"function": self._functions.dropdown(function)}
        controls["x"], controls["y"] = _point_sliders(
            f, FUNCTIONS[function][1] if point is None else point)
        controls["point"] = _dropdown("critical point", [("(free)", FREE)], FREE)
        super().__init__(controls, ncols=1, figsize=(7.0, 3.8))
        (ax,) = self.axes
        self.panel = _FunctionPanel(self, ax)
        self.panel.minima.set_visible(False)
        self.critical = ax.scatter([], [], s=40, marker="X", zorder=4, edgecolors="white",
                                   linewidths=0.5)
        ax.legend(handles=[ax.scatter([], [], s=40, marker="X", color=color, label=kind)
                           for kind, color in _KIND_COLORS.items()],
                  loc="center left", bbox_to_anchor=(1.0, 0.5))
        self.arrows = self._move(ax.quiver(
            [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], angles="xy", scale_units="xy",
            scale=1, width=0.008, zorder=6))
        self.title = self._move(ax.set_title(" "))
        controls["function"].observe(self._new_function, names="value")
        controls["point"].observe(self._jump, names="value")
        self._list_critical_points(f)
        self._start()

    def _new_function(self, change):
        f = _follow_function(self, change["new"])
        self._list_critical_points(f)

    def _list_critical_points(self, f):
        points = _critical_points(f)
        kinds = [self._kind(f, p) for p in points]
        options = [("(free)", FREE)] + [(f"{kind} ({p[0]:.3f}, {p[1]:.3f})", tuple(p))
                                        for kind, p in zip(kinds, points, strict=True)]
        with self._hold():
            self.controls["point"].options = options
            self.controls["point"].value = FREE
        self.critical.set_offsets(points.reshape(-1, 2))
        self.critical.set_facecolors([_KIND_COLORS[kind] for kind in kinds])

    @staticmethod
    def _kind(f, x):
        return _classify(np.linalg.eigvalsh(f.hess(x)), np.linalg.norm(f.grad(x)))

    def _jump(self, change):
        if change["new"] != FREE:
            with self._hold():
                self.controls["x"].value, self.controls["y"].value = change["new"]

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        f = self._functions(c["function"])
        changed = self.panel.show(f)
        x = np.array([c["x"], c["y"]])
        if c["point"] != FREE and not np.allclose(c["point"], x):
            with self._hold():
                self.controls["point"].value = FREE
        self.panel.start.set_data(*x[:, None])
        scale = 0.2 * float(np.min(np.diff(f.domain, axis=1)))
        origins, vectors, self.eigenvalues, _ = plotting.eigen_arrow_data(f, x, scale)
        self.arrows.set_offsets(origins)
        self.arrows.set_UVC(*vectors.T)
        self.arrows.set_color(plotting._curvature_colors(self.eigenvalues))
        self.label = _classify(self.eigenvalues, np.linalg.norm(f.grad(x)))
        lam = ", ".join(f"{v:.3g}" for v in self.eigenvalues)
        self.title.set_text(rf"{self.label}: $\lambda$ = ({lam}), "
                            rf"$\|\nabla f\|$ = {np.linalg.norm(f.grad(x)):.2g}")
        return changed


# ---------------------------------------------------------------- the schedule explorer


#: Learning-rate schedules for a run of T steps: name -> (eta_0, T) -> schedule.
SCHEDULES = {
    "constant": lambda lr, T: schedules.constant(lr),
    "linear decay": lambda lr, T: schedules.linear_decay(lr, lr / 100, T),
    "exponential": lambda lr, T: schedules.exponential(lr, 0.01 ** (1 / T)),
    "step": lambda lr, T: schedules.step(lr, max(1, T // 4), 0.3),
    "cosine": lambda lr, T: schedules.cosine(lr, T),
    "warmup + cosine": lambda lr, T: schedules.warmup(schedules.cosine(lr, T), max(1, T // 10)),
}


def logistic_problem(n_samples=200, seed=0):
    """A 2-D logistic regression with labels drawn from sigma(x'w), w = (1.5, -1), x ~ N(0, I):
    not separable, so the minimizer is finite; its f* is found by Newton's method."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 2))
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-X @ np.array([1.5, -1.0])))).astype(float)
    f = functions.LogisticRegression(X, y)
    w = np.zeros(2)
    for _ in range(30):
        w = w - np.linalg.solve(f.hess(w), f.grad(w))
    return f, w, float(f.value(w))


class ScheduleExplorer(Explorer):
    """Mini-batch SGD with a learning-rate schedule on a 2-D logistic regression.

    Left: contours of the full loss and the noisy path. Middle: the schedule
    eta_t / eta_0. Right: f(theta_t) - f* on the full loss.

    Controls: ``schedule``, ``lr`` (eta_0), ``batch_size``.
    """

    def __init__(self, schedule="constant", lr=0.5, batch_size=10, steps=200, seed=0,
                 start=(-3.0, 3.0)):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
        self.steps, self.seed = int(steps), seed
        self.f, self.w_star, self.f_star = logistic_problem(seed=seed)
        self.x0 = np.asarray(start, dtype=float)
        sizes = [b for b in (1, 2, 5, 10, 20, 50, 100, 200) if b <= self.f.n_samples]
        if batch_size not in sizes:
            raise ValueError(f"batch_size must be one of {sizes}, got {batch_size!r}")
        controls = {
            "schedule": _dropdown("schedule", list(SCHEDULES), schedule),
            "lr": _slider("η₀", lr, 1e-3, 10.0, log=True),
            "batch_size": _dropdown("batch size", sizes, batch_size),
        }
        super().__init__(controls, ncols=3, figsize=(11.0, 3.4))
        path_ax, lr_ax, loss_ax = self.axes
        plotting.contour(self.f, path_ax, resolution=100)
        path_ax.plot(*self.x0, "o", color=plotting.INK)
        self.path = self._move(path_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                            markersize=2, linewidth=0.8)[0])
        self.lr_curve = self._move(lr_ax.plot([], [], color=plotting.PALETTE[1])[0])
        lr_ax.set(xlim=(0, self.steps), ylim=(0, 1.05), xlabel="step $t$",
                  ylabel=r"$\eta_t / \eta_0$")
        self.loss = self._move(loss_ax.plot([], [], color=plotting.PALETTE[0])[0])
        loss_ax.set(yscale="log", xlim=(0, self.steps), ylim=(1e-6, 1e1), xlabel="step $t$",
                    ylabel=r"$f(\theta_t) - f^\star$")
        self._start()

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        schedule = SCHEDULES[c["schedule"]](c["lr"], self.steps)
        self.result = minimize(self.f, self.x0, optimizers.sgd(schedule), steps=self.steps,
                               batch_size=c["batch_size"], seed=self.seed)
        t = np.arange(self.result.nit + 1)
        self.path.set_data(*self.result.history.x[t].T)
        self.loss.set_data(t, self.result.history.f[t] - self.f_star)
        steps = np.arange(self.steps)
        self.lr_curve.set_data(steps, schedule(steps) / c["lr"])
        return False


# ---------------------------------------------------------------- kernel-free figures


_ids = itertools.count()
#: The weight above which a kernel-free figure warns (base64 frames, in bytes).
MAX_BYTES = 2_000_000


def _frame(figure, dpi, colors):
    """One frame: the figure as a PNG with a palette of ``colors`` colours (a third to a
    quarter the bytes of full colour for line art)."""
    if not hasattr(figure, "savefig"):
        raise TypeError(f"render must return a matplotlib Figure, got {type(figure).__name__}")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi)
    plt.close(figure)
    image = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png")
    return out.getvalue()


def _texts(values, fmt):
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    if fmt is None:
        return [f"{v:.3g}" if isinstance(v, int | float | np.number) else str(v) for v in values]
    return [fmt.format(v) for v in values]


class Scrub:
    """Precomputed frames behind one or two sliders: a figure that moves with no kernel.

    Displays as self-contained HTML (``_repr_html_``): a
    ``<div class="optlib-scrub">`` holding an ``<img>`` with the current frame
    as a base64 PNG ``src``, an ``<input type="range">`` per parameter, play and
    pause buttons (play steps the first slider), and inline JavaScript with
    every frame. Nothing outside the HTML is referenced. Each display gets its
    own element id, so several scrubs share a page.
    """

    def __init__(self, frames, sliders, interval=200):
        self.frames = list(frames)
        self.sliders = [(label, list(texts)) for label, texts in sliders]
        shape = [len(texts) for _, texts in self.sliders]
        if int(np.prod(shape)) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames do not fill a grid of shape {shape}")
        self.interval = int(interval)
        size = sum(len(frame) for frame in self.frames) * 4 / 3
        if size > MAX_BYTES:
            warnings.warn(f"the frames take {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB "
                          "a figure should weigh: use fewer values, a smaller figure or a lower "
                          "dpi", stacklevel=3)

    @property
    def nbytes(self):
        """The size of the HTML, in bytes."""
        return len(self.html().encode())

    def __repr__(self):
        shape = " x ".join(str(len(texts)) for _, texts in self.sliders)
        return f"<Scrub: {shape} frames, {self.nbytes / 1e3:.0f} kB>"

    def _repr_html_(self):
        return self.html()

    def html(self):
        """The figure as one self-contained HTML fragment."""
        digest = hashlib.sha1(b"".join(self.frames[:1]) + repr(self.sliders).encode())
        root = f"optlib-scrub-{digest.hexdigest()[:10]}-{next(_ids)}"
        frames = [base64.b64encode(frame).decode("ascii") for frame in self.frames]
        rows = "".join(
            f'<label style="display:grid;grid-template-columns:8em 1fr 5em;gap:0.5em;'
            f'align-items:center"><span>{html.escape(label)}</span>'
            f'<input type="range" min="0" max="{len(texts) - 1}" step="1" value="0" '
            f'aria-label="{html.escape(label)}">'
            f"<output>{html.escape(texts[0])}</output></label>"
            for label, texts in self.sliders
        )
        data = json.dumps({"frames": frames, "texts": [texts for _, texts in self.sliders],
                           "interval": self.interval}).replace("</", "<\\/")
        return (
            f'<div class="optlib-scrub" id="{root}" style="display:inline-block;max-width:100%">'
            f'<img src="data:image/png;base64,{frames[0]}" alt="figure frame" '
            f'style="max-width:100%;height:auto;display:block">'
            f'<div style="display:flex;gap:0.5em;align-items:center;flex-wrap:wrap">'
            f'<button type="button" class="optlib-scrub-play" aria-label="play">&#9654;</button>'
            f'<button type="button" class="optlib-scrub-pause" aria-label="pause">'
            f"&#10074;&#10074;</button>"
            f'<div style="flex:1;min-width:12em">{rows}</div></div>'
            f"<script>{_SCRUB_JS.replace('ROOT', root).replace('DATA', data)}</script></div>"
        )


_SCRUB_JS = """(function () {
  var root = document.getElementById("ROOT"), data = DATA;
  var img = root.querySelector("img"), timer = null;
  var ranges = root.querySelectorAll("input[type=range]");
  var outputs = root.querySelectorAll("output");
  function show() {
    var k = 0;
    for (var i = 0; i < ranges.length; i++) {
      var j = Number(ranges[i].value);
      k = k * data.texts[i].length + j;
      outputs[i].textContent = data.texts[i][j];
    }
    img.src = "data:image/png;base64," + data.frames[k];
  }
  for (var i = 0; i < ranges.length; i++) {
    ranges[i].addEventListener("input", show);
    ranges[i].addEventListener("change", show);
  }
  root.querySelector(".optlib-scrub-play").addEventListener("click", function () {
    if (timer !== null) return;
    timer = setInterval(function () {
      var first = ranges[0];
      first.value = (Number(first.value) + 1) % data.texts[0].length;
      show();
    }, data.interval);
  });
  root.querySelector(".optlib-scrub-pause").addEventListener("click", function () {
    clearInterval(timer);
    timer = null;
  });
})();"""


def scrub(render, values, label="value", fmt=None, dpi=80, colors=64, interval=200):
    """A kernel-free figure: one frame per value, a slider and play/pause to move through them.

    ``render(value)`` returns a matplotlib Figure for that value (a new one,
    or the same one with its artists updated); each is saved as a PNG of
    ``colors`` palette colours at ``dpi`` and closed. ``fmt`` formats the value
    beside the slider (default 3 significant digits). Returns a ``Scrub``,
    which displays as self-contained HTML in Jupyter and in the built book.

    Size: about 10-30 kB a frame at the defaults; keep a figure under 2 MB
    (``scrub.nbytes``) with fewer frames, a smaller figure or a lower dpi.
    """
    values = list(values)
    texts = _texts(values, fmt)
    frames = [_frame(render(value), dpi, colors) for value in values]
    return Scrub(frames, [(label, texts)], interval)


def scrub2(render, values1, values2, labels=("p1", "p2"), fmt=None, dpi=80, colors=64,
           interval=200):
    """A kernel-free figure over a (p1 x p2) grid: two sliders pick the frame.

    ``render(value1, value2)`` returns a Figure; ``labels`` names the two
    sliders. Play steps the first slider. See ``scrub`` for the rest.
    """
    if isinstance(labels, str) or len(labels) != 2:
        raise ValueError(f"labels must be two names, got {labels!r}")
    values1, values2 = list(values1), list(values2)
    texts1, texts2 = _texts(values1, fmt), _texts(values2, fmt)
    frames = [_frame(render(a, b), dpi, colors) for a in values1 for b in values2]
    return Scrub(frames, [(labels[0], texts1), (labels[1], texts2)], interval)
