"""optlib.torch.Optimizer under torch.distributed: DDP, ZeRO and FSDP2 on two local processes.

Each run starts two processes joined by the gloo backend through a file
store in a temporary directory (tests/ranks.py); they run the recipes of
tests/recipes.py on the same global batches, each rank on an equal half.
The reference is one process trained on the whole global batches.
"""

import multiprocessing
import shutil
import time

import pytest

import optlib as ol

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this torch has no torch.distributed", allow_module_level=True)
olt = pytest.importorskip("optlib.torch")

from ranks import run_ranks  # noqa: E402
from recipes import (  # noqa: E402
    LR,
    STEPS,
    consolidated_state,
    global_batches,
    mlp,
    one_process,
    train_ddp,
    train_ddp_accumulating,
    train_fsdp2,
    train_zero,
    weights,
)

# Float64 all through. DDP averages two half-batch gradients where one process
# averages the whole batch: the same numbers added in another order, apart by
# a few units of 1e-16 of the terms. Adam's first step divides each gradient
# entry by its own size plus eps, so an entry whose batch gradient nearly
# cancels to about eps = 1e-8 passes its rounding on magnified up to
# lr / eps = 1e6 times: 4.5e-14 relative measured after step 1, and no growth
# over the next 11 steps. 1e-12 leaves 20 times that for other CPUs' kernels.
# Training on one rank's half of a single batch misses by 0.17, summing the
# ranks' gradients instead of averaging them by 2e-3.
RELATIVE = 1e-12


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def fail_on_rank_one(rank, world_size):
    if rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    time.sleep(300)   # rank 0 would outlive the test unless it is ended


def test_a_failing_rank_fails_the_run_and_no_process_is_left(tmp_path):
    start = time.monotonic()
    with pytest.raises(Exception, match="rank 1 fails on purpose"):
        run_ranks(fail_on_rank_one, tmp_path, timeout=280)
    assert multiprocessing.active_children() == []
    assert time.monotonic() - start < 280, "rank 0 must be ended, not waited for"


def eager_runs(rank, world_size, batches):
    """Every eager recipe in one process group (starting processes costs more than training)."""
    ddp, ddp_opt = train_ddp(rank, world_size, batches)
    zero, zero_opt = train_zero(rank, world_size, batches)
    index = {p: i for i, p in enumerate(zero.parameters())}
    zero_bucket_view, _ = train_zero(rank, world_size, batches, parameters_as_bucket_view=True)
    return dict(ddp=weights(ddp), ddp_state=ddp_opt.state_dict(),
                accumulating=weights(train_ddp_accumulating(rank, world_size, batches)[0]),
                zero=weights(zero), zero_owned=sorted(index[p] for p in zero_opt.optim.state),
                zero_state=consolidated_state(zero_opt, rank),
                zero_bucket_view=weights(zero_bucket_view))


@pytest.fixture(scope="module")
def eager(tmp_path_factory):
    return run_ranks(eager_runs, tmp_path_factory.mktemp("eager"), args=(global_batches(),))


@pytest.fixture(scope="module")
def reference():
    return one_process(global_batches(world_size=2))


def test_ddp_ranks_agree_bitwise_and_equal_one_process(eager, reference):
    first, second = (ranks["ddp"] for ranks in eager)
    assert torch.equal(first, second)
    assert (reference - weights(mlp())).abs().max() > 0.01, "the run must move to mean much"
    assert relative_error(first, reference) < RELATIVE


def test_no_sync_accumulation_equals_one_large_batch(eager, reference):
    first, second = (ranks["accumulating"] for ranks in eager)
    assert torch.equal(first, second)
    assert relative_error(first, reference) < RELATIVE


def test_zero_shards_whole_parameters_disjoint_covering_and_balanced(eager):
    owned = [set(ranks["zero_owned"]) for ranks in eager]
    sizes = [p.numel() for p in mlp().parameters()]
    assert all(owned), "each rank must hold some of the state"
    assert not owned[0] & owned[1]
    assert owned[0] | owned[1] == set(range(len(sizes)))
    loads = [sum(sizes[i] for i in indices) for indices in owned]
    # ZeRO deals the tensors out largest first, each to the least loaded rank,
    # so the loads differ by at most the largest tensor (3,072 of 5,962 entries;
    # one rank holding everything would miss the bound by twice that).
    assert max(loads) - min(loads) <= max(sizes)


def test_zero_trains_like_the_unsharded_optimizer(eager):
    for key in ("zero", "zero_bucket_view"):
        first, second = (ranks[key] for ranks in eager)
        assert torch.equal(first, second), key
        assert relative_error(first, eager[0]["ddp"]) < RELATIVE, key


def test_zero_consolidated_state_dict_holds_every_parameter(eager):
    zero, unsharded = eager[0]["zero_state"], eager[0]["ddp_state"]
    assert eager[1]["zero_state"] is None
    assert sorted(zero["state"]) == sorted(unsharded["state"]) == list(range(6))
    for index, expected in unsharded["state"].items():
        got = zero["state"][index]
        assert got["count"] == expected["count"] == STEPS
        for name in ("m", "v"):
            assert relative_error(got[name], expected[name]) < RELATIVE, (index, name)


def has_cpp_compiler():
    return any(shutil.which(name) for name in ("g++", "c++", "clang++"))


def compiled_ddp_run(rank, world_size, batches):
    return weights(train_ddp(rank, world_size, batches, compile=True)[0])


@pytest.mark.skipif(not has_cpp_compiler(), reason="compile=True on CPU needs a C++ compiler "
                                                   "(torch.compile's inductor backend)")
def test_ddp_with_the_compiled_rule(tmp_path, reference):
    first, second = run_ranks(compiled_ddp_run, tmp_path, args=(global_batches(),))
    assert torch.equal(first, second)
    # The compiled kernel may fuse a multiply and an add (one rounding fewer):
    # it equals the eager rule up to rounding, as DDP equals one process.
    assert relative_error(first, reference) < RELATIVE


def fsdp2_run(rank, world_size, batches):
    model, opt = train_fsdp2(rank, world_size, batches)
    try:
        olt.Optimizer(model.parameters(), ol.chain(ol.clip_by_global_norm(1.0), ol.adam(LR)))
        refusal = None
    except ValueError as error:
        refusal = str(error)
    return dict(full=torch.cat([p.full_tensor().reshape(-1) for p in model.parameters()]),
                state_entries=sum(opt.state[p]["m"].numel() for p in model.parameters()),
                refusal=refusal)


def test_fsdp2_steps_the_local_shards(tmp_path, reference):
    first, second = run_ranks(fsdp2_run, tmp_path, args=(global_batches(),))
    assert torch.equal(first["full"], second["full"])
    assert relative_error(first["full"], reference) < RELATIVE
    total = sum(p.numel() for p in mlp().parameters())
    # Each rank keeps the moments of its own shards only (every tensor cut in two by rows).
    assert first["state_entries"] + second["state_entries"] == total
    assert first["state_entries"] == second["state_entries"]
    assert "elementwise" in first["refusal"] and "clip_grad_norm_" in first["refusal"]
