"""The checks of the chapter "Initialization, depth and gradient clipping"."""

from __future__ import annotations

import math

import numpy as np

from ..optimizers import clip_by_global_norm
from .grading import Case, _Description, _Seed, exercise

# ---------------------------------------------------------------- an orthogonal initializer

#: Draws of a 3 x 3 matrix in the check of uniformity; W[0, 0] > 0 in half of them for a
#: uniformly distributed Q: 4 standard errors of 400 draws are 0.1 around 1/2.
DRAWS = 400


def _orthogonality_error(W, gain):
    """max |W W' - gain^2 I| (rows, for fan_in <= fan_out) or |W' W - gain^2 I| (columns)."""
    gram = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
    return float(np.max(np.abs(gram - gain**2 * np.eye(gram.shape[0]))))


def _judge_orthogonal(shape, gain):
    def judge(expected, W):
        if not isinstance(W, np.ndarray) or W.shape != tuple(shape):
            got = getattr(W, "shape", type(W).__name__)
            return f"return an array of shape {tuple(shape)}, not {got}"
        error = _orthogonality_error(W, gain)
        if not error <= 1e-10 * max(gain**2, 1.0):
            which = "W W'" if shape[0] <= shape[1] else "W' W"
            if _orthogonality_error(W, 1.0) <= 1e-10:
                return f"{which} is the identity: multiply Q by the gain {gain:g}"
            return (f"{which} should be gain^2 I = {gain**2:g} I but differs by up to "
                    f"{error:.3g}: the fewer of rows and columns must be orthonormal")
        return None
    return judge


def _call_once(shape, gain, seed):
    def call(learner, args):
        return learner(shape, gain, np.random.default_rng(seed))
    return call


def _same_seed_same_matrix(learner, args):
    first = learner((4, 4), 1.0, np.random.default_rng(5))
    again = learner((4, 4), 1.0, np.random.default_rng(5))
    other = learner((4, 4), 1.0, np.random.default_rng(6))
    return first, again, other


def _judge_seeds(expected, received):
    first, again, other = (np.asarray(W, dtype=float) for W in received)
    if not np.array_equal(first, again):
        return ("two calls with np.random.default_rng(5) gave different matrices: draw every "
                "random number from the rng you are given")
    if np.allclose(first, other):
        return ("np.random.default_rng(5) and (6) gave the same matrix: the matrix must be "
                "random, drawn from rng")
    return None


def _first_entries(learner, args):
    rng = np.random.default_rng(7)
    return np.array([learner((3, 3), 1.0, rng)[0, 0] for _ in range(DRAWS)])


def _judge_uniform(expected, first):
    positive = float(np.mean(np.asarray(first) > 0))
    if abs(positive - 0.5) > 0.1:
        return (f"W[0, 0] was positive in {positive:.0%} of {DRAWS} draws, not about half: "
                "Q from np.linalg.qr is not uniformly distributed until each column is "
                "multiplied by the sign of R's diagonal entry")
    return None


@exercise(
    "orthogonal_init", "orthogonal_init(shape, gain, rng) -> W",
    hint="draw a Gaussian matrix of shape (max(shape), min(shape)) from rng, take Q, R = "
         "np.linalg.qr of it, multiply Q's columns by np.sign(np.diag(R)), transpose Q when "
         "shape[0] < shape[1], and multiply by the gain.",
)
def _orthogonal_cases(rng):
    for label, shape, gain in [
        ("a square 4 x 4, gain 1: W' W = I", (4, 4), 1.0),
        ("fan_in < fan_out, 3 x 5 and gain sqrt 2: orthonormal rows, W W' = 2 I", (3, 5),
         math.sqrt(2)),
        ("fan_in > fan_out, 6 x 2: orthonormal columns", (6, 2), 1.0),
        ("64 x 64 with gain 0.5", (64, 64), 0.5),
    ]:
        yield Case(label, dict(shape=shape, gain=gain, rng=_Seed(1)),
                   _Description(f"a {shape[0]} x {shape[1]} matrix with every singular value "
                                f"{gain:.4g}"),
                   call=_call_once(shape, gain, 1), judge=_judge_orthogonal(shape, gain))
    yield Case("np.random.default_rng(5) twice gives the same matrix, (6) another",
               dict(shape=(4, 4), gain=1.0, rng=_Seed(5)),
               _Description("the same matrix for the same seed"), call=_same_seed_same_matrix,
               judge=_judge_seeds)
    yield Case(f"{DRAWS} draws of a 3 x 3: W[0, 0] > 0 about half the time (uniform Q)",
               dict(shape=(3, 3), gain=1.0, rng=_Seed(7)),
               _Description("a fraction within 0.1 of 1/2"), call=_first_entries,
               judge=_judge_uniform)


# ---------------------------------------------------------------- clipping by the global norm


def _clip_global(grads, max_norm):
    """optlib's clip_by_global_norm on the concatenated gradients, cut back into pieces."""
    flat = np.concatenate([np.ravel(g) for g in grads])
    tx = clip_by_global_norm(max_norm)
    clipped, _ = tx.update(flat, tx.init(flat), flat)
    pieces = np.split(clipped, np.cumsum([np.size(g) for g in grads])[:-1])
    return [piece.reshape(np.shape(g)) for piece, g in zip(pieces, grads, strict=True)]


def _each_on_its_own(grads, max_norm):
    return [_clip_global([g], max_norm)[0] for g in grads]


def _norm(grads):
    return np.sqrt(np.float64(sum(float(np.sum(np.square(g))) for g in grads)))


def _always_rescaled(grads, max_norm):
    return [g * (max_norm / _norm(grads)) for g in grads]


def _by_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def _squared_norm(grads, max_norm):
    return [g * min(1.0, max_norm / _norm(grads) ** 2) for g in grads]


_CLIPPING_MISTAKES = (
    (_each_on_its_own, "you clipped each array to the threshold on its own: the global "
     "norm is the norm of all the gradients together, sqrt(sum over arrays of sum g^2), and "
     "one factor min(1, max_norm / norm) scales every array"),
    (_always_rescaled, "you rescaled to norm max_norm although the norm was below it: "
     "clipping leaves a gradient whose norm is at most max_norm unchanged"),
    (_by_value, "you clipped every entry to [-max_norm, max_norm]: that is clipping by "
     "value, which changes the direction; clip the norm"),
    (_squared_norm, "you compared the squared norm with max_norm: take its square root"),
)


def _judge_clipping(grads, max_norm):
    def agrees(want, got):
        return len(got) == len(want) and all(
            np.shape(g) == np.shape(w) and np.allclose(g, w, rtol=1e-9, atol=1e-15)
            for w, g in zip(want, got, strict=True))

    def judge(expected, received):
        if not isinstance(received, (list, tuple)):
            return f"return a list of {len(grads)} arrays, one per gradient, not " \
                   f"{type(received).__name__}"
        received = [np.asarray(g, dtype=float) for g in received]
        if agrees(expected, received):
            return None
        with np.errstate(all="ignore"):     # the mistakes may divide by a zero norm
            for mistake, why in _CLIPPING_MISTAKES:
                if agrees(mistake(grads, max_norm), received):
                    return why
        return "the arrays differ from optlib's clip_by_global_norm on the concatenated " \
               "gradients"
    return judge


@exercise(
    "clip_global_norm", "clip_global_norm(grads, max_norm) -> clipped",
    hint="norm = sqrt(sum of np.sum(g**2) over the arrays); return [g * min(1, max_norm / "
         "norm) for g in grads] (and the gradients unchanged when the norm is 0).",
)
def _clipping_cases(rng):
    layers = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2))]
    for label, grads, max_norm in [
        ("three arrays (a network's W1, b1, W2), norm about 4, threshold 1", layers, 1.0),
        ("the same arrays, threshold 10: below it, nothing changes", layers, 10.0),
        ("one array with norm 5 = 3^2 + 4^2 under a root, threshold 2.5",
         [np.array([3.0, 4.0])], 2.5),
        ("every gradient zero: no division by zero", [np.zeros((2, 2)), np.zeros(3)], 1.0),
        ("a huge gradient, norm 1e12, threshold 0.1", [1e12 * rng.normal(size=(5,))], 0.1),
    ]:
        yield Case(label, dict(grads=grads, max_norm=max_norm), _clip_global(grads, max_norm),
                   judge=_judge_clipping(grads, max_norm))


# ---------------------------------------------------------------- a gradient through random layers


def _backprop_norms(weights, g):
    norms = [float(np.linalg.norm(g))]
    for W in reversed(weights):
        g = g @ np.asarray(W).T
        norms.append(float(np.linalg.norm(g)))
    return np.array(norms)


def _forward_order(case):
    return _backprop_norms(case.args["weights"], case.args["g"])[::-1]


def _without_start(case):
    return _backprop_norms(case.args["weights"], case.args["g"])[1:]


def _untransposed(case):
    weights, g = case.args["weights"], case.args["g"]
    norms = [float(np.linalg.norm(g))]
    for W in reversed(weights):
        g = g @ W
        norms.append(float(np.linalg.norm(g)))
    return np.array(norms)


@exercise(
    "backprop_norms", "backprop_norms(weights, g) -> norms",
    hint="start from g, the gradient with respect to the last layer's output; for each "
         "W in reversed(weights) set g = g @ W.T (the layer computes a @ W); return the "
         "norm before the first layer and after each one, D + 1 numbers.",
    mistakes=[
        (_forward_order, "the order is the order of backpropagation: ||g|| first, the "
         "gradient with respect to the input last."),
        (_without_start, "include ||g|| itself: D + 1 norms for D layers."),
        (_untransposed, "a layer computes a @ W, so the gradient with respect to a is "
         "g @ W.T, not g @ W."),
    ],
    rtol=1e-9,
)
def _backprop_cases(rng):
    def gaussian(shape, variance):
        return rng.normal(0.0, math.sqrt(variance / shape[0]), shape)

    deep = [gaussian((16, 16), 1.0) for _ in range(30)]
    for label, weights, g in [
        ("two 3 x 3 layers", [gaussian((3, 3), 1.0), gaussian((3, 3), 1.0)],
         rng.normal(size=3)),
        ("widths 4 -> 6 -> 2: rectangular layers", [gaussian((4, 6), 1.0),
                                                    gaussian((6, 2), 1.0)], rng.normal(size=2)),
        ("30 layers of width 16, sigma_w^2 = 1", deep, rng.normal(size=16)),
        ("30 layers of width 16, sigma_w^2 = 2: the norm grows", [np.sqrt(2) * W for W in deep],
         rng.normal(size=16)),
        ("a batch of 5 gradients, shape (5, 16): the norm of the whole batch", deep[:3],
         rng.normal(size=(5, 16))),
    ]:
        yield Case(label, dict(weights=weights, g=g), _backprop_norms(weights, g))
