"""optlib.checks: the implementation tests pass every correct optimizer, and each planted bug
is caught by the tests the chapter says catch it, and only those."""

import numpy as np
import pytest

import optlib as ol
from optlib import checks as C

torch = pytest.importorskip("torch")

ADAM = dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-4)
GRADS = C.gradient_sequence()
SMALL = C.gradient_sequence(low=1e-3, high=1e-2)
LINE = np.array([1.0, -2.0, 0.5, 3.0])
EIGENVALUES = [0.5, 2.0, 10.0]


@pytest.fixture(scope="module")
def paths():
    x0, grad = C.parity_problem()
    return grad, {
        "adam": C.torch_path("Adam", x0, grad, 100, lr=0.01, betas=(0.8, 0.99), eps=1e-4),
        "heavy ball": C.torch_path("SGD", x0, grad, 100, lr=0.01, momentum=0.9),
    }


def adam_scale_error(make):
    """The largest scale error over c = 1e-2 and 1e2, in units of the bound
    eps |1 - 1/c| / min |g| that a correct Adam stays within (plus rounding)."""
    eps = 1e-8
    return max(C.scale_error(lambda: make(lr=0.1, eps=eps), SMALL, c, 0)
               / (eps * abs(1 - 1 / c) / np.abs(SMALL).min() + 1e-13) for c in (1e-2, 1e2))


def verdicts(family, make, paths):
    """{test: caught} for one implementation; a discrepancy above the test's tolerance (or
    NaN) counts as caught."""
    grad, path = paths

    def caught(error, tolerance):
        return not error <= tolerance

    if family == "adam":
        return {
            "parity": caught(C.step_errors(make(**ADAM), path["adam"], grad).max(), 1e-10),
            "scale": caught(adam_scale_error(make), 1.0),
            "permutation": caught(C.permutation_error(lambda: make(lr=0.1), GRADS), 0.0),
            "exact": caught(C.line_error(lambda lr: make(lr=lr, eps=0.0), LINE), 1e-12),
        }
    return {
        "parity": caught(C.step_errors(make(lr=0.01, momentum=0.9), path["heavy ball"],
                                       grad).max(), 1e-10),
        "scale": caught(max(C.scale_error(lambda: make(lr=0.1, momentum=0.9), GRADS, c, 1)
                            for c in (1e-2, 1e2)), 1e-12),
        "permutation": caught(C.permutation_error(lambda: make(lr=0.1, momentum=0.9), GRADS),
                              0.0),
        "rotation": caught(C.rotation_error(lambda: make(lr=0.1, momentum=0.9), GRADS), 1e-12),
        "exact": caught(C.closed_form_error(lambda lr, momentum: make(lr=lr, momentum=momentum),
                                            EIGENVALUES, 0.05, 0.9), 1e-12),
    }


EXPECTED = {
    "bias correction off by one": {"parity", "exact"},
    "eps inside the square root": {"parity", "scale"},
    "stale last coordinate": {"parity", "permutation", "exact"},
    "buffer never stored": {"parity", "exact"},
    "clipped by value": {"parity", "scale", "rotation", "exact"},
}


def test_correct_optimizers_pass_every_test(paths):
    for family, make in (("adam", lambda **h: ol.adam(**h)), ("heavy ball",
                                                             lambda **h: ol.sgd(**h))):
        assert not any(verdicts(family, make, paths).values()), family


@pytest.mark.parametrize("bug", list(C.BUGS))
def test_each_bug_is_caught_by_the_tests_that_should_catch_it(bug, paths):
    family, make = C.BUGS[bug]
    with np.errstate(all="ignore"):        # a stale buffer of zeros divides 0 by 0
        found = verdicts(family, make, paths)
    assert {test for test, caught in found.items() if caught} == EXPECTED[bug]


def test_step_for_step_parity_with_torch_is_at_rounding(paths):
    grad, path = paths
    # about 20 operations a step, each rounding at 1e-16: errors of 1e-15 relative
    assert C.step_errors(ol.adam(**ADAM), path["adam"], grad).max() < 1e-13
    assert C.path_errors(ol.adam(**ADAM), path["adam"], grad).max() < 1e-12


def test_a_misplaced_eps_hides_from_parity_at_the_default_eps():
    x0, grad = C.parity_problem()
    path = C.torch_path("Adam", x0, grad, 100, lr=0.01)
    bug = C.BUGS["eps inside the square root"][1]
    at_default = C.step_errors(bug(lr=0.01), path, grad).max()
    # eps/(2 s_hat) with s_hat of 25 to 100: about 1e-10, against 1e-4/(2 s_hat) at eps 1e-4
    assert 1e-10 < at_default < 1e-8


def test_the_invariances_hold_for_correct_methods():
    makers = {"sgd": lambda: ol.sgd(0.1), "nesterov": lambda: ol.sgd(0.1, 0.9, nesterov=True),
              "adam": lambda: ol.adam(0.1, eps=0.0), "rmsprop": lambda: ol.rmsprop(0.1, eps=0.0),
              "adagrad": lambda: ol.adagrad(0.1, eps=0.0)}
    for name, make in makers.items():
        assert C.permutation_error(make, GRADS) == 0.0, name
        degree = 1 if name in ("sgd", "nesterov") else 0
        for c in (1e-3, 1e3):
            assert C.scale_error(make, GRADS, c, degree) < 1e-14, (name, c)
    assert C.rotation_error(makers["nesterov"], GRADS) < 1e-14
    assert C.rotation_error(makers["adam"], GRADS) > 0.1      # Adam works in the axes


def test_the_exact_facts_hold():
    assert C.line_error(lambda lr: ol.adam(lr, eps=0.0), LINE, steps=1000) < 1e-12
    assert C.line_error(lambda lr: ol.adam(lr, eps=0.0, amsgrad=True), LINE) < 1e-12
    assert C.closed_form_error(lambda lr, momentum: ol.sgd(lr, momentum=momentum),
                               EIGENVALUES, 0.05, 0.9, steps=200) < 1e-12
