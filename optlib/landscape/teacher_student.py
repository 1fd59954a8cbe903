"""The population loss of a two-layer ReLU student learning a ReLU teacher from Gaussian
inputs, in closed form (Safran and Shamir 2018).

    f = relu_teacher_student(teacher_units=8, student_units=9)
    f.value(W)       # W of shape (..., student_units * teacher_units), one row per unit

References: I. Safran and O. Shamir, "Spurious local minima are common in two-layer
ReLU neural networks", ICML 2018; Y. Cho and L. K. Saul, "Kernel methods for deep
learning", NeurIPS 2009 (the arc-cosine kernel); A. Brutzkus and A. Globerson,
"Globally optimal gradient descent for a ConvNet with Gaussian inputs", ICML 2017.
"""

from __future__ import annotations

import numpy as np

from ..functions import Objective
from ._checks import _positive_int

__all__ = ["relu_kernel", "relu_teacher_student"]


def relu_kernel(A, B):
    """E[relu(a'x) relu(b'x)] for x ~ N(0, I), for every pair of rows a of A and b of B.

        k(a, b) = |a| |b| (sin phi + (pi - phi) cos phi) / (2 pi),

    phi the angle between a and b (the arc-cosine kernel of degree 1). A is
    (..., p, d), B is (..., q, d); the result is (..., p, q). A zero row gives 0.
    """
    norm_a = np.linalg.norm(A, axis=-1)[..., :, None]
    norm_b = np.linalg.norm(B, axis=-1)[..., None, :]
    cos, sin, phi = _angles(A, B, norm_a, norm_b)
    return norm_a * norm_b * (sin + (np.pi - phi) * cos) / (2 * np.pi)


def _angles(A, B, norm_a, norm_b):
    """cos, sin and the angle phi between rows, with phi = 0 exactly between a row and
    itself (where rounding would leave sin ~ 1e-8) and for zero rows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("...pd,...qd->...pq", A, B) / (norm_a * norm_b)
    cos = np.clip(np.nan_to_num(cos, nan=1.0), -1.0, 1.0)
    if A is B:
        diagonal = np.arange(A.shape[-2])
        cos[..., diagonal, diagonal] = 1.0
    return cos, np.sqrt(1.0 - cos**2), np.arccos(cos)


def _kernel_grad(A, B):
    """sum over the rows b of B of dk(a, b)/da, for every row a of A:

        dk(a, b)/da = (|b| sin phi a / |a| + (pi - phi) b) / (2 pi).
    """
    norm_a = np.linalg.norm(A, axis=-1)[..., :, None]
    norm_b = np.linalg.norm(B, axis=-1)[..., None, :]
    _, sin, phi = _angles(A, B, norm_a, norm_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_a = np.nan_to_num(A / norm_a)
    radial = np.sum(norm_b * sin, axis=-1)[..., None] * unit_a
    return (radial + (np.pi - phi) @ B) / (2 * np.pi)


def relu_teacher_student(teacher_units, student_units, h=1e-6):
    """The population loss of the student x -> sum_i relu(w_i'x) fitting the teacher
    x -> sum_j relu(v_j'x), v_j = e_j, with x ~ N(0, I) in d = teacher_units dimensions:

        L(W) = 1/2 E (sum_i relu(w_i'x) - sum_j relu(v_j'x))^2
             = 1/2 (sum_ii' k(w_i, w_i') - 2 sum_ij k(w_i, v_j) + sum_jj' k(v_j, v_j'))

    with k the ``relu_kernel``: no sampling, so a local minimum of L is a local
    minimum of the learning problem itself (Safran and Shamir 2018). The
    parameters are the student's rows w_i, flattened: dim = student_units *
    teacher_units. L = 0 exactly when the student's units are the teacher's
    (up to order, for student_units = teacher_units). The gradient is analytic;
    the Hessian (and hvp) are central differences of it with step ``h``.
    """
    k = _positive_int("teacher_units", teacher_units)
    n = _positive_int("student_units", student_units)
    teacher = np.eye(k)
    constant = float(relu_kernel(teacher, teacher).sum())

    def rows(w):
        return w.reshape(w.shape[:-1] + (n, k))

    def value(w):
        W = rows(w)
        V = np.broadcast_to(teacher, W.shape[:-2] + teacher.shape)
        return 0.5 * (relu_kernel(W, W).sum(axis=(-2, -1))
                      - 2 * relu_kernel(W, V).sum(axis=(-2, -1)) + constant)

    def grad(w):
        W = rows(w)
        V = np.broadcast_to(teacher, W.shape[:-2] + teacher.shape)
        return (_kernel_grad(W, W) - _kernel_grad(W, V)).reshape(w.shape)

    def hvp(w, v):
        w, v = np.broadcast_arrays(w, v)
        return (grad(w + h * v) - grad(w - h * v)) / (2 * h)

    def hess(w):
        eye = np.eye(n * k)
        columns = hvp(w[..., None, :], eye)
        hess = np.swapaxes(columns, -1, -2)
        return 0.5 * (hess + np.swapaxes(hess, -1, -2))

    minimum = np.zeros((n, k))
    minimum[:k] = teacher if n >= k else teacher[:n]
    return Objective(f"relu_teacher_student({k}, {n})", n * k, value, grad, hess, hvp,
                     x_star=minimum.reshape(-1) if n >= k else None,
                     f_star=0.0 if n >= k else None)
