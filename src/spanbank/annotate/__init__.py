"""Pre-annotation: silver entities, events and attribution from spaCy plus lexicons (see each module).

``annotate`` (in :mod:`.pipeline`) is the stage function; the pre-annotators register themselves
under versioned names in :mod:`.registry` when this package is imported.
"""

from . import attribution, attribution_v2, entities, entities_v2, events, events_v2  # noqa: F401  (registers the pre-annotators)
from .pipeline import AnnotateReport, annotate, check_layers
from .registry import DEFAULTS, names

__all__ = ["AnnotateReport", "DEFAULTS", "annotate", "check_layers", "names"]
