"""iob2: the one IOB2 encoder (CoNLL export and the dataset's ner/events configs), checked against
a plain reference of its rule and against seqeval's reading of the tags."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from spanbank import iob2
from spanbank.formats.conll import to_bio
from spanbank.model import AnnotationSet, Document, Provenance, Span

LABELS = ["PER", "ORG", "GPE"]


def reference(n_tokens, spans):
    """The rule written plainly: spans (group, first, last, label) in order; a span overlapping a tagged token is left out."""
    tags, ok = ["O"] * n_tokens, []
    for _, first, last, label in spans:
        hit = range(first, last)
        placed = bool(hit) and all(tags[i] == "O" for i in hit)
        ok.append(placed)
        if placed:
            tags[first] = f"B-{label}"
            for i in hit[1:]:
                tags[i] = f"I-{label}"
    return tags, ok


def names_of(tags, labels=LABELS):
    names = iob2.tag_names(labels)
    return [names[t] for t in tags]


@pytest.mark.parametrize("spans, expected, placed", [
    ([(0, 0, 2, 0)], ["B-PER", "I-PER", "O", "O"], [True]),
    ([(0, 0, 3, 1), (0, 1, 2, 0)], ["B-ORG", "I-ORG", "I-ORG", "O"], [True, False]),  # nested: the outer wins
    ([(0, 0, 2, 0), (0, 1, 3, 2)], ["B-PER", "I-PER", "O", "O"], [True, False]),  # overlapping: the earlier wins
    ([(0, 2, 2, 0), (0, 2, 3, 2)], ["O", "O", "B-GPE", "O"], [False, True]),  # a span over no token is left out
    ([(0, 0, 1, 0), (0, 1, 2, 0)], ["B-PER", "B-PER", "O", "O"], [True, True]),  # adjacent same label: two mentions
])
def test_encode_places_spans_greedily(spans, expected, placed):
    first, last, label = (np.array([s[i] for s in spans]) for i in (1, 2, 3))
    tags, ok = iob2.encode(4, first, last, label)
    assert names_of(tags) == expected and ok.tolist() == placed


def test_restart_begins_a_sentence_inside_a_span_with_b():
    tags, _ = iob2.encode(4, np.array([1]), np.array([4]), np.array([2]))
    assert names_of(iob2.restart(tags, np.array([0, 2]))) == ["O", "B-GPE", "B-GPE", "I-GPE"]


@st.composite
def grouped_spans(draw):
    """Groups (documents) of consecutive tokens, spans sorted by (group, first, longest first)."""
    sizes = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    spans, base = [], 0
    for g, size in enumerate(sizes):
        for _ in range(draw(st.integers(0, 5))):
            a = draw(st.integers(0, size))
            b = draw(st.integers(a, size))
            spans.append((g, base + a, base + b, draw(st.sampled_from(range(len(LABELS))))))
        base += size
    spans.sort(key=lambda s: (s[0], s[1], -s[2]))
    return base, spans


@settings(max_examples=300, deadline=None)
@given(grouped_spans())
def test_encode_matches_the_plain_rule_and_seqeval_reads_back_the_placed_spans(case):
    n, spans = case
    arrays = [np.array([s[i] for s in spans], np.int64) for i in range(4)]
    tags, ok = iob2.encode(n, arrays[1], arrays[2], arrays[3], arrays[0])
    want, want_ok = reference(n, [(g, f, la, LABELS[k]) for g, f, la, k in spans])
    assert names_of(tags) == want and ok.tolist() == want_ok
    kept = sorted((LABELS[k], f, la - 1) for (g, f, la, k), o in zip(spans, want_ok) if o)
    assert sorted(get_entities(names_of(tags))) == kept


def test_to_bio_restarts_a_span_that_crosses_a_sentence_boundary():
    text = "Abu Dhabi. Bank opened."
    tokens = ((0, 3), (4, 9), (9, 10), (11, 15), (16, 22), (22, 23))
    span = Span("T1", 4, 15, text[4:15], "ORG", "entities", Provenance("x", "gold", "2024-01-01T00:00:00Z", "human"))
    doc = Document(id="doc-x", text=text, sentences=((0, 10), (11, 23)), tokens=tokens,
                   annotations={"gold": AnnotationSet("gold", (span,))})
    assert to_bio(doc, "gold") == [[("Abu", "O"), ("Dhabi", "B-ORG"), (".", "I-ORG")],
                                   [("Bank", "B-ORG"), ("opened", "O"), (".", "O")]]
