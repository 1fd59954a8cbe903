"""The shape of a loss landscape: Taylor models, curvature, critical points, saddles,
slices, sharpness, and the paths between minima.

    model = taylor(f, x0, order=2)            # f(x0) + g'd + 1/2 d'Hd as a callable
    predicted_decrease(f, x, eta)             # what one gradient step should gain
    optimal_step(f, x)                        # the eta that gains the most, g'g / g'Hg
    hessian_spectrum(f, x)                    # eigenvalues of H, ascending
    classify(f, x)                            # ('saddle', eigenvalues)
    critical_points(f, starts=256)            # all stationary points found from many starts
    perturbed_gd(f, x0, lr=0.1)               # gradient descent that escapes strict saddles
    random_direction(theta, blocks=shapes)    # filter-normalized direction (Li et al. 2018)
    loss_slice_1d(loss, theta, alphas)        # loss(theta + alpha d)
    loss_slice_2d(loss, theta, alphas, betas) # loss(theta + alpha d1 + beta d2)
    lanczos(matvec, v0, steps)                # extreme eigenvalues from products H v
    sharpness(f, theta)                       # lambda_max of the Hessian, by Lanczos
    BatchedNetworkLoss(model, X, y, "mse")    # a network's loss for a stack of thetas
    pca_directions(path)                      # the plane a training path moves in
    barrier(values, alphas)                   # the rise above the chord between minima

The package, by topic: ``local`` (Taylor models, curvature at a point),
``critical`` (critical points, perturbed gradient descent), ``slices``
(directions and slices), ``eigen`` (Lanczos, power iteration, sharpness),
``networks`` (a network's loss for a stack of parameter vectors, exact
Hessian- and Gauss-Newton-vector products, rescalings), ``paths`` (PCA of a
training path, barriers, Bezier curves between minima), ``teacher_student``
(the population loss of a ReLU student and teacher).

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed.,
Springer 2006; C. Jin, R. Ge, P. Netrapalli, S. M. Kakade and M. I. Jordan,
"How to escape saddle points efficiently", ICML 2017; H. Li, Z. Xu, G. Taylor,
C. Studer and T. Goldstein, "Visualizing the loss landscape of neural nets",
NeurIPS 2018.
"""

from .critical import critical_points, escape_time, perturbed_gd
from .eigen import Lanczos, extreme_eigenvalues, lanczos, power_iteration, sharpness
from .local import classify, hessian_spectrum, optimal_step, predicted_decrease, taylor
from .networks import BatchedNetworkLoss, neuron_filters, rescale_layer, rescale_neurons
from .paths import barrier, bezier, fit_bezier, pca_directions, project
from .slices import (
    Slice1D,
    Slice2D,
    filter_normalize,
    loss_slice_1d,
    loss_slice_2d,
    random_direction,
)
from .teacher_student import relu_kernel, relu_teacher_student

__all__ = [
    "taylor",
    "predicted_decrease",
    "optimal_step",
    "hessian_spectrum",
    "classify",
    "critical_points",
    "perturbed_gd",
    "escape_time",
    "filter_normalize",
    "random_direction",
    "Slice1D",
    "Slice2D",
    "loss_slice_1d",
    "loss_slice_2d",
    "Lanczos",
    "lanczos",
    "power_iteration",
    "extreme_eigenvalues",
    "sharpness",
    "BatchedNetworkLoss",
    "rescale_layer",
    "rescale_neurons",
    "neuron_filters",
    "pca_directions",
    "project",
    "barrier",
    "bezier",
    "fit_bezier",
    "relu_kernel",
    "relu_teacher_student",
]
