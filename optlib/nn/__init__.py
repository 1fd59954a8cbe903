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
``objective`` (NetworkLoss), ``training`` (train), ``signal`` (signal
propagation at initialization: mean-field maps, random networks, layer
statistics), ``residual`` (residual blocks and their initialization schemes),
``recurrent`` (a one-unit recurrent network whose loss has a cliff),
``normalization`` (GroupNorm, WeightNormLinear, and the measurements of scale
invariance and smoothness), ``sweep`` (a learning-rate sweep in one
batched run) and ``curvature`` (exact Hessian-vector and Gauss-Newton
products by the R-operator).
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
    orthogonal,
    torch_default,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from .layers import BatchNorm, Layer, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .losses import LOSSES, accuracy, mse, softmax_cross_entropy
from .networks import MLP, Sequential
from .normalization import GroupNorm, WeightNormLinear
from .objective import NetworkLoss
from .recurrent import cliff_bias, one_unit_rnn, rnn_states
from .residual import RESIDUAL_SCHEMES, Residual, residual_mlp, residual_stack
from .signal import LayerStatistics, layer_statistics
from .sweep import SweepHistory, lr_sweep
from .training import TrainHistory, train

__all__ = [
    "RELU_GAIN", "zeros", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "INITIALIZERS", "Layer", "Linear", "ReLU", "Tanh", "Sigmoid", "BatchNorm",
    "LayerNorm",
    "Sequential", "MLP", "softmax_cross_entropy", "mse", "LOSSES", "accuracy", "NetworkLoss",
    "TrainHistory", "train",
    "orthogonal", "torch_default", "Residual", "RESIDUAL_SCHEMES", "residual_stack",
    "residual_mlp", "one_unit_rnn", "rnn_states", "cliff_bias", "LayerStatistics",
    "layer_statistics", "normalization", "GroupNorm", "WeightNormLinear", "sweep", "lr_sweep",
    "SweepHistory", "CURVATURES", "hessian_vector_product",
    "gauss_newton_vector_product", "jacobian_vector_product", "with_curvature",
]
