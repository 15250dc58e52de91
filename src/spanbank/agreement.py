"""Agreement between human annotators: pairwise span F1, token-level Cohen's kappa, Krippendorff's alpha.

The inputs are the ``annotator/<name>`` sets pulled from Doccano.  Rules, stated once:

- **Which documents count.**  An annotator *labelled* a document when their set on it is non-empty.
  A pair of annotators is compared only on documents that both labelled; alpha uses, per document,
  the annotators who labelled it (the others are missing values, not "no annotation").
- **Span F1** (per layer, level and label, ``exact`` and ``overlap`` matching as in
  :mod:`spanbank.evaluate`): the first annotator of a pair is the reference; F1 = 2·agreed /
  (2·agreed + only_first + only_second) is symmetric, so the choice does not matter.  Levels:
  ``entities``: ``span`` (label + span); ``events``: ``trigger`` (trigger span + event type) and
  ``argument`` (trigger span + role + argument span; the event type is judged at the trigger level
  only); ``attribution``: ``span`` (SOURCE / CUE / CONTENT spans, per role) and ``relation`` (cue,
  source and content all match; a missing source matches only a missing source).
- **Token units** (kappa and alpha): the document's tokens (``doc.tokens``).  A token's label in one
  layer is the label of a span of that layer overlapping it, ``O`` when none does.  When several
  spans of one layer overlap a token, the *innermost* wins: the shortest span, then the one starting
  first, then the alphabetically first label.  Only tokens that at least one of the compared
  annotators marked in that layer are units (tokens everyone left ``O`` would inflate agreement).
- **Cohen's kappa** per pair and layer over those tokens: (p_o - p_e) / (1 - p_e), ``None`` when
  p_e = 1 (both used a single label throughout: undefined).
- **Krippendorff's alpha** (nominal) per layer over all annotators: units are the tokens that any
  annotator who labelled the document marked; values are the labels of the annotators who labelled
  it.  Computed from the coincidence matrix, ``None`` when only one value occurs.

Everything streams: only counts are kept (per pair, layer and label), never documents.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import combinations
from statistics import mean
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import CorpusError
from .evaluate import ALL, MATCHES, Item, Tally, items, match, score
from .model import LAYERS, AnnotationSet, Document, Span, annotator_set

LEVELS = {"entities": ("span",), "events": ("trigger", "argument"), "attribution": ("span", "relation")}
HEADLINE_LEVEL = {"entities": "span", "events": "trigger", "attribution": "span"}
OUTSIDE = "O"


# --- items and token labels ---------------------------------------------------------------------


def level_items(aset: AnnotationSet, layer: str, level: str) -> list[Item]:
    """What one annotator marked at one layer and level, as matchable items."""
    if level == "trigger":
        return items(aset, "events", "trigger_classification")
    if level == "argument":
        by_id = {s.id: (s.start, s.end) for s in aset.spans}
        return [Item(arg.role, (by_id[ev.trigger], by_id[arg.span]), arg.role)
                for ev in aset.events if ev.trigger in by_id for arg in ev.arguments if arg.span in by_id]
    return items(aset, layer, level)


def token_labels(tokens: Sequence[tuple[int, int]], spans: Iterable[Span]) -> dict[int, str]:
    """Token index -> label for every token a span overlaps (innermost span wins; see module doc)."""
    starts = [t[0] for t in tokens]
    ends = [t[1] for t in tokens]
    out: dict[int, str] = {}
    # Assign the widest spans first so that the innermost (smallest key) is written last.
    for s in sorted(spans, key=lambda s: (s.end - s.start, s.start, s.label), reverse=True):
        for i in range(bisect_right(ends, s.start), bisect_left(starts, s.end)):
            out[i] = s.label
    return out


# --- statistics -----------------------------------------------------------------------------------


def cohen_kappa(confusion: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from counts of (first annotator's label, second's label); None when undefined."""
    n = sum(confusion.values())
    if not n:
        return None
    first, second = Counter(), Counter()
    for (a, b), c in confusion.items():
        first[a] += c
        second[b] += c
    p_o = sum(c for (a, b), c in confusion.items() if a == b) / n
    p_e = sum(first[k] * second[k] for k in first) / (n * n)
    return None if p_e == 1 else (p_o - p_e) / (1 - p_e)


def add_coincidences(coincidence: Counter, values: Sequence[str]) -> bool:
    """Add one unit's values to a nominal coincidence matrix; False when the unit is not pairable."""
    m = len(values)
    if m < 2:
        return False
    counts = Counter(values)
    for c, n_c in counts.items():
        for k, n_k in counts.items():
            coincidence[(c, k)] += n_c * (n_k - (c == k)) / (m - 1)
    return True


def krippendorff_alpha(coincidence: Mapping[tuple[str, str], float]) -> float | None:
    """Nominal alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k; None when only one value occurs."""
    totals: Counter = Counter()
    for (c, _), o in coincidence.items():
        totals[c] += o
    n = sum(totals.values())
    observed = sum(o for (c, k), o in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if not expected:
        return None
    return 1 - (n - 1) * observed / expected


# --- accumulation ---------------------------------------------------------------------------------


class _Counts:
    """Everything agreement keeps while streaming: counts per pair, per layer, per label."""

    def __init__(self, layers: Sequence[str]) -> None:
        self.layers = layers
        self.annotators: set[str] = set()
        self.documents = 0
        self.tally: dict[tuple[str, str], Tally] = {}
        self.confusion: dict[tuple[str, str, str], Counter] = {}
        self.coincidence = {layer: Counter() for layer in layers}
        self.units = Counter()
        self.layer_docs = Counter()
        self.untokenized = 0

    def add_document(self, doc: Document, sets: dict[str, AnnotationSet]) -> None:
        self.documents += 1
        self.untokenized += not doc.tokens
        self.annotators.update(sets)
        for layer in self.layers:
            labels = {name: token_labels(doc.tokens, aset.spans_of(layer)) for name, aset in sets.items()}
            self._add_alpha(layer, labels)
            if len(sets) > 1:
                self.layer_docs[layer] += 1
            for a, b in combinations(sorted(sets), 2):
                self._add_pair(layer, (a, b), sets[a], sets[b], labels[a], labels[b])

    def _add_alpha(self, layer: str, labels: dict[str, dict[int, str]]) -> None:
        marked = sorted(set().union(*labels.values())) if labels else []
        for i in marked:
            if add_coincidences(self.coincidence[layer], [lab.get(i, OUTSIDE) for lab in labels.values()]):
                self.units[layer] += 1

    def _add_pair(self, layer: str, pair: tuple[str, str], a: AnnotationSet, b: AnnotationSet,
                  labels_a: dict[int, str], labels_b: dict[int, str]) -> None:
        tally = self.tally.setdefault(pair, Tally())
        tally.documents[layer] += 1
        for level in LEVELS[layer]:
            first, second = level_items(a, layer, level), level_items(b, layer, level)
            for kind in MATCHES:
                tally.add((layer, level, kind), first, second, match(first, second, kind == "overlap"))
        confusion = self.confusion.setdefault((*pair, layer), Counter())
        for i in set(labels_a) | set(labels_b):
            confusion[(labels_a.get(i, OUTSIDE), labels_b.get(i, OUTSIDE))] += 1


def _selected_sets(doc: Document, annotators: Sequence[str] | None) -> dict[str, AnnotationSet]:
    names = doc.annotators() if annotators is None else [a for a in annotators if a in doc.annotators()]
    sets = {name: doc.annotation_set(annotator_set(name)) for name in names}
    return {name: aset for name, aset in sets.items() if not aset.is_empty()}


def agreement(docs: Iterable[Document], layers: Sequence[str] = LAYERS, annotators: Sequence[str] | None = None,
              progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Agreement among the annotators of a document stream (bounded memory); a JSON-able dict.

    ``annotators`` restricts the comparison to those names (default: everyone found).  Raises
    CorpusError for an unknown layer, an annotator who labelled nothing, or fewer than two annotators.
    """
    unknown = [layer for layer in layers if layer not in LEVELS]
    if unknown:
        raise CorpusError(f"unknown layer {unknown[0]!r}", value=unknown[0], allowed=list(LEVELS))
    counts = _Counts(layers)
    everyone: set[str] = set()
    for doc in docs:
        if progress:
            progress(1)
        everyone.update(doc.annotators())
        sets = _selected_sets(doc, annotators)
        if sets:
            counts.add_document(doc, sets)
    _check_annotators(counts, annotators, everyone)
    return _result(counts)


def _check_annotators(counts: _Counts, annotators: Sequence[str] | None, everyone: set[str]) -> None:
    seen = sorted(counts.annotators)
    missing = [a for a in annotators or () if a not in counts.annotators]
    if missing:
        raise CorpusError(f"annotator {missing[0]!r} labelled no document", value=missing[0], allowed=sorted(everyone),
                          hint="check the name, or pull the annotators' work with `spanbank doccano pull`")
    if len(seen) < 2 or not counts.tally:
        found = f"only {', '.join(seen)}" if seen else "none"
        raise CorpusError(f"agreement needs two annotators who labelled the same document; found {found}",
                          hint="have a second annotator label some documents, then `spanbank doccano pull`")


def _result(counts: _Counts) -> dict[str, Any]:
    out: dict[str, Any] = {"annotators": sorted(counts.annotators), "documents": counts.documents,
                           "untokenized_documents": counts.untokenized, "layers": {}}
    for layer in counts.layers:
        alpha = krippendorff_alpha(counts.coincidence[layer])
        pairs = [_pair_result(counts, pair, tally, layer) for pair, tally in sorted(counts.tally.items())]
        out["layers"][layer] = {
            "documents": counts.layer_docs[layer],
            "alpha": {"value": _round(alpha), "units": counts.units[layer]},
            "pairs": pairs,
        }
    return out


def _pair_result(counts: _Counts, pair: tuple[str, str], tally: Tally, layer: str) -> dict[str, Any]:
    confusion = counts.confusion.get((*pair, layer), Counter())
    levels = {level: {kind: _rows(tally, (layer, level, kind)) for kind in MATCHES} for level in LEVELS[layer]}
    return {"annotators": list(pair), "documents": tally.documents[layer],
            "kappa": {"value": _round(cohen_kappa(confusion)), "tokens": sum(confusion.values())}, "levels": levels}


def _rows(tally: Tally, where: tuple[str, str, str]) -> dict[str, dict[str, Any]]:
    rows = {key[3]: c for key, c in tally.counts.items() if key[:3] == where}
    total: Counter = Counter()
    for c in rows.values():
        total.update(c)
    out = {row: _agreement_row(c) for row, c in sorted(rows.items()) if row != ALL}
    out[ALL] = _agreement_row(total)
    return out


def _agreement_row(c: Counter) -> dict[str, Any]:
    return {"agreed": c["tp"], "only_first": c["fn"], "only_second": c["fp"], "f1": score(c["tp"], c["fp"], c["fn"])["f1"]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- summary and rendering ------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(mean(present), 4) if present else None


def agreement_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """Per-layer headline numbers for the dataset card: mean pairwise F1 and kappa, alpha, counts.

    A pair's F1 counts in the mean only when either annotator marked something at that level.
    """
    out: dict[str, Any] = {"annotators": len(result["annotators"]), "documents": result["documents"], "layers": {}}
    for layer, data in result["layers"].items():
        pairs = data["pairs"]
        levels = {}
        for level in LEVELS[layer]:
            levels[level] = {kind: _mean(_pair_f1(p, level, kind) for p in pairs) for kind in MATCHES}
        head = levels[HEADLINE_LEVEL[layer]]
        out["layers"][layer] = {
            "documents": data["documents"], "pairs": len(pairs),
            "f1_exact": head["exact"], "f1_overlap": head["overlap"],
            "kappa": _mean(p["kappa"]["value"] for p in pairs), "alpha": data["alpha"]["value"], "levels": levels,
        }
    return out


def _pair_f1(pair: Mapping[str, Any], level: str, kind: str) -> float | None:
    row = pair["levels"][level][kind][ALL]
    return row["f1"] if row["agreed"] + row["only_first"] + row["only_second"] else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_table(result: Mapping[str, Any], labels: bool = True) -> str:
    """Plain text: per layer alpha, then per pair kappa and one line per level / label (exact, overlap F1)."""
    lines = [f"{len(result['annotators'])} annotator(s): {', '.join(result['annotators'])}; "
             f"{result['documents']} document(s) labelled"]
    head = f"  {'level':<10} {'label':<28} {'exact F1':>8} {'overlap F1':>10} {'agreed':>7} {'only 1st':>8} {'only 2nd':>8}"
    for layer, data in result["layers"].items():
        alpha = data["alpha"]
        lines.append(f"\n{layer}: Krippendorff's alpha {_fmt(alpha['value'])} over {alpha['units']} token(s), "
                     f"{data['documents']} document(s) with 2+ annotators")
        for pair in data["pairs"]:
            a, b = pair["annotators"]
            kappa = pair["kappa"]
            lines.append(f" {a} vs {b}: {pair['documents']} document(s), Cohen's kappa {_fmt(kappa['value'])} "
                         f"over {kappa['tokens']} token(s)")
            lines += [head, "  " + "-" * (len(head) - 2)]
            lines += _level_lines(pair, labels)
    return "\n".join(lines)


def _level_lines(pair: Mapping[str, Any], labels: bool) -> list[str]:
    lines = []
    for level, by_kind in pair["levels"].items():
        rows = [r for r in by_kind["exact"] if r != ALL] if labels else []
        for row in rows + [ALL]:
            e, o = by_kind["exact"][row], by_kind["overlap"].get(row)
            lines.append(f"  {level:<10} {row:<28} {e['f1']:>8.3f} {_fmt(o and o['f1']):>10} {e['agreed']:>7} "
                         f"{e['only_first']:>8} {e['only_second']:>8}")
    return lines
