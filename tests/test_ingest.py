"""Ingest: the seed article, plain text and JSONL, normalization, and bad inputs that change nothing."""

import json

import pytest
from click.testing import CliRunner

from spanbank import ingest
from spanbank.cli import main
from spanbank.errors import InputError
from spanbank.store import open_corpus

from conftest import SEEDS


def test_new_documents_seed_article(seed_corpus):
    docs = list(seed_corpus.documents())
    assert len(docs) == 1
    doc = docs[0]
    assert doc.date == "2021-11-09"
    assert doc.text.startswith("A day after")
    assert [doc.text[s:e] for s, e in doc.sections] == ["Iraq launches probe into drone-attack on PM"]
    assert doc.origin.normalization == ("strip-date-header", "strip-outer-whitespace")
    raw = next(SEEDS.iterdir()).read_bytes()
    import hashlib
    assert doc.origin.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(doc.paragraphs) == 7
    assert all(doc.text[s:e].strip() == doc.text[s:e] for s, e in doc.tokens)
    # headline is its own sentence, sentences lie inside paragraphs
    assert (doc.sections[0]) in doc.sentences
    assert all(any(ps <= s and e <= pe for ps, pe in doc.paragraphs) for s, e in doc.sentences)


def test_ingest_cli_reingest_is_noop(tmp_path):
    runner = CliRunner()
    corpus = tmp_path / "corpus"
    first = runner.invoke(main, ["ingest", str(SEEDS), "--corpus", str(corpus)])
    assert first.exit_code == 0, first.output
    before = (corpus / "documents.jsonl").read_bytes()
    again = runner.invoke(main, ["ingest", str(SEEDS), "--corpus", str(corpus), "--json"])
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert report["added"] == [] and len(report["duplicates"]) == 1
    assert (corpus / "documents.jsonl").read_bytes() == before


def test_normalize_bom_crlf_nfc(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffdate 2020-02-29 Cafe\u0301 said so.\r\n\r\nSecond para 😀.\r\n".encode())
    doc = next(ingest.segment_articles(ingest.read_file(path)))
    assert doc.text == "Caf\u00e9 said so.\n\nSecond para 😀."
    assert doc.date == "2020-02-29"
    assert set(doc.origin.normalization) >= {"strip-bom", "crlf-to-lf", "nfc", "strip-date-header"}
    assert [doc.text[s:e] for s, e in doc.paragraphs] == ["Café said so.", "Second para 😀."]


@pytest.mark.parametrize("raw", ["  \ufeffBody text here.", "\n\ufeffdate 2020-01-02 Body text here.",
                                 "date 2020-01-02\n\ufeffBody text\ufeff here."])
def test_normalize_bom_anywhere(tmp_path, raw):
    """A BOM after leading whitespace (or after the header, or mid-text) is removed and recorded."""
    path = tmp_path / "a.txt"
    path.write_text(raw, encoding="utf-8")
    (art,) = ingest.read_file(path)
    assert art.text == "Body text here." and "strip-bom" in art.origin.normalization


def test_ingest_lists_files_it_does_not_read(tmp_path):
    folder = tmp_path / "in"
    (folder / ".git").mkdir(parents=True)
    (folder / "a.txt").write_text("date 2020-01-01 An article.", encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    result = CliRunner().invoke(main, ["ingest", str(folder), "--corpus", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["added"]) == 1
    assert report["ignored"] == [f"{folder / 'photo.jpg'}: not an article file (suffix .jpg; read are: .jsonl, .ndjson, "
                                 ".text, .txt, no suffix)"]
    text = CliRunner().invoke(main, ["ingest", str(folder), "--corpus", str(tmp_path / "c")])
    assert f"ignored: {folder / 'photo.jpg'}: not an article file" in text.output


def test_read_file_jsonl_records(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"text": "Bob met Ann.", "date": "2024-01-01", "title": "T", "url": "u", "source": "s"})
                    + "\n\n" + json.dumps({"text": "Second."}) + "\n", encoding="utf-8")
    arts = list(ingest.read_file(path))
    assert [a.text for a in arts] == ["Bob met Ann.", "Second."]
    assert arts[0].date == "2024-01-01" and arts[0].title == "T" and arts[1].date is None


BAD_INPUTS = [
    ("latin1.txt", "Caf\xe9".encode("latin-1") + b" ok", "latin1.txt:1:3: not UTF-8: byte 0xe9 at byte offset 3"),
    ("empty.txt", b"  \n", "empty.txt: file is empty"),
    ("date.txt", b"\n date 2021-13-40 Body.", "date.txt:2: impossible date '2021-13-40'"),
    ("binary.txt", b"ab\ncd\x00ef", "binary.txt:2:2: binary file (NUL byte)"),
    ("big.txt", b"x" * 5000, "big.txt: file is 5000 bytes, over the limit of 4000"),
    ("bad.jsonl", b'{"text": "ok"}\n{"text": 3}\n', "bad.jsonl:2: record needs a non-empty string 'text'"),
    ("badjson.jsonl", b'{"text": "ok"}\n{nope\n', "badjson.jsonl:2:1: not valid JSON: unexpected character, expected a string key"),
    ("badjson2.jsonl", b'{"text": "ok"}\n{"text": "fine", "date": 2024-01-01}\n',
     "badjson2.jsonl:2:29: not valid JSON: unexpected character, expected ',' or '}' (offset 29 of the line, in characters)"),
    ("nulescape.jsonl", b'{"text": "ok"}\n{"title": "x\\\\u0000", "text": "a\\u0000b"}\n',
     "nulescape.jsonl:2:32: 'text' holds a NUL character (a \\u0000 escape)"),
    ("latin1.jsonl", b'{"text": "ok"}\n{"text": "Caf\xe9"}\n', "latin1.jsonl:2:13: not UTF-8: byte 0xe9 at byte offset 13 of the line"),
    ("bigrec.jsonl", b'{"text": "' + b"x" * 5000 + b'"}\n', "bigrec.jsonl:1: record is 5013 bytes, over the limit of 4000"),
    ("empty.jsonl", b"\n \n", "empty.jsonl: file is empty"),
    ("nul.jsonl", b'{"text": "ok"}\n{"te\x00xt": 1}\n', "nul.jsonl:2:4: binary file (NUL byte)"),
    ("baddate.jsonl", b'{"text": "ok", "date": "2021-02-30"}\n', "baddate.jsonl:1: impossible date '2021-02-30'"),
]


@pytest.mark.parametrize("name,content,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_ingest_bad_input_leaves_corpus_identical(seed_corpus, tmp_path, name, content, message):
    bad = tmp_path / name
    bad.write_bytes(content)
    before = {p.name: p.read_bytes() for p in seed_corpus.path.iterdir() if p.is_file()}
    result = CliRunner().invoke(main, ["ingest", str(SEEDS), str(bad), "--corpus", str(seed_corpus.path),
                                       "--max-bytes", "4000"])
    assert result.exit_code == 1
    assert message in result.output.replace(str(tmp_path) + "/", "")
    after = {p.name: p.read_bytes() for p in seed_corpus.path.iterdir() if p.is_file()}
    assert after == before


def test_ingest_skip_bad_lists_and_continues(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("date 2020-01-01 Good article text.", encoding="utf-8")
    (tmp_path / "in" / "bad.txt").write_bytes(b"\xff\xfe bad")
    result = CliRunner().invoke(main, ["ingest", str(tmp_path / "in"), "--corpus", str(tmp_path / "c"),
                                       "--skip-bad", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["added"]) == 1 and "bad.txt:1:0: not UTF-8" in report["skipped"][0]
    assert [d.text for d in open_corpus(tmp_path / "c").documents()] == ["Good article text."]


def test_expand_paths_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        ingest.expand_paths([tmp_path / "nope.txt"])


def test_is_headline():
    assert ingest.is_headline("Iraq launches probe into drone-attack on PM")
    assert not ingest.is_headline("Iraq launches a probe.")
    assert not ingest.is_headline(" ".join(["word"] * 20))


def test_ingest_skip_bad_jsonl_skips_bad_records_not_their_neighbours(tmp_path):
    bad = tmp_path / "mixed.jsonl"
    bad.write_text('{"text": "First fine record."}\n{"text": ""}\n{not json\n{"text": "Third fine record."}\n',
                   encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "Kept record.", "date": "2024-02-29"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(bad), str(good), "--corpus", str(tmp_path / "c"), "--skip-bad", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["added"]) == 3 and len(report["skipped"]) == 2
    assert "mixed.jsonl:2: record needs a non-empty string 'text'" in report["skipped"][0]
    assert "mixed.jsonl:3:1: not valid JSON" in report["skipped"][1]
    texts = {d.text: d.origin.path for d in open_corpus(tmp_path / "c").documents()}
    assert set(texts) == {"First fine record.", "Third fine record.", "Kept record."}
    assert texts["Third fine record."].endswith("mixed.jsonl:4")
    refused = CliRunner().invoke(main, ["ingest", str(bad), "--corpus", str(tmp_path / "d")])
    assert refused.exit_code == 1 and "mixed.jsonl:2: record needs a non-empty string 'text'" in refused.output
    assert not (tmp_path / "d" / "documents.jsonl").exists()


def test_cli_usage_errors_exit_2(tmp_path):
    res = CliRunner().invoke(main, ["ingest", str(tmp_path / "nonexistent"), "--corpus", str(tmp_path / "c")])
    assert res.exit_code == 2, res.output
    assert "does not exist" in res.output
