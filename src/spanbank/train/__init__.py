"""Learning pre-annotators from the corpus's own human annotation (``spanbank train``).

:mod:`.data` chooses the human targets and the dev hold-out, :mod:`.fit` trains with spaCy,
:mod:`.core` gates and writes the folder that ``spanbank annotate --pre-annotator DIR`` uses
(:mod:`spanbank.annotate.trained`).
"""

from .core import HEADLINE, TrainResult, train
from .data import DEV_RATIO, collect, dev_key

__all__ = ["DEV_RATIO", "HEADLINE", "TrainResult", "collect", "dev_key", "train"]
