"""optlib.data: generated sets, the digits, seeded splits, standardization."""

import numpy as np
import pytest

import optlib as ol
from optlib import data, nn
from optlib.functions import LeastSquares, LogisticRegression

GENERATORS = {
    "two_moons": lambda seed: data.two_moons(n=100, seed=seed),
    "spirals": lambda seed: data.spirals(n=90, seed=seed),
    "blobs": lambda seed: data.blobs(n=90, seed=seed),
    "linear_regression": lambda seed: data.linear_regression(n=50, dim=3, seed=seed),
    "sparse_features": lambda seed: data.sparse_features(n=200, dim=20, seed=seed),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_are_seeded(name):
    first, again, other = (GENERATORS[name](seed) for seed in (3, 3, 4))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("name, n, classes", [("two_moons", 100, 2), ("spirals", 90, 3),
                                              ("blobs", 90, 3), ("sparse_features", 200, 2)])
def test_classification_sets_have_balanced_integer_labels(name, n, classes):
    X, y = GENERATORS[name](0)
    assert X.shape[0] == y.shape[0] == n and np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y)
    assert counts.size == classes and counts.min() >= n // classes - 1


def fit_accuracy(X, y, model_sizes=None, epochs=200):
    """Training accuracy of a logistic regression (model_sizes None) or of an MLP."""
    if model_sizes is None:
        f = LogisticRegression(np.c_[X, np.ones(len(X))], y)
        w = ol.minimize(f, np.zeros(X.shape[1] + 1), ol.adam(0.1), steps=500).x
        return np.mean(((np.c_[X, np.ones(len(X))] @ w) > 0) == y)
    model = nn.MLP(model_sizes, seed=0)
    return nn.train(model, X, y, ol.adam(0.01), epochs=epochs, batch_size=32).train_accuracy[-1]


def test_two_moons_needs_a_nonlinear_model():
    X, y = data.two_moons(n=200, noise=0.1, seed=0)
    assert fit_accuracy(X, y) < 0.92
    assert fit_accuracy(X, y, [2, 32, 2], epochs=100) > 0.99


def test_blobs_have_the_requested_spread():
    X, y = data.blobs(n=3000, centers=2, dim=4, std=0.5, seed=0)
    for label in (0, 1):
        assert np.std(X[y == label], axis=0) == pytest.approx(np.full(4, 0.5), rel=0.1)


def test_spirals_wind_around_the_origin():
    X, y = data.spirals(n=300, classes=3, noise=0.0, seed=0)
    radius = np.linalg.norm(X, axis=1)
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * (radius + y / 3)
    assert np.max(np.abs(np.angle(np.exp(1j * (angle - expected))))) < 1e-9


def test_linear_regression_recovers_its_weights():
    X, y, w = data.linear_regression(n=2000, dim=4, noise=0.1, seed=0)
    fit = LeastSquares(X, y).x_star
    assert np.max(np.abs(fit - w)) < 0.02
    assert np.std(y - X @ w) == pytest.approx(0.1, rel=0.1)


def test_sparse_features_have_geometric_frequencies_and_favour_adagrad():
    X, y = data.sparse_features(n=4000, dim=30, rarest=0.002, seed=0)
    frequency = X.mean(axis=0)
    np.testing.assert_allclose(frequency[:20], np.geomspace(0.5, 0.002, 30)[:20], rtol=0.3)
    f = LogisticRegression(X, y)
    x0 = np.zeros(30)
    f_star = f.value(ol.minimize(f, x0, ol.adam(0.1), steps=3000, tol=1e-8).x)

    def best_excess(make, lrs):
        """The lowest loss above the optimum after 200 mini-batch steps, over a grid of lr."""
        return min(ol.minimize(f, x0, make(lr), steps=200, batch_size=50, seed=1).fun
                   for lr in lrs) - f_star

    assert best_excess(ol.adagrad, (0.1, 0.3, 1, 3, 10)) < 0.4 * best_excess(
        ol.sgd, (0.1, 0.3, 1, 3, 10, 30))


def test_digits_ship_with_scikit_learn():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_train_test_split_is_a_seeded_partition():
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.2, seed=5)
    assert len(y_test) == 5 and len(y_train) == 20
    assert sorted(np.r_[y_train, y_test]) == list(range(25))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)   # rows stay paired
    again = data.train_test_split(X, y, test_fraction=0.2, seed=5)
    np.testing.assert_array_equal(again[3], y_test)
    other = data.train_test_split(X, y, test_fraction=0.2, seed=6)
    assert not np.array_equal(other[3], y_test)
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(X, y, test_fraction=1.5)
    with pytest.raises(ValueError, match="same number"):
        data.train_test_split(X, y[:3])


def test_standardize_uses_the_training_statistics():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, (100, 3))
    train[:, 2] = 7.0   # a constant feature
    test = rng.normal(3.0, 2.0, (10, 3))
    train_s, test_s = data.standardize(train, test)
    np.testing.assert_allclose(train_s[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_s[:, :2].std(axis=0), 1, atol=1e-12)
    assert np.all(train_s[:, 2] == 0)
    np.testing.assert_allclose(test_s[:, :2],
                               (test[:, :2] - train[:, :2].mean(0)) / train[:, :2].std(0))
    assert data.standardize(train).shape == train.shape


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="noise"):
        data.two_moons(noise=-1)
    with pytest.raises(ValueError, match="classes"):
        data.spirals(classes=1)
    with pytest.raises(ValueError, match="rarest"):
        data.sparse_features(rarest=0.0)
