"""Objectives: test functions and finite-sum losses with analytic derivatives.

Every method is vectorized over leading axes: a point has shape ``(..., dim)``,
so a contour grid of shape ``(ny, nx, 2)`` or a batch of trajectories of shape
``(B, dim)`` is evaluated in one call.

>>> f = rosenbrock()
>>> f.value(np.zeros((5, 2))).shape
(5,)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Objective",
    "FiniteSum",
    "LeastSquares",
    "LogisticRegression",
    "quadratic",
    "ill_conditioned",
    "rosenbrock",
    "beale",
    "himmelblau",
    "saddle",
    "monkey_saddle",
    "six_hump_camel",
    "rastrigin",
    "lessard_recht_packard",
    "nesterov_worst_case",
    "check_grad",
    "inner",
]


@dataclass(frozen=True)
class Objective:
    """A smooth function f: R^dim -> R with its gradient and Hessian.

    ``value(x)`` has shape ``x.shape[:-1]``, ``grad(x)`` the shape of ``x``,
    ``hess(x)`` shape ``x.shape + (dim,)``; ``hvp(x, v) = H(x) v`` (computed
    from ``hess`` unless a cheaper rule is given). ``x_star`` is one global
    minimizer, ``minima`` all known local minimizers (one per row), ``domain``
    the box ``((lo, hi), ...)`` that plots show. ``smoothness`` and
    ``strong_convexity``, where known, bound every eigenvalue of every Hessian:
    strong_convexity <= lambda_i(H(x)) <= smoothness (strong_convexity = 0 for a
    convex f that is not strongly convex).
    """

    name: str
    dim: int
    _value: Callable = field(repr=False)
    _grad: Callable = field(repr=False)
    _hess: Callable = field(repr=False)
    _hvp: Callable | None = field(default=None, repr=False)
    x_star: np.ndarray | None = None
    f_star: float | None = None
    minima: np.ndarray | None = None
    domain: tuple | None = None
    smoothness: float | None = None
    strong_convexity: float | None = None

    def _point(self, x, argument="x"):
        x = np.asarray(x, dtype=float)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{argument} must have shape (..., {self.dim}) for {self.name}, got {x.shape}"
            )
        return x

    def value(self, x):
        """f(x), shape ``x.shape[:-1]``."""
        return self._value(self._point(x))

    def grad(self, x):
        """The gradient, the vector of partial derivatives df/dx_i."""
        return self._grad(self._point(x))

    def hess(self, x):
        """The Hessian H_ij = d^2 f / dx_i dx_j, shape ``x.shape + (dim,)``."""
        return self._hess(self._point(x))

    def hvp(self, x, v):
        """The Hessian-vector product H(x) v."""
        x, v = self._point(x), self._point(v, "v")
        if self._hvp is not None:
            return self._hvp(x, v)
        return np.einsum("...ij,...j->...i", self._hess(x), v)


def inner(u, v):
    """u'v over the last axis, batched over the leading ones: shape ``u.shape[:-1]``."""
    return (u * v) @ np.ones(u.shape[-1])


def _components(x):
    return x[..., 0], x[..., 1]


def _stack_grad(*parts):
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


def _stack_hess(hxx, hxy, hyy):
    hxx, hxy, hyy = np.broadcast_arrays(hxx, hxy, hyy)
    return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)


def quadratic(A, b=None, name="quadratic"):
    """f(x) = 1/2 x'Ax - b'x, with gradient Ax - b and Hessian A.

    ``A`` must be square and symmetric. When A is positive definite the
    minimizer is x* = A^{-1} b. The smoothness constant is the largest |eigenvalue|
    of A, the strong-convexity constant its smallest eigenvalue (None when
    that is negative).
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    dim = A.shape[0]
    b = np.zeros(dim) if b is None else np.asarray(b, dtype=float)
    if b.shape != (dim,):
        raise ValueError(f"b must have shape ({dim},), got {b.shape}")
    x_star = f_star = minima = None
    eigenvalues = np.linalg.eigvalsh(A)
    if np.all(eigenvalues > 0):
        x_star = np.linalg.solve(A, b)
        f_star = float(-0.5 * b @ x_star)
        minima = x_star[None]
    radius = 1.5 * max(1.0, float(np.abs(x_star).max()) if x_star is not None else 1.0)
    center = np.zeros(dim) if x_star is None else x_star
    return Objective(
        name=name,
        dim=dim,
        _value=lambda x: 0.5 * inner(x @ A, x) - x @ b,
        _grad=lambda x: x @ A - b,
        _hess=lambda x: np.broadcast_to(A, x.shape + (dim,)).copy(),
        _hvp=lambda x, v: v @ A,
        x_star=x_star,
        f_star=f_star,
        minima=minima,
        domain=tuple((c - radius, c + radius) for c in center),
        smoothness=float(np.abs(eigenvalues).max()),
        strong_convexity=float(eigenvalues[0]) if eigenvalues[0] >= 0 else None,
    )


def ill_conditioned(kappa, dim=2, angle=0.0):
    """A quadratic 1/2 x'Ax with eigenvalues geometric from 1 to ``kappa``.

    The condition number is lambda_max / lambda_min = kappa. ``angle``
    (radians) rotates the eigenvectors in the first two coordinates, so the
    valley need not be aligned with an axis.
    """
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa}")
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    eigenvalues = np.geomspace(1.0, kappa, int(dim))
    Q = np.eye(int(dim))
    if dim >= 2:
        c, s = np.cos(angle), np.sin(angle)
        Q[:2, :2] = [[c, -s], [s, c]]
    A = Q @ np.diag(eigenvalues) @ Q.T
    return quadratic((A + A.T) / 2, name=f"ill_conditioned(kappa={kappa:g})")


def rosenbrock(dim=2, a=1.0, b=100.0):
    """f(x) = sum_i b (x_{i+1} - x_i^2)^2 + (a - x_i)^2, minimum 0 at (a, ..., a)."""
    if int(dim) != dim or dim < 2:
        raise ValueError(f"dim must be an integer >= 2, got {dim}")
    dim = int(dim)

    def value(x):
        head, tail = x[..., :-1], x[..., 1:]
        return np.sum(b * (tail - head**2) ** 2 + (a - head) ** 2, axis=-1)

    def grad(x):
        head, tail = x[..., :-1], x[..., 1:]
        inner = tail - head**2
        g = np.zeros_like(x)
        g[..., :-1] = -4 * b * head * inner - 2 * (a - head)
        g[..., 1:] += 2 * b * inner
        return g

    def hess(x):
        head, tail = x[..., :-1], x[..., 1:]
        H = np.zeros(x.shape + (dim,))
        i = np.arange(dim - 1)
        H[..., i, i] = 12 * b * head**2 - 4 * b * tail + 2
        H[..., i + 1, i + 1] += 2 * b
        H[..., i, i + 1] = H[..., i + 1, i] = -4 * b * head
        return H

    def hvp(x, v):
        head, tail = x[..., :-1], x[..., 1:]
        out = np.zeros_like(x)
        out[..., :-1] = (12 * b * head**2 - 4 * b * tail + 2) * v[..., :-1] - 4 * b * head * v[
            ..., 1:
        ]
        out[..., 1:] += 2 * b * v[..., 1:] - 4 * b * head * v[..., :-1]
        return out

    x_star = np.full(dim, a)
    return Objective(
        "rosenbrock" if dim == 2 else f"rosenbrock({dim})",
        dim, value, grad, hess, hvp,
        x_star=x_star, f_star=0.0, minima=x_star[None],
        domain=((-2.0, 2.0), (-1.0, 3.0)) + ((-2.0, 2.0),) * (dim - 2),
    )


def beale():
    """Beale's function sum_k (c_k - x + x y^k)^2, c = (1.5, 2.25, 2.625); minimum 0 at (3, 1/2)"""
    c = (1.5, 2.25, 2.625)

    def terms(x):
        u, v = _components(x)
        for k, ck in enumerate(c, start=1):
            r = ck - u + u * v**k
            dr_du = v**k - 1
            dr_dv = k * u * v ** (k - 1)
            d2r_dudv = k * v ** (k - 1)
            d2r_dv2 = k * (k - 1) * u * v ** (k - 2) if k >= 2 else 0.0 * u
            yield r, dr_du, dr_dv, d2r_dudv, d2r_dv2

    def value(x):
        return sum(r**2 for r, *_ in terms(x))

    def grad(x):
        gu = gv = 0.0
        for r, ru, rv, _, _ in terms(x):
            gu, gv = gu + 2 * r * ru, gv + 2 * r * rv
        return _stack_grad(gu, gv)

    def hess(x):
        huu = huv = hvv = 0.0
        for r, ru, rv, ruv, rvv in terms(x):
            huu = huu + 2 * ru**2
            huv = huv + 2 * (ru * rv + r * ruv)
            hvv = hvv + 2 * (rv**2 + r * rvv)
        return _stack_hess(huu, huv, hvv)

    x_star = np.array([3.0, 0.5])
    return Objective("beale", 2, value, grad, hess, x_star=x_star, f_star=0.0,
                     minima=x_star[None], domain=((-4.5, 4.5), (-4.5, 4.5)))


def himmelblau():
    """Himmelblau's function (x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima, all with f = 0."""

    def value(x):
        u, v = _components(x)
        return (u**2 + v - 11) ** 2 + (u + v**2 - 7) ** 2

    def grad(x):
        u, v = _components(x)
        p, q = u**2 + v - 11, u + v**2 - 7
        return _stack_grad(4 * u * p + 2 * q, 2 * p + 4 * v * q)

    def hess(x):
        u, v = _components(x)
        p, q = u**2 + v - 11, u + v**2 - 7
        return _stack_hess(8 * u**2 + 4 * p + 2, 4 * u + 4 * v, 2 + 8 * v**2 + 4 * q)

    minima = _polish_minima(
        grad, hess,
        [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]],
    )
    return Objective("himmelblau", 2, value, grad, hess, x_star=minima[0], f_star=0.0,
                     minima=minima, domain=((-5.0, 5.0), (-5.0, 5.0)))


def saddle():
    """f(x, y) = x^2 - y^2: a strict saddle at the origin, unbounded below."""
    H = np.diag([2.0, -2.0])
    f = quadratic(H, name="saddle")
    return Objective("saddle", 2, f._value, f._grad, f._hess, f._hvp,
                     domain=((-2.0, 2.0), (-2.0, 2.0)))


def monkey_saddle():
    """f(x, y) = x^3 - 3 x y^2: a degenerate critical point (H = 0) at the origin."""

    def value(x):
        u, v = _components(x)
        return u**3 - 3 * u * v**2

    def grad(x):
        u, v = _components(x)
        return _stack_grad(3 * u**2 - 3 * v**2, -6 * u * v)

    def hess(x):
        u, v = _components(x)
        return _stack_hess(6 * u, -6 * v, -6 * u)

    return Objective("monkey_saddle", 2, value, grad, hess, domain=((-1.5, 1.5), (-1.5, 1.5)))


def six_hump_camel():
    """(4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2: six local minima, two global."""

    def value(x):
        u, v = _components(x)
        return (4 - 2.1 * u**2 + u**4 / 3) * u**2 + u * v + (-4 + 4 * v**2) * v**2

    def grad(x):
        u, v = _components(x)
        return _stack_grad(8 * u - 8.4 * u**3 + 2 * u**5 + v, u - 8 * v + 16 * v**3)

    def hess(x):
        u, v = _components(x)
        return _stack_hess(8 - 25.2 * u**2 + 10 * u**4, 1.0, -8 + 48 * v**2)

    minima = _polish_minima(
        grad, hess,
        [[0.0898, -0.7126], [-0.0898, 0.7126], [-1.7036, 0.7961], [1.7036, -0.7961],
         [-1.6071, -0.5687], [1.6071, 0.5687]],
    )
    return Objective("six_hump_camel", 2, value, grad, hess, x_star=minima[0],
                     f_star=float(value(minima[0])), minima=minima,
                     domain=((-2.0, 2.0), (-1.2, 1.2)))


def rastrigin(dim=2, A=10.0):
    """f(x) = A n + sum_i (x_i^2 - A cos(2 pi x_i)): a grid of local minima, global 0 at 0."""
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    dim = int(dim)

    def value(x):
        return A * dim + np.sum(x**2 - A * np.cos(2 * np.pi * x), axis=-1)

    def grad(x):
        return 2 * x + 2 * np.pi * A * np.sin(2 * np.pi * x)

    def hess(x):
        diagonal = 2 + 4 * np.pi**2 * A * np.cos(2 * np.pi * x)
        return diagonal[..., None] * np.eye(dim)

    def hvp(x, v):
        return (2 + 4 * np.pi**2 * A * np.cos(2 * np.pi * x)) * v

    x_star = np.zeros(dim)
    return Objective("rastrigin", dim, value, grad, hess, hvp, x_star=x_star, f_star=0.0,
                     minima=x_star[None], domain=((-5.12, 5.12),) * dim)


def lessard_recht_packard():
    """The smooth, strongly convex function of Lessard, Recht and Packard (2016, sec. 4.6).

        f(x) = 25 x^2 / 2             for x < 1,
               x^2 / 2 + 24 x - 12    for 1 <= x < 2,
               25 x^2 / 2 - 24 x + 36 for x >= 2,

    one-dimensional, with f'' in {1, 25}: smoothness 25, strong convexity 1,
    kappa = 25, minimum 0 at 0. Heavy ball tuned for the quadratics of that
    kappa (eta = 1/9, beta = 4/9) cycles on it from some starts.
    """

    def value(x):
        u = x[..., 0]
        return np.where(u < 1, 12.5 * u**2,
                        np.where(u < 2, 0.5 * u**2 + 24 * u - 12, 12.5 * u**2 - 24 * u + 36))

    def grad(x):
        return np.where(x < 1, 25 * x, np.where(x < 2, x + 24, 25 * x - 24))

    def hess(x):
        return np.where(x < 1, 25.0, np.where(x < 2, 1.0, 25.0))[..., None]

    return Objective("lessard_recht_packard", 1, value, grad, hess, x_star=np.zeros(1),
                     f_star=0.0, minima=np.zeros((1, 1)), domain=((-3.0, 4.0),),
                     smoothness=25.0, strong_convexity=1.0)


def _second_difference(x):
    """A x for the tridiagonal A = tridiag(-1, 2, -1), along the last axis."""
    out = 2 * x
    out[..., 1:] -= x[..., :-1]
    out[..., :-1] -= x[..., 1:]
    return out


def nesterov_worst_case(dim, smoothness=1.0):
    """Nesterov's (2004, sec. 2.1.2) worst smooth convex quadratic in ``dim`` dimensions.

        f(x) = smoothness/4 [ (x_1^2 + sum_{i<d} (x_i - x_{i+1})^2 + x_d^2) / 2 - x_1 ],

    a quadratic 1/2 x'Hx - b'x with H = smoothness/4 tridiag(-1, 2, -1) and
    b = smoothness/4 e_1. Its minimizer is x*_i = 1 - i/(d+1), f* = smoothness/8
    (1/(d+1) - 1). Every eigenvalue of H, smoothness sin^2(k pi / (2(d+1))),
    lies in (0, smoothness); the smallest is the strong-convexity constant.
    From x_0 = 0 the t-th iterate of any method that steps along past
    gradients has zeros beyond coordinate t: the lower bound of first-order
    methods rests on this.
    """
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if not np.isfinite(smoothness) or smoothness <= 0:
        raise ValueError(f"smoothness must be a finite number > 0, got {smoothness!r}")
    d, scale = int(dim), smoothness / 4

    def grad(x):
        g = scale * _second_difference(x)
        g[..., 0] -= scale
        return g

    def value(x):
        return 0.5 * inner(x, scale * _second_difference(x)) - scale * x[..., 0]

    H = scale * (2 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1))
    x_star = 1 - np.arange(1, d + 1) / (d + 1)
    return Objective(
        f"nesterov_worst_case({d})", d, value, grad,
        lambda x: np.broadcast_to(H, x.shape + (d,)).copy(),
        lambda x, v: scale * _second_difference(v),
        x_star=x_star, f_star=smoothness / 8 * (1 / (d + 1) - 1), minima=x_star[None],
        domain=((-0.5, 1.5),) * d, smoothness=float(smoothness),
        strong_convexity=float(smoothness * np.sin(np.pi / (2 * (d + 1))) ** 2),
    )


def _polish_minima(grad, hess, guesses, iterations=20):
    """Newton's iteration x <- x - H^{-1} g from rounded literature values, to machine precision."""
    x = np.array(guesses, dtype=float)
    for _ in range(iterations):
        x = x - np.linalg.solve(hess(x), grad(x)[..., None])[..., 0]
    return x


class FiniteSum(Objective):
    """An average of per-sample losses, f(x) = 1/n sum_i l_i(x), with mini-batch gradients.

    ``value(x, batch=idx)`` and ``grad(x, batch=idx)`` average over the samples
    in ``idx`` only: an unbiased estimate of the full value and gradient when
    ``idx`` is drawn uniformly.
    """

    def __init__(self, name, X, y):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        super().__init__(name, X.shape[1], self._full_value, self._full_grad, self._full_hess,
                         self._full_hvp)

    @property
    def n_samples(self):
        return self.X.shape[0]

    def _rows(self, batch):
        if batch is None:
            return self.X, self.y
        batch = np.asarray(batch)
        if batch.ndim != 1 or batch.size == 0:
            raise ValueError("batch must be a non-empty 1-D array of sample indices")
        return self.X[batch], self.y[batch]

    def value(self, x, batch=None):
        return self.loss(self._point(x), *self._rows(batch))

    def grad(self, x, batch=None):
        return self.loss_grad(self._point(x), *self._rows(batch))

    def _full_value(self, x):
        return self.loss(x, self.X, self.y)

    def _full_grad(self, x):
        return self.loss_grad(x, self.X, self.y)

    def _full_hess(self, x):
        return self.loss_hess(x, self.X, self.y)

    def _full_hvp(self, x, v):
        return self.loss_hvp(x, v, self.X, self.y)


class LeastSquares(FiniteSum):
    """f(w) = 1/(2n) ||X w - y||^2, gradient X'(Xw - y)/n, Hessian X'X/n."""

    def __init__(self, X, y):
        super().__init__("least_squares", X, y)
        w_star, *_ = np.linalg.lstsq(self.X, self.y, rcond=None)
        object.__setattr__(self, "x_star", w_star)
        object.__setattr__(self, "f_star", float(self.loss(w_star, self.X, self.y)))
        object.__setattr__(self, "minima", w_star[None])
        object.__setattr__(self, "domain", tuple((w - 2.0, w + 2.0) for w in w_star))

    @staticmethod
    def loss(w, X, y):
        residual = w @ X.T - y
        return 0.5 * np.mean(residual**2, axis=-1)

    @staticmethod
    def loss_grad(w, X, y):
        return (w @ X.T - y) @ X / X.shape[0]

    @staticmethod
    def loss_hess(w, X, y):
        return np.broadcast_to(X.T @ X / X.shape[0], w.shape + (X.shape[1],)).copy()

    @staticmethod
    def loss_hvp(w, v, X, y):
        return (v @ X.T) @ X / X.shape[0]


class LogisticRegression(FiniteSum):
    """Mean logistic loss with labels y in {0, 1} and an L2 penalty.

    f(w) = 1/n sum_i [log(1 + exp(x_i'w)) - y_i x_i'w] + l2/2 ||w||^2,
    gradient X'(sigma(Xw) - y)/n + l2 w, Hessian X' diag(p(1-p)) X / n + l2 I.
    """

    def __init__(self, X, y, l2=0.0):
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
        super().__init__("logistic_regression", X, y)
        if not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("y must hold labels 0 and 1")
        object.__setattr__(self, "l2", float(l2))
        object.__setattr__(self, "domain", ((-4.0, 4.0),) * self.dim)

    def loss(self, w, X, y):
        z = w @ X.T
        return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1) + 0.5 * self.l2 * np.sum(w**2, -1)

    def loss_grad(self, w, X, y):
        p = _sigmoid(w @ X.T)
        return (p - y) @ X / X.shape[0] + self.l2 * w

    def loss_hess(self, w, X, y):
        p = _sigmoid(w @ X.T)
        weights = p * (1 - p) / X.shape[0]
        return np.einsum("...n,ni,nj->...ij", weights, X, X) + self.l2 * np.eye(X.shape[1])

    def loss_hvp(self, w, v, X, y):
        p = _sigmoid(w @ X.T)
        return (p * (1 - p) * (v @ X.T)) @ X / X.shape[0] + self.l2 * v


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def check_grad(f, x, h=1e-6):
    """Max error of ``f.grad(x)`` against central differences (f(x+h e_i) - f(x-h e_i)) / 2h.

    The error of each component is relative where the gradient is large and
    absolute where it is small: |g_i - d_i| / max(1, |g_i|, |d_i|).
    """
    x = f._point(x)
    g = f.grad(x)
    steps = h * np.eye(f.dim)
    d = np.stack(
        [(f.value(x + e) - f.value(x - e)) / (2 * h) for e in steps], axis=-1
    )
    return float(np.max(np.abs(g - d) / np.maximum(1.0, np.maximum(np.abs(g), np.abs(d)))))
