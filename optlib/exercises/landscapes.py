"""The checks of the chapter "Loss landscapes of neural networks"."""

from __future__ import annotations

import numpy as np

from .. import landscape
from .grading import Case, _Named, _spd, _symmetric_with, exercise

# ---------------------------------------------------------------- filter normalization


def _filters(shapes):
    """The stepped slices of each column of consecutive (fan_in, fan_out) matrices."""
    filters, start = [], 0
    for fan_in, fan_out in shapes:
        filters += [slice(start + j, start + fan_in * fan_out, fan_out) for j in range(fan_out)]
        start += fan_in * fan_out
    return filters


def _filter_normalized(direction, theta):
    """optlib's filter normalization of layers stored as (fan_in, fan_out) matrices."""
    shapes = [np.shape(W) for W in theta]
    flat = landscape.filter_normalize(np.concatenate([np.ravel(D) for D in direction]),
                                      np.concatenate([np.ravel(W) for W in theta]),
                                      blocks=_filters(shapes))
    pieces = np.split(flat, np.cumsum([a * b for a, b in shapes])[:-1])
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes, strict=True)]


def _by_rows(direction, theta):
    return [D * np.linalg.norm(W, axis=1, keepdims=True) / np.linalg.norm(D, axis=1,
                                                                           keepdims=True)
            for D, W in zip(direction, theta, strict=True)]


def _by_layers(direction, theta):
    return [D * np.linalg.norm(W) / np.linalg.norm(D) for D, W in zip(direction, theta,
                                                                        strict=True)]


def _unit_filters(direction, theta):
    return [D / np.linalg.norm(D, axis=0, keepdims=True) for D in direction]


def _judge_layers(expected, received):
    try:
        received = list(received)
    except TypeError:
        return f"a list of {len(expected)} arrays was expected, not {type(received).__name__}"
    if len(received) != len(expected):
        return f"return one array per layer, {len(expected)} of them, not {len(received)}"
    for index, (want, got) in enumerate(zip(expected, received, strict=True)):
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            return f"layer {index}: the shape should be {want.shape}, not {got.shape}"
        if not np.allclose(got, want, rtol=1e-10, atol=1e-12):
            return f"layer {index}: the values differ (by up to {np.max(np.abs(got - want)):.3g})"
    return None


@exercise(
    "filter_normalized", "filter_normalized(direction, theta) -> normalized",
    hint="in a weight matrix of shape (fan_in, fan_out) the filter of unit j is column j: "
         "rescale each column of the direction to the norm of the same column of theta, "
         "D[:, j] * |W[:, j]| / |D[:, j]|, layer by layer.",
    mistakes=[
        (lambda case: _by_rows(**case.args),
         "you normalized rows; here W has shape (fan_in, fan_out), so the weights into unit "
         "j (its filter) are column j."),
        (lambda case: _by_layers(**case.args),
         "you normalized each whole layer; filter normalization rescales every filter "
         "(column) on its own, so a layer with a few large units cannot hide the others."),
        (lambda case: _unit_filters(**case.args),
         "each filter of the direction must get the norm of the same filter of theta, "
         "not norm 1."),
    ],
)
def _filter_normalized_cases(rng):
    for label, shapes in [
        ("one layer of shape (3, 2)", [(3, 2)]),
        ("two layers, (4, 3) and (3, 2)", [(4, 3), (3, 2)]),
        ("a 64-16-10 network's two weight matrices", [(64, 16), (16, 10)]),
        ("filters of very different sizes", [(5, 4)]),
    ]:
        theta = [rng.normal(size=shape) for shape in shapes]
        if label.startswith("filters of very"):
            theta = [theta[0] * np.array([0.01, 1.0, 10.0, 100.0])]
        direction = [rng.normal(size=shape) for shape in shapes]
        yield Case(label, dict(direction=direction, theta=theta),
                   _filter_normalized(direction, theta), judge=_judge_layers)


# ---------------------------------------------------------------- lambda_max by power iteration


def _operator(H):
    return _Named(lambda v: H @ v, "hvp (v -> H v)")


def _plain_power(hvp, v0, steps):
    v = v0 / np.linalg.norm(v0)
    for _ in range(2 * steps):
        w = hvp(v)
        v = w / np.linalg.norm(w)
    return float(v @ hvp(v))


def _norm_ratio(hvp, v0, steps):
    v = v0 / np.linalg.norm(v0)
    for _ in range(2 * steps):
        w = hvp(v)
        v = w / np.linalg.norm(w)
    return float(np.linalg.norm(hvp(v)))


@exercise(
    "power_sharpness", "power_sharpness(hvp, v0, steps) -> lam_max",
    hint="run power iteration v <- Hv / |Hv| for `steps` steps and take mu = v'Hv: the "
         "eigenvalue of largest magnitude. If mu < 0, run it again on H - mu I (products "
         "hvp(v) - mu v), whose eigenvalues lambda_i - mu are all >= 0, and return its "
         "eigenvalue plus mu.",
    mistakes=[
        (lambda case: _plain_power(**case.args),
         "plain power iteration returns the eigenvalue of largest magnitude, here a "
         "negative one; shift by it (iterate with H - mu I) to reach lambda_max."),
        (lambda case: _norm_ratio(**case.args),
         "|Hv| is the magnitude |lambda| of the dominant eigenvalue, not lambda_max: take "
         "the Rayleigh quotient v'Hv, and shift when it is negative."),
    ],
    rtol=1e-6, atol=1e-9,
)
def _power_sharpness_cases(rng):
    for label, eigenvalues in [
        ("a positive definite H (a minimum): no shift needed", [0.5, 1.0, 4.0]),
        ("eigenvalues -5, 1 and 3: the largest in magnitude is negative", [-5.0, 1.0, 3.0]),
        ("a saddle with a large negative curvature, 6-D",
         [-8.0, -1.0, 0.1, 0.5, 1.0, 2.0]),
        ("a saddle whose lambda_max dominates", [-1.0, 0.2, 5.0]),
        ("every eigenvalue negative (a maximum): lambda_max < 0", [-4.0, -2.0, -0.5]),
    ]:
        H = _symmetric_with(rng, eigenvalues)
        v0 = rng.normal(size=len(eigenvalues))
        yield Case(label, dict(hvp=_operator(H), v0=v0, steps=400), float(max(eigenvalues)))


# ---------------------------------------------------------------- sharpness after a rescaling


def _rescaled_sharpness(H, scales):
    inverse = 1.0 / np.asarray(scales, dtype=float)
    return float(np.linalg.eigvalsh(inverse[:, None] * H * inverse[None, :])[-1])


def _scaled_up(H, scales):
    scales = np.asarray(scales, dtype=float)
    return float(np.linalg.eigvalsh(scales[:, None] * H * scales[None, :])[-1])


def _one_side(H, scales):
    inverse = 1.0 / np.asarray(scales, dtype=float)
    return float(np.max(np.linalg.eigvals(inverse[:, None] * H).real))


def _layer_scales(k, first, second):
    return np.concatenate([np.full(first, k), np.full(second, 1 / k)])


@exercise(
    "rescaled_sharpness", "rescaled_sharpness(H, scales) -> lam_max",
    hint="the rescaled loss is L'(theta') = L(theta' / s) with theta' = s * theta, so by the "
         "chain rule its Hessian is D^-1 H D^-1 with D = diag(s); return its largest "
         "eigenvalue (np.linalg.eigvalsh).",
    mistakes=[
        (lambda case: _scaled_up(**case.args),
         "theta' = s * theta means theta = theta' / s: the Hessian in theta' is "
         "diag(1/s) H diag(1/s), not diag(s) H diag(s)."),
        (lambda case: _one_side(**case.args),
         "the chain rule applies on both sides: H' = D^-1 H D^-1, a symmetric matrix."),
    ],
    rtol=1e-9, atol=1e-12,
)
def _rescaled_sharpness_cases(rng):
    for label, H, scales in [
        ("no rescaling (all scales 1)", _spd(rng, 4), np.ones(4)),
        ("layer 1 (3 parameters) times 10, layer 2 (2) times 1/10", _spd(rng, 5),
         _layer_scales(10.0, 3, 2)),
        ("layer 1 times 1/10, layer 2 times 10", _spd(rng, 5), _layer_scales(0.1, 3, 2)),
        ("a saddle's Hessian, layers times 3 and 1/3",
         _symmetric_with(rng, [2.0, -1.0, 0.5, 1.5]), _layer_scales(3.0, 2, 2)),
        ("one scale per parameter", _spd(rng, 4), np.exp(rng.normal(size=4))),
    ]:
        yield Case(label, dict(H=H, scales=scales), _rescaled_sharpness(H, scales))
