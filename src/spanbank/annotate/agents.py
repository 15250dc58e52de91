"""Run named pre-annotators (any registered versions, not only the defaults) over documents.

``annotate`` always uses the registry's ``DEFAULTS``; comparing versions (the v1 pin test, the
development benchmarks) needs the same stage with other names.  One parse per document, the
layers in the order given, results in the ``silver`` set exactly as ``annotate`` would write them
(``apply`` is shared), other sets untouched.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from .. import nlp
from ..model import SILVER, Document, LabelSchema, Provenance, utc_now
from .pipeline import AnnotateReport, apply
from .registry import create


def run_agents(docs: Iterable[Document], agents: Sequence[str], model: str = nlp.DEFAULT_MODEL, *,
               schema: LabelSchema, now: str | None = None, batch_size: int = 64,
               report: AnnotateReport | None = None) -> Iterator[Document]:
    """``docs`` with their silver layers (re)made by exactly ``agents`` (registry names), in order.

    ``schema``: the label schema the caller resolved (as ``annotate`` takes it); the stage loads none.
    """
    pipeline = nlp.load_model(model)
    annotators = [create(name, schema, pipeline) for name in agents]
    detail, time = nlp.model_info(pipeline), now or utc_now()
    provenance = {a.name: Provenance(a.name, SILVER, time, "machine", detail) for a in annotators}
    report = report if report is not None else AnnotateReport()
    for sdoc, doc in nlp.pipe(pipeline, ((d.text, d) for d in docs), batch_size, 1):
        yield apply(doc, sdoc, annotators, provenance, report)
