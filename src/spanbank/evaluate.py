"""Score one annotation set against another: precision, recall and F1 per layer, level and label.

Matching (within one document, within one label unless a level ignores labels):

- ``exact``: same ``[start, end)`` offsets (every component, for attribution relations);
- ``overlap``: the spans share at least one character, matched one-to-one greedily, largest overlap
  first (ties by position), so one prediction never counts twice.

Levels per layer:

- ``entities``: ``span`` (label + span);
- ``events`` (ACE style): ``trigger_identification`` (trigger span, any type),
  ``trigger_classification`` (trigger span + event type), ``argument_identification`` (event type of
  its trigger + argument span, any role), ``argument_role`` (event type + argument span + role);
- ``attribution``: ``span`` (SOURCE / CUE / CONTENT spans, per label) and ``relation`` (one row: cue,
  source and content all match; a missing source matches only a missing source).

Every level has a micro-averaged ``ALL`` row.

Modes: by default the gold is **exhaustive**: every document of the gold stream counts in every
layer, so predictions in a document (or layer) without gold spans are false positives.  With
``partial_gold=True`` a layer is scored only on documents whose gold set has annotations in that
layer (a gold set that only marks entities says nothing about events).  The documents counted and
the mode are reported.

Besides P/R/F1, the span layers (entity spans, attribution spans, event triggers with their type)
get an error breakdown per label in the style of NER error analysis (exact offsets):

- ``correct``: same offsets, same label;
- ``wrong_type``: same offsets, another label (counted under the gold label);
- ``wrong_boundary``: overlapping offsets, same label;
- ``wrong_both``: overlapping offsets, another label (counted under the gold label);
- ``missed``: a gold span nothing overlaps; ``spurious``: a predicted span that overlaps no gold
  span left (counted under the predicted label).

Each category is matched one-to-one in that order (largest overlap first).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .errors import CorpusError
from .model import LAYERS, AnnotationSet, Document

MATCHES = ("exact", "overlap")
LEVELS = {
    "entities": ("span",),
    "events": ("trigger_identification", "trigger_classification", "argument_identification", "argument_role"),
    "attribution": ("span", "relation"),
}
ALL = "ALL"
EXHAUSTIVE, PARTIAL = "exhaustive", "partial-gold"
ERRORS = ("correct", "wrong_type", "wrong_boundary", "wrong_both", "missed", "spurious")
# the level whose items (one interval, keyed by label) feed the error breakdown of each layer
BREAKDOWN_LEVEL = {"entities": "span", "events": "trigger_classification", "attribution": "span"}
Interval = tuple[int, int] | None


@dataclass(frozen=True)
class Item:
    """Something to match: a grouping key (must be equal), its intervals, and the row it counts in."""

    key: object
    spans: tuple[Interval, ...]
    row: str


# --- matching -----------------------------------------------------------------------------------


def _overlap(a: Interval, b: Interval) -> int | None:
    """Characters shared by two intervals; 0 for two missing ones; None when they do not match."""
    if a is None or b is None:
        return 0 if a is b else None
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared if shared > 0 else None


def match(gold: Sequence[Item], pred: Sequence[Item], overlap: bool) -> list[tuple[Item, Item]]:
    """One-to-one matched (gold, pred) pairs."""
    if not overlap:
        pool = Counter((p.key, p.spans) for p in pred)
        pairs = []
        for g in gold:
            if pool[(g.key, g.spans)] > 0:
                pool[(g.key, g.spans)] -= 1
                pairs.append((g, g))
        return pairs
    candidates = []
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if g.key != p.key or len(g.spans) != len(p.spans):
                continue
            shared = [_overlap(a, b) for a, b in zip(g.spans, p.spans)]
            if None not in shared:
                candidates.append((-sum(shared), i, j))
    candidates.sort()
    used_g, used_p, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            pairs.append((gold[i], pred[j]))
    return pairs


# --- items per level ----------------------------------------------------------------------------


def _mapped(label: str, label_map: Mapping[str, str | None]) -> str | None:
    return label_map.get(label, label)


def _span_items(aset: AnnotationSet, layer: str, label_map: Mapping[str, str | None]) -> list[Item]:
    out = []
    for s in aset.spans_of(layer):
        label = _mapped(s.label, label_map)
        if label is not None:
            out.append(Item(label, ((s.start, s.end),), label))
    return out


def _triggers(aset: AnnotationSet, label_map: Mapping[str, str | None]) -> list[tuple[str, tuple[int, int], list]]:
    """(event type, trigger interval, [(role, arg interval)]) for every event and bare trigger span."""
    by_id = {s.id: s for s in aset.spans}
    out, used = [], set()
    for ev in aset.events:
        trig = by_id.get(ev.trigger)
        etype = _mapped(ev.type, label_map)
        if trig is None or etype is None:
            continue
        used.add(trig.id)
        args = [(a.role, (by_id[a.span].start, by_id[a.span].end)) for a in ev.arguments if a.span in by_id]
        out.append((etype, (trig.start, trig.end), args))
    for s in aset.spans_of("events"):
        etype = _mapped(s.label, label_map)
        if s.id not in used and etype is not None:
            out.append((etype, (s.start, s.end), []))
    return out


def _event_items(aset: AnnotationSet, level: str, label_map: Mapping[str, str | None]) -> list[Item]:
    triggers = _triggers(aset, label_map)
    if level == "trigger_identification":
        return [Item(None, (span,), ALL) for _, span, _ in triggers]
    if level == "trigger_classification":
        return [Item(etype, (span,), etype) for etype, span, _ in triggers]
    if level == "argument_identification":
        return [Item(etype, (arg,), etype) for etype, _, args in triggers for _, arg in args]
    return [Item((etype, role), (arg,), role) for etype, _, args in triggers for role, arg in args]


def _relation_items(aset: AnnotationSet) -> list[Item]:
    by_id = {s.id: (s.start, s.end) for s in aset.spans}
    return [Item(None, (by_id.get(a.cue), by_id.get(a.source) if a.source else None, by_id.get(a.content)), ALL)
            for a in aset.attributions if a.cue in by_id and a.content in by_id]


def items(aset: AnnotationSet, layer: str, level: str, label_map: Mapping[str, str | None] | None = None) -> list[Item]:
    """The items of one layer and level of an annotation set."""
    label_map = label_map or {}
    if layer == "events":
        return _event_items(aset, level, label_map)
    if layer == "attribution" and level == "relation":
        return _relation_items(aset)
    return _span_items(aset, layer, label_map)


# --- counting and scoring -----------------------------------------------------------------------


class Tally:
    """tp / fp / fn per (layer, level, match, row)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, str], Counter] = {}
        self.documents: Counter = Counter()
        self.errors: dict[str, dict[str, Counter]] = {}  # layer -> label -> category -> n

    def add(self, where: tuple[str, str, str], gold: list[Item], pred: list[Item], pairs: list) -> None:
        for g in gold:
            self._bucket(where, g.row)["fn"] += 1
        for p in pred:
            self._bucket(where, p.row)["fp"] += 1
        for g, p in pairs:
            self._bucket(where, g.row)["tp"] += 1
            self._bucket(where, g.row)["fn"] -= 1
            self._bucket(where, p.row)["fp"] -= 1

    def _bucket(self, where: tuple[str, str, str], row: str) -> Counter:
        return self.counts.setdefault((*where, row), Counter())


def breakdown(gold: Sequence[Item], pred: Sequence[Item]) -> Iterator[tuple[str, str]]:
    """(category, label) for every gold and predicted item of one document (one interval per item)."""
    gold_left, pred_left = list(gold), list(pred)

    def take(fits: Callable[[Item, Item], int | None], category: str) -> Iterator[tuple[str, str]]:
        candidates = []
        for i, g in enumerate(gold_left):
            for j, p in enumerate(pred_left):
                shared = fits(g, p)
                if shared is not None:
                    candidates.append((-shared, i, j))
        used_g, used_p = set(), set()
        for _, i, j in sorted(candidates):
            if i not in used_g and j not in used_p:
                used_g.add(i)
                used_p.add(j)
                yield category, gold_left[i].row
        gold_left[:] = [g for i, g in enumerate(gold_left) if i not in used_g]
        pred_left[:] = [p for j, p in enumerate(pred_left) if j not in used_p]

    same = lambda g, p: 0 if g.spans == p.spans else None  # noqa: E731
    yield from take(lambda g, p: same(g, p) if g.key == p.key else None, "correct")
    yield from take(same, "wrong_type")
    yield from take(lambda g, p: _overlap(g.spans[0], p.spans[0]) if g.key == p.key else None, "wrong_boundary")
    yield from take(lambda g, p: _overlap(g.spans[0], p.spans[0]), "wrong_both")
    yield from (("missed", g.row) for g in gold_left)
    yield from (("spurious", p.row) for p in pred_left)


def score(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _paired(gold_docs: Iterable[Document], pred_docs: Iterable[Document]) -> Iterator[tuple[Document, Document | None]]:
    """Merge-join two id-sorted streams; every gold document with its prediction (or None)."""
    pred_iter = iter(pred_docs)
    pred = next(pred_iter, None)
    for gold in gold_docs:
        while pred is not None and pred.id < gold.id:
            pred = next(pred_iter, None)
        yield gold, (pred if pred is not None and pred.id == gold.id else None)


def evaluate(gold_docs: Iterable[Document], pred_docs: Iterable[Document], layers: Sequence[str] = LAYERS,
             gold_set: str = "gold", pred_set: str = "silver", label_map: Mapping[str, str | None] | None = None,
             progress: Callable[[int], None] | None = None, partial_gold: bool = False) -> dict[str, Any]:
    """Scores of ``pred_set`` against ``gold_set`` over two id-sorted document streams (bounded memory).

    Every document of ``gold_docs`` counts (exhaustive gold) unless ``partial_gold``: then a layer
    counts only documents whose gold set has annotations in it.
    ``label_map`` renames labels on both sides before matching (``{"GPE": "LOC"}``; ``None`` drops one).
    Raises CorpusError when no document has annotations of ``gold_set`` in the layers asked for.
    """
    unknown = [layer for layer in layers if layer not in LEVELS]
    if unknown:
        raise CorpusError(f"unknown layer {unknown[0]!r}", value=unknown[0], allowed=list(LEVELS))
    tally, with_gold, with_pred = Tally(), Counter(), 0
    for gold_doc, pred_doc in _paired(gold_docs, pred_docs):
        if progress:
            progress(1)
        gold = gold_doc.annotation_set(gold_set)
        pred = pred_doc.annotation_set(pred_set) if pred_doc is not None else AnnotationSet(pred_set)
        with_pred += not pred.is_empty()
        for layer in layers:
            has_gold = bool(gold.spans_of(layer) or (layer == "events" and gold.events))
            with_gold[layer] += has_gold
            if partial_gold and not has_gold:
                continue
            tally.documents[layer] += 1
            _score_layer(tally, layer, gold, pred, label_map)
    if not sum(with_gold.values()):
        raise CorpusError(f"no document has annotations in set {gold_set!r} for layers {', '.join(layers)}",
                          value=gold_set, hint="import or pull gold annotations first, or pick --gold-set")
    result = _result(tally, layers, gold_set, pred_set, PARTIAL if partial_gold else EXHAUSTIVE, with_gold)
    result["documents_with_pred"] = with_pred
    return result


def _score_layer(tally: Tally, layer: str, gold: AnnotationSet, pred: AnnotationSet,
                 label_map: Mapping[str, str | None] | None) -> None:
    for level in LEVELS[layer]:
        g, p = items(gold, layer, level, label_map), items(pred, layer, level, label_map)
        for kind in MATCHES:
            tally.add((layer, level, kind), g, p, match(g, p, kind == "overlap"))
        if level == BREAKDOWN_LEVEL[layer]:
            labels = tally.errors.setdefault(layer, {})
            for category, label in breakdown(g, p):
                labels.setdefault(label, Counter())[category] += 1


def _result(tally: Tally, layers: Sequence[str], gold_set: str, pred_set: str, mode: str,
            with_gold: Counter) -> dict[str, Any]:
    out: dict[str, Any] = {"gold_set": gold_set, "pred_set": pred_set, "mode": mode, "layers": {}}
    for layer in layers:
        if not tally.documents[layer]:
            continue
        levels: dict[str, Any] = {}
        for level in LEVELS[layer]:
            levels[level] = {kind: _rows(tally, (layer, level, kind)) for kind in MATCHES}
        errors = {label: {c: counts[c] for c in ERRORS} for label, counts in sorted(tally.errors.get(layer, {}).items())}
        errors[ALL] = {c: sum(e[c] for e in errors.values()) for c in ERRORS}
        out["layers"][layer] = {"documents": tally.documents[layer], "documents_with_gold": with_gold[layer],
                                "levels": levels, "errors": errors}
    return out


def _rows(tally: Tally, where: tuple[str, str, str]) -> dict[str, dict]:
    rows = {key[3]: c for key, c in tally.counts.items() if key[:3] == where}
    total = Counter()
    for c in rows.values():
        total.update(c)
    out = {row: score(c["tp"], c["fp"], c["fn"]) for row, c in sorted(rows.items()) if row != ALL}
    out[ALL] = score(total["tp"], total["fp"], total["fn"])
    return out


# --- rendering ----------------------------------------------------------------------------------


def render_table(result: Mapping[str, Any], labels: bool = True) -> str:
    """A plain-text table: one line per layer / level / label, exact and overlap side by side."""
    head = f"{'layer':<12} {'level':<24} {'label':<28} {'exact P':>8} {'R':>6} {'F1':>6}   {'overlap P':>9} {'R':>6} {'F1':>6} {'gold':>5} {'pred':>5}"
    mode = ("exhaustive gold: every gold-corpus document counts, predictions where gold has none are false "
            "positives (--partial-gold if the gold is not exhaustive)" if result["mode"] == EXHAUSTIVE else
            "partial gold: a layer counts only documents whose gold set has annotations in it")
    lines = [f"gold set {result['gold_set']!r} vs predicted set {result['pred_set']!r}; {mode}", head, "-" * len(head)]
    if not result.get("documents_with_pred", 1):
        lines.insert(1, f"note: no gold-corpus document has annotations in set {result['pred_set']!r} (annotate skips "
                        "documents with human annotation: `spanbank annotate --into-set silver/NAME`, then --pred-set)")
    for layer, data in result["layers"].items():
        for level, by_kind in data["levels"].items():
            rows = [r for r in by_kind["exact"] if r != ALL] if labels else []
            for row in rows + [ALL]:
                e, o = by_kind["exact"][row], by_kind["overlap"].get(row) or score(0, 0, 0)
                lines.append(f"{layer:<12} {level:<24} {row:<28} {e['precision']:>8.3f} {e['recall']:>6.3f} {e['f1']:>6.3f}"
                             f"   {o['precision']:>9.3f} {o['recall']:>6.3f} {o['f1']:>6.3f}"
                             f" {e['tp'] + e['fn']:>5} {e['tp'] + e['fp']:>5}")
        lines.append(f"{layer:<12} ({data['documents']} document(s), {data['documents_with_gold']} with gold annotation)")
    return "\n".join(lines + render_errors(result, labels))


def render_errors(result: Mapping[str, Any], labels: bool = True) -> list[str]:
    """The error breakdown per layer and label (exact offsets) as table lines."""
    head = f"{'layer':<12} {'label':<28} " + " ".join(f"{c:>14}" for c in ERRORS)
    lines = ["", "error breakdown (exact offsets; wrong_* counted under the gold label, spurious under the predicted)",
             head, "-" * len(head)]
    for layer, data in result["layers"].items():
        rows = [r for r in data["errors"] if r != ALL] if labels else []
        for row in rows + [ALL]:
            lines.append(f"{layer:<12} {row:<28} " + " ".join(f"{data['errors'][row][c]:>14}" for c in ERRORS))
    return lines
