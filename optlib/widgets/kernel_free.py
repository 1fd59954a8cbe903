"""Kernel-free figures: precomputed frames behind sliders and a play/pause button, in
self-contained HTML that moves in the built book with no Python running."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import itertools
import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from PIL import Image

_ids = itertools.count()
#: The weight above which a kernel-free figure warns (base64 frames, in bytes).
MAX_BYTES = 2_000_000


def frame_png(figure, dpi, colors):
    """One frame: the figure as a PNG with a palette of ``colors`` colours (a third to a
    quarter the bytes of full colour for line art). A figure whose layout is settled (its
    engine the "none" placeholder, as a live explorer's is after its first draw) is drawn
    once, where its artists stand."""
    if not hasattr(figure, "savefig"):
        raise TypeError(f"render must return a matplotlib Figure, got {type(figure).__name__}")
    out = io.BytesIO()  # uncompressed: it is read back at once, and compressed below
    settled = isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine)
    with _layout_kept(figure) if settled else contextlib.nullcontext():
        figure.savefig(out, format="png", dpi=dpi, pil_kwargs={"compress_level": 0})
    plt.close(figure)
    image = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png")
    return out.getvalue()


def _frames(render, arguments, dpi, colors):
    """``frame_png`` of ``render(*args)`` for each tuple of ``arguments``.

    A figure that ``render`` returns again for the next frame keeps the layout its first
    frame was given: its layout engine (constrained layout) runs once, not once per frame,
    so the axes stay where they are while the slider moves.
    """
    frames, previous = [], None
    for args in arguments:
        figure = render(*args)
        again = previous is not None and figure is previous
        with _layout_kept(figure) if again else contextlib.nullcontext():
            frames.append(frame_png(figure, dpi, colors))
        previous = figure
    return frames


@contextlib.contextmanager
def _layout_kept(figure):
    """Draw ``figure`` with its artists where its last layout put them. With no engine at
    all, savefig draws the figure once; with one, even the "none" placeholder, it draws
    it twice, the first time only to let the engine lay it out."""
    engine = figure.get_layout_engine()
    figure.set_layout_engine(None)
    try:
        yield
    finally:
        figure.set_layout_engine(engine)


def _texts(values, fmt):
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    if fmt is None:
        return [f"{v:.3g}" if isinstance(v, int | float | np.number) else str(v) for v in values]
    return [fmt.format(v) for v in values]


class Scrub:
    """Precomputed frames behind one or two sliders: a figure that moves with no kernel.

    Displays as self-contained HTML (``_repr_html_``): a
    ``<div class="optlib-scrub" role="figure">`` named by ``alt``, holding an
    ``<img>`` with the current frame as a base64 PNG ``src``, a play button
    (it steps the first slider), an ``<input type="range">`` per parameter,
    and inline JavaScript with every frame. Nothing outside the HTML is
    referenced. Each display gets its own element ids, so several scrubs share
    a page.

    For screen readers and keyboards (``html`` has the details): the figure's
    name is ``alt``; each slider is labelled by its parameter's name and
    announces the value (not the frame index) as it moves; the image's alt text
    says which values it shows; play is a toggle button (``aria-pressed``) and a
    polite status line says where it paused. Tab reaches every control, arrow
    keys, Home, End and Page Up/Down move a slider, in JupyterLab as well.
    """

    def __init__(self, frames, sliders, interval=200, alt=None):
        self.frames = list(frames)
        self.alt = alt or "A figure with a slider: " + ", ".join(label for label, _ in sliders)
        self.sliders = [(label, list(texts)) for label, texts in sliders]
        shape = [len(texts) for _, texts in self.sliders]
        if int(np.prod(shape)) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames do not fill a grid of shape {shape}")
        self.interval = int(interval)
        size = sum(len(frame) for frame in self.frames) * 4 / 3
        if size > MAX_BYTES:
            warnings.warn(f"the frames take {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB "
                          "a figure should weigh: use fewer values, a smaller figure or a lower "
                          "dpi", stacklevel=3)

    @property
    def nbytes(self):
        """The size of the HTML, in bytes."""
        return len(self.html().encode())

    def __repr__(self):
        shape = " x ".join(str(len(texts)) for _, texts in self.sliders)
        return f"<Scrub: {shape} frames, {self.nbytes / 1e3:.0f} kB>"

    def _repr_html_(self):
        return self.html()

    def frame_alt(self, indices):
        """The alt text of the frame at ``indices`` (one per slider): which values it shows."""
        shown = ", ".join(f"{label} = {texts[j]}"
                          for (label, texts), j in zip(self.sliders, indices, strict=True))
        return f"Frame for {shown}"

    def html(self):
        """The figure as one self-contained HTML fragment.

        Each slider is a ``<label for>`` plus ``<input type="range">`` whose
        ``aria-valuetext`` is the value's text, and which carries
        ``data-lm-suppress-shortcuts`` so that JupyterLab leaves its arrow
        keys alone. The visible value beside it is hidden from screen readers
        (the slider already says it). Moving a slider by hand stops playing.
        """
        digest = hashlib.sha1(b"".join(self.frames[:1]) + repr(self.sliders).encode())
        root = f"optlib-scrub-{digest.hexdigest()[:10]}-{next(_ids)}"
        frames = [base64.b64encode(frame).decode("ascii") for frame in self.frames]
        rows = "".join(_slider_row(f"{root}-{i}", label, texts)
                       for i, (label, texts) in enumerate(self.sliders))
        data = json.dumps({"frames": frames, "texts": [texts for _, texts in self.sliders],
                           "labels": [label for label, _ in self.sliders],
                           "interval": self.interval}).replace("</", "<\\/")
        return (
            f'<div class="optlib-scrub" id="{root}" role="figure" '
            f'aria-label="{html.escape(self.alt)}" '
            f'style="display:inline-block;max-width:100%;position:relative">'
            f'<img src="data:image/png;base64,{frames[0]}" '
            f'alt="{html.escape(self.frame_alt([0] * len(self.sliders)))}" '
            f'style="max-width:100%;height:auto;display:block">'
            f'<div style="display:flex;gap:0.5em;align-items:center;flex-wrap:wrap">'
            f'<button type="button" class="optlib-scrub-play" aria-label="Play" '
            f'aria-pressed="false" style="min-width:2.75em;min-height:2em">{_PLAY}</button>'
            f'<div style="flex:1;min-width:12em">{rows}</div></div>'
            f'<div class="optlib-scrub-status" role="status" style="{_VISUALLY_HIDDEN}"></div>'
            f"<script>{_SCRUB_JS.replace('ROOT', root).replace('DATA', data)}</script></div>"
        )


#: The play button's face while stopped and while playing (its name stays "Play").
_PLAY, _PAUSE = "&#9654;", "&#10074;&#10074;"
#: Out of sight but read by screen readers (the usual "visually hidden" rules).
_VISUALLY_HIDDEN = ("position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;"
                    "overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap")


def _slider_row(input_id, label, texts):
    """One labelled slider and its visible value."""
    return (
        f'<div style="display:grid;grid-template-columns:8em 1fr 5em;gap:0.5em;'
        f'align-items:center"><label for="{input_id}">{html.escape(label)}</label>'
        f'<input type="range" min="0" max="{len(texts) - 1}" step="1" value="0" '
        f'id="{input_id}" aria-valuetext="{html.escape(texts[0])}" data-lm-suppress-shortcuts>'
        f'<span class="optlib-scrub-value" aria-hidden="true">{html.escape(texts[0])}</span>'
        f"</div>"
    )


_SCRUB_JS = """(function () {
  var root = document.getElementById("ROOT"), data = DATA;
  var img = root.querySelector("img"), timer = null;
  var ranges = root.querySelectorAll("input[type=range]");
  var shown = root.querySelectorAll(".optlib-scrub-value");
  var play = root.querySelector(".optlib-scrub-play");
  var status = root.querySelector(".optlib-scrub-status");
  function position() {
    var parts = [];
    for (var i = 0; i < ranges.length; i++) {
      parts.push(data.labels[i] + " = " + data.texts[i][Number(ranges[i].value)]);
    }
    return parts.join(", ");
  }
  function show() {
    var k = 0;
    for (var i = 0; i < ranges.length; i++) {
      var j = Number(ranges[i].value);
      k = k * data.texts[i].length + j;
      shown[i].textContent = data.texts[i][j];
      ranges[i].setAttribute("aria-valuetext", data.texts[i][j]);
    }
    img.src = "data:image/png;base64," + data.frames[k];
    img.alt = "Frame for " + position();
  }
  function stop() {
    clearInterval(timer);
    timer = null;
    play.setAttribute("aria-pressed", "false");
    play.innerHTML = "PLAY";
  }
  function step() {
    if (!root.isConnected) { stop(); return; }
    var first = ranges[0];
    first.value = (Number(first.value) + 1) % data.texts[0].length;
    show();
  }
  for (var i = 0; i < ranges.length; i++) {
    ranges[i].addEventListener("input", function () {
      if (timer !== null) stop();
      show();
    });
    ranges[i].addEventListener("change", show);
  }
  play.addEventListener("click", function () {
    if (timer === null) {
      status.textContent = "";
      timer = setInterval(step, data.interval);
      play.setAttribute("aria-pressed", "true");
      play.innerHTML = "PAUSE";
    } else {
      stop();
      status.textContent = "Paused at " + position();
    }
  });
})();""".replace("PLAY", _PLAY).replace("PAUSE", _PAUSE)


def scrub(render, values, label="value", fmt=None, dpi=80, colors=64, interval=200, alt=None):
    """A kernel-free figure: one frame per value, a slider and play/pause to move through them.

    ``alt`` is the figure's description for a screen reader: one sentence on
    what it shows and what to notice as the slider moves.

    ``render(value)`` returns a matplotlib Figure for that value (a new one,
    or the same one with its artists updated, which keeps the layout of its
    first frame); each is saved as a PNG of
    ``colors`` palette colours at ``dpi`` and closed. ``fmt`` formats the value
    beside the slider (default 3 significant digits). Returns a ``Scrub``,
    which displays as self-contained HTML in Jupyter and in the built book.

    Size: about 10-30 kB a frame at the defaults; keep a figure under 2 MB
    (``scrub.nbytes``) with fewer frames, a smaller figure or a lower dpi.
    """
    values = list(values)
    texts = _texts(values, fmt)
    frames = _frames(render, [(value,) for value in values], dpi, colors)
    return Scrub(frames, [(label, texts)], interval, alt)


def scrub2(render, values1, values2, labels=("p1", "p2"), fmt=None, dpi=80, colors=64,
           interval=200, alt=None):
    """A kernel-free figure over a (p1 x p2) grid: two sliders pick the frame.

    ``render(value1, value2)`` returns a Figure; ``labels`` names the two
    sliders. Play steps the first slider. See ``scrub`` for the rest.
    """
    if isinstance(labels, str) or len(labels) != 2:
        raise ValueError(f"labels must be two names, got {labels!r}")
    values1, values2 = list(values1), list(values2)
    texts1, texts2 = _texts(values1, fmt), _texts(values2, fmt)
    frames = _frames(render, itertools.product(values1, values2), dpi, colors)
    return Scrub(frames, [(labels[0], texts1), (labels[1], texts2)], interval, alt)
