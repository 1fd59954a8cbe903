"""The checks of the chapter "Learning as optimization"."""

from __future__ import annotations

import numpy as np

from .. import functions
from .grading import Case, exercise


def _risk(theta, X, y):
    return float(functions.LeastSquares(X, y).value(theta))


@exercise(
    "empirical_risk", "empirical_risk(theta, X, y) -> risk",
    hint="L(theta) = 1/(2n) sum_i (x_i'theta - y_i)^2, with the residuals "
         "X @ theta - y.",
    mistakes=[
        (lambda case: 2 * case.expected,
         "your value is twice the expected one: the risk has the factor 1/2, "
         "L(theta) = 1/(2n) sum_i (x_i'theta - y_i)^2."),
        (lambda case: len(case.args["y"]) * case.expected,
         "your value is n times too large: average over the n samples, do not "
         "only sum."),
    ],
)
def _empirical_risk_cases(rng):
    for label, n, d in [("3 samples, 2 features", 3, 2),
                        ("50 samples, 4 features", 50, 4),
                        ("one sample", 1, 3)]:
        X, y = rng.normal(size=(n, d)), rng.normal(size=n)
        theta = rng.normal(size=d)
        yield Case(label, dict(theta=theta, X=X, y=y), _risk(theta, X, y))
    X, theta = rng.normal(size=(5, 2)), rng.normal(size=2)
    yield Case("a perfect fit, y = X theta (the risk is 0)",
               dict(theta=theta, X=X, y=X @ theta), 0.0)


def _thresholds(x):
    """Every threshold that classifies x differently: below, between, above."""
    values = np.unique(x)
    return np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2,
                           [values[-1] + 1]])


def _accuracy_with_ones_above(x, y, thresholds):
    """The accuracy of 'y = 1 when x > c', for each threshold c."""
    return np.mean((x[:, None] > thresholds) == (y[:, None] == 1), axis=0)


def _best_threshold_accuracy(x, y):
    """The best accuracy of a rule 'y = 1 when x > c' or 'y = 1 when x < c'.

    Between neighbouring values of x every c classifies alike, and at such a
    c the rule 'x < c' is right exactly where 'x > c' is wrong.
    """
    above = _accuracy_with_ones_above(x, y, _thresholds(x))
    return float(np.max(np.maximum(above, 1 - above)))


def _ones_above_only(x, y):
    return float(np.max(_accuracy_with_ones_above(x, y, _thresholds(x))))


def _inner_thresholds_only(x, y):
    above = _accuracy_with_ones_above(x, y, _thresholds(x)[1:-1])
    return float(np.max(np.maximum(above, 1 - above)))


@exercise(
    "best_threshold_accuracy", "best_threshold_accuracy(x, y) -> accuracy",
    hint="try every threshold c that classifies the examples differently "
         "(below every x_i, above every x_i, and midway between neighbouring "
         "values) with both rules, y = 1 when x > c and y = 1 when x < c; "
         "return the largest fraction of examples classified correctly.",
    mistakes=[
        (lambda case: _ones_above_only(**case.args),
         "the 1s may lie below the threshold: try both rules, y = 1 when x > c "
         "and y = 1 when x < c."),
        (lambda case: _inner_thresholds_only(**case.args),
         "a threshold below (or above) every x_i counts too: it predicts the "
         "same class for every example, which can be the best rule."),
        (lambda case: len(case.args["y"]) * case.expected,
         "return the fraction of examples classified correctly, not their "
         "number."),
    ],
)
def _best_threshold_cases(rng):
    def labelled(x, y, label):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        return Case(label, dict(x=x, y=y), _best_threshold_accuracy(x, y))

    yield labelled([0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.6],
                   [0, 0, 1, 1, 1, 0, 0, 1], "8 examples, the 1s mostly above")
    yield labelled([0.3, -1.2, 0.5, 2.0, -0.4, 1.1], [1, 1, 1, 0, 1, 0],
                   "the 1s below the threshold")
    yield labelled(np.arange(7.0), [1, 1, 0, 1, 0, 1, 1],
                   "the best rule predicts 1 for every example")
    yield labelled([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0],
                   [0, 1, 1, 1, 0, 1, 0],
                   "repeated values of x with different labels")
    yield labelled([-2.0, -1.5, -0.3, 0.4, 1.0], [0, 0, 0, 1, 1],
                   "separable classes: accuracy 1")
    n = 200
    y = rng.integers(0, 2, n)
    x = rng.normal(size=n) + 1.2 * y
    yield labelled(x, y, "200 examples from two overlapping normals")
