"""The corpus store: lossless round trips, deterministic files, atomic writes, one writer."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanbank.errors import CorpusError
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Provenance, document_id
from spanbank.store import open_corpus

ALPHABET = st.sampled_from(list("ab Zé\u0301\n.😀👩\u200d👧𝐀\u0308,"))
PROV = Provenance("spanbank.entities.v1", "silver", "2026-01-01T00:00:00Z", "machine", "en_core_web_sm 3.8.0")
GOLD = Provenance("alice", "gold", "2026-01-02T00:00:00Z", "human")


@st.composite
def documents(draw):
    text = draw(st.text(ALPHABET, min_size=1, max_size=40).filter(lambda t: t.strip()))
    doc = Document(document_id(text), text, date=draw(st.none() | st.just("2021-11-09")))
    sets = []
    for name, prov in (("silver", PROV), ("annotator/alice", GOLD)):
        n = draw(st.integers(0, 4))
        spans = []
        for i in range(n):
            start = draw(st.integers(0, len(text) - 1))
            end = draw(st.integers(start + 1, len(text)))
            layer, label = draw(st.sampled_from([("entities", "PER"), ("events", "Conflict:Attack"),
                                                 ("attribution", "CUE"), ("attribution", "CONTENT")]))
            spans.append(doc.make_span(f"s{i}", start, end, label, layer, prov))
        events = tuple(Event(f"e{i}", s.id, s.label, (Argument("Attacker", spans[0].id),), prov)
                       for i, s in enumerate(spans) if s.layer == "events")
        cues = [s for s in spans if s.label == "CUE"]
        contents = [s for s in spans if s.label == "CONTENT"]
        atts = (Attribution("a0", cues[0].id, None, contents[0].id, prov),) if cues and contents else ()
        sets.append(AnnotationSet(name, tuple(spans), events, atts))
    for aset in sets:
        doc = doc.with_set(aset)
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), max_size=5, unique_by=lambda d: d.id))
def test_write_then_documents_round_trip(tmp_path_factory, docs):
    corpus = open_corpus(tmp_path_factory.mktemp("c"))
    with corpus.lock():
        corpus.write(reversed(docs))
    back = list(corpus.documents())
    assert back == sorted(docs, key=lambda d: d.id)
    for doc in back:
        for aset in doc.annotations.values():
            assert all(doc.text[s.start:s.end] == s.text for s in aset.spans)
    # deterministic bytes: writing what was read gives identical files
    first = corpus.annotations_path.read_bytes(), corpus.documents_path.read_bytes()
    with corpus.lock():
        corpus.write(back)
    assert (corpus.annotations_path.read_bytes(), corpus.documents_path.read_bytes()) == first


def test_write_failure_leaves_corpus_unchanged(seed_corpus):
    before = seed_corpus.documents_path.read_bytes()

    def broken():
        yield from seed_corpus.documents()
        raise RuntimeError("disk on fire")

    with seed_corpus.lock(), pytest.raises(RuntimeError):
        seed_corpus.write(broken())
    assert seed_corpus.documents_path.read_bytes() == before
    assert [p.name for p in seed_corpus.path.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []


def test_write_duplicate_id_is_refused(seed_corpus):
    doc = next(seed_corpus.documents())
    with seed_corpus.lock(), pytest.raises(CorpusError, match="written twice"):
        seed_corpus.write([doc, doc])


def test_lock_keeps_second_writer_out(seed_corpus):
    with seed_corpus.lock():
        with pytest.raises(CorpusError, match="another spanbank process is writing"):
            with open_corpus(seed_corpus.path).lock(timeout=0.1):
                pass


def test_documents_bad_json_names_file_and_line(seed_corpus):
    with seed_corpus.annotations_path.open("a") as fh:
        fh.write("{broken\n")
    with pytest.raises(CorpusError, match=r"annotations.jsonl:1: not valid JSON"):
        list(seed_corpus.documents())
