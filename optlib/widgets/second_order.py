"""Second-order methods: the live explorer, and the kernel-free figures of the chapter
"Second-order methods" (Newton's basins of attraction with a slider over the damping nu,
the trust-region step with a slider over the radius r)."""

from __future__ import annotations

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .. import functions, landscape, plotting
from ..minimize import minimize
from ..second_order import basins, dogleg, trust_region_exact
from ..second_order.trust_region import cauchy_point
from .base import (
    FUNCTIONS,
    Explorer,
    _decade_above,
    _follow_function,
    _FunctionPanel,
    _Functions,
    _point_sliders,
)
from .kernel_free import scrub

#: The methods the explorer offers: label -> (minimize's method name, its options).
METHODS = {
    "gradient descent": ("gd_backtracking", {"warm_start": True}),
    "Newton (plain)": ("newton", {"modify": False, "line_search": None}),
    "Newton (modified)": ("newton", {}),
    "BFGS": ("bfgs", {}),
    "L-BFGS": ("lbfgs", {"m": 5}),
    "trust region": ("trust_region", {}),
}
#: The gradient norm at which a run counts as converged.
TOL = 1e-8


class SecondOrderExplorer(Explorer):
    """Gradient descent, Newton (plain and modified), BFGS, L-BFGS and a trust-region method
    from one start on one function: paths over the contours, with the minima (stars),
    saddles (crosses) and maxima (triangles) marked (left), and the gradient norm ||g_t||
    against the iteration t (right; plain Newton converges to saddles and maxima too,
    where ||g_t|| also falls to 0).

    Controls: ``function``, ``x`` and ``y`` (the start), ``methods`` (which run).
    Every method is optlib's ``minimize`` with its method name (``METHODS``), for
    at most ``steps`` iterations, stopping at ||g|| < 1e-8. ``finals`` holds, per
    method, the last point and what it is ('minimum', 'saddle', 'maximum' or
    'not converged').
    """

    def __init__(self, function="rosenbrock", start=None, steps=60,
                 functions_offered=("rosenbrock", "himmelblau", "six_hump_camel", "beale")):
        self.steps = int(steps)
        self._functions = _Functions(functions_offered)
        f = self._functions(function)
        controls = {"function": self._functions.dropdown(function)}
        controls["x"], controls["y"] = _point_sliders(
            f, FUNCTIONS[function][1] if start is None else start)
        controls["methods"] = ipywidgets.SelectMultiple(
            options=list(METHODS), value=tuple(METHODS), description="methods",
            rows=len(METHODS))
        super().__init__(controls, figsize=(10.5, 3.8))
        paths_ax, norm_ax = self.axes
        self.panel = _FunctionPanel(self, paths_ax)
        self.paths, self.norms = {}, {}
        for k, name in enumerate(METHODS):
            style = dict(color=plotting.PALETTE[k], linestyle=plotting.LINESTYLES[k])
            self.paths[name] = self._move(paths_ax.plot([], [], marker=plotting.MARKERS[k],
                                                        markersize=3, linewidth=1.2,
                                                        **style)[0])
            self.norms[name] = self._move(norm_ax.plot([], [], marker=plotting.MARKERS[k],
                                                       markersize=3, label=name, **style)[0])
        norm_ax.set(yscale="log", xlim=(0, self.steps), xlabel="iteration $t$",
                    ylabel=r"$\|g_t\|$")
        norm_ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        self.critical = {kind: paths_ax.plot([], [], marker, color="white",
                                             markeredgecolor=plotting.INK, markersize=7,
                                             zorder=4)[0]
                         for kind, marker in (("saddle", "X"), ("maximum", "^"))}
        self.results, self.finals, self._critical_points = {}, {}, {}
        controls["function"].observe(self._new_function, names="value")
        self._start()

    def _new_function(self, change):
        _follow_function(self, change["new"])

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        f = self._functions(c["function"])
        changed = self.panel.show(f)
        start = np.array([c["x"], c["y"]])
        self.panel.start.set_data([start[0]], [start[1]])
        if changed:
            self._mark_critical_points(f)
        self.results, self.finals = {}, {}
        for name in METHODS:
            path, norm = self.paths[name], self.norms[name]
            if name not in c["methods"]:
                path.set_data([], [])
                norm.set_data([], [])
                continue
            method, options = METHODS[name]
            result = minimize(f, start, method, steps=self.steps, tol=TOL, **options)
            self.results[name] = result
            history = result.history
            path.set_data(*history.x.T)
            norm.set_data(np.arange(len(history.grad_norm)), history.grad_norm)
            self.finals[name] = (result.x, _what(f, result))
        if changed:
            self.axes[1].set_ylim(1e-12, _decade_above(
                np.linalg.norm(f.grad(_grid(f)), axis=-1)))
        return changed


    def _mark_critical_points(self, f):
        """Saddles (crosses) and maxima (triangles) over the contours; minima are stars."""
        if f.name not in self._critical_points:
            points = landscape.critical_points(f, _grid(f, 12))
            kinds = np.array([_kind(lam) for lam in np.linalg.eigvalsh(f.hess(points))])
            self._critical_points[f.name] = {kind: points[kinds == kind]
                                             for kind in self.critical}
        for kind, line in self.critical.items():
            line.set_data(*self._critical_points[f.name][kind].T)


def _grid(f, n=30):
    (x_lo, x_hi), (y_lo, y_hi) = f.domain
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, n), np.linspace(y_lo, y_hi, n))
    return np.stack([X.ravel(), Y.ravel()], -1)


def _what(f, result):
    """'minimum', 'saddle' or 'maximum' for a run that converged (by the signs of the
    Hessian's eigenvalues there), else 'not converged' or 'diverged'."""
    if result.status == "diverged":
        return "diverged"
    if result.status != "converged":
        return "not converged"
    eigenvalues = np.linalg.eigvalsh(f.hess(result.x))
    if eigenvalues[0] > 0:
        return "minimum"
    return "maximum" if eigenvalues[-1] < 0 else "saddle"


# ---------------------------------------------------------------- basins of attraction


class BasinFigure:
    """Newton's basins of attraction on Himmelblau's function, for the plain iteration
    (left) and the saddle-free one with |H| (right), both damped by nu:

        theta <- theta - (H + nu I)^{-1} g     and     theta <- theta - (|H| + nu I)^{-1} g.

    Each start of a ``resolution`` x ``resolution`` grid is coloured by the critical
    point its iteration reaches within ``steps`` steps (``second_order.basins``):
    blue and green shades for the four minima, orange and red shades for the four
    saddles, pink for the maximum, light grey where it has not converged. Every
    critical point is marked (star: minimum, cross: saddle, triangle: maximum) and
    named. One figure, laid out once; ``draw(nu)`` recolours it and returns it.
    ``labels`` holds the last grids drawn (index into ``critical``, -1 for none).
    """

    COLORS = ("#0072B2", "#56B4E9", "#009E73", "#7FD1B9",   # minima
              "#D55E00", "#E69F00", "#F0A07A", "#B8621B",   # saddles
              "#CC79A7")                                    # the maximum
    UNCONVERGED = "#E8E8E8"

    def __init__(self, resolution=150, steps=100):
        plotting.style()
        self.f = functions.himmelblau()
        self.critical = landscape.critical_points(self.f, 400)
        self.eigenvalues = np.linalg.eigvalsh(self.f.hess(self.critical))
        self.kinds = [_kind(lam) for lam in self.eigenvalues]
        order = np.argsort([("minimum", "saddle", "maximum").index(k) for k in self.kinds],
                           kind="stable")
        self.critical, self.eigenvalues = self.critical[order], self.eigenvalues[order]
        self.kinds = [self.kinds[i] for i in order]
        if self.kinds.count("minimum") != 4 or self.kinds.count("saddle") != 4:
            raise RuntimeError(f"expected Himmelblau's 4 minima, 4 saddles and a maximum, "
                               f"found {self.kinds}")
        (x_lo, x_hi), (y_lo, y_hi) = self.f.domain
        xs, ys = np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution)
        X, Y = np.meshgrid(xs, ys)
        self.starts = np.stack([X.ravel(), Y.ravel()], -1)
        self.shape, self.steps = X.shape, int(steps)
        self.fig = Figure(figsize=(9.0, 4.4))
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.18)
        colors = ListedColormap([self.UNCONVERGED, *self.COLORS])
        self.images, self.labels = [], {}
        for ax, title in zip(self.fig.subplots(1, 2), ("plain", "saddle-free"), strict=True):
            image = ax.imshow(np.zeros(self.shape), origin="lower", cmap=colors, vmin=-1.5,
                              vmax=len(self.COLORS) - 0.5, extent=(x_lo, x_hi, y_lo, y_hi),
                              interpolation="nearest")
            self.images.append(image)
            self._mark_critical_points(ax)
            ax.set(xlabel=r"$\theta_1$", title=title)
        self.images[0].axes.set_ylabel(r"$\theta_2$")
        self.titles = [self.images[0].axes.title, self.images[1].axes.title]

    def _mark_critical_points(self, ax):
        markers = {"minimum": "*", "saddle": "X", "maximum": "^"}
        names = {"minimum": "m", "saddle": "s", "maximum": "M"}
        counts = {"minimum": 0, "saddle": 0, "maximum": 0}
        for point, kind in zip(self.critical, self.kinds, strict=True):
            counts[kind] += 1
            ax.plot(*point, markers[kind], color="white", markeredgecolor="black",
                    markersize=9 if kind == "minimum" else 7)
            name = names[kind] + (str(counts[kind]) if kind != "maximum" else "")
            ax.annotate(name, point, xytext=(4, 4), textcoords="offset points", fontsize=8,
                        color="black", bbox=dict(boxstyle="round,pad=0.1", facecolor="white",
                                                 edgecolor="none", alpha=0.7))

    def compute(self, damping):
        """The label grids of the plain and the saddle-free iteration at ``damping``."""
        return {absolute: basins(self.f, self.starts, self.critical, self.steps, damping,
                                 absolute).reshape(self.shape) for absolute in (False, True)}

    def draw(self, damping):
        self.labels = self.compute(damping)
        for image, absolute in zip(self.images, (False, True), strict=True):
            image.set_data(self.labels[absolute])
        self.titles[0].set_text(rf"plain: $H + \nu I$, $\nu = {damping:g}$")
        self.titles[1].set_text(rf"saddle-free: $|H| + \nu I$, $\nu = {damping:g}$")
        return self.fig


def _kind(eigenvalues):
    if eigenvalues[0] > 0:
        return "minimum"
    return "maximum" if eigenvalues[-1] < 0 else "saddle"


def basin_scrub(dampings, resolution=120, steps=100, **scrub_kw):
    """``BasinFigure`` at each damping nu in ``dampings``, behind a slider over nu."""
    scrub_kw.setdefault("label", "damping ν")
    scrub_kw.setdefault("colors", 32)
    return scrub(BasinFigure(resolution, steps).draw, dampings, **scrub_kw)


# ---------------------------------------------------------------- the trust-region step


class TrustRegionFigure:
    """The trust-region subproblem at one point of Rosenbrock's function: contours of the
    quadratic model q(p) = g'p + 1/2 p'Hp, the ball ||p|| <= r, and the steps the
    subproblem solvers take: the Cauchy point, the dogleg and the exact solution
    (``trust_region_exact``, equal to the Levenberg-Marquardt step -(H + nu I)^{-1} g),
    over the whole path of exact solutions as r grows (thin line) and the dogleg path
    (dashed). ``draw(r)`` moves the ball and the steps and returns the figure;
    ``steps`` holds the last three steps drawn and ``nu`` the exact solution's
    multiplier.
    """

    def __init__(self, point=(-0.8, 0.2), radii=None):
        plotting.style()
        radii = np.geomspace(0.01, 10, 200) if radii is None else np.asarray(radii, dtype=float)
        self.f = functions.rosenbrock()
        self.point = np.asarray(point, dtype=float)
        self.g, self.H = self.f.grad(self.point), self.f.hess(self.point)
        self.newton = -np.linalg.solve(self.H, self.g)
        self.fig = Figure(figsize=(8.5, 4.2))
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9, wspace=0.28)
        model_ax, decrease_ax = self.fig.subplots(1, 2)
        self._model_panel(model_ax, radii)
        self._decrease_panel(decrease_ax, radii)
        self.steps, self.nu = {}, None

    def _model(self, p):
        return p @ self.g + 0.5 * np.einsum("...i,ij,...j->...", p, self.H, p)

    def _model_panel(self, ax, radii):
        span = 1.25 * np.linalg.norm(self.newton)
        u = np.linspace(-span, span, 200)
        P = np.stack(np.meshgrid(u, u), -1)
        Q = self._model(P)
        levels = np.sort(self._model(np.outer(np.geomspace(0.02, 1.2, 12), self.newton)))
        ax.contour(u, u, Q, levels=np.unique(levels), colors="0.6", linewidths=0.7)
        exact_path = np.array([trust_region_exact(self.g, self.H, r)[0].step for r in radii])
        ax.plot(*exact_path.T, "-", color=plotting.PALETTE[2], linewidth=1,
                label=r"exact steps as $r$ grows")
        corner = -(self.g @ self.g) / (self.g @ self.H @ self.g) * self.g
        ax.plot(*np.array([[0, 0], corner, self.newton]).T, "--", color=plotting.PALETTE[1],
                linewidth=1, label="dogleg path")
        ax.plot(*self.newton, "o", color=plotting.INK, markersize=5, label="Newton step")
        angle = np.linspace(0, 2 * np.pi, 200)
        self.circle_xy = np.stack([np.cos(angle), np.sin(angle)])
        self.circle = ax.plot([], [], "-", color=plotting.INK, linewidth=1)[0]
        self.markers = {}
        for k, name in enumerate(("Cauchy point", "dogleg", "exact")):
            self.markers[name] = ax.plot([], [], plotting.MARKERS[k], color=plotting.PALETTE[k],
                                         markeredgecolor="black", markersize=8, label=name)[0]
        ax.set(xlim=(-span, span), ylim=(-span, span), aspect="equal",
               xlabel=r"$\Delta_1$", ylabel=r"$\Delta_2$")
        ax.legend(loc="lower left", fontsize=7)
        self.title = ax.set_title(" ")

    def _decrease_panel(self, ax, radii):
        """The decrease each approximate solver gets, as a fraction of the exact one's."""
        exact = np.array([trust_region_exact(self.g, self.H, r)[0].predicted for r in radii])
        self.fractions = {}
        for k, (name, solve) in enumerate((("Cauchy point", cauchy_point), ("dogleg", dogleg))):
            predicted = np.array([solve(self.g, self.H, r).predicted for r in radii])
            self.fractions[name] = predicted / exact
            ax.plot(radii, self.fractions[name], color=plotting.PALETTE[k],
                    linestyle=plotting.LINESTYLES[k], label=name)
        self.radius_line = ax.axvline(radii[0], color=plotting.INK, linewidth=0.8)
        lowest = min(fraction.min() for fraction in self.fractions.values())
        ax.set(xscale="log", ylim=(np.floor(20 * lowest - 1) / 20, 1.01), xlabel="radius $r$",
               ylabel="predicted decrease / exact step's")
        ax.legend(loc="lower left", fontsize=8)

    def draw(self, radius):
        cauchy = cauchy_point(self.g, self.H, radius)
        leg = dogleg(self.g, self.H, radius)
        exact, self.nu = trust_region_exact(self.g, self.H, radius)
        self.steps = {"Cauchy point": cauchy, "dogleg": leg, "exact": exact}
        for name, step in self.steps.items():
            self.markers[name].set_data([step.step[0]], [step.step[1]])
        self.circle.set_data(*(radius * self.circle_xy))
        self.radius_line.set_xdata([radius, radius])
        self.title.set_text(rf"$r = {radius:.3g}$: exact step $= -(H + \nu I)^{{-1}} g$, "
                            rf"$\nu = {self.nu:.3g}$")
        return self.fig


def trust_region_scrub(radii, **scrub_kw):
    """``TrustRegionFigure`` at each radius in ``radii``, behind a slider over r."""
    scrub_kw.setdefault("label", "trust-region radius r")
    return scrub(TrustRegionFigure().draw, radii, **scrub_kw)
