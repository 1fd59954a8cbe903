"""The grading machinery: exercises, cases, verdicts, and the messages a learner reads.

A chapter's module registers its exercises with the ``exercise`` decorator;
``check`` and ``grade`` find them by name in ``EXERCISES``.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


def exercise(name, signature, hint, mistakes=(), **tolerances):
    """Register the decorated case generator ``make_cases(rng)`` as the exercise ``name``."""

    def register(make_cases):
        EXERCISES[name] = Exercise(name, signature, hint, make_cases, tuple(mistakes),
                                   **tolerances)
        return make_cases

    return register


# ---------------------------------------------------------------- grading


def check(name, learner):
    """Grade the learner's function for exercise ``name`` and print the verdict; return None.

    The printed verdict is all a check cell shows: nothing is returned, so no
    bare True or False follows it (``grade`` returns the Verdict, with
    ``.passed``, for code that needs the outcome). Raises ExerciseFailed on a
    failure where failures must stop the run: in an instructor's notebook,
    under nbgrader's autograder, or with OPTLIB_STRICT_CHECKS=1 (see the
    package docstring).
    """
    verdict = grade(name, learner)
    print(verdict.message)
    if not verdict.passed and _strict(learner):
        raise ExerciseFailed(verdict.message)


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


