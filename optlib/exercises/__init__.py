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
returns None, so the verdict is all the cell shows (``grade(name, learner)``
returns the Verdict, whose ``passed`` says whether every case passed). A
function that still raises NotImplementedError is
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

The package holds the grading machinery (``grading``) and one module of checks
per chapter, named like the chapter's notebook (``gradient_descent`` for
``book/gradient_descent.ipynb``). A new chapter's checks go into a module of
their own, imported below; the ``check_<name>`` functions are made for every
exercise registered.
"""

from . import (  # noqa: F401  (each module registers its chapter's exercises)
    adaptive,
    gradient_descent,
    hessian,
    initialization,
    landscapes,
    learning_as_optimization,
    momentum,
    normalization,
    second_order,
    sgd,
    taylor,
    testing_optimizers,
)
from .grading import EXERCISES, Case, Exercise, ExerciseFailed, Verdict, catalogue, check, grade

__all__ = ["check", "grade", "catalogue", "Verdict", "Case", "Exercise", "EXERCISES",
           "ExerciseFailed"]


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

