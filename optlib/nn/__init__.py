"""Small neural networks in NumPy, with backpropagation written out.

    model = MLP([64, 128, 10], activation="relu", seed=0)
    hist = train(model, X, y, ol.adam(1e-3), epochs=20, batch_size=64, X_test=Xt, y_test=yt)

Every layer has ``forward(x)`` and ``backward(dy) -> dx``; ``backward`` writes
the gradient of each parameter into ``layer.grads``. A ``Sequential`` keeps
all its parameters in one flat vector ``model.params`` and their gradients in
``model.grads``: the layers' arrays are views into these two vectors, so any
optlib transform steps the network in place (``optlib.inplace.Optimizer``),
and ``NetworkLoss`` turns a network and a data set into an optlib objective
for ``minimize`` and the landscape tools.

Shapes: a batch of inputs is ``(n, features)``; ``Linear`` computes
y = x W + b with W of shape ``(fan_in, fan_out)``.

The package: ``init`` (initializers), ``layers`` (Linear, activations,
BatchNorm, LayerNorm), ``networks`` (Sequential, MLP), ``losses``,
``objective`` (NetworkLoss), ``training`` (train) and ``curvature`` (exact
Hessian-vector and Gauss-Newton products by the R-operator).
"""

from .curvature import (
    CURVATURES,
    gauss_newton_vector_product,
    hessian_vector_product,
    jacobian_vector_product,
    with_curvature,
)
from .init import (
    INITIALIZERS,
    RELU_GAIN,
    kaiming_normal,
    kaiming_uniform,
    normal,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from .layers import BatchNorm, Layer, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .losses import LOSSES, accuracy, mse, softmax_cross_entropy
from .networks import MLP, Sequential
from .objective import NetworkLoss
from .training import TrainHistory, train

__all__ = [
    "RELU_GAIN", "zeros", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "INITIALIZERS", "Layer", "Linear", "ReLU", "Tanh", "Sigmoid", "BatchNorm",
    "LayerNorm",
    "Sequential", "MLP", "softmax_cross_entropy", "mse", "LOSSES", "accuracy", "NetworkLoss",
    "TrainHistory", "train", "CURVATURES", "hessian_vector_product",
    "gauss_newton_vector_product", "jacobian_vector_product", "with_curvature",
]

