"""How sure the pre-annotators are of a document's silver: one number in [0, 1] (lower = look first).

Used by ``spanbank doccano push --order uncertainty`` to upload the least-confident documents first.
Pure: reads a :class:`~spanbank.model.Document`, imports nothing but the model.

* **Trained components' scores.**  A trained pre-annotator's ``spancat`` components score every span
  they keep; ``spanbank annotate --pre-annotator DIR`` writes that score into the provenance detail of
  the event (trigger score) and the attribution (cue score) it made, as ``...; score=0.873``.  Their mean
  is the *model score* of the document.  (The trained ``ner`` has no per-entity score: entities count
  through the heuristic below.)
* **Heuristic (every pre-annotator, rule-based or trained)**: the mean over the signals that apply to
  the document of these *doubt rates*, each in [0, 1]:

  - ``entity_disagreement``: distinct entity surface strings (case-folded) that carry more than one
    entity type in the document / distinct entity strings;
  - ``unlinked_cues``: CUE spans that are not the cue of an attribution / CUE spans;
  - ``bare_triggers``: events without any argument / events;
  - ``unattributed_quotes``: quoted passages (``"..."`` or ``“...”`` of 3 words or more) that no
    CONTENT span covers / quoted passages.

  The heuristic confidence is ``1 - mean(rates)`` (1.0 when no signal applies).
* The document's confidence is the heuristic one, or ``min(heuristic, model score)`` when trained
  scores exist.  A document whose pushed set is ``gold`` (made by people) has confidence 1.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import GOLD, SILVER, Document

SCORE = re.compile(r"(?:^|; )score=([0-9]*\.?[0-9]+)")
QUOTE = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”")
MIN_QUOTE_WORDS = 3


@dataclass(frozen=True)
class Confidence:
    value: float
    model_score: float | None = None
    rates: dict[str, float] = field(default_factory=dict)


def score_detail(detail: str, score: float) -> str:
    """A provenance detail with a component score appended (read back by :func:`detail_score`)."""
    return f"{detail}; score={score:.3f}" if detail else f"score={score:.3f}"


def detail_score(detail: str) -> float | None:
    found = SCORE.search(detail or "")
    return float(found.group(1)) if found else None


def document_confidence(doc: Document) -> Confidence:
    """The pre-annotators' confidence in ``doc``'s silver (see the module notes)."""
    if not doc.annotation_set(GOLD).is_empty():
        return Confidence(1.0)
    silver = doc.annotation_set(SILVER)
    spans = {s.id: s for s in silver.spans}
    rates: dict[str, float] = {}
    labels: dict[str, set[str]] = {}
    for s in silver.spans:
        if s.layer == "entities":
            labels.setdefault(s.text.casefold(), set()).add(s.label)
    if labels:
        rates["entity_disagreement"] = sum(len(v) > 1 for v in labels.values()) / len(labels)
    cues = [s for s in silver.spans if s.label == "CUE"]
    if cues:
        linked = {a.cue for a in silver.attributions}
        rates["unlinked_cues"] = sum(s.id not in linked for s in cues) / len(cues)
    if silver.events:
        rates["bare_triggers"] = sum(not e.arguments for e in silver.events) / len(silver.events)
    quotes = [m.span(1) if m.group(1) is not None else m.span(2) for m in QUOTE.finditer(doc.text)]
    quotes = [(a, b) for a, b in quotes if len(doc.text[a:b].split()) >= MIN_QUOTE_WORDS]
    if quotes:
        contents = [(spans[a.content].start, spans[a.content].end) for a in silver.attributions if a.content in spans]
        contents += [(s.start, s.end) for s in silver.spans if s.label == "CONTENT"]
        covered = sum(any(c0 <= a and b <= c1 for c0, c1 in contents) for a, b in quotes)
        rates["unattributed_quotes"] = 1 - covered / len(quotes)
    heuristic = 1.0 - sum(rates.values()) / len(rates) if rates else 1.0
    scores = [x for item in (*silver.events, *silver.attributions)
              if (x := detail_score(item.provenance.detail)) is not None]
    model = sum(scores) / len(scores) if scores else None
    value = heuristic if model is None else min(heuristic, model)
    return Confidence(round(value, 6), model, rates)
