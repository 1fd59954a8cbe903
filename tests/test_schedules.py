"""Learning-rate schedules: the formulas, at scalars and arrays of steps."""

import numpy as np
import pytest

from optlib import schedules as S


def test_linear_decay_is_goodfellow_et_al_rule():
    s = S.linear_decay(1.0, 0.01, 100)
    assert s(0) == 1.0 and s(100) == pytest.approx(0.01) and s(500) == pytest.approx(0.01)
    assert s(50) == pytest.approx(0.5 * 1.0 + 0.5 * 0.01)
    np.testing.assert_allclose(np.diff(s(np.arange(101))), -0.99 / 100)


def test_exponential_step_cosine_and_warmup():
    assert S.exponential(1.0, 0.9)(3) == pytest.approx(0.729)
    assert S.inverse_time(0.5, 100)(100) == pytest.approx(0.25)
    np.testing.assert_allclose(S.inverse_time(1.0, 2)(np.arange(3)), [1.0, 2 / 3, 0.5])
    assert [S.step(1.0, 10, 0.5)(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    c = S.cosine(1.0, 100, lr_min=0.1)
    assert c(0) == 1.0 and c(50) == pytest.approx(0.55) and c(100) == pytest.approx(0.1)
    w = S.warmup(S.constant(0.2), 4)
    np.testing.assert_allclose(w(np.arange(6)), [0.05, 0.1, 0.15, 0.2, 0.2, 0.2])
    assert isinstance(w(2), float) and S.constant(0.3)(7) == 0.3


def test_warmup_multiplies_the_schedule_it_warms_up():
    """eta_t = min(1, (t + 1) / T_w) schedule(t): the formula the book states."""
    base = S.cosine(1.0, 100)
    t = np.arange(120)
    np.testing.assert_allclose(S.warmup(base, 10)(t), np.minimum(1, (t + 1) / 10) * base(t),
                               rtol=1e-15)
    assert S.warmup(base, 10)(3) == pytest.approx(0.4 * base(3))
    assert S.warmup(base, 10)(3) != pytest.approx(0.4)        # not eta_0 (t + 1) / T_w


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: S.linear_decay(-1.0, 0.1, 10), "lr0"),
        (lambda: S.linear_decay(1.0, 0.1, 0), "tau"),
        (lambda: S.exponential(1.0, 1.5), "gamma"),
        (lambda: S.inverse_time(1.0, 0), "t0"),
        (lambda: S.cosine(1.0, 10.5), "total"),
        (lambda: S.warmup(0.1, -2), "steps"),
    ],
)
def test_bad_schedule_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
