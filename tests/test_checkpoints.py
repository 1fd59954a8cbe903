"""Checkpoints of optlib.torch.Optimizer: save, load into a fresh optimizer, continue.

A run interrupted after K steps, saved with torch.save and resumed by a fresh
optimizer (in the same process, in a fresh process, and on two DDP or ZeRO
ranks) follows the uninterrupted run step for step. A state saved by a
different transform, or for parameters of other shapes, is refused.
"""

import copy

import pytest

import optlib as ol

torch = pytest.importorskip("torch")
olt = pytest.importorskip("optlib.torch")

from ranks import run_ranks  # noqa: E402

STEPS, INTERRUPT = 16, 7

TRANSFORMS = {
    "adam": lambda: ol.adam(0.01),
    "nadam": lambda: ol.nadam(0.01),   # a scalar leaf besides the count: the product of momenta
    "sgd_nesterov": lambda: ol.sgd(0.05, momentum=0.9, nesterov=True),
    "clip_adamw_amsgrad": lambda: ol.chain(ol.clip_by_global_norm(0.5),
                                           ol.adamw(0.01, amsgrad=True)),
}


@pytest.fixture(autouse=True)
def float64_everywhere():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def small_mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def batches(seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(32, 5, generator=generator), torch.randn(32, 3, generator=generator))
            for _ in range(STEPS)]


def trajectory(model, opt, data):
    """The weights after each step on ``data``, one row per step."""
    rows = []
    for X, y in data:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
        rows.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    return torch.stack(rows)


def checkpoint(path, name, compile=False):
    """Train INTERRUPT steps and save the model and the optimizer; return the whole run too."""
    model = small_mlp()
    uninterrupted = copy.deepcopy(model)
    whole = trajectory(uninterrupted, olt.Optimizer(uninterrupted.parameters(),
                                                    TRANSFORMS[name](), compile=compile),
                       batches())
    opt = olt.Optimizer(model.parameters(), TRANSFORMS[name](), compile=compile)
    trajectory(model, opt, batches()[:INTERRUPT])
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    return whole


def resume(path, name, compile=False):
    """A fresh model and optimizer loaded from ``path``, run to the end."""
    saved = torch.load(path)
    model = small_mlp(seed=123)   # other weights, overwritten by the checkpoint
    model.load_state_dict(saved["model"])
    opt = olt.Optimizer(model.parameters(), TRANSFORMS[name](), compile=compile)
    opt.load_state_dict(saved["opt"])
    return trajectory(model, opt, batches()[INTERRUPT:])


@pytest.mark.parametrize("name", TRANSFORMS)
def test_a_resumed_run_follows_the_uninterrupted_one_step_for_step(tmp_path, name):
    whole = checkpoint(tmp_path / "run.pt", name)
    assert torch.equal(resume(tmp_path / "run.pt", name), whole[INTERRUPT:])


def test_a_compiled_run_resumes_step_for_step(tmp_path):
    whole = checkpoint(tmp_path / "run.pt", "adam", compile=True)
    assert torch.equal(resume(tmp_path / "run.pt", "adam", compile=True), whole[INTERRUPT:])


def resume_in_this_process(rank, world_size, path, name):
    torch.set_default_dtype(torch.float64)
    return resume(path, name)


def test_a_fresh_process_resumes_step_for_step(tmp_path):
    whole = checkpoint(tmp_path / "run.pt", "nadam")
    (resumed,) = run_ranks(resume_in_this_process, tmp_path, args=(tmp_path / "run.pt", "nadam"),
                           world_size=1)
    # Another process may lay its arrays out at other addresses, and a BLAS may
    # then block a product differently: equal up to the rounding of 9 steps of
    # float64 products over 16 terms (bitwise on this machine).
    torch.testing.assert_close(resumed, whole[INTERRUPT:], rtol=1e-12, atol=0)


# ---------------------------------------------------------------- refusals


def saved_state(model, tx):
    """The state after two steps with random gradients."""
    opt = olt.Optimizer(model.parameters(), tx)
    for _ in range(2):
        for p in model.parameters():
            p.grad = torch.randn_like(p)
        opt.step()
    return opt.state_dict()


@pytest.mark.parametrize("saved_by, loaded_by", [
    (lambda: ol.adam(0.01), lambda: ol.sgd(0.1, momentum=0.9)),
    (lambda: ol.chain(ol.clip_by_global_norm(1.0), ol.adam(0.01)), lambda: ol.adam(0.01)),
    (lambda: ol.sgd(0.1), lambda: ol.nadam(0.01)),
])
def test_a_state_from_a_different_transform_is_refused(saved_by, loaded_by):
    state = saved_state(small_mlp(), saved_by())
    opt = olt.Optimizer(small_mlp().parameters(), loaded_by())
    with pytest.raises(ValueError, match="saved by a different transform"):
        opt.load_state_dict(state)


def test_a_state_for_other_shapes_is_refused():
    state = saved_state(torch.nn.Linear(6, 4), ol.adam(0.01))   # weight 4 x 6, bias 4
    transposed = torch.nn.Linear(4, 6)                           # weight 6 x 4, bias 6
    with pytest.raises(ValueError, match=r"shape \(4, 6\), the parameter \(6, 4\)"):
        olt.Optimizer(transposed.parameters(), ol.adam(0.01)).load_state_dict(state)
    fewer = torch.nn.Linear(6, 4, bias=False)
    with pytest.raises(ValueError, match="size"):   # torch.optim's own check
        olt.Optimizer(fewer.parameters(), ol.adam(0.01)).load_state_dict(state)


def test_state_written_into_opt_state_is_loaded_at_the_next_step():
    """As ZeroRedundancyOptimizer.load_state_dict does: it assigns ``opt.state[p]``."""
    saved_model, resumed_model = small_mlp(), small_mlp()
    saved = olt.Optimizer(saved_model.parameters(), ol.adam(0.01))
    trajectory(saved_model, saved, batches()[:INTERRUPT])
    resumed_model.load_state_dict(saved_model.state_dict())
    opt = olt.Optimizer(resumed_model.parameters(), ol.adam(0.01))
    for mine, theirs in zip(resumed_model.parameters(), saved_model.parameters(), strict=True):
        opt.state[mine] = {k: v.clone() if torch.is_tensor(v) else v
                           for k, v in saved.state[theirs].items()}
    rest = batches()[INTERRUPT:]
    assert torch.equal(trajectory(resumed_model, opt, rest), trajectory(saved_model, saved, rest))
    opt.state[next(resumed_model.parameters())] = {"velocity": torch.zeros(16, 5)}
    with pytest.raises(ValueError, match="saved by a different transform"):
        trajectory(resumed_model, opt, rest[:1])


# ---------------------------------------------------------------- DDP and ZeRO


def interrupted_runs(rank, world_size, batches, directory):
    """DDP and ZeRO over every batch; after INTERRUPT steps rank 0 saves each to directory."""
    from recipes import consolidated_state, fit, train_ddp, train_zero, weights

    runs = {}
    for kind, train in (("ddp", train_ddp), ("zero", train_zero)):
        model, opt = train(rank, world_size, [])
        rows = runs[kind] = []

        def after_step(t, model, opt, kind=kind, rows=rows):
            rows.append(weights(model))
            if t == INTERRUPT:
                # Saved at once: a state_dict's tensors are the optimizer's live buffers.
                state = opt.state_dict() if kind == "ddp" else consolidated_state(opt, rank)
                if rank == 0:
                    torch.save(dict(model=model.module.state_dict(), opt=state),
                               directory / f"{kind}.pt")

        fit(model, opt, batches, rank, world_size, after_step=after_step)
    return {kind: torch.stack(rows) for kind, rows in runs.items()}


def resumed_runs(rank, world_size, batches, directory):
    """Fresh processes: load each checkpoint into a fresh DDP or ZeRO run, then continue."""
    from recipes import fit, train_ddp, train_zero, weights

    runs = {}
    for kind, train in (("ddp", train_ddp), ("zero", train_zero)):
        saved = torch.load(directory / f"{kind}.pt", weights_only=False)
        model, opt = train(rank, world_size, [])
        model.module.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        rows = runs[kind] = []
        fit(model, opt, batches[INTERRUPT:], rank, world_size,
            after_step=lambda t, model, opt, rows=rows: rows.append(weights(model)))
    return {kind: torch.stack(rows) for kind, rows in runs.items()}


def test_ddp_and_zero_resume_step_for_step_in_fresh_processes(tmp_path):
    if not torch.distributed.is_available():
        pytest.skip("this torch has no torch.distributed")
    from recipes import global_batches

    data = global_batches(steps=STEPS)
    whole = run_ranks(interrupted_runs, tmp_path / "whole", args=(data, tmp_path))
    resumed = run_ranks(resumed_runs, tmp_path / "resumed", args=(data, tmp_path))
    for kind in ("ddp", "zero"):
        assert torch.equal(whole[0][kind], whole[1][kind])
        assert torch.equal(resumed[0][kind], resumed[1][kind])
        # Other processes: equal up to rounding, as above (bitwise on this machine).
        torch.testing.assert_close(resumed[0][kind], whole[0][kind][INTERRUPT:], rtol=1e-12,
                                   atol=0, msg=kind)
