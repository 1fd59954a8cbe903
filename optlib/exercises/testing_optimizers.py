"""The checks of the chapter "Testing optimizers, benchmarking them fairly, and learning to
optimize"."""

from __future__ import annotations

import numpy as np

from .. import benchmarking, checks, unit_tests
from ..optimizers import AdamState, Transform, adam
from .grading import Case, _Description, _Named, exercise

# ---------------------------------------------------------------- a unit test of your own

#: The flatness the exercise asks for at the start: |L'(start)| below this.
PLATEAU_SLOPE = 1e-3


def _shape_of(learner, args):
    return learner()


def _is_shape(expected, shape):
    if not isinstance(shape, unit_tests.Shape):
        return (f"return an ol.unit_tests.Shape (name, value, grad, start, target, "
                f"minimum), not {type(shape).__name__}")
    return None


def _gradient_matches(expected, shape):
    if (reason := _is_shape(expected, shape)) is not None:
        return reason
    points = shape.start + np.linspace(-3.0, 3.0, 13) + 0.0123
    h = 1e-6
    finite = (shape.value(points + h) - shape.value(points - h)) / (2 * h)
    exact = shape.grad(points)
    if not np.all(np.isfinite(exact)):
        return "grad returns a value that is not finite near the start"
    if not np.allclose(exact, finite, rtol=1e-4, atol=1e-6):
        worst = np.argmax(np.abs(exact - finite))
        flipped = np.allclose(-exact, finite, rtol=1e-4, atol=1e-6)
        return (f"grad is not the derivative of value: at theta = {points[worst]:.4g}, grad "
                f"gives {exact[worst]:.6g} and the central difference {finite[worst]:.6g}"
                + (" (the opposite sign: grad must be +L', the step goes against it)"
                   if flipped else ""))
    return None


def _starts_on_a_plateau(expected, shape):
    if (reason := _is_shape(expected, shape)) is not None:
        return reason
    slope = abs(float(shape.grad(np.float64(shape.start))))
    if slope >= PLATEAU_SLOPE:
        return (f"the start is not on a plateau: |L'(start)| = {slope:.3g}, it must be below "
                f"{PLATEAU_SLOPE:g}")
    return None


def _verdicts(shape):
    """The runner's verdicts on the learner's shape for tuned SGD and tuned Adam (both tuned
    on the standard reference shapes, as in the chapter)."""
    cases = [unit_tests.from_shape(name) for name in unit_tests.SHAPES]
    cases.append(unit_tests.from_shape(shape))
    table = {name: unit_tests.METHODS[name] for name in ("SGD", "Adam")}
    report = unit_tests.run(table, cases)
    return {name: bool(report.passed[name][-1]) for name in table}


def _judge_verdicts(expected, shape):
    if (reason := _is_shape(expected, shape)) is not None:
        return reason
    try:
        verdicts = _verdicts(shape)
    except Exception as error:            # the learner's functions may raise anything
        return f"the runner could not run your shape: {type(error).__name__}: {error}"
    if not verdicts["Adam"]:
        return ("tuned Adam fails your shape within the budget: make the target reachable "
                "(a minimum at most a few units from the start, and a target above it)")
    if verdicts["SGD"]:
        return ("tuned SGD passes your shape: make the plateau flatter or longer, so that "
                "steps proportional to the gradient cannot cross it in the budget")
    return None


@exercise(
    "plateau_shape", "plateau_shape() -> shape",
    hint="build ol.unit_tests.Shape(name, value, grad, start, target, minimum): a loss that "
         "is flat where it starts (|L'| below 1e-3) and falls into a bowl a few units away; "
         "grad must be the derivative of value.",
)
def _plateau_shape_cases(rng):
    for label, judge, wanted in [
        ("it returns a Shape", _is_shape, "an ol.unit_tests.Shape"),
        ("grad is the derivative of value (central differences around the start)",
         _gradient_matches, "grad(theta) = L'(theta)"),
        (f"the start is on a plateau, |L'(start)| < {PLATEAU_SLOPE:g}", _starts_on_a_plateau,
         f"|L'(start)| < {PLATEAU_SLOPE:g}"),
        ("the runner: tuned Adam passes it and tuned SGD fails it", _judge_verdicts,
         "Adam passes, SGD fails"),
    ]:
        yield Case(label, {}, _Description(wanted), call=_shape_of, judge=judge)


# ---------------------------------------------------------------- catch a planted bug


def _adam_without_second_correction(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam with a planted bug: the second moment's bias correction is missing."""

    def update(g, state, x):
        t = state.count + 1
        m = b1 * state.m + (1 - b1) * g
        v = b2 * state.v + (1 - b2) * g * g
        step = -lr * (m / (1 - b1**t)) / (np.sqrt(v) + eps)
        return step, AdamState(t, m, v, state.v_max)

    return Transform(adam(lr, b1, b2, eps).init, update, lr, elementwise=True)


def _adam_rewritten(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """A correct Adam written another way: the step size folded as in Kingma and Ba's
    section 2, lr sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps sqrt(1 - b2^t))."""

    def update(g, state, x):
        t = state.count + 1
        m = b1 * state.m + (1 - b1) * g
        v = b2 * state.v + (1 - b2) * g**2
        root = np.sqrt(1 - b2**t)
        step = -(lr * root / (1 - b1**t)) * m / (np.sqrt(v) + eps * root)
        return step, AdamState(t, m, v, state.v_max)

    return Transform(adam(lr, b1, b2, eps).init, update, lr, elementwise=True)


def _named_maker(make, name):
    def make_adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        return make(lr=lr, b1=b1, b2=b2, eps=eps)

    make_adam.__name__ = make_adam.__qualname__ = name
    return make_adam


def _judge_bool(expected, received):
    if not isinstance(received, (bool, np.bool_)):
        return f"return True or False, not {type(received).__name__}"
    if bool(received) != expected:
        return ("your test rejects a correct Adam" if expected else
                "your test lets this broken Adam through")
    return None


@exercise(
    "adam_is_correct", "adam_is_correct(make_adam) -> passed",
    hint="compare make_adam(...)'s steps with ol.adam's, step for step and up to rounding "
         "(rtol about 1e-10), on a few steps with non-default b1, b2, eps; or check an exact "
         "fact, such as every step being -lr sign(g) on a line when eps = 0.",
)
def _adam_is_correct_cases(rng):
    makers = [
        ("optlib's own Adam: correct", lambda **h: adam(**h), True),
        ("Adam with the second moment's bias correction missing", _adam_without_second_correction,
         False),
        ("a correct Adam written with Kingma and Ba's folded step size (equal up to "
         "rounding, not bit for bit)", _adam_rewritten, True),
        ("Adam with its bias correction off by one step",
         lambda **h: checks.BUGS["bias correction off by one"][1](**h), False),
        ("Adam with eps inside the square root",
         lambda **h: checks.BUGS["eps inside the square root"][1](**h), False),
    ]
    for label, make, correct in makers:
        yield Case(label, dict(make_adam=_Named(_named_maker(make, "make_adam"), "make_adam")),
                   _Description(str(correct)), judge=lambda e, r, c=correct: _judge_bool(c, r))


# ---------------------------------------------------------------- performance profiles


def _profile_per_method_best(costs, thresholds):
    """The typical mistake: each cost over its own method's best, not the problem's."""
    costs = np.asarray(costs, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = costs / costs.min(axis=0, keepdims=True)
    return (ratios[None] <= np.asarray(thresholds)[:, None, None]).mean(axis=1)


def _profile_strict(costs, thresholds):
    ratios = benchmarking.performance_ratios(costs)
    return (ratios[None] < np.asarray(thresholds)[:, None, None]).mean(axis=1)


@exercise(
    "performance_profile", "performance_profile(costs, thresholds) -> fractions",
    hint="R[j, o] = C[j, o] / min over o' of C[j, o'] (the best on the same problem, a row); "
         "then for each threshold u the fraction of problems with R[j, o] <= u, per method: "
         "shape (len(thresholds), methods). inf stays inf.",
    mistakes=[
        (lambda case: _profile_per_method_best(**case.args),
         "you divided each cost by its own method's best (a column minimum); the ratio is "
         "over the best method on the same problem (the row minimum)."),
        (lambda case: _profile_strict(**case.args),
         "a method within the factor counts: use R <= u, so that at u = 1 each problem's "
         "winners count."),
    ],
)
def _performance_profile_cases(rng):
    def case(label, costs, thresholds):
        costs, thresholds = np.asarray(costs, dtype=float), np.asarray(thresholds, dtype=float)
        return Case(label, dict(costs=costs, thresholds=thresholds),
                    benchmarking.performance_profile(costs, thresholds))

    yield case("two methods, three problems, no failure", [[10, 20], [30, 15], [8, 8]],
               [1.0, 1.5, 2.0, 3.0])
    yield case("a failure (inf) is never within any factor", [[10, np.inf], [12, 6],
                                                                [5, 50]], [1.0, 2.0, 10.0, 100.0])
    yield case("a problem no method solves counts for none", [[np.inf, np.inf], [4, 2],
                                                               [3, 9]], [1.0, 2.0, 3.0])
    yield case("three methods, random costs", rng.integers(5, 100, (6, 3)),
               [1.0, 1.25, 2.0, 4.0])
