"""Checks for the book's coding exercises: each grades a learner's function against optlib.

A chapter asks the learner to complete a function; the locked cell after it
grades the function with one call:

    from optlib.exercises import check
    check("adam_step", adam_step)            # the same as check_adam_step(adam_step)

The check calls the function on cases generated from a fixed seed (several
shapes, and the edge cases that catch the usual mistakes: a zero gradient, the
first step of a bias-corrected method, ...), compares each result with optlib's
answer and prints one verdict: that every case passes, or the first case that
fails with its input, the expected and the received value, and a hint. It
returns True or False. A function that still raises NotImplementedError is
"not answered yet"; an exception in the learner's code is reported in one
line, never as a traceback.

``catalogue()`` (or ``python -m optlib.exercises``) lists every exercise with
the signature its function must have.

A failing check raises ExerciseFailed (an AssertionError) instead of only
printing where a wrong answer must stop the run:

- in an instructor's notebook, recognised by the solution markers
  (``### BEGIN SOLUTION``) still in the function's source, so a reference
  solution that stops passing fails the notebook tests and the book build;
- under nbgrader's autograder and validator (NBGRADER_EXECUTION is set), so a
  wrong or missing answer scores no points;
- whenever the environment sets OPTLIB_STRICT_CHECKS=1.
"""

from __future__ import annotations

import inspect
import itertools
import math
import os
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import functions, landscape, schedules, second_order
from .minimize import minibatches as _optlib_minibatches
from .minimize import minimize
from .optimizers import AdamState, SGDState, adam, sgd

__all__ = ["check", "grade", "catalogue", "Verdict", "Case", "Exercise", "EXERCISES",
           "ExerciseFailed"]

#: Seconds a learner's function may run on one case before it counts as an endless loop.
TIME_LIMIT = 10.0

SOLUTION_MARKER = "BEGIN SOLUTION"


class ExerciseFailed(AssertionError):
    """A check failed where failures must stop the run (see the module docstring)."""


class _TookTooLong(BaseException):
    """Raised inside a learner's function that runs past TIME_LIMIT."""


class _ChangedInput(Exception):
    """The learner's function modified one of its array arguments in place."""


# ---------------------------------------------------------------- cases and exercises


@dataclass(frozen=True)
class Case:
    """One input to try and optlib's answer for it.

    ``args`` go to the learner's function in order (positionally). ``call``
    and ``judge`` replace, for this case, the exercise's way of calling the
    function and of comparing its result: ``call(learner, args) -> received``
    and ``judge(expected, received) -> reason it is wrong, or None``.
    ``problem`` is what the answer was computed from (an Objective, say), for
    the typical mistakes to be recomputed; the learner never sees it.
    """

    label: str
    args: dict[str, Any]
    expected: Any
    call: Callable | None = None
    judge: Callable | None = None
    problem: Any = None


@dataclass(frozen=True)
class Exercise:
    """A coding exercise: the function the learner writes and how it is graded.

    ``signature`` reads ``name(arg, ...) -> result`` or ``-> (a, b)`` for a
    function returning several values. ``mistakes`` pairs the answer a typical
    mistake gives, ``wrong_answer(case)``, with the hint to print when the
    learner's answer equals it.
    """

    name: str
    signature: str
    hint: str
    make_cases: Callable[[np.random.Generator], list[Case]] = field(repr=False)
    mistakes: tuple[tuple[Callable, str], ...] = field(default=(), repr=False)
    rtol: float = 1e-7
    atol: float = 1e-12

    @property
    def returns(self) -> tuple[str, ...]:
        """The names of the values the learner's function returns."""
        result = self.signature.partition("->")[2].strip()
        return tuple(part.strip() for part in result.strip("()").split(","))

    def cases(self) -> list[Case]:
        return list(self.make_cases(np.random.default_rng(0)))


@dataclass(frozen=True)
class Verdict:
    """The outcome of grading: ``status`` is 'correct', 'wrong', 'error' or 'not answered'."""

    name: str
    status: str
    message: str
    case: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "correct"


#: Every exercise, by name.
EXERCISES: dict[str, Exercise] = {}


def _exercise(name, signature, hint, mistakes=(), **tolerances):
    """Register the decorated case generator ``make_cases(rng)`` as the exercise ``name``."""

    def register(make_cases):
        EXERCISES[name] = Exercise(name, signature, hint, make_cases, tuple(mistakes),
                                   **tolerances)
        return make_cases

    return register


# ---------------------------------------------------------------- grading


def check(name, learner):
    """Grade the learner's function for exercise ``name``, print the verdict, return True/False.

    Raises ExerciseFailed on a failure where failures must stop the run: in an
    instructor's notebook, under nbgrader's autograder, or with
    OPTLIB_STRICT_CHECKS=1 (see the module docstring). Under nbgrader a pass
    returns None: nbgrader reads a cell's displayed value as partial credit.
    """
    verdict = grade(name, learner)
    print(verdict.message)
    if not verdict.passed and _strict(learner):
        raise ExerciseFailed(verdict.message)
    if _under_nbgrader():
        return None
    return verdict.passed


def grade(name, learner) -> Verdict:
    """Grade without printing: the Verdict of the first failing case, or 'correct'."""
    exercise = _exercise_named(name)
    if not callable(learner):
        return Verdict(name, "error", f"✗ {name}: expected your function "
                       f"{exercise.signature}, received {_describe(learner)}.")
    cases = exercise.cases()
    for number, case in enumerate(cases, start=1):
        where = f'case {number} of {len(cases)}, "{case.label}"'
        try:
            received = _run(case, learner)
        except NotImplementedError:
            return Verdict(name, "not answered",
                           f"… {name}: not answered yet. Replace raise NotImplementedError() "
                           "with your code, run that cell, then run this one again.")
        except _TookTooLong:
            return Verdict(name, "error", f"✗ {name}: your function did not finish within "
                           f"{TIME_LIMIT:g} s on {where} (an endless loop?).\n"
                           f"{_inputs(case)}", case.label)
        except _ChangedInput as changed:
            return Verdict(name, "wrong", f"✗ {name}: your function changed its argument "
                           f"{changed} in place on {where}. Compute new arrays "
                           "(x = x - ..., not x -= ...) and return them.", case.label)
        except Exception as error:  # the learner's code may raise anything
            return Verdict(name, "error", f"✗ {name}: your function raised "
                           f"{type(error).__name__}: {error} on {where}.\n{_inputs(case)}",
                           case.label)
        judge = case.judge or (lambda expected, got: _compare(exercise, expected, got))
        reason = judge(case.expected, received)
        if reason is not None:
            hint = _diagnose(exercise, case, received)
            message = (f"✗ {name}: not right yet. It fails on {where}: {reason}.\n"
                       f"{_inputs(case)}\n"
                       f"{_outputs('expected', exercise, case.expected)}\n"
                       f"{_outputs('received', exercise, received)}\n"
                       f"  Hint: {hint}")
            return Verdict(name, "wrong", message, case.label)
    labels = "; ".join(case.label for case in cases)
    return Verdict(name, "correct", f"✓ {name}: correct. All {len(cases)} cases pass: {labels}.")


def catalogue() -> str:
    """Every exercise, one per line: its check and the signature of the learner's function."""
    width = max(len(name) for name in EXERCISES) + len("check_")
    return "\n".join(f"{'check_' + name:<{width}}  {exercise.signature}"
                     for name, exercise in EXERCISES.items())


def _exercise_named(name):
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; expected one of {sorted(EXERCISES)}")
    return EXERCISES[name]


def _strict(learner):
    if os.environ.get("OPTLIB_STRICT_CHECKS") == "1":
        return True
    if _under_nbgrader():
        return True
    try:
        return SOLUTION_MARKER in inspect.getsource(learner)
    except (OSError, TypeError):
        return False


def _under_nbgrader():
    """nbgrader's autograder and validator set NBGRADER_EXECUTION while they run a notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _run(case, learner):
    """The learner's result on ``case``, called on copies of the inputs, within TIME_LIMIT."""
    with _time_limit(TIME_LIMIT):
        if case.call is not None:
            return case.call(learner, case.args)
        args = {key: _copy(value) for key, value in case.args.items()}
        received = learner(*args.values())
    for key, value in args.items():
        if isinstance(value, np.ndarray) and not np.array_equal(value, case.args[key]):
            raise _ChangedInput(key)
    return received


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


@contextmanager
def _time_limit(seconds):
    """Interrupt the block after ``seconds`` (where signals can: the main thread on Unix)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not in_main_thread:
        yield
        return

    def interrupt(signum, frame):
        raise _TookTooLong

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _compare(exercise, expected, received):
    """Why ``received`` is not ``expected`` (one value or a tuple of them), or None."""
    names = exercise.returns
    if len(names) == 1:
        return _differs(expected, received, exercise.rtol, exercise.atol)
    if not isinstance(received, (tuple, list)) or len(received) != len(names):
        return f"return {len(names)} values, ({', '.join(names)})"
    for name, want, got in zip(names, expected, received, strict=True):
        reason = _differs(want, got, exercise.rtol, exercise.atol)
        if reason is not None:
            return f"{name}: {reason}"
    return None


def _differs(expected, received, rtol, atol):
    """Why one received value is not the expected one, or None when they agree."""
    if received is None:
        return "your function returned None (is a `return` missing?)"
    if isinstance(expected, str):
        if isinstance(received, str) and received.strip().lower() == expected:
            return None
        return f"the answer is {expected!r}"
    try:
        got = np.asarray(received, dtype=float)
    except (TypeError, ValueError):
        return f"a number or an array was expected, not {type(received).__name__}"
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape:
        return f"the shape should be {want.shape}, not {got.shape}"
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        with np.errstate(invalid="ignore"):
            gap = np.max(np.abs(got - want))
        return f"the values differ (by up to {gap:.3g})" if np.isfinite(gap) else \
            "the values differ"
    return None


def _diagnose(exercise, case, received):
    """The hint of the first typical mistake the answer matches, else the exercise's hint."""
    if received is None:
        return "your function returned None: is a `return` missing?"
    for wrong_answer, hint in exercise.mistakes:
        if case.call is None and _compare(exercise, wrong_answer(case), received) is None:
            return hint
    return exercise.hint


# ---------------------------------------------------------------- messages


class _Named:
    """A function shown in messages by a name (``rosenbrock``), called like the function."""

    def __init__(self, function, name):
        self.function, self.name = function, name

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self):
        return self.name


class _Seed:
    """A seed in a case's inputs; the learner receives ``np.random.default_rng(seed)``."""

    def __init__(self, seed):
        self.seed = seed

    def rng(self):
        return np.random.default_rng(self.seed)

    def __repr__(self):
        return f"np.random.default_rng({self.seed})"


def _show(value, indent=14):
    if isinstance(value, (list, tuple)) and any(np.ndim(v) > 0 for v in value):
        return "[" + ", ".join(_show(v, indent) for v in value) + "]"
    if isinstance(value, (np.ndarray, list, tuple)):
        text = np.array2string(np.asarray(value), precision=6, threshold=12, edgeitems=2,
                               separator=", ")
        return text.replace("\n", "\n" + " " * indent)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.8g}"
    return repr(value)


def _describe(value):
    return f"{type(value).__name__} {_show(value)}"


def _lines(title, named_values):
    """``title`` then one ``name = value`` per line, arrays aligned under their first row."""
    margin = " " * 12
    lines = [f"{name} = {_show(value, len(margin) + len(name) + 3)}" if name else
             _show(value, len(margin)) for name, value in named_values]
    return f"  {title:<10}" + ("\n" + margin).join(lines)


def _inputs(case):
    return _lines("input", case.args.items())


def _outputs(title, exercise, values):
    names = exercise.returns
    if len(names) == 1 or not isinstance(values, (tuple, list)) or len(values) != len(names):
        return _lines(title, [("", values)])
    return _lines(title, zip(names, values, strict=True))


class _Description(str):
    """An expected result described in words: shown without quotes."""

    def __repr__(self):
        return str(self)


# ---------------------------------------------------------------- references


def _optimal_step(g, H):
    """optlib's eta* = g'g / g'Hg (inf when g'Hg <= 0), gradient g and Hessian H given."""
    return landscape.optimal_step(functions.quadratic(H, -g), np.zeros_like(g))


def _classify(H, tol):
    """optlib's second-derivative test at a critical point with Hessian H."""
    label, _ = landscape.classify(functions.quadratic(H), np.zeros(len(H)), tol=tol,
                                  grad_tol=None)
    return label


def _backtracking(f, x, d, lr0, c, shrink):
    """optlib's Armijo backtracking: the first eta in lr0, lr0 shrink, ... that decreases enough."""
    search = second_order.backtracking(f, x, d, alpha0=lr0, c1=c, shrink=shrink)
    if not search.success:
        raise RuntimeError("the backtracking search of a case found no step")
    return search.alpha


def _best_fixed_step(H):
    """eta = 2 / (lambda_min + lambda_max) and its rate (kappa - 1) / (kappa + 1)."""
    eigenvalues = np.linalg.eigvalsh(H)
    low, high = eigenvalues[0], eigenvalues[-1]
    kappa = high / low
    return 2 / (low + high), (kappa - 1) / (kappa + 1)


def _iterations_needed(kappa, eps):
    """The smallest whole t >= 0 with ((kappa - 1) / (kappa + 1))^t <= eps."""
    rate = (kappa - 1) / (kappa + 1)
    if eps >= 1:
        return 0
    if rate == 0:
        return 1
    t = math.ceil(math.log(eps) / math.log(rate))
    while rate**t > eps:
        t += 1
    while t > 0 and rate ** (t - 1) <= eps:
        t -= 1
    return t


# ---------------------------------------------------------------- helpers for the cases


def _named(objective, what="value"):
    function = getattr(objective, what)
    return _Named(function, objective.name if what == "value" else f"{what} of {objective.name}")


def _spd(rng, dim, low=0.5, high=5.0):
    """A random symmetric positive-definite matrix with eigenvalues in [low, high]."""
    Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return Q @ np.diag(rng.uniform(low, high, dim)) @ Q.T


def _symmetric_with(rng, eigenvalues):
    """A random symmetric matrix with the given eigenvalues."""
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    H = Q @ np.diag(eigenvalues) @ Q.T
    return (H + H.T) / 2


# ---------------------------------------------------------------- Learning as optimization


def _risk(w, X, y):
    return float(functions.LeastSquares(X, y).value(w))


@_exercise(
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


# ---------------------------------------------------------------- Gradients and Taylor expansion


def _forward_difference(f, x, h):
    return np.array([(f(x + h * e) - f(x)) / h for e in np.eye(len(x))])


@_exercise(
    "central_difference", "central_difference(f, x, h) -> grad",
    hint="perturb one coordinate at a time: component i is (f(x + h e_i) - f(x - h e_i)) / (2h), "
         "with e_i the i-th unit vector.",
    mistakes=[
        (lambda case: _forward_difference(**case.args),
         "that is the forward difference (f(x + h e_i) - f(x)) / h; the central difference "
         "uses both sides, (f(x + h e_i) - f(x - h e_i)) / (2h), and is far more accurate."),
        (lambda case: 2 * case.expected,
         "your gradient is twice too large: divide the difference by 2h, the distance "
         "between x + h e_i and x - h e_i."),
    ],
    rtol=1e-6, atol=1e-6,
)
def _central_difference_cases(rng):
    h = 1e-5
    rosenbrock, himmelblau = functions.rosenbrock(), functions.himmelblau()
    A = _spd(rng, 3)
    quadratic = functions.quadratic(A, rng.normal(size=3), name="a 3-D quadratic")
    line = functions.quadratic([[3.0]], [1.0], name="f(x) = 3x^2/2 - x")
    rastrigin = functions.rastrigin(dim=5)
    for label, f, x in [
        ("Rosenbrock at (-1.2, 1)", rosenbrock, np.array([-1.2, 1.0])),
        ("a 3-D quadratic", quadratic, rng.normal(size=3)),
        ("Himmelblau at a minimum, where the gradient is zero", himmelblau, himmelblau.minima[0]),
        ("one dimension", line, np.array([0.4])),
        ("Rastrigin in 5-D", rastrigin, rng.uniform(-2, 2, 5)),
    ]:
        yield Case(label, dict(f=_named(f), x=x, h=h), f.grad(x))


def _logistic_gradient(w, X, y):
    return functions.LogisticRegression(X, y).grad(w)


@_exercise(
    "logistic_gradient", "logistic_gradient(w, X, y) -> grad",
    hint="with sigma(z) = 1 / (1 + exp(-z)), the gradient of the mean logistic loss is "
         "X'(sigma(Xw) - y) / n.",
    mistakes=[
        (lambda case: -case.expected,
         "your gradient points the wrong way: it is X'(sigma(Xw) - y) / n, predictions "
         "minus labels."),
        (lambda case: len(case.args["y"]) * case.expected,
         "your gradient is n times too large: the loss is a mean over the samples."),
    ],
)
def _logistic_gradient_cases(rng):
    def data(n, d):
        return rng.normal(size=(n, d)), rng.integers(0, 2, n).astype(float)

    X, y = data(20, 3)
    w = 0.5 * rng.normal(size=3)
    yield Case("20 samples, 3 features", dict(w=w, X=X, y=y), _logistic_gradient(w, X, y))
    X, y = data(10, 2)
    yield Case("w = 0, where every predicted probability is 1/2",
               dict(w=np.zeros(2), X=X, y=y), _logistic_gradient(np.zeros(2), X, y))
    X, y = data(1, 3)
    w = rng.normal(size=3)
    yield Case("one sample", dict(w=w, X=X, y=y), _logistic_gradient(w, X, y))
    X, y = data(15, 1)
    yield Case("one feature", dict(w=np.array([0.7]), X=X, y=y),
               _logistic_gradient(np.array([0.7]), X, y))
    X, y = data(12, 2)
    w = np.array([12.0, -9.0])
    yield Case("confident predictions, |x_i'w| up to about 30", dict(w=w, X=X, y=y),
               _logistic_gradient(w, X, y))


@_exercise(
    "optimal_step", "optimal_step(g, H) -> eta",
    hint="minimize the quadratic model f(x) - eta g'g + eta^2/2 g'Hg over eta: "
         "eta* = g'g / g'Hg when g'Hg > 0; when g'Hg <= 0 the model has no minimum along -g, "
         "so return math.inf.",
    mistakes=[
        (lambda case: 1 / case.expected,
         "your step is upside down: eta* = g'g / g'Hg."),
    ],
)
def _optimal_step_cases(rng):
    eigenvector = np.array([np.cos(0.3), np.sin(0.3)])
    H_rotated = functions.ill_conditioned(10, angle=0.3).hess(np.zeros(2))
    for label, g, H in [
        ("2-D, a diagonal H", np.array([1.0, 2.0]), np.diag([1.0, 4.0])),
        ("3-D, a positive-definite H", rng.normal(size=3), _spd(rng, 3)),
        ("g along an eigenvector of H, where eta* = 1/lambda", 3 * eigenvector, H_rotated),
        ("H indefinite but g'Hg > 0", np.array([1.0, 0.5]), np.diag([2.0, -1.0])),
        ("negative curvature along g (g'Hg < 0): no minimum, eta* = inf",
         np.array([0.5, 1.0]), np.diag([1.0, -2.0])),
        ("zero curvature along g (g'Hg = 0): eta* = inf", np.array([1.0, 1.0]),
         np.diag([1.0, -1.0])),
    ]:
        yield Case(label, dict(g=g, H=H), _optimal_step(g, H))


# ---------------------------------------------------------------- The Hessian and critical points


def _forward_difference_hessian(grad, x, h):
    return np.stack([(grad(x + h * e) - grad(x)) / h for e in np.eye(len(x))], axis=-1)


@_exercise(
    "finite_difference_hessian", "finite_difference_hessian(grad, x, h) -> H",
    hint="column j of H is how the gradient changes along e_j: "
         "(grad(x + h e_j) - grad(x - h e_j)) / (2h).",
    mistakes=[
        (lambda case: _forward_difference_hessian(**case.args),
         "those are forward differences (grad(x + h e_j) - grad(x)) / h; use central ones, "
         "(grad(x + h e_j) - grad(x - h e_j)) / (2h)."),
    ],
    rtol=1e-6, atol=1e-6,
)
def _finite_difference_hessian_cases(rng):
    A = _spd(rng, 4)
    for label, f, x in [
        ("Rosenbrock at (-1.2, 1)", functions.rosenbrock(), np.array([-1.2, 1.0])),
        ("six-hump camel at (0.5, -0.3)", functions.six_hump_camel(), np.array([0.5, -0.3])),
        ("the saddle x^2 - y^2 at its critical point", functions.saddle(), np.zeros(2)),
        ("a 4-D quadratic (H is constant)", functions.quadratic(A, name="a 4-D quadratic"),
         rng.normal(size=4)),
        ("Rosenbrock in 3-D", functions.rosenbrock(dim=3), rng.uniform(-1, 1, 3)),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), x=x, h=1e-5), f.hess(x))


def _classify_degenerate_first(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    return "degenerate" if np.any(np.abs(eigenvalues) <= tol) else _classify(H, tol)


@_exercise(
    "classify_critical_point", "classify_critical_point(H, tol) -> kind",
    hint="look at the signs of the eigenvalues of H (np.linalg.eigvalsh): some > tol and some "
         "< -tol -> 'saddle'; otherwise any |lambda| <= tol -> 'degenerate' (the test says "
         "nothing); all > tol -> 'minimum'; all < -tol -> 'maximum'.",
    mistakes=[
        (lambda case: _classify_degenerate_first(**case.args),
         "a positive and a negative eigenvalue make a saddle whatever the other eigenvalues "
         "are: there is a direction going up and one going down."),
    ],
)
def _classify_cases(rng):
    tol = 1e-8
    for label, H in [
        ("positive definite, 3-D", _spd(rng, 3)),
        ("negative definite, 2-D", -_spd(rng, 2)),
        ("the saddle x^2 - y^2", np.diag([2.0, -2.0])),
        ("the monkey saddle, where H = 0", np.zeros((2, 2))),
        ("one zero eigenvalue, the others positive", _symmetric_with(rng, [1.0, 0.0, 3.0])),
        ("a zero eigenvalue beside a positive and a negative one",
         _symmetric_with(rng, [1.0, -1.0, 0.0])),
        ("one dimension, f'' < 0", np.array([[-3.0]])),
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


@_exercise(
    "escape_direction", "escape_direction(H) -> u",
    hint="the curvature u'Hu of a unit vector is most negative along the eigenvector of the "
         "smallest eigenvalue (np.linalg.eigh sorts them in ascending order); either sign is "
         "right.",
)
def _escape_direction_cases(rng):
    for label, H in [
        ("the saddle x^2 - y^2", np.diag([2.0, -2.0])),
        ("3-D, one negative eigenvalue", _symmetric_with(rng, [2.0, -1.5, 0.5])),
        ("5-D, two negative eigenvalues", _symmetric_with(rng, [3.0, -0.5, 1.0, -2.0, 0.2])),
        ("a small negative eigenvalue beside a large positive one",
         _symmetric_with(rng, [10.0, -0.1])),
    ]:
        expected = np.linalg.eigh(H)[1][:, 0]
        yield Case(label, dict(H=H), expected, judge=_judge_escape_direction(H))


# ---------------------------------------------------------------- Gradient descent


def _gd_step(x, g, lr):
    tx = sgd(lr)
    step, _ = tx.update(g, tx.init(x), x)
    return x + step


@_exercise(
    "gd_step", "gd_step(x, g, lr) -> x_next",
    hint="one step of gradient descent moves against the gradient: x_next = x - lr g.",
    mistakes=[
        (lambda case: 2 * case.args["x"] - case.expected,
         "you stepped along the gradient, uphill: the step is x - lr g."),
    ],
)
def _gd_step_cases(rng):
    for label, x, g, lr in [
        ("2-D", rng.normal(size=2), rng.normal(size=2), 0.1),
        ("a zero gradient: x stays", rng.normal(size=3), np.zeros(3), 0.5),
        ("lr = 0: x stays", rng.normal(size=2), rng.normal(size=2), 0.0),
        ("10-D", rng.normal(size=10), rng.normal(size=10), 0.01),
        ("a batch of 4 points, shape (4, 2)", rng.normal(size=(4, 2)), rng.normal(size=(4, 2)),
         0.3),
    ]:
        yield Case(label, dict(x=x, g=g, lr=lr), _gd_step(x, g, lr))


def _trajectory(f, x0, lr, steps):
    return minimize(f, x0, "gd", lr=lr, steps=steps, tol=0.0).history.x


@_exercise(
    "gradient_descent", "gradient_descent(grad, x0, lr, steps) -> xs",
    hint="x_{t+1} = x_t - lr grad(x_t) for t = 0, ..., steps - 1; return every iterate, "
         "np.array([x_0, x_1, ..., x_steps]), of shape (steps + 1, dim).",
    mistakes=[
        (lambda case: case.expected[-1],
         "you returned the last point only: return the whole trajectory x_0, ..., x_steps, "
         "an array of shape (steps + 1, dim)."),
        (lambda case: case.expected[1:],
         "the trajectory starts with x_0 itself: xs[0] must be x0, so xs has steps + 1 rows."),
    ],
)
def _gradient_descent_cases(rng):
    himmelblau = functions.himmelblau()
    for label, f, x0, lr, steps in [
        ("a 2-D quadratic with kappa = 10, 20 steps",
         functions.ill_conditioned(10, angle=0.4), np.array([2.0, 1.0]), 0.15, 20),
        ("Rosenbrock from (-1.2, 1), 50 steps", functions.rosenbrock(), np.array([-1.2, 1.0]),
         1e-3, 50),
        ("steps = 0: only the start", functions.rosenbrock(), np.array([0.5, 0.5]), 1e-3, 0),
        ("starting at a minimum of Himmelblau, where the gradient is zero", himmelblau,
         himmelblau.minima[0], 0.01, 5),
        ("one dimension", functions.quadratic([[2.0]], name="f(x) = x^2"), np.array([3.0]),
         0.4, 10),
    ]:
        yield Case(label, dict(grad=_named(f, "grad"), x0=x0, lr=lr, steps=steps),
                   _trajectory(f, x0, lr, steps))


@_exercise(
    "backtracking", "backtracking(f, grad, x, d, lr0, c, shrink) -> eta",
    hint="start at eta = lr0; while f(x + eta d) > f(x) + c eta grad(x)'d (the Armijo "
         "condition fails), multiply eta by shrink; return that eta.",
    mistakes=[
        (lambda case: _backtracking(case.problem, case.args["x"], case.args["d"],
                                    case.args["lr0"], 0.0, case.args["shrink"]),
         "you accepted the first step that merely decreases f: the Armijo condition asks for "
         "a sufficient decrease, f(x + eta d) <= f(x) + c eta grad(x)'d."),
        (lambda case: case.expected / case.args["shrink"],
         "you returned the last step that failed: return the first eta that satisfies the "
         "condition."),
        (lambda case: case.expected * case.args["shrink"],
         "you shrank once too often: return the first eta that satisfies the condition."),
    ],
)
def _backtracking_cases(rng):
    rosenbrock, himmelblau = functions.rosenbrock(), functions.himmelblau()
    valley = functions.ill_conditioned(50, angle=0.2)
    bowl = functions.quadratic(np.eye(2), name="f(x) = |x|^2 / 2")
    near = np.array([0.8, 0.6])
    newton = -np.linalg.solve(rosenbrock.hess(near), rosenbrock.grad(near))
    rosenbrock5 = functions.rosenbrock(dim=5)
    x5 = rng.uniform(-1, 1, 5)
    for label, f, x, d, lr0, c, shrink in [
        ("Rosenbrock at (-1.2, 1), steepest descent", rosenbrock, np.array([-1.2, 1.0]),
         -rosenbrock.grad(np.array([-1.2, 1.0])), 1.0, 1e-4, 0.5),
        ("a narrow valley (kappa = 50): the first trial is far too long", valley,
         np.array([1.0, 1.0]), -valley.grad(np.array([1.0, 1.0])), 1.0, 1e-4, 0.5),
        ("the first trial is accepted", bowl, np.array([1.0, -2.0]), np.array([-0.5, 1.0]),
         1.0, 1e-4, 0.5),
        ("a long trial that lowers f, but not enough for c = 0.5", bowl, np.array([1.0, -2.0]),
         np.array([-1.0, 2.0]), 1.9, 0.5, 0.5),
        ("a Newton direction on Rosenbrock", rosenbrock, near, newton, 1.0, 1e-4, 0.5),
        ("c = 0.5 and shrink = 0.3 on Himmelblau", himmelblau, np.zeros(2),
         -himmelblau.grad(np.zeros(2)), 1.0, 0.5, 0.3),
        ("Rosenbrock in 5-D, shrink = 0.8", rosenbrock5, x5, -rosenbrock5.grad(x5), 1.0, 1e-4,
         0.8),
    ]:
        args = dict(f=_named(f), grad=_named(f, "grad"), x=x, d=d, lr0=lr0, c=c, shrink=shrink)
        yield Case(label, args, _backtracking(f, x, d, lr0, c, shrink), problem=f)


def _condition_number(H):
    eigenvalues = np.linalg.eigvalsh(H)
    return eigenvalues[-1] / eigenvalues[0]


@_exercise(
    "best_fixed_step", "best_fixed_step(H) -> (eta, rate)",
    hint="from the eigenvalues of H: eta = 2 / (lambda_min + lambda_max) makes the slowest and "
         "the fastest direction shrink equally, |1 - eta lambda| = (kappa - 1) / (kappa + 1) "
         "with kappa = lambda_max / lambda_min.",
    mistakes=[
        (lambda case: (1 / np.linalg.eigvalsh(case.args["H"])[-1], case.expected[1]),
         "1 / lambda_max is a safe step, not the best one: eta = 2 / (lambda_min + lambda_max)."),
        (lambda case: (case.expected[0], 1 - 1 / _condition_number(case.args["H"])),
         "1 - 1/kappa is the rate of the step 1/lambda_max; with the best step the error "
         "shrinks by (kappa - 1) / (kappa + 1) each step."),
    ],
)
def _best_fixed_step_cases(rng):
    for label, H in [
        ("H = diag(1, 10)", np.diag([1.0, 10.0])),
        ("5-D, kappa = 100", functions.ill_conditioned(100, dim=5, angle=0.7).hess(np.zeros(5))),
        ("H = 3 I, kappa = 1: one step lands on the minimum", 3 * np.eye(2)),
        ("one dimension", np.array([[4.0]])),
        ("a random positive-definite 4 x 4 H", _spd(rng, 4)),
    ]:
        yield Case(label, dict(H=H), _best_fixed_step(H))


def _iterations_unrounded(kappa, eps):
    """log(eps) / log(rate), the count before rounding up (0 where the rate is 0)."""
    rate = (kappa - 1) / (kappa + 1)
    return math.log(eps) / math.log(rate) if rate > 0 else 0.0


@_exercise(
    "iterations_needed", "iterations_needed(kappa, eps) -> t",
    hint="with the best fixed step the error shrinks by rate = (kappa - 1) / (kappa + 1) each "
         "step; return the smallest whole t with rate^t <= eps.",
    mistakes=[
        (lambda case: _iterations_unrounded(**case.args),
         "a number of steps is a whole number: round up (math.ceil)."),
        (lambda case: case.args["kappa"] * math.log(1 / case.args["eps"]),
         "kappa log(1/eps) is how the count grows; the exact count is the smallest t with "
         "((kappa - 1) / (kappa + 1))^t <= eps."),
    ],
    rtol=0.0, atol=0.0,
)
def _iterations_needed_cases(rng):
    for label, kappa, eps in [
        ("kappa = 10, eps = 1e-6", 10.0, 1e-6),
        ("kappa = 100, eps = 1e-3", 100.0, 1e-3),
        ("kappa = 1000, eps = 1e-8", 1000.0, 1e-8),
        ("kappa = 2, eps = 0.5", 2.0, 0.5),
        ("kappa = 1: the rate is 0, so one step reaches the minimum", 1.0, 1e-6),
        ("eps = 1: no step is needed", 50.0, 1.0),
    ]:
        yield Case(label, dict(kappa=kappa, eps=eps), _iterations_needed(kappa, eps))


# ---------------------------------------------------------------- Stochastic and mini-batch GD


def _epoch(learner, n_samples, batch_size, rng):
    """The batches of one call, as integer arrays (at most n_samples + 1 of them are read)."""
    batches = itertools.islice(iter(learner(n_samples, batch_size, rng)), n_samples + 1)
    return [np.asarray(batch) for batch in batches]


def _epoch_problem(batches, n_samples, sizes):
    """Why ``batches`` is not one shuffled epoch of ``n_samples`` in batches of ``sizes``."""
    if [batch.size for batch in batches] != sizes:
        return f"the batch sizes should be {sizes}, not {[batch.size for batch in batches]}"
    if not all(np.issubdtype(batch.dtype, np.integer) for batch in batches):
        return "a batch must hold integer sample indices"
    indices = np.concatenate([batch.ravel() for batch in batches])
    if not np.array_equal(np.sort(indices), np.arange(n_samples)):
        return f"together the batches must hold every index 0, ..., {n_samples - 1} once"
    if n_samples >= 10 and np.array_equal(indices, np.arange(n_samples)):
        return "the indices come in order 0, 1, 2, ...: shuffle them first (rng.permutation)"
    return None


def _epoch_sizes(n_samples, batch_size):
    batches = _optlib_minibatches(n_samples, batch_size)
    return [len(batch) for batch in itertools.islice(batches, math.ceil(n_samples / batch_size))]


def _epoch_case(label, n_samples, batch_size, seed):
    sizes = _epoch_sizes(n_samples, batch_size)
    return Case(
        label, dict(n_samples=n_samples, batch_size=batch_size, rng=_Seed(seed)),
        _Description(f"batches of sizes {sizes} holding each of 0, ..., {n_samples - 1} once, "
                     "shuffled"),
        call=lambda learner, args: _epoch(learner, n_samples, batch_size, args["rng"].rng()),
        judge=lambda expected, batches: _epoch_problem(batches, n_samples, sizes),
    )


def _two_epochs(learner, args, same_generator):
    first = args["rng"].rng()
    second = first if same_generator else args["rng"].rng()
    return (_epoch(learner, args["n_samples"], args["batch_size"], first),
            _epoch(learner, args["n_samples"], args["batch_size"], second))


def _judge_two_epochs(n_samples, sizes, same_generator):
    def judge(expected, epochs):
        for batches in epochs:
            problem = _epoch_problem(batches, n_samples, sizes)
            if problem is not None:
                return problem
        identical = np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))
        if same_generator and identical:
            return ("two epochs drawn from the same rng come in the same order: draw a new "
                    "permutation from rng at every call")
        if not same_generator and not identical:
            return ("two generators with the same seed gave different orders: shuffle with the "
                    "rng you are given, not with np.random's global state")
        return None

    return judge


@_exercise(
    "minibatches", "minibatches(n_samples, batch_size, rng) -> batches",
    hint="shuffle the indices once, order = rng.permutation(n_samples), then cut them into "
         "consecutive slices order[i:i + batch_size]; the last batch may be smaller.",
)
def _minibatches_cases(rng):
    yield _epoch_case("10 samples in batches of 3 (the last batch is smaller)", 10, 3, 1)
    yield _epoch_case("12 samples in batches of 4", 12, 4, 2)
    yield _epoch_case("batch_size = n_samples: one batch", 7, 7, 3)
    yield _epoch_case("batch_size = 1", 5, 1, 4)
    for label, seed, same in [
        ("two epochs from one rng come in different orders", 5, True),
        ("the same seed gives the same batches", 6, False),
    ]:
        sizes = _epoch_sizes(20, 5)
        yield Case(
            label, dict(n_samples=20, batch_size=5, rng=_Seed(seed)),
            _Description(f"two epochs of batches of sizes {sizes}, "
                         + ("in different orders" if same else "in the same order")),
            call=lambda learner, args, same=same: _two_epochs(learner, args, same),
            judge=_judge_two_epochs(20, sizes, same),
        )


def _linear_decay(t, lr0, lr_tau, tau):
    return schedules.linear_decay(lr0, lr_tau, tau)(t)


def _interpolate(t, lr0, lr_tau, tau, alpha):
    """(1 - alpha) lr0 + alpha lr_tau, with no clipping of alpha."""
    return (1 - alpha) * lr0 + alpha * lr_tau


@_exercise(
    "linear_decay", "linear_decay(t, lr0, lr_tau, tau) -> lr",
    hint="eta_t = (1 - t/tau) eta_0 + (t/tau) eta_tau for t <= tau, and eta_tau after.",
    mistakes=[
        (lambda case: _interpolate(**case.args, alpha=case.args["t"] / case.args["tau"]),
         "after step tau the rate stays at lr_tau: use alpha = min(t / tau, 1)."),
        (lambda case: _interpolate(**case.args, alpha=1 - case.args["t"] / case.args["tau"]),
         "the weights are swapped: at t = 0 the rate is lr0, at t = tau it is lr_tau."),
    ],
)
def _linear_decay_cases(rng):
    for label, t, lr0, lr_tau, tau in [
        ("t = 0: the initial rate", 0, 0.1, 0.001, 100),
        ("a quarter of the way, t = tau / 4", 25, 0.1, 0.001, 100),
        ("t = 3 of tau = 7", 3, 0.5, 0.05, 7),
        ("t = tau: the final rate", 100, 0.1, 0.001, 100),
        ("t = 2 tau: after tau the rate stays at lr_tau", 200, 0.1, 0.001, 100),
    ]:
        yield Case(label, dict(t=t, lr0=lr0, lr_tau=lr_tau, tau=tau),
                   _linear_decay(t, lr0, lr_tau, tau))


# ---------------------------------------------------------------- Momentum and Adam


def _heavy_ball_step(x, g, b, lr, momentum):
    step, state = sgd(lr, momentum=momentum).update(g, SGDState(1, b), x)
    return x + step, state.velocity


def _sutskever_step(x, g, b, lr, momentum):
    """The form v = mu v - eta g, x + v, read with b in place of v."""
    velocity = momentum * b - lr * g
    return x + velocity, velocity


def _step_with_old_velocity(x, g, b, lr, momentum):
    return x - lr * b, momentum * b + g


@_exercise(
    "heavy_ball_step", "heavy_ball_step(x, g, b, lr, momentum) -> (x_next, b_next)",
    hint="update the velocity first, b_next = momentum b + g, then step along it, "
         "x_next = x - lr b_next.",
    mistakes=[
        (lambda case: _sutskever_step(**case.args),
         "you used the form v = mu v - eta g, x + v; this exercise keeps b = mu b + g and "
         "steps x - eta b (torch.optim's form; with a constant eta, v = -eta b)."),
        (lambda case: _step_with_old_velocity(**case.args),
         "you stepped along the old velocity: update b first, then step x - lr b_next."),
    ],
)
def _heavy_ball_cases(rng):
    for label, x, g, b, lr, momentum in [
        ("the first step, b = 0: a plain gradient step", rng.normal(size=2), rng.normal(size=2),
         np.zeros(2), 0.1, 0.9),
        ("a later step", rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), 0.05, 0.9),
        ("a zero gradient: the velocity still moves x", rng.normal(size=2), np.zeros(2),
         rng.normal(size=2), 0.1, 0.5),
        ("momentum = 0: gradient descent", rng.normal(size=2), rng.normal(size=2),
         rng.normal(size=2), 0.2, 0.0),
        ("a batch of 3 points, shape (3, 2)", rng.normal(size=(3, 2)), rng.normal(size=(3, 2)),
         rng.normal(size=(3, 2)), 0.01, 0.99),
    ]:
        yield Case(label, dict(x=x, g=g, b=b, lr=lr, momentum=momentum),
                   _heavy_ball_step(x, g, b, lr, momentum))


def _adam_step(x, g, m, v, t, lr, b1, b2, eps):
    state = AdamState(t - 1, m, v, np.zeros_like(v))
    step, state = adam(lr, b1, b2, eps).update(g, state, x)
    return x + step, state.m, state.v


def _adam_without_bias_correction(x, g, m, v, t, lr, b1, b2, eps):
    m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
    return x - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside(x, g, m, v, t, lr, b1, b2, eps):
    m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
    return x - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v


@_exercise(
    "adam_step", "adam_step(x, g, m, v, t, lr, b1, b2, eps) -> (x_next, m_next, v_next)",
    hint="m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2; correct the bias, "
         "m_hat = m / (1 - b1^t) and v_hat = v / (1 - b2^t) (t = 1 at the first step); then "
         "x_next = x - lr m_hat / (sqrt(v_hat) + eps).",
    mistakes=[
        (lambda case: _adam_without_bias_correction(**case.args),
         "the bias correction is missing: divide m by 1 - b1^t and v by 1 - b2^t. At the "
         "first step it turns m_hat into g and the step into about -lr sign(g)."),
        (lambda case: _adam_eps_inside(**case.args),
         "eps goes outside the square root, sqrt(v_hat) + eps, as in Kingma and Ba's paper "
         "and torch.optim."),
    ],
)
def _adam_cases(rng):
    hyper = dict(lr=0.1, b1=0.9, b2=0.999, eps=1e-8)

    def case(label, x, g, m, v, t, **changes):
        args = dict(x=x, g=g, m=m, v=v, t=t, **{**hyper, **changes})
        return Case(label, args, _adam_step(**args))

    zeros = np.zeros(2)
    yield case("the first step, t = 1 and m = v = 0: about -lr sign(g)", rng.normal(size=2),
               rng.normal(size=2), zeros, zeros, 1)
    yield case("a zero gradient at the first step: no move", rng.normal(size=2), zeros, zeros,
               zeros, 1)
    yield case("a later step, t = 10", rng.normal(size=3), rng.normal(size=3),
               0.1 * rng.normal(size=3), 0.01 * rng.uniform(size=3), 10)
    yield case("a tiny gradient (1e-10), where eps matters", rng.normal(size=2),
               np.array([1e-10, -1e-10]), zeros, zeros, 1)
    yield case("t = 1000, the bias correction has faded", rng.normal(size=2),
               rng.normal(size=2), 0.1 * rng.normal(size=2), 0.01 * rng.uniform(size=2), 1000,
               lr=0.001)
    yield case("a batch of 3 points, shape (3, 2)", rng.normal(size=(3, 2)),
               rng.normal(size=(3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), 1, b1=0.8, b2=0.99)


# ---------------------------------------------------------------- check_<name> aliases


def _alias(name):
    def check_exercise(learner):
        return check(name, learner)

    check_exercise.__name__ = check_exercise.__qualname__ = f"check_{name}"
    check_exercise.__doc__ = (f"Grade the learner's ``{EXERCISES[name].signature}``: the same "
                              f"as ``check({name!r}, learner)``.")
    return check_exercise


for _name in EXERCISES:
    globals()[f"check_{_name}"] = _alias(_name)
    __all__.append(f"check_{_name}")


if __name__ == "__main__":
    print(catalogue())
