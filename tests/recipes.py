"""Recipes for optlib.torch.Optimizer under torch.distributed, and their data.

The functions named ``train_*`` are the recipes that the book's page
"Training at scale with optlib" shows (lines fit its 79-column code
blocks); tests/test_distributed.py and tests/test_checkpoints.py run them
on two local processes (tests/ranks.py). Each takes the rank, the number
of ranks and the global batches, and returns the model and its optimizer.

What they train: a small MLP on the digits data, in float64, each rank on
an equal share of every global batch with a mean-reduced loss, so that one
process trained on the whole global batches is the reference.
"""

import torch
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.functional import cross_entropy
from torch.nn.parallel import DistributedDataParallel

import optlib as ol
import optlib.torch as olt

STEPS = 12
LOCAL_BATCH = 32
LR = 0.01


def mlp(seed=0):
    """64 -> 48 -> 48 -> 10: tensors of similar sizes, for ZeRO to balance."""
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(64, 48), torch.nn.Tanh(),
              torch.nn.Linear(48, 48), torch.nn.Tanh(),
              torch.nn.Linear(48, 10)]
    return torch.nn.Sequential(*layers).to(torch.float64)


def global_batches(world_size=2, steps=STEPS):
    """``steps`` batches of ``world_size * LOCAL_BATCH`` digits, shuffled."""
    X, y = ol.data.digits()
    order = torch.randperm(len(y),
                           generator=torch.Generator().manual_seed(0))
    X, y = torch.as_tensor(X)[order], torch.as_tensor(y)[order]
    size = world_size * LOCAL_BATCH
    return [(X[i * size:(i + 1) * size], y[i * size:(i + 1) * size])
            for i in range(steps)]


def local_share(tensor, rank, world_size):
    """Rank ``rank``'s equal share of a global batch."""
    return tensor.chunk(world_size)[rank]


def fit(model, opt, batches, rank=0, world_size=1, after_step=None):
    """Train each rank on its share of every batch (one process: all of it).

    ``after_step(t, model, opt)``, if given, runs after step t = 1, 2, ...
    """
    for t, (X, y) in enumerate(batches, start=1):
        opt.zero_grad()
        loss = cross_entropy(model(local_share(X, rank, world_size)),
                             local_share(y, rank, world_size))
        loss.backward()   # under DDP: gradients averaged over the ranks
        opt.step()
        if after_step is not None:
            after_step(t, model, opt)
    return model


def weights(model):
    """Every parameter, flattened into one vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def one_process(batches, compile=False):
    """The reference: one process, the whole global batches."""
    model = mlp()
    opt = olt.Optimizer(model.parameters(), ol.adam(LR), compile=compile)
    return weights(fit(model, opt, batches))


# ---------------------------------------------------------------- recipes


def train_ddp(rank, world_size, batches, compile=False):
    """Data parallel: a whole replica per rank, stepped with the mean
    gradient over the ranks."""
    model = DistributedDataParallel(mlp())
    opt = olt.Optimizer(model.parameters(), ol.adam(LR), compile=compile)
    fit(model, opt, batches, rank, world_size)
    return model, opt


def train_ddp_accumulating(rank, world_size, batches, micro_batches=4):
    """DDP, each rank's share in micro-batches: one all-reduce per step."""
    model = DistributedDataParallel(mlp())
    opt = olt.Optimizer(model.parameters(), ol.adam(LR))
    for X, y in batches:
        parts = list(zip(local_share(X, rank, world_size).chunk(micro_batches),
                         local_share(y, rank, world_size).chunk(micro_batches),
                         strict=True))
        opt.zero_grad()
        with model.no_sync():   # accumulate into .grad, no communication
            for X_part, y_part in parts[:-1]:
                loss = cross_entropy(model(X_part), y_part)
                (loss / micro_batches).backward()
        X_part, y_part = parts[-1]
        loss = cross_entropy(model(X_part), y_part)
        (loss / micro_batches).backward()   # this one all-reduces
        opt.step()
    return model, opt


def train_zero(rank, world_size, batches, **zero_options):
    """ZeRO stage 1: each rank keeps the state of some parameters only."""
    model = DistributedDataParallel(mlp())
    opt = ZeroRedundancyOptimizer(model.parameters(),
                                  optimizer_class=olt.Optimizer,
                                  tx=ol.adam(LR), **zero_options)
    fit(model, opt, batches, rank, world_size)
    return model, opt


def consolidated_state(opt, rank):
    """ZeRO's whole state on rank 0 (None elsewhere), ready for torch.save."""
    opt.consolidate_state_dict(to=0)   # every rank takes part
    if rank != 0:
        return None
    state = opt.state_dict()
    for group in state["param_groups"]:
        del group["tx"]   # a Transform is made of functions: not picklable
    return state


def train_fsdp2(rank, world_size, batches):
    """FSDP2: parameters, gradients and state sharded; each rank steps
    its own shards."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (world_size,))
    model = mlp()
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    opt = olt.Optimizer(model.parameters(), ol.adam(LR))
    fit(model, opt, batches, rank, world_size)
    return model, opt
