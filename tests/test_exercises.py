"""The exercise checks: right answers pass, typical wrong answers fail with the failing case.

Every registered exercise needs an entry in RIGHT and in WRONG below (written
here as a learner would write them, not taken from optlib), so a new check
cannot land untested.
"""

import math

import numpy as np
import pytest

from optlib import checks, exercises, unit_tests
from optlib.exercises import EXERCISES, check, grade
from optlib.optimizers import adam as ol_adam

# ---------------------------------------------------------------- answers a learner could write


def empirical_risk(theta, X, y):
    return 0.5 * np.mean((X @ theta - y) ** 2)


def best_threshold_accuracy(x, y):
    order = np.argsort(x)
    x, y = x[order], y[order]
    best = max(np.mean(y == 1), np.mean(y == 0))     # one class for all
    for k in range(1, len(x)):
        if x[k] > x[k - 1]:                           # cut between k-1 and k
            right_if_ones_above = (np.sum(y[:k] == 0) + np.sum(y[k:] == 1)) / len(y)
            best = max(best, right_if_ones_above, 1 - right_if_ones_above)
    return best


def central_difference(loss, theta, h):
    return np.array([(loss(theta + h * e) - loss(theta - h * e)) / (2 * h)
                     for e in np.eye(len(theta))])


def logistic_gradient(theta, X, y):
    p = 1 / (1 + np.exp(-(X @ theta)))
    return X.T @ (p - y) / len(y)


def optimal_step(g, H):
    curvature = g @ H @ g
    return g @ g / curvature if curvature > 0 else math.inf


def finite_difference_hessian(grad, theta, h):
    columns = [(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    return np.column_stack(columns)


def classify_critical_point(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues.max() > tol and eigenvalues.min() < -tol:
        return "saddle"
    if np.abs(eigenvalues).min() <= tol:
        return "degenerate"
    return "minimum" if eigenvalues.min() > 0 else "maximum"


def escape_direction(H):
    return -np.linalg.eigh(H)[1][:, 0]


def gd_step(theta, g, lr):
    return theta - lr * g


def gradient_descent(grad, theta0, lr, steps):
    thetas = [np.asarray(theta0, dtype=float)]
    for _ in range(steps):
        thetas.append(thetas[-1] - lr * grad(thetas[-1]))
    return np.array(thetas)


def backtracking(loss, grad, theta, direction, lr0, c1, shrink):
    eta, value, slope = lr0, loss(theta), grad(theta) @ direction
    while loss(theta + eta * direction) > value + c1 * eta * slope:
        eta *= shrink
    return eta


def best_fixed_step(H):
    eigenvalues = np.linalg.eigvalsh(H)
    low, high = eigenvalues[0], eigenvalues[-1]
    return 2 / (low + high), (high - low) / (high + low)


def iterations_needed(kappa, delta):
    rate, t = (kappa - 1) / (kappa + 1), 0
    while rate**t > delta:
        t += 1
    return t


def minibatches(n_samples, batch_size, rng):
    order = rng.permutation(n_samples)
    for start in range(0, n_samples, batch_size):
        yield order[start:start + batch_size]


def linear_decay(t, lr0, lr_tau, tau):
    alpha = min(t / tau, 1.0)
    return (1 - alpha) * lr0 + alpha * lr_tau


def heavy_ball_step(theta, g, m, lr, momentum):
    m = momentum * m + g
    return theta - lr * m, m


def momentum_tuning(H):
    eigenvalues = np.linalg.eigvalsh(H)
    root_kappa = np.sqrt(eigenvalues[-1] / eigenvalues[0])
    rate = (root_kappa - 1) / (root_kappa + 1)
    return 4 / (np.sqrt(eigenvalues[-1]) + np.sqrt(eigenvalues[0])) ** 2, rate**2, rate


def nesterov_lookahead(grad, theta0, lr, momentum, steps):
    thetas = [np.asarray(theta0, dtype=float)]
    delta = np.zeros_like(thetas[0])
    for _ in range(steps):
        delta = momentum * delta - lr * grad(thetas[-1] + momentum * delta)
        thetas.append(thetas[-1] + delta)
    return np.array(thetas)


def momentum_iterations(kappa, delta):
    def count(rate):
        t = 0
        while rate**t > delta:
            t += 1
        return t

    root = np.sqrt(kappa)
    return count((kappa - 1) / (kappa + 1)), count((root - 1) / (root + 1))


def adam_step(theta, g, m, s, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g**2
    m_hat, s_hat = m / (1 - b1**t), s / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(s_hat) + eps), m, s


def adagrad(grad, theta0, lr, steps, eps):
    theta = np.asarray(theta0, dtype=float)
    s = np.zeros_like(theta)
    thetas = [theta]
    for _ in range(steps):
        g = grad(theta)
        s = s + g**2
        theta = theta - lr * g / (np.sqrt(s) + eps)
        thetas.append(theta)
    return np.array(thetas)


def orthogonal_init(shape, gain, rng):
    q, r = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))
    q = q * np.sign(np.diag(r))
    return gain * (q if shape[0] >= shape[1] else q.T)


def clip_global_norm(grads, max_norm):
    norm = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = 1.0 if norm <= max_norm else max_norm / norm
    return [g * scale for g in grads]


def backprop_norms(weights, g):
    norms = [np.linalg.norm(g)]
    for W in weights[::-1]:
        g = g @ W.T
        norms.append(np.linalg.norm(g))
    return np.array(norms)


def batchnorm_forward_backward(x, psi, chi, dy, eps):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    g = psi * dy
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / np.sqrt(var + eps)
    return psi * x_hat + chi, dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def effective_lr(lr, weight_decay, norm0_sq, unit_grads_sq):
    norm_sq, rates = norm0_sq, [lr / norm0_sq]
    for g_sq in unit_grads_sq:
        norm_sq = (1 - lr * weight_decay) ** 2 * norm_sq + lr**2 * g_sq / norm_sq
        rates.append(lr / norm_sq)
    return np.array(rates)


def filter_normalized(direction, theta):
    normalized = []
    for D, W in zip(direction, theta, strict=True):
        normalized.append(D * np.linalg.norm(W, axis=0) / np.linalg.norm(D, axis=0))
    return normalized


def power_sharpness(hvp, v0, steps):
    def dominant(shift):
        v = v0 / np.linalg.norm(v0)
        for _ in range(steps):
            w = hvp(v) - shift * v
            v = w / np.linalg.norm(w)
        return v @ hvp(v) - shift

    mu = dominant(0.0)
    return mu if mu >= 0 else dominant(mu) + mu


def rescaled_sharpness(H, scales):
    D = np.diag(1 / np.asarray(scales))
    return np.linalg.eigvalsh(D @ H @ D)[-1]


def plateau_shape():
    def value(theta):
        return 1 - np.exp(-theta**2 / 2)

    def grad(theta):
        return theta * np.exp(-theta**2 / 2)

    return unit_tests.Shape("wide plateau", value, grad, start=4.5, target=1e-4, minimum=0.0)


def adam_is_correct(make_adam):
    grads = checks.gradient_sequence(steps=30, dim=5, seed=1)
    settings = dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-3)
    got = checks.steps_of(make_adam(**settings), grads)
    expected = checks.steps_of(ol_adam(**settings), grads)
    return bool(np.allclose(got, expected, rtol=1e-10, atol=0))


def performance_profile(costs, thresholds):
    costs = np.asarray(costs, dtype=float)
    with np.errstate(invalid="ignore"):
        ratios = costs / costs.min(axis=1, keepdims=True)
    return (ratios[None] <= np.asarray(thresholds)[:, None, None]).mean(axis=1)


RIGHT = {
    "empirical_risk": empirical_risk,
    "best_threshold_accuracy": best_threshold_accuracy,
    "central_difference": central_difference,
    "logistic_gradient": logistic_gradient,
    "optimal_step": optimal_step,
    "finite_difference_hessian": finite_difference_hessian,
    "classify_critical_point": classify_critical_point,
    "escape_direction": escape_direction,
    "gd_step": gd_step,
    "gradient_descent": gradient_descent,
    "backtracking": backtracking,
    "best_fixed_step": best_fixed_step,
    "iterations_needed": iterations_needed,
    "minibatches": minibatches,
    "linear_decay": linear_decay,
    "heavy_ball_step": heavy_ball_step,
    "momentum_tuning": momentum_tuning,
    "nesterov_lookahead": nesterov_lookahead,
    "momentum_iterations": momentum_iterations,
    "adam_step": adam_step,
    "orthogonal_init": orthogonal_init,
    "clip_global_norm": clip_global_norm,
    "backprop_norms": backprop_norms,
    "adagrad": adagrad,
    "batchnorm_forward_backward": batchnorm_forward_backward,
    "effective_lr": effective_lr,
    "filter_normalized": filter_normalized,
    "power_sharpness": power_sharpness,
    "rescaled_sharpness": rescaled_sharpness,
    "plateau_shape": plateau_shape,
    "adam_is_correct": adam_is_correct,
    "performance_profile": performance_profile,
}


# the chapter "Second-order methods"

def newton_backtracking_step(f, grad, hess, theta, c1, shrink):
    g = grad(theta)
    p = np.linalg.solve(hess(theta), -g)
    eta = 1.0
    while f(theta + eta * p) > f(theta) + c1 * eta * (g @ p):
        eta *= shrink
    return theta + eta * p, eta


def lbfgs_two_loop(g, pairs):
    q, alphas = g.copy(), []
    for s, y in pairs[::-1]:
        alphas.append(s @ q / (s @ y))
        q = q - alphas[-1] * y
    if pairs:
        s, y = pairs[-1]
        q = (s @ y) / (y @ y) * q
    for (s, y), a in zip(pairs, alphas[::-1], strict=True):
        q = q + (a - y @ q / (s @ y)) * s
    return q


def conjugate_gradients(A, b, steps):
    x, r = np.zeros(len(b)), b.copy()
    d = r.copy()
    for _ in range(steps):
        if r @ r == 0:
            break
        alpha = r @ r / (d @ A @ d)
        x = x + alpha * d
        r_new = r - alpha * (A @ d)
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def hvp_error(grad, hvp, theta, v, h):
    product = (grad(theta + h * v) - grad(theta - h * v)) / (2 * h)
    exact = hvp(theta, v)
    return product, np.linalg.norm(product - exact) / np.linalg.norm(exact)


RIGHT.update({
    "newton_backtracking_step": newton_backtracking_step,
    "lbfgs_two_loop": lbfgs_two_loop,
    "conjugate_gradients": conjugate_gradients,
    "hvp_error": hvp_error,
})

# ---------------------------------------------------------------- typical mistakes
# name -> (wrong answer, words the hint must contain, or None for the exercise's own hint)


def _ones_above_only(x, y):
    cuts = np.concatenate([[x.min() - 1], np.unique(x) + 1e-9])
    return max(np.mean((x > c) == (y == 1)) for c in cuts)


def _forward_difference(loss, theta, h):
    return np.array([(loss(theta + h * e) - loss(theta)) / h for e in np.eye(len(theta))])


def _step_without_curvature_check(g, H):
    return g @ g / (g @ H @ g)


def _forward_difference_hessian(grad, theta, h):
    return np.column_stack([(grad(theta + h * e) - grad(theta)) / h for e in np.eye(len(theta))])


def _degenerate_before_saddle(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    if np.abs(eigenvalues).min() <= tol:
        return "degenerate"
    return classify_critical_point(H, tol)


def _largest_magnitude_direction(H):
    eigenvalues, vectors = np.linalg.eigh(H)
    return vectors[:, np.argmax(np.abs(eigenvalues))]


def _last_point_only(grad, theta0, lr, steps):
    return gradient_descent(grad, theta0, lr, steps)[-1]


def _plain_decrease(loss, grad, theta, direction, lr0, c1, shrink):
    eta = lr0
    while loss(theta + eta * direction) > loss(theta):
        eta *= shrink
    return eta


def _safe_step(H):
    eigenvalues = np.linalg.eigvalsh(H)
    return 1 / eigenvalues[-1], best_fixed_step(H)[1]


def _unrounded(kappa, delta):
    return math.log(delta) / math.log((kappa - 1) / (kappa + 1))


def _in_order(n_samples, batch_size, rng):
    order = np.arange(n_samples)
    return [order[i:i + batch_size] for i in range(0, n_samples, batch_size)]


def _global_shuffle(n_samples, batch_size, rng):
    order = np.random.permutation(n_samples)
    return [order[i:i + batch_size] for i in range(0, n_samples, batch_size)]


def _no_clamp(t, lr0, lr_tau, tau):
    return (1 - t / tau) * lr0 + (t / tau) * lr_tau


def _sutskever(theta, g, m, lr, momentum):
    v = momentum * m - lr * g
    return theta + v, v


def _unsquared_momentum(H):
    lr, momentum, rate = momentum_tuning(H)
    return lr, rate, rate


def _heavy_ball_not_nesterov(grad, theta0, lr, momentum, steps):
    thetas = [np.asarray(theta0, dtype=float)]
    delta = np.zeros_like(thetas[0])
    for _ in range(steps):
        delta = momentum * delta - lr * grad(thetas[-1])
        thetas.append(thetas[-1] + delta)
    return np.array(thetas)


def _squared_rate(kappa, delta):
    t_gd, _ = momentum_iterations(kappa, delta)
    root = np.sqrt(kappa)
    rate, t = ((root - 1) / (root + 1)) ** 2, 0
    while rate**t > delta:
        t += 1
    return t_gd, t


def _no_bias_correction(theta, g, m, s, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g**2
    return theta - lr * m / (np.sqrt(s) + eps), m, s


def _in_place_adam(theta, g, m, s, t, lr, b1, b2, eps):
    m *= b1
    m += (1 - b1) * g
    s *= b2
    s += (1 - b2) * g**2
    return theta - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps), m, s


def _adagrad_summing_abs(grad, theta0, lr, steps, eps):
    theta = np.asarray(theta0, dtype=float)
    total, thetas = 0.0, [theta]
    for _ in range(steps):
        g = grad(theta)
        total = total + np.abs(g)
        theta = theta - lr * g / (np.sqrt(total) + eps)
        thetas.append(theta)
    return np.array(thetas)


def _unsigned_qr(shape, gain, rng):
    q, _ = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))
    return gain * (q if shape[0] >= shape[1] else q.T)


def _clip_each(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]


def _constant_statistics(x, psi, chi, dy, eps):
    y, dx, dpsi, dchi = batchnorm_forward_backward(x, psi, chi, dy, eps)
    return y, psi * dy / np.sqrt(x.var(axis=0) + eps), dpsi, dchi


def _gradient_as_given(lr, weight_decay, norm0_sq, unit_grads_sq):
    norm_sq, rates = norm0_sq, [lr / norm0_sq]
    for g_sq in unit_grads_sq:
        norm_sq = (1 - lr * weight_decay) ** 2 * norm_sq + lr**2 * g_sq
        rates.append(lr / norm_sq)
    return np.array(rates)


def _rows_not_columns(direction, theta):
    return [D * np.linalg.norm(W, axis=1, keepdims=True) / np.linalg.norm(D, axis=1,
                                                                           keepdims=True)
            for D, W in zip(direction, theta, strict=True)]


def _plain_power_iteration(hvp, v0, steps):
    v = v0 / np.linalg.norm(v0)
    for _ in range(steps):
        w = hvp(v)
        v = w / np.linalg.norm(w)
    return v @ hvp(v)


def _hessian_scaled_up(H, scales):
    D = np.diag(np.asarray(scales))
    return np.linalg.eigvalsh(D @ H @ D)[-1]


def _shallow_bowl():
    """A bowl that starts on its slope, not on a plateau."""
    return unit_tests.SHAPES["gaussian"]


def _line_fact_only(make_adam):
    """Checks only the exact step on a line, with eps = 0: blind to where eps sits."""
    return checks.line_error(lambda lr: make_adam(lr=lr, eps=0.0), np.array([1.0, -2.0])) < 1e-12


def _profile_over_own_best(costs, thresholds):
    costs = np.asarray(costs, dtype=float)
    with np.errstate(invalid="ignore"):
        ratios = costs / costs.min(axis=0, keepdims=True)
    return (ratios[None] <= np.asarray(thresholds)[:, None, None]).mean(axis=1)


WRONG = {
    "empirical_risk": (lambda theta, X, y: np.mean((X @ theta - y) ** 2), "twice"),
    "best_threshold_accuracy": (_ones_above_only, "try both rules"),
    "central_difference": (_forward_difference, "forward difference"),
    "logistic_gradient": (lambda theta, X, y: X.T @ (y - 1 / (1 + np.exp(-(X @ theta)))) / len(y),
                          "wrong way"),
    "optimal_step": (_step_without_curvature_check, None),
    "finite_difference_hessian": (_forward_difference_hessian, "forward differences"),
    "classify_critical_point": (_degenerate_before_saddle, "whatever the other eigenvalues"),
    "escape_direction": (_largest_magnitude_direction, None),
    "gd_step": (lambda theta, g, lr: theta + lr * g, "uphill"),
    "gradient_descent": (_last_point_only, "last point only"),
    "backtracking": (_plain_decrease, "sufficient decrease"),
    "best_fixed_step": (_safe_step, "safe step"),
    "iterations_needed": (_unrounded, "round up"),
    "minibatches": (_in_order, None),
    "linear_decay": (_no_clamp, "stays at lr_tau"),
    "heavy_ball_step": (_sutskever, "v = beta v - eta g"),
    "momentum_tuning": (_unsquared_momentum, "the momentum is its square"),
    "nesterov_lookahead": (_heavy_ball_not_nesterov, "that is heavy ball"),
    "momentum_iterations": (_squared_rate, "the rate is its square root"),
    "adam_step": (_no_bias_correction, "bias correction is missing"),
    "orthogonal_init": (_unsigned_qr, "sign of R's diagonal"),
    "clip_global_norm": (_clip_each, "each array to the threshold on its own"),
    "backprop_norms": (lambda weights, g: backprop_norms(weights, g)[::-1],
                       "order of backpropagation"),
    "adagrad": (_adagrad_summing_abs, "not |g|"),
    "batchnorm_forward_backward": (_constant_statistics, "evaluation mode"),
    "effective_lr": (_gradient_as_given, "at unit norm"),
    "filter_normalized": (_rows_not_columns, "column j"),
    "power_sharpness": (_plain_power_iteration, "largest magnitude"),
    "rescaled_sharpness": (_hessian_scaled_up, "diag(1/s) H diag(1/s)"),
    "plateau_shape": (_shallow_bowl, None),
    "adam_is_correct": (_line_fact_only, None),
    "performance_profile": (_profile_over_own_best, "its own method's best"),
}


# the chapter "Second-order methods"

def _gradient_not_newton(f, grad, hess, theta, c1, shrink):
    return newton_backtracking_step(f, grad, lambda x: np.eye(len(x)), theta, c1, shrink)


def _unscaled_two_loop(g, pairs):
    q, alphas = g.copy(), []
    for s, y in pairs[::-1]:
        alphas.append(s @ q / (s @ y))
        q = q - alphas[-1] * y
    for (s, y), a in zip(pairs, alphas[::-1], strict=True):
        q = q + (a - y @ q / (s @ y)) * s
    return q


def _steepest_descent(A, b, steps):
    x = np.zeros(len(b))
    for _ in range(steps):
        r = b - A @ x
        x = x + (r @ r) / (r @ A @ r) * r
    return x


def _forward_hvp(grad, hvp, theta, v, h):
    product = (grad(theta + h * v) - grad(theta)) / h
    exact = hvp(theta, v)
    return product, np.linalg.norm(product - exact) / np.linalg.norm(exact)


WRONG.update({
    "newton_backtracking_step": (_gradient_not_newton, "that is gradient descent"),
    "lbfgs_two_loop": (_unscaled_two_loop, "scale it by gamma"),
    "conjugate_gradients": (_steepest_descent, "steepest-descent steps"),
    "hvp_error": (_forward_hvp, "forward difference"),
})


def test_every_exercise_has_a_right_and_a_wrong_answer_here():
    assert set(RIGHT) == set(EXERCISES)
    assert set(WRONG) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_right_answer_passes(name, capsys):
    assert check(name, RIGHT[name]) is None, "a check cell shows its verdict, not True"
    assert grade(name, RIGHT[name]).passed
    printed = capsys.readouterr().out
    assert printed.startswith(f"✓ {name}: correct")
    assert printed.count("\n") == 1, "one verdict, on one line"
    for case in EXERCISES[name].cases():
        assert case.label in printed


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_wrong_answer_is_reported_with_its_failing_case(name, capsys):
    wrong, hint_words = WRONG[name]
    assert check(name, wrong) is None, "a check cell shows its verdict, not False"
    printed = capsys.readouterr().out
    verdict = grade(name, wrong)
    assert verdict.status == "wrong"
    assert printed.strip() == verdict.message
    assert printed.startswith(f"✗ {name}: not right yet")
    assert f'"{verdict.case}"' in printed
    for part in ("input", "expected", "received", "Hint:"):
        assert part in printed
    if hint_words is not None:
        assert hint_words in printed
    else:
        assert EXERCISES[name].hint in printed


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_an_unanswered_exercise_says_so(name, capsys):
    def stub(*args):
        raise NotImplementedError()

    assert check(name, stub) is None
    assert "not answered yet" in capsys.readouterr().out
    assert grade(name, stub).status == "not answered"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_each_check_has_an_alias_with_the_same_verdict(name, capsys):
    alias = getattr(exercises, f"check_{name}")
    assert alias.__name__ == f"check_{name}"
    assert alias(RIGHT[name]) is None
    assert capsys.readouterr().out.startswith(f"✓ {name}: correct")


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_exercise_tries_several_cases(name):
    cases = EXERCISES[name].cases()
    assert len(cases) >= 4
    assert len({case.label for case in cases}) == len(cases)


def test_the_edge_cases_named_in_the_issue_are_tried():
    labels = {name: " ".join(case.label for case in exercise.cases())
              for name, exercise in EXERCISES.items()}
    assert "first step" in labels["adam_step"]
    assert "zero gradient" in labels["adam_step"]
    assert "zero gradient" in labels["gd_step"]
    assert "zero gradient" in labels["heavy_ball_step"]
    assert "gradient is zero" in labels["central_difference"]
    shapes = {np.shape(case.args["theta"]) for case in EXERCISES["adam_step"].cases()}
    assert len(shapes) >= 3
    assert "always zero" in labels["adagrad"] and "sparse" in labels["adagrad"]


def test_negative_beside_zero_curvature_is_not_called_a_saddle():
    def saddle_when_some_negative(H, tol):
        eigenvalues = np.linalg.eigvalsh(H)
        if eigenvalues[0] < -tol and eigenvalues[-1] > tol:
            return "saddle"
        if eigenvalues[0] < -tol and eigenvalues[-1] >= -tol:
            return "saddle"                      # lambda_min < 0 taken for a saddle
        return classify_critical_point(H, tol)

    verdict = grade("classify_critical_point", saddle_when_some_negative)
    assert verdict.status == "wrong" and "none positive" in verdict.message
    assert "undecided" in verdict.message


def test_an_exception_in_the_learners_code_is_one_line_not_a_traceback(capsys):
    def broken(theta, g, lr):
        return theta - lr * g.T @ np.ones((7, 7))

    check("gd_step", broken)
    printed = capsys.readouterr().out
    assert printed.startswith("✗ gd_step: your function raised ValueError:")
    assert "Traceback" not in printed


def test_changing_an_input_in_place_is_reported(capsys):
    check("adam_step", _in_place_adam)
    assert "changed its argument m in place" in capsys.readouterr().out


def _uphill_loop(grad, x0, lr, steps):
    xs = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] + lr * grad(xs[-1]))
    return np.array(xs)


def _appends_one_array(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    xs = [x.copy()]
    for _ in range(steps):
        x -= lr * grad(x)
        xs.append(x)
    return np.array(xs)


def _appends_one_array_from_the_start(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    xs = [x]
    for _ in range(steps):
        x -= lr * grad(x)
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("name, wrong, words", [
    ("gradient_descent", _uphill_loop, "uphill"),
    ("gradient_descent", _appends_one_array, "same array each step"),
    ("gradient_descent", _appends_one_array_from_the_start, "same array each step"),
    ("gd_step", lambda x, g, lr: x + lr * g, "uphill"),
])


def test_the_loops_typical_mistakes_get_their_own_hint(name, wrong, words):
    verdict = grade(name, wrong)
    assert verdict.status == "wrong"
    hint = verdict.message.partition("Hint: ")[2]
    assert words in hint and hint != EXERCISES[name].hint


def test_a_check_cell_shows_the_verdict_and_no_value(tmp_path):
    """Run as a notebook cell runs: the printed verdict is the only output."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("from optlib.exercises import check_gd_step"),
        new_code_cell("check_gd_step(lambda x, g, lr: x - lr * g)"),
        new_code_cell("check_gd_step(lambda x, g, lr: x + lr * g)"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell, verdict in zip(nb.cells[1:], ["✓ gd_step: correct", "✗ gd_step: not right yet"],
                             strict=True):
        assert [output.output_type for output in cell.outputs] == ["stream"]
        assert cell.outputs[0].name == "stdout"
        assert cell.outputs[0].text.startswith(verdict)
        assert cell.outputs[0].text.count(verdict) == 1


def test_a_missing_return_is_named():
    def forgot_return(theta, g, lr):
        theta - lr * g

    verdict = grade("gd_step", forgot_return)
    assert verdict.status == "wrong" and "return" in verdict.message


def test_a_value_instead_of_a_function_is_reported():
    verdict = grade("optimal_step", 0.25)
    assert verdict.status == "error" and "optimal_step(g, H)" in verdict.message


def test_an_endless_loop_is_stopped(monkeypatch):
    monkeypatch.setattr(exercises.grading, "TIME_LIMIT", 0.2)

    def endless(t, lr0, lr_tau, tau):
        while True:
            pass

    verdict = grade("linear_decay", endless)
    assert verdict.status == "error" and "did not finish" in verdict.message


def test_a_shuffle_from_numpys_global_state_is_caught():
    verdict = grade("minibatches", _global_shuffle)
    assert verdict.status == "wrong" and "global state" in verdict.message


def test_a_generator_that_never_ends_is_not_one_epoch():
    def forever(n_samples, batch_size, rng):
        while True:
            yield from minibatches(n_samples, batch_size, rng)

    verdict = grade("minibatches", forever)
    assert verdict.status == "wrong" and "batch sizes" in verdict.message


def test_unknown_exercise_names_are_a_clear_error():
    with pytest.raises(ValueError, match="unknown exercise 'adam'"):
        check("adam", adam_step)


def test_strict_mode_raises_for_autograding(monkeypatch, capsys):
    monkeypatch.setenv("OPTLIB_STRICT_CHECKS", "1")
    with pytest.raises(exercises.ExerciseFailed, match="not right yet"):
        check("gd_step", WRONG["gd_step"][0])
    assert check("gd_step", gd_step) is None
    monkeypatch.delenv("OPTLIB_STRICT_CHECKS")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(exercises.ExerciseFailed, match="not answered yet"):
        check("gd_step", lambda theta, g, lr: exec("raise NotImplementedError()"))
    assert check("gd_step", gd_step) is None, "nbgrader would read True as partial credit"
    assert "✓ gd_step: correct" in capsys.readouterr().out


def test_an_instructors_solution_that_fails_raises(tmp_path, capsys):
    source = tmp_path / "solution.py"
    source.write_text(
        "def gd_step(theta, g, lr):\n"
        "    ### BEGIN SOLUTION\n"
        "    return theta + lr * g\n"
        "    ### END SOLUTION\n"
    )
    namespace = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    with pytest.raises(exercises.ExerciseFailed):
        check("gd_step", namespace["gd_step"])


def test_catalogue_lists_every_signature():
    listing = exercises.catalogue()
    for exercise in EXERCISES.values():
        assert exercise.signature in listing


# ---------------------------------------------------------------- the references themselves


def test_the_best_fixed_step_contracts_at_the_stated_rate():
    from optlib import functions, minimize

    for name, case in [("kappa 10", np.diag([1.0, 10.0])), ("kappa 4", np.diag([2.0, 8.0]))]:
        eta, rate = exercises.gradient_descent._best_fixed_step(case)
        run = minimize(functions.quadratic(case), np.ones(2), "gd", lr=eta, steps=20, tol=0)
        norms = np.linalg.norm(run.history.x, axis=-1)
        np.testing.assert_allclose(norms[1:] / norms[:-1], rate, rtol=1e-9, err_msg=name)


def test_the_iteration_counts_are_not_a_rounding_accident():
    for case in EXERCISES["iterations_needed"].cases():
        kappa, delta = case.args["kappa"], case.args["delta"]
        rate, t = (kappa - 1) / (kappa + 1), case.expected
        assert rate**t <= delta
        if t > 0:
            assert rate ** (t - 1) > delta * (1 + 1e-6)


def test_the_backtracking_cases_are_clear_of_the_armijo_boundary():
    for case in EXERCISES["backtracking"].cases():
        a = case.args
        fx, slope = a["loss"](a["theta"]), a["grad"](a["theta"]) @ a["direction"]

        def margin(eta, a=a, fx=fx, slope=slope):
            return fx + a["c1"] * eta * slope - a["loss"](a["theta"] + eta * a["direction"])

        eta = case.expected
        assert margin(eta) > 1e-9 * max(1.0, abs(fx)), case.label
        if eta < a["lr0"]:
            assert margin(eta / a["shrink"]) < -1e-9 * max(1.0, abs(fx)), case.label


# ---------------------------------------------------------------- the initialization chapter's
# checks name more mistakes than one


@pytest.mark.parametrize("wrong, words", [
    (lambda shape, gain, rng: orthogonal_init(shape, 1.0, rng), "multiply Q by the gain"),
    (lambda shape, gain, rng: orthogonal_init(shape, gain, np.random.default_rng()),
     "draw every random number from the rng"),
    (lambda shape, gain, rng: gain * np.eye(*shape), "must be random"),
    (lambda shape, gain, rng: rng.standard_normal(shape), "orthonormal"),
])


def test_orthogonal_init_names_the_mistake(wrong, words):
    verdict = grade("orthogonal_init", wrong)
    assert verdict.status == "wrong" and words in verdict.message


@pytest.mark.parametrize("wrong, words", [
    (lambda grads, c: [np.clip(g, -c, c) for g in grads], "clipping by value"),
    (lambda grads, c: [g * (c / math.sqrt(sum(np.sum(h**2) for h in grads)))
                       for g in grads], "although the norm was below it"),
    (lambda grads, c: [g * min(1.0, c / sum(np.sum(h**2) for h in grads)) for g in grads],
     "square root"),
    (lambda grads, c: np.concatenate([np.ravel(g) for g in grads]), "return a list"),
])


def test_clip_global_norm_names_the_mistake(wrong, words):
    with np.errstate(all="ignore"):
        verdict = grade("clip_global_norm", wrong)
    assert verdict.status in ("wrong", "error") and words in verdict.message


def test_the_newton_backtracking_cases_are_clear_of_the_armijo_boundary():
    for case in EXERCISES["newton_backtracking_step"].cases():
        a = case.args
        theta, g = a["theta"], a["grad"](a["theta"])
        p = -np.linalg.solve(a["hess"](theta), g)
        fx = a["f"](theta)

        def margin(eta, a=a, theta=theta, p=p, fx=fx, slope=g @ p):
            return fx + a["c1"] * eta * slope - a["f"](theta + eta * p)

        eta = case.expected[1]
        assert margin(eta) > 1e-6 * max(1.0, abs(fx)), case.label
        if eta < 1:
            assert margin(eta / a["shrink"]) < -1e-6 * max(1.0, abs(fx)), case.label
