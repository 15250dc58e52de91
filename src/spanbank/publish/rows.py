"""One corpus document (its store records) -> the rows of every published config.

The published layer is the document's ``gold`` set when it has one, else ``silver``.  Rows hold
ClassLabel ids (looked up once per label in :class:`~.features.Labels`) and offsets in THE
convention of :mod:`spanbank.model`: half-open ``[start, end)`` code points over the document text.
Every span is checked (``text[start:end] == span text``) on the way out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import PublishError
from ..model import GOLD, SILVER
from .features import Labels

ATTRIBUTION_PARTS = (("cue", "CUE"), ("source", "SOURCE"), ("content", "CONTENT"))


@dataclass
class DocRows:
    """The rows one document contributes, plus what the card's statistics need."""

    document: dict[str, Any]
    ner: list[dict[str, Any]]
    events: list[dict[str, Any]]
    attribution: list[dict[str, Any]]
    label_counts: Counter = field(default_factory=Counter)  # (layer, label) -> n
    ner_conflicts: int = 0
    dropped_spans: int = 0


def published_set(ann: list[dict[str, Any]]) -> str | None:
    names = {r["set"] for r in ann}
    return GOLD if GOLD in names else SILVER if SILVER in names else None


def provenance(p: dict[str, Any] | None) -> dict[str, str] | None:
    if p is None:
        return None
    return {"agent": p["agent"], "kind": p.get("kind", "machine"), "time": p.get("time", ""), "detail": p.get("detail", "")}


def _pairs(value: Any) -> tuple[list[int], list[int]]:
    """Offset pairs as (starts, ends): the batch writer turns them into a list<struct<start, end>> column."""
    value = value or ()
    return [p[0] for p in value], [p[1] for p in value]


def pairs_as_dicts(value: tuple[list[int], list[int]]) -> list[dict[str, int]]:
    """(starts, ends) -> the ``[{"start", "end"}, ...]`` form ``load_dataset`` returns."""
    return [{"start": a, "end": b} for a, b in zip(*value)]


class _Doc:
    """Lookups over one document's published set."""

    def __init__(self, rec: dict[str, Any], ann: list[dict[str, Any]], where: str, ann_path: str | None) -> None:
        self.rec, self.text, self.where = rec, rec["text"], where
        self.set = published_set(ann)
        chosen = [r for r in ann if r["set"] == self.set]
        self.spans = {r["id"]: r for r in chosen if r["kind"] == "span"}
        self.events = [r for r in chosen if r["kind"] == "event"]
        self.attributions = [r for r in chosen if r["kind"] == "attribution"]
        for s in self.spans.values():
            if not (0 <= s["start"] < s["end"] <= len(self.text)) or self.text[s["start"]:s["end"]] != s["text"]:
                raise PublishError(f"document {rec['id']}, span {s['id']}: [{s['start']}, {s['end']}) does not slice "
                                   f"the text to {s['text']!r} (the text there is "
                                   f"{self.text[s['start']:s['end']]!r})", path=ann_path or where,
                                   line=s.get("_line") if ann_path else None, value=s["text"],
                                   hint="fix the span's offsets or text (run `spanbank validate` for every problem)")
        self.tok_starts, self.tok_ends = _pairs(rec.get("tokens"))
        self._sentence_rows: list[tuple[int, int, int, dict[str, Any]]] | None = None
        self.sentences = [tuple(s) for s in rec.get("sentences") or ()]
        self.sent_starts = [s[0] for s in self.sentences]

    def span(self, span_id: str | None, owner: str, label: str | None = None) -> dict[str, Any]:
        s = self.spans.get(span_id)  # type: ignore[arg-type]
        if s is None:
            raise PublishError(f"document {self.rec['id']}: {owner} refers to span {span_id!r}, which is not in the "
                               f"{self.set} set", path=self.where, value=span_id, hint="run `spanbank validate`")
        if label is not None and s["label"] != label:
            raise PublishError(f"document {self.rec['id']}: {owner} uses span {span_id} labelled {s['label']!r}, "
                               f"expected {label!r}", path=self.where, value=s["label"], allowed=[label],
                               hint="relabel the span (run `spanbank validate`)")
        return s

    def nested(self, s: dict[str, Any]) -> dict[str, Any]:
        return {"id": s["id"], "start": s["start"], "end": s["end"], "text": s["text"], "status": s["prov"]["status"],
                "provenance": provenance(s["prov"])}

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices [first, last) of the tokens overlapping ``[start, end)``."""
        return bisect_right(self.tok_ends, start), bisect_left(self.tok_starts, end)

    def sentence_of(self, offset: int) -> int:
        """Index of the sentence containing ``offset`` (-1 when none does)."""
        i = bisect_right(self.sent_starts, offset) - 1
        return i if i >= 0 and offset < self.sentences[i][1] else -1


def document_rows(rec: dict[str, Any], ann: list[dict[str, Any]], labels: Labels, where: str,
                  ann_path: str | None = None) -> DocRows:
    """Every row one document contributes; raises PublishError naming the document and span on bad input.

    ``where`` is the document's ``file:line``; annotation records may carry their line as ``_line``
    (in ``ann_path``) so that a bad span is reported at its own line.
    """
    doc = _Doc(rec, ann, where, ann_path)
    out = DocRows(document={}, ner=[], events=[], attribution=[])
    entities = [doc.spans[k] for k in sorted(doc.spans) if doc.spans[k]["layer"] == "entities"]
    events = [_event(doc, e, labels) for e in sorted(doc.events, key=lambda e: e["id"])]
    attributions = [_attribution(doc, a) for a in sorted(doc.attributions, key=lambda a: a["id"])]
    used = {e["trigger"]["id"] for e in events} | {a[p]["id"] for a in attributions for p, _ in ATTRIBUTION_PARTS if a[p]}
    out.dropped_spans = sum(1 for s in doc.spans.values() if s["layer"] != "entities" and s["id"] not in used)
    for s in entities:
        out.label_counts["entities", s["label"]] += 1
    for e in doc.events:
        out.label_counts["events", e["type"]] += 1
        for a in e.get("arguments") or ():
            out.label_counts["roles", a["role"]] += 1
    out.label_counts["attribution", "attributions"] += len(attributions)
    out.document = {
        "id": rec["id"], "date": rec.get("date"), "title": rec.get("title"), "url": rec.get("url"),
        "source": rec.get("source"), "text": doc.text, "annotation_set": doc.set,
        "entities": [{**doc.nested(s), "label": labels.id_of("entity", s["label"], f"{where}: span {s['id']}")}
                     for s in entities],
        "events": events, "attributions": attributions,
        "sections": _pairs(rec.get("sections")), "paragraphs": _pairs(rec.get("paragraphs")),
        "sentences": _pairs(rec.get("sentences")), "tokens": _pairs(rec.get("tokens")),
        "origin": _origin(rec.get("origin")),
    }
    out.ner, out.ner_conflicts = _ner_rows(doc, entities, labels)
    out.events = _event_rows(doc, events, labels)
    out.attribution = _attribution_rows(doc, attributions)
    return out


def _origin(o: dict[str, Any] | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"path": o["path"], "sha256": o["sha256"], "normalization": list(o.get("normalization") or ())}


def _event(doc: _Doc, e: dict[str, Any], labels: Labels) -> dict[str, Any]:
    owner = f"event {e['id']}"
    trigger = doc.span(e["trigger"], owner, e["type"])
    args = []
    for a in e.get("arguments") or ():
        s = doc.span(a["span"], f"{owner} argument {a['role']}")
        prov = a.get("prov")
        args.append({"role": labels.id_of("role", a["role"], f"{doc.where}: {owner}"), "entity_id": s["id"],
                     "start": s["start"], "end": s["end"], "text": s["text"],
                     "status": (prov or e["prov"])["status"], "provenance": provenance(prov)})
    return {"id": e["id"], "type": labels.id_of("event", e["type"], f"{doc.where}: {owner}"),
            "trigger": doc.nested(trigger), "arguments": args, "status": e["prov"]["status"],
            "provenance": provenance(e["prov"])}


def _attribution(doc: _Doc, a: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": a["id"]}
    for part, label in ATTRIBUTION_PARTS:
        ref = a.get(part)
        row[part] = None if ref is None and part == "source" else doc.nested(doc.span(ref, f"attribution {a['id']} {part}", label))
    return {**row, "parent": a.get("parent"), "status": a["prov"]["status"], "provenance": provenance(a["prov"])}


def _tag_tokens(doc: _Doc, spans: list[tuple[int, int, str]], tag_ids: Any, where: str, kind: str) -> tuple[list[int], int]:
    """IOB2 tag ids over all document tokens; overlapping spans after the first (longest) are skipped."""
    tags = [0] * len(doc.tok_starts)
    conflicts = 0
    for start, end, label in sorted(spans, key=lambda s: (s[0], s[0] - s[1])):
        first, last = doc.token_range(start, end)
        if first >= last or any(tags[first:last]):
            conflicts += 1
            continue
        tags[first] = tag_ids.id_of(kind, f"B-{label}", where)
        inside = tag_ids.id_of(kind, f"I-{label}", where)
        for i in range(first + 1, last):
            tags[i] = inside
    return tags, conflicts


def _sentence_rows(doc: _Doc) -> list[tuple[int, int, int, dict[str, Any]]]:
    """(sentence index, first token, last token (exclusive), base row) per sentence, computed once per document."""
    if doc._sentence_rows is None:
        text, starts, ends = doc.text, doc.tok_starts, doc.tok_ends
        words = [text[a:b] for a, b in zip(starts, ends)]
        doc._sentence_rows = []
        for i, (start, end) in enumerate(doc.sentences):
            first, last = bisect_left(starts, start), bisect_left(starts, end)
            base = {"id": f"{doc.rec['id']}:{i}", "doc_id": doc.rec["id"], "sentence": i, "start": start, "end": end,
                    "tokens": words[first:last], "offsets": (starts[first:last], ends[first:last])}
            doc._sentence_rows.append((i, first, last, base))
    return doc._sentence_rows


def _sentence_tags(tags: list[int], first: int, last: int, names_i_to_b: dict[int, int]) -> list[int]:
    """The sentence's slice of document tags; a span continuing from the previous sentence restarts with B-."""
    part = tags[first:last]
    if part and part[0] in names_i_to_b:
        part[0] = names_i_to_b[part[0]]
    return part


def _i_to_b(table: dict[str, int]) -> dict[int, int]:
    return {i: table["B-" + name[2:]] for name, i in table.items() if name.startswith("I-")}


def _ner_rows(doc: _Doc, entities: list[dict[str, Any]], labels: Labels) -> tuple[list[dict[str, Any]], int]:
    if not doc.sentences:
        return [], 0
    tags, conflicts = _tag_tokens(doc, [(s["start"], s["end"], s["label"]) for s in entities], labels,
                                  f"{doc.where}: document {doc.rec['id']}", "ner_tag")
    i_to_b = _i_to_b(dict(labels.ner_tag))
    return [{**base, "ner_tags": _sentence_tags(tags, first, last, i_to_b)}
            for _, first, last, base in _sentence_rows(doc)], conflicts


def _token_ref(doc: _Doc, start: int, end: int, first: int, last: int) -> dict[str, int | None]:
    a, b = doc.token_range(start, end)
    if a < first or b > last or a >= b:
        return {"start_token": None, "end_token": None}
    return {"start_token": a - first, "end_token": b - first}


def _event_rows(doc: _Doc, events: list[dict[str, Any]], labels: Labels) -> list[dict[str, Any]]:
    if not doc.sentences:
        return []
    type_names = {v: k for k, v in labels.event.items()}
    triggers = [(e["trigger"]["start"], e["trigger"]["end"], type_names[e["type"]]) for e in events]
    tags, _ = _tag_tokens(doc, triggers, labels, f"{doc.where}: document {doc.rec['id']}", "trigger_tag")
    by_sentence: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        by_sentence.setdefault(doc.sentence_of(e["trigger"]["start"]), []).append(e)
    i_to_b = _i_to_b(dict(labels.trigger_tag))
    rows = []
    for i, first, last, base in _sentence_rows(doc):
        evs = []
        for e in by_sentence.get(i, ()):
            t = e["trigger"]
            evs.append({"id": e["id"], "type": e["type"],
                        "trigger": {"start": t["start"], "end": t["end"], "text": t["text"],
                                    **_token_ref(doc, t["start"], t["end"], first, last)},
                        "arguments": [{"role": a["role"], "entity_id": a["entity_id"], "start": a["start"],
                                       "end": a["end"], "text": a["text"],
                                       **_token_ref(doc, a["start"], a["end"], first, last)}
                                      for a in e["arguments"]]})
        rows.append({**base, "trigger_tags": _sentence_tags(tags, first, last, i_to_b), "events": evs})
    return rows


def _attribution_rows(doc: _Doc, attributions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parents = {a["id"]: a.get("parent") for a in attributions}
    rows = []
    for a in attributions:
        parts = [a[p] for p, _ in ATTRIBUTION_PARTS if a[p]]
        lo, hi = min(p["start"] for p in parts), max(p["end"] for p in parts)
        si, sj = doc.sentence_of(lo), doc.sentence_of(hi - 1)
        lo = doc.sentences[si][0] if si >= 0 else lo
        hi = doc.sentences[sj][1] if sj >= 0 else hi
        rows.append({"id": a["id"], "doc_id": doc.rec["id"], "cue": a["cue"], "source": a["source"],
                     "content": a["content"], "parent": a["parent"], "depth": _depth(a["id"], parents),
                     "status": a["status"], "provenance": a["provenance"], "context": doc.text[lo:hi],
                     "context_start": lo})
    return rows


def _depth(att_id: str, parents: dict[str, str | None]) -> int:
    """How many attributions this one is nested in (0 = top level); a cycle stops the count."""
    depth, seen, cur = 0, {att_id}, parents.get(att_id)
    while cur is not None and cur not in seen:
        depth, cur = depth + 1, parents.get(cur)
        seen.add(cur)  # type: ignore[arg-type]
    return depth
