"""The Hessian explorer: eigen-directions of the Hessian and the critical points of a
function."""

from __future__ import annotations

import numpy as np

from .. import plotting
from .base import (
    FUNCTIONS,
    Explorer,
    _dropdown,
    _follow_function,
    _FunctionPanel,
    _Functions,
    _point_sliders,
)


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
#: How each kind of critical point is drawn: a colour and a marker of its own, so that
#: the kinds differ by shape as well as by colour.
_KIND_STYLES = {kind: (plotting.PALETTE[k], plotting.MARKERS[k])
                for k, kind in enumerate(("minimum", "maximum", "saddle", "degenerate"))}


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
        self.critical = {kind: ax.scatter(np.empty(0), np.empty(0), s=40, marker=marker,
                                          color=color, zorder=4, edgecolors="white",
                                          linewidths=0.5, label=kind)
                         for kind, (color, marker) in _KIND_STYLES.items()}
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
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
        for kind, markers in self.critical.items():
            chosen = [p for p, k in zip(points, kinds, strict=True) if k == kind]
            markers.set_offsets(np.reshape(chosen, (-1, 2)))

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


