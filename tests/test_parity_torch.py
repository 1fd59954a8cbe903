"""optlib's transforms follow torch.optim's trajectories (float64, 100 steps, error < 1e-10)."""

import numpy as np
import pytest

import optlib as ol

torch = pytest.importorskip("torch")

STEPS = 100
SHAPES = [(7,), (3, 4), (2, 3, 5)]

# (optlib transform, torch.optim class, optlib kwargs, torch kwargs)
CASES = {
    "sgd": (ol.sgd, "SGD", dict(lr=0.05), dict(lr=0.05)),
    "sgd_momentum": (ol.sgd, "SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov": (ol.sgd, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening": (ol.sgd, "SGD", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01),
                      dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01)),
    "adagrad": (ol.adagrad, "Adagrad", dict(lr=0.1), dict(lr=0.1)),
    "adagrad_init_wd": (ol.adagrad, "Adagrad",
                        dict(lr=0.1, initial_accumulator=0.1, weight_decay=0.01),
                        dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.01)),
    "rmsprop": (ol.rmsprop, "RMSprop", dict(lr=0.01, rho=0.9), dict(lr=0.01, alpha=0.9)),
    "rmsprop_centered": (ol.rmsprop, "RMSprop",
                         dict(lr=0.01, rho=0.95, centered=True, momentum=0.5, weight_decay=0.01),
                         dict(lr=0.01, alpha=0.95, centered=True, momentum=0.5, weight_decay=0.01)),
    "adadelta": (ol.adadelta, "Adadelta", dict(lr=1.0, rho=0.9), dict(lr=1.0, rho=0.9)),
    "adadelta_wd": (ol.adadelta, "Adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.01),
                    dict(lr=0.5, rho=0.95, weight_decay=0.01)),
    "adam": (ol.adam, "Adam", dict(lr=0.01), dict(lr=0.01)),
    "adam_amsgrad_wd": (ol.adam, "Adam", dict(lr=0.01, b1=0.8, b2=0.99, amsgrad=True,
                                               weight_decay=0.01),
                        dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.01)),
    "adamw": (ol.adamw, "AdamW", dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1)),
    "nadam": (ol.nadam, "NAdam", dict(lr=0.01), dict(lr=0.01)),
    "nadam_wd": (ol.nadam, "NAdam", dict(lr=0.01, momentum_decay=8e-3, weight_decay=0.01),
                 dict(lr=0.01, momentum_decay=8e-3, weight_decay=0.01)),
    "adamax": (ol.adamax, "Adamax", dict(lr=0.01), dict(lr=0.01)),
    "adamax_betas_wd": (ol.adamax, "Adamax", dict(lr=0.02, b1=0.8, b2=0.99, weight_decay=0.01),
                        dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.01)),
    "adamax_large_eps": (ol.adamax, "Adamax", dict(lr=0.05, b1=0.5, b2=0.9, eps=0.5),
                         dict(lr=0.05, betas=(0.5, 0.9), eps=0.5)),
}


def problem(shape, seed):
    """A separable non-quadratic loss, grad = c x + x^3/10 - b, with its minimum far from x0.

    Each coordinate has its own curvature. The start lies on the other side of
    zero from the minimizer, so adaptive methods, whose steps are about lr long,
    are still travelling after 100 steps: near a minimum they settle into
    oscillations that amplify rounding, which would test the problem and not
    the update rule.
    """
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 3.0, shape)
    b = rng.choice([-1.0, 1.0], shape) * rng.uniform(5.0, 10.0, shape)
    x0 = -np.sign(b) * rng.uniform(0.5, 1.5, shape)
    return x0, lambda x: c * x + x**3 / 10 - b


@pytest.fixture(autouse=True)
def float64_scalars():
    """torch keeps scalar state (NAdam's mu product) in the default dtype: make it float64 too."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def torch_trajectory(name, torch_kwargs, x0, grad):
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([p], foreach=False, **torch_kwargs)
    path = [x0.copy()]
    for _ in range(STEPS):
        p.grad = torch.as_tensor(grad(p.detach().numpy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def optlib_trajectory(tx, x0, grad, to_array=np.asarray, to_numpy=np.asarray):
    x = to_array(x0)
    state = tx.init(x)
    path = [x0.copy()]
    for _ in range(STEPS):
        g = to_array(grad(to_numpy(x)))
        step, state = tx.update(g, state, x)
        x = x + step
        path.append(np.array(to_numpy(x)))
    return np.array(path)


def relative_error(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES)
def test_follows_torch_optim(case, shape):
    make, torch_name, kwargs, torch_kwargs = CASES[case]
    x0, grad = problem(shape, seed=len(case) + len(shape))
    expected = torch_trajectory(torch_name, torch_kwargs, x0, grad)
    got = optlib_trajectory(make(**kwargs), x0, grad)
    assert np.max(np.abs(got[-1] - got[0])) > 1e-2, "the run must move for the test to mean much"
    assert relative_error(got, expected) < 1e-10


@pytest.mark.parametrize("case", CASES)
def test_same_numbers_on_torch_tensors(case):
    make, _, kwargs, _ = CASES[case]
    x0, grad = problem((3, 4), seed=1)
    on_numpy = optlib_trajectory(make(**kwargs), x0, grad)

    def to_tensor(a):
        return torch.as_tensor(np.asarray(a), dtype=torch.float64)

    def to_numpy(t):
        assert isinstance(t, torch.Tensor), "a transform must return the kind of array it was given"
        return t.numpy()

    on_torch = optlib_trajectory(make(**kwargs), x0, grad, to_tensor, to_numpy)
    assert relative_error(on_torch, on_numpy) < 1e-12


def test_array_hyperparameters_on_torch_tensors():
    """A grid of learning rates given as a NumPy array also steps torch tensors."""
    x = torch.ones(3, 2, dtype=torch.float64)
    lrs = np.array([[0.1], [0.2], [0.3]])
    tx = ol.sgd(lrs, momentum=0.5)
    step, _ = tx.update(x.clone(), tx.init(x), x)
    assert isinstance(step, torch.Tensor)
    np.testing.assert_allclose(step.numpy(), -lrs * np.ones((3, 2)))


def test_importing_optlib_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, optlib; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
