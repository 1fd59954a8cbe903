"""Any optlib transform as a ``torch.optim.Optimizer``.

    opt = optlib.torch.Optimizer(model.parameters(), ol.adam(1e-3))
    for X, y in loader:
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()

The update rule is the one in optimizers.py, run on torch tensors (it is
written against array-api-compat). To make one step cheap, the parameters of
each param group (per device and dtype) are moved into one flat buffer: every
parameter becomes a view into it, and so does its ``.grad``, so the rule runs
once on the whole flat tensor instead of once per parameter (on CPU, an
elementwise rule runs on blocks of ``CPU_BLOCK_SIZE`` entries that stay in
cache while the rule's dozen operations pass over them). With
``compile=True`` the rule is traced once and compiled by ``torch.compile``
into a single fused kernel (one read and one write of each parameter, gradient
and state entry per step); the scalar part of the rule (bias corrections and
other functions of the step count) is split off and evaluated before the
kernel, so it is computed once per step rather than once per entry.
``FlatStepper`` is that engine on its own: it steps any flat tensor, and so
any NumPy array through ``torch.from_numpy`` (``optlib.inplace`` does).

Parameters whose storage the optimizer does not own are copied into the flat
buffer before each step and back after it: the local shards of sharded
parameters (DTensors, as FSDP2's ``fully_shard`` makes them), and parameters
whose storage was replaced after the optimizer was created (as
``ZeroRedundancyOptimizer(parameters_as_bucket_view=True)`` does). Under
DistributedDataParallel and ZeroRedundancyOptimizer with their defaults
nothing is copied.

Differences from torch.optim, all consequences of the flat buffer: every
parameter of a group takes a step each time (one without a gradient is
stepped with a zero gradient, where torch.optim skips it), and the
parameters of a group share one step count; ``zero_grad()`` zeroes the
gradients in place (``set_to_none=True`` sets them to None, and the next step
copies the new ones in); create the optimizer after moving the model to its
device.

Importing optlib does not import torch; importing optlib.torch does.
"""

from __future__ import annotations

import warnings

import torch

from .inplace import is_elementwise, leaves, rebuild, step_in_blocks
from .optimizers import Transform

__all__ = ["Optimizer", "FlatStepper", "device", "CPU_BLOCK_SIZE"]

#: Entries per block when an elementwise rule runs eagerly on CPU: large enough
#: that torch's per-operation overhead is small against the work, small enough
#: that a block's operations run in cache (on 20M parameters, Adam: blocks of
#: 131,072 entries step 4x faster than the whole flat tensor at once).
CPU_BLOCK_SIZE = 131_072


def device():
    """``torch.device('cuda')`` when a CUDA GPU is present, else ``torch.device('cpu')``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _is_sharded(tensor):
    """Whether ``tensor`` is a DTensor (a sharded or replicated tensor of torch.distributed)."""
    if not torch.distributed.is_available():
        return False
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


def _local(tensor):
    """The tensor this process holds: a DTensor's local shard, any other tensor itself."""
    return tensor.to_local() if _is_sharded(tensor) else tensor


class FlatStepper:
    """x <- x + step(g), in place, on one flat tensor ``x``, with the state kept beside it.

    The state's array leaves (``m``, ``v``, ...) are buffers the shape of x,
    updated in place; its scalar leaves (the step count, NAdam's product of
    momenta) are Python numbers, or 0-d float64 tensors once compiled. Eager,
    an elementwise rule on CPU runs on blocks of ``CPU_BLOCK_SIZE`` entries;
    with ``compile=True`` the rule runs as one kernel compiled by
    ``torch.compile`` (traced with ``g_like``, a tensor like the gradients to
    come; a rule torch cannot trace runs eagerly, with a warning).
    """

    def __init__(self, x, tx, compile=False, g_like=None):
        if x.dim() != 1:
            raise ValueError(f"x must be a flat (1-D) tensor, got shape {tuple(x.shape)}")
        self.x, self.tx = x, tx
        state = tx.init(x)
        pairs = leaves(state)
        self.paths = [path for path, _ in pairs]
        self.is_array = [isinstance(v, torch.Tensor) and v.shape == x.shape for _, v in pairs]
        # Own, distinct buffers: a rule may start several leaves from one zeros tensor.
        self.values = [v.clone() if a else v for (_, v), a in zip(pairs, self.is_array,
                                                                  strict=True)]
        # The Python type of each scalar leaf (int for a step count), None for an array.
        self.kinds = [None if a else type(v) for v, a in zip(self.values, self.is_array,
                                                             strict=True)]
        self.template = state
        self.compiled = None
        if compile:
            self.compiled = self._compile(torch.empty_like(x) if g_like is None else g_like)

    # ------------------------------------------------------------ the state

    def entries(self, start, stop, shape):
        """The state of ``x[start:stop]`` as ``{path: value}``: views of the array leaves
        (reshaped to ``shape``), Python numbers for the scalar ones."""
        return {path: value[start:stop].view(shape) if kind is None
                else kind(value.item() if isinstance(value, torch.Tensor) else value)
                for path, value, kind in zip(self.paths, self.values, self.kinds, strict=True)}

    def scalars(self):
        """``{path: value}`` for the scalar leaves (a 0-d tensor each when compiled)."""
        return {path: value for path, value, kind in zip(self.paths, self.values, self.kinds,
                                                         strict=True) if kind is not None}

    def set_scalars(self, scalars):
        """Set the scalar leaves from ``{path: number}``."""
        self.values = [value if kind is None else self._scalar(kind(scalars[path]))
                       for path, value, kind in zip(self.paths, self.values, self.kinds,
                                                    strict=True)]

    def _scalar(self, value):
        """A scalar leaf as the stepping mode wants it: a 0-d float64 tensor when compiled."""
        if self.compiled is None:
            return value
        return torch.tensor(float(value), dtype=torch.float64, device=self.x.device)

    # ------------------------------------------------------------ stepping

    def step(self, g):
        """x <- x + step(g) in place; ``g`` is a tensor of the shape, dtype and device of x."""
        if self.compiled is not None:
            self.values = self._merge(self.compiled(self.x, g, *self.values))
        elif self.x.device.type == "cpu" and is_elementwise(self.tx):
            state = rebuild(self.template, self.values)
            new_state = step_in_blocks(self.tx, state, self.x, g, CPU_BLOCK_SIZE)
            self.values = [v for _, v in leaves(new_state)]
        else:
            state = rebuild(self.template, self.values)
            step, new_state = self.tx.update(g, state, self.x)
            self.x.add_(step)
            self.values = self._write_back(self.values, [v for _, v in leaves(new_state)])

    def _write_back(self, old_values, new_values):
        """Copy new array leaves into the old buffers; return the leaves to keep."""
        kept = []
        for old, new, is_array in zip(old_values, new_values, self.is_array, strict=True):
            if is_array and new is not old:
                old.copy_(new)
            kept.append(old if is_array else new)
        return kept

    def _apply(self, x, g, *values):
        """One step in place, for tracing: returns the new scalar leaves as tensors."""
        state = rebuild(self.template, values)
        step, new_state = self.tx.update(g, state, x)
        x.add_(step)
        kept = self._write_back(list(values), [v for _, v in leaves(new_state)])
        return tuple(torch.as_tensor(v, dtype=torch.float64, device=x.device)
                     for v, a in zip(kept, self.is_array, strict=True) if not a)

    def _compile(self, g_like):
        """Trace ``_apply``; compile its elementwise part, keep its scalar part eager."""
        from torch.fx.experimental.proxy_tensor import make_fx
        from torch.fx.passes.split_module import split_module

        scalars = [torch.tensor(float(v), dtype=torch.float64, device=self.x.device)
                   for v, a in zip(self.values, self.is_array, strict=True) if not a]
        try:
            graph = make_fx(self._apply, tracing_mode="fake")(
                self.x, g_like, *self._merge(scalars))
        except Exception as error:  # noqa: BLE001 - any rule torch cannot trace falls back
            warnings.warn(f"compile=True: the rule could not be traced ({error}); it runs "
                          f"eagerly instead", stacklevel=3)
            return None
        scalar_side = _scalar_nodes(graph)
        split = split_module(graph, graph, lambda node: 0 if node in scalar_side else 1)
        if hasattr(split, "submod_1"):
            split.submod_1 = torch.compile(split.submod_1, fullgraph=True, dynamic=False)
        self.values = self._merge(scalars)
        return split

    def _merge(self, scalars):
        """The leaves with the scalar ones replaced by ``scalars``."""
        scalars = iter(scalars)
        return [v if a else next(scalars) for v, a in zip(self.values, self.is_array,
                                                          strict=True)]


def _scalar_nodes(graph):
    """Nodes of a traced graph that compute 0-d values from 0-d values only.

    They form the scalar part of a rule (functions of the step count and the
    hyperparameters): evaluated once per step, apart from the kernel that
    touches every entry.
    """
    scalar = set()
    for node in graph.graph.nodes:
        value = node.meta.get("val")
        zero_dim = not isinstance(value, torch.Tensor) or value.dim() == 0
        if node.op == "placeholder" and zero_dim:
            scalar.add(node)
        elif node.op in ("call_function", "get_attr") and zero_dim \
                and all(n in scalar for n in node.all_input_nodes):
            scalar.add(node)
    return scalar


class _FlatBucket:
    """Parameters of one group that share a device and dtype, stepped as one flat tensor.

    A plain parameter is rebound to a view of ``flat`` and its gradient to a
    view of ``flat_grad``, so nothing is copied per step. The local shard of
    a sharded parameter, or a parameter whose storage someone replaced later,
    is copied into ``flat`` before the step and back after it.
    """

    def __init__(self, params, tx, compile):
        self.params = params
        shards = [_local(p.detach()) for p in params]
        self.shapes = [shard.shape for shard in shards]
        self.sizes = [shard.numel() for shard in shards]
        self.starts = [sum(self.sizes[:i]) for i in range(len(params))]
        self.flat = torch.empty(sum(self.sizes), dtype=shards[0].dtype, device=shards[0].device)
        self.flat_grad = torch.zeros_like(self.flat)
        self.param_views = [self._view(self.flat, i) for i in range(len(params))]
        self.grad_views = [self._view(self.flat_grad, i) for i in range(len(params))]
        for p, shard, view, grad_view in zip(params, shards, self.param_views, self.grad_views,
                                             strict=True):
            view.copy_(shard)
            if p.grad is not None:
                grad_view.copy_(_local(p.grad))
            if not _is_sharded(p):
                p.data = view
                p.grad = grad_view
        self.stepper = FlatStepper(self.flat, tx, compile, g_like=self.flat_grad)

    def _view(self, flat, i):
        return flat[self.starts[i]:self.starts[i] + self.sizes[i]].view(self.shapes[i])

    def param_state(self, i):
        """The state of parameter i: views of the array leaves, Python numbers for the rest."""
        return self.stepper.entries(self.starts[i], self.starts[i] + self.sizes[i],
                                    self.shapes[i])

    def load(self, entries):
        """Copy ``entries[i] = {path: value}`` (as ``param_state`` gives) into parameter i's state.

        Refuses, with a ValueError that says why, a state saved by a different
        transform (other leaves) or for other parameters (other shapes).
        """
        expected = set(self.stepper.paths)
        scalars = {}
        for i, entry in entries.items():
            if set(entry) != expected:
                raise ValueError(
                    f"state_dict: parameter {i} of the group has state entries "
                    f"{sorted(entry)}, this optimizer's transform keeps {sorted(expected)}: "
                    f"the state was saved by a different transform")
            for path, is_array in zip(self.stepper.paths, self.stepper.is_array, strict=True):
                if is_array:
                    self._load_array(i, path, _local(torch.as_tensor(entry[path])))
                else:
                    scalars.setdefault(path, set()).add(float(entry[path]))
        for path, values in scalars.items():
            if len(values) > 1:
                raise ValueError(f"state_dict: the parameters of a group share their {path!r}, "
                                 f"the state to load has several: {sorted(values)}")
        self.stepper.set_scalars({path: values.pop() for path, values in scalars.items()})

    def _load_array(self, i, path, value):
        if tuple(value.shape) != tuple(self.shapes[i]):
            raise ValueError(
                f"state_dict: the state {path!r} of parameter {i} of the group has shape "
                f"{tuple(value.shape)}, the parameter {tuple(self.shapes[i])}: the state was "
                f"saved for other parameters")
        self.stepper.entries(self.starts[i], self.starts[i] + self.sizes[i],
                             self.shapes[i])[path].copy_(value)

    def step(self):
        elsewhere = self.gather()
        self.stepper.step(self.flat_grad)
        for shard, view in elsewhere:
            shard.copy_(view)

    def gather(self):
        """Copy into the flat buffers what does not live there already.

        Returns ``[(storage, view)]`` for the parameters to copy back after the
        step. A plain parameter's new gradient is rebound to its view of
        ``flat_grad`` (so the next backward pass accumulates there).
        """
        elsewhere = []
        for p, view, grad_view in zip(self.params, self.param_views, self.grad_views,
                                      strict=True):
            shard = _local(p)
            if shard.data_ptr() != view.data_ptr():
                if shard.shape != view.shape or shard.dtype != view.dtype \
                        or shard.device != view.device:
                    raise RuntimeError("a parameter changed shape, dtype or device after the "
                                       "optimizer was created: create the optimizer after "
                                       "moving the model")
                view.copy_(shard)
                elsewhere.append((shard, view))
            if p.grad is None:
                grad_view.zero_()
            elif p.grad is not grad_view:
                grad_view.copy_(_local(p.grad))
                if not _is_sharded(p):
                    p.grad = grad_view
        return elsewhere

    def zero_grad(self, set_to_none):
        self.flat_grad.zero_()
        for p, grad_view in zip(self.params, self.grad_views, strict=True):
            if set_to_none:
                p.grad = None
            elif p.grad is not None and p.grad is not grad_view:
                p.grad.zero_()


class Optimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that steps with an optlib transform.

    Parameters
    ----------
    params : an iterable of tensors or of param-group dicts, as for any torch
        optimizer; a group may carry its own ``tx``.
    tx : the optlib Transform (``ol.adam(1e-3)``, ``ol.chain(...)``).
    compile : compile the rule into one fused kernel with ``torch.compile``
        (needs a C++ compiler on CPU, Triton on CUDA; the first step takes
        seconds; about as fast as torch.optim's fused step after that). Off
        by default: the rule then runs eagerly on each group's flat buffer.

    ``state[p]`` holds, for each parameter, views into the flat state (one
    entry per leaf of the transform's state, e.g. ``count``, ``m``, ``v``,
    ``v_max`` for Adam; with ``compile=True`` the scalar leaves are 0-d
    tensors until ``state_dict`` turns them into numbers); for a sharded
    parameter, of its local shard. ``state_dict``/``load_state_dict`` save
    and restore it (the transforms themselves are not saved: the optimizer
    you load into brings its own); a state written into ``state[p]`` from
    outside (as ``ZeroRedundancyOptimizer.load_state_dict`` does) is loaded
    at the next step. Either way a state saved by another transform, or for
    parameters of other shapes, is refused with a ValueError.

    Sharded parameters (DTensors, as FSDP2's ``fully_shard`` makes them) are
    stepped shard by shard, which needs an elementwise transform: a
    ``clip_by_global_norm`` would see only this process's shard (clip with
    ``torch.nn.utils.clip_grad_norm_`` before the step instead). Under
    ``ZeroRedundancyOptimizer`` each process likewise holds only some of
    the parameters.
    """

    def __init__(self, params, tx, compile=False):
        if not isinstance(tx, Transform):
            raise TypeError(f"tx must be an optlib Transform, got {type(tx).__name__}")
        self._compile = bool(compile)
        self._buckets = []
        self._views = {}
        super().__init__(params, dict(tx=tx))

    @torch.no_grad()
    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if not isinstance(group["tx"], Transform):
            raise TypeError(f"a param group's tx must be an optlib Transform, got "
                            f"{type(group['tx']).__name__}")
        by_kind = {}
        for p in group["params"]:
            if p.is_sparse:
                raise ValueError("sparse parameters are not supported")
            sharded = _is_sharded(p)
            if sharded and not is_elementwise(group["tx"]):
                raise ValueError("tx must be elementwise for sharded (DTensor) parameters: each "
                                 "process steps only its shard, so a clip_by_global_norm would "
                                 "use the norm of the shard; clip with "
                                 "torch.nn.utils.clip_grad_norm_ before the step instead")
            by_kind.setdefault((p.device, p.dtype, sharded), []).append(p)
        buckets = [_FlatBucket(params, group["tx"], self._compile) for params in by_kind.values()]
        self._buckets.append(buckets)
        self._refresh_state(buckets)

    def _refresh_state(self, buckets):
        for bucket in buckets:
            for i, p in enumerate(bucket.params):
                self.state[p] = self._views[p] = bucket.param_state(i)

    def _load_replaced_state(self, bucket):
        """Load the entries of ``state`` that were replaced from outside into the flat state."""
        replaced = {i: self.state.get(p, {}) for i, p in enumerate(bucket.params)
                    if self.state.get(p) is not self._views[p]}
        if replaced:
            bucket.load(replaced)
            self._refresh_state([bucket])

    @torch.no_grad()
    def step(self, closure=None):
        """One step of every group's transform; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for buckets in self._buckets:
            for bucket in buckets:
                self._load_replaced_state(bucket)
                bucket.step()
                scalars = bucket.stepper.scalars()
                for p in bucket.params:
                    self.state[p].update(scalars)
        return loss

    def zero_grad(self, set_to_none=False):
        """Zero every gradient in place (or set them to None, as torch.optim does by default)."""
        for buckets in self._buckets:
            for bucket in buckets:
                bucket.zero_grad(set_to_none)

    def state_dict(self):
        for buckets in self._buckets:
            self._refresh_state(buckets)
        saved = super().state_dict()
        saved["param_groups"] = [{k: v for k, v in g.items() if k != "tx"}
                                 for g in saved["param_groups"]]
        return saved

    @torch.no_grad()
    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(groups)} param groups, this optimizer "
                             f"{len(self.param_groups)}")
        state_dict["param_groups"] = [dict(saved, tx=group["tx"])
                                      for saved, group in zip(groups, self.param_groups,
                                                              strict=True)]
        super().load_state_dict(state_dict)
        for buckets in self._buckets:
            for bucket in buckets:
                self._load_replaced_state(bucket)
