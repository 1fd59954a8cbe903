"""Figures a reader can move: live explorers for Jupyter, kernel-free figures for the HTML.

**Live explorers** are small classes (``OptimizerRace``, ``AdaptiveRace``,
``QuadraticExplorer``, ``MomentumExplorer``, ``TaylorExplorer``, ``HessianExplorer``,
``ScheduleExplorer``, ``InitializationExplorer``, ``NormalizationExplorer``,
``SecondOrderExplorer``, ``LandscapeExplorer``, ``UnitTestExplorer``). Each has its
controls in ``ex.controls`` (name -> ipywidget), an ``update()`` that
recomputes through batched optlib calls and moves the existing artists
(``set_data``), and ``ex.widget`` to display. The figure is drawn by Agg and
shown as an ``ipywidgets.Image``, so explorers work in plain Jupyter with no
``%matplotlib widget``; only the moving artists are redrawn over a cached
background (blitting), which keeps an update within a few tens of milliseconds.

    ex = ol.widgets.QuadraticExplorer(kappa=20)
    ex.show()          # live controls in Jupyter; a static snapshot in the built book

**The book build** sets the environment variable ``OPTLIB_STATIC=1``. Then
``show()`` (and displaying an explorer) gives the figure's initial state with
the note "This explorer runs live in Jupyter; below is its initial state."
instead of controls that no Python would answer.

**Kernel-free figures**: ``scrub(render, values, label)`` renders one frame
per value and returns HTML with a slider and play/pause buttons that swaps
base64 PNG frames with a few lines of inline JavaScript: no kernel, no
network, the same in Jupyter and in the built HTML. ``scrub2`` does the same
over a grid of two parameters with two sliders. ``ex.scrub(control, values)``
makes one from a live explorer.

The package is split by topic: ``base`` (the Explorer class, the controls and
the function panel every explorer shares), ``kernel_free`` (scrub figures),
and one module per family of explorers (``race``, ``adaptive``, ``quadratic``, ``momentum``,
``taylor``, ``hessian``, ``schedules``, ``initialization``, ``normalization``,
``second_order``, ``landscapes``, ``testing``). A new chapter's explorer goes
into a module of its own and is re-exported here.
"""

from .adaptive import ADAPTIVE_RACERS, DEFAULT_RACERS, AdaptiveRace
from .base import FUNCTIONS, STATIC_ENV, STATIC_NOTE, Explorer, static_mode
from .hessian import FREE, HessianExplorer
from .initialization import InitializationExplorer, singular_value_scrub
from .kernel_free import MAX_BYTES, Scrub, scrub, scrub2
from .landscapes import EdgeOfStabilityFigure, LandscapeExplorer, edge_of_stability_scrub
from .momentum import (
    EigenErrorFigure,
    MomentumExplorer,
    eigen_error_figure,
    eigen_error_scrub,
    eigen_errors,
    rate_map_scrub,
)
from .normalization import NORMALIZATIONS, NormalizationExplorer
from .quadratic import QuadraticExplorer
from .race import RACERS, OptimizerRace
from .schedules import SCHEDULES, ScheduleExplorer, logistic_problem
from .second_order import SecondOrderExplorer, basin_scrub, trust_region_scrub
from .taylor import TaylorExplorer
from .testing import UnitTestExplorer, learned_optimizer_scrub

__all__ = [
    "STATIC_ENV",
    "STATIC_NOTE",
    "static_mode",
    "FUNCTIONS",
    "Explorer",
    "OptimizerRace",
    "RACERS",
    "AdaptiveRace",
    "ADAPTIVE_RACERS",
    "DEFAULT_RACERS",
    "QuadraticExplorer",
    "MomentumExplorer",
    "rate_map_scrub",
    "eigen_errors",
    "EigenErrorFigure",
    "eigen_error_figure",
    "eigen_error_scrub",
    "TaylorExplorer",
    "UnitTestExplorer",
    "learned_optimizer_scrub",
    "HessianExplorer",
    "FREE",
    "InitializationExplorer", "singular_value_scrub",
    "ScheduleExplorer",
    "SCHEDULES",
    "logistic_problem",
    "SecondOrderExplorer", "basin_scrub", "trust_region_scrub",
    "LandscapeExplorer",
    "EdgeOfStabilityFigure",
    "edge_of_stability_scrub",
    "Scrub",
    "scrub",
    "scrub2",
    "MAX_BYTES",
    "NormalizationExplorer",
    "NORMALIZATIONS",
]
