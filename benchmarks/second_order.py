"""Second-order methods against SciPy, and Hessian-free at a million dimensions.

    python benchmarks/second_order.py            # both parts
    python benchmarks/second_order.py --quick    # a 100,000-dimensional Hessian-free problem

Part 1 prints, per problem, optlib's method and its SciPy counterpart (same
objective, analytic derivatives, same start) with iterations, evaluations of
f, gradient and Hessian (or Hessian-vector products), the final f, and
optlib's evaluations as a ratio of SciPy's. Pairs: newton / trust-ncg,
trust_region / trust-ncg (both Steihaug's truncated CG in a trust region),
bfgs / BFGS, lbfgs / L-BFGS-B, hessian_free / Newton-CG (both use
Hessian-vector products only). Tolerances: optlib ||grad f|| < 1e-6, SciPy its
defaults.

Part 2 runs hessian_free on L2-regularized logistic regression with a sparse
data matrix and 10^6 parameters (and on a separable quadratic of the same
size) to ||grad f|| <= 1e-6 ||grad f(x0)||, with the Hessian never formed, and
reports peak memory (tracemalloc, the data set excluded) as a multiple of one
parameter vector (goal: at most 10x).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.optimize
import scipy.sparse

import optlib as ol
import optlib.second_order  # noqa: F401  (registers the methods)
from optlib import functions as F

PAIRS = [("newton", "trust-ncg"), ("trust_region", "trust-ncg"), ("bfgs", "BFGS"),
         ("lbfgs", "L-BFGS-B"), ("hessian_free", "Newton-CG")]


def problems():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 50))
    y = (X @ rng.normal(size=50) + rng.normal(size=2000) > 0).astype(float)
    return [
        ("rosenbrock", F.rosenbrock(), np.array([-1.2, 1.0])),
        ("rosenbrock(100)", F.rosenbrock(100), np.tile([-1.2, 1.0], 50)),
        ("beale", F.beale(), np.array([1.0, 1.0])),
        ("ill_conditioned(1e4)", F.ill_conditioned(1e4), np.array([1.0, 1.0])),
        ("logistic(2000x50)", F.LogisticRegression(X, y, l2=1e-3), np.zeros(50)),
    ]


def scipy_minimize(f, x0, method):
    derivatives = {"trust-ncg": dict(hess=f.hess), "Newton-CG": dict(hessp=f.hvp)}
    return scipy.optimize.minimize(f.value, x0, method=method, jac=f.grad,
                                   **derivatives.get(method, {}))


def timed(run, repeat=1):
    """The result of ``run()`` and its best wall time over ``repeat`` runs."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return out, best


def compare_with_scipy():
    header = (f"{'problem':22s} {'method':13s} {'nit':>5s} {'nfev':>5s} {'ngev':>5s} "
              f"{'nhev':>5s} {'final f':>10s} {'nfev ratio':>10s} {'time ratio':>10s}")
    print(header)
    print("-" * len(header))
    for name, f, x0 in problems():
        for ours, theirs in PAIRS:
            res, t_ours = timed(lambda f=f, x0=x0, m=ours: ol.minimize(f, x0, m, steps=5000), 3)
            ref, t_ref = timed(lambda f=f, x0=x0, m=theirs: scipy_minimize(f, x0, m), 3)
            ref_nhev = getattr(ref, "nhev", 0)
            print(f"{name:22s} {ours:13s} {res.nit:5d} {res.nfev:5d} {res.ngev:5d} "
                  f"{res.nhev:5d} {res.fun:10.2e} {res.nfev / ref.nfev:10.2f} "
                  f"{t_ours / t_ref:10.2f}")
            print(f"{'':22s} {'scipy ' + theirs:13s} {ref.nit:5d} {ref.nfev:5d} "
                  f"{ref.njev:5d} {ref_nhev:5d} {ref.fun:10.2e}")
        print()
    print("rosenbrock(100) has a local minimum, f = 3.99, near (-1, 1, ..., 1); from this start")
    print("Newton's method ends there. Time ratios: best of 3 runs, optlib over SciPy.\n")


def sparse_logistic_regression(dim, n_samples, per_row, l2, seed=0):
    """Mean logistic loss + l2/2 |w|^2 with a sparse X (``per_row`` nonzeros a sample).

    Gradient X'(p - y)/n + l2 w; Hessian-vector product X'(p(1-p) * Xv)/n + l2 v.
    """
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_samples), per_row)
    cols = rng.integers(0, dim, size=n_samples * per_row)
    X = scipy.sparse.csr_matrix((rng.normal(size=rows.size), (rows, cols)),
                                shape=(n_samples, dim))
    w_true = rng.normal(size=dim) * (rng.uniform(size=dim) < 0.01)
    y = (X @ w_true + 0.1 * rng.normal(size=n_samples) > 0).astype(float)

    def value(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w))

    def grad(w):
        p = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
        g = X.T @ ((p - y) / n_samples)
        g += l2 * w
        return g

    def hvp(w, v):
        p = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
        out = X.T @ (p * (1 - p) * (X @ v) / n_samples)
        out += l2 * v
        return out

    def never(w):
        raise RuntimeError("the Hessian of a million-parameter model is never formed")

    return F.Objective(f"sparse_logistic({n_samples}x{dim})", dim, value, grad, never, hvp)


def separable_quadratic(dim, kappa=1e3):
    """1/2 sum_i a_i (x_i - c_i)^2 with a_i geometric from 1 to kappa."""
    a, c = np.geomspace(1.0, kappa, dim), np.linspace(-1.0, 1.0, dim)

    def never(x):
        raise RuntimeError("the Hessian is never formed")

    return F.Objective(f"separable_quadratic({dim})", dim,
                       lambda x: 0.5 * np.sum(a * (x - c) ** 2, axis=-1),
                       lambda x: a * (x - c), never, lambda x, v: a * v)


def hessian_free_at_scale(dim):
    print(f"hessian_free at dim = {dim:,}: peak memory beyond the data, in parameter vectors")
    header = (f"{'problem':36s} {'nit':>4s} {'nhev':>5s} {'|g|/|g0|':>9s} {'status':>10s} "
              f"{'seconds':>8s} {'peak / |x|':>10s}")
    print(header)
    print("-" * len(header))
    cases = [
        (sparse_logistic_regression(dim, n_samples=dim // 20, per_row=20, l2=1e-4), 1.0),
        (separable_quadratic(dim), 1e-2),
    ]
    for f, damping in cases:
        x0 = np.zeros(dim)
        g0 = float(np.linalg.norm(f.grad(x0)))
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        res, seconds = timed(lambda f=f, x0=x0, tol=1e-6 * g0, d=damping: ol.minimize(
            f, x0, "hessian_free", tol=tol, damping=d, steps=500, record_x=False))
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
        print(f"{f.name:36s} {res.nit:4d} {res.nhev:5d} {res.history.grad_norm[-1] / g0:9.1e} "
              f"{res.status:>10s} {seconds:8.1f} {peak / x0.nbytes:10.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 instead of 10^6 parameters")
    args = parser.parse_args()
    compare_with_scipy()
    hessian_free_at_scale(100_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
