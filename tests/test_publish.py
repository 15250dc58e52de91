"""Publishing: the built folder loads with real ``datasets.load_dataset`` (offline), round-trips, keeps splits."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from spanbank import ingest, publish, release
from spanbank.cli import main
from spanbank.errors import PublishError
from spanbank.model import (GOLD, SILVER, AnnotationSet, Argument, Attribution, Document, Event, Origin, Provenance,
                            annotator_set, set_status)
from spanbank.publish.build import split_indices
from spanbank.publish.docs import public_path
from spanbank.publish.features import dataset_features
from spanbank.publish.reference import documents_row
from spanbank.schema import load_schema, render_guidelines
from spanbank.schema.source import DEFAULT_SCHEMA
from spanbank.store import annotation_records, document_record, manifest_seal, open_corpus, sha256_file

import datasets  # noqa: E402  (after conftest set the offline HF environment)

TIME = "2026-11-27T10:00:00Z"
TEXT_A = ("Iraq launches probe into drone \U0001f44d\U0001f3fd attack on PM\n\n"
          "Officials told reporters that Mustafa al-Kadhimi \U0001f468\u200d\U0001f469\u200d\U0001f467 survived the "
          "attack in Baghdad, Reuters reported.\n\n"
          "The Q\u0323uds Force denied any role, its spokesman said on Monday.")
TEXT_B = "Nothing happened in Erbil today \U0001f642 and nobody said anything."
FAKE_TOKEN = "hf_" + "Zx9" * 12


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.fixture(autouse=True)
def hf_cache(tmp_path, monkeypatch):
    """A per-test datasets cache, so a rebuilt folder is never served from an older cache entry."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


def load(out, config, split=None):
    return datasets.load_dataset(str(out), config, split=split)


# --- corpora ---------------------------------------------------------------------------------------


class Annotator:
    """Hand-made spans of all layers for one annotation set of one document."""

    def __init__(self, doc: Document, set_name: str, agent: str, kind: str) -> None:
        self.doc, self.name = doc, set_name
        self.prov = Provenance(agent, set_status(set_name), TIME, kind, "hand-made")
        self.spans, self.events, self.attributions = [], [], []

    def span(self, phrase: str, label: str, layer: str, after: str | None = None):
        start = self.doc.text.index(phrase, self.doc.text.index(after) if after else 0)
        s = self.doc.make_span(f"T{len(self.spans) + 1}", start, start + len(phrase), label, layer, self.prov)
        self.spans.append(s)
        return s

    def event(self, trigger, etype, *args):
        self.events.append(Event(f"E{len(self.events) + 1}", trigger.id, etype,
                                 tuple(Argument(role, s.id, self.prov if i == 0 else None) for i, (role, s) in enumerate(args)),
                                 self.prov))

    def attribution(self, cue, source, content, parent=None):
        att = Attribution(f"A{len(self.attributions) + 1}", cue.id, source.id if source else None, content.id, self.prov, parent)
        self.attributions.append(att)
        return att

    def done(self) -> Document:
        return self.doc.with_set(AnnotationSet(self.name, tuple(self.spans), tuple(self.events), tuple(self.attributions)))


def annotate_a(doc: Document, set_name: str, agent: str, kind: str) -> Document:
    a = Annotator(doc, set_name, agent, kind)
    iraq, pm = a.span("Iraq", "GPE", "entities"), a.span("Mustafa al-Kadhimi", "PER", "entities")
    baghdad, reuters = a.span("Baghdad", "GPE", "entities"), a.span("Reuters", "ORG", "entities")
    officials, quds = a.span("Officials", "PER", "entities"), a.span("Q\u0323uds Force", "ORG", "entities")
    a.span("Monday", "TIME", "entities")
    a.event(a.span("attack", "Conflict:Attack", "events"), "Conflict:Attack", ("Place", iraq))
    a.event(a.span("attack", "Conflict:Attack", "events", after="survived"), "Conflict:Attack", ("Target", pm),
            ("Place", baghdad))
    outer = a.attribution(a.span("reported", "CUE", "attribution"), a.span("Reuters", "SOURCE", "attribution"),
                          a.span("Officials told reporters that Mustafa al-Kadhimi \U0001f468\u200d\U0001f469\u200d"
                                 "\U0001f467 survived the attack in Baghdad", "CONTENT", "attribution"))
    a.attribution(a.span("told", "CUE", "attribution"), a.span("Officials", "SOURCE", "attribution"),
                  a.span("Mustafa al-Kadhimi \U0001f468\u200d\U0001f469\u200d\U0001f467 survived the attack in Baghdad",
                         "CONTENT", "attribution"), parent=outer.id)
    a.attribution(a.span("said", "CUE", "attribution"), None,
                  a.span("The Q\u0323uds Force denied any role", "CONTENT", "attribution"))
    del reuters, officials, quds
    return a.done()


def annotate_seed(doc: Document) -> Document:
    a = Annotator(doc, SILVER, "spanbank.entities.v1", "machine")
    a.span("Esmail Ghani", "PER", "entities")
    a.span("Quds Force", "ORG", "entities")
    baghdad = a.span("Baghdad", "GPE", "entities")
    a.event(a.span("visited", "Movement:Transport", "events"), "Movement:Transport", ("Destination", baghdad))
    return a.done()


LICENSED = ("license: other\nlicense_name: test-terms\nlicense_link: https://example.org/terms\n"
            "pretty_name: Test news\ncitation: {authors: [Ada Lovelace, Alan Turing], year: 2026, "
            "url: 'https://example.org/spans'}\n")


def licensed(corpus):
    """A corpus's dataset configuration (the card's license and citation)."""
    corpus.path.mkdir(parents=True, exist_ok=True)
    (corpus.path / "dataset.yaml").write_text(LICENSED, encoding="utf-8")
    return corpus


def make_corpus(root: Path):
    """Seed article + an emoji / combining-mark article (silver, gold and an annotator set) + an unannotated one."""
    (root / "articles").mkdir(parents=True)
    (root / "articles" / "a.txt").write_text("date 2021-11-08\n\n" + TEXT_A, encoding="utf-8")
    (root / "articles" / "b.txt").write_text(TEXT_B, encoding="utf-8")
    corpus = open_corpus(root / "corpus")
    licensed(corpus)
    docs = list(ingest.new_documents([Path(__file__).parents[1] / "seeds", root / "articles"], set(),
                                     report=ingest.IngestReport()))
    out = []
    for doc in docs:
        if doc.text.startswith("Iraq launches"):
            doc = annotate_a(doc, SILVER, "spanbank.entities.v1", "machine")
            doc = annotate_a(doc, GOLD, "alice", "human")
            doc = annotate_a(doc, annotator_set("alice"), "alice", "human")
        elif "Quds Force" in doc.text and "Esmail Ghani" in doc.text:
            doc = annotate_seed(doc)
        out.append(doc)
    with corpus.lock():
        corpus.write(out)
    return licensed(corpus)


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path)


def published(doc: Document, project: Path | None = None) -> Document:
    """What the dataset carries of a document: its published set, and its origin path without a local path."""
    if doc.origin is not None and project is not None:
        doc = replace(doc, origin=replace(doc.origin, path=public_path(doc.origin.path, project)))
    return doc.without_sets().with_set(doc.published_set())


# --- build + load_dataset ------------------------------------------------------------------------


def test_build_loads_every_config_and_split(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    report = publish.build(corpus, schema, out, ratios=(0.5, 0.5, 0.0))
    expected = dataset_features(schema)
    assert report.documents == 3
    assert report.configs() == list(publish.CONFIGS)
    assert "test" not in report.splits("documents")  # an empty split is left out, not written empty
    for config in publish.CONFIGS:
        total = 0
        for split in publish.SPLITS:
            if split not in report.splits(config):
                assert report.num_examples[config][split] == 0 and not report.shards[config][split]
                continue
            ds = load(out, config, split)
            assert ds.features == expected[config]
            assert len(ds) == report.num_examples[config][split]
            total += len(ds)
        assert total == sum(report.num_examples[config].values())
    docs = load(out, "documents", report.splits("documents")[0]).features
    assert docs["entities"].feature["label"].names == schema.entity_names()
    assert docs["events"].feature["type"].names == schema.event_names()
    assert docs["events"].feature["arguments"].feature["role"].names == schema.role_names()
    ner = load(out, "ner", report.splits("ner")[0]).features["ner_tags"].feature.names
    assert ner == ["O"] + [f"{p}-{n}" for n in schema.entity_names() for p in "BI"]
    assert load(out, "events", report.splits("events")[0]).features["trigger_tags"].feature.names[:3] == ["O", "B-Life:Be-Born", "I-Life:Be-Born"]
    assert set(datasets.get_dataset_config_names(str(out))) == set(publish.CONFIGS)
    assert sum(len(ds) for ds in load(out, None).values()) == 3  # default config
    with pytest.raises(ValueError, match="test"):
        load(out, "documents", "test")


def _all(out, config):
    return [row for ds in load(out, config).values() for row in ds]


def test_build_documents_rows_match_corpus(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    originals = {d.id: published(d) for d in corpus.documents()}
    names = schema.entity_names()
    rows = _all(out, "documents")
    assert sorted(r["id"] for r in rows) == sorted(originals)
    for row in rows:
        doc = originals[row["id"]]
        aset = next(iter(doc.annotations.values()), None)
        assert row["text"] == doc.text and row["date"] == doc.date
        assert row["annotation_set"] == (aset.name if aset else None)
        expected = {(s.id, s.start, s.end, s.text, s.label) for s in (aset.spans_of("entities") if aset else ())}
        assert {(s["id"], s["start"], s["end"], s["text"], names[s["label"]]) for s in row["entities"]} == expected
        nested = [e["trigger"] for e in row["events"]] + [a[p] for a in row["attributions"]
                                                          for p in ("cue", "source", "content") if a[p]]
        for s in row["entities"] + nested:
            assert row["text"][s["start"]:s["end"]] == s["text"]
            assert s["status"] == row["annotation_set"]
    gold_doc = next(r for r in rows if r["annotation_set"] == GOLD)
    assert len(gold_doc["events"]) == 2 and len(gold_doc["attributions"]) == 3
    assert {a["parent"] for a in gold_doc["attributions"]} == {None, "A1"}


def test_build_ner_tags_agree_with_seqeval(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    docs = {d.id: published(d) for d in corpus.documents()}
    rows = _all(out, "ner")
    names = next(iter(load(out, "ner").values())).features["ner_tags"].feature.names
    found = set()
    for row in rows:
        text = docs[row["doc_id"]].text
        assert row["tokens"] == [text[o["start"]:o["end"]] for o in row["offsets"]]
        for label, first, last in get_entities([names[t] for t in row["ner_tags"]]):
            found.add((row["doc_id"], row["offsets"][first]["start"], row["offsets"][last]["end"], label))
    expected = {(d.id, s.start, s.end, s.label) for d in docs.values() for aset in d.annotations.values()
                for s in aset.spans_of("entities")}
    assert found == expected


def test_ner_is_a_view_of_the_events_files(corpus, schema, tmp_path):
    """The sentences' tokens are written once: ``ner`` selects its columns from the ``events`` files (also when
    streamed), and its rows are the ``events`` rows' sentence columns and entity tags."""
    out = tmp_path / "hf"
    report = publish.build(corpus, schema, out)
    assert not (out / "data" / "ner").exists() and sorted(p.name for p in (out / "data").iterdir()) == \
        ["attribution", "documents", "events"]
    assert report.shards["ner"] == report.shards["events"] and report.num_examples["ner"] == report.num_examples["events"]
    assert 0 < report.num_bytes["ner"]["train"] < report.num_bytes["events"]["train"]
    front = yaml.safe_load((out / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    ner_config = next(c for c in front["configs"] if c["config_name"] == "ner")
    assert ner_config["columns"] == list(dataset_features(schema)["ner"])
    assert {f["path"] for f in ner_config["data_files"]} == {f"data/events/{s}-*" for s in report.splits("ner")}
    ner, events = _all(out, "ner"), _all(out, "events")
    assert ner and [list(r) for r in ner[:1]] == [list(dataset_features(schema)["ner"])]
    assert ner == [{k: r[k] for k in ner[0]} for r in events]
    assert any(any(r["ner_tags"]) for r in ner)
    streamed = [row for split in report.splits("ner")
                for row in datasets.load_dataset(str(out), "ner", split=split, streaming=True)]
    assert streamed == ner


def test_build_refuses_a_schema_file_that_is_not_the_schema_it_builds_with(corpus, schema, tmp_path):
    """The project files are written beside the stream; a wrong schema file still fails the build, leaving ``out``."""
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    other = tmp_path / "other.yaml"
    other.write_text(Path(DEFAULT_SCHEMA).read_text(encoding="utf-8") + "\n# edited\nextra_key_for_the_test: 1\n",
                     encoding="utf-8")
    with pytest.raises(PublishError, match="is not the schema the dataset is built with") as caught:
        publish.build(corpus, schema, out, schema_file=other, block_size=1)
    assert caught.value.path == str(other)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not list(tmp_path.glob(".hf.build-*"))  # the half-built folder is gone


def test_a_release_that_adds_documents_leaves_the_earlier_shards_byte_identical(schema, tmp_path, monkeypatch):
    """Shards follow ``first_release`` and row groups are content-defined (never the build's block edges), so
    documents added after a release go to new shards and the released ones' bytes stay as they were."""
    monkeypatch.setattr(sys.modules["spanbank.publish.build"], "ROW_GROUP_DOCS", 4)  # many row groups in a small corpus
    corpus = licensed(open_corpus(tmp_path / "corpus"))
    released = [replace(d, first_release="1.0.0") for d in synthetic(80)]
    with corpus.lock():
        corpus.write(released)
    a = publish.build(corpus, schema, tmp_path / "a", block_size=3000)  # blocks of ~8 documents
    with corpus.lock():
        corpus.write(released + synthetic(8, offset=80))  # not released yet: their ids fall among the others
    b = publish.build(corpus, schema, tmp_path / "b", block_size=3000)
    compared = 0
    for config in ("documents", "events"):
        for split in a.splits(config):
            old = [(tmp_path / "a" / s).read_bytes() for s in a.shards[config][split]]
            new = [(tmp_path / "b" / s).read_bytes() for s in b.shards[config][split]]
            assert new[:len(old)] == old and len(new) >= len(old)
            compared += len(old)
            groups = pq.ParquetFile(tmp_path / "a" / a.shards[config][split][0]).metadata.num_row_groups
            assert groups > 1 or config != "documents" or split != "train"
    assert compared >= 2
    rows = _all(tmp_path / "b", "documents")
    assert sum(r["first_release"] is None for r in rows) == 8
    for split in b.splits("documents"):
        order = [r["first_release"] for r in load(tmp_path / "b", "documents", split)]
        assert order == sorted(order, key=lambda v: v is None)  # the released documents first, then the new ones


def test_build_events_and_attribution_rows(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    events = [e for row in _all(out, "events") for e in row["events"]]
    roles = schema.role_names()
    for row in _all(out, "events"):
        for e in row["events"]:
            t = e["trigger"]
            assert row["tokens"][t["start_token"]:t["end_token"]] == [t["text"]]
            assert row["trigger_tags"][t["start_token"]] % 2 == 1  # a B- tag
    assert sorted(roles[a["role"]] for e in events for a in e["arguments"]) == ["Destination", "Place", "Place", "Target"]
    atts = _all(out, "attribution")
    assert sorted(a["depth"] for a in atts) == [0, 0, 1]
    for a in atts:
        for part in ("cue", "source", "content"):
            if a[part]:
                s = a[part]
                assert a["context"][s["start"] - a["context_start"]:s["end"] - a["context_start"]] == s["text"]


# --- round trip ------------------------------------------------------------------------------------


def same_documents(built: list[Document], originals: list[Document], project: Path | None = None) -> None:
    assert sorted(d.id for d in built) == sorted(d.id for d in originals)
    by_id = {d.id: d for d in built}
    for doc in originals:
        back, want = by_id[doc.id], published(doc, project)
        assert document_record(back) == document_record(want)
        assert list(annotation_records(back)) == list(annotation_records(want))


def test_documents_from_dataset_round_trip(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    same_documents(list(publish.documents_from_dataset(out)), list(corpus.documents()), corpus.path.parent)


def test_cli_import_hf_round_trips_into_a_new_corpus_and_is_a_no_op_on_the_original(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    back = open_corpus(tmp_path / "back")
    result = run("import", "--format", "hf", out, "--corpus", back.path)
    assert result.exit_code == 0, result.output
    assert "3 document(s) read: 0 attached to existing documents, 3 added" in result.output
    same_documents(list(back.documents()), list(corpus.documents()), corpus.path.parent)
    before = corpus.annotations_path.read_bytes()
    again = run("import", "--format", "hf", out, "--corpus", corpus.path, "--json")
    assert again.exit_code == 0, again.output
    assert len(json.loads(again.stdout)["attached"]) == 3
    assert corpus.annotations_path.read_bytes() == before  # the published sets are the ones already there
    refused = run("import", "--format", "hf", out, "--corpus", back.path, "--set", "silver")
    assert refused.exit_code == 1 and "apply to brat and conll" in refused.stderr
    missing = run("import", "--format", "hf", tmp_path / "nowhere", "--corpus", back.path)
    assert missing.exit_code == 1 and "no such file or folder" in missing.stderr
    offline = run("import", "--format", "hf", "no-such-org/no-such-dataset", "--corpus", back.path)
    assert offline.exit_code == 1 and "cannot load the dataset no-such-org/no-such-dataset" in offline.stderr


ALPHABET = st.sampled_from(list("abcXYZ q\u0323\u0301e\u00e9\U0001f44d\U0001f3fd\U0001f642\u200d\n"))


@st.composite
def documents(draw):
    text = draw(st.text(ALPHABET, min_size=1, max_size=60).filter(lambda t: t.strip() and t == t.strip()))
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    sentences = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S", text)]
    article = ingest.Article(text=text, origin=Origin("gen.txt", "0" * 64, ("nfc",)), date=draw(st.sampled_from([None, "2024-01-01"])),
                             title=draw(st.sampled_from([None, "T"])))
    doc = replace(ingest.to_document(article, sentences, tokens), first_release=draw(st.sampled_from([None, "1.0.0"])))
    for set_name in draw(st.sampled_from([(), (SILVER,), (SILVER, GOLD), (GOLD, annotator_set("bob"))])):
        doc = doc.with_set(random_set(draw, doc, set_name))
    return doc


def random_set(draw, doc: Document, set_name: str) -> AnnotationSet:
    schema = load_schema()
    prov = Provenance(draw(st.sampled_from(["m.v1", "ann"])), set_status(set_name), draw(st.sampled_from(["", TIME])),
                      draw(st.sampled_from(["machine", "human", "import"])), draw(st.sampled_from(["", "d"])))
    cuts = st.tuples(st.integers(0, len(doc.text) - 1), st.integers(1, 8))
    def span(i, layer, label):
        start, n = draw(cuts)
        return doc.make_span(f"T{i}", start, min(len(doc.text), start + n), label, layer, prov)
    ents = [span(i, "entities", draw(st.sampled_from(schema.entity_names()))) for i in range(draw(st.integers(0, 3)))]
    spans, events, atts = list(ents), [], []
    for j in range(draw(st.integers(0, 2))):
        etype = draw(st.sampled_from(schema.event_names()))
        trig = span(10 + j, "events", etype)
        args = tuple(Argument(draw(st.sampled_from(schema.role_names())), e.id, draw(st.sampled_from([None, prov])))
                     for e in ents[:draw(st.integers(0, len(ents)))])
        spans.append(trig)
        events.append(Event(f"E{j}", trig.id, etype, args, prov))
    for k in range(draw(st.integers(0, 2))):
        cue, content = span(20 + 3 * k, "attribution", "CUE"), span(21 + 3 * k, "attribution", "CONTENT")
        source = span(22 + 3 * k, "attribution", "SOURCE") if draw(st.booleans()) else None
        spans += [s for s in (cue, content, source) if s]
        atts.append(Attribution(f"A{k}", cue.id, source.id if source else None, content.id, prov,
                                "A0" if k and draw(st.booleans()) else None))
    return AnnotationSet(set_name, tuple(spans), tuple(events), tuple(atts))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(docs=st.lists(documents(), min_size=1, max_size=4, unique_by=lambda d: d.id))
def test_documents_from_dataset_round_trip_property(docs, schema, tmp_path):
    root = tmp_path / uuid.uuid4().hex
    corpus = open_corpus(root / "corpus")
    licensed(corpus)
    with corpus.lock():
        corpus.write(docs)
    report = publish.build(corpus, schema, root / "hf")
    assert report.dropped_spans == 0
    same_documents(list(publish.documents_from_dataset(root / "hf")), docs)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(docs=st.lists(documents(), min_size=1, max_size=6, unique_by=lambda d: d.id), block=st.sampled_from([1, 400, 8 << 20]))
def test_build_documents_rows_equal_the_reference_builder(docs, block, schema, tmp_path):
    """The Arrow build's ``documents`` rows equal the plain per-document reference (seqeval vs conlleval style),
    over blocks of one document, a few and all."""
    root = tmp_path / uuid.uuid4().hex
    corpus = open_corpus(root / "corpus")
    licensed(corpus)
    with corpus.lock():
        corpus.write(docs)
    publish.build(corpus, schema, root / "hf", block_size=block)
    built = {row["id"]: row for path in sorted((root / "hf" / "data" / "documents").glob("*.parquet"))
             for row in pq.read_table(path).to_pylist()}
    want = {doc.id: documents_row(doc, schema, root) for doc in corpus.documents()}
    assert built == want


def test_published_set_is_gold_else_silver():
    doc = Document("d", "Baghdad")
    prov = Provenance("a", GOLD)
    gold = AnnotationSet(GOLD, (doc.make_span("T1", 0, 7, "GPE", "entities", prov),))
    silver = AnnotationSet(SILVER, (doc.make_span("T1", 0, 3, "GPE", "entities", prov),))
    assert doc.published_set() == AnnotationSet(SILVER) and doc.published_set().is_empty()
    assert doc.with_set(silver).published_set() == silver
    assert doc.with_set(silver).with_set(gold).published_set() == gold
    assert doc.with_set(gold).with_set(AnnotationSet(annotator_set("bob"), gold.spans)).published_set() == gold
    assert Document("d", "Baghdad", annotations={GOLD: AnnotationSet(GOLD), SILVER: silver}).published_set() == silver


# --- splits ----------------------------------------------------------------------------------------


def synthetic(n: int, offset: int = 0) -> list[Document]:
    out = []
    for i in range(offset, offset + n):
        text = f"Ghani met Kadhimi in Baghdad on day {i} \U0001f642."
        tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        doc = ingest.to_document(ingest.Article(text, Origin(f"s{i}.txt", "0" * 64)), [(0, len(text))], tokens)
        a = Annotator(doc, SILVER, "m.v1", "machine")
        a.span("Ghani", "PER", "entities")
        a.span("Baghdad", "GPE", "entities")
        out.append(a.done())
    return out


def test_split_of_is_stable_and_follows_ratios():
    ids = [f"doc-{i:016x}" for i in range(4000)]
    splits = [publish.split_of(i) for i in ids]
    assert splits == [publish.split_of(i) for i in ids]
    share = splits.count("train") / len(ids)
    assert 0.77 < share < 0.83
    assert {publish.split_of(i, (0.0, 0.0, 1.0)) for i in ids[:50]} == {"test"}


def test_block_reader_threads_stop_when_the_consumer_stops_early(corpus):
    import threading

    from spanbank.publish.read import blocks

    def readers():
        return sorted(t.name.rsplit("_", 1)[0] for t in threading.enumerate() if t.name.startswith("spanbank-read"))

    it = blocks(corpus, block_size=1)  # one document per block
    first = next(it)
    assert first.docs.num_rows == 1
    assert readers() == ["spanbank-read", "spanbank-read-annotations", "spanbank-read-documents"]  # blocks + a parser per file
    it.close()
    assert readers() == []


def aligned_corpus(path: Path):
    """Documents without annotations (the first, the last, two in a row), one document bigger than the
    small blocks (with the longest annotation run), annotation runs of 1 to 4 records."""
    corpus = open_corpus(path)
    prov = Provenance("spanbank.entities.v1", SILVER, TIME, "machine")
    docs = []
    for i in range(12):
        text = " ".join(["Alice met Bob in Paris."] * (300 if i == 5 else 1 + i % 3))
        doc = Document(f"d{i:02d}", text)
        n = 0 if i in (0, 3, 4, 11) else 40 if i == 5 else 1 + i % 4
        if n:
            doc = doc.with_set(AnnotationSet(SILVER, tuple(doc.make_span(f"T{k:02d}", 6 * k, 6 * k + 5, "PER", "entities", prov)
                                                           for k in range(n))))
        docs.append(doc)
    licensed(corpus)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def test_publish_and_ray_blocks_are_the_one_aligned_cut(tmp_path):
    """publish/read.py (blocks of bytes) and the Ray engine (blocks of documents) both get their blocks from
    Corpus.aligned: every cut joins each document with exactly its annotations, wherever the cut falls."""
    import orjson

    from spanbank.publish.read import blocks

    corpus = aligned_corpus(tmp_path / "corpus")
    joined = [(rec["id"], [r["id"] for _, r in group]) for (_, rec), group in corpus.grouped_records()]
    doc_bytes, ann_bytes = corpus.documents_path.read_bytes(), corpus.annotations_path.read_bytes()
    edges = list(itertools.accumulate(len(line) for line in doc_bytes.splitlines(keepends=True)))
    huge = max(len(line) for line in doc_bytes.splitlines())
    assert huge > 4 * sorted(len(line) for line in doc_bytes.splitlines())[-2]

    def check(cuts) -> list[tuple[list[str], list[str]]]:
        """The cuts tile both files; each holds whole documents with all their annotations and nothing else."""
        assert [c.doc_start for c, _, _ in cuts] == [0] + [c.doc_end for c, _, _ in cuts][:-1]
        assert [c.ann_start for c, _, _ in cuts] == [0] + [c.ann_end for c, _, _ in cuts][:-1]
        assert (cuts[-1][0].doc_end, cuts[-1][0].ann_end) == (len(doc_bytes), len(ann_bytes))
        got = []
        for cut, docs, anns in cuts:
            assert (bytes(docs), bytes(anns)) == (doc_bytes[cut.doc_start:cut.doc_end], ann_bytes[cut.ann_start:cut.ann_end])
            ids = [orjson.loads(line)["id"] for line in bytes(docs).splitlines()]
            ann = [(r["doc"], r["id"]) for r in map(orjson.loads, bytes(anns).splitlines())]
            assert [(i, [a for d, a in ann if d == i]) for i in ids] == [j for j in joined if j[0] in ids]
            assert {d for d, _ in ann} <= set(ids)
            got.append((ids, [d for d, _ in ann]))
        return got

    for size in sorted({1, huge - 1, huge, 1 << 20} | {e + d for e in edges for d in (-1, 0, 1)}):
        cuts = list(corpus.aligned(max_bytes=size))
        expected = check(cuts)
        if size < huge:
            assert (["d05"], ["d05"] * 40) in expected  # the big document is a block of its own
        ramped = check(list(corpus.aligned(max_bytes=size, ramp=True)))
        read = list(blocks(corpus, size))  # the publish consumer (ramped)
        assert [(b.docs.column("id").to_pylist(), b.ann.column("doc").to_pylist()) for b in read] == ramped
        assert [(b.doc_row, b.ann_row) for b in read] == [
            (sum(len(i) for i, _ in ramped[:k]), sum(len(a) for _, a in ramped[:k])) for k in range(len(ramped))]
        if size in edges:  # a cut exactly at a document's end is the same cut by count
            k = edges.index(size) + 1
            assert [c for c, _, _ in corpus.aligned(docs=k)][0] == replace(cuts[0][0], count=k)
    for n in range(1, 6):  # the Ray consumer
        cuts = list(corpus.aligned(docs=n))
        expected = check(cuts)
        assert [len(ids) for ids, _ in expected] == [c.count for c, _, _ in cuts] == [min(n, 12 - i) for i in range(0, 12, n)]
        assert list(corpus.blocks(n)) == [c for c, _, _ in cuts]
        assert [d for b in corpus.blocks(n) for d in b.documents()] == list(corpus.documents())


def test_a_ramped_cut_starts_and_ends_small_and_tiles_the_files(tmp_path, monkeypatch):
    """The build's cut (ramp=True): block budgets double from RAMP up to max_bytes and halve towards the end,
    so reading, building and writing overlap from the first block to the last; the bytes are the plain cut's."""
    from spanbank import store

    corpus = aligned_corpus(tmp_path / "corpus")
    doc_bytes = corpus.documents_path.read_bytes()
    lines = [len(line) for line in doc_bytes.splitlines(keepends=True)]
    small = max(lines[:5])
    monkeypatch.setattr(store, "RAMP", small)
    plain = list(corpus.aligned(max_bytes=len(doc_bytes)))
    ramped = list(corpus.aligned(max_bytes=len(doc_bytes), ramp=True))
    sizes = [c.doc_end - c.doc_start for c, _, _ in ramped]
    assert len(plain) == 1 and len(ramped) > 3
    assert sizes[0] <= small and sizes[-1] <= max(small, lines[-1])  # starts and ends with about RAMP bytes
    assert max(sizes) > 2 * small  # grows in between
    assert b"".join(bytes(d) for _, d, _ in ramped) == doc_bytes
    assert b"".join(bytes(a) for _, _, a in ramped) == corpus.annotations_path.read_bytes()
    assert [c.doc_start for c, _, _ in ramped] == [0] + [c.doc_end for c, _, _ in ramped][:-1]


def test_block_reader_names_an_annotation_after_the_last_document_at_its_line(tmp_path):
    from spanbank.errors import CorpusError
    from spanbank.publish.read import blocks

    corpus = aligned_corpus(tmp_path / "corpus")
    with corpus.annotations_path.open("ab") as fh:
        fh.write(b'{"doc":"zz","id":"T1","kind":"span","set":"silver"}\n')
    line = corpus.annotations_path.read_bytes().count(b"\n")
    for size in (1, 1 << 20):
        with pytest.raises(CorpusError, match=rf"annotations.jsonl:{line}: annotation for document 'zz' has no document"):
            list(blocks(corpus, size))


def test_build_names_an_orphan_or_out_of_order_annotation_at_its_line(tmp_path, schema):
    from spanbank.errors import CorpusError

    corpus = aligned_corpus(tmp_path / "corpus")
    lines = corpus.annotations_path.read_bytes().splitlines(keepends=True)
    first_d06 = next(i for i, line in enumerate(lines) if b'"doc":"d06"' in line)
    orphan = lines[:first_d06] + [b'{"doc":"d055","id":"T1","kind":"span","set":"silver"}\n'] + lines[first_d06:]
    moved = list(lines)
    moved.insert(max(i for i, line in enumerate(lines) if b'"doc":"d09"' in line), moved.pop(first_d06))  # d06 after d09
    for body, line, doc in ((orphan, first_d06 + 1, "d055"), (moved, moved.index(lines[first_d06]) + 1, "d06")):
        corpus.annotations_path.write_bytes(b"".join(body))
        for block in (1, 8 << 20):
            with pytest.raises(CorpusError, match=rf"annotations.jsonl:{line}: annotation for document '{doc}' has no "
                                                  "document, or is out of order"):
                publish.build(corpus, schema, tmp_path / f"hf-{doc}-{block}", block_size=block)


def _pyarrow_tokens(chunk: bytes):
    import pyarrow as pa
    import pyarrow.json as paj

    from spanbank.publish.read import DOCUMENTS

    options = paj.ParseOptions(explicit_schema=DOCUMENTS, unexpected_field_behavior="ignore")
    return paj.read_json(pa.BufferReader(chunk), parse_options=options).combine_chunks().column("tokens").chunk(0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)), max_size=6), min_size=1,
                max_size=5))
def test_split_tokens_decodes_canonical_lines_like_pyarrow(token_lists):
    from spanbank.publish.arrow import pair_lists
    from spanbank.publish.tokens import TYPE, split_tokens
    from spanbank.store import dumps

    chunk = b"".join(dumps({"id": f"d{i}", "text": 'a ,"tokens":[1] b', "title": None, "tokens": [list(t) for t in tokens]})
                     for i, tokens in enumerate(token_lists))
    kept, tokens = split_tokens(chunk)
    assert tokens.type == TYPE and tokens.equals(pair_lists(_pyarrow_tokens(chunk), TYPE)[0])
    assert tokens.to_pylist() == [[{"start": s, "end": e} for s, e in pairs] for pairs in token_lists]
    assert kept.count(b"\n") == len(token_lists) and b'"tokens":[[' not in kept
    assert [json.loads(line) for line in kept.splitlines()] == [
        {k: v for k, v in json.loads(line).items() if k != "tokens"} for line in chunk.splitlines()]


@pytest.mark.parametrize("lines", [
    [b'{"id":"a","tokens":[[0,1]]}', b'{"tokens":[[0,1]],"id":"b"}'],  # another key order
    [b'{"id":"a","tokens":[[0, 1]]}'],  # whitespace
    [b'{"id":"a","tokens":[[0,1]]}\r'],  # CRLF
    [b'{"id":"a","tokens":[[0,1]]}', b""],  # a blank line
    [b'{"id":"a"}'], [b'{"id":"a","tokens":null}'],  # no tokens
    [b'{"id":"a","tokens":[[-1,1]]}'], [b'{"id":"a","tokens":[[01,2]]}'], [b'{"id":"a","tokens":[[0,2147483648]]}'],
    [b'{"id":"a","tokens":[[0,1.5]]}'], [b'{"id":"a","tokens":[[,1]]}'], [b'{"id":"a","tokens":[5[0,1]]}'],
    [b'{"id":"a","tokens":[[0,1,2]]}'], [b'{"id":"a","tokens":[[0,1]2]}'], [b'{"id":"a","tokens":[[0],[1]]}'],
    [b'{"id":"a","origin":{"tokens":[[0,1]]}}'],  # a nested key, not the document's
    [b'{"id":"a","tokens":[[1,2][3,4],]}'], [b'{"id":"a","tokens":[[1,2],,[3,4]]}'], [b'{"id":"a","tokens":[[]]}'],
    [b'{"id":"a","tokens":[[1,2]],[3,4]]}'], [b'{"id":"a","tokens":[[1,2],[3,4]}'], [b'{"id":"a","tokens":[[1,2],]}'],
    [b'{"id":"a","tokens":[,[1,2]]}'], [b'{"id":"a","tokens":[[1,2],[3,4]]]}'], [b'{"id":"a","tokens":[[1,,2]]}'],
    [b'{"id":"a","tokens":[,5],,6]]}'],  # every number closes a pair: no first number
])
def test_split_tokens_leaves_anything_else_to_pyarrow(lines):
    from spanbank.publish.tokens import split_tokens

    assert split_tokens(b"\n".join(lines) + b"\n") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 99999), st.integers(0, 99999)), max_size=4), min_size=1, max_size=3),
       st.data())
def test_split_tokens_never_accepts_what_pyarrow_reads_differently(token_lists, data):
    """One byte of a canonical tokens tail inserted, deleted or replaced: the fast path agrees with pyarrow or declines."""
    from spanbank.publish.arrow import pair_lists
    from spanbank.publish.tokens import TYPE, split_tokens
    from spanbank.store import dumps

    lines = [dumps({"id": f"d{i}", "tokens": [list(t) for t in tokens]}) for i, tokens in enumerate(token_lists)]
    k = data.draw(st.integers(0, len(lines) - 1))
    line = lines[k]
    at = data.draw(st.integers(line.index(b'"tokens":[') + 9, len(line) - 3))
    byte = data.draw(st.sampled_from([b"[", b"]", b",", b"0", b"7", b"-", b" ", b"."]))
    how = data.draw(st.sampled_from(["insert", "delete", "replace"]))
    lines[k] = line[:at] + (byte if how != "delete" else b"") + line[at + (how != "insert"):]
    chunk = b"".join(lines)
    fast = split_tokens(chunk)
    try:
        expected = pair_lists(_pyarrow_tokens(chunk), TYPE)
    except pa.ArrowInvalid:
        assert fast is None, chunk
        return
    if fast is not None:
        assert expected[1] is None and fast[1].equals(expected[0]), chunk


def test_build_of_a_non_canonical_documents_file_matches_the_canonical_build(corpus, schema, tmp_path):
    publish.build(corpus, schema, tmp_path / "canonical")
    lines = corpus.documents_path.read_text(encoding="utf-8").splitlines()
    corpus.documents_path.write_text("".join(json.dumps(json.loads(line), ensure_ascii=False) + "\n" for line in lines),
                                     encoding="utf-8")  # spaces after separators, keys in the same order
    publish.build(corpus, schema, tmp_path / "spaced")
    files = sorted(p.relative_to(tmp_path / "canonical") for p in (tmp_path / "canonical").rglob("*.parquet"))
    for name in files:
        assert pq.read_table(tmp_path / "spaced" / name).equals(pq.read_table(tmp_path / "canonical" / name)), name


def test_split_indices_follow_the_documented_formula_forever():
    """The split function is part of the dataset's contract: pinned here against its definition."""
    ids = [f"doc-{i:016x}" for i in range(3000)] + ["\u00e9\U0001f642", ""]
    for ratios in ((0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)):
        expected = []
        for i in ids:
            u = int.from_bytes(hashlib.sha256(i.encode("utf-8")).digest()[:8], "big") / 2**64
            expected.append(0 if u < ratios[0] else 1 if u < ratios[0] + ratios[1] else 2)
        assert split_indices(ids, ratios).tolist() == expected
        assert [publish.split_of(i, ratios) for i in ids[:200]] == [publish.SPLITS[k] for k in expected[:200]]


def test_build_sorts_records_that_are_out_of_id_order(corpus, schema, tmp_path):
    publish.build(corpus, schema, tmp_path / "sorted")
    lines = corpus.annotations_path.read_text(encoding="utf-8").splitlines(keepends=True)
    by_doc = itertools.groupby(lines, key=lambda line: json.loads(line)["doc"])
    corpus.annotations_path.write_text("".join(line for _, group in by_doc for line in reversed(list(group))),
                                       encoding="utf-8")
    assert corpus.annotations_path.read_text(encoding="utf-8") != "".join(lines)
    publish.build(corpus, schema, tmp_path / "reversed")
    files = sorted(p.relative_to(tmp_path / "sorted") for p in (tmp_path / "sorted").rglob("*.parquet"))
    assert files and files == sorted(p.relative_to(tmp_path / "reversed") for p in (tmp_path / "reversed").rglob("*.parquet"))
    for name in files:
        assert pq.read_table(tmp_path / "reversed" / name).equals(pq.read_table(tmp_path / "sorted" / name)), name


def test_build_again_after_adding_documents_keeps_splits_and_label_ids(schema, tmp_path):
    corpus = open_corpus(tmp_path / "corpus")
    licensed(corpus)
    first_docs = synthetic(30)
    with corpus.lock():
        corpus.write(first_docs)
    first = publish.build(corpus, schema, tmp_path / "v1")
    before = {r["id"]: (split, [(e["start"], e["label"]) for e in r["entities"]])
              for split in publish.SPLITS for r in load(tmp_path / "v1", "documents", split)}
    with corpus.lock():
        corpus.write(first_docs + synthetic(20, offset=30))
    second = publish.build(corpus, schema, tmp_path / "v2")
    after = {r["id"]: (split, [(e["start"], e["label"]) for e in r["entities"]])
             for split in publish.SPLITS for r in load(tmp_path / "v2", "documents", split)}
    assert len(after) == 50
    assert {k: after[k] for k in before} == before
    assert all(after[k][0] == publish.split_of(k) for k in after)
    assert first.configs() == second.configs() == ["documents", "ner", "events"]  # no attributions here
    for config in first.configs():
        assert load(tmp_path / "v1", config, "train").features == load(tmp_path / "v2", config, "train").features


def test_parse_ratios_rejects_bad_values():
    assert publish.parse_ratios("0.7,0.2,0.1") == (0.7, 0.2, 0.1)
    with pytest.raises(PublishError, match=r"\(0.8, 0.3, 0.1\) must be three non-negative numbers summing to 1"):
        publish.parse_ratios("0.8,0.3,0.1")
    with pytest.raises(PublishError, match="not numbers"):
        publish.parse_ratios("a,b,c")


# --- card ------------------------------------------------------------------------------------------


def front_matter(out: Path) -> tuple[dict, str]:
    text = (out / "README.md").read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


def test_card_yaml_parses_and_numbers_match_data(corpus, schema, tmp_path):
    release.release(corpus, schema, git=False, date="2026-11-27")
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    meta, body = front_matter(out)
    assert meta["license"] == "other" and meta["language"] == ["en"]
    assert meta["task_categories"] == ["token-classification"] and meta["size_categories"] == ["n<1K"]
    assert sorted(meta["annotations_creators"]) == ["expert-generated", "machine-generated"]
    assert [c["config_name"] for c in meta["configs"] if c.get("default")] == ["documents"]
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert set(infos) == set(publish.CONFIGS)
    for config, info in infos.items():
        for split in info["splits"]:
            assert split["num_examples"] == len(load(out, config, split["name"]))
    doc_labels = next(f for f in infos["documents"]["features"] if f["name"] == "entities")
    label = next(f for f in doc_labels["list"] if f["name"] == "label")
    assert list(label["dtype"]["class_label"]["names"].values()) == schema.entity_names()
    for heading in ("## Labels", "## Example", "## Statistics", "## How the annotations were made",
                    "## Offset convention", "## Version and changelog", "## Source and license", "## Citation"):
        assert heading in body
    assert "| 0 | `PER` |" in body and "Version 1.0.0" in body and "### 1.0.0 (2026-11-27)" in body
    example = body.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(example)["annotation_set"] in ("gold", "silver")
    assert "Inter-annotator agreement: not measured" in body
    assert meta["spanbank_build"]["version"] == "1.0.0"
    from huggingface_hub import DatasetCard

    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.split("---\n")[1].strip() == DatasetCard(text).data.to_yaml()  # huggingface_hub writes the same YAML


def test_build_refuses_a_token_in_the_card(schema, tmp_path):
    corpus = open_corpus(tmp_path / "corpus")
    licensed(corpus)
    leaky = ingest.to_document(ingest.Article(f"The key {FAKE_TOKEN} leaked.", Origin("x.txt", "0" * 64)), [], [])
    a = Annotator(leaky, SILVER, "m.v1", "machine")
    a.span("key", "WEA", "entities")
    with corpus.lock():
        corpus.write([a.done()])  # the shortest annotated document becomes the card's example
    with pytest.raises(PublishError, match="looks like a secret"):
        publish.build(corpus, schema, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_build_refuses_to_replace_a_foreign_folder(corpus, schema, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(PublishError, match="not a previous build"):
        publish.build(corpus, schema, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# --- CLI -------------------------------------------------------------------------------------------


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_cli_build_then_publish_dry_run(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    out = tmp_path / "dist"
    result = run("build", "--corpus", corpus.path, "--out", out, "--ratios", "0.5,0.25,0.25")
    assert result.exit_code == 0, result.output
    assert re.search(r"built .*dist: 3 documents \(train \d+, validation \d+, test \d+\)", result.stderr)
    assert sum(len(load(out, "documents", s)) for s in publish.SPLITS) == 3

    result = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "org/news", "--dry-run")
    assert result.exit_code == 1
    assert "error: " in result.stderr and "the corpus has no release" in result.stderr

    release.release(corpus, load_schema(), git=False)
    result = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "org/news", "--dry-run")
    assert result.exit_code == 1 and "was built from corpus version None" in result.stderr

    assert run("build", "--corpus", corpus.path, "--out", out).exit_code == 0
    result = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "org/news", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: would publish org/news v1.0.0 (token: HF_TOKEN)" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "1. create_repo org/news (dataset, public, exist_ok=True)"
    assert lines[1].startswith(f"2. upload_folder {out} -> org/news: ") and "'Release v1.0.0'" in lines[1]
    assert "delete_patterns=['data/**', 'project/**']" in lines[1]
    assert lines[2] == "3. create_tag v1.0.0 on the upload commit"
    assert FAKE_TOKEN not in result.output
    card = (out / "README.md").read_text(encoding="utf-8")
    assert FAKE_TOKEN not in card
    # the dry run leaves the exact folder it would upload: the repo id and the version in the snippets
    assert 'load_dataset("org/news", "events", revision="v1.0.0")' in card and "ORG/NAME" not in card
    assert "spanbank doccano setup --from-dataset org/news" in card
    assert "https://huggingface.co/datasets/org/news" in card
    assert front_matter(out)[0]["spanbank_build"]["repo_id"] == "org/news"
    assert load(out, "ner", "train").features["ner_tags"].feature.names[0] == "O"  # the card still loads
    again = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "org/other", "--dry-run")
    assert again.exit_code == 0, again.output
    card = (out / "README.md").read_text(encoding="utf-8")
    assert 'load_dataset("org/other")' in card and '"org/news"' not in card

    result = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "not a repo", "--dry-run")
    assert result.exit_code == 1 and "is not ORG/NAME" in result.stderr


def test_cli_publish_refuses_unreleased_changes(corpus, tmp_path):
    release.release(corpus, load_schema(), git=False)
    out = tmp_path / "dist"
    assert run("build", "--corpus", corpus.path, "--out", out).exit_code == 0
    with corpus.lock():
        corpus.write([d for d in corpus.documents()][:2])
    result = run("publish", "--corpus", corpus.path, "--out", out, "--repo-id", "org/news", "--dry-run")
    assert result.exit_code == 1
    assert "the corpus differs from release 1.0.0: documents.jsonl changed since release 1.0.0" in result.stderr


def test_publish_refuses_validation_failures(schema, tmp_path):
    corpus = open_corpus(tmp_path / "corpus")
    licensed(corpus)
    bad = synthetic(2)
    bad[0] = Document(**{**bad[0].__dict__, "date": "2021-13-45"})
    with corpus.lock():
        corpus.write(synthetic(2))
    release.release(corpus, schema, git=False)
    publish.build(corpus, schema, tmp_path / "hf")
    with corpus.lock():  # a release made before releases validated: its manifest and build match invalid files
        corpus.write(bad)
    released = json.loads(corpus.manifest_path.read_text())["files"]
    for path in (corpus.manifest_path, tmp_path / "hf" / "README.md"):
        text = path.read_text()
        for name in ("documents.jsonl", "annotations.jsonl"):
            text = text.replace(released[name], sha256_file(corpus.path / name))
        path.write_text(text)
    manifest = json.loads(corpus.manifest_path.read_text())
    corpus.manifest_path.write_text(json.dumps({**manifest, "seal": manifest_seal(manifest)}))
    with pytest.raises(PublishError, match=r"does not validate: 1 problem\(s\); .*:\n.*2021-13-45"):
        publish.publish(corpus, schema, tmp_path / "hf", "org/news", dry_run=True)


def test_publish_without_token_refuses_before_the_network(corpus, schema, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    release.release(corpus, schema, git=False)
    publish.build(corpus, schema, tmp_path / "hf")
    plan = publish.plan(corpus, schema, tmp_path / "hf", "org/news")
    assert plan.token_source == "none" and plan.tag == "v1.0.0"
    with pytest.raises(PublishError, match="no Hugging Face token"):
        publish.publish(corpus, schema, tmp_path / "hf", "org/news")


def test_cli_build_names_the_bad_span(corpus, tmp_path):
    path = corpus.annotations_path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if '"text":"Baghdad"' in line and '"set":"annotator/' not in line)
    lines[n] = lines[n].replace('"text":"Baghdad"', '"text":"Bagdad!"')
    path.write_text("".join(lines), encoding="utf-8")
    result = run("build", "--corpus", corpus.path, "--out", tmp_path / "hf")
    assert result.exit_code == 1
    assert f"error: {corpus.path} does not validate: 1 problem(s); " in result.stderr  # the gate, before the build
    assert f"\n  {path}:{n + 1}: span 'T3': span [" in result.stderr
    assert "text 'Bagdad!' does not match the document text 'Baghdad'" in result.stderr
    assert not (tmp_path / "hf").exists()
    with pytest.raises(PublishError) as caught:  # the build's own check, for library callers that skip the gate
        publish.build(corpus, load_schema(), tmp_path / "hf")
    assert str(caught.value).startswith(f"{path}:{n + 1}: document ")
    assert "does not slice the text to 'Bagdad!' (the text there is 'Baghdad')" in str(caught.value)
    assert not (tmp_path / "hf").exists()


def test_cli_build_json_report(corpus, tmp_path):
    result = run("build", "--corpus", corpus.path, "--out", tmp_path / "hf", "--json", "--license", "cc-by-4.0")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sum(report["num_examples"]["documents"].values()) == 3
    assert report["sets"] == {"gold": 1, "silver": 1, "none": 1}
    assert front_matter(tmp_path / "hf")[0]["license"] == "cc-by-4.0"


def test_card_reports_release_agreement(two_annotator_corpus, schema, tmp_path):
    seed_corpus = two_annotator_corpus
    runner = CliRunner()
    assert runner.invoke(main, ["release", "--corpus", str(seed_corpus.path), "--no-git"]).exit_code == 0
    out = tmp_path / "hf"
    result = runner.invoke(main, ["build", "--corpus", str(seed_corpus.path), "--out", str(out), "--license", "mit"])
    assert result.exit_code == 0, result.output
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Inter-annotator agreement over 2 annotators and 1 shared documents" in card
    assert "| entities | 1 | 1 | 0.500 | 0.500 |" in card


@pytest.mark.parametrize("name", ["documents.jsonl", "annotations.jsonl"])
def test_cli_build_refuses_a_duplicated_line(corpus, tmp_path, name):
    """A line written twice (a bad merge) would publish a document or a span twice: the build refuses, naming it."""
    out = tmp_path / "hf"
    assert run("build", "--corpus", corpus.path, "--out", out).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    path = corpus.path / name
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[1:]), encoding="utf-8")
    result = run("build", "--corpus", corpus.path, "--out", out)
    assert result.exit_code == 1
    assert f"error: {corpus.path} does not validate: " in result.stderr
    assert f"\n  {path}:3: " in result.stderr and ("is duplicate" in result.stderr or "is used twice" in result.stderr)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # the previous build is untouched


@pytest.mark.parametrize("method", ["write", "close"])
def test_a_failed_shard_write_leaves_the_previous_build(corpus, schema, tmp_path, monkeypatch, method):
    """A writer thread failing in the stream or in the tail (disk full) fails the build; ``out`` stays as it was."""
    from spanbank.publish import parquet

    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def disk_full(self, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parquet._SplitWriter, method, disk_full)
    with pytest.raises(OSError, match="No space left"):
        publish.build(corpus, schema, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".hf.*"))  # no temp folder left behind


def test_build_folder_gets_the_usual_modes(corpus, schema, tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        publish.build(corpus, schema, tmp_path / "hf")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "hf").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "hf" / "README.md").stat().st_mode) == 0o644


def test_build_refuses_when_the_corpus_changed_after_validation(corpus, schema, tmp_path):
    stamp = corpus.stamp()
    with corpus.lock():
        corpus.write(list(corpus.documents())[:2])
    with pytest.raises(PublishError, match="written by another process during the build"):
        publish.build(corpus, schema, tmp_path / "hf", expect=stamp)
    assert not (tmp_path / "hf").exists()


# --- Hub-native release: card, project files, events config, parquet options ------------------------


@pytest.mark.parametrize("config, message", [
    (None, "no dataset license chosen"),
    ("license: other\nlicense_link: https://example.org/terms\n", "license 'other' needs license_name"),
    ("license: other\nlicense_name: terms\n", "license 'other' needs license_link"),
    ("license: other\n", "license 'other' needs license_name and license_link"),
    ("license: other\nlicense_name: Terms Of Use\nlicense_link: https://e.org\n", "license_name 'Terms Of Use' must be a lowercase id"),
    ("license: other\nlicense_name: t\nlicense_link: terms.txt\n", "license_link 'terms.txt' is neither an http(s) URL nor the shipped LICENSE.md"),
    ("license: mit\nlicence: mit\n", "unknown key 'licence'"),
    ("license: mit\nlicense_file: nowhere.md\n", "license_file 'nowhere.md' does not exist"),
])
def test_build_refuses_a_card_without_a_usable_license(corpus, schema, tmp_path, config, message):
    path = corpus.path / "dataset.yaml"
    if config is None:
        path.unlink()
    else:
        path.write_text(config, encoding="utf-8")
    result = run("build", "--corpus", corpus.path, "--out", tmp_path / "hf")
    assert result.exit_code == 1
    assert f"error: {path}: {message}" in result.stderr
    if message.startswith(("no dataset", "license 'other'", "license_name")):
        assert "license_name: news-research-only" in result.stderr  # the fix, with an example
    assert not (tmp_path / "hf").exists()


def test_build_license_file_is_shipped_and_linked(corpus, schema, tmp_path):
    (corpus.path / "TERMS.md").write_text("# Terms\n\nResearch only.\n", encoding="utf-8")
    (corpus.path / "dataset.yaml").write_text("license: other\nlicense_name: research-only\nlicense_file: TERMS.md\n",
                                              encoding="utf-8")
    publish.build(corpus, schema, tmp_path / "hf")
    meta, body = front_matter(tmp_path / "hf")
    assert (meta["license"], meta["license_name"], meta["license_link"]) == ("other", "research-only", "LICENSE.md")
    assert (tmp_path / "hf" / "LICENSE.md").read_text(encoding="utf-8") == "# Terms\n\nResearch only.\n"
    assert "**research-only**, terms at LICENSE.md" in body


def json_blocks(body: str) -> dict[str, dict]:
    """The card's examples by config heading."""
    section = body.split("## Examples\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(r"### `(\w+)`\n\n```json\n(.*?)\n```", section, re.S)}


def test_card_is_hub_native(corpus, schema, tmp_path):
    release.release(corpus, schema, git=False, date="2026-11-27")
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    meta, body = front_matter(out)
    assert (meta["license"], meta["license_name"], meta["license_link"]) == ("other", "test-terms",
                                                                           "https://example.org/terms")
    assert meta["pretty_name"] == "Test news"
    assert {"named-entity-recognition", "event-extraction", "quotation-attribution"} <= set(meta["tags"])
    text = (out / "README.md").read_text(encoding="utf-8")
    assert max(len(line.encode("utf-8")) for line in text.splitlines()) <= 1024
    # Data fields: every field of every config, with its type and a meaning
    features = dataset_features(schema)
    fields = body.split("## Data fields\n", 1)[1].split("\n## ", 1)[0]
    from spanbank.publish.fields import walk

    for config in publish.CONFIGS:
        table = fields.split(f"### `{config}`", 1)[1].split("\n### ", 1)[0]
        for path, feature, _ in walk(features[config]):
            row = re.search(rf"^\| `{re.escape(path)}` \| ([^|]+) \| (.+) \|$", table, re.M)
            assert row and row.group(2).strip(), (config, path)
    assert f"| `events[].arguments[].entity_type` | ClassLabel ({len(schema.entity_names())} names) |" in fields
    # one short example per config, loadable JSON, as load_dataset returns the row
    examples = json_blocks(body)
    assert set(examples) == set(publish.CONFIGS)
    doc = examples["documents"]
    assert doc["text"] != next(d for d in corpus.documents() if d.id == doc["id"]).text  # an excerpt
    for span in doc["entities"]:
        assert doc["text"][span["start"]:span["end"]] == span["text"]
    assert len(doc["tokens"]) <= 3 and any(examples["ner"]["ner_tags"])
    assert examples["events"]["events"] and examples["events"]["entities"]
    # personal information, sources, rebuilding, citation from the configuration
    assert "## Personal and sensitive information" in body and "name real people" in body
    assert "spanbank import --format hf ORG/NAME" in body and "`project/schema.yaml`" in body
    citation = body.split("```bibtex\n", 1)[1].split("\n```", 1)[0]
    assert citation.startswith("@misc{Lovelace_2026,")
    assert "author = {Ada Lovelace and Alan Turing}" in citation and "year = {2026}" in citation
    assert "howpublished = {\\url{https://example.org/spans}}" in citation and "note = {version 1.0.0," in citation


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_uploaded_files_hold_no_secret_or_local_path(corpus, schema, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    assert any(d.origin.path.startswith(str(tmp_path)) for d in corpus.documents())  # ingested by absolute path
    release.release(corpus, schema, git=False)
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    plan = publish.publish(corpus, schema, out, "org/news", dry_run=True)
    assert {"README.md", "project/schema.yaml", "project/GUIDELINES.md", "project/CHANGELOG.md",
            "project/manifest.json", "project/NOTICE", "project/dataset.yaml"} <= set(plan.files)
    local = [str(tmp_path), str(Path.home()), str(Path(__file__).resolve().parents[1]), FAKE_TOKEN]
    for name in plan.files:
        path = out / name
        if name.endswith(".parquet"):
            strings = list(_strings(pq.read_table(path).to_pylist()))
            text = "\n".join(strings + [v.decode("utf-8", "replace") for v in pq.read_metadata(path).metadata.values()])
        else:
            text = path.read_text(encoding="utf-8")
        for bad in local:
            assert bad not in text, (name, bad)
        assert not re.search(r"(?<![\w.])/(home|tmp|work|root|Users)/", text), name
    origins = {r["origin"]["path"] for r in _all(out, "documents")}
    assert origins == {"articles/a.txt", "articles/b.txt", "000_7c4a1253a3f73b28.txt"}


def test_build_refuses_a_local_path_in_a_project_file(corpus, schema, tmp_path):
    (corpus.path / "dataset.yaml").write_text(LICENSED + f"source_license: texts copied from {tmp_path}/x\n",
                                              encoding="utf-8")
    with pytest.raises(PublishError, match="contains the local path"):
        publish.build(corpus, schema, tmp_path / "hf")


def test_every_config_streams_with_the_declared_features(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    report = publish.build(corpus, schema, out, ratios=(1.0, 0.0, 0.0))
    expected = dataset_features(schema)
    for config in (None, *publish.CONFIGS):
        stream = datasets.load_dataset(str(out), config, split="train", streaming=True)
        assert stream.features == expected[config or "documents"]
        assert sum(1 for _ in stream) == report.num_examples[config or "documents"]["train"]


def test_events_config_carries_entity_types_and_mentions(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    docs = {d.id: published(d) for d in corpus.documents()}
    names = schema.entity_names()
    features = dataset_features(schema)["events"]
    assert features["entities"].feature["type"].names == names
    assert features["events"].feature["arguments"].feature["entity_type"].names == names
    mentions = set()
    for row in _all(out, "events"):
        labels = {s.id: s.label for aset in docs[row["doc_id"]].annotations.values() for s in aset.spans_of("entities")}
        for m in row["entities"]:
            assert names[m["type"]] == labels[m["id"]]
            assert row["start"] <= m["start"] and m["end"] <= row["end"]
            assert "".join(row["tokens"][m["start_token"]:m["end_token"]]) == m["text"].replace(" ", "")
            mentions.add((row["doc_id"], m["id"]))
        for e in row["events"]:
            for a in e["arguments"]:
                assert a["entity_type"] is not None and names[a["entity_type"]] == labels[a["entity_id"]]
    assert mentions == {(d.id, s.id) for d in docs.values() for aset in d.annotations.values()
                        for s in aset.spans_of("entities")}


def test_parquet_has_content_defined_chunking_and_page_index(corpus, schema, tmp_path):
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    for path in out.rglob("*.parquet"):
        meta = pq.read_metadata(path)
        assert json.loads(meta.metadata[b"content_defined_chunking"]) == datasets.config.DEFAULT_CDC_OPTIONS
        column = meta.row_group(0).column(0)
        assert column.has_offset_index and column.has_column_index, path


def test_cli_import_hf_restores_schema_and_history(corpus, schema, tmp_path):
    with corpus.lock():
        corpus.add_round({"time": TIME, "project": "p", "documents": 1, "annotators": ["alice"]})
    release.release(corpus, schema, git=False, date="2026-11-27")
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    back = open_corpus(tmp_path / "back")
    result = run("import", "--format", "hf", out, "--corpus", back.path)
    assert result.exit_code == 0, result.output
    assert (f"{out}: restored schema.yaml, manifest.json, CHANGELOG.md, doccano-rounds.jsonl, dataset.yaml"
            in result.stderr)
    same_documents(list(back.documents()), list(corpus.documents()), corpus.path.parent)
    restored = load_schema(back.path / "schema.yaml")
    assert restored == schema and restored.sha256 == schema.sha256
    for name in ("manifest.json", "CHANGELOG.md", "doccano-rounds.jsonl", "dataset.yaml"):
        assert (back.path / name).read_bytes() == (corpus.path / name).read_bytes(), name
    assert back.read_manifest()["version"] == "1.0.0" and back.rounds() == corpus.rounds()
    # importing again into the restored corpus keeps its files; a corpus with history keeps its own
    again = run("import", "--format", "hf", out, "--corpus", back.path, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["project"] == [{"written": [], "kept": [], "missing": ""}]
    (back.path / "CHANGELOG.md").write_text("# mine\n", encoding="utf-8")
    kept = run("import", "--format", "hf", out, "--corpus", back.path)
    assert "nothing new to restore; kept the corpus's own CHANGELOG.md" in kept.stderr
    assert (back.path / "CHANGELOG.md").read_text(encoding="utf-8") == "# mine\n"
    # a project file edited after the build is refused by its recorded hash
    (out / "project" / "schema.yaml").write_text("name: x\n", encoding="utf-8")
    tampered = run("import", "--format", "hf", out, "--corpus", tmp_path / "third")
    assert tampered.exit_code == 1
    assert "project/schema.yaml does not match the sha256 its card records" in tampered.stderr


def test_doccano_setup_from_dataset_creates_the_same_project(corpus, schema, tmp_path, doccano_server, monkeypatch):
    from spanbank.doccano import project as projects

    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    out = tmp_path / "hf"
    publish.build(corpus, schema, out)
    stamp = time.time_ns()
    from_schema, from_dataset = f"schema-{stamp}", f"dataset-{stamp}"
    assert run("doccano", "setup", "--project", from_schema).exit_code == 0
    result = run("doccano", "setup", "--project", from_dataset, "--from-dataset", out)
    assert result.exit_code == 0, result.output
    assert f"project '{from_dataset}'" in result.stderr and "created" in result.stderr
    client = doccano_server.client()

    def described(name):
        project = projects.find_project(client, name)
        settings = {k: project[k] for k in ("guideline", "project_type", "allow_overlapping", "use_relation",
                                            "collaborative_annotation")}
        labels = {kind: sorted((lab["text"], lab["background_color"], lab["suffix_key"])
                               for lab in client.label_types(project["id"], kind)) for kind in ("span", "relation")}
        return settings, labels

    assert described(from_dataset) == described(from_schema)
    settings, labels = described(from_dataset)
    assert settings["guideline"] == render_guidelines(schema).strip()
    assert ("PER", "#1f77b4", "p") in labels["span"]
    both = run("doccano", "setup", "--project", from_dataset, "--from-dataset", out, "--schema", "x.yaml")
    assert both.exit_code == 2 and "give --schema or --from-dataset, not both" in both.output


def test_row_groups_do_not_depend_on_how_the_rows_arrive(tmp_path, monkeypatch):
    """The same rows with the same cuts give the same file however they are cut into writes, including the
    row-count cap between cuts (the writer's row groups are content-defined, never block edges)."""
    from spanbank.publish import parquet as writers

    monkeypatch.setattr(writers, "ROW_GROUP_MAX_ROWS", 7)
    table = pa.table({"x": pa.array(range(40), pa.int64())})
    cuts = [3, 4, 20, 40]  # ends of content-defined row groups: 3, 1, 16 (capped at 7) and 20 (capped) rows
    files = []
    for pieces in ([40], [1, 39], [5, 10, 25], [3, 1, 16, 20], [1] * 40):
        out = tmp_path / f"run{len(files)}"
        out.mkdir()
        writer = writers._SplitWriter(out, "train", table.schema, 1 << 30)
        at = 0
        for n in pieces:
            local = np.array([c - at for c in cuts if at < c <= at + n], np.int64)
            writer.write(table.slice(at, n), local)
            at += n
        [part] = writer.close()
        files.append(part.read_bytes())
        groups = [pq.ParquetFile(part).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(part).num_row_groups)]
        assert groups == [3, 1, 7, 7, 2, 7, 7, 6]
    assert all(f == files[0] for f in files)
