"""Gradients by central differences, for checking backward passes in the tests."""

import numpy as np


def central_difference(f, x, h=1e-6):
    """d f / d x by central differences, one entry at a time (x is changed and restored).

    The error of each entry is O(h^2) from truncation plus about eps |f| / h from
    rounding: h = 1e-6 keeps both near 1e-10 for f of order one.
    """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        up = f()
        x[i] = saved - h
        down = f()
        x[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad
