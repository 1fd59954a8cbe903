"""Unit-test cases: a prototype shape at a scale, with or without noise, standing still or
moving, alone or composed with others (Schaul, Antonoglou and Silver 2014).

A Case is one problem of the suite. Its points have shape ``(G, S, dim)``:
``G`` settings of an optimizer run side by side and see the same noise (common
random numbers, so that settings differ only by the optimizer), and ``S``
seeds see independent noise. The noise of a whole run is drawn up front from a
generator seeded by the case's name, so a case run alone (in an explorer) sees
the noise it sees in the suite.

    case = noisy(from_shape("quadratic"), "additive")
    draws = case.noise_draws(budget=300)            # (300, S, dim), or None
    g = case.gradient(theta, t, draws[t])           # the gradient the optimizer sees
    case.loss(theta, t), case.solved(theta, t)
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .shapes import SHAPES, Shape, shape

__all__ = ["Case", "Noise", "NOISE", "from_shape", "scaled", "noisy", "moving", "concatenate",
           "separable", "rotation", "rotated", "suite", "SCALES", "SEEDS"]

#: The exponents k of the scales 10^k at which the suite repeats every shape.
SCALES = (-2, -1, 1, 2)
#: Seeds per noisy case: a noisy case passes when more than half of its runs do.
SEEDS = 5


@dataclass(frozen=True)
class Noise:
    """A noise model: ``draw(rng, size)`` draws the random numbers z of a run, and a
    gradient g becomes g * multiplier(z, level) + offset(z, level)."""

    level: float
    draw: Callable
    multiplier: Callable
    offset: Callable
    formula: str

    def apply(self, g, z, level):
        """The noisy gradient."""
        return g * self.multiplier(z, level) + self.offset(z, level)


def _one(z, level):
    return np.ones_like(z)


def _zero(z, level):
    return np.zeros_like(z)


#: The noise models, by name, each at its default level (sigma, or for sparse gradients the
#: probability p that a gradient is seen). Each keeps the gradient's mean, except the
#: Cauchy outliers, which have no mean (their median is g).
NOISE = {
    "additive": Noise(0.1, lambda rng, size: rng.standard_normal(size), _one,
                      lambda z, level: level * z, "g + σ ξ, ξ ~ N(0, 1)"),
    "multiplicative": Noise(1.0, lambda rng, size: rng.standard_normal(size),
                            lambda z, level: 1.0 + level * z, _zero, "g (1 + σ ξ)"),
    "outliers": Noise(0.1, lambda rng, size: rng.standard_cauchy(size), _one,
                      lambda z, level: level * z, "g + σ ζ, ζ standard Cauchy"),
    "sparse": Noise(0.1, lambda rng, size: rng.random(size),
                    lambda z, level: (z < level) / level, _zero, "g b / p, b ~ Bernoulli(p)"),
}


@dataclass(frozen=True)
class Case:
    """One problem: a loss L_t(theta), a stochastic gradient, a start and a target.

    A case made from one shape (``shape`` set) has L_t(theta) = c L(theta - v t),
    c = ``scale`` and v = ``speed``; a composed case has its own ``parts_fn``
    (theta -> the losses of its parts at the reference scale, shape (..., parts))
    and ``grad_fn``, and its loss is c times the sum of the parts weighted by
    ``weights``. ``loss`` and ``grad`` are noise-free and vectorized over
    leading axes; ``gradient`` is what an optimizer sees. ``progress`` gives
    the parts' losses at the reference scale, and ``targets`` the level each
    must reach (for one shape, its target): the scale never changes which
    points pass. ``spans`` measure each part's way to its target (target minus
    minimum, or for a loss unbounded below the start's loss minus the target),
    so that a margin (target - loss) / span says how near a verdict is to
    flipping. ``target`` is the target level in units of the case's loss.
    ``family`` is 'shape', 'scale', 'noise', 'moving' or 'composition';
    ``seeds`` is how many independent runs a verdict takes.
    """

    name: str
    family: str
    dim: int
    start: np.ndarray
    targets: np.ndarray
    spans: np.ndarray
    minimum: float | None = None
    shape: Shape | None = None
    parts_fn: Callable | None = None
    grad_fn: Callable | None = None
    weights: np.ndarray | None = None
    scale: float = 1.0
    speed: float = 0.0
    noise: str = "none"
    level: float = 0.0
    seeds: int = 1

    @property
    def target(self):
        """The level of L_t that meets the target (for a composed case, when every part
        meets its own)."""
        weights = 1.0 if self.weights is None else self.weights
        return float(self.scale * np.sum(weights * self.targets))

    def progress(self, theta, t):
        """The losses of the case's parts at the reference scale, shape (..., parts)."""
        if self.shape is not None:
            return self.shape.value(theta - self.speed * t)
        return self.parts_fn(theta)

    def loss(self, theta, t):
        """L_t(theta), shape ``theta.shape[:-1]``."""
        parts = self.progress(theta, t)
        if self.weights is None:
            return self.scale * parts[..., 0]
        return self.scale * (parts @ self.weights)

    def grad(self, theta, t):
        """The noise-free gradient of L_t at theta."""
        return self.scale * self._reference_grad(theta, t)

    def _reference_grad(self, theta, t):
        if self.shape is not None:
            return self.shape.grad(theta - self.speed * t)
        return self.grad_fn(theta)

    def noise_draws(self, budget, seed=0):
        """The random numbers of a run of ``budget`` steps, shape (budget, seeds, dim), drawn
        from a generator seeded by ``seed`` and the case's name; None without noise."""
        if self.noise == "none":
            return None
        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        return NOISE[self.noise].draw(rng, (budget, self.seeds, self.dim))

    def gradient(self, theta, t, draw=None):
        """The gradient the optimizer sees at step t: noise (this step's ``draw``) is
        applied to the gradient at the reference scale, then scaled."""
        g = self._reference_grad(theta, t)
        if self.noise == "none":
            return self.scale * g
        return self.scale * NOISE[self.noise].apply(g, draw, self.level)

    def solved(self, theta, t):
        """True where every part meets its target, shape ``theta.shape[:-1]``."""
        return np.all(self.progress(theta, t) <= self.targets, axis=-1)

    def __repr__(self):
        return f"Case({self.name!r}, {self.family}, dim {self.dim}, {self.seeds} seed(s))"


def from_shape(name_or_shape):
    """The case of one prototype shape at the reference scale, without noise."""
    s = name_or_shape if isinstance(name_or_shape, Shape) else shape(name_or_shape)
    return Case(name=s.name, family="shape", dim=1, start=np.array([s.start]),
                targets=np.array([s.target]), spans=np.array([_span(s)]), minimum=s.minimum,
                shape=s)


def _span(s):
    """How far a shape's target lies from its minimum, or below its start when unbounded."""
    if s.minimum is not None:
        return s.target - s.minimum
    return float(s.value(np.float64(s.start))) - s.target


def scaled(case, c):
    """The case with its loss multiplied by c > 0: gradients and curvature times c.

    The target is multiplied too, so the same points pass: only an optimizer
    that is not invariant to the scale of the loss can tell.
    """
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"c must be a finite number > 0, got {c!r}")
    return replace(case, name=f"{case.name}, scale {c:g}", family="scale",
                   scale=c * case.scale,
                   minimum=None if case.minimum is None else c * case.minimum)


def noisy(case, kind, level=None):
    """The case with noisy gradients of the named ``kind`` (a key of NOISE) at ``level``
    (sigma, or for sparse gradients the probability p that one is seen); SEEDS runs."""
    if kind not in NOISE:
        raise ValueError(f"kind must be one of {list(NOISE)}, got {kind!r}")
    level = NOISE[kind].level if level is None else float(level)
    if not np.isfinite(level) or level <= 0 or (kind == "sparse" and level > 1):
        raise ValueError(f"level must be > 0 (at most 1 for sparse), got {level!r}")
    return replace(case, name=f"{case.name}, {kind}", family="noise", noise=kind, level=level,
                   seeds=SEEDS)


def moving(case, speed):
    """The case with its loss sliding at ``speed`` per step: L_t(theta) = L(theta - v t), the
    minimizer moving with it, for a case made from one shape."""
    if case.shape is None:
        raise ValueError("moving takes a case made from one shape")
    return replace(case, name=f"{case.name}, moving", family="moving", speed=float(speed))


# ---------------------------------------------------------------- compositions


def concatenate(first, second, at, enter, name=None):
    """A one-dimensional case: ``first`` left of ``at``, then ``second`` from its point
    ``enter`` on, lifted to join continuously. It starts where ``first`` starts and is
    solved where ``second``, lifted, meets its target."""
    first = shape(first) if isinstance(first, str) else first
    second = shape(second) if isinstance(second, str) else second
    lift = float(first.value(np.float64(at)) - second.value(np.float64(enter)))

    def value(theta):
        return np.where(theta < at, first.value(theta), second.value(theta - at + enter) + lift)

    def grad(theta):
        return np.where(theta < at, first.grad(theta), second.grad(theta - at + enter))

    joined = Shape(name or f"{first.name} → {second.name}", value, grad, first.start,
                   second.target + lift, None if second.minimum is None else
                   second.minimum + lift, tests=f"{first.tests}, then {second.tests}",
                   source="this book")
    return replace(from_shape(joined), family="composition")


def separable(shapes, scales=None, name=None):
    """L(theta) = sum_i c_i L_i(theta_i): one shape per coordinate, at scales c_i. It is
    solved when every coordinate meets its own target."""
    shapes = [shape(s) if isinstance(s, str) else s for s in shapes]
    c = np.ones(len(shapes)) if scales is None else np.asarray(scales, dtype=float)
    if c.shape != (len(shapes),) or np.any(c <= 0):
        raise ValueError(f"scales must be {len(shapes)} numbers > 0, got {scales!r}")

    def parts(theta):
        return np.stack([s.value(theta[..., i]) for i, s in enumerate(shapes)], axis=-1)

    def grad(theta):
        return c * np.stack([s.grad(theta[..., i]) for i, s in enumerate(shapes)], axis=-1)

    bounded = all(s.minimum is not None for s in shapes)
    return Case(
        name=name or " + ".join(s.name for s in shapes), family="composition",
        dim=len(shapes), start=np.array([s.start for s in shapes]),
        targets=np.array([s.target for s in shapes]), spans=np.array([_span(s) for s in shapes]),
        minimum=float(c @ [s.minimum for s in shapes]) if bounded else None,
        parts_fn=parts, grad_fn=grad, weights=c,
    )


def rotation(dim, angle=np.pi / 4, seed=0):
    """An orthogonal matrix: the plane rotation by ``angle`` for dim 2, a random one above."""
    if dim == 2:
        cos, sin = np.cos(angle), np.sin(angle)
        return np.array([[cos, -sin], [sin, cos]])
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def rotated(case, Q=None):
    """A composed case seen in rotated coordinates, L(Q theta), started at Q' theta_0: the
    same problem, no longer aligned with the axes. Q defaults to ``rotation(case.dim)``."""
    if case.shape is not None:
        raise ValueError("rotated takes a composed case of two or more dimensions")
    Q = rotation(case.dim) if Q is None else np.asarray(Q, dtype=float)
    if Q.shape != (case.dim, case.dim) or not np.allclose(Q @ Q.T, np.eye(case.dim)):
        raise ValueError(f"Q must be an orthogonal {case.dim} x {case.dim} matrix")
    parts_fn, grad_fn = case.parts_fn, case.grad_fn

    def turn(theta):              # Q theta, summed elementwise: the same bits on every BLAS
        return (theta[..., None, :] * Q).sum(axis=-1)

    def turn_back(g):             # Q' g
        return (g[..., :, None] * Q).sum(axis=-2)

    return replace(case, name=f"{case.name}, rotated", start=turn_back(case.start),
                   parts_fn=lambda theta: parts_fn(turn(theta)),
                   grad_fn=lambda theta: turn_back(grad_fn(turn(theta))))


def suite():
    """The standard suite: every shape at the reference scale and at the scales 10^k of
    SCALES, every shape under each noise model, two moving optima and six compositions."""
    cases = [from_shape(name) for name in SHAPES]
    cases += [scaled(from_shape(name), 10.0**k) for name in SHAPES for k in SCALES]
    cases += [noisy(from_shape(name), kind) for kind in NOISE for name in SHAPES]
    cases += [moving(from_shape("quadratic"), 0.01), moving(from_shape("absolute value"), 0.01)]
    valley = separable(["quadratic", "quadratic"], [1.0, 100.0], name="valley 1 : 100")
    mixed = separable(["quadratic", "gaussian", "absolute value", "exponential"],
                      [1.0, 10.0, 0.1, 1.0], name="four shapes")
    cases += [concatenate("line", "quadratic", at=3.0, enter=-1.0),
              concatenate("ridge", "quadratic", at=3.0, enter=-1.0),
              valley, rotated(valley), mixed, rotated(mixed)]
    return cases
