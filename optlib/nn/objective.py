"""A network and a data set as an optlib Objective (a finite sum over examples)."""

from __future__ import annotations

import numpy as np

from ..functions import FiniteSum, Objective
from .losses import _loss_function
from .networks import Sequential


class NetworkLoss(FiniteSum):
    """A network's mean loss over a data set, as a function of its flat parameter vector.

        f(theta) = 1/n sum_i loss(model(x_i; theta), y_i)

    ``value(theta, batch=idx)`` and ``grad(theta, batch=idx)`` work like any
    optlib finite sum, so ``minimize(NetworkLoss(model, X, y), model.params,
    ol.sgd(0.1), batch_size=32)`` trains the network and the landscape tools
    can slice and probe its loss. ``theta`` may carry leading axes (one network
    evaluation per vector). Evaluating sets the model's parameters for a moment
    and puts them (and BatchNorm's running statistics) back afterwards; the
    network is evaluated in the mode it is in (``model.train()`` or
    ``model.eval()``). ``hvp`` and ``hess`` are central differences of the
    gradient with step ``h``.
    """

    def __init__(self, model, X, y, loss="cross_entropy", h=1e-5):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be an optlib.nn.Sequential, got {type(model).__name__}")
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
            raise ValueError(f"X must be (samples, features) and y have one entry per sample, "
                             f"got {X.shape} and {y.shape}")
        for name, value in (("model", model), ("X", X), ("y", y), ("h", h),
                            ("loss_function", _loss_function(loss))):
            object.__setattr__(self, name, value)
        name = loss if isinstance(loss, str) else "loss"
        Objective.__init__(self, f"network_{name}", model.params.size, self._full_value,
                           self._full_grad, self._full_hess, self._full_hvp)

    def _evaluate(self, theta, X, y, with_grad):
        """Loss (and gradient) at every vector of ``theta``, shape (..., dim)."""
        model = self.model
        saved_params = model.params.copy()
        saved_buffers = [b.copy() for b in model.buffers()]
        values = np.empty(theta.shape[:-1])
        grads = np.empty(theta.shape) if with_grad else None
        try:
            for index in np.ndindex(theta.shape[:-1]):
                model.params[...] = theta[index]
                value, dout = self.loss_function(model.forward(X), y)
                values[index] = value
                if with_grad:
                    model.backward(dout)
                    grads[index] = model.grads
        finally:
            model.params[...] = saved_params
            for buffer, saved in zip(model.buffers(), saved_buffers, strict=True):
                buffer[...] = saved
        return values, grads

    def loss(self, theta, X, y):
        return self._evaluate(theta, X, y, with_grad=False)[0]

    def loss_grad(self, theta, X, y):
        return self._evaluate(theta, X, y, with_grad=True)[1]

    def loss_hvp(self, theta, v, X, y):
        """(grad(theta + h v) - grad(theta - h v)) / 2h."""
        return (self.loss_grad(theta + self.h * v, X, y)
                - self.loss_grad(theta - self.h * v, X, y)) / (2 * self.h)

    def loss_hess(self, theta, X, y):
        eye = np.eye(self.dim)
        columns = [self.loss_hvp(theta, np.broadcast_to(e, theta.shape), X, y) for e in eye]
        hess = np.stack(columns, axis=-1)
        return 0.5 * (hess + np.swapaxes(hess, -1, -2))


