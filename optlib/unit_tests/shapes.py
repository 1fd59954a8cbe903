"""One-dimensional prototype losses, each isolating one difficulty.

The names follow Schaul, Antonoglou and Silver (2014); the formulas are this
book's one-line versions at a reference scale where slopes are about 1 (theirs
are fitted to an interval by a start value and slope). Each shape knows its
start, the level of the loss that counts as solved, and what it tests.

    shape = SHAPES["gaussian"]
    shape.value(theta), shape.grad(theta)      # vectorized over any array of theta
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Shape", "SHAPES", "shape"]

SCHAUL = "Schaul et al. (2014)"
THIS_BOOK = "this book"


@dataclass(frozen=True)
class Shape:
    """A one-dimensional loss L(theta) with its derivative, a start and a target.

    ``value`` and ``grad`` act elementwise on arrays. A run from ``start``
    passes when L(theta_T) <= ``target``. ``minimum`` is inf L where the
    loss is bounded below (None for the line, which is not). ``tests`` says in
    a few words what difficulty the shape isolates; ``source`` where the
    shape comes from (the formula is always this book's).
    """

    name: str
    value: Callable = None
    grad: Callable = None
    start: float = 0.0
    target: float = 0.0
    minimum: float | None = None
    tests: str = ""
    source: str = SCHAUL

    def __post_init__(self):
        if self.value is None or self.grad is None:
            raise TypeError(f"shape {self.name!r} needs a value and a grad function")
        if not float(self.value(np.float64(self.start))) > self.target:
            raise ValueError(f"shape {self.name!r} starts solved: L(start) <= target")

    def __repr__(self):
        return f"Shape({self.name!r}: start {self.start:g}, target L <= {self.target:g})"


def _step(theta):
    """The derivative of |theta|, taken as 0 at the kink."""
    return np.sign(theta)


def _gaussian_value(theta):
    return 1.0 - np.exp(-0.5 * theta * theta)


def _gaussian_grad(theta):
    return theta * np.exp(-0.5 * theta * theta)


def _laplace_value(theta):
    return 1.0 - np.exp(-np.abs(theta))


def _laplace_grad(theta):
    return np.sign(theta) * np.exp(-np.abs(theta))


def _kinked(left_slope, right_slope):
    """L = left_slope theta for theta < 0, right_slope theta beyond: a kink at 0."""
    def value(theta):
        return np.where(theta < 0, left_slope * theta, right_slope * theta)

    def grad(theta):
        return np.where(theta < 0, left_slope, np.where(theta > 0, right_slope, 0.0))

    return value, grad


#: Where the bump of the ridge stands and its half-width and height.
RIDGE_AT, RIDGE_WIDTH, RIDGE_HEIGHT = 1.5, 0.25, 1.0


def _ridge_value(theta):
    bump = RIDGE_HEIGHT * np.maximum(0.0, 1.0 - np.abs(theta - RIDGE_AT) / RIDGE_WIDTH)
    return -theta + bump


def _ridge_grad(theta):
    inside = np.abs(theta - RIDGE_AT) < RIDGE_WIDTH
    return -1.0 - np.where(inside, RIDGE_HEIGHT / RIDGE_WIDTH * np.sign(theta - RIDGE_AT), 0.0)


_cliff = _kinked(-1.0, 10.0)
_bend = _kinked(-10.0, -1.0)

#: The prototype shapes, by name.
SHAPES = {
    s.name: s for s in [
        Shape("line", lambda th: -th, lambda th: -np.ones_like(th), start=0.0, target=-3.0,
              tests="a constant slope: does the method cover distance?"),
        Shape("rectifier", lambda th: np.maximum(-th, 0.0),
              lambda th: np.where(th < 0, -1.0, 0.0), start=-3.0, target=1e-2, minimum=0.0,
              tests="a slope that ends on a flat floor"),
        Shape("absolute value", np.abs, _step, start=2.9, target=1e-2, minimum=0.0,
              tests="a kink at the minimum: the gradient never shrinks"),
        Shape("quadratic", lambda th: 0.5 * th * th, lambda th: th, start=3.0, target=1e-4,
              minimum=0.0, tests="the smooth bowl every method is built for"),
        Shape("gaussian", _gaussian_value, _gaussian_grad, start=3.0, target=1e-4, minimum=0.0,
              tests="a start in a flat tail: tiny gradients far from the minimum"),
        Shape("laplace", _laplace_value, _laplace_grad, start=2.9, target=1e-2, minimum=0.0,
              tests="a flat tail and a kink at the minimum"),
        Shape("exponential", lambda th: np.exp(-th), lambda th: -np.exp(-th), start=0.0,
              target=5e-2, minimum=0.0, tests="a gradient that vanishes on the way"),
        Shape("cliff", *_cliff, start=-2.9, target=1e-2, minimum=0.0,
              tests="a gentle slope ending at a wall ten times as steep"),
        Shape("bend", *_bend, start=-1.0, target=-2.0,
              tests="a steep slope that turns ten times gentler"),
        Shape("ridge", _ridge_value, _ridge_grad, start=0.0, target=-3.0,
              tests="a narrow ridge across a slope: GD stops at its foot",
              source=f"{SCHAUL}, a bump in this book's version"),
    ]
}


def shape(name):
    """The prototype shape called ``name`` (a key of SHAPES)."""
    if name not in SHAPES:
        raise ValueError(f"shape must be one of {list(SHAPES)}, got {name!r}")
    return SHAPES[name]
