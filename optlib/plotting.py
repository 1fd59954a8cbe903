"""Figures for the book: one house style, contours, trajectories, loss curves,
curvature arrows, Taylor models, and the convergence-rate map of momentum.

Every figure comes in two halves. A *compute* function returns plain arrays
(``contour_grid``, ``trajectory_xy``, ``loss_xy``, ``eigen_arrow_data``,
``taylor_slice``, ``momentum_rates``); a *draw* function puts them on an Axes
and returns the artists it made. Live explorers recompute the arrays and update
those artists in place (``line.set_data(*trajectory_xy(result).T)``) instead of
making a new figure.

    import optlib as ol
    f = ol.functions.rosenbrock()
    runs = {"GD": ol.minimize(f, [-1.2, 1], ol.sgd(1e-3), steps=500),
            "Adam": ol.minimize(f, [-1.2, 1], ol.adam(0.05), steps=500)}
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    ol.plotting.trajectories(f, runs, ax=left)
    ol.plotting.loss_curves(runs, ax=right, f_star=f)
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from cycler import cycler

from . import functions, optimizers, rates
from .functions import Objective
from .rates import heavy_ball_rate

__all__ = [
    "PALETTE",
    "LINESTYLES",
    "MARKERS",
    "HOUSE_STYLE",
    "style",
    "contour_grid",
    "log_levels",
    "contour",
    "trajectory_xy",
    "trajectories",
    "loss_xy",
    "loss_curves",
    "eigen_arrow_data",
    "eigen_arrows",
    "taylor_slice",
    "taylor_plot",
    "heavy_ball_rate",
    "momentum_rates",
    "rate_map",
    "rate_norm",
    "RATE_FLOOR",
]

#: The Okabe-Ito palette without its yellow: distinguishable under the common colour-vision
#: deficiencies and legible on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
INK = "#333333"
#: Line styles and markers to pair with PALETTE, so that lines differ by more than colour:
#: PALETTE[k] goes with LINESTYLES[k] and MARKERS[k] (the house style cycles them together).
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Arrow colours for positive and negative curvature.
POSITIVE, NEGATIVE = PALETTE[0], PALETTE[1]

#: Figures are opaque white cards with dark-grey ink, so they read the same on a light
#: page, in a dark book theme and in a dark Jupyter theme (a transparent figure would
#: put black ticks on a black page).
HOUSE_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.figsize": (6.0, 4.0),
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.prop_cycle": cycler(color=PALETTE) + cycler(linestyle=LINESTYLES),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "font.size": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 3,
    "image.cmap": "viridis",
}


def style():
    """Apply the house style to matplotlib's rcParams (idempotent) and return it.

    Every drawing function here calls it, so a chapter's figures share one look.
    """
    mpl.rcParams.update(HOUSE_STYLE)
    return HOUSE_STYLE


def _axes(ax, **subplot_kw):
    """The given Axes, or a new one in a new figure drawn in the house style."""
    style()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(layout="constrained", subplot_kw=subplot_kw)
    return ax


def _require_2d(f, what):
    if not isinstance(f, Objective):
        raise TypeError(f"f must be an optlib Objective, got {type(f).__name__}")
    if f.dim != 2:
        raise ValueError(f"{what} needs a 2-D objective, got {f.name} with dim={f.dim}")


def _domain(f, domain):
    domain = f.domain if domain is None else domain
    if domain is None:
        raise ValueError(f"{f.name} has no domain; pass domain=((x_lo, x_hi), (y_lo, y_hi))")
    box = np.asarray(domain, dtype=float)
    if box.shape != (2, 2) or not np.all(box[:, 0] < box[:, 1]):
        raise ValueError(f"domain must be ((x_lo, x_hi), (y_lo, y_hi)) with lo < hi, got {domain}")
    return box


# ---------------------------------------------------------------- contours


def contour_grid(f, resolution=150, domain=None):
    """f on a ``resolution`` x ``resolution`` grid over ``domain`` (default ``f.domain``).

    Returns (X, Y, Z) as for ``Axes.contour``; values that overflow are NaN.
    """
    _require_2d(f, "contour_grid")
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    (x_lo, x_hi), (y_lo, y_hi) = _domain(f, domain)
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, int(resolution)),
                       np.linspace(y_lo, y_hi, int(resolution)))
    with np.errstate(all="ignore"):
        Z = f.value(np.stack([X, Y], axis=-1))
    return X, Y, np.where(np.isfinite(Z), Z, np.nan)


def log_levels(Z, n=20, floor=None):
    """``n`` contour levels floor + g_k with g_k geometric: dense near the floor, sparse on walls.

    ``floor`` is f* when known, else the smallest value in Z. The gaps g_k run
    from the larger of the 0.5th percentile of Z - floor and 1e-6 of its range
    up to the largest value of Z - floor.
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    floor = float(np.nanmin(Z)) if floor is None else float(floor)
    gap = np.asarray(Z, dtype=float) - floor
    top = float(np.nanmax(gap))
    if not top > 0:
        raise ValueError("Z must rise above its floor to have contour levels")
    positive = gap[gap > 0]
    bottom = max(float(np.percentile(positive, 0.5)), 1e-6 * top)
    return floor + np.geomspace(bottom, top, int(n))


def contour(f, ax=None, levels=20, resolution=150, log=True, filled=False, cmap="viridis",
            minima=True, domain=None):
    """Contour lines of a 2-D objective over its domain, with its known minima as stars.

    ``levels`` is a count (log-spaced above f*, see ``log_levels``, or
    evenly spaced with ``log=False``) or an explicit increasing array.
    Returns the ContourSet.
    """
    ax = _axes(ax)
    X, Y, Z = contour_grid(f, resolution, domain)
    if np.ndim(levels) == 0:
        levels = (log_levels(Z, levels, f.f_star) if log
                  else np.linspace(np.nanmin(Z), np.nanmax(Z), int(levels)))
    draw = ax.contourf if filled else ax.contour
    lines = draw(X, Y, Z, levels=levels, cmap=cmap, linewidths=None if filled else 0.8)
    if minima and f.minima is not None:
        ax.plot(*np.asarray(f.minima).T, "*", color=INK, markersize=9, zorder=3)
    ax.set(xlim=(X[0, 0], X[0, -1]), ylim=(Y[0, 0], Y[-1, 0]),
           xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    ax.set_aspect("equal", adjustable="box")
    return lines


# ---------------------------------------------------------------- runs


def _history(run, what="run"):
    """The History of a Result, or the History itself."""
    history = getattr(run, "history", run)
    if not (hasattr(history, "x") and hasattr(history, "f")):
        raise TypeError(f"{what} must be an optlib Result or History, got {type(run).__name__}")
    return history


def _path(run):
    if isinstance(run, np.ndarray | list | tuple):
        return np.asarray(run, dtype=float)
    return np.asarray(_history(run).x, dtype=float)


def _separated(columns):
    """Stack the trajectories of a (T+1, B, k) array into one (T+1 + 1) B x k array,
    a NaN row between consecutive trajectories: one Line2D draws them all."""
    steps, batch, k = columns.shape
    gap = np.full((1, batch, k), np.nan)
    return np.concatenate([columns, gap]).transpose(1, 0, 2).reshape(-1, k)[:-1]


def trajectory_xy(run):
    """The points a run visited, as an (N, 2) array ready for ``line.set_data(*xy.T)``.

    ``run`` is a Result, a History, or an array of points (T+1, 2); a batched
    run (T+1, B, 2) gives its B paths separated by NaN rows. Non-finite points
    become NaN, so a diverged run is drawn up to where it left the plane.
    """
    x = _path(run)
    if x.ndim < 2 or x.shape[-1] != 2:
        raise ValueError(f"trajectories need points of shape (T+1, ..., 2), got {x.shape}")
    xy = _separated(x.reshape(x.shape[0], -1, 2))
    return np.where(np.isfinite(xy).all(axis=-1, keepdims=True), xy, np.nan)


def _f_star(f_star):
    return f_star.f_star if isinstance(f_star, Objective) else f_star


def loss_xy(run, f_star=None):
    """(step t, f(x_t) - f*) pairs as an (N, 2) array; batched runs are NaN-separated.

    ``f_star`` is a number, an Objective (its ``f_star``), or None to plot f itself.
    """
    f = np.asarray(_history(run).f, dtype=float)
    f_star = _f_star(f_star)
    gap = f - (0.0 if f_star is None else f_star)
    gap = gap.reshape(gap.shape[0], -1)
    steps = np.broadcast_to(np.arange(gap.shape[0], dtype=float)[:, None], gap.shape)
    ty = _separated(np.stack([steps, gap], axis=-1))
    return np.where(np.isfinite(ty), ty, np.nan)


def _runs(results):
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict name -> Result (or History)")
    return results


def _pick(options, k):
    return options[k % len(options)]


def _run_style(k):
    """Run k's colour and its paired line style, so that no two runs differ by colour only."""
    return {"color": _pick(PALETTE, k), "linestyle": _pick(LINESTYLES, k)}


def trajectories(f, results, ax=None, contours=True, legend=True, **contour_kw):
    """The paths of several named runs over the contours of ``f``.

    ``results`` maps a name to a Result, a History or an array of points; run k
    gets ``PALETTE[k]``, ``LINESTYLES[k]`` and ``MARKERS[k]`` at its iterates
    (colour, line style as in ``loss_curves``, so two panels agree). Returns a
    dict name -> Line2D.
    """
    _require_2d(f, "trajectories")
    ax = _axes(ax)
    if contours:
        contour(f, ax, **contour_kw)
    lines = {}
    for k, (name, run) in enumerate(_runs(results).items()):
        (lines[name],) = ax.plot(*trajectory_xy(run).T, **_run_style(k), marker=_pick(MARKERS, k),
                                 markersize=3, linewidth=1.2, label=name)
    if legend:
        ax.legend(loc="best")
    return lines


def loss_curves(results, ax=None, log=True, f_star=None, legend=True):
    """f(x_t) - f* against the step t for several named runs (f itself when f* is unknown).

    ``f_star`` is a number or an Objective whose ``f_star`` to use. With
    ``log=True`` the y-axis is logarithmic and values <= 0 are left out. Run k
    gets ``PALETTE[k]`` and ``LINESTYLES[k]``. Returns a dict name -> Line2D.
    """
    ax = _axes(ax)
    lines = {}
    for k, (name, run) in enumerate(_runs(results).items()):
        (lines[name],) = ax.plot(*loss_xy(run, f_star).T, **_run_style(k), label=name)
    if log:
        ax.set_yscale("log", nonpositive="mask")
    ax.set(xlabel="step $t$", ylabel="$f(\\theta_t)$" if _f_star(f_star) is None
           else "$f(\\theta_t) - f^\\star$")
    if legend:
        ax.legend(loc="best")
    return lines


# ---------------------------------------------------------------- curvature


def eigen_arrow_data(f, x, scale):
    """Arrows along the Hessian's eigenvectors at ``x``, scaled by the eigenvalues.

    H(x) = sum_i lambda_i v_i v_i'. Each eigenvector gives two arrows from x,
    +-scale |lambda_i| / max_j |lambda_j| v_i. Returns (origins (2d, 2),
    vectors (2d, 2), eigenvalues (d,) ascending, eigenvectors (d, d) as columns).
    """
    _require_2d(f, "eigen_arrow_data")
    x = np.asarray(x, dtype=float)
    eigenvalues, eigenvectors = np.linalg.eigh(f.hess(x))
    size = np.abs(eigenvalues) / max(float(np.abs(eigenvalues).max()), np.finfo(float).tiny)
    arrows = (scale * size * eigenvectors).T
    vectors = np.concatenate([arrows, -arrows])
    return np.broadcast_to(x, vectors.shape).copy(), vectors, eigenvalues, eigenvectors


def _curvature_colors(eigenvalues):
    signs = np.concatenate([eigenvalues, eigenvalues]) >= 0
    return [POSITIVE if s else NEGATIVE for s in signs]


def eigen_arrows(f, x, ax=None, scale=None):
    """The Hessian's eigen-directions at ``x``: arrows +-v_i of length proportional to
    |lambda_i|, blue where the curvature is positive, vermilion where negative.

    ``scale`` is the length of the longest arrow (default a fifth of the
    smaller side of ``f.domain``). Returns the Quiver.
    """
    ax = _axes(ax)
    if scale is None:
        scale = 0.2 * float(np.min(np.diff(_domain(f, None), axis=1)))
    origins, vectors, eigenvalues, _ = eigen_arrow_data(f, x, scale)
    return ax.quiver(*origins.T, *vectors.T, color=_curvature_colors(eigenvalues),
                     angles="xy", scale_units="xy", scale=1, width=0.006, zorder=4)


def taylor_slice(f, x0, direction, radius, n=201):
    """f and its Taylor models along the line x0 + t u, |t| <= radius, u = direction / |direction|.

        first order:   f(x0) + t g'u
        second order:  f(x0) + t g'u + t^2/2 u'Hu       (g, H at x0)

    Returns a dict of arrays: t, f, first, second.
    """
    x0 = np.asarray(x0, dtype=float)
    u = np.asarray(direction, dtype=float)
    if u.shape != x0.shape or not np.linalg.norm(u) > 0:
        raise ValueError(f"direction must be a non-zero vector of shape {x0.shape}, got {u}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    u = u / np.linalg.norm(u)
    t = np.linspace(-radius, radius, int(n))
    f0, slope, curvature = f.value(x0), f.grad(x0) @ u, u @ f.hess(x0) @ u
    first = f0 + t * slope
    return {"t": t, "f": f.value(x0 + t[:, None] * u), "first": first,
            "second": first + 0.5 * curvature * t**2}


def taylor_plot(f, x0, direction=None, ax=None, radius=None):
    """f along a line through ``x0`` beside its first- and second-order Taylor models.

    ``direction`` defaults to the steepest-descent direction -grad f(x0) (the
    first coordinate axis where the gradient vanishes); ``radius`` to a quarter
    of the smaller side of ``f.domain``. Returns a dict with Line2Ds
    "f", "first order", "second order".
    """
    ax = _axes(ax)
    x0 = np.asarray(x0, dtype=float)
    if direction is None:
        g = f.grad(x0)
        direction = -g if np.linalg.norm(g) > 0 else np.eye(f.dim)[0]
    if radius is None:
        radius = 0.25 * float(np.min(np.diff(_domain(f, None), axis=1)))
    data = taylor_slice(f, x0, direction, radius)
    lines = {
        "f": ax.plot(data["t"], data["f"], color=INK, label="$f$")[0],
        "first order": ax.plot(data["t"], data["first"], "--", color=PALETTE[0],
                               label="first order")[0],
        "second order": ax.plot(data["t"], data["second"], "--", color=PALETTE[1],
                                label="second order")[0],
    }
    ax.plot([0], [data["f"][len(data["t"]) // 2]], "o", color=INK)
    ax.set_ylim(*_padded_range(data["f"]))
    ax.set(xlabel="$t$ along the direction $u$", ylabel=r"$f(\theta_0 + t u)$")
    ax.legend(loc="best")
    return lines


def _padded_range(values, pad=0.15):
    """(lo, hi) around the finite values with ``pad`` of their range to spare."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    margin = pad * (hi - lo) if hi > lo else 1.0
    return lo - margin, hi + margin


# ---------------------------------------------------------------- the rate of momentum


def _eigenvalues(eigenvalues):
    """A condition number kappa means the eigenvalues (1, kappa), as ``ill_conditioned``."""
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=float))
    if lam.size == 1:
        if not lam[0] >= 1:
            raise ValueError(f"a condition number kappa must be >= 1, got {lam[0]}")
        lam = np.array([1.0, lam[0]])
    if lam.ndim != 1 or not np.all(np.isfinite(lam)) or not np.all(lam > 0):
        raise ValueError(f"eigenvalues must be positive and finite, got {eigenvalues!r}")
    return lam


def _grid(name, values, low, high, low_open=False):
    """A 1-D array of finite values in [low, high) (or (low, high) with ``low_open``)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers")
    below = values <= low if low_open else values < low
    if np.any(below) or np.any(values >= high):
        interval = f"{'(' if low_open else '['}{low}, {high})"
        raise ValueError(f"{name} must lie in {interval}, got {values.min()} to {values.max()}")
    return values


def momentum_rates(eigenvalues, lrs, momenta, steps=1000, per_direction=False, norm=False):
    """The convergence rate of heavy-ball momentum on a quadratic, measured for a whole
    (momentum x step size) grid in one batched run of ``optlib.sgd``.

    The quadratic is 1/2 sum_i lambda_i x_i^2 (a scalar ``eigenvalues`` is a
    condition number kappa: eigenvalues 1 and kappa). Every grid cell starts at
    x_0 = (1, ..., 1) with zero velocity and runs ``steps`` + 1 steps with its
    own eta and beta (the transform takes them as arrays). Along coordinate i
    the states state_t = (x_t, x_{t-1}) (x_{-1} = x_0) obey
    state_{t+1} = R state_t for a 2 x 2 matrix R that the run never sees, and
    two consecutive states give back the map the run applied over
    T = ``steps`` steps:

        [state_T, state_{T+1}] = R^T [state_0, state_1],
        so   R^T = [state_T, state_{T+1}] [state_0, state_1]^{-1}.

    The rate is the spectral radius of that map, rho(R^T)^(1/T), which is
    rho whatever T (up to rounding). With ``norm=True`` it is instead
    ||R^T||^(1/T) (spectral norm), the largest factor by which T steps shrink
    any state, per step: what watching an error decay can show. It tends to
    rho from above (Gelfand's formula), within the factor of
    ``rates.power_norm_bound``: about log(T)/T above rho where R has a
    double root and errors decay like t rho^t. The states are rescaled by
    powers of two as the run goes, so that nothing under- or overflows.

    Returns shape (len(momenta), len(lrs)), the largest rate over the
    directions, or (len(momenta), len(lrs), d) with ``per_direction``; rates
    > 1 diverge.
    """
    lam = _eigenvalues(eigenvalues)
    lrs = _grid("lrs", lrs, 0.0, np.inf, low_open=True)
    momenta = _grid("momenta", momenta, 0.0, 1.0)
    if int(steps) != steps or steps < 3:
        raise ValueError(f"steps must be an integer >= 3, got {steps!r}")
    f = functions.quadratic(np.diag(lam))
    tx = optimizers.sgd(lrs[None, :, None], momentum=momenta[:, None, None])
    x0 = np.ones((momenta.size, lrs.size, lam.size))
    with np.errstate(all="ignore"):
        x1, (before, last, after), log_scale = _run_rescaled(f, tx, x0, int(steps))
        # [s_0, s_1]^{-1} = [[x_0, -x_1], [-x_0, x_0]] / (x_0 (x_0 - x_1))
        det = x0 * (x0 - x1)
        power = [[(last - after) * x0 / det, (after * x0 - last * x1) / det],
                 [(before - last) * x0 / det, (last * x0 - before * x1) / det]]
        size = _spectral_norm_2x2(power) if norm else rates.spectral_radius(
            power[0][0] + power[1][1], power[0][0] * power[1][1] - power[0][1] * power[1][0])
        log_rate = (np.log(size) + log_scale) / steps
    rate = np.where(np.isnan(log_rate), np.inf, np.exp(log_rate))
    return rate if per_direction else rate.max(axis=-1)


def _run_rescaled(f, tx, x, steps, every=16):
    """Run steps + 1 steps from x; return x_1, (x_{T-1}, x_T, x_{T+1}) and the log of the
    power-of-two factors divided out of them (per entry) to keep them in range."""
    state, previous, older = tx.init(x), x, x
    log_scale = np.zeros(x.shape)
    first = None
    for t in range(steps + 1):
        step, state = tx.update(f.grad(x), state, x)
        x, previous, older = x + step, x, previous
        if first is None:
            first = x.copy()
        if (t + 1) % every == 0:
            _, exponent = np.frexp(np.maximum(np.abs(x), np.abs(previous)))
            x, previous, older = (np.ldexp(v, -exponent) for v in (x, previous, older))
            state = state._replace(momentum_buffer=np.ldexp(state.momentum_buffer, -exponent))
            log_scale += exponent * np.log(2.0)
    return first, (older, previous, x), log_scale


def _spectral_norm_2x2(A):
    """The largest singular value of [[a, b], [c, d]] given as nested lists of arrays."""
    (a, b), (c, d) = A
    frobenius = a * a + b * b + c * c + d * d
    det = a * d - b * c
    return np.sqrt((frobenius + np.sqrt(np.maximum(frobenius**2 - 4 * det**2, 0))) / 2)


#: The rate map colours rho by the number of nines of 1 - rho, down to this floor.
RATE_FLOOR = 1e-6


def rate_norm():
    """rho -> -log10(1 - rho) as a colour scale from rho = 0 to 1 - RATE_FLOOR: rates near 1
    (0.9, 0.99, 0.999 are one, two, three steps apart) stay apart; rho >= 1 is 'over'."""
    from matplotlib.colors import FuncNorm

    def forward(rho):
        rho = np.asarray(rho, dtype=float)
        with np.errstate(all="ignore"):
            nines = -np.log10(np.maximum(1 - rho, RATE_FLOOR))
        return np.where(rho >= 1, -np.log10(RATE_FLOOR) + 1, nines)

    def inverse(nines):
        return 1 - 10.0 ** -np.asarray(nines, dtype=float)

    return FuncNorm((forward, inverse), vmin=0.0, vmax=1 - RATE_FLOOR)


def rate_map(eigenvalues, lrs=None, momenta=None, ax=None, steps=1000, colorbar=True,
             guides=True):
    """The convergence-rate map of heavy-ball momentum over (step size eta, momentum beta).

    Colour is the rate rho measured by ``momentum_rates`` on the scale of
    ``rate_norm`` (darker converges faster); grey cells diverge (rho >= 1). An
    open circle marks the fastest cell. With ``guides`` the closed forms are
    drawn over it: the critical-damping curves beta = (1 - sqrt(eta lambda))^2
    of lambda_min (dashed) and lambda_max (dotted), the stability limit
    eta lambda_max = 2 (1 + beta) (solid), Polyak's optimum (star, from
    ``rates.heavy_ball_tuning``), and a label in each region. Defaults: eta in
    (0, 4 / lambda_max], beta in [0, 0.99]. Returns the AxesImage, whose
    array holds the rates.
    """
    ax = _axes(ax)
    lam = _eigenvalues(eigenvalues)
    lrs = np.linspace(0, 4 / lam.max(), 121)[1:] if lrs is None else lrs
    momenta = np.linspace(0, 0.99, 100) if momenta is None else momenta
    measured = momentum_rates(lam, lrs, momenta, steps)
    cmap = mpl.colormaps["viridis"].with_extremes(over="#d9d9d9")
    image = ax.imshow(measured, origin="lower", aspect="auto", cmap=cmap, norm=rate_norm(),
                      extent=_extent(lrs, momenta), interpolation="nearest")
    best = np.unravel_index(np.argmin(measured), measured.shape)
    ax.plot(lrs[best[1]], momenta[best[0]], "o", color="white", markeredgecolor=INK,
            markersize=8, label="fastest cell")
    if guides:
        _rate_map_guides(ax, lam, np.asarray(lrs, dtype=float), np.asarray(momenta))
    ax.set(xlabel=r"step size $\eta$", ylabel=r"momentum $\beta$",
           xlim=image.get_extent()[:2], ylim=image.get_extent()[2:])
    if colorbar:
        bar = ax.figure.colorbar(image, ax=ax, label=r"rate $\rho$ (grey: diverges)",
                                 extend="max")
        bar.set_ticks([0, 0.9, 0.99, 0.999, 0.9999, 0.99999])
        bar.set_ticklabels(["0", "0.9", "0.99", "0.999", "0.9999", "0.99999"])
    return image


def _rate_map_guides(ax, lam, lrs, momenta):
    """The closed forms over a rate map: critical damping, stability, the optimum, labels."""
    low, high = lam.min(), lam.max()
    eta = np.linspace(lrs.min(), lrs.max(), 400)

    def guide(x, y, style, label):
        ax.plot(x, y, "-", color="white", linewidth=3.2, alpha=0.8)  # a halo, for contrast
        ax.plot(x, y, style, color=INK, linewidth=1.4, label=label)

    for value, style, name in ((low, "--", r"\lambda_{\min}"), (high, ":", r"\lambda_{\max}")):
        inside = eta * value < 4
        guide(eta[inside], rates.critical_momentum(value, eta[inside]), style,
              f"critical damping of ${name}$")
    beta = np.linspace(0, 1, 50)
    guide(rates.stability_limit(beta[:-1]) / high, beta[:-1], "-",
          r"stability limit $\eta\lambda_{\max} = 2(1+\beta)$")
    best_lr, best_momentum, _ = rates.heavy_ball_tuning(lam)
    ax.plot(best_lr, best_momentum, "*", color="white", markeredgecolor=INK, markersize=13,
            label=r"optimum $(\eta^\star, \beta^\star)$")
    box = dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.8)
    left, middle = 0.45 / high, 1 / high
    labels = [
        (left, 0.5 * rates.critical_momentum(low, left), "slow direction\nover-damped"),
        (middle, 0.5 * (rates.critical_momentum(low, middle) + momenta.max()),
         r"ripples, $\rho = \sqrt{\beta}$"),
        (0.5 * (2.4 / high + lrs.max()), 0.12, "diverges"),
    ]
    for x, y, text in labels:
        if lrs.min() <= x <= lrs.max() and momenta.min() <= y <= momenta.max():
            ax.text(x, y, text, ha="center", va="center", fontsize=8, color=INK, bbox=box)


def _extent(xs, ys):
    """imshow's extent placing cell centres at the grid values."""
    def edges(v):
        half = (v[-1] - v[0]) / (2 * (len(v) - 1)) if len(v) > 1 else 0.5
        return v[0] - half, v[-1] + half

    return (*edges(np.asarray(xs, dtype=float)), *edges(np.asarray(ys, dtype=float)))
