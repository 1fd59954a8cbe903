"""The checks of the chapter "The Hessian and critical points"."""

from __future__ import annotations

import numpy as np

from .. import functions, landscape
from .grading import Case, _named, _spd, _symmetric_with, exercise


def _classify(H, tol):
    """optlib's second-derivative test at a critical point with Hessian H."""
    label, _ = landscape.classify(functions.quadratic(H), np.zeros(len(H)), tol=tol,
                                  grad_tol=None)
    return label


def _forward_difference_hessian(grad, theta, h):
    return np.stack([(grad(theta + h * e) - grad(theta)) / h for e in np.eye(len(theta))],
                    axis=-1)


@exercise(
    "finite_difference_hessian", "finite_difference_hessian(grad, theta, h) -> H",
    hint="column j of H is how the gradient changes along e_j: "
         "(grad(theta + h e_j) - grad(theta - h e_j)) / (2h).",
    mistakes=[
        (lambda case: _forward_difference_hessian(**case.args),
         "those are forward differences (grad(theta + h e_j) - grad(theta)) / h; use central "
         "ones, (grad(theta + h e_j) - grad(theta - h e_j)) / (2h)."),
    ],
    rtol=1e-6, atol=1e-6,
)
def _finite_difference_hessian_cases(rng):
    A = _spd(rng, 4)
    for label, f, theta in [
        ("Rosenbrock at (-1.2, 1)", functions.rosenbrock(), np.array([-1.2, 1.0])),
        ("six-hump camel at (0.5, -0.3)", functions.six_hump_camel(), np.array([0.5, -0.3])),
        ("the saddle theta_1^2 - theta_2^2 at its critical point", functions.saddle(),
         np.zeros(2)),
        ("a 4-D quadratic (H is constant)", functions.quadratic(A, name="a 4-D quadratic"),
         rng.normal(size=4)),
        ("Rosenbrock in 3-D", functions.rosenbrock(dim=3), rng.uniform(-1, 1, 3)),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), theta=theta, h=1e-5), f.hess(theta))


def _classify_degenerate_first(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    return "degenerate" if np.any(np.abs(eigenvalues) <= tol) else _classify(H, tol)


def _saddle_when_some_negative(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues[0] < -tol and eigenvalues[-1] >= -tol:
        return "saddle"
    return _classify(H, tol)


@exercise(
    "classify_critical_point", "classify_critical_point(H, tol) -> kind",
    hint="look at the signs of the eigenvalues of H (np.linalg.eigvalsh): some > tol and some "
         "< -tol -> 'saddle'; otherwise any |lambda| <= tol -> 'degenerate' (the test says "
         "nothing); all > tol -> 'minimum'; all < -tol -> 'maximum'.",
    mistakes=[
        (lambda case: _classify_degenerate_first(**case.args),
         "a positive and a negative eigenvalue make a saddle whatever the other eigenvalues "
         "are: there is a direction going up and one going down."),
        (lambda case: _saddle_when_some_negative(**case.args),
         "a negative eigenvalue beside zero ones, and no positive one, leaves the test "
         "undecided: the point may be a maximum (-theta_1^2 - theta_2^4) or a saddle "
         "(-theta_1^2 + theta_2^4), so the answer is 'degenerate'."),
    ],
)
def _classify_cases(rng):
    tol = 1e-8
    for label, H in [
        ("positive definite, 3-D", _spd(rng, 3)),
        ("negative definite, 2-D", -_spd(rng, 2)),
        ("the saddle theta_1^2 - theta_2^2", np.diag([2.0, -2.0])),
        ("the monkey saddle, where H = 0", np.zeros((2, 2))),
        ("one zero eigenvalue, the others positive", _symmetric_with(rng, [1.0, 0.0, 3.0])),
        ("a zero eigenvalue beside a positive and a negative one",
         _symmetric_with(rng, [1.0, -1.0, 0.0])),
        ("a negative and a zero eigenvalue, none positive",
         _symmetric_with(rng, [-2.0, 0.0])),
        ("one dimension, L'' < 0", np.array([[-3.0]])),
    ]:
        yield Case(label, dict(H=H, tol=tol), _classify(H, tol))


def _judge_escape_direction(H):
    smallest = np.linalg.eigvalsh(H)[0]

    def judge(expected, received):
        try:
            u = np.asarray(received, dtype=float)
        except (TypeError, ValueError):
            return f"a vector was expected, not {type(received).__name__}"
        if u.shape != expected.shape:
            return f"the shape should be {expected.shape}, not {u.shape}"
        if not np.isclose(np.linalg.norm(u), 1.0, rtol=1e-6):
            return f"u must be a unit vector, its norm is {np.linalg.norm(u):.6g}"
        curvature = u @ H @ u
        if not np.isclose(curvature, smallest, rtol=1e-6, atol=1e-9):
            return (f"the curvature along u is u'Hu = {curvature:.6g}, but the most negative "
                    f"curvature is lambda_min = {smallest:.6g}")
        return None

    return judge


@exercise(
    "escape_direction", "escape_direction(H) -> u",
    hint="the curvature u'Hu of a unit vector is most negative along the eigenvector of the "
         "smallest eigenvalue (np.linalg.eigh sorts them in ascending order); either sign is "
         "right.",
)
def _escape_direction_cases(rng):
    for label, H in [
        ("the saddle theta_1^2 - theta_2^2", np.diag([2.0, -2.0])),
        ("3-D, one negative eigenvalue", _symmetric_with(rng, [2.0, -1.5, 0.5])),
        ("5-D, two negative eigenvalues", _symmetric_with(rng, [3.0, -0.5, 1.0, -2.0, 0.2])),
        ("a small negative eigenvalue beside a large positive one",
         _symmetric_with(rng, [10.0, -0.1])),
    ]:
        expected = np.linalg.eigh(H)[1][:, 0]
        yield Case(label, dict(H=H), expected, judge=_judge_escape_direction(H))


