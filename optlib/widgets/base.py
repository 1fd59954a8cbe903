"""What every live explorer shares: the Explorer class (controls, blitting, the
static snapshot of the book build), slider and dropdown helpers, and the panel of
contours with a start point that most explorers put on the left."""

from __future__ import annotations

import contextlib
import io

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .. import functions, plotting
from ..static import STATIC_ENV, static_mode
from .kernel_free import frame_png, scrub, scrub2

__all__ = ["STATIC_ENV", "STATIC_NOTE", "LIVE_NOTE", "static_mode", "Explorer", "FUNCTIONS"]

#: In the static book (``static_mode()``) an explorer shows this note and a snapshot.
STATIC_NOTE = "This explorer runs live in Jupyter; below is its initial state."
#: Shown under a live explorer: a saved notebook reopened in a new kernel has lost the
#: explorer's state, and Jupyter then shows "Error displaying widget: model not found".
LIVE_NOTE = ("Live explorer: it needs this notebook's running kernel. If it shows "
             "“model not found” (after the notebook was reopened), run this cell again.")


_COS45 = np.sqrt(0.5)
#: The 2-D test functions the explorers offer, each with a start point worth watching.
#: The valley is a quadratic with curvatures 1 and 100 along the axes; the rotated valley
#: is the same turned by 45 degrees, with its start point turned with it.
FUNCTIONS = {
    "rosenbrock": (functions.rosenbrock, (-1.2, 1.0)),
    "beale": (functions.beale, (1.0, 1.4)),
    "himmelblau": (functions.himmelblau, (-0.3, -0.8)),
    "six_hump_camel": (functions.six_hump_camel, (-1.2, 0.9)),
    "rastrigin": (functions.rastrigin, (2.3, 2.1)),
    "saddle": (functions.saddle, (-1.5, 0.05)),
    "monkey_saddle": (functions.monkey_saddle, (0.8, 0.6)),
    "valley": (lambda: functions.ill_conditioned(100.0), (-1.2, 0.7)),
    "rotated_valley": (lambda: functions.ill_conditioned(100.0, angle=np.pi / 4),
                       (-1.2 * _COS45 - 0.7 * _COS45, -1.2 * _COS45 + 0.7 * _COS45)),
}


# ---------------------------------------------------------------- the live explorer


class Explorer:
    """A live figure: ``controls`` (name -> ipywidget), ``update()``, and ``widget``.

    A subclass makes its artists, marks the ones that move with ``_moving``,
    and implements ``_refresh()``: read the controls, recompute, set the moving
    artists' data, and return True when something else (contours, limits,
    legend) changed so the cached background must be redrawn.
    """

    def __init__(self, controls, ncols=2, figsize=(9.0, 3.6), dpi=80):
        plotting.style()
        self.controls = controls
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(1, ncols, squeeze=False)[0]
        self._moving = []
        self._background = None
        self._holding = False
        self._image = ipywidgets.Image(format="png")
        boxes = ipywidgets.HBox(list(controls.values()),
                                layout=ipywidgets.Layout(flex_flow="row wrap"))
        self.widget = ipywidgets.VBox([boxes, self._image])

    def _start(self):
        """Call at the end of a subclass's __init__: draw once, then follow the controls."""
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def _move(self, *artists):
        """Mark artists (lines, texts, whole Axes) as redrawn on every update."""
        for artist in artists:
            artist.set_animated(True)
            self._moving.append(artist)
        return artists[0] if len(artists) == 1 else artists

    @contextlib.contextmanager
    def _hold(self):
        """Change several controls at once with one update at the end."""
        holding, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = holding

    def _on_change(self, change):
        if not self._holding:
            self.update()

    def _new_function(self, change):
        """Follow the function dropdown: new domain, contours and start point."""
        _follow_function(self, change["new"])

    def update(self):
        """Recompute from the controls and redraw the moving artists over the background."""
        background_changed = self._refresh()
        canvas = self.fig.canvas
        if background_changed or self._background is None:
            canvas.draw()
            self.fig.set_layout_engine("none")
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._moving:
            self.fig.draw_artist(artist)
        self._image.value = self._png()

    def _png(self):
        """The canvas as it now stands, a PNG of 128 palette colours: encoding it takes half
        the time of full colour, and it is a third of the bytes to send to the browser."""
        canvas = self.fig.canvas
        rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        palette = rgba.convert("RGB").quantize(128, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        palette.save(out, format="png", compress_level=1)
        return out.getvalue()

    def snapshot(self, dpi=100, colors=256):
        """The whole figure (moving artists included) as PNG bytes with a palette of
        ``colors`` colours (0 for full colour)."""
        with self._drawn_in_full():
            png = frame_png(self.fig, dpi, colors)
        self._background = None  # savefig drew with a renderer of its own
        return png

    @contextlib.contextmanager
    def _drawn_in_full(self):
        """Let a plain draw (savefig) include the moving artists, which blitting marks as
        animated and a plain draw would otherwise leave out."""
        for artist in self._moving:
            artist.set_animated(False)
        try:
            yield
        finally:
            for artist in self._moving:
                artist.set_animated(True)

    def show(self):
        """Display the live controls, or during the book build (``OPTLIB_STATIC=1``) a
        snapshot of the initial state with a one-line note."""
        from IPython.display import HTML, display
        from IPython.display import Image as PNG

        if static_mode():
            display(HTML(f'<p class="optlib-static-note"><em>{STATIC_NOTE}</em></p>'))
            display(PNG(data=self.snapshot(), format="png"))
        else:
            display(self.widget)
            display(HTML(f'<p class="optlib-live-note"><small>{LIVE_NOTE}</small></p>'))

    def _ipython_display_(self):
        self.show()

    def scrub(self, control, values, fmt=None, **scrub_kw):
        """A kernel-free figure of this explorer: one frame per value of one control."""
        return self._frames(scrub, [control], [values], fmt=fmt, **scrub_kw)

    def scrub2(self, control1, values1, control2, values2, **scrub_kw):
        """A kernel-free figure over a grid of values of two controls."""
        return self._frames(scrub2, [control1, control2], [values1, values2], **scrub_kw)

    def _frames(self, make, names, grids, **scrub_kw):
        for name in names:
            if name not in self.controls:
                raise ValueError(f"control must be one of {sorted(self.controls)}, got {name!r}")
        saved = [self.controls[name].value for name in names]

        def render(*values):
            with self._hold():
                for name, value in zip(names, values, strict=True):
                    self.controls[name].value = value
            self._refresh()
            return self.fig

        labels = [self.controls[name].description or name for name in names]
        try:
            with self._drawn_in_full():
                return make(render, *grids, labels[0] if len(labels) == 1 else labels,
                            **scrub_kw)
        finally:
            with self._hold():
                for name, value in zip(names, saved, strict=True):
                    self.controls[name].value = value
            self._background = None
            self.update()


#: The step of a log slider, in decades: twenty positions a decade.
LOG_STEP = 0.05


def _slider(description, value, low, high, step=None, log=False, readout=".3g"):
    common = dict(description=description, continuous_update=True, readout_format=readout,
                  style={"description_width": "initial"})
    if log:
        return ipywidgets.FloatLogSlider(value=value, base=10, min=_log_grid_start(value, low),
                                         max=np.log10(high), step=LOG_STEP, **common)
    return ipywidgets.FloatSlider(value=value, min=low, max=high,
                                  step=step or (high - low) / 200, **common)


def _log_grid_start(value, low):
    """The exponent where a log slider's grid starts: at most one step above log10(low), and
    a whole number of steps below log10(value), so that the slider's positions include the
    default itself (the browser snaps the value to a position: 0.5 would read 0.501)."""
    steps = (np.log10(value) - np.log10(low)) / LOG_STEP
    return float(np.log10(value) - np.floor(steps + 1e-9) * LOG_STEP)


def _dropdown(description, options, value):
    return ipywidgets.Dropdown(description=description, options=options, value=value)


def _point_sliders(f, point):
    """Sliders for the two coordinates of a point, each over its side of ``f.domain``."""
    return tuple(_slider(name, value, low, high, readout=".2f")
                 for name, value, (low, high) in zip("xy", point, f.domain, strict=True))


def _move_slider(slider, low, high, value):
    """Give a slider a new range and value, in an order the slider always accepts."""
    slider.min, slider.max = min(low, slider.min), max(high, slider.max)
    slider.value = value
    slider.min, slider.max = low, high
    slider.step = (high - low) / 200


def _decade_above(values):
    """The smallest power of ten above the finite values."""
    return 10.0 ** np.ceil(np.log10(np.nanmax(values)))


class _FunctionPanel:
    """The left panel most explorers share: contours of f, its minima, and a start marker.

    ``show(f)`` replaces the contours when the function changes and says whether it did.
    """

    def __init__(self, explorer, ax):
        self.ax, self.f = ax, None
        self.contours = None
        self.minima = ax.plot([], [], "*", color=plotting.INK, markersize=9, zorder=3)[0]
        self.start = explorer._move(ax.plot([], [], "o", color=plotting.INK, zorder=5)[0])

    def show(self, f):
        if f is self.f:
            return False
        if self.contours is not None:
            self.contours.remove()
        self.contours = plotting.contour(f, self.ax, resolution=100, minima=False)
        self.minima.set_data(*(np.asarray(f.minima).T if f.minima is not None else ([], [])))
        self.f = f
        return True


class _Functions:
    """The objectives behind a function dropdown, each built once."""

    def __init__(self, names):
        unknown = set(names) - set(FUNCTIONS)
        if unknown:
            raise ValueError(f"functions must be among {sorted(FUNCTIONS)}, got {sorted(unknown)}")
        self.names = list(names)
        self._built = {}

    def __call__(self, name):
        if name not in self.names:
            raise ValueError(f"function must be one of {self.names}, got {name!r}")
        if name not in self._built:
            self._built[name] = FUNCTIONS[name][0]()
        return self._built[name]

    def dropdown(self, value):
        return _dropdown("function", self.names, value)


def _follow_function(explorer, name):
    """On a new function, move the x/y sliders to its domain and start point (one update)."""
    f = explorer._functions(name)
    (x_lo, x_hi), (y_lo, y_hi) = f.domain
    start = FUNCTIONS[name][1]
    with explorer._hold():
        _move_slider(explorer.controls["x"], x_lo, x_hi, start[0])
        _move_slider(explorer.controls["y"], y_lo, y_hi, start[1])
    return f


