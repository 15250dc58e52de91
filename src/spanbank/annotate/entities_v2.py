"""``spanbank.entities.v2``: v1's entities with a document-level consistency that keeps the model's place labels.

Everything as in ``spanbank.entities.v1`` (model, mapping, gazetteer, extents, junk filter), except
the one-sense-per-discourse step, which in v1 let a single PER tag win over everything:

* Majority first: every name takes the majority of the labels the model gave its mentions in the
  document (each mention keeps the model's own label on a tie).  v1 made a name PER as soon as ONE mention was PER,
  so a place the model once mislabelled PER ("Santa Monica") turned PER everywhere.
* Surnames only from person-like names: the last word of a PER name of two or three capitalised
  words, none of them a place or organisation word ("Street", "Airport", "University", "San",
  "Port", ...) - so "Monica" of "Santa Monica", "Airport" of "Erbil Airport" never become PER.
* A surname relabels the mentions of that word ("Al-Kadhimi's residence", which the small model
  calls ORG; "Lukaku" after "Romelu Lukaku", which it calls GPE) unless the model tagged the word
  itself as a place at least twice and more often than not in the document.
* Propagation to untagged occurrences as in v1, with the v2 names.

Countries (convention, stated in the schema): a country, state or city is GPE whether the text
means the place ("in Iraq": an event's Place) or its government or people acting ("Iraq
launched a probe": an event's agent - Attacker, Agent, Investigator); the entity label never
changes with the role, the event argument says which it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model import LabelSchema
from .entities import PARTICLES, EntityAnnotator, Bounds, _key, _mentions
from .registry import register

NAME = "spanbank.entities.v2"
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Words that make a name a place or an organisation rather than a person (first or any word).
PLACE_WORDS = frozenset({
    "street", "st", "st.", "road", "avenue", "square", "bridge", "airport", "station", "port", "fort", "mount",
    "mountain", "mountains", "lake", "river", "bay", "island", "islands", "county", "city", "valley", "beach", "park",
    "hill", "hills", "north", "south", "east", "west", "new", "san", "santa", "santo", "sao", "saint", "los", "las",
    "university", "college", "school", "hospital", "church", "cathedral", "palace", "museum", "hotel", "center",
    "centre", "stadium", "arena", "company", "corporation", "bank", "group", "party", "council", "ministry", "court",
    "house", "tower", "gate", "coast", "desert", "sea", "ocean", "gulf", "strait", "canal", "province", "state",
})


class EntityV2(EntityAnnotator):
    name = NAME
    layer = "entities"

    def consistency(self, sdoc: Any, spans: list[Bounds], taken: set[int]) -> list[Bounds]:
        return consistent_v2(sdoc, spans, taken)


def consistent_v2(sdoc: Any, spans: list[Bounds], taken: set[int]) -> list[Bounds]:
    """``spans`` relabelled by majority per name, surnames of person-like names on ORG mentions, plus more mentions."""
    votes: dict[str, Counter] = {}
    for s, e, label in spans:
        if label != "TIME":
            votes.setdefault(_key(sdoc, s, e), Counter())[label] += 1
    names = {}
    for key, c in votes.items():
        top = c.most_common(2)
        if len(top) == 1 or top[0][1] > top[1][1]:
            names[key] = top[0][0]
    spans = [(s, e, names.get(_key(sdoc, s, e), label) if label != "TIME" else label) for s, e, label in spans]
    surnames = person_surnames(sdoc, spans) - {k for k, c in votes.items() if _mostly_place(c)}
    spans = [(s, e, "PER" if label != "TIME" and _key(sdoc, s, e) in surnames else label) for s, e, label in spans]
    names.update(dict.fromkeys(surnames, "PER"))
    for s, e, label in spans:
        bracketed = e + 2 < len(sdoc) and sdoc[e].text == "(" and sdoc[e + 2].text == ")"
        if label != "PER" and bracketed and sdoc[e + 1].is_upper:
            names.setdefault(_key(sdoc, e + 1, e + 2), label)
    return spans + _mentions(sdoc, names, taken | {i for s, e, _ in spans for i in range(s, e)})


def _mostly_place(votes: Counter) -> bool:
    """The model tagged the name as a place at least twice and more often than anything else."""
    place = sum(n for label, n in votes.items() if label in PLACE_LABELS)
    return place >= 2 and place > sum(votes.values()) - place


def person_surnames(sdoc: Any, spans: list[Bounds]) -> set[str]:
    """Surnames of the person-like PER names: "Mustafa al-Kadhimi" -> "Kadhimi", "al-Kadhimi"."""
    out = set()
    for s, e, label in spans:
        words = [t for t in sdoc[s:e] if not t.is_punct]
        if label != "PER" or not 2 <= len(words) <= 4 or any(t.lower_ in PLACE_WORDS for t in words):
            continue
        if not (sdoc[e - 1].is_alpha and sdoc[e - 1].is_title):
            continue
        if not all(t.text[:1].isupper() or t.lower_ in PARTICLES or not t.is_alpha for t in sdoc[s:e]):
            continue
        j = e - 1
        while j - 1 > s and not sdoc[j - 1].whitespace_:
            j -= 1
        out.update({_key(sdoc, j, e), _key(sdoc, e - 1, e)})
    return out


@register(NAME, "entities")
def entities_v2(schema: LabelSchema, model: Any) -> EntityV2:
    return EntityV2(schema, model)
