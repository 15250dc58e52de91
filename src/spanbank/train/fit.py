"""spaCy training of the pre-annotator components (spaCy enters here, as in ``nlp``/``annotate``).

Everything goes through spaCy's own machinery: the base pipeline's config (its ``[training.optimizer]``
via ``nlp.resume_training``), ``spacy.training.Example`` and ``nlp.update`` per minibatch
(``spacy.util.minibatch``), ``spacy.util.fix_random_seed`` for determinism.  No optimiser of ours.

* **entities**: the base pipeline's own ``ner`` is fine-tuned (it has its own tok2vec in
  ``en_core_web_sm``, so the tagger and parser the rules read are untouched).  Schema labels are
  written as the base label that corresponds (:data:`CORRESPONDS`: PER -> PERSON, TIME -> DATE or
  TIME, ...; where several correspond, the one the base model predicts on that span), so the model
  keeps what it knows; types it lacks (VEH, WEA) are added as new labels.  **Rehearsal**: the base
  model's own predictions stay targets where the gold has none: its entities of types the schema
  does not have (NORP, CARDINAL, ...) always; with partial gold also its entities of the schema's
  types, trimmed to the schema's extent conventions.  Tokens outside every target are "O" (with
  partial gold that is the base model's own "no entity"; ``rehearse_outside=False`` makes them
  *missing*, no loss, which measured worse on gum-news-brat: see ``scripts/bench learn``).
* **events** / **attribution**: a ``spancat`` component each (own tok2vec, n-gram suggester),
  trained on trigger spans typed by event type / on CUE and SOURCE spans, writing
  ``doc.spans["spanbank_events"]`` / ``doc.spans["spanbank_attribution"]``.  spancat rather than a
  second ``ner`` because a pipeline has one ``doc.ents``: spancat keeps the layers apart.

Each layer is updated on its own examples (``nlp.select_pipes``), so a document with entity gold but
no event gold never teaches the trigger component that it has no events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..annotate.entities import ONTONOTES
from ..annotate.trained import SPANS_KEY
from ..model import LabelSchema
from .data import Sample

# schema entity type -> corresponding base (OntoNotes) labels; the first is the default.
# Only the base's names for the same type: a gold LOC on what the base calls GPE is a correction to learn.
CORRESPONDS = {"PER": ("PERSON",), "ORG": ("ORG",), "GPE": ("GPE",), "LOC": ("LOC",), "FAC": ("FAC",),
               "TIME": ("DATE", "TIME")}
PIPE = {"entities": "ner", "events": "spancat_events", "attribution": "spancat_attribution"}
NGRAMS = {"events": [1, 2, 3], "attribution": [1, 2, 3, 4, 5, 6, 7, 8]}


@dataclass(frozen=True)
class Settings:
    base: str
    seed: int = 0
    epochs: int = 12
    batch_size: int = 4
    dropout: float = 0.2
    partial_gold: bool = False  # gold marks only some mentions: the base model's entities are kept beside it
    rehearse_outside: bool = True  # partial gold: tokens outside gold and base entities are "O" (else no loss)


@dataclass
class FitReport:
    examples: dict[str, int] = field(default_factory=dict)  # layer -> training documents
    misaligned: dict[str, int] = field(default_factory=dict)  # layer -> targets not on token boundaries
    rehearsal: int = 0  # base-model entities kept as targets
    new_labels: list[str] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)  # pipe -> loss per epoch


def load_base(name: str) -> Any:
    """A fresh (uncached: training changes it) copy of the base pipeline."""
    import spacy

    from ..errors import TrainError

    from .. import nlp

    try:
        return spacy.load(nlp.resolve_model(name))  # short names (sm, md) as for annotate --model
    except OSError as exc:
        raise TrainError(f"base pipeline {name!r} is not installed: {exc}", value=name,
                         hint="pass --base with an installed spaCy pipeline (package name or path)") from None


def fit(samples: Sequence[Sample], layers: Sequence[str], schema: LabelSchema, settings: Settings,
        progress: Callable[[str, int, int], None] | None = None) -> tuple[Any, FitReport]:
    """The base pipeline with its components for ``layers`` trained on ``samples``."""
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(settings.seed)
    nlp = load_base(settings.base)
    report = FitReport()
    examples = {}
    for layer in layers:
        chosen = [s for s in samples if layer in s.targets]
        examples[layer] = (_entity_examples(nlp, chosen, schema, settings, report) if layer == "entities"
                           else _span_examples(nlp, chosen, layer, report))
        report.examples[layer] = len(chosen)
    optimizer = nlp.resume_training()
    for layer in layers:
        if layer != "entities":
            _add_spancat(nlp, layer, examples[layer], schema)
    rng = random.Random(settings.seed)
    total = settings.epochs * len(layers)
    for epoch in range(settings.epochs):
        for i, layer in enumerate(layers):
            pipe, data = PIPE[layer], list(examples[layer])
            rng.shuffle(data)
            losses: dict[str, float] = {}
            with nlp.select_pipes(enable=[pipe]):
                for batch in minibatch(data, size=settings.batch_size):
                    nlp.update(batch, sgd=optimizer, drop=settings.dropout, losses=losses)
            report.losses.setdefault(pipe, []).append(round(float(losses.get(pipe, 0.0)), 4))
            if progress:
                progress("training", epoch * len(layers) + i + 1, total)
    return nlp, report


def _entity_examples(nlp: Any, samples: Sequence[Sample], schema: LabelSchema, settings: Settings,
                     report: FitReport) -> list[Any]:
    from spacy.tokens import Span as SpacySpan
    from spacy.training import Example

    from ..annotate.entities import trim

    ner = nlp.get_pipe("ner")
    base_labels = set(ner.labels)
    schema_types = set(schema.entity_names())
    marked = {label for s in samples for _start, _end, label in s.targets.get("entities", ())}
    for label in schema.entity_names():  # only types the gold marks (no value label CRIME without examples)
        if label not in CORRESPONDS and label not in base_labels and label in marked:
            ner.add_label(label)
            report.new_labels.append(label)
    out = []
    for s, predicted in zip(samples, nlp.pipe(s.text for s in samples)):
        ref = nlp.make_doc(s.text)
        ents, taken = [], set()
        for start, end, label in s.targets["entities"]:
            span = ref.char_span(start, end, label=_base_label(label, start, end, predicted), alignment_mode="expand")
            if span is None or taken.intersection(range(span.start, span.end)):
                report.misaligned["entities"] = report.misaligned.get("entities", 0) + 1
                continue
            ents.append(span)
            taken.update(range(span.start, span.end))
        for ent in predicted.ents:  # rehearsal: what the base model finds where the gold says nothing
            schema_type = ONTONOTES.get(ent.label_) if ONTONOTES.get(ent.label_) in schema_types else None
            if schema_type is not None and not settings.partial_gold:
                continue  # exhaustive gold is the authority on its own types
            bounds = trim(predicted, ent.start, ent.end, schema_type) if schema_type else (ent.start, ent.end)
            if bounds is None or taken.intersection(range(*bounds)):
                continue
            ents.append(SpacySpan(ref, bounds[0], bounds[1], label=ent.label_))
            taken.update(range(*bounds))
            report.rehearsal += 1
        unlabelled = "missing" if settings.partial_gold and not settings.rehearse_outside else "outside"
        ref.set_ents(sorted(ents, key=lambda e: e.start), default=unlabelled)
        out.append(Example(nlp.make_doc(s.text), ref))
    return out


def _base_label(label: str, start: int, end: int, predicted: Any) -> str:
    """The base model's name for a schema label: the corresponding label it predicts on (an overlap of)
    this span if any, else the default correspondence; a type the base lacks keeps its schema name."""
    candidates = CORRESPONDS.get(label)
    if not candidates:
        return label
    for ent in predicted.ents:
        if ent.start_char < end and start < ent.end_char and ent.label_ in candidates:
            return ent.label_
    return candidates[0]


def _span_examples(nlp: Any, samples: Sequence[Sample], layer: str, report: FitReport) -> list[Any]:
    from spacy.training import Example

    out = []
    for s in samples:
        ref = nlp.make_doc(s.text)
        spans = []
        for start, end, label in s.targets[layer]:
            span = ref.char_span(start, end, label=label, alignment_mode="expand")
            if span is None:
                report.misaligned[layer] = report.misaligned.get(layer, 0) + 1
            else:
                spans.append(span)
        ref.spans[SPANS_KEY[layer]] = spans
        out.append(Example(nlp.make_doc(s.text), ref))
    return out


def _add_spancat(nlp: Any, layer: str, examples: list[Any], schema: LabelSchema) -> None:
    seen = {span.label_ for eg in examples for span in eg.reference.spans[SPANS_KEY[layer]]}
    order = schema.event_names() if layer == "events" else ["CUE", "SOURCE"]
    labels = [label for label in order if label in seen]  # types never seen in training cannot be learned
    pipe = nlp.add_pipe("spancat", name=PIPE[layer], config={
        "spans_key": SPANS_KEY[layer], "threshold": 0.5,
        "suggester": {"@misc": "spacy.ngram_suggester.v1", "sizes": NGRAMS[layer]}})
    for label in labels:
        pipe.add_label(label)
    pipe.initialize(lambda: examples, nlp=nlp)


def save(nlp: Any, path: Any, name: str) -> None:
    """Write the trained pipeline (its meta names the trained model; spaCy's own ``to_disk``)."""
    nlp.meta["name"] = name
    nlp.meta["description"] = f"spanbank trained pre-annotator {name} (base {nlp.meta.get('version')})"
    nlp.to_disk(path)


def spacy_version() -> str:
    import spacy

    return spacy.__version__


def base_info(name: str) -> dict[str, Any]:
    """Name, version and content hash of the base pipeline's files."""
    from pathlib import Path

    from .. import nlp
    from ..annotate.trained import content_hash

    pipeline = nlp.load_model(name)
    path = getattr(pipeline, "_path", None)
    return {"name": name, "pipeline": nlp.model_info(pipeline), "version": pipeline.meta.get("version"),
            "content_hash": content_hash(Path(path)) if path else None}
