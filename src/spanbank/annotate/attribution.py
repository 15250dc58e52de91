"""``spanbank.attribution.v1``: who said what (PARC-style SOURCE, CUE, CONTENT) from cues and the parse.

Conventions:

* Cues come from ``schema/lexicons/cues.yaml``: reporting verbs ("said", "told", "reported",
  "asserted", "added", "claimed", ...), verbs whose source is their object ("quoting X",
  "quoted X as saying") and fixed phrases ("according to").  A verb used as a modifier
  ("the said attack") is not a cue.
* SOURCE = the whole subject phrase of the cue verb without a leading determiner (the schema's
  mention convention: "the Associated Press reported" -> "Associated Press"); for a verb in a conjunction the first conjunct's subject ("the officials have begun a
  probe and added that ..."); for "quoting"/"quoted" its object; for "X as saying" the X; for
  "according to" the object of "to".  A cue without a source yields no attribution.
* CONTENT = the cue's clausal complement without its complementizer ("asserted that [...]");
  when the cue is attached to a clause instead ("X, the Associated Press reported"; "According
  to officials, X") the content is that clause without the cue's phrase (the longest unbroken
  stretch of it).  Edge punctuation and quote marks are left out, so a direct quotation's
  content is the text inside the quotes.  "quoting X" shares the content of the cue it is
  attached to.  A cue without content yields no attribution.
* Nesting: an attribution whose CUE lies inside another's CONTENT records the innermost such
  attribution as its ``parent`` ("officials told media X, Al Arabiya reported": the "told"
  attribution is the child of the "reported" one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Attribution, LabelSchema, Provenance, Span
from .registry import Output, Parsed, load_lexicon, register, span_id

NAME = "spanbank.attribution.v1"
LEXICON = "cues.yaml"
NOT_CUE_DEPS = frozenset({"amod", "compound", "acl"})
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those"})
ATTACHED_DEPS = frozenset({"conj", "parataxis", "advcl"})


@dataclass
class _Found:
    """One attribution in token ranges ``(first, last + 1)``; content may come from its host cue."""

    cue: tuple[int, int]
    source: tuple[int, int] | None
    content: tuple[int, int] | None
    host: int | None = None  # token index of the cue whose content this one shares


class AttributionAnnotator:
    name = NAME
    layer = "attribution"

    def __init__(self, schema: LabelSchema, model: Any) -> None:
        lex = load_lexicon(LEXICON)
        self.verbs = frozenset(v for group in lex["verbs"].values() for v in group)
        self.object_source = frozenset(lex.get("object_source_verbs", ()))
        self.phrases = [tuple(p["words"]) for p in lex.get("phrases", ())]
        self.phrase_starts = frozenset(words[0] for words in self.phrases)
        self.cue_lemmas = self.verbs | self.object_source
        self.quotes = frozenset(lex.get("quotes", ()))

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        sdoc = parsed.sdoc
        found: dict[int, _Found] = {}
        for tok in sdoc:
            hit = self._phrase(sdoc, tok) or self._verb(tok)
            if hit:
                found[tok.i] = hit
        for f in found.values():
            if f.content is None and f.host in found:
                f.content = found[f.host].content
        return self._build(parsed, provenance, [f for f in found.values() if f.source and f.content])

    # --- cues ---

    def _is_cue_verb(self, tok: Any) -> bool:
        return tok.pos_ == "VERB" and tok.dep_ not in NOT_CUE_DEPS and tok.lemma_.lower() in self.cue_lemmas

    def _verb(self, tok: Any) -> _Found | None:
        if not self._is_cue_verb(tok):
            return None
        lemma = tok.lemma_.lower()
        source = self._source(tok, lemma)
        comp = next((c for c in tok.children if c.dep_ == "ccomp"), None)
        if comp is not None:
            return _Found((tok.i, tok.i + 1), source, self._trim(comp.doc, *_bounds(comp)))
        if lemma in self.object_source and tok.dep_ in ATTACHED_DEPS | {"xcomp"} and self._is_cue_verb(tok.head):
            return _Found((tok.i, tok.i + 1), source, None, host=tok.head.i)
        if tok.dep_ in ATTACHED_DEPS and not self._is_cue_verb(tok.head):
            return _Found((tok.i, tok.i + 1), source, self._clause_without(tok.head, {tok.i}))
        return None

    def _phrase(self, sdoc: Any, tok: Any) -> _Found | None:
        if tok.lower_ not in self.phrase_starts:
            return None
        for words in self.phrases:
            end = tok.i + len(words)
            if end > len(sdoc) or tuple(t.lower_ for t in sdoc[tok.i:end]) != words:
                continue
            last = sdoc[end - 1]
            obj = next((c for c in last.children if c.dep_ == "pobj"), None)
            if obj is None:
                return None
            host = tok.head if tok.head.i != tok.i else last.head
            content = self._clause_without(host, {tok.i, last.i})
            return _Found((tok.i, end), _bounds(obj), content)
        return None

    def _source(self, tok: Any, lemma: str) -> tuple[int, int] | None:
        if lemma in self.object_source:
            obj = next((c for c in tok.children if c.dep_ == "dobj"), None)
            return _bounds(obj) if obj is not None else None
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None and tok.dep_ == "conj":
            subj = next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
        if subj is None and tok.dep_ == "pcomp" and tok.head.dep_ == "prep":
            subj = next((c for c in tok.head.head.children if c.dep_ == "dobj"), None)
        return _bounds(subj) if subj is not None else None

    # --- content ---

    def _clause_without(self, host: Any, cue_tokens: set[int]) -> tuple[int, int] | None:
        """The longest unbroken stretch of ``host``'s clause outside the cue's (and other cues') phrases."""
        excluded: set[int] = set()
        for child in host.children:
            inside = any(t.i in cue_tokens for t in child.subtree)
            if inside or (child.dep_ in ATTACHED_DEPS and self._is_cue_verb(child)):
                excluded.update(t.i for t in child.subtree)
        excluded.update(cue_tokens)
        kept = [t.i for t in host.subtree if t.i not in excluded]
        best: tuple[int, int] | None = None
        for start, end in _runs(kept):
            trimmed = self._trim(host.doc, start, end)
            if trimmed and (best is None or trimmed[1] - trimmed[0] > best[1] - best[0]):
                best = trimmed
        return best

    def _trim(self, sdoc: Any, start: int, end: int) -> tuple[int, int] | None:
        """Without edge punctuation, quote marks, spaces and a leading complementizer."""
        def drop(t: Any) -> bool:
            return t.is_punct or t.is_space or t.text in self.quotes
        while start < end and (drop(sdoc[start]) or (sdoc[start].dep_ == "mark" and sdoc[start].lower_ in ("that", "whether", "if"))):
            start += 1
        while end > start and drop(sdoc[end - 1]):
            end -= 1
        return (start, end) if start < end else None

    # --- output ---

    def _build(self, parsed: Parsed, provenance: Provenance, found: list[_Found]) -> Output:
        sdoc, doc = parsed.sdoc, parsed.doc
        spans: dict[str, Span] = {}

        def span(prefix: str, label: str, bounds: tuple[int, int]) -> Span:
            a, b = sdoc[bounds[0]].idx, sdoc[bounds[1] - 1].idx + len(sdoc[bounds[1] - 1].text)
            s = doc.make_span(span_id(prefix, a, b), a, b, label, "attribution", provenance)
            return spans.setdefault(s.id, s)

        made = []
        for f in sorted(found, key=lambda f: f.cue):
            assert f.source is not None and f.content is not None
            cue = span("cue", "CUE", f.cue)
            source = span("src", "SOURCE", _without_determiner(sdoc, f.source))
            made.append((Attribution(span_id("at", cue.start, cue.end), cue.id, source.id,
                                     span("con", "CONTENT", f.content).id, provenance), cue))
        attributions = [_with_parent(at, cue, made, spans) for at, cue in made]
        return Output(spans=list(spans.values()), attributions=attributions)


def _with_parent(at: Attribution, cue: Span, made: list[tuple[Attribution, Span]], spans: dict[str, Span]) -> Attribution:
    """``at`` with ``parent`` = the attribution with the smallest content holding ``at``'s cue."""
    best, size = None, None
    for other, _ in made:
        content = spans[other.content]
        if other.id != at.id and other.content != at.content and content.start <= cue.start and cue.end <= content.end:
            if size is None or content.end - content.start < size:
                best, size = other.id, content.end - content.start
    return Attribution(at.id, at.cue, at.source, at.content, at.provenance, best)


def _without_determiner(sdoc: Any, bounds: tuple[int, int]) -> tuple[int, int]:
    start, end = bounds
    if end - start > 1 and sdoc[start].lower_ in DETERMINERS:
        start += 1
    return start, end


def _bounds(tok: Any) -> tuple[int, int]:
    return tok.left_edge.i, tok.right_edge.i + 1


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive token indices as ``(start, end)`` ranges."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


@register(NAME, "attribution")
def attribution_v1(schema: LabelSchema, model: Any) -> AttributionAnnotator:
    return AttributionAnnotator(schema, model)
