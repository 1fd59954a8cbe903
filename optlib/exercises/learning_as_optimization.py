"""The checks of the chapter "Learning as optimization"."""

from __future__ import annotations

from .. import functions
from .grading import Case, exercise


def _risk(w, X, y):
    return float(functions.LeastSquares(X, y).value(w))


@exercise(
    "empirical_risk", "empirical_risk(w, X, y) -> risk",
    hint="R(w) = 1/(2n) sum_i (x_i'w - y_i)^2, with the residuals X @ w - y.",
    mistakes=[
        (lambda case: 2 * case.expected,
         "your value is twice the expected one: the risk has the factor 1/2, "
         "R(w) = 1/(2n) sum_i (x_i'w - y_i)^2."),
        (lambda case: len(case.args["y"]) * case.expected,
         "your value is n times too large: average over the n samples, do not only sum."),
    ],
)
def _empirical_risk_cases(rng):
    for label, n, d in [("3 samples, 2 features", 3, 2), ("50 samples, 4 features", 50, 4),
                        ("one sample", 1, 3)]:
        X, y, w = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
        yield Case(label, dict(w=w, X=X, y=y), _risk(w, X, y))
    X, w = rng.normal(size=(5, 2)), rng.normal(size=2)
    yield Case("a perfect fit, y = Xw (the risk is 0)", dict(w=w, X=X, y=X @ w), 0.0)


