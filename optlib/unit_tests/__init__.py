"""Unit tests for optimization (Schaul, Antonoglou and Silver 2014): small prototype problems,
each isolating one difficulty, and a runner that judges optimizers on them.

    import optlib as ol
    report = ol.unit_tests.run()          # every method of the chapter's table
    print(report.summary())

The package: ``shapes`` (the one-dimensional prototypes), ``cases`` (scale,
noise, a moving optimum, compositions, and the standard ``suite``) and
``runner`` (tuning at the reference scale, verdicts, the summary table).
"""

from .cases import (
    NOISE,
    SCALES,
    SEEDS,
    Case,
    concatenate,
    from_shape,
    moving,
    noisy,
    rotated,
    rotation,
    scaled,
    separable,
    suite,
)
from .runner import BUDGET, METHODS, Method, Report, Run, methods, run, simulate
from .shapes import SHAPES, Shape, shape

__all__ = [
    "Shape", "SHAPES", "shape", "Case", "NOISE", "SCALES", "SEEDS", "from_shape", "scaled",
    "noisy", "moving", "concatenate", "separable", "rotated", "rotation", "suite",
    "Method", "METHODS", "methods", "Run", "Report", "run", "simulate", "BUDGET",
]
