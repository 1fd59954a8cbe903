"""Explorers of the chapter on testing optimizers: an optimizer on one unit-test problem, and
a learned optimizer against Adam over its meta-training."""

from __future__ import annotations

import ipywidgets
import numpy as np
from matplotlib.figure import Figure

from .. import plotting
from ..unit_tests import METHODS, NOISE, SEEDS, SHAPES, from_shape, noisy, scaled, simulate
from ..unit_tests.runner import BUDGET
from .base import Explorer, _dropdown, _slider
from .kernel_free import scrub

__all__ = ["UnitTestExplorer", "learned_optimizer_scrub", "shape_window"]

#: The learning rate each method starts at when no tuned settings are given.
DEFAULT_LR = {"SGD": 0.1, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.3, "RMSProp": 0.03,
              "Adadelta": 10.0, "Adam": 0.03, "AMSGrad": 0.03, "AdaMax": 0.03, "NAdam": 0.03}


def shape_window(shape):
    """The theta range a plot of the shape shows: the start, the region that passes, and a
    margin around them."""
    grid = np.linspace(shape.start - 12.0, shape.start + 12.0, 4001)
    passing = grid[shape.value(grid) <= shape.target]
    near = passing[np.argmin(np.abs(passing - shape.start))] if passing.size else shape.start
    low, high = min(shape.start, near), max(shape.start, near)
    margin = 0.25 * max(high - low, 1.0)
    return low - margin, high + margin


class UnitTestExplorer(Explorer):
    """One optimizer on one unit-test problem: a shape, a noise model and a scale 10^k.

    Left: the shape at the reference scale and the points the run visits
    (seed 0). Right: L_t(theta_t)/c at the reference scale for every seed, the
    target (dashed) and the last tenth of the budget (shaded), over which the
    verdict averages; the title gives the verdict. Controls: ``optimizer``,
    ``shape``, ``noise``, ``scale`` (k), ``lr``. Choosing an optimizer sets
    ``lr`` to its tuned setting (``settings``, e.g. a Report's) or a default.
    """

    def __init__(self, optimizer="Adam", shape="gaussian", noise="none", scale=0, lr=None,
                 settings=None, budget=BUDGET, methods=None):
        self.methods = dict(METHODS if methods is None else methods)
        if optimizer not in self.methods:
            raise ValueError(f"optimizer must be one of {list(self.methods)}, got {optimizer!r}")
        for name, value, options in (("shape", shape, list(SHAPES)),
                                     ("noise", noise, ["none", *NOISE])):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}, got {value!r}")
        if int(scale) != scale or not -3 <= scale <= 3:
            raise ValueError(f"scale must be a whole number from -3 to 3, got {scale!r}")
        self.settings = {name: DEFAULT_LR.get(name, 0.01) for name in self.methods}
        self.settings.update(settings or {})
        self.budget = int(budget)
        controls = {
            "optimizer": _dropdown("optimizer", list(self.methods), optimizer),
            "shape": _dropdown("shape", list(SHAPES), shape),
            "noise": _dropdown("noise", ["none", *NOISE], noise),
            "scale": ipywidgets.IntSlider(value=int(scale), min=-3, max=3,
                                          description="scale exponent k",
                                          style={"description_width": "initial"}),
            "lr": _slider("η", lr or self.settings[optimizer], 1e-4, 1e3, log=True),
        }
        super().__init__(controls, figsize=(9.5, 3.6))
        shape_ax, loss_ax = self.axes
        self.curve = shape_ax.plot([], [], color=plotting.INK, linewidth=1.2)[0]
        self.start_marker = shape_ax.plot([], [], "o", color=plotting.INK, markersize=6)[0]
        self.path = self._move(shape_ax.plot([], [], ".-", color=plotting.PALETTE[0],
                                             markersize=4, linewidth=0.6, alpha=0.8)[0])
        self.last = self._move(shape_ax.plot([], [], "s", color=plotting.PALETTE[1],
                                             markersize=6)[0])
        shape_ax.set(xlabel=r"$\theta$", ylabel=r"$L(\theta)$ (scale 1)")
        self.lines = [self._move(loss_ax.plot([], [], color=plotting.PALETTE[0],
                                              linestyle=plotting.LINESTYLES[k % 4],
                                              linewidth=1.0)[0]) for k in range(SEEDS)]
        self.target_line = loss_ax.axhline(0.0, color=plotting.PALETTE[2], linestyle="--",
                                           label="target")
        loss_ax.axvspan(self.budget - self.budget // 10, self.budget, color="0.9", zorder=0)
        loss_ax.set(xlim=(0, self.budget), xlabel="step $t$",
                    ylabel=r"$L_t(\theta_t)/c$ (scale 1)")
        self.verdict = self._move(loss_ax.set_title(" ", fontsize=10))
        self.shown_shape, self.result, self.case = None, None, None
        controls["optimizer"].observe(self._new_optimizer, names="value")
        self._start()

    def _new_optimizer(self, change):
        with self._hold():
            self.controls["lr"].value = self.settings[change["new"]]

    def _case(self, c):
        case = from_shape(c["shape"])
        if c["noise"] != "none":
            case = noisy(case, c["noise"])
        return scaled(case, 10.0 ** c["scale"]) if c["scale"] else case

    def _refresh(self):
        c = {name: control.value for name, control in self.controls.items()}
        self.case = self._case(c)
        self.result = simulate(self.methods[c["optimizer"]].make, [c["lr"]], [self.case],
                               self.budget, record=True)
        changed = self._show_shape(SHAPES[c["shape"]])
        path = self.result.path[0][:, 0, :, 0]            # (budget + 1, seeds)
        progress = SHAPES[c["shape"]].value(path)
        self.path.set_data(path[:, 0], progress[:, 0])
        self.last.set_data(path[-1:, 0], progress[-1:, 0])
        t = np.arange(self.budget + 1)
        for k, line in enumerate(self.lines):
            if k < path.shape[1]:
                line.set_data(t, progress[:, k])
            else:
                line.set_data([], [])
        self.verdict.set_text(self._verdict_text(c))
        return changed

    def _show_shape(self, shape):
        if shape is self.shown_shape:
            return False
        shape_ax, loss_ax = self.axes
        low, high = shape_window(shape)
        theta = np.linspace(low, high, 600)
        values = shape.value(theta)
        self.curve.set_data(theta, values)
        self.start_marker.set_data([shape.start], [shape.value(np.float64(shape.start))])
        span = values.max() - values.min()
        shape_ax.set(xlim=(low, high), ylim=(values.min() - 0.1 * span, values.max() +
                                                0.1 * span))
        self.target_line.set_ydata([shape.target, shape.target])
        if shape.minimum is not None:
            loss_ax.set_ylim(shape.target * 1e-3, 10 ** np.ceil(np.log10(values.max())))
            loss_ax.set_yscale("log")
        else:
            loss_ax.set_yscale("linear")
            loss_ax.set_ylim(shape.target - 0.5 * span, values.max() + 0.1 * span)
        self.shown_shape = shape
        return True

    def _verdict_text(self, c):
        seeds = self.case.seeds
        verdict = "passes" if self.result.solved[0, 0] else "fails"
        if self.result.diverged[0, 0]:
            verdict = "fails (diverged)"
        where = f", {seeds} seeds" if seeds > 1 else ""
        hit = self.result.hit[0, 0]
        reached = f"target first met at step {hit:.0f}" if np.isfinite(hit) else \
            "target never met"
        return f"{c['optimizer']} {verdict}{where}: {reached}"


def learned_optimizer_scrub(training, W, y, baseline, baseline_name="Adam", steps=100,
                            iterations=None, alt=None):
    """A kernel-free figure: the learned optimizer's mean loss on the quadratics (W, y) at
    each snapshot of its meta-training, against a baseline transform's (fixed)."""
    from ..learned import learned, unroll_losses

    iterations = sorted(training.snapshots) if iterations is None else list(iterations)
    missing = [i for i in iterations if i not in training.snapshots]
    if missing:
        raise ValueError(f"no snapshot at iterations {missing}; have {sorted(training.snapshots)}")
    reference = unroll_losses(baseline, W, y, steps).mean(axis=1)
    curves = {i: unroll_losses(learned(training.snapshots[i]), W, y, steps).mean(axis=1)
              for i in iterations}
    top = 10 ** np.ceil(np.log10(max(np.nanmax(reference), *(np.nanmax(np.where(
        np.isfinite(v), v, np.nan)) for v in curves.values()))))
    bottom = 10 ** np.floor(np.log10(min(reference.min(), *(v.min() for v in curves.values()))))

    def render(iteration):
        plotting.style()
        fig = Figure(figsize=(6.4, 3.6), dpi=80, layout="constrained")
        ax = fig.subplots()
        t = np.arange(steps + 1)
        ax.plot(t, reference, color=plotting.PALETTE[1], linestyle=plotting.LINESTYLES[1],
                label=f"{baseline_name} (its best step)")
        ax.plot(t, curves[iteration], color=plotting.PALETTE[0],
                linestyle=plotting.LINESTYLES[0], label="learned optimizer")
        ax.set(yscale="log", ylim=(bottom, top), xlim=(0, steps), xlabel="step $t$",
               ylabel=r"mean $L(\theta_t)$ over the test set",
               title=f"after {iteration} meta-iterations: final {curves[iteration][-1]:.3g} "
                     f"({baseline_name} {reference[-1]:.3g})")
        ax.legend(loc="upper right")
        return fig

    return scrub(render, iterations, "meta-training iterations",
                 alt=alt or "The learned optimizer's mean loss on held-out quadratics against "
                            "Adam's, one frame per snapshot of its meta-training.")
