"""The corpus store: lossless round trips, deterministic files, atomic writes, one writer."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanbank.errors import CorpusError
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Provenance, document_id
from spanbank.store import annotation_records, dumps, open_corpus

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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), max_size=7, unique_by=lambda d: d.id), size=st.integers(1, 3))
def test_blocks_read_back_every_document_once(tmp_path_factory, docs, size):
    corpus = open_corpus(tmp_path_factory.mktemp("c"))
    with corpus.lock():
        corpus.write(docs)
    blocks = list(corpus.blocks(size))
    assert [b.count for b in blocks] == [min(size, len(docs) - i) for i in range(0, len(docs), size)]
    assert [d for b in blocks for d in b.documents()] == list(corpus.documents())


def lettered_corpus(path, n=8):
    """Documents d00.. with 0 to 3 silver spans each (d00 and every fourth have none)."""
    corpus = open_corpus(path)
    docs = []
    for i in range(n):
        doc = Document(f"d{i:02d}", "Alice met Bob. " * (1 + i % 3))
        spans = tuple(doc.make_span(f"s{k}", 0, 5, "PER", "entities", PROV) for k in range(i % 4))
        docs.append(doc.with_set(AnnotationSet("silver", spans)) if spans else doc)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def ann_lines(corpus):
    return corpus.annotations_path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("size", [1, 3, 100])
def test_blocks_name_an_orphan_or_out_of_order_annotation_at_its_line(tmp_path, size):
    """The Ray engine's blocks report a misplaced annotation as Corpus.documents does: the first, at its file:line."""
    corpus = lettered_corpus(tmp_path / "c")
    lines = ann_lines(corpus)
    d05 = next(i for i, line in enumerate(lines) if b'"doc":"d05"' in line)
    orphan = b'{"doc":"d045","id":"x","kind":"span","set":"silver"}\n'
    moved = list(lines)
    moved.insert(len(lines) - 2, moved.pop(d05))  # a d05 record among d07's
    for body, line, doc in ((lines[:d05] + [orphan] + lines[d05:], d05 + 1, "d045"), (lines + [orphan], len(lines) + 1, "d045"),
                            (moved, len(lines) - 1, "d05"), ([b"\n", orphan] + lines, 2, "d045")):
        corpus.annotations_path.write_bytes(b"".join(body))
        want = rf"annotations.jsonl:{line}: annotation for document '{doc}' has no document, or is out of order"
        with pytest.raises(CorpusError, match=want):
            list(corpus.documents())
        with pytest.raises(CorpusError, match=want):
            [d for b in corpus.blocks(size) for d in b.documents()]


def test_blocks_skip_blank_lines_and_name_a_bad_line(tmp_path):
    corpus = lettered_corpus(tmp_path / "c")
    want = list(corpus.documents())
    docs = corpus.documents_path.read_bytes().splitlines(keepends=True)
    corpus.documents_path.write_bytes(b"\n".join(docs) + b"  \n")
    corpus.annotations_path.write_bytes(b"\n" + b"\n \n".join(ann_lines(corpus)))
    for size in (1, 2, 5):
        assert [b.count for b in corpus.blocks(size)] == [min(size, 8 - i) for i in range(0, 8, size)]
        assert [d for b in corpus.blocks(size) for d in b.documents()] == want
    corpus.documents_path.write_bytes(b"".join(docs[:6] + [b"{broken\n"] + docs[6:]))
    with pytest.raises(CorpusError, match=r"documents.jsonl:7:1: not valid JSON"):
        [d for b in corpus.blocks(3) for d in b.documents()]


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
    with pytest.raises(CorpusError, match=r"annotations.jsonl:1:1: not valid JSON"):
        list(seed_corpus.documents())


def test_write_keeps_file_modes(seed_corpus):
    """A rewrite goes through a 0600 temp file: the files keep their mode, new files get 0666 less the umask."""
    import os
    import stat

    seed_corpus.documents_path.chmod(0o644)
    seed_corpus.annotations_path.chmod(0o640)
    with seed_corpus.lock():
        seed_corpus.write(list(seed_corpus.documents()))
        seed_corpus.write_text("NEW.md", "new\n")
    assert stat.S_IMODE(seed_corpus.documents_path.stat().st_mode) == 0o644
    assert stat.S_IMODE(seed_corpus.annotations_path.stat().st_mode) == 0o640
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((seed_corpus.path / "NEW.md").stat().st_mode) == 0o666 & ~mask


def test_read_manifest_bad_json_names_file_line_column(seed_corpus):
    seed_corpus.manifest_path.write_text('{\n  "version": "1.0.0",\n  "files": {oops}\n}\n')
    with pytest.raises(CorpusError) as caught:
        seed_corpus.read_manifest()
    assert str(caught.value).startswith(f"{seed_corpus.manifest_path}:3:13: not valid JSON: ")
    assert "restore it from git" in str(caught.value)


def test_documents_bad_annotation_names_the_annotation_line(seed_corpus):
    """A span whose offsets do not fit is reported at its annotations.jsonl line, not at the document's line."""
    import json

    doc_id = next(seed_corpus.ids())
    prov = {"agent": "a", "status": "silver"}
    lines = [{"doc": doc_id, "set": "silver", "kind": "span", "id": f"s{i}", "layer": "entities", "label": "PER",
              "start": 0, "end": 1, "text": "A", "prov": prov} for i in range(4)]
    lines.append({**lines[0], "id": "s9", "start": 5, "end": 2})
    seed_corpus.annotations_path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(CorpusError) as caught:
        list(seed_corpus.documents())
    assert str(caught.value).startswith(f"{seed_corpus.annotations_path}:5: document {doc_id!r} cannot be read")


def test_a_commit_killed_during_its_renames_is_rolled_forward(seed_corpus):
    """The state a kill -9 between the two renames leaves (journal, one file renamed, one temp) is finished by the
    next writer, and validate reports it meanwhile; a killed writer's plain temp files are removed."""
    import json as json_

    from spanbank.schema import load_schema
    from spanbank.store import JOURNAL
    from spanbank.validate import validate

    doc = next(seed_corpus.documents())
    span = doc.make_span("s1", 0, 1, "PER", "entities", PROV)
    new_docs = seed_corpus.documents_path.read_bytes()
    new_anns = b"".join(dumps(r) for r in annotation_records(doc.with_set(AnnotationSet("silver", (span,)))))
    (seed_corpus.path / ".annotations.jsonl.x1.tmp").write_bytes(new_anns)
    (seed_corpus.path / ".documents.jsonl.x2.tmp").write_bytes(new_docs)
    (seed_corpus.path / JOURNAL).write_text(json_.dumps([[".documents.jsonl.x2.tmp", "documents.jsonl"],
                                                          [".annotations.jsonl.x1.tmp", "annotations.jsonl"]]))
    (seed_corpus.path / ".documents.jsonl.x2.tmp").replace(seed_corpus.documents_path)  # killed after the first rename
    (seed_corpus.path / ".manifest.json.zz.tmp").write_text("half")  # a killed release's temp file
    assert any("a write was killed while it renamed" in p.message for p in validate(seed_corpus, load_schema()))
    with seed_corpus.lock():
        pass
    assert seed_corpus.annotations_path.read_bytes() == new_anns
    assert sorted(p.name for p in seed_corpus.path.iterdir()) == [".lock", "annotations.jsonl", "documents.jsonl"]
    assert validate(seed_corpus, load_schema()) == []
