"""Argument checks shared by the landscape modules."""

from __future__ import annotations

import numpy as np

from ..functions import Objective


def _objective(f):
    if not isinstance(f, Objective):
        raise TypeError(f"f must be an optlib Objective, got {type(f).__name__}")


def _flat(v, name):
    v = np.asarray(v, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"{name} must be a flat parameter vector of shape (n,), got {v.shape}")
    return v


def _offsets(a, name):
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of offsets, got shape {a.shape}")
    return a


def _check_positive(**values):
    for name, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
