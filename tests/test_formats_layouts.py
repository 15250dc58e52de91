"""formats: the layouts people have (CoNLL with extra columns and comments, CoNLL-U, BIOES, brat variants).

Every fixture under tests/fixtures/import/ goes through the CLI: imported, validated, exported and
(for the formats that read back) re-imported with the same annotations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from spanbank.cli import main
from spanbank.store import open_corpus

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def run(*args: str, code: int = 0):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == code, res.output
    return res


def spans(corpus: Path, set_name: str = "gold") -> dict[str, set[tuple[str, str]]]:
    """Per document text's first 20 characters: {(span text, label)} of one set."""
    return {d.text[:20]: {(s.text, s.label) for s in d.annotation_set(set_name).spans}
            for d in open_corpus(corpus).documents()}


def round_trip(corpus: Path, tmp_path: Path, fmt: str = "conll", set_name: str = "gold") -> None:
    """validate, export as ``fmt``, import the export into a fresh corpus: same texts, same spans."""
    run("validate", "--corpus", corpus, "--allow-unreleased")
    out = tmp_path / f"export-{corpus.name}-{set_name.replace('/', '_')}"
    run("export", "--format", fmt, "--out", out, "--corpus", corpus, "--set", set_name)
    back = tmp_path / f"back-{corpus.name}-{set_name.replace('/', '_')}"
    run("import", "--format", fmt, out, "--corpus", back)
    run("validate", "--corpus", back, "--allow-unreleased")
    assert spans(back) == spans(corpus, set_name)


def test_cli_import_conll_tag_column_comments_text_and_docstart(tmp_path):
    corpus = tmp_path / "c"
    res = run("import", "--format", "conll", FIXTURES / "extra_columns.conll", "--tag-column", "4", "--corpus", corpus)
    assert "2 document(s) read: 0 attached to existing documents, 2 added" in res.output
    docs = {d.text: d for d in open_corpus(corpus).documents()}
    text = "Ghani met Kadhimi in Baghdad, officials said.\nNothing happened"
    assert set(docs) == {text, "The United Nations met on Monday."}  # `# text` keeps "Baghdad," unspaced
    doc = docs[text]
    assert {(s.text, s.label) for s in doc.annotation_set("gold").spans} == {
        ("Ghani", "PER"), ("Kadhimi", "PER"), ("Baghdad", "GPE")}
    assert all(doc.text[a:b] for a, b in doc.tokens) and doc.text[slice(*doc.tokens[5])] == ","
    assert doc.sentences == ((0, 45), (46, len(text)))
    round_trip(corpus, tmp_path)


def test_cli_import_conll_without_tag_column_reads_the_annotator_column(tmp_path):
    res = run("import", "--format", "conll", FIXTURES / "extra_columns.conll", "--corpus", tmp_path / "c", code=1)
    assert f"error: {FIXTURES}/extra_columns.conll:6: tag 'alice' is not O or PREFIX-LABEL" in res.output


def test_cli_import_conll_errors_keep_file_and_line(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("# text = Ghani met Kadhimi.\nGhani B-PER\nmeets O\nKadhimi B-PER\n", encoding="utf-8")
    res = run("import", "--format", "conll", bad, "--corpus", tmp_path / "c", code=1)
    assert f"error: {bad}:3: token 'meets' is not the next word of the sentence's `# text`" in res.output


def test_cli_import_conllu_misc_tags_multiword_tokens_and_newdoc(tmp_path):
    corpus = tmp_path / "u"
    res = run("import", "--format", "conllu", FIXTURES / "misc_ner.conllu", "--tag-column", "MISC:NER",
              "--group-by", "doc-id-prefix", "--corpus", corpus)
    assert "2 document(s) read" in res.output
    docs = {d.text: d for d in open_corpus(corpus).documents()}
    assert set(docs) == {"Ghani met Kadhimi in Baghdad.\nDo n't panic.", "Reuters reported from New York."}
    assert {(s.text, s.label) for s in docs["Reuters reported from New York."].annotation_set("gold").spans} == {
        ("Reuters", "ORG"), ("New York", "GPE")}
    round_trip(corpus, tmp_path)
    missing = run("import", "--format", "conllu", FIXTURES / "misc_ner.conllu", "--corpus", tmp_path / "x", code=1)
    assert "CoNLL-U has no tag column of its own; say where the tag is: --tag-column MISC:NER" in missing.output


def test_cli_import_bioes_grouped_by_sent_id_prefix_or_not(tmp_path):
    corpus = tmp_path / "b"
    run("import", "--format", "conll", FIXTURES / "bioes_sent_ids.bio", "--group-by", "doc-id-prefix",
        "--corpus", corpus)
    assert spans(corpus) == {"Ghani spoke\nThe Iraq": {("Ghani", "PER"), ("The Iraqi army", "ORG")},
                             "Erbil was calm": {("Erbil", "GPE")}}
    round_trip(corpus, tmp_path)
    single = tmp_path / "s"
    run("import", "--format", "conll", FIXTURES / "bioes_sent_ids.bio", "--group-by", "none", "--corpus", single)
    assert open_corpus(single).count() == 3
    one = tmp_path / "o"
    res = run("import", "--format", "conll", FIXTURES / "bioes_sent_ids.bio", "--drop-label", "ORG", "--corpus", one)
    assert open_corpus(one).count() == 1  # docstart (the default) without -DOCSTART- lines: one document
    assert f"dropped: {FIXTURES}/bioes_sent_ids.bio:6: label 'ORG' is dropped (--drop-label)" in res.output
    assert {s.label for d in open_corpus(one).documents() for s in d.annotation_set("gold").spans} == {"PER", "GPE"}


def test_cli_import_rejects_options_of_another_format(tmp_path):
    res = run("import", "--format", "brat", FIXTURES, "--tag-column", "4", "--corpus", tmp_path / "c", code=2)
    assert "--tag-column applies to --format conll/conllu, not brat" in res.output


BRAT = FIXTURES / "brat_split"
BRAT_ARGS = ("--text-dir", BRAT / "text", "--annotator-from-name", r"_(\w+)$", "--attribution-trigger", "Attribution",
             "--drop-label", "Discard")


def test_cli_import_brat_text_dir_annotators_event_attribution_drop_and_parts(tmp_path):
    corpus = tmp_path / "brat"
    res = run("import", "--format", "brat", BRAT / "ann", *BRAT_ARGS, "--discontinuous", "parts", "--corpus", corpus)
    assert "1 document(s) read: 0 attached to existing documents, 1 added" in res.output
    assert "label 'Discard' is dropped (--drop-label)" in res.output
    (doc,) = open_corpus(corpus).documents()
    assert set(doc.annotations) == {"annotator/alice", "annotator/bob"}
    alice = doc.annotations["annotator/alice"]
    assert {(s.text, s.label) for s in alice.spans} == {
        ("Ghani", "PER"), ("Kadhimi", "PER"), ("Baghdad", "GPE"), ("the government", "ORG"), ("said", "CUE"),
        ("Ghani met Kadhimi in Baghdad on Monday", "CONTENT"), ("the government", "SOURCE"), ("Baghdad", "FAC"),
        ("airports", "FAC"), ("Erbil", "GPE")}
    (att,) = alice.attributions
    assert (alice.span(att.cue).text, alice.span(att.source).label, alice.span(att.content).label) == (
        "said", "SOURCE", "CONTENT")
    assert {s.provenance.agent for s in alice.spans} == {"alice"}
    assert {(s.text, s.label) for s in doc.annotations["annotator/bob"].spans} == {("Ghani", "PER"), ("Baghdad", "GPE")}
    round_trip(corpus, tmp_path, "brat", "annotator/alice")
    round_trip(corpus, tmp_path, "conll", "annotator/bob")


def test_cli_import_brat_discontinuous_policies(tmp_path):
    res = run("import", "--format", "brat", BRAT / "ann", *BRAT_ARGS, "--corpus", tmp_path / "e", code=1)
    assert (f"error: {BRAT}/ann/news1_alice.ann:10: discontinuous span: the gap [68, 79) holds ' and Erbil '; "
            "split it into separate spans, or import with --discontinuous outer|parts") in res.output
    assert not (tmp_path / "e").exists() or open_corpus(tmp_path / "e").count() == 0
    run("import", "--format", "brat", BRAT / "ann", *BRAT_ARGS, "--discontinuous", "outer", "--corpus", tmp_path / "o")
    (doc,) = open_corpus(tmp_path / "o").documents()
    assert ("Baghdad and Erbil airports", "FAC") in {(s.text, s.label) for s in doc.annotations["annotator/alice"].spans}


def test_cli_import_brat_without_drop_label_names_the_label(tmp_path):
    args = [a for a in BRAT_ARGS if a not in ("--drop-label", "Discard")]
    res = run("import", "--format", "brat", BRAT / "ann", *args, "--corpus", tmp_path / "c", code=1)
    assert f"error: {BRAT}/ann/news1_alice.ann:4: label 'Discard' is neither in the label map nor in the schema" in res.output


def test_cli_import_map_file_roles_per_event_type_and_keep_invalid(tmp_path):
    corpus, rejects = tmp_path / "ev", tmp_path / "rejects.jsonl"
    args = ("import", "--format", "brat", FIXTURES / "brat_events", "--map-file", FIXTURES / "brat_events_map.yaml")
    res = run(*args, "--corpus", corpus, code=1)  # bad.ann: an ORG as Instrument, a GPE as Target
    assert "error: not imported: the imported annotations do not validate: 2 problem(s)" in res.output
    assert f"{FIXTURES}/brat_events/bad.ann:4:" in res.output
    res = run(*args, "--keep-invalid", rejects, "--corpus", corpus)
    assert f"1 document(s) set aside in {rejects} (not imported):" in res.output
    (record,) = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert record["document"]["text"] == "Militants struck Baghdad." and len(record["problems"]) == 2
    assert all(p.startswith(f"{FIXTURES}/brat_events/bad.ann:4: ") for p in record["problems"])
    (doc,) = open_corpus(corpus).documents()
    gold = doc.annotation_set("gold")
    (event,) = gold.events
    assert event.type == "Conflict:Attack"
    assert sorted((a.role, gold.span(a.span).text) for a in event.arguments) == [
        ("Instrument", "drone"), ("Place", "Baghdad"), ("Target", "residence")]
    round_trip(corpus, tmp_path, "brat")


@pytest.mark.parametrize("text, message", [
    ("entities: {City: TOWN}\n", "entities: City -> 'TOWN' is not one of the schema's entities labels"),
    ("roles: {Conflict:Attack: {Tool: Weapon}}\n", "roles: Conflict:Attack: Tool -> 'Weapon' is not a role of Conflict:Attack"),
    ("roles: {Conflict:Hug: {Tool: Instrument}}\n", "roles: 'Conflict:Hug' is not an event type of the schema"),
    ("attribution_roles: {Speaker: SPEAKER}\n", "attribution_roles: Speaker -> 'SPEAKER' is not one of SOURCE, CUE, CONTENT"),
])
def test_cli_import_map_file_is_checked_against_the_schema(tmp_path, text, message):
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    res = run("import", "--format", "brat", FIXTURES / "brat_events", "--map-file", tmp_path / "map.yaml",
              "--corpus", tmp_path / "c", code=1)
    assert f"error: {tmp_path}/map.yaml: the label map does not fit schema" in res.output
    assert message in res.output
