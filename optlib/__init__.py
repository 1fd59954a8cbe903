"""optlib: the optimization library under the book *Optimization for Deep Learning*.

    import optlib as ol
    f = ol.functions.rosenbrock()
    res = ol.minimize(f, [-1.2, 1.0], ol.adam(0.05), steps=2000)

Modules that need matplotlib, ipywidgets or torch (plotting, widgets, torch,
...) load on first use, so ``import optlib`` imports none of them.
"""

import importlib

from . import functions, optimizers, rates, schedules, second_order  # registers "newton", "bfgs"…
from .minimize import History, Result, minimize
from .optimizers import (
    Transform,
    adadelta,
    adagrad,
    adam,
    adamax,
    adamw,
    chain,
    clip_by_global_norm,
    clip_by_value,
    decoupled_weight_decay,
    nadam,
    rmsprop,
    sgd,
)

_LAZY_MODULES = {"plotting", "widgets", "torch", "nn", "data", "exercises", "landscape",
                 "assign", "inplace", "unit_tests", "checks", "benchmarking", "learned"}

__all__ = [
    "functions", "optimizers", "rates", "schedules", "second_order",
    "minimize", "Result", "History", "Transform",
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "adamax",
    "decoupled_weight_decay", "chain", "clip_by_global_norm", "clip_by_value",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'optlib' has no attribute {name!r}")
