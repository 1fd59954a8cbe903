"""Kernel-free figures: precomputed frames behind sliders and play/pause buttons, in
self-contained HTML that moves in the built book with no Python running."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

_ids = itertools.count()
#: The weight above which a kernel-free figure warns (base64 frames, in bytes).
MAX_BYTES = 2_000_000


def frame_png(figure, dpi, colors):
    """One frame: the figure as a PNG with a palette of ``colors`` colours (a third to a
    quarter the bytes of full colour for line art)."""
    if not hasattr(figure, "savefig"):
        raise TypeError(f"render must return a matplotlib Figure, got {type(figure).__name__}")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi)
    plt.close(figure)
    image = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png")
    return out.getvalue()


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
    ``<div class="optlib-scrub">`` holding an ``<img>`` with the current frame
    as a base64 PNG ``src``, an ``<input type="range">`` per parameter, play and
    pause buttons (play steps the first slider), and inline JavaScript with
    every frame. Nothing outside the HTML is referenced. Each display gets its
    own element id, so several scrubs share a page.
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

    def html(self):
        """The figure as one self-contained HTML fragment."""
        digest = hashlib.sha1(b"".join(self.frames[:1]) + repr(self.sliders).encode())
        root = f"optlib-scrub-{digest.hexdigest()[:10]}-{next(_ids)}"
        frames = [base64.b64encode(frame).decode("ascii") for frame in self.frames]
        alt = html.escape(self.alt)
        rows = "".join(
            f'<label style="display:grid;grid-template-columns:8em 1fr 5em;gap:0.5em;'
            f'align-items:center"><span>{html.escape(label)}</span>'
            f'<input type="range" min="0" max="{len(texts) - 1}" step="1" value="0" '
            f'aria-label="{html.escape(label)}">'
            f"<output>{html.escape(texts[0])}</output></label>"
            for label, texts in self.sliders
        )
        data = json.dumps({"frames": frames, "texts": [texts for _, texts in self.sliders],
                           "interval": self.interval}).replace("</", "<\\/")
        return (
            f'<div class="optlib-scrub" id="{root}" role="figure" aria-label="{alt}" '
            f'style="display:inline-block;max-width:100%">'
            f'<img src="data:image/png;base64,{frames[0]}" alt="{alt}" '
            f'style="max-width:100%;height:auto;display:block">'
            f'<div style="display:flex;gap:0.5em;align-items:center;flex-wrap:wrap">'
            f'<button type="button" class="optlib-scrub-play" aria-label="play">&#9654;</button>'
            f'<button type="button" class="optlib-scrub-pause" aria-label="pause">'
            f"&#10074;&#10074;</button>"
            f'<div style="flex:1;min-width:12em">{rows}</div></div>'
            f"<script>{_SCRUB_JS.replace('ROOT', root).replace('DATA', data)}</script></div>"
        )


_SCRUB_JS = """(function () {
  var root = document.getElementById("ROOT"), data = DATA;
  var img = root.querySelector("img"), timer = null;
  var ranges = root.querySelectorAll("input[type=range]");
  var outputs = root.querySelectorAll("output");
  function show() {
    var k = 0;
    for (var i = 0; i < ranges.length; i++) {
      var j = Number(ranges[i].value);
      k = k * data.texts[i].length + j;
      outputs[i].textContent = data.texts[i][j];
    }
    img.src = "data:image/png;base64," + data.frames[k];
  }
  for (var i = 0; i < ranges.length; i++) {
    ranges[i].addEventListener("input", show);
    ranges[i].addEventListener("change", show);
  }
  root.querySelector(".optlib-scrub-play").addEventListener("click", function () {
    if (timer !== null) return;
    timer = setInterval(function () {
      var first = ranges[0];
      first.value = (Number(first.value) + 1) % data.texts[0].length;
      show();
    }, data.interval);
  });
  root.querySelector(".optlib-scrub-pause").addEventListener("click", function () {
    clearInterval(timer);
    timer = null;
  });
})();"""


def scrub(render, values, label="value", fmt=None, dpi=80, colors=64, interval=200, alt=None):
    """A kernel-free figure: one frame per value, a slider and play/pause to move through them.

    ``alt`` is the figure's description for a screen reader: one sentence on
    what it shows and what to notice as the slider moves.

    ``render(value)`` returns a matplotlib Figure for that value (a new one,
    or the same one with its artists updated); each is saved as a PNG of
    ``colors`` palette colours at ``dpi`` and closed. ``fmt`` formats the value
    beside the slider (default 3 significant digits). Returns a ``Scrub``,
    which displays as self-contained HTML in Jupyter and in the built book.

    Size: about 10-30 kB a frame at the defaults; keep a figure under 2 MB
    (``scrub.nbytes``) with fewer frames, a smaller figure or a lower dpi.
    """
    values = list(values)
    texts = _texts(values, fmt)
    frames = [frame_png(render(value), dpi, colors) for value in values]
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
    frames = [frame_png(render(a, b), dpi, colors) for a in values1 for b in values2]
    return Scrub(frames, [(labels[0], texts1), (labels[1], texts2)], interval, alt)
