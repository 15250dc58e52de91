"""formats: brat and CoNLL import, round trips with emoji / combining marks / CRLF / BOM, errors, the seed gold."""

import io
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spanbank.cli import main
from spanbank.errors import InputError
from spanbank.formats import ImportOptions, ImportReport, LabelMap, import_documents, load_label_map, read_paths
from spanbank.formats.brat import read_brat, write_brat
from spanbank.formats.conll import read_conll, to_bio, write_conll
from spanbank.ingest import segment_documents
from spanbank.model import AnnotationSet, Document, Provenance, document_id
from spanbank.schema import load_schema
from spanbank.store import open_corpus

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "corpus" / "gold"
SEED_GOLD = GOLD / "000_7c4a1253a3f73b28.ann"
SCHEMA = load_schema()
OPTIONS = ImportOptions(schema=SCHEMA, annotator="tester")

# BOM, CRLF, an emoji (one code point, two UTF-16 units) and a decomposed é (e + U+0301, NFC -> 1 code point)
RAW = "\ufeffThe 👍 Cafe\u0301 bomb\r\nstruck Baghdad.\r\nOfficials said it was over."


def write(tmp_path: Path, ann: str, raw: str = RAW, name: str = "doc") -> Path:
    (tmp_path / f"{name}.txt").write_bytes(raw.encode("utf-8"))
    (tmp_path / f"{name}.ann").write_text(ann, encoding="utf-8")
    return tmp_path / f"{name}.txt"


def off(surface: str, raw: str = RAW) -> str:
    start = raw.index(surface)
    return f"{start} {start + len(surface)}\t{surface}"


ANN = "\n".join([
    f"T1\tFAC {off('Cafe' + chr(0x301))}",
    f"T2\tWEA {off('bomb')}",
    f"T3\tConflict:Attack {off('struck')}",
    f"T4\tGPE {off('Baghdad')}",
    f"T5\tSOURCE {off('Officials')}",
    f"T6\tCUE {off('said')}",
    f"T7\tCONTENT {off('it was over')}",
    "#1\tAnnotatorNotes T1\tthe place",
    "E1\tConflict:Attack:T3 Instrument:T2 Place:T4 Target:T1",
    "E2\tCUE:T6 SOURCE:T5 CONTENT:T7",
    "A1\tNegation E1",
]) + "\n"


def key(aset):
    spans = sorted((s.id, s.start, s.end, s.text, s.label, s.layer) for s in aset.spans)
    events = sorted((e.id, e.trigger, e.type, tuple((a.role, a.span) for a in e.arguments)) for e in aset.events)
    atts = sorted((a.id, a.cue, a.source, a.content, a.parent) for a in aset.attributions)
    return spans, events, atts


def test_read_brat_converts_offsets_to_normalized_text(tmp_path):
    report = ImportReport()
    item = read_brat(write(tmp_path, ANN), OPTIONS, report)
    doc = item.document
    assert doc.text == "The 👍 Café bomb\nstruck Baghdad.\nOfficials said it was over."
    assert doc.origin.normalization == ("strip-bom", "crlf-to-lf", "nfc")
    aset = doc.annotations["gold"]
    got = {s.id: (s.start, s.end, s.text, s.label, s.layer) for s in aset.spans}
    assert got["T1"] == (6, 10, "Café", "FAC", "entities")
    assert got["T4"] == (23, 30, "Baghdad", "GPE", "entities")
    assert got["T7"] == (47, 58, "it was over", "CONTENT", "attribution")
    for s in aset.spans:
        assert doc.text[s.start:s.end] == s.text
    (event,) = aset.events
    assert (event.type, event.trigger, [(a.role, a.span) for a in event.arguments]) == (
        "Conflict:Attack", "T3", [("Instrument", "T2"), ("Place", "T4"), ("Target", "T1")])
    (att,) = aset.attributions
    assert (att.id, att.cue, att.source, att.content, att.parent) == ("E2", "T6", "T5", "T7", None)
    prov = aset.spans[0].provenance
    assert (prov.agent, prov.status, prov.kind, prov.detail) == ("tester", "gold", "human", f"{tmp_path / 'doc.ann'}:1")
    assert report.dropped == [f"{tmp_path / 'doc.ann'}:11: A1: attributes, normalizations and equivalences are not kept"]


def test_brat_round_trip_is_exact(tmp_path):
    first = read_brat(write(tmp_path, ANN), OPTIONS).document
    txt, _ = write_brat(first, "gold", tmp_path / "out")
    second = read_brat(txt, OPTIONS).document
    assert second.text == first.text and second.id == first.id
    assert key(second.annotations["gold"]) == key(first.annotations["gold"])
    # a span crossing a line break is written as brat fragments and joined again on reading
    (tmp_path / "nl").mkdir()
    crossing = write(tmp_path / "nl", "T1\tFAC 11 15;16 30\tbomb struck Baghdad\n", raw="The 👍 Café bomb\nstruck Baghdad.")
    doc = read_brat(crossing, OPTIONS).document
    (span,) = doc.annotations["gold"].spans
    assert (span.start, span.end, span.text) == (11, 30, "bomb\nstruck Baghdad")
    txt, ann = write_brat(doc, "gold", tmp_path / "nl-out")
    assert ann.read_text(encoding="utf-8") == "T1\tFAC 11 15;16 30\tbomb struck Baghdad\n"
    assert key(read_brat(txt, OPTIONS).document.annotations["gold"]) == key(doc.annotations["gold"])


def test_read_brat_relation_attribution_and_label_map(tmp_path):
    raw = "Officials said the person was hurt in the explosion."
    ann = "\n".join([f"T1\tSource {off('Officials', raw)}", f"T2\tCue {off('said', raw)}",
                     f"T3\tContent {off('the person was hurt in the explosion', raw)}", f"T4\tperson {off('person', raw)}",
                     f"T5\tHURT {off('hurt', raw)}", f"T6\tobject {off('explosion', raw)}",
                     "R1\tSource Arg1:T2 Arg2:T1", "R2\tContent Arg1:T2 Arg2:T3", "R3\tCoref Arg1:T4 Arg2:T1",
                     "E1\tHURT:T5 Patient:T4 Thing:T6"]) + "\n"
    label_map = LabelMap(entities={"person": "PER", "object": None}, events={"HURT": "Life:Injure"},
                         roles={"Patient": "Victim"})
    report = ImportReport()
    aset = read_brat(write(tmp_path, ann, raw), ImportOptions(SCHEMA, label_map), report).document.annotations["gold"]
    assert {(s.text, s.label, s.layer) for s in aset.spans} == {
        ("Officials", "SOURCE", "attribution"), ("said", "CUE", "attribution"),
        ("the person was hurt in the explosion", "CONTENT", "attribution"), ("person", "PER", "entities"),
        ("hurt", "Life:Injure", "events")}
    assert [(a.cue, a.source, a.content) for a in aset.attributions] == [("T2", "T1", "T3")]
    assert [(e.type, [(a.role, a.span) for a in e.arguments]) for e in aset.events] == [("Life:Injure", [("Victim", "T4")])]
    assert aset.spans[0].provenance.kind == "import" and aset.spans[0].provenance.agent == "import"
    assert len(report.dropped) == 3  # T6 mapped to null, R3 not an attribution link, its Thing argument


@pytest.mark.parametrize("ann, message", [
    ("T1\tGPE 4 9\tBagdad\n", "doc.ann:1: offsets [4, 9) cover 'Baghd' in the .txt, but the .ann says 'Bagdad'"),
    ("T1\tPLACE 4 11\tBaghdad\n", "doc.ann:1: label 'PLACE' is neither in the label map nor in the schema (allowed: PER"),
    ("T1\tGPE 4 80\tBaghdad\n", "doc.ann:1: span [4, 80) does not fit the text (length 19, need 0 <= start < end)"),
    ("T1\tGPE 0 3;4 11\tThe Baghdad\n", None),
    ("T1\tGPE 0 3;8 11\tThe dad\n", "doc.ann:1: discontinuous span: the gap [3, 8) holds ' Bagh'"),
    ("T1\tGPE 4 11\tBaghdad\nT1\tGPE 4 11\tBaghdad\n", "doc.ann:2: id T1 is used twice (first on line 1)"),
    ("T1\tGPE 4 11\tBaghdad\nE1\tConflict:Attack:T1\n", "doc.ann:1: T1 is an event trigger but its label 'GPE' is an entity type"),
    ("T1\tConflict:Attack 12 18\tstruck\nE1\tConflict:Attack:T1 Weapon:T1\n",
     "doc.ann:2: role 'Weapon' is not a role of Conflict:Attack (allowed: Attacker, Target, Instrument, Time, Place)"),
    ("T1\tCUE 12 18\tstruck\nE1\tCUE:T1 SOURCE:T1\n", "doc.ann:2: attribution has no CONTENT"),
    ("T1 GPE 4 11 Baghdad\n", "doc.ann:1: not a brat annotation line: 'T1 GPE 4 11 Baghdad'"),
    ("T1\tGPE 4 x\tBaghdad\n", "doc.ann:1: offsets '4 x' are not 'START END'"),
])
def test_read_brat_errors_name_file_and_line(tmp_path, ann, message):
    txt = write(tmp_path, ann, "The Baghdad struck.")
    if message is None:
        (span,) = read_brat(txt, OPTIONS).document.annotations["gold"].spans
        assert span.text == "The Baghdad"
        return
    with pytest.raises(InputError) as err:
        read_brat(txt, OPTIONS)
    assert str(err.value).startswith(f"{tmp_path}/{message}")


def test_read_brat_boundary_inside_combined_character(tmp_path):
    raw = "Cafe\u0301 open"
    with pytest.raises(InputError, match=r"doc.ann:1: offset 4 splits a character sequence that Unicode NFC"):
        read_brat(write(tmp_path, "T1\tFAC 0 4\tCafe\n", raw), OPTIONS)


CONLL = """-DOCSTART- -X- -X- O

General NNP B-NP O
Ghani NNP I-NP B-PER
visited VBD B-VP O
Baghdad NNP B-NP I-LOC
. . O O

Cafe\u0301 NN B-NP B-FAC
👍 SYM O I-FAC

-DOCSTART- -X- -X- O

The DT B-NP B-ORG
Quds NNP I-NP I-ORG
Force NNP I-NP I-ORG
spoke VBD O O
"""


def test_read_conll_documents_offsets_and_round_trip(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text(CONLL, encoding="utf-8")
    first, second = list(read_conll(path, OPTIONS))
    doc = first.document
    assert doc.text == "General Ghani visited Baghdad .\nCafé 👍"
    assert doc.sentences == ((0, 31), (32, 38))
    assert doc.tokens[:2] == ((0, 7), (8, 13)) and doc.tokens[-1] == (37, 38)
    spans = sorted((s.text, s.label, s.provenance.detail) for s in doc.annotations["gold"].spans)
    # I-LOC after O starts a mention (IOB1 leniency)
    assert spans == [("Baghdad", "LOC", f"{path}:6"), ("Café 👍", "FAC", f"{path}:9"), ("Ghani", "PER", f"{path}:4")]
    assert second.document.text == "The Quds Force spoke"
    assert [(s.text, s.label) for s in second.document.annotations["gold"].spans] == [("The Quds Force", "ORG")]
    out = io.StringIO()
    assert write_conll([first.document, second.document], "gold", out) == 2
    (tmp_path / "y.conll").write_text(out.getvalue(), encoding="utf-8")
    again = list(read_conll(tmp_path / "y.conll", OPTIONS))
    for a, b in zip([first, second], again):
        assert (b.document.text, b.document.tokens, b.document.sentences) == (a.document.text, a.document.tokens,
                                                                           a.document.sentences)
        assert key(b.annotation_set) == key(a.annotation_set)
    assert to_bio(doc, "gold")[1] == [("Café", "B-FAC"), ("👍", "I-FAC")]


@pytest.mark.parametrize("text, message", [
    ("Ghani B-PER\nvisited Q-X\n", "x.conll:2: tag 'Q-X' is not O or PREFIX-LABEL"),
    ("Ghani\n", "x.conll:1: line has 1 column(s); need the token in column 1 and the tag in column 1"),
    ("Ghani B-PERSON\n", "x.conll:1: label 'PERSON' is neither in the label map nor in the schema"),
])
def test_read_conll_errors_name_file_and_line(tmp_path, text, message):
    (tmp_path / "x.conll").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(read_conll(tmp_path / "x.conll", OPTIONS))
    assert str(err.value).startswith(f"{tmp_path}/{message}")


def test_to_bio_keeps_the_outer_of_nested_spans(seed_corpus):
    doc = next(seed_corpus.documents())
    p = Provenance("t")
    start = doc.text.index("Mustafa al-Kadhimi")
    outer = doc.make_span("a", start, start + len("Mustafa al-Kadhimi"), "PER", "entities", p)
    inner = doc.make_span("b", start, start + len("Mustafa"), "PER", "entities", p)
    doc = doc.with_set(AnnotationSet("silver", (inner, outer)))
    tags = [t for sent in to_bio(doc, "silver") for t in sent if t[1] != "O"]
    assert [t[1] for t in tags] == ["B-PER"] + ["I-PER"] * (len(tags) - 1)
    assert "".join(t[0] for t in tags).replace(" ", "") == "Mustafaal-Kadhimi"


def test_load_label_map_errors(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("people: {person: PER}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"map.yaml: unknown section 'people' in the label map \(allowed: entities"):
        load_label_map(path)
    gum = load_label_map(ROOT / "schema" / "label-maps" / "gum.yaml")
    assert gum.span_label("place", SCHEMA) == ("entities", "LOC") and gum.span_label("object", SCHEMA) is None


def test_seed_gold_imports_cleanly(seed_corpus):
    """The hand-made gold attaches to the ingested seed article; every span text matches; anchors present."""
    report = ImportReport()
    options = ImportOptions(SCHEMA, set_name="gold", annotator="seed-annotator")
    docs = list(import_documents(seed_corpus.documents(), read_paths("brat", [GOLD], options, report), report,
                                 segment=segment_documents))
    assert len(docs) == 1 and report.attached == [docs[0].id] and report.added == []
    doc = docs[0]
    gold = doc.annotations["gold"]
    assert doc.text == (GOLD / "000_7c4a1253a3f73b28.txt").read_text(encoding="utf-8")
    assert all(doc.text[s.start:s.end] == s.text for s in gold.spans)
    assert {(s.provenance.agent, s.provenance.kind, s.provenance.status) for s in gold.spans} == {
        ("seed-annotator", "human", "gold")}
    assert {s.layer for s in gold.spans} == {"entities", "events", "attribution"}
    assert report.dropped == []
    by_id = {s.id: s for s in gold.spans}
    ents = {(s.text, s.label) for s in gold.spans_of("entities")}
    assert {("Mustafa al-Kadhimi", "PER"), ("Quds Force", "ORG"), ("Green Zone", "LOC"), ("Baghdad", "GPE"),
            ("Erbil International Airport", "FAC"), ("drone", "WEA"), ("Sunday", "TIME")} <= ents
    wounded = next(e for e in gold.events if by_id[e.trigger].text == "wounded")
    assert wounded.type == "Life:Injure"
    assert [(a.role, by_id[a.span].text) for a in wounded.arguments if a.role == "Victim"] == [("Victim", "guards")]
    ap = next(a for a in gold.attributions if by_id[a.source].text == "Associated Press")
    assert by_id[ap.cue].text == "reported"
    nested = [a for a in gold.attributions if a.parent]
    assert {by_id[a.cue].text for a in nested} == {"told", "saying"}
    for ev in gold.events:  # every argument role exists for its type and admits the filler's entity type
        etype = SCHEMA.event_type(ev.type)
        for arg in ev.arguments:
            role = etype.role(arg.role)
            assert role is not None and (not role.entity_types or by_id[arg.span].label in role.entity_types), (ev, arg)


def test_cli_import_brat_then_conll(seed_corpus, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["import", "--format", "brat", str(GOLD), "--annotator", "seed-annotator",
                               "--corpus", str(seed_corpus.path)])
    assert res.exit_code == 0, res.output
    assert "1 document(s) read: 1 attached to existing documents, 0 added to" in res.output
    assert "set 'gold': 141 spans, 28 events, 10 attributions" in res.output
    (doc,) = list(open_corpus(seed_corpus.path).documents())
    assert len(doc.annotations["gold"].spans) == 141
    (tmp_path / "x.conll").write_text(CONLL, encoding="utf-8")
    res = runner.invoke(main, ["import", "--format", "conll", str(tmp_path / "x.conll"), "--set", "annotator/conll",
                               "--corpus", str(seed_corpus.path)])
    assert res.exit_code == 0, res.output
    docs = list(open_corpus(seed_corpus.path).documents())
    assert len(docs) == 3
    assert sum(1 for d in docs if "annotator/conll" in d.annotations) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    write(bad, "T1\tGPE 4 9\tBagdad\n", "The Baghdad struck.")
    res = runner.invoke(main, ["import", "--format", "brat", str(bad), "--corpus", str(seed_corpus.path)])
    assert res.exit_code == 1
    assert f"error: {bad}/doc.ann:1: offsets [4, 9) cover 'Baghd' in the .txt, but the .ann says 'Bagdad'" in res.output
    assert len(list(open_corpus(seed_corpus.path).documents())) == 3  # corpus untouched


def test_import_documents_replaces_the_set_and_adds_new_documents(seed_corpus, tmp_path):
    options = ImportOptions(SCHEMA, set_name="annotator/ann")
    seed = next(seed_corpus.documents())
    (tmp_path / "seed.txt").write_text(seed.text, encoding="utf-8")
    start = seed.text.index("Baghdad")
    (tmp_path / "seed.ann").write_text(f"T1\tGPE {start} {start + 7}\tBaghdad\n", encoding="utf-8")
    write(tmp_path, ANN)
    report = ImportReport()
    docs = list(import_documents(seed_corpus.documents(), read_paths("brat", [tmp_path], options, report), report,
                                 segment=segment_documents))
    assert report.attached == [seed.id] and len(report.added) == 1
    new = next(d for d in docs if d.id != seed.id)
    assert new.sentences and new.tokens  # segmented like an ingested article
    assert [s.text for s in docs[0].annotations["annotator/ann"].spans] == ["Baghdad"]
    (tmp_path / "seed.ann").write_text("", encoding="utf-8")  # an empty file clears the set
    docs = list(import_documents(docs, read_paths("brat", [tmp_path / "seed.ann"], options), ImportReport()))
    assert "annotator/ann" not in next(d for d in docs if d.id == seed.id).annotations


def test_import_documents_needs_a_segmenter_for_new_brat_documents(tmp_path):
    write(tmp_path, ANN)
    items = read_paths("brat", [tmp_path], ImportOptions(SCHEMA))
    with pytest.raises(InputError, match="new documents without boundaries need a segmenter") as err:
        list(import_documents([], items, ImportReport()))
    assert err.value.path.endswith(".txt") and "segment_documents" in err.value.hint


def test_write_staged_merges_by_id_attaches_sets_and_keeps_bare_documents_sets(seed_corpus, tmp_path):
    from spanbank import ingest
    from spanbank.cli.imports import write_staged
    from spanbank.formats import Imported
    from spanbank.model import Origin

    seed = next(seed_corpus.documents())
    before = set(seed.annotations)
    prov = Provenance("bob", "gold", "2026-11-27T00:00:00Z", "human")
    start = seed.text.index("Baghdad")
    span = seed.make_span("b1", start, start + 7, "GPE", "entities", prov)
    texts = [f"Report {i} from Erbil." for i in range(5)]
    new = [ingest.to_document(ingest.Article(t, Origin(f"{i}.txt", "0" * 64)), [(0, len(t))], [(0, 6)])
           for i, t in enumerate(texts)]
    items = [Imported(seed.without_sets().with_set(AnnotationSet("annotator/bob", (span,))), "ds", segmented=True),
             *(Imported(d, "ds", segmented=True) for d in reversed(new))]  # not in id order
    report = ImportReport()
    with seed_corpus.lock():
        assert write_staged(seed_corpus, items, report, None) == 6
    docs = list(seed_corpus.documents())
    assert [d.id for d in docs] == sorted(d.id for d in docs)
    assert report.attached == [seed.id] and sorted(report.added) == sorted(d.id for d in new)
    merged = next(d for d in docs if d.id == seed.id)
    assert set(merged.annotations) == before | {"annotator/bob"}
    assert [s.text for s in merged.annotations["annotator/bob"].spans] == ["Baghdad"]
    bare = ImportReport()
    with seed_corpus.lock():
        write_staged(seed_corpus, [Imported(seed.without_sets(), "ds", segmented=True)], bare, None)
    after = next(d for d in seed_corpus.documents() if d.id == seed.id)
    assert bare.attached == [seed.id] and set(after.annotations) == set(merged.annotations)
    assert not list(seed_corpus.path.glob(".import-*"))


ALPHABET = "ab é\u0301q\u0301👍\u200d🏽\n\t,.\u2028\x85"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)),
                                                                      max_size=6))
def test_brat_round_trip_property(tmp_path, raw, cuts):
    text = unicodedata.normalize("NFC", raw).strip()
    assume(text)
    doc = Document(document_id(text), text)
    p = Provenance("t", "gold", kind="import")
    spans = []
    for i, (start, length) in enumerate(cuts):
        start, end = start % len(text), min(start % len(text) + length, len(text))
        if text[start] != "\n" and text[end - 1] != "\n":
            spans.append(doc.make_span(f"T{i + 1}", start, end, "PER", "entities", p))
    doc = doc.with_set(AnnotationSet("gold", tuple(spans)))
    folder = tmp_path / f"rt{abs(hash((raw, tuple(cuts))))}"
    txt, _ = write_brat(doc, "gold", folder)
    back = read_brat(txt, OPTIONS).document
    assert back.text == text
    assert key(back.annotation_set("gold")) == key(doc.annotation_set("gold"))


def test_cli_import_brat_refuses_what_validate_rejects(seed_corpus, tmp_path):
    """An attribution whose SOURCE is an entity-typed span, or an argument of a type its role does not take: refused
    at the .ann line, before anything is written."""
    bad = tmp_path / "bad"
    bad.mkdir()
    write(bad, "T1\tPER 0 5\tAlice\nT2\tCUE 6 10\tsaid\nT3\tCONTENT 11 25\tit was raining\n"
               "T4\tConflict:Attack 30 36\tattack\nT5\tTIME 0 5\tAlice\n"
               "E1\tCUE:T2 SOURCE:T1 CONTENT:T3\nE2\tConflict:Attack:T4 Attacker:T5\n",
          "Alice said it was raining. An attack.")
    before = {p.name: p.read_bytes() for p in seed_corpus.path.iterdir() if p.is_file()}
    res = CliRunner().invoke(main, ["import", "--format", "brat", str(bad), "--corpus", str(seed_corpus.path)])
    assert res.exit_code == 1, res.output
    assert "not imported: the imported annotations do not validate: 2 problem(s)" in res.output
    assert (f"\n  {bad}/doc.ann:6: attribution 'E1' source points to entities span 'T1' labelled 'PER' "
            "(expected a attribution span labelled SOURCE)") in res.output
    assert f"\n  {bad}/doc.ann:7: role Attacker of Conflict:Attack takes " in res.output
    assert {p.name: p.read_bytes() for p in seed_corpus.path.iterdir() if p.is_file()} == before


def test_registry_modules_expose_the_reader_and_writer_interfaces():
    """A new format is one module (read_paths + OPTIONS, and/or write + CANNOT_CARRY) plus one line in FORMATS."""
    import inspect

    from spanbank import formats

    for name, entry in formats.FORMATS.items():
        if entry.reads:
            module = formats.format_module(name, "reads")
            assert list(inspect.signature(module.read_paths).parameters) == ["paths", "options", "report"], name
            assert all(isinstance(opt, formats.ReaderOption) for opt in module.OPTIONS), name
        if entry.writes:
            module = formats.format_module(name, "writes")
            assert list(inspect.signature(module.write).parameters) == ["items", "out"], name
            assert module.CANNOT_CARRY and all(isinstance(note, str) for note in module.CANNOT_CARRY), name
    with pytest.raises(InputError, match="unknown export format 'conllu'"):
        formats.format_module("conllu", "writes")


GUM_TEXT = "Alice went to Baghdad, a drum beating."
GUM_ANN = "".join(f"T{i}\t{label} {off(surface, GUM_TEXT)}\n"
                  for i, (label, surface) in enumerate([("person", "Alice"), ("place", "Baghdad"), ("object", "drum")], 1))


@pytest.mark.parametrize("name", ["gum", "gum.yaml"])
def test_cli_import_label_map_by_shipped_name(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)  # no file of that name here: the shipped map is used
    write(tmp_path, GUM_ANN, GUM_TEXT)
    res = CliRunner().invoke(main, ["import", "--format", "brat", str(tmp_path / "doc.ann"), "--label-map", name,
                                    "--corpus", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    (doc,) = open_corpus(tmp_path / "c").documents()
    assert [(s.text, s.label) for s in doc.annotation_set("gold").spans] == [("Alice", "PER"), ("Baghdad", "LOC")]


def test_cli_import_label_map_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gum").write_text("entities: {person: ORG, place: GPE, object: WEA}\n", encoding="utf-8")
    write(tmp_path, GUM_ANN, GUM_TEXT)
    res = CliRunner().invoke(main, ["import", "--format", "brat", str(tmp_path / "doc.ann"), "--label-map", "gum",
                                    "--corpus", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    (doc,) = open_corpus(tmp_path / "c").documents()
    assert [s.label for s in doc.annotation_set("gold").spans] == ["ORG", "GPE", "WEA"]


def test_cli_import_label_map_neither_file_nor_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, GUM_ANN, GUM_TEXT)
    res = CliRunner().invoke(main, ["import", "--format", "brat", str(tmp_path / "doc.ann"), "--label-map", "gumm",
                                    "--corpus", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert res.output == ("error: label map 'gumm' is neither an existing file nor a shipped label map (allowed: gum); "
                          "give the path of a YAML label map, or the name of a shipped one\n")
    assert not (tmp_path / "c").exists()
