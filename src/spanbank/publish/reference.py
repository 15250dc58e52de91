"""The ``documents`` row of one document, built the plain way over model objects.

The reference the Arrow build (:mod:`.docs`, :mod:`.layers`) is checked against on generated
corpora (``tests/test_publish.py``), as seqeval checks itself against conlleval: the same row as
``load_dataset`` returns it (ClassLabel values as ids), written for reading, not for speed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model import Document, LabelSchema, Provenance, Span
from .docs import public_path


def _prov(p: Provenance | None) -> dict[str, str] | None:
    return None if p is None else {"agent": p.agent, "kind": p.kind, "time": p.time, "detail": p.detail}


def _span(s: Span | None, label: int | None = None) -> dict[str, Any] | None:
    if s is None:
        return None
    out: dict[str, Any] = {"id": s.id, "start": s.start, "end": s.end, "text": s.text}
    if label is not None:
        out["label"] = label
    return {**out, "status": s.provenance.status, "provenance": _prov(s.provenance)}


def documents_row(doc: Document, schema: LabelSchema, project: Path) -> dict[str, Any]:
    """``doc``'s row of the ``documents`` config: its published set (:meth:`Document.published_set`) encoded."""
    aset = doc.published_set()
    by_id = {s.id: s for s in reversed(aset.spans)}  # the first span of an id wins, as in the build
    entity, event, role = schema.entity_names(), schema.event_names(), schema.role_names()
    entities = [_span(s, entity.index(s.label)) for s in sorted(aset.spans_of("entities"), key=lambda s: s.id)]
    events = [{"id": e.id, "type": event.index(e.type), "trigger": _span(by_id[e.trigger]),
               "arguments": [{"role": role.index(a.role), "entity_id": a.span, "start": by_id[a.span].start,
                              "end": by_id[a.span].end, "text": by_id[a.span].text,
                              "status": (a.provenance or e.provenance).status, "provenance": _prov(a.provenance)}
                             for a in e.arguments],
               "status": e.provenance.status, "provenance": _prov(e.provenance)}
              for e in sorted(aset.events, key=lambda e: e.id)]
    attributions = [{"id": a.id, "cue": _span(by_id[a.cue]), "source": _span(by_id.get(a.source) if a.source else None),
                     "content": _span(by_id[a.content]), "parent": a.parent, "status": a.provenance.status,
                     "provenance": _prov(a.provenance)} for a in sorted(aset.attributions, key=lambda a: a.id)]
    pairs = lambda name: [{"start": s, "end": e} for s, e in getattr(doc, name)]  # noqa: E731
    origin = doc.origin
    return {"id": doc.id, "date": doc.date, "title": doc.title, "url": doc.url, "source": doc.source,
            "first_release": doc.first_release, "text": doc.text,
            "annotation_set": None if aset.is_empty() else aset.name, "entities": entities, "events": events,
            "attributions": attributions, **{name: pairs(name) for name in ("sections", "paragraphs", "sentences",
                                                                             "tokens")},
            "origin": None if origin is None else {"path": public_path(origin.path, project), "sha256": origin.sha256,
                                                   "normalization": list(origin.normalization)}}
