"""Data sets for the chapters: generated ones, and the 8x8 digits that ship with scikit-learn.

    X, y = two_moons(n=400, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = standardize(X_train, X_test)

Every generator takes a ``seed`` (an int or a ``numpy.random.Generator``) and
returns the same arrays for the same seed. Class labels are integers 0, 1, ...
Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

__all__ = ["two_moons", "spirals", "blobs", "linear_regression", "sparse_features", "digits",
           "train_test_split", "standardize"]


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _non_negative(name, value):
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def two_moons(n=200, noise=0.1, seed=0):
    """Two interleaved half circles in the plane, labels 0 and 1, with Gaussian noise.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t uniform on
    [0, pi]. Not linearly separable: a linear model stops near 85% accuracy.
    """
    n, noise = _positive_int("n", n, 2), _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    X = X + noise * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


def spirals(n=300, classes=3, noise=0.2, turns=1.0, seed=0):
    """``classes`` interleaved spiral arms in the plane, one class per arm.

    Arm k: radius r in [0, 1], angle 2 pi (turns r + k / classes) plus noise
    on the angle (``noise`` radians, scaled by r so the centre stays sharp).
    """
    n, classes = _positive_int("n", n, 2), _positive_int("classes", classes, 2)
    noise = _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    r = rng.uniform(0.0, 1.0, n)
    angle = 2 * np.pi * (turns * r + y / classes) + noise * r * rng.standard_normal(n)
    X = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return X, y


def blobs(n=300, centers=3, dim=2, std=1.0, spread=5.0, seed=0):
    """Gaussian clusters: centres uniform in [-spread, spread]^dim, standard deviation std each."""
    n, centers = _positive_int("n", n, 2), _positive_int("centers", centers)
    dim = _positive_int("dim", dim)
    std, spread = _non_negative("std", std), _non_negative("spread", spread)
    rng = np.random.default_rng(seed)
    means = rng.uniform(-spread, spread, (centers, dim))
    y = np.arange(n) % centers
    X = means[y] + std * rng.standard_normal((n, dim))
    return X, y


def linear_regression(n=100, dim=1, noise=0.1, seed=0):
    """y = X w + noise, with X ~ N(0, I) and w ~ N(0, I).  Returns ``(X, y, w)``."""
    n, dim, noise = _positive_int("n", n), _positive_int("dim", dim), _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(dim)
    X = rng.standard_normal((n, dim))
    return X, X @ w + noise * rng.standard_normal(n), w


def sparse_features(n=2000, dim=50, rarest=0.005, seed=0):
    """Binary features of very unequal frequency, labels 0 and 1: where Adagrad shines.

    Feature j is on with probability p_j, falling geometrically from 0.5 to
    ``rarest``, and carries a weight of magnitude sqrt(0.5 / p_j) in the true
    rule y = [x'w + noise > median]: the rare features matter most when they
    are on. With one learning rate, small enough for the frequent features,
    the rare ones see few gradients and learn slowly; Adagrad divides each
    coordinate's step by the root of its own accumulated squared gradients,
    which stays small for a rare feature, so it takes larger steps there
    (Duchi, Hazan and Singer 2011).
    """
    n, dim = _positive_int("n", n, 2), _positive_int("dim", dim)
    if not 0 < rarest <= 0.5:
        raise ValueError(f"rarest must lie in (0, 0.5], got {rarest!r}")
    rng = np.random.default_rng(seed)
    p = np.geomspace(0.5, rarest, dim)
    X = (rng.uniform(size=(n, dim)) < p).astype(float)
    w = rng.choice([-1.0, 1.0], dim) * np.sqrt(0.5 / p)
    score = X @ w + 0.1 * rng.standard_normal(n)
    y = (score > np.median(score)).astype(int)
    return X, y


def digits():
    """The 8x8 handwritten digits of scikit-learn (1,797 images, classes 0-9), shipped in its wheel.

    Returns ``(X, y)``: X of shape (1797, 64), pixel intensities scaled to [0, 1];
    ``X[i].reshape(8, 8)`` is the image. No download.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target.astype(int)


def train_test_split(X, y, test_fraction=0.2, seed=0):
    """A seeded random split: ``X_train, X_test, y_train, y_test``.

    The same seed always gives the same split; the test set holds
    round(test_fraction * n) samples.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} "
                         f"and {y.shape[0]}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    n_test = int(round(test_fraction * X.shape[0]))
    if not 0 < n_test < X.shape[0]:
        raise ValueError(f"test_fraction {test_fraction} leaves an empty train or test set")
    order = np.random.default_rng(seed).permutation(X.shape[0])
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train, *others):
    """Centre and scale every feature with the mean and standard deviation of ``X_train``.

    Returns the standardized ``X_train`` followed by each array in ``others``
    transformed with the same statistics (a test set must not leak into
    them). Constant features are centred and left unscaled.
    """
    X_train = np.asarray(X_train, dtype=float)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    arrays = [(np.asarray(X, dtype=float) - mean) / std for X in (X_train, *others)]
    return arrays[0] if not others else tuple(arrays)
