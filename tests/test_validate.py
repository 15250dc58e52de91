"""Validation catches each broken invariant and names file:line and the offending value."""

import json

import pytest
from click.testing import CliRunner

from spanbank.cli import main
from spanbank.model import AnnotationSet, Argument, Attribution, Event, Provenance
from spanbank.schema import load_schema
from spanbank.validate import validate

PROV = Provenance("spanbank.entities.v1", "silver", "2026-01-01T00:00:00Z")


@pytest.fixture
def annotated(seed_corpus):
    """The seed corpus with one valid silver span, event and attribution."""
    doc = next(seed_corpus.documents())
    t = doc.text

    def span(sid, phrase, label, layer, nth=0):
        start = t.index(phrase) if nth == 0 else t.index(phrase, t.index(phrase) + 1)
        return doc.make_span(sid, start, start + len(phrase), label, layer, PROV)

    spans = (span("s1", "Mustafa al-Kadhimi", "PER", "entities"), span("s2", "wounded", "Life:Injure", "events"),
             span("s3", "seven guards", "PER", "entities"), span("s4", "the Associated Press", "SOURCE", "attribution"),
             span("s5", "reported", "CUE", "attribution"),
             span("s6", "Tehran and its allies had nothing to with the said attack", "CONTENT", "attribution"))
    aset = AnnotationSet("silver", spans, (Event("e1", "s2", "Life:Injure", (Argument("Victim", "s3"),), PROV),),
                         (Attribution("a1", "s5", "s4", "s6", PROV),))
    with seed_corpus.lock():
        seed_corpus.write([doc.with_set(aset)])
    return seed_corpus


def edit(corpus, match, change):
    """Apply ``change`` to the annotation record whose id is ``match``; return its line number."""
    lines = corpus.annotations_path.read_text().splitlines()
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if rec["id"] == match:
            change(rec)
            lines[i] = json.dumps(rec, sort_keys=True)
            corpus.annotations_path.write_text("\n".join(lines) + "\n")
            return i + 1
    raise AssertionError(match)


def test_validate_valid_corpus(annotated):
    assert validate(annotated, load_schema()) == []


BROKEN = [
    ("s1", lambda r: r.update(end=r["start"] - 1), "ends before it starts"),
    ("s1", lambda r: r.update(end=10**6), "ends after the text"),
    ("s1", lambda r: r.update(text="Mustafa al-Kadhim"), "does not match the document text"),
    ("s1", lambda r: r.update(label="PER "), "label 'PER ' is not in schema 1.1.0 for layer entities"),
    ("s1", lambda r: r.update(layer="nonsense"), "layer 'nonsense' is not one of"),
    ("s1", lambda r: r.update(prov={"agent": "x", "status": "gold"}), "status 'gold' in set silver"),
    ("e1", lambda r: r.update(trigger="nope"), "trigger points to span 'nope', which does not exist"),
    ("e1", lambda r: r.update(type="Life:Marry"), "has type 'Life:Marry' but its trigger is labelled 'Life:Injure'"),
    ("e1", lambda r: r.update(arguments=[{"role": "Attacker", "span": "s3"}]), "role 'Attacker' is not allowed for Life:Injure"),
    ("e1", lambda r: r.update(arguments=[{"role": "Victim", "span": "s4"}]), "points to attribution span 's4'"),
    ("a1", lambda r: r.update(cue="s4"), "cue points to attribution span 's4' labelled 'SOURCE'"),
    ("a1", lambda r: r.update(parent="a1"), "nested in itself"),
    ("a1", lambda r: r.update(parent="zz"), "has parent 'zz', which is not an attribution"),
    ("s2", lambda r: r.update(id="s1"), "id 's1' is used twice in set silver"),
    ("s1", lambda r: r.update(set="bronze"), "annotation set 'bronze' is not silver, silver/<name>, gold or annotator/<name>"),
]


@pytest.mark.parametrize("target,change,message", BROKEN, ids=[b[2][:30] for b in BROKEN])
def test_validate_catches_broken_invariant(annotated, target, change, message):
    line = edit(annotated, target, change)
    problems = validate(annotated, load_schema())
    assert any(message in p.message for p in problems), problems
    assert any(p.line == line and p.path.endswith("annotations.jsonl") for p in problems)


def test_validate_document_problems(annotated):
    rec = json.loads(annotated.documents_path.read_text())
    rec["date"] = "2021-13-40"
    rec["tokens"].append([5, 2])
    annotated.documents_path.write_text(json.dumps(rec) + "\n")
    messages = [str(p) for p in validate(annotated, load_schema())]
    assert any("documents.jsonl:1: date '2021-13-40' is not a valid" in m for m in messages)
    assert any("documents.jsonl:1: tokens: span [5, 2) ends before it starts" in m for m in messages)


def test_validate_orphan_annotation_and_manifest_hash(annotated):
    runner = CliRunner()
    assert runner.invoke(main, ["release", "--corpus", str(annotated.path), "--no-git"]).exit_code == 0
    with annotated.annotations_path.open("a") as fh:
        fh.write(json.dumps({"doc": "zzz", "set": "silver", "kind": "span", "id": "x"}) + "\n")
    result = runner.invoke(main, ["validate", "--corpus", str(annotated.path)])
    assert result.exit_code == 1
    assert "annotations.jsonl:9: annotation for unknown document 'zzz'" in result.output
    assert "annotations.jsonl has sha256" in result.output and "the manifest of 1.0.0 says" in result.output
    lenient = runner.invoke(main, ["validate", "--corpus", str(annotated.path), "--allow-unreleased"])
    assert "sha256" not in lenient.output and lenient.exit_code == 1


def test_validate_duplicated_lines_in_both_files(annotated):
    """A line written twice is a duplicate id, in documents.jsonl and in annotations.jsonl."""
    ann = annotated.annotations_path.read_text().splitlines(keepends=True)
    annotated.annotations_path.write_text("".join(ann[:2] + ann[1:]))
    docs = annotated.documents_path.read_text()
    annotated.documents_path.write_text(docs + docs)
    messages = [str(p) for p in validate(annotated, load_schema())]
    doc_id = json.loads(docs)["id"]
    assert f"{annotated.documents_path}:2: document id {doc_id!r} is duplicate (ids must be unique and sorted)" in messages
    assert any(m.startswith(f"{annotated.annotations_path}:3: id ") and "is used twice in set silver (first on line 2)" in m
               for m in messages), messages


def test_require_valid_refuses_with_file_line(annotated):
    from spanbank.errors import CorpusError
    from spanbank.validate import require_valid

    require_valid(annotated, load_schema())
    line = edit(annotated, "s1", lambda r: r.update(end=r["start"] - 1))
    with pytest.raises(CorpusError) as caught:
        require_valid(annotated, load_schema())
    text = str(caught.value)
    assert text.startswith(f"{annotated.path} does not validate: 1 problem(s); fix them (`spanbank validate` lists "
                           "every one); nothing was written:\n")
    assert f"\n  {annotated.annotations_path}:{line}: span 's1': span [" in text
    assert len(caught.value.problems) == 1


def test_validate_nul_in_text(annotated):
    rec = json.loads(annotated.documents_path.read_text())
    rec["text"] = rec["text"][:10] + "\x00" + rec["text"][11:]
    annotated.documents_path.write_text(json.dumps(rec) + "\n")
    messages = [str(p) for p in validate(annotated, load_schema())]
    assert any(m.startswith(f"{annotated.documents_path}:1: text has a NUL character at offset 10") for m in messages)


def test_validate_broken_manifest_is_a_problem_with_line_and_column(annotated):
    annotated.manifest_path.write_text('{"version": "1.0.0",\n "files": [}\n')
    for unreleased_ok in (False, True):
        problems = validate(annotated, load_schema(), unreleased_ok=unreleased_ok)
        assert [str(p).split(": ")[0] for p in problems] == [f"{annotated.manifest_path}:2:12"]
        assert "not valid JSON" in problems[0].message and "git checkout" in problems[0].message
    runner = CliRunner()
    for command in (["validate"], ["stats"], ["release", "--no-git"], ["build", "--out", str(annotated.path.parent / "hf")]):
        result = runner.invoke(main, [*command, "--corpus", str(annotated.path)])
        assert result.exit_code == 1, (command, result.output)
        assert f"{annotated.manifest_path}:2:12" in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, ValueError)
    assert not (annotated.path.parent / "hf").exists()


def test_validate_manifest_edited_by_hand(annotated):
    runner = CliRunner()
    assert runner.invoke(main, ["release", "--corpus", str(annotated.path), "--no-git"]).exit_code == 0
    assert validate(annotated, load_schema()) == []
    text = annotated.manifest_path.read_text()
    digest = json.loads(text)["files"]["annotations.jsonl"]
    annotated.manifest_path.write_text(text.replace(digest, "0" * 64))
    problems = validate(annotated, load_schema(), unreleased_ok=True)
    assert len(problems) == 1 and problems[0].message.startswith("edited by hand after release 1.0.0: its seal does not "
                                                                 "match its content")
