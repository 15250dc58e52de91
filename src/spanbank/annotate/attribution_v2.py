"""``spanbank.attribution.v2``: PARC-style attribution for news - more cues, quotations, split quotes.

Builds on v1's parse rules (which stay as released) and changes or adds, with the lexicon
``schema/lexicons/cues_v2.yaml``:

* Cues beyond speech verbs: urging, accusing, denying, believing/thinking ("Investigators
  believe ..."), "called on/for" (the particle belongs to the CUE), and nominal cues with a
  that-clause and a possessive source ("the ministry's claim that ...": CUE "claim", SOURCE
  "ministry").  "according to" is a cue only as a parenthetical (sentence-initial or after a
  comma), not as manner ("tested according to national standards").
* CONTENT of an object-control cue is the object through the end of its complement ("urged
  [both sides to return to the table]", "accused [the government of rigging the vote]"); a
  that-clause still wins, without the addressee ("told Reuters that [fighting continued]");
  "denied [any wrongdoing]" takes its object.
* SOURCE is the subject noun phrase up to its first comma, appositive or relative clause
  ("said Maria Lopez, who led ..." -> "Maria Lopez"), without a leading determiner; a participle
  cue without a subject ("..., warning that X") takes the subject of the verb it modifies.
* Direct quotations are found from their quote marks, not only from the parse: a quotation
  followed by ``, <cue clause>`` ('"...," the minister said', '"...," said Smith') or preceded by
  ``<cue clause>:`` / ``<cue clause>,`` ('told parliament: "..."') is that cue's CONTENT, inside the
  marks.  A split quotation ('"A," he said, "B."') and a quotation continuing the speaker's words
  in the next sentence without a cue of its own ('"A," he said. "B."') give the same cue one
  CONTENT per part: one Attribution record per part, all sharing CUE and SOURCE (ids
  ``at-<cue start>-<cue end>``, then ``...-2``, ``...-3``).
* Nesting as in v1: the innermost attribution whose CONTENT holds the cue is the ``parent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Attribution, LabelSchema, Provenance, Span
from .attribution import ATTACHED_DEPS, AttributionAnnotator, _bounds, _with_parent, _without_determiner
from .registry import Output, Parsed, load_lexicon, register, span_id

NAME = "spanbank.attribution.v2"
LEXICON = "cues_v2.yaml"
SOURCE_CUTS = frozenset({"relcl", "appos", "acl", "punct", "prep"})
PARTICIPLE_DEPS = frozenset({"advcl", "xcomp", "conj", "acl"})
CLOSE_STOPS = frozenset({".", "!", "?", ";"})
WINDOW = 8  # tokens between a quotation and its cue clause


@dataclass
class _Cue:
    """One cue in token ranges ``(first, last + 1)``; contents in order; content shared from a host cue."""

    cue: tuple[int, int]
    source: tuple[int, int] | None
    contents: list[tuple[int, int]] = field(default_factory=list)
    host: int | None = None
    quoted: bool = False  # contents come from quotation marks (they replace the parse content)


class AttributionV2(AttributionAnnotator):
    name = NAME
    layer = "attribution"

    def __init__(self, schema: LabelSchema, model: Any) -> None:
        lex = load_lexicon(LEXICON)
        self.verbs = frozenset(v for group in lex["verbs"].values() for v in group)
        self.object_source = frozenset(lex.get("object_source_verbs", ()))
        self.particles = {k: frozenset(v) for k, v in (lex.get("particle_verbs") or {}).items()}
        self.object_complement = frozenset(lex.get("object_complement_verbs", ()))
        self.object_content = frozenset(lex.get("object_content_verbs", ()))
        self.nouns = frozenset(lex.get("nouns", ()))
        self.phrase_rows = [(tuple(p["words"]), bool(p.get("parenthetical"))) for p in lex.get("phrases", ())]
        self.phrases = [words for words, _ in self.phrase_rows]
        self.phrase_starts = frozenset(words[0] for words in self.phrases)
        self.cue_lemmas = self.verbs | self.object_source
        self.quotes = frozenset(lex.get("quotes", ()))
        marks = lex.get("quotation_marks") or {}
        self.opens, self.closes, self.both = (frozenset(marks.get(k, ())) for k in ("open", "close", "both"))

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        sdoc = parsed.sdoc
        cues: dict[int, _Cue] = {}
        for tok in sdoc:
            hit = self._phrase_v2(sdoc, tok) or self._noun(tok) or self._verb_v2(tok)
            if hit:
                cues[tok.i] = hit
        self._quotations(sdoc, cues)
        for c in cues.values():
            if not c.contents and c.host in cues:
                c.contents = list(cues[c.host].contents)
        return self._build_v2(parsed, provenance, [c for c in cues.values() if c.source and c.contents])

    # --- cues ---

    def _phrase_v2(self, sdoc: Any, tok: Any) -> _Cue | None:
        if tok.lower_ not in self.phrase_starts:
            return None
        for words, parenthetical in self.phrase_rows:
            if tuple(t.lower_ for t in sdoc[tok.i:tok.i + len(words)]) != words:
                continue
            if parenthetical and not (tok.is_sent_start or (tok.i > 0 and sdoc[tok.i - 1].text in (",", "(", "—", "–"))):
                return None
            found = self._phrase(sdoc, tok)
            return _Cue(found.cue, found.source, [found.content] if found.content else []) if found else None
        return None

    def _noun(self, tok: Any) -> _Cue | None:
        """A nominal cue: "the ministry's claim that X" (a that-clause and a possessive source)."""
        if tok.pos_ != "NOUN" or tok.lemma_.lower() not in self.nouns:
            return None
        clause = next((c for c in tok.children if c.dep_ in ("acl", "ccomp")
                       and any(m.dep_ == "mark" and m.lower_ == "that" for m in c.children)), None)
        poss = next((c for c in tok.children if c.dep_ == "poss"), None)
        if clause is None or poss is None:
            return None
        start, end = _bounds(poss)
        while end > start + 1 and poss.doc[end - 1].dep_ == "case":
            end -= 1
        content = self._trim(tok.doc, *_bounds(clause))
        return _Cue((tok.i, tok.i + 1), (start, end), [content] if content else [])

    def _is_cue_verb(self, tok: Any) -> bool:
        if not super()._is_cue_verb(tok):
            return False
        wanted = self.particles.get(tok.lemma_.lower())
        return wanted is None or self._particle(tok, wanted) is not None

    def _particle(self, tok: Any, wanted: frozenset[str]) -> Any:
        nxt = tok.nbor(1) if tok.i + 1 < len(tok.doc) else None
        return nxt if nxt is not None and nxt.head.i == tok.i and nxt.lower_ in wanted else None

    def _verb_v2(self, tok: Any) -> _Cue | None:
        if not self._is_cue_verb(tok):
            return None
        lemma = tok.lemma_.lower()
        particle = self._particle(tok, self.particles[lemma]) if lemma in self.particles else None
        cue = (tok.i, (particle.i if particle is not None else tok.i) + 1)
        source = self._source_v2(tok, lemma)
        quoting = self._quoted_as(tok, lemma)
        if quoting is not None:  # "The newspaper quoted an official as saying ...": the subject reports
            subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
            return _Cue(cue, _noun_phrase(subj) if subj is not None else None, [quoting])
        content = self._content(tok, lemma, particle)
        if content is not None:
            return _Cue(cue, source, [content] if content != () else [])
        if lemma in self.object_source and tok.dep_ in ATTACHED_DEPS | {"xcomp"} and self._is_cue_verb(tok.head):
            return _Cue(cue, source, host=tok.head.i)
        if tok.dep_ in ATTACHED_DEPS and not self._is_cue_verb(tok.head):
            clause = self._clause_without(tok.head, set(range(*cue)))
            return _Cue(cue, source, [clause] if clause else [])
        return _Cue(cue, source)  # content may still come from a quotation

    def _quoted_as(self, tok: Any, lemma: str) -> tuple[int, int] | None:
        """"quoted X as saying Y": CONTENT = "X as saying Y" (the inner "saying" is a cue of its own)."""
        if lemma not in self.object_source:
            return None
        obj = next((c for c in tok.children if c.dep_ == "dobj"), None)
        as_ = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "as"), None)
        if obj is None or as_ is None or as_.i < obj.i:
            return None
        return self._trim(tok.doc, obj.left_edge.i, as_.right_edge.i + 1)

    def _content(self, tok: Any, lemma: str, particle: Any) -> tuple[int, int] | tuple[()] | None:
        """The parse content of a cue verb; ``()`` for a complement that trims to nothing; None when there is none."""
        comp = next((c for c in tok.children if c.dep_ == "ccomp"), None)
        if comp is not None:
            return self._trim(tok.doc, *_bounds(comp)) or ()
        if lemma in self.object_complement:
            obj = next((c for c in tok.children if c.dep_ in ("dobj", "dative")), None)
            if obj is None and particle is not None:
                obj = next((c for c in particle.children if c.dep_ == "pobj"), None)
            comp = next((c for c in tok.children if c.dep_ == "xcomp" and c.i > tok.i), None)
            if comp is None:
                comp = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ in ("of", "for")
                             and c is not particle and any(g.dep_ in ("pcomp", "pobj") for g in c.children)), None)
            if obj is not None and comp is not None and obj.i < comp.i:
                return self._trim(tok.doc, obj.left_edge.i, comp.right_edge.i + 1) or ()
            if particle is not None and particle.lower_ == "for" and obj is not None:
                return self._trim(tok.doc, *_bounds(obj)) or ()
        if lemma in self.object_content:
            obj = next((c for c in tok.children if c.dep_ == "dobj"), None)
            if obj is not None:
                return self._trim(tok.doc, *_bounds(obj)) or ()
        return None

    def _source_v2(self, tok: Any, lemma: str) -> tuple[int, int] | None:
        if lemma in self.object_source:
            obj = next((c for c in tok.children if c.dep_ == "dobj"), None)
            return _noun_phrase(obj) if obj is not None else None
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None and tok.dep_ == "conj":
            subj = next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
        if subj is None and tok.dep_ == "pcomp" and tok.head.dep_ == "prep":
            subj = next((c for c in tok.head.head.children if c.dep_ == "dobj"), None)
        if subj is None and tok.tag_ == "VBG" and tok.dep_ in PARTICIPLE_DEPS:
            subj = next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
        return _noun_phrase(subj) if subj is not None else None

    # --- quotations ---

    def _quotations(self, sdoc: Any, cues: dict[int, _Cue]) -> None:
        """Give direct quotations to the cue clause right after or right before them."""
        by_token = {i: c for c in cues.values() for i in range(*c.cue)}
        previous: tuple[_Cue, int] | None = None  # the last quotation's cue and the quotation's closing mark
        marks = self._marks(sdoc)
        quoted = {i for a, b in marks for i in range(a + 1, b)}
        for open_i, close_i in marks:
            inner = self._trim(sdoc, open_i + 1, close_i)
            if inner is None:
                continue
            cue = self._cue_after(sdoc, close_i, by_token, quoted) or self._cue_before(sdoc, open_i, by_token)
            if cue is None and previous is not None and self._continues(sdoc, previous, open_i):
                cue = previous[0]
            if cue is None or inner[1] - inner[0] < 2:
                previous = None
                continue
            if not cue.quoted:
                cue.contents, cue.quoted = [], True
            cue.contents.append(inner)
            previous = (cue, close_i)

    def _marks(self, sdoc: Any) -> list[tuple[int, int]]:
        """(opening, closing) token indices of quotation marks, paired within a paragraph."""
        pairs, open_i = [], None
        for tok in sdoc:
            if "\n" in tok.text and tok.is_space:
                open_i = None
            elif open_i is None and (tok.text in self.opens or tok.text in self.both):
                open_i = tok.i
            elif open_i is not None and (tok.text in self.closes or tok.text in self.both):
                pairs.append((open_i, tok.i))
                open_i = None
        return pairs

    def _cue_after(self, sdoc: Any, close_i: int, by_token: dict[int, _Cue], quoted: set[int]) -> _Cue | None:
        """'"...," the minister said' / '"...," said Smith': a cue in the clause after the quotation."""
        before_close = sdoc[close_i - 1].text if close_i > 0 else ""
        for i in range(close_i + 1, min(close_i + 1 + WINDOW, len(sdoc))):
            tok = sdoc[i]
            if tok.text in CLOSE_STOPS or (tok.text in self.opens or tok.text in self.both) or "\n" in tok.text:
                return None
            if i == close_i + 1 and tok.text != "," and before_close not in (",", "?", "!"):
                return None
            cue = by_token.get(i)
            if cue is not None and cue.cue[0] == i and cue.source is not None and not _complement_after(tok, quoted):
                return cue
        return None

    def _cue_before(self, sdoc: Any, open_i: int, by_token: dict[int, _Cue]) -> _Cue | None:
        """'told parliament: "..."' / 'he said, "..."': a cue just before a colon or comma before the quotation."""
        if open_i < 2 or sdoc[open_i - 1].text not in (":", ","):
            return None
        for i in range(open_i - 2, max(open_i - 2 - WINDOW, -1), -1):
            tok = sdoc[i]
            if tok.text in CLOSE_STOPS or "\n" in tok.text or tok.text in self.closes or tok.text in self.both:
                return None
            cue = by_token.get(i)
            if cue is not None and cue.source is not None:
                return cue
        return None

    def _continues(self, sdoc: Any, previous: tuple[_Cue, int], open_i: int) -> bool:
        """The quotation opens the sentence right after the previous quotation's cue clause, same paragraph."""
        cue, close_i = previous
        between = sdoc[close_i + 1:open_i]
        return (cue.cue[0] > close_i and len(between) <= WINDOW + 2 and between[-1:].text in CLOSE_STOPS
                and not any("\n" in t.text for t in between))

    # --- output ---

    def _build_v2(self, parsed: Parsed, provenance: Provenance, found: list[_Cue]) -> Output:
        sdoc, doc = parsed.sdoc, parsed.doc
        spans: dict[str, Span] = {}

        def span(prefix: str, label: str, bounds: tuple[int, int]) -> Span:
            a, b = sdoc[bounds[0]].idx, sdoc[bounds[1] - 1].idx + len(sdoc[bounds[1] - 1].text)
            s = doc.make_span(span_id(prefix, a, b), a, b, label, "attribution", provenance)
            return spans.setdefault(s.id, s)

        made = []
        for f in sorted(found, key=lambda f: f.cue):
            assert f.source is not None
            cue = span("cue", "CUE", f.cue)
            source = span("src", "SOURCE", _without_determiner(sdoc, f.source))
            base = span_id("at", cue.start, cue.end)
            for k, content in enumerate(dict.fromkeys(f.contents)):
                made.append((Attribution(base if k == 0 else f"{base}-{k + 1}", cue.id, source.id,
                                         span("con", "CONTENT", content).id, provenance), cue))
        out = [Attribution(at.id, at.cue, at.source, at.content, at.provenance,
                           _first(_with_parent(at, cue, made, spans).parent, made)) for at, cue in made]
        return Output(spans=list(spans.values()), attributions=out)


def _complement_after(tok: Any, quoted: set[int]) -> bool:
    """The cue introduces an unquoted clause to its right ('"a disgrace," adding that X': the quotation is not
    its content); the second part of a split quotation, which a parser may hang on the cue, does not count."""
    return any(c.dep_ in ("ccomp", "xcomp") and c.i > tok.i and c.i not in quoted for c in tok.children)


def _first(parent: str | None, made: list[tuple[Attribution, Span]]) -> str | None:
    """The first record of the attribution ``parent`` belongs to (parts of one cue share their parent)."""
    if parent is None:
        return None
    cue = next(at.cue for at, _ in made if at.id == parent)
    return next(at.id for at, _ in made if at.cue == cue)


def _noun_phrase(head: Any) -> tuple[int, int]:
    """``head``'s phrase up to its first comma, appositive, relative clause or other post-modifier clause."""
    start, end = head.left_edge.i, head.right_edge.i + 1
    for child in head.children:
        if child.i > head.i and child.dep_ in SOURCE_CUTS and not (child.dep_ == "prep" and child.lower_ in ("for", "of", "at", "in", "from", "with")):
            end = min(end, child.left_edge.i)
    for i in range(head.i + 1, end):
        if head.doc[i].text == ",":
            end = i
            break
    return start, end


@register(NAME, "attribution")
def attribution_v2(schema: LabelSchema, model: Any) -> AttributionV2:
    return AttributionV2(schema, model)
