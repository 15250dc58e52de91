"""Releases: versions by the bump policy, manifest and changelog, git tags, diffs between versions."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from spanbank import release
from spanbank.cli import main
from spanbank.errors import CorpusError
from spanbank.model import AnnotationSet, Provenance
from spanbank.schema import DEFAULT_SCHEMA as SCHEMA_FILE, load_schema
from spanbank.store import open_corpus

from conftest import SEEDS

GOLD = Provenance("alice", "gold", "2026-01-02T00:00:00Z", "human")


def run(*args):
    result = CliRunner().invoke(main, [*map(str, args)])
    return result


def add_gold_span(corpus, phrase, label="PER"):
    doc = next(corpus.documents())
    start = doc.text.index(phrase)
    aset = doc.annotation_set("gold")
    span = doc.make_span(f"g{len(aset.spans)}", start, start + len(phrase), label, "entities", GOLD)
    with corpus.lock():
        corpus.write([doc.with_set(AnnotationSet("gold", aset.spans + (span,)))])


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_release_versions_follow_policy_and_tag_git(repo, monkeypatch):
    corpus = open_corpus(repo / "corpus")
    assert run("ingest", SEEDS, "--corpus", corpus.path).exit_code == 0
    first = run("release", "--corpus", corpus.path, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["version"] == "1.0.0"
    assert json.loads(first.stdout)["tag"] == "corpus-v1.0.0"
    assert "nothing to release" in run("release", "--corpus", corpus.path).output
    assert [d.first_release for d in corpus.documents()] == ["1.0.0"]  # stamped by the release that published it

    add_gold_span(corpus, "Mustafa al-Kadhimi")
    patch = json.loads(run("release", "--corpus", corpus.path, "--json").stdout)
    assert patch["version"] == "1.0.1"
    assert patch["changes"]["annotations"] == [{"set": "gold", "layer": "entities", "label": "PER", "added": 1, "removed": 0}]

    (repo / "more.txt").write_text("date 2022-01-01 Another article about Baghdad.", encoding="utf-8")
    assert run("ingest", repo / "more.txt", "--corpus", corpus.path).exit_code == 0
    assert [d.first_release for d in corpus.documents() if "Another article" in d.text] == [None]
    assert json.loads(run("release", "--corpus", corpus.path, "--json").stdout)["version"] == "1.1.0"
    first = {d.text.split()[0]: d.first_release for d in corpus.documents()}
    assert sorted(first.values()) == ["1.0.0", "1.1.0"] and first["Another"] == "1.1.0"  # the old one keeps its own
    assert release.stamp_first_release(corpus, "9.9.9") == 0  # nothing left to stamp

    manifest = corpus.read_manifest()
    assert manifest["documents"] == 2 and manifest["counts"]["gold"]["entities"]["PER"] == 1
    assert manifest["annotators"] == ["alice"]
    assert [c["version"] for c in manifest["changelog"]] == ["1.1.0", "1.0.1", "1.0.0"]
    assert release.unreleased_changes(corpus) == []
    changelog = corpus.changelog_path.read_text()
    assert changelog.index("## 1.1.0") < changelog.index("## 1.0.1") < changelog.index("## 1.0.0")
    tags = subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout.split()
    assert tags == ["corpus-v1.0.0", "corpus-v1.0.1", "corpus-v1.1.0"]

    monkeypatch.chdir(repo)
    d = run("diff", "corpus-v1.0.0", "corpus", "--json")
    assert d.exit_code == 0, d.output
    data = json.loads(d.stdout)
    assert len(data["documents"]["added"]) == 1 and data["annotations"][0]["label"] == "PER"


def test_next_version_major_when_label_removed_or_renamed():
    empty = release.CorpusDiff()
    assert release.next_version(None, "auto", empty, [], ["a"]) == "1.0.0"
    assert release.next_version("1.2.3", "auto", empty, ["a", "b"], ["a", "c"]) == "2.0.0"
    assert release.next_version("1.2.3", "auto", empty, ["a", "b"], ["a"]) == "2.0.0"
    assert release.next_version("1.2.3", "auto", empty, ["a"], ["a", "b"]) == "1.3.0"
    assert release.next_version("1.2.3", "auto", empty, ["a"], ["a"]) is None
    assert release.next_version("1.2.3", "auto", empty, ["a"], ["a"], schema_changed=True) == "1.2.4"
    assert release.next_version("1.2.3", "patch", empty, ["a"], ["a"]) == "1.2.4"


def test_next_version_minor_when_a_label_is_appended_to_an_earlier_layer():
    # ids count within a layer: an entity label appended after TIME moves no event label's id
    empty = release.CorpusDiff()
    old = ["entities:PER", "entities:TIME", "events:Conflict:Attack", "role:Crime"]
    new = ["entities:PER", "entities:TIME", "entities:CRIME", "events:Conflict:Attack", "role:Crime"]
    assert release.next_version("1.0.1", "auto", empty, old, new) == "1.1.0"
    assert release.next_version("1.0.1", "auto", empty, new, old) == "2.0.0"
    swapped = ["entities:TIME", "entities:PER", "events:Conflict:Attack", "role:Crime"]
    assert release.next_version("1.0.1", "auto", empty, old, swapped) == "2.0.0"


def test_release_without_git_uses_count_comparison(seed_corpus):
    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    add_gold_span(seed_corpus, "Baghdad", "GPE")
    assert release.unreleased_changes(seed_corpus)
    result = release.release(seed_corpus, load_schema(), git=False)
    assert result.version == "1.0.1"
    assert result.changes.annotations == {("gold", "entities", "GPE"): [1, 0]}


def test_release_refuses_invalid_corpus(seed_corpus):
    with seed_corpus.annotations_path.open("w") as fh:
        fh.write(json.dumps({"doc": next(seed_corpus.ids()), "set": "silver", "kind": "span", "id": "x", "layer": "entities",
                             "label": "PER", "start": 5, "end": 2, "text": "", "prov": {"agent": "a", "status": "silver"}}) + "\n")
    result = run("release", "--corpus", seed_corpus.path, "--no-git")
    assert result.exit_code == 1 and "not released: " in result.output and "does not validate: 1 problem(s)" in result.output
    assert seed_corpus.read_manifest() is None


def test_stats_json(seed_corpus):
    add_gold_span(seed_corpus, "Baghdad", "GPE")
    data = json.loads(run("stats", "--corpus", seed_corpus.path, "--json").stdout)
    assert data["documents"] == 1 and data["annotations"] == {"gold": {"entities": {"GPE": 1}}}


def test_release_records_agreement_of_two_annotators(two_annotator_corpus):
    seed_corpus = two_annotator_corpus
    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    agreement = seed_corpus.read_manifest()["agreement"]
    assert agreement["annotators"] == 2
    # one span agreed, one each alone: F1 = 2*1 / (2*1 + 1 + 1) = 0.5
    assert agreement["layers"]["entities"]["f1_exact"] == 0.5


def test_release_counts_doccano_rounds_in_manifest_changelog_and_card(seed_corpus, tmp_path):
    from spanbank import publish

    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    assert seed_corpus.read_manifest()["doccano_rounds"] == 0
    with seed_corpus.lock():
        first = seed_corpus.add_round({"time": "2026-11-20T09:00:00Z", "project": "p", "documents": 1,
                                       "annotators": ["alice"]})
        second = seed_corpus.add_round({"time": "2026-11-27T09:00:00Z", "project": "p", "documents": 1,
                                        "annotators": ["alice", "bob"]})
    assert (first["round"], second["round"]) == (1, 2)
    add_gold_span(seed_corpus, "Baghdad", "GPE")
    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    manifest = seed_corpus.read_manifest()
    assert manifest["doccano_rounds"] == 2 and manifest["doccano_last_round"] == second
    assert manifest["files"]["doccano-rounds.jsonl"] == release.sha256_file(seed_corpus.rounds_path)
    assert "- Doccano annotation rounds: 2 (in total 2)" in seed_corpus.changelog_path.read_text()
    publish.build(seed_corpus, load_schema(), tmp_path / "hf", card={"license": "cc-by-4.0"})
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert ("Doccano annotation rounds: 2 (each one a pull of reviewed labels from the labeling server). The last "
            "one (2026-11-27) brought labels for 1 document(s) from 2 annotator(s).") in card


def _edit_manifest(corpus, seal):
    """Change the released hash of annotations.jsonl by hand; ``seal=False`` also drops the seal (an older manifest)."""
    manifest = json.loads(corpus.manifest_path.read_text())
    manifest["files"]["annotations.jsonl"] = "0" * 64
    if not seal:
        manifest.pop("seal")
    corpus.manifest_path.write_text(json.dumps(manifest, indent=2))
    return corpus.manifest_path.read_bytes()


@pytest.mark.parametrize("seal", [True, False], ids=["sealed", "unsealed"])
def test_release_refuses_a_hand_edited_manifest_in_git(repo, seal):
    corpus = open_corpus(repo / "corpus")
    assert run("ingest", SEEDS, "--corpus", corpus.path).exit_code == 0
    assert run("release", "--corpus", corpus.path).exit_code == 0
    edited = _edit_manifest(corpus, seal)
    result = run("release", "--corpus", corpus.path)
    assert result.exit_code == 1
    assert "manifest.json: edited by hand after release 1.0.0: " in result.output
    assert ("nothing was released" if not seal else "nothing was written") in result.output
    assert "git checkout corpus-vX.Y.Z -- corpus/manifest.json" in result.output
    assert corpus.manifest_path.read_bytes() == edited and "1.0.1" not in corpus.changelog_path.read_text()
    assert subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout.split() == ["corpus-v1.0.0"]
    subprocess.run(["git", "checkout", "corpus-v1.0.0", "--", "corpus/manifest.json"], cwd=repo, check=True)
    assert "nothing to release: corpus is at 1.0.0" in run("release", "--corpus", corpus.path).output


def test_release_refuses_a_hand_edited_manifest_without_git(seed_corpus):
    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    _edit_manifest(seed_corpus, seal=True)
    with pytest.raises(CorpusError, match="edited by hand after release 1.0.0: its seal does not match its content"):
        release.release(seed_corpus, load_schema(), git=False)
    assert json.loads(seed_corpus.manifest_path.read_text())["version"] == "1.0.0"


def test_release_after_a_schema_change_alone_is_a_patch_that_validates(seed_corpus, tmp_path):
    """A schema whose conventions changed (same labels) makes validate ask for a release; release gives a patch."""
    from spanbank.validate import validate

    assert run("release", "--corpus", seed_corpus.path, "--no-git").exit_code == 0
    text = (SCHEMA_FILE).read_text(encoding="utf-8").replace("conventions:\n", "conventions:\n  - A convention added in a test.\n", 1)
    edited = tmp_path / "schema.yaml"
    edited.write_text(text, encoding="utf-8")
    schema = load_schema(edited)
    assert [p.message for p in validate(seed_corpus, schema)] and "release again after a schema change" in \
        str(validate(seed_corpus, schema)[0])
    result = release.release(seed_corpus, schema, git=False)
    assert result.version == "1.0.1" and f"- schema {schema.version} -> {schema.version} (sha256 {schema.sha256[:12]})" \
        in result.changelog_entry
    assert validate(seed_corpus, schema) == []


def test_a_release_that_fails_leaves_documents_stamps_changelog_and_manifest_as_they_were(repo, monkeypatch):
    """The first_release stamps are committed with the changelog and the manifest, or not at all."""
    corpus = open_corpus(repo / "corpus")
    assert run("ingest", SEEDS, "--corpus", corpus.path).exit_code == 0
    before = {p.name: p.read_bytes() for p in corpus.path.iterdir() if p.is_file() and not p.name.startswith(".")}

    def broken(manifest):
        raise OSError("disk full while sealing")

    monkeypatch.setattr(release, "manifest_seal", broken)
    with pytest.raises(OSError, match="disk full"):
        release.release(corpus, load_schema(), git=False)
    after = {p.name: p.read_bytes() for p in corpus.path.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert after == before and [d.first_release for d in corpus.documents()] == [None]
    assert not [p for p in corpus.path.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    done = release.release(corpus, load_schema(), git=False)
    assert done.version == "1.0.0" and [d.first_release for d in corpus.documents()] == ["1.0.0"]
    assert release.unreleased_changes(corpus) == []  # the manifest records the stamped files' hashes
