"""Latency of the live explorers: one control change = recompute + redraw + PNG for the widget.

Each explorer takes at least 30 changes, its controls in turn, each to a fresh
value drawn (seeded) from the control's range, as a reader dragging sliders
and picking from dropdowns would (the races keep their racers on: four in the
optimizer race, five in the adaptive race). Prints one line per explorer,

    NAME: median X ms, p90 Y ms (CPU: median x ms, p90 y ms)

then the same numbers against the 50 ms budget, with the time of one full
figure draw (the cost that blitting avoids) as the reference. Wall-clock
times grow with the machine's load; the CPU time of the process (one
thread: BLAS runs on one) is what a quiet machine's wall clock would show.

    MPLBACKEND=Agg .venv/bin/python benchmarks/widget_latency.py
"""

import itertools
import os
import time

import ipywidgets
import numpy as np

import optlib as ol
from optlib import landscape, widgets

BUDGET_MS = 50.0
CHANGES = 36


def fresh_value(control, rng):
    """A value for ``control`` different from its current one."""
    if isinstance(control, ipywidgets.SelectMultiple):
        options = list(control.options)
        size = int(rng.integers(1, len(options) + 1))
        return tuple(sorted(rng.choice(options, size, replace=False), key=options.index))
    if isinstance(control, ipywidgets.Checkbox):
        return not control.value
    if isinstance(control, ipywidgets.Dropdown | ipywidgets.SelectionSlider):
        values = [value for _, value in control._options_full]
        return values[int(rng.integers(len(values)))]
    if isinstance(control, ipywidgets.IntSlider):
        return int(rng.integers(control.min, control.max + 1))
    if isinstance(control, ipywidgets.FloatLogSlider):
        return control.base ** rng.uniform(control.min, control.max)
    return rng.uniform(control.min, control.max)


def latencies(explorer, names, changes=CHANGES, seed=0):
    """Milliseconds per control change, wall-clock and CPU, the named controls in turn."""
    rng = np.random.default_rng(seed)
    times = []
    for name in itertools.islice(itertools.cycle(names), changes * 4):
        control = explorer.controls[name]
        value = fresh_value(control, rng)
        if value == control.value:
            continue
        start, start_cpu = time.perf_counter(), time.process_time()
        control.value = value
        times.append((1e3 * (time.perf_counter() - start),
                      1e3 * (time.process_time() - start_cpu)))
        if len(times) == changes:
            break
    return np.array(times).T


def full_draw_ms(explorer, repeats=10):
    """One complete draw of the explorer's figure, the reference blitting is measured against."""
    canvas = explorer.fig.canvas
    start = time.perf_counter()
    for _ in range(repeats):
        canvas.draw()
    explorer.update()
    return 1e3 * (time.perf_counter() - start) / repeats


def landscape_explorer():
    """The chapter's digits network (64-16-10, ReLU, 400 digits) after 1,000 steps of
    SGD, with every plane computed and drawn once beforehand (``precompute``): a
    change then costs the contours and a redraw, never a new plane. Returns the
    explorer and the CPU seconds of one new 21 x 21 plane."""
    X, y = ol.data.digits()
    X = ol.data.standardize(X[:400])
    model = ol.nn.MLP([64, 16, 10], activation="relu", seed=0)
    loss = landscape.BatchedNetworkLoss(model, X, np.eye(10)[y[:400]], loss="mse")
    run = ol.minimize(loss, model.params, ol.sgd(0.5), steps=1000, batch_size=32,
                      seed=0, tol=0)
    explorer = widgets.LandscapeExplorer(loss, run.history.x[::25], stride=25,
                                         filters=landscape.neuron_filters(model))
    new_plane = explorer.plane("filter", 21)["seconds"]
    explorer.precompute()
    return explorer, new_plane


def main():
    landscapes, new_plane = landscape_explorer()
    explorers = {
        "optimizer race (4 optimizers x 200 steps)": widgets.OptimizerRace(steps=200),
        "quadratic explorer (200 steps)": widgets.QuadraticExplorer(steps=200),
        "momentum explorer (150 steps, rate map)": widgets.MomentumExplorer(steps=150),
        "Taylor explorer": widgets.TaylorExplorer(),
        "Hessian explorer": widgets.HessianExplorer(),
        "schedule explorer (200 steps)": widgets.ScheduleExplorer(steps=200),
        "initialization explorer (up to 50 x 256)": widgets.InitializationExplorer(),
        "adaptive race (5 optimizers x 150 steps)": widgets.AdaptiveRace(steps=150),
        # every (depth, normalization) trained once when made; a change only redraws
        "normalization explorer (precomputed)": widgets.NormalizationExplorer(precompute=True),
        "second-order explorer (6 methods x 60 steps)": widgets.SecondOrderExplorer(steps=60),
        "landscape explorer (digits, planes cached)": landscapes,
        "unit-test explorer (300 steps, 5 seeds)": widgets.UnitTestExplorer(noise="additive"),
    }
    rows = []
    for name, explorer in explorers.items():
        # the races keep their racers running, so every change costs racers x steps;
        # the second-order explorer likewise keeps all six methods
        wall, cpu = latencies(explorer, [c for c in explorer.controls
                                         if c not in ("racers", "methods")])
        median, p90 = np.median(wall), np.percentile(wall, 90)
        cpu_median, cpu_p90 = np.median(cpu), np.percentile(cpu, 90)
        print(f"{name}: median {median:.1f} ms, p90 {p90:.1f} ms "
              f"(CPU: median {cpu_median:.1f} ms, p90 {cpu_p90:.1f} ms)")
        rows.append((name, len(wall), median, p90, cpu_median, cpu_p90,
                     full_draw_ms(explorer)))
    print(f"landscape explorer: one new 21 x 21 plane takes {new_plane:.2f} s of CPU time")
    print()
    print(f"load average over the last minute: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'explorer':<44} {'changes':>7} {'median':>8} {'p90':>8} {'CPU med':>8}"
          f" {'CPU p90':>8} {'full draw':>10} {'median/budget':>14}")
    for name, count, median, p90, cpu_median, cpu_p90, full in rows:
        print(f"{name:<44} {count:>7} {median:>6.1f}ms {p90:>6.1f}ms {cpu_median:>6.1f}ms"
              f" {cpu_p90:>6.1f}ms {full:>8.1f}ms {median / BUDGET_MS:>14.2f}")


if __name__ == "__main__":
    main()
