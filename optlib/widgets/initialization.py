"""Initialization and depth: the live explorer of a random network's layers, and the
kernel-free figures of the chapter "Initialization, depth and gradient clipping"."""

from __future__ import annotations

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .. import plotting
from ..nn import signal
from .base import Explorer, _dropdown, _slider
from .kernel_free import scrub

#: Initializers the explorer offers: label -> sigma_w^2 as a function of the width N and
#: the activation, the kind of matrix scaled to it, and whether biases are drawn.
INITIALIZATIONS = {
    "N(0, 0.01²)": (lambda n, act: n * 1e-4, "gaussian", False),
    "Xavier (Glorot)": (lambda n, act: 1.0, "gaussian", False),
    "Kaiming (He)": (lambda n, act: 2.0, "gaussian", False),
    "orthogonal": (lambda n, act: 2.0 if act == "relu" else 1.0, "orthogonal", False),
    "torch default": (lambda n, act: 1 / 3, "uniform", True),
}
_KINDS = ("gaussian", "uniform", "orthogonal")
WIDTHS = (16, 32, 64, 128, 256)
MAX_DEPTH = 50
#: Histogram bins: activations over [-3, 3] (tanh: [-1.05, 1.05]), gradients over [-3, 3].
BINS = 61


class InitializationExplorer(Explorer):
    """A random network at initialization, layer by layer: D layers of width N, a batch
    of 32 standard normal inputs, and the gradient of a random linear loss
    (dL/dz^(D) standard normal) sent back.

    Left: the histogram of the activations a^(l) = phi(z^(l)) of every layer (a
    row per layer, colour the fraction of values in a bin, values beyond the
    range counted in the end bins). Middle: the same for the gradients
    dL/dz^(l). Right: the root mean square of z^(l) and of dL/dz^(l) against
    the layer (markers), and the mean-field prediction (dotted:
    ``signal.variances`` and ``signal.gradient_variances``).

    Controls: ``depth`` (D), ``width`` (N), ``activation`` ('relu', 'tanh',
    'linear'), ``init`` (a label of INITIALIZATIONS) and ``scale`` (every
    weight times this factor: sigma_w^2 times its square). The weights are drawn
    once per width (seeded) and rescaled, so changing the depth, the
    initializer or the scale shows the same network.
    """

    def __init__(self, depth=20, width=128, activation="relu", init="Kaiming (He)", scale=1.0,
                 seed=0, batch=32):
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {WIDTHS}, got {width!r}")
        if init not in INITIALIZATIONS:
            raise ValueError(f"init must be one of {list(INITIALIZATIONS)}, got {init!r}")
        if activation not in signal.ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(signal.ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.seed, self.batch = seed, int(batch)
        self._matrices = {}
        controls = {
            "depth": ipywidgets.IntSlider(value=depth, min=2, max=MAX_DEPTH,
                                          description="depth D", continuous_update=True),
            "width": _dropdown("width N", list(WIDTHS), width),
            "activation": _dropdown("activation φ", list(signal.ACTIVATIONS), activation),
            "init": _dropdown("initializer", list(INITIALIZATIONS), init),
            "scale": _slider("weight scale s", scale, 0.25, 4.0, log=True),
        }
        super().__init__(controls, ncols=3, figsize=(11.0, 3.8))
        act_ax, grad_ax, rms_ax = self.axes
        colors = plt.get_cmap("viridis").with_extremes(under="white")
        self.norm = LogNorm(1e-4, 1.0, clip=False)
        blank = np.zeros((MAX_DEPTH, BINS))
        self.images = []
        for ax, title in ((act_ax, r"activations $a^{(l)}$"),
                          (grad_ax, r"gradients $\partial L/\partial z^{(l)}$")):
            self.images.append(self._move(ax.imshow(
                blank, origin="lower", aspect="auto", cmap=colors, norm=self.norm,
                interpolation="nearest", extent=(-3, 3, 0.5, MAX_DEPTH + 0.5))))
            ax.set(title=title, ylabel="layer $l$")
        grad_ax.set_xlabel("value")
        act_ax.set_xlabel("value")
        self.fig.colorbar(self.images[1], ax=grad_ax, label="fraction of values in a bin",
                          extend="min")
        self.lines = {}
        for k, (name, label) in enumerate((("z", r"rms $z^{(l)}$"),
                                           ("grad", r"rms $\partial L/\partial z^{(l)}$"))):
            color = plotting.PALETTE[k]
            self.lines[name] = self._move(rms_ax.plot(
                [], [], color=color, linestyle=plotting.LINESTYLES[2 * k],
                marker=plotting.MARKERS[k], markersize=3, label=label)[0])
            self.lines[name + "_theory"] = self._move(rms_ax.plot(
                [], [], color=color, linestyle=":", linewidth=1.5)[0])
        rms_ax.plot([], [], color=plotting.INK, linestyle=":", linewidth=1.5,
                    label="mean field")
        rms_ax.set(yscale="log", ylim=(1e-10, 1e10), xlim=(0.5, MAX_DEPTH + 0.5),
                   xlabel="layer $l$", title="root mean square")
        rms_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8,
                      handlelength=2.5)
        self.rms_ax = rms_ax
        self.title = self._move(rms_ax.text(0.97, 0.03, "", transform=rms_ax.transAxes,
                                            ha="right", va="bottom", fontsize=9))
        self._start()

    # ---------------------------------------------------------------- the network

    def _base(self, kind, width):
        """Matrices (MAX_DEPTH, N, N) of one kind scaled to sigma_w^2 = 1, the biases
        (MAX_DEPTH, 1, N) ~ U(-1/sqrt N, 1/sqrt N), and the inputs: drawn once per kind and
        width, seeded."""
        key = (kind, width)
        if key not in self._matrices:
            rng = np.random.default_rng([self.seed, width, _KINDS.index(kind)])
            shape = (MAX_DEPTH, width, width)
            if kind == "gaussian":
                mats = rng.standard_normal(shape) / np.sqrt(width)
            elif kind == "uniform":
                mats = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), shape) / np.sqrt(width)
            else:
                q, r = np.linalg.qr(rng.standard_normal(shape))
                mats = q * np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)[:, None]
            biases = rng.uniform(-1, 1, (MAX_DEPTH, 1, width)) / np.sqrt(width)
            inputs = np.random.default_rng([self.seed, width]).standard_normal((self.batch,
                                                                                 width))
            self._matrices[key] = (mats, biases, inputs)
        return self._matrices[key]

    def network(self):
        """(weights, biases or None, inputs, sigma_w^2, sigma_b^2) for the controls."""
        c = {name: control.value for name, control in self.controls.items()}
        variance, kind, with_bias = INITIALIZATIONS[c["init"]]
        mats, biases, inputs = self._base(kind, c["width"])
        sigma_w2 = variance(c["width"], c["activation"]) * c["scale"] ** 2
        weights = np.sqrt(sigma_w2) * mats[: c["depth"]]
        if with_bias:
            return weights, biases[: c["depth"]], inputs, sigma_w2, 1 / (3 * c["width"])
        return weights, None, inputs, sigma_w2, 0.0

    def compute(self):
        """Pre-activations, gradients, the mean-field rms of both, and sigma_w^2."""
        activation = self.controls["activation"].value
        weights, biases, inputs, sigma_w2, sigma_b2 = self.network()
        with np.errstate(all="ignore"):
            zs = list(signal.propagate(inputs, weights, activation, biases))
            dout = np.random.default_rng([self.seed, 1]).standard_normal(zs[-1].shape)
            grads = signal.backpropagate(zs, weights, activation, dout)
            q = signal.variances(len(zs), activation, sigma_w2, sigma_b2)
            g = signal.gradient_variances(q, activation, sigma_w2)
        return zs, grads, np.sqrt(q), np.sqrt(g), sigma_w2

    # ---------------------------------------------------------------- drawing

    def _refresh(self):
        """Every axis keeps its limits (up to MAX_DEPTH layers, values in [-3, 3]), so only
        the images, the lines and the title are drawn on a change."""
        activation = self.controls["activation"].value
        phi, _ = signal.ACTIVATIONS[activation]
        zs, grads, z_theory, g_theory, sigma_w2 = self.compute()
        layers = np.arange(1, len(zs) + 1)
        with np.errstate(all="ignore"):
            self.images[0].set_data(_histograms([phi(z) for z in zs]))
            self.images[1].set_data(_histograms(grads))
            self.measured = {
                "z_rms": np.sqrt([np.mean(z**2) for z in zs]),
                "grad_rms": np.sqrt([np.mean(g**2) for g in grads]),
                "z_theory": z_theory, "grad_theory": g_theory}
        for name in ("z", "grad"):
            self.lines[name].set_data(layers, self.measured[name + "_rms"])
            self.lines[name + "_theory"].set_data(layers, self.measured[name + "_theory"])
        # plain text: mathtext would be parsed again on every change
        self.title.set_text(f"σ_w² = {sigma_w2:.3g}, {activation}")
        return False


def _histograms(values, limit=3.0):
    """Fractions per bin over [-limit, limit], a row per layer; rows beyond the depth are
    NaN (drawn blank) up to MAX_DEPTH, and empty bins 1e-12 (below the colour scale:
    white). Values beyond the range count in the end bins."""
    stacked = np.nan_to_num(np.stack([np.ravel(v) for v in values]))
    bins = np.clip(stacked * (BINS / (2 * limit)) + BINS / 2, 0, BINS - 1).astype(int)
    keys = bins + BINS * np.arange(len(values))[:, None]
    counts = np.bincount(keys.ravel(), minlength=len(values) * BINS)
    rows = counts.reshape(len(values), BINS) / stacked.shape[1]
    out = np.full((MAX_DEPTH, BINS), np.nan)
    out[: len(values)] = np.where(rows > 0, rows, 1e-12)
    return out


# ---------------------------------------------------------------- deep linear networks


def product_singular_values(depth, width=64, seeds=8, kind="gaussian", seed=0):
    """The squared singular values of P = W_1 ... W_D for ``seeds`` independent draws of N x N
    layers, Gaussian of variance 1/N or orthogonal: shape (seeds, N), each row descending."""
    rng = np.random.default_rng(seed)
    product = np.broadcast_to(np.eye(width), (seeds, width, width))
    for _ in range(int(depth)):
        gaussian = rng.standard_normal((seeds, width, width))
        if kind == "gaussian":
            layer = gaussian / np.sqrt(width)
        else:
            q, r = np.linalg.qr(gaussian)
            layer = q * np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)[:, None]
        product = product @ layer
    return np.linalg.svd(product, compute_uv=False) ** 2


class SingularValueFigure:
    """Left: the histogram of log10 lambda_i(J'J), the squared singular values of the
    input-output map J of a deep linear network (Gaussian layers of variance 1/N, pooled
    over seeds) and the orthogonal network's, all at 1. Right, against the depth: the mean
    of lambda_i (1 for both) and of lambda_i^2 (measured, and the exact finite-width
    expectation of ``signal.gaussian_product_moments``), with the shown depth marked.

    ``draw(depth)`` moves the figure to a depth and returns it."""

    def __init__(self, depths, width=64, seeds=8, seed=0):
        self.depths, self.width = [int(d) for d in depths], int(width)
        self.spectra = {d: product_singular_values(d, width, seeds, "gaussian", seed + d)
                        for d in self.depths}
        self.fig = Figure(figsize=(9.5, 3.6))
        FigureCanvasAgg(self.fig)
        self.hist_ax, moment_ax = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.28)
        fine = np.arange(1, max(self.depths) + 1)
        exact = [signal.gaussian_product_moments(d, width)[1] for d in fine]
        m2 = [np.mean(self.spectra[d] ** 2) for d in self.depths]
        m1 = [np.mean(self.spectra[d]) for d in self.depths]
        moment_ax.plot(fine, exact, color=plotting.PALETTE[0], linestyle="--",
                       label=r"Gaussian: mean $\lambda_i^2$, expected")
        moment_ax.plot(self.depths, m2, "o", color=plotting.PALETTE[0],
                       label=r"Gaussian: mean $\lambda_i^2$, measured")
        moment_ax.plot(self.depths, m1, "s", color=plotting.PALETTE[2],
                       label=r"Gaussian: mean $\lambda_i$, measured")
        moment_ax.plot(fine, np.ones_like(fine), color=plotting.PALETTE[1],
                       linestyle=plotting.LINESTYLES[1], label="orthogonal: both 1")
        self.marker = moment_ax.axvline(self.depths[0], color=plotting.INK, linewidth=0.8)
        moment_ax.set(xscale="log", yscale="log", xlabel="depth $D$",
                      title=rf"moments of $\lambda_i$ (width {width})")
        moment_ax.legend(loc="upper left", fontsize=7)
        self.hist_ax.set(xlabel=r"$\log_{10} \lambda_i(J^\top J)$",
                         ylabel="fraction of singular values",
                         xlim=(-12, 3), ylim=(0, 0.5))
        self.edges = np.linspace(-12, 3, 61)
        self.bars = None
        self.orthogonal = self.hist_ax.axvline(0.0, color=plotting.PALETTE[1],
                                               linestyle=plotting.LINESTYLES[1], linewidth=2,
                                               label="orthogonal: all at 1")
        self.title = self.hist_ax.set_title(" ")

    def draw(self, depth):
        values = np.log10(np.maximum(self.spectra[int(depth)].ravel(), 1e-300))
        counts, _ = np.histogram(np.clip(values, self.edges[0], self.edges[-1]), self.edges)
        if self.bars is not None:
            self.bars.remove()
        self.bars = self.hist_ax.stairs(counts / values.size, self.edges, fill=True,
                                        color=plotting.PALETTE[0], alpha=0.6,
                                        label="Gaussian (below $10^{-12}$: left bar)")
        self.hist_ax.legend(loc="upper left", fontsize=8)
        self.marker.set_xdata([depth, depth])
        self.title.set_text(f"depth D = {int(depth)}")
        return self.fig


def singular_value_scrub(depths, width=64, seeds=8, **scrub_kw):
    """``SingularValueFigure`` at each depth, behind a slider over the depth."""
    scrub_kw.setdefault("label", "depth D")
    return scrub(SingularValueFigure(depths, width, seeds).draw, depths, **scrub_kw)
