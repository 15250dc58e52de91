"""The HTML view of one document."""

from click.testing import CliRunner

from spanbank.cli import main
from spanbank.model import AnnotationSet, Argument, Attribution, Event, Provenance

PROV = Provenance("alice", "gold", "2026-01-01T00:00:00Z", "human")


def test_show_html_has_layers_colours_and_structures(seed_corpus, tmp_path):
    doc = next(seed_corpus.documents())
    t = doc.text

    def span(sid, phrase, label, layer):
        at = t.index(phrase)
        return doc.make_span(sid, at, at + len(phrase), label, layer, PROV)

    spans = (span("s1", "Al-Kadhimi's residence", "FAC", "entities"), span("s2", "wounded", "Life:Injure", "events"),
             span("s3", "seven guards", "PER", "entities"), span("s4", "the Associated Press", "SOURCE", "attribution"),
             span("s5", "reported", "CUE", "attribution"), span("s6", "Tehran and its allies", "CONTENT", "attribution"))
    aset = AnnotationSet("gold", spans, (Event("e1", "s2", "Life:Injure", (Argument("Victim", "s3"),), PROV),),
                         (Attribution("a1", "s5", "s4", "s6", PROV),))
    with seed_corpus.lock():
        seed_corpus.write([doc.with_set(aset)])
    out = tmp_path / "page.html"
    result = CliRunner().invoke(main, ["show", doc.id[:10], "--corpus", str(seed_corpus.path), "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} ({doc.id}, set gold)" in result.output
    page = out.read_text(encoding="utf-8")
    assert "<b>Victim</b>: “seven guards”" in page
    assert "“the Associated Press”" in page and "“reported”" in page
    assert "#" in page and "Life:Injure [" in page  # coloured segment with its label and offsets in the title
    assert page.count("Iraq launches probe into drone-attack on PM") == 3  # once per layer panel


def test_show_unknown_document(seed_corpus):
    result = CliRunner().invoke(main, ["show", "nope", "--corpus", str(seed_corpus.path)])
    assert result.exit_code == 1
    assert "no document with id 'nope'" in result.output
