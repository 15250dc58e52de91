"""What training learns from: each document's human annotation per layer, and the hash-stable dev part.

Rules (stated once, here):

* **Human sets**: per document and layer, the ``gold`` set when it has annotation of the layer, else
  the ``annotator/<name>`` set with the most annotation of the layer (ties: the first name).  The
  report counts which set each document's targets came from.  Silver is never a target.
* **Targets**: ``entities`` = the entity spans (schema types); ``events`` = the trigger spans,
  labelled with their event type; ``attribution`` = the CUE and SOURCE spans (CONTENT stays the
  parse rule's, which the trained CUE feeds).
* **Held out**: a document of the published *test* split (``spanbank.publish.split_of``, the same
  function ``spanbank build`` uses) is never trained on nor used as dev.  Of the others, the dev
  part is every document whose ``sha256("spanbank-dev:" + id)`` falls below ``dev_ratio``; when that
  leaves dev or train empty, the single document with the lowest such hash is dev.  Both follow from
  the document id alone, so adding documents never moves one between train and dev.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..errors import TrainError
from ..model import ANNOTATOR_PREFIX, GOLD, SILVER, AnnotationSet, Document, LabelSchema

DEV_RATIO = 0.2
Target = tuple[int, int, str]  # [start, end) code points, label


@dataclass(frozen=True)
class Sample:
    """One training/dev document: its text and, per layer, the human targets (absent layer = no human data)."""

    id: str
    text: str
    targets: dict[str, tuple[Target, ...]]
    sources: dict[str, str]  # layer -> the set the targets came from
    doc: Document  # the document as stored (its human sets are what dev scores are computed against)


@dataclass
class TrainingData:
    train: list[Sample] = field(default_factory=list)
    dev: list[Sample] = field(default_factory=list)
    test_held_out: int = 0  # human-annotated documents of the published test split (used for nothing)
    sources: Counter = field(default_factory=Counter)  # (layer, set name) -> documents

    def size(self, part: str, layer: str) -> int:
        return sum(1 for s in getattr(self, part) if layer in s.targets)

    def as_dict(self, layers: Sequence[str]) -> dict:
        sources: dict[str, dict[str, int]] = {}
        for (layer, name), n in sorted(self.sources.items()):
            sources.setdefault(layer, {})[name] = n
        return {"train_documents": {lay: self.size("train", lay) for lay in layers},
                "dev_documents": {lay: self.size("dev", lay) for lay in layers},
                "test_split_documents_held_out": self.test_held_out, "human_sets": sources}


def _count(aset: AnnotationSet, layer: str) -> int:
    n = sum(1 for s in aset.spans if s.layer == layer)
    return n + (len(aset.events) if layer == "events" else len(aset.attributions) if layer == "attribution" else 0)


def human_set(doc: Document, layer: str) -> AnnotationSet | None:
    """The human set training reads ``layer`` from: gold, else the fullest annotator set (None: no human data)."""
    gold = doc.annotations.get(GOLD)
    if gold is not None and _count(gold, layer):
        return gold
    candidates = [(-_count(a, layer), name) for name, a in doc.annotations.items()
                  if name.startswith(ANNOTATOR_PREFIX) and _count(a, layer)]
    return doc.annotations[min(candidates)[1]] if candidates else None


def targets(aset: AnnotationSet, layer: str, schema: LabelSchema) -> tuple[Target, ...]:
    if layer == "entities":
        labels = set(schema.entity_names())
        spans = [s for s in aset.spans if s.layer == "entities" and s.label in labels]
    elif layer == "events":
        types = {e.trigger: e.type for e in aset.events}
        known = set(schema.event_names())
        spans = [s for s in aset.spans if s.layer == "events" and types.get(s.id, s.label) in known]
        return tuple(sorted({(s.start, s.end, types.get(s.id, s.label)) for s in spans}))
    else:
        spans = [s for s in aset.spans if s.layer == "attribution" and s.label in ("CUE", "SOURCE")]
    return tuple(sorted({(s.start, s.end, s.label) for s in spans}))


def sample(doc: Document, layers: Sequence[str], schema: LabelSchema) -> Sample | None:
    """The document's human targets per layer (None when it has none of ``layers``)."""
    found, sources = {}, {}
    for layer in layers:
        aset = human_set(doc, layer)
        if aset is not None and aset.name != SILVER:
            found[layer] = targets(aset, layer, schema)
            sources[layer] = aset.name
    return Sample(doc.id, doc.text, found, sources, doc) if found else None


def dev_key(doc_id: str) -> float:
    """The document's place in [0, 1) for the dev hold-out (a function of its id alone)."""
    return int.from_bytes(hashlib.sha256(f"spanbank-dev:{doc_id}".encode()).digest()[:8], "big") / 2**64


def collect(docs: Iterable[Document], layers: Sequence[str], schema: LabelSchema,
            dev_ratio: float = DEV_RATIO) -> TrainingData:
    """Split the human-annotated documents of a stream into train and dev (see the module rules)."""
    from ..publish.build import split_of

    data = TrainingData()
    pool: list[Sample] = []
    for doc in docs:
        found = sample(doc, layers, schema)
        if found is None:
            continue
        if split_of(doc.id) == "test":
            data.test_held_out += 1
            continue
        pool.append(found)
        for layer, name in found.sources.items():
            data.sources[(layer, name)] += 1
    if len(pool) < 2:
        raise TrainError(f"{len(pool)} document(s) with human annotation of {', '.join(layers)} outside the published "
                         f"test split ({data.test_held_out} held out as test); training needs at least 2 (one for dev)",
                         value=len(pool), hint="annotate more documents in Doccano and `spanbank doccano pull` them")
    for s in pool:
        (data.dev if dev_key(s.id) < dev_ratio else data.train).append(s)
    if not data.dev or not data.train:
        first = min(pool, key=lambda s: dev_key(s.id))
        data.dev = [first]
        data.train = [s for s in pool if s is not first]
    return data
