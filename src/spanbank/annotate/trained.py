"""Trained pre-annotators: a folder written by ``spanbank train``, used by ``spanbank annotate --pre-annotator DIR``.

A folder holds ``pipeline/`` (a spaCy pipeline: the base model with its ``ner`` fine-tuned and/or
``spancat`` components for triggers and attribution spans) and ``spanbank-trained.json`` (its
metadata: base model, spaCy version, corpus and file hashes, training sizes, dev scores, seed, settings
and the pipeline's *content hash*, the sha256 over its files).  Loading re-hashes the pipeline and
refuses a folder whose files changed since training.

Each trained layer registers as ``spanbank.trained.<layer>@<hash12>`` (see ``model.trained_agent``);
that name is the provenance agent of every span it makes, and the release manifest lists it with the
other pre-annotators.  The layers the folder did not train keep their registry defaults (run on the
folder's pipeline, whose other components are the base model's).

* entities: the ``ner`` output, base labels read as schema types (PERSON -> PER, DATE/TIME -> TIME, ...;
  types the schema lacks dropped), extents as the model predicts them (it learned the conventions),
  then ``spanbank.entities.v2``'s document-level consistency (majority label per name first, surnames
  only of person-like names, other exact mentions of a name tagged), which keeps every extent;
* events: trigger spans from the ``spancat`` (highest score first, no overlaps), each with
  ``spanbank.events.v1``'s argument attachment from the parse; the event's provenance detail ends with
  ``; score=<trigger score>`` (an attribution's with its cue's score), which ``spanbank.confidence``
  reads for ``doccano push --order uncertainty``;
* attribution: CUE spans from the ``spancat``; CONTENT from ``spanbank.attribution.v1``'s parse rule
  for that cue; SOURCE the learned SOURCE span holding the rule's source head, else the nearest
  learned SOURCE in the sentence, else the rule's source.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..confidence import score_detail
from ..errors import TrainError
from ..model import LabelSchema, Provenance, trained_agent
from .attribution import ATTACHED_DEPS, AttributionAnnotator, _bounds, _Found
from .entities import ONTONOTES
from .entities_v2 import consistent_v2
from .events import EventAnnotator, _Context
from .registry import Output, Parsed, names, register, span_id

META_FILE = "spanbank-trained.json"
PIPELINE_DIR = "pipeline"
SPANS_KEY = {"events": "spanbank_events", "attribution": "spanbank_attribution"}


def content_hash(folder: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The folder's metadata, after checking its pipeline still has the content hash it was trained with."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except OSError:
        raise TrainError("not a trained pre-annotator folder (no metadata file)", path=str(meta_path),
                         hint="pass a folder written by `spanbank train --out DIR`") from None
    except ValueError as exc:
        raise TrainError(f"metadata is not JSON: {exc}", path=str(meta_path), hint="re-run `spanbank train`") from None
    found = content_hash(folder / PIPELINE_DIR)
    if found != meta.get("content_hash"):
        raise TrainError(f"pipeline content hash {found[:12]} differs from the recorded {str(meta.get('content_hash'))[:12]}",
                         path=str(folder / PIPELINE_DIR), value=found,
                         hint="the files changed since training; re-run `spanbank train`")
    return meta


def use(folder: str | Path) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(pipeline path, {layer: registered name}, metadata) of a trained folder; registers its layers."""
    meta = read_meta(folder)
    chosen = {}
    for layer in meta["layers"]:
        name = trained_agent(layer, meta["content_hash"])
        if name not in names():
            register(name, layer)(_FACTORIES[layer](name))
        chosen[layer] = name
    return str(Path(folder) / PIPELINE_DIR), chosen, meta


def _ranked(group: Any) -> list[tuple[Any, float | None]]:
    """(span, its score) of a spancat group, highest score first, without overlaps; in text order."""
    scores = group.attrs.get("scores")
    score = (lambda i: float(scores[i].max())) if scores is not None else (lambda i: None)  # noqa: E731
    order = sorted(range(len(group)), key=lambda i: (-(score(i) or 0.0), i))
    chosen: list[tuple[Any, float | None]] = []
    for i in order:
        span = group[i]
        if all(span.end <= c.start or span.start >= c.end for c, _ in chosen):
            chosen.append((span, score(i)))
    return sorted(chosen, key=lambda pair: pair[0].start)


def _scored(provenance: Provenance, score: float | None) -> Provenance:
    """The provenance of an event or attribution with its component's score in the detail
    (read by :mod:`spanbank.confidence`; span provenance stays as it is: the manifest reads it)."""
    return provenance if score is None else replace(provenance, detail=score_detail(provenance.detail, score))


class TrainedEntities:
    layer = "entities"

    def __init__(self, name: str, schema: LabelSchema, consistency: bool = True) -> None:
        self.name, self.labels, self.consistency = name, set(schema.entity_names()), consistency

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        sdoc = parsed.sdoc
        found = [(e.start, e.end, ONTONOTES.get(e.label_, e.label_)) for e in sdoc.ents]
        found = [(s, e, label) for s, e, label in found if label in self.labels]
        if self.consistency:
            found = consistent_v2(sdoc, found, set())
        spans = []
        for start, end, label in sorted(found):
            a, b = sdoc[start].idx, sdoc[end - 1].idx + len(sdoc[end - 1].text)
            spans.append(parsed.doc.make_span(span_id("e", a, b), a, b, label, "entities", provenance))
        return Output(spans=spans)


class TrainedEvents:
    layer = "events"

    def __init__(self, name: str, schema: LabelSchema, model: Any) -> None:
        self.name, self.schema, self.rules = name, schema, EventAnnotator(schema, model)

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        from ..model import Event

        ctx = _Context(parsed, provenance, self.rules.nominals)
        out = Output()
        for span, score in _ranked(parsed.sdoc.spans.get(SPANS_KEY["events"], [])):
            event_type = self.schema.event_type(span.label_)
            if event_type is None:
                continue
            a, b = span.start_char, span.end_char
            trigger = parsed.doc.make_span(span_id("t", a, b), a, b, span.label_, "events", provenance)
            out.spans.append(trigger)
            args = self.rules.arguments(span.root, event_type, ctx)
            out.events.append(Event(span_id("ev", a, b), trigger.id, span.label_, args, _scored(provenance, score)))
        out.spans.extend(ctx.created.values())
        return out


class TrainedAttribution:
    layer = "attribution"

    def __init__(self, name: str, schema: LabelSchema, model: Any) -> None:
        self.name, self.rules = name, AttributionAnnotator(schema, model)

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        sdoc = parsed.sdoc
        learned = _ranked(sdoc.spans.get(SPANS_KEY["attribution"], []))
        sources = [(s.start, s.end) for s, _ in learned if s.label_ == "SOURCE"]
        cue_scores = {(s.start_char, s.end_char): score for s, score in learned if s.label_ == "CUE"}
        found = []
        for cue in (s for s, _ in learned if s.label_ == "CUE"):
            hit = self._content(sdoc, cue)
            if hit is None:
                continue
            hit.source = _pick_source(sdoc, cue, sources, hit.source)
            if hit.source is not None:
                found.append(hit)
        out = self.rules._build(parsed, provenance, found)
        cues = {s.id: (s.start, s.end) for s in out.spans}
        out.attributions = [replace(a, provenance=_scored(a.provenance, cue_scores.get(cues.get(a.cue))))
                            for a in out.attributions]
        return out

    def _content(self, sdoc: Any, cue: Any) -> _Found | None:
        """The parse rule's attribution for a learned cue (content and rule source), any lemma."""
        rules, tok = self.rules, cue.root
        hit = rules._phrase(sdoc, cue[0]) or rules._verb(tok)
        if hit is None:
            comp = next((c for c in tok.children if c.dep_ == "ccomp"), None)
            if comp is not None:
                hit = _Found((tok.i, tok.i + 1), rules._source(tok, tok.lemma_.lower()), rules._trim(sdoc, *_bounds(comp)))
            elif tok.dep_ in ATTACHED_DEPS:
                hit = _Found((tok.i, tok.i + 1), rules._source(tok, tok.lemma_.lower()), rules._clause_without(tok.head, {tok.i}))
        if hit is None or hit.content is None:
            return None
        hit.cue = (cue.start, cue.end)
        return hit


def _pick_source(sdoc: Any, cue: Any, learned: list[tuple[int, int]], rule: tuple[int, int] | None) -> tuple[int, int] | None:
    sent = cue.sent
    inside = [s for s in learned if sent.start <= s[0] and s[1] <= sent.end]
    if rule is not None:
        head = sdoc[rule[0]:rule[1]].root.i
        for s in inside:
            if s[0] <= head < s[1]:
                return s
    if inside:
        return min(inside, key=lambda s: min(abs(s[0] - cue.end), abs(cue.start - s[1])))
    return rule


_FACTORIES = {
    "entities": lambda name: (lambda schema, model: TrainedEntities(name, schema)),
    "events": lambda name: (lambda schema, model: TrainedEvents(name, schema, model)),
    "attribution": lambda name: (lambda schema, model: TrainedAttribution(name, schema, model)),
}
