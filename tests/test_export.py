"""Each export format re-imports to the same annotations where the format can carry them."""

import json

import pytest
from click.testing import CliRunner
from seqeval.metrics import classification_report  # noqa: F401  (seqeval must parse what we write)
from seqeval.metrics.sequence_labeling import get_entities

from spanbank.cli import main
from spanbank.formats import ImportOptions, ImportReport, import_documents, read_paths
from spanbank.formats.docbin import read_docbin
from spanbank.ingest import segment_documents
from spanbank.schema import load_schema

from conftest import ROOT


@pytest.fixture
def gold_corpus(seed_corpus):
    """The seed corpus with the hand-made gold (all three layers)."""
    result = CliRunner().invoke(main, ["import", "--format", "brat", str(ROOT / "corpus" / "gold"),
                                       "--annotator", "seed-annotator", "--corpus", str(seed_corpus.path)])
    assert result.exit_code == 0, result.output
    return seed_corpus


def structure(doc, set_name="gold"):
    """Annotations by offsets and labels, independent of ids and provenance."""
    aset = doc.annotation_set(set_name)
    at = {s.id: (s.start, s.end) for s in aset.spans}
    return (sorted((s.layer, s.label, s.start, s.end, s.text) for s in aset.spans),
            sorted((e.type, at[e.trigger], sorted((a.role, at[a.span]) for a in e.arguments)) for e in aset.events),
            sorted((at[a.cue], at.get(a.source), at[a.content]) for a in aset.attributions),
            sum(a.parent is not None for a in aset.attributions))


def run_export(corpus, fmt, out):
    result = CliRunner().invoke(main, ["export", "--format", fmt, "--corpus", str(corpus.path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_brat_round_trip(gold_corpus, tmp_path):
    report = run_export(gold_corpus, "brat", tmp_path / "brat")
    assert any("provenance" in note for note in report["cannot_carry"])
    original = next(gold_corpus.documents())
    items = list(read_paths("brat", [tmp_path / "brat"], ImportOptions(load_schema(), annotator="x")))
    (back,) = import_documents([], items, ImportReport(), segment=segment_documents)
    assert back.text == original.text
    assert structure(back) == structure(original)
    assert structure(original)[3] == 2  # the two nested attributions survive


def test_export_spacy_round_trip_exact(gold_corpus, tmp_path):
    report = run_export(gold_corpus, "spacy", tmp_path / "spacy")
    (path,) = report["files"]
    original = next(gold_corpus.documents())
    (back,) = list(read_docbin(path))
    assert back.annotation_set("gold") == original.annotation_set("gold")
    assert back.text == original.text and back.tokens == original.tokens
    from spanbank import nlp
    (text, _, ents), = list(nlp.read_docbin(path))
    gold_entities = {(s.start, s.end, s.label) for s in original.annotation_set("gold").spans_of("entities")}
    assert ents and set(ents) <= gold_entities


def test_export_conll_is_valid_iob2_and_reimports(gold_corpus, tmp_path):
    report = run_export(gold_corpus, "conll", tmp_path / "conll")
    (path,) = report["files"]
    lines = open(path, encoding="utf-8").read().split("\n")
    tags = [line.split("\t")[1] for line in lines if line and not line.startswith("-DOCSTART-")]
    original = next(gold_corpus.documents())
    entities = get_entities(tags)  # seqeval's reading of our tags
    assert all(t == "O" or t[:2] in ("B-", "I-") for t in tags)
    assert all(not t.startswith("I-") or prev in (f"B-{t[2:]}", t) for prev, t in zip(["O"] + tags, tags))
    words = [line.split("\t")[0] for line in lines if line and not line.startswith("-DOCSTART-")]
    seq_texts = sorted((label, " ".join(words[s:e + 1])) for label, s, e in entities)
    items = list(read_paths("conll", [path], ImportOptions(load_schema(), annotator="x")))
    (back,) = import_documents([], items, ImportReport())
    assert sorted((s.label, s.text) for s in back.annotation_set("gold").spans) == seq_texts
    assert len(entities) <= len(original.annotation_set("gold").spans_of("entities"))


def test_export_doccano_rows_show_our_spans_in_utf16(gold_corpus, tmp_path):
    from spanbank.formats.doccano import Utf16, utf16_slice

    report = run_export(gold_corpus, "doccano", tmp_path / "doccano")
    (path,) = report["files"]
    (row,) = [json.loads(line) for line in open(path, encoding="utf-8")]
    original = next(gold_corpus.documents())
    gold = original.annotation_set("gold")
    assert row["text"] == original.text and row["spanbank_id"] == original.id
    u16 = Utf16(row["text"])
    back = sorted((u16.from16(e["start_offset"]), u16.from16(e["end_offset"]), e["label"]) for e in row["entities"])
    assert back == sorted((s.start, s.end, s.label) for s in gold.spans)
    assert all(utf16_slice(row["text"], e["start_offset"], e["end_offset"]) == row["text"][a:b]
               for e, (a, b, _) in zip(sorted(row["entities"], key=lambda e: (e["start_offset"], e["end_offset"], e["label"])), back))
    n_links = sum(1 + (a.source is not None) for a in gold.attributions)
    assert len(row["relations"]) == sum(len(e.arguments) for e in gold.events) + n_links


def test_export_refuses_an_invalid_corpus_naming_the_annotation_line(gold_corpus, tmp_path):
    """An offset problem on annotations.jsonl:5 is reported there (not at documents.jsonl:1), and nothing is exported."""
    path = gold_corpus.annotations_path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rec = json.loads(lines[4])
    assert rec["kind"] == "span"
    lines[4] = json.dumps({**rec, "end": rec["start"] - 1}) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = CliRunner().invoke(main, ["export", "--format", "conll", "--corpus", str(gold_corpus.path),
                                       "--out", str(tmp_path / "conll")])
    assert result.exit_code == 1
    assert f"\n  {path}:5: span {rec['id']!r}: span [" in result.output and "documents.jsonl:1" not in result.output
    assert not (tmp_path / "conll").exists()
