"""The pure Doccano row format: UTF-16 offsets both ways (emoji, ZWJ sequences, combining marks) and the row."""

from __future__ import annotations

import pytest

from spanbank.formats import doccano as fmt
from spanbank.model import AnnotationSet, Document, Provenance, Span, document_id

MACHINE = Provenance("test.silver.v1", "silver", "2026-01-01T00:00:00Z", "machine")


@pytest.mark.parametrize("text, needle", [
    ("plain text here", "text"), ("😀 Bob", "Bob"), ("𝐀𝐁 Bob 😀", "😀"), ("Cafe\u0301 Bob", "Bob"),
    ("👩\u200d👩\u200d👧 ok", "ok"), ("a😀b😀c", "b😀c"), ("é\u0301😀", "\u0301😀"),
])
def test_utf16_offsets_round_trip(text, needle):
    u16, start = fmt.Utf16(text), text.index(needle)
    s16, e16 = u16.to16(start), u16.to16(start + len(needle))
    assert fmt.utf16_slice(text, s16, e16) == needle
    assert (u16.from16(s16), u16.from16(e16)) == (start, start + len(needle))


def test_utf16_from16_inside_surrogate_pair_is_none():
    u16 = fmt.Utf16("a😀b")
    assert [u16.from16(j) for j in range(6)] == [0, 1, None, 2, 3, None]


def test_payload_row_has_utf16_offsets_meta_keys_and_an_id_free_revision():
    text = "😀 Bob met 👩\u200d👩\u200d👧 in Cafe\u0301 Paris."
    spans = tuple(Span(sid, text.index(n), text.index(n) + len(n), n, label, "entities", MACHINE)
                  for sid, n, label in [("s2", "Paris", "GPE"), ("s1", "Bob", "PER")])
    doc = Document(document_id(text), text).with_set(AnnotationSet("silver", spans))
    row = fmt.payload(doc, "machine")
    assert [k for k in fmt.META_KEYS if row[k] in (None, "")] == []
    assert [(e["id"], fmt.utf16_slice(text, e["start_offset"], e["end_offset"]), e["label"]) for e in row["entities"]] \
        == [(1, "Bob", "PER"), (2, "Paris", "GPE")]
    assert row["entities"][0]["start_offset"] == text.index("Bob") + 1  # the emoji is two UTF-16 units
    renumbered = [{**e, "id": e["id"] + 10} for e in reversed(row["entities"])]
    assert fmt.fingerprint(renumbered, []) == row["spanbank_rev"] == fmt.revision(doc)
    assert row["spanbank_set"] == "silver" and doc.published_set().name == "silver"
