"""The normalization explorer: training curves of a deep network with no normalization,
BatchNorm or LayerNorm, over depth and learning rate."""

from __future__ import annotations

import ipywidgets
import numpy as np

from .. import data, plotting
from ..nn.sweep import lr_sweep
from ..static import static_mode
from .base import Explorer, _dropdown

#: The normalizations the explorer compares: label -> ``norm`` of ``optlib.nn.MLP``.
NORMALIZATIONS = {"none": None, "batch": "batch", "layer": "layer"}
#: The learning rates the explorer offers by default: three a decade from 0.01 to 10.
LEARNING_RATES = tuple(float(lr) for lr in np.round(np.geomspace(0.01, 10.0, 10), 4))
#: The highest loss the panels show; a loss above it (or a diverged run) is drawn there.
LOSS_CEILING = 10.0


class NormalizationExplorer(Explorer):
    """SGD on an MLP for the handwritten digits, with and without normalization.

    Left: the training loss per epoch of the three networks (no normalization,
    BatchNorm, LayerNorm before every ReLU) at the chosen depth and learning
    rate, side by side; the chosen normalization is drawn bold. Right: the
    final training loss of each against the learning rate, at that depth, with
    the chosen learning rate marked.

    Controls: ``depth`` (hidden layers of ``width`` units), ``lr`` (eta, on the
    grid ``lrs``) and ``norm`` ('none', 'batch', 'layer').

    The runs are precomputed, one ``optlib.nn.lr_sweep`` (every learning rate
    of the grid in one batched run) per depth and normalization, so moving a
    control only redraws. With ``precompute`` (the default, except in the
    static book) every depth is trained when the explorer is made; otherwise a
    depth is trained when it is first shown.
    """

    def __init__(self, depth=4, lr=0.1, norm="batch", depths=(1, 2, 4, 8),
                 lrs=LEARNING_RATES, width=32, samples=384,
                 epochs=10, batch_size=32, seed=0, precompute=None):
        self.depths, self.lrs = tuple(depths), tuple(float(lr) for lr in lrs)
        if depth not in self.depths:
            raise ValueError(f"depth must be one of {self.depths}, got {depth!r}")
        if lr not in self.lrs:
            raise ValueError(f"lr must be one of the grid {self.lrs}, got {lr!r}")
        if norm not in NORMALIZATIONS:
            raise ValueError(f"norm must be one of {list(NORMALIZATIONS)}, got {norm!r}")
        self.width, self.epochs, self.batch_size, self.seed = width, epochs, batch_size, seed
        X, y = data.digits()
        self.X, self.y = X[:samples], y[:samples]
        self.sweeps = {}
        if (not static_mode()) if precompute is None else precompute:
            for d in self.depths:
                self._sweeps(d)
        controls = {
            "depth": ipywidgets.SelectionSlider(options=self.depths, value=depth,
                                                description="depth D",
                                                style={"description_width": "initial"}),
            "lr": ipywidgets.SelectionSlider(options=[(f"{v:.3g}", v) for v in self.lrs],
                                             value=float(lr), description="η",
                                             style={"description_width": "initial"}),
            "norm": _dropdown("normalization", list(NORMALIZATIONS), norm),
        }
        super().__init__(controls, figsize=(10.0, 3.8))
        self._draw_axes()
        self._start()

    def _draw_axes(self):
        curve_ax, sweep_ax = self.axes
        self.curves, self.finals = {}, {}
        for k, name in enumerate(NORMALIZATIONS):
            style = dict(color=plotting.PALETTE[k], linestyle=plotting.LINESTYLES[k],
                         marker=plotting.MARKERS[k], markersize=3, label=name)
            self.curves[name] = self._move(curve_ax.plot([], [], **style)[0])
            self.finals[name] = self._move(sweep_ax.plot([], [], **style)[0])
        self.chosen = self._move(sweep_ax.axvline(self.lrs[0], color=plotting.INK, lw=0.8))
        for ax in (curve_ax, sweep_ax):
            ax.axhline(np.log(10.0), color="0.6", lw=0.8, linestyle=":", label="chance, ln 10")
            ax.set(yscale="log", ylim=(1e-3, LOSS_CEILING * 1.2))
        curve_ax.set(xlim=(0, self.epochs), xlabel="epoch", ylabel="training loss")
        sweep_ax.set(xscale="log", xlim=(self.lrs[0] / 1.3, self.lrs[-1] * 1.3),
                     xlabel=r"learning rate $\eta$", ylabel="final training loss")
        curve_ax.legend(loc="lower left", title="normalization")
        self.title = self._move(curve_ax.set_title(" "))

    def _sweeps(self, depth):
        """The three sweeps (one per normalization) at ``depth``, trained on first use."""
        if depth not in self.sweeps:
            sizes = [self.X.shape[1]] + [self.width] * depth + [10]
            self.sweeps[depth] = {
                name: lr_sweep(sizes, self.lrs, self.X, self.y, norm=kind, epochs=self.epochs,
                               batch_size=self.batch_size, seed=self.seed)
                for name, kind in NORMALIZATIONS.items()}
        return self.sweeps[depth]

    def _refresh(self):
        depth, lr, chosen = (self.controls[name].value for name in ("depth", "lr", "norm"))
        k = self.lrs.index(lr)
        epochs = np.arange(self.epochs + 1)
        for name, sweep in self._sweeps(depth).items():
            bold = 2.4 if name == chosen else 1.0
            curve = np.minimum(np.nan_to_num(sweep.train_loss[k], nan=LOSS_CEILING),
                               LOSS_CEILING)
            self.curves[name].set_data(epochs, curve)
            self.finals[name].set_data(self.lrs, np.minimum(sweep.final_loss(), LOSS_CEILING))
            for line in (self.curves[name], self.finals[name]):
                line.set_linewidth(bold)
                line.set_alpha(1.0 if name == chosen else 0.55)
        self.chosen.set_xdata([lr, lr])
        self.title.set_text(f"D = {depth}, η = {lr:.3g}, {chosen}: "
                            f"{_outcome(self.sweeps[depth][chosen], k)}")
        return False

    def final_loss(self, depth, lr, norm):
        """The final training loss of one setting (infinite when the run diverged)."""
        return float(self._sweeps(depth)[norm].final_loss()[self.lrs.index(lr)])


def _outcome(sweep, k):
    if sweep.status[k] == "diverged":
        return "diverged"
    return f"final loss {sweep.train_loss[k, -1]:.3g}"
