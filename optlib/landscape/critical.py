"""Critical points from many starts, and perturbed gradient descent, which escapes strict
saddles (Jin et al. 2017)."""

from __future__ import annotations

import numpy as np

from ..minimize import DIVERGENCE_FACTOR, History, Result
from ._checks import _check_positive, _objective


def critical_points(f, starts=256, seed=0, grad_tol=1e-8, merge_tol=1e-6, max_iter=100,
                    method="levenberg-marquardt", radius=1.0):
    """Stationary points of ``f`` (minima, maxima and saddles alike), deduplicated.

    From every start, solve grad f(x) = 0 by Levenberg-Marquardt on the
    residual r(x) = grad f(x), whose Jacobian is the Hessian H:

        (H'H + mu I) p = -H' grad f(x),   x <- x + p if ||grad f|| decreases,

    with mu shrinking after a success and growing after a failure. Unlike a
    minimizer it converges to saddles and maxima too (near a non-degenerate
    critical point it is Newton's method on grad f = 0, quadratically
    convergent; at a degenerate one, linearly).

    ``method="newton"`` takes Newton steps on grad f = 0 instead, each cut to
    length at most ``radius``:

        p = -H^-1 grad f(x),   x <- x + p min(1, radius / |p|).

    It converges from more starts on the many-saddled losses of small networks,
    where Levenberg-Marquardt, a descent method on |grad f|^2, stalls in
    regions where the gradient is small but not zero.

    ``starts`` is an array of shape (n, dim), or a number n of points drawn
    uniformly from ``f.domain`` with ``seed``. Returns the points with
    ||grad f|| < ``grad_tol``, merged when closer than ``merge_tol`` (1 + |x|),
    as an array of shape (k, dim) sorted by f value.
    """
    _objective(f)
    if method not in ("levenberg-marquardt", "newton"):
        raise ValueError(f"method must be 'levenberg-marquardt' or 'newton', got {method!r}")
    _check_positive(radius=radius)
    x = _starting_points(f, starts, seed)
    g = f.grad(x)
    mu = np.full(len(x), 1e-3)
    for _ in range(int(max_iter)):
        if method == "newton":
            x, g = _newton_step(f, x, g, radius)
        else:
            x, g, mu = _levenberg_marquardt_step(f, x, g, mu)
    found = x[np.isfinite(g).all(-1) & (np.linalg.norm(g, axis=-1) < grad_tol)]
    return _merge(f, found, merge_tol)


def _starting_points(f, starts, seed):
    if np.ndim(starts) == 0:
        if int(starts) != starts or starts < 1:
            raise ValueError(f"starts must be a positive integer or an array, got {starts!r}")
        if f.domain is None:
            raise ValueError(f"{f.name} has no domain to draw starts from; pass an array")
        lo, hi = np.array(f.domain, dtype=float).T
        return np.random.default_rng(seed).uniform(lo, hi, size=(int(starts), f.dim))
    x = f._point(starts, "starts")
    if x.ndim != 2:
        raise ValueError(f"starts must have shape (n, {f.dim}), got {x.shape}")
    return x.copy()


def _newton_step(f, x, g, radius):
    H = f.hess(x)
    with np.errstate(all="ignore"):
        try:
            p = -np.linalg.solve(H, g[..., None])[..., 0]
        except np.linalg.LinAlgError:      # an exactly singular H somewhere in the stack
            p = -(np.linalg.pinv(H) @ g[..., None])[..., 0]
    p = np.where(np.isfinite(p).all(-1, keepdims=True), p, 0.0)
    length = np.linalg.norm(p, axis=-1, keepdims=True)
    x = x + p * np.minimum(1.0, radius / np.maximum(length, 1e-300))
    return x, f.grad(x)


def _levenberg_marquardt_step(f, x, g, mu):
    H = f.hess(x)
    HtH = np.swapaxes(H, -1, -2) @ H
    scale = np.maximum(np.trace(HtH, axis1=-2, axis2=-1) / f.dim, 1e-300)
    damped = HtH + (mu * scale)[:, None, None] * np.eye(f.dim)
    with np.errstate(all="ignore"):
        p = -np.linalg.solve(damped, (np.swapaxes(H, -1, -2) @ g[..., None]))[..., 0]
        x_new = x + p
        g_new = f.grad(x_new)
        better = np.linalg.norm(g_new, axis=-1) < np.linalg.norm(g, axis=-1)
    x = np.where(better[:, None], x_new, x)
    g = np.where(better[:, None], g_new, g)
    mu = np.where(better, np.maximum(mu / 3, 1e-12), np.minimum(mu * 4, 1e12))
    return x, g, mu


def _merge(f, points, tol):
    """One representative per cluster of points closer than tol (1 + |x|), sorted by f."""
    points = points[np.argsort(f.value(points), kind="stable")] if len(points) else points
    kept = []
    for p in points:
        if all(np.linalg.norm(p - q) > tol * (1 + np.linalg.norm(q)) for q in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, f.dim)


# ---------------------------------------------------------------------------
# Escaping saddles
# ---------------------------------------------------------------------------


def escape_time(lam_min, r0, r, lr=None):
    """How long gradient descent needs to carry an offset r0 from a strict saddle, along
    the eigenvector u_min of its most negative eigenvalue lam_min < 0, out to distance r.

    Near the saddle the gradient is H times the offset, so the component along
    u_min is multiplied by 1 - lr lam_min = 1 + lr |lam_min| at every step:

        steps = log(r / r0) / log(1 + lr |lam_min|)   (gradient descent, step lr),
        time  = log(r / r0) / |lam_min|                (gradient flow, lr=None).

    Since x / (1 + x/2) <= log(1 + x) <= x, steps * lr exceeds the flow time by a
    factor between 1 and 1 + lr |lam_min| / 2. The formulas hold while the
    quadratic model does, and count fractional steps (round up for whole ones).
    Every argument may be an array (broadcast together).
    """
    lam_min, r0, r = (np.asarray(v, dtype=float) for v in (lam_min, r0, r))
    if np.any(~np.isfinite(lam_min) | (lam_min >= 0)):
        raise ValueError("lam_min must be negative: a strict saddle has negative curvature")
    if np.any(~(r0 > 0)) or np.any(~(r > 0)):
        raise ValueError("r0 and r must be positive distances")
    growth = np.log(r / r0)
    if lr is None:
        return _item(growth / -lam_min)
    lr = np.asarray(lr, dtype=float)
    if np.any(~np.isfinite(lr) | (lr <= 0)):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    return _item(growth / np.log1p(lr * -lam_min))


def perturbed_gd(f, x0, lr, steps=1000, radius=1e-2, g_thres=1e-3, t_thres=20, f_thres=None,
                 seed=0, callback=None):
    """Perturbed gradient descent (Jin et al. 2017, Algorithm 2).

    Gradient descent x_{t+1} = x_t - lr grad f(x_t), except that whenever
    ||grad f(x_t)|| <= ``g_thres`` and no perturbation happened in the last
    ``t_thres`` steps, x_t is first moved by xi drawn uniformly from the ball of
    radius ``radius``. At a strict saddle plain GD stays put (its gradient is
    zero) while the perturbation puts the iterate on the unstable manifold's
    side, from which GD moves away exponentially fast.

    With ``f_thres`` set, a run stops as 'converged' when ``t_thres`` steps
    after a perturbation f has not decreased by ``f_thres`` below f(x~), x~ the
    point just before the perturbation: x~ is then (with high probability) an
    approximate second-order stationary point, and it is returned. ``x0`` of shape (B, dim) runs B
    trajectories with independent noise. Returns a Result (method
    'perturbed_gd') like ``minimize``; ``history.lr`` holds ``lr`` per step.
    """
    _objective(f)
    x = f._point(x0, "x0").copy()
    _check_positive(lr=lr, radius=radius, t_thres=t_thres)
    rng = np.random.default_rng(seed)
    batch = x.shape[:-1]
    fx, g = f.value(x), f.grad(x)
    bound = DIVERGENCE_FACTOR * (1 + np.abs(fx))
    t_noise = np.full(batch, -np.inf)
    x_noise, f_noise, g_noise = x.copy(), fx.copy(), g.copy()
    status = np.full(batch, "max_steps", dtype=object)
    active = np.ones(batch, dtype=bool)
    nit = np.zeros(batch, dtype=int)
    nfev, ngev = np.ones(batch, dtype=int), np.ones(batch, dtype=int)
    xs, fs, norms = [x.copy()], [fx], [np.linalg.norm(g, axis=-1)]
    for t in range(int(steps)):
        if not active.any():
            break
        perturb = active & (np.linalg.norm(g, axis=-1) <= g_thres) & (t - t_noise > t_thres)
        if perturb.any():
            x_noise = np.where(perturb[..., None], x, x_noise)
            f_noise = np.where(perturb, fx, f_noise)
            g_noise = np.where(perturb[..., None], g, g_noise)
            t_noise = np.where(perturb, t, t_noise)
            x = np.where(perturb[..., None], x + _uniform_ball(rng, x.shape, radius), x)
            g = np.where(perturb[..., None], f.grad(x), g)
            ngev += perturb
        with np.errstate(all="ignore"):
            x_new = x - lr * g
            f_new, g_new = f.value(x_new), f.grad(x_new)
        nfev += active
        ngev += active
        bad = ~np.isfinite(f_new) | (np.abs(f_new) > bound) | ~np.isfinite(g_new).all(-1)
        _stop(status, active, bad, "diverged")
        moves = active.copy()
        x = np.where(moves[..., None], x_new, x)
        fx, g = np.where(moves, f_new, fx), np.where(moves[..., None], g_new, g)
        nit += moves
        if f_thres is not None:
            stuck = (t + 1 - t_noise == t_thres) & (fx - f_noise > -f_thres)
            back = active & stuck
            x = np.where(back[..., None], x_noise, x)
            fx, g = np.where(back, f_noise, fx), np.where(back[..., None], g_noise, g)
            _stop(status, active, stuck, "converged")
        xs.append(x.copy())
        fs.append(fx)
        norms.append(np.linalg.norm(g, axis=-1))
        if callback is not None:
            callback(t, x, fx)
    history = History(np.stack(xs), np.stack(fs), np.stack(norms),
                      np.full((len(xs) - 1,) + batch, float(lr)))
    return Result(x=x, fun=_item(fx), nit=_item(nit), nfev=_item(nfev),
                  ngev=_item(ngev), nhev=_item(np.zeros(batch, dtype=int)),
                  status=_item(status), history=history, method="perturbed_gd")


def _uniform_ball(rng, shape, radius):
    """Points uniform in the ball of ``radius`` in R^dim, one per leading index."""
    direction = rng.standard_normal(shape)
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    r = radius * rng.uniform(size=shape[:-1] + (1,)) ** (1 / shape[-1])
    return r * direction


def _stop(status, active, mask, reason):
    newly = active & mask
    status[newly] = reason
    active &= ~newly


def _item(a):
    return a.item() if np.ndim(a) == 0 else a
