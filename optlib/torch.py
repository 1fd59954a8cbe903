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

Differences from torch.optim, all consequences of the flat buffer: every
parameter of a group takes a step each time (one without a gradient is
stepped with a zero gradient, where torch.optim skips it); ``zero_grad()``
zeroes the gradients in place (``set_to_none=True`` sets them to None, and
the next step copies the new ones in); create the optimizer after moving the
model to its device.

Importing optlib does not import torch; importing optlib.torch does.
"""

from __future__ import annotations

import warnings

import torch

from .inplace import is_elementwise, leaves, rebuild, step_in_blocks
from .optimizers import Transform

__all__ = ["Optimizer", "device", "CPU_BLOCK_SIZE"]

#: Entries per block when an elementwise rule runs eagerly on CPU: large enough
#: that torch's per-operation overhead is small against the work, small enough
#: that a block's operations run in cache (on 20M parameters, Adam: blocks of
#: 131,072 entries step 4x faster than the whole flat tensor at once).
CPU_BLOCK_SIZE = 131_072


def device():
    """``torch.device('cuda')`` when a CUDA GPU is present, else ``torch.device('cpu')``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _FlatBucket:
    """Parameters of one group that share a device and dtype, in one flat buffer.

    ``params`` are rebound to views of ``flat``; their gradients to views of
    ``flat_grad``. ``paths``/``values`` are the leaves of the transform's state
    for the flat vector: tensors of its shape (own buffers, updated in place)
    and scalars (the step count, ...).
    """

    def __init__(self, params, tx, compile):
        self.params, self.tx = params, tx
        first = params[0]
        self.sizes = [p.numel() for p in params]
        total = sum(self.sizes)
        self.flat = torch.empty(total, dtype=first.dtype, device=first.device)
        self.flat_grad = torch.zeros_like(self.flat)
        self.param_views, self.grad_views = [], []
        offset = 0
        for p, size in zip(params, self.sizes, strict=True):
            view = self.flat[offset:offset + size].view(p.shape)
            view.copy_(p.detach())
            p.data = view
            grad_view = self.flat_grad[offset:offset + size].view(p.shape)
            if p.grad is not None:
                grad_view.copy_(p.grad)
            p.grad = grad_view
            self.param_views.append(view)
            self.grad_views.append(grad_view)
            offset += size
        state = tx.init(self.flat)
        self.paths = [path for path, _ in leaves(state)]
        self.is_array = [self._is_array(value) for _, value in leaves(state)]
        # Own, distinct buffers: a rule may start several leaves from one zeros tensor.
        self.values = [value.clone() if is_array else value
                       for (_, value), is_array in zip(leaves(state), self.is_array, strict=True)]
        self.template = state
        # The Python type of each scalar leaf (int for a step count), None for an array.
        self.kinds = [None if a else type(v) for v, a in zip(self.values, self.is_array,
                                                             strict=True)]
        self.compiled = self._compile() if compile else None

    def _is_array(self, value):
        return isinstance(value, torch.Tensor) and value.shape == self.flat.shape

    # ------------------------------------------------------------ per-parameter views

    def param_state(self, i):
        """The state of parameter i: views of the array leaves, Python numbers for the rest."""
        start = sum(self.sizes[:i])
        shape = self.params[i].shape
        return {path: value[start:start + self.sizes[i]].view(shape) if kind is None
                else kind(value.item() if isinstance(value, torch.Tensor) else value)
                for path, value, kind in zip(self.paths, self.values, self.kinds, strict=True)}

    def scalar_leaves(self):
        """``{path: value}`` for the scalar leaves (a 0-d tensor each when compiled)."""
        return {path: value for path, value, kind in zip(self.paths, self.values, self.kinds,
                                                         strict=True) if kind is not None}

    def load(self, per_param):
        """Set the state from ``per_param[i] = {path: value}`` (as ``param_state`` gives)."""
        for path in self.paths:
            if any(path not in entry for entry in per_param):
                raise KeyError(f"the state to load has no entry {path!r}; was it saved by an "
                               f"optimizer with the same transform?")
        values = []
        for path, value, kind in zip(self.paths, self.values, self.kinds, strict=True):
            if kind is None:
                torch.cat([torch.as_tensor(entry[path]).reshape(-1) for entry in per_param],
                          out=value)
            else:
                value = self._scalar(kind(per_param[0][path]))
            values.append(value)
        self.values = values

    def _scalar(self, value):
        """A scalar leaf as the stepping mode wants it: a 0-d float64 tensor when compiled."""
        if self.compiled is None:
            return value
        return torch.tensor(float(value), dtype=torch.float64, device=self.flat.device)

    # ------------------------------------------------------------ stepping

    def gather_grads(self):
        """Make every .grad a view of flat_grad again (copying any gradient that is not)."""
        for p, view, grad_view in zip(self.params, self.param_views, self.grad_views,
                                      strict=True):
            if p.data_ptr() != view.data_ptr():
                if p.shape != view.shape or p.dtype != view.dtype or p.device != view.device:
                    raise RuntimeError("a parameter changed shape, dtype or device after the "
                                       "optimizer was created: create the optimizer after "
                                       "moving the model")
                view.copy_(p.detach())
                p.data = view
            if p.grad is None:
                grad_view.zero_()
            elif p.grad is not grad_view:
                grad_view.copy_(p.grad)
                p.grad = grad_view

    def step(self):
        self.gather_grads()
        if self.compiled is not None:
            self._step_compiled()
        else:
            self._step_eager()

    def _step_eager(self):
        state = rebuild(self.template, self.values)
        if self.flat.device.type == "cpu" and is_elementwise(self.tx):
            new_state = step_in_blocks(self.tx, state, self.flat, self.flat_grad,
                                       CPU_BLOCK_SIZE)
            self.values = [v for _, v in leaves(new_state)]
            return
        step, new_state = self.tx.update(self.flat_grad, state, self.flat)
        self.flat.add_(step)
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

    def _compile(self):
        """Trace ``_apply``; compile its elementwise part, keep its scalar part eager."""
        from torch.fx.experimental.proxy_tensor import make_fx
        from torch.fx.passes.split_module import split_module

        scalars = [torch.tensor(float(v), dtype=torch.float64, device=self.flat.device)
                   for v, a in zip(self.values, self.is_array, strict=True) if not a]
        try:
            graph = make_fx(self._apply, tracing_mode="fake")(
                self.flat, self.flat_grad, *self._merge(scalars))
        except Exception as error:  # noqa: BLE001 - any rule torch cannot trace falls back
            warnings.warn(f"compile=True: the rule could not be traced ({error}); the optimizer "
                          f"runs it eagerly instead", stacklevel=4)
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

    def _step_compiled(self):
        new_scalars = self.compiled(self.flat, self.flat_grad, *self.values)
        self.values = self._merge(new_scalars)


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
    tensors until ``state_dict`` turns them into numbers);
    ``state_dict``/``load_state_dict`` save and restore it (the transforms
    themselves are not saved: the optimizer you load into brings its own).
    """

    def __init__(self, params, tx, compile=False):
        if not isinstance(tx, Transform):
            raise TypeError(f"tx must be an optlib Transform, got {type(tx).__name__}")
        self._compile = bool(compile)
        self._buckets = []
        super().__init__(params, dict(tx=tx))

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
            by_kind.setdefault((p.device, p.dtype), []).append(p)
        buckets = [_FlatBucket(params, group["tx"], self._compile) for params in by_kind.values()]
        self._buckets.append(buckets)
        self._refresh_state(buckets)

    def _refresh_state(self, buckets):
        for bucket in buckets:
            for i, p in enumerate(bucket.params):
                self.state[p] = bucket.param_state(i)

    @torch.no_grad()
    def step(self, closure=None):
        """One step of every group's transform; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for buckets in self._buckets:
            for bucket in buckets:
                bucket.step()
                scalars = bucket.scalar_leaves()
                for p in bucket.params:
                    self.state[p].update(scalars)
        return loss

    def zero_grad(self, set_to_none=False):
        """Zero every gradient in place (or set them to None, as torch.optim does by default)."""
        for buckets in self._buckets:
            for bucket in buckets:
                if set_to_none:
                    for p in bucket.params:
                        p.grad = None
                else:
                    bucket.flat_grad.zero_()

    def state_dict(self):
        for buckets in self._buckets:
            self._refresh_state(buckets)
        saved = super().state_dict()
        saved["param_groups"] = [{k: v for k, v in g.items() if k != "tx"}
                                 for g in saved["param_groups"]]
        return saved

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"the state has {len(groups)} param groups, this optimizer "
                             f"{len(self.param_groups)}")
        state_dict["param_groups"] = [dict(saved, tx=group["tx"])
                                      for saved, group in zip(groups, self.param_groups,
                                                              strict=True)]
        super().load_state_dict(state_dict)
        for buckets in self._buckets:
            for bucket in buckets:
                bucket.load([self.state[p] for p in bucket.params])
            self._refresh_state(buckets)
