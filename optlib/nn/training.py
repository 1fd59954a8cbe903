"""Training a network with any optlib transform, epoch by epoch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..inplace import Optimizer
from ..minimize import minibatches
from ..static import progress_bar
from .losses import _loss_function, accuracy


@dataclass
class TrainHistory:
    """What ``train`` recorded, one entry per epoch (entry 0 is before training).

    ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` have
    ``epochs + 1`` entries (NaN where there is no test set, or no accuracy for
    a regression loss); ``grad_norms`` has shape ``(epochs, linear layers)``:
    the mean over the epoch's mini-batches of ||dL/dW|| for each Linear layer,
    input side first (``layer_names`` says which). ``status`` is 'finished'
    or 'diverged' (the loss stopped being finite; the arrays end there).
    ``seconds`` is the training time.
    """

    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    grad_norms: np.ndarray
    layer_names: list
    status: str
    seconds: float


def _evaluate(model, X, y, loss_function, classification):
    """(loss, accuracy) in evaluation mode; accuracy is NaN for a regression."""
    if X is None:
        return np.nan, np.nan
    was_training = model.training
    model.eval()
    out = model.forward(X)
    model.train(was_training)
    return loss_function(out, y)[0], accuracy(out, y) if classification else np.nan


def train(model, X, y, tx, epochs=10, batch_size=32, seed=0, progress=False, X_test=None,
          y_test=None, loss="cross_entropy", drop_last=False):
    """Train ``model`` on (X, y) with the optlib transform ``tx``, in mini-batches.

    Each epoch shuffles the samples (seeded by ``seed``) and takes one step
    per batch of ``batch_size``: forward, loss, backward, then
    theta <- theta + step(grad) applied in place to ``model.params``. The
    last batch of an epoch is short when ``batch_size`` does not divide the
    number of samples; ``drop_last=True`` skips it, as torch's
    ``DataLoader(drop_last=True)``. ``progress`` shows a bar over the epochs
    (never in the static book, see ``optlib.static``).
    ``loss`` is 'cross_entropy' (y holds class labels), 'mse', or a callable
    (prediction, target) -> (loss, d loss / d prediction). Returns a
    ``TrainHistory``.

    BLAS runs on one thread meanwhile: at these matrix sizes more threads
    spend longer waiting for each other than they save.
    """
    from threadpoolctl import threadpool_limits

    # A diverging run overflows on its way to a non-finite loss, which is detected and reported.
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        return _train(model, X, y, tx, epochs, batch_size, seed, progress, X_test, y_test, loss,
                      drop_last)


def _train(model, X, y, tx, epochs, batch_size, seed, progress, X_test, y_test, loss,
           drop_last):
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (samples, features) with one label per sample in y, "
                         f"got {X.shape} and {y.shape}")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if int(batch_size) != batch_size or not 1 <= batch_size <= X.shape[0]:
        raise ValueError(f"batch_size must be an integer in [1, {X.shape[0]}], got {batch_size!r}")
    loss_function = _loss_function(loss)
    classification = loss == "cross_entropy"
    optimizer = Optimizer(model.params, tx)
    linear = model.linear_layers()
    batches = minibatches(X.shape[0], int(batch_size), seed, drop_last)
    steps_per_epoch = (X.shape[0] // batch_size if drop_last
                       else math.ceil(X.shape[0] / batch_size))

    records = [(*_evaluate(model, X, y, loss_function, classification),
                *_evaluate(model, X_test, y_test, loss_function, classification))]
    grad_norms, status, start = [], "finished", time.perf_counter()
    model.train()
    for _ in progress_bar(range(int(epochs)), progress, desc="train"):
        norms = np.zeros(len(linear))
        for _ in range(steps_per_epoch):
            batch = next(batches)
            value, dout = loss_function(model.forward(X[batch]), y[batch])
            if not np.isfinite(value):
                status = "diverged"
                break
            model.backward(dout)
            norms += [np.linalg.norm(layer.grads["W"]) for _, layer in linear]
            optimizer.step(model.grads)
        if status == "diverged":
            break
        grad_norms.append(norms / steps_per_epoch)
        records.append((*_evaluate(model, X, y, loss_function, classification),
                        *_evaluate(model, X_test, y_test, loss_function, classification)))
    seconds = time.perf_counter() - start
    columns = np.array(records, dtype=float).T
    return TrainHistory(
        train_loss=columns[0], train_accuracy=columns[1], test_loss=columns[2],
        test_accuracy=columns[3], grad_norms=np.array(grad_norms).reshape(-1, len(linear)),
        layer_names=[f"{i}.W" for i, _ in linear], status=status, seconds=seconds,
    )
