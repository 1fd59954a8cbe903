"""The checks of the chapter "Second-order methods"."""

from __future__ import annotations

import numpy as np

from .. import functions, second_order
from .grading import Case, _named, _spd, _symmetric_with, exercise

# ---------------------------------------------------------------- a Newton step with backtracking


def _newton_step(f, theta, c1, shrink, direction=None):
    """optlib's answer: the Newton direction, then Armijo backtracking from eta = 1."""
    g = f.grad(theta)
    direction = -np.linalg.solve(f.hess(theta), g) if direction is None else direction
    search = second_order.backtracking(f, theta, direction, alpha0=1.0, c1=c1, shrink=shrink)
    if not search.success:
        raise RuntimeError("the backtracking search of a case found no step")
    return search.x, search.alpha


def _gradient_direction(case):
    f, args = case.problem, case.args
    return _newton_step(f, args["theta"], args["c1"], args["shrink"], -f.grad(args["theta"]))


def _plain_decrease(case):
    f, args = case.problem, case.args
    return _newton_step(f, args["theta"], 0.0, args["shrink"])


def _full_step(case):
    f, theta = case.problem, case.args["theta"]
    return theta - np.linalg.solve(f.hess(theta), f.grad(theta)), 1.0


@exercise(
    "newton_backtracking_step",
    "newton_backtracking_step(f, grad, hess, theta, c1, shrink) -> (theta_next, eta)",
    hint="solve hess(theta) p = -grad(theta) for the Newton direction p (np.linalg.solve, "
         "not an inverse); then start at eta = 1 and multiply eta by shrink while "
         "f(theta + eta p) > f(theta) + c1 eta grad(theta)'p; return theta + eta p and eta.",
    mistakes=[
        (_gradient_direction,
         "you searched along -grad(theta): that is gradient descent. Newton's direction is "
         "p = -H^{-1} g, the minimizer of the quadratic model."),
        (_plain_decrease,
         "you accepted the first step that merely decreases f: the Armijo condition asks for "
         "f(theta + eta p) <= f(theta) + c1 eta grad(theta)'p."),
        (_full_step,
         "you took the full Newton step eta = 1 without checking the Armijo condition; far "
         "from the minimum it can increase f."),
    ],
)
def _newton_backtracking_cases(rng):
    bowl = functions.quadratic(_spd(rng, 3, 1.0, 10.0), rng.normal(size=3),
                               name="a 3-D quadratic")
    rosenbrock = functions.rosenbrock()
    for label, f, theta, c1, shrink in [
        ("a quadratic: eta = 1 lands on the minimum", bowl, rng.normal(size=3), 1e-4, 0.5),
        ("Rosenbrock at (-1.2, 1): eta = 1 is accepted", rosenbrock, np.array([-1.2, 1.0]),
         1e-4, 0.5),
        ("Rosenbrock at (-1, 1): the full step overshoots", rosenbrock, np.array([-1.0, 1.0]),
         1e-4, 0.5),
        ("Rosenbrock at (-0.9, 0.8), c1 = 0.4: a decrease that is not enough",
         rosenbrock, np.array([-0.9, 0.8]), 0.4, 0.5),
        ("Beale at (1.2, 0.7), shrink = 0.3", functions.beale(), np.array([1.2, 0.7]), 1e-4,
         0.3),
        ("Himmelblau at (-3.5, 1.9), c1 = 0.4", functions.himmelblau(), np.array([-3.5, 1.9]),
         0.4, 0.5),
        ("Rosenbrock in 4-D", functions.rosenbrock(dim=4), np.array([0.9, 0.8, 0.7, 0.5]),
         1e-4, 0.5),
    ]:
        args = dict(f=_named(f), grad=_named(f, "grad"), hess=_named(f, "hess"), theta=theta,
                    c1=c1, shrink=shrink)
        yield Case(label, args, _newton_step(f, theta, c1, shrink), problem=f)


# ---------------------------------------------------------------- the L-BFGS two-loop recursion


def _pairs_from_a_run(f, theta0, count):
    """The last ``count`` curvature pairs (s, y) of an L-BFGS run on f, oldest first."""
    run = second_order.lbfgs(f, theta0, steps=count + 2, tol=0.0, m=count)
    x = run.history.x
    g = f.grad(x)
    return [(x[i + 1] - x[i], g[i + 1] - g[i]) for i in range(len(x) - count - 1, len(x) - 1)]


def _unscaled(case):
    """The recursion with Y_0 = I instead of gamma I."""
    q, alphas = np.array(case.args["g"], dtype=float), []
    pairs = case.args["pairs"]
    for s, y in reversed(pairs):
        a = float(s @ q) / float(s @ y)
        q = q - a * y
        alphas.append(a)
    for (s, y), a in zip(pairs, reversed(alphas), strict=True):
        q = q + (a - float(y @ q) / float(s @ y)) * s
    return q


def _reversed_pairs(case):
    return second_order.lbfgs_direction(case.args["g"], case.args["pairs"][::-1])


@exercise(
    "lbfgs_two_loop", "lbfgs_two_loop(g, pairs) -> Cg",
    hint="first loop, newest pair to oldest: a_i = (s_i'q) / (s_i'y_i), q = q - a_i y_i "
         "(q starts at g); then r = gamma q with gamma = s'y / y'y of the newest pair; second "
         "loop, oldest to newest: b = (y_i'r) / (s_i'y_i), r = r + (a_i - b) s_i; return r.",
    mistakes=[
        (_unscaled,
         "you started the second loop from r = q: scale it by gamma = s'y / y'y of the newest "
         "pair (N&W eq. 7.20), the guess of the inverse curvature that makes L-BFGS take "
         "steps of the right length."),
        (_reversed_pairs,
         "the loops run in the wrong order: the first goes from the newest pair to the oldest, "
         "the second from the oldest to the newest (pairs lists the oldest first)."),
        (lambda case: -case.expected,
         "return Y g itself; the L-BFGS direction -Y g is what the method steps along."),
    ],
    rtol=1e-9, atol=1e-12,
)
def _lbfgs_two_loop_cases(rng):
    rosenbrock = functions.rosenbrock(dim=5)
    pairs_run = _pairs_from_a_run(rosenbrock, np.full(5, -0.5), 4)
    A = _spd(rng, 4, 1.0, 20.0)
    quadratic_pairs = [(s, A @ s) for s in rng.normal(size=(3, 4))]
    one = [(np.array([1.0, 0.5]), np.array([2.0, 0.2]))]
    for label, g, pairs in [
        ("no pairs yet: Y = I", rng.normal(size=3), []),
        ("one pair in 2-D", np.array([1.0, -1.0]), one),
        ("three pairs of a quadratic, y = A s", rng.normal(size=4), quadratic_pairs),
        ("the last 4 pairs of an L-BFGS run on Rosenbrock(5)", rosenbrock.grad(np.zeros(5)),
         pairs_run),
    ]:
        yield Case(label, dict(g=g, pairs=pairs), second_order.lbfgs_direction(g, pairs))


# ---------------------------------------------------------------- conjugate gradients


def _cg(A, b, steps):
    """optlib's conjugate gradient: the iterate after ``steps`` products from x0 = 0."""
    if steps == 0:
        return np.zeros_like(b)
    return second_order.conjugate_gradient(lambda v: A @ v, b, rtol=0.0, maxiter=steps).x


def _steepest_descent(A, b, steps):
    """Exact line searches along the residual: CG without the conjugation."""
    x = np.zeros_like(b)
    for _ in range(steps):
        r = b - A @ x
        if not r @ r > 0:
            break
        x = x + (r @ r) / (r @ A @ r) * r
    return x


def _inverted_beta(A, b, steps):
    x, r = np.zeros_like(b), b.copy()
    d = r.copy()
    for _ in range(steps):
        Ad = A @ d
        alpha = (r @ r) / (d @ Ad)
        x, r_new = x + alpha * d, r - alpha * Ad
        if not r_new @ r_new > 0:
            break
        d = r_new + (r @ r) / (r_new @ r_new) * d
        r = r_new
    return x


@exercise(
    "conjugate_gradients", "conjugate_gradients(A, b, steps) -> x",
    hint="from x = 0, r = b and d = r, repeat `steps` times: alpha = r'r / d'Ad, "
         "x = x + alpha d, r_new = r - alpha Ad, beta = r_new'r_new / r'r, d = r_new + beta d "
         "(stop early if r_new is exactly 0).",
    mistakes=[
        (lambda case: _steepest_descent(**case.args),
         "those are steepest-descent steps along the residual: each new direction must be "
         "made A-conjugate to the previous one, d = r_new + beta d."),
        (lambda case: _inverted_beta(**case.args),
         "beta is r_new'r_new / r'r, the new residual's squared norm over the old one's."),
    ],
    rtol=1e-8, atol=1e-10,
)
def _conjugate_gradients_cases(rng):
    A5 = _spd(rng, 5, 1.0, 30.0)
    b5 = rng.normal(size=5)
    three = _symmetric_with(rng, np.repeat([1.0, 4.0, 9.0], 2))
    for label, A, b, steps in [
        ("steps = 0: x = 0", A5, b5, 0),
        ("one step: the steepest-descent step", A5, b5, 1),
        ("three steps in 5-D", A5, b5, 3),
        ("steps = d = 5: the exact solution", A5, b5, 5),
        ("6-D with three distinct eigenvalues: exact after 3 steps", three,
         rng.normal(size=6), 3),
        ("A = 2 I: exact after one step, then stop", 2 * np.eye(4), rng.normal(size=4), 3),
    ]:
        yield Case(label, dict(A=A, b=b, steps=steps), _cg(A, b, steps))


# ---------------------------------------------------------------- a Hessian-vector product


def _hvp_error(f, theta, v, h, difference="central"):
    """The finite-difference product and its relative error against f.hvp."""
    if difference == "central":
        product = (f.grad(theta + h * v) - f.grad(theta - h * v)) / (2 * h)
    else:
        product = (f.grad(theta + h * v) - f.grad(theta)) / h
    exact = f.hvp(theta, v)
    return product, float(np.linalg.norm(product - exact) / np.linalg.norm(exact))


def _absolute_error(case):
    f, args = case.problem, case.args
    product, _ = case.expected
    return product, float(np.linalg.norm(product - f.hvp(args["theta"], args["v"])))


@exercise(
    "hvp_error", "hvp_error(grad, hvp, theta, v, h) -> (product, error)",
    hint="product = (grad(theta + h v) - grad(theta - h v)) / (2h), the central difference "
         "of the gradient along v; error = ||product - hvp(theta, v)|| / ||hvp(theta, v)||, "
         "relative to the exact product.",
    mistakes=[
        (lambda case: _hvp_error(case.problem, case.args["theta"], case.args["v"],
                                 case.args["h"], "forward"),
         "that is the forward difference (grad(theta + h v) - grad(theta)) / h: its error "
         "shrinks like h, the central difference's like h^2."),
        (_absolute_error,
         "the error should be relative: divide ||product - hvp(theta, v)|| by "
         "||hvp(theta, v)||."),
    ],
    rtol=1e-6, atol=1e-14,
)
def _hvp_error_cases(rng):
    rosenbrock = functions.rosenbrock()
    camel = functions.six_hump_camel()
    wide = functions.rosenbrock(dim=6)
    for label, f, theta, v, h in [
        ("Rosenbrock, h = 1e-3: truncation error", rosenbrock, np.array([-1.2, 1.0]),
         np.array([1.0, 0.5]), 1e-3),
        ("Rosenbrock, h = 1e-5", rosenbrock, np.array([-1.2, 1.0]), np.array([1.0, 0.5]),
         1e-5),
        ("Rosenbrock, h = 1e-9: rounding error", rosenbrock, np.array([-1.2, 1.0]),
         np.array([1.0, 0.5]), 1e-9),
        ("six-hump camel, h = 1e-2", camel, np.array([0.5, -0.3]), np.array([0.3, 1.0]),
         1e-2),
        ("Rosenbrock in 6-D", wide, rng.uniform(-1, 1, 6), rng.normal(size=6), 1e-4),
    ]:
        args = dict(grad=_named(f, "grad"), hvp=_named(f, "hvp"), theta=theta, v=v, h=h)
        yield Case(label, args, _hvp_error(f, theta, v, h), problem=f)
