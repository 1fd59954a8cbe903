"""Property tests: descent on convex quadratics, Adam's scale invariance, clipping bounds."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import optlib as ol
from optlib import functions as F

finite = st.floats(-10, 10, allow_nan=False)


def random_spd(seed, dim):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return Q @ np.diag(rng.uniform(0.5, 5.0, dim)) @ Q.T, rng.normal(size=dim)


SMALL_STEP_OPTIMIZERS = {
    "sgd": lambda: ol.sgd(0.05),
    "momentum": lambda: ol.sgd(0.02, momentum=0.5),
    "nesterov": lambda: ol.sgd(0.02, momentum=0.5, nesterov=True),
    "adagrad": lambda: ol.adagrad(0.02),
    "rmsprop": lambda: ol.rmsprop(0.002),
    "adadelta": lambda: ol.adadelta(0.5),
    "adam": lambda: ol.adam(0.002),
    "adamw": lambda: ol.adamw(0.002, weight_decay=0.0),
    "nadam": lambda: ol.nadam(0.002),
    "adamax": lambda: ol.adamax(0.002),
    "sgdw": lambda: ol.decoupled_weight_decay(ol.sgd(0.02, momentum=0.5), 0.1),
}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), dim=st.integers(2, 6), name=st.sampled_from(
    sorted(SMALL_STEP_OPTIMIZERS)))
def test_small_steps_decrease_a_convex_quadratic(seed, dim, name):
    A, x_star = random_spd(seed, dim)
    f = F.quadratic(A, A @ x_star)
    x0 = x_star + np.random.default_rng(seed + 1).normal(size=dim)
    res = ol.minimize(f, x0, SMALL_STEP_OPTIMIZERS[name](), steps=30, tol=0)
    assert res.fun < f.value(x0)


@settings(max_examples=30, deadline=None)
@given(g=arrays(float, (3, 4), elements=st.floats(-5, 5).filter(lambda v: abs(v) > 1e-2)),
       scale=st.floats(1e-2, 1e3))
def test_adam_steps_are_invariant_to_gradient_scale(g, scale):
    tx = ol.adam(0.1, eps=0.0)
    x = np.zeros_like(g)
    state_a, state_b = tx.init(x), tx.init(x)
    for k in range(3):
        step_a, state_a = tx.update(g * (k + 1), state_a, x)
        step_b, state_b = tx.update(scale * g * (k + 1), state_b, x)
        np.testing.assert_allclose(step_a, step_b, rtol=1e-10)


@settings(max_examples=50, deadline=None)
@given(g=arrays(float, (5, 3), elements=finite), bound=st.floats(1e-3, 10))
def test_clipped_steps_never_exceed_the_bound(g, bound):
    tx = ol.chain(ol.clip_by_global_norm(bound), ol.sgd(1.0))
    x = np.zeros_like(g)
    step, _ = tx.update(g, tx.init(x), x)
    norms = np.linalg.norm(step, axis=-1)
    assert np.all(norms <= bound * (1 + 1e-12))
    short = np.linalg.norm(g, axis=-1) <= bound
    np.testing.assert_allclose(step[short], -g[short])
