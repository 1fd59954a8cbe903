"""The optimizer race: several optimizers from one start on one function."""

from __future__ import annotations

import ipywidgets
import numpy as np

from .. import optimizers, plotting
from ..minimize import minimize
from ..optimizers import Transform
from .base import (
    FUNCTIONS,
    Explorer,
    _decade_above,
    _FunctionPanel,
    _Functions,
    _point_sliders,
    _slider,
)


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
        controls.update(self._more_controls())
        super().__init__(controls)
        paths_ax, loss_ax = self.axes
        self.panel = _FunctionPanel(self, paths_ax)
        self.paths, self.losses = {}, {}
        for k, name in enumerate(self.racers):
            # Past seven racers the colours repeat, with the next line style and marker.
            shift = k // len(plotting.PALETTE)
            look = dict(color=plotting.PALETTE[k % len(plotting.PALETTE)],
                        linestyle=plotting.LINESTYLES[(k + shift) % len(plotting.LINESTYLES)])
            marker = plotting.MARKERS[(k + shift) % len(plotting.MARKERS)]
            self.paths[name] = self._move(paths_ax.plot([], [], marker=marker, markersize=2.5,
                                                        linewidth=1.2, **look)[0])
            self.losses[name] = self._move(loss_ax.plot([], [], label=name, **look)[0])
        loss_ax.set(yscale="log", xlim=(0, self.steps), xlabel="step $t$",
                    ylabel=r"$f(\theta_t) - f^\star$")
        self._legend_names = None
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
            self.result = self._race(f, c, running)
            history, shown = self.result.history, self._shown(c)
            for k, name in enumerate(running):
                t = np.arange(min(int(self.result.nit[k]), shown) + 1)
                self.paths[name].set_data(*history.x[t, k].T)
                self.losses[name].set_data(t, history.f[t, k] - f.f_star)
        if changed:
            self._scale_losses(f)
        if running != self._legend_names:
            self._legend(running)
            changed = True
        statuses = np.atleast_1d(self.result.status) if running else []
        diverged = [name for name, status in zip(running, statuses, strict=True)
                    if status == "diverged"]
        self.status.set_text("diverged: " + ", ".join(diverged) if diverged else "")
        return changed

    def _legend(self, names):
        """A legend for the racers now running, and only for them."""
        loss_ax = self.axes[1]
        if loss_ax.get_legend() is not None:
            loss_ax.get_legend().remove()
        if names:
            loss_ax.legend([self.losses[name] for name in names], names, loc="lower left",
                           ncols=2 if len(names) > 5 else 1)
        self._legend_names = list(names)

    def _more_controls(self):
        """Controls a subclass adds after the learning rates: name -> widget."""
        return {}

    def _transform(self, name, c):
        """The Transform that racer ``name`` runs, given the control values ``c``."""
        return self.racers[name][0](c[_lr_key(name)])

    def _race(self, f, c, running):
        """All running racers from the start (c["x"], c["y"]) in one batched minimize call."""
        racers = [self._transform(name, c) for name in running]
        x0 = np.tile([c["x"], c["y"]], (len(running), 1))
        return minimize(f, x0, _side_by_side(racers), steps=self.steps)

    def _shown(self, c):
        """How many steps of each run to draw."""
        return self.steps

    def _scale_losses(self, f):
        """One y-range per function, from 1e-12 to above the highest contour level, so runs
        compare on the same axis and moving a slider never rescales it."""
        self.axes[1].set_ylim(1e-12, _decade_above(self.panel.contours.levels - f.f_star))


def _lr_key(name):
    return "lr_" + name.lower().replace(" ", "_")


