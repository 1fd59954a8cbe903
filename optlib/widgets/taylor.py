"""The Taylor explorer: first- and second-order models of a function along a line."""

from __future__ import annotations

import numpy as np

from .. import plotting
from .base import FUNCTIONS, Explorer, _FunctionPanel, _Functions, _point_sliders, _slider


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
            "second": right.plot([], [], "-.", color=plotting.PALETTE[1],
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


