"""Read a built (or downloaded) dataset back into documents: the round trip corpus -> dataset -> corpus.

Only the ``documents`` config is needed: it holds the text, boundaries, origin and the published
annotation set with full provenance.  Span labels of triggers and attribution parts come from
their container (the event type; CUE / SOURCE / CONTENT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from datasets import load_dataset

from ..model import AnnotationSet, Argument, Attribution, Document, Event, Origin, Provenance, Span
from .features import SPLITS

PARTS = (("cue", "CUE"), ("source", "SOURCE"), ("content", "CONTENT"))


def documents_from_dataset(path: str | Path, splits: tuple[str, ...] = SPLITS) -> Iterator[Document]:
    """Every document of the ``documents`` config (split by split) as a model Document.

    ``path`` is a local built folder or a Hub id (then loaded through ``load_dataset``'s own cache).
    """
    loaded = load_dataset(str(path), "documents")  # only splits with rows are published
    for split in splits:
        if split not in loaded:
            continue
        ds = loaded[split]
        names = _names(ds.features)
        for row in ds:
            yield document_from_row(row, names)


def _names(features: Any) -> dict[str, list[str]]:
    return {"entity": features["entities"].feature["label"].names, "event": features["events"].feature["type"].names,
            "role": features["events"].feature["arguments"].feature["role"].names}


def _prov(status: str, p: dict[str, Any] | None) -> Provenance | None:
    if p is None:
        return None
    return Provenance(p["agent"], status, p["time"] or "", p["kind"], p["detail"] or "")


def _span(s: dict[str, Any], label: str, layer: str) -> Span:
    return Span(s["id"], s["start"], s["end"], s["text"], label, layer, _prov(s["status"], s["provenance"]))  # type: ignore[arg-type]


def document_from_row(row: dict[str, Any], names: dict[str, list[str]]) -> Document:
    """One ``documents`` row (ClassLabel fields as ids) -> a Document holding its published set."""
    spans: dict[str, Span] = {}
    for s in row["entities"]:
        spans[s["id"]] = _span(s, names["entity"][s["label"]], "entities")
    events = []
    for e in row["events"]:
        etype = names["event"][e["type"]]
        spans.setdefault(e["trigger"]["id"], _span(e["trigger"], etype, "events"))
        args = tuple(Argument(names["role"][a["role"]], a["entity_id"], _prov(a["status"], a["provenance"]))
                     for a in e["arguments"])
        events.append(Event(e["id"], e["trigger"]["id"], etype, args, _prov(e["status"], e["provenance"])))  # type: ignore[arg-type]
    attributions = []
    for a in row["attributions"]:
        for part, label in PARTS:
            if a[part] is not None:
                spans.setdefault(a[part]["id"], _span(a[part], label, "attribution"))
        attributions.append(Attribution(a["id"], a["cue"]["id"], a["source"]["id"] if a["source"] else None,
                                        a["content"]["id"], _prov(a["status"], a["provenance"]), a["parent"]))  # type: ignore[arg-type]
    sets = {}
    if row["annotation_set"]:
        sets[row["annotation_set"]] = AnnotationSet(row["annotation_set"], tuple(sorted(spans.values(), key=lambda s: s.id)),
                                                    tuple(events), tuple(attributions))
    origin = row["origin"]
    return Document(
        id=row["id"], text=row["text"], date=row["date"], title=row["title"], url=row["url"], source=row["source"],
        first_release=row.get("first_release"),
        origin=Origin(origin["path"], origin["sha256"], tuple(origin["normalization"])) if origin else None,
        sections=_pairs(row["sections"]), paragraphs=_pairs(row["paragraphs"]), sentences=_pairs(row["sentences"]),
        tokens=_pairs(row["tokens"]), annotations=sets,
    )


def _pairs(items: list[dict[str, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((p["start"], p["end"]) for p in items)
