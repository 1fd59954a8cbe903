"""The runner: tune each optimizer once at the reference scale, then judge every case.

For each method, one batched run steps every case of the suite with every
learning rate of the method's small grid (the cases are blocks of one long
parameter vector: the methods act coordinate by coordinate, so the blocks do
not interact). The setting that passes the most reference cases, the plain
shapes at scale 1 without noise, is the method's tuned setting (ties go to the
one that reaches the targets in the fewest steps); every case, at every scale,
with every noise, is then judged with that one setting. A case passes when,
over the last tenth of the ``budget`` steps, the mean loss of each of its parts
meets its target (for a noisy case: in more than half of its seeded runs).

    report = run()                        # the standard suite, every method
    report.passed["Adam"]                 # one bool per case
    print(report.summary())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import optimizers
from .cases import NOISE, suite

__all__ = ["Method", "METHODS", "methods", "Run", "Report", "run", "simulate", "BUDGET"]

#: Steps every case is given.
BUDGET = 300


@dataclass(frozen=True)
class Method:
    """An optimizer with one tuned hyperparameter: ``make(lr) -> Transform`` and the grid of
    learning rates it is tuned over (the other hyperparameters stay at their defaults)."""

    make: Callable
    grid: tuple

    def __post_init__(self):
        grid = np.asarray(self.grid, dtype=float)
        if grid.ndim != 1 or grid.size == 0 or np.any(grid <= 0):
            raise ValueError(f"grid must be a non-empty list of learning rates > 0, "
                             f"got {self.grid!r}")


def _decades(low, high, per_decade=2):
    """Learning rates from 10^low to 10^high, ``per_decade`` to a decade."""
    return tuple(float(v) for v in np.logspace(low, high, (high - low) * per_decade + 1))


def methods():
    """The methods of the chapter's table, by name; AdaMax where optlib has it."""
    table = {
        "SGD": Method(lambda lr: optimizers.sgd(lr), _decades(-3, 1)),
        "Momentum": Method(lambda lr: optimizers.sgd(lr, momentum=0.9), _decades(-3, 1)),
        "Nesterov": Method(lambda lr: optimizers.sgd(lr, momentum=0.9, nesterov=True),
                           _decades(-3, 1)),
        "Adagrad": Method(lambda lr: optimizers.adagrad(lr), _decades(-2, 2)),
        "RMSProp": Method(lambda lr: optimizers.rmsprop(lr), _decades(-3, 1)),
        "Adadelta": Method(lambda lr: optimizers.adadelta(lr), _decades(-1, 3)),
        "Adam": Method(lambda lr: optimizers.adam(lr), _decades(-3, 1)),
        "AMSGrad": Method(lambda lr: optimizers.adam(lr, amsgrad=True), _decades(-3, 1)),
    }
    if hasattr(optimizers, "adamax"):
        table["AdaMax"] = Method(lambda lr: optimizers.adamax(lr), _decades(-3, 1))
    table["NAdam"] = Method(lambda lr: optimizers.nadam(lr), _decades(-3, 1))
    return table


#: The methods of the chapter's table (see ``methods``).
METHODS = methods()


@dataclass
class Run:
    """What one batched run of one method recorded, for every (setting, case):
    ``final`` the median over seeds of L_T(theta_T), ``solved`` whether more than half
    of the seeded runs pass (the mean loss of each part over the last tenth of the
    budget meets its target), ``margin`` the median over seeds of the worst part's
    (target - tail mean) / span (> 0 passes; how far a verdict is from flipping),
    ``hit`` the median over seeds of the first step at which the target was met
    (inf if never), ``diverged`` whether every seed blew up."""

    grid: np.ndarray
    final: np.ndarray
    solved: np.ndarray
    hit: np.ndarray
    diverged: np.ndarray
    margin: np.ndarray


@dataclass
class Report:
    """The verdicts of the suite: one tuned setting per method, one verdict per case.

    ``passed[name]``, ``hit[name]``, ``final[name]`` and ``margin[name]`` hold one entry
    per case
    (in the order of ``cases``) at the method's tuned ``settings[name]``;
    ``runs[name]`` keeps every setting of the grid.
    """

    cases: list
    settings: dict = field(default_factory=dict)
    passed: dict = field(default_factory=dict)
    hit: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)
    margin: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    budget: int = BUDGET

    def families(self):
        """The families of cases and the scales, in the order of the summary's columns."""
        columns = []
        for case in self.cases:
            key = _column(case)
            if key not in columns:
                columns.append(key)
        return columns

    def counts(self, name):
        """{column: (passed, of)} for one method."""
        out = {}
        for column in self.families():
            mask = np.array([_column(case) == column for case in self.cases])
            out[column] = (int(self.passed[name][mask].sum()), int(mask.sum()))
        return out

    def summary(self):
        """A fixed-width table: one row per method, passes per column of cases."""
        columns = self.families()
        head = f"{'method':<9} {'lr':>7} " + " ".join(f"{c:>13}" for c in columns) + \
            f" {'all':>7}"
        lines = [head]
        for name in self.settings:
            counts = self.counts(name)
            cells = " ".join(f"{f'{p}/{n}':>13}" for p, n in counts.values())
            total = f"{int(self.passed[name].sum())}/{len(self.cases)}"
            lines.append(f"{name:<9} {self.settings[name]:>7.3g} {cells} {total:>7}")
        return "\n".join(lines)


def _column(case):
    if case.family == "scale":
        return f"scale {case.scale:g}"
    if case.family == "noise":
        return case.noise
    return {"shape": "shapes", "moving": "moving", "composition": "compositions"}[case.family]


class _Simple:
    """The cases made from one shape, laid first in the vector, one coordinate per seed and
    grouped by shape: each step costs one call per shape, whatever the number of cases.
    Their noise is drawn up front as a multiplier and an offset per coordinate."""

    def __init__(self, cases, budget, seed):
        seeds = [case.seeds for case in cases]
        self.size = sum(seeds)

        def per_coordinate(values):
            return np.repeat(np.asarray(values, dtype=float), seeds)

        self.scale = per_coordinate([case.scale for case in cases])
        self.speed = per_coordinate([case.speed for case in cases])
        self.target = per_coordinate([case.targets[0] for case in cases])
        self.span = per_coordinate([case.spans[0] for case in cases])
        self.groups, start = [], 0
        for case, count in zip(cases, seeds, strict=True):
            if self.groups and self.groups[-1][0] is case.shape:
                self.groups[-1][1] = slice(self.groups[-1][1].start, start + count)
            else:
                self.groups.append([case.shape, slice(start, start + count)])
            start += count
        self.multiplier, self.offset = np.ones((budget, self.size)), np.zeros((budget,
                                                                                self.size))
        start = 0
        for case, count in zip(cases, seeds, strict=True):
            if case.noise != "none":
                noise, z = NOISE[case.noise], case.noise_draws(budget, seed)[..., 0]
                self.multiplier[:, start:start + count] = noise.multiplier(z, case.level)
                self.offset[:, start:start + count] = noise.offset(z, case.level)
            start += count

    def gradient(self, x, t):
        u = x[:, :self.size] - self.speed * t
        g = np.empty_like(u)
        for shape, where in self.groups:
            g[:, where] = shape.grad(u[:, where])
        return self.scale * (g * self.multiplier[t] + self.offset[t])

    def progress(self, x, t):
        """The loss of every coordinate at the reference scale, shape (settings, coordinates)."""
        u = x[:, :self.size] - self.speed * t
        value = np.empty_like(u)
        for shape, where in self.groups:
            value[:, where] = shape.value(u[:, where])
        return value


def _layout(cases):
    """The order of the cases in the flat vector (those made from one shape first, grouped
    by shape, then the composed ones) and the slice each takes: seeds times dim entries."""
    shapes = list(dict.fromkeys(case.shape for case in cases if case.shape is not None))
    order = sorted(range(len(cases)), key=lambda k: (
        cases[k].shape is None, shapes.index(cases[k].shape) if cases[k].shape is not None
        else 0, k))
    where, offset = [None] * len(cases), 0
    for k in order:
        where[k] = slice(offset, offset + cases[k].seeds * cases[k].dim)
        offset += cases[k].seeds * cases[k].dim
    return order, where, offset


class _Tally:
    """Per case: the first step at its target and the sum of its parts' losses over the
    last ``tail`` steps, for every (setting, seed)."""

    def __init__(self, progress, targets, spans, tail, budget):
        self.targets, self.spans, self.tail, self.budget = targets, spans, tail, budget
        self.hit = np.where(np.all(progress <= targets, axis=-1), 0.0, np.inf)
        self.sum = np.zeros(progress.shape)

    def __call__(self, progress, t):
        reached = np.all(progress <= self.targets, axis=-1)
        self.hit[np.isinf(self.hit) & reached] = t
        if t > self.budget - self.tail:
            self.sum += progress

    def passed(self):
        return np.all(self.sum / self.tail <= self.targets, axis=-1)

    def margin(self):
        return np.min((self.targets - self.sum / self.tail) / self.spans, axis=-1)


def simulate(make, grid, cases, budget=BUDGET, seed=0, record=False):
    """Run ``make(lr)`` for every lr of ``grid`` on every case at once; return a Run.

    ``make`` must build an elementwise transform (every optlib optimizer is),
    so that the cases, laid side by side in one vector, stay independent. The
    settings share each case's noise. With ``record`` the Run also keeps
    ``path``: per case, the iterates, shape (budget + 1, settings, seeds, dim).
    """
    grid = np.asarray(grid, dtype=float)
    tx = make(float(grid[0]) if grid.size == 1 else grid[:, None])
    if not getattr(tx, "elementwise", False):
        raise ValueError("make must build an elementwise transform: the runner lays the "
                         "cases side by side in one vector")
    if int(budget) != budget or budget < 10:
        raise ValueError(f"budget must be an integer >= 10, got {budget!r}")
    order, where, size = _layout(cases)
    single = [k for k in order if cases[k].shape is not None]
    composed = [k for k in order if cases[k].shape is None]
    simple = _Simple([cases[k] for k in single], budget, seed)
    draws = {k: cases[k].noise_draws(budget, seed) for k in composed}
    G, tail = grid.size, max(1, budget // 10)
    x = np.empty((G, size))
    for case, w in zip(cases, where, strict=True):
        x[:, w] = np.tile(case.start, case.seeds)
    state, alive = tx.init(x), np.ones((G, size), dtype=bool)

    def blocks(x):
        return {k: _view(cases[k], x[:, where[k]]) for k in composed}

    tally_simple = _Tally(simple.progress(x, 0)[..., None], simple.target[:, None],
                          simple.span[:, None], tail, budget)
    tally = {k: _Tally(cases[k].progress(view, 0), cases[k].targets, cases[k].spans, tail,
                       budget) for k, view in blocks(x).items()}
    paths = [[_view(case, x[:, w]).copy()] for case, w in zip(cases, where, strict=True)] \
        if record else None
    g = np.empty_like(x)
    with np.errstate(all="ignore"):
        for t in range(budget):
            g[:, :simple.size] = simple.gradient(x, t)
            for k, view in blocks(x).items():
                draw = None if draws[k] is None else draws[k][t]
                g[:, where[k]] = cases[k].gradient(view, t, draw).reshape(G, -1)
            step, state = tx.update(g, state, x)
            x_new = x + step
            alive &= np.isfinite(x_new)
            x = np.where(alive, x_new, x)
            tally_simple(simple.progress(x, t + 1)[..., None], t + 1)
            for k, view in blocks(x).items():
                tally[k](cases[k].progress(view, t + 1), t + 1)
            if record:
                for k, w in enumerate(where):
                    paths[k].append(_view(cases[k], x[:, w]).copy())
        return _verdicts(cases, where, single, tally_simple, tally, x, alive, grid, budget,
                         paths)


def _verdicts(cases, where, single, tally_simple, tally, x, alive, grid, budget, paths):
    """The Run: per (setting, case), the median over seeds of the final loss and of the
    first step at the target, and whether more than half the seeds pass."""
    G, size = grid.size, len(cases)
    offsets = np.cumsum([0] + [cases[k].seeds for k in single])
    for position, k in enumerate(single):
        columns = slice(offsets[position], offsets[position + 1])
        tally[k] = (tally_simple.hit[:, columns], tally_simple.passed()[:, columns],
                    tally_simple.margin()[:, columns])
    finals, margins = np.zeros((G, size)), np.zeros((G, size))
    passed, hits, diverged = np.zeros((G, size), dtype=bool), np.zeros((G, size)), \
        np.zeros((G, size), dtype=bool)
    for k, (case, w) in enumerate(zip(cases, where, strict=True)):
        view = _view(case, x[:, w])
        ok = np.all(_view(case, alive[:, w]), axis=-1)
        hit, tail_passed, margin = tally[k] if isinstance(tally[k], tuple) else \
            (tally[k].hit, tally[k].passed(), tally[k].margin())
        finals[:, k] = np.median(np.where(ok, case.loss(view, budget), np.inf), axis=1)
        passed[:, k] = np.mean(ok & tail_passed, axis=1) > 0.5
        hits[:, k] = np.median(np.where(ok, hit, np.inf), axis=1)
        margins[:, k] = np.median(np.where(ok, margin, -np.inf), axis=1)
        diverged[:, k] = ~ok.any(axis=1)
    result = Run(grid, finals, passed, hits, diverged, margins)
    if paths is not None:
        result.path = [np.array(p) for p in paths]
    return result


def _view(case, block):
    """A case's block of the flat vector, shape (settings, seeds, dim)."""
    return block.reshape(block.shape[0], case.seeds, case.dim)


def _tuned(result, reference, budget):
    """The index of the setting that solves the most reference cases; ties go to the one
    that reaches its targets in the fewest steps in all (a miss counts as the budget + 1)."""
    solved = result.solved[:, reference].sum(axis=1)
    best = np.flatnonzero(solved == solved.max())
    steps = np.minimum(result.hit, budget + 1)[:, reference].sum(axis=1)
    return int(best[np.argmin(steps[best])])


def run(method_table=None, cases=None, budget=BUDGET, seed=0):
    """Tune every method on the reference cases (family 'shape': one shape at scale 1, no
    noise) and judge it on every case with that setting: a Report."""
    method_table = METHODS if method_table is None else method_table
    cases = suite() if cases is None else list(cases)
    if not cases:
        raise ValueError("cases must hold at least one case")
    reference = np.array([case.family == "shape" for case in cases])
    if not reference.any():
        raise ValueError("the cases must include plain shapes (family 'shape') to tune on")
    report = Report(cases, budget=budget)
    for name, method in method_table.items():
        result = simulate(method.make, method.grid, cases, budget, seed)
        best = _tuned(result, reference, budget)
        report.settings[name] = float(result.grid[best])
        report.passed[name] = result.solved[best]
        report.hit[name] = result.hit[best]
        report.final[name] = result.final[best]
        report.margin[name] = result.margin[best]
        report.runs[name] = result
    return report
