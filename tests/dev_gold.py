"""The development gold under ``tests/fixtures/dev_gold/`` read into documents with a ``gold`` set.

Each passage names its spans by their text, matched as whole words (``"said#2"`` = the second occurrence); see the files'
headers for the format.  A reference that is missing or ambiguous raises ``ValueError`` naming the
file, the passage and the text, so a typo in the gold cannot silently drop an item.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from spanbank.model import GOLD, AnnotationSet, Argument, Attribution, Document, Event, Provenance, Span, document_id

DEV_GOLD = Path(__file__).resolve().parent / "fixtures" / "dev_gold"
PROV = Provenance("dev-gold", GOLD, "2026-11-30T00:00:00Z", "human")
SPLITS = ("tune", "heldout", "fresh", "fresh2")


class _Builder:
    def __init__(self, path: Path, pid: str, text: str) -> None:
        self.where, self.text = f"{path.name}:{pid}", text
        self.doc = Document(document_id(text), text)
        self.spans: dict[str, Span] = {}

    def offsets(self, ref: str) -> tuple[int, int]:
        words, _, nth = ref.rpartition("#") if "#" in ref and ref.rpartition("#")[2].isdigit() else (ref, "", "")
        hits = [i for i in range(len(self.text)) if self.text.startswith(words, i)
                and not (i > 0 and self.text[i - 1].isalnum())
                and not (i + len(words) < len(self.text) and self.text[i + len(words)].isalnum())]
        if not hits or (not nth and len(hits) > 1) or (nth and int(nth) > len(hits)):
            raise ValueError(f"{self.where}: {ref!r} occurs {len(hits)} time(s) (write 'text#N' for the Nth)")
        start = hits[int(nth) - 1 if nth else 0]
        return start, start + len(words)

    def span(self, ref: str, label: str, layer: str) -> Span:
        start, end = self.offsets(ref)
        sid = f"{layer[:3]}-{label}-{start}-{end}"
        return self.spans.setdefault(sid, self.doc.make_span(sid, start, end, label, layer, PROV))


def _attributions(b: _Builder, items: list[dict]) -> list[Attribution]:
    groups = []
    for item in items:
        cue = b.span(item["cue"], "CUE", "attribution")
        source = b.span(item["source"], "SOURCE", "attribution") if item.get("source") else None
        contents = item["content"] if isinstance(item["content"], list) else [item["content"]]
        groups.append([Attribution(f"at-{cue.start}-{k}", cue.id, source.id if source else None,
                                   b.span(c, "CONTENT", "attribution").id, PROV) for k, c in enumerate(contents)])
    out = []
    for item, group in zip(items, groups):
        parent = groups[item["parent"]][0].id if "parent" in item else None
        out.extend(Attribution(a.id, a.cue, a.source, a.content, a.provenance, parent) for a in group)
    return out


def _events(b: _Builder, items: list[dict]) -> list[Event]:
    out = []
    for item in items:
        trigger = b.span(item["trigger"], item["type"], "events")
        args = tuple(Argument(role, b.span(ref, label, "entities").id) for role, ref, label in item.get("args", ()))
        out.append(Event(f"ev-{trigger.start}", trigger.id, item["type"], args, PROV))
    return out


def load(layer: str, split: str | None = None) -> list[Document]:
    """The passages of ``layer`` ("attribution" or "events"), all or one split, as documents with a ``gold`` set."""
    path = DEV_GOLD / f"{layer}.yaml"
    docs = []
    for p in yaml.safe_load(path.read_text(encoding="utf-8"))["passages"]:
        if p["split"] not in SPLITS:
            raise ValueError(f"{path.name}:{p['id']}: split {p['split']!r} is not one of {SPLITS}")
        if split is not None and p["split"] != split:
            continue
        b = _Builder(path, p["id"], p["text"])
        atts = _attributions(b, p.get("attributions", ())) if layer == "attribution" else []
        events = _events(b, p.get("events", ())) if layer == "events" else []
        docs.append(b.doc.with_set(AnnotationSet(GOLD, tuple(b.spans.values()), tuple(events), tuple(atts))))
    return sorted(docs, key=lambda d: d.id)
