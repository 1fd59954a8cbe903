"""optlib.torch: any transform as a torch.optim.Optimizer, on a flat buffer per group."""

import copy
import io
import subprocess
import sys

import numpy as np
import pytest

import optlib as ol
from optlib.inplace import Optimizer as InPlaceOptimizer

torch = pytest.importorskip("torch")
olt = pytest.importorskip("optlib.torch")

STEPS = 50

# (optlib transform, torch.optim class, torch kwargs)
CASES = {
    "adam": (ol.adam(0.01), "Adam", dict(lr=0.01)),
    "sgd_nesterov": (ol.sgd(0.05, momentum=0.9, nesterov=True), "SGD",
                     dict(lr=0.05, momentum=0.9, nesterov=True)),
    "rmsprop": (ol.rmsprop(0.01, rho=0.99), "RMSprop", dict(lr=0.01, alpha=0.99)),
    "adamw_amsgrad": (ol.adamw(0.01, weight_decay=0.1, amsgrad=True), "AdamW",
                      dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    "adamax": (ol.adamax(0.01, b1=0.8), "Adamax", dict(lr=0.01, betas=(0.8, 0.999))),
}


@pytest.fixture(autouse=True)
def float64_everywhere():
    """torch keeps some scalar state in the default dtype: make it float64 too."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def small_mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                               torch.nn.ReLU(), torch.nn.Linear(16, 3))


def batches(seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(32, 5, generator=generator), torch.randn(32, 3, generator=generator))
            for _ in range(STEPS)]


def train(model, opt, data):
    for X, y in data:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    return flat(model)


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("case", CASES)
def test_follows_torch_optim_on_a_small_mlp(case):
    tx, name, kwargs = CASES[case]
    model = small_mlp()
    start = flat(model)
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    data = batches()
    got = train(ours, olt.Optimizer(ours.parameters(), tx), data)
    expected = train(theirs, getattr(torch.optim, name)(theirs.parameters(), foreach=False,
                                                       **kwargs), data)
    assert (expected - start).abs().max() > 0.05, "the run must move for the test to mean much"
    assert relative_error(got, expected) < 1e-10


def test_blocks_of_the_flat_buffer_follow_torch_optim(monkeypatch):
    """On CPU an elementwise rule runs block by block: ragged blocks of 7 change nothing."""
    monkeypatch.setattr(olt, "CPU_BLOCK_SIZE", 7)
    model = small_mlp()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    data = batches()[:20]
    got = train(ours, olt.Optimizer(ours.parameters(), ol.nadam(0.01)), data)
    expected = train(theirs, torch.optim.NAdam(theirs.parameters(), lr=0.01, foreach=False), data)
    assert relative_error(got, expected) < 1e-10


def test_compiled_rule_follows_torch_optim():
    model = small_mlp()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    data = batches()[:10]
    got = train(ours, olt.Optimizer(ours.parameters(), ol.adam(0.01), compile=True), data)
    expected = train(theirs, torch.optim.Adam(theirs.parameters(), lr=0.01, foreach=False), data)
    assert relative_error(got, expected) < 1e-10


def test_a_rule_that_cannot_be_traced_runs_eagerly_with_a_warning():
    schedule = ol.schedules.cosine(0.1, 10)   # evaluated with NumPy: not traceable by torch
    compiled_param, eager_param = (torch.nn.Parameter(torch.ones(4)) for _ in range(2))
    with pytest.warns(UserWarning, match="could not be traced"):
        compiled = olt.Optimizer([compiled_param], ol.sgd(schedule, momentum=0.5), compile=True)
    eager = olt.Optimizer([eager_param], ol.sgd(schedule, momentum=0.5))
    for t in range(5):
        compiled_param.grad, eager_param.grad = torch.full((4,), t + 1.0), torch.full((4,), t + 1.0)
        compiled.step()
        eager.step()
    assert torch.equal(compiled_param.detach(), eager_param.detach())
    assert compiled_param[0].item() < 0


def test_state_dict_round_trip_resumes_identically():
    data = batches()
    model = small_mlp()
    straight = copy.deepcopy(model)
    straight_result = train(straight, olt.Optimizer(straight.parameters(), ol.adam(0.01)), data)

    first = copy.deepcopy(model)
    opt = olt.Optimizer(first.parameters(), ol.adam(0.01))
    train(first, opt, data[:25])
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    assert saved["opt"]["state"][0]["count"] == 25

    resumed = small_mlp(seed=123)   # different weights, overwritten by the checkpoint
    resumed.load_state_dict(saved["model"])
    opt = olt.Optimizer(resumed.parameters(), ol.adam(0.01))
    opt.load_state_dict(saved["opt"])
    assert torch.equal(train(resumed, opt, data[25:]), straight_result)


def test_param_groups_with_their_own_transforms():
    data = batches()[:20]
    model = small_mlp()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    body, head = list(ours[:3].parameters()), list(ours[3:].parameters())
    opt = olt.Optimizer([{"params": body}, {"params": head, "tx": ol.sgd(0.05, momentum=0.5)}],
                        ol.adam(0.01))
    got = train(ours, opt, data)
    adam = torch.optim.Adam(theirs[:3].parameters(), lr=0.01, foreach=False)
    sgd = torch.optim.SGD(theirs[3:].parameters(), lr=0.05, momentum=0.5, foreach=False)
    for X, y in data:
        adam.zero_grad()
        sgd.zero_grad()
        torch.nn.functional.mse_loss(theirs(X), y).backward()
        adam.step()
        sgd.step()
    assert relative_error(got, flat(theirs)) < 1e-10


def test_global_norm_clipping_spans_every_parameter_of_the_group():
    data = batches()[:10]
    model = small_mlp()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    got = train(ours, olt.Optimizer(ours.parameters(), ol.chain(ol.clip_by_global_norm(0.1),
                                                                  ol.sgd(0.5))), data)
    opt = torch.optim.SGD(theirs.parameters(), lr=0.5, foreach=False)
    for X, y in data:
        opt.zero_grad()
        torch.nn.functional.mse_loss(theirs(X), y).backward()
        # g <- g c / max(||g||, c) over all parameters together (torch's clip_grad_norm_
        # would divide by ||g|| + 1e-6 instead)
        norm = torch.cat([p.grad.reshape(-1) for p in theirs.parameters()]).norm()
        for p in theirs.parameters():
            p.grad *= 0.1 / max(norm.item(), 0.1)
        opt.step()
    assert relative_error(got, flat(theirs)) < 1e-10


def test_parameters_and_gradients_live_in_one_flat_buffer():
    model = small_mlp()
    opt = olt.Optimizer(model.parameters(), ol.adam(0.01))
    bucket = opt._buckets[0][0]
    X, y = batches()[0]
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        for p in model.parameters():   # backward accumulated into the views, in place
            assert p.grad.untyped_storage().data_ptr() == bucket.flat_grad.untyped_storage(
            ).data_ptr()
            assert p.untyped_storage().data_ptr() == bucket.flat.untyped_storage().data_ptr()
        opt.step()
    state = opt.state[next(model.parameters())]
    assert set(state) == {"count", "m", "v", "v_max"} and state["count"] == 2
    opt.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())
    torch.nn.functional.mse_loss(model(X), y).backward()
    before = flat(model)
    opt.step()   # fresh gradients are copied into the buffer
    assert not torch.equal(flat(model), before)
    assert all(p.grad.data_ptr() >= bucket.flat_grad.data_ptr() for p in model.parameters())


def test_a_parameter_whose_storage_was_replaced_is_stepped_where_it_now_lives():
    """As ZeroRedundancyOptimizer(parameters_as_bucket_view=True) does after the optimizer
    is created: the optimizer copies the values in and the step out, and rebinds nothing."""
    model = small_mlp()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    opt = olt.Optimizer(ours.parameters(), ol.adam(0.01))
    owner = torch.cat([p.detach().reshape(-1) for p in ours.parameters()]) + 0.0
    offset = 0
    for p in ours.parameters():
        p.data = owner[offset:offset + p.numel()].view(p.shape)
        offset += p.numel()
    data = batches()[:10]
    got = train(ours, opt, data)
    assert all(p.untyped_storage().data_ptr() == owner.untyped_storage().data_ptr()
               for p in ours.parameters())
    assert torch.equal(owner, got)
    expected = train(theirs, torch.optim.Adam(theirs.parameters(), lr=0.01, foreach=False), data)
    assert relative_error(got, expected) < 1e-10


def test_zero_grad_also_zeroes_gradients_that_live_elsewhere():
    p = torch.nn.Parameter(torch.ones(3))
    opt = olt.Optimizer([p], ol.sgd(0.1))
    p.grad = torch.ones(3)   # a gradient tensor the optimizer has not adopted yet
    elsewhere = p.grad
    opt.zero_grad()
    assert torch.equal(elsewhere, torch.zeros(3))
    opt.step()
    assert torch.equal(p.detach(), torch.ones(3))


def test_mixed_dtypes_get_one_buffer_each():
    a = torch.nn.Parameter(torch.ones(3, dtype=torch.float32))
    b = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = olt.Optimizer([a, b], ol.sgd(0.5))
    a.grad, b.grad = torch.ones(3, dtype=torch.float32), torch.ones(2, dtype=torch.float64)
    opt.step()
    assert len(opt._buckets[0]) == 2
    assert a.dtype == torch.float32 and torch.equal(a.detach(), torch.full((3,), 0.5,
                                                                             dtype=torch.float32))
    assert torch.equal(b.detach(), torch.full((2,), 0.5, dtype=torch.float64))


def test_device_and_errors():
    assert olt.device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(TypeError, match="Transform"):
        olt.Optimizer(small_mlp().parameters(), "adam")
    model = small_mlp()
    opt = olt.Optimizer(model.parameters(), ol.adam(0.01))
    with pytest.raises(ValueError, match="different transform"):
        opt.load_state_dict(olt.Optimizer(small_mlp().parameters(), ol.sgd(0.1)).state_dict()
                            | {"state": {0: {"velocity": torch.zeros(1)}}})
    with pytest.raises(ValueError, match="1-D"):
        olt.FlatStepper(torch.zeros(2, 3), ol.adam(0.1))


# ---------------------------------------------------------------- NumPy arrays, torch's kernel


def numpy_runs(dtype, steps=20, size=1000, **options):
    """The same gradients applied by optlib.inplace with and without the compiled kernel."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(size).astype(dtype)
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(steps)]
    compiled, blocks = x0.copy(), x0.copy()
    fast = InPlaceOptimizer(compiled, ol.adam(0.01), compile=True, **options)
    slow = InPlaceOptimizer(blocks, ol.adam(0.01), **options)
    for g in grads:
        assert fast.step(g) is compiled
        slow.step(g)
    return compiled, blocks, fast, slow


def test_numpy_arrays_step_through_the_compiled_kernel_without_a_copy():
    compiled, blocks, fast, slow = numpy_runs(np.float64)
    assert fast.engine == "torch.compile" and slow.engine == "numpy blocks"
    assert np.shares_memory(fast._stepper.x.numpy(), compiled)   # torch.from_numpy: one buffer
    # The gradients do not depend on x, so errors add up rather than grow: 20
    # steps, each a dozen roundings (1.1e-16) of quantities no larger than the
    # step (~lr = 0.01), plus one rounding of x (~3) per step: below 1e-14.
    np.testing.assert_allclose(compiled, blocks, rtol=0, atol=1e-14)
    assert fast.state.count == slow.state.count == 20
    for name in ("m", "v"):   # sums of 20 terms below 10: 20 x 10 x 1.1e-16 < 1e-13
        np.testing.assert_allclose(getattr(fast.state, name), getattr(slow.state, name),
                                   rtol=0, atol=1e-13)
    assert np.shares_memory(fast.state.m, fast._stepper.values[1].numpy())


def test_numpy_float32_through_the_compiled_kernel():
    compiled, blocks, fast, _ = numpy_runs(np.float32)
    assert compiled.dtype == np.float32 and fast.engine == "torch.compile"
    # As above with float32's unit roundoff 6e-8: 20 steps x (12 x 6e-8 x 0.01
    # + 6e-8 x 3) < 5e-6.
    np.testing.assert_allclose(compiled, blocks, rtol=0, atol=5e-6)
    assert np.abs(compiled - blocks).max() < 1e-2 * np.abs(blocks - numpy_runs(
        np.float32, steps=19)[1]).max(), "the difference must be far below one step"


def test_without_torch_compile_true_falls_back_to_the_numpy_blocks():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, optlib as ol\n"
            "from optlib.inplace import Optimizer\n"
            "a, b = np.linspace(-1, 1, 50), np.linspace(-1, 1, 50)\n"
            "fast = Optimizer(a, ol.nadam(0.01), compile=True)\n"
            "slow = Optimizer(b, ol.nadam(0.01))\n"
            "for t in range(5):\n"
            "    fast.step(np.cos(a + t)); slow.step(np.cos(b + t))\n"
            "print(fast.engine, np.array_equal(a, b))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["numpy", "blocks", "True"]


def test_importing_optlib_and_its_numpy_modules_does_not_import_torch():
    code = ("import sys, optlib, optlib.nn, optlib.data, optlib.inplace; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
