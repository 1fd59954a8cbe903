"""Second-order and quasi-Newton methods: line searches, conjugate gradient, Newton,
BFGS, L-BFGS and Hessian-free optimization.

    res = minimize(f, x0, "gd_backtracking") # steepest descent, Armijo step sizes
    res = minimize(f, x0, "newton")          # Hessian, modified when not positive definite
    res = minimize(f, x0, "bfgs")            # dense inverse-Hessian approximation
    res = minimize(f, x0, "lbfgs", m=10)     # the last m curvature pairs only
    res = minimize(f, x0, "hessian_free")    # truncated CG on Hessian-vector products
    res = minimize(f, x0, "trust_region")    # Steihaug-CG (or dogleg, Cauchy, exact) in a ball
    res = minimize(f, x0, "levenberg_marquardt")   # Newton damped by nu I, nu adapted

Every method takes one start ``x0`` of shape ``(dim,)``, counts every
evaluation it makes (those inside line searches too) in ``nfev`` (values),
``ngev`` (gradients) and ``nhev`` (Hessians, or Hessian-vector products for
Hessian-free), and records ``history.lr`` as the accepted step length alpha_t of
each iteration x_{t+1} = x_t + alpha_t p_t. Besides 'converged', 'max_steps' and
'diverged', a run can end 'stalled': the line search found no point that
decreases f enough, which in floating point happens when f cannot be
decreased any further at the precision of its values.

``record_x=False`` keeps only ``f``, ``grad_norm`` and ``lr`` in the history
(``history.x`` is then empty, of shape ``(0, dim)``): for problems so large
that one copy of x per iteration does not fit in memory.

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed.,
Springer 2006 (N&W); J. Martens, "Deep learning via Hessian-free optimization",
ICML 2010.

The package has one module per family: ``line_search``, ``cg``, ``newton`` (with
gradient descent under Armijo steps and Levenberg-Marquardt damping),
``quasi_newton`` (BFGS, L-BFGS), ``trust_region`` (the subproblem solvers and
N&W Alg. 4.1), ``hessian_free`` and ``basins`` (where Newton's iteration goes
from a grid of starts); ``driver`` holds the loop they share. Importing it
registers the method names with ``minimize``.
"""

from .basins import attracts, basins, contraction_factors, newton_iterates
from .cg import CGResult, conjugate_gradient
from .hessian_free import hessian_free
from .line_search import LineSearchResult, backtracking, strong_wolfe
from .newton import (
    damped_newton_step,
    gd_backtracking,
    levenberg_marquardt,
    modified_hessian,
    newton,
)
from .quasi_newton import bfgs, lbfgs, lbfgs_direction
from .trust_region import (
    SUBPROBLEMS,
    SubproblemStep,
    cauchy_point,
    dogleg,
    next_radius,
    steihaug_cg,
    trust_region,
    trust_region_exact,
)

__all__ = [
    "LineSearchResult",
    "backtracking",
    "gd_backtracking",
    "strong_wolfe",
    "CGResult",
    "conjugate_gradient",
    "modified_hessian",
    "newton",
    "bfgs",
    "lbfgs",
    "lbfgs_direction",
    "hessian_free",
    "damped_newton_step",
    "levenberg_marquardt",
    "SubproblemStep",
    "SUBPROBLEMS",
    "cauchy_point",
    "dogleg",
    "steihaug_cg",
    "trust_region_exact",
    "next_radius",
    "trust_region",
    "newton_iterates",
    "basins",
    "contraction_factors",
    "attracts",
]

